"""torchvision.tv_tensors: Tensor subclasses that tell the v2 transforms what a tensor
holds (``from ember.vision import tv_tensors``)."""
from ._bounding_boxes import BoundingBoxes, BoundingBoxFormat, is_rotated_bounding_format
from ._kinds import Image, KeyPoints, Mask, Video
from ._tv_tensor import TVTensor, set_return_type, wrap

__all__ = ["BoundingBoxes", "BoundingBoxFormat", "Image", "KeyPoints", "Mask", "TVTensor",
           "Video", "is_rotated_bounding_format", "set_return_type", "wrap"]
