"""Conversions between PIL images, NumPy arrays, plain tensors and tv_tensors.Image."""
import numpy as np

from ..... import from_numpy
from ....._tensor import Tensor
from .... import tv_tensors
from ....transforms import functional as V1
from ....transforms._functional_pil import is_pil_image

__all__ = ["to_image", "pil_to_tensor", "to_pil_image", "to_tensor"]

pil_to_tensor = V1.pil_to_tensor
to_pil_image = V1.to_pil_image
to_tensor = V1.to_tensor


def to_image(inpt):
    """A tv_tensors.Image from a tensor, a PIL image (as pil_to_tensor) or an HxW(xC)
    NumPy array (channels moved first)."""
    if isinstance(inpt, np.ndarray):
        output = from_numpy(np.ascontiguousarray(np.atleast_3d(inpt).transpose(2, 0, 1)))
    elif is_pil_image(inpt):
        output = pil_to_tensor(inpt)
    elif isinstance(inpt, Tensor):
        output = inpt
    else:
        raise TypeError(f"Input can either be a pure Tensor, a numpy array, or a PIL image, "
                        f"but got {type(inpt)} instead.")
    return tv_tensors.Image(output)
