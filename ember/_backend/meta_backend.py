"""The meta backend: arrays with a shape and a dtype but no data ('meta' device).

PyTorch's meta tensors let a program build a model without memory and learn the shapes
and dtypes an op would give. ember keeps its one op layer for them: a meta tensor's data
is a ``MetaArray``, a NumPy array subclass whose every stride is 0, so that all of its
elements are one element of a one-element buffer. Views (reshape, transpose, slicing,
expand, as_strided windows) are then views of that element and cost nothing, and the
op code written for NumPy runs unchanged on it. What would compute on full size is
intercepted through NumPy's override protocols and replaced by shape arithmetic:

- ``__array_ufunc__``: elementwise ufuncs (the broadcast shape; the result dtype from
  the ufunc run on one-element samples, so NumPy's casting rules and errors stay its
  own), their reduce/accumulate/outer, matmul, and in-place ``out=`` writes (no-ops);
- ``__array_function__``: einsum, tensordot, dot, concatenate, stack, where, copyto,
  pad ... by their shape rules; any other NumPy function runs on a plain zero-strided
  stand-in of the inputs (identity matrices for numpy.linalg, which would refuse a
  singular zero matrix) and its result is replaced by a MetaArray of its shape: correct
  shapes and dtypes, but that fallback does allocate and compute the full-size result;
- array methods that compute in C without either protocol (copy, astype, argmax,
  argsort, fill, item assignment ...) are overridden here.

Data-dependent functions (nonzero, unique, equality of whole arrays) raise
NotImplementedError, as PyTorch's meta kernels do; op code's own masked passes
(``out[mask] = f(x[mask])``) select as if every element were chosen. Tests of data in
op code (``if (index < 0).any(): raise``) find nothing: ``bool()`` of a MetaArray is
False, as PyTorch's meta kernels skip those checks. Reading values (item, tolist,
numpy) is refused by the Tensor. The dispatcher (on_meta) raises PyTorch's device error
when a CPU array of one or more dims joins a meta one in an op; 0-dim CPU arrays
(PyTorch's CPU scalar tensors) may join.

Limits: the array's real strides are all 0; the Tensor reports PyTorch's contiguous
strides for every meta tensor (a transposed meta tensor reports contiguous strides and
is_contiguous() True, where PyTorch tracks the permuted strides).
"""
import numpy as np

from . import DEVICE_CHECKS

name = "meta"
# [True] once a meta array exists: only then does the dispatcher look for meta operands
# (a CUDA program that never makes one pays nothing for it)
ACTIVE = [False]
_NO_DATA = "Cannot copy out of meta tensor; no data!"


class StorageElement(np.ndarray):
    """The one-element buffer under a meta array and every view of it. It stands for the
    array's storage: `storage_nbytes` is the storage's size (the array's elements when
    made; resize_ changes it), `storage` the UntypedStorage object once one is asked for
    (ember/storage), shared by all the views as PyTorch's tensors share one."""
    storage_nbytes = 0
    storage = None


def empty(shape, dtype):
    """A MetaArray of `shape` and NumPy `dtype`: all strides 0 over a one-element buffer."""
    shape = tuple(int(n) for n in shape)
    if not ACTIVE[0]:   # from now on the dispatcher looks for meta operands
        ACTIVE[0] = DEVICE_CHECKS[0] = True
    buf = np.ndarray.__new__(StorageElement, (1,), dtype)
    buf.fill(0)
    numel = 1
    for n in shape:
        numel *= n
    buf.storage_nbytes = numel * buf.itemsize
    arr = np.lib.stride_tricks.as_strided(buf, shape, (0,) * len(shape), writeable=True)
    return arr.view(MetaArray)


def like(arr):
    """A MetaArray with the shape and dtype of array (or NumPy scalar) `arr`."""
    return empty(np.shape(arr), np.asarray(arr).dtype if not hasattr(arr, "dtype") else arr.dtype)


