"""General matrix products with an accumulating output, C = A B + beta C, on NumPy arrays.

NumPy's matmul always overwrites its output, so a sum of products (a convolution as the
sum over its kernel taps of W_t times the input shifted by t) needs a temporary per term
and an add pass. BLAS's gemm accumulates in place (beta = 1) and reads operands with any
row stride (its leading dimension), so a shifted window of a flat buffer is an operand as
it is, with no copy. This module calls the gemm of the OpenBLAS that NumPy's own wheel
ships (numpy.libs/libscipy_openblas*), through ctypes, which releases the GIL for the
call. `available(dtype)` says False (and callers keep their NumPy path) where that library
or its symbol is not found, or where its answer to a small product is wrong.
"""
import ctypes
import glob
import os

import numpy as np

__all__ = ["available", "gemm", "shifted_sum"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_STATE = {}   # "fns": {np.dtype: ctypes function} once loaded ({} when nothing loads)


def _candidates():
    here = os.path.dirname(np.__file__)
    for folder in (os.path.join(here, "..", "numpy.libs"), os.path.join(here, ".dylibs")):
        yield from sorted(glob.glob(os.path.join(folder, "*openblas*")))


def _load():
    """{float32: sgemm, float64: dgemm} from NumPy's OpenBLAS: its ILP64 build exports
    scipy_cblas_?gemm64_ (64-bit integers), the LP64 build scipy_cblas_?gemm (32-bit)."""
    if os.environ.get("EMBER_CPU_GEMM") == "0":
        return {}
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix, int_t in (("64_", ctypes.c_int64), ("", ctypes.c_int32)):
            fns = {}
            for dt, ch, real in ((np.dtype(np.float32), "s", ctypes.c_float),
                                 (np.dtype(np.float64), "d", ctypes.c_double)):
                fn = getattr(lib, f"scipy_cblas_{ch}gemm{suffix}", None)
                if fn is None:
                    break
                fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, int_t, int_t, int_t,
                               real, ctypes.c_void_p, int_t, ctypes.c_void_p, int_t, real,
                               ctypes.c_void_p, int_t]
                fn.restype = None
                fns[dt] = fn
            if len(fns) == 2 and _works(fns):
                return fns
    return {}


def _works(fns):
    rng = np.random.default_rng(0)
    for dt, fn in fns.items():
        a = rng.standard_normal((3, 5)).astype(dt)
        b = rng.standard_normal((4, 7)).astype(dt)[:, 1:6].T.copy()   # (5, 4)
        c = np.ones((3, 4), dtype=dt)
        _call(fn, a, b, c, 1.0, False, False)
        if not np.allclose(c, a @ b + 1, rtol=1e-5, atol=1e-5):
            return False
    return True


def available(dtype):
    """Whether gemm serves arrays of this NumPy dtype (float32 and float64 only)."""
    fns = _STATE.get("fns")
    if fns is None:
        fns = _STATE["fns"] = _load()
    return dtype in fns


def _ld(t):
    # the leading dimension: the row stride in elements (any, for a single row)
    return t.strides[0] // t.itemsize if t.shape[0] > 1 else max(t.shape[1], 1)


def _call(fn, a, b, c, beta, trans_a, trans_b):
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    rows_a = a.shape[1] if trans_a else a.shape[0]
    n_b, k_b = (b.shape[0], b.shape[1]) if trans_b else (b.shape[1], b.shape[0])
    if rows_a != m or n_b != n or k_b != k or any(
            t.dtype != c.dtype or t.ndim != 2 or t.strides[1] != t.itemsize for t in (a, b, c)):
        raise ValueError(f"cpu_blas.gemm: operands {a.shape}{'^T' if trans_a else ''} "
                         f"{b.shape}{'^T' if trans_b else ''} -> {c.shape} of {a.dtype}, "
                         f"{b.dtype}, {c.dtype} (strides {a.strides}, {b.strides}, "
                         f"{c.strides}) do not make a row-major product")
    fn(_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS,
       m, n, k, 1.0, a.ctypes.data, _ld(a), b.ctypes.data, _ld(b), beta, c.ctypes.data, _ld(c))


def gemm(a, b, c, beta=0.0, trans_a=False, trans_b=False):
    """c = op(a) @ op(b) + beta * c in place, op(t) = t.T when trans_t; c (m, n). All three
    2-D arrays of one dtype (`available`), each row contiguous (strides[1] == itemsize) and
    rows at least a row apart: windows of larger buffers are fine. The caller checks that;
    beta = 0 ignores c's old values (NaN included), as BLAS does."""
    if not available(c.dtype):
        raise TypeError(f"cpu_blas.gemm: no gemm for {c.dtype} arrays here")
    _call(_STATE["fns"][c.dtype], a, b, c, beta, trans_a, trans_b)


def shifted_sum(a, b, offs, c, beta=0.0):
    """c = beta * c + sum over t of a[t] @ b[:, offs[t]:offs[t] + n], c (m, n): a (T, m, k)
    with each a[t] row-contiguous, b (k, width) rows contiguous, every window inside b
    (0 <= offs[t], offs[t] + n <= width). One check and one pointer computation for all T
    products (a gemm call through `gemm` costs ~30 us of Python, this loop ~4 us a term)."""
    m, n = c.shape
    T, k = len(offs), b.shape[0]
    if a.ndim != 3 or a.shape[0] != T or a.shape[1:] != (m, k) or b.ndim != 2 or \
            any(t.dtype != c.dtype or t.strides[-1] != t.itemsize for t in (a, b, c)) or \
            (T and (min(offs) < 0 or max(offs) + n > b.shape[1])):
        raise ValueError(f"cpu_blas.shifted_sum: {a.shape} taps times windows {list(offs)} "
                         f"+ {n} of {b.shape} -> {c.shape} ({a.dtype}, {b.dtype}, {c.dtype}) "
                         f"do not make row-major products")
    if not available(c.dtype):
        raise TypeError(f"cpu_blas.shifted_sum: no gemm for {c.dtype} arrays here")
    fn, size = _STATE["fns"][c.dtype], c.itemsize
    pa, pb, pc = (t.__array_interface__["data"][0] for t in (a, b, c))
    sa, lda, ldb, ldc = a.strides[0], _ld(a[0]) if T else 1, _ld(b), _ld(c)
    for t in range(T):
        fn(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, m, n, k, 1.0, pa + t * sa, lda,
           pb + offs[t] * size, ldb, beta if t == 0 else 1.0, pc, ldc)
