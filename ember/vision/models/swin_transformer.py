"""Swin Transformer (Liu et al. 2021) and Swin Transformer V2 (Liu et al. 2022), tiny /
small / base, torchvision's layout, state_dict keys (with the relative-position buffers)
and initialisation."""
import math
from functools import partial

from ... import arange, cat, clamp, float32, flatten, log, log2, meshgrid, nn, ones, roll, \
    sigmoid, sign, stack, zeros
from ..._fx_wrap import wrap as _fx_wrap
from ...nn import functional as F
from ..ops.misc import MLP, Permute
from ..ops.stochastic_depth import StochasticDepth
from ..transforms.functional import InterpolationMode
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes

__all__ = ["SwinTransformer", "Swin_T_Weights", "Swin_S_Weights", "Swin_B_Weights",
           "Swin_V2_T_Weights", "Swin_V2_S_Weights", "Swin_V2_B_Weights", "swin_t", "swin_s",
           "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b"]


def _patch_merging_pad(x):
    """(..., H, W, C) -> (..., ceil(H/2), ceil(W/2), 4C): each 2x2 neighbourhood's four
    vectors concatenated (odd sizes padded with zeros), in the order (0,0), (1,0), (0,1),
    (1,1)."""
    H, W, _ = x.shape[-3:]
    x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
    x0 = x[..., 0::2, 0::2, :]
    x1 = x[..., 1::2, 0::2, :]
    x2 = x[..., 0::2, 1::2, :]
    x3 = x[..., 1::2, 1::2, :]
    return cat([x0, x1, x2, x3], -1)


def _get_relative_position_bias(relative_position_bias_table, relative_position_index,
                                window_size):
    """The (1, heads, N, N) attention bias of a window of N positions: row
    ``index[i, j]`` of the table for each pair of positions."""
    N = window_size[0] * window_size[1]
    bias = relative_position_bias_table[relative_position_index].view(N, N, -1)
    return bias.permute(2, 0, 1).contiguous().unsqueeze(0)


# leaves of fx tracing, as torchvision's (their shapes decide Python-level control flow)
_fx_wrap("_patch_merging_pad")
_fx_wrap("_get_relative_position_bias")
_fx_wrap("shifted_window_attention")


class PatchMerging(nn.Module):
    """Downsampling by 2: merge 2x2 patches (4C), LayerNorm, linear to 2C."""

    def __init__(self, dim, norm_layer=nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x):
        return self.reduction(self.norm(_patch_merging_pad(x)))


