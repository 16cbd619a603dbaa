"""ember.vision.models.detection: torchvision's two-stage detectors (Faster R-CNN and
Mask R-CNN on ResNet-50-FPN, v1 and v2) with their building blocks, module names and
state_dict keys. RetinaNet, SSD, FCOS, Keypoint R-CNN and the MobileNet-backed Faster
R-CNNs are not implemented."""
from .faster_rcnn import *  # noqa: F401,F403
from .mask_rcnn import *  # noqa: F401,F403
from .faster_rcnn import __all__ as _faster_all
from .mask_rcnn import __all__ as _mask_all

__all__ = list(_faster_all) + list(_mask_all)
