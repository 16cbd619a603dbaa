"""Exact GELU of float32 arrays on the CPU in float32 arithmetic, forward and input gradient.

    gelu(x) = x Phi(x),   Phi(x) = 0.5 (1 + erf(x / sqrt 2))
    d gelu / dx = Phi(x) + x phi(x),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)

PyTorch evaluates these formulas in float32 with a vectorized erf. ember's general erf
(pointwise_more.erf_array) works in float64 and rounds to float32: exact to the last bit,
but some fifty float64 passes over the data, 10-40x PyTorch's time. Here erf(b), b = |a|,
a = x / sqrt 2 (rounded to float32 first, as PyTorch does), comes from one formula on the
whole line,

    erf(b) = 1 - E(b),   E(b) = erfc(b) = exp(-b^2) R(u),
    u = (2t - t_lo - 1) / (1 - t_lo),   t = 1 / (1 + b/2),

with R a degree-8 polynomial fitted to erfcx(b) = exp(b^2) erfc(b) on [0, 4]
(bench/fit_erf.py, GELU_FLOAT32 in _erf_coeffs; t is the variable of Abramowitz and
Stegun 7.1.26, in which erfcx is smooth on the whole range). Beyond 4, R's extrapolation
stays within [-5e-4, erfcx(4)] (t -> 0 as b -> inf), so E < 1.6e-8 < half an ulp below 1
and erf rounds to 1 exactly, as float32 erf does there; b = inf gives t = 0 and E = 0.
NaN flows through every step.

Then 1 + erf(a) is formed as PyTorch forms it (erf rounded to float32 first, its sign
taken from a), so its cancellation for x << 0 is PyTorch's too. E's relative error is
~1e-7; near 0 erf is accurate in absolute, not relative, terms, which 1 + erf absorbs.
Measured against float64: for x >= -1.5 both this and PyTorch's GELU stay within 7e-7
relative; further left both carry 1 + erf's rounding (an ulp of 1, times x/2). gelu(+inf)
is inf (PyTorch's vectorized kernel gives NaN there), gelu(-inf) and gelu(NaN) NaN.

The work runs in blocks of _BLOCK elements on preallocated buffers (every step writes
`out=`), so the ~35 passes stay in the L2 cache and allocate nothing; an array of
_SPLIT elements or more is cut in two halves run on two threads (NumPy drops the GIL in
its loops).
"""
import numpy as np

from ._erf_coeffs import GELU_FLOAT32
from .. import _threads

_P, _UPPER, _T_LO, _R = GELU_FLOAT32
_f32 = np.float32
_COEFFS = tuple(_f32(c) for c in _R)
_SQRT1_2 = _f32(0.7071067811865476)
_K_SCALE = _f32(2 / (1 - _T_LO))          # u = _K_SCALE / (1 + _P b) - _K_SHIFT
_K_SHIFT = _f32((1 + _T_LO) / (1 - _T_LO))
_BETA = _f32(0.3989422804014327)          # 1 / sqrt(2 pi), as PyTorch's kBeta
_SIGN = np.int32(-2 ** 31)                # the sign bit of a float32
# 64K elements: 256 KiB buffers. Per block each of the ~35 passes is one ufunc call of
# ~1 us; halving the calls of 32K blocks cut a 1M forward's CPU time 3.6 -> 3.4 ms (one
# thread, alternated medians; 128K and 256K blocks were no faster)
_BLOCK = 1 << 16
_SPLIT = 1 << 17


def _cdf_block(x, a, e, acc, sign):
    """Phi(x) of one block into acc; leaves exp(-x^2 / 2) (as exp(-b^2)) in e. All five
    arrays have x's length; a, e, acc float32 buffers, sign an int32 buffer."""
    np.multiply(x, _SQRT1_2, out=a)
    np.bitwise_and(a.view(np.int32), _SIGN, out=sign)
    b = np.abs(a, out=a)
    np.multiply(b, b, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)                                       # exp(-b^2)
    u = np.multiply(b, _f32(_P), out=a)
    u += 1
    np.divide(_K_SCALE, u, out=u)
    u -= _K_SHIFT
    np.multiply(u, _COEFFS[0], out=acc)                    # R(u) by Horner's rule
    for c in _COEFFS[1:-1]:
        acc += c
        acc *= u
    acc += _COEFFS[-1]
    acc *= e                                               # E = erfc(b)
    np.subtract(_f32(1), acc, out=acc)                     # erf(b), rounded to float32
    bits = acc.view(np.int32)
    np.bitwise_or(bits, sign, out=bits)                    # erf(a): a's sign (erf(b) >= 0)
    acc += 1
    acc *= _f32(0.5)
    return acc


def _blocks(n, kernel):
    """kernel(lo, hi, buffers) over [0, n) in blocks, the range cut in halves on two threads
    when large."""
    def run(part):
        size = min(_BLOCK, part.stop - part.start)
        buffers = (np.empty(size, _f32), np.empty(size, _f32), np.empty(size, np.int32))
        # b^2 overflows to inf for |x| > 2.6e19 (exp then gives the right 0) and -inf * 0
        # is NaN (PyTorch warns of neither); NumPy's error state is per thread, so each
        # thread sets its own
        with np.errstate(over="ignore", invalid="ignore"):
            for lo in range(part.start, part.stop, _BLOCK):
                hi = min(lo + _BLOCK, part.stop)
                kernel(lo, hi, [v[:hi - lo] for v in buffers])
    if n >= _SPLIT:
        _threads.halves(n, run)
    elif n:
        run(slice(0, n))


def gelu(x):
    """x Phi(x) of a float32 array, a fresh C-contiguous float32 array of x's shape."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.shape, _f32)

    def kernel(lo, hi, buffers):
        a, e, sign = buffers
        cdf = _cdf_block(flat[lo:hi], a, e, out[lo:hi], sign)
        cdf *= flat[lo:hi]
    _blocks(flat.size, kernel)
    return out.reshape(np.shape(x))


def gelu_backward(x, g):
    """g (Phi(x) + x phi(x)) of float32 arrays x and g (g broadcast to x's shape), a fresh
    C-contiguous float32 array."""
    flat = np.ascontiguousarray(x).reshape(-1)
    grad = np.ascontiguousarray(np.broadcast_to(g, np.shape(x))).reshape(-1)
    out = np.empty(flat.shape, _f32)

    def kernel(lo, hi, buffers):
        a, e, sign = buffers
        xs = flat[lo:hi]
        d = _cdf_block(xs, a, e, out[lo:hi], sign)
        e *= _BETA
        e *= xs                                             # x phi(x)
        d += e
        d *= grad[lo:hi]
    _blocks(flat.size, kernel)
    return out.reshape(np.shape(x))
