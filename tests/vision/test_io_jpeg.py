"""ember.vision.io's JPEG codec (decode_jpeg, encode_jpeg, write_jpeg, the JPEG path of
decode_image/read_image) and transforms.v2's JPEG.

torchvision's compiled codec cannot load here (tests/vision/_tv.py), so decoded values are
checked against Pillow's own decoder (libjpeg-turbo, as torchvision's) and against code
paths of Pillow that ember does not use (its YCbCr output for GRAY, its CMYK -> RGB and
RGB -> L conversions, ImageOps.exif_transpose for EXIF orientation); torchvision's Python
layer (ImageReadMode, JPEG's argument checks and random draws) runs live."""
import io
import pathlib

import numpy as np
import pytest

from tests.vision._tv import tv

Image = pytest.importorskip("PIL.Image")
from PIL import ImageOps  # noqa: E402

torch = pytest.importorskip("torch")
torchvision = tv()

import ember  # noqa: E402
from ember.vision import io as eio  # noqa: E402
from ember.vision import tv_tensors as ETV  # noqa: E402
from ember.vision.transforms import v2 as EV2  # noqa: E402
from ember.vision.transforms.v2 import functional as EF  # noqa: E402

RNG = np.random.default_rng(0)


def _smooth_rgb(h=24, w=40):
    """A smooth colour image (JPEG keeps it close)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (h + w - 2)], -1)
    return img.astype(np.uint8)


def _jpeg_bytes(array, mode=None, **save):
    buf = io.BytesIO()
    (Image.fromarray(array, mode) if mode else Image.fromarray(array)).save(
        buf, format="JPEG", **save)
    return buf.getvalue()


def _tensor(raw):
    return ember.from_numpy(np.frombuffer(raw, dtype=np.uint8).copy())


RGB_JPEG = _jpeg_bytes(RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8), quality=90)
GRAY_JPEG = _jpeg_bytes(RNG.integers(0, 256, (17, 13), dtype=np.uint8), quality=90)
CMYK_JPEG = _jpeg_bytes(RNG.integers(0, 256, (9, 11, 4), dtype=np.uint8), mode="CMYK")


def _pil(raw):
    return Image.open(io.BytesIO(raw))


# ---------------------------------------------------------------- decoding

def test_read_mode_enum_matches_torchvision():
    from torchvision.io import ImageReadMode as T
    assert [(m.name, m.value) for m in eio.ImageReadMode] == [(m.name, m.value) for m in T]
    assert eio.ImageReadMode.RGBA is eio.ImageReadMode.RGB_ALPHA
    assert T.RGBA is T.RGB_ALPHA


@pytest.mark.parametrize("mode", ["UNCHANGED", "RGB", eio.ImageReadMode.RGB, "rgb"])
def test_decode_colour_is_libjpeg_rgb(mode):
    out = eio.decode_jpeg(_tensor(RGB_JPEG), mode=mode)
    assert out.dtype == ember.uint8 and tuple(out.shape) == (3, 20, 30)
    np.testing.assert_array_equal(out.numpy(), np.asarray(_pil(RGB_JPEG)).transpose(2, 0, 1))


def test_decode_colour_as_gray_is_the_luma_channel():
    # libjpeg's grayscale output is the stored Y channel (not an RGB -> L conversion)
    ycbcr = _pil(RGB_JPEG)
    ycbcr.draft("YCbCr", None)
    out = eio.decode_jpeg(_tensor(RGB_JPEG), mode=eio.ImageReadMode.GRAY)
    assert tuple(out.shape) == (1, 20, 30)
    np.testing.assert_array_equal(out.numpy()[0], np.asarray(ycbcr)[..., 0])


@pytest.mark.parametrize("mode, channels", [("UNCHANGED", 1), ("GRAY", 1), ("RGB", 3)])
def test_decode_grayscale_file(mode, channels):
    out = eio.decode_jpeg(_tensor(GRAY_JPEG), mode=mode)
    ref = np.asarray(_pil(GRAY_JPEG))
    assert tuple(out.shape) == (channels, 17, 13)
    for c in range(channels):
        np.testing.assert_array_equal(out.numpy()[c], ref)


def test_decode_cmyk_file():
    t = _tensor(CMYK_JPEG)
    raw = eio.decode_jpeg(t)                  # the stored (Adobe-inverted) values
    assert tuple(raw.shape) == (4, 9, 11)
    np.testing.assert_array_equal(raw.numpy(),
                                  255 - np.asarray(_pil(CMYK_JPEG)).transpose(2, 0, 1))
    rgb = eio.decode_jpeg(t, mode="RGB")
    np.testing.assert_array_equal(rgb.numpy(),
                                  np.asarray(_pil(CMYK_JPEG).convert("RGB")).transpose(2, 0, 1))
    gray = eio.decode_jpeg(t, mode="GRAY")
    assert tuple(gray.shape) == (1, 9, 11)
    np.testing.assert_array_equal(gray.numpy()[0],
                                  np.asarray(_pil(CMYK_JPEG).convert("RGB").convert("L")))
    # torchvision's conversion written out: R = k - k (255 - c) / 255, rounded
    c = raw.numpy().astype(np.int64)
    exact = np.clip(np.floor(c[3] - c[3] * (255 - c[:3]) / 255 + 0.5), 0, 255)
    assert np.abs(rgb.numpy() - exact).max() <= 1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_exif_orientation(orientation, tmp_path):
    array = RNG.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    raw = buf.getvalue()
    upright = np.asarray(ImageOps.exif_transpose(_pil(raw))).transpose(2, 0, 1)
    out = eio.decode_jpeg(_tensor(raw), apply_exif_orientation=True)
    np.testing.assert_array_equal(out.numpy(), upright)
    stored = eio.decode_jpeg(_tensor(raw))
    assert tuple(stored.shape) == (3, 6, 10)
    path = tmp_path / "o.jpg"
    path.write_bytes(raw)
    np.testing.assert_array_equal(
        eio.decode_image(str(path), apply_exif_orientation=True).numpy(), upright)
    np.testing.assert_array_equal(
        eio.read_image(path, apply_exif_orientation=True).numpy(), upright)


def test_decode_list_and_device():
    outs = eio.decode_jpeg([_tensor(RGB_JPEG), _tensor(GRAY_JPEG)], mode="RGB", device="cpu")
    assert isinstance(outs, list) and [tuple(o.shape) for o in outs] == [(3, 20, 30),
                                                                         (3, 17, 13)]
    assert outs[0].device == ember.device("cpu")


@pytest.mark.parametrize("mode", ["GRAY_ALPHA", "RGB_ALPHA", "RGBA"])
def test_alpha_modes_raise(mode):
    with pytest.raises(RuntimeError, match="mode is not supported for JPEG"):
        eio.decode_jpeg(_tensor(RGB_JPEG), mode=mode)


@pytest.mark.parametrize("data, match", [
    (RGB_JPEG[:200], "truncated"),
    (RGB_JPEG[:1], "truncated"),
    (b"\x89PNG\r\n\x1a\n0000", "Not a JPEG file: starts with 0x89 0x50"),
])
def test_corrupt_data_raises_runtime_error(data, match):
    with pytest.raises(RuntimeError, match=match):
        eio.decode_jpeg(_tensor(data))


def test_bad_inputs():
    t = _tensor(RGB_JPEG)
    with pytest.raises(RuntimeError, match="uint8"):
        eio.decode_jpeg(t.to(ember.int32))
    with pytest.raises(RuntimeError, match="1-dimensional"):
        eio.decode_jpeg(t[:100].reshape(10, 10))
    with pytest.raises(RuntimeError, match="1-dimensional"):
        eio.decode_jpeg(t[:0])
    with pytest.raises(ValueError, match="at least one element"):
        eio.decode_jpeg([])
    with pytest.raises(ValueError, match="must be tensors"):
        eio.decode_jpeg([t, RGB_JPEG])
    with pytest.raises(KeyError):
        eio.decode_jpeg(t, mode="CMYK")


# ---------------------------------------------------------------- encoding

@pytest.mark.parametrize("channels", [1, 3])
def test_encode_round_trip(channels):
    img = _smooth_rgb()[..., :channels].transpose(2, 0, 1).copy()
    enc = eio.encode_jpeg(ember.from_numpy(img), quality=95)
    assert enc.dtype == ember.uint8 and enc.ndim == 1
    raw = enc.numpy().tobytes()
    assert raw[:3] == b"\xff\xd8\xff"
    pil = _pil(raw)
    assert pil.format == "JPEG" and pil.mode == ("L" if channels == 1 else "RGB")
    assert pil.size == (40, 24)
    dec = eio.decode_jpeg(enc)
    assert tuple(dec.shape) == img.shape
    assert np.abs(dec.numpy().astype(int) - img).mean() < 2.0
    np.testing.assert_array_equal(eio.decode_image(enc).numpy(), dec.numpy())


def test_encode_quality_and_lists():
    img = ember.from_numpy(RNG.integers(0, 256, (3, 32, 32), dtype=np.uint8))
    small, large = eio.encode_jpeg([img, img], quality=10)[0], eio.encode_jpeg(img, quality=100)
    assert small.numel() < large.numel()
    err_small = (eio.decode_jpeg(small).float() - img.float()).abs().mean().item()
    err_large = (eio.decode_jpeg(large).float() - img.float()).abs().mean().item()
    assert err_large < err_small


@pytest.mark.parametrize("quality", [0, 101, -5])
def test_encode_quality_range(quality):
    with pytest.raises(ValueError, match="between 1 and 100"):
        eio.encode_jpeg(ember.zeros(3, 4, 4, dtype=ember.uint8), quality=quality)


def test_encode_bad_inputs():
    with pytest.raises(RuntimeError, match="uint8"):
        eio.encode_jpeg(ember.zeros(3, 4, 4))
    with pytest.raises(RuntimeError, match="3-dimensional"):
        eio.encode_jpeg(ember.zeros(4, 4, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="1 or 3, got: 4"):
        eio.encode_jpeg(ember.zeros(4, 4, 4, dtype=ember.uint8))
    with pytest.raises(ValueError, match="at least one input tensor"):
        eio.encode_jpeg([])


def test_write_jpeg_and_read_image(tmp_path):
    img = ember.from_numpy(_smooth_rgb().transpose(2, 0, 1).copy())
    path = tmp_path / "x.jpg"
    eio.write_jpeg(img, str(path), quality=80)
    expect = eio.decode_jpeg(eio.encode_jpeg(img, quality=80))
    np.testing.assert_array_equal(eio.read_image(str(path)).numpy(), expect.numpy())
    np.testing.assert_array_equal(eio.decode_image(pathlib.Path(path), mode="GRAY").numpy(),
                                  eio.decode_jpeg(eio.read_file(path), mode="GRAY").numpy())


def test_decode_image_other_formats(tmp_path):
    array = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    eio.write_png(ember.from_numpy(array.transpose(2, 0, 1).copy()), tmp_path / "a.png")
    np.testing.assert_array_equal(eio.read_image(tmp_path / "a.png").numpy(),
                                  array.transpose(2, 0, 1))
    np.testing.assert_array_equal(eio.decode_png(eio.read_file(tmp_path / "a.png")).numpy(),
                                  array.transpose(2, 0, 1))
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="BMP")
    with pytest.raises(RuntimeError, match="Unsupported image file"):
        eio.decode_image(_tensor(buf.getvalue()))
    with pytest.raises(RuntimeError, match="uint8"):
        eio.decode_image(_tensor(RGB_JPEG).float())


def test_without_pillow_the_error_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(RuntimeError, match="vision"):
        eio.decode_jpeg(_tensor(RGB_JPEG))


# ---------------------------------------------------------------- transforms.v2.JPEG

def test_functional_jpeg_is_the_round_trip():
    batch = ember.from_numpy(RNG.integers(0, 256, (2, 2, 3, 16, 16), dtype=np.uint8))
    out = EF.jpeg(batch, quality=60)
    assert tuple(out.shape) == tuple(batch.shape) and out.dtype == ember.uint8
    expect = eio.decode_jpeg(eio.encode_jpeg(batch[1, 0], quality=60))
    np.testing.assert_array_equal(out[1, 0].numpy(), expect.numpy())
    video = ETV.Video(batch[0])
    assert type(EF.jpeg(video, 60)) is ETV.Video
    gray = ember.from_numpy(RNG.integers(0, 256, (1, 8, 8), dtype=np.uint8))
    np.testing.assert_array_equal(EF.jpeg_image(gray, 75).numpy(),
                                  eio.decode_jpeg(eio.encode_jpeg(gray, 75)).numpy())
    assert tuple(EF.jpeg(batch[:0], 50).shape) == (0, 2, 3, 16, 16)
    with pytest.raises(RuntimeError, match="uint8"):
        EF.jpeg(batch.float(), 50)
    with pytest.raises(TypeError):
        EF.jpeg(ETV.Mask(ember.zeros(1, 4, 4, dtype=ember.uint8)), 50)


def test_functional_jpeg_pil_matches_tensor():
    array = _smooth_rgb()
    out = EF.jpeg(Image.fromarray(array), 70)
    assert type(out) is Image.Image
    tensor_out = EF.jpeg(ember.from_numpy(array.transpose(2, 0, 1).copy()), 70)
    np.testing.assert_array_equal(np.asarray(out).transpose(2, 0, 1), tensor_out.numpy())


def test_jpeg_transform_draws_torchvisions_quality():
    from torchvision.transforms import v2 as TV2
    for quality in [(5, 95), (40, 41), 33]:
        torch.manual_seed(3)
        expect = [TV2.JPEG(quality).make_params([])["quality"] for _ in range(5)]
        ember.manual_seed(3)
        got = [EV2.JPEG(quality).make_params([])["quality"] for _ in range(5)]
        assert got == expect


@pytest.mark.parametrize("quality", [0, 101, (50, 20), (1, 2, 3), 5.5, True, (1.0, 10)])
def test_jpeg_transform_argument_errors(quality):
    from torchvision.transforms import v2 as TV2
    with pytest.raises(Exception) as expected:
        TV2.JPEG(quality)
    with pytest.raises(type(expected.value)):
        EV2.JPEG(quality)


def test_jpeg_transform_on_a_sample():
    img = ETV.Image(ember.from_numpy(_smooth_rgb().transpose(2, 0, 1).copy()))
    boxes = ETV.BoundingBoxes(ember.tensor([[1.0, 2.0, 5.0, 6.0]]), format="XYXY",
                              canvas_size=(24, 40))
    ember.manual_seed(0)
    out_img, out_boxes = EV2.JPEG((20, 80))(img, boxes)
    ember.manual_seed(0)
    quality = ember.randint(20, 81, ()).item()
    assert type(out_img) is ETV.Image and out_boxes is boxes
    np.testing.assert_array_equal(out_img.numpy(), EF.jpeg(img, quality).numpy())


# ---------------------------------------------------------------- GIF, WebP, AVIF/HEIC

def test_gif_frames_and_webp():
    frames = [RNG.integers(0, 256, (6, 5), dtype=np.uint8) for _ in range(3)]
    pil_frames = [Image.fromarray(f).convert("P") for f in frames]
    buf = io.BytesIO()
    pil_frames[0].save(buf, format="GIF", save_all=True, append_images=pil_frames[1:],
                       disposal=1)
    out = eio.decode_gif(_tensor(buf.getvalue()))
    assert out.dtype == ember.uint8 and tuple(out.shape) == (3, 3, 6, 5)
    for i, frame in enumerate(pil_frames):
        np.testing.assert_array_equal(out.numpy()[i],
                                      np.asarray(frame.convert("RGB")).transpose(2, 0, 1))
    one = io.BytesIO()
    pil_frames[0].save(one, format="GIF")
    assert tuple(eio.decode_image(_tensor(one.getvalue())).shape) == (3, 6, 5)
    rgba = RNG.integers(0, 256, (4, 7, 4), dtype=np.uint8)
    webp = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(webp, format="WEBP", lossless=True)
    t = _tensor(webp.getvalue())
    np.testing.assert_array_equal(eio.decode_webp(t).numpy(), rgba.transpose(2, 0, 1))
    np.testing.assert_array_equal(eio.decode_image(t, mode="RGB").numpy(),
                                  rgba[..., :3].transpose(2, 0, 1))


def test_avif_and_heic_are_not_built():
    for decode in (eio.decode_avif, eio.decode_heic):
        with pytest.raises(NotImplementedError, match="not built"):
            decode(_tensor(RGB_JPEG))


@pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device")
def test_jpeg_on_cuda_matches_cpu():
    img = ember.from_numpy(_smooth_rgb().transpose(2, 0, 1).copy())
    enc = eio.encode_jpeg(img.cuda(), quality=80)
    assert enc.device.type == "cuda"
    np.testing.assert_array_equal(enc.cpu().numpy(), eio.encode_jpeg(img, quality=80).numpy())
    dec = eio.decode_jpeg(enc.cpu(), device="cuda")
    assert dec.device.type == "cuda"
    np.testing.assert_array_equal(dec.cpu().numpy(), eio.decode_jpeg(enc.cpu()).numpy())
    out = EF.jpeg(img.cuda(), 60)
    assert out.device.type == "cuda"
    np.testing.assert_array_equal(out.cpu().numpy(), EF.jpeg(img, 60).numpy())
