"""ember.vision.models.detection: torchvision's detectors (Faster R-CNN on ResNet-50-FPN v1/v2
and MobileNetV3-Large-FPN, Mask R-CNN, Keypoint R-CNN, RetinaNet v1/v2, SSD300-VGG16,
SSDlite320-MobileNetV3, FCOS) with their building blocks, module names and state_dict keys."""
from .faster_rcnn import *  # noqa: F401,F403
from .fcos import *  # noqa: F401,F403
from .keypoint_rcnn import *  # noqa: F401,F403
from .mask_rcnn import *  # noqa: F401,F403
from .retinanet import *  # noqa: F401,F403
from .ssd import *  # noqa: F401,F403
from .ssdlite import *  # noqa: F401,F403
from .faster_rcnn import __all__ as _faster_all
from .fcos import __all__ as _fcos_all
from .keypoint_rcnn import __all__ as _keypoint_all
from .mask_rcnn import __all__ as _mask_all
from .retinanet import __all__ as _retina_all
from .ssd import __all__ as _ssd_all
from .ssdlite import __all__ as _ssdlite_all

__all__ = (list(_faster_all) + list(_keypoint_all) + list(_mask_all) + list(_retina_all) +
           list(_ssd_all) + list(_ssdlite_all) + list(_fcos_all))
