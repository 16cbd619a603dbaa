"""Pretrained-weight descriptions (torchvision's ``Weights``/``WeightsEnum``) and loading
them from the local cache.

ember never downloads weights behind the user's back when offline: a weights file is
looked up in the torch hub cache, ``$TORCH_HOME/hub/checkpoints/<file name of the URL>``
(``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch`` or ``~/.cache/torch``), the place
torchvision itself would have saved it; if it is not there a download is tried, and
without network the error names the URL and the path to put the file at.
"""
import enum
import os
import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from ... import nn
from ...hub import get_dir, load_state_dict_from_url  # noqa: F401  (torchvision re-exports them)
from ..transforms import functional as TF
from ..transforms.functional import InterpolationMode
from ._meta import _IMAGENET_CATEGORIES

__all__ = ["Weights", "WeightsEnum", "ImageClassification", "get_dir",
           "load_state_dict_from_url", "load_weights"]

IMAGENET_NUM_CLASSES = 1000


class ImageClassification(nn.Module):
    """The inference preset of the ImageNet classifiers: resize, centre crop, to float
    in [0, 1], normalise with the ImageNet mean and std."""

    def __init__(self, *, crop_size, resize_size=256, mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), interpolation=InterpolationMode.BILINEAR,
                 antialias=True):
        super().__init__()
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img):
        from ... import float32
        img = TF.resize(img, self.resize_size, interpolation=self.interpolation,
                        antialias=self.antialias)
        img = TF.center_crop(img, self.crop_size)
        if not TF._is_tensor(img):
            img = TF.pil_to_tensor(img)
        img = TF.convert_image_dtype(img, float32)
        return TF.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self):
        return (f"{self.__class__.__name__}(\n    crop_size={self.crop_size}\n    resize_size="
                f"{self.resize_size}\n    mean={self.mean}\n    std={self.std}\n    "
                f"interpolation={self.interpolation}\n)")


@dataclass
class Weights:
    """Where a set of weights lives (`url`), the preprocessing it expects (`transforms`,
    called to build it) and facts about it (`meta`)."""
    url: str
    transforms: Callable
    meta: dict = field(default_factory=dict)


class WeightsEnum(enum.Enum):
    """Base of the per-model weight enums (``ResNet18_Weights.IMAGENET1K_V1`` ...)."""

    @classmethod
    def verify(cls, obj):
        """None, a member of this enum, or its name ('IMAGENET1K_V1' or
        'ResNet18_Weights.IMAGENET1K_V1') -> None or the member."""
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, str):
            name = obj.replace(cls.__name__ + ".", "")
            if name not in cls.__members__:
                raise ValueError(f"Unknown weights '{obj}' for {cls.__name__}; choose from "
                                 f"{list(cls.__members__)}")
            return cls[name]
        raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but received "
                        f"{obj.__class__.__name__}.")

    def get_state_dict(self, progress=True, check_hash=False):
        return load_state_dict_from_url(self.url, progress=progress, check_hash=check_hash)

    def __repr__(self):
        return f"{self.__class__.__name__}.{self._name_}"

    @property
    def url(self):
        return self.value.url

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def meta(self):
        return self.value.meta


def warn_legacy_pretrained(old, new, chosen, default=None, stacklevel=3):
    """torchvision's two warnings for a legacy ``pretrained``-style argument `old` (since
    0.13): use `new` instead, and what it now means: ``new=chosen`` (a 'Enum.MEMBER' name,
    or None), with a pointer to `default` ('Enum.DEFAULT') when weights were asked for."""
    warnings.warn(f"The parameter '{old}' is deprecated since 0.13 and may be removed in the "
                  f"future, please use '{new}' instead.", UserWarning, stacklevel=stacklevel)
    message = (f"Arguments other than a weight enum or `None` for '{new}' are deprecated since "
               f"0.13 and may be removed in the future. The current behavior is equivalent to "
               f"passing `{new}={chosen}`.")
    if chosen is not None and default is not None:
        message += f" You can also use `{new}={default}` to get the most up-to-date weights."
    warnings.warn(message, UserWarning, stacklevel=stacklevel)


def resolve_weights(weights_enum, weights, kwargs, legacy_default):
    """The weights a builder was asked for: a `weights_enum` member (or its name), a local
    file path, None, or the legacy ``pretrained=True/False`` in `kwargs`. Returns either
    None, an enum member or a path."""
    pretrained = kwargs.pop("pretrained", None)
    if isinstance(weights, bool):
        weights, pretrained = None, weights
    if pretrained is not None:
        if weights is not None:
            raise ValueError("Use either 'weights' or the deprecated 'pretrained', not both")
        # (torchvision says nothing for pretrained=True where no weights exist for it)
        if legacy_default or not pretrained:
            chosen = f"{weights_enum.__name__}.{legacy_default}" if pretrained else None
            warn_legacy_pretrained("pretrained", "weights", chosen,
                                   f"{weights_enum.__name__}.DEFAULT", stacklevel=4)
        # a legacy default of None: torchvision has no weights for pretrained=True there
        # (regnet_y_128gf, vit_h_14) and builds the model untrained
        return weights_enum[legacy_default] if pretrained and legacy_default else None
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return os.fspath(weights)
    return weights_enum.verify(weights)


def load_weights(model, weights, progress=True):
    """Load an enum member's weights (from the hub cache) or a local file into `model`."""
    if weights is None:
        return model
    from ... import load
    state_dict = load(weights) if isinstance(weights, str) else weights.get_state_dict(
        progress=progress, check_hash=True)
    model.load_state_dict(state_dict)
    return model


def set_num_classes(kwargs, weights):
    """With ImageNet weights the classifier must have 1000 outputs."""
    if weights is None or isinstance(weights, str) or weights.meta["categories"] is None:
        # (a feature extractor's weights, e.g. VGG16_Weights.IMAGENET1K_FEATURES, fix no
        # classifier width)
        return
    expected = weights.meta.get("num_classes", IMAGENET_NUM_CLASSES)
    actual = kwargs.setdefault("num_classes", expected)
    if actual != expected:
        raise ValueError(f"The parameter 'num_classes' expected value {expected} but got "
                         f"{actual} instead.")


def imagenet_weights(url, num_params, acc1, acc5, crop_size=224, resize_size=256,
                     interpolation=InterpolationMode.BILINEAR, mean=(0.485, 0.456, 0.406),
                     std=(0.229, 0.224, 0.225), **extra_meta):
    """A Weights record of an ImageNet-1K classifier: its URL, facts, and the inference
    preset (resize to `resize_size` with `interpolation`, centre crop to `crop_size`,
    normalise with `mean` and `std`)."""
    meta: dict[str, Any] = {"num_classes": IMAGENET_NUM_CLASSES, "num_params": num_params,
                            "categories": _IMAGENET_CATEGORIES,
                            "min_size": (1, 1), "dataset": "ImageNet-1K",
                            "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}}
    meta.update(extra_meta)
    return Weights(url=url, transforms=partial(ImageClassification, crop_size=crop_size,
                                               resize_size=resize_size,
                                               interpolation=interpolation, mean=mean,
                                               std=std), meta=meta)


def overwrite_named_param(kwargs, param, new_value):
    """Set ``kwargs[param]`` to `new_value` (what pretrained weights require); a different
    value the caller gave raises ValueError, as torchvision does."""
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(f"The parameter '{param}' expected value {new_value} but got "
                             f"{kwargs[param]} instead.")
    else:
        kwargs[param] = new_value
