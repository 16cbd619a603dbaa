"""A CPU-only stand-in for CuPy, built on NumPy, for testing CUDA code paths without a GPU.

It is not a faithful CuPy: it copies the behaviours that break code written for NumPy, so
that ``EMBER_FAKE_CUDA=1 python -m pytest`` catches them on a CPU machine (as measured on
CuPy 14.2):

* ``ndarray`` is not a ``numpy.ndarray``; ``np.asarray(fake)`` raises, ``.get()`` copies out.
* Mixing a fake with a ``numpy.ndarray`` in a ufunc or NumPy function raises TypeError; a
  ufunc given a list raises too; ``fake[i] = numpy_array`` raises ValueError.
* Reductions and scalar indexing give 0-d arrays, never NumPy scalars.
* ``ufunc.reduce/accumulate/reduceat/at`` exist only for the ufuncs CuPy implements them for.
* ``RawModule``, ``RawKernel`` and ``ElementwiseKernel`` run their CUDA C++ on the CPU
  (tests/cuda_emu.py, through g++); without g++ (or with EMBER_CUDA_EMU=0) they raise
  NotImplementedError, as ``ReductionKernel`` and ``fuse`` always do, and callers fall back.
* ``empty``, ``empty_like`` (and the outputs a kernel allocates) start as garbage, NaN or a
  large integer (tests/cuda_emu.py ``garbage``), as a GPU's pool hands back used memory;
  EMBER_FAKE_CUDA_POISON=0 gives NumPy's ``empty`` instead.
* ``linalg.inv/solve/cholesky`` of a singular input give NaNs instead of raising LinAlgError,
  unless inside ``cupyx.errstate(linalg='raise')``.

``install()`` registers this module as ``cupy`` (and ``cupyx``) in ``sys.modules``.
"""
import contextlib
import functools
import importlib.util
import math
import os
import sys
import time
import types
import weakref

import numpy

__fake__ = True
__version__ = "14.2.0-fake"

_NO_KERNELS = "fakecupy: no kernels"
_owners = weakref.WeakValueDictionary()   # id(numpy buffer owner) -> the fake that wraps it
_state = {"linalg": "ignore", "streams": [], "syncs": 0, "sync_stacks": None}


# ------------------------------------------------------------------ host synchronizations

def host_syncs():
    """How many times a fake's value has been read on the host so far (bool(), float(),
    int(), operator.index(), .item(), .get(), .tolist(), asnumpy ...). On a real GPU each
    such read waits until the GPU has finished all queued work."""
    return _state["syncs"]


@contextlib.contextmanager
def trace_host_syncs():
    """Within the block, record the Python stack of every host sync; yields the list."""
    saved = _state["sync_stacks"]
    _state["sync_stacks"] = stacks = []
    try:
        yield stacks
    finally:
        _state["sync_stacks"] = saved


def _sync():
    _state["syncs"] += 1
    if _state["sync_stacks"] is not None:
        import traceback
        _state["sync_stacks"].append("".join(traceback.format_stack(limit=12)[:-2]))


# ------------------------------------------------------------------ wrapping and checks

def _unwrap(x):
    """Fakes -> their NumPy buffers, recursively through lists, tuples and dicts."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, (list, tuple)):
        items = [_unwrap(v) for v in x]
        if hasattr(type(x), "_fields"):   # a namedtuple
            return type(x)(*items)
        return type(x)(items)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    """NumPy arrays and scalars -> fakes (scalars become 0-d arrays, as CuPy returns)."""
    if isinstance(x, numpy.ndarray):
        return ndarray._from(x)
    if isinstance(x, numpy.generic):
        return ndarray._from(numpy.asarray(x))
    if isinstance(x, (list, tuple)):
        items = [_wrap(v) for v in x]
        if hasattr(type(x), "_fields"):   # a namedtuple
            return type(x)(*items)
        return type(x)(items)
    return x


def _reject_numpy(x):
    """CuPy refuses host arrays: TypeError for any numpy.ndarray inside `x`."""
    if isinstance(x, numpy.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    if isinstance(x, (list, tuple)):
        for v in x:
            _reject_numpy(v)
    elif isinstance(x, dict):
        for v in x.values():
            _reject_numpy(v)


def _result(result, out):
    """The `out=` fake itself when one was given (so `f(x, out=o) is o`), else wrapped."""
    if isinstance(out, tuple) and len(out) == 1:
        out = out[0]
    if isinstance(out, ndarray):
        return out
    if isinstance(out, tuple) and out and all(isinstance(o, ndarray) for o in out):
        return out
    return _wrap(result)


def _function(func, numpy_ok=False):
    """`func` (a NumPy function) taking and returning fakes."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if not numpy_ok:
            _reject_numpy((args, kwargs))
        for key in ("initial", "where"):   # CuPy's reductions (amax, sum ...) take neither
            if key in kwargs and func.__name__ not in ("where", "putmask", "place", "copyto"):
                raise TypeError(f"{func.__name__}() got an unexpected keyword argument '{key}'")
        return _result(func(*_unwrap(args), **_unwrap(kwargs)), kwargs.get("out"))
    return wrapper


