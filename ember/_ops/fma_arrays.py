"""In-place updates that round as PyTorch's CPU kernels do, where that is cheap (the
optimizers' steps, through ember/optim/_fma.py, and the _foreach_* fast path).

torch's ``y.add_(x, alpha=a)`` (and ``lerp_``, ``addcmul_``) compute on float32/float64 CPU
tensors with a fused multiply-add, vectorized lanes and scalar tails alike: ``a`` is rounded
to y's dtype, then ``a * x + y`` is rounded once. NumPy rounds the product and the sum
separately, which differs in the last bit at a few percent of the elements and drifts over
many optimizer steps. Here:

- `axpy_` (y += a * x, a scalar) calls the ``?axpy`` of the OpenBLAS that NumPy's wheel
  ships (ember/_backend/cpu_blas.py finds it), whose kernels are fused multiply-adds: one
  pass in place, faster than NumPy's two, and torch's values bit for bit. It is used only
  after a probe at first use finds its results equal to the emulation below on every tail
  length; else (and for strided operands) the emulation runs: for float32 the product of
  two float32 numbers is exact in float64, so the float64 sum rounded to float32 is the
  FMA's result (except where the float64 sum lies on a float32 half-way point, ~2**-29 of
  the cases); float64 uses an error-free product and sum (ember/_ops/pointwise_more._fma64).
- `lerp_` (torch's ``lerp_`` with a number weight) is a difference and an `axpy_`.
- `fma_` (y += a * b, arrays: torch's addcmul_) rounds twice, for speed (see its docstring).

OpenBLAS splits an axpy of more than 10,000 values over its threads; the optimizers run
their updates with it at one thread (ember/optim/_foreach.for_each), as their own two
threads already share the cores.
- Other dtypes (float16, bfloat16; complex runs as real views) and CuPy arrays take the
  plain two-rounding formula.
"""
import ctypes
import threading
import weakref

import numpy as np

from .._backend import array_namespace, cpu_blas

__all__ = ["axpy", "axpy_", "axpy_list_", "fma_", "lerp_", "lerp_list_"]

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_address, _CHAR = ctypes.addressof, ctypes.c_char
_STATE = {}      # "fns": {dtype: ctypes ?axpy} once probed ({} when none works)
_RAW = {}        # dtype: (?axpy without argtypes, its integer type, its real type)
_local = threading.local()


def _load():
    for path in cpu_blas._candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix, int_t in (("64_", ctypes.c_int64), ("", ctypes.c_int32)):
            fns = {}
            for dt, ch, real in ((_F32, "s", ctypes.c_float), (_F64, "d", ctypes.c_double)):
                fn = getattr(lib, f"scipy_cblas_{ch}axpy{suffix}", None)
                if fn is None:
                    break
                fn.argtypes = [int_t, real, ctypes.c_void_p, int_t, ctypes.c_void_p, int_t]
                fn.restype = None
                fns[dt] = fn
                # the same function without argtypes, called with ctypes objects (axpy_list_)
                raw = lib[f"scipy_cblas_{ch}axpy{suffix}"]
                raw.restype = None
                _RAW[dt] = (raw, int_t, real)
            if len(fns) == 2:
                got = {dt: fn for dt, fn in fns.items() if _works(dt, fn)}
                for dt in list(_RAW):
                    if dt not in got:
                        del _RAW[dt]
                return got
            _RAW.clear()
    return {}


def _works(dt, fn):
    """Whether `fn` gives the emulated FMA's values on random data of every length up to
    70 (the SIMD tails) and a longer one."""
    rng = np.random.default_rng(0)
    for n in list(range(1, 71)) + [1000]:
        x, y = rng.standard_normal((2, n)).astype(dt)
        a = dt.type(-0.0123)
        want = y.copy()
        _emulated(want, a, x)
        fn(n, a, x.ctypes.data, 1, y.ctypes.data, 1)
        if not np.array_equal(y, want):
            return False
    return True


def _blas(dt):
    fns = _STATE.get("fns")
    if fns is None:
        fns = _STATE["fns"] = _load()
    return fns.get(dt)


def _f64(shape):
    """Two float64 scratch arrays of `shape` this thread keeps between calls."""
    bufs = getattr(_local, "bufs", None)
    n = int(np.prod(shape))
    if bufs is None or bufs[0].size < n:
        bufs = _local.bufs = (np.empty(max(n, 1), _F64), np.empty(max(n, 1), _F64))
    return bufs[0][:n].reshape(shape), bufs[1][:n].reshape(shape)


def _fma32(y, a, b):
    """y <- RN32(a * b + y) for float32 arrays (b may be a float64 number): the product is
    exact in float64, the float64 sum rounded to float32 is the FMA's (but for a float64
    sum on a float32 half-way point). Whole-array casts by copyto (NumPy's mixed-dtype
    ufunc loops cast through small buffers, ~15% slower)."""
    t, u = _f64(y.shape)
    np.copyto(t, a)
    if isinstance(b, np.ndarray):
        np.copyto(u, b)
        np.multiply(t, u, out=t)
    else:
        np.multiply(t, b, out=t)
    np.copyto(u, y)
    np.add(t, u, out=t)
    np.copyto(y, t, casting="unsafe")


