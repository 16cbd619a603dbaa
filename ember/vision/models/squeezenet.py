"""SqueezeNet 1.0 and 1.1 (Iandola et al. 2016), torchvision's layout."""
from ... import cat, flatten, nn
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes

__all__ = ["SqueezeNet", "Fire", "squeezenet1_0", "squeezenet1_1", "SqueezeNet1_0_Weights",
           "SqueezeNet1_1_Weights"]


class Fire(nn.Module):
    """Squeeze with a 1x1 convolution, then concatenate 1x1 and 3x3 expansions."""

    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return cat([self.expand1x1_activation(self.expand1x1(x)),
                    self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """Fire modules between max pools; the classifier is a 1x1 convolution to
    `num_classes` channels, ReLU and global average pooling."""

    def __init__(self, version="1_0", num_classes=1000, dropout=0.5):
        super().__init__()
        self.num_classes = num_classes
        pool = nn.MaxPool2d
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True),
                pool(kernel_size=3, stride=2, ceil_mode=True),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128),
                pool(kernel_size=3, stride=2, ceil_mode=True),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                pool(kernel_size=3, stride=2, ceil_mode=True),
                Fire(512, 64, 256, 256))
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True),
                pool(kernel_size=3, stride=2, ceil_mode=True),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64),
                pool(kernel_size=3, stride=2, ceil_mode=True),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128),
                pool(kernel_size=3, stride=2, ceil_mode=True),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256))
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        final_conv = nn.Conv2d(512, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv,
                                        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return flatten(self.classifier(self.features(x)), 1)


class SqueezeNet1_0_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/squeezenet1_0-b66bff10.pth", 1248424, 58.092, 80.42,
        recipe="https://github.com/pytorch/vision/pull/49#issuecomment-277560717",
        min_size=(21, 21),
        _ops=0.819,
        _file_size=4.778)
    DEFAULT = IMAGENET1K_V1


class SqueezeNet1_1_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth", 1235496, 58.178, 80.624,
        recipe="https://github.com/pytorch/vision/pull/49#issuecomment-277560717",
        min_size=(17, 17),
        _ops=0.349,
        _file_size=4.729)
    DEFAULT = IMAGENET1K_V1


def _squeezenet(version, weights_enum, weights, progress, kwargs):
    weights = resolve_weights(weights_enum, weights, kwargs, "IMAGENET1K_V1")
    set_num_classes(kwargs, weights)
    return load_weights(SqueezeNet(version, **kwargs), weights, progress)


def squeezenet1_0(weights=None, progress=True, **kwargs):
    return _squeezenet("1_0", SqueezeNet1_0_Weights, weights, progress, kwargs)


def squeezenet1_1(weights=None, progress=True, **kwargs):
    """SqueezeNet 1.1: 2.4x less computation than 1.0 at the same accuracy."""
    return _squeezenet("1_1", SqueezeNet1_1_Weights, weights, progress, kwargs)
