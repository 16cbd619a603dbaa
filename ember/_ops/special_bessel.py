"""Bessel and Airy functions of torch.special: bessel_j0/j1, bessel_y0/y1, modified_bessel
i0/i1/k0/k1, scaled_modified_bessel_k0/k1, spherical_bessel_j0, airy_ai.

Each kernel works on float64 arrays (float32 inputs are computed in float64 and rounded
once) and picks, per element, a method that is accurate there:

J0, J1, Y0, Y1 (x = |x| for J; Y is nan for x < 0 and -inf at 0):
  x < 2       power series  J_nu = sum_k (-1)^k (x/2)^(2k+nu) / (k! (k+nu)!), and for Y
              Y_0 = (2/pi)(log(x/2) + gamma) J_0 - (2/pi) sum_k H_k (-x^2/4)^k / (k!)^2
              Y_1 = -2/(pi x) + (2/pi) log(x/2) J_1
                    - (1/pi)(x/2) sum_k (psi(k+1) + psi(k+2)) (-x^2/4)^k / (k! (k+1)!)
  2 <= x < 25 Miller's backward recurrence J_{k-1} = (2k/x) J_k - J_{k+1} from k = 80,
              normalised by J_0 + 2 sum_k J_2k = 1, and Neumann's series
              (pi/2) Y_0 = (log(x/2) + gamma) J_0 - 2 sum_k (-1)^k J_2k / k
              (pi/2) Y_1 = (log(x/2) + gamma - 1) J_1 - J_0 / x
                           + sum_{m>=2} (-1)^m (2m-1) / (m (m-1)) J_{2m-1}
  x >= 25     Hankel's expansion J = sqrt(2/(pi x)) (P cos chi - Q sin chi),
              Y = sqrt(2/(pi x)) (P sin chi + Q cos chi), chi = x - (2 nu + 1) pi/4
              (chi is rounded as Cephes rounds it, so huge x agree with PyTorch).
K0, K1 (nan for x < 0, inf at 0):
  x <= 1      the series K_0 = -(log(x/2) + gamma) I_0 + sum_k H_k (x^2/4)^k / (k!)^2,
              K_1 = 1/x + log(x/2) I_1 - (x/4) sum_k (psi(k+1) + psi(k+2)) (x^2/4)^k/(k!(k+1)!)
  1 < x < 25  the trapezoidal rule on e^x K_nu(x) = int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt
              (the integrand is analytic and decays doubly exponentially: the rule converges
              geometrically)
  x >= 25     the expansion e^x K_nu(x) = sqrt(pi/(2x)) sum_k a_k(nu) / x^k.
Ai:
  x > 103.892 0 (underflow, as PyTorch);  x = +-inf: nan (as PyTorch)
  x >= 7.5    Ai(x) = e^(-zeta) / (2 sqrt(pi) x^(1/4)) sum_k (-1)^k u_k / zeta^k
  1.5 <= x    Ai(x) = sqrt(x/3) / pi K_{1/3}(zeta), zeta = (2/3) x^(3/2), K by the
              trapezoidal rule above
  -10 < x     Taylor series of Ai about the nearest point of a grid of step 1/2, whose
              values Ai, Ai' come from the Maclaurin series summed once in 60-digit decimals
  x <= -10    Ai(-z) = (P sin(zeta + pi/4) - Q cos(zeta + pi/4)) / (sqrt(pi) z^(1/4)).
None of these functions has a gradient in PyTorch, nor here.
"""
import decimal
import functools
import math

import numpy as np

from .. import _dtype
from .._backend import array_namespace
from .._tensor import Tensor
from ._util import dtype_name, with_out
from .special import _bessel_i_scaled

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0"]

_EULER = 0.57721566490153286061
_TWO_OVER_PI = 2 / math.pi
_MILLER_START = 80
_CHUNK = 8192


def _asymptotic_terms(nu, z, count, alternate):
    """The terms a_k(nu) / z^k (times (-1)^k when `alternate`) of the large-argument
    expansions, a_k(nu) = prod_{j<=k} (4 nu^2 - (2j - 1)^2) / (k! 8^k)."""
    mu = 4.0 * nu * nu
    terms = [np.ones_like(z)]
    for k in range(1, count):
        factor = (mu - (2 * k - 1) ** 2) / (k * 8.0 * z)
        terms.append(terms[-1] * (-factor if alternate else factor))
    return terms


