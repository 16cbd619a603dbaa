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


def iter_layout(out, operands):
    """`out` (an elementwise result of the shape the operands broadcast to) laid out as
    PyTorch's TensorIterator would allocate it for `operands` (arrays; Python scalars and
    0-dim arrays have no say). A result already laid out so is returned itself."""
    if (type(out) is not _ndarray and type(out) not in ARRAY_TYPES) or out.ndim < 2:
        return out   # (meta arrays, tuples of results, 0/1-dim results)
    if out.flags.c_contiguous:
        # the common case: row-major operands give a row-major result (a tie between
        # strides only comes from a size-1 dim, which never outranks its neighbour). An
        # operand of under two dims orders no pair of the result's dims (it is broadcast
        # along all but its last), nor does one expanded from a single value (all strides
        # 0: a gradient flowing back from a sum), so only the others are looked at.
        for a in operands:
            t = type(a)
            if (t is _ndarray or t in ARRAY_TYPES) and a.ndim > 1 and \
                    not a.flags.c_contiguous and any(a.strides):
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
