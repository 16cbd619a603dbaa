"""Quantizable MobileNetV2 (torchvision.models.quantization.mobilenetv2): quant/dequant
stubs at the ends, the residual addition through a FloatFunctional, a ``fuse_model`` that
fuses every Conv-BN(-ReLU). State-dict keys are torchvision's."""
from .... import nn
from ....ao.quantization import DeQuantStub, QuantStub
from ....nn.quantized import FloatFunctional
from ...ops.misc import Conv2dNormActivation
from .._api import WeightsEnum
from ..mobilenetv2 import InvertedResidual, MobileNet_V2_Weights, MobileNetV2
from .utils import _fix_kwargs, _fuse_modules, _keyword_only, _load, quantize_model, \
    _quantized_weights, _replace_relu, _resolve_weights

__all__ = ["QuantizableMobileNetV2", "MobileNet_V2_QuantizedWeights", "mobilenet_v2"]


class QuantizableInvertedResidual(InvertedResidual):
    """InvertedResidual whose residual addition is a FloatFunctional (``skip_add``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_add = FloatFunctional()

    def forward(self, x):
        if self.use_res_connect:
            return self.skip_add.add(x, self.conv(x))
        return self.conv(x)

    def fuse_model(self, is_qat=None):
        """Fuse the projection's Conv2d with the BatchNorm after it."""
        for idx in range(len(self.conv)):
            if type(self.conv[idx]) is nn.Conv2d:
                _fuse_modules(self.conv, [str(idx), str(idx + 1)], is_qat, inplace=True)


class QuantizableMobileNetV2(MobileNetV2):
    """MobileNetV2 between a QuantStub (``quant``) and a DeQuantStub (``dequant``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self._forward_impl(x)
        return self.dequant(x)

    def fuse_model(self, is_qat=None):
        """Fuse every Conv2dNormActivation's conv-bn-relu and each block's projection
        conv-bn, in place (`is_qat`, or None while training: the QAT fused modules)."""
        for m in self.modules():
            if type(m) is Conv2dNormActivation:
                _fuse_modules(m, ["0", "1", "2"], is_qat, inplace=True)
            if type(m) is QuantizableInvertedResidual:
                m.fuse_model(is_qat)


class MobileNet_V2_QuantizedWeights(WeightsEnum):
    IMAGENET1K_QNNPACK_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/mobilenet_v2_qnnpack_37f702c5.pth",
        3504872, 71.658, 90.15, MobileNet_V2_Weights.IMAGENET1K_V1, 0.301, 3.423,
        backend="qnnpack", qat=True,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification"
               "#qat-mobilenetv2")
    DEFAULT = IMAGENET1K_QNNPACK_V1


@_keyword_only
def mobilenet_v2(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable MobileNetV2. ``quantize=True`` returns the model quantized with 8-bit
    weights (CPU inference only); `weights`: MobileNet_V2_QuantizedWeights (with
    `quantize`) or MobileNet_V2_Weights (without), or None. `backend` (default 'qnnpack')
    picks the qconfig and engine of the quantization (ember's kernels compute fbgemm's
    integers whatever the engine)."""
    weights = _resolve_weights(kwargs, weights, quantize, MobileNet_V2_QuantizedWeights,
                               MobileNet_V2_Weights, "IMAGENET1K_V1")
    backend = _fix_kwargs(kwargs, weights, "qnnpack")
    model = QuantizableMobileNetV2(block=QuantizableInvertedResidual, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return _load(model, weights, progress)