class PatchMergingV2(nn.Module):
    """V2's downsampling: merge 2x2 patches, linear to 2C, then LayerNorm (post-norm)."""

    def __init__(self, dim, norm_layer=nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(2 * dim)

    def forward(self, x):
        return self.norm(self.reduction(_patch_merging_pad(x)))


def _shift_mask(x, pad_H, pad_W, window_size, shift_size, num_windows):
    """(windows, N, N): 0 between positions that were neighbours before the cyclic shift,
    -100 between positions the shift brought together from opposite borders."""
    region = x.new_zeros((pad_H, pad_W))
    h_slices = ((0, -window_size[0]), (-window_size[0], -shift_size[0]),
                (-shift_size[0], None))
    w_slices = ((0, -window_size[1]), (-window_size[1], -shift_size[1]),
                (-shift_size[1], None))
    count = 0
    for h in h_slices:
        for w in w_slices:
            region[h[0]:h[1], w[0]:w[1]] = count
            count += 1
    region = region.view(pad_H // window_size[0], window_size[0], pad_W // window_size[1],
                         window_size[1])
    region = region.permute(0, 2, 1, 3).reshape(num_windows, window_size[0] * window_size[1])
    mask = region.unsqueeze(1) - region.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


def shifted_window_attention(input, qkv_weight, proj_weight, relative_position_bias,
                             window_size, num_heads, shift_size, attention_dropout=0.0,
                             dropout=0.0, qkv_bias=None, proj_bias=None, logit_scale=None,
                             training=True):
    """Multi-head self-attention within (shifted) windows of a (B, H, W, C) input.

    The input is zero-padded to whole windows, cyclically shifted by `shift_size` (no
    shift where one window covers the input), cut into windows of N positions, and each
    window attends to itself:

        V1: softmax(q k^T / sqrt(d) + bias + mask) v
        V2: softmax(cos(q, k) * min(logit_scale, log 100).exp() + bias + mask) v

    (V2 has no key bias). The windows are put back, unshifted and cropped.
    """
    B, H, W, C = input.shape
    pad_r = (window_size[1] - W % window_size[1]) % window_size[1]
    pad_b = (window_size[0] - H % window_size[0]) % window_size[0]
    x = F.pad(input, (0, 0, 0, pad_r, 0, pad_b))
    _, pad_H, pad_W, _ = x.shape
    shift_size = list(shift_size)
    if window_size[0] >= pad_H:
        shift_size[0] = 0
    if window_size[1] >= pad_W:
        shift_size[1] = 0
    if sum(shift_size) > 0:
        x = roll(x, shifts=(-shift_size[0], -shift_size[1]), dims=(1, 2))
    num_windows = (pad_H // window_size[0]) * (pad_W // window_size[1])
    x = x.view(B, pad_H // window_size[0], window_size[0], pad_W // window_size[1],
               window_size[1], C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B * num_windows, window_size[0] * window_size[1],
                                            C)
    if logit_scale is not None and qkv_bias is not None:
        # V2: the key projection has no bias (its gradient is zero too)
        length = qkv_bias.numel() // 3
        keep = ones(qkv_bias.shape, dtype=qkv_bias.dtype, device=qkv_bias.device)
        keep[length:2 * length] = 0
        qkv_bias = qkv_bias * keep
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.size(0), x.size(1), 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    if logit_scale is not None:
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * clamp(logit_scale, max=math.log(100.0)).exp()
    else:
        q = q * (C // num_heads) ** -0.5
        attn = q.matmul(k.transpose(-2, -1))
    attn = attn + relative_position_bias
    if sum(shift_size) > 0:
        attn_mask = _shift_mask(x, pad_H, pad_W, window_size, shift_size, num_windows)
        attn = attn.view(x.size(0) // num_windows, num_windows, num_heads, x.size(1),
                         x.size(1))
        attn = attn + attn_mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, x.size(1), x.size(1))
    attn = F.dropout(F.softmax(attn, dim=-1), p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), C)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)
    x = x.view(B, pad_H // window_size[0], pad_W // window_size[1], window_size[0],
               window_size[1], C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B, pad_H, pad_W, C)
    if sum(shift_size) > 0:
        x = roll(x, shifts=(shift_size[0], shift_size[1]), dims=(1, 2))
    return x[:, :H, :W, :].contiguous()


