"""Quantizable ResNet and ResNeXt (torchvision.models.quantization.resnet): the float
models with quant/dequant stubs at the ends, residual additions through a FloatFunctional
(``add_relu``, which becomes one quantized op) and a ``fuse_model`` that fuses every
Conv-BN(-ReLU). State-dict keys are torchvision's."""
from ....ao.quantization import DeQuantStub, QuantStub
from ....nn import ReLU
from ....nn.quantized import FloatFunctional
from ..resnet import BasicBlock, Bottleneck, ResNet, ResNet18_Weights, ResNet50_Weights, \
    ResNeXt101_32X8D_Weights, ResNeXt101_64X4D_Weights
from .._api import WeightsEnum, overwrite_named_param
from .utils import _fix_kwargs, _fuse_modules, _keyword_only, _load, quantize_model, \
    _quantized_weights, _replace_relu, _resolve_weights

__all__ = ["QuantizableResNet", "ResNet18_QuantizedWeights", "ResNet50_QuantizedWeights",
           "ResNeXt101_32X8D_QuantizedWeights", "ResNeXt101_64X4D_QuantizedWeights",
           "resnet18", "resnet50", "resnext101_32x8d", "resnext101_64x4d"]


class QuantizableBasicBlock(BasicBlock):
    """BasicBlock whose ``relu(main + shortcut)`` is one ``add_relu`` FloatFunctional."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_relu = FloatFunctional()

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.add_relu.add_relu(out, identity)

    def fuse_model(self, is_qat=None):
        """Fuse conv1-bn1-relu, conv2-bn2 and the downsample's conv-bn."""
        _fuse_modules(self, [["conv1", "bn1", "relu"], ["conv2", "bn2"]], is_qat, inplace=True)
        if self.downsample:
            _fuse_modules(self.downsample, ["0", "1"], is_qat, inplace=True)


class QuantizableBottleneck(Bottleneck):
    """Bottleneck with one ReLU module per use (``relu1``, ``relu2``: each gets its own
    observer) and a ``skip_add_relu`` FloatFunctional for the residual."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_add_relu = FloatFunctional()
        self.relu1 = ReLU(inplace=False)
        self.relu2 = ReLU(inplace=False)

    def forward(self, x):
        identity = x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.skip_add_relu.add_relu(out, identity)

    def fuse_model(self, is_qat=None):
        """Fuse conv1-bn1-relu1, conv2-bn2-relu2, conv3-bn3 and the downsample's conv-bn."""
        _fuse_modules(self, [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"],
                             ["conv3", "bn3"]], is_qat, inplace=True)
        if self.downsample:
            _fuse_modules(self.downsample, ["0", "1"], is_qat, inplace=True)


class QuantizableResNet(ResNet):
    """ResNet between a QuantStub (``quant``) and a DeQuantStub (``dequant``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self._forward_impl(x)
        return self.dequant(x)

    def fuse_model(self, is_qat=None):
        """Fuse the stem's conv-bn-relu and every block's Conv-BN(-ReLU), in place; the
        numerics stay those of the float model (eval: BN folded into the convolution;
        `is_qat`, or None while training: the QAT ConvBn modules)."""
        _fuse_modules(self, ["conv1", "bn1", "relu"], is_qat, inplace=True)
        for m in self.modules():
            if type(m) is QuantizableBottleneck or type(m) is QuantizableBasicBlock:
                m.fuse_model(is_qat)


def _resnet(block, layers, weights, progress, quantize, kwargs):
    backend = _fix_kwargs(kwargs, weights, "fbgemm")
    model = QuantizableResNet(block, layers, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return _load(model, weights, progress)


class ResNet18_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/resnet18_fbgemm_16fa66dd.pth",
        11689512, 69.494, 88.882, ResNet18_Weights.IMAGENET1K_V1, 1.814, 11.238)
    DEFAULT = IMAGENET1K_FBGEMM_V1


class ResNet50_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/resnet50_fbgemm_bf931d71.pth",
        25557032, 75.92, 92.814, ResNet50_Weights.IMAGENET1K_V1, 4.089, 24.759)
    IMAGENET1K_FBGEMM_V2 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/resnet50_fbgemm-23753f79.pth",
        25557032, 80.282, 94.976, ResNet50_Weights.IMAGENET1K_V2, 4.089, 24.953,
        resize_size=232)
    DEFAULT = IMAGENET1K_FBGEMM_V2


class ResNeXt101_32X8D_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/resnext101_32x8_fbgemm_09835ccf.pth",
        88791336, 78.986, 94.48, ResNeXt101_32X8D_Weights.IMAGENET1K_V1, 16.414, 86.034)
    IMAGENET1K_FBGEMM_V2 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/resnext101_32x8_fbgemm-ee16d00c.pth",
        88791336, 82.574, 96.132, ResNeXt101_32X8D_Weights.IMAGENET1K_V2, 16.414, 86.645,
        resize_size=232)
    DEFAULT = IMAGENET1K_FBGEMM_V2


class ResNeXt101_64X4D_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/resnext101_64x4d_fbgemm-605a1cb3.pth",
        83455272, 82.898, 96.326, ResNeXt101_64X4D_Weights.IMAGENET1K_V1, 15.46, 81.556,
        resize_size=232, recipe="https://github.com/pytorch/vision/pull/5935")
    DEFAULT = IMAGENET1K_FBGEMM_V1


@_keyword_only
def resnet18(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable ResNet-18. ``quantize=True`` returns the model quantized with 8-bit
    weights (CPU inference only); `weights`: ResNet18_QuantizedWeights (with `quantize`)
    or ResNet18_Weights (without), or None. `backend` (default 'fbgemm') picks the
    qconfig and engine of the quantization."""
    weights = _resolve_weights(kwargs, weights, quantize, ResNet18_QuantizedWeights,
                               ResNet18_Weights, "IMAGENET1K_V1")
    return _resnet(QuantizableBasicBlock, [2, 2, 2, 2], weights, progress, quantize, kwargs)


@_keyword_only
def resnet50(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable ResNet-50 (see `resnet18` for the arguments)."""
    weights = _resolve_weights(kwargs, weights, quantize, ResNet50_QuantizedWeights,
                               ResNet50_Weights, "IMAGENET1K_V1")
    return _resnet(QuantizableBottleneck, [3, 4, 6, 3], weights, progress, quantize, kwargs)


@_keyword_only
def resnext101_32x8d(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable ResNeXt-101 32x8d (see `resnet18` for the arguments)."""
    weights = _resolve_weights(kwargs, weights, quantize, ResNeXt101_32X8D_QuantizedWeights,
                               ResNeXt101_32X8D_Weights, "IMAGENET1K_V1")
    overwrite_named_param(kwargs, "groups", 32)
    overwrite_named_param(kwargs, "width_per_group", 8)
    return _resnet(QuantizableBottleneck, [3, 4, 23, 3], weights, progress, quantize, kwargs)


@_keyword_only
def resnext101_64x4d(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable ResNeXt-101 64x4d (see `resnet18` for the arguments)."""
    weights = _resolve_weights(kwargs, weights, quantize, ResNeXt101_64X4D_QuantizedWeights,
                               ResNeXt101_64X4D_Weights, "IMAGENET1K_V1")
    overwrite_named_param(kwargs, "groups", 64)
    overwrite_named_param(kwargs, "width_per_group", 4)
    return _resnet(QuantizableBottleneck, [3, 4, 23, 3], weights, progress, quantize, kwargs)