# ------------------------------------------------------------------ ufuncs

_UFUNC_METHODS = {   # the methods CuPy implements only for some ufuncs
    "reduce": {"add", "multiply", "maximum", "minimum"},
    "accumulate": {"add", "multiply"},   # maximum.accumulate fails on CuPy 14.2 (H100 run)
    "reduceat": {"add"},
    "at": {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"},
}


def _check_inputs(inputs):
    """A CuPy ufunc takes device arrays and scalars only: no host arrays, no lists."""
    for x in inputs:
        if isinstance(x, (numpy.ndarray, list, tuple)):
            raise TypeError(f"Unsupported type {type(x)}")


def _apply_ufunc(uf, method, inputs, kwargs):
    allowed = _UFUNC_METHODS.get(method)
    if allowed is not None and uf.__name__ not in allowed:
        raise NotImplementedError(f"`cupy_{uf.__name__}.{method}` is not supported yet")
    if method == "at":   # measured on CuPy 14.2: host arrays anywhere, and tuple keys, fail
        if isinstance(inputs[1], tuple) or any(isinstance(x, numpy.ndarray)
                                               for x in _flat((inputs, kwargs))):
            raise TypeError(f"operand type(s) all returned NotImplemented from "
                            f"__array_ufunc__(<ufunc '{uf.__name__}'>, 'at', ...)")
        uf.at(*_unwrap(inputs))
        return None
    for key in ("where", "initial"):   # CuPy's ufuncs and reductions take neither
        if key in kwargs:
            raise TypeError(f"Wrong arguments {{{key!r}: ...}}")
    _reject_numpy(kwargs)
    if method == "__call__":
        _check_inputs(inputs)
    _reject_numpy(inputs)
    with numpy.errstate(all="ignore"):   # CuPy never warns (log(0), x/0 ...)
        result = getattr(uf, method)(*_unwrap(inputs), **_unwrap(kwargs))
    return _result(result, kwargs.get("out"))


class ufunc:
    """A NumPy ufunc with CuPy's restrictions (`cupy.exp`, `cupy.add.at`, ...)."""

    def __init__(self, np_ufunc):
        self._uf = np_ufunc
        self.__name__ = self.name = np_ufunc.__name__
        self.nin, self.nout, self.__doc__ = np_ufunc.nin, np_ufunc.nout, np_ufunc.__doc__

    def __call__(self, *args, **kwargs):
        return _apply_ufunc(self._uf, "__call__", args, kwargs)

    def __repr__(self):
        return f"<ufunc 'cupy_{self.name}'>"

    def __getattr__(self, method):
        if method not in ("reduce", "accumulate", "reduceat", "outer", "at"):
            raise AttributeError(method)
        return lambda *args, **kwargs: _apply_ufunc(self._uf, method, args, kwargs)


# ------------------------------------------------------------------ the array

def _flat(x):
    """Every leaf of nested tuples/lists/dicts."""
    if isinstance(x, dict):
        x = tuple(x.values())
    if isinstance(x, (tuple, list)):
        for y in x:
            yield from _flat(y)
    else:
        yield x


def _wrap_around(shape, index):
    """`index` with its integer-array parts taken modulo their axis' length: CuPy wraps an
    out-of-range integer-array index around where NumPy raises IndexError. (Only for keys
    of ints, slices and integer arrays, one per leading axis.)"""
    key = index if isinstance(index, tuple) else (index,)
    if len(key) > len(shape) or not any(isinstance(k, numpy.ndarray) for k in key):
        return index
    if any(k is None or k is Ellipsis or (isinstance(k, numpy.ndarray) and k.dtype.kind not in "iu")
           for k in key):
        return index
    key = tuple(k % shape[i] if isinstance(k, numpy.ndarray) and shape[i] else k
                for i, k in enumerate(key))
    return key if isinstance(index, tuple) else key[0]


class _Flags:
    """CuPy's flags: c_contiguous, f_contiguous, owndata (no `writeable`)."""

    def __init__(self, f):
        self.c_contiguous, self.f_contiguous, self.owndata = (f.c_contiguous, f.f_contiguous,
                                                              f.owndata)

    def __getitem__(self, key):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[key]


class _Pointer:
    def __init__(self, ptr):
        self.ptr, self.device_id = ptr, 0


def _method(name, numpy_ok=False):
    def method(self, *args, **kwargs):
        if not numpy_ok:
            _reject_numpy((args, kwargs))
        for key in ("initial", "where"):   # CuPy's array reductions take neither
            if key in kwargs:
                raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")
        result = getattr(self._a, name)(*_unwrap(args), **_unwrap(kwargs))
        return self if result is self._a else _result(result, kwargs.get("out"))
    method.__name__ = name
    return method


class ndarray(numpy.lib.mixins.NDArrayOperatorsMixin):
    """A device array: a private NumPy buffer `_a`; operators and NumPy calls return fakes."""
    __module__ = "cupy"   # ember tells CuPy arrays by their type's module

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = _cuda_emu().garbage(numpy.empty(shape, dtype, order=order))
        _owners[id(self._a)] = self

    @classmethod
    def _from(cls, a):
        self = cls.__new__(cls)
        self._a = a
        if a.base is None and id(a) not in _owners:
            _owners[id(a)] = self
        return self

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, uf, method, *inputs, **kwargs):
        return _apply_ufunc(uf, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        override = _OVERRIDES.get(func)
        if override is not None:
            return override(*args, **kwargs)
        return _function(func)(*args, **kwargs)

    # -- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a.flags))
    T = property(lambda self: _wrap(self._a.T))
    real = property(lambda self: _wrap(self._a.real))
    imag = property(lambda self: _wrap(self._a.imag))
    data = property(lambda self: _Pointer(self._a.__array_interface__["data"][0]))
    device = property(lambda self: cuda.Device(0))

    @property
    def base(self):
        root = self._a.base
        if not isinstance(root, numpy.ndarray):
            return None
        owner = _owners.get(id(root))
        return owner if owner is not None and owner._a is root else ndarray._from(root)

    @property
    def __cuda_array_interface__(self):
        face = self._a.__array_interface__
        return {"shape": face["shape"], "typestr": face["typestr"], "data": face["data"],
                "strides": face["strides"], "version": 3}

    # -- host transfer and Python conversions (CuPy allows these on size-1 arrays); each
    # counts as a host synchronization (host_syncs())
    def get(self, stream=None, order="C", out=None, blocking=True):
        _sync()
        if out is not None:
            out[...] = self._a
            return out
        return numpy.array(self._a, order=order)

    def set(self, arr, stream=None):
        self._a[...] = arr

    def item(self, *args):
        _sync()
        return self._a.item(*args)

    def tolist(self):
        _sync()
        return self._a.tolist()

    def __bool__(self):
        _sync()
        return bool(self._a)

    def __float__(self):
        _sync()
        return float(self._a)

    def __int__(self):
        _sync()
        return int(self._a)

    def __complex__(self):
        _sync()
        return complex(self._a)

    def __index__(self):
        if self.dtype.kind not in "iu" or self.size != 1:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        _sync()
        return int(self._a.reshape(()))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        _sync()
        return repr(self._a)

    def __str__(self):
        _sync()
        return str(self._a)

    def __format__(self, spec):
        _sync()
        return self._a.__format__(spec)

    # -- indexing: a scalar element is a 0-d view, never a NumPy scalar
    def __getitem__(self, index):
        index = _wrap_around(self._a.shape, _unwrap(index))
        result = self._a[index]
        if not isinstance(result, numpy.ndarray):
            index = index if isinstance(index, tuple) else (index,)
            result = self._a[index + (Ellipsis,)]
        return ndarray._from(result)

    def __setitem__(self, index, value):
        if isinstance(value, numpy.ndarray) and value.ndim > 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        self._a[_wrap_around(self._a.shape, _unwrap(index))] = _unwrap(value)

    def fill(self, value):
        if isinstance(value, numpy.ndarray) and value.ndim > 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        self._a.fill(_unwrap(value))

    def sort(self, axis=-1, kind=None):
        self._a.sort(axis=axis, kind=kind)

    for _name in ("view", "astype", "copy", "swapaxes", "sum", "mean", "max", "min", "argmax",
                  "argmin", "prod", "any", "all", "cumsum", "cumprod", "std", "var", "ravel",
                  "flatten", "squeeze", "clip", "round", "conj", "conjugate", "nonzero",
                  "argsort", "dot", "diagonal", "trace", "searchsorted", "partition",
                  "argpartition", "compress", "__copy__"):
        locals()[_name] = _method(_name)
    for _name in ("reshape", "transpose", "repeat", "take", "put"):
        locals()[_name] = _method(_name, numpy_ok=True)   # shapes and host indices
    del _name


# ------------------------------------------------------------------ the `cupy` namespace

def empty(shape, dtype=float, order="C"):
    """New device memory, which on a GPU holds whatever the pool's block held before: here
    garbage (NaN, a large integer: cuda_emu.garbage), so that reading it before writing it
    fails every time (EMBER_FAKE_CUDA_POISON=0: NumPy's empty)."""
    return ndarray._from(_cuda_emu().garbage(numpy.empty(shape, dtype, order=order)))


def empty_like(prototype, dtype=None, order="K", subok=None, shape=None):
    """As empty(), shaped like `prototype` (a fake or a host array, as on CuPy)."""
    a = numpy.empty_like(_unwrap(prototype), dtype=dtype, order=order, shape=shape)
    return ndarray._from(_cuda_emu().garbage(a))


def _empty_pinned(shape, dtype=float, order="C"):
    return _cuda_emu().garbage(numpy.empty(shape, dtype, order=order))


def _empty_like_pinned(a, dtype=None, order="K", subok=None, shape=None):
    return _cuda_emu().garbage(numpy.empty_like(_unwrap(a), dtype=dtype, order=order,
                                                shape=shape))


def asarray(a, dtype=None, order=None, *, blocking=False):
    if isinstance(a, ndarray):
        return a if dtype is None or numpy.dtype(dtype) == a.dtype else a.astype(dtype)
    return array(a, dtype=dtype, order=order or "K")


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    return ndarray._from(numpy.array(_unwrap(obj), dtype=dtype, copy=True, order=order,
                                     ndmin=ndmin))


asanyarray = asarray


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return numpy.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else numpy


def lexsort(keys):
    if not isinstance(keys, ndarray):
        raise AttributeError(f"'{type(keys).__name__}' object has no attribute 'ndim'")
    return _wrap(numpy.lexsort(keys._a))


ascontiguousarray = _function(numpy.ascontiguousarray)
asfortranarray = _function(numpy.asfortranarray)
_OVERRIDES = {numpy.lexsort: lexsort, numpy.empty_like: empty_like}


def _no_kernels(*args, **kwargs):
    raise NotImplementedError(_NO_KERNELS)


ReductionKernel = fuse = _no_kernels


def _cuda_emu():
    """The module tests/cuda_emu.py (importable without g++)."""
    try:
        from . import cuda_emu
    except ImportError:   # this file imported outside the tests package
        import cuda_emu
    return cuda_emu


def _emulator():
    """tests/cuda_emu.py, which runs CUDA kernels on the CPU through g++; NotImplementedError
    where it cannot (no g++, EMBER_CUDA_EMU=0), so that callers take their fallbacks."""
    cuda_emu = _cuda_emu()
    if not cuda_emu.available():
        raise NotImplementedError(_NO_KERNELS)
    return cuda_emu


def _launch_args(args):
    """A kernel's arguments as the emulator takes them: fakes -> their NumPy buffers (a
    launch reads no value on the host, so it is no host sync); host arrays raise, as on
    CuPy."""
    _reject_numpy(args)
    return _unwrap(tuple(args))


class _Function:
    """A kernel of a RawModule: fn(grid, block, args, shared_mem=0, stream=None)."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, grid, block, args, *, shared_mem=0, stream=None):
        self._fn(grid, block, _launch_args(args), shared_mem)


class RawModule:
    """CUDA C++ run on the CPU (tests/cuda_emu.py); get_function(name) -> a kernel."""

    def __init__(self, code=None, path=None, options=(), backend="nvrtc",
                 translate_cucomplex=False, *, enable_cooperative_groups=False,
                 name_expressions=None, jitify=False):
        emu = _emulator()
        if code is None:
            with open(path) as f:
                code = f.read()
        self._module = emu.Module(code, options, name_expressions or ())

    def get_function(self, name):
        return _Function(self._module.get_function(name))


class RawKernel:
    """One extern "C" kernel `name` of `code`, run on the CPU: k(grid, block, args)."""

    def __init__(self, code, name, options=(), backend="nvrtc", translate_cucomplex=False,
                 *, enable_cooperative_groups=False, jitify=False):
        self.code, self.name = code, name
        self._module = _emulator().Module(code, options, (name,))

    def __call__(self, grid, block, args, *, shared_mem=0, stream=None):
        _Function(self._module.get_function(self.name))(grid, block, args,
                                                        shared_mem=shared_mem)


class ElementwiseKernel:
    """CuPy's ElementwiseKernel run on the CPU (tests/cuda_emu.py): k(*inputs[, *outputs])
    returns the output fakes (those given, or new ones)."""

    def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True,
                 preamble="", no_return=False, return_tuple=False, loop_prep="",
                 after_loop="", options=()):
        self._k = _emulator().ElementwiseKernel(
            in_params, out_params, operation, name, reduce_dims, preamble, no_return,
            return_tuple, loop_prep, after_loop, options)

    def __call__(self, *args, size=None, block_size=None, stream=None):
        given = {id(a._a): a for a in args if isinstance(a, ndarray)}
        out = self._k(*_launch_args(args), size=size)

        def fake(o):   # (never `given.get(...) or ...`: bool() of a fake is a host read)
            return given[id(o)] if id(o) in given else ndarray._from(o)
        if isinstance(out, tuple):
            return tuple(fake(o) for o in out)
        return None if out is None else fake(out)

_NUMPY_OK = {"result_type", "can_cast", "promote_types", "min_scalar_type", "isscalar", "ndim",
             "shape", "size", "iscomplexobj", "isrealobj"}


@functools.lru_cache(maxsize=None)
def _mirror(module, name):
    """`module.name` (a NumPy module) as CuPy would have it."""
    obj = getattr(module, name)
    if isinstance(obj, numpy.ufunc):
        return ufunc(obj)
    if isinstance(obj, types.ModuleType):
        raise AttributeError(f"fakecupy has no submodule {name!r}")
    if isinstance(obj, type) or not callable(obj):   # dtypes, scalar types, constants
        return obj
    return _function(obj, numpy_ok=name in _NUMPY_OK or name.endswith("_like"))


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _mirror(numpy, name)


class _Mirror(types.ModuleType):
    """A submodule whose missing attributes come from a NumPy module, wrapped."""

    def __init__(self, name, np_module=None, **attrs):
        super().__init__(name)
        self._np = np_module
        self.__dict__.update(attrs)

    def __getattr__(self, name):
        if self._np is None or name.startswith("__"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        return _mirror(self._np, name)


# -- linalg: CuPy does not check for singular inputs unless told to
def _unchecked(np_func):
    def func(a, *args, **kwargs):
        try:
            return _function(np_func)(a, *args, **kwargs)
        except numpy.linalg.LinAlgError:
            if _state["linalg"] == "raise":
                raise
            shape = numpy.broadcast_shapes(a.shape, *[getattr(b, "shape", ()) for b in args])
            return ndarray._from(numpy.full(shape, numpy.nan, dtype=numpy.result_type(a, 1.0)))
    return func


linalg = _Mirror("cupy.linalg", numpy.linalg, inv=_unchecked(numpy.linalg.inv),
                 solve=_unchecked(numpy.linalg.solve),
                 cholesky=_unchecked(numpy.linalg.cholesky))
fft = _Mirror("cupy.fft", numpy.fft)


def _as_strided(x, shape=None, strides=None):
    _reject_numpy(x)
    return _wrap(numpy.lib.stride_tricks.as_strided(x._a, shape, strides))


lib = _Mirror("cupy.lib")
lib.stride_tricks = _Mirror("cupy.lib.stride_tricks", as_strided=_as_strided,
                            sliding_window_view=_function(
                                numpy.lib.stride_tricks.sliding_window_view))
testing = _Mirror("cupy.testing", **{
    name: (lambda f: lambda *a, **k: f(*[asnumpy(x) for x in a], **k))(getattr(numpy.testing, name))
    for name in ("assert_allclose", "assert_array_equal", "assert_array_almost_equal")})


# ------------------------------------------------------------------ random

def _sampler(source, name):
    def sample(*args, **kwargs):
        result = getattr(source(), name)(*_unwrap(args), **_unwrap(kwargs))
        return None if result is None else _wrap(numpy.asarray(result))
    sample.__name__ = name
    return sample


_SAMPLERS = ("random", "standard_normal", "normal", "uniform", "integers", "permutation",
             "choice", "binomial", "poisson", "exponential", "gamma", "beta", "multinomial",
             "standard_exponential", "standard_gamma", "shuffle")
_LEGACY = ("rand", "randn", "randint", "random_sample", "normal", "uniform", "standard_normal",
           "permutation", "choice", "shuffle", "binomial", "poisson", "exponential", "gamma",
           "beta", "multinomial", "random")


class XORWOW:
    def __init__(self, seed=None, *, size=-1):
        self.seed = seed


Philox4x3210 = MRG32k3a = XORWOW


class Generator:
    def __init__(self, bit_generator):
        self._rng = numpy.random.default_rng(bit_generator.seed)
        for name in _SAMPLERS:
            setattr(self, name, _sampler(lambda: self._rng, name))


class RandomState:
    def __init__(self, seed=None):
        self._rs = numpy.random.RandomState(seed)
        for name in _LEGACY:
            setattr(self, name, _sampler(lambda: self._rs, name))

    def seed(self, seed=None):
        self._rs.seed(seed)


_global_rs = RandomState()
random = _Mirror("cupy.random", default_rng=lambda seed=None: Generator(XORWOW(seed)),
                 Generator=Generator, XORWOW=XORWOW, Philox4x3210=Philox4x3210,
                 MRG32k3a=MRG32k3a, RandomState=RandomState, seed=_global_rs.seed,
                 get_random_state=lambda: _global_rs,
                 **{n: _sampler(lambda: _global_rs._rs, n) for n in _LEGACY})


# ------------------------------------------------------------------ cuda

class CUDARuntimeError(RuntimeError):
    pass


_TOTAL_MEM = 80 * 2**30
_PROPERTIES = {"name": b"FakeGPU", "totalGlobalMem": _TOTAL_MEM, "major": 9, "minor": 0,
               "multiProcessorCount": 1}


class Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        self.compute_capability = "90"

    def use(self):
        if self.id != 0:
            raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def synchronize(self):
        pass

    mem_info = property(lambda self: (_TOTAL_MEM, _TOTAL_MEM))

    def __enter__(self):
        self.use()
        return self

    def __exit__(self, *exc):
        return False

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.disable_timing, self.time, self.done = disable_timing, None, True

    def record(self, stream=None):
        self.time = time.perf_counter()

    def synchronize(self):
        pass

    def query(self):
        return True


def get_elapsed_time(start, end):
    if start.disable_timing or end.disable_timing or None in (start.time, end.time):
        raise CUDARuntimeError("cudaErrorInvalidResourceHandle: invalid resource handle")
    return (end.time - start.time) * 1000.0


class Stream:
    _next_ptr = 0x1000

    def __init__(self, null=False, non_blocking=False, ptr=0, priority=0):
        self.ptr = 0 if null else Stream._next_ptr
        Stream._next_ptr += 0x10 * (not null)
        self.done = True

    def synchronize(self):
        pass

    def record(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def wait_event(self, event):
        pass

    def use(self):
        _state["streams"][-1:] = [self]
        return self

    def __enter__(self):
        _state["streams"].append(self)
        return self

    def __exit__(self, *exc):
        _state["streams"].pop()
        return False


Stream.null = Stream(null=True)


class _MemoryPool:
    def __init__(self):
        self._limit = 0

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_bytes(self):
        return 0

    def n_free_blocks(self):
        return 0

    def free_all_blocks(self, stream=None):
        pass

    def set_limit(self, size=None, fraction=None):
        self._limit = int(fraction * _TOTAL_MEM) if fraction is not None else (size or 0)

    def get_limit(self):
        return self._limit


_pool, _pinned_pool = _MemoryPool(), _MemoryPool()
get_default_memory_pool = lambda: _pool                  # noqa: E731
get_default_pinned_memory_pool = lambda: _pinned_pool    # noqa: E731

runtime = _Mirror(
    "cupy.cuda.runtime", CUDARuntimeError=CUDARuntimeError, getDeviceCount=lambda: 1,
    getDeviceProperties=lambda i: dict(_PROPERTIES), deviceSynchronize=lambda: None,
    memGetInfo=lambda: (_TOTAL_MEM, _TOTAL_MEM), getDevice=lambda: 0,
    setDevice=lambda i: Device(i).use(), runtimeGetVersion=lambda: 12080,
    driverGetVersion=lambda: 12080)
cuda = _Mirror(
    "cupy.cuda", is_available=lambda: True, runtime=runtime, Device=Device, Stream=Stream,
    Event=Event, get_elapsed_time=get_elapsed_time,
    get_current_stream=lambda: (_state["streams"] or [Stream.null])[-1],
    alloc_pinned_memory=bytearray, get_device_id=lambda: 0,
    MemoryPool=_MemoryPool, PinnedMemoryPool=_MemoryPool)


# ------------------------------------------------------------------ cupyx


@contextlib.contextmanager
def _errstate(*, linalg=None, **numpy_kwargs):
    saved = _state["linalg"]
    _state["linalg"] = linalg or saved
    try:
        with numpy.errstate(**numpy_kwargs):
            yield
    finally:
        _state["linalg"] = saved


def _scatter(np_ufunc):
    """cupyx.scatter_add/max/min: ufunc.at that takes tuple keys."""
    def scatter(a, slices, value):
        np_ufunc.at(*_unwrap((a, slices, value)))
    return scatter


cupyx = _Mirror(
    "cupyx", scatter_add=_scatter(numpy.add), scatter_max=_scatter(numpy.maximum),
    scatter_min=_scatter(numpy.minimum), seterr=numpy.seterr, geterr=numpy.geterr,
    errstate=_errstate, empty_pinned=_empty_pinned, zeros_pinned=numpy.zeros,
    empty_like_pinned=_empty_like_pinned, zeros_like_pinned=numpy.zeros_like)
cupyx.scipy = _Mirror("cupyx.scipy")


# -- special functions: scipy.special's when scipy is installed, else a few written here
def _erfinv(x):
    """Giles' approximation, polished by Newton steps on math.erf."""
    if abs(x) >= 1:
        return math.copysign(math.inf, x) if abs(x) == 1 else math.nan
    w = -math.log((1.0 - x) * (1.0 + x))
    if w < 5:
        w, c = w - 2.5, (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                         0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
    else:
        w, c = math.sqrt(w) - 3, (-0.000200214257, 0.000100950558, 0.00134934322,
                                  -0.00367342844, 0.00573950773, -0.0076224613,
                                  0.00943887047, 1.00167406, 2.83297682)
    y = functools.reduce(lambda acc, k: acc * w + k, c[1:], c[0]) * x
    for _ in range(2):
        y -= (math.erf(y) - x) / (2 / math.sqrt(math.pi) * math.exp(-y * y))
    return y


def _ndtri(p):
    if not 0 < p < 1:
        return {0: -math.inf, 1: math.inf}.get(p, math.nan)
    if p > 0.5:
        return -_ndtri(1 - p)
    x = math.sqrt(2) * _erfinv(2 * p - 1) if p > 1e-8 else -math.sqrt(-2 * math.log(p))
    for _ in range(50):   # Newton on log(ndtr), well conditioned in the tail
        log_cdf = _log_ndtr(x)
        step = (log_cdf - math.log(p)) * math.exp(log_cdf + x * x / 2 - _LOG_SQRT_2PI)
        x -= step
        if abs(step) <= 1e-15 * abs(x):
            break
    return x


_LOG_SQRT_2PI = -0.5 * math.log(2 * math.pi)


def _log_ndtr(x):
    if x > -35:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2)))
    return -x * x / 2 - math.log(-x) + _LOG_SQRT_2PI + math.log1p(-1 / x**2 + 3 / x**4)


