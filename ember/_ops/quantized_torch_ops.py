"""``ember.ops.quantized`` (torch.ops.quantized): the quantized operators PyTorch's quantized
modules call, over ember's kernels (ember/_ops/quantized_functional.py, quantized_ops.py).

Weights are "prepacked" as in PyTorch: ``linear_prepack(w, b)`` / ``conv2d_prepack(w, b,
stride, padding, dilation, groups)`` give an object that the compute op takes and
``linear_unpack`` / ``.unpack()`` give back. ember packs nothing (the object holds the
quantized weight and float bias as they are). The ``_relu`` variants clamp the requantized
integers at the output zero point, as fbgemm's fused kernels do (PyTorch's default x86
engine clamps convolutions' at the integer 0 instead: the same where the zero point is 0,
as an observer after a relu chooses it).
"""
import numpy as np

from .. import _dtype
from .. import _quantized as Q
from . import quantized_functional as QF
from . import quantized_ops as QO


class LinearPackedParams:
    """A quantized linear's prepacked weight (PyTorch's LinearPackedParamsBase)."""

    def __init__(self, weight, bias):
        if not isinstance(weight, Q.QuantizedTensor) or weight.dim() != 2:
            raise RuntimeError("quantized::linear_prepack (fbgemm): Weight tensor for "
                               "fbgemm linear should be 2D and quantized")
        self.weight, self.bias = weight, bias

    def unpack(self):
        """(weight, bias); the weight's scales come back as float32 values, as fbgemm
        keeps them."""
        w = self.weight
        if w._qscheme is Q.per_tensor_affine:
            w = Q._make(w._data.ints, w._qdtype, w._qscheme, float(np.float32(w._scale)),
                        w._zero_point)
        else:
            w = Q._make(w._data.ints, w._qdtype, w._qscheme,
                        w._scales.astype(np.float32).astype(np.float64), w._zero_points,
                        w._axis)
        return w, self.bias

    def __repr__(self):
        return f"LinearPackedParams(weight={tuple(self.weight.shape)})"


class ConvPackedParams:
    """A quantized convolution's prepacked weight and geometry (ConvPackedParamsBase)."""

    def __init__(self, nd, weight, bias, stride, padding, dilation, groups):
        if not isinstance(weight, Q.QuantizedTensor) or weight.dim() != nd + 2:
            raise RuntimeError(f"quantized::conv{nd}d_prepack: the weight must be a quantized "
                               f"{nd + 2}-D tensor")
        self.nd, self.weight, self.bias, self.groups_ = nd, weight, bias, int(groups)
        self.stride_ = list(_ntuple(stride, nd))
        self.padding_ = list(_ntuple(padding, nd))
        self.dilation_ = list(_ntuple(dilation, nd))

    def unpack(self):
        return self.weight, self.bias

    def stride(self):
        return self.stride_

    def padding(self):
        return self.padding_

    def dilation(self):
        return self.dilation_

    def groups(self):
        return self.groups_

    def __repr__(self):
        return f"ConvPackedParams{self.nd}d(weight={tuple(self.weight.shape)})"


def _ntuple(v, n):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return v * n if len(v) == 1 else v


def _check_packed(packed, kind, fname):
    if not isinstance(packed, kind):
        raise RuntimeError(f"{fname}: expected packed weights from the matching _prepack op, "
                           f"got {type(packed).__name__}")


def linear_prepack(W, B=None):
    return LinearPackedParams(W, B)


def linear_unpack(W_prepack):
    _check_packed(W_prepack, LinearPackedParams, "quantized::linear_unpack")
    return W_prepack.unpack()


def linear(X, W_prepack, Y_scale_i, Y_zero_point_i):
    _check_packed(W_prepack, LinearPackedParams, "quantized::linear")
    return QF.linear(X, W_prepack.weight, W_prepack.bias, Y_scale_i, Y_zero_point_i)


def linear_relu(X, W_prepack, Y_scale_i, Y_zero_point_i):
    return QO.relu(linear(X, W_prepack, Y_scale_i, Y_zero_point_i), inplace=True)


def _conv_ops(nd):
    def prepack(weight, bias, stride, padding, dilation, groups):
        return ConvPackedParams(nd, weight, bias, stride, padding, dilation, groups)

    def conv(qx, packed_weight, output_scale, output_zero_point):
        _check_packed(packed_weight, ConvPackedParams, f"quantized::conv{nd}d")
        p = packed_weight
        return QF._conv(nd, qx, p.weight, p.bias, p.stride_, p.padding_, p.dilation_, p.groups_,
                        "zeros", output_scale, output_zero_point, _dtype.quint8)

    def conv_relu(qx, packed_weight, output_scale, output_zero_point):
        return QO.relu(conv(qx, packed_weight, output_scale, output_zero_point), inplace=True)

    prepack.__name__ = f"conv{nd}d_prepack"
    conv.__name__ = f"conv{nd}d"
    conv_relu.__name__ = f"conv{nd}d_relu"
    return prepack, conv, conv_relu


