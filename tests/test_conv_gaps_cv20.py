"""The shifted-GEMM convolution's buffer layout with shared zero gaps (ember._ops.conv:
_shift_grid, _conv_shifted): one gap of max(lo, hi) between rows and between images serves
as both paddings. Paddings where lo != hi, where the output overhangs the image (a 1x1
kernel with padding), dilations wider than the gap, 1-, 2- and 3-d, and batches that end
in a short chunk: values and gradients against torch, and the same values as the im2col
path."""
import numpy as np
import pytest
import torch

import ember
from ember._backend import cpu_blas
from ember._ops import conv as conv_ops

pytestmark = pytest.mark.skipif(not cpu_blas.available(np.dtype(np.float32)),
                                reason="no OpenBLAS gemm found beside NumPy")

# (batch, in, out, spatial, kernel, padding, dilation)
CASES = [
    (3, 8, 5, (7, 6), 3, 1, 1),
    (2, 8, 4, (6, 5), 1, 1, 1),          # output 2 longer than the image along each dim
    (2, 8, 4, (6, 5), 1, 2, 1),
    (2, 8, 4, (6, 7), 2, "same", 1),     # lo 0, hi 1
    (2, 8, 4, (9, 8), 4, "same", 1),     # lo 1, hi 2
    (2, 8, 3, (7, 9), 3, 2, 3),          # dilated taps jump past the gap
    (2, 8, 3, (7, 9), (3, 2), (0, 2), (2, 1)),
    (2, 9, 3, (11,), 3, 4, 2),
    (2, 8, 3, (4, 5, 3), 3, 1, 1),
    (2, 8, 3, (4, 3, 5), (1, 3, 2), (1, 0, 1), 1),
    (37, 16, 8, (10, 10), 3, 1, 1),      # several chunks, the last one short
]


def _ids(c):
    return "-".join(str(v).replace(" ", "") for v in c)


