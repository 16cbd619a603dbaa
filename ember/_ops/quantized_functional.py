"""Quantized linear and convolution (fbgemm's integer arithmetic) and the rest of
``torch.ao.nn.quantized.functional``.

linear and conv compute as fbgemm does:

    acc[o]  = sum (x_q - x_zp) * (w_q - w_zp[o])          exact integer sums (int32 in fbgemm)
    raw     = float32(acc) + float32(bias[o] / (x_scale * w_scale[o]))      (float32 steps)
    q_out   = clamp(rint(raw * (x_scale * w_scale[o] / out_scale)) + out_zp, 0, 255)

with x_scale, w_scale[o], out_scale taken as float32 and rint rounding half to even. The
integer sums are NumPy float64 matrix products of the centred integers (exact: every partial
sum stays far below 2^53). fbgemm's AVX2 kernel adds pairs of uint8 x int8 products in
saturating int16 (vpmaddubsw): where a pair's sum passes 32767 its result differs from the
exact one; PyTorch's quantization workflows avoid this with 7-bit activations
(reduce_range), and ember computes the exact sums.

Inputs are quint8 activations and qint8 weights (per tensor or per channel along dim 0),
the bias float32 or None; the output is quint8.
"""
import numpy as np

from .. import _dtype
from .._tensor import Tensor
from .. import _quantized as Q
from . import quantized_ops as QO

__all__ = ["avg_pool2d", "avg_pool3d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "conv1d",
           "conv2d", "conv3d", "interpolate", "linear", "max_pool1d", "max_pool2d", "celu",
           "leaky_relu", "hardtanh", "hardswish", "threshold", "elu", "hardsigmoid", "clamp",
           "upsample", "upsample_bilinear", "upsample_nearest"]


def _weight_params(w):
    """(scales, zero points) of weight w, one entry per output channel (dim 0)."""
    n = w.shape[0]
    if w._qscheme is Q.per_tensor_affine:
        return (np.full(n, w._scale, dtype=np.float64), np.full(n, w._zero_point, np.int64))
    if w._qscheme is not Q.per_channel_affine or w._axis != 0:
        raise RuntimeError(f"quantized weights must be quantized per tensor or per channel "
                           f"along dim 0 (got {w._qscheme!r}, axis {getattr(w, '_axis', None)})")
    return w._scales, w._zero_points


def requantize(acc, x_scale, w_scales, bias, out_scale, out_zero_point, channel_dim):
    """fbgemm's ReQuantizeOutput of the exact integer sums `acc` (float64 array), with one
    weight scale per output channel along `channel_dim` and a float bias (or None)."""
    multiplier, b = requantize_constants(x_scale, w_scales, bias, out_scale, acc.ndim,
                                         channel_dim)
    return requantize_with(acc, multiplier, b, out_zero_point)


def requantize_constants(x_scale, w_scales, bias, out_scale, ndim, channel_dim):
    """(multiplier, bias in accumulator units or None) of fbgemm's ReQuantizeOutput, shaped
    to broadcast along `channel_dim` of an `ndim`-dimensional accumulator."""
    shape = [1] * ndim
    shape[channel_dim] = -1
    act_times_w = (np.float32(x_scale) * w_scales.astype(np.float32)).astype(np.float32)
    multiplier = (act_times_w / np.float32(out_scale)).astype(np.float32).reshape(shape)
    b = None
    if bias is not None:
        b = (bias.astype(np.float32) / act_times_w).astype(np.float32).reshape(shape)
    return multiplier, b


def requantize_with(acc, multiplier, b, out_zero_point):
    """The quint8 integers of exact sums `acc` given requantize_constants' values (a
    float32 acc is used up: the steps work in place on it)."""
    raw = acc if acc.dtype == np.float32 else acc.astype(np.float32)
    if b is not None:
        np.add(raw, b, out=raw)
    np.multiply(raw, multiplier, out=raw)
    np.rint(raw, out=raw)
    # + the zero point in float32: exact below 2**24, and beyond it both clamp alike
    np.add(raw, np.float32(out_zero_point), out=raw)
    np.maximum(raw, np.float32(0), out=raw)   # (np.clip's dispatch costs more)
    np.minimum(raw, np.float32(255), out=raw)
    return raw.astype(np.uint8)


