"""RMSprop and Adagrad."""
import math

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, _step_tensor

__all__ = ["RMSprop", "Adagrad"]


class RMSprop(Optimizer):
    r"""v = alpha v + (1 - alpha) g^2; (centered: subtract the squared running mean of g);
    with momentum: b = momentum b + g / (sqrt(v) + eps), p -= lr b; else p -= lr g / (sqrt(v) + eps)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                g = p._grad._data
                if group["maximize"]:
                    g = -g
                state = self.state[p]
                if "square_avg" not in state:
                    state["step"] = Tensor._make(np.array(0.0, dtype=np.float32))
                    state["square_avg"] = Tensor._make(np.zeros_like(x))
                    if momentum > 0:
                        state["momentum_buffer"] = Tensor._make(np.zeros_like(x))
                    if centered:
                        state["grad_avg"] = Tensor._make(np.zeros_like(x))
                _step_tensor(state)
                if wd != 0:
                    g = g + wd * x
                v = state["square_avg"]._data
                v *= alpha
                v += (1 - alpha) * g * g
                if centered:
                    ga = state["grad_avg"]._data
                    ga += (1 - alpha) * (g - ga)
                    avg = np.sqrt(v - ga * ga) + eps
                else:
                    avg = np.sqrt(v) + eps
                if momentum > 0:
                    b = state["momentum_buffer"]._data
                    b *= momentum
                    b += g / avg
                    x -= lr * b
                else:
                    x -= (lr * (g / avg)).astype(x.dtype, copy=False)
                p._bump_version()


class Adagrad(Optimizer):
    r"""clr = lr / (1 + (t - 1) lr_decay); s += g^2; p -= clr g / (sqrt(s) + eps)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = Tensor._make(np.array(0.0, dtype=np.float32))
                state["sum"] = Tensor._make(np.full_like(p._data,
                                                         group["initial_accumulator_value"]))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                g = p._grad._data
                if group["maximize"]:
                    g = -g
                state = self.state[p]
                step = _step_tensor(state)
                if group["weight_decay"] != 0:
                    g = g + group["weight_decay"] * x
                clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
                s = state["sum"]._data
                s += g * g
                x -= (clr * (g / (np.sqrt(s) + group["eps"]))).astype(x.dtype, copy=False)
                p._bump_version()
