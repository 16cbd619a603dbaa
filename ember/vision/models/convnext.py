"""ConvNeXt (Liu et al. 2022, "A ConvNet for the 2020s"), tiny/small/base/large,
torchvision's layout, state_dict keys and initialisation."""
from collections.abc import Sequence
from functools import partial

from ... import nn, ones
from ...nn import functional as F
from ..ops.misc import Conv2dNormActivation, Permute
from ..ops.stochastic_depth import StochasticDepth
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes

__all__ = ["ConvNeXt", "ConvNeXt_Tiny_Weights", "ConvNeXt_Small_Weights",
           "ConvNeXt_Base_Weights", "ConvNeXt_Large_Weights", "convnext_tiny",
           "convnext_small", "convnext_base", "convnext_large"]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) input, at every position."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """``x + drop_path(gamma * pw2(gelu(pw1(norm(dwconv7x7(x))))))``: a 7x7 depthwise
    convolution, LayerNorm over channels (channels-last), an MLP of width 4x, a learned
    per-channel scale ``gamma`` (`layer_scale`, initially `layer_scale`) and row-wise
    stochastic depth."""

    def __init__(self, dim, layer_scale, stochastic_depth_prob, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            norm_layer(dim),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input):
        result = self.stochastic_depth(self.layer_scale * self.block(input))
        result += input
        return result


class CNBlockConfig:
    """A stage: its width, the width after the downsampling that follows it (None for the
    last stage) and its number of blocks."""

    def __init__(self, input_channels, out_channels, num_layers):
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers

    def __repr__(self):
        return (f"{self.__class__.__name__}(input_channels={self.input_channels}, "
                f"out_channels={self.out_channels}, num_layers={self.num_layers})")


class ConvNeXt(nn.Module):
    """A 4x4/4 "patchify" stem with LayerNorm, stages of CNBlocks separated by
    LayerNorm + 2x2/2 convolutions, global average pool, then `classifier` (LayerNorm,
    Flatten, Linear). Block i of n has drop probability
    ``stochastic_depth_prob * i / (n - 1)``. Convolutions and linears are initialised
    from N(0, 0.02) truncated to [-2, 2], biases 0."""

    def __init__(self, block_setting, stochastic_depth_prob=0.0, layer_scale=1e-6,
                 num_classes=1000, block=None, norm_layer=None, **kwargs):
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not (isinstance(block_setting, Sequence) and
                all(isinstance(s, CNBlockConfig) for s in block_setting)):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = block or CNBlock
        norm_layer = norm_layer or partial(LayerNorm2d, eps=1e-6)
        layers = [Conv2dNormActivation(3, block_setting[0].input_channels, kernel_size=4,
                                       stride=4, padding=0, norm_layer=norm_layer,
                                       activation_layer=None, bias=True)]
        total_stage_blocks = sum(cnf.num_layers for cnf in block_setting)
        stage_block_id = 0
        for cnf in block_setting:
            stage = []
            for _ in range(cnf.num_layers):
                sd_prob = stochastic_depth_prob * stage_block_id / (total_stage_blocks - 1.0)
                stage.append(block(cnf.input_channels, layer_scale, sd_prob))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(nn.Sequential(
                    norm_layer(cnf.input_channels),
                    nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        lastblock = block_setting[-1]
        lastconv_output_channels = (lastblock.out_channels if lastblock.out_channels is not None
                                    else lastblock.input_channels)
        self.classifier = nn.Sequential(norm_layer(lastconv_output_channels), nn.Flatten(1),
                                        nn.Linear(lastconv_output_channels, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def _forward_impl(self, x):
        return self.classifier(self.avgpool(self.features(x)))

    def forward(self, x):
        return self._forward_impl(x)


# builder: (stage widths, blocks in the third stage, default stochastic depth)
_VARIANTS = {
    "convnext_tiny": ((96, 192, 384, 768), 9, 0.1),
    "convnext_small": ((96, 192, 384, 768), 27, 0.4),
    "convnext_base": ((128, 256, 512, 1024), 27, 0.5),
    "convnext_large": ((192, 384, 768, 1536), 27, 0.5),
}


def _convnext(arch, weights_enum, weights, progress, kwargs):
    weights = resolve_weights(weights_enum, weights, kwargs, "IMAGENET1K_V1")
    widths, depth3, stochastic_depth_prob = _VARIANTS[arch]
    block_setting = [CNBlockConfig(widths[0], widths[1], 3),
                     CNBlockConfig(widths[1], widths[2], 3),
                     CNBlockConfig(widths[2], widths[3], depth3),
                     CNBlockConfig(widths[3], None, 3)]
    stochastic_depth_prob = kwargs.pop("stochastic_depth_prob", stochastic_depth_prob)
    set_num_classes(kwargs, weights)
    model = ConvNeXt(block_setting, stochastic_depth_prob=stochastic_depth_prob, **kwargs)
    return load_weights(model, weights, progress)


class ConvNeXt_Tiny_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/convnext_tiny-983f1562.pth", 28589128, 82.52, 96.146,
        resize_size=236,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#convnext",
        _ops=4.456,
        _file_size=109.119)
    DEFAULT = IMAGENET1K_V1


class ConvNeXt_Small_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/convnext_small-0c510722.pth", 50223688, 83.616, 96.65,
        resize_size=230,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#convnext",
        _ops=8.684,
        _file_size=191.703)
    DEFAULT = IMAGENET1K_V1


class ConvNeXt_Base_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/convnext_base-6075fbad.pth", 88591464, 84.062, 96.87,
        resize_size=232,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#convnext",
        _ops=15.355,
        _file_size=338.064)
    DEFAULT = IMAGENET1K_V1


class ConvNeXt_Large_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/convnext_large-ea097f82.pth", 197767336, 84.414, 96.976,
        resize_size=232,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#convnext",
        _ops=34.361,
        _file_size=754.537)
    DEFAULT = IMAGENET1K_V1


def convnext_tiny(weights=None, progress=True, **kwargs):
    """ConvNeXt-Tiny."""
    return _convnext("convnext_tiny", ConvNeXt_Tiny_Weights, weights, progress, kwargs)


def convnext_small(weights=None, progress=True, **kwargs):
    """ConvNeXt-Small."""
    return _convnext("convnext_small", ConvNeXt_Small_Weights, weights, progress, kwargs)


def convnext_base(weights=None, progress=True, **kwargs):
    """ConvNeXt-Base."""
    return _convnext("convnext_base", ConvNeXt_Base_Weights, weights, progress, kwargs)


def convnext_large(weights=None, progress=True, **kwargs):
    """ConvNeXt-Large."""
    return _convnext("convnext_large", ConvNeXt_Large_Weights, weights, progress, kwargs)
