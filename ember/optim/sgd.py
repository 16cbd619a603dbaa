"""SGD with momentum, dampening, Nesterov and weight decay."""
import numpy as np

from .._backend.cupy_kernels import kernel
from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, check_not_differentiable, _to_scalar, required

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent.

    g = grad + weight_decay * p;  with momentum: b = momentum * b + (1 - dampening) * g
    (b = g on the first step), g = g + momentum * b (nesterov) or g = b;  p = p - lr * g.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        if lr is not required:
            check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_not_differentiable(differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            lr, momentum, dampening = _to_scalar(group["lr"]), group["momentum"], \
                group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                g = -p._grad._data if group["maximize"] else p._grad._data
                if wd != 0:
                    g = g + wd * x
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = Tensor._make(g.copy())
                    elif _fused_step(x, p._grad._data, buf._data, group, lr):
                        p._bump_version()
                        continue
                    else:
                        b = buf._data
                        b *= momentum
                        b += (1 - dampening) * g
                    g = g + momentum * buf._data if nesterov else buf._data
                x -= lr * g
                p._bump_version()


def _fused_step(x, grad, buf, group, lr):
    """A momentum step as one fused CUDA kernel (ember/_backend/cupy_kernels.py) for
    float32/64 parameters on the GPU; False where it does not apply."""
    if type(x) is np.ndarray or x.dtype.name not in ("float32", "float64") or \
            grad.dtype != x.dtype or group["maximize"]:
        return False
    k = kernel("sgd_momentum")
    if k is None:
        return False
    t = x.dtype.type
    k(grad, t(group["weight_decay"]), t(group["momentum"]), t(1 - group["dampening"]), t(lr),
      np.bool_(group["nesterov"]), x, buf)
    return True
