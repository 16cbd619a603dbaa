"""The fast path of the _foreach_* ops (ember/_ops/foreach.py): one NumPy call or two per
tensor on the raw arrays, in place where the op is in place, with no Tensor built and no
node recorded.

It applies where nothing but the values can be observed: CPU (NumPy) float32 or float64
tensors of one dtype (CUDA ones of one device for binary, lerp, norm, zero_ and copy_,
computed with CuPy's ufuncs: the single-tensor CUDA ops' values), the operands of the same shape as the tensors they pair with, plain
Python numbers (finite, not bool), no gradient to record (grad mode off or no tensor
requiring grad, and no written tensor that autograd's in-place checks would refuse), and no
__torch_function__/__torch_dispatch__ protocol or forward-mode AD live. Anything else
returns None and the op runs per element through the single-tensor ops, which raise the
errors and record the graphs.

The values are those of the single-tensor ops, which are PyTorch's CPU kernels' bit for
bit where those round once: add/sub with alpha, lerp with a number weight and addcmul are
a fused multiply-add (fma_arrays.axpy_, lerp_: OpenBLAS's axpy or its exact emulation;
pointwise_more._addcmul_array), addcdiv is (value * t1) / t2 then the sum, the scalar of
add/mul/div (or the number a 0-dim tensor operand holds) is first cast to the tensor's
dtype, clamp/maximum/minimum keep x where x and o tie (torch's sign of zero). Unary ops
and pow with numbers run the forward of the single-tensor op's node on the array;
_foreach_norm the forward of linalg.vector_norm's.
"""
import math
import threading

import numpy as np

from .. import _torch_function
from .._backend import array_namespace
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.forward_ad import ACTIVE as _DUAL
from . import _base
from .fma_arrays import _fma32, axpy_, axpy_list_, lerp_, lerp_list_
from .pointwise import Unary
from .pointwise_more import _addcmul_array

__all__ = ["plain_dtype", "binary", "ternary", "lerp", "unary", "norm", "zero", "copy",
           "pow_scalar"]

_ndarray = np.ndarray
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_F32_MAX = float(np.finfo(np.float32).max)
_make = Tensor._make
_LOCAL = threading.local()
_KEEP = 1 << 20      # values: a larger scratch array is allocated per call, not kept


def _scratch(shape, dt, n):
    """An array of `shape` (n values) and dtype dt with undefined contents, a view of a
    buffer this thread keeps between calls (its pages stay mapped: a fresh array of
    100K values costs its page faults at every call)."""
    if n > _KEEP:
        return np.empty(shape, dt)
    bufs = getattr(_LOCAL, "bufs", None)
    if bufs is None:
        bufs = _LOCAL.bufs = {}
    buf = bufs.get(dt)
    if buf is None or buf.size < n:
        buf = bufs[dt] = np.empty(max(n, 1024), dt)
    return buf[:n].reshape(shape)


def plain_dtype(lists, written=(), cupy=False):
    """The dtype (float32 or float64) of every tensor in the lists of `lists` when the fast
    path may take them, else None. `written`: the tensors an in-place op writes. `cupy`:
    CuPy arrays are taken too, all of one device (the caller then computes with `_xp`)."""
    if _base._DISPATCH[0] is not None or _DUAL[0]:
        return None
    tf = _torch_function.ACTIVE[0]
    if tf and _torch_function._MODES_LIVE[0]:
        return None
    grad = grad_mode.GRAD_ENABLED[0]
    dt = None
    kind = _ndarray
    if cupy and lists and lists[0]:
        kind = type(lists[0][0]._data)
        if kind is not _ndarray and not _cupy_array(lists[0][0]._data, lists):
            return None
    for ts in lists:
        for t in ts:
            a = t._data
            if type(a) is not kind or (grad and t._requires_grad):
                return None
            if tf and type(t) is not Tensor and _torch_function._takes_part(type(t)):
                return None
            if dt is None:
                dt = a.dtype
                if dt != _F32 and dt != _F64:
                    return None
            elif a.dtype != dt:
                return None
    for t in written:
        a = t._data
        if t._inference or not getattr(a.flags, "writeable", True) or \
                (0 in a.strides and _expanded(a)):
            return None     # (the per-element path raises)
        if grad and (t._creation_meta is not None or
                     (t._base is not None and t._base._requires_grad)):
            return None
    return dt


