"""ember.vision.ops against torchvision.ops.

torchvision's compiled operators (nms, roi_align's kernel, roi_pool, ps_roi_*,
deform_conv2d) cannot load here, so those are checked against references written below in
plain NumPy/torch from torchvision's documented kernel semantics (a dense matrix of each
RoI op, whose transpose gives the gradient), plus finite-difference gradchecks in float64.
The pure-Python parts of torchvision (box utilities, losses, FPN, MultiScaleRoIAlign's
level mapping, roi_align's Python path for boxes inside the image) are the oracle directly.
"""
import math
import sys
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember.vision import ops  # noqa: E402

from ._tv import tv  # noqa: E402


def E(a, device="cpu", requires_grad=False, dtype=None):
    """An ember tensor of NumPy array a."""
    t = ember.tensor(np.asarray(a), dtype=dtype, device=device)
    return t.requires_grad_() if requires_grad else t


def T(a, requires_grad=False):
    t = torch.tensor(np.asarray(a))
    return t.requires_grad_() if requires_grad else t


def npy(t):
    return t.detach().cpu().numpy()


def close(e, t, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(npy(e), t.detach().numpy() if hasattr(t, "detach") else t,
                               rtol=rtol, atol=atol)


@pytest.fixture(scope="module")
def tvops():
    return tv().ops


# ------------------------------------------------------------------ references (kernels)

def _bilinear_weights(H, W, y, x):
    """[(pixel, weight)] of one bilinear sample, torchvision's RoI kernels' rule."""
    if not (-1.0 <= y <= H and -1.0 <= x <= W):
        return []
    y, x = max(y, 0.0), max(x, 0.0)
    yl, xl = int(y), int(x)
    if yl >= H - 1:
        yh = yl = H - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= W - 1:
        xh = xl = W - 1
        x = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, x - xl
    hy, hx = 1 - ly, 1 - lx
    return [(yl * W + xl, hy * hx), (yl * W + xh, hy * lx), (yh * W + xl, ly * hx),
            (yh * W + xh, ly * lx)]


def ref_align_matrix(shape, rois, ph, pw, scale, sr, aligned, position_sensitive=False):
    """Dense matrix A (out elements x input elements): roi_align (or ps_roi_align) of x is
    A @ x.ravel(); its gradient is A.T @ g.ravel()."""
    N, C, H, W = shape
    c_out = C // (ph * pw) if position_sensitive else C
    K = len(rois)
    A = np.zeros((K, c_out, ph, pw, N, C, H * W))
    off = 0.5 if aligned or position_sensitive else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        b = int(b)
        sw, sh = x1 * scale - off, y1 * scale - off
        rw, rh = x2 * scale - off - sw, y2 * scale - off - sh
        if not aligned and not position_sensitive:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = sr if sr > 0 else int(math.ceil(rh / ph))
        gw = sr if sr > 0 else int(math.ceil(rw / pw))
        count = gh * gw if position_sensitive else max(gh * gw, 1)
        for i in range(ph):
            for j in range(pw):
                for iy in range(gh):
                    y = sh + i * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        x = sw + j * bw + (ix + 0.5) * bw / gw
                        for pix, wt in _bilinear_weights(H, W, y, x):
                            for c in range(c_out):
                                cin = (c * ph + i) * pw + j if position_sensitive else c
                                A[k, c, i, j, b, cin, pix] += wt / count
    return A.reshape(K * c_out * ph * pw, -1)


def ref_ps_pool_matrix(shape, rois, ph, pw, scale):
    N, C, H, W = shape
    c_out = C // (ph * pw)
    A = np.zeros((len(rois), c_out, ph, pw, N, C, H, W))
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sw, sh = _cround(x1 * scale), _cround(y1 * scale)
        ew, eh = _cround(x2 * scale), _cround(y2 * scale)
        rw, rh = max(ew - sw, 1), max(eh - sh, 1)
        for i in range(ph):
            for j in range(pw):
                h0 = min(max(math.floor(i * rh / ph) + sh, 0), H - 1)
                h1 = min(max(math.ceil((i + 1) * rh / ph) + sh, 0), H - 1)
                w0 = min(max(math.floor(j * rw / pw) + sw, 0), W - 1)
                w1 = min(max(math.ceil((j + 1) * rw / pw) + sw, 0), W - 1)
                if h1 <= h0 or w1 <= w0:
                    continue
                for c in range(c_out):
                    cin = (c * ph + i) * pw + j
                    A[k, c, i, j, int(b), cin, h0:h1, w0:w1] = 1.0 / ((h1 - h0) * (w1 - w0))
    return A.reshape(len(rois) * c_out * ph * pw, -1)


def _cround(v):
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def ref_roi_pool(x, rois, ph, pw, scale):
    """(output, A) of roi_pool: A has a 1 at each bin's first maximum."""
    N, C, H, W = x.shape
    K = len(rois)
    out = np.zeros((K, C, ph, pw))
    A = np.zeros((K, C, ph, pw, N, C, H * W))
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        b = int(b)
        sw, sh = _cround(x1 * scale), _cround(y1 * scale)
        ew, eh = _cround(x2 * scale), _cround(y2 * scale)
        rw, rh = max(ew - sw + 1, 1), max(eh - sh + 1, 1)
        for i in range(ph):
            for j in range(pw):
                h0 = min(max(math.floor(i * rh / ph) + sh, 0), H)
                h1 = min(max(math.ceil((i + 1) * rh / ph) + sh, 0), H)
                w0 = min(max(math.floor(j * rw / pw) + sw, 0), W)
                w1 = min(max(math.ceil((j + 1) * rw / pw) + sw, 0), W)
                empty = h1 <= h0 or w1 <= w0
                for c in range(C):
                    best, arg = (0.0 if empty else -np.finfo(np.float32).max), -1
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            if x[b, c, h, w] > best:
                                best, arg = x[b, c, h, w], h * W + w
                    out[k, c, i, j] = best
                    if arg >= 0:
                        A[k, c, i, j, b, c, arg] = 1.0
    return out, A.reshape(K * C * ph * pw, -1)


def ref_nms(boxes, scores, thr):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep, dead = [], set()
    for a, i in enumerate(order):
        if i in dead:
            continue
        keep.append(i)
        for j in order[a + 1:]:
            xx1, yy1 = max(boxes[i][0], boxes[j][0]), max(boxes[i][1], boxes[j][1])
            xx2, yy2 = min(boxes[i][2], boxes[j][2]), min(boxes[i][3], boxes[j][3])
            inter = max(0.0, xx2 - xx1) * max(0.0, yy2 - yy1)
            area_i = (boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1])
            area_j = (boxes[j][2] - boxes[j][0]) * (boxes[j][3] - boxes[j][1])
            if inter / (area_i + area_j - inter) > thr:
                dead.add(j)
    return keep


