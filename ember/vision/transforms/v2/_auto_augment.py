"""AutoAugment, RandAugment, TrivialAugmentWide, AugMix: a random chain of image operations
(shear, translate, rotate, colour ops ...) with magnitudes taken from a binned range.

Every random choice is drawn from the global generator in torchvision's order, so a
seeded program picks the same operations and magnitudes."""
import enum
import math

from .... import arange, linspace, rand, randint, tensor
from ....utils._pytree import tree_flatten, tree_unflatten
from ...._tensor import Tensor
from ... import tv_tensors
from ...transforms import _functional_tensor as FT
from ...transforms.functional import _np_dtype
from . import functional as F
from ._transform import Transform
from ._utils import _PIL, _get_fill, _setup_fill_arg, check_type, is_pure_tensor

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"]


class AutoAugmentPolicy(enum.Enum):
    """The learned AutoAugment policies: on ImageNet, CIFAR10 and SVHN."""
    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


# ---- magnitude ranges: name -> (bins, height, width) -> magnitudes (None: no magnitude),
# and whether the sign is drawn

def _lin(low, high):
    return lambda bins, h, w: linspace(low, high, bins)


def _posterize_bits(top, spread):
    # top - i / ((bins - 1) / spread), rounded: bit depths from `top` down
    return lambda bins, h, w: (top - arange(bins) / ((bins - 1) / spread)).round().int()


def _none(bins, h, w):
    return None


_COLOUR_SPACE = {
    "Brightness": (_lin(0.0, 0.9), True), "Color": (_lin(0.0, 0.9), True),
    "Contrast": (_lin(0.0, 0.9), True), "Sharpness": (_lin(0.0, 0.9), True),
}
_AUTO_SPACE = {
    "ShearX": (_lin(0.0, 0.3), True), "ShearY": (_lin(0.0, 0.3), True),
    "TranslateX": (lambda bins, h, w: linspace(0.0, 150.0 / 331.0 * w, bins), True),
    "TranslateY": (lambda bins, h, w: linspace(0.0, 150.0 / 331.0 * h, bins), True),
    "Rotate": (_lin(0.0, 30.0), True), **_COLOUR_SPACE,
    "Posterize": (_posterize_bits(8, 4), False), "Solarize": (_lin(1.0, 0.0), False),
    "AutoContrast": (_none, False), "Equalize": (_none, False), "Invert": (_none, False),
}
_RAND_SPACE = {"Identity": (_none, False),
               **{k: v for k, v in _AUTO_SPACE.items() if k != "Invert"}}
_WIDE_SPACE = {
    "Identity": (_none, False), "ShearX": (_lin(0.0, 0.99), True),
    "ShearY": (_lin(0.0, 0.99), True), "TranslateX": (_lin(0.0, 32.0), True),
    "TranslateY": (_lin(0.0, 32.0), True), "Rotate": (_lin(0.0, 135.0), True),
    "Brightness": (_lin(0.0, 0.99), True), "Color": (_lin(0.0, 0.99), True),
    "Contrast": (_lin(0.0, 0.99), True), "Sharpness": (_lin(0.0, 0.99), True),
    "Posterize": (_posterize_bits(8, 6), False), "Solarize": (_lin(1.0, 0.0), False),
    "AutoContrast": (_none, False), "Equalize": (_none, False),
}
_AUGMIX_PARTIAL_SPACE = {
    "ShearX": (_lin(0.0, 0.3), True), "ShearY": (_lin(0.0, 0.3), True),
    "TranslateX": (lambda bins, h, w: linspace(0.0, w / 3.0, bins), True),
    "TranslateY": (lambda bins, h, w: linspace(0.0, h / 3.0, bins), True),
    "Rotate": (_lin(0.0, 30.0), True), "Posterize": (_posterize_bits(4, 4), False),
    "Solarize": (_lin(1.0, 0.0), False), "AutoContrast": (_none, False),
    "Equalize": (_none, False),
}
_AUGMIX_SPACE = {**_AUGMIX_PARTIAL_SPACE, **_COLOUR_SPACE}


def _policy_table(text):
    """Sub-policies from lines 'Op prob mag, Op prob mag' (mag '-' for none)."""
    table = []
    for line in text.strip().splitlines():
        pair = []
        for part in line.split(","):
            name, prob, mag = part.split()
            pair.append((name, float(prob), None if mag == "-" else int(mag)))
        table.append(tuple(pair))
    return table


