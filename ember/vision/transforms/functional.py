"""torchvision.transforms.functional: image operations on PIL images and on tensors.

A tensor image is an ember Tensor shaped ``(..., C, H, W)`` (uint8 in [0, 255] or float in
[0, 1]); a PIL image is a ``PIL.Image.Image``. Each function accepts both, as torchvision's
does, and returns the same kind it was given. The tensor kernels live in
``_functional_tensor`` (NumPy), the PIL ones in ``_functional_pil`` (Pillow).

Tensor transforms here are data preparation, not differentiable ops: they run on the
tensor's data and return a tensor outside the autograd graph, except ``normalize``,
which is written with ember ops and so keeps gradients.
"""
import enum
import numbers
from collections.abc import Sequence

import numpy as np

from ... import _dtype
from ..._tensor import Tensor
from . import _functional_pil as FP
from . import _functional_tensor as FT

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
           "to_tensor", "pil_to_tensor", "to_pil_image", "convert_image_dtype", "normalize",
           "resize", "pad", "crop", "center_crop", "resized_crop", "hflip", "vflip",
           "five_crop", "ten_crop", "rotate", "affine", "perspective", "to_grayscale",
           "rgb_to_grayscale", "adjust_brightness", "adjust_contrast", "adjust_saturation",
           "adjust_hue", "adjust_gamma", "adjust_sharpness", "autocontrast", "invert", "posterize",
           "solarize", "gaussian_blur", "erase"]


class InterpolationMode(enum.Enum):
    """Interpolation modes; the value is the name F.interpolate / grid_sample use."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_MODES = {InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0,
              InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3,
              InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5,
              InterpolationMode.LANCZOS: 1}
_FROM_PIL_INT = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                 3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                 5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interpolation(interpolation):
    """An InterpolationMode from an InterpolationMode or a legacy PIL integer constant."""
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int) and interpolation in _FROM_PIL_INT:
        return _FROM_PIL_INT[interpolation]
    raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding "
                    f"Pillow integer constant, got {interpolation!r}")


# ---------------------------------------------------------------- plumbing


def _is_tensor(img):
    return isinstance(img, Tensor)


def _check_image(img):
    if _is_tensor(img):
        if img.ndim < 2:
            raise TypeError(f"Tensor is not a torch image: expected at least 2 dimensions, "
                            f"got shape {tuple(img.shape)}")
        return
    if not FP.is_pil_image(img):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


def _array(img):
    """The tensor image's data as a NumPy array with a channel axis (2-d gets one)."""
    arr = img.detach().cpu().numpy()
    return arr[None] if arr.ndim == 2 else arr


def _wrap(arr, like):
    """A tensor holding `arr`, shaped like `like` had (2-d inputs lose the channel axis
    again when the kernel kept one channel), on `like`'s device."""
    from ... import from_numpy
    if like.ndim == 2 and arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    out = from_numpy(np.ascontiguousarray(arr))
    return out if like.device.type == "cpu" else out.to(like.device)


def _apply(img, kernel, *args):
    """Run a NumPy kernel on a tensor image and wrap the result."""
    return _wrap(kernel(_array(img), *args), img)


def get_dimensions(img):
    """``[channels, height, width]``."""
    _check_image(img)
    if _is_tensor(img):
        channels = 1 if img.ndim == 2 else img.shape[-3]
        return [channels, img.shape[-2], img.shape[-1]]
    return FP.get_dimensions(img)


def get_image_size(img):
    """``[width, height]``."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]


# ---------------------------------------------------------------- conversions


def _pil_to_array(pic):
    """HxWxC array of a PIL image with the dtype its mode implies."""
    mode_dtypes = {"I": np.int32, "I;16": np.uint16, "I;16B": np.uint16, "F": np.float32}
    if pic.mode in mode_dtypes:
        arr = np.array(pic, dtype=mode_dtypes[pic.mode], copy=True)
    else:
        arr = np.array(pic, copy=True)
    if pic.mode == "1":
        arr = arr.astype(np.uint8) * 255
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr


def to_tensor(pic):
    """PIL image or HxWxC ndarray -> CxHxW tensor; uint8 data is scaled to float [0, 1]."""
    from ... import from_numpy, get_default_dtype
    if not (FP.is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        arr = _pil_to_array(pic)
    chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        return from_numpy(chw).to(get_default_dtype()).div(255)
    return from_numpy(chw)


def pil_to_tensor(pic):
    """PIL image -> CxHxW tensor of the image's own dtype (uint8 for 8-bit modes)."""
    from ... import from_numpy
    if not FP.is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    return from_numpy(np.ascontiguousarray(_pil_to_array(pic).transpose(2, 0, 1)))


