"""Rprop: resilient backpropagation (Riedmiller & Braun, 1993)."""
from .._backend import array_namespace
from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, _to_scalar, _new_step, _step_tensor, _real_view, \
    differentiable_params, number

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
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            eta_minus, eta_plus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            if group["differentiable"]:
                for p in differentiable_params(group, "Rprop"):
                    _rprop_differentiable(p, _state_of(self.state[p], p, group), group)
                continue
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                xp = array_namespace(x)
                g = -p._grad._data if group["maximize"] else p._grad._data
                state = _state_of(self.state[p], p, group)
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


def _state_of(state, p, group):
    """p's `state`, filled on its first step: step 0, a zero previous gradient, every step
    size lr (both parts of a complex one)."""
    if len(state) == 0:
        g = p._grad._data
        xp = array_namespace(g)
        lr = _to_scalar(number(group["lr"], "full_like", "'fill_value' (position 2)"))
        state["step"] = _new_step()
        state["prev"] = Tensor._make(xp.zeros_like(p._data))
        state["step_size"] = Tensor._make(
            xp.full_like(g, complex(lr, lr) if g.dtype.kind == "c" else lr))
    return state


def _rprop_differentiable(p, state, group):
    """One Rprop step of `p` as Tensor ops that autograd records (differentiable=True), in
    place on p and its state: the formula of the class docstring. The sign factors are
    piecewise constant (no gradient); the gradient reaches p through the step sizes of
    earlier steps and, as torch, through g_prev."""
    (eta_minus, eta_plus), (step_size_min, step_size_max) = group["etas"], group["step_sizes"]
    g = -p._grad if group["maximize"] else p._grad
    state["step"] += 1
    prev, step_size = state["prev"], state["step_size"]
    factor = g.mul(prev.clone()).sign()
    factor[factor.gt(0)] = eta_plus
    factor[factor.lt(0)] = eta_minus
    factor[factor.eq(0)] = 1
    step_size.mul_(factor).clamp_(step_size_min, step_size_max)
    g = g.clone()
    g[factor.eq(eta_minus)] = 0           # a sign change: no step, forget g
    p.addcmul_(g.sign(), step_size, value=-1)
    prev.copy_(g)
