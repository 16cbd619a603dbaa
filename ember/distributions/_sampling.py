"""Samplers with implicit reparameterization gradients: Gamma and Dirichlet draws whose
derivative with respect to the concentration is that of the inverse CDF,
    dx/dalpha = -(dF(x; alpha)/dalpha) / p(x; alpha),
evaluated at the drawn x (Figurnov et al. 2018, "Implicit Reparameterization
Gradients"). The draws come from NumPy's generator behind ember's generator state; the
derivatives of the regularized incomplete gamma and beta functions are summed from their
power series in float64 (exact to about 1e-12 against mpmath; PyTorch's
_standard_gamma_grad and _dirichlet_grad, fitted approximations, agree to about 1e-3).
"""
import numpy as np

import ember
from ember import _sampling as _draws
from ember._random import gen_of

__all__ = ["standard_gamma", "dirichlet", "standard_gamma_grad", "dirichlet_grad"]

_MAX_TERMS = 100000


def _digamma(a):
    return ember.digamma(ember.from_numpy(np.asarray(a, dtype=np.float64))).numpy()


def _lgamma(a):
    return ember.lgamma(ember.from_numpy(np.asarray(a, dtype=np.float64))).numpy()


def standard_gamma_grad(alpha, x):
    """dx/dalpha for x ~ Gamma(alpha, 1), as float64 arrays.

    With P(a, x) = x^a e^-x / Gamma(a+1) sum_n c_n, c_n = x^n Gamma(a+1) / Gamma(a+n+1),
    dP/da = P (log x - psi(a+1) - <H>), where <H> is the c-weighted mean of the harmonic
    sums H_n = sum_{k=1..n} 1 / (a + k). So dx/da = P (<H> + psi(a+1) - log x) / p(x).
    """
    a = np.asarray(alpha, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    a, x = np.broadcast_arrays(a, x)
    shape = a.shape
    a, x = a.ravel(), np.maximum(x.ravel(), np.finfo(np.float64).tiny)
    log_x = np.log(x)
    # the series, accumulated in log space relative to its running maximum term
    log_c = np.zeros_like(a)
    harmonic = np.zeros_like(a)
    s0 = np.ones_like(a)       # sum of c_n / c_max
    s1 = np.zeros_like(a)      # sum of c_n H_n / c_max
    log_cmax = np.zeros_like(a)
    active = np.ones(a.shape, dtype=bool)
    n = 0
    while active.any() and n < _MAX_TERMS:
        n += 1
        idx = np.nonzero(active)[0]
        an, xn = a[idx], x[idx]
        log_c[idx] += log_x[idx] - np.log(an + n)
        harmonic[idx] += 1.0 / (an + n)
        grow = log_c[idx] > log_cmax[idx]
        shift = np.where(grow, np.exp(log_cmax[idx] - log_c[idx]), 1.0)
        s0[idx] *= shift
        s1[idx] *= shift
        log_cmax[idx] = np.maximum(log_cmax[idx], log_c[idx])
        term = np.exp(log_c[idx] - log_cmax[idx])
        s0[idx] += term
        s1[idx] += term * harmonic[idx]
        # stop once the terms decrease (n past x - a) and are negligible
        done = (n > xn - an) & (term * np.maximum(harmonic[idx], 1.0) < 1e-17 * s0[idx])
        active[idx[done]] = False
    mean_h = s1 / s0
    log_w = a * log_x - x - _lgamma(a + 1)
    log_p_cdf = log_w + log_cmax + np.log(s0)
    log_pdf = (a - 1) * log_x - x - _lgamma(a)
    grad = np.exp(log_p_cdf - log_pdf) * (mean_h + _digamma(a + 1) - log_x)
    return grad.reshape(shape)


def _log_beta(a, b):
    return _lgamma(a) + _lgamma(b) - _lgamma(a + b)


def _beta_cdf_grads(x, a, b):
    """(I_x(a, b), dI/da, dI/db) for x in (0, 1) not beyond the mean (x <= a / (a + b)),
    from I_x(a, b) = x^a (1-x)^b / (a B(a, b)) sum_n d_n x^n, d_n = (a+b)_n / (a+1)_n."""
    log_x, log_1mx = np.log(x), np.log1p(-x)
    log_d = np.zeros_like(a)
    ga = np.zeros_like(a)   # d log d_n / da = sum_k [1/(a+b+k) - 1/(a+1+k)]
    gb = np.zeros_like(a)   # d log d_n / db = sum_k 1/(a+b+k)
    s0, sa, sb = np.ones_like(a), np.zeros_like(a), np.zeros_like(a)
    active = np.ones(a.shape, dtype=bool)
    n = 0
    while active.any() and n < _MAX_TERMS:
        idx = np.nonzero(active)[0]
        ai, bi = a[idx], b[idx]
        k = n
        n += 1
        log_d[idx] += np.log(ai + bi + k) - np.log(ai + 1 + k) + log_x[idx]
        ga[idx] += 1.0 / (ai + bi + k) - 1.0 / (ai + 1 + k)
        gb[idx] += 1.0 / (ai + bi + k)
        term = np.exp(log_d[idx])
        s0[idx] += term
        sa[idx] += term * ga[idx]
        sb[idx] += term * gb[idx]
        done = term * (1.0 + np.abs(ga[idx]) + gb[idx]) < 1e-17 * s0[idx]
        active[idx[done]] = False
    log_front = a * log_x + b * log_1mx - np.log(a) - _log_beta(a, b)
    cdf = np.exp(log_front + np.log(s0))
    dlog_front_da = log_x - 1.0 / a - (_digamma(a) - _digamma(a + b))
    dlog_front_db = log_1mx - (_digamma(b) - _digamma(a + b))
    d_da = cdf * (dlog_front_da + sa / s0)
    d_db = cdf * (dlog_front_db + sb / s0)
    return cdf, d_da, d_db


def dirichlet_grad(x, alpha, total):
    """d_j for a Dirichlet draw x: the coordinate x_j has the marginal
    Beta(alpha_j, total - alpha_j), and raising alpha_j (the other concentrations fixed)
    moves it by dx_j/dalpha_j = -(dI_x(a, b)/da at fixed b) / p(x; a, b), I the regularized
    incomplete beta function. The other coordinates shrink in proportion (given x_j, the
    rest of the vector divided by 1 - x_j does not depend on alpha_j), so the Jacobian is
    dx_i/dalpha_j = d_j (delta_ij - x_i) with d_j = (dx_j/dalpha_j) / (1 - x_j)."""
    x, a, t = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, alpha, total)))
    shape = x.shape
    tiny = np.finfo(np.float64).tiny
    x = np.clip(x.ravel(), tiny, 1 - np.finfo(np.float64).epsneg)
    a, b = a.ravel().copy(), (t - a).ravel().copy()
    # the series converges fast below the mean; above it use I_x(a, b) = 1 - I_{1-x}(b, a),
    # whose derivative in a is minus that of I_{1-x}(b, a) in its second parameter
    flip = x > a / (a + b)
    xs, as_, bs = np.where(flip, 1 - x, x), np.where(flip, b, a), np.where(flip, a, b)
    _, d_da, d_db = _beta_cdf_grads(xs, as_, bs)
    dI_da = np.where(flip, -d_db, d_da)
    log_pdf = (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - _log_beta(a, b)
    grad = -dI_da / np.exp(log_pdf) / (1 - x)
    return grad.reshape(shape)


def _as_tensor_like(arr, like):
    return ember.tensor(np.asarray(arr), dtype=like.dtype, device=like.device)


class _StandardGammaGrad(ember.autograd.Function):
    """dx/dalpha as a node of the graph, so that a second derivative through it raises
    (as PyTorch's) instead of silently treating it as a constant."""

    @staticmethod
    def forward(ctx, alpha, x):
        d = standard_gamma_grad(alpha.detach().cpu().numpy(), x.detach().cpu().numpy())
        return _as_tensor_like(d, alpha)

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("the derivative for '_standard_gamma_grad' is not implemented.")


class _StandardGamma(ember.autograd.Function):
    """x ~ Gamma(alpha, 1) elementwise; backward grad * dx/dalpha (implicit)."""

    @staticmethod
    def forward(ctx, alpha):
        a = alpha.detach().cpu().numpy()
        draws = _draws.gamma(gen_of(None), a.astype(np.float64).reshape(-1),
                             single=a.dtype != np.float64).reshape(a.shape).astype(a.dtype)
        # no exact zeros: log x and the density stay finite (float32 underflows for tiny
        # alpha; PyTorch's sampler clamps to the smallest normal number too)
        draws = np.maximum(draws, np.finfo(a.dtype).tiny)
        x = _as_tensor_like(draws, alpha)
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        alpha, x = ctx.saved_tensors
        return grad * _StandardGammaGrad.apply(alpha, x)


class _Dirichlet(ember.autograd.Function):
    """x ~ Dirichlet(alpha) over the last dim, as normalised Gamma draws; backward
    dL/dalpha_j = sum_i g_i dx_i/dalpha_j = d_j (g_j - <x, g>) (see dirichlet_grad)."""

    @staticmethod
    def forward(ctx, concentration):
        a = concentration.detach().cpu().numpy()
        # PyTorch's order: double Gamma draws (at least the smallest normal double),
        # normalised, cast, clamped into [smallest normal, largest value below 1]
        gammas = _draws.gamma(gen_of(None), a.astype(np.float64).reshape(-1), single=False)
        gammas = np.maximum(gammas, np.finfo(np.float64).tiny).reshape(a.shape)
        x = (gammas / gammas.sum(-1, keepdims=True)).astype(a.dtype)
        x = np.clip(x, np.finfo(a.dtype).tiny, np.nextafter(a.dtype.type(1), a.dtype.type(0)))
        out = _as_tensor_like(x, concentration)
        ctx.save_for_backward(concentration, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        concentration, x = ctx.saved_tensors
        # differentiable once, as PyTorch's (its backward is @once_differentiable): the
        # gradient it returns is a constant without history
        with ember.no_grad():
            a = concentration.detach().cpu().numpy()
            total = np.broadcast_to(a.sum(-1, keepdims=True), a.shape)
            d = _as_tensor_like(dirichlet_grad(x.detach().cpu().numpy(), a, total),
                                concentration)
            return d * (grad - (x * grad).sum(-1, keepdim=True))


def standard_gamma(alpha):
    """Gamma(alpha, 1) draws, differentiable in alpha."""
    return _StandardGamma.apply(alpha)


def dirichlet(concentration):
    """Dirichlet(concentration) draws, differentiable in the concentration."""
    return _Dirichlet.apply(concentration)