def _cupy_array(a, lists):
    """Whether `a` is a CuPy array and every array of `lists` lies on its device."""
    if not type(a).__module__.startswith("cupy"):
        return False
    device = a.device
    for ts in lists:
        for t in ts:
            d = t._data
            if type(d) is not type(a) or d.device != device:
                return False
    return True


def _xp(a):
    """The array module of a fast-path array (NumPy, or CuPy where plain_dtype took it)."""
    return np if type(a) is _ndarray else array_namespace(a)


def _expanded(a):
    """Whether two elements of `a` share memory (a dim of size > 1 with stride 0)."""
    return any(n > 1 and st == 0 for n, st in zip(a.shape, a.strides))


def _number(s, dt):
    """`s` as a NumPy scalar of dt when it is a plain finite Python number that fits dt,
    else None."""
    tp = type(s)
    if tp is float:
        if not (-_F32_MAX <= s <= _F32_MAX) and (dt == _F32 or not math.isfinite(s)):
            return None
    elif tp is not int or not -(1 << 53) <= s <= (1 << 53):
        return None
    return dt.type(s)


def _numbers(values, dt):
    """_number of each value (a repeated value converted once), None if one is refused."""
    out, last, v = [], None, None
    for s in values:
        if s is not last or v is None:
            v, last = _number(s, dt), s
            if v is None:
                return None
        out.append(v)
    return out


def _same_shapes(tensors, others):
    for t, o in zip(tensors, others):
        if o._data.shape != t._data.shape:
            return False
    return True


def _contiguous(tensors):
    for t in tensors:
        if not t._data.flags.c_contiguous:
            return False
    return True


def _disjoint(x, y):
    """Whether writing x cannot change y mid-way (y is x, or their memory is apart)."""
    return y is x or (x.base is None and y.base is None) or not np.may_share_memory(x, y)


# ---------------------------------------------------------------------------- small tensors

# A list of many small tensors costs a few NumPy calls per tensor in Python overhead: the
# in-place updates that take several passes (addcmul, lerp, add with alpha) run instead on
# the concatenation of a run of consecutive tensors of at most _GROUP values in all, then
# write each tensor's part back (one call per tensor). Elementwise, so the values are the
# same as tensor by tensor.
_GROUP = 1 << 15
_MIN_RUN = 3


def _groupable(tensors, operand_lists):
    """Whether the written tensors' arrays own their memory and are distinct, and no
    operand is one of them or a view (so reading all operands first, as a concatenation
    does, reads what one tensor after another would)."""
    written = set()
    for t in tensors:
        a = t._data
        if a.base is not None or id(a) in written:
            return False
        written.add(id(a))
    for ts in operand_lists:
        for t in ts:
            a = t._data
            if a.base is not None or id(a) in written:
                return False
    return True


def _runs(tensors):
    """(lo, hi, grouped) over the list: runs of at least _MIN_RUN consecutive tensors of at
    most _GROUP values in all (grouped), and the tensors between them (one by one)."""
    out, lo, total, n = [], 0, 0, len(tensors)
    i = 0
    while i < n:
        size = tensors[i]._data.size
        if size <= _GROUP and total + size <= _GROUP:
            total += size
            i += 1
            continue
        if i - lo >= _MIN_RUN:
            out.append((lo, i, True))
        else:
            out.extend((k, k + 1, False) for k in range(lo, i))
        if size > _GROUP:
            out.append((i, i + 1, False))
            i += 1
        lo, total = i, 0
    if n - lo >= _MIN_RUN:
        out.append((lo, n, True))
    else:
        out.extend((k, k + 1, False) for k in range(lo, n))
    return out


def _flat(tensors, dtype=None):
    return np.concatenate([t._data for t in tensors], axis=None, dtype=dtype)


def _write_back(tensors, flat):
    """Each tensor's part of `flat` (their concatenation) into its array; versions bumped."""
    o = 0
    for t in tensors:
        x = t._data
        n = x.size
        x[...] = flat[o:o + n].reshape(x.shape) if x.ndim != 1 else flat[o:o + n]
        o += n
        t._bump_version()


_UFUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}


