"""Module comparison helper for modules with several outputs or keyword inputs: build the
module in torch and ember, copy torch's state_dict into ember, run both on the same inputs
(positional and keyword, NumPy arrays become tensors, `Grad(arr)` requires grad) and compare
reprs, every output, the gradients of Grad inputs and of every parameter."""
from collections import OrderedDict

import numpy as np
import torch

import ember
from tests.oracle.harness import T, assert_same, _outputs, to_numpy


def check_repr(em, tm):
    """ember's module repr is torch 2.13's. Older torch builds (the GPU machine's CUDA
    torch) print some modules differently (no `bias=` in the norm layers): there only
    the numbers are compared."""
    if tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 13):
        assert repr(em) == repr(tm)

def copy_state(tm, em):
    em.load_state_dict(OrderedDict((k, ember.from_numpy(v.detach().numpy().copy()))
                                   for k, v in tm.state_dict().items()))


def compare_module(make, args=(), kwargs=None, train=False, rtol=1e-5, atol=1e-5, call=None):
    """call(module, *args, **kwargs) defaults to module(*args, **kwargs)."""
    kwargs = kwargs or {}
    call = call or (lambda m, *a, **k: m(*a, **k))
    tm, em = make(torch), make(ember)
    check_repr(em, tm)
    copy_state(tm, em)
    tm.train(train)
    em.train(train)
    t_args = [T(torch, a) for a in args]
    e_args = [T(ember, a) for a in args]
    t_kw = {k: T(torch, v) for k, v in kwargs.items()}
    e_kw = {k: T(ember, v) for k, v in kwargs.items()}
    to, eo = call(tm, *t_args, **t_kw), call(em, *e_args, **e_kw)
    assert_same(eo, to, rtol, atol)
    t_outs = [o for o in _outputs(to) if o.requires_grad]
    e_outs = [o for o in _outputs(eo) if o.requires_grad]
    assert len(t_outs) == len(e_outs)
    if not t_outs:
        return
    rng = np.random.default_rng(1)
    t_loss = e_loss = 0
    for a, b in zip(t_outs, e_outs):
        w = rng.standard_normal(tuple(a.shape)).astype(to_numpy(a).dtype)
        # fully masked rows are NaN in torch's need_weights path: compare where finite
        w = np.where(np.isfinite(to_numpy(a)), w, 0).astype(w.dtype)
        t_loss = t_loss + (a.nan_to_num() * torch.from_numpy(w)).sum()
        e_loss = e_loss + (b.nan_to_num() * ember.tensor(w.copy()).to(b.device)).sum()
    t_loss.backward()
    e_loss.backward()
    for i, (a, b) in enumerate(zip(t_args + list(t_kw.values()), e_args + list(e_kw.values()))):
        if isinstance(a, torch.Tensor) and a.grad is not None:
            assert_same(b.grad, a.grad, rtol, atol, what=f"grad of input {i}")
    for (n, a), (_, b) in zip(tm.named_parameters(), em.named_parameters()):
        if a.grad is None:
            assert b.grad is None, n
        else:
            assert_same(b.grad, a.grad, rtol, atol, what=f"grad of {n}")
