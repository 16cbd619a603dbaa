"""vision.transforms.v2, vision.tv_tensors and vision.utils' drawing on CUDA: the same
transform from the same seed on a sample (image, boxes, masks, labels) built on the CPU
and on 'cuda' gives the same outputs (types, box metadata, values), every tensor of the
CUDA sample staying on the GPU; drawing follows torchvision (draw_bounding_boxes and
draw_keypoints go through Pillow and return CPU images, draw_segmentation_masks stays on
the device). The CPU runs are compared with torchvision in test_transforms_v2.py and
test_draw.py. Skips without a GPU; EMBER_FAKE_CUDA=1 runs it on tests/fakecupy.py."""
import types
import warnings

import numpy as np
import pytest

import ember
from ember.vision import tv_tensors as TV
from ember.vision.transforms import v2

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device")

RNG = np.random.default_rng(0)
IMG_U8 = RNG.integers(0, 256, (3, 24, 32), dtype=np.uint8)
IMG_F32 = RNG.random((3, 24, 32), dtype=np.float32)
BOXES = np.array([[2, 3, 14, 20], [10, 4, 30, 22], [0, 0, 5, 5]], dtype=np.float32)
MASKS = (RNG.random((3, 24, 32)) > 0.5).astype(np.uint8)


def _sample(dev, img=IMG_U8, fmt="XYXY"):
    """(image, target) as the detection tutorials build it, on `dev` (the boxes made on the
    CPU and moved with .to, the rest built there)."""
    boxes = TV.BoundingBoxes(ember.tensor(BOXES), format=fmt, canvas_size=img.shape[-2:])
    return (TV.Image(ember.tensor(img), device=dev),
            {"boxes": boxes.to(dev), "masks": TV.Mask(ember.tensor(MASKS), device=dev),
             "labels": ember.tensor([1, 2, 3], device=dev), "image_id": 7})


def _host(t):
    return t.detach().cpu().numpy()


def _compare(cpu, cuda, atol):
    """The CUDA output equals the CPU one: structure, types, metadata, values; every
    tensor on the GPU."""
    if isinstance(cpu, dict):
        assert isinstance(cuda, dict) and list(cpu) == list(cuda)
        for k in cpu:
            _compare(cpu[k], cuda[k], atol)
        return
    if isinstance(cpu, (tuple, list)):
        assert type(cpu) is type(cuda) and len(cpu) == len(cuda)
        for a, b in zip(cpu, cuda):
            _compare(a, b, atol)
        return
    if isinstance(cpu, ember.Tensor):
        assert type(cpu) is type(cuda), (type(cpu), type(cuda))
        assert cuda.device.type == "cuda", (type(cuda), cuda.device)
        assert cpu.dtype == cuda.dtype and tuple(cpu.shape) == tuple(cuda.shape)
        if isinstance(cpu, TV.BoundingBoxes):
            assert cpu.format == cuda.format
            assert tuple(cpu.canvas_size) == tuple(cuda.canvas_size)
        if isinstance(cpu, TV.Mask) and atol >= 1:
            # a nearest-sampled mask pixel whose source lands on a pixel edge may go either
            # way with the GPU's float arithmetic: at most 2% of the pixels may differ
            assert (_host(cuda) != _host(cpu)).mean() <= 0.02
            return
        tol = max(atol, 1e-5) if cpu.is_floating_point() else \
            atol if cpu.dtype == ember.uint8 and not isinstance(cpu, TV.Mask) else 0
        np.testing.assert_allclose(_host(cuda).astype(np.float64),
                                   _host(cpu).astype(np.float64), atol=tol, rtol=0)
        return
    assert cpu == cuda


def _both(build, sample=_sample, seed=0, atol=0.0, calls=2):
    """build()(sample(dev)) on the CPU and on CUDA from the same seed, `calls` times."""
    outs = []
    for dev in ("cpu", "cuda"):
        ember.manual_seed(seed)
        transform = build()
        outs.append([transform(sample(dev)) for _ in range(calls)])
    _compare(outs[0], outs[1], atol)


