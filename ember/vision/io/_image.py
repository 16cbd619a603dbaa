"""torchvision.io's files and the formats other than JPEG: read_file/write_file,
decode_image/read_image (which pick the decoder by the file's signature), and PNG
(decode_png, encode_png, write_png); GIF and WebP decode through Pillow."""
import io as _pyio
import os

import numpy as np

from ._common import (ImageReadMode, apply_exif_orientation, encoded_bytes, exif_orientation,
                      image_array, pillow_image_module, read_mode, to_tensor)
from ._jpeg import decode_jpeg

__all__ = ["read_file", "write_file", "decode_image", "read_image", "decode_png",
           "encode_png", "write_png", "decode_gif", "decode_webp", "decode_avif", "decode_heic"]

_PIL_MODE_OF = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
                ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}

_UNSUPPORTED = "Unsupported image file. Only jpeg, png, webp and gif are currently supported."


def read_file(path):
    """The bytes of a file as a 1-d uint8 tensor."""
    with open(os.fspath(path), "rb") as fh:
        return to_tensor(np.frombuffer(fh.read(), dtype=np.uint8).copy())


def write_file(filename, data):
    """Write a 1-d uint8 tensor's bytes to a file."""
    if str(data.dtype) != "ember.uint8" or data.ndim != 1:
        raise RuntimeError(f"write_file: expected a 1-dimensional uint8 tensor, got "
                           f"{data.dtype} of shape {tuple(data.shape)}")
    with open(os.fspath(filename), "wb") as fh:
        fh.write(np.ascontiguousarray(data.detach().cpu().numpy()).tobytes())


def _decode_with_pillow(raw, mode, apply_exif, formats):
    """PNG / GIF / WebP bytes -> uint8 (C, H, W) through Pillow, converted to `mode`."""
    from ..transforms.functional import pil_to_tensor
    Image = pillow_image_module()
    try:
        image = Image.open(_pyio.BytesIO(raw), formats=formats)
        image.load()
    except Exception as exc:     # OSError, SyntaxError, Pillow's UnidentifiedImageError
        raise RuntimeError(f"Unsupported image file or corrupted data: {exc}") from None
    orientation = exif_orientation(image) if apply_exif else None
    if mode is not ImageReadMode.UNCHANGED:
        image = image.convert(_PIL_MODE_OF[mode])
    elif image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    chw = pil_to_tensor(image).numpy()
    return to_tensor(apply_exif_orientation(chw, orientation))


def _checked_bytes(input):
    from ..._tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"decode_image: input should be a Tensor of encoded bytes or a path, "
                        f"got {type(input).__name__}")
    if input.device.type != "cpu":
        raise RuntimeError(f"Expected a CPU tensor, got a tensor on {input.device}")
    if str(input.dtype) != "ember.uint8":
        raise RuntimeError(f"Expected a torch.uint8 tensor, got {input.dtype}")
    if input.ndim != 1 or input.numel() == 0:
        raise RuntimeError(f"Expected a non empty 1-dimensional tensor, got shape "
                           f"{tuple(input.shape)}")
    return encoded_bytes(input, "decode_image")


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Decode a JPEG, PNG, GIF or WebP image (a 1-d uint8 tensor of its bytes, or a path)
    into a uint8 (C, H, W) tensor; the format is told by the bytes' signature."""
    if not hasattr(input, "dtype"):
        input = read_file(input)
    mode = read_mode(mode)
    raw = _checked_bytes(input)
    if raw[:3] == b"\xff\xd8\xff":
        return decode_jpeg(input, mode=mode, apply_exif_orientation=apply_exif_orientation)
    if raw[:4] == b"\x89PNG":
        return _decode_with_pillow(raw, mode, apply_exif_orientation, ["PNG"])
    if raw[:6] in (b"GIF89a", b"GIF87a"):
        return decode_gif(input)
    if raw[:4] == b"RIFF" and raw[8:15] == b"WEBPVP8":
        return decode_webp(input, mode)
    raise RuntimeError(f"{_UNSUPPORTED} (the data starts with {raw[:8]!r})")


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Read an image file into a uint8 (C, H, W) tensor (torchvision marks it obsolete in
    favour of decode_image)."""
    return decode_image(read_file(path), mode, apply_exif_orientation=apply_exif_orientation)


def decode_png(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Decode PNG bytes (a 1-d uint8 tensor) into a (C, H, W) tensor (uint8, or uint16 for
    16-bit files)."""
    mode = read_mode(mode)
    raw = encoded_bytes(input, "decode_png")
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        raise RuntimeError(f"Content is not png (the data starts with {raw[:8]!r})")
    return _decode_with_pillow(raw, mode, apply_exif_orientation, ["PNG"])


def encode_png(input, compression_level=6):
    """Encode a uint8 (C, H, W) image (C = 1 or 3) as PNG: a 1-d uint8 tensor of the
    file's bytes. compression_level: 0 (none) to 9 (smallest)."""
    if not 0 <= compression_level <= 9:
        raise RuntimeError(f"Compression level should be between 0 and 9, got "
                           f"{compression_level}")
    Image = pillow_image_module()
    chw = image_array(input, "encode_png")
    pil = Image.fromarray(np.ascontiguousarray(chw[0] if chw.shape[0] == 1
                                               else chw.transpose(1, 2, 0)))
    buffer = _pyio.BytesIO()
    pil.save(buffer, format="PNG", compress_level=int(compression_level))
    return to_tensor(np.frombuffer(buffer.getvalue(), dtype=np.uint8).copy())


def write_png(input, filename, compression_level=6):
    """Encode a uint8 (C, H, W) image as PNG and write it to `filename`."""
    write_file(filename, encode_png(input, compression_level))


def decode_gif(input):
    """Decode a GIF into uint8 RGB: (3, H, W) for one frame, (N, 3, H, W) for N frames
    (each frame as shown, earlier frames composed under it)."""
    from PIL import ImageSequence
    raw = encoded_bytes(input, "decode_gif")
    Image = pillow_image_module()
    try:
        image = Image.open(_pyio.BytesIO(raw), formats=["GIF"])
        frames = [np.asarray(frame.convert("RGB")).transpose(2, 0, 1)
                  for frame in ImageSequence.Iterator(image)]
    except Exception as exc:
        raise RuntimeError(f"Unsupported image file or corrupted data: {exc}") from None
    return to_tensor(frames[0] if len(frames) == 1 else np.stack(frames))


def decode_webp(input, mode=ImageReadMode.UNCHANGED):
    """Decode a WebP image into uint8 (C, H, W): RGB, or RGBA where the file has alpha
    (UNCHANGED), or converted to `mode`."""
    raw = encoded_bytes(input, "decode_webp")
    return _decode_with_pillow(raw, read_mode(mode), False, ["WEBP"])


def decode_avif(input, mode=ImageReadMode.UNCHANGED):
    """AVIF decoding (torchvision-extra-decoders in torchvision): not built in ember."""
    raise NotImplementedError("ember.vision.io: decode_avif is not built (AVIF needs "
                              "torchvision-extra-decoders in torchvision)")


def decode_heic(input, mode=ImageReadMode.UNCHANGED):
    """HEIC decoding (torchvision-extra-decoders in torchvision): not built in ember."""
    raise NotImplementedError("ember.vision.io: decode_heic is not built (HEIC needs "
                              "torchvision-extra-decoders in torchvision)")
