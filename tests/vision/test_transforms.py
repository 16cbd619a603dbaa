"""ember.vision.transforms against references.

torchvision is not installable here, so the references are: real torch's
``F.interpolate`` / ``F.grid_sample`` / ``conv2d`` (which torchvision's tensor kernels
call), with torchvision's grid built in torch below; Pillow itself for the PIL paths; and
the formulas of torchvision's documentation for the colour adjustments.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from PIL import Image, ImageEnhance

import ember
from ember.vision import transforms as T
from ember.vision.transforms import functional as F

RNG = np.random.default_rng(0)
U8 = RNG.integers(0, 256, (3, 9, 12), dtype=np.uint8)
F32 = RNG.random((3, 9, 12), dtype=np.float32)
BATCH = RNG.random((2, 3, 7, 8), dtype=np.float32)


def _e(arr):
    return ember.from_numpy(np.ascontiguousarray(arr))


def _np(t):
    return t.numpy()


def _pil(arr_chw):
    return Image.fromarray(np.ascontiguousarray(arr_chw.transpose(1, 2, 0)))


def _torch_interp(arr, size, mode, antialias):
    t = torch.from_numpy(np.ascontiguousarray(arr))
    x = t.float() if t.dtype == torch.uint8 else t
    squeeze = x.ndim == 3
    x = x[None] if squeeze else x
    kwargs = {} if mode.startswith("nearest") else {"align_corners": False,
                                                    "antialias": antialias}
    out = TF.interpolate(x, size=size, mode=mode, **kwargs)
    out = out[0] if squeeze else out
    if t.dtype == torch.uint8:
        if mode == "bicubic":
            out = out.clamp(0, 255)
        out = out.round().to(torch.uint8)
    return out.numpy()


# ------------------------------------------------------------------ resize vs F.interpolate

RESIZE_CASES = [
    (arr, size, mode, aa)
    for arr in (U8, F32, BATCH)
    for size in ((5, 7), (13, 17), (9, 5))
    for mode, aa in (("bilinear", True), ("bilinear", False), ("bicubic", True),
                     ("bicubic", False), ("nearest", False), ("nearest-exact", False))
]


@pytest.mark.parametrize("arr, size, mode, antialias", RESIZE_CASES)
def test_tensor_resize_matches_interpolate(arr, size, mode, antialias):
    got = _np(F.resize(_e(arr), list(size), F.InterpolationMode(mode), antialias=antialias))
    want = _torch_interp(arr, size, mode, antialias)
    assert got.dtype == want.dtype and got.shape == want.shape
    if arr.dtype == np.uint8:
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_resize_sizes_and_max_size():
    img = _e(F32)                                   # h=9, w=12
    assert F.resize(img, 6).shape == (3, 6, 8)      # shorter edge
    assert F.resize(img, [6]).shape == (3, 6, 8)
    assert F.resize(img, 6, max_size=7).shape == (3, 5, 7)
    assert F.resize(img, [9, 12]) is img
    with pytest.raises(ValueError, match="max_size"):
        F.resize(img, 6, max_size=6)
    with pytest.raises(ValueError, match="max_size"):
        F.resize(img, [6, 6], max_size=10)
    with pytest.raises(TypeError):
        F.resize(img, 6.5)
    with pytest.raises(ValueError):
        F.resize(img, [1, 2, 3])
    pil = _pil(U8)
    assert F.resize(pil, 6).size == (8, 6)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_pil_resize_is_pillows(mode):
    pil = _pil(U8)
    got = np.asarray(F.resize(pil, [5, 7], F.InterpolationMode(mode)))
    want = np.asarray(pil.resize((7, 5), {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
                                          "nearest": Image.NEAREST}[mode]))
    np.testing.assert_array_equal(got, want)


def test_tensor_antialias_bilinear_agrees_with_pil_within_rounding():
    got = _np(F.resize(_e(U8), [5, 7], antialias=True)).astype(int)
    want = np.asarray(_pil(U8).resize((7, 5), Image.BILINEAR)).transpose(2, 0, 1).astype(int)
    assert np.abs(got - want).max() <= 1


# ------------------------------------------------------------------ geometry vs grid_sample


def _torch_affine_grid(matrix, w, h, ow, oh):
    """torchvision's _gen_affine_grid, written in torch."""
    theta = torch.tensor(matrix, dtype=torch.float32).reshape(1, 2, 3)
    base = torch.empty(1, oh, ow, 3)
    base[..., 0].copy_(torch.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, steps=ow))
    base[..., 1].copy_(torch.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, steps=oh).unsqueeze(-1))
    base[..., 2].fill_(1)
    rescaled = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h])
    return base.view(1, oh * ow, 3).bmm(rescaled).view(1, oh, ow, 2)


