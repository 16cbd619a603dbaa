"""Tensor creation: tensor, as_tensor, from_numpy, zeros/ones/full/empty, ranges, eye,
the *_like forms, and random sampling."""
import builtins
import math
import numbers
import warnings

import numpy as np

from .._backend import as_array, like
from .. import _dtype
from .._device import as_device, factory_device, CPU
from .. import _sampling
from .._random import gen_of
from .._tensor import Tensor, Size
from ..autograd import grad_mode
from ._base import Op, apply
from ._layout import like_layout, _dim_order
from ._out_overlap import refuses_out_overlap
from ._util import dtype_name, c_type_name
from .conversion import commit_inplace

_FROM_NP = _dtype._FROM_NP

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty",
           "eye", "arange", "range", "linspace", "logspace", "zeros_like", "ones_like",
           "full_like", "empty_like", "rand", "randn", "randint", "randperm", "rand_like",
           "randn_like", "randint_like", "normal", "bernoulli", "multinomial", "poisson",
           "empty_strided", "scalar_tensor", "frombuffer"]


def _to_device(arr, device):
    dev = factory_device(device)
    if dev.type == "cpu":
        return arr
    from .._backend import cuda_backend, meta_backend
    if dev.type == "meta":
        return meta_backend.from_numpy(arr)
    return cuda_backend().from_numpy(arr, dev.index)


def _finish(arr, dtype, device, requires_grad, out=None):
    """Wrap a freshly computed NumPy array (already of `dtype`) as the op's result."""
    t = Tensor._make(_to_device(arr, device))
    if requires_grad:
        t.requires_grad = True
    if out is not None:
        return _write_out(out, t)
    return t


def _write_out(out, result):
    """Store `result` in the `out=` tensor, resizing it as PyTorch does."""
    if not isinstance(out, Tensor):
        raise TypeError(f"argument 'out' must be Tensor, not {type(out).__name__}")
    arr = result._data
    if arr.dtype != out._data.dtype:
        arr = arr.astype(out._data.dtype)
    if out._data.shape == arr.shape:
        out._data[...] = arr
    else:
        out._data = arr.copy()
    out._bump_version()
    return out


def _dtype_arg(dtype, fname, default=None):
    """An ember dtype from a `dtype=` argument (ember dtype or Python type), or `default`."""
    if dtype is None:
        return default
    if isinstance(dtype, _dtype.dtype):
        if not _dtype.NARROW_SEEN[0]:
            _dtype.note_narrow(dtype.np)
        return dtype
    py = _dtype.from_python_type(dtype)
    if py is None:
        raise TypeError(f"{fname}(): argument 'dtype' must be ember.dtype, not "
                        f"{type(dtype).__name__}")
    return py


# ---------------------------------------------------------------------------- tensor()

_SEQUENCES = (list, tuple, builtins.range)