def _zeta(s, q):
    """Hurwitz zeta by Euler-Maclaurin: sum of the first N terms plus the tail."""
    if s == 1:
        return math.inf
    if q <= 0 and q == int(q):
        return math.inf
    n = 9
    head = sum((q + k) ** -s for k in range(n))
    a, tail = q + n, (q + n) ** (1 - s) / (s - 1) + 0.5 * (q + n) ** -s
    term, fact = s * a ** (-s - 1), 1.0
    for j, b in enumerate((1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)):
        fact *= (2 * j + 1) * (2 * j + 2) if j else 2
        tail += b / fact * term
        term *= (s + 2 * j + 1) * (s + 2 * j + 2) / (a * a)
    return head + tail


def _digamma(x):
    if math.isinf(x):
        return x if x > 0 else math.nan
    if x == 0:   # as cupyx (and SciPy): the sign of zero picks the infinity
        return math.copysign(math.inf, -x)
    if x < 0 and x == int(x):
        return math.nan
    if x < 0:
        return _digamma(1 - x) - math.pi / math.tan(math.pi * x)
    shift = 0.0
    while x < 6:
        shift, x = shift - 1 / x, x + 1
    x2 = 1 / (x * x)
    return shift + math.log(x) - 0.5 / x - x2 * (1 / 12 - x2 * (1 / 120 - x2 * (1 / 252 - x2 / 240)))


