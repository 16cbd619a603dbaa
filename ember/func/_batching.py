"""Batching rules: how vmap runs an op once on a whole batch (functorch's BatchedTensor).

While ``vmap(f)`` runs `f` vectorized, each input that vmap maps over is a *batched
tensor*: an ordinary Tensor whose ``_data`` is a `BatchedArray`. A BatchedArray shows the
*logical* shape (the shape one slice has, as `f` sees it) and holds the *physical* array,
the whole batch with its batch dim in front::

    logical  x[i]          shape (3, 4)          what f and the op wrappers see
    physical x.phys        shape (B, 3, 4)       what the arrays hold

Op wrappers compute their parameters (wrapped dims, target shapes) from the logical
shapes, exactly as for one slice, and call ``_ops._base.apply``. There, while a vmap level
is open, `handle` looks for batched operands; when there is one it runs the op's rule:

- a vectorized rule (`RULES`) runs the op ONCE on the physical arrays, with its
  parameters shifted past the batch dim (a reduction over logical dim d reduces physical
  dim d + 1; an elementwise op lines up the operands' ranks; matmul broadcasts over the
  batch) and wraps the result as a BatchedArray again;
- any other op falls back to a loop over the batch (functorch's slow path): its forward on
  each slice, results stacked. Its parameters came from the logical shapes, so each slice
  computes exactly what the unbatched op computes.

Autograd records over batched tensors with a node *for one slice*: the op's forward run on
slice 0 sets the metadata backward reads (shapes, dims: the same for every slice), its
saved tensors are the batched ones, and its backward, written with ops, runs batched
(`_record`; backward formulas take their op path, not their raw-array fast path, while
vmap vectorizes). An op whose node keeps arrays read from the values (a mask, pooling
indices) is recorded as one node per slice instead (`_SliceNodes`: its backward loops over
the batch). Forward AD on batched duals goes the same way: linear and product rules run
on the batched tangents, other ops derive theirs from a node for one slice.

What cannot be batched aborts the vectorized attempt: `Unbatchable` is raised (a
BaseException, so that no ``except Exception`` in op code swallows it) and vmap runs `f`
once per slice instead, as before (see _vmap.py). It is raised for anything that touches a
BatchedArray's values outside `apply` (``.item()``, printing, NumPy functions other than
ufuncs called on ``_data`` directly, data-dependent Python control flow: every array
attribute but the shape, dtype and strides raises), a node for one slice whose metadata
differs between slices, a backward that records a graph through a per-slice node,
``.backward()`` into ``.grad``, and outputs that carry autograd history (a graph over the
batch cannot leave vmap).

vmap only tries the vectorized path when aborting is safe: randomness="error" (a random
draw raises anyway) and no enclosing vectorized level (an inner vmap inside a vectorized
one runs slice by slice over the outer level's batched tensors).
"""
import functools
import os
import types

import numpy as np

from .. import _backend, _dtype
from .._tensor import Tensor, BATCHED_ARRAY
from .._ops import _base
from ..autograd import grad_mode
from ..autograd import forward_ad as _forward_ad
from ..autograd.forward_ad import ACTIVE as _DUAL
from .._autocast import AUTOCAST as _AUTOCAST, is_active as _autocast_on

_GRAD = grad_mode.GRAD_ENABLED
_make = Tensor._make

# counters for tests and benchmarks: ops run by a vectorized rule / by the per-slice loop,
# vectorized attempts aborted, and the reason of the last abort
STATS = {"vectorized_ops": 0, "looped_ops": 0, "aborts": 0, "last_abort": None}
# True: an aborted vectorized attempt raises instead of rerunning by slices (debugging)
STRICT = [False]
# False: vmap never tries the vectorized path (to compare the two in benchmarks; the
# environment variable EMBER_VMAP_VECTORIZE=0 sets it for a whole program)
ENABLED = [os.environ.get("EMBER_VMAP_VECTORIZE", "1") != "0"]


class Unbatchable(BaseException):
    """Raised inside a vectorized vmap where the batch cannot be handled at once: vmap
    catches it and runs the function one slice at a time."""