def _torch_grid_transform(arr, grid, mode, fill):
    """torchvision's _apply_grid_transform, written in torch."""
    img = torch.from_numpy(np.ascontiguousarray(arr))
    out_dtype = img.dtype
    x = img.float()[None]
    if fill is not None:
        x = torch.cat((x, torch.ones_like(x[:, :1])), dim=1)
    x = TF.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        mask = x[:, -1:].expand_as(x[:, :-1])
        x = x[:, :-1]
        fill_img = torch.tensor(fill, dtype=x.dtype).view(1, -1, 1, 1).expand_as(x)
        if mode == "nearest":
            x = torch.where(mask < 0.5, fill_img, x)
        else:
            x = x * mask + (1.0 - mask) * fill_img
    x = x[0]
    if out_dtype == torch.uint8:
        x = x.round().to(torch.uint8)
    return x.numpy()


GEOMETRY_CASES = [
    ("rotate", dict(angle=30.0), "nearest", None),
    ("rotate", dict(angle=-45.0), "bilinear", None),
    ("rotate", dict(angle=90.0), "nearest", [1.0, 2.0, 3.0]),
    ("rotate", dict(angle=20.0, center=[2, 3]), "bilinear", [5.0, 5.0, 5.0]),
    ("affine", dict(angle=10.0, translate=[2, -1], scale=1.2, shear=[5.0, 3.0]), "nearest",
     None),
    ("affine", dict(angle=-30.0, translate=[0, 1], scale=0.8, shear=[0.0, 0.0]), "bilinear",
     [0.0, 0.0, 0.0]),
    ("affine", dict(angle=0.0, translate=[3, 0], scale=1.0, shear=[20.0, 0.0],
                    center=[1, 1]), "bilinear", None),
]


@pytest.mark.parametrize("arr", [U8, F32], ids=["uint8", "float32"])
@pytest.mark.parametrize("name, params, mode, fill", GEOMETRY_CASES)
def test_tensor_geometry_matches_grid_sample(arr, name, params, mode, fill):
    from ember.vision.transforms import _functional_tensor as FT
    _, h, w = arr.shape
    fn = getattr(F, name)
    got = _np(fn(_e(arr), **params, interpolation=F.InterpolationMode(mode), fill=fill))
    center = params.get("center")
    center_f = [0.0, 0.0] if center is None else [c - s * 0.5 for c, s in zip(center, [w, h])]
    if name == "rotate":
        matrix = FT.inverse_affine_matrix(center_f, -params["angle"], [0.0, 0.0], 1.0,
                                          [0.0, 0.0])
    else:
        matrix = FT.inverse_affine_matrix(center_f, params["angle"], params["translate"],
                                          params["scale"], params["shear"])
    want = _torch_grid_transform(arr, _torch_affine_grid(matrix, w, h, w, h), mode, fill)
    assert got.dtype == want.dtype
    if arr.dtype == np.uint8:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_rotate_expand_and_right_angles():
    even = U8[:, :8]          # h and w of the same parity: the expanded box is exact
    np.testing.assert_array_equal(_np(F.rotate(_e(even), 90.0, expand=True)),
                                  np.rot90(even, 1, axes=(1, 2)))
    # corners at +-(6 cos 45 + 4.5 sin 45) around the centre: ceil/floor give 16 x 15
    assert F.rotate(_e(U8), 45.0, expand=True).shape == (3, 15, 16)
    pil = _pil(U8)
    assert F.rotate(pil, 45.0, expand=True).size == pil.rotate(45.0, expand=True).size
    np.testing.assert_array_equal(np.asarray(F.rotate(pil, 90.0)),
                                  np.asarray(pil.rotate(90.0)))