def _polygamma(n, x):
    if n == 0:
        return _digamma(x)
    return (-1) ** (n + 1) * math.factorial(int(n)) * _zeta(n + 1, x)


def _lgamma(x):
    return math.inf if math.isinf(x) or (x <= 0 and x == int(x)) else math.lgamma(x)


def _xlogy(x, y, log=math.log, pole=0.0):
    if x == 0 and not math.isnan(y):
        return 0.0
    if y > pole:
        return x * log(y)
    return x * -math.inf if y == pole else math.nan


def _logit(p):
    if 0 < p < 1:
        return math.log(p / (1 - p))
    return {0: -math.inf, 1: math.inf}.get(p, math.nan)


_SPECIAL = {
    "erf": math.erf, "erfc": math.erfc, "erfinv": _erfinv, "gammaln": _lgamma,
    "digamma": _digamma, "psi": _digamma, "ndtri": _ndtri, "log_ndtr": _log_ndtr,
    "ndtr": lambda x: 0.5 * math.erfc(-x / math.sqrt(2)),
    "i0": lambda x: float(numpy.i0(x)),
    "i0e": lambda x: float(numpy.i0(x)) * math.exp(-abs(x)),
    "expit": lambda x: 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x)),
    "logit": _logit,
    "entr": lambda x: -x * math.log(x) if x > 0 else 0.0 if x == 0 else -math.inf,
    "xlogy": _xlogy, "xlog1py": lambda x, y: _xlogy(x, y, math.log1p, -1.0),
    "zeta": _zeta, "polygamma": _polygamma,
}