def _check_qparams(scale, zero_point, fname):
    if zero_point is not None and not 0 <= int(zero_point) <= 255:
        raise RuntimeError(f"{fname}: output zero_point {zero_point} is outside quint8's "
                           f"range [0, 255]")
    if scale is not None and not float(scale) > 0:
        raise RuntimeError(f"{fname}: output scale must be positive, got {scale}")


def _check_bias(bias, n, fname):
    if bias is None:
        return None
    if not isinstance(bias, Tensor) or isinstance(bias, Q.QuantizedTensor) or \
            bias.dtype is not _dtype.float32:
        kind = bias.dtype if isinstance(bias, Tensor) else type(bias).__name__
        raise RuntimeError(f"{fname}: the bias must be a float32 tensor (got {kind})")
    if tuple(bias.shape) != (n,):
        raise RuntimeError(f"{fname}: bias of shape {tuple(bias.shape)} does not match the "
                           f"{n} output channels")
    return bias.detach()._cpu_array()


def _centred(q, zero_points=None, channel_dim=0, dtype=np.float64):
    ints = q._data.ints.astype(dtype)
    if zero_points is None:
        return ints - q._zero_point
    shape = [1] * ints.ndim
    shape[channel_dim] = -1
    return ints - zero_points.reshape(shape).astype(dtype)


def linear(input, weight, bias=None, scale=None, zero_point=None):
    """``y = x W^T + b`` on a quint8 input (..., in_features) and a qint8 weight
    (out_features, in_features), quantized with (scale, zero_point) (the input's by
    default); fbgemm's arithmetic (see the module docstring)."""
    fname = "quantized::linear"
    if not isinstance(input, Q.QuantizedTensor) or input.dtype is not _dtype.quint8:
        raise RuntimeError(f"{fname} (fbgemm): expected a quint8 input, got "
                           f"{getattr(input, 'dtype', type(input).__name__)}")
    if not isinstance(weight, Q.QuantizedTensor) or weight.dtype is not _dtype.qint8:
        raise RuntimeError(f"{fname} (fbgemm): expected a qint8 weight, got "
                           f"{getattr(weight, 'dtype', type(weight).__name__)}")
    QO._per_tensor(input, fname)
    if input.dim() < 2:
        raise RuntimeError("The dimension of input tensor should be larger than or equal to 2")
    if weight.dim() != 2:
        raise RuntimeError(f"{fname}: the weight must be 2-D, got shape {tuple(weight.shape)}")
    if input.dim() < 1 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"{fname}: input of shape {tuple(input.shape)} does not match the "
                           f"weight's in_features {weight.shape[1]} (weight shape "
                           f"{tuple(weight.shape)})")
    scale = input._scale if scale is None else float(scale)
    zero_point = input._zero_point if zero_point is None else int(zero_point)
    _check_qparams(scale, zero_point, fname)
    parts = linear_weight_parts(weight, _check_bias(bias, weight.shape[0], fname))
    acc = linear_sums(input._data.ints, input._zero_point, parts)
    out = requantize(acc, input._scale, parts[1], parts[2], scale, zero_point, acc.ndim - 1)
    return Q._make(out, _dtype.quint8, Q.per_tensor_affine, scale, zero_point)


def linear_weight_parts(weight, bias):
    """What quantized linear reads of its qint8 weight and float bias array (or None):
    (centred weight transposed (in, out), per-output scales, bias). The centred integers'
    products are summed exactly: in float32 while every partial sum stays below 2**24 in
    magnitude (half the cost), else in float64; the transposed weight has that type."""
    w_scales, w_zps = _weight_params(weight)
    exact32 = weight.shape[1] * 255 * (128 + int(np.abs(w_zps).max(initial=0))) < 2 ** 24
    kind = np.float32 if exact32 else np.float64
    return _centred(weight, w_zps, 0, dtype=kind).T, w_scales, bias


