"""Finite differences along a dimension: ``diff`` (n-th forward differences) and
``gradient`` (torch.gradient: central differences in the interior, one-sided ones of
first or second order at the edges, for uniform spacing or given coordinates). Both are
composed of differentiable ops (narrow, arithmetic, cat), so they need no backward of
their own."""
import numbers

from .. import _dtype
from .._tensor import Tensor
from ._util import wrap_dim, check_tensor

__all__ = ["diff", "gradient"]


def _E():
    """The ember namespace (imported late: this module is loaded while it is built)."""
    import ember
    return ember


# ---------------------------------------------------------------------------- differences

def diff(input, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference along `dim`: out[i] = x[i + 1] - x[i], applied n times
    (logical xor for bool), after concatenating `prepend` and `append`."""
    E = _E()
    check_tensor(input, "diff")
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, input.dim())
    parts = [t if isinstance(t, Tensor) else E.tensor(t, dtype=input.dtype)
             for t in (prepend, input, append) if t is not None]
    for t in parts:
        if t.dim() != input.dim():
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    x = E.cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        hi, lo = x.narrow(d, 1, length - 1), x.narrow(d, 0, length - 1)
        x = E.logical_xor(hi, lo) if x.dtype is _dtype.bool else hi - lo
    return input.clone() if x is input else x   # n=0: a copy, never input itself


# ---------------------------------------------------------------------------- gradient

def _spacings(input, spacing, dims, dim_given):
    """One spacing per dim in `dims`: a number (uniform) or a 1-D tensor of coordinates."""
    if spacing is None:
        return [1.0] * len(dims)
    if isinstance(spacing, Tensor):
        if spacing.dim() != 0:
            raise TypeError("gradient(): argument 'spacing' must be a number or a tuple of "
                            "numbers or of 1-D Tensors, not a Tensor")
        return [spacing.item()] * len(dims)
    if isinstance(spacing, numbers.Number):
        return [spacing] * len(dims)
    spacing = list(spacing)
    for s in spacing:
        if isinstance(s, Tensor) and s.dim() != 1:
            raise RuntimeError(f"torch.gradient expected each element of spacing to have one "
                               f"dimension, but got an element with {s.dim()} dimensions!")
    if len(spacing) != len(dims):
        raise RuntimeError(
            f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
            f"arguments to have the same length, but got a spacing argument of length "
            f"{len(spacing)} and a dim argument of length {len(dims)}." if dim_given else
            f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
            f"equal to 'self.dim() = {input.dim()}', since dim argument was not given, but got "
            f"a list of length {len(spacing)}")
    for s, d in zip(spacing, dims):
        if isinstance(s, Tensor) and (s.dim() != 1 or s.shape[0] != input.shape[d]):
            raise RuntimeError(f"torch.gradient expected each tensor to be on the same device "
                               f"and to be 1-D with {input.shape[d]} elements (the size of "
                               f"dim {d}), but got a tensor of shape {list(s.shape)}")
    return spacing


def _gradient_along(f, d, h, edge_order):
    """The second-order accurate central difference of f along dim d (one-sided at the
    edges, of order edge_order), for uniform step h (a number) or coordinates h (1-D)."""
    n = f.shape[d]

    def part(start, length):
        return f.narrow(d, start, length)

    def along(v):   # a 1-D tensor of per-position factors, shaped to broadcast along d
        shape = [1] * f.dim()
        shape[d] = -1
        return v.reshape(shape)

    if not isinstance(h, Tensor):
        interior = (part(2, n - 2) - part(0, n - 2)) / (2.0 * h)
        if edge_order == 1:
            first = (part(1, 1) - part(0, 1)) / h
            last = (part(n - 1, 1) - part(n - 2, 1)) / h
        else:
            first = (-1.5 * part(0, 1) + 2.0 * part(1, 1) - 0.5 * part(2, 1)) / h
            last = (0.5 * part(n - 3, 1) - 2.0 * part(n - 2, 1) + 1.5 * part(n - 1, 1)) / h
        return _cat_edges(first, interior, last, d)
    dx = h[1:] - h[:-1]
    dx1, dx2 = dx[:-1], dx[1:]
    a = -dx2 / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    interior = along(a) * part(0, n - 2) + along(b) * part(1, n - 2) + along(c) * part(2, n - 2)
    if edge_order == 1:
        first = (part(1, 1) - part(0, 1)) / dx[0]
        last = (part(n - 1, 1) - part(n - 2, 1)) / dx[-1]
    else:
        d1, d2 = dx[0], dx[1]
        first = (-(2 * d1 + d2) / (d1 * (d1 + d2)) * part(0, 1) + (d1 + d2) / (d1 * d2) * part(1, 1)
                 - d1 / (d2 * (d1 + d2)) * part(2, 1))
        d1, d2 = dx[-2], dx[-1]
        last = (d2 / (d1 * (d1 + d2)) * part(n - 3, 1) - (d1 + d2) / (d1 * d2) * part(n - 2, 1)
                + (2 * d2 + d1) / (d2 * (d1 + d2)) * part(n - 1, 1))
    return _cat_edges(first, interior, last, d)


def _cat_edges(first, interior, last, d):
    from .joining import cat
    return cat([first, interior, last], d)


def gradient(input, *, spacing=None, dim=None, edge_order=1):
    """Estimates of df/dx_d of the function sampled as `input`, one tensor per dim in `dim`
    (default all): central differences (f[i+1] - f[i-1]) / (x[i+1] - x[i-1]) inside, weighted
    for unequal steps so they stay second-order accurate, and one-sided differences of order
    edge_order (1 or 2) at the two ends. `spacing` is the step (a number, one per dim) or the
    sample coordinates (1-D tensors, one per dim). Integer inputs give the default float."""
    check_tensor(input, "gradient")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if dim is None:
        dims = list(range(input.dim()))
    else:
        dims = [wrap_dim(d, input.dim()) for d in ([dim] if isinstance(dim, int) else dim)]
        for i, d in enumerate(dims):
            if d in dims[:i]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    spacing = _spacings(input, spacing, dims, dim is not None)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    f = input if input.dtype.is_floating_point or input.dtype.is_complex else \
        input.to(_dtype.get_default_dtype())
    return tuple(_gradient_along(f, d, h, edge_order) for d, h in zip(dims, spacing))


Tensor.diff = diff
