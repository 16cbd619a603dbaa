"""Quantizable GoogLeNet (torchvision.models.quantization.googlenet): ReLU modules in the
conv blocks (each fusable with its conv and BN), branch concatenations through a
FloatFunctional, quant/dequant stubs around the network (after ``transform_input``)."""
import warnings

from .... import flatten, nn
from ....ao.quantization import DeQuantStub, QuantStub
from ....nn import functional as F
from ....nn.quantized import FloatFunctional
from .._api import WeightsEnum, overwrite_named_param
from ..googlenet import BasicConv2d, GoogLeNet, GoogLeNet_Weights, Inception, InceptionAux
from .utils import _fix_kwargs, _fuse_modules, _keyword_only, _load, quantize_model, \
    _quantized_weights, _replace_relu, _resolve_weights

__all__ = ["QuantizableGoogLeNet", "GoogLeNet_QuantizedWeights", "googlenet"]


class QuantizableBasicConv2d(BasicConv2d):
    """Conv2d, BatchNorm2d, ReLU module (``relu``): the three fuse into one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))

    def fuse_model(self, is_qat=None):
        _fuse_modules(self, ["conv", "bn", "relu"], is_qat, inplace=True)


class QuantizableInception(Inception):
    """Inception block whose branch concatenation is a FloatFunctional (``cat``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.cat = FloatFunctional()

    def forward(self, x):
        return self.cat.cat(self._forward(x), 1)


class QuantizableInceptionAux(InceptionAux):
    """Auxiliary head with a ReLU module after fc1."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = self.dropout(self.relu(self.fc1(flatten(x, 1))))
        return self.fc2(x)


class QuantizableGoogLeNet(GoogLeNet):
    """GoogLeNet built from the quantizable blocks; ``transform_input`` runs in float,
    then the QuantStub (``quant``); the logits pass the DeQuantStub (``dequant``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, blocks=[QuantizableBasicConv2d, QuantizableInception,
                                        QuantizableInceptionAux], **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self._transform_input(x)
        x = self.quant(x)
        # torchvision unpacks _forward's (logits, aux2, aux1) as (x, aux1, aux2), so in
        # training with aux_logits its two auxiliary outputs come swapped relative to
        # GoogLeNet's; kept, for the same outputs as torchvision's
        x, aux1, aux2 = self._forward(x)
        x = self.dequant(x)
        return self.eager_outputs(x, aux2, aux1)

    def fuse_model(self, is_qat=None):
        """Fuse every conv-bn-relu, in place (the model's numerics are unchanged)."""
        for m in self.modules():
            if type(m) is QuantizableBasicConv2d:
                m.fuse_model(is_qat)


class GoogLeNet_QuantizedWeights(WeightsEnum):
    IMAGENET1K_FBGEMM_V1 = _quantized_weights(
        "https://download.pytorch.org/models/quantized/googlenet_fbgemm-c81f6644.pth",
        6624904, 69.826, 89.404, GoogLeNet_Weights.IMAGENET1K_V1, 1.498, 12.618,
        min_size=(15, 15))
    DEFAULT = IMAGENET1K_FBGEMM_V1


@_keyword_only
def googlenet(*, weights=None, progress=True, quantize=False, **kwargs):
    """Quantizable GoogLeNet. ``quantize=True`` returns the model quantized with 8-bit
    weights (default backend 'fbgemm'); `weights`: GoogLeNet_QuantizedWeights (with
    `quantize`) or GoogLeNet_Weights (without), or None. With weights, `transform_input`
    defaults to True and the auxiliary heads (untrained) are removed after loading unless
    ``aux_logits=True``."""
    weights = _resolve_weights(kwargs, weights, quantize, GoogLeNet_QuantizedWeights,
                               GoogLeNet_Weights, "IMAGENET1K_V1")
    original_aux_logits = kwargs.get("aux_logits", False)
    if weights is not None:
        if "transform_input" not in kwargs:
            overwrite_named_param(kwargs, "transform_input", True)
        overwrite_named_param(kwargs, "aux_logits", True)
        overwrite_named_param(kwargs, "init_weights", False)
    backend = _fix_kwargs(kwargs, weights, "fbgemm")
    model = QuantizableGoogLeNet(**kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    if weights is not None:
        _load(model, weights, progress)
        if not original_aux_logits:
            model.aux_logits = False
            model.aux1 = None
            model.aux2 = None
        else:
            warnings.warn("auxiliary heads in the pretrained googlenet model are NOT "
                          "pretrained, so make sure to train them")
    return model
