"""RegNetX / RegNetY (Radosavovic et al. 2020, "Designing Network Design Spaces"),
torchvision's layout, state_dict keys (``trunk_output.block1.block1-0...``) and init."""
import math
from collections import OrderedDict
from functools import partial

import numpy as np

from ... import nn
from ..ops.misc import Conv2dNormActivation, SqueezeExcitation
from ..transforms.functional import InterpolationMode
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes
from .mobilenetv2 import _make_divisible

__all__ = ["RegNet", "RegNet_Y_400MF_Weights", "RegNet_Y_800MF_Weights",
           "RegNet_Y_1_6GF_Weights", "RegNet_Y_3_2GF_Weights", "RegNet_Y_8GF_Weights",
           "RegNet_Y_16GF_Weights", "RegNet_Y_32GF_Weights", "RegNet_Y_128GF_Weights",
           "RegNet_X_400MF_Weights", "RegNet_X_800MF_Weights", "RegNet_X_1_6GF_Weights",
           "RegNet_X_3_2GF_Weights", "RegNet_X_8GF_Weights", "RegNet_X_16GF_Weights",
           "RegNet_X_32GF_Weights", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf",
           "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf",
           "regnet_y_128gf", "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf",
           "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf"]


class SimpleStemIN(Conv2dNormActivation):
    """The stem: 3x3/2 convolution, norm, activation."""

    def __init__(self, width_in, width_out, norm_layer, activation_layer):
        super().__init__(width_in, width_out, kernel_size=3, stride=2, norm_layer=norm_layer,
                         activation_layer=activation_layer)


