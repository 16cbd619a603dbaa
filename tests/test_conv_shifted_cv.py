"""Stride-1 convolutions on NumPy as sums of shifted GEMMs (ember._ops.conv._conv_shifted,
through ember._backend.cpu_blas.gemm): values and gradients against torch, the same
answers as the im2col path it replaces, and the gemm wrapper's own contract."""
import numpy as np
import pytest
import torch

import ember
from ember._backend import cpu_blas
from ember._ops import conv as conv_ops

pytestmark = pytest.mark.skipif(not cpu_blas.available(np.dtype(np.float32)),
                                reason="no OpenBLAS gemm found beside NumPy")

rng = np.random.default_rng(7)

# (batch, in, out, spatial, kernel, padding, dilation, bias, dtype): channels >= 8 (below
# that the im2col path runs); batches that leave a short last chunk; 1-, 2- and 3-d;
# rectangular kernels, asymmetric "same" padding, dilation, no padding
CASES = [
    (3, 8, 5, (7, 6), 3, 1, 1, True, np.float32),
    (2, 12, 4, (9,), 5, 2, 2, True, np.float32),
    (2, 8, 3, (4, 5, 3), 3, 1, 1, False, np.float32),
    (2, 9, 6, (6, 7), (2, 3), 0, 1, True, np.float32),
    (1, 8, 4, (8, 8), 4, "same", 1, True, np.float32),
    (2, 8, 4, (9, 8), 3, 3, (2, 3), False, np.float32),
    (5, 16, 8, (12, 12), 5, 2, 1, True, np.float64),
    (40, 64, 16, (16, 16), 3, 1, 1, True, np.float32),   # several chunks, two threads
]


def _run(lib, xa, wa, ba, nd, padding, dilation, fmt=None):
    x = lib.from_numpy(xa.copy())
    if fmt == "channels_last":
        x = x.contiguous(memory_format=lib.channels_last)
    elif fmt == "strided":
        x = lib.from_numpy(np.ascontiguousarray(np.swapaxes(xa, -1, -2))).transpose(-1, -2)
    x.requires_grad_()
    w = lib.from_numpy(wa.copy()).requires_grad_()
    b = None if ba is None else lib.from_numpy(ba.copy()).requires_grad_()
    y = getattr(lib.nn.functional, f"conv{nd}d")(x, w, b, padding=padding, dilation=dilation)
    gy = np.cos(np.arange(y.numel())).reshape(tuple(y.shape)).astype(xa.dtype)
    y.backward(lib.from_numpy(gy))
    out = [y.detach(), x.grad, w.grad] + ([] if b is None else [b.grad])
    return [t.numpy() for t in out], y.is_contiguous()


def _case(n, c, o, sp, k, padding, dilation, bias, dt):
    nd = len(sp)
    k = k if isinstance(k, tuple) else (k,) * nd
    xa = rng.standard_normal((n, c) + sp).astype(dt)
    wa = rng.standard_normal((o, c) + k).astype(dt)
    ba = rng.standard_normal(o).astype(dt) if bias else None
    return xa, wa, ba, nd


def _close(got, want, dt):
    tol = 1e-4 if dt == np.float32 else 1e-10
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol * max(1.0, np.abs(w).max()))


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_shifted_conv_matches_torch(case):
    xa, wa, ba, nd = _case(*case)
    padding, dilation, dt = case[5], case[6], case[8]
    calls = []
    real = conv_ops._conv_shifted
    try:
        conv_ops._conv_shifted = lambda *a: calls.append(1) or real(*a)
        got, _ = _run(ember, xa, wa, ba, nd, padding, dilation)
    finally:
        conv_ops._conv_shifted = real
    assert calls, "the shifted-GEMM path did not run"
    want, _ = _run(torch, xa, wa, ba, nd, padding, dilation)
    _close(got, want, dt)


@pytest.mark.parametrize("fmt", ["channels_last", "strided"])
def test_shifted_conv_input_layouts(fmt):
    xa, wa, ba, nd = _case(3, 8, 6, (5, 7), 3, 1, 1, True, np.float32)
    got, got_contig = _run(ember, xa, wa, ba, nd, 1, 1, fmt)
    want, want_contig = _run(torch, xa, wa, ba, nd, 1, 1, fmt)
    _close(got, want, np.float32)
    assert got_contig == want_contig


