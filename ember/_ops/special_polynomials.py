"""Orthogonal polynomials of torch.special: Chebyshev T, U, V, W (and their shifted forms
on [0, 1]), Hermite H and He, Laguerre L, Legendre P, each p_n(x) for x and n broadcast.

PyTorch's conventions, mirrored here:
- n is truncated toward zero to an integer; n < 0, and an n that is nan, infinite or
  beyond the int64 range, give 0.
- Each polynomial comes from its three-term recurrence p_{k+1} = f(k, x, p_k, p_{k-1}),
  run in the input's dtype, so overflow turns into inf - inf = nan as in PyTorch.
- Chebyshev polynomials at |x| < 1 and n > 6 (T) or n > 8 (U, V, W) use the closed forms
  in theta = acos(x):  T_n = cos(n theta),  U_n = sin((n+1) theta) / sin(theta),
  V_n = cos((n+1/2) theta) / cos(theta/2),  W_n = sin((n+1/2) theta) / sin(theta/2);
  at x = +-1 the exact end values (T_n(-1) = (-1)^n, U_n(1) = n + 1 ...).
- The shifted Chebyshev polynomials are p*_n(x) = p_n(2x - 1).
- The results carry no gradient (PyTorch defines none for them).
Where x is nan, PyTorch's U, W, shifted T/U/W, Laguerre and Legendre return an
uninitialised value for n >= 2 (undefined behaviour in its kernel); ember returns nan.
"""
import numpy as np

from .. import _dtype
from .._backend import array_namespace
from .._tensor import Tensor
from ._util import dtype_name, with_out
from .pointwise import float_operands
from ._layout import iter_layout

__all__ = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
           "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
           "laguerre_polynomial_l", "legendre_polynomial_p"]

_INT64_LIMIT = 9.2e18


def _degree(xp, n):
    """n truncated toward zero as an int64 array; -1 (a zero polynomial) where PyTorch's
    cast to int64 overflows (nan, inf, |n| >= 2^63)."""
    n = xp.asarray(n, dtype=np.float64)
    ok = xp.isfinite(n) & (xp.abs(n) < _INT64_LIMIT)
    return xp.where(ok, xp.trunc(xp.where(ok, n, -1.0)), -1.0).astype(np.int64)


def _recurrence(xp, x, n, p0, p1, step):
    """p_n(x) from p_0 = p0, p_1 = p1 and p_{k+1} = step(k, p_k, p_{k-1}), for n >= 0.
    The loop runs to the largest n, stopping early once every unfinished value is nan."""
    result = xp.where(n == 0, p0, p1)
    top = int(n.max()) if n.size else 0
    prev, cur = p0, p1
    for k in range(1, top):
        prev, cur = cur, step(k, cur, prev)
        result = xp.where(n == k + 1, cur, result)
        if k % 32 == 0:
            pending = n > k + 1
            if not bool(xp.any(pending & ~xp.isnan(cur))):
                return xp.where(pending, np.nan, result)
    return result


def _chebyshev(kind, threshold, x, n, xp):
    """Chebyshev polynomial of the first (T), second (U), third (V) or fourth (W) kind."""
    one = xp.ones_like(x)
    two_x = x + x
    first = {"t": x, "u": two_x, "v": two_x - 1, "w": two_x + 1}[kind]
    inside = (xp.abs(x) < 1) & (n > threshold)
    by_recurrence = xp.where(inside | (xp.abs(x) == 1), 0, n)
    value = _recurrence(xp, x, by_recurrence, one, first * one, lambda k, p, q: two_x * p - q)
    theta = xp.arccos(xp.where(inside, x, 0.0))
    nf = n.astype(x.dtype)
    closed = {"t": lambda: xp.cos(nf * theta),
              "u": lambda: xp.sin((nf + 1) * theta) / xp.sin(theta),
              "v": lambda: xp.cos((nf + 0.5) * theta) / xp.cos(theta / 2),
              "w": lambda: xp.sin((nf + 0.5) * theta) / xp.sin(theta / 2)}[kind]()
    value = xp.where(inside, closed, value)
    odd_sign = xp.where(n % 2 == 0, 1.0, -1.0).astype(x.dtype)
    ends = {"t": (1.0, odd_sign), "u": (nf + 1, odd_sign * (nf + 1)),
            "v": (1.0, odd_sign * (2 * nf + 1)), "w": (2 * nf + 1, odd_sign)}[kind]
    value = xp.where(x == 1, ends[0], xp.where(x == -1, ends[1], value))
    return value


def _kernel_t(x, n, xp):
    return _chebyshev("t", 6, x, n, xp)


def _kernel_u(x, n, xp):
    return _chebyshev("u", 8, x, n, xp)


def _kernel_v(x, n, xp):
    return _chebyshev("v", 8, x, n, xp)


def _kernel_w(x, n, xp):
    return _chebyshev("w", 8, x, n, xp)


def _shifted(kernel):
    def shifted(x, n, xp):
        return kernel(x + x - 1, n, xp)
    return shifted


def _kernel_hermite_h(x, n, xp):
    """Physicists' Hermite: H_0 = 1, H_1 = 2x, H_{k+1} = 2x H_k - 2k H_{k-1}."""
    return _recurrence(xp, x, n, xp.ones_like(x), x + x,
                       lambda k, p, q: (x + x) * p - (2 * k) * q)


def _kernel_hermite_he(x, n, xp):
    """Probabilists' Hermite: He_0 = 1, He_1 = x, He_{k+1} = x He_k - k He_{k-1}."""
    return _recurrence(xp, x, n, xp.ones_like(x), x * 1, lambda k, p, q: x * p - k * q)


