"""erf, erfc and erfinv on arrays: the kernels behind the ops (pointwise_more) and the
special functions built on them. float32 NumPy arrays take _erf_float32's float32 kernel;
other floats are computed in float64 (Maclaurin series below 0.5, erfc by rational
pieces and a continued fraction beyond) and rounded once to their dtype; CuPy arrays go
to CuPy's special functions."""
import math

import numpy as np

from .._backend import ARRAY_TYPES as _ARRAY_TYPES, as_array, gpu_special
from . import _erf_float32
from ._erf_coeffs import PIECES as _ERFCX_PIECES, FLOAT32_PIECES as _ERFCX_FLOAT32

_ndarray = np.ndarray

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_FRACTION_TERMS = 60
_SMALL = 0.5      # below: erf's Maclaurin series
_TAIL = 6.0       # from here: erf(x) = sign(x) (erfc(6) < half an ulp of 1); erfc by a fraction
# erf(x) = x * sum_n (-1)^n 2/sqrt(pi) / (n! (2n+1)) * x^(2n): for |x| < 0.5 the 13th term
# is below 1e-17 of the sum (highest power first, for Horner's rule in x^2)
_MACLAURIN = tuple(_TWO_OVER_SQRT_PI * (-1) ** n / (math.factorial(n) * (2 * n + 1))
                   for n in range(12, -1, -1))
# for float32 and narrower results: 8 terms (below 2e-11 for |x| < 0.5)
_MACLAURIN_8 = _MACLAURIN[-8:]


def _horner(coefficients, u):
    """sum_k c_k u^(n-k) for coefficients c (highest power first, at least two), in place
    on one buffer."""
    acc = u * coefficients[0]
    for c in coefficients[1:-1]:
        acc += c
        acc *= u
    acc += coefficients[-1]
    return acc


def _exp_minus_square(x):
    """exp(-x^2) for 0 <= x <= 30 without the rounding of x*x (a relative error of x^2 ulps
    in the result): x = h + d with h a multiple of 1/16, so h*h is exact and
    x^2 = h^2 + d (x + h) with d exact."""
    h = np.round(x * 16) * (1 / 16)
    return np.exp(-h * h) * np.exp(-(x - h) * (x + h))


def _erf_small(x):
    """erf(x) for |x| < 0.5, the Maclaurin series (float64)."""
    return x * _horner(_MACLAURIN, x * x)


def _erfc_mid(a):
    """erfc(a) for 0.5 <= a < 6 (float64): exp(-a^2) erfcx(a), erfcx from the fitted
    polynomials of _erf_coeffs (relative error ~1e-15, bench/fit_erf.py)."""
    out = np.empty_like(a)
    for lower, upper, coefficients in _ERFCX_PIECES:
        inside = (a >= lower) & (a < upper)
        v = a[inside]
        out[inside] = _exp_minus_square(v) * _horner(coefficients, (2 * v - (lower + upper)) *
                                               (1 / (upper - lower)))
    return out


def _erfc_fraction(x):
    """erfc(x) for x >= 6 from the continued fraction
    erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))).
    Beyond 30 erfc underflows to 0: x is clipped there (inf included)."""
    x = np.minimum(x, 30.0)
    tail = np.zeros_like(x)
    for k in range(_FRACTION_TERMS, 0, -1):
        tail = (k / 2) / (x + tail)
    return _exp_minus_square(x) / (math.sqrt(math.pi) * (x + tail))


def _erfc_positive(a):
    """erfc(a) for a >= 0 (float64 array; NaN stays NaN)."""
    out = np.empty_like(a)
    small = a < _SMALL
    out[small] = 1.0 - _erf_small(a[small])
    mid = (a >= _SMALL) & (a < _TAIL)
    out[mid] = _erfc_mid(a[mid])
    big = a >= _TAIL
    out[big] = _erfc_fraction(a[big])
    out[np.isnan(a)] = np.nan
    return out


