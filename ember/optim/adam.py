"""Adam and AdamW."""

from .._backend import CUDA_ON, array_namespace
from .._backend.cupy_kernels import kernel
from .._tensor import Tensor
from .optimizer import (Optimizer, check_lr, check_nonneg, check_betas, check_fused,
                        differentiable_params, hyper,
                        _to_scalar, _lr_value, _new_step, _step_tensor, _real_view)
from ._fma import lerp_
from ._foreach import decayed_grad, for_each, fusable, multi_tensor, scratch

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), optionally AMSGrad and decoupled weight decay (AdamW).

    m = lerp(m, g, 1 - b1);  v = b2 v + (1 - b2) g^2;  (AMSGrad: v_max = max(v_max, v), used
    for v below);  p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    Weight decay adds weight_decay * p to g, or with decoupled_weight_decay multiplies p by
    (1 - lr * weight_decay) first.
    """

    _GROUP_DEFAULTS = {"amsgrad": False, "foreach": None, "maximize": False,
                       "differentiable": False, "capturable": False,
                       "decoupled_weight_decay": False, "fused": None}
    _TENSOR_STEP = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        check_lr(lr)
        check_nonneg(eps, "epsilon")
        check_betas(betas)
        check_nonneg(weight_decay, "weight_decay")
        betas = _tensor_betas(betas, foreach, capturable)
        check_fused(fused, foreach, differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused, decoupled_weight_decay=decoupled_weight_decay))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            if group["differentiable"]:
                # (a profiled step's group: the single-tensor update, op by op)
                form = _adam_listed if self._listing else _adam_differentiable
                for p in differentiable_params(group, type(self).__name__):
                    form(p, self._state_of(p, group), group)
                continue
            lr = _lr_value(group["lr"])   # a float32 Tensor lr rounds what it scales, as torch
            todo = []
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self._state_of(p, group)
                todo.append((p._data, p._grad._data, state, _step_tensor(state)))
            todo = _multi_tensor_steps(todo, group, lr)
            for_each(lambda item: _adam(*item, group, lr), todo, [t[0] for t in todo])
            for p in group["params"]:
                if p._grad is not None:
                    p._bump_version()

    def _state_of(self, p, group):
        """p's state, created on its first step: step 0, zero moments."""
        state = self.state[p]
        if len(state) == 0:
            x = p._data
            xp = array_namespace(x)
            state["step"] = _new_step()
            state["exp_avg"] = Tensor._make(xp.zeros_like(x))
            state["exp_avg_sq"] = Tensor._make(xp.zeros_like(x))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = Tensor._make(xp.zeros_like(x))
        return state


def _adam_differentiable(p, state, group):
    """One Adam step of `p` as Tensor ops that autograd records (differentiable=True), in
    place on p and its moments, so that they are functions of the old ones, of p.grad and
    of Tensor hyper-parameters. The bias corrections are 0-dim Tensors computed from the
    float32 step counter, as torch's differentiable path computes them (so they round in
    float32); Tensor betas are cast to p's dtype for the moving averages."""
    step = state["step"]
    if step.requires_grad:
        raise RuntimeError("`requires_grad` is not supported for `step` in differentiable mode")
    lr, wd, eps = hyper(group["lr"]), hyper(group["weight_decay"]), group["eps"]
    beta1, beta2 = (hyper(b) for b in group["betas"])
    g = -p._grad if group["maximize"] else p._grad
    m, v = state["exp_avg"], state["exp_avg_sq"]
    step += 1
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p.mul_(1 - lr * wd)
        elif isinstance(wd, Tensor) and wd.requires_grad:
            g = g.addcmul_(p.clone(), wd)
        else:
            g = g.add(p, alpha=wd)
    m.lerp_(g, 1 - (beta1.to(dtype=p.dtype) if isinstance(beta1, Tensor) else beta1))
    if isinstance(beta2, Tensor) and beta2.requires_grad:
        v.lerp_(g.square(), weight=1 - beta2)    # = v * b2 + g^2 (1 - b2), with b2 recorded
    else:
        v.mul_(beta2).addcmul_(g, g, value=float(1 - beta2))
    bias_correction1 = 1 - beta1 ** _step_for(beta1, step)
    bias_correction2 = 1 - beta2 ** _step_for(beta2, step)
    neg_step_size = (lr / bias_correction1).neg()
    if group["amsgrad"]:
        v_max = state["max_exp_avg_sq"]
        v_max.copy_(v_max.clone().maximum(v))
        v = v_max
    # p - step_size * m / (sqrt(v) / sqrt(bc2) + eps), with the 0-dim factors folded into
    # the denominator: denom = sqrt(v) / (sqrt(bc2) * -step_size) + eps / -step_size
    denom = (v.sqrt() / (bias_correction2.sqrt() * neg_step_size)).add_(eps / neg_step_size)
    p.addcdiv_(m.clone(), denom)


def _adam_listed(p, state, group):
    """One Adam step of `p` as PyTorch's single-tensor update writes it (what a profiler
    lists: add_, lerp_, mul_, addcmul_, item, sqrt, div, add_, addcdiv_), under no_grad,
    with Python-float bias corrections as PyTorch's. `_adam` gives torch's values bit for
    bit; this form differs from both in the last bit at some elements because ember's
    Tensor.lerp_ with a number weight rounds the product and the sum separately (torch's
    kernel fuses them)."""
    lr, wd, eps = _to_scalar(group["lr"]), group["weight_decay"], group["eps"]
    beta1, beta2 = group["betas"]
    g = -p._grad if group["maximize"] else p._grad
    step_t = state["step"]
    step_t += 1
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p.mul_(1 - lr * wd)
        else:
            g = g.add(p, alpha=wd)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(g, 1 - beta1)
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    step = step_t.item()
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    if group["amsgrad"]:
        v_max = state["max_exp_avg_sq"]
        import ember
        ember.maximum(v_max, v, out=v_max)
        v = v_max
    denom = (v.sqrt() / bias_correction2_sqrt).add_(eps)
    p.addcdiv_(m, denom, value=-step_size)