# boxes reaching outside the 6x7 map (samples beyond [-1, H] read 0), inverted and tiny
# boxes, boxes needing more adaptive samples than the map has rows
ROIS = np.array([[0, 1.2, 0.5, 5.3, 4.1], [1, -2.0, -1.5, 3.0, 4.0], [1, 4.0, 2.0, 12.0, 9.0],
                 [0, 2.0, 2.0, 2.5, 2.2], [1, 3.0, 3.0, 1.0, 1.0], [0, 0.0, 0.0, 6.9, 5.9],
                 [1, -8.0, -9.0, 30.0, 25.0]])
SHAPE = (2, 8, 6, 7)


def _input(seed=0, shape=SHAPE):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------ roi_align


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio,scale", [(-1, 1.0), (2, 1.0), (0, 0.5), (3, 0.7)])
def test_roi_align_matches_kernel_reference(device, aligned, sampling_ratio, scale):
    x = _input()
    A = ref_align_matrix(SHAPE, ROIS, 3, 2, scale, sampling_ratio, aligned)
    g = np.random.default_rng(1).standard_normal(A.shape[0])
    xe = E(x, device, requires_grad=True)
    out = ops.roi_align(xe, E(ROIS, device), (3, 2), scale, sampling_ratio, aligned)
    assert out.shape == (len(ROIS), SHAPE[1], 3, 2) and out.dtype == ember.float64
    np.testing.assert_allclose(npy(out).ravel(), A @ x.ravel(), rtol=1e-10, atol=1e-12)
    assert out.grad_fn.name() == "RoIAlignBackward0"
    out.backward(E(g.reshape(out.shape), device))
    np.testing.assert_allclose(npy(xe.grad).ravel(), A.T @ g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 2])
def test_roi_align_matches_torchvision_python_path(tvops, aligned, sampling_ratio):
    """torchvision's pure-Python roi_align (its fallback without the compiled kernel)
    agrees with the kernel for boxes inside the map; values and gradients in float32."""
    ref = sys.modules["torchvision.ops.roi_align"]._roi_align.__wrapped__
    x = _input(3).astype(np.float32)
    rois = np.array([[0, 1.2, 0.5, 5.3, 4.1], [1, 0.0, 0.2, 3.0, 4.0], [1, 4.0, 2.0, 6.9, 5.9],
                     [0, 2.0, 2.0, 2.5, 2.2]], dtype=np.float32)
    xt, xe = T(x, True), E(x, requires_grad=True)
    t = ref(xt, T(rois), 0.5 if aligned else 1.0, 2, 3, sampling_ratio, aligned)
    e = ops.roi_align(xe, E(rois), (2, 3), 0.5 if aligned else 1.0, sampling_ratio, aligned)
    close(e, t)
    g = np.random.default_rng(2).standard_normal(t.shape).astype(np.float32)
    t.backward(T(g))
    e.backward(E(g))
    close(xe.grad, xt.grad)


