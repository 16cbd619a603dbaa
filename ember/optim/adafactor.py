"""Adafactor (Shazeer & Stern, 2018): Adam-like steps with a factored second moment."""
import math

from .._backend import array_namespace
from .._dtype import _FROM_NP, finfo
from .._tensor import Tensor
from .optimizer import Optimizer, _to_scalar, _lr_value, _new_step, _step_tensor, _lerp_

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor, as torch.optim.Adafactor computes it (lr caps the relative step size and
    scales the decoupled weight decay; eps1 guards the variance estimate, not the factors).

    At step t, with G the gradient (-G when maximizing) and RMS(a) = ||a||_2 / sqrt(numel):

        beta2_hat = 1 - t^beta2_decay;  rho = min(lr, 1 / sqrt(t));
        alpha = max(eps2, RMS(p)) * rho;  p = p (1 - lr weight_decay);
        2-D and more (factored over the last two dims, state row_var (..., m, 1) and
        col_var (..., 1, n)):
            R = lerp(R, mean(G^2, -1), 1 - beta2_hat);  C = lerp(C, mean(G^2, -2), 1 - beta2_hat);
            V = R C / max(mean(R, -2), eps1)
        otherwise (state variance, G's shape):  V = lerp(V, G^2, 1 - beta2_hat);
        U = G / sqrt(max(V, eps1^2));  p = p - alpha / max(1, RMS(U) / d) * U.

    eps = (eps1, eps2); eps1 None means the machine epsilon of the parameters' dtype (as
    torch, the dtype of the first parameter with a gradient in the group). Complex
    parameters raise RuntimeError at the step.
    """

    _GROUP_DEFAULTS = {"foreach": None}
    _TENSOR_STEP = True

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _to_scalar(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _check_grads(self):
        super()._check_grads()
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None and p.dtype.is_complex:
                    raise RuntimeError("Adafactor does not support complex parameters")

    def _update(self):
        for group in self.param_groups:
            lr = _lr_value(group["lr"])   # a float32 Tensor lr rounds what it scales, as torch
            eps1, eps2 = group["eps"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                if eps1 is None:
                    eps1 = finfo(_FROM_NP[x.dtype]).eps
                state = self.state[p]
                if len(state) == 0:
                    xp = array_namespace(x)
                    state["step"] = _new_step()
                    g = p._grad._data
                    if g.ndim > 1:
                        state["row_var"] = Tensor._make(xp.zeros(g.shape[:-1] + (1,), g.dtype))
                        state["col_var"] = Tensor._make(
                            xp.zeros(g.shape[:-2] + (1, g.shape[-1]), g.dtype))
                    else:
                        state["variance"] = Tensor._make(xp.zeros_like(g))
                _adafactor(x, p._grad._data, state, _step_tensor(state), group, lr, eps1, eps2)
                p._bump_version()


def _rms(xp, a):
    """||a||_2 / sqrt(numel(a)) as a Python float; an empty array raises ZeroDivisionError,
    as in torch's Adafactor."""
    return float(xp.sqrt(xp.sum(a * a))) / math.sqrt(a.size)


def _adafactor(x, g, state, step, group, lr, eps1, eps2):
    """One Adafactor step of parameter array `x` (in place) with gradient `g` at step `step`."""
    xp = array_namespace(x)
    if group["maximize"]:
        g = -g
    one_minus_beta2 = step ** group["beta2_decay"]
    rho = min(lr, 1 / step ** 0.5)
    alpha = max(eps2, _rms(xp, x)) * rho
    if group["weight_decay"] != 0:
        x *= 1 - lr * group["weight_decay"]
    if g.ndim > 1:
        row_var, col_var = state["row_var"]._data, state["col_var"]._data
        g2 = g * g
        # the mean of g^2 as torch forms it, the square of the norm over the count
        _lerp_(row_var, xp.sqrt(xp.sum(g2, axis=-1, keepdims=True)) ** 2 / g.shape[-1],
               one_minus_beta2)
        _lerp_(col_var, xp.sqrt(xp.sum(g2, axis=-2, keepdims=True)) ** 2 / g.shape[-2],
               one_minus_beta2)
        var = xp.matmul(row_var, col_var)
        var /= xp.maximum(xp.mean(row_var, axis=-2, keepdims=True), eps1)
    else:
        variance = state["variance"]._data
        _lerp_(variance, g * g, one_minus_beta2)
        var = variance.copy()
    update = 1 / xp.sqrt(xp.maximum(var, eps1 * eps1))
    update *= g
    denom = max(1.0, _rms(xp, update) / group["d"])
    x -= (alpha / denom) * update
