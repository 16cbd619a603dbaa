"""Colour v2 functionals (tensor kernels with torchvision v2's rounding; PIL images go to
ember's v1 PIL kernels)."""
from ..... import cat, float32, int64, ones_like, tensor, uint8, where, zeros_like
from ....._tensor import Tensor
from .... import tv_tensors
from ....transforms import functional as V1
from ....transforms import _functional_tensor as FT
from ._utils import _dispatch, _register, _register_pil

__all__ = ["adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
           "adjust_gamma", "adjust_sharpness", "autocontrast", "equalize", "invert",
           "posterize", "solarize", "rgb_to_grayscale", "to_grayscale", "grayscale_to_rgb",
           "permute_channels"]

_IMAGE_TYPES = (Tensor, tv_tensors.Image, tv_tensors.Video)


# torchvision's v2 tensor kernels differ from its v1 ones in rounding: integer results
# are truncated (a cast), not rounded, and grayscale references are floored. These are
# written here with ember ops; PIL inputs use Pillow's enhancers, as torchvision's do.


def _bound(dtype):
    return float(FT.max_value(V1._np_dtype(dtype)))


def _check_c(image, permitted=(1, 3)):
    c = image.shape[-3]
    if c not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {list(permitted)}, "
                        f"but found {c}")
    return c


def _blend(image1, image2, ratio):
    """ratio * image1 + (1 - ratio) * image2, clamped to the dtype's range and cast back."""
    ratio = float(ratio)
    out = image1.mul(ratio).add(image2, alpha=1.0 - ratio).clamp(0, _bound(image1.dtype))
    return out if image1.is_floating_point() else out.to(image1.dtype)


def _gray(image):
    """The grayscale image as float (floored for integer images)."""
    r, g, b = image.unbind(dim=-3)
    gray = r.mul(0.2989).add(g, alpha=0.587).add(b, alpha=0.114).unsqueeze(-3)
    return gray if image.is_floating_point() else gray.floor()


def _functional(name, doc):
    def functional(inpt, *args, **kwargs):
        return _dispatch(functional, inpt, *args, **kwargs)
    functional.__name__ = functional.__qualname__ = name
    functional.__doc__ = doc
    return functional


def _kernels(functional, image_kernel, pil_kernel):
    _register(functional, *_IMAGE_TYPES)(image_kernel)
    _register_pil(functional)(pil_kernel)
    return image_kernel


adjust_brightness = _functional("adjust_brightness",
                                "img * brightness_factor, clamped to the dtype's range.")


def adjust_brightness_image(image, brightness_factor):
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    _check_c(image)
    out = image.mul(brightness_factor).clamp(0, _bound(image.dtype))
    return out if image.is_floating_point() else out.to(image.dtype)


_kernels(adjust_brightness, adjust_brightness_image, V1.adjust_brightness)
adjust_contrast = _functional("adjust_contrast", "Blend with the mean of the grayscale image: "
                              "factor * img + (1 - factor) * mean.")


def adjust_contrast_image(image, contrast_factor):
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    c = _check_c(image)
    if c == 3:
        gray = _gray(image)
    else:
        gray = image if image.is_floating_point() else image.to(float32)
    return _blend(image, gray.mean(dim=(-3, -2, -1), keepdim=True), contrast_factor)


_kernels(adjust_contrast, adjust_contrast_image, V1.adjust_contrast)
adjust_saturation = _functional("adjust_saturation",
                                "Blend with the grayscale image by saturation_factor.")


def adjust_saturation_image(image, saturation_factor):
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    if _check_c(image) == 1:
        return image
    return _blend(image, _gray(image), saturation_factor)


_kernels(adjust_saturation, adjust_saturation_image, V1.adjust_saturation)
adjust_hue = _functional("adjust_hue", "Shift the hue (HSV) by hue_factor in [-0.5, 0.5] "
                         "turns, computed on float32 values.")


def adjust_hue_image(image, hue_factor):
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _check_c(image) == 1 or image.numel() == 0:
        return image
    from ._misc import to_dtype_image
    as_float = to_dtype_image(image, float32, scale=True)
    return to_dtype_image(V1.adjust_hue(as_float, hue_factor), image.dtype, scale=True)