GEOMETRIC = {
    "hflip": lambda: v2.RandomHorizontalFlip(p=1.0),
    "vflip_p": lambda: v2.RandomVerticalFlip(),
    "resize": lambda: v2.Resize((20, 12)),
    "resize_nearest": lambda: v2.Resize((13, 17), interpolation=v2.InterpolationMode.NEAREST),
    "center_crop_big": lambda: v2.CenterCrop((30, 36)),
    "random_crop_pad": lambda: v2.RandomCrop(20, padding=3),
    "rrc": lambda: v2.RandomResizedCrop((12, 18), scale=(0.3, 0.9), antialias=True),
    "pad": lambda: v2.Pad([1, 2, 3, 4], fill=5),
    "zoom_out": lambda: v2.RandomZoomOut(fill={TV.Image: 7, TV.Mask: 0}, p=1.0,
                                         side_range=(1.0, 2.0)),
    "rotation_expand": lambda: v2.RandomRotation((10, 40), expand=True),
    "affine": lambda: v2.RandomAffine(20, translate=(0.1, 0.2), scale=(0.8, 1.2),
                                      shear=(-5, 5, -3, 3)),
    "perspective": lambda: v2.RandomPerspective(0.4, p=1.0),
    "shortest": lambda: v2.RandomShortestSize([12, 16, 20], max_size=40),
    "iou_crop": lambda: v2.RandomIoUCrop(),
    "elastic": lambda: v2.ElasticTransform(alpha=20.0, sigma=3.0),
}


@pytest.mark.parametrize("name", list(GEOMETRIC))
def test_geometric_transforms_on_cuda(name):
    # (uint8 images: a bilinear sample may round the other way with the GPU's arithmetic)
    _both(GEOMETRIC[name], atol=1.0)


COLOUR = {
    "color_jitter": lambda: v2.ColorJitter(0.4, 0.4, 0.4, 0.1),
    "photometric": lambda: v2.RandomPhotometricDistort(p=1.0),
    "grayscale": lambda: v2.Grayscale(3),
    "blur": lambda: v2.GaussianBlur(5, sigma=(0.5, 2.0)),
    "equalize": lambda: v2.RandomEqualize(p=1.0),
    "invert": lambda: v2.RandomInvert(p=1.0),
    "posterize": lambda: v2.RandomPosterize(3, p=1.0),
    "solarize": lambda: v2.RandomSolarize(0.4, p=1.0),
    "autocontrast": lambda: v2.RandomAutocontrast(p=1.0),
    "sharpness": lambda: v2.RandomAdjustSharpness(2.0, p=1.0),
    "channel_perm": lambda: v2.RandomChannelPermutation(),
    "erasing_random": lambda: v2.RandomErasing(p=1.0, value="random"),
}


# (posterize takes uint8 images only)
@pytest.mark.parametrize("img,name", [("u8", n) for n in COLOUR] +
                         [("f32", n) for n in COLOUR if n != "posterize"])
def test_colour_transforms_on_cuda(name, img):
    arr = IMG_U8 if img == "u8" else IMG_F32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # RandomErasing's pass-through warning for masks
        _both(COLOUR[name], sample=lambda dev: _sample(dev, img=arr),
              atol=1.0 if img == "u8" else 2e-5)


def test_to_dtype_normalize_formats_and_sanitize_on_cuda():
    def build():
        return v2.Compose([
            v2.RandomIoUCrop(), v2.SanitizeBoundingBoxes(),
            v2.ToDtype({TV.Image: ember.float32, TV.Mask: ember.int64, "others": None},
                       scale=True),
            v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
            v2.ConvertBoundingBoxFormat("CXCYWH"), v2.ClampBoundingBoxes(),
            v2.ToPureTensor()])
    _both(build, atol=1e-5, calls=3)
    _both(lambda: v2.ToDtype(ember.float64), atol=0)


