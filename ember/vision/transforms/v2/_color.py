"""Colour v2 transforms."""
import collections.abc

from .... import empty, rand, randperm
from . import functional as F
from ._transform import Transform, _RandomApplyTransform
from ._utils import query_chw

__all__ = ["Grayscale", "RandomGrayscale", "RGB", "ColorJitter", "RandomChannelPermutation",
           "RandomPhotometricDistort", "RandomEqualize", "RandomInvert", "RandomPosterize",
           "RandomSolarize", "RandomAutocontrast", "RandomAdjustSharpness"]


class Grayscale(Transform):
    """Convert to grayscale with num_output_channels (1 or 3)."""

    def __init__(self, num_output_channels=1):
        super().__init__()
        self.num_output_channels = num_output_channels

    def transform(self, inpt, params):
        return self._call_kernel(F.rgb_to_grayscale, inpt,
                                 num_output_channels=self.num_output_channels)


class RandomGrayscale(_RandomApplyTransform):
    """Grayscale with probability p, keeping the number of channels."""

    def __init__(self, p=0.1):
        super().__init__(p=p)

    def make_params(self, flat_inputs):
        num_input_channels, *_ = query_chw(flat_inputs)
        return dict(num_input_channels=num_input_channels)

    def transform(self, inpt, params):
        return self._call_kernel(F.rgb_to_grayscale, inpt,
                                 num_output_channels=params["num_input_channels"])


class RGB(Transform):
    """Grayscale images to three channels (RGB ones unchanged)."""

    def transform(self, inpt, params):
        return self._call_kernel(F.grayscale_to_rgb, inpt)