# ---------------------------------------------------------------------------- J0, J1, Y0, Y1

def _bessel_jy_series(x):
    """(J0, J1, Y0, Y1) by their power series, for 0 < x < 2."""
    q = -(x * x) / 4
    term0 = np.ones_like(x)          # (-x^2/4)^k / (k!)^2
    term1 = x / 2                    # (x/2) (-x^2/4)^k / (k! (k+1)!)
    j0, j1 = term0.copy(), term1.copy()
    harmonic = 0.0                   # H_k
    y0_sum = np.zeros_like(x)
    psi_pair = -2 * _EULER + 1.0     # psi(k+1) + psi(k+2) at k = 0
    y1_sum = psi_pair * term1
    for k in range(1, 30):
        term0 = term0 * q / (k * k)
        term1 = term1 * q / (k * (k + 1))
        harmonic += 1.0 / k
        j0 = j0 + term0
        j1 = j1 + term1
        y0_sum = y0_sum + harmonic * term0
        psi_pair += 1.0 / k + 1.0 / (k + 1)
        y1_sum = y1_sum + psi_pair * term1
    log_half = np.log(x / 2)
    y0 = _TWO_OVER_PI * ((log_half + _EULER) * j0 - y0_sum)
    y1 = -_TWO_OVER_PI / x + _TWO_OVER_PI * log_half * j1 - y1_sum / math.pi
    return j0, j1, y0, y1


def _bessel_jy_miller(x):
    """(J0, J1, Y0, Y1) by Miller's backward recurrence and Neumann's series, 2 <= x < 25
    (the recurrence grows by at most 80! ~ 1e119 from its start at 1 there)."""
    after = np.zeros_like(x)            # f_{k+1}
    current = np.ones_like(x)           # f_k, k = _MILLER_START (even)
    norm = np.zeros_like(x)             # 2 sum f_2k (k >= 1)
    y0_sum = np.zeros_like(x)           # sum (-1)^k f_2k / k
    y1_sum = np.zeros_like(x)           # sum_{m>=2} (-1)^m (2m-1)/(m(m-1)) f_{2m-1}
    for k in range(_MILLER_START, 0, -1):
        if k % 2 == 0:
            half = k // 2
            norm = norm + 2 * current
            y0_sum = y0_sum + (-1) ** half * current / half
        elif k >= 3:
            m = (k + 1) // 2
            y1_sum = y1_sum + (-1) ** m * (2 * m - 1) / (m * (m - 1)) * current
        after, current = current, (2 * k / x) * current - after
    norm = norm + current               # f_0
    j0 = current / norm
    j1 = after / norm
    log_term = np.log(x / 2) + _EULER
    y0 = _TWO_OVER_PI * (log_term * j0 - 2 * y0_sum / norm)
    y1 = _TWO_OVER_PI * ((log_term - 1) * j1 - j0 / x + y1_sum / norm)
    return j0, j1, y0, y1


