"""Quantizable Inception v3 (torchvision.models.quantization.inception): ReLU modules in
the conv blocks (fusable with conv and BN), every concatenation through a FloatFunctional,
quant/dequant stubs around the network (after ``transform_input``)."""
from .... import nn
from ....ao.quantization import DeQuantStub, QuantStub
from ....nn import functional as F
from ....nn.quantized import FloatFunctional
from .. import inception as inception_module
from .._api import WeightsEnum, overwrite_named_param
from ..inception import Inception_V3_Weights
from .utils import _fix_kwargs, _fuse_modules, _keyword_only, _load, quantize_model, \
    _quantized_weights, _replace_relu, _resolve_weights

__all__ = ["QuantizableInception3", "Inception_V3_QuantizedWeights", "inception_v3"]


class QuantizableBasicConv2d(inception_module.BasicConv2d):
    """Conv2d, BatchNorm2d, ReLU module (``relu``): the three fuse into one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))

    def fuse_model(self, is_qat=None):
        _fuse_modules(self, ["conv", "bn", "relu"], is_qat, inplace=True)


def _concatenating(base):
    """`base` (an Inception block) built from quantizable conv blocks, its branches
    concatenated by a FloatFunctional (``myop``)."""
    class Quantizable(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
            self.myop = FloatFunctional()

        def forward(self, x):
            return self.myop.cat(self._forward(x), 1)

    Quantizable.__name__ = Quantizable.__qualname__ = "Quantizable" + base.__name__
    Quantizable.__doc__ = f"{base.__name__} with a FloatFunctional concatenation (``myop``)."
    return Quantizable


QuantizableInceptionA = _concatenating(inception_module.InceptionA)
QuantizableInceptionB = _concatenating(inception_module.InceptionB)
QuantizableInceptionC = _concatenating(inception_module.InceptionC)
QuantizableInceptionD = _concatenating(inception_module.InceptionD)


class QuantizableInceptionE(inception_module.InceptionE):
    """InceptionE with its three concatenations through FloatFunctionals (``myop1``: the
    3x3 pair, ``myop2``: the double-3x3 pair, ``myop3``: the branches)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.myop1 = FloatFunctional()
        self.myop2 = FloatFunctional()
        self.myop3 = FloatFunctional()

    def _forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = self.myop1.cat([self.branch3x3_2a(branch3x3),
                                    self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = self.myop2.cat([self.branch3x3dbl_3a(branch3x3dbl),
                                       self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return [branch1x1, branch3x3, branch3x3dbl, branch_pool]

    def forward(self, x):
        return self.myop3.cat(self._forward(x), 1)


class QuantizableInceptionAux(inception_module.InceptionAux):
    """The auxiliary head built from quantizable conv blocks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)


class QuantizableInception3(inception_module.Inception3):
    """Inception3 built from the quantizable blocks; ``transform_input`` runs in float,
    then the QuantStub (``quant``); the logits pass the DeQuantStub (``dequant``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, inception_blocks=[
            QuantizableBasicConv2d, QuantizableInceptionA, QuantizableInceptionB,
            QuantizableInceptionC, QuantizableInceptionD, QuantizableInceptionE,
            QuantizableInceptionAux], **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self._transform_input(x)
        x = self.quant(x)
        x, aux = self._forward(x)
        x = self.dequant(x)
        return self.eager_outputs(x, aux)

    def fuse_model(self, is_qat=None):
        """Fuse every conv-bn-relu, in place (the model's numerics are unchanged)."""
        for m in self.modules():
            if type(m) is QuantizableBasicConv2d:
                m.fuse_model(is_qat)


class Inception_V3_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/inception_v3_google_fbgemm-a2837893.pth",
        27161264, 77.176, 93.354, Inception_V3_Weights.IMAGENET1K_V1, 5.713, 23.146,
        crop_size=299, resize_size=342, min_size=(75, 75))
    DEFAULT = IMAGENET1K_FBGEMM_V1


@_keyword_only
def inception_v3(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable Inception v3. ``quantize=True`` returns the model quantized with 8-bit
    weights (default backend 'fbgemm'); `weights`: Inception_V3_QuantizedWeights (with
    `quantize`) or Inception_V3_Weights (without), or None. With weights,
    `transform_input` defaults to True and the auxiliary head is dropped unless
    ``aux_logits=True`` (before loading for a quantized model, whose file has none)."""
    weights = _resolve_weights(kwargs, weights, quantize, Inception_V3_QuantizedWeights,
                               Inception_V3_Weights, "IMAGENET1K_V1")
    original_aux_logits = kwargs.get("aux_logits", False)
    if weights is not None:
        if "transform_input" not in kwargs:
            overwrite_named_param(kwargs, "transform_input", True)
        overwrite_named_param(kwargs, "aux_logits", True)
    backend = _fix_kwargs(kwargs, weights, "fbgemm")
    model = QuantizableInception3(**kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    if weights is not None:
        if quantize and not original_aux_logits:
            model.aux_logits = False
            model.AuxLogits = None
        _load(model, weights, progress)
        if not quantize and not original_aux_logits:
            model.aux_logits = False
            model.AuxLogits = None
    return model
