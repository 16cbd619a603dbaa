"""Rotated bounding boxes (XYWHR, CXCYWHR, XYXYXYXY) in transforms.v2 against torchvision
0.28, live: clamping (soft, hard, none), the geometric kernels (resize, crops, pad,
affine/rotate, perspective, elastic) and the random transforms on whole samples from the
same seed: same values, formats, canvas sizes, dtypes, exception types."""
import numpy as np
import pytest

from tests.vision._tv import tv

torch = pytest.importorskip("torch")
torchvision = tv()
from torchvision import tv_tensors as TTV  # noqa: E402
from torchvision.transforms import v2 as TV2  # noqa: E402

import ember  # noqa: E402
from ember.vision import tv_tensors as ETV  # noqa: E402
from ember.vision.transforms import v2 as EV2  # noqa: E402

FORMATS = ["XYWHR", "CXCYWHR", "XYXYXYXY"]
MODES = ["soft", "hard", None]
CANVAS = (24, 32)


def _random_xywhr(n=60, seed=0):
    """Boxes of every angle, many of them partly or wholly off the 24x32 canvas."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-6, 36, n), rng.uniform(-6, 28, n), rng.uniform(1, 16, n),
                     rng.uniform(1, 16, n), rng.uniform(-180, 180, n)], 1)


XYWHR = _random_xywhr()


def _boxes(lib_torch, tvt, fmt, dtype, mode, array=XYWHR):
    """BoundingBoxes in `fmt` converted by torchvision from the same XYWHR array (so both
    sides start from identical numbers)."""
    plain = TV2.functional.convert_bounding_box_format(
        torch.tensor(array.astype(dtype)), old_format="XYWHR", new_format=fmt)
    data = plain if lib_torch is torch else ember.from_numpy(plain.numpy().copy())
    return tvt.BoundingBoxes(data, format=fmt, canvas_size=CANVAS, clamping_mode=mode)


def _tol(dtype):
    # float32: corners near a canvas edge and angles of nearly axis-aligned boxes carry
    # the rounding of a few float32 operations
    return dict(rtol=1e-4, atol=1e-2) if dtype == np.float32 else dict(rtol=1e-7, atol=1e-7)


def _assert_same_boxes(t, e, dtype, tol=None):
    assert type(e).__name__ == type(t).__name__ == "BoundingBoxes"
    assert e.format.name == t.format.name
    assert tuple(e.canvas_size) == tuple(t.canvas_size)
    assert e.clamping_mode == t.clamping_mode
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.numpy(), t.numpy(), equal_nan=True, **(tol or _tol(dtype)))


# ---------------------------------------------------------------- clamping

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", ["soft", "hard"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clamp_plain_tensor(fmt, mode, dtype):
    t_boxes = _boxes(torch, TTV, fmt, dtype, mode).as_subclass(torch.Tensor)
    e_boxes = ember.from_numpy(t_boxes.numpy().copy())
    t = TV2.functional.clamp_bounding_boxes(t_boxes, format=fmt, canvas_size=CANVAS,
                                            clamping_mode=mode)
    e = EV2.functional.clamp_bounding_boxes(e_boxes, format=fmt, canvas_size=CANVAS,
                                            clamping_mode=mode)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(e.numpy(), t.numpy(), **_tol(dtype))
    if mode == "hard" and fmt == "XYXYXYXY":    # every corner inside the canvas
        inside = e.numpy().reshape(-1, 4, 2)
        assert (inside[..., 0] >= -1e-3).all() and (inside[..., 0] <= CANVAS[1] + 1e-3).all()
        assert (inside[..., 1] >= -1e-3).all() and (inside[..., 1] <= CANVAS[0] + 1e-3).all()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_clamp_bounding_boxes_tv_tensor_and_transform(fmt, mode):
    t_boxes = _boxes(torch, TTV, fmt, np.float64, mode)
    e_boxes = _boxes(ember, ETV, fmt, np.float64, mode)
    _assert_same_boxes(TV2.functional.clamp_bounding_boxes(t_boxes),
                       EV2.functional.clamp_bounding_boxes(e_boxes), np.float64)
    for override in ("soft", "hard", None):
        _assert_same_boxes(TV2.ClampBoundingBoxes(override)(t_boxes),
                           EV2.ClampBoundingBoxes(override)(e_boxes), np.float64)


def test_clamp_keeps_boxes_inside_and_the_angle():
    # a box wholly inside is left as it is; the angle of a clamped box does not change
    inside = np.array([[10.0, 10.0, 5.0, 3.0, 20.0]])
    out = EV2.functional.clamp_bounding_boxes(ember.tensor(inside), format="XYWHR",
                                              canvas_size=CANVAS, clamping_mode="soft")
    np.testing.assert_allclose(out.numpy(), inside, atol=1e-9)
    cut = np.array([[-4.0, 10.0, 10.0, 4.0, 30.0]])
    out = EV2.functional.clamp_bounding_boxes(ember.tensor(cut), format="XYWHR",
                                              canvas_size=CANVAS, clamping_mode="hard")
    assert abs(out.numpy()[0, 4] - 30.0) < 1e-6 and out.numpy()[0, 2] < 10.0


def test_clamp_errors_match():
    for F in (TV2.functional, EV2.functional):
        lib = torch if F is TV2.functional else ember
        with pytest.raises(ValueError):
            F.clamp_bounding_boxes(lib.zeros(1, 5), format="XYWHR", canvas_size=CANVAS,
                                   clamping_mode="auto")
        with pytest.raises(ValueError):
            F.clamp_bounding_boxes(lib.zeros(1, 5), format="XYWHR", canvas_size=CANVAS,
                                   clamping_mode="bad")


# ---------------------------------------------------------------- kernels

DISPLACEMENT = np.random.default_rng(1).uniform(-0.1, 0.1, (1, 24, 32, 2)).astype(np.float32)

KERNELS = {
    "resize": lambda F, lib, b: F.resize(b, [12, 20]),
    "resize_short": lambda F, lib, b: F.resize(b, 40),
    "crop": lambda F, lib, b: F.crop(b, 3, -2, 15, 20),
    "center_crop": lambda F, lib, b: F.center_crop(b, [10, 14]),
    "resized_crop": lambda F, lib, b: F.resized_crop(b, 2, 3, 15, 20, [30, 25]),
    "pad": lambda F, lib, b: F.pad(b, [2, 3, 4, 1]),
    "affine": lambda F, lib, b: F.affine(b, angle=30, translate=[2, -3], scale=1.2,
                                         shear=[10, 5]),
    "affine_center": lambda F, lib, b: F.affine(b, angle=-15, translate=[0, 0], scale=0.8,
                                                shear=[0, 0], center=[5, 7]),
    "rotate": lambda F, lib, b: F.rotate(b, 37),
    "rotate_expand": lambda F, lib, b: F.rotate(b, -63, expand=True),
    "perspective": lambda F, lib, b: F.perspective(
        b, [[0, 0], [31, 0], [31, 23], [0, 23]], [[2, 1], [29, 3], [30, 22], [1, 20]]),
    "elastic": lambda F, lib, b: F.elastic(b, lib.from_numpy(DISPLACEMENT.copy())),
}


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_kernels_float64(kernel, fmt, mode):
    call = KERNELS[kernel]
    t = call(TV2.functional, torch, _boxes(torch, TTV, fmt, np.float64, mode))
    e = call(EV2.functional, ember, _boxes(ember, ETV, fmt, np.float64, mode))
    _assert_same_boxes(t, e, np.float64)


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_kernels_float32(kernel, fmt):
    call = KERNELS[kernel]
    for mode in ("soft", None):
        t = call(TV2.functional, torch, _boxes(torch, TTV, fmt, np.float32, mode))
        e = call(EV2.functional, ember, _boxes(ember, ETV, fmt, np.float32, mode))
        _assert_same_boxes(t, e, np.float32)


@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_box_kernels_return_what_torchvision_returns(fmt):
    outs = []
    for F, lib, tvt in ((TV2.functional, torch, TTV), (EV2.functional, ember, ETV)):
        b = _boxes(lib, tvt, fmt, np.float64, "soft").as_subclass(lib.Tensor)
        f = tvt.BoundingBoxFormat[fmt]
        outs.append([F.resize_bounding_boxes(b, CANVAS, [12, 20], format=f,
                                             clamping_mode="hard"),
                     F.crop_bounding_boxes(b, f, 2, 3, 10, 12),
                     F.pad_bounding_boxes(b, f, CANVAS, [1, 2], clamping_mode=None),
                     F.affine_bounding_boxes(b, f, CANVAS, 10, [1, 2], 1.0, [3.0, 0.0]),
                     F.rotate_bounding_boxes(b, f, CANVAS, 20, expand=True),
                     F.perspective_bounding_boxes(b, f, CANVAS, None, None,
                                                  coefficients=[1.1, 0.1, -2, 0.05, 0.9, 1,
                                                                0.001, 0.002])])
    for t, e in zip(*outs):
        t, e = (t, e) if isinstance(t, tuple) else ((t,), (e,))
        np.testing.assert_allclose(e[0].numpy(), t[0].numpy(), rtol=1e-7, atol=1e-7)
        assert tuple(t[1:]) == tuple(tuple(x) for x in e[1:])


def test_empty_rotated_boxes():
    for name, call in KERNELS.items():
        t = call(TV2.functional, torch, _boxes(torch, TTV, "XYWHR", np.float32, "soft",
                                               XYWHR[:0]))
        e = call(EV2.functional, ember, _boxes(ember, ETV, "XYWHR", np.float32, "soft",
                                               XYWHR[:0]))
        assert tuple(e.shape) == tuple(t.shape) == (0, 5), name
        assert tuple(e.canvas_size) == tuple(t.canvas_size), name


# ---------------------------------------------------------------- random transforms

TRANSFORMS = {
    "rotation": lambda L: L.RandomRotation(30),
    "rotation_expand": lambda L: L.RandomRotation((-90, 90), expand=True),
    "affine": lambda L: L.RandomAffine(degrees=20, translate=(0.1, 0.1), scale=(0.8, 1.2),
                                       shear=10),
    "rrc": lambda L: L.RandomResizedCrop(16),
    "random_crop_padding": lambda L: L.RandomCrop(20, padding=3),
    "zoom_out": lambda L: L.RandomZoomOut(p=1.0),
    "perspective": lambda L: L.RandomPerspective(p=1.0),
    "elastic": lambda L: L.ElasticTransform(alpha=20.0),
    "scale_jitter": lambda L: L.ScaleJitter((24, 32)),
    "shortest": lambda L: L.RandomShortestSize([12, 20], max_size=40),
    "pipeline": lambda L: L.Compose([L.RandomRotation(45), L.RandomResizedCrop((20, 24)),
                                     L.RandomHorizontalFlip(), L.ClampBoundingBoxes(),
                                     L.SanitizeBoundingBoxes()]),
}


def _sample(lib, tvt, fmt, mode):
    image = tvt.Image(lib.from_numpy(
        np.random.default_rng(2).random((3, 24, 32), dtype=np.float32)))
    return {"image": image, "boxes": _boxes(lib, tvt, fmt, np.float64, mode),
            "labels": lib.arange(len(XYWHR))}


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_random_transforms_on_samples(name, fmt):
    # (not the pipeline: hard clamping puts corners on the canvas's edges, where
    # SanitizeBoundingBoxes' `corner >= 0` turns on the last bit of the conversion)
    mode = "hard" if fmt == "CXCYWHR" and name != "pipeline" else "soft"
    outs = []
    for lib, v2, tvt in ((torch, TV2, TTV), (ember, EV2, ETV)):
        lib.manual_seed(5)
        transform = TRANSFORMS[name](v2)
        outs.append([transform(_sample(lib, tvt, fmt, mode)) for _ in range(2)])
    for t, e in zip(*outs):
        # the random parameters (angles, displacement fields) are float32 draws
        _assert_same_boxes(t["boxes"], e["boxes"], np.float64, tol=dict(rtol=1e-5, atol=1e-4))
        np.testing.assert_array_equal(e["labels"].numpy(), t["labels"].numpy())
        assert tuple(e["image"].shape) == tuple(t["image"].shape)


def test_iou_crop_with_rotated_boxes_fails_alike():
    errors = []
    for lib, v2, tvt in ((torch, TV2, TTV), (ember, EV2, ETV)):
        lib.manual_seed(0)
        with pytest.raises(Exception) as info:
            v2.RandomIoUCrop()(_sample(lib, tvt, "XYWHR", "soft"))
        errors.append(type(info.value))
    assert errors[0] is errors[1]


# ---------------------------------------------------------------- rotated IoU

def _polygon_area(points):
    return 0.5 * abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1)
                         in zip(points, points[1:] + points[:1])))


def _clip(subject, clipper):
    """Sutherland-Hodgman: the part of polygon `subject` inside convex `clipper` (both
    counter-clockwise lists of points)."""
    def side(p, a, b):
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])

    out = subject
    for a, b in zip(clipper, clipper[1:] + clipper[:1]):
        points, out = out, []
        for p, q in zip(points, points[1:] + points[:1]):
            sp, sq = side(p, a, b), side(q, a, b)
            if sp >= 0:
                out.append(p)
            if (sp >= 0) != (sq >= 0):
                t = sp / (sp - sq)
                out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
        if not out:
            return []
    return out


def _reference_iou(b1, b2):
    """IoU of two cxcywhr boxes by polygon clipping in plain Python."""
    def corners(b):
        cx, cy, w, h, r = b
        c, s = np.cos(np.deg2rad(r)), np.sin(np.deg2rad(r))
        pts = [(cx + u * w / 2 * c + v * h / 2 * s, cy - u * w / 2 * s + v * h / 2 * c)
               for u, v in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        return pts if _polygon_area_signed(pts) > 0 else pts[::-1]
    p, q = corners(b1), corners(b2)
    inter = _polygon_area(_clip(p, q)) if _clip(p, q) else 0.0
    return inter / (b1[2] * b1[3] + b2[2] * b2[3] - inter)


def _polygon_area_signed(points):
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1)
                     in zip(points, points[1:] + points[:1]))


def test_rotated_box_iou_against_polygon_clipping():
    from ember.vision import ops
    rng = np.random.default_rng(3)
    b1 = np.stack([rng.uniform(0, 12, 15), rng.uniform(0, 12, 15), rng.uniform(1, 8, 15),
                   rng.uniform(1, 8, 15), rng.uniform(-180, 180, 15)], 1)
    b2 = np.concatenate([b1[:3], b1[3:6] + [0.5, -0.3, 0, 0, 17], np.stack(
        [rng.uniform(0, 12, 10), rng.uniform(0, 12, 10), rng.uniform(1, 8, 10),
         rng.uniform(1, 8, 10), rng.uniform(-180, 180, 10)], 1)])
    out = ops.box_iou(ember.tensor(b1), ember.tensor(b2), fmt="cxcywhr")
    assert out.dtype == ember.float64 and tuple(out.shape) == (15, 16)
    expect = np.array([[_reference_iou(x, y) for y in b2] for x in b1])
    assert (expect > 0.05).sum() > 20                      # many pairs really overlap
    np.testing.assert_allclose(out.numpy(), expect, atol=1e-7)
    np.testing.assert_allclose(np.diag(out.numpy()[:3, :3]), 1.0, atol=1e-9)
    # the other rotated formats: converted by torchvision, the same IoU
    tops = torchvision.ops
    for fmt in ("xywhr", "xyxyxyxy"):
        c1 = tops.box_convert(torch.tensor(b1), "cxcywhr", fmt).numpy()
        c2 = tops.box_convert(torch.tensor(b2), "cxcywhr", fmt).numpy()
        np.testing.assert_allclose(
            ops.box_iou(ember.tensor(c1), ember.tensor(c2), fmt=fmt).numpy(), expect,
            atol=1e-6)
    # float32 in, float32 out
    out32 = ops.box_iou(ember.tensor(b1, dtype=ember.float32),
                        ember.tensor(b2, dtype=ember.float32), fmt="cxcywhr")
    assert out32.dtype == ember.float32
    np.testing.assert_allclose(out32.numpy(), expect, atol=1e-5)


def test_rotated_box_iou_special_cases():
    from ember.vision import ops
    axis = np.array([[5.0, 5.0, 4.0, 2.0], [6.0, 5.5, 3.0, 3.0], [20.0, 20.0, 1.0, 1.0]])
    with_angle = np.concatenate([axis, np.zeros((3, 1))], 1)
    np.testing.assert_allclose(
        ops.box_iou(ember.tensor(with_angle), ember.tensor(with_angle), fmt="cxcywhr").numpy(),
        torchvision.ops.box_iou(torch.tensor(axis), torch.tensor(axis), fmt="cxcywh").numpy(),
        atol=1e-9)
    square = ember.tensor([[0.0, 0.0, 2.0, 2.0, 0.0]], dtype=ember.float64)
    diamond = ember.tensor([[0.0, 0.0, 2.0, 2.0, 45.0]], dtype=ember.float64)
    octagon = 8 * (2 ** 0.5 - 1)                            # their overlap's area
    np.testing.assert_allclose(ops.box_iou(square, diamond, fmt="cxcywhr").numpy(),
                               [[octagon / (8 - octagon)]], atol=1e-9)
    flat = ember.tensor([[0.0, 0.0, 2.0, 0.0, 10.0]], dtype=ember.float64)
    assert ops.box_iou(flat, square, fmt="cxcywhr").item() == 0.0
    assert tuple(ops.box_iou(ember.zeros(0, 5), square, fmt="cxcywhr").shape) == (0, 1)
    batched = ops.box_iou(ember.cat([square, diamond]).expand(2, 2, 5), square,
                          fmt="cxcywhr")
    assert tuple(batched.shape) == (2, 2, 1)
    with pytest.raises(RuntimeError, match="shape"):
        ops.box_iou(ember.zeros(3, 4), square, fmt="cxcywhr")


# ---------------------------------------------------------------- CUDA (the CPU run as oracle)

@pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("fmt", FORMATS)
def test_kernels_on_cuda_match_cpu(fmt):
    from ember.vision import ops
    for mode in ("soft", "hard"):
        cpu = _boxes(ember, ETV, fmt, np.float64, mode)
        cuda = ETV.wrap(cpu.as_subclass(ember.Tensor).cuda(), like=cpu)
        for name, call in KERNELS.items():
            a, b = call(EV2.functional, ember, cpu), call(EV2.functional, ember, cuda)
            assert b.device.type == "cuda", name
            _assert_same_boxes(a, ETV.wrap(b.as_subclass(ember.Tensor).cpu(), like=b),
                               np.float64, tol=dict(rtol=1e-6, atol=1e-6))
    c = ember.tensor(XYWHR[:8])
    np.testing.assert_allclose(ops.box_iou(c.cuda(), c.cuda(), fmt="xywhr").cpu().numpy(),
                               ops.box_iou(c, c, fmt="xywhr").numpy(), atol=1e-9)
