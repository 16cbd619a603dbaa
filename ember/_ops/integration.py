"""Numerical integration along a dim: the trapezoid rule (trapezoid, its alias trapz) and
its running sum (cumulative_trapezoid), as compositions of differentiable ops."""
from .._tensor import Tensor
from ._util import wrap_dim, check_tensor as _require_tensor
from .finite_differences import diff

__all__ = ["trapezoid", "trapz", "cumulative_trapezoid"]


def _trapezoid_args(y, x, dx, dim, fname):
    _require_tensor(y, fname, "y")
    if y.dim() == 0:
        raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got "
                         f"{dim})")
    d = wrap_dim(dim, y.dim())
    if x is not None and dx is not None:
        raise TypeError(f"{fname}() received an invalid combination of arguments")
    return d


def _spacing(y, x, d):
    """The widths x[i + 1] - x[i] broadcast against y along dim d (or None for scalar dx)."""
    n = y.shape[d]
    if x.dim() == 1:
        if x.shape[0] != n:
            raise RuntimeError(f"trapezoid: There must be one `x` value for each sample point")
        widths = x[1:] - x[:-1]
        shape = [1] * y.dim()
        shape[d] = n - 1 if n > 0 else 0
        return widths.reshape(shape)
    return diff(x, dim=d)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """Trapezoid rule along dim: sum of (y[i] + y[i + 1]) / 2 * width_i."""
    if not isinstance(x, Tensor) and x is not None and dx is None:
        dx, x = x, None
    d = _trapezoid_args(y, x, dx, dim, "trapezoid")
    n = y.shape[d]
    if n == 0:
        return y.sum(d) * 0
    pair = y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)
    if x is not None:
        return (pair * _spacing(y, x, d)).sum(d) / 2
    step = 1 if dx is None else dx
    return pair.sum(d) * (step / 2)


def trapz(y, x=None, *, dx=None, dim=-1):
    """Alias of trapezoid."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """Running trapezoid rule along dim (one element shorter than y along dim)."""
    if not isinstance(x, Tensor) and x is not None and dx is None:
        dx, x = x, None
    d = _trapezoid_args(y, x, dx, dim, "cumulative_trapezoid")
    n = y.shape[d]
    if n == 0:
        return y.narrow(d, 0, 0) * 1
    pair = y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)
    if x is not None:
        return (pair * _spacing(y, x, d) / 2).cumsum(d)
    step = 1 if dx is None else dx
    return (pair * (step / 2)).cumsum(d)
