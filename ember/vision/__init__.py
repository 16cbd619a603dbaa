"""ember.vision: torchvision's API (datasets, transforms, models, utils) on ember.

``python -m ember.run`` maps ``import torchvision`` to this package, so programs written
for torchvision run unchanged. Pillow is needed for PIL images (``pip install ember[vision]``).
"""
from . import datasets, io, models, ops, transforms, tv_tensors, utils

__version__ = "0.28.0+ember"

__all__ = ["datasets", "io", "models", "ops", "transforms", "tv_tensors", "utils",
           "get_image_backend",
           "set_image_backend"]

_image_backend = "PIL"


def get_image_backend():
    """The name of the package used to load images ('PIL')."""
    return _image_backend


def set_image_backend(backend):
    """Only 'PIL' is available in ember."""
    if backend != "PIL":
        raise ValueError(f"Invalid backend '{backend}'. Options are 'PIL' (ember.vision does "
                         f"not ship accimage)")
