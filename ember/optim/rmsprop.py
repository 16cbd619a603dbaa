"""RMSprop (Hinton, lecture 6.5), optionally centered and with momentum."""
from .._backend import array_namespace
from .._tensor import Tensor
from .optimizer import (Optimizer, check_lr, check_nonneg, check_not_differentiable, _to_scalar,
                        _new_step, _step_tensor, _lerp_)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop.

    v = alpha v + (1 - alpha) g^2;  avg = sqrt(v) + eps, or centered: ga = lerp(ga, g, 1 - alpha),
    avg = sqrt(v - ga^2) + eps;  with momentum: b = momentum b + g / avg, p = p - lr b;
    else p = p - lr g / avg.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_lr(lr)
        check_nonneg(eps, "epsilon")
        check_nonneg(momentum, "momentum")
        check_nonneg(weight_decay, "weight_decay")
        check_nonneg(alpha, "alpha")
        check_not_differentiable(differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            lr, alpha, eps = _to_scalar(group["lr"]), group["alpha"], group["eps"]
            wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                xp = array_namespace(x)
                g = -p._grad._data if group["maximize"] else p._grad._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["square_avg"] = Tensor._make(xp.zeros_like(x))
                    if momentum > 0:
                        state["momentum_buffer"] = Tensor._make(xp.zeros_like(x))
                    if centered:
                        state["grad_avg"] = Tensor._make(xp.zeros_like(x))
                _step_tensor(state)
                if wd != 0:
                    g = g + wd * x
                v = state["square_avg"]._data
                v *= alpha
                v += (1 - alpha) * g * g
                if centered:
                    ga = state["grad_avg"]._data
                    _lerp_(ga, g, 1 - alpha)
                    avg = xp.sqrt(v - ga * ga) + eps
                else:
                    avg = xp.sqrt(v) + eps
                if momentum > 0:
                    b = state["momentum_buffer"]._data
                    b *= momentum
                    b += g / avg
                    x -= lr * b
                else:
                    x -= lr * g / avg
                p._bump_version()
