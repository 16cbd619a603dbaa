"""Making quantized tensors: ``quantize_per_tensor`` (and its dynamic form),
``quantize_per_channel``, the ``_make_*_quantized_tensor`` views of integer tensors, the
``_empty_*_quantized`` allocations, and ``dequantize``; each checks its arguments as
PyTorch does. The tensor itself and its rounding arithmetic are ember/_quantized.py's.
"""
import numbers
import warnings

import numpy as np

from . import _dtype
from ._tensor import Tensor, Size
from ._quantized import (QuantizedTensor, INT_TYPES, _QDTYPE_OF_REPR, _make, _plain,
                         _channel_shape, quantize_array, per_tensor_affine, per_channel_affine,
                         per_channel_affine_float_qparams)

__all__ = ["quantize_per_tensor", "quantize_per_tensor_dynamic", "quantize_per_channel",
           "dequantize", "_make_per_tensor_quantized_tensor", "_make_per_channel_quantized_tensor",
           "_empty_affine_quantized", "_empty_per_channel_affine_quantized"]


_DEPRECATION = [False]


def _warn_deprecated():
    """PyTorch 2.13 warns once per process that making quantized tensors is deprecated."""
    if not _DEPRECATION[0]:
        _DEPRECATION[0] = True
        warnings.warn(
            "torch.quantize_per_tensor, torch.quantize_per_channel and other quantized tensor "
            "creation functions that produce tensors with dtype torch.quint8, torch.qint8, and "
            "torch.qint32 are deprecated and will be removed in a future PyTorch release. "
            "Please see https://github.com/pytorch/pytorch/issues/184982 for more "
            "information.", UserWarning, stacklevel=3)


def _check_qdtype(dtype, fname, four_bit=False):
    """dtype must be a quantized type ember's tensors hold; quint4x2 where four_bit (the
    quantize functions: PyTorch makes them there, for 4-bit embedding tables)."""
    if dtype is _dtype.quint2x4 or (dtype is _dtype.quint4x2 and not four_bit):
        raise NotImplementedError(f"{fname}: ember has no {dtype} tensors here (packed "
                                  f"sub-byte quantized integers); use ember.quint8")
    if dtype not in INT_TYPES:
        name = dtype._legacy if isinstance(dtype, _dtype.dtype) and dtype._legacy else dtype
        raise RuntimeError(f"ScalarType {name} is not supported in new_qtensor.")


def _check_float_input(x, fname):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if isinstance(x, QuantizedTensor) or x.dtype is not _dtype.float32:
        name = x.dtype._legacy or x.dtype.name
        raise RuntimeError(f"Quantize only works on Float Tensor, got {name}")
    if x.device.type != "cpu":
        raise NotImplementedError("ember quantizes CPU tensors only; call .cpu() first")


def _number(v, kind):
    if isinstance(v, Tensor):
        if v.numel() != 1:
            raise RuntimeError(f"a {kind} tensor must hold one element, got shape "
                               f"{tuple(v.shape)}")
        return v.item()
    return v


def _check_zero_point(zp, qdtype, fname):
    # (PyTorch checks quint4x2's zero point against its storage type's range, uint8's)
    _, lo, hi = INT_TYPES[_dtype.quint8 if qdtype is _dtype.quint4x2 else qdtype]
    if zp > hi:
        raise RuntimeError(f"{fname} zero_point {zp} is above upper bound.")
    if zp < lo:
        raise RuntimeError(f"{fname} zero_point {zp} is below lower bound.")


def quantize_per_tensor(input, scale, zero_point, dtype):
    """Quantize a float32 tensor with one scale and zero point (``torch.quantize_per_tensor``).

    ``q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax)``; `scale` and
    `zero_point` are numbers or one-element tensors. Given a list of tensors, `scale` and
    `zero_point` are tensors of one entry per tensor and a tuple comes back."""
    if isinstance(input, (list, tuple)):
        scales = scale.tolist() if isinstance(scale, Tensor) else list(scale)
        zps = zero_point.tolist() if isinstance(zero_point, Tensor) else list(zero_point)
        if len(scales) != len(input) or len(zps) != len(input):
            raise RuntimeError(f"quantize_per_tensor: {len(input)} tensors need as many scales "
                               f"and zero points (got {len(scales)} and {len(zps)})")
        if isinstance(scale, Tensor):   # PyTorch reads a float32 scale tensor's values
            scales = np.asarray(scales, dtype=np.float32).astype(np.float64).tolist()
        return tuple(quantize_per_tensor(x, s, int(z), dtype)
                     for x, s, z in zip(input, scales, zps))
    _check_float_input(input, "quantize_per_tensor")
    _check_qdtype(dtype, "quantize_per_tensor", four_bit=True)
    if isinstance(scale, Tensor):   # a float32 scale tensor keeps its float32 value
        scale = float(np.float32(_number(scale, "scale"))) if scale.dtype is not _dtype.float64 \
            else float(_number(scale, "scale"))
    zero_point = int(_number(zero_point, "zero_point"))
    _check_zero_point(zero_point, dtype, "quantize_tensor_per_tensor_affine")
    _warn_deprecated()
    # PyTorch's sub-byte kernel rounds x / scale before adding the zero point
    ints = quantize_array(input._cpu_array(), float(scale), zero_point, dtype,
                          round_first=dtype is _dtype.quint4x2)
    return _make(ints, dtype, per_tensor_affine, float(scale), zero_point)


