"""Adadelta (Zeiler, 2012)."""
from .._backend import array_namespace
from .._tensor import Tensor
from ._fma import axpy_, fma_
from ._foreach import one_blas_thread
from .optimizer import (Optimizer, check_lr, check_nonneg, _to_scalar, _new_step, _step_tensor,
                        _real_view, differentiable_params, hyper, number)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta.

    v = rho v + (1 - rho) g^2;  delta = sqrt(u + eps) / sqrt(v + eps) * g;
    u = rho u + (1 - rho) delta^2;  p = p - lr * delta.
    """

    _GROUP_DEFAULTS = {"foreach": None, "maximize": False, "differentiable": False,
                       "capturable": False}
    _TENSOR_STEP = True
    _CAPTURABLE_DEVICES = "['cuda', 'xpu', 'hpu', 'privateuseone']"

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_nonneg(eps, "epsilon")
        check_nonneg(weight_decay, "weight_decay")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))

    def step(self, closure=None):
        return self._run_step(one_blas_thread(self._update), closure)

    def _update(self):
        for group in self.param_groups:
            if group["differentiable"]:
                for p in differentiable_params(group, "Adadelta"):
                    _adadelta_differentiable(p, _state_of(self.state[p], p), group,
                                             listing=self._listing)
                continue
            lr, rho, eps, wd = _to_scalar(group["lr"]), group["rho"], group["eps"], \
                group["weight_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                xp = array_namespace(x)
                g = -p._grad._data if group["maximize"] else p._grad._data
                state = _state_of(self.state[p], p)
                _step_tensor(state)
                if wd != 0:       # (torch's add(param, alpha=wd): one rounding)
                    g = axpy_(g.copy(), wd, x)
                # complex: the parts as independent reals
                x, g = _real_view(x), _real_view(g)
                v, u = _real_view(state["square_avg"]._data), _real_view(state["acc_delta"]._data)
                v *= rho
                fma_(v, g, g, value=1 - rho)
                std = xp.sqrt(v + eps)
                delta = xp.sqrt(u + eps) / std * g
                u *= rho
                fma_(u, delta, delta, value=1 - rho)
                axpy_(x, -lr, delta)
                p._bump_version()


def _state_of(state, p):
    """p's `state`, filled on its first step: step 0, zero averages."""
    if len(state) == 0:
        xp = array_namespace(p._data)
        state["step"] = _new_step()
        state["square_avg"] = Tensor._make(xp.zeros_like(p._data))
        state["acc_delta"] = Tensor._make(xp.zeros_like(p._data))
    return state


def _adadelta_differentiable(p, state, group, listing=False):
    """One Adadelta step of `p` as Tensor ops that autograd records (differentiable=True),
    in place on p and its averages: the formula of the class docstring."""
    lr, rho, eps, wd = hyper(group["lr"]), group["rho"], group["eps"], group["weight_decay"]
    g = -p._grad if group["maximize"] else p._grad
    state["step"] += 1
    if wd != 0:
        g = g.add(p, alpha=wd)
    v, u = state["square_avg"], state["acc_delta"]
    v.mul_(rho).addcmul_(g, g, value=1 - rho)
    std = v.add(eps).sqrt_()
    delta = u.add(eps).sqrt_()
    if not listing:   # (PyTorch's single-tensor update divides in place: a listed step)
        delta = delta.clone()
    delta = delta.div_(std).mul_(g)
    u.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    p.add_(delta, alpha=number(-lr, "add_", "'alpha'"))