class ShiftedWindowAttention(nn.Module):
    """Window attention with a learned table of relative position biases
    ((2Wh-1)(2Ww-1) x heads, N(0, 0.02) truncated) and the buffer of table rows
    ``relative_position_index`` (N*N) that maps each pair of window positions to theirs."""

    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True,
                 proj_bias=True, attention_dropout=0.0, dropout=0.0):
        super().__init__()
        if len(window_size) != 2 or len(shift_size) != 2:
            raise ValueError("window_size and shift_size must be of length 2")
        self.window_size = window_size
        self.shift_size = shift_size
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_relative_position_bias_table()
        self.define_relative_position_index()

    def define_relative_position_bias_table(self):
        self.relative_position_bias_table = nn.Parameter(zeros(
            (2 * self.window_size[0] - 1) * (2 * self.window_size[1] - 1), self.num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def define_relative_position_index(self):
        # (dh + Wh - 1) * (2Ww - 1) + (dw + Ww - 1) for the offsets (dh, dw) of each pair
        coords = stack(meshgrid(arange(self.window_size[0]), arange(self.window_size[1]),
                                indexing="ij"))
        coords_flatten = flatten(coords, 1)
        relative = (coords_flatten[:, :, None] - coords_flatten[:, None, :]).permute(1, 2, 0)
        rows = (relative[:, :, 0] + self.window_size[0] - 1) * (2 * self.window_size[1] - 1)
        cols = relative[:, :, 1] + self.window_size[1] - 1
        self.register_buffer("relative_position_index", (rows + cols).flatten())

    def get_relative_position_bias(self):
        return _get_relative_position_bias(self.relative_position_bias_table,
                                           self.relative_position_index, self.window_size)

    def forward(self, x):
        bias = self.get_relative_position_bias()   # first, as torchvision (fx node order)
        return shifted_window_attention(
            x, self.qkv.weight, self.proj.weight, bias,
            self.window_size, self.num_heads, shift_size=self.shift_size,
            attention_dropout=self.attention_dropout, dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)


class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    """V2's window attention: scaled cosine attention with a learned per-head
    ``logit_scale`` (initially log 10), and biases ``16 * sigmoid(cpb_mlp(coords))`` from
    a small MLP over log-spaced relative coordinates (the buffer
    ``relative_coords_table``) instead of a free table."""

    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True,
                 proj_bias=True, attention_dropout=0.0, dropout=0.0):
        super().__init__(dim, window_size, shift_size, num_heads, qkv_bias=qkv_bias,
                         proj_bias=proj_bias, attention_dropout=attention_dropout,
                         dropout=dropout)
        self.logit_scale = nn.Parameter(log(10 * ones((num_heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(512, num_heads, bias=False))
        if qkv_bias:
            length = self.qkv.bias.numel() // 3
            self.qkv.bias[length:2 * length].data.zero_()

    def define_relative_position_bias_table(self):
        # offsets scaled to [-8, 8], then sign(t) * log2(|t| + 1) / log2(8)
        coords_h = arange(-(self.window_size[0] - 1), self.window_size[0], dtype=float32)
        coords_w = arange(-(self.window_size[1] - 1), self.window_size[1], dtype=float32)
        table = stack(meshgrid([coords_h, coords_w], indexing="ij"))
        table = table.permute(1, 2, 0).contiguous().unsqueeze(0)
        scale = [self.window_size[0] - 1, self.window_size[1] - 1]
        table = stack([table[..., 0] / scale[0], table[..., 1] / scale[1]], dim=-1) * 8
        table = sign(table) * log2(table.abs() + 1.0) / 3.0
        self.register_buffer("relative_coords_table", table)

    def get_relative_position_bias(self):
        bias = _get_relative_position_bias(
            self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads),
            self.relative_position_index, self.window_size)
        return 16 * sigmoid(bias)

    def forward(self, x):
        bias = self.get_relative_position_bias()   # first, as torchvision (fx node order)
        return shifted_window_attention(
            x, self.qkv.weight, self.proj.weight, bias,
            self.window_size, self.num_heads, shift_size=self.shift_size,
            attention_dropout=self.attention_dropout, dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, logit_scale=self.logit_scale,
            training=self.training)


class SwinTransformerBlock(nn.Module):
    """Pre-norm block: ``x + drop_path(attn(norm1(x)))``, then
    ``x + drop_path(mlp(norm2(x)))`` (MLP of width `mlp_ratio` x, GELU; Xavier-uniform
    weights, N(0, 1e-6) biases)."""

    def __init__(self, dim, num_heads, window_size, shift_size, mlp_ratio=4.0, dropout=0.0,
                 attention_dropout=0.0, stochastic_depth_prob=0.0, norm_layer=nn.LayerNorm,
                 attn_layer=ShiftedWindowAttention):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn_layer(dim, window_size, shift_size, num_heads,
                               attention_dropout=attention_dropout, dropout=dropout)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = norm_layer(dim)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU,
                       inplace=None, dropout=dropout)
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x):
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class SwinTransformerBlockV2(SwinTransformerBlock):
    """V2's residual post-norm block: ``x + drop_path(norm1(attn(x)))``, then
    ``x + drop_path(norm2(mlp(x)))``."""

    def __init__(self, dim, num_heads, window_size, shift_size, mlp_ratio=4.0, dropout=0.0,
                 attention_dropout=0.0, stochastic_depth_prob=0.0, norm_layer=nn.LayerNorm,
                 attn_layer=ShiftedWindowAttentionV2):
        super().__init__(dim, num_heads, window_size, shift_size, mlp_ratio=mlp_ratio,
                         dropout=dropout, attention_dropout=attention_dropout,
                         stochastic_depth_prob=stochastic_depth_prob, norm_layer=norm_layer,
                         attn_layer=attn_layer)

    def forward(self, x):
        x = x + self.stochastic_depth(self.norm1(self.attn(x)))
        return x + self.stochastic_depth(self.norm2(self.mlp(x)))


class SwinTransformer(nn.Module):
    """Patch embedding (`patch_size` convolution, channels-last, LayerNorm), stages of
    `depths[i]` blocks of width ``embed_dim * 2**i`` (odd blocks shifted by half a
    window) joined by patch merging, then LayerNorm, global average pool and `head`.
    Block i of n has drop probability ``stochastic_depth_prob * i / (n - 1)``; linears are
    N(0, 0.02) truncated, biases 0 (the blocks' MLPs are re-initialised after)."""

    def __init__(self, patch_size, embed_dim, depths, num_heads, window_size, mlp_ratio=4.0,
                 dropout=0.0, attention_dropout=0.0, stochastic_depth_prob=0.1,
                 num_classes=1000, norm_layer=None, block=None,
                 downsample_layer=PatchMerging):
        super().__init__()
        self.num_classes = num_classes
        block = block or SwinTransformerBlock
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-5)
        layers = [nn.Sequential(
            nn.Conv2d(3, embed_dim, kernel_size=(patch_size[0], patch_size[1]),
                      stride=(patch_size[0], patch_size[1])),
            Permute([0, 2, 3, 1]),
            norm_layer(embed_dim),
        )]
        total_stage_blocks = sum(depths)
        stage_block_id = 0
        for i_stage in range(len(depths)):
            stage = []
            dim = embed_dim * 2 ** i_stage
            for i_layer in range(depths[i_stage]):
                sd_prob = stochastic_depth_prob * float(stage_block_id) / (total_stage_blocks - 1)
                stage.append(block(dim, num_heads[i_stage], window_size=window_size,
                                   shift_size=[0 if i_layer % 2 == 0 else w // 2
                                               for w in window_size],
                                   mlp_ratio=mlp_ratio, dropout=dropout,
                                   attention_dropout=attention_dropout,
                                   stochastic_depth_prob=sd_prob, norm_layer=norm_layer))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
            if i_stage < len(depths) - 1:
                layers.append(downsample_layer(dim, norm_layer))
        self.features = nn.Sequential(*layers)
        num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm_layer(num_features)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