def _leaf_dtype(x):
    """The dtype PyTorch infers for one scalar element of tensor() data."""
    t = type(x)
    if t is builtins.float:
        return _dtype.get_default_dtype()
    if t is builtins.int:
        return _dtype.int64
    if t is builtins.bool:
        return _dtype.bool
    if isinstance(x, Tensor):
        if x._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return x.dtype
    if isinstance(x, (np.generic, np.ndarray)):
        return _dtype.from_numpy_dtype(x.dtype)
    if isinstance(x, builtins.complex):
        return _dtype.default_complex_dtype()
    if isinstance(x, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{t.__name__}'")
    if isinstance(x, numbers.Integral):
        return _dtype.int64
    if isinstance(x, numbers.Real):
        return _dtype.get_default_dtype()
    raise RuntimeError(f"Could not infer dtype of {t.__name__}")


_PY_TYPE_DTYPE = {builtins.bool: "bool", builtins.int: "int64", builtins.float: None}


def _scan(seq, level, shape, state):
    """Check that nested sequence `seq` is rectangular; return its elements' promoted dtype.

    shape collects the length seen at each level; state[0] is the level where scalars
    live (None until the first scalar is seen), state[1] whether a leaf needs converting
    (tensors, numpy scalars) before NumPy can read the data.
    """
    n = len(seq)
    if level == len(shape):
        shape.append(n)
    elif shape[level] != n:
        raise ValueError(f"expected sequence of length {shape[level]} at dim {level} (got {n})")
    kinds = set(map(type, seq))
    if kinds and kinds <= {builtins.bool, builtins.int, builtins.float}:
        # the common case, a flat list of Python numbers: no per-element work
        _at_leaf_level(level + 1, state)
        if builtins.float in kinds:
            return _dtype.get_default_dtype()
        return _dtype.int64 if builtins.int in kinds else _dtype.bool
    dt = None
    for x in seq:
        if isinstance(x, _SEQUENCES) or (isinstance(x, np.ndarray) and x.ndim):
            if state[0] is not None and state[0] <= level + 1:
                raise TypeError(f"'{type(x).__name__}' object cannot be interpreted as an integer")
            d = _scan(x, level + 1, shape, state)
        else:
            if isinstance(x, np.ndarray):
                raise TypeError("len() of unsized object")
            _at_leaf_level(level + 1, state)
            d = _leaf_dtype(x)
            if not isinstance(x, (builtins.bool, builtins.int, builtins.float)):
                state[1] = True
        if d is not None:
            dt = d if dt is None else _dtype.promote_types(dt, d)
    return dt


def _at_leaf_level(level, state):
    if state[0] is None:
        state[0] = level
    elif state[0] != level:
        raise TypeError("not a sequence")


def _plain(seq):
    """Nested lists with tensors and numpy scalars replaced by Python numbers."""
    if isinstance(seq, _SEQUENCES) or isinstance(seq, np.ndarray) and seq.ndim:
        return [_plain(x) for x in seq]
    if isinstance(seq, Tensor):
        return seq.item()
    if isinstance(seq, np.generic):
        return seq.item()
    return seq


def _infer(data):
    """(array, dtype) for tensor() data, with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        return data._cpu_array(), data.dtype
    if isinstance(data, (np.ndarray, np.generic)):
        return as_array(data), _dtype.from_numpy_dtype(data.dtype)
    if isinstance(data, _SEQUENCES):
        state = [None, False]
        dt = _scan(data, 0, [], state) or _dtype.get_default_dtype()
        return (_plain(data) if state[1] else data), dt
    return data, _leaf_dtype(data)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of `data` (nested lists, scalars, arrays, tensors).

    Without `dtype`, Python bools give bool, ints int64, floats the default dtype, complex
    numbers the default complex dtype; NumPy values and tensors keep theirs, and a list
    mixing them takes the promoted type of its elements.
    """
    dt = _dtype_arg(dtype, "tensor")
    if isinstance(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        if device is None:
            device = data.device
    values, inferred = _infer(data)
    dt = dt or inferred
    try:
        with np.errstate(over="ignore"):
            arr = np.array(values, dtype=dt.np, copy=True) if dt.np not in _dtype.SPECIAL_CAST_NP \
                else _dtype.cast_array(np.array(values), dt.np)
    except OverflowError:
        arr = _unsigned_wrapped(values, dt)
        if arr is None:
            _raise_overflow(values, dt)
    except (TypeError, ValueError) as e:
        raise TypeError(f"tensor(): could not convert data to {dt}: {e}") from None
    return _finish(arr, dt, device, requires_grad)


def _unsigned_wrapped(values, dt):
    """Integers for an unsigned dtype as PyTorch converts them: those down to -max wrap
    around (tensor(-1, dtype=uint8) is 255); None when some value is out of that range."""
    if dt._category != 1 or dt.is_signed or dt.np.itemsize >= 8:
        return None
    try:
        ints = np.array(values, dtype=np.int64)
    except (OverflowError, TypeError, ValueError):
        return None
    top = int(np.iinfo(dt.np).max)
    if ints.size and (ints.min() < -top or ints.max() > top):
        return None
    return ints.astype(dt.np)


def _raise_overflow(values, dt):
    """PyTorch's error for integers that do not fit: ValueError beyond int64, else
    RuntimeError naming the target dtype."""
    try:
        np.array(values, dtype=np.int64)
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None
    raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return tensor(s, dtype=dtype or _dtype.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with `data` (a Tensor or ndarray) when it can."""
    dtype = _dtype_arg(dtype, "as_tensor")
    if isinstance(data, Tensor):
        if (dtype is None or data.dtype is dtype) and (device is None or
                                                       as_device(device) == data.device):
            return data
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) and factory_device(device).type == "cpu":
        t = from_numpy(data)
        return t if dtype is None or dtype is t.dtype else t.to(dtype)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """as_tensor() with a `copy` switch: True always copies, False never does (or raises).

    A tensor `obj` keeps its autograd history when `requires_grad` is True or, unset,
    when obj requires grad (PyTorch 2.13's default); requires_grad=False detaches it."""
    if isinstance(obj, Tensor):
        keep = obj.requires_grad if requires_grad is None else requires_grad
        if requires_grad is None and keep:
            import warnings
            warnings.warn("torch.asarray: unspecified requires_grad now defaults to "
                          "obj.requires_grad instead of False. Pass requires_grad=False "
                          "explicitly to get the old behavior and silence this warning.",
                          UserWarning, stacklevel=2)
        src = obj if keep else obj.detach()
        t = src.to(device=device, dtype=dtype) if (dtype or device) else src
        if copy and t is src:
            t = src.clone()
        elif copy is False and t.data_ptr() != obj.data_ptr():
            raise ValueError("can't alias the object: a copy is needed to create the tensor")
        if requires_grad and not t.requires_grad:
            t.requires_grad_(True)
        return t
    if copy:
        t = tensor(obj, dtype=dtype, device=device)
    else:
        t = as_tensor(obj, dtype=dtype, device=device)
        if copy is False and not (isinstance(obj, (Tensor, np.ndarray)) and
                                  t.data_ptr() == _data_ptr(obj)):
            raise ValueError("can't alias the object: a copy is needed to create the tensor")
    if requires_grad:
        t.requires_grad_(True)
    return t


def _data_ptr(obj):
    return obj.data_ptr() if isinstance(obj, Tensor) else obj.__array_interface__["data"][0]


def from_numpy(ndarray):
    """A tensor sharing memory with `ndarray` (writes show through both ways)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)  # raises TypeError for unsupported dtypes
    _dtype.note_narrow(ndarray.dtype)
    if not ndarray.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. "
                         "Conversion between byte orders is currently not supported.")
    if any(s < 0 for s in ndarray.strides):
        raise ValueError(f"At least one stride in the given numpy array is negative, and tensors "
                         f"with negative strides are not currently supported. (You can probably "
                         f"work around this by making a copy of your array  with array.copy().) "
                         f"(strides {ndarray.strides})")
    if any(s % ndarray.itemsize for s in ndarray.strides):
        raise ValueError(f"given numpy array strides not a multiple of the element byte size. Copy "
                         f"the numpy array to reallocate the memory. (strides {ndarray.strides}, "
                         f"element size {ndarray.itemsize})")
    return Tensor._make(ndarray)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    arr = np.frombuffer(buffer, dtype=dtype.np, count=count, offset=offset)
    return _finish(arr, dtype, None, requires_grad)


def _shape(size, fname):
    """A shape tuple from size arguments given as varargs, a tuple, a list or a Size."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor) and s._data.ndim == 0 and s.dtype._category == 1:
            s = s.item()
        if not isinstance(s, numbers.Integral) or isinstance(s, builtins.bool):
            raise TypeError(f"{fname}(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(builtins.int(s))
    return tuple(out)


def _size_args(fname, args, size, parser_message=False):
    """The size of a factory called as f(2, 3), f((2, 3)) or f(size=(2, 3)), as varargs;
    PyTorch's TypeError when it is missing or given twice."""
    if size is not None:
        if args:
            raise TypeError(f"{fname}() got multiple values for argument 'size'")
        return (size,)
    if not args:
        if parser_message:
            raise TypeError(f"{fname}() received an invalid combination of arguments - got (), "
                            f"but expected one of:\n * (tuple of ints size, *, ...)")
        raise TypeError(f"{fname}() missing 1 required positional arguments: \"size\"")
    return args


def _filled(fname, size, value, dtype, device, requires_grad, out=None):
    """A tensor of shape `size` filled with `value` (None: uninitialised)."""
    dt = _dtype_arg(dtype, fname) or (out.dtype if out is not None else
                                      _dtype.get_default_dtype())
    return _alloc(_shape(size, fname), value, dt, device, requires_grad, out)


def _alloc(shape, value, dt, device, requires_grad, out=None):
    """A tensor of the valid shape tuple `shape` and dtype `dt` filled with `value`."""
    dev = factory_device(device)
    if dev.type == "cpu":
        if value is None:
            arr = np.empty(shape, dtype=dt.np)
        elif value == 0:
            arr = np.zeros(shape, dtype=dt.np)
        else:
            arr = _dtype.filled(np, shape, value, dt.np)
    elif dev.type == "meta":   # a shape and a dtype, no memory
        from .._backend import meta_backend
        arr = meta_backend.empty(shape, dt.np)
    else:
        from .._backend import cuda_backend
        xp = cuda_backend().xp
        with xp.cuda.Device(dev.index or 0):
            arr = _dtype.filled(xp, shape, 0 if value is None else value, dt.np)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad = True
    if out is not None:
        return _write_out(out, t)
    return t


def zeros(*args, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False, memory_format=None):
    return _filled("zeros", _size_args("zeros", args, size), 0, dtype, device, requires_grad,
                   out)


def ones(*args, size=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False, memory_format=None):
    return _filled("ones", _size_args("ones", args, size), 1, dtype, device, requires_grad,
                   out)


def empty(*args, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False, memory_format=None):
    """An uninitialised tensor; `memory_format` channels_last (4-d) / channels_last_3d
    (5-d) lays it out NHWC / NDHWC, as PyTorch's."""
    name = getattr(memory_format, "name", "contiguous_format")
    if name == "contiguous_format" or out is not None:
        return _filled("empty", _size_args("empty", args, size), None, dtype, device,
                       requires_grad, out)
    if name == "preserve_format":
        raise RuntimeError("unsupported memory format Preserve")
    from .conversion import _copy_in_format
    t = _filled("empty", _size_args("empty", args, size), None, dtype, device, False)
    t = Tensor._make(_copy_in_format(t._data, memory_format))
    if requires_grad:
        t.requires_grad = True
    return t


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    """An uninitialised tensor of shape `size` laid out with `stride` (in elements) over
    storage just large enough for it."""
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality "
                           f"of strides ({len(stride)})")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    shape = _shape((size,), "empty_strided")
    extent = 0 if 0 in shape else 1 + sum((n - 1) * s for n, s in zip(shape, stride))
    storage = _filled("empty_strided", ((extent,),), None, dtype, device, False)._data
    from .._backend import strided_view
    t = Tensor._make(strided_view(storage, shape, tuple(s * storage.itemsize for s in stride)))
    if requires_grad:
        t.requires_grad = True
    return t


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """A tensor of shape `size` filled with `fill_value`; the dtype follows the value
    (bool, int64, the default float or complex dtype) unless given."""
    if not isinstance(size, (tuple, list, Size)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None and out is None:
        dtype = _dtype.scalar_dtype(fill_value)
    return _filled("full", (tuple(size),), fill_value, dtype, device, requires_grad, out)


def _like(fname, input, value, dtype, device, requires_grad, memory_format=None):
    """A new tensor of input's shape filled with `value`, laid out as `memory_format` asks
    (by default like input, as PyTorch's preserve_format)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    dt = _dtype_arg(dtype, fname) or _FROM_NP[input._data.dtype]
    t = _alloc(input._data.shape, value, dt, device if device is not None else input.device,
               requires_grad)
    t._data = like_layout(t._data, input._data, memory_format)
    return t


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return _like("zeros_like", input, 0, dtype, device, requires_grad, memory_format)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return _like("ones_like", input, 1, dtype, device, requires_grad, memory_format)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return _like("empty_like", input, None, dtype, device, requires_grad, memory_format)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _like("full_like", input, fill_value, dtype, device, requires_grad, memory_format)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """The n x m identity matrix (m defaults to n)."""
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None and m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    dt = _dtype_arg(dtype, "eye", _dtype.get_default_dtype())
    return _finish(np.eye(n, m, dtype=dt.np), dt, device, requires_grad, out)


# ---------------------------------------------------------------------------- ranges

def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """Values start, start + step, ... up to end (exclusive).

    The count is ceil((end - start) / step) computed in double precision, as PyTorch
    does, so arange(0, 1, 0.1) has 10 elements; element i is start + i * step.
    """
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if any(isinstance(v, float) and not math.isfinite(v) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start:g} -> {end:g}")
    dt = _dtype_arg(dtype, "arange")
    if dt is None and isinstance(out, Tensor):   # out= decides the dtype, as in PyTorch
        dt = out.dtype
    if dt is None:
        integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dt = _dtype.int64 if integral else _dtype.get_default_dtype()
    if dt.np in _dtype.NARROW_NP or dt.is_complex or dt is _dtype.bool:
        raise _not_implemented_for("arange_cpu", dt)   # PyTorch has no such kernel
    if not (dt.is_floating_point or dt.is_complex):
        # an integer result casts the bounds and the step first
        start, end, step = builtins.int(start), builtins.int(end), builtins.int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = builtins.max(0, math.ceil((end - start) / step))
    if dt.is_floating_point or dt.is_complex:
        arr = (start + np.arange(n, dtype=np.float64) * step).astype(dt.np)
    else:
        arr = (start + np.arange(n, dtype=np.int64) * step).astype(dt.np)
    return _finish(arr, dt, device, requires_grad, out)


def range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
          requires_grad=False):
    """Deprecated: values from start to end inclusive."""
    import warnings
    warnings.warn("torch.range is deprecated and will be removed in a future release because its "
                  "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
                  "which produces values in [start, end).", UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    dt = _dtype_arg(dtype, "range", _dtype.get_default_dtype())
    n = builtins.int(math.floor((end - start) / step)) + 1
    arr = (start + np.arange(n, dtype=np.float64) * step).astype(dt.np)
    return _finish(arr, dt, device, requires_grad, out)


def _check_space_args(fname, start, end, steps):
    """PyTorch's argument checks of linspace/logspace: an integer step count (its parser's
    TypeError) and 0-dim tensor bounds."""
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool):
        got = ", ".join("Tensor" if isinstance(v, Tensor) else type(v).__name__
                        for v in (start, end, steps))
        base = ", float base = 10.0" if fname == "logspace" else ""
        forms = "".join(f"\n * ({a} start, {b} end, int steps{base}, *, Tensor out = None, ...)"
                        for a, b in (("Tensor", "Tensor"), ("Number", "Tensor"),
                                     ("Tensor", "Number"), ("Number", "Number")))
        raise TypeError(f"{fname}() received an invalid combination of arguments - got ({got}),"
                        f" but expected one of:{forms}")
    dims = [v.dim() if isinstance(v, Tensor) else 0 for v in (start, end)]
    if any(dims):
        raise RuntimeError(f"{fname} only supports 0-dimensional start and end tensors, but got "
                           f"start with {dims[0]} dimension(s) and end with {dims[1]} "
                           f"dimension(s).")


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """`steps` evenly spaced values from start to end inclusive.

    As PyTorch, the first half is computed forward from start (start + i * step) and the
    second half backward from end (end - (steps - 1 - i) * step), so both ends are exact.
    """
    _check_space_args("linspace", start, end, steps)
    start, end = _num(start), _num(end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = _dtype_arg(dtype, "linspace", _dtype.get_default_dtype())
    if dt.np in _dtype.NARROW_NP:
        raise _not_implemented_for("linspace_cpu", dt)
    if steps == 1:
        arr = np.array([start], dtype=np.float64)
    else:
        step = (end - start) / (steps - 1)
        idx = np.arange(steps, dtype=np.float64)
        half = steps // 2
        arr = np.where(idx < half, start + step * idx, end - step * (steps - 1 - idx))
    if not (dt.is_floating_point or dt.is_complex) and dt is not _dtype.bool:
        arr = np.trunc(arr)
    return _finish(arr.astype(dt.np), dt, device, requires_grad, out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """base ** linspace(start, end, steps)."""
    _check_space_args("logspace", start, end, steps)
    dt = _dtype_arg(dtype, "logspace", _dtype.get_default_dtype())
    lin = linspace(start, end, steps, dtype=_dtype.float64)._data
    return _finish(np.power(base, lin).astype(dt.np), dt, device, requires_grad, out)


# ---------------------------------------------------------------------------- random

def _not_implemented_for(kernel, dt):
    return NotImplementedError(f"\"{kernel}\" not implemented for '{dtype_name(dt)}'")


def _uniform_array(g, shape, dt, low=0.0, high=1.0):
    """Uniform samples on [low, high) as dtype `dt`, in PyTorch's order (ember/_sampling.py)."""
    return _sampling.uniform(g, math.prod(shape), dt, low, high).reshape(shape)


def _normal_array(g, shape, dt, mean=0.0, std=1.0):
    """Normal samples as dtype `dt` for a contiguous result, in PyTorch's order."""
    return _sampling.normal(g, math.prod(shape), dt, mean, std).reshape(shape)


_WIDE_UNSIGNED = ("uint16", "uint32", "uint64")   # PyTorch's CPU samplers skip these


def _check_int64_argument(v):
    """PyTorch's argument parser takes integers as C long longs."""
    if not -(1 << 63) <= v < 1 << 63:
        raise ValueError("Overflow when unpacking long long")


def _check_random_bounds(low, high, dt):
    """PyTorch's check of random_(from, to) / randint bounds against the dtype: integer
    and bool dtypes must hold from and to - 1; floating ones warn beyond the integers
    their mantissa holds exactly."""
    if dt.is_complex:
        raise RuntimeError("check_random_bounds handles only integral, floating-point and "
                           "boolean types")
    if dt.is_floating_point:
        digits = {"float64": 53, "float16": 11, "bfloat16": 8}.get(dt.name, 24)
        bound = 2 ** digits
        for name, v in (("from", low), ("to - 1", high - 1)):
            if not -bound <= v <= bound:
                warnings.warn(f"{name} is out of bounds [-(2^{digits}), 2^{digits}]. Due to "
                              f"precision limitations {c_type_name(dt)} can support discrete "
                              f"uniform distribution only within this range. This warning will "
                              f"become an error in version 1.7 release, please fix the code in "
                              f"advance", UserWarning, stacklevel=3)
        return
    lo, hi = (0, 1) if dt is _dtype.bool else (int(np.iinfo(dt.np).min), int(np.iinfo(dt.np).max))
    if not lo <= low <= hi:
        raise RuntimeError(f"from is out of bounds for {c_type_name(dt)}")
    if not lo <= high - 1 <= hi:
        raise RuntimeError(f"to - 1 is out of bounds for {c_type_name(dt)}")


def _on_meta(device, out):
    """Whether a random factory makes a meta tensor: then it draws nothing (no memory, and
    the generator is not advanced, as in PyTorch)."""
    return (out.device if out is not None else factory_device(device)).type == "meta"


def rand(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """Uniform samples on [0, 1)."""
    size = _size_args("rand", args, size, parser_message=True)
    dt = _dtype_arg(dtype, "rand", out.dtype if out is not None else _dtype.get_default_dtype())
    if not (dt.is_floating_point or dt.is_complex) or dt in _dtype.FLOAT8_DTYPES:
        raise _not_implemented_for("check_uniform_bounds", dt)
    if _on_meta(device, out):
        return _alloc(_shape(size, "rand"), None, dt, device, requires_grad, out)
    arr = _uniform_array(gen_of(generator), _shape(size, "rand"), dt)
    return _finish(arr, dt, device, requires_grad, out)


def randn(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Standard normal samples."""
    size = _size_args("randn", args, size, parser_message=True)
    dt = _dtype_arg(dtype, "randn", out.dtype if out is not None else _dtype.get_default_dtype())
    if not (dt.is_floating_point or dt.is_complex) or dt in _dtype.FLOAT8_DTYPES:
        raise _not_implemented_for("normal_kernel_cpu", dt)
    if _on_meta(device, out):
        return _alloc(_shape(size, "randn"), None, dt, device, requires_grad, out)
    arr = _normal_array(gen_of(generator), _shape(size, "randn"), dt)
    return _finish(arr, dt, device, requires_grad, out)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False):
    """Integers uniform on [low, high): randint(high, size) or randint(low, high, size)."""
    if size is None:
        if not isinstance(high, (tuple, list, Size)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, numbers.Integral) or isinstance(v, builtins.bool):
            raise TypeError(f"randint(): argument '{name}' must be int, not {type(v).__name__}")
        _check_int64_argument(v)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    dt = _dtype_arg(dtype, "randint", _dtype.int64)
    _check_random_bounds(low, high, dt)
    shape = _shape((size,), "randint")
    if _on_meta(device, out):
        return _alloc(shape, None, dt, device, requires_grad, out)
    arr = _sampling.integers(gen_of(generator), math.prod(shape), low, high)
    arr = arr.astype(dt.np).reshape(shape)
    return _finish(arr, dt, device, requires_grad, out)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    """A random permutation of 0 .. n-1."""
    if not isinstance(n, numbers.Integral):
        raise TypeError(f"randperm(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    dt = _dtype_arg(dtype, "randperm", _dtype.int64)
    if dt is _dtype.bool or dt.is_complex or dt.name in _WIDE_UNSIGNED:
        raise _not_implemented_for("randperm", dt)
    if dt is _dtype.float16 and n > 2049:
        raise RuntimeError("n cannot be greater than 2049 for Half type.")
    if dt is _dtype.float32 and n > 2 ** 24 + 1:
        raise RuntimeError("n cannot be greater than 2^24+1 for Float type.")
    if not (dt.is_floating_point or dt is _dtype.int64) and n > 0 \
            and n - 1 > np.iinfo(dt.np).max:
        raise RuntimeError(f"value cannot be converted to type {np.dtype(dt.np).name}_t without "
                           f"overflow")
    arr = _sampling.permutation(gen_of(generator), n).astype(dt.np)
    return _finish(arr, dt, device, requires_grad, out)


def _random_like(input, dtype, device, requires_grad, memory_format, fill):
    """empty_like(input) (its layout kept unless memory_format says otherwise) filled by
    an in-place sampler, which draws in the result's memory order as PyTorch does."""
    out = empty_like(input, dtype=dtype, device=device, memory_format=memory_format)
    with grad_mode.no_grad():
        fill(out)
    if requires_grad:
        out.requires_grad_(True)
    return out


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None):
    return _random_like(input, dtype, device, requires_grad, memory_format,
                        lambda t: t.uniform_(generator=generator))


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None):
    return _random_like(input, dtype, device, requires_grad, memory_format,
                        lambda t: t.normal_(generator=generator))


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None, generator=None):
    if high is None:
        low, high = 0, low
    return _random_like(input, dtype, device, requires_grad, memory_format,
                        lambda t: t.random_(low, high, generator=generator))


class _Normal(Op):
    """mean + std * noise. The samples do not depend smoothly on the parameters in
    PyTorch's definition: both gradients are zero."""

    @staticmethod
    def forward(ctx, mean, std, noise):
        return mean + std * noise

    @staticmethod
    def backward(ctx, grad):
        zero = zeros_like(grad)
        return (zero if ctx.needs_input_grad[0] else None,
                zero if ctx.needs_input_grad[1] else None)


class NormalBackward1(_Normal):  # normal(Tensor mean, float std)
    _name = "NormalBackward1"


class NormalBackward2(_Normal):  # normal(float mean, Tensor std)
    _name = "NormalBackward2"


class NormalBackward3(_Normal):  # normal(Tensor mean, Tensor std)
    _name = "NormalBackward3"


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False):
    """Normal samples: normal(mean, std) with tensor mean and/or std (broadcast together,
    the dtype of mean when it is a tensor), or normal(mean, std, size) with numbers."""
    g = gen_of(generator)
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if mean_t or std_t:
        ref = mean if mean_t else std
        dt = ref.dtype
        if not dt.is_floating_point:
            raise _not_implemented_for("normal_kernel_cpu", dt)
        if std_t and (std._data < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        if not std_t and std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        m = mean._data if mean_t else mean
        s = std._data if std_t else std
        try:
            shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({np.shape(m)[-1]}) must match the size of "
                               f"tensor b ({np.shape(s)[-1]}) at non-singleton dimension "
                               f"0") from None
        op = NormalBackward3 if mean_t and std_t else (NormalBackward1 if mean_t else
                                                       NormalBackward2)
        m = m.astype(dt.np) if mean_t else m
        s = s.astype(dt.np) if std_t else s
        if std_t:      # PyTorch: standard normals, times std, plus mean
            noise = _normal_array(g, shape, dt)
        else:          # PyTorch: normals of standard deviation std, plus mean
            noise, s = _normal_array(g, shape, dt, 0.0, s), 1.0
        noise = like(noise, ref._data)  # drawn on the host
        result = apply(op, (mean if mean_t else None, std if std_t else None), (m, s, noise))
        if out is not None:
            return _write_out(out, result)
        return result
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments: size is required "
                        "when mean and std are numbers")
    dt = _dtype_arg(dtype, "normal", _dtype.get_default_dtype())
    arr = _normal_array(g, _shape((size,), "normal"), dt, mean, std)
    return _finish(arr, dt, device, requires_grad, out)


def _check_probability(p):
    if p < 0 or p > 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")


@refuses_out_overlap
def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 samples: P(1) is `input` elementwise, or the number `p` for every element."""
    if input.is_meta:   # no probabilities to draw with: the shape and dtype, no draws
        if p is not None:
            _check_probability(p)
        return _alloc(input.shape, None, input.dtype, input.device, False, out)
    if p is None:
        if not (input.dtype.is_floating_point):
            raise _not_implemented_for("bernoulli_tensor_cpu_p_", input.dtype)
        probs = input._cpu_array()
        if (probs < 0).any() or (probs > 1).any():
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    else:
        _check_probability(p)
    g = gen_of(generator)
    if p is None:
        arr = _sampling.bernoulli_probs(g, np.ascontiguousarray(probs).reshape(-1))
    else:
        arr = _sampling.bernoulli_scalar(g, input.numel(), p)
    arr = arr.reshape(input.shape).astype(input.dtype.np)
    return _finish(arr, input.dtype, input.device, False, out)


def poisson(input, generator=None):
    """Poisson samples with rates `input` (PyTorch's samplers, one rate after another)."""
    rates = input._cpu_array()
    if (rates < 0).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    arr = _sampling.poisson(gen_of(generator), rates.astype(np.float64).reshape(-1))
    return Tensor._make(_to_device(arr.reshape(input.shape).astype(input.dtype.np), input.device))


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Sample category indices from the rows of `input` (unnormalised probabilities)."""
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{dtype_name(input.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if isinstance(out, Tensor) and out.dtype is not _dtype.int64:
        raise RuntimeError(f"multinomial expects Long tensor out, got: {dtype_name(out.dtype)}")
    if input.shape[-1] > 2 ** 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    if input.is_meta:   # no probabilities to draw with: the shape, no draws
        if not replacement and num_samples > input.shape[-1]:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        return _alloc(tuple(input.shape[:-1]) + (num_samples,), None, _dtype.int64, input.device,
                      False, out)
    probs = input._cpu_array().astype(np.float64)
    if not replacement and not ((probs >= 0).all() and np.isfinite(probs).all()):
        # PyTorch samples without replacement by another kernel, with its own message
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if not (probs >= 0).all():   # (NaN included, as in PyTorch's check)
        raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
    if not np.isfinite(probs).all():
        raise RuntimeError("invalid multinomial distribution (encountering probability entry = "
                           "infinity or NaN)")
    rows = probs.reshape(-1, probs.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    for row in rows:
        if row.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(row):
            raise RuntimeError("invalid multinomial distribution (with replacement=False, not "
                               "enough non-negative category to sample)")
    g = gen_of(generator)
    if replacement and num_samples > 1:
        result = _sampling.multinomial_with_replacement(
            g, input._cpu_array().reshape(rows.shape), num_samples)
    else:
        # PyTorch: the largest p / q with q ~ Exponential(1) of the input's dtype (a
        # Gumbel-max draw); several samples are the top-k, largest first
        dt = input.dtype
        q = _sampling.exponential(g, rows.size, 1.0).astype(dt.np).reshape(rows.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = input._cpu_array().reshape(rows.shape) / q
        keys = np.where(np.isnan(keys), -np.inf, keys)
        result = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples].astype(np.int64)
    if input.dim() == 1:
        result = result[0]
    return _finish(result, _dtype.int64, input.device, False, out)


# ---------------------------------------------------------------------------- in-place random

def _memory_order(t):
    """t's dims from slowest- to fastest-varying in memory: the order PyTorch's
    TensorIterator walks a tensor's elements in (row-major for a contiguous one)."""
    return _dim_order(t.shape, (t._data,))[::-1]


def memory_ordered(t, flat):
    """The samples `flat`, drawn one per element of `t` in PyTorch's order (t's memory
    order), as an array of t's shape."""
    shape = t.shape
    if len(shape) > 1 and not t.is_contiguous():
        order = _memory_order(t)
        return flat.reshape([shape[d] for d in order]).transpose(np.argsort(order))
    return flat.reshape(shape)


def _fill_random(self, flat):
    """Overwrite self with the samples `flat`, drawn in PyTorch's order (memory order).
    An in-place op outside autograd."""
    arr = memory_ordered(self, flat)
    return commit_inplace(self, Tensor._make(_to_device(arr.astype(self._data.dtype, copy=False),
                                                        self.device)))


def _check_uniform_bounds(low, high, dt):
    """PyTorch's checks of uniform_'s bounds: finite values of the dtype (NaN is out of
    bounds too), low <= high, and a span the dtype can hold."""
    top = float(_dtype.finfo(dt).max)
    for name, v in (("from", low), ("to", high)):
        if not -top <= v <= top:
            raise RuntimeError(f"{name} is out of bounds for {c_type_name(dt)}")
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low} "
                           f"> to={high}")
    if high - low > top:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<{dtype_name(dt)}>"
                           f"::max(), but found to={high:g} and from={low:g} which result in "
                           f"to-from to exceed the limit")


