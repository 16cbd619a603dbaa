"""ember.vision.transforms.v2 against torchvision.transforms.v2, live: the same samples
(images, boxes, masks, nested in tuples and dicts), the same seed, the same outputs (values,
output types, box metadata), the same exception types."""
import types
import warnings

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

TORCH = types.SimpleNamespace(torch=torch, v2=TV2, tvt=TTV)
EMBER = types.SimpleNamespace(torch=ember, v2=EV2, tvt=ETV)

RNG = np.random.default_rng(0)
IMG_U8 = RNG.integers(0, 256, (3, 24, 32), dtype=np.uint8)
IMG_F32 = RNG.random((3, 24, 32), dtype=np.float32)
BOXES = np.array([[2, 3, 14, 20], [10, 4, 30, 22], [0, 0, 5, 5]], dtype=np.float32)
MASKS = (RNG.random((3, 24, 32)) > 0.5).astype(np.uint8)


def _sample(lib, img=IMG_U8, fmt="XYXY", box_dtype=None):
    """(image, target) as the detection tutorials build it."""
    t = lib.torch
    boxes = t.tensor(BOXES) if box_dtype is None else t.tensor(BOXES).to(box_dtype(lib))
    return (lib.tvt.Image(t.from_numpy(img.copy())),
            {"boxes": lib.tvt.BoundingBoxes(boxes, format=fmt, canvas_size=img.shape[-2:]),
             "masks": lib.tvt.Mask(t.from_numpy(MASKS.copy())),
             "labels": t.tensor([1, 2, 3]), "image_id": 7})


