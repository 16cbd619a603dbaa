"""Adagrad (Duchi et al., 2011)."""
from .._backend import array_namespace
from .._tensor import Tensor
from .optimizer import (Optimizer, check_lr, check_nonneg, check_not_differentiable, _to_scalar,
                        _new_step, _step_tensor)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad.

    clr = lr / (1 + (t - 1) lr_decay);  s = s + g^2;  p = p - clr g / (sqrt(s) + eps),
    with s starting at initial_accumulator_value (state is created at construction, as torch).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr(lr)
        check_nonneg(lr_decay, "lr_decay")
        check_nonneg(weight_decay, "weight_decay")
        check_nonneg(initial_accumulator_value, "initial_accumulator_value")
        check_nonneg(eps, "epsilon")
        check_not_differentiable(differentiable)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = _new_step()
                xp = array_namespace(p._data)
                state["sum"] = Tensor._make(xp.full_like(p._data,
                                                         group["initial_accumulator_value"]))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            lr, lr_decay, eps = _to_scalar(group["lr"]), group["lr_decay"], group["eps"]
            wd = group["weight_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                xp = array_namespace(x)
                g = -p._grad._data if group["maximize"] else p._grad._data
                state = self.state[p]
                step = _step_tensor(state)
                if wd != 0:
                    g = g + wd * x
                clr = lr / (1 + (step - 1) * lr_decay)
                s = state["sum"]._data
                s += g * g
                x -= clr * g / (xp.sqrt(s) + eps)
                p._bump_version()
