"""ember.vision.models.segmentation: torchvision's semantic segmentation models (FCN,
DeepLabV3, LR-ASPP) with their module names, state_dict keys and weight enums."""
from .deeplabv3 import *  # noqa: F401,F403
from .fcn import *  # noqa: F401,F403
from .lraspp import *  # noqa: F401,F403
from .deeplabv3 import __all__ as _deeplab_all
from .fcn import __all__ as _fcn_all
from .lraspp import __all__ as _lraspp_all

__all__ = list(_deeplab_all) + list(_fcn_all) + list(_lraspp_all)
