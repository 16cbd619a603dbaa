"""DenseNet (Huang et al. 2016, "Densely Connected Convolutional Networks"), torchvision's
layout: module names, state_dict keys and initialisation as torchvision.models.densenet."""
import re
from collections import OrderedDict

from ... import cat, flatten, nn
from ...nn import functional as F
from ...utils.checkpoint import checkpoint
from ._api import WeightsEnum, imagenet_weights, resolve_weights, set_num_classes

__all__ = ["DenseNet", "DenseNet121_Weights", "DenseNet161_Weights", "DenseNet169_Weights",
           "DenseNet201_Weights", "densenet121", "densenet161", "densenet169", "densenet201"]


class _DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1 (to ``bn_size * growth_rate`` channels) on the concatenation of
    all earlier feature maps of the block, then BN-ReLU-Conv3x3 to `growth_rate` new
    channels, then dropout. ``memory_efficient`` recomputes the concatenation and the
    bottleneck in backward (gradient checkpointing) instead of keeping them."""

    def __init__(self, num_input_features, growth_rate, bn_size, drop_rate,
                 memory_efficient=False):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1,
                               stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1,
                               padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def bn_function(self, inputs):
        return self.conv1(self.relu1(self.norm1(cat(inputs, 1))))

    def any_requires_grad(self, inputs):
        return any(t.requires_grad for t in inputs)

    def call_checkpoint_bottleneck(self, inputs):
        return checkpoint(lambda *features: self.bn_function(features), *inputs,
                          use_reentrant=False)

    def forward(self, input):
        prev_features = [input] if not isinstance(input, (list, tuple)) else list(input)
        if self.memory_efficient and self.any_requires_grad(prev_features):
            bottleneck = self.call_checkpoint_bottleneck(prev_features)
        else:
            bottleneck = self.bn_function(prev_features)
        new_features = self.conv2(self.relu2(self.norm2(bottleneck)))
        if self.drop_rate > 0:
            new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
        return new_features


class _DenseBlock(nn.ModuleDict):
    """`num_layers` dense layers ``denselayer1..N``; layer i sees the block input and the
    outputs of layers 1..i-1, so the block adds ``num_layers * growth_rate`` channels."""
    _version = 2

    def __init__(self, num_layers, num_input_features, bn_size, growth_rate, drop_rate,
                 memory_efficient=False):
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate=growth_rate,
                                bn_size=bn_size, drop_rate=drop_rate,
                                memory_efficient=memory_efficient)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features):
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return cat(features, 1)


class _Transition(nn.Sequential):
    """BN-ReLU-Conv1x1 (halving the channels) and a 2x2 average pool between blocks."""

    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1,
                              stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """A 7x7/2 stem with 3x3/2 max pool, dense blocks of ``block_config`` layers joined by
    transitions, a final BN, ReLU, global average pool and a linear `classifier`.
    Convolutions are Kaiming-normal (fan_in) initialised, BN to (1, 0), the classifier's
    bias to 0."""

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64,
                 bn_size=4, drop_rate=0, num_classes=1000, memory_efficient=False):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = _DenseBlock(num_layers=num_layers, num_input_features=num_features,
                                bn_size=bn_size, growth_rate=growth_rate, drop_rate=drop_rate,
                                memory_efficient=memory_efficient)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}",
                                         _Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        out = F.relu(self.features(x), inplace=True)
        out = flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


# the published files predate the module names norm1/relu1/conv1: they say norm.1 ...
_LEGACY_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\."
                         r"((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def _load_state_dict(model, weights, progress):
    """Load `weights` (enum member or file path), renaming the legacy ``norm.1`` keys."""
    from ... import load
    state_dict = load(weights) if isinstance(weights, str) else weights.get_state_dict(
        progress=progress, check_hash=True)
    renamed = OrderedDict()
    for key, value in state_dict.items():
        match = _LEGACY_KEY.match(key)
        renamed[match.group(1) + match.group(2) if match else key] = value
    model.load_state_dict(renamed)


def _densenet(growth_rate, block_config, num_init_features, weights, progress, kwargs):
    set_num_classes(kwargs, weights)
    model = DenseNet(growth_rate, block_config, num_init_features, **kwargs)
    if weights is not None:
        _load_state_dict(model, weights, progress)
    return model


class DenseNet121_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/densenet121-a639ec97.pth", 7978856, 74.434, 91.972,
        min_size=(29, 29),
        recipe="https://github.com/pytorch/vision/pull/116",
        _ops=2.834,
        _file_size=30.845)
    DEFAULT = IMAGENET1K_V1


class DenseNet161_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/densenet161-8d451a50.pth", 28681000, 77.138, 93.56,
        min_size=(29, 29),
        recipe="https://github.com/pytorch/vision/pull/116",
        _ops=7.728,
        _file_size=110.369)
    DEFAULT = IMAGENET1K_V1


class DenseNet169_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/densenet169-b2777c0a.pth", 14149480, 75.6, 92.806,
        min_size=(29, 29),
        recipe="https://github.com/pytorch/vision/pull/116",
        _ops=3.36,
        _file_size=54.708)
    DEFAULT = IMAGENET1K_V1


class DenseNet201_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/densenet201-c1103571.pth", 20013928, 76.896, 93.37,
        min_size=(29, 29),
        recipe="https://github.com/pytorch/vision/pull/116",
        _ops=4.291,
        _file_size=77.373)
    DEFAULT = IMAGENET1K_V1


def densenet121(weights=None, progress=True, **kwargs):
    """DenseNet-121: growth 32, blocks (6, 12, 24, 16), 64 stem channels."""
    weights = resolve_weights(DenseNet121_Weights, weights, kwargs, "IMAGENET1K_V1")
    return _densenet(32, (6, 12, 24, 16), 64, weights, progress, kwargs)


def densenet161(weights=None, progress=True, **kwargs):
    """DenseNet-161: growth 48, blocks (6, 12, 36, 24), 96 stem channels."""
    weights = resolve_weights(DenseNet161_Weights, weights, kwargs, "IMAGENET1K_V1")
    return _densenet(48, (6, 12, 36, 24), 96, weights, progress, kwargs)


def densenet169(weights=None, progress=True, **kwargs):
    """DenseNet-169: growth 32, blocks (6, 12, 32, 32), 64 stem channels."""
    weights = resolve_weights(DenseNet169_Weights, weights, kwargs, "IMAGENET1K_V1")
    return _densenet(32, (6, 12, 32, 32), 64, weights, progress, kwargs)


def densenet201(weights=None, progress=True, **kwargs):
    """DenseNet-201: growth 32, blocks (6, 12, 48, 32), 64 stem channels."""
    weights = resolve_weights(DenseNet201_Weights, weights, kwargs, "IMAGENET1K_V1")
    return _densenet(32, (6, 12, 48, 32), 64, weights, progress, kwargs)