def _uniform(left, right):
    return float(empty(1).uniform_(left, right).item())


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue changes, in a random order. Each
    argument is a max deviation v (the factor drawn from [1 - v, 1 + v], hue from [-v, v])
    or a (min, max) pair."""

    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None):
        super().__init__()
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5),
                                     clip_first_on_zero=False)

    def _check_input(self, value, name, center=1.0, bound=(0, float("inf")),
                     clip_first_on_zero=True):
        if value is None:
            return None
        if isinstance(value, (int, float)):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            value = [center - value, center + value]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, collections.abc.Sequence) and len(value) == 2:
            value = [float(v) for v in value]
        else:
            raise TypeError(f"{name}={value} should be a single number or a sequence with "
                            f"length 2.")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"{name} values should be between {bound} and increasing, but got "
                             f"{value}.")
        return None if value[0] == value[1] == center else (float(value[0]), float(value[1]))

    @staticmethod
    def _generate_value(left, right):
        return _uniform(left, right)

    def make_params(self, flat_inputs):
        fn_idx = randperm(4)
        b = None if self.brightness is None else _uniform(*self.brightness)
        c = None if self.contrast is None else _uniform(*self.contrast)
        s = None if self.saturation is None else _uniform(*self.saturation)
        h = None if self.hue is None else _uniform(*self.hue)
        return dict(fn_idx=fn_idx, brightness_factor=b, contrast_factor=c, saturation_factor=s,
                    hue_factor=h)

    def transform(self, inpt, params):
        output = inpt
        steps = {0: (F.adjust_brightness, "brightness_factor"),
                 1: (F.adjust_contrast, "contrast_factor"),
                 2: (F.adjust_saturation, "saturation_factor"),
                 3: (F.adjust_hue, "hue_factor")}
        for fn_id in params["fn_idx"]:
            functional, key = steps[int(fn_id)]
            if params[key] is not None:
                output = self._call_kernel(functional, output, **{key: params[key]})
        return output


class RandomChannelPermutation(Transform):
    """The channels in a random order."""

    def make_params(self, flat_inputs):
        num_channels, *_ = query_chw(flat_inputs)
        return dict(permutation=randperm(num_channels))

    def transform(self, inpt, params):
        return self._call_kernel(F.permute_channels, inpt, params["permutation"])


class RandomPhotometricDistort(Transform):
    """SSD's photometric distortions: each of brightness, contrast, saturation, hue
    (factors from the given ranges) and a channel permutation applied with probability p;
    contrast before or after the others with equal chance."""

    def __init__(self, brightness=(0.875, 1.125), contrast=(0.5, 1.5), saturation=(0.5, 1.5),
                 hue=(-0.05, 0.05), p=0.5):
        super().__init__()
        self.brightness = brightness
        self.contrast = contrast
        self.hue = hue
        self.saturation = saturation
        self.p = p

    def make_params(self, flat_inputs):
        num_channels, *_ = query_chw(flat_inputs)
        params = {}
        for key, rng in [("brightness_factor", self.brightness),
                         ("contrast_factor", self.contrast),
                         ("saturation_factor", self.saturation), ("hue_factor", self.hue)]:
            params[key] = _uniform(rng[0], rng[1]) if rand(1) < self.p else None
        params["contrast_before"] = bool(rand(()) < 0.5)
        params["channel_permutation"] = randperm(num_channels) if rand(1) < self.p else None
        return params

    def transform(self, inpt, params):
        if params["brightness_factor"] is not None:
            inpt = self._call_kernel(F.adjust_brightness, inpt,
                                     brightness_factor=params["brightness_factor"])
        if params["contrast_factor"] is not None and params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt,
                                     contrast_factor=params["contrast_factor"])
        if params["saturation_factor"] is not None:
            inpt = self._call_kernel(F.adjust_saturation, inpt,
                                     saturation_factor=params["saturation_factor"])
        if params["hue_factor"] is not None:
            inpt = self._call_kernel(F.adjust_hue, inpt, hue_factor=params["hue_factor"])
        if params["contrast_factor"] is not None and not params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt,
                                     contrast_factor=params["contrast_factor"])
        if params["channel_permutation"] is not None:
            inpt = self._call_kernel(F.permute_channels, inpt,
                                     permutation=params["channel_permutation"])
        return inpt


class RandomEqualize(_RandomApplyTransform):
    """Histogram equalisation with probability p."""

    def transform(self, inpt, params):
        return self._call_kernel(F.equalize, inpt)


class RandomInvert(_RandomApplyTransform):
    """Invert the colours with probability p."""

    def transform(self, inpt, params):
        return self._call_kernel(F.invert, inpt)


class RandomPosterize(_RandomApplyTransform):
    """Keep `bits` bits per channel, with probability p."""

    def __init__(self, bits, p=0.5):
        super().__init__(p=p)
        self.bits = bits

    def transform(self, inpt, params):
        return self._call_kernel(F.posterize, inpt, bits=self.bits)


class RandomSolarize(_RandomApplyTransform):
    """Invert the values above threshold, with probability p."""

    def __init__(self, threshold, p=0.5):
        super().__init__(p=p)
        self.threshold = threshold

    def transform(self, inpt, params):
        return self._call_kernel(F.solarize, inpt, threshold=self.threshold)


class RandomAutocontrast(_RandomApplyTransform):
    """Autocontrast with probability p."""

    def transform(self, inpt, params):
        return self._call_kernel(F.autocontrast, inpt)


class RandomAdjustSharpness(_RandomApplyTransform):
    """Sharpen by sharpness_factor with probability p."""

    def __init__(self, sharpness_factor, p=0.5):
        super().__init__(p=p)
        self.sharpness_factor = sharpness_factor

    def transform(self, inpt, params):
        return self._call_kernel(F.adjust_sharpness, inpt,
                                 sharpness_factor=self.sharpness_factor)


def _expose_v1_get_params():
    """ColorJitter.get_params of v1, as torchvision's v2 class exposes it."""
    from .. import transforms as v1
    ColorJitter.get_params = staticmethod(v1.ColorJitter.get_params)


_expose_v1_get_params()
