"""torchvision.io: reading and writing image files as uint8 tensors (through Pillow)."""
import enum
import io as _pyio

import numpy as np

__all__ = ["ImageReadMode", "read_file", "decode_image", "read_image", "write_png",
           "write_jpeg"]


class ImageReadMode(enum.Enum):
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4


_PIL_MODE_OF = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
                ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}


def read_file(path):
    """The bytes of a file as a 1-d uint8 tensor."""
    from .. import from_numpy
    with open(path, "rb") as fh:
        return from_numpy(np.frombuffer(fh.read(), dtype=np.uint8).copy())


def decode_image(input, mode=ImageReadMode.UNCHANGED):
    """Decode PNG / JPEG / ... bytes (a uint8 tensor, or a path) into a uint8 CxHxW tensor."""
    from PIL import Image

    from .transforms.functional import pil_to_tensor
    if isinstance(input, str):
        input = read_file(input)
    if isinstance(mode, str):
        mode = ImageReadMode[mode.upper()]
    raw = input.numpy().tobytes()
    try:
        image = Image.open(_pyio.BytesIO(raw))
        image.load()
    except (OSError, SyntaxError) as e:
        raise RuntimeError(f"Unsupported image file or corrupted data: {e}") from None
    if mode != ImageReadMode.UNCHANGED:
        image = image.convert(_PIL_MODE_OF[mode])
    elif image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    return pil_to_tensor(image)


def read_image(path, mode=ImageReadMode.UNCHANGED):
    """Read an image file into a uint8 CxHxW tensor."""
    return decode_image(read_file(path), mode)


def _write(input, filename, fmt, **options):
    from .transforms.functional import to_pil_image
    if input.dtype.__str__() != "ember.uint8":
        raise RuntimeError(f"Input tensor dtype should be uint8, got {input.dtype}")
    to_pil_image(input).save(filename, format=fmt, **options)


def write_png(input, filename, compression_level=6):
    _write(input, filename, "PNG", compress_level=compression_level)


def write_jpeg(input, filename, quality=75):
    _write(input, filename, "JPEG", quality=quality)