def binary(op, kind, inplace, tensors, operands, alpha):
    """op(x, o) (add, sub, mul, div) for each x and its operand o in `operands` (numbers
    for the Scalar and ScalarList overloads, tensors for List; x + alpha * o for add and
    sub): True in place, the tuple of results out of place; None where the fast path does
    not apply."""
    if op in _EXTREMA:
        return _extrema(op, kind, inplace, tensors, operands) if alpha is None else None
    ufunc = _UFUNCS.get(op)
    if kind == "Tensor" and alpha is None:
        operands = _tensor_as_numbers(operands)
        kind = "Scalar"
    if ufunc is None or kind == "Tensor" or operands is None or \
            len(operands) != len(tensors):
        return None
    if kind == "List":
        if not _same_shapes(tensors, operands):
            return None
        dt = plain_dtype((tensors, operands), tensors if inplace else (), cupy=True)
    else:
        dt = plain_dtype((tensors,), tensors if inplace else (), cupy=True)
    if dt is None or (not inplace and not _contiguous(tensors)):
        return None
    if tensors and type(tensors[0]._data) is not _ndarray:
        return _binary_xp(ufunc, _xp(tensors[0]._data), kind, inplace, tensors, operands,
                          alpha, op, dt)
    if kind == "List":
        arrays = [o._data for o in operands]
        if alpha is not None and alpha != 1:
            if op not in ("add", "sub") or _number(alpha, dt) is None:
                return None
            return _axpys(tensors, arrays, alpha if op == "add" else -alpha, inplace,
                          operands)
    else:
        arrays = _numbers(operands, dt)
        if arrays is None:
            return None
    with np.errstate(all="ignore"):
        if not inplace:
            return tuple(_make(ufunc(t._data, o, out=np.empty(t._data.shape, dt)))
                         for t, o in zip(tensors, arrays))
        for t, o in zip(tensors, arrays):
            x = t._data
            ufunc(x, o, out=x)
            t._bump_version()
    return True


def _tensor_as_numbers(operands):
    """The .Tensor overload's one 0-dim tensor (operands: it repeated) as the number it
    holds, which torch's kernels read as they read a Scalar (cast to the list's dtype);
    None where it is not a plain real NumPy 0-dim tensor or records a graph."""
    if not operands:
        return operands
    o = operands[0]
    if not isinstance(o, Tensor) or type(o._data) is not _ndarray or o._data.ndim != 0 or \
            o._data.dtype.kind not in "fi" or \
            (o._requires_grad and grad_mode.GRAD_ENABLED[0]):
        return None
    return [o._data.item()] * len(operands)


# the comparisons: torch's result is x where x and o tie (its sign of zero) and NaN where
# either is NaN; NumPy's maximum/minimum may give o's zero, so o is copied in only where
# it wins (or is NaN)
_EXTREMA = {"clamp_min": np.greater, "maximum": np.greater,
            "clamp_max": np.less, "minimum": np.less}


def _extrema(op, kind, inplace, tensors, operands):
    """clamp_min/clamp_max/maximum/minimum of each tensor with its operand (a number, one
    per tensor, or a tensor of its shape), NumPy arrays only; None where the fast path does
    not apply."""
    if kind == "Tensor" or len(operands) != len(tensors):
        return None
    if kind == "List":
        if not _same_shapes(tensors, operands):
            return None
        dt = plain_dtype((tensors, operands), tensors if inplace else ())
    else:
        dt = plain_dtype((tensors,), tensors if inplace else ())
    if dt is None or (not inplace and not _contiguous(tensors)):
        return None
    if kind == "List":
        arrays = [o._data for o in operands]
    else:
        arrays = _numbers(operands, dt)
        if arrays is None:
            return None
    wins, out = _EXTREMA[op], []
    with np.errstate(all="ignore"):
        for t, o in zip(tensors, arrays):
            x = t._data
            if type(o) is _ndarray and o is not x and np.may_share_memory(x, o):
                o = o.copy()
            mask = wins(o, x)
            if type(o) is _ndarray:
                mask |= np.isnan(o)
            y = x if inplace else x.copy()
            np.copyto(y, o, where=mask)
            if inplace:
                t._bump_version()
            else:
                out.append(_make(y))
    return True if inplace else tuple(out)


def zero(tensors):
    """x.zero_() for each float32/float64 tensor (NumPy or CuPy): True; None where the fast
    path does not apply."""
    if plain_dtype((tensors,), tensors, cupy=True) is None:
        return None
    for t in tensors:
        t._data.fill(0)
        t._bump_version()
    return True