def uniform_(self, from_=0.0, to=1.0, *, generator=None):
    """Fill with samples uniform on [from_, to)."""
    if not (self.dtype.is_floating_point or self.dtype.is_complex):
        raise _not_implemented_for("check_uniform_bounds", self.dtype)
    _check_uniform_bounds(from_, to, self.dtype.to_real() if self.dtype.is_complex else self.dtype)
    if self.is_meta:
        return self   # no values to draw (nor draws from the generator), as in PyTorch
    return _fill_random(self, _sampling.uniform(gen_of(generator), self.numel(), self.dtype,
                                                from_, to))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal samples."""
    if not (self.dtype.is_floating_point or self.dtype.is_complex):
        raise _not_implemented_for("normal_kernel_cpu", self.dtype)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if self.is_meta:
        return self   # no values to draw (nor draws from the generator), as in PyTorch
    return _fill_random(self, _sampling.normal(gen_of(generator), self.numel(), self.dtype, mean,
                                               std, blocked=self.is_contiguous()))


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 samples, P(1) = p (a number or a tensor broadcast to self)."""
    if self.dtype.is_complex or self.dtype.name in _WIDE_UNSIGNED:
        kernel = "bernoulli_tensor_cpu_self_" if isinstance(p, Tensor) else "bernoulli_scalar_cpu_"
        raise _not_implemented_for(kernel, self.dtype)
    if isinstance(p, Tensor):
        probs = p if self.is_meta else p._cpu_array()
    else:
        _check_probability(p)
        probs = p
    if self.is_meta:
        return self   # no values to draw (nor draws from the generator), as in PyTorch
    g = gen_of(generator)
    if isinstance(p, Tensor):
        probs = np.broadcast_to(probs, self.shape)
        if len(self.shape) > 1 and not self.is_contiguous():   # drawn in self's memory order
            probs = probs.transpose(_memory_order(self))
        return _fill_random(self, _sampling.bernoulli_probs(g, np.ascontiguousarray(probs)
                                                            .reshape(-1)))
    return _fill_random(self, _sampling.bernoulli_scalar(g, self.numel(), probs))