def _choose_qparams(x, reduce_range, qdtype):
    """PyTorch's dynamic quantization parameters (choose_qparams_affine): the range
    [min(x, 0), max(x, 0)] over [qmin, qmax] (7 bits when reduce_range), the zero point
    rounded and clamped."""
    _, qmin, qmax = INT_TYPES[qdtype]
    if reduce_range:
        qmin, qmax = qmin // 2, qmax // 2
    lo = min(float(x.min()), 0.0) if x.size else 0.0   # float32 values, computed in double
    hi = max(float(x.max()), 0.0) if x.size else 0.0
    scale = (hi - lo) / (qmax - qmin)
    if np.float32(scale) == 0 or np.isinf(np.float32(1.0) / np.float32(scale)):
        scale = 0.1
    zp_from_min = qmin - lo / scale
    zp_from_max = qmax - hi / scale
    zp_min_error = abs(qmin) - abs(lo / scale)
    zp_max_error = abs(qmax) - abs(hi / scale)
    initial = zp_from_min if zp_min_error < zp_max_error else zp_from_max
    if initial < qmin:
        zp = qmin
    elif initial > qmax:
        zp = qmax
    else:
        zp = int(np.rint(initial))
    return scale, zp


def quantize_per_tensor_dynamic(input, dtype, reduce_range):
    """Quantize per tensor with a scale and zero point chosen from the input's range
    (``torch.quantize_per_tensor_dynamic``); dtype quint8 or qint8."""
    _check_float_input(input, "quantize_per_tensor_dynamic")
    if dtype not in (_dtype.quint8, _dtype.qint8):
        raise RuntimeError(f"Dynamic quantize_per_tensor only supports torch.quint8 and "
                           f"torch.qint8, got {dtype}")
    scale, zp = _choose_qparams(input._cpu_array(), reduce_range, dtype)
    return quantize_per_tensor(input, scale, zp, dtype)


def _channel_params(input, scales, zero_points, axis, fname):
    if not isinstance(scales, Tensor) or not isinstance(zero_points, Tensor):
        raise TypeError(f"{fname}(): scales and zero_points must be tensors")
    if scales.dim() != 1 or zero_points.dim() != 1:
        raise RuntimeError(f"{fname}: scales and zero_points must be 1-D tensors, got shapes "
                           f"{tuple(scales.shape)} and {tuple(zero_points.shape)}")
    if scales.numel() != zero_points.numel():
        raise RuntimeError("number of elements in scales and zero_points must match")
    ndim = len(input.shape)
    if not 0 <= axis < ndim:
        raise RuntimeError(f"Channel axis out of range in per channel affine quantization. "
                           f"Got: {axis}Expected: [0, {ndim})")
    if input.shape[axis] != scales.numel():
        raise RuntimeError(f"length of scales must equal to channel, expected "
                           f"{input.shape[axis]} got, {scales.numel()}")
    return scales.double()._cpu_array().copy()