class BatchedArray:
    """An array of a vmap level: logical attributes over a physical array whose dim 0 is
    the batch. Only what op wrappers read to compute parameters is exposed; any other use
    of the values raises Unbatchable."""
    __slots__ = ("phys",)

    def __init__(self, phys):
        self.phys = phys

    # ---- the logical view
    @property
    def shape(self):
        return self.phys.shape[1:]

    @property
    def ndim(self):
        return self.phys.ndim - 1

    @property
    def dtype(self):
        return self.phys.dtype

    @property
    def size(self):
        n = 1
        for s in self.phys.shape[1:]:
            n *= s
        return n

    @property
    def itemsize(self):
        return self.phys.itemsize

    @property
    def nbytes(self):
        return self.size * self.phys.itemsize

    @property
    def strides(self):
        return self.phys.strides[1:]

    def __len__(self):
        if self.phys.ndim == 1:
            raise TypeError("len() of unsized object")
        return self.phys.shape[1]

    # ---- elementwise array methods with an obvious batched meaning
    def astype(self, dtype, copy=True):
        return BatchedArray(self.phys.astype(dtype, copy=copy))

    def copy(self, order="C"):
        return BatchedArray(self.phys.copy())

    def __array_function__(self, func, types, args, kwargs):
        """NumPy functions on a batched array: np.reshape (wrappers ask whether a shape
        is a view with it), as the reshape of every slice; np.shape and np.ndim, the
        logical ones; np.ones_like/zeros_like, as an unbatched array of the logical shape;
        the others raise."""
        if func is np.shape and len(args) == 1:
            return self.shape
        if func is np.ndim and len(args) == 1:
            return self.ndim
        if func in (np.ones_like, np.zeros_like) and args and args[0] is self and \
                set(kwargs) <= {"dtype"}:
            # the same array for every slice: an unbatched one broadcasts like the batch
            make = np.ones if func is np.ones_like else np.zeros
            xp = _backend.array_namespace(self.phys)
            return getattr(xp, make.__name__)(self.shape, dtype=kwargs.get("dtype", self.dtype))
        if func is np.reshape and len(args) >= 2 and args[0] is self:
            shape = args[1]
            shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
            return BatchedArray(np.reshape(self.phys, self.phys.shape[:1] + shape,
                                           *args[2:], **kwargs))
        raise Unbatchable(f"{getattr(func, '__name__', func)} on a batched array")

    def __array_ufunc__(self, ufunc, method, *operands, **kwargs):
        """An elementwise NumPy ufunc with batched operands (comparisons run so): the
        operands lined up after the batch dim, computed once, batched again."""
        if method != "__call__" or "out" in kwargs or ufunc.signature is not None:
            raise Unbatchable(f"{ufunc.__name__}.{method} on a batched array")
        n = max(getattr(a, "ndim", 0) for a in operands)
        out = ufunc(*[_align(a, n) for a in operands], **kwargs)
        if type(out) is tuple:
            return tuple(BatchedArray(o) for o in out)
        return BatchedArray(out)

    def __setitem__(self, key, value):
        """Whole-array writes (``a[...] = v``: in-place ops commit this way)."""
        if key is not Ellipsis and key != ():
            raise Unbatchable("a partial write into a batched array")
        if type(value) is BatchedArray:
            value = _align(value, self.phys.ndim - 1)
        self.phys[...] = value

    def __repr__(self):
        return f"BatchedArray(logical shape {self.shape}, batch {self.phys.shape[0]})"

    # ---- everything else reads values: no batched meaning here
    def __getattr__(self, name):
        if name.startswith("__"):   # NumPy's probes (__array_interface__ ...) find none
            raise AttributeError(name)
        raise Unbatchable(f"array attribute {name!r} of a batched array")

    def _refuse(self, *args, **kwargs):
        raise Unbatchable("a value of a batched array read outside an op")

    __array__ = __getitem__ = __iter__ = _refuse
    __bool__ = __float__ = __int__ = __index__ = __complex__ = _refuse
    __matmul__ = __rmatmul__ = _refuse
    __hash__ = None


