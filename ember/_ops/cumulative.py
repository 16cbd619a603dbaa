"""Scans along one dim: cumsum, cumprod, cummax, cummin.

Integer and bool inputs of cumsum/cumprod accumulate in int64 (unless ``dtype=`` says
otherwise); float16/bfloat16 are computed in float32 and cast back.
"""
import numpy as np

from .._backend import accumulate, array_namespace
from .._tensor import Tensor
from ._base import Op, apply
from ._layout import row_major
from ._util import cast, check_tensor
from .pointwise import conj_if_complex
from .reduction import (return_types, scatter_along, _flip, _one_dim, _sum_dtype, _compute,
                        _check_real)

__all__ = ["cumsum", "cumprod", "cummax", "cummin"]


class Cumsum(Op):
    """out_i = sum_{j <= i} x_j;  dx_i = sum_{j >= i} grad_j (a reversed cumsum)."""
    _name = "CumsumBackward0"

    @staticmethod
    def forward(ctx, x, dim, dt):
        ctx.dim = dim
        out = np.cumsum(_compute(x).reshape(x.shape or (1,)), axis=dim,  # CuPy: no 0-dim
                        dtype=None if x.dtype == dt.np else dt.np)
        # a 0-dim input stays 0-dim; row-major whatever x's layout, as PyTorch's scans
        return row_major(out.reshape(x.shape).astype(dt.np, copy=False))

    @staticmethod
    def backward(ctx, grad):
        return _reverse_cumsum(grad, ctx.dim)


def _cumsum(t, dim):
    return apply(Cumsum, (t,), (t._data,), dim, t.dtype)


def _reverse_cumsum(t, dim):
    """sum_{j >= i} t_j along `dim`."""
    return _flip(_cumsum(_flip(t, dim), dim), dim)


class Cumprod(Op):
    """out_i = prod_{j <= i} x_j.

    dx_i = sum_{j >= i} grad_j prod_{l <= j, l != i} x_l. Without zeros this is
    reversed_cumsum(grad * out)_i / x_i; with zeros it is computed from the products
    with x_i replaced by 1 (quadratic in the dim's length, but exact and differentiable).
    Complex x: the products are conjugated (grad * conj(d out_j / d x_i)).
    """
    _name = "CumprodBackward0"
    save_inputs = (0,)
    save_output = True

    @staticmethod
    def forward(ctx, x, dim, dt):
        ctx.dim = dim
        ctx.has_zero = bool(np.any(x == 0))
        out = np.cumprod(_compute(x).reshape(x.shape or (1,)), axis=dim,
                         dtype=None if x.dtype == dt.np else dt.np)
        return row_major(out.reshape(x.shape).astype(dt.np, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dim = ctx.dim
        if x.ndim == 0 or x.shape[dim] == 0:
            return grad
        if not ctx.has_zero:
            return _reverse_cumsum(grad * conj_if_complex(out), dim) / conj_if_complex(x)
        if x.is_complex():  # linear in grad: conj(f(conj(grad))) conjugates the products
            return _cumprod_backward_with_zeros(grad.conj(), x, dim).conj()
        return _cumprod_backward_with_zeros(grad, x, dim)


def _cumprod_backward_with_zeros(grad, x, dim):
    """sum_{j >= i} g_j prod_{l <= j, l != i} x_l via rows Y[i] = x with x_i set to 1."""
    from .pointwise import where
    xt, gt = x.transpose(dim, -1), grad.transpose(dim, -1)
    n = xt.shape[-1]
    xp = array_namespace(x._data)
    eye = Tensor._make(xp.eye(n, dtype=bool))
    upper = Tensor._make(xp.triu(xp.ones((n, n), dtype=bool)).astype(x._data.dtype))
    rows = where(eye, 1.0, xt.unsqueeze(-2))              # [..., i, l]
    partial = cumprod(rows, -1)                            # prod_{l <= j, l != i} x_l
    gi = (gt.unsqueeze(-2) * partial * upper).sum(-1)      # sum over j >= i
    return gi.transpose(dim, -1)


def _scan(fname, op, input, dim, dtype):
    check_tensor(input, fname)
    d = _one_dim(input, dim, fname)
    odt = _sum_dtype(input.dtype, dtype)
    arr = input._data if dtype is None else cast(input, dtype)
    return apply(op, (input,), (arr,), d, odt)


def cumsum(input, dim, *, dtype=None, out=None):
    """Cumulative sum along `dim`."""
    from .reduction import _out
    return _out(_scan("cumsum", Cumsum, input, dim, dtype), out)


def cumprod(input, dim, *, dtype=None, out=None):
    """Cumulative product along `dim` (gradient exact with zeros in the input)."""
    from .reduction import _out
    return _out(_scan("cumprod", Cumprod, input, dim, dtype), out)


class CumExtreme(Op):
    """(values, indices): running max (or min) along `dim` and where it was last reached.

    A NaN propagates from where it appears. dx = grad scattered-added to the indices.
    """
    nondiff_outputs = (1,)

    @staticmethod
    def forward(ctx, x, dim, is_max):
        ctx._name = "CummaxBackward0" if is_max else "CumminBackward0"
        ctx.dim, ctx.shape = dim, x.shape
        xp = array_namespace(x)
        if x.ndim == 0:
            ctx.idx = xp.zeros((), np.int64)
            return x.copy(), ctx.idx
        # x_i is taken (its index becomes the running one) when x_i >= the running max so far,
        # i.e. when it equals the running max through i; a NaN is taken wherever it appears
        # (np.maximum propagates NaN, so the running value stays NaN after the first)
        running = accumulate(np.maximum if is_max else np.minimum, x, dim)
        take = x == running
        if x.dtype.kind in "fc":
            take |= np.isnan(x)
        shape = [1] * x.ndim
        shape[dim] = x.shape[dim]
        pos = xp.arange(x.shape[dim], dtype=np.int64).reshape(shape)
        ctx.idx = row_major(accumulate(np.maximum, np.where(take, pos, 0), dim))
        return row_major(np.take_along_axis(x, ctx.idx, axis=dim)), ctx.idx

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        return scatter_along(grad, ctx.idx, ctx.dim, ctx.shape)


def _cum_extreme(fname, input, dim, is_max):
    check_tensor(input, fname)
    _check_real(input, fname, f"{fname}_cpu")
    d = _one_dim(input, dim, fname)
    values, indices = apply(CumExtreme, (input,), (input._data,), d, is_max)
    return getattr(return_types, fname)(values, indices)


def cummax(input, dim):
    """(values, indices) of the running maximum along `dim`."""
    return _cum_extreme("cummax", input, dim, True)


def cummin(input, dim):
    """(values, indices) of the running minimum along `dim`."""
    return _cum_extreme("cummin", input, dim, False)


Tensor.cumsum = cumsum
Tensor.cumprod = cumprod
Tensor.cummax = cummax
Tensor.cummin = cummin


def _cumsum_(self, dim, *, dtype=None):
    """In-place cumsum (the result is cast back to self's dtype)."""
    from .pointwise import _inplace
    return _inplace(cumsum)(self, dim, dtype=dtype)


def _cumprod_(self, dim, *, dtype=None):
    """In-place cumprod (the result is cast back to self's dtype)."""
    from .pointwise import _inplace
    return _inplace(cumprod)(self, dim, dtype=dtype)


Tensor.cumsum_ = _cumsum_
Tensor.cumprod_ = _cumprod_
