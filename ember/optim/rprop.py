"""Rprop: resilient backpropagation (Riedmiller & Braun, 1993)."""
from .._backend import array_namespace
from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, check_not_differentiable, _to_scalar, _new_step, \
    _step_tensor, _real_view

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop: one step size per element, adapted from the sign of g * g_prev.

    s = clamp(s * eta_plus, *step_sizes) where g * g_prev > 0,
        clamp(s * eta_minus, *step_sizes) where g * g_prev < 0 (and then g = 0);
    p = p - sign(g) * s;  g_prev = g.
    """

    _GROUP_DEFAULTS = {"foreach": None, "maximize": False, "differentiable": False,
                       "capturable": False}
    _TENSOR_STEP = True

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        check_not_differentiable(differentiable, "Rprop")
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            eta_minus, eta_plus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                xp = array_namespace(x)
                g = -p._grad._data if group["maximize"] else p._grad._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["prev"] = Tensor._make(xp.zeros_like(x))
                    lr = _to_scalar(group["lr"])   # complex: both parts step by lr
                    state["step_size"] = Tensor._make(
                        xp.full_like(g, complex(lr, lr) if g.dtype.kind == "c" else lr))
                _step_tensor(state)
                # complex: the parts as independent reals
                x, g = _real_view(x), _real_view(g)
                prev = _real_view(state["prev"]._data)
                step_size = _real_view(state["step_size"]._data)
                factor = xp.sign(g * prev)
                factor[factor > 0] = eta_plus
                factor[factor < 0] = eta_minus
                factor[factor == 0] = 1
                step_size *= factor
                xp.clip(step_size, step_size_min, step_size_max, out=step_size)
                g = g.copy()
                g[factor == eta_minus] = 0           # a sign change: no step, forget g
                x -= xp.sign(g) * step_size
                prev[...] = g
                p._bump_version()