_MODE_OF_DTYPE = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                  np.dtype(np.uint16): "I;16", np.dtype(np.int32): "I",
                  np.dtype(np.float32): "F"}


def to_pil_image(pic, mode=None):
    """CxHxW tensor or HxWxC ndarray -> PIL image. Float data (not mode 'F') is scaled by
    255 and truncated to uint8; the mode is inferred from channels and dtype."""
    FP.require_pil()
    if _is_tensor(pic):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic.detach().cpu().numpy()
        if arr.ndim == 2:
            arr = arr[None]
        if arr.shape[-3] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {arr.shape[-3]} channels.")
        if FT.is_float(arr) and mode != "F":
            # as Tensor.byte() does: truncate toward zero, wrap modulo 256
            arr = (arr.astype(np.float32) * 255).astype(np.int64).astype(np.uint8)
        arr = np.transpose(arr, (1, 2, 0))
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
        if arr.shape[-1] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {arr.shape[-1]} channels.")
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    channels = arr.shape[-1]
    if channels == 1:
        arr = arr[:, :, 0]
        expected = _MODE_OF_DTYPE.get(arr.dtype)
        if mode is not None and mode != expected and not (mode == "L" and arr.dtype == np.uint8):
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {arr.dtype}. "
                             f"Should be {expected}")
        mode = mode or expected
        if mode is None:
            raise TypeError(f"Input type {arr.dtype} is not supported")
    else:
        permitted = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}
        if mode is not None and mode not in permitted[channels]:
            raise ValueError(f"Only modes {permitted[channels]} are supported for "
                             f"{channels}D inputs")
        mode = mode or permitted[channels][0]
        if arr.dtype != np.uint8:
            raise TypeError(f"Input type {arr.dtype} is not supported for {channels} channels")
    image = FP.Image.fromarray(np.ascontiguousarray(arr))
    return image if image.mode == mode else image.convert(mode)


def convert_image_dtype(image, dtype=None):
    """Convert a tensor image to `dtype`, rescaling values: float [0, 1] <-> integer
    [0, max]. Float to integer multiplies by ``max + 1 - 1e-3`` and truncates."""
    from ... import float32
    dtype = float32 if dtype is None else dtype
    if not _is_tensor(image):
        raise TypeError("Input img should be Tensor Image")
    if image.dtype == dtype:
        return image
    src_float = image.is_floating_point()
    dst_float = dtype.is_floating_point
    if src_float and dst_float:
        return image.to(dtype)
    if src_float:
        if (image.dtype == _dtype.float32 and dtype in (_dtype.int32, _dtype.int64)) or \
                (image.dtype == _dtype.float64 and dtype == _dtype.int64):
            raise RuntimeError(f"The cast from {image.dtype} to {dtype} cannot be performed "
                               f"safely.")
        max_val = FT.max_value(_np_dtype(dtype))
        return image.mul(max_val + 1.0 - 1e-3).to(dtype)
    in_max = FT.max_value(_np_dtype(image.dtype))
    if dst_float:
        return image.to(dtype).div(in_max)
    out_max = FT.max_value(_np_dtype(dtype))
    if in_max > out_max:
        factor = (in_max + 1) // (out_max + 1)
        return image.div(factor, rounding_mode="floor").to(dtype)
    factor = (out_max + 1) // (in_max + 1)
    return image.to(dtype).mul(factor)


def _np_dtype(dtype):
    from ... import empty
    return empty(0, dtype=dtype).numpy().dtype