def _operator(ufunc, reflected=False):
    """Python's arithmetic operators on a batched array: their NumPy ufuncs."""
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


for _name, _ufunc in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                      ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                      ("mod", np.remainder), ("pow", np.power), ("and", np.bitwise_and),
                      ("or", np.bitwise_or), ("xor", np.bitwise_xor)):
    setattr(BatchedArray, f"__{_name}__", _operator(_ufunc))
    setattr(BatchedArray, f"__r{_name}__", _operator(_ufunc, True))
for _name, _ufunc in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                      ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)):
    setattr(BatchedArray, f"__{_name}__", _operator(_ufunc))
BatchedArray.__neg__ = lambda self: np.negative(self)
BatchedArray.__abs__ = lambda self: np.absolute(self)
BatchedArray.__invert__ = lambda self: np.invert(self)

BATCHED_ARRAY[0] = _backend.BATCHED_ARRAY[0] = BatchedArray


def batched(tensor, dim):
    """A batched tensor for vmap's input `tensor` mapped over its dim `dim`."""
    data = tensor._data
    phys = data if dim == 0 else _backend.array_namespace(data).moveaxis(data, dim, 0)
    return _make(BatchedArray(phys))


def unbatched(tensor, batch_size, out_dim):
    """vmap's output: the batch dim of `tensor` put at `out_dim` (an unbatched tensor, the
    same for every slice, expanded along a new one)."""
    data = tensor._data
    n = data.ndim + 1
    if not -n <= out_dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {out_dim})")
    if type(data) is not BatchedArray:
        # as PyTorch: an expanded view (stride 0), which in-place ops refuse to write
        return tensor.unsqueeze(0).expand((batch_size,) + data.shape).movedim(0, out_dim)
    phys = data.phys
    if out_dim % n:
        phys = _backend.array_namespace(phys).moveaxis(phys, 0, out_dim % n)
    return _make(phys)


def is_batched(tensor):
    return isinstance(tensor, Tensor) and type(tensor._data) is BatchedArray


# --------------------------------------------------------------------------------------
# the hook in apply


def handle(cls, inputs, arrays, params):
    """``_ops._base.apply`` while a vectorized vmap runs: None when no operand is batched
    (apply goes on as usual), else the op's result as batched tensor(s)."""
    size = None
    for a in arrays:
        t = type(a)
        if t is BatchedArray:
            size = a.phys.shape[0]
            break
        if (t is list or t is tuple) and any(type(b) is BatchedArray for b in a):
            raise Unbatchable(f"{cls.__name__}: a list operand holding batched arrays")
    for p in params:
        if type(p) is BatchedArray:
            raise Unbatchable(f"{cls.__name__}: a batched array passed as a parameter")
    if size is None:
        return None
    record = False
    if _GRAD[0]:
        for t in inputs:
            if t is not None and t._requires_grad:
                record = True
                break
    dual = False
    if _DUAL[0]:
        for t in inputs:
            if t is not None and t._fw_tangent is not None:
                dual = True
                break
    if _AUTOCAST[0] and _autocast_on():   # (this thread's autocast; another's leaves it be)
        raise Unbatchable(f"{cls.__name__}: autocast")
    rule = RULES.get(cls._op)   # (cls may be a node class named for another overload)
    if rule is None and cls.elementwise:
        rule = _elementwise
    out = NotImplemented if rule is None else rule(cls, arrays, params, size)
    if out is NotImplemented:
        STATS["looped_ops"] += 1
        out = _loop(cls, arrays, params, size)
    else:
        STATS["vectorized_ops"] += 1
    if type(out) is tuple:
        out = tuple(BatchedArray(o) for o in out)
    else:
        out = BatchedArray(out)
    if dual and not _tangent_by_op(cls):
        return _dual_by_node(cls, inputs, arrays, params, out)
    if record:
        result = _record(cls, inputs, arrays, params, out)
    elif type(out) is tuple:
        result = tuple(_make(o) for o in out)
    else:
        result = _make(out)
    if dual:
        _set_tangents(cls, inputs, arrays, params, result)
    return result


