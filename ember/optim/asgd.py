"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky, 1992)."""
import numpy as np

from .._backend import array_namespace, like
from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, check_nonneg, check_not_differentiable, _lr_value, \
    _step_tensor

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
        check_not_differentiable(differentiable, "ASGD")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            # a float32 Tensor lr rounds eta's arithmetic to float32, as torch
            lr, lambd, alpha = _lr_value(group["lr"]), group["lambd"], group["alpha"]
            t0, wd = group["t0"], group["weight_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                xp = array_namespace(x)
                g = -p._grad._data if group["maximize"] else p._grad._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_state(0.0, x)   # on the device, as torch's ASGD
                    state["eta"] = _scalar_state(lr, x)
                    state["mu"] = _scalar_state(1.0, x)
                    state["ax"] = Tensor._make(xp.zeros_like(x))
                step = _step_tensor(state)
                if wd != 0:
                    g = g + wd * x
                eta, mu = float(state["eta"]._data), state["mu"]._data
                x *= 1 - lambd * eta
                x -= eta * g
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
