"""The quantized fused modules PyTorch runs only on its oneDNN engine
(torch.ao.nn.intrinsic.quantized.ConvAdd2d, ConvAddReLU2d, LinearLeakyReLU, LinearTanh).

With ``ember.backends.quantized.engine = "onednn"`` they compute as oneDNN's fused
primitives: the exact integer sums become float32 once, the rest of the chain stays in
float32, and one rounding quantizes the result with the module's (scale, zero_point):

    conv2d_add:        y = acc * (s_x s_w) + b + (e - z_e) s_e        (relu(y) for AddReLU)
    linear_leaky_relu: y = acc * (s_x s_w) + b;  y if y > 0 else y * negative_slope
    linear_tanh:       y = tanh(acc * (s_x s_w) + b)
    q = clamp(rint(y / scale) + zero_point, 0, 255)

(acc: the sums of the centred integers' products; e: the extra input's integers.) On any
other engine PyTorch has no kernel for them and their forward raises its RuntimeError
("Didn't find engine for operation ..."); so does ember's.
"""
import numpy as np

import ember
from ember import _quantized as Q
from ember._ops import quantized_functional as QF
from ember.ao.nn.intrinsic.modules import fused as nni
from ember.ao.nn.quantized.modules import conv as _conv
from ember.ao.nn.quantized.modules import linear as _linear
from ember.ao.nn.quantized.modules.utils import _quantize_weight

__all__ = ["ConvAdd2d", "ConvAddReLU2d", "LinearLeakyReLU", "LinearTanh"]


def _require_onednn(op, separator):
    engine = ember.backends.quantized.engine
    if engine != "onednn":
        raise RuntimeError(f"Didn't find engine for operation quantized::{op}{separator}"
                           f"{str(engine).upper()}")


def _scaled(acc, x_scale, w_scales, bias, channel_dim):
    """acc * (s_x s_w) + b in float32, the channel along `channel_dim`."""
    shape = [1] * acc.ndim
    shape[channel_dim] = -1
    prod = (np.float32(x_scale) * w_scales.astype(np.float32)).astype(np.float32)
    y = acc.astype(np.float32) * prod.reshape(shape)
    if bias is not None:
        y += bias.astype(np.float32).reshape(shape)
    return y


def _quantized(y, scale, zero_point):
    """clamp(rint(y / scale) + zero_point, 0, 255) as a quint8 tensor."""
    QF._check_qparams(scale, zero_point, "quantized::onednn")
    v = np.rint(np.divide(y, np.float32(scale), dtype=np.float32))
    v += np.float32(zero_point)
    np.clip(v, 0, 255, out=v)
    return Q._make(v.astype(np.uint8), ember.quint8, Q.per_tensor_affine, float(scale),
                   int(zero_point))


def _check_input(x, fname):
    if not isinstance(x, Q.QuantizedTensor) or x.dtype is not ember.quint8:
        raise RuntimeError(f"{fname}: expected a quint8 quantized input, got "
                           f"{getattr(x, 'dtype', type(x).__name__)}")
    if x.qscheme() is not Q.per_tensor_affine:
        raise RuntimeError(f"{fname}: the input must be quantized per tensor")


class _LinearFused(_linear.Linear):
    """Quantized Linear with an activation fused on oneDNN (subclasses set _op, _act)."""

    _op = None

    def _act(self, y):
        raise NotImplementedError

    def forward(self, x):
        _require_onednn(self._op, " ")
        fname = f"quantized::{self._op}"
        _check_input(x, fname)
        weight, bias = self._weight_bias()
        if x.dim() < 2 or x.shape[-1] != weight.shape[1]:
            raise RuntimeError(f"{fname}: input of shape {tuple(x.shape)} does not match the "
                               f"weight's in_features {weight.shape[1]}")
        parts = QF.linear_weight_parts(weight, QF._check_bias(bias, weight.shape[0], fname))
        acc = QF.linear_sums(x._data.ints, x._zero_point, parts)
        y = self._act(_scaled(acc, x._scale, parts[1], parts[2], acc.ndim - 1))
        return _quantized(y, self.scale, self.zero_point)

    @classmethod
    def _from_observed(cls, mod, make):
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f"Input float module should be {cls._FLOAT_MODULE.__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        activation_post_process = mod.activation_post_process
        linear = mod[0]
        weight_post_process = linear.qconfig.weight()
        weight_post_process(linear.weight)
        dtype = weight_post_process.dtype
        act_scale, act_zp = activation_post_process.calculate_qparams()
        if dtype != ember.qint8:
            raise AssertionError(f"Weight observer must have dtype torch.qint8, got {dtype}")
        qweight = _quantize_weight(linear.weight.float(), weight_post_process)
        qmod = make(linear)
        qmod.set_weight_bias(qweight, linear.bias)
        qmod.scale = float(act_scale)
        qmod.zero_point = int(act_zp)
        return qmod