def test_pil_affine_is_pillow_transform_with_torchvision_matrix():
    from ember.vision.transforms import _functional_tensor as FT
    pil = _pil(U8)
    got = F.affine(pil, 15.0, [1, 2], 1.1, [3.0, 0.0])
    matrix = FT.inverse_affine_matrix([6.0, 4.5], 15.0, [1, 2], 1.1, [3.0, 0.0])
    want = pil.transform(pil.size, Image.AFFINE, matrix, Image.NEAREST)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_inverse_affine_matrix_inverts_the_forward_map():
    from ember.vision.transforms import _functional_tensor as FT
    angle, translate, scale, shear, center = 25.0, [3.0, -2.0], 1.3, [10.0, 5.0], [4.0, 2.0]
    inv = np.array(FT.inverse_affine_matrix(center, angle, translate, scale, shear) +
                   [0, 0, 1]).reshape(3, 3)
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    # RSS = R(angle) * S(scale) * SHy(sy) * SHx(sx), as torchvision documents it
    rotation = np.array([[math.cos(rot), -math.sin(rot), 0], [math.sin(rot), math.cos(rot), 0],
                         [0, 0, 1]])
    scaling = np.diag([scale, scale, 1.0])
    shear_y = np.array([[1, 0, 0], [-math.tan(sy), 1, 0], [0, 0, 1]])
    shear_x = np.array([[1, -math.tan(sx), 0], [0, 1, 0], [0, 0, 1]])
    rss = rotation @ scaling @ shear_y @ shear_x
    c = np.array([[1, 0, center[0]], [0, 1, center[1]], [0, 0, 1]])
    t = np.array([[1, 0, translate[0]], [0, 1, translate[1]], [0, 0, 1]])
    forward = t @ c @ rss @ np.linalg.inv(c)
    np.testing.assert_allclose(inv @ forward, np.eye(3), atol=1e-9)


def test_perspective_identity_and_pil():
    pts = [[0, 0], [11, 0], [11, 8], [0, 8]]
    np.testing.assert_allclose(_np(F.perspective(_e(F32), pts, pts)), F32, atol=1e-5)
    end = [[1, 1], [10, 0], [11, 7], [0, 8]]
    pil = _pil(U8)
    coeffs = F._perspective_coeffs(pts, end)
    want = pil.transform(pil.size, Image.PERSPECTIVE, coeffs, Image.BILINEAR)
    np.testing.assert_array_equal(np.asarray(F.perspective(pil, pts, end)), np.asarray(want))


# ------------------------------------------------------------------ crops, flips, padding


def test_crops_and_flips_tensor_and_pil_agree():
    img, pil = _e(U8), _pil(U8)
    cases = [
        (lambda x: F.crop(x, 2, 3, 4, 5), U8[:, 2:6, 3:8]),
        (lambda x: F.center_crop(x, [4, 6]), U8[:, 2:6, 3:9]),
        (lambda x: F.hflip(x), U8[:, :, ::-1]),
        (lambda x: F.vflip(x), U8[:, ::-1, :]),
    ]
    for fn, want in cases:
        np.testing.assert_array_equal(_np(fn(img)), want)
        np.testing.assert_array_equal(np.asarray(fn(pil)).transpose(2, 0, 1), want)


def test_crop_outside_and_center_crop_larger_pad_with_zeros():
    got = _np(F.crop(_e(U8), -1, -2, 4, 5))
    want = np.zeros((3, 4, 5), np.uint8)
    want[:, 1:, 2:] = U8[:, :3, :3]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.asarray(F.crop(_pil(U8), -1, -2, 4, 5)).transpose(2, 0, 1),
                                  want)
    big = _np(F.center_crop(_e(U8), [11, 15]))
    assert big.shape == (3, 11, 15)
    np.testing.assert_array_equal(big[:, 1:10, 1:13], U8)
    assert big[:, 0].sum() == 0


def test_five_and_ten_crop():
    crops = F.five_crop(_e(U8), 4)
    np.testing.assert_array_equal(_np(crops[0]), U8[:, :4, :4])
    np.testing.assert_array_equal(_np(crops[3]), U8[:, 5:, 8:])
    ten = T.TenCrop(4)(_e(U8))
    assert len(ten) == 10
    np.testing.assert_array_equal(_np(ten[5]), U8[:, :4, ::-1][:, :, :4])
    with pytest.raises(ValueError, match="bigger than input"):
        F.five_crop(_e(U8), 10)


