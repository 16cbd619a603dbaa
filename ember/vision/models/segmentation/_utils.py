"""The pieces the segmentation models share: the backbone + classifier skeleton, the
inference preset, the Pascal VOC category names and the builders' weight rules."""
from collections import OrderedDict

from .... import float32, nn, Tensor
from ....nn import functional as F
from ...transforms import functional as TF
from ...transforms.functional import InterpolationMode
from .._api import warn_legacy_pretrained
from .._utils import overwrite_value_param

__all__ = ["SemanticSegmentation"]


class _SimpleSegmentationModel(nn.Module):
    """backbone (returning {'out': ..., 'aux': ...}) -> classifier on 'out' (and
    aux_classifier on 'aux' when there is one); each map of logits is resized bilinearly
    (align_corners=False) to the input's height and width. forward returns an OrderedDict
    {'out': (N, num_classes, H, W)[, 'aux': (N, num_classes, H, W)]}."""

    def __init__(self, backbone, classifier, aux_classifier=None):
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x):
        input_shape = x.shape[-2:]
        features = self.backbone(x)
        result = OrderedDict()
        out = self.classifier(features["out"])
        result["out"] = F.interpolate(out, size=input_shape, mode="bilinear",
                                      align_corners=False)
        if self.aux_classifier is not None:
            aux = self.aux_classifier(features["aux"])
            result["aux"] = F.interpolate(aux, size=input_shape, mode="bilinear",
                                          align_corners=False)
        return result


class SemanticSegmentation(nn.Module):
    """The segmentation weights' preset: resize the shorter side to ``resize_size``
    (bilinear, antialiased), to float in [0, 1], normalise with the ImageNet mean/std."""

    def __init__(self, *, resize_size, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        super().__init__()
        self.resize_size = [resize_size] if resize_size is not None else None
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img):
        if isinstance(self.resize_size, list):
            img = TF.resize(img, self.resize_size, interpolation=self.interpolation,
                            antialias=self.antialias)
        if not isinstance(img, Tensor):
            img = TF.pil_to_tensor(img)
        img = TF.convert_image_dtype(img, float32)
        return TF.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self):
        return (f"{self.__class__.__name__}(\n    resize_size={self.resize_size}\n    mean="
                f"{self.mean}\n    std={self.std}\n    interpolation={self.interpolation}\n)")


_VOC_CATEGORIES = [
    "__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
]


def _segmentation_weights(weights_enum, backbone_enum, weights, weights_backbone, num_classes,
                          aux_loss, kwargs, has_aux=True):
    """(weights, backbone weights, num_classes, aux_loss) of a segmentation builder, by
    torchvision's rules: trained weights fix num_classes (21 VOC labels) and aux_loss
    (True) and drop the backbone weights; otherwise num_classes defaults to 21.
    'pretrained' / 'pretrained_backbone' are the deprecated spellings."""
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        warn_legacy_pretrained("pretrained", "weights",
                               f"{weights_enum.__name__}.COCO_WITH_VOC_LABELS_V1"
                               if pretrained else None, f"{weights_enum.__name__}.DEFAULT",
                               stacklevel=4)
        if pretrained:
            weights = "COCO_WITH_VOC_LABELS_V1"
    if "pretrained_backbone" in kwargs:
        pretrained = kwargs.pop("pretrained_backbone")
        warn_legacy_pretrained("pretrained_backbone", "weights_backbone",
                               f"{backbone_enum.__name__}.IMAGENET1K_V1" if pretrained else None,
                               f"{backbone_enum.__name__}.DEFAULT", stacklevel=4)
        weights_backbone = "IMAGENET1K_V1" if pretrained else None
    weights = weights_enum.verify(weights)
    weights_backbone = backbone_enum.verify(weights_backbone)
    if weights is not None:
        weights_backbone = None
        num_classes = overwrite_value_param("num_classes", num_classes,
                                            len(weights.meta["categories"]))
        if has_aux:
            aux_loss = overwrite_value_param("aux_loss", aux_loss, True)
    elif num_classes is None:
        num_classes = 21
    return weights, weights_backbone, num_classes, aux_loss


def _voc_weights(url, num_params, miou, pixel_acc, **extra_meta):
    """A Weights entry of a model trained on COCO's 20 Pascal VOC categories
    (``extra_meta``: recipe, _ops, _file_size)."""
    from functools import partial
    from .._api import Weights
    return Weights(url=url, transforms=partial(SemanticSegmentation, resize_size=520),
                   meta={"categories": _VOC_CATEGORIES, "min_size": (1, 1),
                         "num_params": num_params,
                         "_metrics": {"COCO-val2017-VOC-labels": {"miou": miou,
                                                                  "pixel_acc": pixel_acc}},
                         **extra_meta})
