"""EfficientNet B0-B7 (Tan & Le 2019) and EfficientNetV2 S/M/L (Tan & Le 2021),
torchvision's layout, state_dict keys and initialisation."""
import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Callable

from ... import flatten, nn
from ..ops.misc import Conv2dNormActivation, SqueezeExcitation
from ..ops.stochastic_depth import StochasticDepth
from ..transforms.functional import InterpolationMode
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes
from .mobilenetv2 import _make_divisible

__all__ = ["EfficientNet", "EfficientNet_B0_Weights", "EfficientNet_B1_Weights",
           "EfficientNet_B2_Weights", "EfficientNet_B3_Weights", "EfficientNet_B4_Weights",
           "EfficientNet_B5_Weights", "EfficientNet_B6_Weights", "EfficientNet_B7_Weights",
           "EfficientNet_V2_S_Weights", "EfficientNet_V2_M_Weights",
           "EfficientNet_V2_L_Weights", "efficientnet_b0", "efficientnet_b1",
           "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
           "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_s", "efficientnet_v2_m",
           "efficientnet_v2_l"]


@dataclass
class _MBConvConfig:
    """One stage: expansion ratio, kernel, first stride, channels in/out, number of
    blocks, and the block class."""
    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int
    block: Callable

    @staticmethod
    def adjust_channels(channels, width_mult, min_value=None):
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConvConfig(_MBConvConfig):
    """A stage of MBConv blocks, its widths scaled by `width_mult` (rounded to multiples of
    8) and its depth by `depth_mult` (rounded up): the compound scaling of B0-B7."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 width_mult=1.0, depth_mult=1.0, block=None):
        input_channels = self.adjust_channels(input_channels, width_mult)
        out_channels = self.adjust_channels(out_channels, width_mult)
        num_layers = self.adjust_depth(num_layers, depth_mult)
        super().__init__(expand_ratio, kernel, stride, input_channels, out_channels,
                         num_layers, block or MBConv)

    @staticmethod
    def adjust_depth(num_layers, depth_mult):
        return int(math.ceil(num_layers * depth_mult))


class FusedMBConvConfig(_MBConvConfig):
    """A stage of Fused-MBConv blocks (EfficientNetV2's early stages)."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 block=None):
        super().__init__(expand_ratio, kernel, stride, input_channels, out_channels,
                         num_layers, block or FusedMBConv)


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expansion (SiLU; skipped at ratio 1), depthwise kxk
    (SiLU), squeeze-excitation (squeeze to a quarter of the *input* width), linear 1x1
    projection; with a residual, the branch goes through row-wise stochastic depth."""

    def __init__(self, cnf, stochastic_depth_prob, norm_layer, se_layer=SqueezeExcitation):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers = []
        expanded_channels = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded_channels,
                                               kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels,
                                           kernel_size=cnf.kernel, stride=cnf.stride,
                                           groups=expanded_channels, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        squeeze_channels = max(1, cnf.input_channels // 4)
        layers.append(se_layer(expanded_channels, squeeze_channels,
                               activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded_channels, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class FusedMBConv(nn.Module):
    """Fused-MBConv: the expansion and depthwise convolutions fused into one full kxk
    convolution (SiLU), then a linear 1x1 projection (or, at ratio 1, the kxk convolution
    alone); residual with stochastic depth as MBConv."""

    def __init__(self, cnf, stochastic_depth_prob, norm_layer):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers = []
        expanded_channels = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded_channels,
                                               kernel_size=cnf.kernel, stride=cnf.stride,
                                               norm_layer=norm_layer,
                                               activation_layer=nn.SiLU))
            layers.append(Conv2dNormActivation(expanded_channels, cnf.out_channels,
                                               kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=None))
        else:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.out_channels,
                                               kernel_size=cnf.kernel, stride=cnf.stride,
                                               norm_layer=norm_layer,
                                               activation_layer=nn.SiLU))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNet(nn.Module):
    """3x3/2 stem (SiLU), one Sequential per stage of `inverted_residual_setting`, a 1x1
    convolution to `last_channel` (default 4x the last width), global average pool,
    dropout, linear. Block i of n drops its branch with probability
    ``stochastic_depth_prob * i / n``. Convolutions are Kaiming-normal (fan_out), the
    linear U(-1/sqrt(out), 1/sqrt(out)), biases 0."""

    def __init__(self, inverted_residual_setting, dropout, stochastic_depth_prob=0.2,
                 num_classes=1000, norm_layer=None, last_channel=None):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, Sequence) and
                all(isinstance(s, _MBConvConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = norm_layer or nn.BatchNorm2d
        firstconv_output_channels = inverted_residual_setting[0].input_channels
        layers = [Conv2dNormActivation(3, firstconv_output_channels, kernel_size=3, stride=2,
                                       norm_layer=norm_layer, activation_layer=nn.SiLU)]
        total_stage_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        stage_block_id = 0
        for cnf in inverted_residual_setting:
            stage = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:   # later blocks of a stage keep its width and resolution
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(stage_block_id) / total_stage_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = (last_channel if last_channel is not None
                                    else 4 * lastconv_input_channels)
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels,
                                           kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(lastconv_output_channels, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def _forward_impl(self, x):
        x = flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)

    def forward(self, x):
        return self._forward_impl(x)


def _efficientnet_conf(arch, width_mult=1.0, depth_mult=1.0):
    """The stage table of `arch` and the width of the last convolution (None: 4x)."""
    if arch.startswith("efficientnet_b"):
        bneck_conf = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
        return [
            bneck_conf(1, 3, 1, 32, 16, 1),
            bneck_conf(6, 3, 2, 16, 24, 2),
            bneck_conf(6, 5, 2, 24, 40, 2),
            bneck_conf(6, 3, 2, 40, 80, 3),
            bneck_conf(6, 5, 1, 80, 112, 3),
            bneck_conf(6, 5, 2, 112, 192, 4),
            bneck_conf(6, 3, 1, 192, 320, 1),
        ], None
    if arch.startswith("efficientnet_v2_s"):
        return [
            FusedMBConvConfig(1, 3, 1, 24, 24, 2),
            FusedMBConvConfig(4, 3, 2, 24, 48, 4),
            FusedMBConvConfig(4, 3, 2, 48, 64, 4),
            MBConvConfig(4, 3, 2, 64, 128, 6),
            MBConvConfig(6, 3, 1, 128, 160, 9),
            MBConvConfig(6, 3, 2, 160, 256, 15),
        ], 1280
    if arch.startswith("efficientnet_v2_m"):
        return [
            FusedMBConvConfig(1, 3, 1, 24, 24, 3),
            FusedMBConvConfig(4, 3, 2, 24, 48, 5),
            FusedMBConvConfig(4, 3, 2, 48, 80, 5),
            MBConvConfig(4, 3, 2, 80, 160, 7),
            MBConvConfig(6, 3, 1, 160, 176, 14),
            MBConvConfig(6, 3, 2, 176, 304, 18),
            MBConvConfig(6, 3, 1, 304, 512, 5),
        ], 1280
    if arch.startswith("efficientnet_v2_l"):
        return [
            FusedMBConvConfig(1, 3, 1, 32, 32, 4),
            FusedMBConvConfig(4, 3, 2, 32, 64, 7),
            FusedMBConvConfig(4, 3, 2, 64, 96, 7),
            MBConvConfig(4, 3, 2, 96, 192, 10),
            MBConvConfig(6, 3, 1, 192, 224, 19),
            MBConvConfig(6, 3, 2, 224, 384, 25),
            MBConvConfig(6, 3, 1, 384, 640, 7),
        ], 1280
    raise ValueError(f"Unsupported model type {arch}")


# builder: (width_mult, depth_mult, default dropout, BatchNorm arguments); B5-B7 were ported
# from TensorFlow (eps 1e-3, momentum 0.01), V2 trained with eps 1e-3
_VARIANTS = {
    "efficientnet_b0": (1.0, 1.0, 0.2, None),
    "efficientnet_b1": (1.0, 1.1, 0.2, None),
    "efficientnet_b2": (1.1, 1.2, 0.3, None),
    "efficientnet_b3": (1.2, 1.4, 0.3, None),
    "efficientnet_b4": (1.4, 1.8, 0.4, None),
    "efficientnet_b5": (1.6, 2.2, 0.4, {"eps": 0.001, "momentum": 0.01}),
    "efficientnet_b6": (1.8, 2.6, 0.5, {"eps": 0.001, "momentum": 0.01}),
    "efficientnet_b7": (2.0, 3.1, 0.5, {"eps": 0.001, "momentum": 0.01}),
    "efficientnet_v2_s": (1.0, 1.0, 0.2, {"eps": 1e-03}),
    "efficientnet_v2_m": (1.0, 1.0, 0.3, {"eps": 1e-03}),
    "efficientnet_v2_l": (1.0, 1.0, 0.4, {"eps": 1e-03}),
}


def _efficientnet(arch, weights_enum, weights, progress, kwargs):
    weights = resolve_weights(weights_enum, weights, kwargs, "IMAGENET1K_V1")
    width_mult, depth_mult, dropout, bn_args = _VARIANTS[arch]
    setting, last_channel = _efficientnet_conf(arch, width_mult, depth_mult)
    set_num_classes(kwargs, weights)
    dropout = kwargs.pop("dropout", dropout)
    if bn_args is not None:
        kwargs["norm_layer"] = partial(nn.BatchNorm2d, **bn_args)
    model = EfficientNet(setting, dropout, last_channel=last_channel, **kwargs)
    return load_weights(model, weights, progress)


class EfficientNet_B0_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth", 5288548, 77.692, 93.532,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
        _ops=0.386,
        _file_size=20.451)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B1_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b1_rwightman-bac287d4.pth", 7794184, 78.642, 94.186,
        crop_size=240,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
        _ops=0.687,
        _file_size=30.134)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b1-c27df63c.pth", 7794184, 79.838, 94.934,
        crop_size=240,
        resize_size=255,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-lr-wd-crop-tuning",
        _ops=0.687,
        _file_size=30.136)
    DEFAULT = IMAGENET1K_V2


class EfficientNet_B2_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b2_rwightman-c35c1473.pth", 9109994, 80.608, 95.31,
        crop_size=288,
        resize_size=288,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
        _ops=1.088,
        _file_size=35.174)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B3_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b3_rwightman-b3899882.pth", 12233232, 82.008, 96.054,
        crop_size=300,
        resize_size=320,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
        _ops=1.827,
        _file_size=47.184)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B4_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b4_rwightman-23ab8bcd.pth", 19341616, 83.384, 96.594,
        crop_size=380,
        resize_size=384,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
        _ops=4.394,
        _file_size=74.489)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B5_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b5_lukemelas-1a07897c.pth", 30389784, 83.444, 96.628,
        crop_size=456,
        resize_size=456,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
        _ops=10.266,
        _file_size=116.864)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B6_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b6_lukemelas-24a108a5.pth", 43040704, 84.008, 96.916,
        crop_size=528,
        resize_size=528,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
        _ops=19.068,
        _file_size=165.362)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B7_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b7_lukemelas-c5b4e57e.pth", 66347960, 84.122, 96.908,
        crop_size=600,
        resize_size=600,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
        _ops=37.746,
        _file_size=254.675)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_V2_S_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_v2_s-dd5fe13b.pth", 21458488, 84.228, 96.878,
        crop_size=384,
        resize_size=384,
        min_size=(33, 33),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v2",
        _ops=8.366,
        _file_size=82.704)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_V2_M_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_v2_m-dc08266a.pth", 54139356, 85.112, 97.156,
        crop_size=480,
        resize_size=480,
        min_size=(33, 33),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v2",
        _ops=24.582,
        _file_size=208.01)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_V2_L_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_v2_l-59c71312.pth", 118515272, 85.808, 97.788,
        crop_size=480,
        resize_size=480,
        interpolation=InterpolationMode.BICUBIC,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        min_size=(33, 33),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v2",
        _ops=56.08,
        _file_size=454.573)
    DEFAULT = IMAGENET1K_V1


def efficientnet_b0(weights=None, progress=True, **kwargs):
    """EfficientNet-B0 (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_b0", EfficientNet_B0_Weights, weights, progress,
                         kwargs)


def efficientnet_b1(weights=None, progress=True, **kwargs):
    """EfficientNet-B1 (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_b1", EfficientNet_B1_Weights, weights, progress,
                         kwargs)


def efficientnet_b2(weights=None, progress=True, **kwargs):
    """EfficientNet-B2 (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_b2", EfficientNet_B2_Weights, weights, progress,
                         kwargs)


def efficientnet_b3(weights=None, progress=True, **kwargs):
    """EfficientNet-B3 (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_b3", EfficientNet_B3_Weights, weights, progress,
                         kwargs)


def efficientnet_b4(weights=None, progress=True, **kwargs):
    """EfficientNet-B4 (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_b4", EfficientNet_B4_Weights, weights, progress,
                         kwargs)


def efficientnet_b5(weights=None, progress=True, **kwargs):
    """EfficientNet-B5 (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_b5", EfficientNet_B5_Weights, weights, progress,
                         kwargs)


def efficientnet_b6(weights=None, progress=True, **kwargs):
    """EfficientNet-B6 (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_b6", EfficientNet_B6_Weights, weights, progress,
                         kwargs)


def efficientnet_b7(weights=None, progress=True, **kwargs):
    """EfficientNet-B7 (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_b7", EfficientNet_B7_Weights, weights, progress,
                         kwargs)


def efficientnet_v2_s(weights=None, progress=True, **kwargs):
    """EfficientNetV2-S (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_v2_s", EfficientNet_V2_S_Weights, weights, progress,
                         kwargs)


def efficientnet_v2_m(weights=None, progress=True, **kwargs):
    """EfficientNetV2-M (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_v2_m", EfficientNet_V2_M_Weights, weights, progress,
                         kwargs)


def efficientnet_v2_l(weights=None, progress=True, **kwargs):
    """EfficientNetV2-L (see _VARIANTS for its scaling, dropout and BatchNorm)."""
    return _efficientnet("efficientnet_v2_l", EfficientNet_V2_L_Weights, weights, progress,
                         kwargs)
