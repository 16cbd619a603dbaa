"""ResNet (He et al. 2015), ResNeXt and Wide ResNet, with torchvision's module names so
torchvision state dicts load unchanged."""
from ... import Tensor, flatten, nn
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
           "wide_resnet50_2", "wide_resnet101_2", "ResNet18_Weights", "ResNet34_Weights",
           "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights",
           "ResNeXt50_32X4D_Weights", "ResNeXt101_32X8D_Weights", "ResNeXt101_64X4D_Weights",
           "Wide_ResNet50_2_Weights", "Wide_ResNet101_2_Weights"]


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding, no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` with two 3x3 convolutions."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # the shortcut after the main path, as torchvision orders them (fx node order)
        identity = x if self.downsample is None else self.downsample(x)
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped, strided), 1x1 expand by 4, plus the shortcut (the stride
    sits on the 3x3 convolution: ResNet V1.5)."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        # the shortcut after the main path, as torchvision orders them (fx node order)
        identity = x if self.downsample is None else self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """Stem (7x7/2 conv, BN, ReLU, 3x3/2 max pool), four stages of `block`s
    (``layers[i]`` blocks, widths 64/128/256/512, stride 2 from stage 2), global average
    pool, `fc`. Convolutions are Kaiming-normal (fan_out) initialised, BN to (1, 0);
    `zero_init_residual` zeroes each block's last BN weight."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, replace_stride_with_dilation=None, norm_layer=None):
        super().__init__()
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(f"replace_stride_with_dilation should be None or a 3-element "
                             f"tuple, got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2,
                                       dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2,
                                       dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2,
                                       dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups,
                        self.base_width, previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def _forward_impl(self, x: Tensor) -> Tensor:
        # (torchvision's name: the quantizable subclass wraps it in its quant stubs)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = flatten(self.avgpool(x), 1)
        return self.fc(x)

    def forward(self, x: Tensor) -> Tensor:   # (annotated as torchvision's: fx prints it)
        return self._forward_impl(x)


class ResNet18_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/resnet18-f37072fd.pth", 11689512, 69.758, 89.078,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnet",
        _ops=1.814,
        _file_size=44.661)
    DEFAULT = IMAGENET1K_V1


class ResNet34_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/resnet34-b627a593.pth", 21797672, 73.314, 91.42,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnet",
        _ops=3.664,
        _file_size=83.275)
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/resnet50-0676ba61.pth", 25557032, 76.13, 92.862,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnet",
        _ops=4.089,
        _file_size=97.781)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/resnet50-11ad3fa6.pth", 25557032, 80.858, 95.434,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#issuecomment-1013906621",
        _ops=4.089,
        _file_size=97.79)
    DEFAULT = IMAGENET1K_V2


class ResNet101_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/resnet101-63fe2227.pth", 44549160, 77.374, 93.546,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnet",
        _ops=7.801,
        _file_size=170.511)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/resnet101-cd907fc2.pth", 44549160, 81.886, 95.78,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=7.801,
        _file_size=170.53)
    DEFAULT = IMAGENET1K_V2


class ResNet152_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/resnet152-394f9c45.pth", 60192808, 78.312, 94.046,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnet",
        _ops=11.514,
        _file_size=230.434)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/resnet152-f82ba261.pth", 60192808, 82.284, 96.002,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=11.514,
        _file_size=230.474)
    DEFAULT = IMAGENET1K_V2


class ResNeXt50_32X4D_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth", 25028904, 77.618, 93.698,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnext",
        _ops=4.23,
        _file_size=95.789)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/resnext50_32x4d-1a0047aa.pth", 25028904, 81.198, 95.34,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=4.23,
        _file_size=95.833)
    DEFAULT = IMAGENET1K_V2


class ResNeXt101_32X8D_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/resnext101_32x8d-8ba56ff5.pth", 88791336, 79.312, 94.526,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnext",
        _ops=16.414,
        _file_size=339.586)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/resnext101_32x8d-110c445d.pth", 88791336, 82.834, 96.228,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres",
        _ops=16.414,
        _file_size=339.673)
    DEFAULT = IMAGENET1K_V2


class ResNeXt101_64X4D_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/resnext101_64x4d-173b62eb.pth", 83455272, 83.246, 96.454,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/pull/5935",
        _ops=15.46,
        _file_size=319.318)
    DEFAULT = IMAGENET1K_V1


class Wide_ResNet50_2_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/wide_resnet50_2-95faca4d.pth", 68883240, 78.468, 94.086,
        recipe="https://github.com/pytorch/vision/pull/912#issue-445437439",
        _ops=11.398,
        _file_size=131.82)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/wide_resnet50_2-9ba9bcbe.pth", 68883240, 81.602, 95.758,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres",
        _ops=11.398,
        _file_size=263.124)
    DEFAULT = IMAGENET1K_V2


class Wide_ResNet101_2_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/wide_resnet101_2-32ee1156.pth", 126886696, 78.848, 94.284,
        recipe="https://github.com/pytorch/vision/pull/912#issue-445437439",
        _ops=22.753,
        _file_size=242.896)
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/wide_resnet101_2-d733dc28.pth", 126886696, 82.51, 96.02,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
        _ops=22.753,
        _file_size=484.747)
    DEFAULT = IMAGENET1K_V2


def _resnet(block, layers, weights_enum, weights, progress, kwargs, **arch):
    weights = resolve_weights(weights_enum, weights, kwargs, "IMAGENET1K_V1")
    set_num_classes(kwargs, weights)
    model = ResNet(block, layers, **arch, **kwargs)
    return load_weights(model, weights, progress)


def resnet18(weights=None, progress=True, **kwargs):
    """ResNet-18: BasicBlock x [2, 2, 2, 2]."""
    return _resnet(BasicBlock, [2, 2, 2, 2], ResNet18_Weights, weights, progress, kwargs)


def resnet34(weights=None, progress=True, **kwargs):
    """ResNet-34: BasicBlock x [3, 4, 6, 3]."""
    return _resnet(BasicBlock, [3, 4, 6, 3], ResNet34_Weights, weights, progress, kwargs)


def resnet50(weights=None, progress=True, **kwargs):
    """ResNet-50: Bottleneck x [3, 4, 6, 3]."""
    return _resnet(Bottleneck, [3, 4, 6, 3], ResNet50_Weights, weights, progress, kwargs)


def resnet101(weights=None, progress=True, **kwargs):
    """ResNet-101: Bottleneck x [3, 4, 23, 3]."""
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNet101_Weights, weights, progress, kwargs)


def resnet152(weights=None, progress=True, **kwargs):
    """ResNet-152: Bottleneck x [3, 8, 36, 3]."""
    return _resnet(Bottleneck, [3, 8, 36, 3], ResNet152_Weights, weights, progress, kwargs)


def resnext50_32x4d(weights=None, progress=True, **kwargs):
    """ResNeXt-50 32x4d: Bottleneck x [3, 4, 6, 3], 32 groups of width 4."""
    return _resnet(Bottleneck, [3, 4, 6, 3], ResNeXt50_32X4D_Weights, weights, progress,
                   kwargs, groups=32, width_per_group=4)


def resnext101_32x8d(weights=None, progress=True, **kwargs):
    """ResNeXt-101 32x8d: Bottleneck x [3, 4, 23, 3], 32 groups of width 8."""
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNeXt101_32X8D_Weights, weights, progress,
                   kwargs, groups=32, width_per_group=8)


def resnext101_64x4d(weights=None, progress=True, **kwargs):
    """ResNeXt-101 64x4d: Bottleneck x [3, 4, 23, 3], 64 groups of width 4."""
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNeXt101_64X4D_Weights, weights, progress,
                   kwargs, groups=64, width_per_group=4)


def wide_resnet50_2(weights=None, progress=True, **kwargs):
    """Wide ResNet-50-2: ResNet-50 with twice the bottleneck width."""
    return _resnet(Bottleneck, [3, 4, 6, 3], Wide_ResNet50_2_Weights, weights, progress,
                   kwargs, width_per_group=128)


def wide_resnet101_2(weights=None, progress=True, **kwargs):
    """Wide ResNet-101-2: ResNet-101 with twice the bottleneck width."""
    return _resnet(Bottleneck, [3, 4, 23, 3], Wide_ResNet101_2_Weights, weights, progress,
                   kwargs, width_per_group=128)
