"""JPEG: decode_jpeg, encode_jpeg, write_jpeg (torchvision.io's), through Pillow's
libjpeg(-turbo), the library torchvision's own codec calls.

Decoding returns what libjpeg hands torchvision: a uint8 (C, H, W) tensor with C = 1 for a
grayscale file, 3 for a colour (YCbCr or RGB) file, 4 for a CMYK/YCCK file in UNCHANGED
mode (the stored, Adobe-inverted values). ``mode=GRAY`` asks libjpeg for the luma channel
(Y of YCbCr), ``mode=RGB`` for its RGB conversion; CMYK files are converted by
torchvision's integer formulas (see ``_cmyk_to_rgb``). GRAY_ALPHA and RGB_ALPHA raise, as a
JPEG has no alpha."""
import io as _pyio

import numpy as np

from ._common import (ImageReadMode, apply_exif_orientation, encoded_bytes, exif_orientation,
                      image_array, pillow_image_module, read_mode, to_tensor)

__all__ = ["decode_jpeg", "encode_jpeg", "write_jpeg"]


def _is_tensor(x):
    from ..._tensor import Tensor
    return isinstance(x, Tensor)


def _cmyk_to_rgb(cmyk):
    """(4, H, W) stored CMYK values (Adobe convention: 255 means no ink) -> (3, H, W) RGB:
    each channel k - round(k * (255 - c) / 255), the division by 255 done exactly in
    integers as ((v >> 8) + v) >> 8 with v = k * (255 - c) + 128, as torchvision does."""
    c = cmyk.astype(np.int32)
    k = c[3:4]
    v = k * (255 - c[:3]) + 128
    v = ((v >> 8) + v) >> 8
    return np.clip(k - v, 0, 255).astype(np.uint8)


def _rgb_to_gray(rgb):
    """(3, H, W) uint8 -> (1, H, W): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, the
    ITU-R 601 weights in 16-bit fixed point."""
    r, g, b = (rgb[i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[None]


def _open_jpeg(raw):
    """A Pillow JpegImageFile for the bytes, its header read; errors as torchvision's
    (RuntimeError with libjpeg's message)."""
    Image = pillow_image_module()
    if len(raw) < 2:
        raise RuntimeError("Image is incomplete or truncated")
    if raw[0] != 0xFF or raw[1] != 0xD8:
        raise RuntimeError(f"Not a JPEG file: starts with 0x{raw[0]:02x} 0x{raw[1]:02x}")
    try:
        return Image.open(_pyio.BytesIO(raw), formats=["JPEG"])
    except Exception as exc:      # Pillow's UnidentifiedImageError, SyntaxError, OSError
        raise _decoding_error(exc) from None


def _decoding_error(exc):
    """The RuntimeError torchvision raises for a Pillow decoding error."""
    message = str(exc)
    if "truncated" in message.lower():
        return RuntimeError("Image is incomplete or truncated")
    return RuntimeError(f"Corrupt JPEG data: {message}")


def _decode_one(data, mode, apply_exif):
    raw = encoded_bytes(data, "decode_jpeg")
    image = _open_jpeg(raw)
    if mode not in (ImageReadMode.UNCHANGED, ImageReadMode.GRAY, ImageReadMode.RGB):
        raise RuntimeError(f"The provided mode is not supported for JPEG files: {mode} (a JPEG "
                           f"has no alpha channel; use UNCHANGED, GRAY or RGB)")
    stored = image.mode                    # "L", "RGB" or "CMYK"
    orientation = exif_orientation(image) if apply_exif else None
    if mode is ImageReadMode.GRAY and stored == "RGB":
        # libjpeg's own grayscale output (the Y channel), not an RGB -> L conversion
        image.draft("L", None)
    try:
        image.load()
    except Exception as exc:
        raise _decoding_error(exc) from None
    arr = np.asarray(image)
    chw = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    if stored == "CMYK":
        # Pillow inverts Adobe CMYK on reading; libjpeg (and torchvision) give the stored values
        chw = 255 - chw
        if mode is ImageReadMode.RGB:
            chw = _cmyk_to_rgb(chw)
        elif mode is ImageReadMode.GRAY:
            chw = _rgb_to_gray(_cmyk_to_rgb(chw))
    elif mode is ImageReadMode.RGB and chw.shape[0] == 1:
        chw = np.repeat(chw, 3, axis=0)    # libjpeg's grayscale -> RGB copies the channel
    return to_tensor(apply_exif_orientation(chw, orientation))


def decode_jpeg(input, mode=ImageReadMode.UNCHANGED, device="cpu",
                apply_exif_orientation=False):
    """Decode JPEG bytes (a 1-d uint8 CPU tensor, or a list of them) into uint8 (C, H, W)
    tensor(s) on `device`: C is 1 (grayscale), 3 (colour) or, in UNCHANGED mode, 4 (CMYK);
    ``mode="GRAY"``/``"RGB"`` convert. ``apply_exif_orientation`` turns the image upright
    by its EXIF orientation tag. Corrupt or truncated data raises RuntimeError."""
    from ... import device as _device
    device = _device(device) if isinstance(device, str) else device
    mode = read_mode(mode)
    if isinstance(input, list):
        if len(input) == 0:
            raise ValueError("Input list must contain at least one element")
        if not all(_is_tensor(t) for t in input):
            raise ValueError("All elements of the input list must be tensors.")
        if not all(t.device.type == "cpu" for t in input):
            raise ValueError("Input list must contain tensors on CPU.")
        return [_decode_one(t, mode, apply_exif_orientation).to(device) for t in input]
    if not _is_tensor(input):
        raise TypeError(f"decode_jpeg: input should be a Tensor or a list of Tensors, got "
                        f"{type(input).__name__}")
    if input.device.type != "cpu":
        raise ValueError("Input tensor must be a CPU tensor")
    if not input.is_contiguous():
        raise RuntimeError("Input tensor must be contiguous.")
    return _decode_one(input, mode, apply_exif_orientation).to(device)


def _encode_one(image, quality):
    Image = pillow_image_module()
    chw = image_array(image, "encode_jpeg")
    if 0 in chw.shape[1:]:
        raise RuntimeError(f"encode_jpeg: Empty JPEG image (an image of shape "
                           f"{tuple(chw.shape)} has no pixels)")
    pil = Image.fromarray(np.ascontiguousarray(chw[0] if chw.shape[0] == 1
                                               else chw.transpose(1, 2, 0)))
    buffer = _pyio.BytesIO()
    # libjpeg's defaults (4:2:0 chroma subsampling, baseline) with the quality's tables,
    # as torchvision's encoder sets them
    pil.save(buffer, format="JPEG", quality=int(quality))
    out = to_tensor(np.frombuffer(buffer.getvalue(), dtype=np.uint8).copy())
    return out.to(image.device)


def encode_jpeg(input, quality=75):
    """Encode uint8 (C, H, W) image tensor(s), C = 1 or 3, as JPEG: a 1-d uint8 tensor of
    the file's bytes (a list for a list), on the image's device. quality: 1 to 100."""
    if quality < 1 or quality > 100:
        raise ValueError("Image quality should be a positive number between 1 and 100")
    if isinstance(input, list):
        if not input:
            raise ValueError("encode_jpeg requires at least one input tensor when a list is "
                             "passed")
        return [_encode_one(image, quality) for image in input]
    return _encode_one(input, quality)


def write_jpeg(input, filename, quality=75):
    """Encode a uint8 (C, H, W) image (C = 1 or 3) as JPEG and write it to `filename`."""
    from ._image import write_file
    write_file(filename, encode_jpeg(input, quality))