def normalize(tensor, mean, std, inplace=False):
    """``out[c] = (in[c] - mean[c]) / std[c]`` per channel (differentiable)."""
    from ... import as_tensor
    if not _is_tensor(tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    mean_t = as_tensor(mean, dtype=tensor.dtype)
    std_t = as_tensor(std, dtype=tensor.dtype)
    if bool((std_t == 0).any()):
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading "
                         f"to division by zero.")
    if mean_t.ndim == 1:
        mean_t = mean_t.view(-1, 1, 1)
    if std_t.ndim == 1:
        std_t = std_t.view(-1, 1, 1)
    if not inplace:
        tensor = tensor.clone()
    # in place (on the clone) as torchvision: a mean/std with more channels than the image
    # cannot broadcast into it, and raises (a 3-channel Normalize on MNIST's 1 channel)
    return tensor.sub_(mean_t).div_(std_t)


# ---------------------------------------------------------------- geometry


def _resized_output_size(height, width, size, max_size):
    """torchvision's ``_compute_resized_output_size``: an int (or 1-sequence) matches the
    shorter edge keeping the aspect ratio, capped so the longer edge <= max_size."""
    if isinstance(size, int) or len(size) == 1:
        requested = size if isinstance(size, int) else size[0]
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                                 f"requested size for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
        return [new_h, new_w]
    if max_size is not None:
        raise ValueError("max_size should only be passed if size specifies the length of the "
                         "smaller edge, i.e. size should be an int or a sequence of length 1 "
                         "in torchscript mode.")
    return [size[0], size[1]]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to `size` (``(h, w)``, or an int for the shorter edge)."""
    interpolation = _interpolation(interpolation)
    if not isinstance(size, (int, list, tuple)):
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    if isinstance(size, (list, tuple)) and len(size) not in (1, 2):
        raise ValueError(f"Size must be an int or a 1 or 2 element tuple/list, not a "
                         f"{len(size)} element tuple/list")
    _, height, width = get_dimensions(img)
    output_size = _resized_output_size(height, width, size, max_size)
    if [height, width] == output_size:
        return img
    if _is_tensor(img):
        if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT,
                                 InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
            raise ValueError("Input image is a tensor: interpolation must be nearest, "
                             "nearest-exact, bilinear or bicubic")
        return _apply(img, FT.resize, output_size, interpolation.value, antialias)
    return img.resize((output_size[1], output_size[0]), _PIL_MODES[interpolation])


def _parse_padding(padding):
    """``[left, top, right, bottom]`` from an int or a 1-, 2- or 4-sequence."""
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if isinstance(padding, numbers.Number):
        return [int(padding)] * 4
    if len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    return padding


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the borders; `padding_mode` is constant (with `fill`), edge, reflect or
    symmetric."""
    _check_image(img)
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    padding = _parse_padding(padding)
    if _is_tensor(img):
        if isinstance(fill, (tuple, list)):
            if len(fill) != 1:
                raise ValueError("Only a single fill value is supported for tensor images")
            fill = fill[0]
        return _apply(img, FT.pad, padding, 0 if fill is None else fill, padding_mode)
    return FP.pad(img, padding, fill, padding_mode)


def crop(img, top, left, height, width):
    """The box with upper-left corner (top, left); outside the image it is zero."""
    _check_image(img)
    if _is_tensor(img):
        return _apply(img, FT.crop, top, left, height, width)
    return img.crop((left, top, left + width, top + height))


def _setup_size(size, error_msg="Please provide only two dimensions (h, w) for size."):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(error_msg)
    return size[0], size[1]


def center_crop(img, output_size):
    """Crop the centre (padding with zeros first when the image is smaller)."""
    crop_height, crop_width = _setup_size(output_size)
    _, image_height, image_width = get_dimensions(img)
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return crop(img, crop_top, crop_left, crop_height, crop_width)