class _Special:
    """A scalar function from `_SPECIAL` applied elementwise like a CuPy ufunc."""

    def __init__(self, name, fn):
        self.__name__ = self.name = name
        self._fn = numpy.vectorize(fn, otypes=[numpy.float64])

    def __call__(self, *args):
        _check_inputs(args)
        xs = [numpy.asarray(_unwrap(a)) for a in args]
        dtype = numpy.result_type(*xs, numpy.float32)
        with numpy.errstate(all="ignore"):
            return _wrap(self._fn(*xs).astype(dtype))


def _special_module():
    module = _Mirror("cupyx.scipy.special")
    if importlib.util.find_spec("scipy") is not None:
        import scipy.special as sp
        module.__dict__.update({n: ufunc(f) for n, f in vars(sp).items()
                                if isinstance(f, numpy.ufunc)})
    else:
        module.__dict__.update({n: _Special(n, f) for n, f in _SPECIAL.items()})
    return module


cupyx.scipy.special = _special_module()


# ------------------------------------------------------------------ install

def install(force=None):
    """Register this module as `cupy` (and `cupyx`) unless a real CuPy is importable;
    EMBER_FAKE_CUDA=1 (or force=True) installs it regardless. Returns the `cupy` in use."""
    if force is None:
        force = os.environ.get("EMBER_FAKE_CUDA") == "1"
    if not force and "cupy" not in sys.modules and importlib.util.find_spec("cupy") is not None:
        import cupy
        return cupy
    module = sys.modules[__name__]
    sys.modules.update({
        "cupy": module, "cupy.cuda": cuda, "cupy.cuda.runtime": runtime, "cupy.random": random,
        "cupy.linalg": linalg, "cupy.fft": fft, "cupy.lib": lib, "cupy.testing": testing,
        "cupy.lib.stride_tricks": lib.stride_tricks, "cupyx": cupyx,
        "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special})
    return module
