"""base ** x of float64 arrays with C pow's bits, for logspace: certified where cheap,
C's pow elsewhere.

PyTorch's logspace calls the C library's pow on every element. NumPy's float64 power is
its own SIMD routine (AVX-512: ~5% of results an ulp off glibc's), and C's pow is reached
from Python one call at a time (~70-100 ns an element). Here a value accurate to ~2**-60
relative is computed for every element with whole-array passes,

    y = x log2(base) = p + q          (p = x L1 rounded, q its exact error + x L2,
                                       L1 + L2 = log2(base) to ~2**-106, from decimal)
    k = floor(256 p),  r = (p - k / 256) + q,  0 <= r < 2**-8 (about)
    2**y = 2**(k >> 8) * T[k & 255] * (1 + u),  u = expm1(r ln 2) (degree 6),

T[j] = 2**(j / 256) as a double-double table (decimal, once). With c = T + (T u + T_lo)
rounded and res = (T - c) + (T u + T_lo) (c's distance from this value), |res| below
0.5 ulp(c) less both errors means every value within them rounds to c: this one's error
is < 0.02 ulp (u's relative error ~4.5 * 2**-53 times T u <= 2**-7.5, two roundings of
2**-61), and glibc's pow (2.28 on) is within 0.011 ulp before its final rounding plus
|x ln(base)| * 1.5 * 2**-68 * 2**53 from its log (0.54 ulp in all at the overflow limit;
its sources, e_pow.c). So `accept` = 0.5 - 0.035 - 4.6e-5 max|x ln(base)| ulp: the
elements within it are c * 2**(k >> 8), the others (~7% for results up to 1e10, ~13%
near the overflow limit: near midpoints, results below 2**-1022 or overflowing, c
outside [1, 2)) go to C's pow. The passes run in blocks on _fma_float64's per-thread
buffers (1M: certified values ~12 ms, C's pow for the rest ~8, one thread, load ~15). A
probe at first use compares the certified values with C's pow on sampled exponents of a
few bases; a libm that disagrees keeps C's pow throughout.
"""
import math
from decimal import Decimal, localcontext

import numpy as np

from . import _fma_float64

_f64 = np.float64
MIN_SIZE = 4096          # smaller arrays go to C's pow whole
_ULP = 2.0 ** -52        # c's ulp on [1, 2)
_LN2 = math.log(2.0)
# expm1(t) = t (1 + t (1/2 + t (1/6 + ...))), to t^6 / 720: |t| < ln2 / 256 leaves < 2**-72
_EXPM1 = tuple(1.0 / math.factorial(n) for n in range(6, 0, -1))
_STATE = {}


def _table():
    """(T_hi, T_lo): 2**(j / 256) for j < 256, as double-double arrays."""
    t = _STATE.get("table")
    if t is None:
        with localcontext() as ctx:
            ctx.prec = 40
            ln2 = Decimal(2).ln()
            vals = [(Decimal(j) / 256 * ln2).exp() for j in range(256)]
            hi = [float(v) for v in vals]
            lo = [float(v - Decimal(h)) for v, h in zip(vals, hi)]
        t = _STATE["table"] = (np.array(hi, _f64), np.array(lo, _f64))
    return t


def _log2(base):
    """log2(base) as a double-double (L1, L2), from 40 decimal digits."""
    with localcontext() as ctx:
        ctx.prec = 40
        value = Decimal(base).ln() / Decimal(2).ln()
        hi = float(value)
        return hi, float(value - Decimal(hi))


def _accept(base, x):
    """The largest |res| certified for exponents x (see above), in absolute terms on
    [1, 2)."""
    reach = float(np.abs(x).max()) * abs(math.log(base)) if x.size else 0.0
    return (0.465 - 4.6e-5 * reach) * _ULP


def _certified(base, x):
    """(values, ok): base ** x for the elements where ok is True, certified as above; in
    blocks of _fma_float64's size (its per-thread buffers), on the thread pool when large
    (every step is exact IEEE arithmetic, floor, a table lookup or ldexp)."""
    l1, l2 = _log2(base)
    l1_hi, l1_lo = _fma_float64.split(l1)
    hi_t, lo_t = _table()
    accept = _accept(base, x)
    out = np.empty(x.size, _f64)
    ok = np.empty(x.size, np.bool_)

    def kernel(lo, hi, bufs):
        xs, okb = x[lo:hi], ok[lo:hi]
        p, q, dh, dl, t, kb, _, flag = bufs
        np.multiply(xs, l1, out=p)
        _fma_float64._product_error(l1_hi, l1_lo, xs, p, q, dh, dl, t)   # x L1 - p exactly
        q += np.multiply(xs, l2, out=t)
        kf = np.multiply(p, 256.0, out=dh)
        np.floor(kf, out=kf)
        # the result is normal and finite for -1022 <= k >> 8 <= 1023 (c in [1, 2)), which
        # also keeps k in int32 (np.ldexp's fast exponent type: int64 ones take ~40x)
        np.greater_equal(kf, -1022 * 256, out=okb)
        okb &= np.less(kf, 1024 * 256, out=flag)
        k = kb.view(np.int32)[:hi - lo]
        np.copyto(k, kf, casting="unsafe")
        kf *= 1.0 / 256
        r = np.subtract(p, kf, out=p)                              # exact
        r += q
        r *= _LN2                                                   # t = r ln 2
        u = np.multiply(r, _EXPM1[0], out=q)
        for c in _EXPM1[1:]:
            u += c
            u *= r
        j = np.bitwise_and(k, 255, out=dl.view(np.int32)[:hi - lo])
        th = np.take(hi_t, j, out=dh)
        w = np.multiply(th, u, out=u)
        w += np.take(lo_t, j, out=t)                                # T u + T_lo
        c = np.add(th, w, out=p)
        res = np.subtract(th, c, out=th)
        res += w
        np.abs(res, out=res)
        k >>= 8                                                     # the power of two
        okb &= np.less(res, accept, out=flag)
        okb &= np.greater_equal(c, 1.0, out=flag)
        okb &= np.less(c, 2.0, out=flag)
        np.ldexp(c, k, out=out[lo:hi])
    _fma_float64._blocks(x.size, kernel, 60)
    return out, ok


def _probe(exact):
    """Whether the certified values equal C's pow (exact) on sampled exponents."""
    rng = np.random.default_rng(22)
    for base in (10.0, 2.0, math.e, 0.5, 3.7, 1e-3):
        x = np.concatenate([rng.uniform(-300, 300, 2048), rng.uniform(-2, 2, 2048),
                            np.arange(-64, 65, dtype=_f64) / 8])
        x = x[np.abs(x * math.log2(base)) < 1000]
        vals, ok = _certified(base, x)
        if not np.array_equal(vals[ok], exact(base, x[ok])):
            return False
    return True


def powers(base, x, exact):
    """base ** x (a 1-D float64 array) as C's pow gives it; exact(base, xs) is C's pow on
    an array xs (for the elements not certified, and whole below MIN_SIZE, for bases
    that are not finite positive numbers other than 1, or any non-finite x)."""
    if x.size < MIN_SIZE or not (0.0 < base < math.inf) or base == 1.0 or \
            not np.isfinite(x).all():
        return exact(base, x)
    trusted = _STATE.get("trusted")
    if trusted is None:
        with np.errstate(all="ignore"):
            trusted = _STATE["trusted"] = _probe(exact)
    if not trusted:
        return exact(base, x)
    with np.errstate(all="ignore"):
        vals, ok = _certified(base, x)
    rest = np.flatnonzero(~ok)
    if rest.size:
        vals[rest] = exact(base, x[rest])
    return vals