def resized_crop(img, top, left, height, width, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def hflip(img):
    _check_image(img)
    if _is_tensor(img):
        return img.flip(-1)
    return img.transpose(FP.Image.Transpose.FLIP_LEFT_RIGHT)


def vflip(img):
    _check_image(img)
    if _is_tensor(img):
        return img.flip(-2)
    return img.transpose(FP.Image.Transpose.FLIP_TOP_BOTTOM)


def five_crop(img, size):
    """The four corners and the centre: ``(tl, tr, bl, br, center)``."""
    crop_height, crop_width = _setup_size(size)
    _, image_height, image_width = get_dimensions(img)
    if crop_width > image_width or crop_height > image_height:
        raise ValueError(f"Requested crop size {size} is bigger than input size "
                         f"{(image_height, image_width)}")
    tl = crop(img, 0, 0, crop_height, crop_width)
    tr = crop(img, 0, image_width - crop_width, crop_height, crop_width)
    bl = crop(img, image_height - crop_height, 0, crop_height, crop_width)
    br = crop(img, image_height - crop_height, image_width - crop_width, crop_height,
              crop_width)
    center = center_crop(img, [crop_height, crop_width])
    return tl, tr, bl, br, center


def ten_crop(img, size, vertical_flip=False):
    """five_crop of the image and of its (horizontally, or vertically) flipped copy."""
    size = _setup_size(size)
    first_five = five_crop(img, size)
    flipped = vflip(img) if vertical_flip else hflip(img)
    return first_five + five_crop(flipped, size)


def _tensor_fill(fill, channels):
    """torchvision's fill for tensors: None stays None, a number becomes one per channel."""
    if fill is None:
        return None
    if isinstance(fill, numbers.Number):
        return [float(fill)] * channels
    fill = [float(f) for f in fill]
    if len(fill) not in (1, channels):
        raise ValueError(f"The number of elements in 'fill' cannot broadcast to match the "
                         f"number of channels of the image ({len(fill)} != {channels})")
    return fill


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """Rotate by `angle` degrees counter-clockwise about `center` (default the image
    centre); `expand` grows the output to hold the whole rotated image."""
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if not _is_tensor(img):
        _check_image(img)
        return img.rotate(angle, _PIL_MODES[interpolation], expand, center,
                          fillcolor=FP.parse_fill(fill, img))
    channels, height, width = get_dimensions(img)
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    matrix = FT.inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    out_w, out_h = FT.affine_output_size(matrix, width, height) if expand else (width, height)
    fill = _tensor_fill(fill, channels)
    return _apply(img, _grid_kernel_affine, matrix, width, height, out_w, out_h,
                  interpolation.value, fill)


def _grid_dtype(arr):
    return arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float32)


def _grid_kernel_affine(arr, matrix, w, h, ow, oh, mode, fill):
    src_x, src_y = FT.affine_grid(matrix, w, h, ow, oh, _grid_dtype(arr))
    return FT.grid_transform(arr, src_x, src_y, mode, fill)


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center=None):
    """Rotate by `angle` degrees, scale, shear (degrees, x then y) about `center`, then
    translate by `translate` pixels; the image centre stays fixed."""
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)) or len(translate) != 2:
        raise TypeError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    if not isinstance(shear, (list, tuple)):
        raise TypeError(f"Shear should be either a single value or a sequence of two values. "
                        f"Got {type(shear)}")
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    channels, height, width = get_dimensions(img)
    if not _is_tensor(img):
        if center is None:
            center = [width * 0.5, height * 0.5]
        matrix = FT.inverse_affine_matrix(center, float(angle), translate, scale, shear)
        return img.transform(img.size, FP.Image.Transform.AFFINE, matrix,
                             _PIL_MODES[interpolation], fillcolor=FP.parse_fill(fill, img))
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    translate_f = [1.0 * t for t in translate]
    matrix = FT.inverse_affine_matrix(center_f, float(angle), translate_f, scale, shear)
    return _apply(img, _grid_kernel_affine, matrix, width, height, width, height,
                  interpolation.value, _tensor_fill(fill, channels))


def _perspective_coeffs(startpoints, endpoints):
    """The 8 coefficients of the projective map sending `endpoints` to `startpoints`
    (output pixel -> input pixel, as PIL's PERSPECTIVE transform expects)."""
    a = np.zeros((8, 8), dtype=np.float64)
    for i, (p1, p2) in enumerate(zip(endpoints, startpoints)):
        a[2 * i] = [p1[0], p1[1], 1, 0, 0, 0, -p2[0] * p1[0], -p2[0] * p1[1]]
        a[2 * i + 1] = [0, 0, 0, p1[0], p1[1], 1, -p2[1] * p1[0], -p2[1] * p1[1]]
    b = np.array(startpoints, dtype=np.float64).reshape(8)
    return np.linalg.lstsq(a, b, rcond=None)[0].tolist()