class BottleneckTransform(nn.Sequential):
    """``a``: 1x1 to the bottleneck width ``w_b = width_out * bottleneck_multiplier``;
    ``b``: grouped 3x3 (groups of `group_width` channels), strided; ``se``: squeeze-
    excitation to ``se_ratio * width_in`` channels (RegNetY only); ``c``: linear 1x1 to
    `width_out`."""

    def __init__(self, width_in, width_out, stride, norm_layer, activation_layer,
                 group_width, bottleneck_multiplier, se_ratio):
        layers = OrderedDict()
        w_b = int(round(width_out * bottleneck_multiplier))
        g = w_b // group_width
        layers["a"] = Conv2dNormActivation(width_in, w_b, kernel_size=1, stride=1,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        layers["b"] = Conv2dNormActivation(w_b, w_b, kernel_size=3, stride=stride, groups=g,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        if se_ratio:
            layers["se"] = SqueezeExcitation(input_channels=w_b,
                                             squeeze_channels=int(round(se_ratio * width_in)),
                                             activation=activation_layer)
        layers["c"] = Conv2dNormActivation(w_b, width_out, kernel_size=1, stride=1,
                                           norm_layer=norm_layer, activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """``activation(proj(x) + f(x))``: the bottleneck transform `f` plus the identity, or
    a strided 1x1 projection `proj` when the width or resolution changes."""

    def __init__(self, width_in, width_out, stride, norm_layer, activation_layer,
                 group_width=1, bottleneck_multiplier=1.0, se_ratio=None):
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             norm_layer=norm_layer, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, norm_layer, activation_layer,
                                     group_width, bottleneck_multiplier, se_ratio)
        self.activation = activation_layer(inplace=True)

    def forward(self, x):
        x = self.proj(x) + self.f(x) if self.proj is not None else x + self.f(x)
        return self.activation(x)


class AnyStage(nn.Sequential):
    """`depth` blocks named ``block{stage_index}-{i}``, the first one strided."""

    def __init__(self, width_in, width_out, stride, depth, block_constructor, norm_layer,
                 activation_layer, group_width, bottleneck_multiplier, se_ratio=None,
                 stage_index=0):
        super().__init__()
        for i in range(depth):
            block = block_constructor(width_in if i == 0 else width_out, width_out,
                                      stride if i == 0 else 1, norm_layer, activation_layer,
                                      group_width, bottleneck_multiplier, se_ratio)
            self.add_module(f"block{stage_index}-{i}", block)


class BlockParams:
    """Per-stage depths, widths, group widths, bottleneck multipliers and strides."""

    def __init__(self, depths, widths, group_widths, bottleneck_multipliers, strides,
                 se_ratio=None):
        self.depths = depths
        self.widths = widths
        self.group_widths = group_widths
        self.bottleneck_multipliers = bottleneck_multipliers
        self.strides = strides
        self.se_ratio = se_ratio

    @classmethod
    def from_init_params(cls, depth, w_0, w_a, w_m, group_width, bottleneck_multiplier=1.0,
                         se_ratio=None, **kwargs):
        """The quantised linear parametrisation of section 3.3 of the paper: block j gets
        the continuous width ``u_j = w_0 + w_a * j``, written as ``w_0 * w_m ** s_j``;
        rounding ``s_j`` and the width to a multiple of 8 gives piecewise-constant widths,
        and each run of equal widths is one stage (stride 2).

        Computed in float32, as torchvision does with torch tensors: the roundings (half to
        even) then fall where they fall there, and the widths come out the same.
        """
        quant, stride = 8, 2
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
            raise ValueError("Invalid RegNet settings")
        f32 = np.float32
        widths_cont = np.arange(depth, dtype=f32) * f32(w_a) + f32(w_0)
        block_capacity = np.round(np.log(widths_cont / f32(w_0)) / f32(math.log(w_m)))
        block_widths = np.round(f32(w_0) * np.power(f32(w_m), block_capacity) / f32(quant))
        block_widths = (block_widths * quant).astype(np.int32).tolist()
        num_stages = len(set(block_widths))
        # a stage starts wherever the width changes
        padded = block_widths + [0]
        previous = [0] + block_widths
        splits = [w != wp for w, wp in zip(padded, previous)]
        stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
        stage_depths = np.diff([d for d, t in enumerate(splits) if t]).astype(int).tolist()
        strides = [stride] * num_stages
        bottleneck_multipliers = [bottleneck_multiplier] * num_stages
        group_widths = [group_width] * num_stages
        stage_widths, group_widths = cls._adjust_widths_groups_compatibilty(
            stage_widths, bottleneck_multipliers, group_widths)
        return cls(depths=stage_depths, widths=stage_widths, group_widths=group_widths,
                   bottleneck_multipliers=bottleneck_multipliers, strides=strides,
                   se_ratio=se_ratio)

    def _get_expanded_params(self):
        return zip(self.widths, self.strides, self.depths, self.group_widths,
                   self.bottleneck_multipliers)

    @staticmethod
    def _adjust_widths_groups_compatibilty(stage_widths, bottleneck_ratios, group_widths):
        """Bottleneck widths made divisible by their group width (a group never wider
        than the bottleneck), and the stage widths recomputed from them."""
        widths = [int(w * b) for w, b in zip(stage_widths, bottleneck_ratios)]
        group_widths_min = [min(g, w_bot) for g, w_bot in zip(group_widths, widths)]
        ws_bot = [_make_divisible(w_bot, g) for w_bot, g in zip(widths, group_widths_min)]
        stage_widths = [int(w_bot / b) for w_bot, b in zip(ws_bot, bottleneck_ratios)]
        return stage_widths, group_widths_min


class RegNet(nn.Module):
    """Stem, one AnyStage per entry of `block_params` (``trunk_output.block1..``), global
    average pool, `fc`. Convolutions are N(0, sqrt(2 / fan_out)), the linear N(0, 0.01),
    BN (1, 0)."""

    def __init__(self, block_params, num_classes=1000, stem_width=32, stem_type=None,
                 block_type=None, norm_layer=None, activation=None):
        super().__init__()
        stem_type = stem_type or SimpleStemIN
        norm_layer = norm_layer or nn.BatchNorm2d
        block_type = block_type or ResBottleneckBlock
        activation = activation or nn.ReLU
        self.stem = stem_type(3, stem_width, norm_layer, activation)
        current_width = stem_width
        blocks = []
        for i, (width_out, stride, depth, group_width, bottleneck_multiplier) in enumerate(
                block_params._get_expanded_params()):
            blocks.append((f"block{i + 1}",
                           AnyStage(current_width, width_out, stride, depth, block_type,
                                    norm_layer, activation, group_width,
                                    bottleneck_multiplier, block_params.se_ratio,
                                    stage_index=i + 1)))
            current_width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_features=current_width, out_features=num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


# builder: (depth, w_0, w_a, w_m, group_width, se_ratio, legacy pretrained=True weights)
_VARIANTS = {
    "regnet_y_400mf": (16, 48, 27.89, 2.09, 8, 0.25, "IMAGENET1K_V1"),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16, 0.25, "IMAGENET1K_V1"),
    "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24, 0.25, "IMAGENET1K_V1"),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24, 0.25, "IMAGENET1K_V1"),
    "regnet_y_8gf": (17, 192, 76.82, 2.19, 56, 0.25, "IMAGENET1K_V1"),
    "regnet_y_16gf": (18, 200, 106.23, 2.48, 112, 0.25, "IMAGENET1K_V1"),
    "regnet_y_32gf": (20, 232, 115.89, 2.53, 232, 0.25, "IMAGENET1K_V1"),
    "regnet_y_128gf": (27, 456, 160.83, 2.52, 264, 0.25, None),
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16, None, "IMAGENET1K_V1"),
    "regnet_x_800mf": (16, 56, 35.73, 2.28, 16, None, "IMAGENET1K_V1"),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24, None, "IMAGENET1K_V1"),
    "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48, None, "IMAGENET1K_V1"),
    "regnet_x_8gf": (23, 80, 49.56, 2.88, 120, None, "IMAGENET1K_V1"),
    "regnet_x_16gf": (22, 216, 55.59, 2.1, 128, None, "IMAGENET1K_V1"),
    "regnet_x_32gf": (23, 320, 69.86, 2.0, 168, None, "IMAGENET1K_V1"),
}