# builder: (embed_dim, depths, num_heads, stochastic depth, version)
_VARIANTS = {
    "swin_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], 0.2, 1),
    "swin_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], 0.3, 1),
    "swin_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], 0.5, 1),
    "swin_v2_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], 0.2, 2),
    "swin_v2_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], 0.3, 2),
    "swin_v2_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], 0.5, 2),
}


def _swin_transformer(arch, weights_enum, weights, progress, kwargs):
    weights = resolve_weights(weights_enum, weights, kwargs, "IMAGENET1K_V1")
    embed_dim, depths, num_heads, stochastic_depth_prob, version = _VARIANTS[arch]
    set_num_classes(kwargs, weights)
    if version == 2:
        kwargs.setdefault("block", SwinTransformerBlockV2)
        kwargs.setdefault("downsample_layer", PatchMergingV2)
    model = SwinTransformer(patch_size=[4, 4], embed_dim=embed_dim, depths=depths,
                            num_heads=num_heads, window_size=[7, 7] if version == 1 else [8, 8],
                            stochastic_depth_prob=stochastic_depth_prob, **kwargs)
    return load_weights(model, weights, progress)


class Swin_T_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/swin_t-704ceda3.pth", 28288354, 81.474, 95.776,
        resize_size=232,
        interpolation=InterpolationMode.BICUBIC,
        min_size=(224, 224),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#swintransformer",
        _ops=4.491,
        _file_size=108.19)
    DEFAULT = IMAGENET1K_V1


