"""The ops PyTorch runs on quantized tensors (its QuantizedCPU kernels): relu, clamp and the
other activations, pooling, nearest/bilinear resampling, cat/stack, mean, dropout.

Each kernel takes a QuantizedTensor (ember/_quantized.py) and returns one. Three kinds:
  - on the integers alone, exact: relu (max(q, zp)), clamp/hardtanh (the bounds quantized),
    max pooling, nearest resampling, dropout in eval mode;
  - integer sums requantized as PyTorch's scalar kernels do: average and adaptive average
    pooling (``rint(sum(q - zp) * multiplier + zp)`` in float32, the multiplier
    ``1 / divisor`` as float32 divisions);
  - dequantize, compute in float32, quantize with the output's parameters: leaky_relu,
    hardswish, hardsigmoid, sigmoid, tanh, elu/celu, threshold, mean, bilinear resampling,
    cat of tensors with other parameters.

The public functions reach them through fronts (`install_fronts`): the first quantized
tensor a program makes puts, in front of ember.cat, nn.functional.max_pool2d, the pooling
entry points nn.Modules call, and the rest of `_front_table()`, a function that sends a quantized
input here and anything else to the original. A program that never quantizes calls no front.
"""
import functools
import math

import numpy as np

from .. import _dtype, _fronts
from .._tensor import Tensor
from .. import _quantized as Q

# Tensor methods this module gives QuantizedTensor (the others refuse: _quantized.attach)
METHODS = frozenset(("relu", "relu_", "clamp", "clamp_", "clip", "clip_", "sigmoid", "tanh",
                     "mean", "hardtanh", "dequantize", "max", "min", "sort", "topk"))

# the Tensor methods whose ember.<name> function, given a quantized tensor, runs the method
# (views and copies: QuantizedTensor defines them on the integers)
_AS_METHOD = ("flatten", "reshape", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes",
              "swapdims", "t", "narrow", "select", "chunk", "split", "tensor_split", "unbind",
              "flip", "movedim", "moveaxis", "index_select", "clone", "detach", "masked_fill",
              "max", "min", "sort", "topk", "unflatten")


def _ints(q):
    return q._data.ints


def _per_tensor(q, fname):
    if q._qscheme is not Q.per_tensor_affine:
        raise RuntimeError(f"{fname}: only per-tensor quantized tensors are supported "
                           f"(got {q._qscheme!r})")


def _float_op(q, fn, scale=None, zero_point=None, out_dtype=None, round_first=True):
    """fn applied to q's float32 values, quantized with (scale, zero_point) (q's own by
    default): PyTorch's dequantize-compute-requantize kernels. round_first: the result is
    rounded before the zero point is added, as PyTorch's vectorized activation kernels do;
    else as quantize_per_tensor does (its composite kernels: tanh, mean)."""
    _per_tensor(q, getattr(fn, "__name__", "op"))
    scale = q._scale if scale is None else float(scale)
    zero_point = q._zero_point if zero_point is None else int(zero_point)
    qdtype = q._qdtype if out_dtype is None else out_dtype
    if not round_first:
        y = fn(q.dequantize()._data).astype(np.float32)
        ints = Q.quantize_array(y, scale, zero_point, qdtype)
        return Q._make(ints, qdtype, Q.per_tensor_affine, scale, zero_point)
    src = np.ascontiguousarray(q._data.ints).reshape(q._data.ints.shape)   # (0-dim stays)
    ints = float_op_ints(src, q._scale, q._zero_point, fn, scale, zero_point, qdtype)
    return Q._make(ints, qdtype, Q.per_tensor_affine, scale, zero_point)


# elements per vector in PyTorch's quantized activation kernels (64 one-byte lanes with
# AVX512, PyTorch's build on this CPU class; its AVX2 build has 32, and only the tail's
# rounding at exact ties depends on it)
_VECTOR_WIDTH = 64