def _run(lib, xa, wa, nd, padding, dilation):
    x = lib.from_numpy(xa.copy()).requires_grad_()
    w = lib.from_numpy(wa.copy()).requires_grad_()
    y = getattr(lib.nn.functional, f"conv{nd}d")(x, w, None, padding=padding,
                                                  dilation=dilation)
    gy = np.sin(np.arange(y.numel())).reshape(tuple(y.shape)).astype(xa.dtype)
    y.backward(lib.from_numpy(gy))
    return [t.detach().numpy() for t in (y, x.grad, w.grad)]


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(case, dtype):
    n, c, o, sp, k, padding, dilation = case
    nd = len(sp)
    k = k if isinstance(k, tuple) else (k,) * nd
    rng = np.random.default_rng(5)
    xa = rng.standard_normal((n, c) + sp).astype(dtype)
    wa = rng.standard_normal((o, c) + k).astype(dtype)
    got = _run(ember, xa, wa, nd, padding, dilation)
    want = _run(torch, xa, wa, nd, padding, dilation)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_same_as_im2col(case):
    n, c, o, sp, k, padding, dilation = case
    nd = len(sp)
    k = k if isinstance(k, tuple) else (k,) * nd
    dilation = dilation if isinstance(dilation, tuple) else (dilation,) * nd
    if padding == "same":
        total = [d * (kn - 1) for d, kn in zip(dilation, k)]
        pads = [(t // 2, t - t // 2) for t in total]
    else:
        p = padding if isinstance(padding, tuple) else (padding,) * nd
        pads = [(v, v) for v in p]
    out = tuple(s + lo + hi - d * (kn - 1) for s, (lo, hi), d, kn in zip(sp, pads, dilation, k))
    rng = np.random.default_rng(6)
    xa = rng.standard_normal((n, c) + sp)
    wa = rng.standard_normal((o, c) + k)
    assert conv_ops._shifted_ok(xa, wa, None, (1,) * nd, 1)
    shifted = conv_ops._conv_shifted(xa, wa, pads, dilation, None, out)
    conv_ops._SHIFTED[0] = False
    try:
        ref = conv_ops._conv(np, xa, wa, (1,) * nd, pads, dilation, 1)
    finally:
        conv_ops._SHIFTED[0] = True
    np.testing.assert_allclose(shifted, ref, rtol=1e-12, atol=1e-12)


def test_grid_gaps():
    """3x3 'same' on 32x32: 33x33 positions per image, one zero row and column shared."""
    ext, lead, span, offs = conv_ops._shift_grid((32, 32), (3, 3), [(1, 1), (1, 1)], (1, 1),
                                                 (32, 32))
    assert ext == (33, 33) and lead == 34 and offs[0] == 0
    assert span == 31 * 33 + 32 and offs[-1] == 2 * 33 + 2
    # a 1x1 kernel with padding 1: the output overhangs the image by 2, so the gap is 2
    ext, lead, span, offs = conv_ops._shift_grid((6,), (1,), [(1, 1)], (1,), (8,))
    assert ext == (8,) and lead == 1 and offs == [0]


# --- im2col path: image-by-image products (_IMAGE_GEMM_MIN) -------------------------------

IM2COL_CASES = [
    # (batch, in, out, spatial, kernel, stride, padding, groups, bias): stride 2, few input
    # channels (no shifted path), groups; P >= 256 output positions per image
    (3, 3, 8, (32, 32), 3, 1, 1, 1, True),
    (2, 8, 6, (33, 34), 3, 2, 1, 1, True),
    (2, 8, 6, (32, 32), 1, 2, 0, 1, False),
    (2, 8, 6, (32, 32), 3, 1, 1, 2, True),
    (2, 4, 4, (24, 24), 3, 1, 1, 4, False),
    (2, 3, 5, (300,), 5, 1, 2, 1, True),
    (40, 3, 8, (16, 16), 3, 1, 1, 1, True),   # several chunks, two threads
]


def _im2col_run(lib, xa, wa, ba, nd, stride, padding, groups, grad_kind):
    x = lib.from_numpy(xa.copy()).requires_grad_()
    w = lib.from_numpy(wa.copy()).requires_grad_()
    b = None if ba is None else lib.from_numpy(ba.copy()).requires_grad_()
    y = getattr(lib.nn.functional, f"conv{nd}d")(x, w, b, stride=stride, padding=padding,
                                                  groups=groups)
    if grad_kind == "sum":   # an expanded (zero-stride) output gradient
        y.sum().backward()
    else:
        gy = lib.from_numpy(np.cos(np.arange(y.numel())).reshape(tuple(y.shape))
                            .astype(xa.dtype))
        if grad_kind == "channels_last" and nd == 2:
            gy = gy.contiguous(memory_format=lib.channels_last)
        y.backward(gy)
    return [t.detach().numpy() for t in (y, x.grad, w.grad)] + \
        ([] if b is None else [b.grad.numpy()])


@pytest.mark.parametrize("case", IM2COL_CASES, ids=_ids)
@pytest.mark.parametrize("grad_kind", ["dense", "sum", "channels_last"])
def test_image_products_match_torch(case, grad_kind):
    n, c, o, sp, k, stride, padding, groups, bias = case
    nd = len(sp)
    rng = np.random.default_rng(8)
    xa = rng.standard_normal((n, c) + sp).astype(np.float32)
    wa = rng.standard_normal((o, c // groups) + (k,) * nd).astype(np.float32)
    ba = rng.standard_normal(o).astype(np.float32) if bias else None
    got = _im2col_run(ember, xa, wa, ba, nd, stride, padding, groups, grad_kind)
    want = _im2col_run(torch, xa, wa, ba, nd, stride, padding, groups, grad_kind)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("case", IM2COL_CASES, ids=_ids)
def test_image_products_same_as_chunk_products(case, monkeypatch):
    n, c, o, sp, k, stride, padding, groups, bias = case
    nd = len(sp)
    rng = np.random.default_rng(9)
    xa = rng.standard_normal((n, c) + sp)
    wa = rng.standard_normal((o, c // groups) + (k,) * nd)
    ba = rng.standard_normal(o) if bias else None
    runs = []
    for limit in (256, 10 ** 9):
        monkeypatch.setattr(conv_ops, "_IMAGE_GEMM_MIN", limit)
        runs.append(_im2col_run(ember, xa, wa, ba, nd, stride, padding, groups, "dense"))
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_image_products_float16():
    rng = np.random.default_rng(10)
    xa = rng.standard_normal((2, 3, 20, 20)).astype(np.float16)
    wa = (rng.standard_normal((4, 3, 3, 3)) * 0.2).astype(np.float16)
    out = []
    for lib in (ember, torch):
        x = lib.from_numpy(xa.copy()).requires_grad_()
        w = lib.from_numpy(wa.copy()).requires_grad_()
        y = lib.nn.functional.conv2d(x, w, padding=1)
        y.sum().backward()
        out.append([t.detach().float().numpy() for t in (y, x.grad, w.grad)])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=2e-2, atol=2e-1)


# --- input gradient image by image (_input_grad_images): stride > 1 ----------------------

DX_CASES = [
    # (batch, in, out, spatial, kernel, stride, padding, dilation, groups)
    (2, 8, 6, (33, 34), 3, 2, 1, 1, 1),
    (2, 8, 6, (32, 32), 1, 2, 0, 1, 1),
    (2, 8, 6, (36, 36), 3, 2, 1, 1, 2),
    (2, 4, 4, (40, 37), 3, (2, 1), 2, 2, 4),
    (2, 6, 4, (36, 40), 3, 2, 5, 1, 1),       # padding past the kernel's reach
    (2, 3, 5, (600,), 5, 2, 2, 1, 1),
    (1, 4, 3, (14, 14, 14), 3, 2, 1, 1, 1),
    (40, 4, 8, (34, 34), 3, 2, 1, 1, 1),      # two threads where allowed
]


def _dx(lib, xa, wa, nd, stride, padding, dilation, groups):
    x = lib.from_numpy(xa.copy()).requires_grad_()
    w = lib.from_numpy(wa.copy()).requires_grad_()
    y = getattr(lib.nn.functional, f"conv{nd}d")(x, w, None, stride=stride, padding=padding,
                                                  dilation=dilation, groups=groups)
    gy = np.cos(np.arange(y.numel())).reshape(tuple(y.shape)).astype(xa.dtype)
    y.backward(lib.from_numpy(gy))
    return x.grad.numpy(), w.grad.numpy()


@pytest.mark.parametrize("case", DX_CASES, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_grad_images_match_torch(case, dtype):
    n, c, o, sp, k, stride, padding, dilation, groups = case
    nd = len(sp)
    rng = np.random.default_rng(11)
    xa = rng.standard_normal((n, c) + sp).astype(dtype)
    wa = rng.standard_normal((o, c // groups) + (k,) * nd).astype(dtype)
    got = _dx(ember, xa, wa, nd, stride, padding, dilation, groups)
    want = _dx(torch, xa, wa, nd, stride, padding, dilation, groups)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", DX_CASES, ids=_ids)
def test_input_grad_images_same_as_chunks(case, monkeypatch):
    n, c, o, sp, k, stride, padding, dilation, groups = case
    nd = len(sp)
    rng = np.random.default_rng(12)
    xa = rng.standard_normal((n, c) + sp)
    wa = rng.standard_normal((o, c // groups) + (k,) * nd)
    runs = []
    for limit in (256, 10 ** 9):
        monkeypatch.setattr(conv_ops, "_IMAGE_GEMM_MIN", limit)
        runs.append(_dx(ember, xa, wa, nd, stride, padding, dilation, groups)[0])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_transpose_stride2_matches_torch(groups):
    """conv_transpose's forward is the input gradient: stride 2 with output_padding."""
    rng = np.random.default_rng(13)
    xa = rng.standard_normal((2, 8, 17, 16)).astype(np.float32)
    wa = rng.standard_normal((8, 6 // groups, 3, 3)).astype(np.float32)
    ba = rng.standard_normal(6).astype(np.float32)
    out = []
    for lib in (ember, torch):
        x = lib.from_numpy(xa.copy()).requires_grad_()
        w = lib.from_numpy(wa.copy()).requires_grad_()
        y = lib.nn.functional.conv_transpose2d(x, w, lib.from_numpy(ba.copy()), stride=2,
                                               padding=1, output_padding=1, groups=groups)
        y.backward(lib.from_numpy(np.sin(np.arange(y.numel())).reshape(tuple(y.shape))
                                  .astype(np.float32)))
        out.append([t.detach().numpy() for t in (y, x.grad, w.grad)])
    for a, b in zip(*out):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4)