def _step_for(beta, step):
    """The step counter as a power of `beta`: a copy where beta requires grad (the
    counter is incremented in place by the next step, which the recorded power must not
    see)."""
    return step.clone() if isinstance(beta, Tensor) and beta.requires_grad else step


def _tensor_betas(betas, foreach, capturable):
    """Validate betas given as Tensors (both or neither, one element each; refused with
    foreach=True unless capturable, as torch) and keep them as torch stores them: 0-dim
    Tensors (a 1-element Tensor of more dims squeezed), floats as they are."""
    beta1, beta2 = betas
    if not ((isinstance(beta1, float) and isinstance(beta2, float)) or
            (isinstance(beta1, Tensor) and isinstance(beta2, Tensor))):
        raise ValueError("betas must be either both floats or both Tensors")
    if not isinstance(beta1, Tensor):
        return betas
    for i, beta in enumerate(betas):
        if foreach and not capturable:
            raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False "
                             f"and foreach=True")
        if beta.numel() != 1:
            raise ValueError(f"Tensor betas[{i}] must be 1-element")
    return tuple(b if b.ndim == 0 else b.squeeze() for b in betas)


def _adam(x, g, state, step, group, lr):
    """One Adam step of parameter array `x` (in place) with gradient `g`: the fused CUDA
    kernel where it applies, else the formula op by op, writing intermediates into two
    scratch buffers in the order of the formula."""
    if _fused_step(x, g, state, group, lr, step):
        return
    (beta1, beta2), eps, wd = map(_to_scalar, group["betas"]), group["eps"], \
        group["weight_decay"]
    xp = array_namespace(x)
    x, g = _real_view(x), _real_view(g)     # complex: the parts as independent reals
    s0, s1 = scratch(x, 2)
    decoupled = group["decoupled_weight_decay"]
    if decoupled and wd != 0:
        x *= 1 - lr * wd
    g = decayed_grad(xp, x, g, group["maximize"], 0 if decoupled else wd, s0, s1)
    m, v = _real_view(state["exp_avg"]._data), _real_view(state["exp_avg_sq"]._data)
    lerp_(m, g, 1 - beta1, s1)
    v *= beta2
    g2 = xp.multiply(g, 1 - beta2, out=s1)     # torch's addcmul_ (which rounds the last
    g2 *= g                                    # multiply-add once: see _fma.fma_)
    v += g2
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    if group["amsgrad"]:
        v_max = _real_view(state["max_exp_avg_sq"]._data)
        xp.maximum(v_max, v, out=v_max)
        v = v_max
    denom = xp.sqrt(v, out=s1)
    denom /= bias_correction2_sqrt
    denom += eps
    update = xp.multiply(m, step_size, out=s0)      # g is no longer needed
    update /= denom
    x -= update


def _kernel_scalars(group, lr, step, t):
    """The fused kernels' scalars (keep, wd_l2, b1, b2, step_size, bc2, eps) as type t."""
    (beta1, beta2), eps, wd = map(_to_scalar, group["betas"]), group["eps"], \
        group["weight_decay"]
    decoupled = group["decoupled_weight_decay"]
    return (t(1 - lr * wd if decoupled else 1), t(0 if decoupled else wd), t(beta1), t(beta2),
            t(lr / (1 - beta1 ** step)), t((1 - beta2 ** step) ** 0.5), t(eps))


def _fused_step(x, g, state, group, lr, step):
    """The step as one fused CUDA kernel (ember/_backend/cupy_kernels.py) for float32/64
    parameters on the GPU; False where it does not apply (the caller then runs the same
    formula op by op)."""
    if not fusable(x, g, group["maximize"]):
        return False
    amsgrad = group["amsgrad"]
    k = kernel("adam_amsgrad" if amsgrad else "adam")
    if k is None:
        return False
    args = [g, *_kernel_scalars(group, lr, step, x.dtype.type), x,
            state["exp_avg"]._data, state["exp_avg_sq"]._data]
    if amsgrad:
        args.append(state["max_exp_avg_sq"]._data)
    k(*args)
    return True


def _multi_tensor_steps(todo, group, lr):
    """Run the steps of the `todo` items (x, g, state, step) that the multi-tensor CUDA
    kernels take, a launch for many parameters (one per device, dtype and step count, which
    the bias corrections depend on); return the items left."""
    if not CUDA_ON[0] or group["maximize"]:   # (a CPU-only program pays nothing)
        return todo
    amsgrad = group["amsgrad"]
    work = []
    for item in todo:
        x, g, state, step = item
        arrays = None
        if fusable(x, g, group["maximize"]):
            arrays = (g, x, state["exp_avg"]._data, state["exp_avg_sq"]._data)
            if amsgrad:
                arrays += (state["max_exp_avg_sq"]._data,)
        work.append((item, x, arrays, step))
    return multi_tensor("adam_amsgrad" if amsgrad else "adam", work,
                        lambda step, t: _kernel_scalars(group, lr, step, t))


class AdamW(Adam):
    """Adam with decoupled weight decay: p = p * (1 - lr * weight_decay) before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:    # (an old AdamW state_dict has no such key)
            group["decoupled_weight_decay"] = True
