"""Quantizable MobileNetV3-Large (torchvision.models.quantization.mobilenetv3): quant/
dequant stubs, FloatFunctional residual additions and squeeze-excitation products, a
``fuse_model``. Its published weights come from quantization-aware training, so
``quantize=True`` prepares the QAT model, loads the weights into it, then converts."""
from .... import int32, nn, tensor
from ....ao import quantization as tq
from ....ao.quantization import DeQuantStub, QuantStub
from ....nn.quantized import FloatFunctional
from ...ops.misc import Conv2dNormActivation, SqueezeExcitation
from .._api import WeightsEnum
from ..mobilenetv3 import InvertedResidual, MobileNet_V3_Large_Weights, MobileNetV3, \
    _mobilenet_v3_conf
from .utils import _fix_kwargs, _fuse_modules, _keyword_only, _load, _quantized_weights, \
    _replace_relu, _resolve_weights

__all__ = ["QuantizableMobileNetV3", "MobileNet_V3_Large_QuantizedWeights",
           "mobilenet_v3_large"]


class QuantizableSqueezeExcitation(SqueezeExcitation):
    """Squeeze-excitation with a hard-sigmoid gate whose product with the input is a
    FloatFunctional (``skip_mul``).

    Version 2 of its state: the QAT gate's fixed-qparams fake quantizer has state; files
    of version 1 (without it) get the defaults filled in when loading into a prepared
    model."""
    _version = 2

    def __init__(self, *args, **kwargs):
        kwargs["scale_activation"] = nn.Hardsigmoid
        super().__init__(*args, **kwargs)
        self.skip_mul = FloatFunctional()

    def forward(self, input):
        return self.skip_mul.mul(self._scale(input), input)

    def fuse_model(self, is_qat=None):
        """Fuse fc1 with its ReLU."""
        _fuse_modules(self, ["fc1", "activation"], is_qat, inplace=True)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        version = local_metadata.get("version", None)
        if hasattr(self, "qconfig") and (version is None or version < 2):
            post = "scale_activation.activation_post_process."
            defaults = {
                post + "scale": tensor([1.0]),
                post + "activation_post_process.scale": tensor([1.0]),
                post + "zero_point": tensor([0], dtype=int32),
                post + "activation_post_process.zero_point": tensor([0], dtype=int32),
                post + "fake_quant_enabled": tensor([1]),
                post + "observer_enabled": tensor([1]),
            }
            for key, value in defaults.items():
                state_dict.setdefault(prefix + key, value)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)


class QuantizableInvertedResidual(InvertedResidual):
    """InvertedResidual with quantizable squeeze-excitation and a FloatFunctional
    residual addition (``skip_add``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, se_layer=QuantizableSqueezeExcitation, **kwargs)
        self.skip_add = FloatFunctional()

    def forward(self, x):
        if self.use_res_connect:
            return self.skip_add.add(x, self.block(x))
        return self.block(x)


class QuantizableMobileNetV3(MobileNetV3):
    """MobileNetV3 between a QuantStub (``quant``) and a DeQuantStub (``dequant``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self._forward_impl(x)
        return self.dequant(x)

    def fuse_model(self, is_qat=None):
        """Fuse every Conv2dNormActivation's conv-bn (and its ReLU; hard-swish stays a
        module of its own) and each squeeze-excitation's fc1-relu, in place."""
        for m in self.modules():
            if type(m) is Conv2dNormActivation:
                modules_to_fuse = ["0", "1"]
                if len(m) == 3 and type(m[2]) is nn.ReLU:
                    modules_to_fuse.append("2")
                _fuse_modules(m, modules_to_fuse, is_qat, inplace=True)
            elif type(m) is QuantizableSqueezeExcitation:
                m.fuse_model(is_qat)


class MobileNet_V3_Large_QuantizedWeights(WeightsEnum):
    IMAGENET1K_QNNPACK_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/mobilenet_v3_large_qnnpack-5bcacf28.pth",
        5483032, 73.004, 90.858, MobileNet_V3_Large_Weights.IMAGENET1K_V1, 0.217, 21.554,
        backend="qnnpack", qat=True,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification"
               "#qat-mobilenetv3")
    DEFAULT = IMAGENET1K_QNNPACK_V1


@_keyword_only
def mobilenet_v3_large(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable MobileNetV3-Large. ``quantize=True``: fused for QAT, prepared with
    ``get_default_qat_qconfig(backend)`` (default backend 'qnnpack'), the weights loaded
    into that model, then converted (torchvision's workaround for the accuracy eager PTQ
    gives this model); `weights`: MobileNet_V3_Large_QuantizedWeights (with `quantize`) or
    MobileNet_V3_Large_Weights (without), or None."""
    weights = _resolve_weights(kwargs, weights, quantize, MobileNet_V3_Large_QuantizedWeights,
                               MobileNet_V3_Large_Weights, "IMAGENET1K_V1")
    setting, last_channel = _mobilenet_v3_conf("mobilenet_v3_large", **kwargs)
    backend = _fix_kwargs(kwargs, weights, "qnnpack")
    model = QuantizableMobileNetV3(setting, last_channel, block=QuantizableInvertedResidual,
                                   **kwargs)
    _replace_relu(model)
    if quantize:
        model.fuse_model(is_qat=True)
        model.qconfig = tq.get_default_qat_qconfig(backend)
        tq.prepare_qat(model, inplace=True)
    _load(model, weights, progress)
    if quantize:
        tq.convert(model, inplace=True)
        model.eval()
    return model