def test_roi_align_box_list_and_module(device):
    x = E(_input(), device)
    b0 = np.array([[1.0, 1.0, 4.0, 5.0], [0.0, 0.5, 2.0, 3.0]])
    b1 = np.array([[2.0, 1.0, 6.0, 4.0]])
    rois = np.concatenate([np.c_[np.zeros(2), b0], np.c_[np.ones(1), b1]])
    want = ops.roi_align(x, E(rois, device), 2, 0.5, 2, True)
    got = ops.roi_align(x, [E(b0, device), E(b1, device)], 2, 0.5, 2, True)
    close(got, npy(want), rtol=0, atol=0)
    m = ops.RoIAlign((2, 2), 0.5, 2, aligned=True)
    close(m(x, [E(b0, device), E(b1, device)]), npy(want), rtol=0, atol=0)
    assert repr(m) == "RoIAlign(output_size=(2, 2), spatial_scale=0.5, sampling_ratio=2, " \
                      "aligned=True)"


def test_roi_align_float32_and_empty(device):
    x = _input().astype(np.float32)
    out = ops.roi_align(E(x, device), E(ROIS.astype(np.float32), device), 2, 1.0, 2, False)
    A = ref_align_matrix(SHAPE, ROIS, 2, 2, 1.0, 2, False)
    assert out.dtype == ember.float32
    np.testing.assert_allclose(npy(out).ravel(), A @ x.ravel().astype(np.float64), rtol=1e-5,
                               atol=1e-5)
    none = ops.roi_align(E(x, device), E(np.zeros((0, 5), np.float32), device), 2)
    assert none.shape == (0, SHAPE[1], 2, 2)


# ------------------------------------------------------------------ the other RoI ops


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_roi_pool_matches_kernel_reference(device, scale):
    x = _input(4)
    x[0, 1, 2, 3] = x[0, 1, 2, 4] = 5.0   # a tie: the first maximum (row-major) wins
    want, A = ref_roi_pool(x, ROIS, 3, 2, scale)
    xe = E(x, device, requires_grad=True)
    out = ops.roi_pool(xe, E(ROIS, device), (3, 2), scale)
    np.testing.assert_allclose(npy(out), want, rtol=0, atol=0)
    g = np.random.default_rng(5).standard_normal(want.shape)
    out.backward(E(g, device))
    np.testing.assert_allclose(npy(xe.grad).ravel(), A.T @ g.ravel(), rtol=1e-12, atol=1e-12)
    assert out.grad_fn.name() == "RoIPoolBackward0"
    assert repr(ops.RoIPool(3, 0.5)) == "RoIPool(output_size=3, spatial_scale=0.5)"