def _regnet(arch, weights_enum, weights, progress, kwargs):
    depth, w_0, w_a, w_m, group_width, se_ratio, legacy = _VARIANTS[arch]
    weights = resolve_weights(weights_enum, weights, kwargs, legacy)
    params = BlockParams.from_init_params(depth=depth, w_0=w_0, w_a=w_a, w_m=w_m,
                                          group_width=group_width, se_ratio=se_ratio)
    set_num_classes(kwargs, weights)
    norm_layer = kwargs.pop("norm_layer", partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    return load_weights(RegNet(params, norm_layer=norm_layer, **kwargs), weights, progress)


class RegNet_Y_400MF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_400mf-c65dace8.pth", 4344144, 74.046, 91.716,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#small-models",
        _ops=0.402,
        _file_size=16.806)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_400mf-e6988f5f.pth", 4344144, 75.804, 92.742,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=0.402,
        _file_size=16.806)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_800MF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_800mf-1b27b58c.pth", 6432512, 76.42, 93.136,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#small-models",
        _ops=0.834,
        _file_size=24.774)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_800mf-58fc7688.pth", 6432512, 78.828, 94.502,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=0.834,
        _file_size=24.774)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_1_6GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_1_6gf-b11a554e.pth", 11202430, 77.95, 93.966,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#small-models",
        _ops=1.612,
        _file_size=43.152)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_1_6gf-0d7bc02a.pth", 11202430, 80.876, 95.444,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=1.612,
        _file_size=43.152)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_3_2GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_3_2gf-b5a9779c.pth", 19436338, 78.948, 94.576,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#medium-models",
        _ops=3.176,
        _file_size=74.567)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_3_2gf-9180c971.pth", 19436338, 81.982, 95.972,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=3.176,
        _file_size=74.567)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_8GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_8gf-d0d0e4a8.pth", 39381472, 80.032, 95.048,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#medium-models",
        _ops=8.473,
        _file_size=150.701)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_8gf-dc2b1b54.pth", 39381472, 82.828, 96.33,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=8.473,
        _file_size=150.701)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_16GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_16gf-9e6ed7dd.pth", 83590140, 80.424, 95.24,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#large-models",
        _ops=15.912,
        _file_size=319.49)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_16gf-3e4a00f9.pth", 83590140, 82.886, 96.328,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=15.912,
        _file_size=319.49)
    IMAGENET1K_SWAG_E2E_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_16gf_swag-43afe44d.pth", 83590140, 86.012, 98.054,
        crop_size=384,
        resize_size=384,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/facebookresearch/SWAG",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        _ops=46.735,
        _file_size=319.49)
    IMAGENET1K_SWAG_LINEAR_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_16gf_lc_swag-f3ec0043.pth", 83590140, 83.976, 97.244,
        resize_size=224,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/pull/5793",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        _ops=15.912,
        _file_size=319.49)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_32GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_32gf-4dee3f7a.pth", 145046770, 80.878, 95.34,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#large-models",
        _ops=32.28,
        _file_size=554.076)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_32gf-8db6d4b5.pth", 145046770, 83.368, 96.498,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=32.28,
        _file_size=554.076)
    IMAGENET1K_SWAG_E2E_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_32gf_swag-04fdfa75.pth", 145046770, 86.838, 98.362,
        crop_size=384,
        resize_size=384,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/facebookresearch/SWAG",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        _ops=94.826,
        _file_size=554.076)
    IMAGENET1K_SWAG_LINEAR_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_32gf_lc_swag-e1583746.pth", 145046770, 84.622, 97.48,
        resize_size=224,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/pull/5793",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        _ops=32.28,
        _file_size=554.076)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_128GF_Weights(WeightsEnum):
    IMAGENET1K_SWAG_E2E_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_128gf_swag-c8ce3e52.pth", 644812894, 88.228, 98.682,
        crop_size=384,
        resize_size=384,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/facebookresearch/SWAG",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        _ops=374.57,
        _file_size=2461.564)
    IMAGENET1K_SWAG_LINEAR_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_y_128gf_lc_swag-cbe8ce12.pth", 644812894, 86.068, 97.844,
        resize_size=224,
        interpolation=InterpolationMode.BICUBIC,
        recipe="https://github.com/pytorch/vision/pull/5793",
        license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        _ops=127.518,
        _file_size=2461.564)
    DEFAULT = IMAGENET1K_SWAG_E2E_V1


