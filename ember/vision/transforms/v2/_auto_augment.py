"""AutoAugment, RandAugment, TrivialAugmentWide, AugMix."""
import enum

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"]


class AutoAugmentPolicy(enum.Enum):
    """The learned AutoAugment policies: on ImageNet, CIFAR10 and SVHN."""
    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


def _not_built(name):
    class NotBuilt:
        def __init__(self, *args, **kwargs):
            raise NotImplementedError(f"ember.vision: transforms.v2.{name} is not built")
    NotBuilt.__name__ = NotBuilt.__qualname__ = name
    return NotBuilt


AutoAugment = _not_built("AutoAugment")
RandAugment = _not_built("RandAugment")
TrivialAugmentWide = _not_built("TrivialAugmentWide")
AugMix = _not_built("AugMix")