@pytest.mark.parametrize("padding", [2, [1, 2], [1, 2, 3, 0], [-1, 1, 2, -2]])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_tensor_and_pil(padding, mode):
    if isinstance(padding, int):
        left = top = right = bottom = padding
    elif len(padding) == 2:
        left, top, right, bottom = padding * 2
    else:
        left, top, right, bottom = padding
    src = U8[:, max(-top, 0):9 - max(-bottom, 0), max(-left, 0):12 - max(-right, 0)]
    widths = ((0, 0), (max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0)))
    want = np.pad(src, widths, mode=mode, **({"constant_values": 7} if mode == "constant"
                                             else {}))
    np.testing.assert_array_equal(_np(F.pad(_e(U8), padding, fill=7, padding_mode=mode)), want)
    got_pil = np.asarray(F.pad(_pil(U8), padding, fill=7, padding_mode=mode))
    np.testing.assert_array_equal(got_pil.transpose(2, 0, 1), want)


def test_pad_errors():
    with pytest.raises(TypeError, match="padding"):
        F.pad(_e(U8), "2")
    with pytest.raises(ValueError, match="3 element"):
        F.pad(_e(U8), [1, 2, 3])
    with pytest.raises(ValueError, match="Padding mode"):
        F.pad(_e(U8), 1, padding_mode="wrap")
    with pytest.raises(TypeError, match="fill"):
        F.pad(_e(U8), 1, fill="red")


# ------------------------------------------------------------------ colour


def _luma(arr):
    return 0.2989 * arr[0] + 0.587 * arr[1] + 0.114 * arr[2]