def linear_sums(x_ints, x_zero_point, parts):
    """The exact sums of the centred input integers times the centred weight (parts from
    linear_weight_parts), in the weight's float type."""
    centred_t = parts[0]
    return (x_ints.astype(centred_t.dtype) - x_zero_point) @ centred_t


def _conv(nd, input, weight, bias, stride, padding, dilation, groups, padding_mode, scale,
          zero_point, dtype):
    """Quantized convolution on (N, C, *spatial) quint8 input and (O, C/groups, *k) qint8
    weight: the dense float32 or float64 convolution of the centred integers (exact; zero
    padding is the input's zero point, the value 0), requantized as fbgemm."""
    fname = f"quantized::conv{nd}d"
    if padding_mode != "zeros":
        raise NotImplementedError("Only zero-padding is supported!")
    if not isinstance(input, Q.QuantizedTensor) or input.dtype is not _dtype.quint8:
        raise NotImplementedError("Only torch.quint8 is supported for activation tensor!")
    if not isinstance(weight, Q.QuantizedTensor) or weight.dtype is not _dtype.qint8:
        raise NotImplementedError("Only torch.qint8 is supported for weight tensor!")
    if dtype is not _dtype.quint8:
        raise NotImplementedError(f"{fname}: the output dtype must be quint8 (got {dtype})")
    if input.dim() != nd + 2:
        shape = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[nd]
        raise ValueError(f"Input shape must be `{shape}`!")
    QO._per_tensor(input, fname)
    _check_qparams(scale, zero_point, fname)
    b = _check_bias(bias, weight.shape[0], fname)
    acc, w_scales = conv_sums(nd, input, weight, stride, padding, dilation, groups)
    out = requantize(acc, input._scale, w_scales, b, scale, zero_point, 1)
    return Q._make(out, _dtype.quint8, Q.per_tensor_affine, float(scale), int(zero_point))


def conv_sums(nd, input, weight, stride, padding, dilation, groups):
    """(the exact sums of the convolved centred integers, as float32 or float64 integers;
    the weight's per-output-channel scales) of a quantized convolution."""
    w_scales, w_zps = _weight_params(weight)
    from .conv import convolution
    # the sums of the centred integers' products are exact in float32 while every partial
    # sum stays below 2**24 in magnitude, whatever the order (half the cost of float64)
    taps = int(np.prod(weight.shape[1:]))
    exact32 = taps * 255 * (128 + int(np.abs(w_zps).max(initial=0))) < 2 ** 24
    kind = np.float32 if exact32 else np.float64
    x = Tensor._make(_centred(input, dtype=kind))
    w = Tensor._make(_centred(weight, w_zps, 0, dtype=kind))
    acc = convolution(nd, x, w, None, stride, padding, dilation, groups)._data
    return (acc if exact32 else np.rint(acc)), w_scales