def _to_np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _compare(a, b, atol):
    """a (torch side) and b (ember side) agree in structure, leaf types and values."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _compare(a[k], b[k], atol)
        return
    if isinstance(a, (tuple, list)):
        assert type(a).__name__ == type(b).__name__ and len(a) == len(b)
        for x, y in zip(a, b):
            _compare(x, y, atol)
        return
    if isinstance(a, torch.Tensor):
        assert type(a).__name__ == type(b).__name__, (type(a), type(b))
        assert str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1]
        assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
        if isinstance(a, TTV.BoundingBoxes):
            assert a.format.name == b.format.name
            assert tuple(a.canvas_size) == tuple(b.canvas_size)
            assert a.clamping_mode == b.clamping_mode
        # float results may differ in the last bit (box corners through a 2x3 matrix)
        tol = max(atol, 1e-5) if a.is_floating_point() else atol if a.dtype == torch.uint8 \
            else 0
        np.testing.assert_allclose(_to_np(b).astype(np.float64), _to_np(a).astype(np.float64),
                                   atol=tol, rtol=0)
        return
    if type(a).__module__.startswith("PIL"):
        assert type(b).__module__.startswith("PIL")
        assert a.size == b.size and a.mode == b.mode
        np.testing.assert_allclose(np.asarray(b, dtype=np.float64),
                                   np.asarray(a, dtype=np.float64), atol=atol)
        return
    assert a == b


def _both(build, sample=_sample, seed=0, atol=0.0, calls=1):
    """Run build(lib)(sample(lib)) on both sides from the same seed (`calls` times, so
    that later draws of the stream are compared too)."""
    outs = []
    for lib in (TORCH, EMBER):
        lib.torch.manual_seed(seed)
        transform = build(lib)
        outs.append([transform(sample(lib)) for _ in range(calls)])
    _compare(outs[0], outs[1], atol)
    return outs


# ---------------------------------------------------------------- geometric, with targets

GEOMETRIC = {
    "hflip": lambda L: L.v2.RandomHorizontalFlip(p=1.0),
    "vflip": lambda L: L.v2.RandomVerticalFlip(p=1.0),
    "hflip_p": lambda L: L.v2.RandomHorizontalFlip(),
    "resize_short": lambda L: L.v2.Resize(16),
    "resize_hw": lambda L: L.v2.Resize((20, 12)),
    "resize_max": lambda L: L.v2.Resize(None, max_size=20),
    "resize_nearest": lambda L: L.v2.Resize((13, 17), interpolation=L.v2.InterpolationMode.NEAREST),
    "center_crop": lambda L: L.v2.CenterCrop(18),
    "center_crop_big": lambda L: L.v2.CenterCrop((30, 36)),
    "random_crop": lambda L: L.v2.RandomCrop((16, 20)),
    "random_crop_pad": lambda L: L.v2.RandomCrop(28, pad_if_needed=True),
    "random_crop_padding": lambda L: L.v2.RandomCrop(20, padding=3),
    "rrc": lambda L: L.v2.RandomResizedCrop(16),
    "rrc_scale": lambda L: L.v2.RandomResizedCrop((12, 18), scale=(0.3, 0.9), antialias=True),
    "pad": lambda L: L.v2.Pad([1, 2, 3, 4], fill=5),
    "pad2": lambda L: L.v2.Pad(3),
    "zoom_out": lambda L: L.v2.RandomZoomOut(fill={L.tvt.Image: 7, L.tvt.Mask: 0}, p=1.0,
                                             side_range=(1.0, 2.0)),
    "rotation": lambda L: L.v2.RandomRotation(30),
    "rotation_expand": lambda L: L.v2.RandomRotation((10, 40), expand=True),
    "affine": lambda L: L.v2.RandomAffine(20, translate=(0.1, 0.2), scale=(0.8, 1.2),
                                          shear=(-5, 5, -3, 3)),
    "perspective": lambda L: L.v2.RandomPerspective(0.4, p=1.0),
    "resize_random": lambda L: L.v2.RandomResize(10, 20),
    "shortest": lambda L: L.v2.RandomShortestSize([12, 16, 20], max_size=40),
    "scale_jitter": lambda L: L.v2.ScaleJitter((20, 30)),
    "iou_crop": lambda L: L.v2.RandomIoUCrop(),
    "elastic": lambda L: L.v2.ElasticTransform(alpha=20.0, sigma=3.0),
    "elastic_nearest": lambda L: L.v2.ElasticTransform(alpha=(10.0, 30.0), sigma=(2.0, 4.0),
                                                       interpolation="nearest", fill=9),
}


@pytest.mark.parametrize("name", list(GEOMETRIC))
def test_geometric_transforms_move_image_boxes_and_masks_together(name):
    # perspective: a nearest-sampled mask pixel whose source lands on a pixel edge may
    # round either way (the grid's float32 arithmetic differs in the last bit)
    _both(GEOMETRIC[name], calls=3, atol=1.0 if name == "perspective" else 0.0)


@pytest.mark.parametrize("fmt", ["XYWH", "CXCYWH"])
@pytest.mark.parametrize("name", ["hflip", "vflip", "resize_hw", "random_crop", "pad", "affine",
                                  "rotation_expand", "perspective"])
def test_box_formats(name, fmt):
    _both(GEOMETRIC[name], sample=lambda L: _sample(L, fmt=fmt), calls=2)


@pytest.mark.parametrize("name", ["hflip", "random_crop", "pad", "rotation", "resize_hw",
                                  "center_crop_big", "zoom_out"])
def test_integer_boxes(name):
    _both(GEOMETRIC[name], sample=lambda L: _sample(L, box_dtype=lambda L: L.torch.int64))


def test_plain_tensor_heuristic_first_tensor_is_the_image():
    # no Image in the sample: the first plain tensor is transformed, the others pass through
    def sample(L):
        t = L.torch
        return (t.from_numpy(IMG_F32.copy()), t.from_numpy(IMG_F32[:1].copy()),
                L.tvt.BoundingBoxes(t.tensor(BOXES), format="XYXY", canvas_size=(24, 32)))
    _both(lambda L: L.v2.RandomHorizontalFlip(1.0), sample=sample, atol=1e-6)
    # with an Image present no plain tensor is transformed
    _both(lambda L: L.v2.RandomHorizontalFlip(1.0),
          sample=lambda L: (L.tvt.Image(L.torch.from_numpy(IMG_F32.copy())),
                            L.torch.from_numpy(IMG_F32.copy())), atol=1e-6)


def test_pil_images_pass_through_the_v2_transforms():
    from PIL import Image
    pil = Image.fromarray(IMG_U8.transpose(1, 2, 0).copy())

    def build(L):
        return L.v2.Compose([L.v2.RandomResizedCrop(16), L.v2.RandomHorizontalFlip(),
                             L.v2.PILToTensor(), L.v2.ToDtype(L.torch.float32, scale=True)])
    _both(build, sample=lambda L: pil, atol=1 / 255 + 1e-6, calls=3)
    _both(lambda L: L.v2.Compose([L.v2.ToImage(), L.v2.ToPILImage()]), sample=lambda L: pil,
          atol=0)


# ---------------------------------------------------------------- colour and the rest

COLOUR = {
    "color_jitter": lambda L: L.v2.ColorJitter(0.4, 0.4, 0.4, 0.1),
    "photometric": lambda L: L.v2.RandomPhotometricDistort(p=1.0),
    "photometric_half": lambda L: L.v2.RandomPhotometricDistort(),
    "grayscale": lambda L: L.v2.Grayscale(3),
    "random_grayscale": lambda L: L.v2.RandomGrayscale(p=0.7),
    "blur": lambda L: L.v2.GaussianBlur(5, sigma=(0.5, 2.0)),
    "equalize": lambda L: L.v2.RandomEqualize(p=1.0),
    "invert": lambda L: L.v2.RandomInvert(p=1.0),
    "posterize": lambda L: L.v2.RandomPosterize(3, p=1.0),
    "solarize": lambda L: L.v2.RandomSolarize(0.4, p=1.0),
    "autocontrast": lambda L: L.v2.RandomAutocontrast(p=1.0),
    "sharpness": lambda L: L.v2.RandomAdjustSharpness(2.0, p=1.0),
    "channel_perm": lambda L: L.v2.RandomChannelPermutation(),
    "erasing": lambda L: L.v2.RandomErasing(p=1.0),
    "erasing_random": lambda L: L.v2.RandomErasing(p=1.0, value="random"),
    "rgb": lambda L: L.v2.RGB(),
}


@pytest.mark.parametrize("name", list(COLOUR))
@pytest.mark.parametrize("img", ["u8", "f32"])
def test_colour_transforms(name, img):
    arr = IMG_U8 if img == "u8" else IMG_F32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # RandomErasing's pass-through warning for masks
        _both(COLOUR[name], sample=lambda L: _sample(L, img=arr),
              atol=1.0 if img == "u8" else 2e-5, calls=2)


def test_to_dtype_normalize_and_pure_tensor():
    def build(L):
        return L.v2.Compose([
            L.v2.ToDtype({L.tvt.Image: L.torch.float32, L.tvt.Mask: L.torch.int64,
                          "others": None}, scale=True),
            L.v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
            L.v2.ConvertBoundingBoxFormat("CXCYWH"), L.v2.ClampBoundingBoxes(),
            L.v2.ToPureTensor()])
    _both(build, atol=1e-5)
    _both(lambda L: L.v2.ToDtype(L.torch.float64), atol=0)


def test_sanitize_bounding_boxes_drops_boxes_with_labels_and_masks():
    def sample(L):
        img, target = _sample(L)
        target["boxes"] = L.tvt.BoundingBoxes(
            L.torch.tensor([[0.0, 0, 10, 10], [5, 5, 5.5, 20], [3, 3, 40, 9]]),
            format="XYXY", canvas_size=(24, 32))
        return img, target
    _both(lambda L: L.v2.SanitizeBoundingBoxes(), sample=sample)
    _both(lambda L: L.v2.Compose([L.v2.RandomIoUCrop(), L.v2.SanitizeBoundingBoxes()]),
          calls=4)


def test_containers_draw_like_torchvision():
    def build(L):
        return L.v2.Compose([
            L.v2.RandomChoice([L.v2.RandomHorizontalFlip(1.0), L.v2.RandomVerticalFlip(1.0),
                               L.v2.Identity()], p=[1, 2, 3]),
            L.v2.RandomApply([L.v2.RandomRotation(15)], p=0.5),
            L.v2.RandomOrder([L.v2.RandomCrop(20), L.v2.Resize(22)]),
            L.v2.Lambda(lambda x: x.flip(-1) if isinstance(x, L.tvt.Mask) else x)])
    _both(build, calls=5)


def test_mixup_cutmix_on_a_batch():
    imgs = RNG.random((4, 3, 8, 8), dtype=np.float32)

    def sample(L):
        return L.torch.from_numpy(imgs.copy()), L.torch.tensor([0, 1, 2, 1])
    _both(lambda L: L.v2.CutMix(num_classes=3), sample=sample, atol=1e-6, calls=2)
    _both(lambda L: L.v2.MixUp(num_classes=3, alpha=0.5), sample=sample, atol=1e-5, calls=2)


# ---------------------------------------------------------------- functionals, errors

def test_functional_dispatch_keeps_types_and_metadata():
    for lib in (TORCH, EMBER):
        lib.res = []
        img, target = _sample(lib)
        F = lib.v2.functional
        lib.res.append(F.resize(img, [12]))
        lib.res.append(F.resize(target["boxes"], [12]))
        lib.res.append(F.crop(target["masks"], 2, 3, 10, 12))
        lib.res.append(F.convert_bounding_box_format(target["boxes"], new_format="XYWH"))
        lib.res.append(F.get_size(target["boxes"]))
        lib.res.append(F.get_dimensions(img))
        lib.res.append(F.sanitize_bounding_boxes(target["boxes"], min_size=6))
        lib.res.append(F.to_image(IMG_U8.transpose(1, 2, 0).copy()))
    _compare(TORCH.res, EMBER.res, atol=1.0)


@pytest.mark.parametrize("make", [
    lambda L: L.v2.Resize([1, 2, 3]),
    lambda L: L.v2.RandomCrop(10, padding=[1, 2, 3]),
    lambda L: L.v2.RandomHorizontalFlip(p=1.5),
    lambda L: L.v2.ColorJitter(brightness=-1),
    lambda L: L.v2.RandomRotation(-5),
    lambda L: L.v2.ToDtype("float"),
    lambda L: L.v2.Compose([]),
    lambda L: L.v2.SanitizeBoundingBoxes(min_size=0.5),
    lambda L: L.v2.RandomZoomOut(side_range=(0.5, 2.0)),
])
def test_bad_arguments_raise_like_torchvision(make):
    errors = []
    for lib in (TORCH, EMBER):
        with pytest.raises(Exception) as info:
            make(lib)
        errors.append(type(info.value))
    assert errors[0] is errors[1]


@pytest.mark.parametrize("call", [
    lambda L: L.v2.RandomCrop(40)(_sample(L)),
    lambda L: L.v2.Normalize([0.5], [0.5])(_sample(L)),                 # uint8 image
    lambda L: L.v2.RandomIoUCrop()(L.tvt.Image(L.torch.zeros(3, 4, 4))),  # no boxes
    lambda L: L.v2.functional.convert_bounding_box_format(L.torch.zeros(1, 4),
                                                          new_format="XYWH"),
    lambda L: L.v2.RandomCrop(4)((L.tvt.Image(L.torch.zeros(3, 4, 4)),
                                  L.tvt.Mask(L.torch.zeros(5, 5)))),
    lambda L: L.v2.functional.horizontal_flip("not an image"),
    lambda L: L.v2.RandomSolarize(300, p=1.0)(_sample(L)),
    lambda L: L.v2.RandomPosterize(9, p=1.0)(_sample(L)),
])
def test_bad_samples_raise_like_torchvision(call):
    errors = []
    for lib in (TORCH, EMBER):
        with pytest.raises(Exception) as info:
            call(lib)
        errors.append(type(info.value))
    assert errors[0] is errors[1], errors


def test_transforms_are_modules_with_torchvision_reprs():
    for build in (lambda L: L.v2.RandomResizedCrop(16),
                  lambda L: L.v2.Compose([L.v2.ToImage(), L.v2.RandomHorizontalFlip()]),
                  lambda L: L.v2.Normalize([0.5], [0.2])):
        assert repr(build(TORCH)) == repr(build(EMBER))
    assert isinstance(EV2.Resize(3), ember.nn.Module)


def test_custom_transform_and_register_kernel():
    class MyTV(ETV.TVTensor):
        pass

    @EV2.functional.register_kernel(EV2.functional.horizontal_flip, MyTV)
    def _flip_mine(inpt):
        return ETV.wrap(inpt.flip(-2), like=inpt)

    x = ember.arange(6.0).reshape(2, 3).as_subclass(MyTV)
    out = EV2.RandomHorizontalFlip(1.0)({"a": x, "img": ETV.Image(ember.zeros(1, 2, 3))})
    assert type(out["a"]) is MyTV
    np.testing.assert_array_equal(out["a"].numpy(), np.arange(6.0).reshape(2, 3)[::-1])
    with pytest.raises(ValueError):
        EV2.functional.register_kernel(EV2.functional.resize, ETV.Image)


AUTO = {
    "auto_imagenet": lambda L: L.v2.AutoAugment(),
    "auto_cifar": lambda L: L.v2.AutoAugment(L.v2.AutoAugmentPolicy.CIFAR10, fill=128),
    "auto_svhn": lambda L: L.v2.AutoAugment(L.v2.AutoAugmentPolicy.SVHN),
    "rand": lambda L: L.v2.RandAugment(num_ops=3),
    "rand_bilinear": lambda L: L.v2.RandAugment(magnitude=5, interpolation="bilinear"),
    "trivial": lambda L: L.v2.TrivialAugmentWide(),
    "augmix": lambda L: L.v2.AugMix(),
    "augmix_partial": lambda L: L.v2.AugMix(severity=5, chain_depth=2, all_ops=False),
}


@pytest.mark.parametrize("name", list(AUTO))
@pytest.mark.parametrize("img", ["u8", "f32"])
def test_auto_augment_family(name, img):
    arr = IMG_U8 if img == "u8" else IMG_F32
    _both(AUTO[name], sample=lambda L: (L.tvt.Image(L.torch.from_numpy(arr.copy())),
                                        L.torch.tensor(3)),
          atol=1.0 if img == "u8" else 1e-4, calls=6)


def test_auto_augment_rejects_boxes_and_pil_round_trip():
    from PIL import Image
    pil = Image.fromarray(IMG_U8.transpose(1, 2, 0).copy())
    for name in AUTO:
        _both(AUTO[name], sample=lambda L: pil, calls=4, atol=1.0)
    errors = []
    for L in (TORCH, EMBER):
        with pytest.raises(Exception) as info:
            L.v2.RandAugment()(_sample(L))
        errors.append(type(info.value))
    assert errors[0] is errors[1] is TypeError


@pytest.mark.parametrize("mode,antialias,atol", [("bilinear", True, 0), ("bilinear", False, 0),
                                                 ("bicubic", True, 0), ("bicubic", False, 1)])
def test_uint8_resize_is_torch_fixed_point_kernel(mode, antialias, atol):
    # torchvision v2 resizes uint8 images with torch's native uint8 kernel (fixed-point
    # weights, a horizontal then a vertical pass rounded to uint8), not through float
    rng = np.random.default_rng(3)
    for (h, w), size in [((10, 13), (32, 32)), ((48, 48), (16, 16)), ((33, 21), (40, 25)),
                         ((64, 5), (5, 64)), ((7, 9), (7, 20))]:
        arr = rng.integers(0, 256, (2, 3, h, w), dtype=np.uint8)
        outs = [L.v2.functional.resize(L.torch.from_numpy(arr.copy()), list(size),
                                       interpolation=L.v2.InterpolationMode(mode),
                                       antialias=antialias).numpy().astype(int)
                for L in (TORCH, EMBER)]
        assert outs[0].shape == outs[1].shape
        assert np.abs(outs[0] - outs[1]).max() <= atol


KEYPOINTS = np.array([[[2.0, 3.0], [14.5, 20.0]], [[31.0, 0.0], [10.0, 12.25]]],
                     dtype=np.float32)


@pytest.mark.parametrize("name", [n for n in GEOMETRIC if n != "hflip_p"])
def test_geometric_transforms_move_keypoints(name):
    def sample(L):
        img, target = _sample(L)
        target["keypoints"] = L.tvt.KeyPoints(L.torch.from_numpy(KEYPOINTS.copy()),
                                              canvas_size=(24, 32))
        return img, target
    _both(GEOMETRIC[name], sample=sample, calls=2, atol=1.0 if name == "perspective" else 0.0)


def test_keypoints_clamp_and_sanitize():
    def sample(L):
        pts = L.torch.tensor([[[2.0, 3.0], [40.0, 5.0]], [[1.0, 1.0], [31.5, 23.0]],
                              [[-1.0, 2.0], [3.0, 4.0]]])
        return {"img": L.tvt.Image(L.torch.from_numpy(IMG_U8.copy())),
                "kp": L.tvt.KeyPoints(pts, canvas_size=(24, 32)),
                "labels": L.torch.tensor([4, 5, 6])}
    _both(lambda L: L.v2.ClampKeyPoints(), sample=sample)
    _both(lambda L: L.v2.SanitizeKeyPoints(labels_getter="default"), sample=sample)
    _both(lambda L: L.v2.Compose([L.v2.RandomAffine(30, translate=(0.3, 0.3)),
                                  L.v2.SanitizeKeyPoints()]), sample=sample, calls=3)


REPR_CASES = {
    "Resize": ((16,), {}), "CenterCrop": ((8,), {}), "RandomCrop": ((8,), {"padding": 2}),
    "RandomResizedCrop": ((8,), {}), "Pad": ((2,), {}), "RandomZoomOut": ((), {}),
    "RandomRotation": ((10,), {}), "RandomAffine": ((10,), {"translate": (0.1, 0.1)}),
    "RandomPerspective": ((), {}), "RandomIoUCrop": ((), {}), "ScaleJitter": (((10, 10),), {}),
    "RandomShortestSize": (([5, 6],), {}), "RandomResize": ((5, 9), {}),
    "FiveCrop": ((4,), {}), "TenCrop": ((4,), {}), "ColorJitter": ((0.1, 0.2, 0.3, 0.1), {}),
    "RandomPhotometricDistort": ((), {}), "Grayscale": ((), {}), "RandomGrayscale": ((), {}),
    "RandomPosterize": ((2,), {}), "RandomSolarize": ((0.5,), {}),
    "RandomAdjustSharpness": ((2,), {}), "GaussianBlur": ((3,), {}), "GaussianNoise": ((), {}),
    "ToPILImage": ((), {}), "SanitizeBoundingBoxes": ((), {}), "ClampBoundingBoxes": ((), {}),
    "ConvertBoundingBoxFormat": (("XYWH",), {}), "RandomErasing": ((), {}),
    "AutoAugment": ((), {}), "RandAugment": ((), {}), "TrivialAugmentWide": ((), {}),
    "AugMix": ((), {}), "SetClampingMode": (("hard",), {}), "MixUp": ((), {"num_classes": 3}),
    "CutMix": ((), {"num_classes": 3}), "UniformTemporalSubsample": ((3,), {}),
}


@pytest.mark.parametrize("name", list(REPR_CASES))
def test_reprs_match_torchvision(name):
    args, kwargs = REPR_CASES[name]
    assert repr(getattr(EV2, name)(*args, **kwargs)) == repr(getattr(TV2, name)(*args, **kwargs))


def test_public_names_match_torchvision():
    import torchvision.transforms.v2.functional as TF
    missing = {n for n in dir(TV2) if not n.startswith("_")} - set(dir(EV2))
    assert not missing
    missing = {n for n in dir(TF) if not n.startswith("_")} - set(dir(EV2.functional))
    assert not missing, sorted(missing)


PIL_CASES = {
    "resize": lambda L: L.v2.Resize(17),
    "center_crop": lambda L: L.v2.CenterCrop(30),
    "random_crop": lambda L: L.v2.RandomCrop(20, padding=2, padding_mode="reflect"),
    "pad": lambda L: L.v2.Pad([1, 2], fill=(10, 20, 30)),
    "rotation": lambda L: L.v2.RandomRotation(25, expand=True, fill=50),
    "affine": lambda L: L.v2.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
    "perspective": lambda L: L.v2.RandomPerspective(p=1.0),
    "jitter": lambda L: L.v2.ColorJitter(0.3, 0.3, 0.3, 0.05),
    "grayscale": lambda L: L.v2.Grayscale(3),
    "blur": lambda L: L.v2.GaussianBlur(3),
    "photometric": lambda L: L.v2.RandomPhotometricDistort(p=1.0),
    "equalize": lambda L: L.v2.RandomEqualize(p=1.0),
    "posterize": lambda L: L.v2.RandomPosterize(3, p=1.0),
    "zoom_out": lambda L: L.v2.RandomZoomOut(p=1.0, side_range=(1.0, 1.5)),
}


@pytest.mark.parametrize("name", list(PIL_CASES))
def test_pil_images(name):
    from PIL import Image
    pil = Image.fromarray(IMG_U8.transpose(1, 2, 0).copy())
    _both(PIL_CASES[name], sample=lambda L: pil, calls=2, atol=1.0)


VIDEO = RNG.integers(0, 256, (2, 3, 22, 26), dtype=np.uint8)


@pytest.mark.parametrize("name", ["hflip", "resize_hw", "rrc", "center_crop", "random_crop",
                                  "pad", "rotation", "affine", "perspective"])
def test_videos(name):
    _both(GEOMETRIC[name], sample=lambda L: L.tvt.Video(L.torch.from_numpy(VIDEO.copy())),
          calls=2, atol=1.0 if name == "perspective" else 0.0)


def test_v1_get_params_are_exposed():
    results = []
    for L in (TORCH, EMBER):
        L.torch.manual_seed(5)
        img = L.torch.from_numpy(IMG_U8.copy())
        results.append([
            L.v2.RandomCrop.get_params(img, (10, 12)),
            L.v2.RandomResizedCrop.get_params(img, [0.1, 0.9], [0.5, 2.0]),
            L.v2.RandomRotation.get_params([-30.0, 30.0]),
            L.v2.RandomAffine.get_params([-10.0, 10.0], [0.1, 0.2], [0.8, 1.2], [-5.0, 5.0],
                                         [32, 24]),
            L.v2.RandomPerspective.get_params(32, 24, 0.5),
            L.v2.GaussianBlur.get_params(0.1, 2.0),
            [float(v) if not hasattr(v, "tolist") else v.tolist() for v in
             L.v2.ColorJitter.get_params((0.5, 1.5), (0.5, 1.5), None, (-0.1, 0.1))
             if v is not None],
            L.v2.RandomErasing.get_params(img.float(), (0.1, 0.3), (0.5, 2.0), [0.0])[:4],
        ])
    assert repr(results[0]) == repr(results[1]).replace("ember", "torch")


SMALL_U8 = RNG.integers(0, 256, (3, 10, 12), dtype=np.uint8)
SMALL_F32 = RNG.random((3, 10, 12), dtype=np.float32)
FUNCTIONALS = {
    "pad_fill_per_channel": (lambda F, x: F.pad(x, [1, 2, 3, 4], fill=[10, 20, 30]), "u8"),
    "pad_fill_per_channel_f": (lambda F, x: F.pad(x, 2, fill=[0.1, 0.2, 0.3]), "f32"),
    "pad_reflect": (lambda F, x: F.pad(x, [3, 1], padding_mode="reflect"), "u8"),
    "resize_bicubic_f": (lambda F, x: F.resize(x, [17, 7], interpolation="bicubic"), "f32"),
    "resize_nearest_exact": (lambda F, x: F.resize(x, [17, 7], interpolation="nearest-exact"),
                             "u8"),
    "rotate_fill": (lambda F, x: F.rotate(x, 30, fill=[1, 2, 3]), "u8"),
    "rotate_bilinear_expand": (lambda F, x: F.rotate(x, 33, interpolation="bilinear",
                                                     expand=True), "f32"),
    "affine_bilinear": (lambda F, x: F.affine(x, 12, [1, 2], 1.1, [3, 4],
                                              interpolation="bilinear", fill=7), "u8"),
    "gamma": (lambda F, x: F.adjust_gamma(x, 0.7, 1.2), "u8"),
    "gamma_f": (lambda F, x: F.adjust_gamma(x, 1.7), "f32"),
    "hue_f": (lambda F, x: F.adjust_hue(x, 0.3), "f32"),
    "to_int16": (lambda F, x: F.to_dtype(x, F._dtype_for_test("int16"), scale=True), "u8"),
    "to_uint16": (lambda F, x: F.to_dtype(x, F._dtype_for_test("uint16"), scale=True), "f32"),
    "grayscale": (lambda F, x: F.rgb_to_grayscale(x), "u8"),
    "perspective_coeffs": (lambda F, x: F.perspective(
        x, None, None, coefficients=[1.1, 0.1, -2, 0.05, 0.9, 1, 0.001, 0.002]), "f32"),
    "equalize_f": (lambda F, x: F.equalize(x), "f32"),
    "autocontrast": (lambda F, x: F.autocontrast(x), "u8"),
    "sharpness_f": (lambda F, x: F.adjust_sharpness(x, 0.3), "f32"),
    "solarize_f": (lambda F, x: F.solarize(x, 0.5), "f32"),
    "invert_f": (lambda F, x: F.invert(x), "f32"),
    "five_crop": (lambda F, x: F.five_crop(x, [4, 5]), "u8"),
    "ten_crop": (lambda F, x: F.ten_crop(x, 4, vertical_flip=True), "u8"),
}


@pytest.mark.parametrize("name", list(FUNCTIONALS))
def test_functionals_on_plain_tensors(name):
    call, kind = FUNCTIONALS[name]
    arr = SMALL_U8 if kind == "u8" else SMALL_F32
    outs = []
    for L in (TORCH, EMBER):
        F = types.SimpleNamespace(**{n: getattr(L.v2.functional, n)
                                     for n in dir(L.v2.functional) if not n.startswith("_")})
        F._dtype_for_test = lambda n, L=L: getattr(L.torch, n)
        outs.append(call(F, L.torch.from_numpy(arr.copy())))
    _compare(outs[0], outs[1], atol=0.0)


def test_gaussian_noise_draws_torch_stream():
    for arr, atol in ((SMALL_F32, 1e-6), (SMALL_U8, 0)):
        outs = []
        for L in (TORCH, EMBER):
            L.torch.manual_seed(0)
            outs.append(L.v2.functional.gaussian_noise(L.torch.from_numpy(arr.copy())))
        _compare(outs[0], outs[1], atol=atol)


ROTATED = np.array([[10.0, 12.0, 8.0, 4.0, 30.0], [3.0, 5.0, 2.0, 6.0, -45.0]],
                   dtype=np.float32)


@pytest.mark.parametrize("old", ["XYWHR", "CXCYWHR", "XYXYXYXY"])
@pytest.mark.parametrize("new", ["XYWHR", "CXCYWHR", "XYXYXYXY"])
def test_rotated_box_format_conversions(old, new):
    outs = []
    for L in (TORCH, EMBER):
        F = L.v2.functional
        boxes = F.convert_bounding_box_format(L.torch.from_numpy(ROTATED.copy()),
                                              old_format="XYWHR", new_format=old)
        tv_boxes = L.tvt.BoundingBoxes(boxes, format=old, canvas_size=(30, 40))
        outs.append([boxes, F.convert_bounding_box_format(tv_boxes, new_format=new)])
    _compare(outs[0], outs[1], atol=1e-4)
    for L in (TORCH, EMBER):
        with pytest.raises(ValueError):
            L.v2.functional.convert_bounding_box_format(L.torch.zeros(1, 5), old_format=old,
                                                        new_format="XYXY")


def test_sanitize_rotated_boxes():
    boxes = np.array([[10.0, 12.0, 8.0, 4.0, 30.0], [1.0, 1.0, 2.0, 6.0, 60.0],
                      [20.0, 20.0, 0.5, 3.0, 0.0], [35.0, 5.0, 10.0, 4.0, 10.0]],
                     dtype=np.float32)
    outs = []
    for L in (TORCH, EMBER):
        b = L.tvt.BoundingBoxes(L.torch.from_numpy(boxes.copy()), format="XYWHR",
                                canvas_size=(30, 40))
        outs.append(L.v2.SanitizeBoundingBoxes()({"boxes": b, "labels": L.torch.arange(4)}))
    _compare(outs[0], outs[1], atol=1e-5)


@pytest.mark.parametrize("fmt", ["XYWHR", "CXCYWHR", "XYXYXYXY"])
def test_flips_of_rotated_boxes(fmt):
    def sample(L):
        boxes = L.v2.functional.convert_bounding_box_format(
            L.torch.from_numpy(ROTATED.copy()), old_format="XYWHR", new_format=fmt)
        return (L.tvt.Image(L.torch.zeros(1, 30, 40)),
                L.tvt.BoundingBoxes(boxes, format=fmt, canvas_size=(30, 40)))
    _both(lambda L: L.v2.RandomHorizontalFlip(1.0), sample=sample, atol=1e-5)
    _both(lambda L: L.v2.RandomVerticalFlip(1.0), sample=sample, atol=1e-5)


def test_box_kernels_return_what_torchvision_returns():
    outs = []
    for L in (TORCH, EMBER):
        F = L.v2.functional
        b = L.torch.from_numpy(BOXES.copy())
        XYXY, XYWH = L.tvt.BoundingBoxFormat.XYXY, L.tvt.BoundingBoxFormat.XYWH
        outs.append([F.horizontal_flip_bounding_boxes(b, format=XYXY, canvas_size=(24, 32)),
                     F.vertical_flip_bounding_boxes(b, XYWH, (24, 32)),
                     F.resize_bounding_boxes(b, (24, 32), [12]),
                     F.crop_bounding_boxes(b, XYXY, 2, 3, 10, 12),
                     F.pad_bounding_boxes(b, XYXY, (24, 32), [1, 2]),
                     F.affine_bounding_boxes(b, XYXY, (24, 32), 10, [1, 2], 1.0, [0.0, 0.0]),
                     F.rotate_bounding_boxes(b, XYXY, (24, 32), 20, expand=True),
                     F.horizontal_flip_keypoints(b.reshape(-1, 2), (24, 32)),
                     F.affine_keypoints(b.reshape(-1, 2), (24, 32), 10, [1, 2], 1.0, [0.0, 0.0]),
                     F.resize_keypoints(b.reshape(-1, 2), [12], (24, 32))])
    _compare(outs[0], outs[1], atol=1e-5)