class _PassThrough:
    """The array namespace _record sees while it wraps batched outputs (it makes arrays
    of what is no array of its namespace: a batched array stays as it is)."""

    @staticmethod
    def asarray(o):
        return o


def _record(cls, inputs, arrays, params, out):
    """Record op `cls` over batched operands, with a node for one slice: its forward run
    on slice 0 sets the metadata backward reads (shapes, dims), which is the same for
    every slice (they share the logical shapes and params); backward then runs on the
    batched tensors it saved and the batched gradients. What forward keeps that was
    computed from the values (a mask, indices) comes from a forward run on every slice,
    stacked into a batched array; anything else that differs between slices aborts."""
    ctx = object.__new__(cls)
    first = next(a.phys for a in arrays if type(a) is BatchedArray)
    xp = _backend.array_namespace(first)
    if xp is not np:
        ctx.xp = xp
    slices = [[a.phys[i] if type(a) is BatchedArray else a for a in arrays]
              for i in range(first.shape[0])]
    cls.forward(ctx, *slices[0], *params)
    read = [name for name, value in ctx.__dict__.items() if name != "xp" and not _plain(value)]
    if read or cls in _VALUE_FLAGS:
        if cls not in _STACKED_METADATA:
            return _record_by_slices(cls, inputs, slices, params, out, xp)
        _batch_metadata(cls, ctx, read, slices, params)
    ctx.xp = _PassThrough
    try:
        return _base._record(ctx, inputs, out)
    finally:
        if xp is np:
            del ctx.xp
        else:
            ctx.xp = xp


class _SliceNodes(_base.Op):
    """The node of an op recorded over a batch as one node per slice (each with its own
    forward's metadata): backward runs each slice's backward on that slice of the
    gradients and stacks the results (functorch's per-slice fallback, for autograd)."""
    # (each node takes its op's name; this one says it is no aten operator, for the
    # profiler's names)
    _name = "ember::VmapSlicesBackward"

    @staticmethod
    def backward(ctx, *grads):
        if _GRAD[0]:
            # a graph of the gradients would link to the slices, not to the batch
            raise Unbatchable(f"{ctx._name}: a backward recording a graph through a node "
                              f"kept by slices")
        from ..autograd.engine import _call_backward
        per_input = [[] for _ in ctx.next_functions]
        for i, node in enumerate(ctx.slice_nodes):
            gs = [None if g is None else
                  _make(g._data.phys[i]) if type(g._data) is BatchedArray else g
                  for g in grads]
            for k, g in enumerate(_call_backward(node, gs, False)):
                per_input[k].append(g)
        result = []
        for k, gs in enumerate(per_input):
            if ctx.next_functions[k][0] is None or all(g is None for g in gs):
                result.append(None)
                continue
            if any(g is None for g in gs):
                raise Unbatchable(f"{ctx._name}: a gradient given for some slices only")
            arrays = [g._data for g in gs]
            result.append(_make(BatchedArray(_backend.array_namespace(arrays[0]).stack(arrays))))
        return tuple(result)


def _record_by_slices(cls, inputs, slices, params, out, xp):
    """A _SliceNodes node for op `cls` over a batch: one recorded node per slice, whose
    inputs are stand-ins for the slices of the op's (what it saves comes from them)."""
    nodes = []
    for sliced in slices:
        node = object.__new__(cls)
        if xp is not np:
            node.xp = xp
        result = cls.forward(node, *sliced, *params)
        stand_ins = [None if t is None else _make(a, t._requires_grad)
                     for t, a in zip(inputs, sliced)]
        _base._record(node, stand_ins, result)
        nodes.append(node)
    parent = object.__new__(_SliceNodes)
    parent._name = cls._name or _SliceNodes._name
    parent.slice_nodes = nodes
    parent.nondiff_outputs = cls.nondiff_outputs
    parent.xp = _PassThrough
    try:
        return _base._record(parent, inputs, out)
    finally:
        del parent.xp