def _emulated(y, a, x):
    if y.dtype == _F32:
        _fma32(y, x, np.float64(a))
    else:
        from .._ops.pointwise_more import _fma64
        y[...] = _fma64(x, np.full(y.shape, a, _F64), y)


def axpy_(y, a, x):
    """y <- y + a * x in place (a a number, x an array of y's shape), as torch's
    ``y.add_(x, alpha=a)``: a rounded to y's dtype, one rounding of the sum on NumPy
    float32/float64 arrays."""
    dt = y.dtype
    if type(y) is np.ndarray and type(x) is not np.ndarray:
        x = np.asarray(x)      # (a NumPy scalar: an operation's 0-dim result)
    if type(y) is not np.ndarray or dt not in (_F32, _F64) or x.dtype != dt:
        y += x * a
        return y
    a = dt.type(a)
    if not _blas_axpy(y, a, x) and y.size:
        _emulated(y, a, np.broadcast_to(x, y.shape))
    return y


def axpy(x, y, a):
    """x + a * y as a new array, as torch's ``add(x, y, alpha=a)`` (``sub`` with -a) computes
    on float32/float64 CPU tensors: a rounded to the dtype, the multiply-add rounded once.
    x and y NumPy arrays of one float32/float64 dtype, broadcast. A copy of x and ?axpy into
    it: one pass more than NumPy's x + a * y on float64, and on float32 ~8x faster than the
    float64 round trip it replaces (1M values, one thread)."""
    if x.shape == y.shape:
        out = x.copy()
    else:
        out = np.empty(np.broadcast_shapes(x.shape, y.shape), x.dtype)
        out[...] = x
        y = np.broadcast_to(y, out.shape)
    dt = out.dtype
    a = dt.type(a)
    if a == 0:      # (exact either way; NumPy keeps -0.0 + -0.0 * 0 negative, as torch)
        with np.errstate(invalid="ignore"):
            out += a * y
    elif not _blas_axpy(out, a, y) and out.size:
        with np.errstate(all="ignore"):
            _emulated(out, a, y)
    return out


def _blas_axpy(y, a, x):
    """y += a * x by ?axpy where it applies (y, x NumPy arrays of one shape and of y's
    dtype, float32/float64, C-contiguous, y writable; a of y's dtype, not 0: ?axpy skips
    a == 0, where torch's 0 * inf is NaN). Whether it did."""
    fn = _blas(y.dtype) if a != 0 else None
    if fn is None or not y.size or x.shape != y.shape:
        return False
    yf, xf = y.flags, x.flags
    if not (yf.c_contiguous and yf.writeable and xf.c_contiguous):
        return False
    # (addresses through the buffer protocol: ~3.5x cheaper than .ctypes.data; a step of
    # many small parameters pays this per parameter)
    xa = _address(_CHAR.from_buffer(x)) if xf.writeable else x.ctypes.data
    fn(y.size, a, xa, 1, _address(_CHAR.from_buffer(y)), 1)
    return True


def axpy_list_(ys, a, xs):
    """y += a * x for each pair of NumPy arrays of one float32/float64 dtype (a rounded to
    it, one rounding: `axpy_`), by one ?axpy call per pair with its arguments kept as ctypes
    objects (a _foreach op's list of small tensors: ~2x less Python per tensor than
    concatenating them). The caller checks: each y C-contiguous, writeable, disjoint from
    its x; each x C-contiguous of y's shape. Whether it did (False: no probed ?axpy, or
    a == 0, which ?axpy skips)."""
    if not ys:
        return True
    dt = ys[0].dtype
    if _blas(dt) is None or dt not in _RAW:
        return False
    fn, int_t, real = _RAW[dt]
    a = dt.type(a)
    if a == 0:
        return False
    ca, one, ptrs = real(a), int_t(1), _PTRS
    for y, x in zip(ys, xs):
        ey = ptrs.get(id(y))
        if ey is None or ey[0]() is not y or ey[2].value != y.size:
            ey = _remember(y, int_t)
        ex = ptrs.get(id(x))
        if ex is None or ex[0]() is not x or ex[2].value != x.size:
            ex = _remember(x, int_t)
        fn(ey[2], ca, ex[1], one, ey[1], one)
    return True


