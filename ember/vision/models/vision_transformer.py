"""Vision Transformer (Dosovitskiy et al. 2020), torchvision's layout and state_dict keys.

An image (N, 3, S, S) is cut into (S/p)^2 patches of p x p pixels, each projected to a
hidden_dim vector by a p x p convolution of stride p (conv_proj); a learned class token is
put in front, learned position embeddings are added, and a stack of pre-norm encoder
blocks

    x = x + Dropout(SelfAttention(LayerNorm(x)))
    x = x + MLP(LayerNorm(x))          MLP: Linear, GELU, Dropout, Linear, Dropout

ends in a LayerNorm; the class token's vector goes through the head(s) to the logits.
Initialisation as torchvision's (and in its order, so a seeded model gets its values):
conv_proj truncated normal with std sqrt(1 / fan_in), position embeddings normal with std
0.02, the MLP's weights Xavier uniform and biases normal with std 1e-6, the last head
zero. Pretrained weights: the ImageNet ones of the b_16, b_32, l_16 and l_32 builders
(torchvision's SWAG weights and vit_h_14 are not offered).
"""
import math
from collections import OrderedDict
from functools import partial

from ... import _assert, cat, nn
from ..transforms.functional import InterpolationMode
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes

__all__ = ["VisionTransformer", "ViT_B_16_Weights", "ViT_B_32_Weights", "ViT_L_16_Weights",
           "ViT_L_32_Weights", "ViT_H_14_Weights", "vit_b_16", "vit_b_32", "vit_l_16",
           "vit_l_32", "vit_h_14"]


class MLPBlock(nn.Sequential):
    """Linear(in_dim, mlp_dim), GELU, Dropout, Linear(mlp_dim, in_dim), Dropout (keys 0 and
    3, as torchvision.ops.MLP's)."""

    def __init__(self, in_dim, mlp_dim, dropout):
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(mlp_dim, in_dim), nn.Dropout(dropout))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)


def _check(condition, message):
    # torch._assert, as torchvision's: recorded, not evaluated, under ember.fx tracing
    return _assert(condition, message)