class RegNet_X_400MF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_400mf-adf1edd5.pth", 5495976, 72.834, 90.95,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#small-models",
        _ops=0.414,
        _file_size=21.258)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_400mf-62229a5f.pth", 5495976, 74.864, 92.322,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres",
        _ops=0.414,
        _file_size=21.257)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_800MF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_800mf-ad17e45c.pth", 7259656, 75.212, 92.348,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#small-models",
        _ops=0.8,
        _file_size=27.945)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_800mf-94a99ebd.pth", 7259656, 77.522, 93.826,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres",
        _ops=0.8,
        _file_size=27.945)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_1_6GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_1_6gf-e3633e7f.pth", 9190136, 77.04, 93.44,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#small-models",
        _ops=1.603,
        _file_size=35.339)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_1_6gf-a12f2b72.pth", 9190136, 79.668, 94.922,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres",
        _ops=1.603,
        _file_size=35.339)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_3_2GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_3_2gf-f342aeae.pth", 15296552, 78.364, 93.992,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#medium-models",
        _ops=3.177,
        _file_size=58.756)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_3_2gf-7071aa85.pth", 15296552, 81.196, 95.43,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=3.177,
        _file_size=58.756)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_8GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_8gf-03ceed89.pth", 39572648, 79.344, 94.686,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#medium-models",
        _ops=7.995,
        _file_size=151.456)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_8gf-2b70d774.pth", 39572648, 81.682, 95.678,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=7.995,
        _file_size=151.456)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_16GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_16gf-2007eb11.pth", 54278536, 80.058, 94.944,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#medium-models",
        _ops=15.941,
        _file_size=207.627)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_16gf-ba3796d7.pth", 54278536, 82.716, 96.196,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=15.941,
        _file_size=207.627)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_32GF_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_32gf-9d47f8d0.pth", 107811560, 80.622, 95.248,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#large-models",
        _ops=31.736,
        _file_size=412.039)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/regnet_x_32gf-6eb8fdc6.pth", 107811560, 83.014, 96.288,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=31.736,
        _file_size=412.039)
    DEFAULT = IMAGENET1K_V2


