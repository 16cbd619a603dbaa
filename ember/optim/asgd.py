"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky, 1992)."""
import numpy as np

from .._backend import array_namespace, like
from .._tensor import Tensor
from ._fma import axpy_
from ._foreach import one_blas_thread
from .optimizer import Optimizer, check_lr, check_nonneg, _lr_value, _step_tensor, \
    differentiable_params, hyper

__all__ = ["ASGD"]


def _scalar_state(value, ref):
    """A 0-dim float32 tensor on the device of array `ref`, the layout torch keeps 'eta' and
    'mu' in."""
    return Tensor._make(like(np.array(value, dtype=np.float32), ref))


class ASGD(Optimizer):
    r"""ASGD.

    p = p (1 - lambd * eta) - eta * g;  ax = ax + mu (p - ax)  (ax = p while mu == 1);
    eta = lr / (1 + lambd * lr * t)^alpha;  mu = 1 / max(1, t - t0).
    """

    _GROUP_DEFAULTS = {"foreach": None, "maximize": False, "differentiable": False,
                       "capturable": False}
    _TENSOR_STEP = True
    _CAPTURABLE_STATE = "params, mus, etas, and state_steps"
    _TENSOR_SCALARS = ('eta', 'mu')

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        check_lr(lr)
        check_nonneg(weight_decay, "weight_decay")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def step(self, closure=None):
        return self._run_step(one_blas_thread(self._update), closure)

    def _update(self):
        for group in self.param_groups:
            if group["differentiable"]:
                for p in differentiable_params(group, "ASGD"):
                    _asgd_differentiable(p, _state_of(self.state[p], p, group), group)
                continue
            # a float32 Tensor lr rounds eta's arithmetic to float32, as torch
            lr, lambd, alpha = _lr_value(group["lr"]), group["lambd"], group["alpha"]
            t0, wd = group["t0"], group["weight_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                xp = array_namespace(x)
                g = -p._grad._data if group["maximize"] else p._grad._data
                state = _state_of(self.state[p], p, group)
                step = _step_tensor(state)
                if wd != 0:       # (torch's add(param, alpha=wd): one rounding)
                    g = axpy_(g.copy(), wd, x)
                eta, mu = float(state["eta"]._data), state["mu"]._data
                x *= 1 - lambd * eta
                axpy_(x, -eta, g)
                ax = state["ax"]._data
                if float(mu) != 1:
                    ax += (x - ax) * mu
                else:
                    ax[...] = x
                # rounded to float32 even when a loaded state holds them in float64, as torch
                eta = np.float32(lr / ((1 + lambd * lr * step) ** alpha))
                state["eta"]._data[...] = float(eta)
                state["mu"]._data[...] = float(np.float32(1 / max(1, step - t0)))
                p._bump_version()


def _state_of(state, p, group):
    """p's `state`, filled on its first step: step 0, eta = lr, mu = 1 (0-dim float32 on
    p's device, as torch's ASGD), a zero average."""
    if len(state) == 0:
        x = p._data
        state["step"] = _scalar_state(0.0, x)
        state["eta"] = _scalar_state(_lr_value(group["lr"]), x)
        state["mu"] = _scalar_state(1.0, x)
        state["ax"] = Tensor._make(array_namespace(x).zeros_like(x))
    return state


def _asgd_differentiable(p, state, group):
    """One ASGD step of `p` as Tensor ops that autograd records (differentiable=True), in
    place on p and its average: the formula of the class docstring. eta and mu enter the
    update as numbers (as torch's); a Tensor lr reaches the new eta."""
    lr, lambd, alpha = hyper(group["lr"]), group["lambd"], group["alpha"]
    t0, wd = group["t0"], group["weight_decay"]
    g = -p._grad if group["maximize"] else p._grad
    state["step"] += 1
    if wd != 0:
        g = g.add(p, alpha=wd)
    eta, mu, ax = state["eta"].item(), state["mu"], state["ax"]
    p.mul_(1 - lambd * eta)
    p.add_(g, alpha=-eta)
    if mu.item() != 1:
        ax.add_(p.sub(ax).mul_(mu))
    else:
        ax.copy_(p)
    step = state["step"].item()
    new_eta = lr / ((1 + lambd * lr * step) ** alpha)
    if isinstance(new_eta, Tensor):
        state["eta"].copy_(new_eta)
    else:
        state["eta"].fill_(new_eta)
    mu.fill_(1 / max(1, step - t0))
