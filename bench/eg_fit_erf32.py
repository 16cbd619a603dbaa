"""Fit the two polynomials of ember's float32 erf (ember/_ops/_erf_float32.py) and measure
the kernel's float32 evaluation with them.

    python -m bench.eg_fit_erf32

Q (degree 6): erf(x)/x - 1 as a polynomial in s = x^2 on |x| <= sqrt(9/8), the relative
error of erf(x)/x minimised. R (degree 6): erfcx(b) = exp(b^2) erfc(b) as a polynomial in
v = t / t(1), t = 1 / (1 + b/2), on b in [1, 5], for the relative error. Both are least
squares at Chebyshev points (the reference: Python's float64 math.erf/erfc, ~1e-16, far
below float32's 6e-8), fitted one coefficient at a time from the lowest degree: each is
rounded to float32 and the higher ones refitted to what is left, so the rounding of the
large low-degree coefficients is absorbed by the small high-degree ones.

Tried and measured (max ulps from the correctly rounded erf over 1.5M points): R of degree
5 is 1 ulp only at p = 0.35 and 2-4 ulps at p = 0.4-0.5 (fragile); degree 6 is 1 ulp for
p in 0.40-0.50; Q of degree 5 on [0, 1] gives 2 ulps. The branch point x^2 = 9/8 puts
x = +-1 in the small branch, which rounds erf(1) correctly (the large one is an ulp off
there).
"""
import math

import numpy as np

_f32 = np.float32
SMALL = (math.sqrt(9 / 8), 6)        # (upper end of |x|, degree of Q)
LARGE = (1.0, 5.0, 0.5, 6)           # (lower, upper end of b, p of t = 1/(1 + p b), degree)


def _sequential_fit(u, y, weight, degree):
    """Coefficients c_0..c_degree of sum c_k u^k ~ y (weighted least squares), each rounded to
    float32 in turn from c_0 and the rest refitted; returned highest degree first."""
    fixed = []
    for k in range(degree + 1):
        rest = y - sum(c * u ** i for i, c in enumerate(fixed))
        basis = np.stack([u ** i for i in range(k, degree + 1)], 1)
        coef, *_ = np.linalg.lstsq(basis * weight[:, None], rest * weight, rcond=None)
        fixed.append(float(_f32(coef[0])))
    return fixed[::-1]


def _chebyshev_points(lo, hi, n=600):
    u = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    return (u + 1) / 2 * (hi - lo) + lo


def fit_q(upper, degree):
    s = _chebyshev_points(0.0, upper * upper)
    x = np.sqrt(s)
    ratio = np.array([math.erf(v) / v if v > 0 else 2 / math.sqrt(math.pi) for v in x])
    return _sequential_fit(s, ratio - 1, 1 / ratio, degree)


def fit_r(lower, upper, p, degree):
    t_lower = 1 / (1 + p * lower)
    v = _chebyshev_points((1 / (1 + p * upper)) / t_lower, 1.0)
    b = (1 / (v * t_lower) - 1) / p
    erfcx = np.array([math.exp(c * c) * math.erfc(c) for c in b])
    return _sequential_fit(v, erfcx, 1 / erfcx, degree), 1 / (t_lower * p), 1 / p


def evaluate(x, q, r, v_num, v_shift, small_below):
    """The kernel's formulas in float32 (whole arrays, np.where for the branch)."""
    x = np.asarray(x, _f32)
    with np.errstate(all="ignore"):
        s = x * x
        acc = s * _f32(q[0])
        for c in q[1:-1]:
            acc = (acc + _f32(c)) * s
        small = (acc + _f32(q[-1])) * x + x
        v = _f32(v_num) / (np.abs(x) + _f32(v_shift))
        e = v * _f32(r[0])
        for c in r[1:-1]:
            e = (e + _f32(c)) * v
        e = (e + _f32(r[-1])) / np.exp(s)
        large = np.copysign(_f32(1) - e, x)
        return np.where(s < _f32(small_below), small, large)


def main():
    q = fit_q(*SMALL)
    r, v_num, v_shift = fit_r(*LARGE)
    print("_Q =", [float(c) for c in q])
    print("_R =", [float(c) for c in r])
    print(f"v = {v_num:g} / (|x| + {v_shift:g})")
    rng = np.random.default_rng(1)
    x = np.concatenate([np.linspace(-10, 10, 1_000_001, dtype=np.float32),
                        rng.standard_normal(300_000).astype(np.float32) * 1.5,
                        np.float32(10) ** np.linspace(-40, 1, 200_000, dtype=np.float32)])
    exact = np.array([math.erf(v) for v in x.astype(np.float64)]).astype(np.float32)
    got = evaluate(x, q, r, v_num, v_shift, SMALL[0] ** 2)
    ulps = np.abs(got.view(np.int32).astype(np.int64) - exact.view(np.int32))
    print(f"max ulps from the correctly rounded erf: {ulps.max()}, "
          f"correctly rounded: {np.mean(ulps == 0):.4f}")


if __name__ == "__main__":
    main()