class Swin_S_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/swin_s-5e29d889.pth", 49606258, 83.196, 96.36,
        resize_size=246,
        interpolation=InterpolationMode.BICUBIC,
        min_size=(224, 224),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#swintransformer",
        _ops=8.741,
        _file_size=189.786)
    DEFAULT = IMAGENET1K_V1


class Swin_B_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/swin_b-68c6b09e.pth", 87768224, 83.582, 96.64,
        resize_size=238,
        interpolation=InterpolationMode.BICUBIC,
        min_size=(224, 224),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#swintransformer",
        _ops=15.431,
        _file_size=335.364)
    DEFAULT = IMAGENET1K_V1


class Swin_V2_T_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/swin_v2_t-b137f0e2.pth", 28351570, 82.072, 96.132,
        crop_size=256,
        resize_size=260,
        interpolation=InterpolationMode.BICUBIC,
        min_size=(256, 256),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#swintransformer-v2",
        _ops=5.94,
        _file_size=108.626)
    DEFAULT = IMAGENET1K_V1


class Swin_V2_S_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/swin_v2_s-637d8ceb.pth", 49737442, 83.712, 96.816,
        crop_size=256,
        resize_size=260,
        interpolation=InterpolationMode.BICUBIC,
        min_size=(256, 256),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#swintransformer-v2",
        _ops=11.546,
        _file_size=190.675)
    DEFAULT = IMAGENET1K_V1


class Swin_V2_B_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/swin_v2_b-781e5279.pth", 87930848, 84.112, 96.864,
        crop_size=256,
        resize_size=272,
        interpolation=InterpolationMode.BICUBIC,
        min_size=(256, 256),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#swintransformer-v2",
        _ops=20.325,
        _file_size=336.372)
    DEFAULT = IMAGENET1K_V1


def swin_t(weights=None, progress=True, **kwargs):
    """Swin Transformer-T (see _VARIANTS)."""
    return _swin_transformer("swin_t", Swin_T_Weights, weights, progress, kwargs)


def swin_s(weights=None, progress=True, **kwargs):
    """Swin Transformer-S (see _VARIANTS)."""
    return _swin_transformer("swin_s", Swin_S_Weights, weights, progress, kwargs)


def swin_b(weights=None, progress=True, **kwargs):
    """Swin Transformer-B (see _VARIANTS)."""
    return _swin_transformer("swin_b", Swin_B_Weights, weights, progress, kwargs)


def swin_v2_t(weights=None, progress=True, **kwargs):
    """Swin Transformer V2-T (see _VARIANTS)."""
    return _swin_transformer("swin_v2_t", Swin_V2_T_Weights, weights, progress, kwargs)


def swin_v2_s(weights=None, progress=True, **kwargs):
    """Swin Transformer V2-S (see _VARIANTS)."""
    return _swin_transformer("swin_v2_s", Swin_V2_S_Weights, weights, progress, kwargs)


def swin_v2_b(weights=None, progress=True, **kwargs):
    """Swin Transformer V2-B (see _VARIANTS)."""
    return _swin_transformer("swin_v2_b", Swin_V2_B_Weights, weights, progress, kwargs)