def conv1d(input, weight, bias, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", scale=1.0, zero_point=0, dtype=_dtype.quint8):
    """Quantized 1-D convolution (``torch.ao.nn.quantized.functional.conv1d``)."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                 scale, zero_point, dtype)


def conv2d(input, weight, bias, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", scale=1.0, zero_point=0, dtype=_dtype.quint8):
    """Quantized 2-D convolution (``torch.ao.nn.quantized.functional.conv2d``)."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                 scale, zero_point, dtype)


def conv3d(input, weight, bias, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", scale=1.0, zero_point=0, dtype=_dtype.quint8):
    """Quantized 3-D convolution (``torch.ao.nn.quantized.functional.conv3d``)."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                 scale, zero_point, dtype)


# ============================================================================ the rest

def _quantized_input(input, fname):
    if not isinstance(input, Q.QuantizedTensor):
        raise ValueError(f"Input to 'quantized.{fname}' must be quantized!")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Quantized 2-D average pooling; the input's parameters carry to the output."""
    _quantized_input(input, "avg_pool2d")
    return QO.avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Quantized 3-D average pooling; the input's parameters carry to the output."""
    _quantized_input(input, "avg_pool3d")
    return QO.avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def adaptive_avg_pool2d(input, output_size):
    """Quantized 2-D adaptive average pooling."""
    _quantized_input(input, "functional.adaptive_avg_pool2d")
    return QO.adaptive_avg_pool(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """Quantized 3-D adaptive average pooling."""
    _quantized_input(input, "functional.adaptive_avg_pool3d")
    return QO.adaptive_avg_pool(3, input, output_size)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Quantized 1-D max pooling (on the integers)."""
    if return_indices:
        raise NotImplementedError("return_indices is not yet implemented!")
    stride = [] if stride is None else stride
    return QO.max_pool(1, input, kernel_size, stride or None, padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Quantized 2-D max pooling (on the integers)."""
    if return_indices:
        raise NotImplementedError("return_indices is not yet implemented!")
    stride = [] if stride is None else stride
    return QO.max_pool(2, input, kernel_size, stride or None, padding, dilation, ceil_mode)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Quantized resampling, 'nearest' or 'bilinear' (see quantized_ops.interpolate)."""
    _quantized_input(input, "interpolate")
    return QO.interpolate(input, size, scale_factor, mode, align_corners)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated name of interpolate, as in PyTorch."""
    import warnings
    warnings.warn("nn.quantized.functional.upsample is deprecated. Use "
                  "nn.quantized.functional.interpolate instead.")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: bilinear interpolate with align_corners=True."""
    import warnings
    warnings.warn("nn.quantized.functional.upsample_bilinear is deprecated. Use "
                  "nn.quantized.functional.interpolate instead.")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: nearest interpolate."""
    import warnings
    warnings.warn("nn.quantized.functional.upsample_nearest is deprecated. Use "
                  "nn.quantized.functional.interpolate instead.")
    return interpolate(input, size, scale_factor, mode="nearest")


def celu(input, scale, zero_point, alpha=1.0):
    """Quantized CELU with output parameters (scale, zero_point)."""
    _quantized_input(input, "celu")
    return QO.celu(input, scale, zero_point, alpha)


def leaky_relu(input, negative_slope=0.01, inplace=False, scale=None, zero_point=None):
    """Quantized leaky ReLU; output parameters (scale, zero_point) or the input's."""
    if scale is not None and zero_point is not None:
        if inplace:
            raise AssertionError("Cannot rescale with `inplace`")
        return QO.leaky_relu(input, negative_slope, False, scale, zero_point)
    return QO.leaky_relu(input, negative_slope, inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Quantized hardtanh (a clamp of the integers)."""
    _quantized_input(input, "hardtanh")
    return QO.hardtanh(input, min_val, max_val, inplace)


def hardswish(input, scale, zero_point):
    """Quantized hardswish with output parameters (scale, zero_point)."""
    _quantized_input(input, "hardswish")
    return QO.hardswish(input, scale, zero_point)


def threshold(input, threshold, value):
    """Quantized threshold: value where x <= threshold, else x."""
    if not isinstance(input, Q.QuantizedTensor):
        raise ValueError("Input to 'quantized.threshold' must be quantized!")
    if threshold is None:
        raise ValueError("Input to 'threshold' must be specified!")
    if value is None:
        raise ValueError("Input to 'value' must be specified!")
    return QO.threshold(input, threshold, value)


def elu(input, scale, zero_point, alpha=1.0):
    """Quantized ELU with output parameters (scale, zero_point)."""
    _quantized_input(input, "elu")
    return QO.elu(input, scale, zero_point, alpha)


def hardsigmoid(input, inplace=False):
    """Quantized hardsigmoid (output scale 1/256)."""
    _quantized_input(input, "hardsigmoid")
    return QO.hardsigmoid(input, inplace)


def clamp(input, min_, max_):
    """Quantized clamp (of the integers)."""
    _quantized_input(input, "clamp")
    return QO.clamp(input, min_, max_)


def conv_transpose(nd, input, weight, bias, stride, padding, output_padding, groups, dilation,
                   scale, zero_point):
    """Quantized transposed convolution (PyTorch's quantized::conv_transpose1d/2d/3d) of a
    (N, C_in, *spatial) quint8 input with a (C_in, C_out/groups, *k) qint8 weight quantized
    per tensor: the dense transposed convolution of the centred integers (exact sums), then
    fbgemm's requantization (see the module docstring) with the weight's one scale."""
    fname = f"quantized::conv_transpose{nd}d"
    if not isinstance(input, Q.QuantizedTensor) or input.dtype is not _dtype.quint8:
        raise NotImplementedError("Only torch.quint8 is supported for activation tensor!")
    if not isinstance(weight, Q.QuantizedTensor) or weight.dtype is not _dtype.qint8:
        raise NotImplementedError("Only torch.qint8 is supported for weight tensor!")
    if weight._qscheme is not Q.per_tensor_affine:
        raise RuntimeError("Per Channel Quantization is currently disabled for transposed "
                           "conv")
    if input.dim() != nd + 2:
        shape = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[nd]
        raise ValueError(f"Input shape must be `{shape}`!")
    QO._per_tensor(input, fname)
    _check_qparams(scale, zero_point, fname)
    if input.shape[1] != weight.shape[0]:
        raise RuntimeError(f"{fname}: input of shape {tuple(input.shape)} has "
                           f"{input.shape[1]} channels, the weight of shape "
                           f"{tuple(weight.shape)} expects {weight.shape[0]}")
    out_channels = weight.shape[1] * groups
    w_scales = np.full(out_channels, weight._scale, dtype=np.float64)
    b = _check_bias(bias, out_channels, fname)
    from .conv import conv_transpose as dense_conv_transpose
    x = Tensor._make(_centred(input))
    w = Tensor._make(_centred(weight))
    acc = dense_conv_transpose(nd, x, w, None, stride, padding, output_padding, groups,
                               dilation)._data
    out = requantize(np.rint(acc), input._scale, w_scales, b, scale, zero_point, 1)
    return Q._make(out, _dtype.quint8, Q.per_tensor_affine, float(scale), int(zero_point))


# ============================================================================ normalizations
# PyTorch's quantized layer/group/instance norm dequantize, normalize in float and quantize
# with the output's (scale, zero_point); the statistics are computed here in float64 (the
# float32 result is the same but for values a rounding away from a quantization tie).

def _normalized(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over `axes` of float32 array x (biased variance)."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x64 - mean) / np.sqrt(var + eps)


def _affine(y, weight, bias, shape):
    """y * weight + bias, weight and bias (float tensors or None) reshaped to `shape`."""
    if weight is not None:
        y = y * weight.detach()._cpu_array().astype(np.float64).reshape(shape)
    if bias is not None:
        y = y + bias.detach()._cpu_array().astype(np.float64).reshape(shape)
    return y.astype(np.float32)


def _norm_output(input, y, output_scale, output_zero_point, fname):
    _, lo, hi = Q.INT_TYPES[input._qdtype]
    if not lo <= int(output_zero_point) <= hi:
        raise RuntimeError(f"{fname}: output zero_point {output_zero_point} is outside "
                           f"{input._qdtype}'s range [{lo}, {hi}]")
    if not float(output_scale) > 0:
        raise RuntimeError(f"{fname}: output scale must be positive, got {output_scale}")
    ints = Q.quantize_array(y, float(output_scale), int(output_zero_point), input._qdtype)
    return Q._make(ints, input._qdtype, Q.per_tensor_affine, float(output_scale),
                   int(output_zero_point))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, output_scale=1.0,
               output_zero_point=0):
    """Quantized layer norm (quantized::layer_norm): over the trailing
    `normalized_shape` dims, ``(x - mean) / sqrt(var + eps) * weight + bias``, quantized
    with (output_scale, output_zero_point)."""
    fname = "quantized::layer_norm"
    _quantized_input(input, "layer_norm")
    QO._per_tensor(input, fname)
    normalized_shape = [int(normalized_shape)] if isinstance(normalized_shape, int) \
        else [int(s) for s in normalized_shape]
    k = len(normalized_shape)
    if k == 0 or list(input.shape[input.dim() - k:]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={normalized_shape}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized_shape))}], but got "
                           f"input of size{list(input.shape)}")
    x = Q.dequantize_array(input._data.ints, input._scale, input._zero_point)
    axes = tuple(range(x.ndim - k, x.ndim))
    y = _affine(_normalized(x, axes, eps), weight, bias, normalized_shape)
    return _norm_output(input, y, output_scale, output_zero_point, fname)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, output_scale=1.0,
               output_zero_point=0):
    """Quantized group norm (quantized::group_norm): the C channels of (N, C, *) in
    `num_groups` groups, each normalized over its channels and positions, then the
    per-channel affine; quantized with (output_scale, output_zero_point)."""
    fname = "quantized::group_norm"
    _quantized_input(input, "group_norm")
    QO._per_tensor(input, fname)
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    x = Q.dequantize_array(input._data.ints, input._scale, input._zero_point)
    grouped = x.reshape(n, num_groups, -1)
    y = _normalized(grouped, (2,), eps).reshape(x.shape)
    y = _affine(y, weight, bias, (1, c) + (1,) * (x.ndim - 2))
    return _norm_output(input, y, output_scale, output_zero_point, fname)


def instance_norm(input, weight=None, bias=None, eps=1e-5, output_scale=1.0,
                  output_zero_point=0):
    """Quantized instance norm (quantized::instance_norm): each (sample, channel) of
    (N, C, *) normalized over its positions, then the per-channel affine; quantized with
    (output_scale, output_zero_point)."""
    fname = "quantized::instance_norm"
    _quantized_input(input, "instance_norm")
    QO._per_tensor(input, fname)
    if input.dim() < 3:
        raise RuntimeError(f"Expected at least 3 dimensions for input tensor but received "
                           f"{input.dim()}")
    x = Q.dequantize_array(input._data.ints, input._scale, input._zero_point)
    y = _normalized(x, tuple(range(2, x.ndim)), eps)
    y = _affine(y, weight, bias, (1, x.shape[1]) + (1,) * (x.ndim - 2))
    return _norm_output(input, y, output_scale, output_zero_point, fname)


def prelu(input, weight, output_scale, output_zero_point):
    """Quantized PReLU (quantized::prelu): ``x if x > 0 else a * x`` with the quantized
    slopes `weight` (one, or one per channel of dim 1), quantized with (output_scale,
    output_zero_point). On the integers, as PyTorch's kernel:

        q_out = zp_out + rint((x_q - zp_x) * m_pos)                     x_q >= zp_x
        q_out = zp_out + rint((x_q - zp_x) * (a_q - zp_a) * m_neg)      otherwise

    with float32 multipliers ``m_pos = s_x * (1 / s_out)``, ``m_neg = (s_x * s_a) *
    (1 / s_out)``, clamped to the output type's range."""
    fname = "quantized::prelu"
    _quantized_input(input, "prelu")
    if not isinstance(weight, Q.QuantizedTensor):
        raise RuntimeError(f"{fname}: the weight must be a quantized tensor")
    QO._per_tensor(input, fname)
    _check_qparams(output_scale, output_zero_point, fname)
    n = weight.numel()
    channels = input.shape[1] if input.dim() >= 2 else 1
    if n != 1 and n != channels:
        raise RuntimeError(f"The size of tensor a ({channels}) must match the size of tensor "
                           f"b ({n}) at non-singleton dimension 1")
    f32 = np.float32
    inv_out = f32(1) / f32(output_scale)
    m_pos = f32(f32(input._scale) * inv_out)
    m_neg = f32(f32(f32(input._scale) * f32(weight._scale)) * inv_out)
    x = input._data.ints.astype(np.int64) - input._zero_point
    a = weight._data.ints.astype(np.int64).reshape(-1) - weight._zero_point
    if n != 1:
        a = a.reshape((1, n) + (1,) * (input.dim() - 2))
    pos = np.rint((x.astype(f32) * m_pos).astype(f32))
    neg = np.rint(((x * a).astype(f32) * m_neg).astype(f32))
    _, lo, hi = Q.INT_TYPES[input._qdtype]
    out = np.clip(np.where(x >= 0, pos, neg) + int(output_zero_point), lo, hi)
    return Q._make(out.astype(Q.INT_TYPES[input._qdtype][0]), input._qdtype,
                   Q.per_tensor_affine, float(output_scale), int(output_zero_point))