def copy(tensors, sources):
    """x.copy_(s) for each pair of one float dtype, shape and device (NumPy or CuPy): True;
    None where the fast path does not apply (a cast, a broadcast, another device)."""
    if len(sources) != len(tensors) or not _same_shapes(tensors, sources):
        return None
    if plain_dtype((tensors, sources), tensors, cupy=True) is None:
        return None
    if not tensors:
        return True
    copyto = _xp(tensors[0]._data).copyto     # (overlapping memory: copied through a buffer)
    for t, s in zip(tensors, sources):
        copyto(t._data, s._data)
        t._bump_version()
    return True


def _binary_xp(ufunc, xp, kind, inplace, tensors, operands, alpha, op, dt):
    """binary's loop on CuPy arrays (its module `xp`): the ufunc of each pair, in place or
    into a new array; add/sub with alpha as x + alpha * y (CuPy has no fused form: the
    single-tensor ops' values)."""
    ufunc = getattr(xp, ufunc.__name__)
    if kind == "List":
        arrays = [o._data for o in operands]
        if alpha is not None and alpha != 1:
            a = _number(alpha, dt)
            if op not in ("add", "sub") or a is None:
                return None
            arrays = [y * (a if op == "add" else -a) for y in arrays]
            ufunc = xp.add
    else:
        arrays = _numbers(operands, dt)
        if arrays is None:
            return None
    if not inplace:
        return tuple(_make(ufunc(t._data, o, out=xp.empty(t._data.shape, dt)))
                     for t, o in zip(tensors, arrays))
    for t, o in zip(tensors, arrays):
        x = t._data
        if type(o) is type(x) and o is not x and xp.may_share_memory(x, o):
            o = o.copy()
        ufunc(x, o, out=x)
        t._bump_version()
    return True


def _axpys(tensors, arrays, alpha, inplace, operands=None):
    """x + alpha * y for each pair, the multiply-add rounded once."""
    if inplace:
        xs = _direct(tensors, arrays)
        if xs is not None and axpy_list_(xs, alpha, arrays):
            for t in tensors:
                t._bump_version()
            return True
    if inplace and len(tensors) >= _MIN_RUN and _groupable(tensors, (operands,)):
        with np.errstate(all="ignore"):
            for lo, hi, grouped in _runs(tensors):
                if grouped:
                    ts = tensors[lo:hi]
                    flat = _flat(ts)
                    axpy_(flat, alpha, _flat(operands[lo:hi]))
                    _write_back(ts, flat)
                else:
                    t = tensors[lo]
                    axpy_(t._data, alpha, arrays[lo])
                    t._bump_version()
        return True
    out = []
    with np.errstate(all="ignore"):
        for t, y in zip(tensors, arrays):
            x = t._data
            if not inplace:
                out.append(_make(axpy_(x.copy(), alpha, y)))
                continue
            axpy_(x, alpha, y if _disjoint(x, y) else y.copy())
            t._bump_version()
    return True if inplace else tuple(out)


def _direct(tensors, arrays):
    """The tensors' arrays when axpy_list_ may update them in place with `arrays` (the
    operands, of the same shapes): all C-contiguous, each operand the array itself or apart
    from it; else None."""
    xs = []
    for t, y in zip(tensors, arrays):
        x = t._data
        if not (x.flags.c_contiguous and y.flags.c_contiguous):
            return None
        if y is not x and (x.base is not None or y.base is not None) and \
                np.may_share_memory(x, y):
            return None
        xs.append(x)
    return xs


def ternary(op, inplace, tensors, tensor1, tensor2, values):
    """addcmul/addcdiv, x + v * t1 * t2 or x + (v * t1) / t2 for each element with the
    numbers `values` (one per tensor): True in place, the tuple of results out of place;
    None where the fast path does not apply."""
    n = len(tensors)
    if len(tensor1) != n or len(tensor2) != n or len(values) != n or \
            not _same_shapes(tensors, tensor1) or not _same_shapes(tensors, tensor2):
        return None
    dt = plain_dtype((tensors, tensor1, tensor2), tensors if inplace else ())
    if dt is None or (not inplace and not _contiguous(tensors)):
        return None
    scalars = _numbers(values, dt)
    if scalars is None:
        return None
    with np.errstate(all="ignore"):
        if op == "addcmul" and dt == _F32 and inplace and len(tensors) >= _MIN_RUN and \
                _groupable(tensors, (tensor1, tensor2)):
            for lo, hi, grouped in _runs(tensors):
                if grouped:
                    _addcmul32_run(tensors[lo:hi], tensor1[lo:hi], tensor2[lo:hi],
                                   scalars[lo:hi])
                else:
                    _ternary(op, True, tensors[lo:hi], tensor1[lo:hi], tensor2[lo:hi],
                             values[lo:hi], scalars[lo:hi], dt)
            return True
        return _ternary(op, inplace, tensors, tensor1, tensor2, values, scalars, dt)


