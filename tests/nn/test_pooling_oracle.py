"""Pooling layers against torch: values, indices, input grads, reprs; double backward."""
import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck

from .test_layers_oracle import run_layer

rng = np.random.default_rng(2)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


POOLS = [
    ("MaxPool1d", lambda L: L.nn.MaxPool1d(3), [f32(2, 3, 10)]),
    ("MaxPool1d-s1-p1", lambda L: L.nn.MaxPool1d(3, 1, 1), [f32(2, 3, 10)]),
    ("MaxPool2d", lambda L: L.nn.MaxPool2d(2), [f32(2, 3, 8, 8)]),
    ("MaxPool2d-odd", lambda L: L.nn.MaxPool2d(3, 2), [f32(2, 3, 9, 7)]),
    ("MaxPool2d-pad-dil", lambda L: L.nn.MaxPool2d(3, 2, 1, dilation=2), [f32(1, 2, 9, 9)]),
    ("MaxPool2d-ceil", lambda L: L.nn.MaxPool2d(3, 2, ceil_mode=True), [f32(1, 2, 8, 8)]),
    ("MaxPool2d-unbatched", lambda L: L.nn.MaxPool2d((2, 3)), [f32(3, 6, 6)]),
    ("MaxPool3d", lambda L: L.nn.MaxPool3d(2), [f32(1, 2, 4, 4, 4)]),
    ("AvgPool1d", lambda L: L.nn.AvgPool1d(3, 2, 1), [f32(2, 3, 9)]),
    ("AvgPool2d", lambda L: L.nn.AvgPool2d(2), [f32(2, 3, 8, 8)]),
    ("AvgPool2d-pad", lambda L: L.nn.AvgPool2d(3, 2, 1), [f32(2, 3, 7, 8)]),
    ("AvgPool2d-pad-nocount", lambda L: L.nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     [f32(2, 3, 7, 8)]),
    ("AvgPool2d-ceil", lambda L: L.nn.AvgPool2d(3, 2, 1, ceil_mode=True), [f32(1, 2, 8, 8)]),
    ("AvgPool2d-ceil-nocount", lambda L: L.nn.AvgPool2d(3, 2, 0, ceil_mode=True,
                                                        count_include_pad=False),
     [f32(1, 2, 8, 8)]),
    ("AvgPool2d-divisor", lambda L: L.nn.AvgPool2d(2, divisor_override=3), [f32(1, 2, 6, 6)]),
    ("AvgPool3d", lambda L: L.nn.AvgPool3d(2, 1), [f32(1, 2, 3, 4, 3)]),
    ("AdaptiveAvgPool2d-1", lambda L: L.nn.AdaptiveAvgPool2d(1), [f32(2, 3, 7, 7)]),
    ("AdaptiveAvgPool2d-uneven", lambda L: L.nn.AdaptiveAvgPool2d((3, 2)), [f32(2, 3, 7, 5)]),
    ("AdaptiveAvgPool2d-None", lambda L: L.nn.AdaptiveAvgPool2d((None, 2)), [f32(2, 3, 7, 4)]),
    ("AdaptiveAvgPool1d", lambda L: L.nn.AdaptiveAvgPool1d(4), [f32(2, 3, 10)]),
    ("AdaptiveMaxPool2d", lambda L: L.nn.AdaptiveMaxPool2d((2, 3)), [f32(2, 3, 6, 7)]),
    ("AdaptiveMaxPool1d", lambda L: L.nn.AdaptiveMaxPool1d(3), [f32(2, 3, 9)]),
    ("LPPool2d", lambda L: L.nn.LPPool2d(2, 2), [np.abs(f32(1, 2, 6, 6)) + 0.1]),
]