def _batch_metadata(cls, ctx, read, slices, params):
    """ctx's attributes `read` (arrays forward computed from slice 0's values) as batched
    arrays of every slice's; the other attributes must agree between slices."""
    others = []
    for sliced in slices[1:]:
        other = object.__new__(cls)
        other.__dict__.update({"xp": ctx.xp} if "xp" in ctx.__dict__ else {})
        cls.forward(other, *sliced, *params)
        others.append(other.__dict__)
    for name, value in ctx.__dict__.items():
        if name == "xp":
            continue
        values = [value] + [o.get(name) for o in others]
        if name not in read:
            if isinstance(value, (int, float, complex, str, tuple)) and \
                    any(v != value for v in values[1:]):
                raise Unbatchable(f"{cls.__name__}: its node keeps {name!r}, which differs "
                                  f"between slices")
            continue
        if not all(_is_array(v) and v.shape == value.shape and v.dtype == value.dtype
                   for v in values):
            raise Unbatchable(f"{cls.__name__}: its node keeps {name!r} computed from values")
        stack = _backend.array_namespace(value).stack if type(value) is not np.generic and \
            not isinstance(value, np.generic) else np.stack
        ctx.__dict__[name] = BatchedArray(stack(values))


def _is_array(v):
    return isinstance(v, (np.ndarray, np.generic)) or type(v) in _backend.ARRAY_TYPES


_PLAIN = (bool, int, float, complex, str, bytes, type, slice, np.dtype, np.ufunc,
          types.FunctionType, types.BuiltinFunctionType, types.ModuleType, functools.partial,
          type(Ellipsis), type(None))


def _plain(value):
    """Whether a node attribute is metadata (numbers, shapes, dtypes, functions), not an
    array or a value read from one (NumPy scalars)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return False
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    return isinstance(value, _PLAIN) or isinstance(value, _dtype.dtype)


def _dual_by_node(cls, inputs, arrays, params, out):
    """Forward AD of an op on batched duals whose tangents come from its node (its
    backward, see _ops._base._jvp): a node for one slice (as _record makes), then forward
    AD's usual path, every op of which runs batched."""
    ctx = _slice_node(cls, arrays, params)
    ctx.xp = _PassThrough
    try:
        return _base._dual_apply(ctx, inputs, arrays, params, out)
    finally:
        del ctx.xp


def _slice_node(cls, arrays, params):
    """A node of op `cls` with the metadata of its forward on slice 0, which every slice
    shares; aborts when forward keeps anything read from values."""
    ctx = object.__new__(cls)
    first = next(a.phys for a in arrays if type(a) is BatchedArray)
    xp = _backend.array_namespace(first)
    if xp is not np:
        ctx.xp = xp
    cls.forward(ctx, *[a.phys[0] if type(a) is BatchedArray else a for a in arrays], *params)
    for name, value in ctx.__dict__.items():
        if name != "xp" and (not _plain(value) or cls in _VALUE_FLAGS):
            raise Unbatchable(f"{cls.__name__}: forward AD through a node that keeps {name!r}")
    ctx.__dict__.pop("xp", None)
    return ctx


def _tangent_by_op(cls):
    """Whether forward AD finds this op's output tangents by running ops on the tangents
    (linear and multilinear ops, see _ops._base._rules), which needs no node of a forward
    run: those run batched too. Other ops derive theirs from the backward of the node."""
    rules = _base._rules()
    op = cls._op   # (the op of a node class named for another overload)
    return cls.jvp is None and (op in rules["linear"] or op in rules["multilinear"] or
                                op in _AFFINE)


def _linear_tangent(cls, inputs, arrays, out):
    """F.linear's tangent: x W^T is bilinear (the product rule), the bias adds its own."""
    if cls.__qualname__ == "Linear":
        return _base._multilinear_jvp(cls, inputs, arrays, ())
    b, x, w = inputs
    total = _base._multilinear_jvp(_AFFINE[0], (x, w), arrays[1:], ())
    tb = None if b is None else b._fw_tangent
    if tb is None:
        return total
    prev = _DUAL[0]
    _DUAL[0] = False
    try:
        return tb.expand(out.shape) if total is None else total + tb
    finally:
        _DUAL[0] = prev


