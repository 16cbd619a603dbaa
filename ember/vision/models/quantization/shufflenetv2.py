"""Quantizable ShuffleNet V2 (torchvision.models.quantization.shufflenetv2): the units'
concatenations through a FloatFunctional, quant/dequant stubs, a ``fuse_model`` that
fuses every Conv-BN(-ReLU)."""
from ....ao.quantization import DeQuantStub, QuantStub
from ....nn.quantized import FloatFunctional
from .. import shufflenetv2
from .._api import WeightsEnum
from ..shufflenetv2 import ShuffleNet_V2_X0_5_Weights, ShuffleNet_V2_X1_0_Weights, \
    ShuffleNet_V2_X1_5_Weights, ShuffleNet_V2_X2_0_Weights
from .utils import _fix_kwargs, _fuse_modules, _keyword_only, _load, quantize_model, \
    _quantized_weights, _replace_relu, _resolve_weights

__all__ = ["QuantizableShuffleNetV2", "ShuffleNet_V2_X0_5_QuantizedWeights",
           "ShuffleNet_V2_X1_0_QuantizedWeights", "ShuffleNet_V2_X1_5_QuantizedWeights",
           "ShuffleNet_V2_X2_0_QuantizedWeights", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
           "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]


class QuantizableInvertedResidual(shufflenetv2.InvertedResidual):
    """The ShuffleNet V2 unit with its concatenation through a FloatFunctional (``cat``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cat = FloatFunctional()

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = self.cat.cat([x1, self.branch2(x2)], dim=1)
        else:
            out = self.cat.cat([self.branch1(x), self.branch2(x)], dim=1)
        return shufflenetv2.channel_shuffle(out, 2)


class QuantizableShuffleNetV2(shufflenetv2.ShuffleNetV2):
    """ShuffleNetV2 between a QuantStub (``quant``) and a DeQuantStub (``dequant``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, inverted_residual=QuantizableInvertedResidual, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self._forward_impl(x)
        return self.dequant(x)

    def fuse_model(self, is_qat=None):
        """Fuse conv1's and conv5's conv-bn-relu and every unit's branches (depthwise
        conv-bn, pointwise conv-bn-relu), in place."""
        for name, m in self._modules.items():
            if name in ("conv1", "conv5") and m is not None:
                _fuse_modules(m, [["0", "1", "2"]], is_qat, inplace=True)
        for m in self.modules():
            if type(m) is QuantizableInvertedResidual:
                if len(m.branch1._modules) > 0:
                    _fuse_modules(m.branch1, [["0", "1"], ["2", "3", "4"]], is_qat,
                                  inplace=True)
                _fuse_modules(m.branch2, [["0", "1", "2"], ["3", "4"], ["5", "6", "7"]],
                              is_qat, inplace=True)


def _shufflenetv2(stages_repeats, stages_out_channels, weights, progress, quantize, kwargs):
    backend = _fix_kwargs(kwargs, weights, "fbgemm")
    model = QuantizableShuffleNetV2(stages_repeats, stages_out_channels, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return _load(model, weights, progress)


_NEW_RECIPE = "https://github.com/pytorch/vision/pull/5906"


class ShuffleNet_V2_X0_5_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/shufflenetv2_x0.5_fbgemm-00845098.pth",
        1366792, 57.972, 79.78, ShuffleNet_V2_X0_5_Weights.IMAGENET1K_V1, 0.04, 1.501)
    DEFAULT = IMAGENET1K_FBGEMM_V1


class ShuffleNet_V2_X1_0_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/shufflenetv2_x1_fbgemm-1e62bb32.pth",
        2278604, 68.36, 87.582, ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1, 0.145, 2.334)
    DEFAULT = IMAGENET1K_FBGEMM_V1


class ShuffleNet_V2_X1_5_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/shufflenetv2_x1_5_fbgemm-d7401f05.pth",
        3503624, 72.052, 90.7, ShuffleNet_V2_X1_5_Weights.IMAGENET1K_V1, 0.296, 3.672,
        resize_size=232, recipe=_NEW_RECIPE)
    DEFAULT = IMAGENET1K_FBGEMM_V1


class ShuffleNet_V2_X2_0_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/shufflenetv2_x2_0_fbgemm-5cac526c.pth",
        7393996, 75.354, 92.488, ShuffleNet_V2_X2_0_Weights.IMAGENET1K_V1, 0.583, 7.467,
        resize_size=232, recipe=_NEW_RECIPE)
    DEFAULT = IMAGENET1K_FBGEMM_V1


@_keyword_only
def shufflenet_v2_x0_5(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable ShuffleNet V2 x0.5. ``quantize=True`` returns the model quantized with
    8-bit weights (default backend 'fbgemm'); `weights`: ShuffleNet_V2_X0_5_QuantizedWeights
    (with `quantize`) or ShuffleNet_V2_X0_5_Weights (without), or None."""
    weights = _resolve_weights(kwargs, weights, quantize, ShuffleNet_V2_X0_5_QuantizedWeights,
                               ShuffleNet_V2_X0_5_Weights, "IMAGENET1K_V1")
    return _shufflenetv2([4, 8, 4], [24, 48, 96, 192, 1024], weights, progress, quantize,
                         kwargs)


@_keyword_only
def shufflenet_v2_x1_0(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable ShuffleNet V2 x1.0 (see `shufflenet_v2_x0_5` for the arguments)."""
    weights = _resolve_weights(kwargs, weights, quantize, ShuffleNet_V2_X1_0_QuantizedWeights,
                               ShuffleNet_V2_X1_0_Weights, "IMAGENET1K_V1")
    return _shufflenetv2([4, 8, 4], [24, 116, 232, 464, 1024], weights, progress, quantize,
                         kwargs)


@_keyword_only
def shufflenet_v2_x1_5(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable ShuffleNet V2 x1.5 (see `shufflenet_v2_x0_5` for the arguments)."""
    weights = _resolve_weights(kwargs, weights, quantize, ShuffleNet_V2_X1_5_QuantizedWeights,
                               ShuffleNet_V2_X1_5_Weights, "IMAGENET1K_V1")
    return _shufflenetv2([4, 8, 4], [24, 176, 352, 704, 1024], weights, progress, quantize,
                         kwargs)


@_keyword_only
def shufflenet_v2_x2_0(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable ShuffleNet V2 x2.0 (see `shufflenet_v2_x0_5` for the arguments)."""
    weights = _resolve_weights(kwargs, weights, quantize, ShuffleNet_V2_X2_0_QuantizedWeights,
                               ShuffleNet_V2_X2_0_Weights, "IMAGENET1K_V1")
    return _shufflenetv2([4, 8, 4], [24, 244, 488, 976, 2048], weights, progress, quantize,
                         kwargs)