def _addcmul32_run(tensors, tensor1, tensor2, scalars):
    """x + (v * t1) * t2 over a run of float32 tensors concatenated: v * t1 rounded to
    float32, then the multiply-add in float64 (the product exact) rounded once."""
    p = _flat(tensor1)
    if all(s == scalars[0] for s in scalars):
        np.multiply(p, scalars[0], out=p)
    else:
        o = 0
        for t, s in zip(tensor1, scalars):
            n = t._data.size
            np.multiply(p[o:o + n], s, out=p[o:o + n])
            o += n
    u = p.astype(_F64)
    u *= _flat(tensor2, _F64)
    u += _flat(tensors, _F64)
    _write_back(tensors, u)


def _ternary(op, inplace, tensors, tensor1, tensor2, values, scalars, dt):
    out = []
    for t, a, b, v, s in zip(tensors, tensor1, tensor2, values, scalars):
        x = t._data
        if op == "addcmul":
            if dt == _F32:   # (value * t1 rounded, then the multiply-add rounded once)
                y = x if inplace else x.copy()
                _fma32(y, np.multiply(a._data, s), b._data)
                if inplace:
                    t._bump_version()
                else:
                    out.append(_make(y))
                continue
            r = np.asarray(_addcmul_array(x, a._data, b._data, v))
        else:
            r = np.multiply(a._data, s, out=np.empty(x.shape, dt))
            np.true_divide(r, b._data, out=r)
            if inplace:
                np.add(x, r, out=x)
                t._bump_version()
                continue
            np.add(x, r, out=r)
        if inplace:
            np.copyto(x, r)
            t._bump_version()
        else:
            out.append(_make(r))
    return True if inplace else tuple(out)


def lerp(inplace, tensors, ends, weights):
    """x + w (y - x) for each element with the numbers `weights` (one per tensor): True in
    place, the tuple of results out of place; None where the fast path does not apply."""
    n = len(tensors)
    if len(ends) != n or len(weights) != n or not _same_shapes(tensors, ends):
        return None
    dt = plain_dtype((tensors, ends), tensors if inplace else (), cupy=True)
    if dt is None or (not inplace and not _contiguous(tensors)) or \
            _numbers(weights, dt) is None:
        return None
    out = []
    if tensors and type(tensors[0]._data) is not _ndarray:
        # CuPy: lerp_'s formula per tensor (its plain form there, the single-tensor op's)
        for t, e, w in zip(tensors, ends, weights):
            x = t._data if inplace else t._data.copy()
            y = e._data
            lerp_(x, y.copy() if y is not x and _xp(x).may_share_memory(x, y) else y,
                  float(w))
            if inplace:
                t._bump_version()
            else:
                out.append(_make(x))
        return True if inplace else tuple(out)
    with np.errstate(all="ignore"):
        if inplace and all(w == weights[0] for w in weights):
            xs = _direct(tensors, [e._data for e in ends])
            if xs is not None and lerp_list_(xs, [e._data for e in ends], weights[0]):
                for t in tensors:
                    t._bump_version()
                return True
        if inplace and len(tensors) >= _MIN_RUN and _groupable(tensors, (ends,)) and \
                all(w == weights[0] for w in weights):
            w = float(weights[0])
            for lo, hi, grouped in _runs(tensors):
                if grouped:
                    ts = tensors[lo:hi]
                    flat = _flat(ts)
                    lerp_(flat, _flat(ends[lo:hi]), w)
                    _write_back(ts, flat)
                else:
                    x = tensors[lo]._data
                    lerp_(x, ends[lo]._data, w, _scratch(x.shape, dt, x.size))
                    tensors[lo]._bump_version()
            return True
        for t, e, w in zip(tensors, ends, weights):
            x = t._data if inplace else t._data.copy()
            lerp_(x, e._data, float(w), _scratch(x.shape, dt, x.size))
            if inplace:
                t._bump_version()
            else:
                out.append(_make(x))
    return True if inplace else tuple(out)