@pytest.mark.parametrize("name,make,inputs", POOLS, ids=[p[0] for p in POOLS])
def test_pool_layer(name, make, inputs):
    run_layer(make, inputs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("nd,shape", [(1, (2, 3, 9)), (2, (2, 3, 7, 6)), (3, (1, 2, 4, 5, 4))])
def test_max_pool_indices_and_unpool(nd, shape):
    x = f32(*shape)
    outs = []
    for lib in (torch, ember):
        F = lib.nn.functional
        mp = getattr(F, f"max_pool{nd}d")
        v, i = mp(lib.tensor(x.copy()), 2, return_indices=True)
        u = getattr(F, f"max_unpool{nd}d")(v, i, 2, output_size=shape[2:])
        outs.append((v.cpu().numpy(), i.cpu().numpy(), u.cpu().numpy()))
    for a, b in zip(outs[1], outs[0]):
        np.testing.assert_array_equal(a, b)
    tv, ti = torch.nn.functional.adaptive_max_pool2d(torch.from_numpy(f32(1, 1, 5, 7)), (2, 3),
                                                      return_indices=True) if nd == 2 else (0, 0)


def test_pool_errors_like_torch():
    for lib in (torch, ember):
        F = lib.nn.functional
        with pytest.raises(RuntimeError):
            F.max_pool2d(lib.randn(1, 1, 4, 4), 2, padding=2)
        with pytest.raises(RuntimeError):
            F.max_pool2d(lib.randn(1, 1, 1, 1), 3)
        with pytest.raises(IndexError):
            F.avg_pool2d(lib.randn(4), 2)
        with pytest.raises(RuntimeError):
            F.max_pool2d(lib.randn(3, 4), 2)
        with pytest.raises(RuntimeError):
            F.adaptive_avg_pool2d(lib.randn(3, 4), 2)


def test_pool_double_backward():
    r = np.random.default_rng(5)
    x = ember.tensor(r.standard_normal((1, 2, 5, 6))).requires_grad_()
    assert gradcheck(lambda x: ember.nn.functional.max_pool2d(x, 2, 1), (x,))
    assert gradgradcheck(lambda x: ember.nn.functional.max_pool2d(x, 2, 1), (x,))
    assert gradcheck(lambda x: ember.nn.functional.avg_pool2d(x, 3, 2, 1), (x,))
    assert gradgradcheck(lambda x: ember.nn.functional.avg_pool2d(x, 3, 2, 1), (x,))
    assert gradgradcheck(lambda x: ember.nn.functional.adaptive_avg_pool2d(x, (2, 4)), (x,))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("nan", [False, True])
@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 3, 1), (2, 1, 0)])
def test_max_pool_ties_and_nans(k, s, p, nan, threads, monkeypatch):
    """Ties (ReLU zeros) pick the first maximum of the window and NaN propagates, as in
    torch: values, indices and the input gradient, on both the windows that overlap
    (scatter-add backward) and those that do not (assignment backward); with two threads
    each takes half of the batch (on NumPy, with threadpoolctl), NaNs only in the first."""
    import ember._ops.conv as conv
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(conv, "_cpu_threads", lambda: threads)
    x = np.maximum(f32(4, 3, 9, 10), 0)
    if nan:
        x[0, 1, 2, 3] = x[1, 2, 5, 5] = np.nan
    outs = []
    for lib in (torch, ember):
        t = lib.tensor(x.copy()).requires_grad_()
        v, i = lib.nn.functional.max_pool2d(t, k, s, p, return_indices=True)
        g = lib.tensor(np.arange(v.numel(), dtype=np.float32).reshape(v.shape))
        v.backward(g)
        outs.append((v.detach().cpu().numpy(), i.cpu().numpy(), t.grad.cpu().numpy()))
    for a, b in zip(outs[1], outs[0]):
        np.testing.assert_array_equal(a, b)
    r = np.random.default_rng(6)
    y = ember.tensor(r.standard_normal((1, 2, 6, 6))).requires_grad_()
    assert gradgradcheck(lambda y: ember.nn.functional.max_pool2d(y, k, s, p), (y,))


@pytest.mark.parametrize("nd,shape,kw", [
    (1, (2, 3, 1), dict(kernel_size=2, padding=1, dilation=2)),
    (2, (1, 2, 3, 1), dict(kernel_size=2, stride=1, padding=(0, 1), dilation=(1, 2))),
    (3, (1, 1, 2, 1, 2), dict(kernel_size=2, stride=1, padding=(0, 1, 0), dilation=(1, 2, 1)))])
def test_max_pool_window_wholly_in_padding(nd, shape, kw):
    """A dilated window with every tap in the padding: -inf as torch; its index -1 and no
    gradient (torch's index points outside the input, and its backward writes there, so
    only the values are compared with torch)."""
    x = f32(*shape)
    fn = f"max_pool{nd}d"
    ref = getattr(torch.nn.functional, fn)(torch.from_numpy(x), **kw)
    t = ember.tensor(x, requires_grad=True)
    y, idx = getattr(ember.nn.functional, fn)(t, return_indices=True, **kw)
    assert y.shape == tuple(ref.shape) and np.array_equal(y.detach().cpu().numpy(), ref.numpy())
    assert np.isneginf(y.detach().cpu().numpy()).all() and (idx.cpu().numpy() == -1).all()
    y.backward(ember.ones_like(y))
    assert np.array_equal(t.grad.cpu().numpy(), np.zeros_like(x))
    assert gradgradcheck(lambda a: getattr(ember.nn.functional, fn)(a, **kw).clamp(min=-1e30),
                         (ember.tensor(x.astype(np.float64), requires_grad=True),))