def _erf_narrow(a):
    """erf for a result of float32 or a narrower dtype (float64 array a): both branches on
    every element, chosen by where (NumPy's boolean gathers cost more than the
    arithmetic they save), with lower degrees whose absolute error (5e-11) is far below
    float32's half ulp; |x| is clipped at 4, where erf rounds to 1 in float32 already."""
    ab = np.minimum(np.abs(a), 4.0)          # NaN stays NaN
    square = ab * ab
    small = ab * _horner(_MACLAURIN_8, square)
    lower, upper, coefficients = _ERFCX_FLOAT32[0]
    mid = 1.0 - np.exp(-square) * _horner(coefficients,
                                          (2 * ab - (lower + upper)) * (1 / (upper - lower)))
    if type(a) is _ndarray and a.ndim == 1 and a.flags.c_contiguous:
        # where and copysign by bit operations (the same bits): NumPy's where branches per
        # element and its copysign has no SIMD loop (together ~15% of this function)
        bits = small.view(np.uint64)
        m = np.negative((ab < _SMALL).view(np.uint8), dtype=np.uint64)
        t = np.bitwise_xor(bits, mid.view(np.uint64), out=bits)
        t &= m
        t ^= mid.view(np.uint64)                            # where(ab < _SMALL, small, mid)
        t &= np.uint64(0x7FFFFFFFFFFFFFFF)
        t |= np.bitwise_and(a.view(np.uint64), np.uint64(1 << 63))    # a's sign
        return t.view(np.float64)
    out = np.copysign(np.where(ab < _SMALL, small, mid), a)
    return np.asarray(out) if isinstance(out, np.generic) else out   # a 0-dim input's scalar


def erf_array(x):
    """erf on an array: float32 NumPy arrays in float32 arithmetic (_erf_float32: within an
    ulp of the exact value, blocked, on the thread pool when large), others computed in
    float64 and returned in x's dtype."""
    if type(x) is not _ndarray and type(x) in _ARRAY_TYPES:  # CuPy
        return gpu_special().erf(x)
    x = as_array(x)
    if type(x) is _ndarray and x.dtype == np.float32:
        return _erf_float32.erf(x)
    if x.dtype.itemsize < 8 and x.dtype.kind == "f":
        return _erf_narrow(x.astype(np.float64)).astype(x.dtype, copy=False)
    a = as_array(x, dtype=np.float64)
    ab = np.abs(a)
    small = ab < _SMALL
    if small.all():
        out = _erf_small(a)
    else:
        out = np.empty_like(a)
        out[small] = _erf_small(a[small])
        mid = (ab >= _SMALL) & (ab < _TAIL)
        out[mid] = np.copysign(1.0 - _erfc_mid(ab[mid]), a[mid])
        big = ab >= _TAIL
        out[big] = np.sign(a[big])
        out[np.isnan(a)] = np.nan
    return out.astype(as_array(x).dtype, copy=False)


def erfc_array(x):
    """erfc on an array, accurate in the tail (no 1 - erf cancellation for x > 0)."""
    if type(x) is not _ndarray and type(x) in _ARRAY_TYPES:  # CuPy
        return gpu_special().erfc(x)
    a = as_array(x, dtype=np.float64)
    pos = _erfc_positive(np.abs(a))
    out = np.where(a < 0, 2.0 - pos, pos)
    return out.astype(as_array(x).dtype, copy=False)


def erfinv_array(z):
    """erfinv: Winitzki's closed-form estimate (error ~2e-3) refined by two Halley steps (cubic convergence)
    on f(x) = erf(x) - z (written with erfc near |z| = 1 to keep the residual accurate)."""
    if type(z) is not _ndarray and type(z) in _ARRAY_TYPES:  # CuPy
        return gpu_special().erfinv(z)
    zz = as_array(z, dtype=np.float64)
    az = np.abs(zz)
    inside = az < 1
    a = 0.147
    with np.errstate(all="ignore"):
        ln = np.log1p(-az * az)
        first = 2 / (math.pi * a) + ln / 2
        x = np.sqrt(np.sqrt(first * first - ln / a) - first)
        x = np.where(inside, x, 0.0)
        for _ in range(2):
            residual = np.where(az > 0.5, (1 - az) - erfc_array(x), erf_array(x) - az)
            slope = _TWO_OVER_SQRT_PI * np.exp(-x * x)
            x = x - residual / (slope + x * residual)
    out = np.where(inside, np.sign(zz) * x, np.where(az == 1, np.sign(zz) * np.inf, np.nan))
    out = np.where(np.isnan(zz), np.nan, out)
    return out.astype(as_array(z).dtype, copy=False)