def random_(self, from_=0, to=None, *, generator=None):
    """Fill with integers uniform on [from_, to); random_(to) samples [0, to) and random_()
    [0, 2**mantissa bits] for floating dtypes, the whole range for integer dtypes."""
    if to is None and from_ != 0:
        from_, to = 0, from_
    for v in (from_, to):
        if v is not None:
            _check_int64_argument(v)
    full = to is None
    if full and (self.dtype.is_complex or self.dtype.name in _WIDE_UNSIGNED):
        raise _not_implemented_for("random_kernel_cpu", self.dtype)
    if not full:
        _check_random_bounds(from_, to, self.dtype)
    if full:
        dt = self.dtype
        if dt is _dtype.bool:
            to = 2
        elif dt.is_floating_point:
            to = 2 ** (np.finfo(dt.np).nmant + 1 if dt is not _dtype.bfloat16 else 8) + 1
        else:
            to = builtins.int(np.iinfo(dt.np).max) + 1
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} >= "
                           f"to={to}")
    if self.is_meta:
        return self   # no values to draw (nor draws from the generator), as in PyTorch
    g = gen_of(generator)
    if full:
        return _fill_random(self, _sampling.full_range(g, self.numel(), self.dtype))
    return _fill_random(self, _sampling.integers(g, self.numel(), from_, to))


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential samples of rate `lambd`."""
    if not self.dtype.is_floating_point:
        raise RuntimeError(f"Exponential distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified "
                           f"{dtype_name(self.dtype)}")
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    if self.is_meta:
        return self   # no values to draw (nor draws from the generator), as in PyTorch
    return _fill_random(self, _sampling.exponential(gen_of(generator), self.numel(), lambd))


def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success."""
    if self.dtype is _dtype.bool or self.dtype.is_complex or self.dtype.name in _WIDE_UNSIGNED:
        raise _not_implemented_for("geometric_cpu", self.dtype)
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    if self.is_meta:
        return self   # no values to draw (nor draws from the generator), as in PyTorch
    return _fill_random(self, _sampling.geometric(gen_of(generator), self.numel(), p))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(normal(mean, std)) samples."""
    if not self.dtype.is_floating_point:
        raise _not_implemented_for("log_normal_cpu", self.dtype)
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    if self.is_meta:
        return self   # no values to draw (nor draws from the generator), as in PyTorch
    return _fill_random(self, _sampling.log_normal(gen_of(generator), self.numel(), mean, std))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy(median, sigma) samples."""
    if not self.dtype.is_floating_point:
        raise RuntimeError(f"Cauchy distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified "
                           f"{c_type_name(self.dtype)}")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    if self.is_meta:
        return self   # no values to draw (nor draws from the generator), as in PyTorch
    return _fill_random(self, _sampling.cauchy(gen_of(generator), self.numel(), median, sigma))


