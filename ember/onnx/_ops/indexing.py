"""Indexing: reads ``x[key]`` (aten::index) and writes ``x[key] = v`` (aten::index_put_).

A key follows PyTorch's rules: ints, slices, None and Ellipsis index first (an int selects,
so ``x[0, :, idx]`` is ``x[0][:, idx]``); then the tensor indices, integer or boolean, are
broadcast together. A boolean mask over k dims is k integer indices (ONNX NonZero, whose
count is only known when the model runs). One integer index with full slices elsewhere is a
Gather; several, or a mask, a GatherND over the indexed dims moved to the front, the result
dims put where PyTorch puts them (at the first indexed dim when the indexed dims are
adjacent, first otherwise). Writes are ScatterND at positions computed in the graph, so they
hold under dynamic axes too.
"""
import numpy as np

from .._graph import Value
from ._registry import _op, _operand, _tuple, _unsupported

__all__ = []

_BIG = np.iinfo(np.int64).max


def _c(g, v):
    return g.const(np.array(v, np.int64))


def _is_index(k):
    return isinstance(k, (Value, list))


def _key_list(key):
    return list(key) if isinstance(key, (tuple, list)) and not _is_int_list(key) else [key]


def _is_int_list(key):
    """``x[[0, 2]]``: a Python list of ints is one index tensor, not a key of ints."""
    return isinstance(key, list) and key and all(isinstance(k, (int, np.integer)) for k in key)


def _expand_ellipsis(key, rank):
    if Ellipsis not in key:
        return key + [slice(None)] * (rank - _consumed(key))
    i = key.index(Ellipsis)
    rest = key[:i] + key[i + 1:]
    return key[:i] + [slice(None)] * (rank - _consumed(rest)) + key[i + 1:]


def _consumed(key):
    """How many dims of the indexed tensor a key uses (a mask uses one per its dims)."""
    n = 0
    for k in key:
        if k is None:
            continue
        n += k.rank if isinstance(k, Value) and k.dtype == np.bool_ else 1
    return n


def _basic(g, input, key):
    """Apply a key's ints, slices and None; tensor entries stay as full slices. Returns the
    result and the key left for its dims (index tensors or slice(None))."""
    starts, ends, axes, steps, squeeze, unsqueeze, left = [], [], [], [], [], [], []
    dim = out_dim = 0
    for k in key:
        if k is None:
            unsqueeze.append(out_dim)
            left.append(slice(None))
            out_dim += 1
            continue
        if isinstance(k, (bool, np.bool_)):
            return _unsupported("index (a Python bool in the key)")
        if isinstance(k, (int, np.integer)):
            starts.append(int(k))
            ends.append(int(k) + 1 if int(k) != -1 else _BIG)
            axes.append(dim)
            steps.append(1)
            squeeze.append(dim)
            dim += 1
            continue
        if isinstance(k, slice):
            if k != slice(None):
                starts.append(0 if k.start is None else k.start)
                ends.append(_BIG if k.stop is None else k.stop)
                axes.append(dim)
                steps.append(1 if k.step is None else k.step)
            left.append(slice(None))
            dim += 1
            out_dim += 1
            continue
        if isinstance(k, list):
            k = g.const(np.array(k, np.int64))
        if not isinstance(k, Value):
            return _unsupported(f"index (key {k!r})")
        span = k.rank if k.dtype == np.bool_ else 1
        left.append(k)
        dim += span
        out_dim += span
    x = input
    shape = list(input.shape)
    if axes:
        # (bounds may be traced sizes: x[:, :n] with n = y.size(1))
        for a in axes:
            shape[a] = None
        x = g.op("Slice", x, g.int_list(starts), g.int_list(ends), _c(g, axes), _c(g, steps),
                 shape=shape)
    if squeeze:
        shape = [d for i, d in enumerate(shape) if i not in squeeze]
        x = g.op("Squeeze", x, _c(g, squeeze), shape=shape)
    if unsqueeze:
        for a in unsqueeze:
            shape.insert(a, 1)
        x = g.op("Unsqueeze", x, _c(g, unsqueeze), shape=shape)
    return x, left


def _index_tensors(g, x, left):
    """The integer index tensors of a key (masks opened by NonZero) and the dims of x
    they index; each index made non-negative (GatherND/ScatterND want 0 <= i < size)."""
    dims, tensors = [], []
    dim = 0
    for k in left:
        if not isinstance(k, Value):
            dim += 1
            continue
        if k.dtype == np.bool_:
            nz = g.op("NonZero", k, dtype=np.int64, shape=(k.rank, None))    # (k, count)
            rows = [nz] if k.rank == 1 else g.op(
                "Split", nz, _c(g, [1] * k.rank), axis=0, outputs=k.rank)
            for j, row in enumerate(rows):
                tensors.append(g.op("Squeeze", row, _c(g, [0]), shape=(None,)))
                dims.append(dim + j)
            dim += k.rank
            continue
        idx = g.cast(k, np.int64)
        size = g.dim(x, dim)
        size = _operand(g, size, np.int64)
        negative = g.op("Less", idx, _c(g, 0), dtype=np.bool_, shape=idx.shape)
        tensors.append(g.op("Where", negative, g.op("Add", idx, size), idx, shape=idx.shape))
        dims.append(dim)
        dim += 1
    return dims, tensors


