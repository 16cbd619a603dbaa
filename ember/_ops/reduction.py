"""Reductions: sum, mean, ... (dim as int or tuple, keepdim, dtype)."""
import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._base import Op, apply
from ._util import cast, wrap_dims, float_dtype_for, dtype_name

__all__ = ["sum", "mean", "sum_to_size"]


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def expand_reduced(grad, shape, dims, keepdim):
    """Broadcast a reduced gradient back over the reduced dims of `shape`."""
    if not keepdim and dims:
        grad = grad.reshape(_keep_shape(shape, dims))
    return grad.expand(shape)


class Sum(Op):
    _name = "SumBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if len(dims) == x.ndim and not keepdim:
            ctx._name = "SumBackward0"
        return np.sum(x, axis=dims, keepdims=keepdim, dtype=np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(grad, ctx.shape, ctx.dims, ctx.keepdim)


def _sum_dtype(dt, dtype):
    if dtype is not None:
        return dtype
    if dt is _dtype.bool or (dt._category == 1):
        return _dtype.int64
    return dt


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum over `dim` (all dims when None)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"sum(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    dims = wrap_dims(dim, input._data.ndim) if dim is not None and dim != () and dim != [] \
        else tuple(range(input._data.ndim))
    odt = _sum_dtype(input.dtype, dtype)
    arr = input._data
    if odt is _dtype.bfloat16 or odt is _dtype.float16:
        r = apply(Sum, (input,), (arr.astype(np.float32),), dims, keepdim, None)
        return r.to(odt)
    return apply(Sum, (input,), (arr,), dims, keepdim, odt.np)


class Mean(Op):
    _name = "MeanBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        n = 1
        for d in dims:
            n *= x.shape[d]
        ctx.n = n
        if len(dims) == x.ndim and not keepdim:
            ctx._name = "MeanBackward0"
        if x.size == 0 or n == 0:
            return np.full(np.sum(x, axis=dims, keepdims=keepdim).shape, np.nan, dtype=x.dtype)
        return np.mean(x, axis=dims, keepdims=keepdim, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(grad / ctx.n, ctx.shape, ctx.dims, ctx.keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Arithmetic mean over `dim` (all dims when None); needs a float or complex dtype."""
    dt = dtype or input.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {dtype_name(input.dtype)}")
    dims = wrap_dims(dim, input._data.ndim) if dim is not None and dim != () and dim != [] \
        else tuple(range(input._data.ndim))
    arr = cast(input, dt)
    if dt is _dtype.bfloat16 or dt is _dtype.float16:
        return apply(Mean, (input,), (arr.astype(np.float32),), dims, keepdim).to(dt)
    return apply(Mean, (input,), (arr,), dims, keepdim)


def sum_to_size(input, *size):
    """Sum `input` down to `size` (the inverse of broadcasting)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = input._data.shape
    lead = len(shape) - len(size)
    if lead < 0:
        raise RuntimeError(f"size {list(size)} is not expandable to size {list(shape)}")
    dims = list(range(lead))
    for i, s in enumerate(size):
        if s == 1 and shape[lead + i] != 1:
            dims.append(lead + i)
        elif s != shape[lead + i]:
            raise RuntimeError(f"size {list(size)} is not expandable to size {list(shape)}")
    r = input
    if dims:
        r = sum(input, tuple(dims), keepdim=True)
    if lead:
        r = r.reshape(size)
    return r


Tensor.sum = sum
Tensor.mean = mean
Tensor.sum_to_size = sum_to_size