def _hankel(nu, x):
    """(J_nu, Y_nu) by Hankel's expansion, x >= 25 (the terms shrink until k ~ 2x)."""
    terms = _asymptotic_terms(nu, x, 40, alternate=False)
    p = sum(t * (-1) ** (k // 2) for k, t in enumerate(terms) if k % 2 == 0)
    q = sum(t * (-1) ** (k // 2) for k, t in enumerate(terms) if k % 2 == 1)
    chi = x - (0.25 * math.pi if nu == 0 else 0.75 * math.pi)
    scale = np.sqrt(_TWO_OVER_PI / x)
    cos, sin = np.cos(chi), np.sin(chi)
    return scale * (p * cos - q * sin), scale * (p * sin + q * cos)


def _bessel_jy(x, nu, want_y):
    """J_nu(x) or Y_nu(x) for x > 0 (nu in {0, 1}), choosing the method by range."""
    small, mid = x < 2, (x >= 2) & (x < 25)
    out = np.zeros_like(x)
    pick = 2 * want_y + nu
    if small.any():
        out[small] = _bessel_jy_series(x[small])[pick]
    if mid.any():
        out[mid] = _bessel_jy_miller(x[mid])[pick]
    large = ~(small | mid)
    if large.any():
        out[large] = _hankel(nu, x[large])[want_y]
    return out


def _positive_part(kernel, x, fill):
    """kernel(x) on the elements x > 0 that are finite; `fill` elsewhere."""
    out = np.full_like(x, fill)
    keep = (x > 0) & np.isfinite(x)
    out[keep] = kernel(x[keep])
    return out


def _j0_kernel(x):
    a = np.abs(x)
    out = _positive_part(lambda v: _bessel_jy(v, 0, False), a, np.nan)
    return np.where(a == 0, 1.0, out)


def _j1_kernel(x):
    a = np.abs(x)
    out = _positive_part(lambda v: _bessel_jy(v, 1, False), a, np.nan)
    return np.where(a == 0, 0.0, 1.0) * np.sign(x) * out if False else \
        np.where(a == 0, x * 0, np.sign(x) * out)


def _y_kernel(nu):
    def kernel(x):
        out = _positive_part(lambda v: _bessel_jy(v, nu, True), x, np.nan)
        return np.where(x == 0, -np.inf, out)
    return kernel


# ---------------------------------------------------------------------------- K0, K1

def _bessel_k_series(x):
    """(K0, K1) by their series, 0 < x <= 1."""
    q = x * x / 4
    term0 = np.ones_like(x)          # (x^2/4)^k / (k!)^2
    term1 = x / 2                    # (x/2) (x^2/4)^k / (k! (k+1)!)
    i0, i1 = term0.copy(), term1.copy()
    harmonic = 0.0
    k0_sum = np.zeros_like(x)
    psi_pair = -2 * _EULER + 1.0
    k1_sum = psi_pair * term1
    for k in range(1, 20):
        term0 = term0 * q / (k * k)
        term1 = term1 * q / (k * (k + 1))
        harmonic += 1.0 / k
        i0 = i0 + term0
        i1 = i1 + term1
        k0_sum = k0_sum + harmonic * term0
        psi_pair += 1.0 / k + 1.0 / (k + 1)
        k1_sum = k1_sum + psi_pair * term1
    log_half = np.log(x / 2)
    return -(log_half + _EULER) * i0 + k0_sum, 1 / x + log_half * i1 - k1_sum / 2


@functools.lru_cache(maxsize=None)
def _trapezoid_nodes(step, end):
    t = np.arange(0.0, end + step / 2, step)
    weights = np.full_like(t, step)
    weights[0] = step / 2
    return t, weights


def _scaled_k_integral(nu, x):
    """e^x K_nu(x) = int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt by the trapezoidal rule
    (step 0.1, cut where x (cosh t - 1) > 745: the neglected tail is below 1e-300)."""
    t, w = _trapezoid_nodes(0.1, 8.0)
    rise, weights = np.cosh(t) - 1, np.cosh(nu * t) * w
    out = np.empty_like(x)
    for lo in range(0, x.size, _CHUNK):   # bounded memory: a chunk times the 81 nodes
        part = x[lo:lo + _CHUNK]
        out[lo:lo + _CHUNK] = np.exp(-part[:, None] * rise) @ weights
    return out


def _scaled_k_asymptotic(nu, x):
    """e^x K_nu(x) ~ sqrt(pi/(2x)) sum_k a_k(nu) / x^k, x >= 25."""
    return np.sqrt(math.pi / (2 * x)) * sum(_asymptotic_terms(nu, x, 40, alternate=False))


def _scaled_k(x, nu):
    """e^x K_nu(x) for finite x > 0, nu in {0, 1}."""
    out = np.zeros_like(x)
    small, mid = x <= 1, (x > 1) & (x < 25)
    if small.any():
        out[small] = _bessel_k_series(x[small])[nu] * np.exp(x[small])
    if mid.any():
        out[mid] = _scaled_k_integral(nu, x[mid])
    large = ~(small | mid)
    if large.any():
        out[large] = _scaled_k_asymptotic(nu, x[large])
    return out


def _k_kernel(nu, scaled):
    def kernel(x):
        out = _positive_part(lambda v: _scaled_k(v, nu) * (1.0 if scaled else np.exp(-v)),
                             x, np.nan)
        out = np.where(x == 0, np.inf, out)
        return np.where(np.isposinf(x), 0.0, out)
    return kernel


def _i0_kernel(x):
    return _bessel_i_scaled(0, x) * np.exp(np.abs(x))


def _i1_kernel(x):
    return np.sign(x) * _bessel_i_scaled(1, x) * np.exp(np.abs(x))


def _spherical_j0_kernel(x):
    """sin(x) / x, 1 at 0 and 0 at +-inf."""
    out = np.sin(x) / np.where(x == 0, 1.0, x)
    out = np.where(x == 0, 1.0, out)
    return np.where(np.isinf(x), 0.0, out)


# ---------------------------------------------------------------------------- Airy Ai

_AIRY_UNDERFLOW = 103.892          # beyond it Ai(x) < the smallest normal double
_AIRY_GRID = 0.5
_AIRY_GRID_LOW, _AIRY_GRID_HIGH = -10.0, 1.5
_AI0 = decimal.Decimal("0.35502805388781723926")      # Ai(0)
_AIP0 = decimal.Decimal("-0.25881940379280679840")    # Ai'(0)


@functools.lru_cache(maxsize=None)
def _airy_grid():
    """(points, Ai, Ai') on the grid -10, -9.5, ..., 1.5: the Maclaurin series of Ai
    (a_{k+3} = a_k / ((k+2)(k+3)), from Ai(0), Ai'(0)) summed in 60-digit decimals, since
    its terms reach e^(2/3 |x|^(3/2)) ~ 1e9 there before cancelling."""
    ctx = decimal.Context(prec=60)
    coefs = [_AI0, _AIP0, decimal.Decimal(0)]
    for k in range(0, 400):
        coefs.append(ctx.divide(coefs[k], (k + 2) * (k + 3)))
    points = np.arange(_AIRY_GRID_LOW, _AIRY_GRID_HIGH + _AIRY_GRID / 2, _AIRY_GRID)
    values, slopes = [], []
    for p in points:
        z = decimal.Decimal(repr(float(p)))
        value = slope = decimal.Decimal(0)
        power = decimal.Decimal(1)
        for k, c in enumerate(coefs):
            value = ctx.add(value, ctx.multiply(c, power))
            if k + 1 < len(coefs):
                slope = ctx.add(slope, ctx.multiply(coefs[k + 1] * (k + 1), power))
            power = ctx.multiply(power, z)
        values.append(float(value))
        slopes.append(float(slope))
    return points, np.array(values), np.array(slopes)


def _airy_taylor(x):
    """Ai(x) for -10 < x < 1.5 + 1/4: the Taylor series about the nearest grid point x0,
    whose coefficients follow from Ai'' = x Ai: (k+1)(k+2) c_{k+2} = x0 c_k + c_{k-1}."""
    points, values, slopes = _airy_grid()
    index = np.clip(np.rint((x - _AIRY_GRID_LOW) / _AIRY_GRID), 0, len(points) - 1).astype(int)
    x0, h = points[index], x - points[index]
    older, old, current = np.zeros_like(x), values[index], slopes[index]   # c_{k-1}, c_k, c_{k+1}
    total = old + current * h
    power = h.copy()
    for k in range(0, 40):
        nxt = (x0 * old + older) / ((k + 1) * (k + 2))                     # c_{k+2}
        power = power * h
        total = total + nxt * power
        older, old, current = old, current, nxt
    return total


def _airy_u(count):
    """u_k of the Airy expansions: u_0 = 1, u_k = u_{k-1} (6k-5)(6k-3)(6k-1) / (216 k (2k-1))."""
    u = [1.0]
    for k in range(1, count):
        u.append(u[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / (216 * k * (2 * k - 1)))
    return u


def _airy_decaying(x):
    """Ai(x) = e^(-zeta) / (2 sqrt(pi) x^(1/4)) sum_k (-1)^k u_k / zeta^k, x >= 7.5."""
    zeta = 2 * x * np.sqrt(x) / 3
    total = sum((-1) ** k * u / zeta ** k for k, u in enumerate(_airy_u(30)))
    return np.exp(-zeta - math.log(2 * math.sqrt(math.pi)) - 0.25 * np.log(x)) * total


def _airy_via_k(x):
    """Ai(x) = sqrt(x/3) / pi K_{1/3}(zeta), 1.5 <= x < 7.5."""
    zeta = 2 * x * np.sqrt(x) / 3
    return np.sqrt(x / 3) / math.pi * np.exp(-zeta) * _scaled_k_integral(1 / 3, zeta)


def _airy_oscillating(x):
    """Ai(-z) = (P sin(zeta + pi/4) - Q cos(zeta + pi/4)) / (sqrt(pi) z^(1/4)), z >= 10,
    P = sum (-1)^k u_2k / zeta^2k, Q = sum (-1)^k u_{2k+1} / zeta^(2k+1)."""
    root = np.sqrt(-x)
    zeta = -2.0 * x * root / 3.0
    u = _airy_u(30)
    p = sum((-1) ** (k // 2) * u[k] / zeta ** k for k in range(0, 30, 2))
    q = sum((-1) ** (k // 2) * u[k] / zeta ** k for k in range(1, 30, 2))
    theta = zeta + 0.25 * math.pi
    return (p * np.sin(theta) - q * np.cos(theta)) / (math.sqrt(math.pi) * np.sqrt(root))


def _airy_kernel(x):
    out = np.full_like(x, np.nan)
    pieces = ((x <= -10) & np.isfinite(x), _airy_oscillating), \
        ((x > -10) & (x < 1.5), _airy_taylor), \
        ((x >= 1.5) & (x < 7.5), _airy_via_k), \
        ((x >= 7.5) & (x <= _AIRY_UNDERFLOW), _airy_decaying)
    for mask, method in pieces:
        if mask.any():
            out[mask] = method(x[mask])
    return np.where((x > _AIRY_UNDERFLOW) & np.isfinite(x), 0.0, out)


# ---------------------------------------------------------------------------- public functions

def _special_unary(name, kernel, doc):
    """The public function of one special function: float64 kernel on NumPy arrays (a CuPy
    array visits the host), the result in the input's float dtype (integers give the
    default dtype), no gradient, out= as PyTorch's."""
    def public(input, *, out=None):
        if not isinstance(input, Tensor):
            raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, "
                            f"not {type(input).__name__}")
        dt = input.dtype
        if dt in (_dtype.float16, _dtype.bfloat16) or dt.is_complex:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{dtype_name(dt)}'")
        fdt = dt if dt.is_floating_point else _dtype.get_default_dtype()
        data = input._data
        xp = array_namespace(data)
        host = data if xp is np else xp.asnumpy(data)
        with np.errstate(all="ignore"):
            value = kernel(np.asarray(host, dtype=np.float64))
        value = np.array(value, dtype=fdt.np, order="C")   # (ascontiguousarray makes 0-dim 1-dim)
        if xp is not np:
            value = xp.asarray(value)
        return with_out(Tensor._make(value), out, f"special_{name}")
    public.__name__ = name
    public.__doc__ = doc + " No gradient (as in PyTorch)."
    return public


bessel_j0 = _special_unary("bessel_j0", _j0_kernel, "Bessel function of the first kind J_0(x).")
bessel_j1 = _special_unary("bessel_j1", _j1_kernel, "Bessel function of the first kind J_1(x).")
bessel_y0 = _special_unary("bessel_y0", _y_kernel(0),
                           "Bessel function of the second kind Y_0(x) (nan for x < 0).")
bessel_y1 = _special_unary("bessel_y1", _y_kernel(1),
                           "Bessel function of the second kind Y_1(x) (nan for x < 0).")
modified_bessel_i0 = _special_unary("modified_bessel_i0", _i0_kernel,
                                    "Modified Bessel function of the first kind I_0(x).")
modified_bessel_i1 = _special_unary("modified_bessel_i1", _i1_kernel,
                                    "Modified Bessel function of the first kind I_1(x).")
modified_bessel_k0 = _special_unary("modified_bessel_k0", _k_kernel(0, False),
                                    "Modified Bessel function of the second kind K_0(x).")
modified_bessel_k1 = _special_unary("modified_bessel_k1", _k_kernel(1, False),
                                    "Modified Bessel function of the second kind K_1(x).")
scaled_modified_bessel_k0 = _special_unary("scaled_modified_bessel_k0", _k_kernel(0, True),
                                           "Exponentially scaled K_0: e^x K_0(x).")
scaled_modified_bessel_k1 = _special_unary("scaled_modified_bessel_k1", _k_kernel(1, True),
                                           "Exponentially scaled K_1: e^x K_1(x).")
spherical_bessel_j0 = _special_unary("spherical_bessel_j0", _spherical_j0_kernel,
                                     "Spherical Bessel function of the first kind j_0(x) = "
                                     "sin(x) / x.")
airy_ai = _special_unary("airy_ai", _airy_kernel, "Airy function Ai(x), the solution of "
                         "y'' = x y that decays as x -> +inf.")
