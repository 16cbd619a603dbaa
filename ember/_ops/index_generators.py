"""Tensors built from index patterns and from other tensors: the coordinates of a matrix's
triangles (tril_indices, triu_indices), unravel_index, block_diag, cartesian_prod,
combinations and vander. All are compositions of differentiable ops or index arrays
made on the host."""
import builtins
import itertools
import numbers

import numpy as np

from .._backend import as_array, like
from .._device import factory_device
from .. import _dtype
from .._tensor import Tensor
from ._util import dtype_name, check_tensor as _require_tensor

__all__ = ["tril_indices", "triu_indices", "unravel_index", "block_diag", "cartesian_prod",
           "combinations", "vander"]


def _E():
    """The ember namespace (imported late: this module is loaded while it is built)."""
    import ember
    return ember


def _index_pair(rows, cols, dtype, fname):
    if dtype is None:
        dtype = _dtype.int64
    if dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"\"{fname}\" not implemented for '{dtype_name(dtype)}'")
    return np.stack([rows, cols]).astype(dtype.np).reshape(2, -1)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Coordinates (2 x N) of the lower triangle of a row x col matrix, row-major."""
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else
                           f"col must be non-negative, got{col}")
    r, c = np.tril_indices(row, offset, col)
    return _to(_index_pair(r, c, dtype, "tril_indices"), factory_device(device))


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Coordinates (2 x N) of the upper triangle of a row x col matrix, row-major."""
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else
                           f"col must be non-negative, got{col}")
    r, c = np.triu_indices(row, offset, col)
    return _to(_index_pair(r, c, dtype, "triu_indices"), factory_device(device))


def _to(arr, device):
    """NumPy array `arr` as a tensor on `device` (None: the CPU)."""
    t = Tensor._make(arr)
    if device is not None and device.type != "cpu":
        t = t.to(device)
    return t


def unravel_index(indices, shape):
    """The coordinates in `shape` of flat `indices`: a tuple of int64 tensors."""
    E = _E()
    if not isinstance(indices, Tensor):
        indices = E.tensor(indices)
    if indices.is_floating_point() or indices.is_complex() or indices.dtype is _dtype.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(shape)))
    flat = indices._cpu_array().astype(np.int64)
    size = int(np.prod(shape))
    if flat.size and (flat.min() < -size or flat.max() >= size):
        raise ValueError("'indices' must be in range [-{}, {})".format(size, size))
    flat = np.where(flat < 0, flat + size, flat)
    coords = np.unravel_index(flat, shape) if shape else ()
    return tuple(Tensor._make(like(as_array(c, dtype=np.int64), indices._data)) for c in coords)


def block_diag(*tensors):
    """A block-diagonal matrix of the inputs (0-d and 1-d inputs count as 1 x n)."""
    E = _E()
    mats = []
    for k, t in enumerate(tensors):
        _require_tensor(t, "block_diag", f"tensors", k + 1)
        if t.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {k} has {t.dim()} dimensions")
        mats.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if not mats:
        return E.empty(1, 0)
    dt = mats[0].dtype
    for m in mats[1:]:
        dt = _dtype.promote_types(dt, m.dtype)
    rows = builtins.sum(m.shape[0] for m in mats)
    cols = builtins.sum(m.shape[1] for m in mats)
    out = E.zeros(rows, cols, dtype=dt, device=mats[0].device)
    r = c = 0
    for m in mats:
        h, w = m.shape
        out[r:r + h, c:c + w] = m.to(dt)
        r, c = r + h, c + w
    return out


def cartesian_prod(*tensors):
    """All tuples (a, b, ...) of elements of the 1-D inputs, one per row (itertools.product
    order); one input is returned as is."""
    E = _E()
    for k, t in enumerate(tensors):
        _require_tensor(t, "cartesian_prod", "tensors", k + 1)
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = E.meshgrid(*tensors, indexing="ij")
    return E.stack([g.reshape(-1) for g in grids], dim=1)


def combinations(input, r=2, with_replacement=False):
    """All length-r combinations of the elements of a 1-D tensor, one per row
    (itertools.combinations order)."""
    E = _E()
    _require_tensor(input, "combinations")
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return E.empty(0, dtype=input.dtype)
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    # no combinations: still gathered from input, so the empty result stays in the graph
    cols = [input[Tensor._make(idx[:, k].copy())] for k in range(r)]
    return E.stack(cols, dim=1)


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: column j is x ** j (increasing) or x ** (N - 1 - j);
    integer and bool inputs give int64, as PyTorch."""
    E = _E()
    _require_tensor(x, "vander", "x")
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is None:
        N = x.shape[0]
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    dt = x.dtype if (x.is_floating_point() or x.is_complex()) else _dtype.int64
    xs = x.to(dt)
    ones = E.ones(x.shape[0], 1, dtype=dt, device=x.device)
    if N == 0:
        out = E.empty(x.shape[0], 0, dtype=dt)
    elif N == 1:
        out = ones
    else:
        powers = xs.unsqueeze(1).expand(x.shape[0], N - 1).cumprod(1)
        out = E.cat([ones, powers], 1)
    return out if increasing else out.flip(1)