# the learned policies of Cubuk et al., "AutoAugment" (2019), Appendix
_POLICIES = {
    AutoAugmentPolicy.IMAGENET: _policy_table("""
Posterize 0.4 8, Rotate 0.6 9
Solarize 0.6 5, AutoContrast 0.6 -
Equalize 0.8 -, Equalize 0.6 -
Posterize 0.6 7, Posterize 0.6 6
Equalize 0.4 -, Solarize 0.2 4
Equalize 0.4 -, Rotate 0.8 8
Solarize 0.6 3, Equalize 0.6 -
Posterize 0.8 5, Equalize 1.0 -
Rotate 0.2 3, Solarize 0.6 8
Equalize 0.6 -, Posterize 0.4 6
Rotate 0.8 8, Color 0.4 0
Rotate 0.4 9, Equalize 0.6 -
Equalize 0.0 -, Equalize 0.8 -
Invert 0.6 -, Equalize 1.0 -
Color 0.6 4, Contrast 1.0 8
Rotate 0.8 8, Color 1.0 2
Color 0.8 8, Solarize 0.8 7
Sharpness 0.4 7, Invert 0.6 -
ShearX 0.6 5, Equalize 1.0 -
Color 0.4 0, Equalize 0.6 -
Equalize 0.4 -, Solarize 0.2 4
Solarize 0.6 5, AutoContrast 0.6 -
Invert 0.6 -, Equalize 1.0 -
Color 0.6 4, Contrast 1.0 8
Equalize 0.8 -, Equalize 0.6 -"""),
    AutoAugmentPolicy.CIFAR10: _policy_table("""
Invert 0.1 -, Contrast 0.2 6
Rotate 0.7 2, TranslateX 0.3 9
Sharpness 0.8 1, Sharpness 0.9 3
ShearY 0.5 8, TranslateY 0.7 9
AutoContrast 0.5 -, Equalize 0.9 -
ShearY 0.2 7, Posterize 0.3 7
Color 0.4 3, Brightness 0.6 7
Sharpness 0.3 9, Brightness 0.7 9
Equalize 0.6 -, Equalize 0.5 -
Contrast 0.6 7, Sharpness 0.6 5
Color 0.7 7, TranslateX 0.5 8
Equalize 0.3 -, AutoContrast 0.4 -
TranslateY 0.4 3, Sharpness 0.2 6
Brightness 0.9 6, Color 0.2 8
Solarize 0.5 2, Invert 0.0 -
Equalize 0.2 -, AutoContrast 0.6 -
Equalize 0.2 -, Equalize 0.6 -
Color 0.9 9, Equalize 0.6 -
AutoContrast 0.8 -, Solarize 0.2 8
Brightness 0.1 3, Color 0.7 0
Solarize 0.4 5, AutoContrast 0.9 -
TranslateY 0.9 9, TranslateY 0.7 9
AutoContrast 0.9 -, Solarize 0.8 3
Equalize 0.8 -, Invert 0.1 -
TranslateY 0.7 9, AutoContrast 0.9 -"""),
    AutoAugmentPolicy.SVHN: _policy_table("""
ShearX 0.9 4, Invert 0.2 -
ShearY 0.9 8, Invert 0.7 -
Equalize 0.6 -, Solarize 0.6 6
Invert 0.9 -, Equalize 0.6 -
Equalize 0.6 -, Rotate 0.9 3
ShearX 0.9 4, AutoContrast 0.8 -
ShearY 0.9 8, Invert 0.4 -
ShearY 0.9 5, Solarize 0.2 6
Invert 0.9 -, AutoContrast 0.8 -
Equalize 0.6 -, Rotate 0.9 3
ShearX 0.9 4, Solarize 0.3 3
ShearY 0.8 8, Invert 0.7 -
Equalize 0.9 -, TranslateY 0.6 6
Invert 0.9 -, Equalize 0.6 -
Contrast 0.3 3, Rotate 0.8 4
Invert 0.8 -, TranslateY 0.0 2
ShearY 0.7 6, Solarize 0.4 8
Invert 0.6 -, Rotate 0.8 4
ShearY 0.3 7, TranslateX 0.9 3
ShearX 0.1 6, Invert 0.6 -
Solarize 0.7 2, TranslateY 0.6 7
ShearY 0.8 4, Invert 0.8 -
ShearX 0.7 9, TranslateY 0.8 3
ShearY 0.8 5, AutoContrast 0.7 -
ShearX 0.7 2, Invert 0.1 -"""),
}


