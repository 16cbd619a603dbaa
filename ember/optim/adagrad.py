"""Adagrad (Duchi et al., 2011)."""
from .._backend import array_namespace
from .._tensor import Tensor
from .optimizer import (Optimizer, check_lr, check_nonneg, check_fused, _to_scalar, _new_step,
                        _step_tensor, _real_view, differentiable_params, hyper, number)
from ._foreach import decayed_grad, for_each, scratch
from ._fma import fma_

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad.

    clr = lr / (1 + (t - 1) lr_decay);  s = s + g^2;  p = p - clr g / (sqrt(s) + eps),
    with s starting at initial_accumulator_value (state is created at construction, as torch).
    """

    _GROUP_DEFAULTS = {"foreach": None, "maximize": False, "differentiable": False, "fused": None}
    _TENSOR_STEP = True

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr(lr)
        check_nonneg(lr_decay, "lr_decay")
        check_nonneg(weight_decay, "weight_decay")
        check_nonneg(initial_accumulator_value, "initial_accumulator_value")
        check_nonneg(eps, "epsilon")
        check_fused(fused, foreach, differentiable)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                _init_state(self.state[p], p, self.defaults)

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            if group["differentiable"]:
                for p in differentiable_params(group, "Adagrad"):
                    state = self.state[p]
                    if len(state) == 0:     # a parameter of a group added after construction
                        _init_state(state, p, self.defaults)
                    _adagrad_differentiable(p, state, group, listing=self._listing)
                continue
            lr = _to_scalar(group["lr"])
            todo = []
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:     # a parameter of a group added after construction
                    _init_state(state, p, self.defaults)
                step = _step_tensor(state)
                clr = lr / (1 + (step - 1) * group["lr_decay"])
                if p._grad.is_sparse:   # embedding(sparse=True)'s gradient
                    _sparse_adagrad(p, state["sum"]._data, clr, group)
                    continue
                todo.append((p._data, p._grad._data, state["sum"]._data, clr))
                p._bump_version()
            for_each(lambda item: _adagrad(*item, group), todo, [t[0] for t in todo])


def _init_state(state, p, options):
    """Step 0 and the accumulator filled with initial_accumulator_value (v + vi for a
    complex parameter: both parts start at v). As torch, v is always the constructor's
    value, even for a group that gives its own."""
    v = options["initial_accumulator_value"]
    state["step"] = _new_step()
    xp = array_namespace(p._data)
    state["sum"] = Tensor._make(xp.full_like(p._data, complex(v, v) if p.dtype.is_complex
                                             else v))


def _adagrad_differentiable(p, state, group, listing=False):
    """One Adagrad step of `p` as Tensor ops that autograd records (differentiable=True), in
    place on p and its accumulator, so that they are functions of the old ones and of
    p.grad: the formula of the class docstring. `listing`: as RMSprop's (PyTorch's
    single-tensor update adds eps in place)."""
    lr, wd = hyper(group["lr"]), group["weight_decay"]
    g = -p._grad if group["maximize"] else p._grad
    state["step"] += 1
    step = state["step"].item()
    if wd != 0:
        g = g.add(p, alpha=wd)
    clr = lr / (1 + (step - 1) * group["lr_decay"])
    s = state["sum"]
    s.addcmul_(g, g, value=1)
    std = s.sqrt().add_(group["eps"]) if listing else s.sqrt() + group["eps"]
    p.addcdiv_(g, std, value=number(-clr, "addcdiv_", "'value'"))


def _sparse_adagrad(p, s, clr, group):
    """The Adagrad step at the entries a sparse (COO) gradient holds, as torch: with g its
    coalesced values there, s += g^2 and p -= clr g / (sqrt(s) + eps); elsewhere p and s
    stay. Weight decay would make the gradient dense: refused, as torch."""
    from .sparse_adam import _coalesced
    if group["weight_decay"] != 0:
        raise RuntimeError("weight_decay option is not compatible with sparse gradients")
    pos, values = _coalesced(p._grad)
    if group["maximize"]:
        values = -values
    xp = array_namespace(s)
    s[pos] += values * values
    std = xp.sqrt(s[pos]) + group["eps"]
    p._data[pos] += -clr * (values / std)
    p._bump_version()


def _adagrad(x, g, s, clr, group):
    """One Adagrad step of parameter array `x` (in place) with gradient `g`, accumulator `s`
    and decayed learning rate `clr`, op by op, intermediates in two scratch buffers."""
    eps, wd = group["eps"], group["weight_decay"]
    xp = array_namespace(x)
    x, g, s = _real_view(x), _real_view(g), _real_view(s)   # complex: parts as reals
    s0, s1 = scratch(x, 2)
    g = decayed_grad(xp, x, g, group["maximize"], wd, s0, s1)
    fma_(s, g, g)                 # torch's addcmul_(g, g, value=1)
    denom = xp.sqrt(s, out=s1)
    denom += eps
    update = xp.multiply(g, clr, out=s0)        # g is the gradient or s0 itself
    update /= denom
    x -= update