def _kernel_laguerre(x, n, xp):
    """Laguerre: L_0 = 1, L_1 = 1 - x, (k+1) L_{k+1} = (2k + 1 - x) L_k - k L_{k-1};
    L_n(0) = 1."""
    one_minus_x = 1 - x
    value = _recurrence(xp, x, n, xp.ones_like(x), one_minus_x,
                        lambda k, p, q: ((2 * k + one_minus_x) * p - k * q) / (k + 1))
    return xp.where(x == 0, 1.0, value)


def _kernel_legendre(x, n, xp):
    """Legendre: P_0 = 1, P_1 = x, (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1};
    P_n(1) = 1, P_n(-1) = (-1)^n."""
    value = _recurrence(xp, x, xp.where(xp.abs(x) == 1, 0, n), xp.ones_like(x), x * 1,
                        lambda k, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1))
    odd_sign = xp.where(n % 2 == 0, 1.0, -1.0)
    return xp.where(x == 1, 1.0, xp.where(x == -1, odd_sign, value))


def _polynomial(name, kernel, doc):
    """The public function p(input, n, *, out=None) of one polynomial family."""
    def public(input, n, *, out=None):
        if not isinstance(input, Tensor) and not isinstance(n, Tensor):
            raise TypeError(f"special_{name}() received an invalid combination of arguments - "
                            f"got ({type(input).__name__}, {type(n).__name__}), but expected "
                            f"one of: (Tensor x, Tensor n), (Number x, Tensor n), "
                            f"(Tensor x, Number n)")
        inputs, arrays, dt = float_operands(input, n, f"special_{name}", names=("x", "n"))
        if dt in (_dtype.float16, _dtype.bfloat16) or dt.is_complex:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{dtype_name(dt)}'")
        ref = next(a for a in arrays if not isinstance(a, (int, float)))
        xp = array_namespace(ref)
        x = xp.asarray(arrays[0], dtype=dt.np)
        degree = _degree(xp, arrays[1])
        x, degree = xp.broadcast_arrays(x, degree)
        with np.errstate(all="ignore"):
            value = kernel(x, degree, xp)
            value = xp.where(degree < 0, 0.0, value).astype(dt.np, copy=False)
        # laid out like the operands, as PyTorch's elementwise results
        value = iter_layout(xp.array(value, order="C"), arrays)
        return with_out(Tensor._make(value), out, f"special_{name}")
    public.__name__ = name
    public.__doc__ = doc + "\n\nn is truncated to an integer; n < 0 gives 0. No gradient."
    return public


chebyshev_polynomial_t = _polynomial(
    "chebyshev_polynomial_t", _kernel_t,
    "Chebyshev polynomial of the first kind T_n(x): T_0 = 1, T_1 = x, "
    "T_{k+1} = 2x T_k - T_{k-1}; T_n(cos t) = cos(n t).")
chebyshev_polynomial_u = _polynomial(
    "chebyshev_polynomial_u", _kernel_u,
    "Chebyshev polynomial of the second kind U_n(x): U_0 = 1, U_1 = 2x, "
    "U_{k+1} = 2x U_k - U_{k-1}; U_n(cos t) = sin((n+1) t) / sin t.")
chebyshev_polynomial_v = _polynomial(
    "chebyshev_polynomial_v", _kernel_v,
    "Chebyshev polynomial of the third kind V_n(x): V_0 = 1, V_1 = 2x - 1, "
    "V_{k+1} = 2x V_k - V_{k-1}; V_n(cos t) = cos((n+1/2) t) / cos(t/2).")
chebyshev_polynomial_w = _polynomial(
    "chebyshev_polynomial_w", _kernel_w,
    "Chebyshev polynomial of the fourth kind W_n(x): W_0 = 1, W_1 = 2x + 1, "
    "W_{k+1} = 2x W_k - W_{k-1}; W_n(cos t) = sin((n+1/2) t) / sin(t/2).")
shifted_chebyshev_polynomial_t = _polynomial(
    "shifted_chebyshev_polynomial_t", _shifted(_kernel_t),
    "Shifted Chebyshev polynomial of the first kind T*_n(x) = T_n(2x - 1).")
shifted_chebyshev_polynomial_u = _polynomial(
    "shifted_chebyshev_polynomial_u", _shifted(_kernel_u),
    "Shifted Chebyshev polynomial of the second kind U*_n(x) = U_n(2x - 1).")
shifted_chebyshev_polynomial_v = _polynomial(
    "shifted_chebyshev_polynomial_v", _shifted(_kernel_v),
    "Shifted Chebyshev polynomial of the third kind V*_n(x) = V_n(2x - 1).")
shifted_chebyshev_polynomial_w = _polynomial(
    "shifted_chebyshev_polynomial_w", _shifted(_kernel_w),
    "Shifted Chebyshev polynomial of the fourth kind W*_n(x) = W_n(2x - 1).")
hermite_polynomial_h = _polynomial(
    "hermite_polynomial_h", _kernel_hermite_h,
    "Physicists' Hermite polynomial H_n(x): H_{k+1} = 2x H_k - 2k H_{k-1}.")
hermite_polynomial_he = _polynomial(
    "hermite_polynomial_he", _kernel_hermite_he,
    "Probabilists' Hermite polynomial He_n(x): He_{k+1} = x He_k - k He_{k-1}.")
laguerre_polynomial_l = _polynomial(
    "laguerre_polynomial_l", _kernel_laguerre,
    "Laguerre polynomial L_n(x): (k+1) L_{k+1} = (2k + 1 - x) L_k - k L_{k-1}.")
legendre_polynomial_p = _polynomial(
    "legendre_polynomial_p", _kernel_legendre,
    "Legendre polynomial P_n(x): (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}.")