_kernels(adjust_hue, adjust_hue_image, V1.adjust_hue)
adjust_gamma = _functional("adjust_gamma", "gain * img ** gamma on values scaled to [0, 1].")


def adjust_gamma_image(image, gamma, gain=1.0):
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    from ._misc import to_dtype_image
    out = to_dtype_image(image, float32, scale=True).pow(gamma) \
        if not image.is_floating_point() else image.pow(gamma)
    if gain != 1.0:
        out = out.mul(gain).clamp(0.0, 1.0)
    return to_dtype_image(out, image.dtype, scale=True)


_kernels(adjust_gamma, adjust_gamma_image, V1.adjust_gamma)
adjust_sharpness = _functional("adjust_sharpness",
                               "Blend with a smoothed image (3x3 kernel [1 1 1; 1 5 1; 1 1 1] "
                               "/ 13, borders kept) by sharpness_factor.")


def adjust_sharpness_image(image, sharpness_factor):
    c, h, w = image.shape[-3:]
    if c not in (1, 3):
        raise TypeError(f"Input image tensor can have 1 or 3 channels, but found {c}")
    if sharpness_factor < 0:
        raise ValueError(f"sharpness_factor ({sharpness_factor}) is not non-negative.")
    if image.numel() == 0 or h <= 2 or w <= 2:
        return image
    from .....nn.functional import conv2d
    fp = image.is_floating_point()
    kdtype = image.dtype if fp else float32
    a, b = 1.0 / 13.0, 5.0 / 13.0
    kernel = tensor([[a, a, a], [a, b, a], [a, a, a]], dtype=kdtype,
                    device=image.device).expand(c, 1, 3, 3)
    out = image.to(kdtype).clone().reshape(-1, c, h, w)
    blurred = conv2d(out, kernel, groups=c)
    if not fp:
        blurred = blurred.round()
    view = out[..., 1:-1, 1:-1]
    view.add_(blurred.sub(view), alpha=1.0 - sharpness_factor)
    out = out.clamp(0, _bound(image.dtype)).reshape(image.shape)
    return out if fp else out.to(image.dtype)


_kernels(adjust_sharpness, adjust_sharpness_image, V1.adjust_sharpness)
autocontrast = _functional("autocontrast", "Stretch each channel linearly to the full range.")


def autocontrast_image(image):
    _check_c(image)
    if image.numel() == 0:
        return image
    bound = _bound(image.dtype)
    x = image if image.is_floating_point() else image.to(float32)
    lo = x.amin(dim=(-2, -1), keepdim=True)
    hi = x.amax(dim=(-2, -1), keepdim=True)
    flat = hi == lo
    inv_scale = where(flat, ones_like(hi), (hi - lo) * (1.0 / bound))
    lo = where(flat, zeros_like(lo), lo)
    return x.sub(lo).div(inv_scale).clamp(0, bound).to(image.dtype)


_kernels(autocontrast, autocontrast_image, V1.autocontrast)
invert = _functional("invert", "max_value - img.")


def invert_image(image):
    if image.is_floating_point():
        return 1.0 - image
    if image.dtype is uint8:
        return image.bitwise_not()
    from ._misc import _value_bits
    return image.bitwise_xor((1 << _value_bits(image.dtype)) - 1)


_kernels(invert, invert_image, V1.invert)
posterize = _functional("posterize", "Keep the top `bits` bits of each value (float images: "
                        "floor(img * 2^bits) / 2^bits).")


def posterize_image(image, bits):
    if not isinstance(bits, int) or not 0 <= bits <= 8:
        raise TypeError(f"bits must be a positive integer in the range [0, 8], got {bits} "
                        f"instead.")
    if image.is_floating_point():
        levels = 1 << bits
        return image.mul(levels).floor().clamp(0, levels - 1).mul(1.0 / levels)
    from ._misc import _value_bits
    nbits = _value_bits(image.dtype)
    if bits >= nbits:
        return image
    return image & (((1 << bits) - 1) << (nbits - bits))


_kernels(posterize, posterize_image, V1.posterize)
solarize = _functional("solarize", "Invert the values >= threshold.")


def solarize_image(image, threshold):
    if threshold > _bound(image.dtype):
        raise TypeError(f"Threshold should be less or equal the maximum value of the dtype, but "
                        f"got {threshold}")
    return where(image >= threshold, invert_image(image), image)


