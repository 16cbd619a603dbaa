"""normalize, gaussian_blur, gaussian_noise, to_dtype, sanitize_bounding_boxes, erase."""
from ..... import as_tensor, clamp, float32, int16, randn_like, uint8
from ....._tensor import Tensor
from .... import tv_tensors
from ....transforms import functional as V1
from ....transforms import _functional_tensor as FT
from ._meta import _convert_plain, _format
from ._utils import _dispatch, _register, _register_pil, is_pure_tensor

__all__ = ["normalize", "normalize_image", "normalize_video", "gaussian_blur",
           "gaussian_blur_image", "gaussian_blur_video", "gaussian_noise",
           "gaussian_noise_image", "gaussian_noise_video", "to_dtype", "to_dtype_image",
           "to_dtype_video", "convert_image_dtype", "sanitize_bounding_boxes", "sanitize_keypoints",
           "erase",
           "erase_image", "erase_video"]

_IMAGE_TYPES = (Tensor, tv_tensors.Image, tv_tensors.Video)


def normalize(inpt, mean, std, inplace=False):
    """(img - mean) / std per channel, on float images."""
    return _dispatch(normalize, inpt, mean=mean, std=std, inplace=inplace)


@_register(normalize, *_IMAGE_TYPES)
def normalize_image(image, mean, std, inplace=False):
    if not image.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {image.dtype}.")
    if image.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"{tuple(image.shape)}.")
    if isinstance(std, (tuple, list)):
        divzero = not all(std)
    elif isinstance(std, (int, float)):
        divzero = std == 0
    else:
        divzero = False
    if divzero:
        raise ValueError("std evaluated to zero, leading to division by zero.")
    mean = as_tensor(mean, dtype=image.dtype, device=image.device)
    std = as_tensor(std, dtype=image.dtype, device=image.device)
    if mean.ndim == 1:
        mean = mean.view(-1, 1, 1)
    if std.ndim == 1:
        std = std.view(-1, 1, 1)
    image = image.sub_(mean) if inplace else image.sub(mean)
    return image.div_(std)


normalize_video = normalize_image


def gaussian_blur(inpt, kernel_size, sigma=None):
    """Blur with a separable Gaussian kernel of `kernel_size` (odd) and `sigma` (default
    0.3 * ((k - 1) * 0.5 - 1) + 0.8, as torchvision: k * 0.15 + 0.35); reflect padding."""
    return _dispatch(gaussian_blur, inpt, kernel_size=kernel_size, sigma=sigma)


