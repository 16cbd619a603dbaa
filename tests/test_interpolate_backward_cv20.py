"""F.interpolate's backward on NumPy arrays (Upsample's _adjoint_arrays: the taps' runs
gathered and added, no scatter) against torch's gradients, and against ember's own
composed backward (the one a create_graph backward records)."""
import numpy as np
import pytest
import torch

import ember
from ember._ops import interpolate as interp_mod

CASES = [
    # (mode, align_corners, antialias, input shape, size or scale)
    ("nearest", None, False, (2, 3, 5, 7), {"scale_factor": 2}),
    ("nearest", None, False, (2, 3, 9, 8), {"size": (4, 5)}),
    ("nearest", None, False, (2, 3, 5, 7), {"size": (5, 13)}),
    ("nearest", None, False, (2, 3, 6), {"scale_factor": 3}),
    ("nearest", None, False, (1, 2, 3, 4, 5), {"size": (6, 4, 9)}),
    ("nearest-exact", None, False, (2, 3, 5, 7), {"size": (8, 11)}),
    ("nearest-exact", None, False, (2, 3, 11, 7), {"size": (4, 3)}),
    ("bilinear", False, False, (2, 3, 5, 7), {"scale_factor": 2}),
    ("bilinear", True, False, (2, 3, 5, 7), {"scale_factor": 2}),
    ("bilinear", False, False, (2, 3, 9, 8), {"size": (4, 13)}),
    ("bilinear", True, False, (2, 3, 9, 8), {"size": (5, 3)}),
    ("bilinear", False, False, (2, 3, 5, 7), {"scale_factor": 1.7}),
    ("bilinear", False, True, (2, 3, 12, 10), {"size": (5, 4)}),
    ("bilinear", False, True, (2, 3, 5, 6), {"size": (9, 11)}),
    ("bicubic", False, False, (2, 3, 5, 7), {"scale_factor": 2}),
    ("bicubic", True, False, (2, 3, 9, 8), {"size": (4, 13)}),
    ("bicubic", False, True, (2, 3, 12, 10), {"size": (5, 7)}),
    ("linear", False, False, (2, 3, 7), {"size": 15}),
    ("linear", True, False, (2, 3, 7), {"size": 4}),
    ("trilinear", False, False, (1, 2, 3, 4, 5), {"scale_factor": 2}),
    ("trilinear", True, False, (1, 2, 4, 3, 5), {"size": (2, 7, 3)}),
]


def _kwargs(mode, align, aa, size):
    kw = dict(size)
    kw["mode"] = mode
    if align is not None:
        kw["align_corners"] = align
    if aa:
        kw["antialias"] = True
    return kw


def _grads(lib, x, g, kw):
    t = lib.tensor(x, requires_grad=True)
    y = lib.nn.functional.interpolate(t, **kw)
    y.backward(lib.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[3]}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_matches_torch(case, dtype):
    mode, align, aa, shape, size = case
    kw = _kwargs(mode, align, aa, size)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    out_shape = torch.nn.functional.interpolate(torch.tensor(x), **kw).shape
    g = rng.standard_normal(tuple(out_shape)).astype(dtype)
    ye, ge = _grads(ember, x, g, kw)
    yt, gt = _grads(torch, x, g, kw)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ye, yt, rtol=tol, atol=tol)
    assert ge.dtype == gt.dtype and ge.shape == gt.shape
    np.testing.assert_allclose(ge, gt, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[3]}")
def test_array_backward_equals_composed(case):
    """The array adjoint and the composed (index_add) backward give one gradient: the
    composed one runs under create_graph."""
    mode, align, aa, shape, size = case
    kw = _kwargs(mode, align, aa, size)
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal(shape), requires_grad=True)
    y = ember.nn.functional.interpolate(x, **kw)
    g = ember.tensor(rng.standard_normal(tuple(y.shape)), requires_grad=True)
    fast, = ember.autograd.grad(y, x, g, retain_graph=True)
    composed, = ember.autograd.grad(y, x, g, create_graph=True)
    assert composed.grad_fn is not None
    np.testing.assert_allclose(fast.numpy(), composed.detach().numpy(), rtol=1e-12,
                               atol=1e-12)


def test_half_gradient_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    g = rng.standard_normal((2, 3, 10, 12)).astype(np.float32)
    out = []
    for lib in (ember, torch):
        t = lib.tensor(x).to(lib.bfloat16).requires_grad_()
        lib.nn.functional.interpolate(t, scale_factor=2, mode="bilinear").backward(
            lib.tensor(g).to(lib.bfloat16))
        assert t.grad.dtype == lib.bfloat16
        out.append(t.grad.float().numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-2, atol=1e-2)


def test_channels_last_gradient_layout():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    g = rng.standard_normal((2, 3, 10, 12)).astype(np.float32)
    res = []
    for lib in (ember, torch):
        t = lib.tensor(x).to(memory_format=lib.channels_last).requires_grad_()
        lib.nn.functional.interpolate(t, scale_factor=2, mode="bilinear").backward(
            lib.tensor(g).to(memory_format=lib.channels_last))
        res.append((t.grad.numpy(), t.grad.is_contiguous(memory_format=lib.channels_last)))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5, atol=1e-5)
    assert res[0][1] == res[1][1]


def test_identity_dims_give_a_fresh_gradient():
    """nearest to the same size: the gradient is the output gradient's values in a new
    array (the engine may accumulate into it)."""
    g = ember.ones(1, 2, 3, 4)
    x = ember.zeros(1, 2, 3, 4, requires_grad=True)
    ember.nn.functional.interpolate(x, size=(3, 4)).backward(g)
    assert x.grad is not None and not np.shares_memory(x.grad.numpy(), g.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), g.numpy())


def test_progression_helper():
    assert interp_mod._progression(np.array([3])) == slice(3, 4)
    assert interp_mod._progression(np.array([0, 2, 4])) == slice(0, 5, 2)
    a = np.array([0, 1, 3])
    assert interp_mod._progression(a) is a