def test_shifted_equals_im2col_path():
    xa, wa, ba, nd = _case(7, 24, 10, (11, 9), 3, 1, 1, True, np.float32)
    new = conv_ops._conv(np, xa, wa, (1, 1), [(1, 1), (1, 1)], (1, 1), 1, ba)
    conv_ops._SHIFTED[0] = False
    try:
        old = conv_ops._conv(np, xa, wa, (1, 1), [(1, 1), (1, 1)], (1, 1), 1, ba)
    finally:
        conv_ops._SHIFTED[0] = True
    np.testing.assert_allclose(new, old, rtol=1e-5, atol=1e-4)


def test_shifted_not_taken_for_few_channels_groups_or_stride():
    calls = []
    real = conv_ops._conv_shifted
    try:
        conv_ops._conv_shifted = lambda *a: calls.append(1) or real(*a)
        x = ember.randn(2, 8, 6, 6)
        ember.nn.functional.conv2d(ember.randn(2, 3, 6, 6), ember.randn(4, 3, 3, 3))
        ember.nn.functional.conv2d(x, ember.randn(4, 4, 3, 3), groups=2)
        ember.nn.functional.conv2d(x, ember.randn(4, 8, 3, 3), stride=2)
        ember.nn.functional.conv2d(x.to(ember.complex64), ember.randn(4, 8, 3, 3,
                                                                      dtype=ember.complex64))
        assert not calls
        ember.nn.functional.conv2d(x, ember.randn(4, 8, 3, 3))
        assert calls
    finally:
        conv_ops._conv_shifted = real


def test_shifted_double_backward_matches_torch():
    xa, wa, ba, nd = _case(2, 8, 3, (5, 5), 3, 1, 1, True, np.float64)
    res = []
    for lib in (ember, torch):
        x = lib.from_numpy(xa.copy()).requires_grad_()
        w = lib.from_numpy(wa.copy()).requires_grad_()
        y = lib.nn.functional.conv2d(x, w, lib.from_numpy(ba.copy()), padding=1)
        gx, = lib.autograd.grad((y ** 2).sum(), x, create_graph=True)
        gw, = lib.autograd.grad(gx.pow(2).sum(), w)
        res.append(gw.numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_gemm_windows_transposes_and_beta(dt):
    big = rng.standard_normal((6, 40)).astype(dt)
    a = big[:, 3:8]                            # (6, 5), row stride 40
    b = rng.standard_normal((5, 30)).astype(dt)[:, 2:9]   # (5, 7), row stride 30
    c0 = rng.standard_normal((6, 20)).astype(dt)
    c = c0.copy()
    cpu_blas.gemm(a, b, c[:, 4:11], 1.0)
    want = c0.copy()
    want[:, 4:11] += a @ b
    np.testing.assert_allclose(c, want, rtol=1e-5)
    c2 = np.full((7, 6), np.nan, dtype=dt)     # beta 0 ignores what c held, NaN included
    cpu_blas.gemm(b, a, c2, 0.0, trans_a=True, trans_b=True)
    np.testing.assert_allclose(c2, b.T @ a.T, rtol=1e-5)


def test_gemm_rejects_mismatched_operands():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        cpu_blas.gemm(a, np.ones((5, 2), np.float32), np.empty((3, 2), np.float32))
    with pytest.raises(ValueError, match="float64"):
        cpu_blas.gemm(a, np.ones((4, 2)), np.empty((3, 2), np.float32))
    with pytest.raises(ValueError):   # a column-strided operand is no row-major matrix
        cpu_blas.gemm(a, np.ones((2, 4), np.float32).T, np.empty((3, 2), np.float32))
    with pytest.raises(TypeError, match="int64"):
        cpu_blas.gemm(a.astype(np.int64), a.T.astype(np.int64), np.empty((3, 3), np.int64))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_shifted_sum_against_numpy(dt):
    a = rng.standard_normal((3, 4, 5)).astype(dt)
    b = rng.standard_normal((5, 30)).astype(dt)
    offs = [0, 7, 11]
    c0 = rng.standard_normal((4, 40)).astype(dt)
    for beta in (0.0, 1.0):
        c = c0.copy()
        cpu_blas.shifted_sum(a, b, offs, c[:, 3:22], beta)
        want = c0.copy()
        want[:, 3:22] = beta * want[:, 3:22] + sum(a[t] @ b[:, o:o + 19]
                                                   for t, o in enumerate(offs))
        np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)


def test_shifted_sum_rejects_windows_past_the_buffer():
    a = np.ones((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"\[0, 8\] \+ 3 of \(4, 10\)"):
        cpu_blas.shifted_sum(a, np.ones((4, 10), np.float32), [0, 8],
                             np.empty((3, 3), np.float32))
    with pytest.raises(ValueError):
        cpu_blas.shifted_sum(a, np.ones((5, 10), np.float32), [0, 1],
                             np.empty((3, 3), np.float32))