def perspective(img, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR,
                fill=None):
    """Warp so the four `startpoints` (corners, ``[x, y]``) land on `endpoints`."""
    interpolation = _interpolation(interpolation)
    if len(startpoints) != 4 or len(endpoints) != 4:
        raise ValueError("startpoints and endpoints should be lists of 4 points")
    coeffs = _perspective_coeffs(startpoints, endpoints)
    if not _is_tensor(img):
        _check_image(img)
        return img.transform(img.size, FP.Image.Transform.PERSPECTIVE, coeffs,
                             _PIL_MODES[interpolation], fillcolor=FP.parse_fill(fill, img))
    channels, height, width = get_dimensions(img)
    return _apply(img, _grid_kernel_perspective, coeffs, width, height, interpolation.value,
                  _tensor_fill(fill, channels))


def _grid_kernel_perspective(arr, coeffs, w, h, mode, fill):
    src_x, src_y = FT.perspective_grid(coeffs, w, h, _grid_dtype(arr))
    return FT.grid_transform(arr, src_x, src_y, mode, fill)


# ---------------------------------------------------------------- colour


def _check_channels(img, permitted):
    channels = get_dimensions(img)[0]
    if channels not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {permitted}, but "
                        f"found {channels}")


def rgb_to_grayscale(img, num_output_channels=1):
    """``L = 0.2989 R + 0.587 G + 0.114 B``, repeated `num_output_channels` (1 or 3) times."""
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if not _is_tensor(img):
        _check_image(img)
        return FP.to_grayscale(img, num_output_channels)
    _check_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:
        return img.clone() if num_output_channels == 1 else img.expand(
            *img.shape[:-3], 3, *img.shape[-2:]).clone()
    return _apply(img, FT.rgb_to_grayscale, num_output_channels)


def to_grayscale(img, num_output_channels=1):
    return rgb_to_grayscale(img, num_output_channels)


def _check_factor(name, factor):
    if factor < 0:
        raise ValueError(f"{name} ({factor}) is not non-negative.")


def adjust_brightness(img, brightness_factor):
    """Blend with black: ``out = factor * img`` (clamped)."""
    _check_factor("brightness_factor", brightness_factor)
    if not _is_tensor(img):
        _check_image(img)
        return FP.enhance(img, "Brightness", brightness_factor)
    _check_channels(img, [1, 3])
    return _apply(img, lambda arr: FT.blend(arr, 0.0, brightness_factor))


def adjust_contrast(img, contrast_factor):
    """Blend with the mean grey level."""
    _check_factor("contrast_factor", contrast_factor)
    if not _is_tensor(img):
        _check_image(img)
        return FP.enhance(img, "Contrast", contrast_factor)
    _check_channels(img, [1, 3])
    return _apply(img, FT.adjust_contrast, contrast_factor)


def adjust_saturation(img, saturation_factor):
    """Blend with the grayscale image."""
    _check_factor("saturation_factor", saturation_factor)
    if not _is_tensor(img):
        _check_image(img)
        return FP.enhance(img, "Color", saturation_factor)
    _check_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:
        return img
    return _apply(img, lambda arr: FT.blend(arr, FT._cast_in(FT.rgb_to_grayscale(arr)),
                                            saturation_factor))


def adjust_hue(img, hue_factor):
    """Rotate the hue by `hue_factor` in [-0.5, 0.5] (a fraction of the colour wheel)."""
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if not _is_tensor(img):
        _check_image(img)
        return FP.adjust_hue(img, hue_factor)
    _check_channels(img, [1, 3])
    return _apply(img, FT.adjust_hue, hue_factor)


def adjust_gamma(img, gamma, gain=1):
    """``out = gain * img ** gamma`` on the [0, 1] scale."""
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    if not _is_tensor(img):
        _check_image(img)
        return FP.adjust_gamma(img, gamma, gain)
    return _apply(img, FT.adjust_gamma, gamma, gain)


