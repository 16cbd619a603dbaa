"""Adam and AdamW."""
import numpy as np

from .._backend import array_namespace
from .._backend.cupy_kernels import kernel
from .._tensor import Tensor
from .optimizer import (Optimizer, check_lr, check_nonneg, check_betas, check_not_differentiable,
                        _to_scalar, _new_step, _step_tensor, _lerp_)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), optionally AMSGrad and decoupled weight decay (AdamW).

    m = lerp(m, g, 1 - b1);  v = b2 v + (1 - b2) g^2;  (AMSGrad: v_max = max(v_max, v), used
    for v below);  p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    Weight decay adds weight_decay * p to g, or with decoupled_weight_decay multiplies p by
    (1 - lr * weight_decay) first.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        check_lr(lr)
        check_nonneg(eps, "epsilon")
        check_betas(betas)
        check_nonneg(weight_decay, "weight_decay")
        check_not_differentiable(differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused, decoupled_weight_decay=decoupled_weight_decay))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            lr, (beta1, beta2), eps = _to_scalar(group["lr"]), group["betas"], group["eps"]
            wd, amsgrad = group["weight_decay"], group["amsgrad"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                x = p._data
                xp = array_namespace(x)
                g = -p._grad._data if group["maximize"] else p._grad._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["exp_avg"] = Tensor._make(xp.zeros_like(x))
                    state["exp_avg_sq"] = Tensor._make(xp.zeros_like(x))
                    if amsgrad:
                        state["max_exp_avg_sq"] = Tensor._make(xp.zeros_like(x))
                step = _step_tensor(state)
                if _fused_step(x, g, state, group, lr, step):
                    p._bump_version()
                    continue
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        x *= 1 - lr * wd
                    else:
                        g = g + wd * x
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                _lerp_(m, g, 1 - beta1)
                v *= beta2
                # the same operations in the same order as the formula, in two scratch
                # buffers (out=) instead of a new array per operation
                scratch = xp.multiply(g, 1 - beta2)
                scratch *= g
                v += scratch
                step_size = lr / (1 - beta1 ** step)
                bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
                if amsgrad:
                    v_max = state["max_exp_avg_sq"]._data
                    xp.maximum(v_max, v, out=v_max)
                    v = v_max
                denom = xp.sqrt(v, out=scratch)
                denom /= bias_correction2_sqrt
                denom += eps
                update = xp.multiply(m, step_size)
                update /= denom
                x -= update
                p._bump_version()


def _fused_step(x, g, state, group, lr, step):
    """The step as one fused CUDA kernel (ember/_backend/cupy_kernels.py) for float32/64
    parameters on the GPU; False where it does not apply (the caller then runs the same
    formula op by op)."""
    if type(x) is np.ndarray or x.dtype.name not in ("float32", "float64") or \
            g.dtype != x.dtype:
        return False
    amsgrad = group["amsgrad"]
    k = kernel("adam_amsgrad" if amsgrad else "adam")
    if k is None:
        return False
    (beta1, beta2), eps, wd = group["betas"], group["eps"], group["weight_decay"]
    decoupled = group["decoupled_weight_decay"]
    t = x.dtype.type
    args = [g, t(1 - lr * wd if decoupled else 1), t(0 if decoupled else wd), t(beta1), t(beta2),
            t(lr / (1 - beta1 ** step)), t((1 - beta2 ** step) ** 0.5), t(eps), x,
            state["exp_avg"]._data, state["exp_avg_sq"]._data]
    if amsgrad:
        args.append(state["max_exp_avg_sq"]._data)
    k(*args)
    return True


class AdamW(Adam):
    """Adam with decoupled weight decay: p = p * (1 - lr * weight_decay) before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
