"""torchvision.transforms.v2: transforms that take whole samples (images, videos, boxes,
masks, in any nesting of tuples, lists and dicts) and transform them together, dispatching
on the input's type (``from ember.vision.transforms import v2``)."""
from . import functional
from ._transform import Transform
from ._augment import CutMix, JPEG, MixUp, RandomErasing
from ._auto_augment import AugMix, AutoAugment, AutoAugmentPolicy, RandAugment, TrivialAugmentWide
from ._color import (ColorJitter, Grayscale, RandomAdjustSharpness, RandomAutocontrast,
                     RandomChannelPermutation, RandomEqualize, RandomGrayscale, RandomInvert,
                     RandomPhotometricDistort, RandomPosterize, RandomSolarize, RGB)
from ._container import Compose, RandomApply, RandomChoice, RandomOrder
from ._geometry import (CenterCrop, ElasticTransform, FiveCrop, Pad, RandomAffine, RandomCrop,
                        RandomHorizontalFlip, RandomIoUCrop, RandomPerspective, RandomResize,
                        RandomResizedCrop, RandomRotation, RandomShortestSize,
                        RandomVerticalFlip, RandomZoomOut, Resize, ScaleJitter, TenCrop)
from ._misc import (ClampBoundingBoxes, ClampKeyPoints, ConvertBoundingBoxFormat,
                    ConvertImageDtype, GaussianBlur, GaussianNoise, Identity, Lambda,
                    LinearTransformation, Normalize, PILToTensor, SanitizeBoundingBoxes,
                    SanitizeKeyPoints, SetClampingMode, ToDtype, ToImage, ToPILImage,
                    ToPureTensor, ToTensor, UniformTemporalSubsample)
from ._utils import (check_type, get_bounding_boxes, get_keypoints, has_all, has_any,
                     query_chw, query_size)
from .functional import InterpolationMode