def _rebuild_tensor(arr, requires_grad, device=None):
    """A tensor unpickled: its values (a host array), on `device` when it was not a CPU
    tensor."""
    t = Tensor._make(arr if device is None else _to_device(arr, as_device(device)))
    t._requires_grad = requires_grad
    return t


def _bernoulli_method(self, p=None, *, generator=None):
    return bernoulli(self, p, generator=generator)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


Tensor.uniform_ = uniform_
Tensor.normal_ = normal_
Tensor.bernoulli_ = bernoulli_
Tensor.random_ = random_
Tensor.exponential_ = exponential_
Tensor.geometric_ = geometric_
Tensor.log_normal_ = log_normal_
Tensor.cauchy_ = cauchy_
Tensor.bernoulli = _bernoulli_method
Tensor.multinomial = _multinomial_method


# ---------------------------------------------------------------------------- empty_permuted / binomial

def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    """An uninitialised tensor of shape `size` whose memory holds its dims in the order
    `physical_layout` (outermost first): empty(size permuted) viewed back as `size`."""
    size, order = tuple(size), tuple(physical_layout)
    if len(size) != len(order):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the "
                           f"physical_layout; i.e. len(size) = {len(size)} is not equal to "
                           f"len(physical_layout) = {len(order)}")
    for i, d in enumerate(order):
        if not 0 <= d < len(size):
            raise RuntimeError(f"Dimension out of range (expected to be between 0 and "
                               f"{len(size) - 1}, but got {d} at index {i}).  NB: negative dims "
                               f"not currently supported; file an issue if you want it.")
    if sorted(order) != list(builtins.range(len(size))):
        raise RuntimeError("Duplicate dim not allowed")
    inverse = [order.index(d) for d in builtins.range(len(size))]
    phys = _filled("empty_permuted", (tuple(size[d] for d in order),), None, dtype, device, False)
    t = Tensor._make(phys._data.transpose(inverse))
    if requires_grad:
        t.requires_grad = True
    return t