def lerp_list_(starts, ends, weight):
    """start <- torch's start.lerp_(end, weight) (a number weight: `lerp_`'s formula and
    roundings) for each pair, the difference in a scratch buffer kept between calls and the
    multiply-add by one ?axpy call per pair (axpy_list_). The caller checks as for
    axpy_list_ (each end of its start's shape, C-contiguous). Whether it did."""
    if not starts:
        return True
    dt = starts[0].dtype
    if _blas(dt) is None or dt not in _RAW:
        return False
    weight = float(weight)
    coef = _COEF.get((weight, dt))
    if coef is None:
        coef = _coefficient(weight, dt)
    small, a = coef
    if a == 0:
        return False
    fn, int_t, real = _RAW[dt]
    buf, buf_ptr = _lerp_scratch(dt, max(x.size for x in starts))
    ca, one, ptrs = real(a), int_t(1), _PTRS
    subtract, copyto = np.subtract, np.copyto
    for x, e in zip(starts, ends):
        n = x.size
        d = buf[:n] if x.ndim == 1 else buf[:n].reshape(x.shape)
        subtract(e, x, out=d)
        if not small:
            copyto(x, e)
        ex = ptrs.get(id(x))
        if ex is None or ex[0]() is not x or ex[2].value != n:
            ex = _remember(x, int_t)
        fn(ex[2], ca, buf_ptr, one, ex[1], one)
    return True


def _lerp_scratch(dt, n):
    """This thread's float buffer of dt (n values or more) and its address (c_void_p)."""
    bufs = getattr(_local, "lerp", None)
    if bufs is None:
        bufs = _local.lerp = {}
    got = bufs.get(dt)
    if got is None or got[0].size < n:
        buf = np.empty(max(n, 1024), dt)
        got = bufs[dt] = (buf, ctypes.c_void_p(buf.ctypes.data))
    return got


_PTRS = {}   # id(array): (weak reference, data address as c_void_p, size as the int type)


def _remember(x, int_t):
    key = id(x)
    if len(_PTRS) > 8192:
        _PTRS.clear()

    def forget(ref, key=key):
        if _PTRS.get(key, (None,))[0] is ref:
            del _PTRS[key]
    entry = _PTRS[key] = (weakref.ref(x, forget), ctypes.c_void_p(x.ctypes.data),
                          int_t(x.size))
    return entry


def fma_(y, a, b, value=None):
    """y <- y + (value * a) * b in place, arrays of y's shape: torch's
    ``y.addcmul_(a, b, value=value)`` with value * a rounded first (skipped when value is
    None), then the product and the sum each rounded (NumPy has no fused multiply-add).

    torch's CPU kernel fuses the last multiply-add (one rounding), so a few percent of the
    elements differ from it in the last bit. An exact emulation (float32 through float64,
    OpenBLAS's dsbmv for float64) was measured: float32 Adam 23.5 -> 34.3 ms a step on 9.9M
    values, float64 about 2x (bench/op_step.py, session 20), while the optimizers that
    use this (Adam-family second moments, RMSprop, Adagrad, Adadelta) still differ from
    torch's through its sqrt (MKL's, not correctly rounded). Speed won. Measured again in
    session 22 with the cheapest exact float32 form (value * a rounded, then
    RN32(f64(p) * f64(b) + f64(y)) into kept float64 scratch, _fma32; its values equal
    torch's on 100K random elements): adam_step 24.3 -> 37.0 ms (1.52x, process CPU time,
    one thread, load ~14). NumPy's float32 -> float64 casts (~0.15 ns a value, as much as a
    float64 multiply) are the cost; computing in L2-sized blocks did not help."""
    if value is not None:
        a = a * (y.dtype.type(value) if isinstance(y, np.ndarray) else value)
    y += a * b
    return y


def lerp_(start, end, weight, scratch=None):
    """start <- start + weight * (end - start) in place, as torch's ``start.lerp_(end,
    weight)`` with a number weight: its two-sided formula (``end + (weight - 1) * (end -
    start)`` when |weight| >= 0.5), weight in start's dtype, and the multiply-add rounded
    once (axpy_) on float32/float64 NumPy arrays; the difference goes into `scratch` (an
    array like start) when given."""
    if type(start) is not np.ndarray:
        diff = array_namespace(start).subtract(end, start, out=scratch)
        return _lerp_from(start, end, weight, diff)
    diff = np.subtract(end, start, out=scratch)
    if type(diff) is not np.ndarray:    # (0-dim operands: a NumPy scalar)
        diff = np.asarray(diff)
    dt = start.dtype
    key = (weight, dt) if type(weight) is float else None
    coef = _COEF.get(key)
    if coef is None:
        if key is None:
            return _lerp_from(start, end, weight, diff)
        if len(_COEF) > 64:
            _COEF.clear()
        coef = _COEF[key] = _coefficient(weight, dt)
    small, a = coef
    if not small:
        start[...] = end
    if not _blas_axpy(start, a, diff):
        axpy_(start, a, diff)
    return start


_COEF = {}   # (weight, dtype) -> _coefficient: an optimizer's few weights, every step


def _coefficient(weight, dt):
    """(whether |weight| < 0.5, the multiplier of the difference: weight, else weight - 1),
    weight first rounded to dt where dt is float32/float64, as torch's kernel."""
    if dt in (_F32, _F64):
        weight = dt.type(weight)
    small = bool(abs(weight) < 0.5)
    return small, (weight if small else -(1 - weight))


def _lerp_from(start, end, weight, diff):
    small, a = _coefficient(weight, start.dtype)
    if not small:
        start[...] = end
    return axpy_(start, a, diff)
