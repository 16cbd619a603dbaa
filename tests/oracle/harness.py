"""Differential testing against real PyTorch.

`check(fn, *inputs)` runs ``fn(lib, *tensors)`` once with ``lib = torch`` and once with
``lib = ember`` on the same input values, and compares value, dtype and shape of every
output, then the gradients of every floating input that requires grad (through the sum
of each output times a fixed random cotangent), or, when torch raises, that ember raises
the same exception type.

Inputs are NumPy arrays (converted to each library's tensors), `Grad(arr)` for inputs
that require grad, or plain Python values passed unchanged.
"""
import numpy as np
import pytest
import torch

import ember

TOL = {  # (rtol, atol) per dtype name, from torch.testing's defaults, a little looser
    "float16": (1e-3, 1e-3), "bfloat16": (1.6e-2, 1e-2), "float32": (1e-5, 1e-5),
    "float64": (1e-7, 1e-7), "complex64": (1e-5, 1e-5), "complex128": (1e-7, 1e-7),
}


# the device ember's tensors go to: "cpu", or "cuda" while the `ember_device` fixture
# (tests/conftest.py) runs a test's CUDA case, which compares CUDA results with torch's CPU ones
DEVICE = ["cpu"]


class Grad:
    """Marks an input array that requires grad."""

    def __init__(self, arr):
        self.arr = arr


def T(lib, arr, requires_grad=False):
    if isinstance(arr, Grad):
        arr, requires_grad = arr.arr, True
    if isinstance(arr, np.ndarray) or isinstance(arr, np.generic):
        arr = np.asarray(arr)
        if lib is torch:
            if arr.dtype.name == "bfloat16":
                t = torch.from_numpy(arr.astype(np.float32).copy()).to(torch.bfloat16)
            else:
                t = torch.from_numpy(arr.copy())
        else:
            t = ember.from_numpy(arr.copy())
            if DEVICE[0] != "cpu":
                t = t.to(DEVICE[0])
        if requires_grad:
            t.requires_grad_(True)
        return t
    return arr


def to_numpy(x):
    """A torch or ember tensor (or nested tuple) as NumPy, for comparison."""
    if isinstance(x, torch.Tensor):
        x = x.detach().resolve_conj().resolve_neg()  # torch's lazy conj/neg views refuse .numpy()
        if x.dtype == torch.bfloat16:
            return x.float().numpy()
        return x.numpy()
    if isinstance(x, ember.Tensor):
        a = x.detach()._cpu_array()
        return a.astype(np.float32) if a.dtype.name == "bfloat16" else a
    return x


def dtype_name(x):
    return str(x.dtype).split(".")[-1]


def assert_same(e, t, rtol=None, atol=None, what="output"):
    """Compare one ember result with one torch result."""
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)), f"{what}: torch gave a sequence, ember {type(e)}"
        assert len(e) == len(t), f"{what}: length {len(e)} != {len(t)}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_same(a, b, rtol, atol, f"{what}[{i}]")
        return
    if isinstance(t, dict):
        assert isinstance(e, dict) and list(e) == list(t), f"{what}: keys {list(e)} != {list(t)}"
        for k in t:
            assert_same(e[k], t[k], rtol, atol, f"{what}[{k!r}]")
        return
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected a Tensor, got {type(e).__name__}"
        assert e.device.type == DEVICE[0], f"{what}: on {e.device}, expected {DEVICE[0]}"
        assert dtype_name(e) == dtype_name(t), f"{what}: dtype {e.dtype} != {t.dtype}"
        assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} != {tuple(t.shape)}"
        r, a = TOL.get(dtype_name(t), (0, 0))
        np.testing.assert_allclose(to_numpy(e), to_numpy(t), rtol=rtol if rtol is not None else r,
                                   atol=atol if atol is not None else a, equal_nan=True,
                                   err_msg=what)
        return
    if isinstance(t, torch.Size):
        assert tuple(e) == tuple(t), f"{what}: {e} != {t}"
        return
    if isinstance(t, float):
        np.testing.assert_allclose(e, t, rtol=rtol or 1e-6, atol=atol or 1e-6, err_msg=what)
        return
    assert e == t, f"{what}: {e!r} != {t!r}"


def _outputs(r):
    if isinstance(r, (torch.Tensor, ember.Tensor)):
        return [r]
    if isinstance(r, (tuple, list)):
        out = []
        for x in r:
            out.extend(_outputs(x))
        return out
    return []


def check(fn, *inputs, rtol=None, atol=None, grad=True, grad_rtol=None, grad_atol=None,
          exc_message=False):
    """Run fn(lib, *tensors) on torch and ember and compare everything (see module doc)."""
    t_in = [T(torch, x) for x in inputs]
    e_in = [T(ember, x) for x in inputs]
    try:
        t_out = fn(torch, *t_in)
    except Exception as te:  # torch rejects the input: ember must raise the same type
        with pytest.raises(type(te)) as ei:
            fn(ember, *e_in)
        if exc_message:
            assert str(te).split("\n")[0] == str(ei.value).split("\n")[0]
        return
    e_out = fn(ember, *e_in)
    assert_same(e_out, t_out, rtol, atol)
    if not grad:
        return
    t_leaves = [x for x in t_in if isinstance(x, torch.Tensor) and x.requires_grad]
    e_leaves = [x for x in e_in if isinstance(x, ember.Tensor) and x.requires_grad]
    if not t_leaves:
        return
    t_outs = [o for o in _outputs(t_out) if o.requires_grad]
    e_outs = [o for o in _outputs(e_out) if isinstance(o, ember.Tensor) and o.requires_grad]
    assert len(t_outs) == len(e_outs), "different outputs require grad"
    if not t_outs:
        return
    rng = np.random.default_rng(0)
    t_loss, e_loss = 0, 0
    for to, eo in zip(t_outs, e_outs):
        w = rng.standard_normal(tuple(to.shape)).astype(to_numpy(to).dtype)
        t_loss = t_loss + (to * torch.from_numpy(w).to(to.dtype)).sum()
        e_loss = e_loss + (eo * ember.from_numpy(w.copy()).to(eo.device, eo.dtype)).sum()
    t_g = torch.autograd.grad(t_loss, t_leaves, allow_unused=True)
    e_g = ember.autograd.grad(e_loss, e_leaves, allow_unused=True)
    for i, (a, b) in enumerate(zip(e_g, t_g)):
        if b is None:
            assert a is None or not np.any(to_numpy(a)), f"grad {i}: torch None, ember {a}"
            continue
        assert a is not None, f"grad of input {i}: ember gave None"
        assert_same(a, b, grad_rtol if grad_rtol is not None else rtol,
                    grad_atol if grad_atol is not None else atol, what=f"grad of input {i}")