class Binomial(Op):
    """Samples of Binomial(count, prob); PyTorch defines no derivative."""
    _name = "BinomialBackward0"

    @staticmethod
    def forward(ctx, count, prob, draws):
        return draws

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::binomial is not implemented")


def binomial(count, prob, generator=None):
    """The number of successes in `count` trials of success probability `prob` (float
    tensors of one dtype, broadcast together)."""
    for name, t in (("count", count), ("prob", prob)):
        if not isinstance(t, Tensor):
            raise TypeError(f"binomial(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    if not count.dtype.is_floating_point:
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{dtype_name(count.dtype)}")
    if prob.dtype is not count.dtype:
        raise RuntimeError(f"Found dtype {dtype_name(prob.dtype)} but expected "
                           f"{dtype_name(count.dtype)}")
    shape = np.broadcast_shapes(tuple(count.shape), tuple(prob.shape))
    n = np.broadcast_to(count._cpu_array(), shape).astype(np.float64).reshape(-1)
    p = np.broadcast_to(prob._cpu_array(), shape).astype(np.float64).reshape(-1)
    draws = _sampling.binomial(gen_of(generator), n, p, count.dtype is not _dtype.float64)
    draws = draws.reshape(shape).astype(count.dtype.np)
    draws = _to_device(draws, count.device)
    return apply(Binomial, (count, prob), (count._data, prob._data, draws))


__all__ += ["empty_permuted", "binomial"]