def _apply_op(image, op, magnitude, interpolation, fill):
    """One named operation with its magnitude (shears are tangents, translations pixels,
    rotations degrees, colour ops 1 + magnitude, solarize a fraction of the range)."""
    fill_ = _get_fill(fill, type(image))
    no_shear = [0.0, 0.0]
    if op == "Identity":
        return image
    if op in ("ShearX", "ShearY"):
        degrees = math.degrees(math.atan(magnitude))
        shear = [degrees, 0.0] if op == "ShearX" else [0.0, degrees]
        return F.affine(image, angle=0.0, translate=[0, 0], scale=1.0, shear=shear,
                        interpolation=interpolation, fill=fill_, center=[0, 0])
    if op in ("TranslateX", "TranslateY"):
        shift = [int(magnitude), 0] if op == "TranslateX" else [0, int(magnitude)]
        return F.affine(image, angle=0.0, translate=shift, scale=1.0,
                        interpolation=interpolation, shear=no_shear, fill=fill_)
    if op == "Rotate":
        return F.rotate(image, angle=magnitude, interpolation=interpolation, fill=fill_)
    if op == "Brightness":
        return F.adjust_brightness(image, brightness_factor=1.0 + magnitude)
    if op == "Color":
        return F.adjust_saturation(image, saturation_factor=1.0 + magnitude)
    if op == "Contrast":
        return F.adjust_contrast(image, contrast_factor=1.0 + magnitude)
    if op == "Sharpness":
        return F.adjust_sharpness(image, sharpness_factor=1.0 + magnitude)
    if op == "Posterize":
        return F.posterize(image, bits=int(magnitude))
    if op == "Solarize":
        bound = float(FT.max_value(_np_dtype(image.dtype))) if isinstance(image, Tensor) \
            else 255.0
        return F.solarize(image, threshold=bound * magnitude)
    if op == "AutoContrast":
        return F.autocontrast(image)
    if op == "Equalize":
        return F.equalize(image)
    if op == "Invert":
        return F.invert(image)
    raise ValueError(f"No transform available for {op}")


class _AutoAugmentBase(Transform):
    def __init__(self, *, interpolation="nearest", fill=None):
        super().__init__()
        self.interpolation = interpolation
        self.fill = fill
        self._fill = _setup_fill_arg(fill)

    def _get_random_item(self, space):
        keys = tuple(space.keys())
        key = keys[int(randint(len(keys), ()))]
        return key, space[key]

    def _extract_image(self, inputs):
        """(flat inputs, spec, index of the one image or video), the image."""
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        needs = self._needs_transform_list(flat_inputs)
        found = []
        for idx, (inpt, need) in enumerate(zip(flat_inputs, needs)):
            if need and check_type(inpt, (tv_tensors.Image, _PIL, is_pure_tensor,
                                          tv_tensors.Video)):
                found.append((idx, inpt))
            elif isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.Mask,
                                   tv_tensors.KeyPoints)):
                raise TypeError(f"Inputs of type {type(inpt).__name__} are not supported by "
                                f"{type(self).__name__}()")
        if not found:
            raise TypeError("Found no image in the sample.")
        if len(found) > 1:
            raise TypeError(f"Auto augment transformations are only properly defined for a "
                            f"single image or video, but found {len(found)}.")
        idx, image = found[0]
        return (flat_inputs, spec, idx), image

    @staticmethod
    def _put_back(where, image):
        flat_inputs, spec, idx = where
        flat_inputs[idx] = image
        return tree_unflatten(flat_inputs, spec)

    def _signed(self, magnitude, signed):
        if signed and rand(()) <= 0.5:
            magnitude *= -1
        return magnitude

    def _op(self, image, op, magnitude):
        return _apply_op(image, op, magnitude, self.interpolation, self._fill)


