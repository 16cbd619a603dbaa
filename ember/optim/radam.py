"""RAdam: Adam with a rectified adaptive learning rate (Liu et al., 2019)."""
from .._backend import array_namespace
from .._tensor import Tensor
from ._fma import axpy_, fma_, lerp_
from ._foreach import one_blas_thread
from .optimizer import (Optimizer, check_lr, check_nonneg, check_betas, _to_scalar, _new_step,
                        _step_tensor, _real_view, differentiable_params, hyper)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam.

    m = lerp(m, g, 1 - b1);  v = b2 v + (1 - b2) g^2;  m_hat = m / (1 - b1^t);
    rho_inf = 2 / (1 - b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t);
    if rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)),
                   p = p - m_hat * lr * sqrt(1 - b2^t) / (sqrt(v) + eps) * r
    else:          p = p - m_hat * lr.
    Weight decay adds weight_decay * p to g, or with decoupled_weight_decay multiplies p by
    (1 - lr * weight_decay) first.
    """

    _GROUP_DEFAULTS = {"foreach": None, "maximize": False, "differentiable": False,
                       "capturable": False, "decoupled_weight_decay": False}
    _TENSOR_STEP = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_lr(lr)
        check_nonneg(eps, "epsilon")
        check_betas(betas)
        check_nonneg(weight_decay, "weight_decay")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def step(self, closure=None):
        return self._run_step(one_blas_thread(self._update), closure)

    def _update(self):
        for group in self.param_groups:
            if group["differentiable"]:
                for p in differentiable_params(group, "RAdam"):
                    _radam_differentiable(p, _state_of(self.state[p], p), group)
                continue
            lr, (beta1, beta2) = _to_scalar(group["lr"]), group["betas"]
            eps, wd = group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                xp = array_namespace(x)
                g = -p._grad._data if group["maximize"] else p._grad._data
                state = _state_of(self.state[p], p)
                step = _step_tensor(state)
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        x *= 1 - lr * wd
                    else:
                        g = axpy_(g.copy(), wd, x)    # (torch's add(param, alpha=wd))
                # complex: the parts as independent reals
                x, g = _real_view(x), _real_view(g)
                m, v = _real_view(state["exp_avg"]._data), _real_view(state["exp_avg_sq"]._data)
                lerp_(m, g, 1 - beta1)
                v *= beta2
                fma_(v, g, g, value=1 - beta2)    # (torch's addcmul_)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                m_hat = m / bias_correction1
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    # torch's scalar / tensor is reciprocal(tensor) * scalar
                    adaptive_lr = xp.reciprocal(xp.sqrt(v) + eps) * bias_correction2 ** 0.5
                    x -= m_hat * lr * adaptive_lr * rect
                else:
                    x -= m_hat * lr
                p._bump_version()


def _state_of(state, p):
    """p's `state`, filled on its first step: step 0, zero moments."""
    if len(state) == 0:
        xp = array_namespace(p._data)
        state["step"] = _new_step()
        state["exp_avg"] = Tensor._make(xp.zeros_like(p._data))
        state["exp_avg_sq"] = Tensor._make(xp.zeros_like(p._data))
    return state


def _radam_differentiable(p, state, group):
    """One RAdam step of `p` as Tensor ops that autograd records (differentiable=True), in
    place on p and its moments: the formula of the class docstring."""
    lr, (beta1, beta2) = hyper(group["lr"]), group["betas"]
    eps, wd = group["eps"], group["weight_decay"]
    g = -p._grad if group["maximize"] else p._grad
    state["step"] += 1
    step = state["step"].item()
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p.mul_(1 - lr * wd)
        else:
            g = g.add(p, alpha=wd)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(g, 1 - beta1)
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    bias_correction2 = 1 - beta2 ** step
    m_hat = m / (1 - beta1 ** step)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        adaptive_lr = bias_correction2 ** 0.5 / v.sqrt().add(eps)
        p.add_(m_hat * lr * adaptive_lr * rect, alpha=-1.0)
    else:
        p.add_(m_hat * lr, alpha=-1.0)
