"""What the image codecs share: the read modes, the checks on encoded bytes, Pillow, and
the EXIF orientation."""
import enum

import numpy as np


class ImageReadMode(enum.Enum):
    """The channels a decoder returns: UNCHANGED (as stored), GRAY (1), GRAY_ALPHA (2),
    RGB (3), RGB_ALPHA (4; also spelled RGBA). Strings such as ``"RGB"`` work too."""
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


def read_mode(mode):
    """An ImageReadMode from a member or its name (any case)."""
    if isinstance(mode, str):
        try:
            return ImageReadMode[mode.upper()]
        except KeyError:
            raise KeyError(mode) from None
    if not isinstance(mode, ImageReadMode):
        raise TypeError(f"mode should be an ImageReadMode or its name, got {mode!r}")
    return mode


def pillow_image_module():
    """PIL.Image; the codecs of ember.vision.io decode and encode through Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeError("ember.vision.io needs Pillow to decode and encode images: install "
                           "the `vision` extra (pip install 'ember[vision]') or pillow") from None
    return Image


def encoded_bytes(data, what):
    """The bytes of a 1-d, non-empty uint8 CPU tensor holding an encoded image."""
    from ..._tensor import Tensor
    if not isinstance(data, Tensor):
        raise TypeError(f"{what}: expected a Tensor of encoded bytes, got {type(data).__name__}")
    if data.device.type != "cpu":
        raise RuntimeError(f"{what}: expected a CPU tensor, got a tensor on {data.device}")
    if str(data.dtype) != "ember.uint8":
        raise RuntimeError(f"Input tensor must have uint8 data type, got {data.dtype}")
    if data.ndim != 1 or data.numel() == 0:
        raise RuntimeError(f"Input tensor must be 1-dimensional and non-empty, got "
                           f"{data.ndim} dims  and {data.numel()} numels.")
    return np.ascontiguousarray(data.detach().numpy()).tobytes()


def image_array(image, what):
    """The uint8 (C, H, W) array of an image tensor to encode, checked as torchvision's
    encoders check it."""
    if str(image.dtype) != "ember.uint8":
        raise RuntimeError(f"{what}: Input tensor dtype should be uint8, got {image.dtype}")
    if image.ndim != 3:
        raise RuntimeError(f"{what}: Input data should be a 3-dimensional tensor, got shape "
                           f"{tuple(image.shape)}")
    if image.shape[0] not in (1, 3):
        raise RuntimeError(f"{what}: The number of channels should be 1 or 3, got: "
                           f"{image.shape[0]}")
    return image.detach().cpu().numpy()


def exif_orientation(pil_image):
    """The EXIF orientation tag (1-8) of a Pillow image, or None."""
    try:
        value = pil_image.getexif().get(0x0112)
    except Exception:     # a malformed EXIF block is ignored, as torchvision ignores it
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def apply_exif_orientation(chw, orientation):
    """A (C, H, W) array turned upright for an EXIF orientation: 2 mirrors left-right,
    3 turns by 180 degrees, 4 mirrors top-bottom, 5 transposes (swaps rows and columns),
    6 transposes then mirrors left-right (a quarter turn clockwise), 7 transposes then
    turns by 180 degrees, 8 transposes then mirrors top-bottom (a quarter turn
    counter-clockwise); 1 and unknown values leave the image as it is."""
    if orientation is None or orientation == 1:
        return chw
    if orientation >= 5:
        chw = chw.transpose(0, 2, 1)
    flips = {2: (2,), 3: (1, 2), 4: (1,), 5: (), 6: (2,), 7: (1, 2), 8: (1,)}[orientation]
    for axis in flips:
        chw = np.flip(chw, axis=axis)
    return np.ascontiguousarray(chw)


def to_tensor(chw):
    from ... import from_numpy
    return from_numpy(np.ascontiguousarray(chw))