@pytest.mark.parametrize("sampling_ratio", [-1, 2])
def test_ps_roi_align_matches_kernel_reference(device, sampling_ratio):
    x = _input(6)
    rois = ROIS[[0, 1, 2, 3, 5]]     # (no box of negative size: 0/0 samples there)
    A = ref_align_matrix(SHAPE, rois, 2, 2, 0.8, sampling_ratio, True,
                         position_sensitive=True)
    xe = E(x, device, requires_grad=True)
    out = ops.ps_roi_align(xe, E(rois, device), 2, 0.8, sampling_ratio)
    assert out.shape == (len(rois), 2, 2, 2)
    np.testing.assert_allclose(npy(out).ravel(), A @ x.ravel(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(7).standard_normal(A.shape[0])
    out.backward(E(g.reshape(out.shape), device))
    np.testing.assert_allclose(npy(xe.grad).ravel(), A.T @ g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 0.6])
def test_ps_roi_pool_matches_kernel_reference(device, scale):
    x = _input(8)
    A = ref_ps_pool_matrix(SHAPE, ROIS, 2, 2, scale)
    xe = E(x, device, requires_grad=True)
    out = ops.ps_roi_pool(xe, E(ROIS, device), (2, 2), scale)
    np.testing.assert_allclose(npy(out).ravel(), A @ x.ravel(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(9).standard_normal(A.shape[0])
    out.backward(E(g.reshape(out.shape), device))
    np.testing.assert_allclose(npy(xe.grad).ravel(), A.T @ g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", ["roi_align", "roi_pool", "ps_roi_align", "ps_roi_pool"])
def test_roi_ops_gradcheck(op):
    """Finite differences in float64, first and second order (the ops are linear in the
    input, so the double backward is the op again: checked against its own adjoint)."""
    x = E(_input(10, (1, 4, 5, 5)), requires_grad=True)
    rois = E(np.array([[0, 0.3, 0.7, 3.6, 4.2], [0, 1.0, 0.0, 4.4, 2.5]]))
    fn = {"roi_align": lambda t: ops.roi_align(t, rois, 2, 1.0, -1, True),
          "roi_pool": lambda t: ops.roi_pool(t, rois, 2, 1.0),
          "ps_roi_align": lambda t: ops.ps_roi_align(t, rois, 2, 1.0, 2),
          "ps_roi_pool": lambda t: ops.ps_roi_pool(t, rois, 2, 1.0)}[op]
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


def test_roi_ops_errors(tvops):
    x = E(_input())
    # the box checks raise AssertionError (torchvision's torch._assert), as torchvision's
    with pytest.raises(AssertionError):
        tvops.roi_align(T(_input()), T(np.zeros((2, 4))), 2)
    for fn in (ops.roi_align, ops.roi_pool, ops.ps_roi_align, ops.ps_roi_pool):
        with pytest.raises(AssertionError, match=r"Tensor\[K, 5\]"):
            fn(x, E(np.zeros((2, 4))), 2)
        with pytest.raises(AssertionError, match=r"List\[Tensor\[L, 4\]\]"):
            fn(x, [E(np.zeros((2, 5)))], 2)
    with pytest.raises(RuntimeError, match="multiple of pooling height"):
        ops.ps_roi_align(x, E(ROIS), 3)
    with pytest.raises(RuntimeError, match="multiple of pooling height"):
        ops.ps_roi_pool(x, E(ROIS), 3)
    with pytest.raises(RuntimeError, match="same dtype"):
        ops.roi_pool(x, E(ROIS.astype(np.float32)), 2)
    with pytest.raises(RuntimeError, match=r"\(N, C, H, W\)"):
        ops.roi_align(E(np.zeros((3, 4, 4))), E(ROIS), 2)


def test_roi_ops_do_not_differentiate_boxes():
    x = E(_input(), requires_grad=True)
    rois = E(ROIS, requires_grad=True)
    ops.roi_align(x, rois, 2).sum().backward()
    assert rois.grad is None and x.grad is not None


# ------------------------------------------------------------------ nms


def _random_boxes(rng, n, scale=20.0):
    xy = rng.uniform(0, scale, (n, 2))
    wh = rng.uniform(1, scale / 2, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("thr", [0.0, 0.3, 0.7])
def test_nms_matches_greedy_reference(device, dtype, thr):
    rng = np.random.default_rng(11)
    boxes = _random_boxes(rng, 60).astype(dtype)
    scores = rng.permutation(60).astype(dtype) / 60   # distinct scores: one right order
    keep = ops.nms(E(boxes, device), E(scores, device), thr)
    assert keep.dtype == ember.int64 and keep.device.type == device
    assert npy(keep).tolist() == ref_nms(boxes.tolist(), scores.tolist(), thr)


def test_batched_nms_matches_reference(device):
    rng = np.random.default_rng(12)
    for n in (50, 1200):     # under and over the per-category threshold (4000 coordinates)
        boxes = _random_boxes(rng, n)
        scores = rng.permutation(n) / n
        idxs = rng.integers(0, 4, n)
        keep = ops.batched_nms(E(boxes, device), E(scores, device), E(idxs, device), 0.5)
        kept = []
        for c in range(4):
            sel = np.flatnonzero(idxs == c)
            kept += [sel[i] for i in ref_nms(boxes[sel].tolist(), scores[sel].tolist(), 0.5)]
        want = sorted(kept, key=lambda i: -scores[i])
        assert npy(keep).tolist() == want
    empty = ops.batched_nms(E(np.zeros((0, 4)), device), E(np.zeros(0), device),
                            E(np.zeros(0, np.int64), device), 0.5)
    assert empty.shape == (0,) and empty.dtype == ember.int64


def test_nms_errors():
    with pytest.raises(RuntimeError, match="boxes should be a 2d tensor, got 1D"):
        ops.nms(E(np.zeros(4)), E(np.zeros(1)), 0.5)
    with pytest.raises(RuntimeError, match="4 elements in dimension 1, got 5"):
        ops.nms(E(np.zeros((2, 5))), E(np.zeros(2)), 0.5)
    with pytest.raises(RuntimeError, match="scores should be a 1d tensor, got 2D"):
        ops.nms(E(np.zeros((2, 4))), E(np.zeros((2, 1))), 0.5)
    with pytest.raises(RuntimeError, match="got 2 and 3"):
        ops.nms(E(np.zeros((2, 4))), E(np.zeros(3)), 0.5)


# ------------------------------------------------------------------ boxes vs torchvision


def _box_pairs(rng, n, m):
    return _random_boxes(rng, n), _random_boxes(rng, m)


@pytest.mark.parametrize("fn", ["box_iou", "generalized_box_iou", "distance_box_iou",
                                "complete_box_iou"])
def test_pairwise_ious_match_torchvision(tvops, fn):
    a, b = _box_pairs(np.random.default_rng(13), 5, 4)
    a[0] = b[0] = [2.0, 2.0, 2.0, 5.0]    # a degenerate box
    at, bt, ae, be = T(a, True), T(b, True), E(a, requires_grad=True), E(b, requires_grad=True)
    t = getattr(tvops, fn)(at, bt)
    e = getattr(ops, fn)(ae, be)
    close(e, t, rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(14).standard_normal(t.shape)
    keep = np.isfinite(t.detach().numpy())
    (t.masked_fill(T(~keep), 0) * T(g)).sum().backward()
    (e.masked_fill(E(~keep), 0) * E(g)).sum().backward()
    close(ae.grad, at.grad, rtol=1e-8, atol=1e-10)
    close(be.grad, bt.grad, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
def test_box_iou_area_formats_and_batch_dims(tvops, fmt):
    rng = np.random.default_rng(15)
    a = rng.uniform(1, 10, (2, 3, 4)).astype(np.float32)
    b = rng.uniform(1, 10, (2, 5, 4)).astype(np.float32)
    close(ops.box_iou(E(a), E(b), fmt=fmt), tvops.box_iou(T(a), T(b), fmt=fmt))
    close(ops.box_area(E(a), fmt=fmt), tvops.box_area(T(a), fmt=fmt))
    half = a.astype(np.float16)
    assert ops.box_area(E(half)).dtype == ember.float32
    ints = (a * 10).astype(np.int16)
    e, t = ops.box_area(E(ints)), tvops.box_area(T(ints))
    assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
    close(e, t)
    with pytest.raises(ValueError):
        ops.box_area(E(a), fmt="xyxyxyxy")
    with pytest.raises(ValueError):
        tvops.box_area(T(a), fmt="xyxyxyxy")
    with pytest.raises(ValueError, match="Unsupported format 'bad'"):
        ops.box_iou(E(a), E(b), fmt="bad")
    with pytest.raises(RuntimeError, match="shape"):         # 4 numbers are no rotated box
        ops.box_iou(E(a), E(b), fmt="cxcywhr")


FORMATS = ["xyxy", "xywh", "cxcywh"]
ROTATED = ["xywhr", "cxcywhr", "xyxyxyxy"]


@pytest.mark.parametrize("group", [FORMATS, ROTATED])
def test_box_convert_matches_torchvision(tvops, group):
    rng = np.random.default_rng(16)
    for src in group:
        for dst in group:
            k = {"xyxyxyxy": 8}.get(src, 5 if src.endswith("r") else 4)
            boxes = rng.uniform(1, 10, (3, k))
            if src == "xyxyxyxy":   # a real rotated rectangle
                boxes = npy(ops.box_convert(E(rng.uniform(1, 10, (3, 5))), "xywhr", src))
            for arr in (boxes, boxes.astype(np.float32), (boxes * 10).astype(np.int64)):
                t = tvops.box_convert(T(arr), src, dst)
                e = ops.box_convert(E(arr), src, dst)
                assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1], (src, dst)
                close(e, t, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="Unsupported Bounding Box Conversions"):
        ops.box_convert(E(np.zeros((1, 4))), "xyxy", "yxyx")
    with pytest.raises(NotImplementedError):
        ops.box_convert(E(np.zeros((1, 4))), "xyxy", "xywhr")


def test_box_convert_gradient(tvops):
    a = np.random.default_rng(17).uniform(1, 10, (4, 4))
    at, ae = T(a, True), E(a, requires_grad=True)
    (tvops.box_convert(at, "cxcywh", "xywh") ** 2).sum().backward()
    (ops.box_convert(ae, "cxcywh", "xywh") ** 2).sum().backward()
    close(ae.grad, at.grad)


def test_clip_remove_small_and_masks_to_boxes(tvops):
    rng = np.random.default_rng(18)
    boxes = rng.uniform(-5, 25, (2, 6, 4))
    close(ops.clip_boxes_to_image(E(boxes), (15, 12)),
          tvops.clip_boxes_to_image(T(boxes), (15, 12)))
    flat = boxes[0]
    e = ops.remove_small_boxes(E(flat), 3.0)
    assert npy(e).tolist() == tvops.remove_small_boxes(T(flat), 3.0).tolist()
    masks = rng.random((4, 7, 9)) > 0.8
    masks[1] = False
    masks[2] = False
    masks[2, 3, 4] = True
    t = tvops.masks_to_boxes(T(masks))
    e = ops.masks_to_boxes(E(masks))
    assert e.dtype == ember.float32
    close(e, t, rtol=0, atol=0)
    assert ops.masks_to_boxes(E(np.zeros((0, 3, 3)))).shape == (0, 4)


# ------------------------------------------------------------------ losses vs torchvision


@pytest.mark.parametrize("fn", ["generalized_box_iou_loss", "distance_box_iou_loss",
                                "complete_box_iou_loss"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_box_losses_match_torchvision(tvops, fn, reduction):
    a, b = _box_pairs(np.random.default_rng(19), 6, 6)
    b[1] = a[1] + 30.0    # no overlap
    at, bt, ae, be = T(a, True), T(b, True), E(a, requires_grad=True), E(b, requires_grad=True)
    t = getattr(tvops, fn)(at, bt, reduction=reduction)
    e = getattr(ops, fn)(ae, be, reduction=reduction)
    close(e, t, rtol=1e-10, atol=1e-12)
    t.sum().backward()
    e.sum().backward()
    close(ae.grad, at.grad, rtol=1e-8, atol=1e-10)
    close(be.grad, bt.grad, rtol=1e-8, atol=1e-10)
    empty = getattr(ops, fn)(E(np.zeros((0, 4))), E(np.zeros((0, 4))), reduction=reduction)
    want = getattr(tvops, fn)(T(np.zeros((0, 4))), T(np.zeros((0, 4))), reduction=reduction)
    assert tuple(empty.shape) == tuple(want.shape)
    close(empty, want)
    one = getattr(ops, fn)(E(a[0].astype(np.float16)), E(b[0].astype(np.float16)))
    assert one.dtype == ember.float32
    with pytest.raises(ValueError, match="Invalid Value for arg 'reduction'"):
        getattr(ops, fn)(ae, be, reduction="max")


@pytest.mark.parametrize("alpha,gamma,reduction", [(0.25, 2, "none"), (-1, 1.5, "mean"),
                                                   (0.7, 0, "sum")])
def test_sigmoid_focal_loss_matches_torchvision(tvops, alpha, gamma, reduction):
    rng = np.random.default_rng(20)
    x = rng.standard_normal((4, 5))
    y = (rng.random((4, 5)) > 0.5).astype(np.float64)
    xt, xe = T(x, True), E(x, requires_grad=True)
    t = tvops.sigmoid_focal_loss(xt, T(y), alpha, gamma, reduction)
    e = ops.sigmoid_focal_loss(xe, E(y), alpha, gamma, reduction)
    close(e, t, rtol=1e-10, atol=1e-12)
    t.sum().backward()
    e.sum().backward()
    close(xe.grad, xt.grad, rtol=1e-8, atol=1e-12)
    with pytest.raises(ValueError, match="Invalid alpha value: 2"):
        ops.sigmoid_focal_loss(xe, E(y), alpha=2)


# ------------------------------------------------------------------ FPN, MultiScaleRoIAlign


@pytest.mark.parametrize("extra", [None, "maxpool", "p6p7"])
def test_fpn_matches_torchvision(tvops, extra):
    fpn_mod = sys.modules["torchvision.ops.feature_pyramid_network"]
    from ember.vision.ops import feature_pyramid_network as efpn
    blocks = {None: (None, None), "maxpool": (fpn_mod.LastLevelMaxPool(),
                                              efpn.LastLevelMaxPool()),
              "p6p7": (fpn_mod.LastLevelP6P7(6, 4), efpn.LastLevelP6P7(6, 4))}[extra]
    t = tvops.FeaturePyramidNetwork([3, 5, 6], 4, extra_blocks=blocks[0])
    e = ops.FeaturePyramidNetwork([3, 5, 6], 4, extra_blocks=blocks[1])
    sd = t.state_dict()
    assert list(e.state_dict().keys()) == list(sd.keys())
    e.load_state_dict({k: E(v.numpy()) for k, v in sd.items()})
    rng = np.random.default_rng(21)
    feats = OrderedDict((n, rng.standard_normal((2, c, s, s + 1)).astype(np.float32))
                        for n, c, s in (("c2", 3, 16), ("c3", 5, 8), ("c4", 6, 3)))
    tin = OrderedDict((k, T(v, True)) for k, v in feats.items())
    ein = OrderedDict((k, E(v, requires_grad=True)) for k, v in feats.items())
    tout, eout = t(tin), e(ein)
    assert list(eout.keys()) == list(tout.keys())
    for k in tout:
        close(eout[k], tout[k], rtol=1e-4, atol=1e-5)
    sum(v.sum() for v in tout.values()).backward()
    sum(v.sum() for v in eout.values()).backward()
    for k in feats:
        close(ein[k].grad, tin[k].grad, rtol=1e-4, atol=1e-4)


def test_fpn_loads_legacy_keys_and_checks_extra_blocks():
    fpn = ops.FeaturePyramidNetwork([3, 4], 2)
    sd = fpn.state_dict()
    legacy = {k.replace(".0.", "."): v * 0 + 1 for k, v in sd.items()}
    fpn.load_state_dict(legacy)
    assert float(fpn.inner_blocks[0][0].weight.sum()) == fpn.inner_blocks[0][0].weight.numel()
    with pytest.raises(TypeError, match="extra_blocks should be of type ExtraFPNBlock"):
        ops.FeaturePyramidNetwork([3], 2, extra_blocks=ember.nn.ReLU())
    with pytest.raises(ValueError, match="in_channels=0"):
        ops.FeaturePyramidNetwork([0], 2)


def test_multiscale_roi_align_matches_torchvision(tvops, monkeypatch):
    mod = sys.modules["torchvision.ops.roi_align"]
    # the Python path without torch.compile (it compiles itself on its first call)
    monkeypatch.setattr(mod, "_roi_align", getattr(mod._roi_align, "__wrapped__",
                                                   mod._roi_align))
    rng = np.random.default_rng(22)
    feats = OrderedDict((n, rng.standard_normal((2, 3, s, s)).astype(np.float32))
                        for n, s in (("feat1", 64), ("feat2", 32), ("feat3", 16), ("f4", 8)))
    # sizes from 20 to 500 pixels on 512-pixel images: every level gets some boxes
    boxes = []
    for _ in range(2):
        xy = rng.uniform(0, 200, (12, 2))
        wh = np.exp(rng.uniform(np.log(20), np.log(500), (12, 1))) * [1.0, 0.8]
        b = np.clip(np.concatenate([xy, xy + wh], 1), 0, 511)
        boxes.append(np.concatenate([b, [[4.0, 2.0, 490.0, 470.0]]]).astype(np.float32))
    names = ["feat1", "feat2", "feat3"]       # f4 is not pooled from
    t = tvops.MultiScaleRoIAlign(names, 3, 2)
    e = ops.MultiScaleRoIAlign(names, 3, 2)
    tin = OrderedDict((k, T(v, True)) for k, v in feats.items())
    ein = OrderedDict((k, E(v, requires_grad=True)) for k, v in feats.items())
    tout = t(tin, [T(b) for b in boxes], [(512, 512), (480, 500)])
    eout = e(ein, [E(b) for b in boxes], [(512, 512), (480, 500)])
    assert e.scales == t.scales
    lv_t = t.map_levels([T(b) for b in boxes])
    lv_e = e.map_levels([E(b) for b in boxes])
    assert npy(lv_e).tolist() == lv_t.tolist() and len(set(lv_t.tolist())) == 3
    close(eout, tout, rtol=1e-5, atol=1e-5)
    tout.sum().backward()
    eout.sum().backward()
    for k in names:
        close(ein[k].grad, tin[k].grad, rtol=1e-5, atol=1e-5)
    assert ein["f4"].grad is None
    assert repr(e) == repr(t)


# ------------------------------------------------------------------ deform_conv2d


def torch_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask):
    """Deformable convolution in plain torch, another route than ember's: each kernel tap
    samples the input with F.grid_sample (zeros padding, align_corners=True)."""
    import torch.nn.functional as F
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    ho, wo = offset.shape[2:]
    g = offset.shape[1] // (2 * kh * kw)
    off = offset.reshape(n, g, kh * kw, 2, ho, wo)
    cols = []
    for k in range(kh * kw):
        i, j = divmod(k, kw)
        base_y = (torch.arange(ho, dtype=x.dtype) * stride[0] - padding[0] + i * dilation[0])
        base_x = (torch.arange(wo, dtype=x.dtype) * stride[1] - padding[1] + j * dilation[1])
        y = off[:, :, k, 0] + base_y[:, None]          # (N, G, Ho, Wo)
        xx = off[:, :, k, 1] + base_x[None, :]
        grid = torch.stack([xx / (w - 1) * 2 - 1, y / (h - 1) * 2 - 1], -1)
        sampled = F.grid_sample(x.reshape(n * g, c // g, h, w), grid.reshape(n * g, ho, wo, 2),
                                mode="bilinear", padding_mode="zeros", align_corners=True)
        sampled = sampled.reshape(n, g, c // g, ho, wo)
        if mask is not None:
            sampled = sampled * mask.reshape(n, g, kh * kw, ho, wo)[:, :, k, None]
        cols.append(sampled.reshape(n, c, ho, wo))
    cols = torch.stack(cols, 2)                         # (N, C, K, Ho, Wo)
    groups = c // cg
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    out = weight.reshape(groups, o // groups, cg * kh * kw) @ cols
    out = out.reshape(n, o, ho, wo)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("groups,offset_groups,use_mask,stride,padding,dilation", [
    (1, 1, False, (1, 1), (0, 0), (1, 1)),
    (2, 2, True, (2, 1), (1, 2), (1, 2)),
    (1, 2, True, (1, 1), (1, 1), (2, 1)),
])
def test_deform_conv2d_matches_torch_reference(groups, offset_groups, use_mask, stride,
                                               padding, dilation):
    rng = np.random.default_rng(23)
    n, c, h, w, o, kh, kw = 2, 4, 6, 7, 4, 3, 2
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    arrays = {"x": rng.standard_normal((n, c, h, w)),
              "offset": rng.uniform(-2.5, 2.5, (n, 2 * offset_groups * kh * kw, ho, wo)),
              "weight": rng.standard_normal((o, c // groups, kh, kw)),
              "bias": rng.standard_normal(o),
              "mask": rng.random((n, offset_groups * kh * kw, ho, wo)) if use_mask else None}
    tt = {k: (T(v, True) if v is not None else None) for k, v in arrays.items()}
    ee = {k: (E(v, requires_grad=True) if v is not None else None) for k, v in arrays.items()}
    t = torch_deform_conv2d(tt["x"], tt["offset"], tt["weight"], tt["bias"], stride, padding,
                            dilation, tt["mask"])
    e = ops.deform_conv2d(ee["x"], ee["offset"], ee["weight"], ee["bias"], stride, padding,
                          dilation, ee["mask"])
    close(e, t, rtol=1e-9, atol=1e-10)
    g = rng.standard_normal(t.shape)
    t.backward(T(g))
    e.backward(E(g))
    for k in arrays:
        if arrays[k] is not None:
            close(ee[k].grad, tt[k].grad, rtol=1e-7, atol=1e-8)


def test_deform_conv2d_module_and_errors():
    ember.manual_seed(0)
    torch.manual_seed(0)
    m = ops.DeformConv2d(4, 6, 3, padding=1, groups=2)
    tw = torch.empty(6, 2, 3, 3)
    torch.nn.init.kaiming_uniform_(tw, a=math.sqrt(5))
    close(m.weight, tw)
    assert repr(m) == "DeformConv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), " \
                      "padding=(1, 1), groups=2)"
    x = ember.randn(1, 4, 5, 5)
    zero = ember.zeros(1, 18, 5, 5)
    close(m(x, zero), npy(ember.nn.functional.conv2d(x, m.weight, m.bias, padding=1,
                                                      groups=2)), rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError, match="offset tensor at dimension 1 is not valid"):
        m(x, ember.zeros(1, 4, 5, 5))
    with pytest.raises(RuntimeError, match="computed output dims"):
        m(x, ember.zeros(1, 18, 4, 5))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        ops.DeformConv2d(3, 4, 3, groups=2)


# ------------------------------------------------------------------ drop layers


def test_stochastic_depth_and_drop_block_follow_torch_rng(tvops):
    rng = np.random.default_rng(24)
    x2 = rng.standard_normal((3, 2, 9, 8)).astype(np.float32)
    x3 = rng.standard_normal((2, 2, 5, 6, 7)).astype(np.float32)
    cases = [(lambda o, x: o.stochastic_depth(x, 0.4, "row"), x2),
             (lambda o, x: o.stochastic_depth(x, 0.6, "batch"), x2),
             (lambda o, x: o.drop_block2d(x, 0.3, 3), x2),
             (lambda o, x: o.drop_block3d(x, 0.3, 3), x3),
             (lambda o, x: o.DropBlock2d(0.5, 5)(x), x2)]
    for fn, x in cases:
        for seed in range(3):
            torch.manual_seed(seed)
            ember.manual_seed(seed)
            close(fn(ops, E(x)), fn(tvops, T(x)), rtol=1e-5, atol=1e-6)
    block = ops.DropBlock2d(0.5, 3).eval()
    assert block(E(x2)) is not None and np.array_equal(npy(block(E(x2))), x2)
    assert repr(ops.DropBlock3d(0.1, 3)) == repr(tvops.DropBlock3d(0.1, 3))
    with pytest.raises(ValueError, match="block size should be odd"):
        ops.drop_block2d(E(x2), 0.3, 4)
    with pytest.raises(ValueError, match="input should be 4 dimensional"):
        ops.drop_block2d(E(x3), 0.3, 3)


def test_namespace_matches_torchvision(tvops):
    assert sorted(ops.__all__) == sorted(tvops.__all__)
    for name in tvops.__all__:
        assert hasattr(ops, name), name


def test_roi_ops_without_boxes(device):
    x = E(_input(), device, requires_grad=True)
    none = E(np.zeros((0, 5)), device)
    outs = [ops.roi_align(x, none, 2), ops.roi_pool(x, none, 2), ops.ps_roi_align(x, none, 2),
            ops.ps_roi_pool(x, none, 2)]
    assert [tuple(o.shape) for o in outs] == [(0, 8, 2, 2), (0, 8, 2, 2), (0, 2, 2, 2),
                                              (0, 2, 2, 2)]
    sum(o.sum() for o in outs).backward()
    assert float(x.grad.abs().sum()) == 0.0
    pooler = ops.MultiScaleRoIAlign(["a", "b"], 2, 2)
    feats = OrderedDict(a=E(_input(1, (1, 3, 8, 8)), device), b=E(_input(2, (1, 3, 4, 4)), device))
    out = pooler(feats, [E(np.zeros((0, 4)), device)], [(32, 32)])
    assert tuple(out.shape) == (0, 3, 2, 2)


def test_roi_align_dtype_mismatch_raises_like_the_kernel():
    with pytest.raises(RuntimeError, match="input should have the same type as rois"):
        ops.roi_align(E(_input().astype(np.float32)), E(ROIS), 2)


def test_split_normalization_params(tvops):
    from ember.vision.ops._utils import split_normalization_params
    tv_utils = sys.modules["torchvision.ops._utils"]
    layers = lambda nn: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4),  # noqa: E731
                                      nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)),
                                      nn.GroupNorm(2, 4))
    norm_e, other_e = split_normalization_params(layers(ember.nn))
    norm_t, other_t = tv_utils.split_normalization_params(layers(torch.nn))
    assert [tuple(p.shape) for p in norm_e] == [tuple(p.shape) for p in norm_t]
    assert [tuple(p.shape) for p in other_e] == [tuple(p.shape) for p in other_t]
    with pytest.raises(ValueError, match="is not a subclass of nn.Module"):
        split_normalization_params(layers(ember.nn), [int])