def _set_tangents(cls, inputs, arrays, params, result):
    """Forward AD for an op on batched duals: the tangents of `result` by the op's linear
    or product rule, computed on the (batched) tangents."""
    results = result if type(result) is tuple else (result,)
    outs = [r._data for r in results]
    nondiff = cls.nondiff_outputs
    diff = [i not in nondiff and o.dtype.kind in "fcV" for i, o in enumerate(outs)]
    if not any(diff):
        return
    if cls in _base._rules()["linear"]:
        tangents = _base._linear_jvp(cls, inputs, arrays, params, outs, diff)
    elif cls in _AFFINE:
        tangents = [_linear_tangent(cls, inputs, arrays, results[0])]
    else:
        tangents = [_base._multilinear_jvp(cls, inputs, arrays, params)]
    for r, tangent in zip(results, tangents):
        if tangent is not None:
            _forward_ad.set_tangent(r, tangent)


def _run(cls, arrays, params):
    """The op on plain (physical) arrays, through apply's usual path: its array result(s)."""
    out = _base.apply(cls, (None,) * len(arrays), tuple(arrays), *params)
    if type(out) is tuple:
        return tuple(o._data for o in out)
    return out._data


def _loop(cls, arrays, params, size):
    """The per-slice fallback: the op on slice i of every batched operand, stacked."""
    results = []
    for i in range(size):
        sliced = [a.phys[i] if type(a) is BatchedArray else a for a in arrays]
        results.append(_run(cls, sliced, params))
    first = results[0]
    xp = _backend.array_namespace(first[0] if type(first) is tuple else first)
    if type(first) is tuple:
        return tuple(xp.stack([r[k] for r in results]) for k in range(len(first)))
    return xp.stack(results)


def _align(a, ndim):
    """Physical array of operand `a` for an op whose logical operands broadcast to `ndim`
    dims: a batched one gets size-1 dims after its batch dim (right-aligned broadcasting
    then pairs the logical dims); an unbatched one broadcasts against the batch as is."""
    if type(a) is not BatchedArray:
        return a
    p = a.phys
    k = p.ndim - 1
    if k < ndim:
        p = p.reshape(p.shape[:1] + (1,) * (ndim - k) + p.shape[1:])
    return p


# --------------------------------------------------------------------------------------
# vectorized rules: rule(cls, arrays, params, batch size) -> physical result(s), or
# NotImplemented for the per-slice loop


def _elementwise(cls, arrays, params, size):
    """Pointwise ops (Add, Mul, the unary table, where ...): operands broadcast, so lining
    up their ranks after the batch dim is all it takes."""
    n = 0
    for a in arrays:
        nd = getattr(a, "ndim", None) if type(a) is not BatchedArray else a.ndim
        if nd is not None and nd > n:
            n = nd
    return _run(cls, [_align(a, n) for a in arrays], params)


def _shift(dims):
    if isinstance(dims, int):
        return dims + 1
    return tuple(d + 1 for d in dims)


def _dims_rule(index):
    """An op of one array operand whose params[index] is a dim or a tuple of dims
    (non-negative, as the wrappers leave them)."""
    def rule(cls, arrays, params, size):
        dims = params[index]
        if type(arrays[0]) is not BatchedArray or not (
                isinstance(dims, int) or (isinstance(dims, tuple) and
                                          all(isinstance(d, int) for d in dims))):
            return NotImplemented
        if isinstance(dims, bool) or (isinstance(dims, int) and dims < 0) or \
                (isinstance(dims, tuple) and any(d < 0 for d in dims)):
            return NotImplemented
        new = list(params)
        new[index] = _shift(dims)
        return _run(cls, [arrays[0].phys] + list(arrays[1:]), new)
    return rule


def _unary_same(cls, arrays, params, size):
    """An op of one array whose params do not depend on its shape (casts, copies)."""
    if len(arrays) != 1:
        return NotImplemented
    return _run(cls, [arrays[0].phys], params)