def float_op_ints(src, src_scale, src_zero_point, fn, scale, zero_point, qdtype):
    """The integers of fn on contiguous integer array `src` as PyTorch's vectorized
    dequantize-compute-requantize kernels give them (qdtype's integers, (scale,
    zero_point)): a fused multiply-add dequantizes, and the result is rounded before the
    zero point is added; the elements after the last full vector (the tail) go through the
    scalar dequantize_val and quantize_val (plain float32 steps, the zero point added
    before rounding). qint32 has no vectorized requantization: every element goes through
    fbgemm's scalar Quantize (x * (1/scale) + zero_point, rounded once at the end)."""
    ints = float_op_vector(src, src_scale, src_zero_point, fn, scale, zero_point, qdtype)
    # a vector holds 64 bytes: 64 8-bit integers, 16 qint32
    tail = src.size - src.size % (_VECTOR_WIDTH // src.itemsize)
    if tail < src.size:
        ints.reshape(-1)[tail:] = float_op_scalar(src.reshape(-1)[tail:], src_scale,
                                                  src_zero_point, fn, scale, zero_point,
                                                  qdtype)
    return ints


def float_op_vector(src, src_scale, src_zero_point, fn, scale, zero_point, qdtype):
    """float_op_ints' integers of every element as its vector loop computes them."""
    y = fn(Q.dequantize_array_fma(src, src_scale, src_zero_point)).astype(np.float32)
    return Q.quantize_array(y, scale, zero_point, qdtype,
                            round_first=qdtype is not _dtype.qint32)


def float_op_scalar(src, src_scale, src_zero_point, fn, scale, zero_point, qdtype):
    """float_op_ints' integers of every element as its scalar tail loop computes them."""
    y = fn(Q.dequantize_array(src, src_scale, src_zero_point)).astype(np.float32)
    return Q.quantize_array(y, scale, zero_point, qdtype, fused=False)


def _write(q, result, inplace):
    """result (same parameters as q), or q with result's integers written into it."""
    if not inplace:
        return result
    _ints(q)[...] = _ints(result)
    return q


# ============================================================================ activations

def relu(q, inplace=False):
    """max(x, 0): the integers below the zero point raised to it (exact). Per-tensor only,
    as PyTorch's kernel."""
    _per_tensor(q, "relu")
    zp = q._zero_point
    out = np.maximum(_ints(q), np.asarray(zp).astype(_ints(q).dtype))
    return _write(q, Q._like(q, out), inplace)


def _scalar_q(q, v):
    """The float v quantized with q's parameters (PyTorch's quantize_val)."""
    return int(Q.quantize_array(np.float32(v), q._scale, q._zero_point, q._qdtype,
                                fused=False))


def clamp(q, min=None, max=None, inplace=False):
    """clamp on the integers with the bounds quantized by q's parameters (exact)."""
    _per_tensor(q, "clamp")
    if min is None and max is None:
        raise RuntimeError("At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        raise NotImplementedError("clamp of a quantized tensor takes number bounds, not tensors")
    out = _ints(q)
    lo = _scalar_q(q, min) if min is not None else None
    hi = _scalar_q(q, max) if max is not None else None
    out = np.clip(out, lo, hi).astype(out.dtype)
    return _write(q, Q._like(q, out), inplace)


def hardtanh(q, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return clamp(q, min_val, max_val, inplace)


def relu6(q, inplace=False):
    return hardtanh(q, 0.0, 6.0, inplace)


def leaky_relu(q, negative_slope=0.01, inplace=False, scale=None, zero_point=None):
    """max(0, x) + negative_slope * min(0, x), requantized (q's parameters by default)."""
    if inplace and scale is not None and zero_point is not None:
        raise AssertionError("Cannot rescale with `inplace`")
    slope = np.float32(negative_slope)

    def leaky_relu(x):
        return np.where(x > 0, x, x * slope)
    return _write(q, _float_op(q, leaky_relu, scale, zero_point), inplace)


def hardswish(q, scale=None, zero_point=None, inplace=False):
    """x * relu6(x + 3) / 6, requantized (q's parameters by default)."""
    def hardswish(x):
        return x * np.clip(x + np.float32(3), 0, 6) / np.float32(6)
    return _write(q, _float_op(q, hardswish, scale, zero_point), inplace)


def hardsigmoid(q, inplace=False):
    """relu6(x + 3) / 6 with PyTorch's fixed output parameters (scale 1/256)."""
    scale, zp = _fixed_qparams(q._qdtype, "hardsigmoid", symmetric=False)

    def hardsigmoid(x):
        return np.clip(x + np.float32(3), 0, 6) / np.float32(6)
    return _float_op(q, hardsigmoid, scale, zp)


def _fixed_qparams(qdtype, fname, symmetric):
    """The output parameters PyTorch fixes for sigmoid-like (range [0, 1]) and tanh-like
    (range [-1, 1], symmetric) quantized ops."""
    if qdtype is _dtype.quint8:
        return (2.0 / 256.0, 128) if symmetric else (1.0 / 256.0, 0)
    if qdtype is _dtype.qint8:
        return (2.0 / 256.0, 0) if symmetric else (1.0 / 256.0, -128)
    raise NotImplementedError(f"quantized {fname} supports quint8 and qint8 (got {qdtype})")


def sigmoid(q):
    """1 / (1 + exp(-x)) with output scale 1/256 (zero point 0 for quint8, -128 for qint8)."""
    _per_tensor(q, "sigmoid")
    scale, zp = _fixed_qparams(q._qdtype, "sigmoid", symmetric=False)
    return _float_op(q, sigmoid_float32, scale, zp)


def sigmoid_float32(x):
    """1 / (1 + exp(-x)) of a float32 array, as quantized sigmoid computes it."""
    return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)


def tanh(q):
    """tanh(x) with output scale 2/256 (zero point 128 for quint8, 0 for qint8)."""
    scale, zp = _fixed_qparams(q._qdtype, "tanh", symmetric=True)
    return _float_op(q, np.tanh, scale, zp, round_first=False)


def elu(q, scale=None, zero_point=None, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1), requantized (q's parameters by default)."""
    a = np.float32(alpha)

    def elu(x):
        return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))
    return _write(q, _float_op(q, elu, scale, zero_point), inplace)


def celu(q, scale=None, zero_point=None, alpha=1.0):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)), requantized."""
    a = np.float32(alpha)

    def celu(x):
        return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0) / a))
    return _float_op(q, celu, scale, zero_point)


def gelu(q, approximate="none"):
    """x * Phi(x) (the tanh form with approximate='tanh'), q's parameters. The float values
    come from ember's dense gelu, whose erf/tanh may differ from PyTorch's vectorized ones in
    the last bit: off by one where that crosses a rounding tie."""
    from .activation import gelu as dense_gelu
    _per_tensor(q, "gelu")

    def gelu_(x):
        return dense_gelu(Tensor._make(np.asarray(x, dtype=np.float32)), approximate)._data
    # (PyTorch's quantized gelu keeps the scale as a float32)
    return _float_op(q, gelu_, float(np.float32(q._scale)), q._zero_point)


def threshold(q, threshold, value, inplace=False):
    """value where x <= threshold, else x (q's parameters)."""
    t, v = np.float32(threshold), np.float32(value)

    def threshold_(x):
        return np.where(x <= t, v, x)
    return _write(q, _float_op(q, threshold_), inplace)


def dropout(q, p=0.5, training=True, inplace=False):
    """Identity in eval mode (PyTorch's dropout of a quantized tensor); training refuses."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if training and p > 0:
        Q._refuse("dropout")
    return q


def mean(q, dim=None, keepdim=False, *, dtype=None):
    """The mean of the values, quantized with q's parameters."""
    if dtype is not None:
        raise RuntimeError("mean of a quantized tensor takes no dtype")
    axis = None if dim is None else tuple(q._wrap_dim(d) for d in
                                          (dim if isinstance(dim, (tuple, list)) else (dim,)))

    def mean(x):
        return np.mean(x, axis=axis, keepdims=keepdim, dtype=np.float32)
    return _float_op(q, mean, round_first=False)


# ============================================================================ pooling

def _float_ints(q):
    """q's integers as a float32 tensor (exact for 8-bit types), for the dense ops that only
    move or compare values."""
    return Tensor._make(_ints(q).astype(np.float32))


def _back_to_ints(q, t):
    return Q._like(q, np.asarray(t._data).astype(_ints(q).dtype))


def max_pool(nd, q, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False):
    """Max pooling on the integers (exact; scale > 0 keeps the order), q's parameters."""
    from . import pooling
    if return_indices:
        raise NotImplementedError("max_pool of a quantized tensor with return_indices=True is "
                                  "not supported (PyTorch has no such kernel)")
    if nd == 3:
        Q._refuse("max_pool3d")
    _per_tensor(q, f"max_pool{nd}d")
    out = pooling.max_pool(nd, _float_ints(q), kernel_size, stride, padding, dilation,
                           ceil_mode, False)
    return _back_to_ints(q, out)


def _requantize_sums(q, sums, multiplier):
    """PyTorch's quantize_val(1 / multiplier, zp, acc) of the integer sums `acc` of
    (q - zp): ``rint(float32(acc * (1 / (1 / multiplier))) + zp)``, clamped."""
    m = np.asarray(multiplier, dtype=np.float32)
    inv = np.float32(1) / (np.float32(1) / m)
    v = (sums.astype(np.float32) * inv).astype(np.float32) + np.float32(q._zero_point)
    _, lo, hi = Q.INT_TYPES[q._qdtype]
    return np.clip(np.rint(v.astype(np.float32)), lo, hi).astype(_ints(q).dtype)


def avg_pool(nd, q, kernel_size, stride=None, padding=0, ceil_mode=False,
             count_include_pad=True, divisor_override=None):
    """Average pooling as PyTorch's quantized kernel: the window's integer sum of (q - zp)
    (padding counts as zero), times float32(1 / divisor), requantized with q's parameters."""
    from . import pooling
    _per_tensor(q, f"avg_pool{nd}d")
    centred = Tensor._make(_ints(q).astype(np.float64) - q._zero_point)
    ones = Tensor._make(np.ones(_ints(q).shape, dtype=np.float64))
    args = (kernel_size, stride, padding, ceil_mode)
    sums = pooling.avg_pool(nd, centred, *args, True, 1)._data
    if divisor_override is not None:
        divisor = np.float64(divisor_override)
    else:
        valid = pooling.avg_pool(nd, ones, *args, True, 1)._data
        ratio = pooling.avg_pool(nd, ones, *args, count_include_pad, None)._data
        divisor = np.rint(valid / ratio)
    multiplier = np.float32(1) / divisor.astype(np.float32)
    return Q._like(q, _requantize_sums(q, np.rint(sums), multiplier))


def _adaptive_bounds(in_size, out_size):
    return [(math.floor(o * in_size / out_size), math.ceil((o + 1) * in_size / out_size))
            for o in range(out_size)]


def adaptive_avg_pool(nd, q, output_size):
    """Adaptive average pooling as PyTorch's quantized kernel: each cell's integer sum of
    (q - zp) times the float32 multiplier 1 / kH / kW (successive divisions), requantized."""
    from . import pooling
    _per_tensor(q, f"adaptive_avg_pool{nd}d")
    # the dense op checks the arguments and gives the output shape
    shape = pooling.adaptive_pool(nd, Tensor._make(np.zeros(_ints(q).shape, np.float32)),
                                  output_size, "avg").shape
    x = _ints(q).astype(np.int64) - q._zero_point
    spatial_in = x.shape[-nd:]
    spatial_out = tuple(shape[-nd:])
    out = np.empty(x.shape[:-nd] + spatial_out, dtype=_ints(q).dtype)
    bounds = [_adaptive_bounds(i, o) for i, o in zip(spatial_in, spatial_out)]
    for cell in np.ndindex(*spatial_out):
        window = tuple(slice(*bounds[d][cell[d]]) for d in range(nd))
        acc = x[(Ellipsis,) + window].sum(axis=tuple(range(-nd, 0)))
        m = np.float32(1)
        for d in range(nd):
            m = np.float32(m / np.float32(bounds[d][cell[d]][1] - bounds[d][cell[d]][0]))
        out[(Ellipsis,) + cell] = _requantize_sums(q, acc, m)
    return Q._like(q, out)


def interpolate(q, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Nearest (exact, on the integers) or bilinear resampling with q's parameters; the
    bilinear values are the dense op's float32 interpolation of the integers, rounded half
    to even (PyTorch's kernel weighs in another order: off by one at ties)."""
    from . import interpolate as I
    _per_tensor(q, "interpolate")
    if mode not in ("nearest", "bilinear", "nearest-exact"):
        raise NotImplementedError(f"interpolate of a quantized tensor supports the 'nearest' "
                                  f"and 'bilinear' modes (got {mode!r})")
    out = I.interpolate(_float_ints(q), size, scale_factor, mode, align_corners,
                        recompute_scale_factor, antialias)
    if mode == "bilinear":
        _, lo, hi = Q.INT_TYPES[q._qdtype]
        return Q._like(q, np.clip(np.rint(out._data), lo, hi).astype(_ints(q).dtype))
    return _back_to_ints(q, out)


def pad(q, pad, mode="constant", value=None):
    """Constant padding with value (0 by default) quantized by q's parameters, or reflect
    padding, on the integers (exact); PyTorch has no other quantized padding."""
    from .padding import pad as dense_pad
    _per_tensor(q, "pad")
    if mode == "constant":
        fill = float(_scalar_q(q, 0.0 if value is None else value))
        return _back_to_ints(q, dense_pad(_float_ints(q), pad, mode, fill))
    if mode == "reflect":
        return _back_to_ints(q, dense_pad(_float_ints(q), pad, mode))
    Q._refuse(f"{'replication' if mode == 'replicate' else mode}_pad{len(pad) // 2}d")


def _moving(dense):
    """A dense op that only moves elements, run on q's integers."""
    def op(q, *args, **kwargs):
        return _back_to_ints(q, dense(_float_ints(q), *args, **kwargs))
    op.__name__ = getattr(dense, "__name__", "op")
    return op


def empty_like(q, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, pin_memory=False):
    """An uninitialised (here: zero-point filled) tensor with q's shape and parameters."""
    if dtype is not None and dtype is not q._qdtype:
        raise RuntimeError("empty_like of a quantized tensor keeps its quantized dtype")
    ints = np.full(_ints(q).shape, q._zero_point if q._qscheme is Q.per_tensor_affine else 0,
                   dtype=_ints(q).dtype)
    return Q._like(q, ints)


def full_like(q, fill_value, **kwargs):
    return empty_like(q, **kwargs).fill_(fill_value)


def ones_like(q, **kwargs):
    return full_like(q, 1.0, **kwargs)


def zeros_like(q, **kwargs):
    Q._refuse("zero_")   # PyTorch's zeros_like of a quantized tensor runs zero_, unsupported


# ============================================================================ joining

def _requantized_ints(t, scale, zero_point, qdtype):
    """t's integers for (scale, zero_point): as they are where the parameters agree, else
    dequantized and quantized again."""
    if t._qscheme is Q.per_tensor_affine and t._scale == scale and \
            t._zero_point == zero_point and t._qdtype is qdtype:
        return _ints(t)
    return Q.quantize_array(t.dequantize()._data, scale, zero_point, qdtype)


def cat(tensors, dim=0, scale=None, zero_point=None, *, out=None):
    """Concatenate quantized tensors (``torch.cat``): the result takes the first tensor's
    parameters (or the given ones) and the others are requantized to them."""
    tensors = list(tensors)
    if out is not None:
        raise NotImplementedError("cat of quantized tensors does not take out=")
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for t in tensors:
        if not isinstance(t, Q.QuantizedTensor):
            raise NotImplementedError(
                f"Could not run 'aten::qscheme' with arguments from the 'CPU' backend: cat "
                f"mixes quantized and {t.dtype} tensors")
        if t._qscheme is not Q.per_tensor_affine:
            raise RuntimeError("Only per-tensor quantization is supported in 'cat'!")
    first = tensors[0]
    scale = first._scale if scale is None else float(scale)
    zero_point = first._zero_point if zero_point is None else int(zero_point)
    parts = [Tensor._make(_requantized_ints(t, scale, zero_point, first._qdtype))
             for t in tensors]
    from .joining import cat as dense_cat
    joined = dense_cat(parts, dim)._data
    return Q._make(joined, first._qdtype, Q.per_tensor_affine, scale, zero_point)


def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    d = dim if dim >= 0 else dim + tensors[0].dim() + 1
    return cat([t.unsqueeze(d) for t in tensors], d, out=out)


# ============================================================================ attaching

def _method_clamp(self, min=None, max=None):
    return clamp(self, min, max)


def _method_clamp_(self, min=None, max=None):
    return clamp(self, min, max, inplace=True)


def _order_op(name):
    """max / min / sort / topk on the integers (scale > 0 keeps the order): the values keep
    the tensor's parameters, the indices are plain int64 tensors."""
    def method(self, *args, **kwargs):
        _per_tensor(self, name)
        out = getattr(self._ir(), name)(*args, **kwargs)
        if isinstance(out, Tensor):
            return Q._like(self, out._data)
        return type(out)(Q._like(self, out[0]._data), out[1])
    method.__name__ = name
    return method


def attach(cls):
    """The methods of QuantizedTensor that run quantized kernels."""
    for name in ("max", "min", "sort", "topk"):
        setattr(cls, name, _order_op(name))
    cls.relu = lambda self: relu(self)
    cls.relu_ = lambda self: relu(self, inplace=True)
    cls.clamp = cls.clip = _method_clamp
    cls.clamp_ = cls.clip_ = _method_clamp_
    cls.hardtanh = hardtanh
    cls.sigmoid = sigmoid
    cls.tanh = tanh
    cls.mean = mean


def _is_q(x):
    return type(x) is Q.QuantizedTensor


def _front(original, kernel, test):
    """`original` with quantized inputs (as `test` finds them) sent to `kernel`."""
    @functools.wraps(original)
    def front(*args, **kwargs):
        if test(args, kwargs):
            return kernel(*args, **kwargs)
        return original(*args, **kwargs)
    front.__quantized_front__ = True
    return front


def _first(args, kwargs):
    x = args[0] if args else kwargs.get("input")
    return type(x) is Q.QuantizedTensor


def _second(args, kwargs):   # pooling's (nd, input, ...)
    x = args[1] if len(args) > 1 else kwargs.get("input")
    return type(x) is Q.QuantizedTensor


def _in_list(args, kwargs):
    ts = args[0] if args else kwargs.get("tensors")
    return isinstance(ts, (list, tuple)) and any(type(t) is Q.QuantizedTensor for t in ts)


def _pool_front(nd, kind):
    if kind == "max":
        return lambda input, *a, **k: max_pool(nd, input, *a, **k)
    if kind == "avg":
        return lambda input, *a, **k: avg_pool(nd, input, *a, **k)
    return lambda input, output_size: adaptive_avg_pool(nd, input, output_size)


def _adaptive(nd, input, output_size, kind, return_indices=False):
    if kind != "avg":
        Q._refuse(f"adaptive_max_pool{nd}d")
    return adaptive_avg_pool(nd, input, output_size)


def _front_table():
    """(namespace, name, kernel, test) of every public function with a quantized kernel.
    nn.functional's relu and gelu keep their identity (TransformerEncoderLayer tests
    ``activation is F.relu``): F.relu reaches the kernel through Tensor.relu, F.gelu through
    the quantized branch of ember._ops.activation.gelu."""
    import sys
    ember = sys.modules["ember"]
    F = sys.modules["ember.nn.functional"]
    P = sys.modules["ember._ops.pooling"]
    table = [
        (ember, "cat", cat, _in_list), (ember, "concat", cat, _in_list),
        (ember, "concatenate", cat, _in_list), (ember, "stack", stack, _in_list),
        (ember, "relu", relu, _first), (ember, "relu_", lambda x: relu(x, True), _first),
        (ember, "clamp", clamp, _first), (ember, "clip", clamp, _first),
        (ember, "sigmoid", sigmoid, _first), (ember, "tanh", tanh, _first),
        (ember, "mean", mean, _first),
        (ember, "hardtanh", hardtanh, _first),
        (F, "hardtanh", hardtanh, _first), (F, "relu6", relu6, _first),
        (F, "leaky_relu", leaky_relu, _first), (F, "hardsigmoid", hardsigmoid, _first),
        (F, "threshold", threshold, _first), (F, "sigmoid", sigmoid, _first),
        (F, "tanh", tanh, _first), (F, "dropout", dropout, _first),
        (F, "interpolate", interpolate, _first),
        (F, "upsample", interpolate, _first),
        (P, "max_pool", max_pool, _second), (P, "avg_pool", avg_pool, _second),
        (P, "adaptive_pool", _adaptive, _second),
    ]
    for nd in (1, 2, 3):
        for kind, name in (("max", f"max_pool{nd}d"), ("avg", f"avg_pool{nd}d"),
                           ("adaptive", f"adaptive_avg_pool{nd}d")):
            for space in (F, ember):
                if hasattr(space, name):
                    table.append((space, name, _pool_front(nd, kind), _first))
    from . import fold
    for name, dense in (("pixel_shuffle", fold.pixel_shuffle),
                        ("pixel_unshuffle", fold.pixel_unshuffle),
                        ("channel_shuffle", getattr(F, "channel_shuffle", None))):
        if dense is not None:
            for space in (F, ember):
                if hasattr(space, name):
                    table.append((space, name, _moving(dense), _first))
    table.append((F, "pad", pad, _first))
    for name, kernel in (("empty_like", empty_like), ("full_like", full_like),
                         ("ones_like", ones_like), ("zeros_like", zeros_like)):
        table.append((ember, name, kernel, _first))
    for name in _AS_METHOD:
        if hasattr(ember, name):
            table.append((ember, name, _as_method(name), _first))
    table.append((ember, "equal", Q.equal, _first))
    for name in ("upsample_nearest", "upsample_bilinear"):
        mode = name.split("_")[1]
        table.append((F, name, _upsample(mode), _first))
    return table


def _as_method(name):
    def run(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    return run


def _upsample(mode):
    def up(input, size=None, scale_factor=None):
        return interpolate(input, size, scale_factor, mode,
                           True if mode == "bilinear" else None)
    return up


_INSTALLED = [False]


def _rebind_vision_globals(fronts):
    """In the loaded modules of ember.vision, point the names bound to a fronted function
    (``from ... import flatten, cat``, made before the fronts existed) to its front.

    Why: torchvision's quantizable models run their float parents' code on quantized
    tensors (ResNet's ``torch.flatten(x, 1)``, ShuffleNet's channel shuffle), and those
    modules imported ember's functions by name; a module loaded after this point gets the
    fronts by its import. A name may hold the function under wrappers of its own (the
    __torch_function__ dispatcher of a module imported while dispatch was on): it is
    recognised through them. Only ember.vision is touched: its code is the one PyTorch
    programs run quantized, and user modules are never rewritten."""
    _fronts.rebind(fronts, _fronts.ember_spaces(root=False, prefix="ember.vision"),
                   through_wrappers=True)


def _fronts_for_aliases(fronts):
    """Other public names of a fronted function (ember.native_channel_shuffle of
    channel_shuffle, ember.special.expit of sigmoid) get the same front: one function keeps
    one object under all its names, and pickle, which finds it by its first name, finds
    the front there."""
    import sys
    spaces = [sys.modules[n] for n in ("ember", "ember.nn.functional", "ember.special",
                                        "ember.linalg", "ember.fft") if n in sys.modules]
    _fronts.rebind(fronts, [vars(space) for space in spaces], dunders=False)
    for front in fronts.fronts():
        _findable_by_pickle(front, spaces)


def _findable_by_pickle(front, spaces):
    """pickle saves a function as (module, qualname) and refuses one it does not find
    there: a front keeps its original's names, whose module still holds the original
    (ember.split's front is named ember._ops.joining.split), so it is named after the
    namespace it now stands in, unless its names already lead to it."""
    import sys
    found = sys.modules.get(getattr(front, "__module__", None))
    for part in getattr(front, "__qualname__", "").split("."):
        found = getattr(found, part, None)
    if found is front:
        return
    for space in spaces:
        if getattr(space, front.__name__, None) is front:
            front.__module__, front.__qualname__ = space.__name__, front.__name__
            return
        for key, value in vars(space).items():
            if value is front:
                front.__module__, front.__qualname__ = space.__name__, key
                return


def _rebind_activation_modules(fronts):
    """The activation modules that hold their function (nn.Sigmoid's F.sigmoid ...), which
    they took at import, before the __torch_function__ dispatcher (when ember.fx is
    imported first) may have wrapped the function the front was made for: such a held
    function is one under a front's wrappers."""
    over = {}   # id(a function under a front) -> the front
    for front in fronts.fronts():
        for inner in _fronts.chain(front.__wrapped__):
            over.setdefault(id(inner), front)
    from ..nn.modules import activation
    for cls in vars(activation).values():
        held = isinstance(cls, type) and cls.__dict__.get("_fn")
        if isinstance(held, staticmethod):
            front = fronts.get(held.__func__) or over.get(id(held.__func__))
            if front is not None:
                cls._fn = staticmethod(front)


def install_fronts():
    """Put the fronts in place (once, when the first quantized tensor is made): the
    innermost layer of ember/_fronts.py, beneath every other layer laid (the
    __torch_dispatch__ fronts, autocast's entries, the __torch_function__ dispatcher, the
    profiler's wrappers)."""
    if _INSTALLED[0]:
        return
    _INSTALLED[0] = True
    _fronts.beneath(_install, _fronts.QUANTIZED)


def _install():
    # one front per function, so that the names of one function (ember.transpose and
    # ember.swapaxes ...) still name one object; each marked with the layer's rank, by
    # which the outer layers find the functions beneath it (the __torch_function__
    # dispatcher must reach joining.cat under ember.cat's front: nn.LSTM's module holds it)
    fronts = _fronts.Fronts(_fronts.QUANTIZED)
    for space, name, kernel, test in _front_table():
        original = getattr(space, name, None)
        if original is None or getattr(original, "__quantized_front__", False):
            continue
        setattr(space, name, fronts.make(original, lambda: _front(original, kernel, test)))
    _fronts_for_aliases(fronts)
    _rebind_vision_globals(fronts)
    _rebind_activation_modules(fronts)
