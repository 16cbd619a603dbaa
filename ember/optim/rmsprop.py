"""RMSprop (Hinton, lecture 6.5), optionally centered and with momentum."""
from .._backend import array_namespace
from .._tensor import Tensor
from .optimizer import (Optimizer, check_lr, check_nonneg, _to_scalar, _new_step, _step_tensor,
                        _real_view, differentiable_params, hyper, number)
from ._foreach import decayed_grad, for_each, scratch
from ._fma import axpy_, fma_, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop.

    v = alpha v + (1 - alpha) g^2;  avg = sqrt(v) + eps, or centered: ga = lerp(ga, g, 1 - alpha),
    avg = sqrt(v - ga^2) + eps;  with momentum: b = momentum b + g / avg, p = p - lr b;
    else p = p - lr g / avg.
    """

    _GROUP_DEFAULTS = {"momentum": 0, "centered": False, "foreach": None, "maximize": False,
                       "differentiable": False, "capturable": False}
    _TENSOR_STEP = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_lr(lr)
        check_nonneg(eps, "epsilon")
        check_nonneg(momentum, "momentum")
        check_nonneg(weight_decay, "weight_decay")
        check_nonneg(alpha, "alpha")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            if group["differentiable"]:
                for p in differentiable_params(group, "RMSprop"):
                    _rmsprop_differentiable(p, _state_of(self.state[p], p, group), group,
                                            listing=self._listing)
                continue
            lr = _to_scalar(group["lr"])
            todo = []
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = _state_of(self.state[p], p, group)
                _step_tensor(state)
                todo.append((p._data, p._grad._data, state))
                p._bump_version()
            for_each(lambda item: _rmsprop(*item, group, lr), todo, [t[0] for t in todo])


def _state_of(state, p, group):
    """p's `state`, filled on its first step: step 0, zero averages (and momentum buffer)."""
    if len(state) == 0:
        x = p._data
        xp = array_namespace(x)
        state["step"] = _new_step()
        state["square_avg"] = Tensor._make(xp.zeros_like(x))
        if group["momentum"] > 0:
            state["momentum_buffer"] = Tensor._make(xp.zeros_like(x))
        if group["centered"]:
            state["grad_avg"] = Tensor._make(xp.zeros_like(x))
    return state


def _rmsprop_differentiable(p, state, group, listing=False):
    """One RMSprop step of `p` as Tensor ops that autograd records (differentiable=True), in
    place on p and its averages, so that they are functions of the old ones and of p.grad:
    the formula of the class docstring. `listing`: a profiled or dispatched step, which
    runs PyTorch's single-tensor update (eps added in place) under no_grad."""
    lr, wd, alpha, momentum = hyper(group["lr"]), group["weight_decay"], group["alpha"], \
        group["momentum"]
    g = -p._grad if group["maximize"] else p._grad
    state["step"] += 1
    if wd != 0:
        g = g.add(p, alpha=wd)
    v = state["square_avg"]
    v.mul_(alpha).addcmul_(g, g, value=1 - alpha)
    if group["centered"]:
        ga = state["grad_avg"]
        ga.lerp_(g, 1 - alpha)
        avg = v.addcmul(ga, ga, value=-1).sqrt_()
    else:
        avg = v.sqrt()
    avg = avg.add_(group["eps"]) if listing else avg.add(group["eps"])
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf.mul_(momentum).addcdiv_(g, avg)
        p.add_(buf, alpha=number(-lr, "add_", "'alpha'"))
    else:
        p.addcdiv_(g, avg, value=number(-lr, "addcdiv_", "'value'"))


def _rmsprop(x, g, state, group, lr):
    """One RMSprop step of parameter array `x` (in place) with gradient `g`, op by op in the
    order of the formula, intermediates in two scratch buffers (s0 holds g once it is no
    longer the gradient itself, s1 the rest)."""
    alpha, eps, wd, momentum = group["alpha"], group["eps"], group["weight_decay"], \
        group["momentum"]
    xp = array_namespace(x)
    x, g = _real_view(x), _real_view(g)     # complex: the parts as independent reals
    s0, s1 = scratch(x, 2)
    g = decayed_grad(xp, x, g, group["maximize"], wd, s0, s1)
    v = _real_view(state["square_avg"]._data)
    v *= alpha
    g2 = xp.multiply(g, 1 - alpha, out=s1)     # torch's addcmul_ (which rounds the last
    g2 *= g                                    # multiply-add once: see _fma.fma_)
    v += g2
    if group["centered"]:
        ga = _real_view(state["grad_avg"]._data)
        lerp_(ga, g, 1 - alpha, s1)
        s1[...] = v       # square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        avg = xp.sqrt(fma_(s1, ga, ga, value=-1), out=s1)
    else:
        avg = xp.sqrt(v, out=s1)
    avg += eps
    if momentum > 0:
        b = _real_view(state["momentum_buffer"]._data)
        b *= momentum
        b += xp.divide(g, avg, out=avg)
        axpy_(x, -lr, b)
    else:
        update = xp.multiply(g, lr, out=s0)     # g is the gradient or s0 itself
        update /= avg
        x -= update
