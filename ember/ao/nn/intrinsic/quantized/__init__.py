"""ember.ao.nn.intrinsic.quantized (torch.ao.nn.intrinsic.quantized): quantized fused
modules: the quantized layer with its ReLU applied on the integers (max(q, zero_point)),
which gives the integers PyTorch's fused kernels give; ConvAdd2d, ConvAddReLU2d,
LinearLeakyReLU and LinearTanh compute on the oneDNN engine only, as PyTorch's
(_onednn_fused.py)."""
from ember import nn

from ember.ao.nn.intrinsic.modules import fused as nni
from ember.ao.nn.quantized.modules import batchnorm as _bn
from ember.ao.nn.quantized.modules import conv as _conv
from ember.ao.nn.quantized.modules import linear as _linear

from . import dynamic  # noqa: F401,E402

__all__ = ["BNReLU2d", "BNReLU3d", "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearReLU",
           "ConvAdd2d", "ConvAddReLU2d", "LinearLeakyReLU", "LinearTanh"]


def _relu(q):
    return nn.functional.relu(q)


def _fused_conv(nd):
    base = getattr(_conv, f"Conv{nd}d")

    def forward(self, input):
        return _relu(base.forward(self, input))

    def _get_name(self):
        return f"QuantizedConvReLU{nd}d"

    cls = type(f"ConvReLU{nd}d", (base,), {
        "forward": forward, "_get_name": _get_name, "__module__": __name__,
        "_FLOAT_MODULE": getattr(nni, f"ConvReLU{nd}d"),
        "_NNI_CONV_RELU_MODULE": getattr(nni, f"ConvReLU{nd}d"),
        "__doc__": f"Quantized Conv{nd}d followed by ReLU."})
    return cls


ConvReLU1d = _fused_conv(1)
ConvReLU2d = _fused_conv(2)
ConvReLU3d = _fused_conv(3)


class LinearReLU(_linear.Linear):
    """Quantized Linear followed by ReLU."""

    _FLOAT_MODULE = nni.LinearReLU

    def forward(self, x):
        return _relu(super().forward(x))

    def _get_name(self):
        return "QuantizedLinearReLU"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return super().from_float(mod, use_precomputed_fake_quant)


class BNReLU2d(_bn.BatchNorm2d):
    """Quantized BatchNorm2d followed by ReLU."""

    _FLOAT_MODULE = nni.BNReLU2d

    def forward(self, input):
        return _relu(super().forward(input))

    def _get_name(self):
        return "QuantizedBNReLU2d"


class BNReLU3d(_bn.BatchNorm3d):
    """Quantized BatchNorm3d followed by ReLU."""

    _FLOAT_MODULE = nni.BNReLU3d

    def forward(self, input):
        return _relu(super().forward(input))

    def _get_name(self):
        return "QuantizedBNReLU3d"


from ._onednn_fused import ConvAdd2d, ConvAddReLU2d, LinearLeakyReLU, LinearTanh  # noqa: E402


def _bind_qat():
    # The QAT ConvBnReLU modules convert to these (their batch norm folded first).
    from ember.ao.nn.intrinsic import qat as nniqat
    for nd in (1, 2, 3):
        cls = globals()[f"ConvReLU{nd}d"]
        cls._NNIQAT_CONV_BN_MODULE = (getattr(nniqat, f"ConvBnReLU{nd}d"),)