def _view(cls, arrays, params, size):
    from .._ops import shape as shape_ops
    x = arrays[0].phys
    new_shape = (size,) + tuple(params[0])
    if cls is shape_ops.View and not shape_ops._viewable(x, new_shape):
        cls = shape_ops.UnsafeView   # the batch dim moved in front leaves no view: a copy
    return _run(cls, [x], (new_shape,) + tuple(params[1:]))


def _permute(cls, arrays, params, size):
    return _run(cls, [arrays[0].phys], ((0,) + _shift(params[0]),))


def _transpose(cls, arrays, params, size):
    return _run(cls, [arrays[0].phys], (params[0] + 1, params[1] + 1))


def _expand(cls, arrays, params, size):
    target = tuple(params[0])
    if any(s < 0 for s in target):
        return NotImplemented
    return _run(cls, [_align(arrays[0], len(target))], ((size,) + target,))


def _diagonal(cls, arrays, params, size):
    offset, d1, d2 = params
    return _run(cls, [arrays[0].phys], (offset, d1 + 1, d2 + 1))


def _index(cls, arrays, params, size):
    """Basic indexing (ints, slices, None, Ellipsis) keeps the batch dim in front; advanced
    indices would move it, so they loop."""
    key = params[0]
    parts = key if type(key) is tuple else (key,)
    for k in parts:
        if not (k is None or k is Ellipsis or type(k) is slice or
                (isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)))):
            return NotImplemented
    return _run(cls, [arrays[0].phys], ((slice(None),) + parts,) + tuple(params[1:]))


def _join(cls, arrays, params, size):
    """cat/stack: unbatched members are broadcast along the batch."""
    if any(a.shape == (0,) for a in arrays):   # cat's legacy empty tensors: loop
        return NotImplemented
    phys = []
    for a in arrays:
        if type(a) is BatchedArray:
            phys.append(a.phys)
        else:
            xp = _backend.array_namespace(a)
            phys.append(xp.broadcast_to(a[None], (size,) + a.shape))
    return _run(cls, phys, (params[0] + 1,))


def _narrow(cls, arrays, params, size):
    return _run(cls, [arrays[0].phys], (params[0] + 1,) + tuple(params[1:]))


def _split(cls, arrays, params, size):
    return _run(cls, [arrays[0].phys], (params[0], params[1] + 1))


def _float(*arrays):
    return all(getattr(a, "dtype", None) is not None and a.dtype.kind in "fc" for a in arrays)


def _matmul_phys(x, y):
    """x @ y with torch.matmul's rules on logical shapes, for batched and plain operands:
    1-D operands become matrices (and the added dim is dropped), the batch dims of both
    broadcast, the vmap batch dim in front of everything."""
    a, b = x.ndim, y.ndim
    if a == 0 or b == 0:
        return NotImplemented
    squeeze_x, squeeze_y = a == 1, b == 1
    px = x.phys if type(x) is BatchedArray else x
    py = y.phys if type(y) is BatchedArray else y
    if squeeze_x:
        px = px[..., None, :]
        a = 2
    if squeeze_y:
        py = py[..., None]
        b = 2
    lead = max(a, b) - 2
    if type(x) is BatchedArray and a - 2 < lead:
        px = px.reshape(px.shape[:1] + (1,) * (lead - a + 2) + px.shape[1:])
    if type(y) is BatchedArray and b - 2 < lead:
        py = py.reshape(py.shape[:1] + (1,) * (lead - b + 2) + py.shape[1:])
    xp = _backend.array_namespace(px)
    out = xp.matmul(px, py)
    if squeeze_y:
        out = out[..., 0]
    if squeeze_x:
        out = out[..., 0] if squeeze_y else out[..., 0, :]
    return out


def _matmul(cls, arrays, params, size):
    x, y = arrays
    if not _float(x, y) or x.dtype != y.dtype:
        return NotImplemented
    return _matmul_phys(x, y)