def adjust_sharpness(img, sharpness_factor):
    """Blend with a smoothed copy (PIL's SMOOTH kernel); factor 0 blurs, 2 sharpens."""
    _check_factor("sharpness_factor", sharpness_factor)
    if not _is_tensor(img):
        _check_image(img)
        return FP.enhance(img, "Sharpness", sharpness_factor)
    _check_channels(img, [1, 3])
    return _apply(img, _sharpness_kernel, sharpness_factor)


def _sharpness_kernel(arr, factor):
    if arr.shape[-1] <= 2 or arr.shape[-2] <= 2:
        return arr
    x = FT._cast_in(arr)
    kernel = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=x.dtype) / 13.0
    inner = sum(kernel[i, j] * x[..., i:i + x.shape[-2] - 2, j:j + x.shape[-1] - 2]
                for i in range(3) for j in range(3))
    if not FT.is_float(arr):
        inner = np.rint(inner)
    degenerate = x.copy()
    degenerate[..., 1:-1, 1:-1] = inner
    return FT.blend(arr, degenerate, factor)


def autocontrast(img):
    """Stretch each channel linearly so its darkest pixel is 0 and its brightest the
    maximum value (channels with a single value are left alone)."""
    if not _is_tensor(img):
        _check_image(img)
        return FP.ImageOps.autocontrast(img)
    _check_channels(img, [1, 3])
    return _apply(img, _autocontrast_kernel)


def _autocontrast_kernel(arr):
    bound = FT.max_value(arr.dtype)
    x = FT._cast_in(arr)
    minimum = x.min(axis=(-2, -1), keepdims=True)
    maximum = x.max(axis=(-2, -1), keepdims=True)
    flat = maximum == minimum
    scale = np.where(flat, 1.0, bound / np.where(flat, 1.0, maximum - minimum)).astype(x.dtype)
    minimum = np.where(flat, 0.0, minimum).astype(x.dtype)
    return np.clip((x - minimum) * scale, 0, bound).astype(arr.dtype)


def invert(img):
    """``max - img``."""
    if not _is_tensor(img):
        _check_image(img)
        return FP.ImageOps.invert(img)
    _check_channels(img, [1, 3])
    return _apply(img, lambda arr: (FT.max_value(arr.dtype) - arr).astype(arr.dtype))


def posterize(img, bits):
    """Keep the `bits` high bits of each uint8 channel."""
    if not (0 <= bits <= 8):
        raise ValueError(f"The number if bits should be between 0 and 8. Got {bits}")
    if not _is_tensor(img):
        _check_image(img)
        return FP.ImageOps.posterize(img, bits)
    if img.dtype != _dtype.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    mask = -int(2 ** (8 - bits))
    return _apply(img, lambda arr: arr & np.uint8(mask & 0xFF))


def solarize(img, threshold):
    """Invert the pixels at or above `threshold`."""
    if not _is_tensor(img):
        _check_image(img)
        return FP.ImageOps.solarize(img, threshold)
    if threshold > FT.max_value(_np_dtype(img.dtype)):
        raise TypeError("Threshold should be less than bound of img.")
    return _apply(img, lambda arr: np.where(
        arr >= threshold, (FT.max_value(arr.dtype) - arr).astype(arr.dtype), arr))


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian kernel (odd sizes); sigma defaults to
    ``0.3 * ((k - 1) * 0.5 - 1) + 0.8``. Borders are reflected."""
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got "
                        f"{type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got "
                         f"{len(kernel_size)}")
    for ksize in kernel_size:
        if ksize % 2 == 0 or ksize < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got "
                             f"{kernel_size}")
    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got "
                        f"{type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    if _is_tensor(img):
        return _apply(img, FT.gaussian_blur, kernel_size, sigma)
    _check_image(img)
    blurred = gaussian_blur(pil_to_tensor(img), kernel_size, sigma)
    return to_pil_image(blurred, mode=img.mode)


def erase(img, i, j, h, w, v, inplace=False):
    """Set the ``h x w`` box at (i, j) of a tensor image to `v` (a tensor broadcast to the
    box)."""
    if not _is_tensor(img):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    if not inplace:
        img = img.clone()
    img[..., i:i + h, j:j + w] = v
    return img