class EncoderBlock(nn.Module):
    """One pre-norm transformer block: self-attention, then the MLP, each residual."""

    def __init__(self, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout,
                 norm_layer=partial(nn.LayerNorm, eps=1e-6)):
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads,
                                                    dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input):
        _check(input.dim() == 3,
               f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Position embeddings (1, seq_length, hidden_dim) added, dropout, the blocks, a final
    LayerNorm."""

    def __init__(self, seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout,
                 attention_dropout, norm_layer=partial(nn.LayerNorm, eps=1e-6)):
        super().__init__()
        self.pos_embedding = nn.Parameter(_empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout,
                                                attention_dropout, norm_layer))
            for i in range(num_layers)))
        self.ln = norm_layer(hidden_dim)

    def forward(self, input):
        _check(input.dim() == 3,
               f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}")
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


def _empty(*shape):
    from ... import empty
    return empty(*shape)


class VisionTransformer(nn.Module):
    """The Vision Transformer for images of image_size x image_size (see the module
    docstring); `representation_size` adds a Linear + Tanh before the head."""

    def __init__(self, image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim,
                 dropout=0.0, attention_dropout=0.0, num_classes=1000,
                 representation_size=None, norm_layer=partial(nn.LayerNorm, eps=1e-6),
                 conv_stem_configs=None):
        super().__init__()
        _check(image_size % patch_size == 0, "Input shape indivisible by patch size!")
        if conv_stem_configs is not None:
            raise NotImplementedError("VisionTransformer: conv_stem_configs (a convolutional "
                                      "stem) is not built in ember.vision")
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.mlp_dim = mlp_dim
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.num_classes = num_classes
        self.representation_size = representation_size
        self.norm_layer = norm_layer
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1   # the patches and the class token
        self.class_token = nn.Parameter(nn.init.zeros_(_empty(1, 1, hidden_dim)))
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout,
                               attention_dropout, norm_layer)
        self.seq_length = seq_length
        heads = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)

        fan_in = 3 * patch_size * patch_size
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        if representation_size is not None:
            nn.init.trunc_normal_(self.heads.pre_logits.weight,
                                  std=math.sqrt(1 / self.heads.pre_logits.in_features))
            nn.init.zeros_(self.heads.pre_logits.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _process_input(self, x):
        """(N, 3, S, S) -> the patch vectors (N, (S/p)^2, hidden_dim)."""
        n, c, h, w = x.shape
        p = self.patch_size
        _check(h == self.image_size,
               f"Wrong image height! Expected {self.image_size} but got {h}!")
        _check(w == self.image_size,
               f"Wrong image width! Expected {self.image_size} but got {w}!")
        x = self.conv_proj(x).reshape(n, self.hidden_dim, (h // p) * (w // p))
        return x.permute(0, 2, 1)

    def forward(self, x):
        x = self._process_input(x)
        x = cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.heads(self.encoder(x)[:, 0])

    def load_state_dict(self, state_dict, strict=True, assign=False):
        # checkpoints saved before torchvision's MLPBlock became an MLP (its ImageNet files
        # among them) name the two linears linear_1 and linear_2
        renamed = OrderedDict()
        for key, value in state_dict.items():
            for i, new in ((1, "0"), (2, "3")):
                key = key.replace(f".mlp.linear_{i}.", f".mlp.{new}.")
            renamed[key] = value
        return super().load_state_dict(renamed, strict=strict, assign=assign)


def _vit_weights(url, num_params, acc1, acc5, resize_size=256):
    return imagenet_weights(url, num_params, acc1, acc5, resize_size=resize_size,
                            min_size=(224, 224))


class ViT_B_16_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_b_16-c867db91.pth", 86567656, 81.072, 95.318,
        min_size=(224, 224),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#vit_b_16",
        _ops=17.564,
        _file_size=330.285)
    IMAGENET1K_SWAG_E2E_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_b_16_swag-9ac1b537.pth", 86859496, 85.304, 97.65,
        crop_size=384,
        resize_size=384,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/facebookresearch/SWAG",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        min_size=(384, 384),
        _ops=55.484,
        _file_size=331.398)
    IMAGENET1K_SWAG_LINEAR_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_b_16_lc_swag-4e70ced5.pth", 86567656, 81.886, 96.18,
        resize_size=224,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/pull/5793",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        min_size=(224, 224),
        _ops=17.564,
        _file_size=330.285)
    DEFAULT = IMAGENET1K_V1


class ViT_B_32_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_b_32-d86f8d99.pth", 88224232, 75.912, 92.466,
        min_size=(224, 224),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#vit_b_32",
        _ops=4.409,
        _file_size=336.604)
    DEFAULT = IMAGENET1K_V1


class ViT_L_16_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_l_16-852ce7e3.pth", 304326632, 79.662, 94.638,
        resize_size=242,
        min_size=(224, 224),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#vit_l_16",
        _ops=61.555,
        _file_size=1161.023)
    IMAGENET1K_SWAG_E2E_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_l_16_swag-4f3808c9.pth", 305174504, 88.064, 98.512,
        crop_size=512,
        resize_size=512,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/facebookresearch/SWAG",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        min_size=(512, 512),
        _ops=361.986,
        _file_size=1164.258)
    IMAGENET1K_SWAG_LINEAR_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_l_16_lc_swag-4d563306.pth", 304326632, 85.146, 97.422,
        resize_size=224,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/pull/5793",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        min_size=(224, 224),
        _ops=61.555,
        _file_size=1161.023)
    DEFAULT = IMAGENET1K_V1


class ViT_L_32_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_l_32-c7638314.pth", 306535400, 76.972, 93.07,
        min_size=(224, 224),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#vit_l_32",
        _ops=15.378,
        _file_size=1169.449)
    DEFAULT = IMAGENET1K_V1


class ViT_H_14_Weights(WeightsEnum):
    IMAGENET1K_SWAG_E2E_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_h_14_swag-80465313.pth", 633470440, 88.552, 98.694,
        crop_size=518,
        resize_size=518,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/facebookresearch/SWAG",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        min_size=(518, 518),
        _ops=1016.717,
        _file_size=2416.643)
    IMAGENET1K_SWAG_LINEAR_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vit_h_14_lc_swag-c1eb923e.pth", 632045800, 85.708, 97.73,
        resize_size=224,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/pull/5793",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        min_size=(224, 224),
        _ops=167.295,
        _file_size=2411.209)
    DEFAULT = IMAGENET1K_SWAG_E2E_V1


def _vision_transformer(weights_enum, weights, kwargs, patch_size, num_layers, num_heads,
                        hidden_dim, mlp_dim, progress, legacy="IMAGENET1K_V1"):
    weights = resolve_weights(weights_enum, weights, kwargs, legacy)
    set_num_classes(kwargs, weights)
    if weights is not None and not isinstance(weights, str):
        kwargs["image_size"] = weights.meta["min_size"][0]
    image_size = kwargs.pop("image_size", 224)
    model = VisionTransformer(image_size, patch_size, num_layers, num_heads, hidden_dim,
                              mlp_dim, **kwargs)
    return load_weights(model, weights, progress)


def vit_b_16(*, weights=None, progress=True, **kwargs):
    """ViT-B/16: 12 layers, 12 heads, hidden 768, MLP 3072, 16 x 16 patches."""
    return _vision_transformer(ViT_B_16_Weights, weights, kwargs, 16, 12, 12, 768, 3072,
                               progress)


def vit_b_32(*, weights=None, progress=True, **kwargs):
    """ViT-B/32: 12 layers, 12 heads, hidden 768, MLP 3072, 32 x 32 patches."""
    return _vision_transformer(ViT_B_32_Weights, weights, kwargs, 32, 12, 12, 768, 3072,
                               progress)


def vit_l_16(*, weights=None, progress=True, **kwargs):
    """ViT-L/16: 24 layers, 16 heads, hidden 1024, MLP 4096, 16 x 16 patches."""
    return _vision_transformer(ViT_L_16_Weights, weights, kwargs, 16, 24, 16, 1024, 4096,
                               progress)


def vit_l_32(*, weights=None, progress=True, **kwargs):
    """ViT-L/32: 24 layers, 16 heads, hidden 1024, MLP 4096, 32 x 32 patches."""
    return _vision_transformer(ViT_L_32_Weights, weights, kwargs, 32, 24, 16, 1024, 4096,
                               progress)


def vit_h_14(*, weights=None, progress=True, **kwargs):
    """ViT-H/14: 32 layers, 16 heads, hidden 1280, MLP 5120, 14 x 14 patches (SWAG weights
    only)."""
    return _vision_transformer(ViT_H_14_Weights, weights, kwargs, 14, 32, 16, 1280, 5120,
                               progress, legacy=None)
