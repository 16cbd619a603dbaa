"""Memory layouts of op results, as PyTorch lays them out.

NumPy allocates a ufunc's result in the order of its inputs ("K" order) and most other
routines (cumsum, concatenate, take ...) follow their input too, while PyTorch has two
rules:

- Elementwise ops (its TensorIterator) give the result the dim order of the inputs'
  strides: `exp(x.t())` is transposed like `x.t()`. `iter_layout` computes that order the
  way PyTorch does and re-lays NumPy's result out only where the two differ (mixed
  layouts, broadcast operands, a 0-dim operand, results NumPy builds in C order).
- Most other ops (scans, softmax, concatenation, gathers, rolls ...) allocate a new
  row-major tensor whatever the input's layout: `row_major`.

Strides only change what `stride()`/`is_contiguous()` report and which `view()`s succeed;
the values are the same either way.
"""
import numpy as np

from .._backend import ARRAY_TYPES, array_namespace
from .._backend.meta_backend import MetaArray

_ndarray = np.ndarray


def row_major(arr):
    """`arr`, or a C-contiguous copy of it when it is not (meta arrays have no layout)."""
    if type(arr) is MetaArray or arr.flags.c_contiguous:
        return arr
    return array_namespace(arr).ascontiguousarray(arr)


def _dim_order(shape, operands):
    """The dims of `shape` from fastest- to slowest-varying in memory, by PyTorch's rule: an
    insertion sort in which each pair of dims is ordered by the first operand whose strides
    tell them apart (an operand broadcast along either dim has no say; equal strides put
    the smaller dim first); a pair no operand orders keeps row-major order."""
    n = len(shape)
    strides = []
    for a in operands:
        st = [0] * n
        off = n - a.ndim
        for i, (size, s) in enumerate(zip(a.shape, a.strides)):
            st[off + i] = 0 if size == 1 and shape[off + i] != 1 else s
        strides.append(st)

    def should_swap(d0, d1):
        for st in strides:
            s0, s1 = st[d0], st[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 < s1:
                return -1
            if s0 > s1:
                return 1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    perm = list(range(n - 1, -1, -1))
    for i in range(1, n):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    return perm


def _strides_descend(a):
    """Whether array a's strides fall strictly from its first dim to its last, over the dims
    _dim_order compares (size above 1, stride not 0): then each pair of them keeps
    row-major order there."""
    prev = None
    for size, s in zip(a.shape, a.strides):
        if size != 1 and s:
            if prev is not None and s >= prev:
                return False
            prev = s
    return True


def iter_layout(out, operands):
    """`out` (an elementwise result of the shape the operands broadcast to) laid out as
    PyTorch's TensorIterator would allocate it for `operands` (arrays; Python scalars and
    0-dim arrays have no say). A result already laid out so is returned itself."""
    if type(out) is _ndarray:
        # every elementwise op passes here: first the common case, a row-major NumPy
        # result of row-major NumPy operands (or of ones under two dims)
        if out.ndim < 2:
            return out
        if out.flags.c_contiguous:
            for a in operands:
                if type(a) is _ndarray:
                    if a.ndim > 1 and not a.flags.c_contiguous and any(a.strides):
                        break   # (one expanded from a single value has no say either)
                elif type(a) in ARRAY_TYPES:
                    break
            else:
                return out
    return _laid_out(out, operands)


def _laid_out(out, operands):
    """iter_layout beyond its common case."""
    if (type(out) is not _ndarray and type(out) not in ARRAY_TYPES) or out.ndim < 2:
        return out   # (meta arrays, tuples of results, 0/1-dim results)
    if out.flags.c_contiguous:
        # the common case: row-major operands give a row-major result (a tie between
        # strides only comes from a size-1 dim, which never outranks its neighbour). An
        # operand of under two dims orders no pair of the result's dims (it is broadcast
        # along all but its last), nor does one expanded from a single value (all strides
        # 0: a gradient flowing back from a sum), so only the others are looked at.
        # A strided operand whose dims run slowest to fastest in order (a chunk, a column
        # slice, a narrow of a row-major tensor) orders every pair it has a say in as
        # row-major too, so the result stays row-major when it has no size-1 dim (whose
        # strides PyTorch may give other values).
        shape = None
        for a in operands:
            t = type(a)
            if (t is _ndarray or t in ARRAY_TYPES) and a.ndim > 1 and \
                    not a.flags.c_contiguous and any(a.strides):
                if shape is None:
                    shape = out.shape
                    if 1 in shape:
                        break
                if not _strides_descend(a):
                    break
        else:
            return out
    ops = [a for a in operands if type(a) in ARRAY_TYPES and a.ndim]
    if not ops:
        return out
    shape = out.shape
    same = all(a.shape == shape for a in ops)
    if same and all(a.flags.c_contiguous for a in ops):
        return row_major(out)
    if same and _dense(ops[-1]) and all(a.strides == ops[-1].strides for a in ops):
        target = _element_strides(ops[-1])   # all alike and dense: PyTorch copies them
    else:
        perm = _dim_order(shape, ops)        # fastest first
        target = [0] * len(shape)
        acc = 1
        for d in perm:
            target[d] = acc
            acc *= shape[d]
        if perm == list(range(len(shape) - 1, -1, -1)):
            return row_major(out)
    item = out.itemsize
    if tuple(s // item for s in out.strides) == tuple(target) or out.size == 0:
        return out
    xp = array_namespace(out)
    order = sorted(range(len(shape)), key=lambda d: -target[d])   # slowest first
    fresh = xp.empty(tuple(shape[d] for d in order), dtype=out.dtype)
    fresh = fresh.transpose(tuple(order.index(d) for d in range(len(shape))))
    fresh[...] = out
    return fresh


def like_layout(arr, x, memory_format):
    """`arr`, a new row-major array of x's shape (what a `*_like` factory made), laid out
    as PyTorch lays out `empty_like(x, memory_format=...)`: preserve_format (the default)
    keeps x's strides when x is dense, else x's dim order; contiguous_format row-major;
    channels_last(_3d) NHWC (NDHWC)."""
    name = getattr(memory_format, "name", "preserve_format")
    if name == "contiguous_format" or type(arr) not in ARRAY_TYPES or arr.shape != x.shape:
        return arr
    if name in ("channels_last", "channels_last_3d"):
        from .conversion import _copy_in_format
        return _copy_in_format(arr, memory_format)
    if type(x) not in ARRAY_TYPES:
        return arr
    return iter_layout(arr, (x,))


def _channels_last(a):
    """Whether a 4-D/5-D array is laid out channels-last and not also row-major."""
    if a.ndim not in (4, 5) or a.flags.c_contiguous:
        return False
    return a.transpose((0,) + tuple(range(2, a.ndim)) + (1,)).flags.c_contiguous


def concat_layout(out, inputs):
    """The layout of a concatenation (PyTorch's cat): channels-last when every input is
    channels-last (NumPy's result then is too), else row-major."""
    if type(out) is _ndarray and out.ndim not in (4, 5):   # (no channels-last layout)
        return out if out.flags.c_contiguous else np.ascontiguousarray(out)
    if type(out) is not MetaArray and inputs and all(_channels_last(a) for a in inputs) \
            and _channels_last(out):
        return out
    return row_major(out)


def _dense(a):
    """Whether `a` covers its memory exactly once (no gaps, no stride-0 dims)."""
    expected = a.itemsize
    for stride, size in sorted((abs(s), n) for n, s in zip(a.shape, a.strides) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _element_strides(a):
    return [s // a.itemsize for s in a.strides]


# ---------------------------------------------------------------------------- memory formats
# PyTorch's convolutions, poolings, paddings, interpolations and shuffles keep a
# channels-last input channels-last: they read the format the input's strides suggest and
# allocate their result (and its gradients) in it. ember computes them row-major and, for
# such an input only, lays the result out afresh (one copy, off the default path).

def _channels_last_order(a, order):
    """Whether a's strides rank its dims as `order` (fastest first: C, W, H, N for 4-D) in
    PyTorch's sense of a channels-last tensor: each dim's stride at least the previous
    stride times the previous size (size-1 dims add nothing), the channel stride nonzero,
    no empty dim, and, where N's stride equals C's, row-major (the N111 ambiguity)."""
    item = a.itemsize
    st = a.strides
    if st[1] == 0:
        return False
    low = 0
    for d in order:
        n = a.shape[d]
        s = st[d] // item
        if n == 0 or s < low:
            return False
        if d == 0 and low == st[1] // item:
            return False
        low = s * n if n > 1 else s
    return True


def suggest_format(a):
    """The memory format array `a`'s strides suggest (PyTorch's suggest_memory_format):
    'channels_last' for a 4-D array strided channels-last, 'channels_last_3d' for such a
    5-D one, else None (row-major or anything else)."""
    nd = a.ndim
    if nd == 4:
        if type(a) is MetaArray or a.strides[3] < a.strides[1]:   # W faster than C: not
            return None                                          # channels-last
        return "channels_last" if _channels_last_order(a, (1, 3, 2, 0)) else None
    if nd == 5:
        if type(a) is MetaArray or a.strides[4] < a.strides[1]:
            return None
        return "channels_last_3d" if _channels_last_order(a, (1, 4, 3, 2, 0)) else None
    return None


def in_format(arr, fmt):
    """`arr` (an op's result) laid out as memory format `fmt` ('channels_last',
    'channels_last_3d', or None: left as it is), copied only when it is not already."""
    if fmt is None or type(arr) is MetaArray or arr.ndim != (4 if fmt == "channels_last" else 5):
        return arr
    nd = arr.ndim
    want = [0] * nd
    acc = arr.itemsize
    for d in (1,) + tuple(range(nd - 1, 1, -1)) + (0,):   # C fastest, then W (H, D), then N
        want[d] = acc
        acc *= arr.shape[d]
    if tuple(want) == arr.strides:
        return arr
    xp = array_namespace(arr)
    # allocated as (N, *spatial, C) and viewed back, so size-1 dims get PyTorch's strides too
    perm = (0,) + tuple(range(2, nd)) + (1,)
    fresh = xp.empty(tuple(arr.shape[d] for d in perm), dtype=arr.dtype)
    fresh = fresh.transpose((0, nd - 1) + tuple(range(1, nd - 1)))
    fresh[...] = arr
    return fresh


# ---------------------------------------------------------------------------- gradient layout

def obeys_grad_layout(g, var):
    """PyTorch's gradient layout contract for a leaf's .grad: the strides of leaf array
    `var` where var is dense (non-overlapping, no gaps) on every dim of size > 1 (and no
    stride 0 on a size-1 dim), else row-major."""
    if type(g) is MetaArray or type(var) is MetaArray:
        return True
    if not _dense(var):
        return g.flags.c_contiguous
    gi, vi = g.itemsize, var.itemsize
    for n, gs, vs in zip(g.shape, g.strides, var.strides):
        if n != 1:
            if gs // gi != vs // vi:
                return False
        elif gs == 0:
            return False
    return True


def grad_like(g, var):
    """A copy of gradient array `g` laid out by the contract: var's own strides when var
    is dense, else row-major."""
    xp = array_namespace(g)
    if not _dense(var) or var.size == 0 or var.flags.c_contiguous:
        return xp.array(g, order="C", copy=True)
    from .._backend import strided_view
    vi = var.itemsize
    fresh = strided_view(xp.empty(var.size, dtype=g.dtype), var.shape,
                         tuple(s // vi * g.itemsize for s in var.strides))
    fresh[...] = g
    return fresh


# ---------------------------------------------------------------------------- LAPACK's layout

def col_major(arr):
    """`arr` (..., m, n) laid out as PyTorch returns LAPACK's results (inverses, solutions,
    factors): each matrix column-major, the batch row-major over the matrices (strides
    (..., 1, m)); copied only when it is not already so."""
    if type(arr) is MetaArray or arr.ndim < 2:
        return arr
    shape = arr.shape
    if shape[-1] > 1 and shape[-2] > 1 and arr.flags.c_contiguous:
        # the usual case, a fresh row-major result: one copy of its transpose (the
        # cheapest way there, ~0.3 us for a small matrix)
        return arr.swapaxes(-1, -2).copy().swapaxes(-1, -2)
    nd = arr.ndim
    want = [0] * nd
    acc = arr.itemsize
    for d in (nd - 2, nd - 1) + tuple(range(nd - 3, -1, -1)):
        want[d] = acc
        acc *= arr.shape[d]
    if tuple(want) == arr.strides:
        return arr
    fresh = array_namespace(arr).empty(arr.shape[:-2] + (arr.shape[-1], arr.shape[-2]),
                                       dtype=arr.dtype).swapaxes(-1, -2)
    fresh[...] = arr
    return fresh