def _broadcast(g, tensors):
    """The index tensors broadcast to one shape (adding zeros of every other one)."""
    if len(tensors) == 1:
        return tensors
    shape = (None,) * max(t.rank for t in tensors)
    zero = None
    for t in tensors:
        z = g.op("Mul", t, _c(g, 0), shape=t.shape)
        zero = z if zero is None else g.op("Add", zero, z, shape=shape)
    return [g.op("Add", t, zero, shape=shape) for t in tensors]


def _front(dims, rank):
    """The permutation putting the indexed dims first (in order), the rest after."""
    return dims + [d for d in range(rank) if d not in dims]


def _result_dims_at(dims):
    """Where PyTorch puts the broadcast index dims: at the first indexed dim when the
    indexed dims are adjacent, else first."""
    adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
    return dims[0] if adjacent else 0


def _to_torch_layout(dims, rank, nb):
    """The permutation taking GatherND's layout (index dims first: nb of them, then the
    rest) to PyTorch's (index dims at the first indexed dim when those are adjacent), or
    None when they are the same."""
    at = _result_dims_at(dims)
    if at == 0:
        return None
    rest = rank - len(dims)
    return [nb + j for j in range(at)] + list(range(nb)) + [nb + j for j in range(at, rest)]


def _gather_nd(g, x, left, ints=()):
    """x (its ints and slices applied) indexed by the key's tensors: GatherND over the
    indexed dims moved first. Returns the result in GatherND's layout, the permutation
    to PyTorch's layout (or None), and what a write needs (moved x, indices, perm).
    `ints`: dims indexed by an int given as a 0-d index (a write's key), which PyTorch
    selects before indexing: the layout is that of the selected view."""
    dims, idx = _index_tensors(g, x, left)
    idx = _broadcast(g, idx)
    nb = max(t.rank for t in idx)
    perm = _front(dims, x.rank)
    moved = x if perm == list(range(x.rank)) else g.op(
        "Transpose", x, perm=perm, shape=[x.shape[p] for p in perm])
    axis = _c(g, [-1])
    stacked = g.op("Concat", *[g.op("Unsqueeze", t, axis) for t in idx], axis=-1,
                   shape=(None,) * (nb + 1))
    out = g.op("GatherND", moved, stacked, shape=(None,) * nb + moved.shape[len(dims):])
    view = [p - sum(1 for q in ints if q < p) for p in dims if p not in ints]
    return out, _to_torch_layout(view, x.rank - len(ints), nb), moved, stacked, perm


@_op("index")
def _index(g, input, key):
    key = _expand_ellipsis(_key_list(key), input.rank)
    x, left = _basic(g, input, key)
    tensors = [k for k in left if isinstance(k, Value)]
    if not tensors:
        return x
    if len(tensors) == 1 and tensors[0].dtype != np.bool_:
        # one integer index tensor: Gather along its dim (negative indices allowed)
        return g.op("Gather", x, g.cast(tensors[0], np.int64), axis=left.index(tensors[0]))
    out, order, *_ = _gather_nd(g, x, left)
    if any(t.dtype == np.bool_ for t in tensors) and g.out_shape is not None:
        # the count of a mask's True values is known only when the model runs
        at = order.index(0) if order is not None else 0
        g.data_dependent_sizes.add(g.out_shape[at])
    return out if order is None else g.op("Transpose", out, perm=order)