def test_grayscale_formula_and_pil():
    got = _np(F.rgb_to_grayscale(_e(F32)))
    np.testing.assert_allclose(got[0], _luma(F32), rtol=1e-6)
    got3 = _np(F.rgb_to_grayscale(_e(U8), 3))
    assert got3.shape == (3, 9, 12) and (got3[0] == got3[2]).all()
    np.testing.assert_array_equal(got3[0], _luma(U8.astype(np.float32)).astype(np.uint8))
    pil = F.to_grayscale(_pil(U8))
    assert pil.mode == "L"
    np.testing.assert_array_equal(np.asarray(pil), np.asarray(_pil(U8).convert("L")))
    assert T.Grayscale(3)(_pil(U8)).mode == "RGB"


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.3])
def test_brightness_contrast_saturation_formulas(factor):
    img = _e(F32)
    np.testing.assert_allclose(_np(F.adjust_brightness(img, factor)),
                               np.clip(F32 * factor, 0, 1), rtol=1e-6)
    mean = _luma(F32).mean()
    np.testing.assert_allclose(_np(F.adjust_contrast(img, factor)),
                               np.clip(factor * F32 + (1 - factor) * mean, 0, 1), atol=1e-6)
    np.testing.assert_allclose(_np(F.adjust_saturation(img, factor)),
                               np.clip(factor * F32 + (1 - factor) * _luma(F32), 0, 1),
                               atol=1e-6)
    u8 = _np(F.adjust_brightness(_e(U8), factor))
    np.testing.assert_array_equal(u8, np.clip(U8 * np.float32(factor), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("kind, fn", [("Brightness", F.adjust_brightness),
                                      ("Contrast", F.adjust_contrast),
                                      ("Color", F.adjust_saturation),
                                      ("Sharpness", F.adjust_sharpness)])
def test_pil_colour_adjustments_are_image_enhance(kind, fn):
    pil = _pil(U8)
    want = getattr(ImageEnhance, kind)(pil).enhance(1.7)
    np.testing.assert_array_equal(np.asarray(fn(pil, 1.7)), np.asarray(want))


def test_adjust_hue():
    import colorsys
    img = _e(F32)
    np.testing.assert_allclose(_np(F.adjust_hue(img, 0.0)), F32, atol=1e-6)
    got = _np(F.adjust_hue(img, 0.25))
    for y, x in [(0, 0), (4, 7), (8, 11)]:
        h, s, v = colorsys.rgb_to_hsv(*F32[:, y, x])
        np.testing.assert_allclose(got[:, y, x], colorsys.hsv_to_rgb((h + 0.25) % 1.0, s, v),
                                   atol=1e-5)
    pil = F.adjust_hue(_pil(U8), 0.1)
    assert pil.mode == "RGB" and pil.size == (12, 9)
    with pytest.raises(ValueError, match="hue_factor"):
        F.adjust_hue(img, 0.6)


def test_gamma_invert_posterize_solarize_autocontrast():
    img = _e(F32)
    np.testing.assert_allclose(_np(F.adjust_gamma(img, 2.0, 0.5)),
                               np.clip(0.5 * F32 ** 2, 0, 1), rtol=1e-6)
    np.testing.assert_array_equal(_np(F.invert(_e(U8))), 255 - U8)
    np.testing.assert_array_equal(_np(F.posterize(_e(U8), 3)), U8 & 0xE0)
    np.testing.assert_array_equal(_np(F.solarize(_e(U8), 128)),
                                  np.where(U8 >= 128, 255 - U8, U8))
    auto = _np(F.autocontrast(_e(U8)))
    assert auto.reshape(3, -1).min(1).tolist() == [0, 0, 0]
    assert auto.reshape(3, -1).max(1).tolist() == [255, 255, 255]
    for fn in (F.invert, lambda x: F.posterize(x, 3), lambda x: F.solarize(x, 128)):
        assert fn(_pil(U8)).size == (12, 9)


@pytest.mark.parametrize("arr", [U8, F32, BATCH], ids=["uint8", "float32", "batch"])
@pytest.mark.parametrize("ksize, sigma", [(3, 1.0), ((5, 3), (1.5, 0.7))])
def test_gaussian_blur_matches_reflect_padded_conv(arr, ksize, sigma):
    got = _np(F.gaussian_blur(_e(arr), ksize, sigma))
    kx, ky = (ksize, ksize) if isinstance(ksize, int) else ksize
    sx, sy = (sigma, sigma) if isinstance(sigma, float) else sigma

    def kernel1d(k, s):
        x = torch.linspace(-(k - 1) * 0.5, (k - 1) * 0.5, steps=k)
        pdf = torch.exp(-0.5 * (x / s).pow(2))
        return pdf / pdf.sum()

    kernel = torch.mm(kernel1d(ky, sy)[:, None], kernel1d(kx, sx)[None, :])
    t = torch.from_numpy(np.ascontiguousarray(arr)).float()
    t = t.reshape(-1, *t.shape[-3:])
    c = t.shape[-3]
    t = TF.pad(t, [kx // 2, kx // 2, ky // 2, ky // 2], mode="reflect")
    want = TF.conv2d(t, kernel.expand(c, 1, ky, kx), groups=c).reshape(arr.shape)
    if arr.dtype == np.uint8:
        want = want.round().to(torch.uint8)
        assert np.abs(got.astype(int) - want.numpy().astype(int)).max() <= 1
    else:
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5)


def test_gaussian_blur_errors_and_pil():
    with pytest.raises(ValueError, match="odd"):
        F.gaussian_blur(_e(F32), 4)
    with pytest.raises(ValueError, match="positive"):
        F.gaussian_blur(_e(F32), 3, -1.0)
    assert F.gaussian_blur(_pil(U8), 3).size == (12, 9)


# ------------------------------------------------------------------ conversions


def test_to_tensor_pil_to_tensor_to_pil_round_trip():
    pil = _pil(U8)
    t = F.to_tensor(pil)
    assert t.dtype == ember.float32 and t.shape == (3, 9, 12)
    np.testing.assert_allclose(_np(t), U8 / np.float32(255), rtol=1e-6)
    raw = F.pil_to_tensor(pil)
    assert raw.dtype == ember.uint8
    np.testing.assert_array_equal(_np(raw), U8)
    back = F.to_pil_image(raw)
    assert back.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(back), np.asarray(pil))
    gray = F.to_pil_image(_e(F32[:1]))
    assert gray.mode == "L"
    np.testing.assert_array_equal(np.asarray(gray), (F32[0] * 255).astype(np.uint8))
    assert F.to_pil_image(_e(F32[0]), mode="F").mode == "F"
    nd = F.to_tensor(U8.transpose(1, 2, 0).copy())
    np.testing.assert_allclose(_np(nd), U8 / np.float32(255), rtol=1e-6)
    assert F.to_tensor(np.zeros((4, 5), np.float64)).dtype == ember.float64
    with pytest.raises(TypeError):
        F.to_tensor([1, 2])
    with pytest.raises(ValueError, match="4 channels"):
        F.to_pil_image(ember.zeros(5, 4, 4))


def test_convert_image_dtype():
    u8 = _e(U8)
    f = F.convert_image_dtype(u8, ember.float32)
    np.testing.assert_allclose(_np(f), U8 / np.float32(255), rtol=1e-6)
    back = F.convert_image_dtype(f, ember.uint8)
    np.testing.assert_array_equal(_np(back), U8)
    i16 = F.convert_image_dtype(u8, ember.int16)
    np.testing.assert_array_equal(_np(i16), U8.astype(np.int16) * 128)
    np.testing.assert_array_equal(_np(F.convert_image_dtype(i16, ember.uint8)), U8)
    with pytest.raises(RuntimeError, match="cannot be performed safely"):
        F.convert_image_dtype(f, ember.int32)
    assert T.ConvertImageDtype(ember.float64)(u8).dtype == ember.float64


def test_normalize_values_grad_inplace_and_errors():
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    x = _e(BATCH.copy()).requires_grad_()
    out = F.normalize(x, mean, std)
    want = (BATCH - np.array(mean, np.float32)[:, None, None]) / \
        np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(
        1 / np.array(std, np.float32)[:, None, None], BATCH.shape), rtol=1e-6)
    y = _e(F32.copy())
    assert T.Normalize(mean, std, inplace=True)(y) is y
    with pytest.raises(TypeError, match="float tensor"):
        F.normalize(_e(U8), mean, std)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        F.normalize(_e(F32), mean, [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        F.normalize(ember.zeros(3, 3), mean, std)


# ------------------------------------------------------------------ classes: reprs, randomness


def test_reprs_are_torchvisions():
    assert repr(T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                           T.Normalize([0.5], [0.5])])) == (
        "Compose(\n    Resize(size=256, interpolation=bilinear, max_size=None, antialias=True)"
        "\n    CenterCrop(size=(224, 224))\n    ToTensor()\n    Normalize(mean=[0.5], "
        "std=[0.5])\n)")
    assert repr(T.RandomResizedCrop(224)) == (
        "RandomResizedCrop(size=(224, 224), scale=(0.08, 1.0), ratio=(0.75, 1.3333), "
        "interpolation=bilinear, antialias=True)")
    assert repr(T.ColorJitter(0.4, 0.4, 0.4, 0.1)) == (
        "ColorJitter(brightness=(0.6, 1.4), contrast=(0.6, 1.4), saturation=(0.6, 1.4), "
        "hue=(-0.1, 0.1))")
    assert repr(T.ColorJitter()) == ("ColorJitter(brightness=None, contrast=None, "
                                     "saturation=None, hue=None)")
    assert repr(T.RandomRotation(30)) == ("RandomRotation(degrees=[-30.0, 30.0], "
                                          "interpolation=nearest, expand=False, fill=0)")
    assert repr(T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1))) == (
        "RandomAffine(degrees=[-10.0, 10.0], translate=(0.1, 0.1), scale=(0.9, 1.1))")
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4)"
    assert repr(T.Pad(2)) == "Pad(padding=2, fill=0, padding_mode=constant)"
    assert repr(T.GaussianBlur(3)) == "GaussianBlur(kernel_size=(3, 3), sigma=(0.1, 2.0))"
    assert repr(T.RandomErasing()) == ("RandomErasing(p=0.5, scale=(0.02, 0.33), "
                                       "ratio=(0.3, 3.3), value=0, inplace=False)")
    assert repr(T.RandomApply([T.RandomGrayscale()], p=0.3)) == (
        "RandomApply(\n    p=0.3\n    RandomGrayscale(p=0.1)\n)")
    assert repr(T.Lambda(lambda x: x)) == "Lambda()"
    assert repr(T.ToPILImage()) == "ToPILImage()"