class AutoAugment(_AutoAugmentBase):
    """A random sub-policy of the learned `policy`: two operations, each applied with its
    probability at its magnitude bin (of 10), the sign drawn for signed operations."""

    def __init__(self, policy=AutoAugmentPolicy.IMAGENET, interpolation="nearest", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        self.policy = policy
        if policy not in _POLICIES:
            raise ValueError(f"The provided policy {policy} is not recognized.")
        self._policies = _POLICIES[policy]

    def forward(self, *inputs):
        where, image = self._extract_image(inputs)
        height, width = F.get_size(image)
        policy = self._policies[int(randint(len(self._policies), ()))]
        for op, probability, magnitude_idx in policy:
            if not rand(()) <= probability:
                continue
            magnitudes_fn, signed = _AUTO_SPACE[op]
            magnitudes = magnitudes_fn(10, height, width)
            magnitude = 0.0
            if magnitudes is not None:
                magnitude = self._signed(float(magnitudes[magnitude_idx]), signed)
            image = self._op(image, op, magnitude)
        return self._put_back(where, image)


class RandAugment(_AutoAugmentBase):
    """num_ops operations drawn uniformly, each at bin `magnitude` of num_magnitude_bins."""

    def __init__(self, num_ops=2, magnitude=9, num_magnitude_bins=31, interpolation="nearest",
                 fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        if not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(f"num_ops should be a non-negative integer, but got {num_ops} "
                             f"instead.")
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins

    def forward(self, *inputs):
        where, image = self._extract_image(inputs)
        height, width = F.get_size(image)
        for _ in range(self.num_ops):
            op, (magnitudes_fn, signed) = self._get_random_item(_RAND_SPACE)
            magnitudes = magnitudes_fn(self.num_magnitude_bins, height, width)
            magnitude = 0.0
            if magnitudes is not None:
                magnitude = self._signed(float(magnitudes[self.magnitude]), signed)
            image = self._op(image, op, magnitude)
        return self._put_back(where, image)


class TrivialAugmentWide(_AutoAugmentBase):
    """One operation and one magnitude bin, both drawn uniformly (wide ranges)."""

    def __init__(self, num_magnitude_bins=31, interpolation="nearest", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        self.num_magnitude_bins = num_magnitude_bins

    def forward(self, *inputs):
        where, image = self._extract_image(inputs)
        height, width = F.get_size(image)
        op, (magnitudes_fn, signed) = self._get_random_item(_WIDE_SPACE)
        magnitudes = magnitudes_fn(self.num_magnitude_bins, height, width)
        magnitude = 0.0
        if magnitudes is not None:
            magnitude = float(magnitudes[int(randint(self.num_magnitude_bins, ()))])
            magnitude = self._signed(magnitude, signed)
        return self._put_back(where, self._op(image, op, magnitude))


class AugMix(_AutoAugmentBase):
    """AugMix: mixture_width chains of 1-3 (or chain_depth) random operations at severity,
    mixed with Dirichlet(alpha) weights, then blended with the original by Beta(alpha)."""

    def __init__(self, severity=3, mixture_width=3, chain_depth=-1, alpha=1.0, all_ops=True,
                 interpolation="bilinear", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        self._PARAMETER_MAX = 10
        if not 1 <= severity <= self._PARAMETER_MAX:
            raise ValueError(f"The severity must be between [1, {self._PARAMETER_MAX}]. Got "
                             f"{severity} instead.")
        self.severity = severity
        self.mixture_width = mixture_width
        self.chain_depth = chain_depth
        self.alpha = alpha
        self.all_ops = all_ops

    @staticmethod
    def _sample_dirichlet(params):
        from ....distributions import Dirichlet
        return Dirichlet(params).sample()

    def forward(self, *inputs):
        where, orig = self._extract_image(inputs)
        height, width = F.get_size(orig)
        image = orig if isinstance(orig, Tensor) else F.pil_to_tensor(orig)
        plain = image.as_subclass(Tensor)
        space = _AUGMIX_SPACE if self.all_ops else _AUGMIX_PARTIAL_SPACE
        orig_dims = list(plain.shape)
        expected_ndim = 5 if isinstance(orig, tv_tensors.Video) else 4
        batch = plain.reshape([1] * max(expected_ndim - plain.ndim, 0) + orig_dims)
        batch_dims = [batch.size(0)] + [1] * (batch.ndim - 1)
        m = self._sample_dirichlet(tensor([self.alpha, self.alpha],
                                          device=batch.device).expand(batch_dims[0], -1))
        weights = self._sample_dirichlet(
            tensor([self.alpha] * self.mixture_width, device=batch.device).expand(
                batch_dims[0], -1)) * m[:, 1].reshape([batch_dims[0], -1])
        mix = m[:, 0].reshape(batch_dims) * batch
        for i in range(self.mixture_width):
            aug = batch
            depth = self.chain_depth if self.chain_depth > 0 else \
                int(randint(low=1, high=4, size=(1,)).item())
            for _ in range(depth):
                op, (magnitudes_fn, signed) = self._get_random_item(space)
                magnitudes = magnitudes_fn(self._PARAMETER_MAX, height, width)
                magnitude = 0.0
                if magnitudes is not None:
                    magnitude = float(magnitudes[int(randint(self.severity, ()))])
                    magnitude = self._signed(magnitude, signed)
                aug = self._op(aug, op, magnitude)
            mix.add_(weights[:, i].reshape(batch_dims) * aug)
        mix = mix.reshape(orig_dims).to(dtype=plain.dtype)
        if isinstance(orig, (tv_tensors.Image, tv_tensors.Video)):
            mix = tv_tensors.wrap(mix, like=orig)
        elif not isinstance(orig, Tensor):
            mix = F.to_pil_image(mix)
        return self._put_back(where, mix)