def test_mixup_cutmix_on_a_cuda_batch():
    def sample(dev):
        imgs = ember.tensor(np.stack([IMG_F32, IMG_F32[:, ::-1].copy()] * 2), device=dev)
        return imgs, ember.tensor([0, 2, 1, 2], device=dev)
    _both(lambda: v2.RandomChoice([v2.MixUp(num_classes=3), v2.CutMix(num_classes=3)]),
          sample=sample, calls=4)


def test_functionals_on_plain_cuda_tensors():
    import ember.vision.transforms.v2.functional as F2
    x = ember.tensor(IMG_F32)
    for f in (lambda t: F2.resize(t, [12, 16], antialias=True),
              lambda t: F2.rotate(t, 30.0),
              lambda t: F2.adjust_hue(t, 0.2),
              lambda t: F2.gaussian_blur(t, [3, 3], [1.0, 1.0]),
              lambda t: F2.to_dtype(t, ember.uint8, scale=True),
              lambda t: F2.normalize(t, [0.5] * 3, [0.25] * 3)):
        _compare(f(x), f(x.cuda()), 1e-5)


# ---------------------------------------------------------------- drawing

IMG_DRAW = np.random.default_rng(2).integers(0, 256, (3, 40, 50), dtype=np.uint8)


def _img_u8(dev):
    return ember.tensor(IMG_DRAW, device=dev)


def test_draw_bounding_boxes_on_cuda_image_returns_cpu_like_torchvision():
    from ember.vision.utils import draw_bounding_boxes
    boxes = ember.tensor([[2, 3, 20, 25], [10, 5, 45, 30]], dtype=ember.float32)
    want = draw_bounding_boxes(_img_u8("cpu"), boxes, labels=["a", "b"], fill=True, width=2)
    got = draw_bounding_boxes(_img_u8("cuda"), boxes.cuda(), labels=["a", "b"], fill=True,
                              width=2)
    # torchvision draws with Pillow: the image goes to the host and comes back on the CPU
    assert got.device.type == "cpu" and got.dtype == ember.uint8
    np.testing.assert_array_equal(_host(got), _host(want))
    f_want = draw_bounding_boxes(_img_u8("cpu").float() / 255, boxes)
    f_got = draw_bounding_boxes(_img_u8("cuda").float() / 255, boxes.cuda())
    assert f_got.device.type == "cpu" and f_got.dtype == ember.float32
    np.testing.assert_array_equal(_host(f_got), _host(f_want))


def test_draw_segmentation_masks_stays_on_cuda():
    from ember.vision.utils import draw_segmentation_masks
    masks = ember.tensor(np.random.default_rng(1).random((2, 40, 50)) > 0.6)
    want = draw_segmentation_masks(_img_u8("cpu"), masks, alpha=0.4, colors=["red", "blue"])
    got = draw_segmentation_masks(_img_u8("cuda"), masks.cuda(), alpha=0.4,
                                  colors=["red", "blue"])
    _compare(want, got, 0)


def test_draw_keypoints_on_cuda_image_returns_cpu_like_torchvision():
    from ember.vision.utils import draw_keypoints
    kpts = ember.tensor([[[5, 5], [20, 10], [30, 30]]], dtype=ember.float32)
    want = draw_keypoints(_img_u8("cpu"), kpts, connectivity=[(0, 1), (1, 2)], colors="red")
    got = draw_keypoints(_img_u8("cuda"), kpts.cuda(), connectivity=[(0, 1), (1, 2)],
                         colors="red")
    assert got.device.type == "cpu"
    np.testing.assert_array_equal(_host(got), _host(want))


def test_make_grid_stays_on_cuda():
    """(make_grid built its grid on the default device; torchvision's keeps the batch's)"""
    from ember.vision.utils import make_grid
    batch = ember.tensor(np.stack([IMG_F32] * 3))
    _compare(make_grid(batch, nrow=2, padding=1, normalize=True),
             make_grid(batch.cuda(), nrow=2, padding=1, normalize=True), 1e-6)