@_register(gaussian_blur, *_IMAGE_TYPES)
def gaussian_blur_image(image, kernel_size, sigma=None):
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    elif len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got "
                         f"{len(kernel_size)}")
    for k in kernel_size:
        if k % 2 == 0 or k < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got "
                             f"{kernel_size}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    elif isinstance(sigma, (list, tuple)):
        if len(sigma) == 1:
            sigma = [sigma[0], sigma[0]]
        elif len(sigma) != 2:
            raise ValueError(f"If sigma is a sequence, its length should be 2. Got "
                             f"{len(sigma)}")
    elif isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    else:
        raise TypeError(f"sigma should be either float or sequence of floats. Got "
                        f"{type(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    if image.numel() == 0:
        return image
    return V1.gaussian_blur(image, list(kernel_size), [float(s) for s in sigma])


@_register_pil(gaussian_blur)
def _gaussian_blur_pil(image, kernel_size, sigma=None):
    from ._type_conversion import pil_to_tensor, to_pil_image
    return to_pil_image(gaussian_blur_image(pil_to_tensor(image), kernel_size, sigma),
                        mode=image.mode)


gaussian_blur_video = gaussian_blur_image


def gaussian_noise(inpt, mean=0.0, sigma=0.1, clip=True):
    """img + N(mean, sigma^2) noise (drawn from the global generator), clipped to the
    value range when clip; uint8 images get the noise scaled by 255."""
    return _dispatch(gaussian_noise, inpt, mean=mean, sigma=sigma, clip=clip)


@_register(gaussian_noise, *_IMAGE_TYPES)
def gaussian_noise_image(image, mean=0.0, sigma=0.1, clip=True):
    if sigma < 0:
        raise ValueError(f"sigma shouldn't be negative. Got {sigma}")
    if image.is_floating_point():
        out = image + (mean + randn_like(image) * sigma)
        return clamp(out, 0, 1) if clip else out
    if image.dtype is uint8:
        noise = (mean * 255 + randn_like(image, dtype=float32) * (sigma * 255)).to(int16)
        out = image + noise
        if clip:
            out = clamp(out, 0, 255)
        return out.to(uint8)
    raise ValueError(f"Input tensor is expected to be in uint8 or float dtype, got "
                     f"dtype={image.dtype}")


gaussian_noise_video = gaussian_noise_image


def to_dtype(inpt, dtype=float32, scale=False):
    """Cast to `dtype`; with scale, images' values are rescaled between the dtypes'
    ranges (uint8 [0, 255] <-> float [0, 1]; integer to integer by bit shifts)."""
    return _dispatch(to_dtype, inpt, dtype=dtype, scale=scale)


_VALUE_BITS = {"uint8": 8, "int8": 7, "int16": 15, "uint16": 16, "int32": 31, "int64": 63}


def _value_bits(dtype):
    try:
        return _VALUE_BITS[str(dtype).rpartition(".")[2]]
    except KeyError:
        raise TypeError(f"Number of value bits is only defined for integer dtypes, but got "
                        f"{dtype}.") from None


@_register(to_dtype, Tensor, tv_tensors.Image, tv_tensors.Video)
def to_dtype_image(image, dtype=float32, scale=False):
    if image.dtype is dtype:
        return image
    if not scale:
        return image.to(dtype)
    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        name, target = str(image.dtype), str(dtype)
        if name.endswith("float32") and target.endswith(("int32", "int64")) or \
                name.endswith("float64") and target.endswith("int64"):
            raise RuntimeError(f"The conversion from {image.dtype} to {dtype} cannot be "
                               f"performed safely.")
        eps = 1e-3
        return image.mul(float(FT.max_value(V1._np_dtype(dtype))) + 1.0 - eps).to(dtype)
    if dtype.is_floating_point:
        return image.to(dtype).mul_(1.0 / FT.max_value(V1._np_dtype(image.dtype)))
    bits_in, bits_out = _value_bits(image.dtype), _value_bits(dtype)
    shift = abs(bits_in - bits_out)
    if bits_in > bits_out:
        if str(image.dtype).endswith("uint16"):
            return (image / 2 ** shift).to(dtype)
        return image.bitwise_right_shift(shift).to(dtype)
    if str(dtype).endswith("uint16"):
        return image.to(dtype) * 2 ** shift
    return image.to(dtype).bitwise_left_shift(shift)


to_dtype_video = to_dtype_image


def _to_dtype_other(inpt, dtype=float32, scale=False):
    # masks and boxes are cast, never rescaled
    return inpt.to(dtype)


_register(to_dtype, tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints,
          tv_tensor_wrapper=False)(_to_dtype_other)


def convert_image_dtype(image, dtype=float32):
    """to_dtype(image, dtype, scale=True) (the v1 name)."""
    return to_dtype_image(image, dtype=dtype, scale=True)


def _sanitize_mask(boxes, fmt, canvas_size, min_size, min_area):
    """Boxes kept: width and height >= min_size, area >= min_area, corners inside the
    canvas (rotated boxes: their four corners; sides measured along the box)."""
    rotated = tv_tensors.is_rotated_bounding_format(fmt)
    corners = _convert_plain(boxes, fmt, tv_tensors.BoundingBoxFormat.XYXYXYXY if rotated
                             else tv_tensors.BoundingBoxFormat.XYXY)
    if rotated:
        ws = ((corners[..., 0] - corners[..., 2]) ** 2 +
              (corners[..., 1] - corners[..., 3]) ** 2).sqrt()
        hs = ((corners[..., 3] - corners[..., 5]) ** 2 +
              (corners[..., 4] - corners[..., 6]) ** 2).sqrt()
    else:
        ws, hs = corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 1]
    h, w = canvas_size
    valid = (ws >= min_size) & (hs >= min_size) & (corners >= 0).all(dim=-1) & \
        (ws * hs >= min_area)
    valid &= (corners[:, 0] <= w) & (corners[:, 2] <= w)
    valid &= (corners[:, 1] <= h) & (corners[:, 3] <= h)
    if rotated:
        valid &= (corners[..., 4] <= w) & (corners[..., 5] <= h)
        valid &= (corners[..., 6] <= w) & (corners[..., 7] <= h)
    return valid