conv1d_prepack, conv1d, conv1d_relu = _conv_ops(1)
conv2d_prepack, conv2d, conv2d_relu = _conv_ops(2)
conv3d_prepack, conv3d, conv3d_relu = _conv_ops(3)


def cat(qx, dim, scale=None, zero_point=None):
    return QO.cat(qx, dim, scale, zero_point)


def cat_relu(qx, dim, scale=None, zero_point=None):
    return QO.relu(QO.cat(qx, dim, scale, zero_point), inplace=True)


def relu6(qx, inplace=False):
    return QO.relu6(qx, inplace)


def hardswish(input, output_scale, output_zero_point):
    return QO.hardswish(input, output_scale, output_zero_point)


def elu(self, output_scale, output_zero_point, alpha=1, scale=1, input_scale=1):
    if scale != 1 or input_scale != 1:
        raise NotImplementedError("quantized::elu with scale or input_scale other than 1 is "
                                  "not supported by ember")
    return QO.elu(self, output_scale, output_zero_point, alpha)


def celu(self, output_scale, output_zero_point, alpha=1):
    return QO.celu(self, output_scale, output_zero_point, alpha)


def threshold(self, threshold, value):
    return QO.threshold(self, threshold, value)


def leaky_relu(qx, negative_slope, inplace, output_scale, output_zero_point):
    return QO.leaky_relu(qx, negative_slope, inplace, output_scale, output_zero_point)


def sigmoid(qx, output_scale, output_zero_point):
    def sigmoid_(x):
        return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)
    return QO._float_op(qx, sigmoid_, output_scale, output_zero_point)


def _binary(kind, relu):
    """quantized::add / mul (and _relu): two quantized tensors requantized to
    (scale, zero_point), or a quantized tensor and a number (the Scalar overload, whose
    output qparams follow from the input's)."""
    def op(qa, qb, scale=None, zero_point=None):
        from ember.ao.nn.quantized.modules.functional_modules import QFunctional
        functional = QFunctional()
        if isinstance(qb, (int, float)):
            if scale is not None:
                raise RuntimeError(f"quantized::{kind}.Scalar takes no output scale")
            out = getattr(functional, f"{kind}_scalar")(qa, qb)
            return QO.relu(out) if relu else out
        if scale is None or zero_point is None:
            raise RuntimeError(f"quantized::{kind}: expected the output scale and zero_point")
        functional.scale, functional.zero_point = float(scale), int(zero_point)
        if kind == "add":
            return functional.add_relu(qa, qb) if relu else functional.add(qa, qb)
        out = functional.mul(qa, qb)
        return QO.relu(out, inplace=True) if relu else out
    op.__name__ = f"{kind}_relu" if relu else kind
    return op


add, add_relu = _binary("add", False), _binary("add", True)
mul, mul_relu = _binary("mul", False), _binary("mul", True)


def layer_norm(input, normalized_shape, weight, bias, eps, output_scale, output_zero_point):
    return QF.layer_norm(input, normalized_shape, weight, bias, eps, output_scale,
                         output_zero_point)


def group_norm(input, num_groups, weight, bias, eps, output_scale, output_zero_point):
    return QF.group_norm(input, num_groups, weight, bias, eps, output_scale,
                         output_zero_point)


def instance_norm(input, weight, bias, eps, output_scale, output_zero_point):
    return QF.instance_norm(input, weight, bias, eps, output_scale, output_zero_point)


def prelu(qx, weight, output_scale, output_zero_point):
    return QF.prelu(qx, weight, output_scale, output_zero_point)


class _QuantizedNamespace:
    """``ember.ops.quantized``: each name above; others raise AttributeError naming them."""

    def __getattr__(self, name):
        fn = _OPS.get(name)
        if fn is None:
            raise AttributeError(f"ember.ops.quantized has no operator '{name}' (ember builds "
                                 f"{', '.join(sorted(_OPS))})")
        return fn

    def __dir__(self):
        return sorted(_OPS)


_OPS = {fn.__name__: fn for fn in (
    linear_prepack, linear_unpack, linear, linear_relu, conv1d_prepack, conv1d, conv1d_relu,
    conv2d_prepack, conv2d, conv2d_relu, conv3d_prepack, conv3d, conv3d_relu, cat, cat_relu,
    relu6, hardswish, elu, celu, threshold, leaky_relu, sigmoid, add, add_relu, mul, mul_relu,
    layer_norm, group_norm, instance_norm, prelu)}
quantized = _QuantizedNamespace()

