"""torchvision.transforms: ``from ember.vision import transforms``."""
from . import functional
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all

__all__ = ["functional"] + list(_transforms_all)