class _Ctx:
    """What a node's forward reads and writes on its ctx, for a forward run alone."""
    xp = np


def unary(fn, inplace, tensors):
    """fn (a public unary op whose node is a pointwise table row) of each tensor, by its
    node's forward: True in place, the tuple of results out of place; None where the fast
    path does not apply."""
    node = getattr(fn, "node", None)
    while node is None and hasattr(fn, "__wrapped__"):   # (a front or dispatcher over it)
        fn = fn.__wrapped__
        node = getattr(fn, "node", None)
    if not (isinstance(node, type) and issubclass(node, Unary)):
        return None
    dt = plain_dtype((tensors,), tensors if inplace else ())
    if dt is None:
        return None
    forward, ctx, out = node.forward, _Ctx(), []
    for t in tensors:
        r = forward(ctx, t._data)
        if type(r) is not _ndarray:    # (a 0-dim input's NumPy scalar)
            r = np.asarray(r)
        if type(r) is not _ndarray or r.dtype != dt or r.shape != t._data.shape:
            return None if not out and not inplace else _unexpected(fn)
        if inplace:
            np.copyto(t._data, r)
            t._bump_version()
        else:
            out.append(_make(r))
    return True if inplace else tuple(out)


def pow_scalar(inplace, tensors, exponents):
    """x ** e for each tensor and its number e (the Scalar and ScalarList overloads), by
    Pow's forward (torch's special cases of 2, 3, -2, 0.5 ...; e == 1 a copy, as pow()):
    True in place, the tuple of results out of place; None where the fast path does not
    apply."""
    if len(exponents) != len(tensors):
        return None
    dt = plain_dtype((tensors,), tensors if inplace else ())
    if dt is None or _numbers(exponents, dt) is None:
        return None
    from .pointwise import Pow
    forward, out = Pow.forward, []
    for t, e in zip(tensors, exponents):
        x = t._data
        r = x.copy() if e == 1 else forward(_Ctx(), x, e, False)
        if type(r) is not _ndarray:    # (a 0-dim input's NumPy scalar)
            r = np.asarray(r)
        if r.dtype != dt or r.shape != x.shape:     # (nothing written before the first)
            return None if t is tensors[0] else _unexpected(Pow)
        if inplace:
            np.copyto(x, r)
            t._bump_version()
        else:
            out.append(_make(r))
    return True if inplace else tuple(out)


def _unexpected(fn):
    raise AssertionError(f"_foreach fast path: {fn.__name__}'s forward changed the dtype or "
                         f"shape of a float tensor")


_NORM = []


def norm(tensors, ord, dtype):
    """linalg.vector_norm(x, ord) of each tensor (ord a finite number > 0 or inf, no dtype)
    by its node's forward, as 0-dim tensors; None where the fast path does not apply."""
    if dtype is not None or type(ord) not in (int, float) or not ord > 0:
        return None
    dt = plain_dtype((tensors,), cupy=True)
    if dt is None:
        return None
    if not _NORM:
        import ember   # (the node of the function linalg.vector_norm, wherever it lives)
        fn = ember.linalg.vector_norm
        while hasattr(fn, "__wrapped__"):
            fn = fn.__wrapped__
        _NORM.append(getattr(fn, "__globals__", {}).get("VectorNorm"))
    if _NORM[0] is None:
        return None
    forward, ord, out = _NORM[0].forward, float(ord), []
    for t in tensors:
        x = t._data
        if ord == math.inf and x.size == 0:
            return None
        dims = tuple(range(x.ndim))
        if type(x) is not _ndarray:
            ctx = _Ctx()
            ctx.xp = _xp(x)
            out.append(_make(forward(ctx, x, ord, dims, False)))
        elif ord == 2.0 and x.flags.c_contiguous:
            # (the forward's sqrt(sum(|x| * |x|)): the squares into scratch, no |x|)
            sq = np.multiply(x, x, out=_scratch(x.shape, dt, x.size))
            # (np.sum's own reduction, add.reduce, without its Python wrapper)
            out.append(_make(np.asarray(np.sqrt(np.add.reduce(sq, axis=dims)), dt)))
        else:
            out.append(_make(forward(_Ctx(), x, ord, dims, False)))
    return tuple(out)
