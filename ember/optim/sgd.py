"""SGD with momentum, dampening, Nesterov and weight decay."""
import numpy as np

from .._backend import CUDA_ON, array_namespace
from .._backend.cupy_kernels import kernel
from .._tensor import Tensor
from .optimizer import Optimizer, check_lr, check_fused, _to_scalar, required, \
    differentiable_params, hyper
from ._foreach import decayed_grad, for_each, fusable, multi_tensor, scratch
from ._fma import axpy_

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent.

    g = grad + weight_decay * p;  with momentum: b = momentum * b + (1 - dampening) * g
    (b = g on the first step), g = g + momentum * b (nesterov) or g = b;  p = p - lr * g.
    """

    _GROUP_DEFAULTS = {"nesterov": False, "maximize": False, "foreach": None,
                       "differentiable": False, "fused": False}

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
        check_fused(fused, foreach, differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            if group["differentiable"]:
                for p in differentiable_params(group, "SGD", foreach_ok=True):
                    _sgd_differentiable(p, self.state[p], group)
                continue
            hyper = _Hyper(group)
            todo = []
            for p in group["params"]:
                if p._grad is None:
                    continue
                if p._grad.is_sparse:   # embedding(sparse=True)'s gradient
                    # (no state entry without momentum, as torch)
                    _sparse_step(self.state[p] if hyper.momentum != 0 else {}, p, hyper)
                    continue
                buf, first = None, False
                if hyper.momentum != 0:
                    state = self.state[p]
                    b = state.get("momentum_buffer")
                    first = b is None
                    if first:       # filled with the gradient by the first step
                        b = state["momentum_buffer"] = Tensor._make(
                            array_namespace(p._data).empty_like(p._grad._data))
                    buf = b._data
                todo.append((p._data, p._grad._data, buf, first))
                p._bump_version()
            todo = _multi_tensor_steps(todo, hyper)
            for_each(lambda item: _sgd(*item, hyper), todo, [t[0] for t in todo])


def _sgd_differentiable(p, state, group):
    """One SGD step of `p` as Tensor ops that autograd records (differentiable=True), in
    place on p and its momentum buffer, so that the new values are functions of the old
    ones, of p.grad and of Tensor hyper-parameters. As torch: the first momentum buffer is
    a detached copy of the gradient, and a weight_decay Tensor that requires grad is
    multiplied into p.grad in place."""
    lr, wd, momentum = hyper(group["lr"]), hyper(group["weight_decay"]), group["momentum"]
    g = -p._grad if group["maximize"] else p._grad
    if wd != 0:
        g = g.addcmul_(p.clone(), wd) if isinstance(wd, Tensor) and wd.requires_grad else \
            g.add(p, alpha=wd)
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = g.detach().clone()
        else:
            buf.mul_(momentum).add_(g, alpha=1 - group["dampening"])
        g = g.add(buf, alpha=momentum) if group["nesterov"] else buf
    if isinstance(lr, Tensor) and lr.requires_grad:
        p.addcmul_(g, lr, value=-1)
    else:
        p.add_(g, alpha=-lr)


def _sparse_step(state, p, h):
    from .sparse_adam import sparse_sgd_step
    sparse_sgd_step(p, p._grad, state, h.lr, h.momentum, h.dampening, h.weight_decay,
                    h.nesterov, h.maximize)


class _Hyper:
    """A group's hyper-parameters, read once per step instead of once per parameter."""
    __slots__ = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")

    def __init__(self, group):
        self.lr = _to_scalar(group["lr"])
        self.momentum, self.dampening = group["momentum"], group["dampening"]
        self.weight_decay, self.nesterov = group["weight_decay"], group["nesterov"]
        self.maximize = group["maximize"]


def _sgd(x, grad, buf, first, h):
    """One SGD step of parameter array `x` (in place) with momentum buffer `buf` (None
    without momentum; `first`: not yet filled), hyper-parameters `h`: the fused CUDA kernel
    where it applies, else the formula op by op, intermediates in two scratch buffers."""
    if type(x) is np.ndarray:
        xp = np
    elif not first and _fused_step(x, grad, buf, h):
        return
    else:
        xp = array_namespace(x)
    s0, s1 = scratch(x, 2)
    g = decayed_grad(xp, x, grad, h.maximize, h.weight_decay, s0, s1)
    # each `a + alpha * b` of torch's update (add_ with alpha) rounds once: axpy_
    if buf is not None:
        if first:
            buf[...] = g
        else:
            buf *= h.momentum
            # (1 - 0) * g is g exactly: without dampening the product is skipped
            if h.dampening == 0:
                buf += g
            else:
                axpy_(buf, 1 - h.dampening, g)
        if h.nesterov:
            s1[...] = g
            g = axpy_(s1, h.momentum, buf)
        else:
            g = buf
    axpy_(x, -h.lr, g)


def _kernel_scalars(h, momentum, t):
    """The scalars of kernel sgd (wd, lr) or, with `momentum`, sgd_momentum (wd, momentum,
    damp_keep, lr, nesterov), as type t."""
    if not momentum:
        return t(h.weight_decay), t(h.lr)
    return (t(h.weight_decay), t(h.momentum), t(1 - h.dampening), t(h.lr),
            np.bool_(h.nesterov))


def _fused_step(x, grad, buf, h):
    """A step (with momentum buffer `buf`, or none) as one fused CUDA kernel
    (ember/_backend/cupy_kernels.py) for float32/64 parameters on the GPU; False where it
    does not apply."""
    if not fusable(x, grad, h.maximize):
        return False
    k = kernel("sgd" if buf is None else "sgd_momentum")
    if k is None:
        return False
    scalars = _kernel_scalars(h, buf is not None, x.dtype.type)
    if buf is None:
        k(grad, *scalars, x)
    else:
        k(grad, *scalars, x, buf)
    return True


def _multi_tensor_steps(todo, h):
    """Run the steps of the `todo` items (x, grad, buf, first) that the multi-tensor CUDA
    kernels take, a launch for many parameters; return the items left (among them every
    momentum buffer's first step, a copy of the gradient)."""
    if not CUDA_ON[0] or h.maximize:   # (a CPU-only program pays nothing)
        return todo
    momentum = h.momentum != 0
    work = []
    for item in todo:
        x, grad, buf, first = item
        arrays = None
        if not first and fusable(x, grad, h.maximize):
            arrays = (grad, x) if buf is None else (grad, x, buf)
        work.append((item, x, arrays, None))
    return multi_tensor("sgd_momentum" if momentum else "sgd", work,
                        lambda key, t: _kernel_scalars(h, momentum, t))