def device_error(found, expected):
    return RuntimeError(f"Tensor on device {found} is not on the expected device {expected}!")


def _plain(x):
    """The stand-in of a MetaArray for NumPy code that must run: a plain zero-strided view
    of its one element (which holds 0, or whatever a harmless write left there)."""
    if isinstance(x, MetaArray):
        return x.view(np.ndarray)
    if type(x) is tuple or type(x) is list:
        return type(x)(_plain(v) for v in x)
    return x


def _mask_shape(shape, key):
    """The shape that boolean meta mask `key` (over the leading dims) selects from an array
    of `shape`, every element taken as True; None for any other key."""
    if type(key) is tuple and len(key) == 1:
        key = key[0]
    if not isinstance(key, MetaArray) or key.dtype != bool or key.ndim > len(shape) or \
            tuple(shape[:key.ndim]) != key.shape:
        return None
    return (key.size,) + tuple(shape[key.ndim:])


def _key_standin(key):
    """An index key for a MetaArray's stand-in: a boolean meta mask selects as if every
    element were True (PyTorch's meta kernels assume so too; op code masks with it, while
    the Tensor's own boolean indexing refuses a meta mask through nonzero)."""
    if isinstance(key, MetaArray):
        return np.broadcast_to(np.True_, key.shape) if key.dtype == bool else key.view(np.ndarray)
    if type(key) is tuple:
        return tuple(_key_standin(k) for k in key)
    return key


def _identity_standin(x):
    """A stand-in with identity matrices in its last two dims: numpy.linalg factors it
    (a zero matrix is singular)."""
    if isinstance(x, MetaArray):
        if x.ndim < 2:
            return np.ones(x.shape, x.dtype) if x.size < 4096 else _plain(x)
        eye = np.eye(x.shape[-2], x.shape[-1], dtype=x.dtype)
        return np.broadcast_to(eye, x.shape)
    if type(x) is tuple or type(x) is list:
        return type(x)(_identity_standin(v) for v in x)
    return x


def _wrap(r):
    """A result computed on stand-ins, as MetaArrays of its shapes and dtypes."""
    if isinstance(r, (np.ndarray, np.generic)):
        return empty(r.shape, r.dtype)
    if type(r) is tuple or type(r) is list:
        return type(r)(_wrap(v) for v in r)
    if hasattr(r, "_fields"):   # a named tuple (np.linalg's results)
        return type(r)(*(_wrap(v) for v in r))
    return r


def on_meta(ctx, arrays):
    """The dispatcher's device check for an op with a meta operand: PyTorch's error when an
    array of another device (a CPU one of one or more dims) joins; the op's forward then
    computes with NumPy as on the CPU (MetaArray's protocols keep it free of data), and the
    dispatcher turns what it built from shapes alone into meta arrays (as_meta)."""
    first = None
    for a in _flat(arrays):
        if type(a) is MetaArray:
            kind = "meta"
        elif isinstance(a, np.ndarray):
            if a.ndim == 0:
                continue   # a CPU scalar tensor may join, as in PyTorch
            kind = "cpu"
        elif hasattr(a, "__cuda_array_interface__"):
            kind = f"cuda:{a.device.id}"
        else:
            continue
        if first is None:
            first = kind
        elif kind != first:
            raise device_error(kind, first)
    ctx._on_meta = True
    return arrays


def as_meta(out):
    """An op's output(s) with every array a MetaArray (an op on meta operands may have
    built some from shapes alone, np.full(x.shape, v), which holds data)."""
    if type(out) is MetaArray:
        return out
    if type(out) is tuple or type(out) is list:
        return type(out)(as_meta(o) for o in out)
    if isinstance(out, (np.ndarray, np.generic)):
        return empty(np.shape(out), out.dtype)
    return out


def _flat(args):
    for a in args:
        if type(a) is tuple or type(a) is list:
            yield from _flat(a)
        else:
            yield a