def regnet_y_400mf(weights=None, progress=True, **kwargs):
    """RegNetY-400MF."""
    return _regnet("regnet_y_400mf", RegNet_Y_400MF_Weights, weights, progress, kwargs)


def regnet_y_800mf(weights=None, progress=True, **kwargs):
    """RegNetY-800MF."""
    return _regnet("regnet_y_800mf", RegNet_Y_800MF_Weights, weights, progress, kwargs)


def regnet_y_1_6gf(weights=None, progress=True, **kwargs):
    """RegNetY-1.6GF."""
    return _regnet("regnet_y_1_6gf", RegNet_Y_1_6GF_Weights, weights, progress, kwargs)


def regnet_y_3_2gf(weights=None, progress=True, **kwargs):
    """RegNetY-3.2GF."""
    return _regnet("regnet_y_3_2gf", RegNet_Y_3_2GF_Weights, weights, progress, kwargs)


def regnet_y_8gf(weights=None, progress=True, **kwargs):
    """RegNetY-8GF."""
    return _regnet("regnet_y_8gf", RegNet_Y_8GF_Weights, weights, progress, kwargs)


def regnet_y_16gf(weights=None, progress=True, **kwargs):
    """RegNetY-16GF."""
    return _regnet("regnet_y_16gf", RegNet_Y_16GF_Weights, weights, progress, kwargs)


def regnet_y_32gf(weights=None, progress=True, **kwargs):
    """RegNetY-32GF."""
    return _regnet("regnet_y_32gf", RegNet_Y_32GF_Weights, weights, progress, kwargs)


def regnet_y_128gf(weights=None, progress=True, **kwargs):
    """RegNetY-128GF."""
    return _regnet("regnet_y_128gf", RegNet_Y_128GF_Weights, weights, progress, kwargs)


def regnet_x_400mf(weights=None, progress=True, **kwargs):
    """RegNetX-400MF."""
    return _regnet("regnet_x_400mf", RegNet_X_400MF_Weights, weights, progress, kwargs)


def regnet_x_800mf(weights=None, progress=True, **kwargs):
    """RegNetX-800MF."""
    return _regnet("regnet_x_800mf", RegNet_X_800MF_Weights, weights, progress, kwargs)


def regnet_x_1_6gf(weights=None, progress=True, **kwargs):
    """RegNetX-1.6GF."""
    return _regnet("regnet_x_1_6gf", RegNet_X_1_6GF_Weights, weights, progress, kwargs)


def regnet_x_3_2gf(weights=None, progress=True, **kwargs):
    """RegNetX-3.2GF."""
    return _regnet("regnet_x_3_2gf", RegNet_X_3_2GF_Weights, weights, progress, kwargs)


def regnet_x_8gf(weights=None, progress=True, **kwargs):
    """RegNetX-8GF."""
    return _regnet("regnet_x_8gf", RegNet_X_8GF_Weights, weights, progress, kwargs)


def regnet_x_16gf(weights=None, progress=True, **kwargs):
    """RegNetX-16GF."""
    return _regnet("regnet_x_16gf", RegNet_X_16GF_Weights, weights, progress, kwargs)


def regnet_x_32gf(weights=None, progress=True, **kwargs):
    """RegNetX-32GF."""
    return _regnet("regnet_x_32gf", RegNet_X_32GF_Weights, weights, progress, kwargs)