class LinearLeakyReLU(_LinearFused):
    """Quantized Linear followed by LeakyReLU(negative_slope), fused (oneDNN engine)."""

    _FLOAT_MODULE = nni.LinearLeakyReLU
    _op = "linear_leaky_relu"

    def __init__(self, in_features, out_features, negative_slope, bias=True,
                 dtype=ember.qint8):
        super().__init__(in_features, out_features, bias, dtype)
        self.negative_slope = negative_slope

    def _act(self, y):
        return np.where(y > 0, y, y * np.float32(self.negative_slope)).astype(np.float32)

    def _get_name(self):
        return "QuantizedLinearLeakyReLU"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        slope = mod[1].negative_slope if type(mod) is nni.LinearLeakyReLU else None
        return cls._from_observed(
            mod, lambda lin: cls(lin.in_features, lin.out_features, slope))


class LinearTanh(_LinearFused):
    """Quantized Linear followed by Tanh, fused (oneDNN engine)."""

    _FLOAT_MODULE = nni.LinearTanh
    _op = "linear_tanh"

    def __init__(self, in_features, out_features, bias=True, dtype=ember.qint8):
        super().__init__(in_features, out_features, bias, dtype)

    def _act(self, y):
        return np.tanh(y)

    def _get_name(self):
        return "QuantizedLinearTanh"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls._from_observed(mod, lambda lin: cls(lin.in_features, lin.out_features))



class _ConvAdd(_conv.Conv2d):
    """Quantized Conv2d whose output is added to a quantized extra input (and relu'd)."""

    _relu = False

    def forward(self, input, extra_input):
        if input.dim() != 4:
            raise ValueError("Input shape must be `(N, C, H, W)`!")
        padding = self.padding
        if self.padding_mode != "zeros":
            input = _conv._reflect_pad_quantized(input, self.padding)
            padding = (0,) * 2
        _require_onednn("conv2d_add", ".")
        fname = "quantized::conv2d_add" + ("_relu" if self._relu else "")
        _check_input(input, fname)
        _check_input(extra_input, fname)
        weight, bias = self._weight_bias()
        b = QF._check_bias(bias, weight.shape[0], fname)
        acc, w_scales = QF.conv_sums(2, input, weight, self.stride, padding, self.dilation,
                                     self.groups)
        if tuple(extra_input.shape) != acc.shape:
            raise RuntimeError(f"{fname}: the extra input of shape {tuple(extra_input.shape)} "
                               f"does not match the convolution's output {acc.shape}")
        y = _scaled(acc, input._scale, w_scales, b, 1)
        y += Q.dequantize_array(extra_input._data.ints, extra_input._scale,
                                extra_input._zero_point)
        if self._relu:
            np.maximum(y, np.float32(0), out=y)
        return _quantized(y, self.scale, self.zero_point)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f"nnq.{cls.__name__}.from_float only works for "
                                 f"{cls._FLOAT_MODULE.__name__} but got: {type(mod).__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined.")
        return cls.get_qconv(mod[0], getattr(mod, "activation_post_process", None),
                             mod.qconfig.weight())


class ConvAdd2d(_ConvAdd):
    """conv(input) + extra_input on quantized tensors, fused (oneDNN engine)."""

    _FLOAT_MODULE = nni.ConvAdd2d

    def _get_name(self):
        return "QuantizedConvAdd2d"


class ConvAddReLU2d(_ConvAdd):
    """relu(conv(input) + extra_input) on quantized tensors, fused (oneDNN engine)."""

    _FLOAT_MODULE = nni.ConvAddReLU2d
    _relu = True

    def _get_name(self):
        return "QuantizedConvAddReLU2d"
