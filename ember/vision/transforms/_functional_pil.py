"""Image kernels on PIL images (Pillow), as torchvision's ``_functional_pil``."""
import numbers

import numpy as np

try:
    from PIL import Image, ImageEnhance, ImageOps
except ImportError:  # pragma: no cover - Pillow is an optional dependency
    Image = ImageEnhance = ImageOps = None

__all__ = []


def require_pil():
    if Image is None:
        raise ModuleNotFoundError("ember.vision needs Pillow for PIL images: pip install pillow")


def is_pil_image(img):
    return Image is not None and isinstance(img, Image.Image)


def get_dimensions(img):
    channels = len(img.getbands())
    width, height = img.size
    return [channels, height, width]


def parse_fill(fill, img):
    """The `fill` argument in the form Pillow wants for this image's mode."""
    num_bands = len(img.getbands())
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and num_bands > 1:
        fill = tuple([fill] * num_bands)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = fill * num_bands
        if len(fill) != num_bands:
            raise ValueError(f"The number of elements in 'fill' does not match the number of "
                             f"bands of the image ({len(fill)} != {num_bands})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(v) for v in fill) if isinstance(fill, tuple) else int(fill)
    return fill


def pad(img, padding, fill, padding_mode):
    """Pad by ``[left, top, right, bottom]``; constant mode through ImageOps.expand,
    the others through NumPy (keeping a palette image's palette)."""
    left, top, right, bottom = padding
    if padding_mode == "constant" and min(padding) >= 0:
        fill = parse_fill(fill, img)
        if img.mode == "P":
            palette = img.getpalette()
            out = ImageOps.expand(img, border=(left, top, right, bottom), fill=fill)
            out.putpalette(palette)
            return out
        return ImageOps.expand(img, border=(left, top, right, bottom), fill=fill)
    from . import _functional_tensor as FT
    arr = np.asarray(img)
    chw = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    fill_value = 0 if fill is None else fill
    if padding_mode == "constant" and not isinstance(fill_value, numbers.Number):
        fill_value = fill_value[0]
    out = FT.pad(chw, padding, fill_value, padding_mode)
    out = out[0] if arr.ndim == 2 else np.moveaxis(out, 0, -1)
    result = Image.fromarray(np.ascontiguousarray(out))
    if img.mode == "P":
        result.putpalette(img.getpalette())
    return result


def adjust_hue(img, hue_factor):
    """Shift the H channel of the HSV image by ``hue_factor * 255`` (uint8 wrap-around)."""
    input_mode = img.mode
    if input_mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    with np.errstate(over="ignore"):
        np_h += np.array(hue_factor * 255).astype(np.uint8)
    h = Image.fromarray(np_h)
    return Image.merge("HSV", (h, s, v)).convert(input_mode)


def adjust_gamma(img, gamma, gain=1.0):
    input_mode = img.mode
    img = img.convert("RGB")
    gamma_map = [int((255 + 1 - 1e-3) * gain * pow(ele / 255.0, gamma)) for ele in range(256)] * 3
    return img.point(gamma_map).convert(input_mode)


def to_grayscale(img, num_output_channels):
    if num_output_channels == 1:
        return img.convert("L")
    if num_output_channels == 3:
        gray = np.array(img.convert("L"), dtype=np.uint8)
        return Image.fromarray(np.dstack([gray, gray, gray]))
    raise ValueError("num_output_channels should be either 1 or 3")


def enhance(img, kind, factor):
    """ImageEnhance.Brightness / Contrast / Color (saturation) / Sharpness."""
    return getattr(ImageEnhance, kind)(img).enhance(factor)