def quantize_per_channel(input, scales, zero_points, axis, dtype):
    """Quantize a float32 tensor with one scale and zero point per slice along `axis`
    (``torch.quantize_per_channel``); a float zero_points tensor gives the
    per_channel_affine_float_qparams scheme (``q = round(x / scale + zero_point)``)."""
    _check_float_input(input, "quantize_per_channel")
    _check_qdtype(dtype, "quantize_per_channel", four_bit=True)
    s = _channel_params(input, scales, zero_points, axis, "quantize_per_channel")
    x = input._cpu_array()
    shape = _channel_shape(x.ndim, axis)
    _warn_deprecated()
    if zero_points.dtype.is_floating_point:
        z = zero_points.float()._cpu_array().astype(np.float32)
        np_t, lo, hi = INT_TYPES[dtype]
        inv = np.float32(1.0) / s.astype(np.float32)
        v = np.rint(x * inv.reshape(shape) + z.reshape(shape))
        ints = np.clip(v, lo, hi).astype(np_t)
        # (PyTorch keeps float-qparams scales in float32, as its scales tensor)
        return _make(ints, dtype, per_channel_affine_float_qparams, s.astype(np.float32),
                     z.astype(np.float32), axis)
    if dtype is _dtype.quint4x2:
        raise NotImplementedError("\"quantize_tensor_per_channel_affine\" not implemented for "
                                  "'QUInt4x2'")
    z = zero_points.long()._cpu_array().copy()
    for zp in z.tolist():
        _check_zero_point(zp, dtype, "quantize_tensor_per_channel_affine")
    # PyTorch's per-channel kernel quantizes element by element (quantize_val: the product
    # and the sum rounded separately)
    ints = quantize_array(x, s.reshape(shape), z.reshape(shape), dtype, fused=False)
    return _make(ints, dtype, per_channel_affine, s, z, axis)


def _int_input(input, fname):
    if not isinstance(input, Tensor) or isinstance(input, QuantizedTensor):
        raise TypeError(f"{fname}(): argument 'input' must be an integer Tensor")
    arr = input._cpu_array()
    qdtype = _QDTYPE_OF_REPR.get(arr.dtype)
    if qdtype is None:
        raise RuntimeError(f"{fname}: expected an uint8, int8 or int32 tensor, got {input.dtype}")
    return arr, qdtype


def _make_per_tensor_quantized_tensor(input, scale, zero_point):
    """A quantized tensor over the integers of a uint8 / int8 / int32 tensor (quint8 / qint8
    / qint32), sharing its memory, as PyTorch's does."""
    arr, qdtype = _int_input(input, "_make_per_tensor_quantized_tensor")
    _warn_deprecated()
    return _make(arr, qdtype, per_tensor_affine, float(_number(scale, "scale")),
                 int(_number(zero_point, "zero_point")))


def _make_per_channel_quantized_tensor(input, scale, zero_point, axis):
    """A per-channel quantized tensor over the integers of a uint8 / int8 / int32 tensor."""
    arr, qdtype = _int_input(input, "_make_per_channel_quantized_tensor")
    s = _channel_params(input, scale, zero_point, axis, "_make_per_channel_quantized_tensor")
    _warn_deprecated()
    return _make(arr, qdtype, per_channel_affine, s, zero_point.long()._cpu_array().copy(),
                 axis)


def _size_args(size, fname):
    if len(size) == 1 and isinstance(size[0], (list, tuple, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 0:
            raise RuntimeError(f"{fname}: invalid size {tuple(size)}")
    return tuple(int(s) for s in size)


def _empty_affine_quantized(*size, scale=1.0, zero_point=0, dtype=None, device=None,
                            layout=None, pin_memory=False, memory_format=None, **kwargs):
    """An uninitialised per-tensor quantized tensor (ember fills it with zero_point)."""
    size = _size_args(size, "_empty_affine_quantized")
    dtype = _dtype.quint8 if dtype is None else dtype
    _check_qdtype(dtype, "_empty_affine_quantized")
    np_t, _, _ = INT_TYPES[dtype]
    return _make(np.zeros(size, dtype=np_t), dtype, per_tensor_affine, float(scale),
                 int(zero_point))


def _empty_per_channel_affine_quantized(*size, scales, zero_points, axis, dtype=None,
                                        device=None, layout=None, pin_memory=False,
                                        memory_format=None, **kwargs):
    """An uninitialised per-channel quantized tensor (ember fills it with zeros)."""
    size = _size_args(size, "_empty_per_channel_affine_quantized")
    dtype = _dtype.quint8 if dtype is None else dtype
    _check_qdtype(dtype, "_empty_per_channel_affine_quantized")
    np_t, _, _ = INT_TYPES[dtype]
    ints = np.zeros(size, dtype=np_t)
    s = _channel_params(_plain(ints), scales, zero_points, axis,
                        "_empty_per_channel_affine_quantized")
    return _make(ints, dtype, per_channel_affine, s, zero_points.long()._cpu_array().copy(),
                 axis)


def dequantize(tensor):
    """The float32 values of a quantized tensor (``torch.dequantize``); a list of quantized
    tensors gives a list. A float tensor comes back as it is, as in PyTorch."""
    if isinstance(tensor, (list, tuple)):
        return [dequantize(t) for t in tensor]
    if isinstance(tensor, QuantizedTensor):
        return tensor.dequantize()
    if isinstance(tensor, Tensor):
        return tensor
    raise TypeError(f"dequantize(): argument 'tensor' must be Tensor, not "
                    f"{type(tensor).__name__}")