_kernels(solarize, solarize_image, V1.solarize)
adjust_brightness_video = adjust_brightness_image
adjust_contrast_video = adjust_contrast_image
adjust_saturation_video = adjust_saturation_image
adjust_hue_video = adjust_hue_image
adjust_gamma_video = adjust_gamma_image
adjust_sharpness_video = adjust_sharpness_image
autocontrast_video = autocontrast_image
invert_video = invert_image
posterize_video = posterize_image
solarize_video = solarize_image


def rgb_to_grayscale(inpt, num_output_channels=1):
    """0.2989 R + 0.587 G + 0.114 B, repeated to num_output_channels (1 or 3)."""
    return _dispatch(rgb_to_grayscale, inpt, num_output_channels=num_output_channels)


@_register(rgb_to_grayscale, Tensor, tv_tensors.Image)
def rgb_to_grayscale_image(image, num_output_channels=1):
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels}.")
    if image.shape[-3] == 1:
        if num_output_channels == 1:
            return image.clone()
        return grayscale_to_rgb_image(image)
    return V1.rgb_to_grayscale(image, num_output_channels)


_register_pil(rgb_to_grayscale)(V1.to_grayscale)
to_grayscale = rgb_to_grayscale


def grayscale_to_rgb(inpt):
    """A one-channel image repeated to three channels (others unchanged)."""
    return _dispatch(grayscale_to_rgb, inpt)


@_register(grayscale_to_rgb, Tensor, tv_tensors.Image)
def grayscale_to_rgb_image(image):
    if image.shape[-3] >= 3:
        return image
    reps = [1] * image.ndim
    reps[-3] = 3
    return image.repeat(reps)


@_register_pil(grayscale_to_rgb)
def _grayscale_to_rgb_pil(image):
    return image.convert("RGB")


def permute_channels(inpt, permutation):
    """The channels reordered: output channel i is input channel permutation[i]."""
    return _dispatch(permute_channels, inpt, permutation=permutation)


@_register(permute_channels, *_IMAGE_TYPES)
def permute_channels_image(image, permutation):
    permutation = [int(p) for p in permutation]
    channels = image.shape[-3]
    if len(permutation) != channels:
        raise ValueError(f"Length of permutation does not match number of channels: "
                         f"{len(permutation)} != {channels}")
    if image.numel() == 0:
        return image
    return image[..., permutation, :, :]


permute_channels_video = permute_channels_image


@_register_pil(permute_channels)
def _permute_channels_pil(image, permutation):
    from ._type_conversion import pil_to_tensor, to_pil_image
    return to_pil_image(permute_channels_image(pil_to_tensor(image), permutation))


def equalize(inpt):
    """Histogram equalisation of each channel (on uint8 values): each value v maps to
    (cdf(v - 1) + step // 2) // step with step = (pixels other than the last value's) // 255;
    a channel with step 0 is unchanged."""
    return _dispatch(equalize, inpt)


@_register(equalize, *_IMAGE_TYPES)
def equalize_image(image):
    if image.numel() == 0:
        return image
    from ._misc import to_dtype_image
    out_dtype = image.dtype
    img = to_dtype_image(image, uint8, scale=True)
    flat = img.flatten(-2).to(int64)                       # (..., C, H*W)
    hist = flat.new_zeros(tuple(flat.shape[:-1]) + (256,))
    hist.scatter_add_(-1, flat, flat.new_ones(()).expand_as(flat))
    cdf = hist.cumsum(-1)
    last = cdf.argmax(-1, keepdim=True)                    # the highest value present
    step = (flat.shape[-1] - hist.gather(-1, last)).div(255, rounding_mode="floor")
    lut = (cdf[..., :-1] + step // 2).div(step.clamp(min=1), rounding_mode="floor")
    lut = cat([lut.new_zeros(tuple(lut.shape[:-1]) + (1,)), lut.clamp(0, 255)], dim=-1)
    equalized = lut.gather(-1, flat).to(uint8).view(img.shape)
    out = where(step.ne(0).unsqueeze(-1), equalized, img)
    return to_dtype_image(out, out_dtype, scale=True)


equalize_video = equalize_image


@_register_pil(equalize)
def _equalize_pil(image):
    from PIL import ImageOps
    return ImageOps.equalize(image)