# ---------------------------------------------------------------- the CPU suite's tables

def _tables():
    """test_transforms_v2.py's transform tables (they take a namespace of torch/v2/tv_tensors:
    given ember's here); importing that module needs torch and torchvision."""
    pytest.importorskip("torch")
    from tests.vision import test_transforms_v2 as T
    return T, types.SimpleNamespace(torch=ember, v2=v2, tvt=TV)


@pytest.mark.parametrize("img", ["u8", "f32"])
def test_auto_augment_family_on_cuda(img):
    T, L = _tables()
    arr = IMG_U8 if img == "u8" else IMG_F32
    for name, build in T.AUTO.items():
        _both(lambda: build(L), sample=lambda dev: (TV.Image(ember.tensor(arr), device=dev),
                                                    ember.tensor(3, device=dev)),
              atol=1.0 if img == "u8" else 1e-4, calls=3)


def test_geometric_transforms_move_keypoints_on_cuda():
    T, L = _tables()

    def sample(dev):
        img, target = _sample(dev)
        target["keypoints"] = TV.KeyPoints(ember.tensor(T.KEYPOINTS), canvas_size=(24, 32),
                                           device=dev)
        return img, target
    for name in ("hflip", "resize_hw", "random_crop_padding", "rotation_expand", "affine",
                 "perspective", "elastic"):
        _both(lambda: T.GEOMETRIC[name](L), sample=sample, atol=1.0)


def test_functionals_table_on_cuda():
    T, L = _tables()
    F = types.SimpleNamespace(**{n: getattr(v2.functional, n)
                                 for n in dir(v2.functional) if not n.startswith("_")})
    F._dtype_for_test = lambda n: getattr(ember, n)
    for name, (call, kind) in T.FUNCTIONALS.items():
        arr = T.SMALL_U8 if kind == "u8" else T.SMALL_F32
        _compare(call(F, ember.tensor(arr)), call(F, ember.tensor(arr, device="cuda")),
                 atol=1.0 if kind == "u8" else 1e-5)


@pytest.mark.parametrize("mode,antialias", [("bilinear", True), ("bilinear", False),
                                            ("bicubic", True), ("bicubic", False)])
def test_uint8_resize_kernel_on_cuda(mode, antialias):
    rng = np.random.default_rng(3)
    for (h, w), size in [((10, 13), (32, 32)), ((48, 48), (16, 16)), ((7, 9), (7, 20))]:
        x = ember.tensor(rng.integers(0, 256, (2, 3, h, w), dtype=np.uint8))
        kw = dict(interpolation=v2.InterpolationMode(mode), antialias=antialias)
        _compare(v2.functional.resize(x, list(size), **kw),
                 v2.functional.resize(x.cuda(), list(size), **kw), atol=1.0)


def test_gaussian_noise_and_rotated_boxes_on_cuda():
    T, L = _tables()
    for arr in (T.SMALL_F32, T.SMALL_U8):
        outs = []
        for dev in ("cpu", "cuda"):
            ember.manual_seed(0)
            outs.append(v2.functional.gaussian_noise(ember.tensor(arr, device=dev)))
        _compare(outs[0], outs[1], atol=1e-6)
    boxes = {dev: TV.BoundingBoxes(ember.tensor(T.ROTATED), format="CXCYWHR",
                                   canvas_size=(24, 32), device=dev) for dev in ("cpu", "cuda")}
    for f in (lambda b: v2.functional.convert_bounding_box_format(b, new_format="XYXYXYXY"),
              lambda b: v2.functional.horizontal_flip(b),
              lambda b: v2.functional.vertical_flip(b)):
        _compare(f(boxes["cpu"]), f(boxes["cuda"]), atol=1e-5)