RANDOM_TRANSFORMS = [
    T.RandomCrop(6, padding=2, padding_mode="reflect"),
    T.RandomCrop(12, pad_if_needed=True, fill=3),
    T.RandomResizedCrop(5),
    T.RandomHorizontalFlip(),
    T.RandomVerticalFlip(),
    T.RandomRotation(40, fill=1),
    T.RandomAffine(20, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=(-5, 5, -5, 5)),
    T.ColorJitter(0.4, 0.4, 0.4, 0.1),
    T.RandomGrayscale(0.5),
    T.GaussianBlur(3),
    T.RandomPerspective(),
    T.RandomApply([T.RandomInvert(1.0)]),
    T.RandomChoice([T.RandomHorizontalFlip(1.0), T.RandomVerticalFlip(1.0)]),
    T.RandomOrder([T.RandomHorizontalFlip(), T.ColorJitter(0.5)]),
    T.RandomErasing(1.0, value="random"),
]


@pytest.mark.parametrize("transform", RANDOM_TRANSFORMS, ids=lambda t: type(t).__name__)
def test_random_transforms_reproducible_under_manual_seed(transform):
    inputs = [_e(U8), _e(F32)]
    if not isinstance(transform, T.RandomErasing):
        inputs.append(_pil(U8))
    for img in inputs:
        ember.manual_seed(3)
        first = [np.asarray(transform(img)) if not isinstance(img, ember.Tensor)
                 else _np(transform(img)) for _ in range(3)]
        ember.manual_seed(3)
        second = [np.asarray(transform(img)) if not isinstance(img, ember.Tensor)
                  else _np(transform(img)) for _ in range(3)]
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a, b)