def sanitize_bounding_boxes(bounding_boxes, format=None, canvas_size=None, min_size=1.0,
                            min_area=1.0):
    """(the valid boxes, the boolean mask of which were kept)."""
    if is_pure_tensor(bounding_boxes):
        if format is None or canvas_size is None:
            raise ValueError(f"format and canvas_size cannot be None if bounding_boxes is a "
                             f"pure tensor. Got format={format} and canvas_size={canvas_size}."
                             f"Set those to appropriate values or pass bounding_boxes as a "
                             f"tv_tensors.BoundingBoxes object.")
        valid = _sanitize_mask(bounding_boxes, _format(format), canvas_size, min_size, min_area)
        return bounding_boxes[valid], valid
    if not isinstance(bounding_boxes, tv_tensors.BoundingBoxes):
        raise ValueError("bounding_boxes must be a tv_tensors.BoundingBoxes instance or a pure "
                         "tensor.")
    if format is not None or canvas_size is not None:
        raise ValueError(f"format and canvas_size must be None when bounding_boxes is a "
                         f"tv_tensors.BoundingBoxes instance. Got format={format} and "
                         f"canvas_size={canvas_size}. Leave those to None or pass "
                         f"bounding_boxes as a pure tensor.")
    plain = bounding_boxes.as_subclass(Tensor)
    valid = _sanitize_mask(plain, bounding_boxes.format, bounding_boxes.canvas_size, min_size,
                           min_area)
    return tv_tensors.wrap(plain[valid], like=bounding_boxes), valid


def _sanitize_points_mask(points, canvas_size):
    """Instances kept: all their points inside the canvas (0 <= x < W, 0 <= y < H)."""
    h, w = canvas_size
    x, y = points[..., 0], points[..., 1]
    valid = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    return valid.flatten(start_dim=1).all(dim=1) if valid.ndim > 1 else valid


def sanitize_keypoints(key_points, canvas_size=None):
    """(the key-point instances inside the canvas, the boolean mask of which were kept)."""
    if is_pure_tensor(key_points):
        if canvas_size is None:
            raise ValueError("canvas_size cannot be None if key_points is a pure tensor. Set it "
                             "to an appropriate value or pass key_points as a "
                             "tv_tensors.KeyPoints object.")
        valid = _sanitize_points_mask(key_points, canvas_size)
        return key_points[valid], valid
    if not isinstance(key_points, tv_tensors.KeyPoints):
        raise ValueError("key_points must be a tv_tensors.KeyPoints instance or a pure tensor.")
    if canvas_size is not None:
        raise ValueError(f"canvas_size must be None when key_points is a tv_tensors.KeyPoints "
                         f"instance. Got canvas_size={canvas_size}. Leave it to None or pass "
                         f"key_points as a pure tensor.")
    plain = key_points.as_subclass(Tensor)
    valid = _sanitize_points_mask(plain, key_points.canvas_size)
    return tv_tensors.wrap(plain[valid], like=key_points), valid


def erase(inpt, i, j, h, w, v, inplace=False):
    """The region rows i:i+h, columns j:j+w set to v."""
    return _dispatch(erase, inpt, i=i, j=j, h=h, w=w, v=v, inplace=inplace)


@_register(erase, *_IMAGE_TYPES)
def erase_image(image, i, j, h, w, v, inplace=False):
    if not inplace:
        image = image.clone()
    image[..., i:i + h, j:j + w] = v
    return image


erase_video = erase_image


@_register_pil(erase)
def _erase_pil(image, i, j, h, w, v, inplace=False):
    from ._type_conversion import pil_to_tensor, to_pil_image
    t = erase_image(pil_to_tensor(image), i, j, h, w, v)
    return to_pil_image(t, mode=image.mode)