def _write_basic(g, input, key, value, accumulate):
    """``x[ints and slices] = v``: the positions are a grid of each indexed dim's indices
    (a slice of Range(0, size), so bounds clamp as Python's), ScatterND over the dims up to
    the last one the key restricts."""
    ranges, picked = [], []
    dim = 0
    for k in key:
        if k is None:
            return _unsupported("index_put_ (None in the key)")
        size = _operand(g, g.dim(input, dim), np.int64)
        whole = g.op("Range", _c(g, 0), size, _c(g, 1), dtype=np.int64, shape=(None,))
        if isinstance(k, (int, np.integer)):
            r = g.op("Gather", whole, _c(g, [int(k)]), axis=0, shape=(1,))
            picked.append(dim)
        elif k == slice(None):
            r = whole
        else:
            stop = _BIG if k.stop is None else k.stop
            r = g.op("Slice", whole, g.int_list([0 if k.start is None else k.start]),
                     g.int_list([stop]), _c(g, [0]), _c(g, [1 if k.step is None else k.step]))
        ranges.append(r)
        dim += 1
    while ranges and key[len(ranges) - 1] == slice(None):
        ranges.pop()            # trailing full dims: ScatterND's updates carry them
    q = len(ranges)
    if q == 0:
        updates = g.op("Expand", _operand(g, value, input.dtype), g.shape_of(input))
        if accumulate:
            return g.op("Add", input, updates)
        return g.op("Identity", updates)
    counts = [g.op("Shape", r, dtype=np.int64, shape=(1,)) for r in ranges]
    grid_shape = g.op("Concat", *counts, axis=0, dtype=np.int64, shape=(q,))
    cols = []
    for d, r in enumerate(ranges):
        shape = [1] * q
        shape[d] = -1
        col = g.op("Expand", g.op("Reshape", r, _c(g, shape)), grid_shape)
        cols.append(g.op("Unsqueeze", col, _c(g, [-1])))
    indices = cols[0] if q == 1 else g.op("Concat", *cols, axis=-1)
    # v broadcast to x[key]'s shape, the selected (int) dims put back as size 1
    target = _index(g, input, tuple(key))
    updates = g.op("Expand", _operand(g, value, input.dtype), g.shape_of(target))
    kept = [d for d in picked if d < q]
    if kept:
        updates = g.op("Unsqueeze", updates, _c(g, kept))
    rest = [g.dim(input, d) for d in range(q, input.rank)]
    updates = g.op("Reshape", updates, g.op("Concat", grid_shape, g.int_list(rest), axis=0)
                   if rest else grid_shape)
    return _scatter(g, input, indices, updates, accumulate)


def _scatter(g, data, indices, updates, accumulate):
    if accumulate:
        if g.opset < 16:
            return _unsupported("index_put_ (accumulate=True before opset 16)")
        return g.op("ScatterND", data, indices, updates, reduction="add")
    return g.op("ScatterND", data, indices, updates)


@_op("index_put")
def _index_put(g, input, key, value, accumulate=False):
    """``x[key] = value`` (index_put_): basic keys on grids of positions, tensor keys
    (integer or mask) with ints and full slices elsewhere on their indices (ScatterND)."""
    key = _expand_ellipsis(_key_list(key), input.rank)
    key = [g.const(np.array(k, np.int64)) if isinstance(k, list) else k for k in key]
    if any(k is None for k in key):
        return _write_through_none(g, input, key, value, accumulate)
    if not any(isinstance(k, Value) for k in key):
        return _write_basic(g, input, key, value, accumulate)
    if any(isinstance(k, slice) and k != slice(None) for k in key):
        return _write_through_slices(g, input, key, value, accumulate)
    # ints become 0-d indices (PyTorch selects them first: the layout is the view's)
    ints, dim = [], 0
    for i, k in enumerate(key):
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            ints.append(dim)
            key[i] = g.const(np.array(int(k), np.int64))
        dim += k.rank if isinstance(k, Value) and k.dtype == np.bool_ else 1
    target, order, moved, stacked, perm = _gather_nd(g, input, key, ints)
    # v broadcasts to x[key] as PyTorch lays it out; ScatterND wants GatherND's layout
    shape = g.shape_of(target)
    if order is not None:
        shape = g.op("Gather", shape, _c(g, order), axis=0, shape=(len(order),))
    updates = g.op("Expand", _operand(g, value, input.dtype), shape)
    if order is not None:
        updates = g.op("Transpose", updates, perm=[int(i) for i in np.argsort(order)])
    out = _scatter(g, moved, stacked, updates, accumulate)
    if moved is input:
        return out
    return g.op("Transpose", out, perm=[int(i) for i in np.argsort(perm)])


def _write_through_slices(g, input, key, value, accumulate):
    """``x[1:3, idx] = v``: PyTorch writes into the view x[1:3, :] at [:, idx]. So: the
    partial slices' view (Slice), the tensor write on it with full slices in their place,
    then the view written back into x at the slices' positions (ScatterND on a grid)."""
    outer = []
    for k in key:       # the slices only; every other entry is its dims' full slices
        span = k.rank if isinstance(k, Value) and k.dtype == np.bool_ else 1
        outer += [k] if isinstance(k, slice) else [slice(None)] * span
    view, _ = _basic(g, input, outer)
    inner = [slice(None) if isinstance(k, slice) else k for k in key]
    written = _index_put(g, view, inner, value, accumulate)
    return _write_basic(g, input, outer, written, False)


def _write_through_none(g, input, key, value, accumulate):
    """``x[None, idx] = v``: PyTorch writes into the view with the new size-1 dims
    (x.unsqueeze(...)) at the key with full slices in their place; the written view
    squeezed back is x."""
    axes, dim = [], 0
    for k in key:
        if k is None:
            axes.append(dim)
        dim += k.rank if isinstance(k, Value) and k.dtype == np.bool_ else 1
    shape = list(input.shape)
    for a in axes:
        shape.insert(a, 1)
    view = g.op("Unsqueeze", input, _c(g, axes), shape=shape)
    written = _index_put(g, view, [slice(None) if k is None else k for k in key], value,
                         accumulate)
    return g.op("Squeeze", written, _c(g, axes), shape=input.shape)