def test_flip_probability_and_crop_distribution():
    ember.manual_seed(0)
    img = _e(F32)
    flips = sum(bool((_np(T.RandomHorizontalFlip(0.3)(img)) != F32).any()) for _ in range(400))
    assert 80 <= flips <= 160
    seen = {T.RandomCrop.get_params(img, (5, 5)) for _ in range(400)}
    assert {i for i, _, _, _ in seen} == set(range(5))
    assert {j for _, j, _, _ in seen} == set(range(8))
    areas = []
    for _ in range(300):
        i, j, h, w = T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 <= i <= 9 - h and 0 <= j <= 12 - w
        areas.append(h * w / 108)
    assert min(areas) < 0.2 and max(areas) > 0.8


def test_random_erasing_erases_a_box():
    ember.manual_seed(1)
    out = _np(T.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3))(_e(F32)))
    changed = (out != F32).any(0)
    ys, xs = np.nonzero(changed)
    assert changed.sum() == (np.ptp(ys) + 1) * (np.ptp(xs) + 1)
    np.testing.assert_allclose(out[:, ys[0], xs[0]], [0.1, 0.2, 0.3], rtol=1e-6)
    with pytest.raises(ValueError, match="number of input channels"):
        T.RandomErasing(p=1.0, value=(0.1, 0.2))(_e(F32))


def test_transforms_are_modules_and_compose_in_sequential():
    seq = ember.nn.Sequential(T.CenterCrop(4), T.Normalize([0.5] * 3, [0.5] * 3))
    assert seq(_e(F32)).shape == (3, 4, 4)
    assert isinstance(T.Resize(3), ember.nn.Module)


def test_pipeline_on_pil_image_gives_normalised_tensor():
    ember.manual_seed(0)
    pipeline = T.Compose([T.RandomResizedCrop(8), T.RandomHorizontalFlip(), T.ToTensor(),
                          T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    out = pipeline(_pil(U8))
    assert out.shape == (3, 8, 8) and out.dtype == ember.float32
    assert np.isfinite(_np(out)).all()


def test_make_grid_and_save_image(tmp_path):
    from ember.vision.utils import make_grid, save_image
    batch = _e(BATCH)
    grid = make_grid(batch, nrow=2, padding=1, pad_value=0.5)
    assert grid.shape == (3, 7 + 2, 2 * 8 + 3)
    np.testing.assert_array_equal(_np(grid)[:, 1:8, 1:9], BATCH[0])
    np.testing.assert_array_equal(_np(grid)[:, 1:8, 10:18], BATCH[1])
    assert (_np(grid)[:, 0] == 0.5).all()
    norm = make_grid(batch, normalize=True)
    assert float(norm.min()) >= 0.0 and float(norm.max()) <= 1.0
    save_image(batch, tmp_path / "g.png")
    assert Image.open(tmp_path / "g.png").size == (2 * 8 + 6, 7 + 4)
