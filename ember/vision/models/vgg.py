"""VGG (Simonyan & Zisserman 2014) with and without batch norm, torchvision's layout."""
from ... import flatten, nn
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes

__all__ = ["VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
           "vgg19_bn", "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights",
           "VGG16_Weights", "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights"]
# make_layers and cfgs stay importable from this module, as torchvision's, but are not
# exported into torchvision.models (imagenet/main.py lists that namespace's builders)


class VGG(nn.Module):
    """`features` (3x3 convolutions and 2x2 max pools), a 7x7 adaptive average pool and a
    4096-4096-`num_classes` classifier with dropout. With `init_weights`: convolutions
    Kaiming-normal (fan_out), BN (1, 0), linear layers N(0, 0.01), biases 0."""

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(flatten(x, 1))


def make_layers(cfg, batch_norm=False):
    """The feature extractor: an int is a 3x3 convolution (+BN) + ReLU with that many
    channels, "M" a 2x2 max pool."""
    layers = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
        if batch_norm:
            layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
        else:
            layers += [conv2d, nn.ReLU(inplace=True)]
        in_channels = v
    return nn.Sequential(*layers)


cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
          512, 512, 512, "M"],
}


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vgg11-8a719046.pth", 132863336, 69.02, 88.628,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
        _ops=7.609,
        _file_size=506.84)
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vgg11_bn-6002323d.pth", 132868840, 70.37, 89.81,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
        _ops=7.609,
        _file_size=506.881)
    DEFAULT = IMAGENET1K_V1


class VGG13_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vgg13-19584684.pth", 133047848, 69.928, 89.246,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
        _ops=11.308,
        _file_size=507.545)
    DEFAULT = IMAGENET1K_V1


class VGG13_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vgg13_bn-abd245e5.pth", 133053736, 71.586, 90.374,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
        _ops=11.308,
        _file_size=507.59)
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vgg16-397923af.pth", 138357544, 71.592, 90.382,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
        _ops=15.47,
        _file_size=527.796)
    IMAGENET1K_FEATURES = imagenet_weights(
        "https://download.pytorch.org/models/vgg16_features-amdegroot-88682ab5.pth", 138357544, float("nan"), float("nan"),
        categories=None,
        mean=(0.48235, 0.45882, 0.40784),
        std=(0.00392156862745098, 0.00392156862745098, 0.00392156862745098),
        min_size=(32, 32),
        recipe="https://github.com/amdegroot/ssd.pytorch#training-ssd",
        _ops=15.47,
        _file_size=527.802)
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vgg16_bn-6c64b313.pth", 138365992, 73.36, 91.516,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
        _ops=15.47,
        _file_size=527.866)
    DEFAULT = IMAGENET1K_V1


class VGG19_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", 143667240, 72.376, 90.876,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
        _ops=19.632,
        _file_size=548.051)
    DEFAULT = IMAGENET1K_V1


class VGG19_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/vgg19_bn-c79401a0.pth", 143678248, 74.218, 91.842,
        min_size=(32, 32),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
        _ops=19.632,
        _file_size=548.143)
    DEFAULT = IMAGENET1K_V1


def _vgg(cfg, batch_norm, weights_enum, weights, progress, kwargs):
    weights = resolve_weights(weights_enum, weights, kwargs, "IMAGENET1K_V1")
    if weights is not None:
        kwargs["init_weights"] = False
    set_num_classes(kwargs, weights)
    model = VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)
    return load_weights(model, weights, progress)


def vgg11(weights=None, progress=True, **kwargs):
    """VGG-11 (configuration "A")."""
    return _vgg("A", False, VGG11_Weights, weights, progress, kwargs)


def vgg11_bn(weights=None, progress=True, **kwargs):
    """VGG-11 with batch normalization."""
    return _vgg("A", True, VGG11_BN_Weights, weights, progress, kwargs)


def vgg13(weights=None, progress=True, **kwargs):
    """VGG-13 (configuration "B")."""
    return _vgg("B", False, VGG13_Weights, weights, progress, kwargs)


def vgg13_bn(weights=None, progress=True, **kwargs):
    return _vgg("B", True, VGG13_BN_Weights, weights, progress, kwargs)


def vgg16(weights=None, progress=True, **kwargs):
    """VGG-16 (configuration "D")."""
    return _vgg("D", False, VGG16_Weights, weights, progress, kwargs)


def vgg16_bn(weights=None, progress=True, **kwargs):
    return _vgg("D", True, VGG16_BN_Weights, weights, progress, kwargs)


def vgg19(weights=None, progress=True, **kwargs):
    """VGG-19 (configuration "E")."""
    return _vgg("E", False, VGG19_Weights, weights, progress, kwargs)


def vgg19_bn(weights=None, progress=True, **kwargs):
    return _vgg("E", True, VGG19_BN_Weights, weights, progress, kwargs)