def _linear(cls, arrays, params, size):
    """F.linear: x W^T (+ b). A batched input alone goes through the op as is (its leading
    dims are the batch); batched weights (model ensembles) use matmul."""
    if cls.__qualname__ == "LinearBias":
        b, x, w = arrays
    else:
        (x, w), b = arrays, None
    if type(w) is not BatchedArray and type(b) is not BatchedArray:
        return _run(cls, [a.phys if type(a) is BatchedArray else a for a in arrays], params)
    if not _float(x, w) or (b is not None and not _float(b)):
        return NotImplemented
    if type(w) is BatchedArray:
        wt = BatchedArray(_backend.array_namespace(w.phys).swapaxes(w.phys, -1, -2))
    else:
        wt = w.T
    out = _matmul_phys(x, wt)
    if out is NotImplemented or b is None:
        return out
    nd = out.ndim - 1
    return out + _align(b, nd)


def _addmm(cls, arrays, params, size):
    """beta c + alpha (m1 @ m2)."""
    c, m1, m2 = arrays
    beta, alpha = params
    if not _float(c, m1, m2):
        return NotImplemented
    prod = _matmul_phys(m1, m2)
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod   # beta 0 ignores c, NaN and inf included
    cc = _align(c, 2)
    return prod + (cc if beta == 1 else beta * cc)


def _build_rules():
    from .._ops import shape, reduction, joining, conversion, activation, linalg, layers, \
        indexing, cumulative, vector_norms
    rules = {
        shape.View: _view, shape.UnsafeView: _view, shape.UnsafeViewOfClone: _view,
        shape.Permute: _permute, shape.Transpose: _transpose, shape.Expand: _expand,
        shape.Squeeze: _dims_rule(0), shape.Unsqueeze: _dims_rule(0),
        shape.Unbind: _dims_rule(0), shape.Diagonal: _diagonal,
        reduction.Sum: _dims_rule(0), reduction.Nansum: _dims_rule(0),
        reduction.Mean: _dims_rule(0), reduction.Prod: _dims_rule(0),
        reduction.Logsumexp: _dims_rule(0), reduction.VarMean: _dims_rule(0),
        reduction.Aminmax: _dims_rule(0), reduction.SelectAll: _dims_rule(0),
        reduction.SelectDim: _dims_rule(0), vector_norms.VectorNorm: _dims_rule(1),
        activation.Softmax: _dims_rule(0), activation.LogSoftmax: _dims_rule(0),
        cumulative.Cumsum: _dims_rule(0),
        joining.Cat: _join, joining.Stack: _join, joining.Narrow: _narrow,
        joining.Split: _split,
        conversion.ToCopy: _unary_same, conversion.Clone: _unary_same,
        indexing.Index: _index,
        linalg.Mm: _matmul, linalg.Bmm: _matmul, linalg.Mv: _matmul, linalg.Dot: _matmul,
        linalg.Matmul: _matmul, linalg.Addmm: _addmm,
        layers.Linear: _linear, layers.LinearBias: _linear,
    }
    for sub in (shape.SqueezeDim, shape.SqueezeDims, shape.TransposeT, joining.SplitWithSizes):
        rules[sub] = rules[sub.__mro__[1]]
    return rules


RULES = _build_rules()


def _affine_ops():
    from .._ops import layers
    return (layers.Linear, layers.LinearBias)


# F.linear without and with a bias: forward AD on batched duals by _linear_tangent
_AFFINE = _affine_ops()


def _stacked_metadata_ops():
    from .._ops import pointwise
    return frozenset((pointwise.Where,))


def _value_flag_ops():
    from .._ops import cumulative
    return frozenset((cumulative.Cumprod,))


# ops whose node keeps a Python value read from the data (cumprod: whether x has a zero),
# which _plain cannot tell from metadata: recorded by slices
_VALUE_FLAGS = _value_flag_ops()


# ops whose node keeps arrays computed from values (where's condition) and whose backward
# reads them with Tensor ops only: recorded over a batch with those arrays batched (the
# others: one node per slice, _record_by_slices)
_STACKED_METADATA = _stacked_metadata_ops()