def _sample(x, ndim=0):
    """A one-element sample of operand `x` with `ndim` dims (x itself when it is no array)."""
    if isinstance(x, np.ndarray):
        return np.zeros((1,) * min(ndim, x.ndim), dtype=x.dtype)
    return x


def _not_available(fname):
    return NotImplementedError(
        f"{fname}: attempted to run this operator with Meta tensors, but its result depends on "
        f"the data, which a meta tensor does not have")


def _normalize_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, tuple):
        axis = (axis,)
    return tuple(int(a) + ndim if a < 0 else int(a) for a in axis)


def _out_result(out, shape, fname):
    """Check that a result of `shape` can be written into the out= arrays; return them."""
    outs = out if type(out) is tuple else (out,)
    for o in outs:
        if o is None:
            continue
        if np.broadcast_shapes(tuple(shape), o.shape) != o.shape:
            raise ValueError(f"non-broadcastable output operand with shape {o.shape} doesn't "
                             f"match the broadcast shape {tuple(shape)} ({fname})")
    return outs[0] if len(outs) == 1 else outs


def _matmul_shape(a, b):
    """The shape of a @ b (NumPy's matmul rule, 1-d operands promoted and dropped)."""
    sa, sb = np.shape(a), np.shape(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    a2 = (1,) + sa if len(sa) == 1 else sa
    b2 = sb + (1,) if len(sb) == 1 else sb
    if a2[-1] != b2[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, with "
                         f"gufunc signature (n?,k),(k,m?)->(n?,m?) (size {b2[-2]} is different "
                         f"from {a2[-1]})")
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    shape = batch + (a2[-2], b2[-1])
    if len(sb) == 1:
        shape = shape[:-1]
    if len(sa) == 1:
        shape = shape[:-2] + shape[-1:] if len(sb) > 1 else shape[:-1]
    return shape


class MetaArray(np.ndarray):
    """An array with a shape and a dtype and no data (see the module docstring)."""

    def __array_finalize__(self, obj):
        pass

    # ------------------------------------------------------------------ NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        if method == "at":
            return None   # in-place scatter into data that does not exist
        if method == "__call__":
            where = kwargs.pop("where", True)
            if ufunc is np.matmul:
                shape = _matmul_shape(*inputs)
                samples = [_sample(x, 2) for x in inputs]
            elif ufunc.signature is not None:
                return self._fallback(ufunc, inputs, kwargs, out)
            else:
                shape = np.broadcast_shapes(*(np.shape(x) for x in inputs))
                if where is not True:
                    np.broadcast_shapes(shape, np.shape(where))
                samples = [_sample(x) for x in inputs]
            with np.errstate(all="ignore"):
                r = ufunc(*samples, **kwargs)
            if out is not None:
                return _out_result(out, shape, ufunc.__name__)
            if type(r) is tuple:
                return tuple(empty(shape, v.dtype) for v in r)
            return empty(shape, np.asarray(r).dtype)
        if method in ("reduce", "accumulate"):
            x = inputs[0]
            axis = kwargs.get("axis", 0)
            small = np.zeros(tuple(0 if n == 0 else 1 for n in np.shape(x)), dtype=x.dtype)
            with np.errstate(all="ignore"):
                r = getattr(ufunc, method)(small, **kwargs)   # NumPy's dtype and errors
            if method == "accumulate":
                shape = np.shape(x)
            else:
                axes = _normalize_axes(axis, x.ndim)
                if kwargs.get("keepdims", False):
                    shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
                else:
                    shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
            if out is not None:
                return _out_result(out, shape, ufunc.__name__)
            return empty(shape, np.asarray(r).dtype)
        if method == "outer":
            a, b = inputs
            with np.errstate(all="ignore"):
                r = ufunc(_sample(a), _sample(b), **kwargs)
            shape = np.shape(a) + np.shape(b)
            if out is not None:
                return _out_result(out, shape, ufunc.__name__)
            return empty(shape, np.asarray(r).dtype)
        return self._fallback(getattr(ufunc, method), inputs, kwargs, out)

    @staticmethod
    def _fallback(func, inputs, kwargs, out):
        with np.errstate(all="ignore"):
            r = func(*_plain(inputs), **kwargs)
        if out is not None:
            return _out_result(out, np.shape(r), getattr(func, "__name__", "ufunc"))
        return _wrap(r)

    def __array_function__(self, func, types, args, kwargs):
        rule = _FUNCTIONS.get(func)
        if rule is not None:
            return rule(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name in _DATA_DEPENDENT:
            raise _not_available(f"numpy.{name}")
        module = getattr(func, "__module__", "") or ""
        standin = _identity_standin if module.startswith("numpy.linalg") else _plain
        with np.errstate(all="ignore"):
            r = func(*standin(tuple(args)), **{k: standin(v) for k, v in kwargs.items()})
        return _wrap(r)

    # ------------------------------------------------------------------ methods NumPy runs in C
    def copy(self, order="K"):
        return empty(self.shape, self.dtype)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        dtype = np.dtype(dtype)
        if not copy and dtype == self.dtype:
            return self
        if not np.can_cast(self.dtype, dtype, casting=casting):
            raise TypeError(f"Cannot cast array data from {self.dtype!r} to {dtype!r} according "
                            f"to the rule '{casting}'")
        return empty(self.shape, dtype)

    def fill(self, value):
        return None

    def __setitem__(self, key, value):
        target_shape = _mask_shape(self.shape, key)
        if target_shape is None:
            target_shape = self.view(np.ndarray)[_key_standin(key)].shape
        target = empty(target_shape, self.dtype)
        if np.broadcast_shapes(np.shape(value), np.shape(target)) != np.shape(target):
            raise ValueError(f"could not broadcast input array from shape {np.shape(value)} into "
                             f"shape {np.shape(target)}")

    def __getitem__(self, key):
        shape = _mask_shape(self.shape, key)
        if shape is not None:   # op code's masked pass (x[mask]): no selection to make
            return empty(shape, self.dtype)
        r = self.view(np.ndarray)[_key_standin(key)]
        if isinstance(r, np.ndarray) and r.size > 1 and any(r.strides):
            return empty(r.shape, r.dtype)   # advanced indexing copied: back to no data
        if isinstance(r, np.generic):
            return empty((), r.dtype)
        return r.view(MetaArray)

    def dot(self, b, out=None):
        return _dot(self, b, out)

    def ravel(self, order="C"):
        return self.reshape(-1) if self.size else empty((0,), self.dtype)

    def flatten(self, order="C"):
        return empty((self.size,), self.dtype)

    def take(self, indices, axis=None, out=None, mode="raise"):
        return _wrap(np.take(self.view(np.ndarray), _plain(indices), axis=axis, mode=mode))

    def repeat(self, repeats, axis=None):
        return _wrap(np.repeat(self.view(np.ndarray), _plain(repeats), axis=axis))

    def argmax(self, axis=None, out=None, *, keepdims=False):
        return self._arg_reduce(axis, keepdims)

    def argmin(self, axis=None, out=None, *, keepdims=False):
        return self._arg_reduce(axis, keepdims)

    def _arg_reduce(self, axis, keepdims):
        small = np.zeros(tuple(0 if n == 0 else 1 for n in self.shape), dtype=self.dtype)
        small.argmax(axis=axis, keepdims=keepdims)   # NumPy's errors (an empty dim, a bad axis)
        axes = _normalize_axes(axis, self.ndim)
        if keepdims:
            shape = tuple(1 if i in axes else n for i, n in enumerate(self.shape))
        else:
            shape = tuple(n for i, n in enumerate(self.shape) if i not in axes)
        return empty(shape, np.intp)

    def cumsum(self, axis=None, dtype=None, out=None):
        return np.add.accumulate(self if axis is not None else self.reshape(-1),
                                 axis=axis or 0, dtype=dtype, out=out)

    def cumprod(self, axis=None, dtype=None, out=None):
        return np.multiply.accumulate(self if axis is not None else self.reshape(-1),
                                      axis=axis or 0, dtype=dtype, out=out)

    def argsort(self, axis=-1, kind=None, order=None, **kwargs):
        return empty(self.shape if axis is not None else (self.size,), np.intp)

    def sort(self, axis=-1, kind=None, order=None, **kwargs):
        return None

    def partition(self, kth, axis=-1, kind="introselect", order=None):
        return None

    def argpartition(self, kth, axis=-1, kind="introselect", order=None):
        return empty(self.shape, np.intp)

    def nonzero(self):
        raise _not_available("aten::nonzero")

    def put(self, *args, **kwargs):
        return None

    def item(self, *args):
        raise RuntimeError("Tensor.item() cannot be called on meta tensors")

    def tolist(self):
        raise NotImplementedError(_NO_DATA)

    def tobytes(self, order="C"):
        raise NotImplementedError(_NO_DATA)

    def __bool__(self):
        # op code tests data to raise its errors ("if (index >= n).any(): raise"): with no
        # data there is nothing to find, as PyTorch's meta kernels skip those checks (the
        # Tensor refuses bool() of a meta tensor itself)
        return False

    def __float__(self):
        raise RuntimeError("Tensor.item() cannot be called on meta tensors")

    __int__ = __index__ = __complex__ = __float__

    def __repr__(self):
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"

    __str__ = __repr__

    def __reduce__(self):
        return (empty, (self.shape, self.dtype))

    def __deepcopy__(self, memo):
        return empty(self.shape, self.dtype)

    def __copy__(self):
        return empty(self.shape, self.dtype)


# ---------------------------------------------------------------------- shape rules

def _einsum(subscripts, *operands, out=None, **kwargs):
    """einsum's output shape from its subscripts (explicit '->' or NumPy's implicit
    alphabetical output); ellipses broadcast."""
    if not isinstance(subscripts, str):
        return MetaArray._fallback(np.einsum, (subscripts,) + operands, kwargs, out)
    spec = subscripts.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError("more operands provided to einstein sum function than specified in the "
                         "subscripts string" if len(operands) > len(terms) else
                         "fewer operands provided to einstein sum function than specified in the "
                         "subscripts string")
    sizes, ell = {}, []
    for term, op in zip(terms, operands):
        shape = np.shape(op)
        if "..." in term:
            head, _, tail = term.partition("...")
            n_ell = len(shape) - len(head) - len(tail)
            ell.append(shape[len(head):len(head) + n_ell])
            letters = list(head) + [None] * n_ell + list(tail)
        else:
            letters = list(term)
        if len(letters) != len(shape):
            raise ValueError(f"operand has more dimensions than subscripts given in einstein sum, "
                             f"but no '...' ellipsis provided to broadcast the extra dimensions.")
        for c, n in zip(letters, shape):
            if c is None:
                continue
            if c in sizes and sizes[c] != n and 1 not in (sizes[c], n):
                raise ValueError(f"operands could not be broadcast together with remapped shapes "
                                 f"[original->remapped]: size of label '{c}' is {sizes[c]} and {n}")
            sizes[c] = n if c not in sizes or sizes[c] == 1 else sizes[c]
    ell_shape = np.broadcast_shapes(*ell) if ell else ()
    if not arrow:
        counts = {c: lhs.count(c) for c in sizes}
        rhs = ("..." if ell else "") + "".join(sorted(c for c in sizes if counts[c] == 1))
    head, dots, tail = rhs.partition("...")
    shape = tuple(sizes[c] for c in head) + (ell_shape if dots else ()) + \
        tuple(sizes[c] for c in tail)
    dtype = np.result_type(*(np.asarray(_sample(o)).dtype for o in operands))
    if kwargs.get("dtype") is not None:
        dtype = np.dtype(kwargs["dtype"])
    if out is not None:
        return _out_result(out, shape, "einsum")
    return empty(shape, dtype)


def _tensordot(a, b, axes=2):
    sa, sb = np.shape(a), np.shape(b)
    if isinstance(axes, int):
        ax_a, ax_b = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [x % len(sa) if sa else x for x in ax_a]
    ax_b = [x % len(sb) if sb else x for x in ax_b]
    if len(ax_a) != len(ax_b) or any(sa[i] != sb[j] for i, j in zip(ax_a, ax_b)):
        raise ValueError("shape-mismatch for sum")
    shape = tuple(n for i, n in enumerate(sa) if i not in ax_a) + \
        tuple(n for j, n in enumerate(sb) if j not in ax_b)
    return empty(shape, np.result_type(_sample(a), _sample(b)))


def _dot(a, b, out=None):
    sa, sb = np.shape(a), np.shape(b)
    if not sa or not sb:
        return np.multiply(a, b, out=out)
    if len(sb) <= 2:
        return _out_or(np.matmul(a, b), out)
    if sa[-1] != sb[-2]:
        raise ValueError(f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != "
                         f"{sb[-2]} (dim {len(sb) - 2})")
    return _out_or(empty(sa[:-1] + sb[:-2] + sb[-1:], np.result_type(_sample(a), _sample(b))),
                   out)


def _out_or(r, out):
    return r if out is None else _out_result(out, r.shape, "dot")


def _join(fname):
    def rule(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
        arrays = list(arrays)
        small = [np.zeros(tuple(min(n, 1) for n in np.shape(x)), dtype=np.asarray(_sample(x)).dtype)
                 for x in arrays]
        if fname == "concatenate":
            np.concatenate(small, axis=axis, dtype=dtype, casting=casting)   # NumPy's errors
            if axis is None:
                shape = (sum(np.size(x) for x in arrays),)
            else:
                first = np.shape(arrays[0])
                ax = axis % len(first)
                shape = first[:ax] + (sum(np.shape(x)[ax] for x in arrays),) + first[ax + 1:]
        else:
            shapes = {np.shape(x) for x in arrays}
            if len(shapes) > 1:
                raise ValueError("all input arrays must have the same shape")
            first = np.shape(arrays[0])
            ax = axis % (len(first) + 1)
            shape = first[:ax] + (len(arrays),) + first[ax:]
        dt = np.dtype(dtype) if dtype is not None else \
            np.result_type(*(np.asarray(_sample(x)).dtype for x in arrays))
        if out is not None:
            return _out_result(out, shape, fname)
        return empty(shape, dt)
    return rule


def _where(condition, *xy):
    if not xy:
        raise _not_available("aten::nonzero (where with one argument)")
    x, y = xy
    shape = np.broadcast_shapes(np.shape(condition), np.shape(x), np.shape(y))
    return empty(shape, np.where(True, _sample(x), _sample(y)).dtype)


def _copyto(dst, src, casting="same_kind", where=True):
    np.broadcast_shapes(np.shape(src), np.shape(dst))
    if isinstance(dst, np.ndarray) and not isinstance(dst, MetaArray):
        raise NotImplementedError(_NO_DATA)


def _like_array(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
    """np.empty_like / zeros_like / ones_like / full_like of a meta array: its shape."""
    return empty(np.shape(a) if shape is None else shape, dtype or a.dtype)


def _copy(a, order="K", subok=False):
    return empty(np.shape(a), a.dtype)


def _broadcast_to(array, shape, subok=False):
    return np.broadcast_to(array.view(np.ndarray), shape).view(MetaArray)


def _pad(array, pad_width, mode="constant", **kwargs):
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (array.ndim, 2))
    shape = tuple(int(n + lo + hi) for n, (lo, hi) in zip(array.shape, widths))
    return empty(shape, array.dtype)


def _method(name):
    """np.<name>(a, ...) as a's own method: NumPy's reductions run through ufunc.reduce,
    which MetaArray answers with shapes."""
    def rule(a, *args, **kwargs):
        if not isinstance(a, MetaArray):
            return _wrap(getattr(np, name)(_plain(a), *args, **kwargs))
        return getattr(a, name)(*args, **kwargs)
    return rule


def _take_along_axis(arr, indices, axis=-1):
    if axis is None:
        return empty(np.shape(indices), arr.dtype)
    shape = list(arr.shape)
    shape[axis] = np.shape(indices)[axis]
    return empty(np.broadcast_shapes(tuple(shape), np.shape(indices)), arr.dtype)


def _raise_no_data(*args, **kwargs):
    raise NotImplementedError(_NO_DATA)


_FUNCTIONS = {
    np.einsum: _einsum, np.tensordot: _tensordot, np.dot: _dot,
    np.concatenate: _join("concatenate"), np.stack: _join("stack"),
    np.where: _where, np.copyto: _copyto, np.copy: _copy, np.pad: _pad,
    np.empty_like: _like_array, np.zeros_like: _like_array, np.ones_like: _like_array,
    np.full_like: lambda a, fill_value, **kwargs: _like_array(a, **kwargs),
    np.broadcast_to: _broadcast_to, np.array_equal: _raise_no_data,
    np.allclose: _raise_no_data, np.array_equiv: _raise_no_data,
    np.take_along_axis: _take_along_axis,
}
for _name in ("sum", "prod", "max", "min", "mean", "std", "var", "all", "any", "cumsum",
              "cumprod", "argmax", "argmin"):
    _FUNCTIONS[getattr(np, _name)] = _method(_name)
_FUNCTIONS[np.amax], _FUNCTIONS[np.amin] = _method("max"), _method("min")
_DATA_DEPENDENT = frozenset(("nonzero", "flatnonzero", "argwhere", "unique", "unique_all",
                             "unique_counts", "unique_inverse", "unique_values", "bincount",
                             "histogram", "compress", "extract"))


# ---------------------------------------------------------------------- the backend namespace

class _Namespace:
    """NumPy as op code sees it on the meta device (``ctx.xp``): every function is
    NumPy's (MetaArray's protocols keep them free of data) except array creation from
    shapes and values, which makes meta arrays."""

    ndarray = np.ndarray

    def __getattr__(self, attr):
        value = getattr(np, attr)
        setattr(self, attr, value)   # found once
        return value

    @staticmethod
    def empty(shape, dtype=float, order="C", **kwargs):
        return empty(np.atleast_1d(shape).tolist() if np.ndim(shape) else (shape,), dtype)

    zeros = ones = empty

    @staticmethod
    def full(shape, fill_value, dtype=None, order="C", **kwargs):
        dtype = np.asarray(_sample(fill_value)).dtype if dtype is None else dtype
        return empty(np.atleast_1d(shape).tolist() if np.ndim(shape) else (shape,), dtype)

    @staticmethod
    def asarray(a, dtype=None, **kwargs):
        if isinstance(a, MetaArray):
            return a if dtype is None else a.astype(dtype, copy=False)
        return like(np.asarray(a, dtype=dtype))

    @staticmethod
    def array(a, dtype=None, copy=True, **kwargs):
        if isinstance(a, MetaArray):
            return a.astype(a.dtype if dtype is None else dtype)
        return like(np.asarray(a, dtype=dtype))

    ascontiguousarray = asfortranarray = asarray

    @staticmethod
    def arange(*args, **kwargs):
        return like(np.arange(*args, **kwargs))

    @staticmethod
    def eye(*args, **kwargs):
        return like(np.eye(*args, **kwargs))

    @staticmethod
    def linspace(*args, **kwargs):
        return like(np.linspace(*args, **kwargs))


xp = _Namespace()


def asnumpy(a):
    raise NotImplementedError(_NO_DATA)


def from_numpy(a, index=None):
    """A meta array with the shape and dtype of NumPy array `a` (its values are dropped)."""
    return empty(np.shape(a), a.dtype)
