"""Faster R-CNN (Ren et al. 2015) with torchvision's module names and state_dict keys."""

from .... import nn
from ....nn import functional as F
from ...ops import misc as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._api import load_weights, warn_legacy_pretrained, Weights, WeightsEnum
from ..mobilenetv3 import mobilenet_v3_large, MobileNet_V3_Large_Weights
from ..resnet import resnet50, ResNet50_Weights
from ._meta import _COCO_CATEGORIES, ObjectDetection
from ._utils import overwrite_eps
from .anchor_utils import AnchorGenerator
from .backbone_utils import _mobilenet_extractor, _resnet_fpn_extractor, \
    _validate_trainable_layers
from .generalized_rcnn import GeneralizedRCNN
from .roi_heads import RoIHeads
from .rpn import RegionProposalNetwork, RPNHead
from .transform import GeneralizedRCNNTransform

__all__ = ["FasterRCNN", "FasterRCNN_ResNet50_FPN_Weights", "FasterRCNN_ResNet50_FPN_V2_Weights",
           "FasterRCNN_MobileNet_V3_Large_FPN_Weights",
           "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights", "fasterrcnn_resnet50_fpn",
           "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn",
           "fasterrcnn_mobilenet_v3_large_320_fpn", "FastRCNNPredictor", "TwoMLPHead",
           "FastRCNNConvFCHead"]


def _default_anchorgen():
    anchor_sizes = ((32,), (64,), (128,), (256,), (512,))
    return AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))


class FasterRCNN(GeneralizedRCNN):
    """Faster R-CNN: a backbone (with an ``out_channels`` attribute), an RPN over its
    feature maps and RoI heads on MultiScaleRoIAlign features; every part can be replaced
    through the arguments, which are torchvision's with its defaults (min_size 800,
    max_size 1333, RPN 2000/1000 proposals before/after NMS in training, 1000/1000 in
    eval, NMS 0.7; box head TwoMLPHead(1024), score threshold 0.05, NMS 0.5, 100
    detections per image ...). Give ``num_classes`` (background included) or a
    ``box_predictor``."""

    def __init__(self, backbone, num_classes=None, min_size=800, max_size=1333,
                 image_mean=None, image_std=None, rpn_anchor_generator=None, rpn_head=None,
                 rpn_pre_nms_top_n_train=2000, rpn_pre_nms_top_n_test=1000,
                 rpn_post_nms_top_n_train=2000, rpn_post_nms_top_n_test=1000,
                 rpn_nms_thresh=0.7, rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3,
                 rpn_batch_size_per_image=256, rpn_positive_fraction=0.5, rpn_score_thresh=0.0,
                 box_roi_pool=None, box_head=None, box_predictor=None, box_score_thresh=0.05,
                 box_nms_thresh=0.5, box_detections_per_img=100, box_fg_iou_thresh=0.5,
                 box_bg_iou_thresh=0.5, box_batch_size_per_image=512, box_positive_fraction=0.25,
                 bbox_reg_weights=None, **kwargs):
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the "
                             "number of output channels (assumed to be the same for all the "
                             "levels)")
        if not isinstance(rpn_anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError(f"rpn_anchor_generator should be of type AnchorGenerator or None "
                            f"instead of {type(rpn_anchor_generator)}")
        if not isinstance(box_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError(f"box_roi_pool should be of type MultiScaleRoIAlign or None instead "
                            f"of {type(box_roi_pool)}")
        if num_classes is not None:
            if box_predictor is not None:
                raise ValueError("num_classes should be None when box_predictor is specified")
        elif box_predictor is None:
            raise ValueError("num_classes should not be None when box_predictor is not "
                             "specified")
        out_channels = backbone.out_channels
        if rpn_anchor_generator is None:
            rpn_anchor_generator = _default_anchorgen()
        if rpn_head is None:
            rpn_head = RPNHead(out_channels, rpn_anchor_generator.num_anchors_per_location()[0])
        rpn = RegionProposalNetwork(
            rpn_anchor_generator, rpn_head, rpn_fg_iou_thresh, rpn_bg_iou_thresh,
            rpn_batch_size_per_image, rpn_positive_fraction,
            dict(training=rpn_pre_nms_top_n_train, testing=rpn_pre_nms_top_n_test),
            dict(training=rpn_post_nms_top_n_train, testing=rpn_post_nms_top_n_test),
            rpn_nms_thresh, score_thresh=rpn_score_thresh)
        if box_roi_pool is None:
            box_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=7,
                                              sampling_ratio=2)
        if box_head is None:
            resolution = box_roi_pool.output_size[0]
            box_head = TwoMLPHead(out_channels * resolution ** 2, 1024)
        if box_predictor is None:
            box_predictor = FastRCNNPredictor(1024, num_classes)
        roi_heads = RoIHeads(box_roi_pool, box_head, box_predictor, box_fg_iou_thresh,
                             box_bg_iou_thresh, box_batch_size_per_image, box_positive_fraction,
                             bbox_reg_weights, box_score_thresh, box_nms_thresh,
                             box_detections_per_img)
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        transform = GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std, **kwargs)
        super().__init__(backbone, rpn, roi_heads, transform)


class TwoMLPHead(nn.Module):
    """flatten -> fc6 -> ReLU -> fc7 -> ReLU (the box head of the FPN models)."""

    def __init__(self, in_channels, representation_size):
        super().__init__()
        self.fc6 = nn.Linear(in_channels, representation_size)
        self.fc7 = nn.Linear(representation_size, representation_size)

    def forward(self, x):
        x = x.flatten(start_dim=1)
        return F.relu(self.fc7(F.relu(self.fc6(x))))


class FastRCNNConvFCHead(nn.Sequential):
    """Conv2dNormActivation layers, flatten, then Linear + ReLU layers (the v2 box head)."""

    def __init__(self, input_size, conv_layers, fc_layers, norm_layer=None):
        in_channels, in_height, in_width = input_size
        blocks = []
        previous = in_channels
        for current in conv_layers:
            blocks.append(misc_nn_ops.Conv2dNormActivation(previous, current,
                                                           norm_layer=norm_layer))
            previous = current
        blocks.append(nn.Flatten())
        previous = previous * in_height * in_width
        for current in fc_layers:
            blocks.append(nn.Linear(previous, current))
            blocks.append(nn.ReLU(inplace=True))
            previous = current
        super().__init__(*blocks)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)


class FastRCNNPredictor(nn.Module):
    """Class scores (cls_score) and per-class box deltas (bbox_pred, 4 per class) from the
    box head's features; replace it to fine-tune on another number of classes."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.cls_score = nn.Linear(in_channels, num_classes)
        self.bbox_pred = nn.Linear(in_channels, num_classes * 4)

    def forward(self, x):
        if x.dim() == 4 and list(x.shape[2:]) != [1, 1]:
            raise AssertionError(f"x has the wrong shape, expecting the last two dimensions to "
                                 f"be [1,1] instead of {list(x.shape[2:])}")
        x = x.flatten(start_dim=1)
        return self.cls_score(x), self.bbox_pred(x)


def _coco_weights(url, num_params, metrics, **extra_meta):
    """A Weights record of a COCO-trained detector (``extra_meta``: recipe, _ops,
    _file_size ...)."""
    return Weights(url=url, transforms=ObjectDetection,
                   meta={"categories": _COCO_CATEGORIES, "min_size": (1, 1),
                         "num_params": num_params, "_metrics": {"COCO-val2017": metrics},
                         **extra_meta})


class FasterRCNN_ResNet50_FPN_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
        41755286, {"box_map": 37.0},
        recipe=("https://github.com/pytorch/vision/tree/main/references/detection"
                "#faster-r-cnn-resnet-50-fpn"),
        _ops=134.38, _file_size=159.743)
    DEFAULT = COCO_V1


class FasterRCNN_ResNet50_FPN_V2_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth",
        43712278, {"box_map": 46.7},
        recipe="https://github.com/pytorch/vision/pull/5763",
        _ops=280.371, _file_size=167.104)
    DEFAULT = COCO_V1


class FasterRCNN_MobileNet_V3_Large_FPN_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth",
        19386354, {"box_map": 32.8},
        recipe=("https://github.com/pytorch/vision/tree/main/references/detection"
                "#faster-r-cnn-mobilenetv3-large-fpn"),
        _ops=4.494, _file_size=74.239)
    DEFAULT = COCO_V1


class FasterRCNN_MobileNet_V3_Large_320_FPN_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/"
        "fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth", 19386354, {"box_map": 22.8},
        recipe=("https://github.com/pytorch/vision/tree/main/references/detection"
                "#faster-r-cnn-mobilenetv3-large-320-fpn"),
        _ops=0.719, _file_size=74.239)
    DEFAULT = COCO_V1


def _detector_weights(weights_enum, weights, weights_backbone, num_classes, kwargs,
                      backbone_enum=ResNet50_Weights, legacy_backbone="IMAGENET1K_V1"):
    """(weights, backbone weights, num_classes) of a detection builder, torchvision's rules:
    detector weights fix num_classes to their categories and drop the backbone weights;
    without them num_classes defaults to 91 (COCO). 'pretrained'/'pretrained_backbone'
    are the deprecated spellings."""
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        warn_legacy_pretrained("pretrained", "weights",
                               f"{weights_enum.__name__}.COCO_V1" if pretrained else None,
                               f"{weights_enum.__name__}.DEFAULT", stacklevel=4)
        if pretrained:
            weights = "COCO_V1"
    if "pretrained_backbone" in kwargs:
        pretrained = kwargs.pop("pretrained_backbone")
        warn_legacy_pretrained("pretrained_backbone", "weights_backbone",
                               f"{backbone_enum.__name__}.{legacy_backbone}" if pretrained
                               else None, f"{backbone_enum.__name__}.DEFAULT", stacklevel=4)
        weights_backbone = legacy_backbone if pretrained else None
    weights = weights_enum.verify(weights)
    weights_backbone = backbone_enum.verify(weights_backbone)
    if weights is not None:
        weights_backbone = None
        expected = len(weights.meta["categories"])
        if num_classes is not None and num_classes != expected:
            raise ValueError(f"The parameter 'num_classes' expected value {expected} but got "
                             f"{num_classes} instead.")
        num_classes = expected
    elif num_classes is None:
        num_classes = 91
    return weights, weights_backbone, num_classes


def fasterrcnn_resnet50_fpn(*, weights=None, progress=True, num_classes=None,
                            weights_backbone=ResNet50_Weights.IMAGENET1K_V1,
                            trainable_backbone_layers=None, **kwargs):
    """Faster R-CNN with a ResNet-50-FPN backbone (FrozenBatchNorm2d when any weights are
    loaded, the first 5 - trainable_backbone_layers (default 3) stages frozen).
    ``weights``: FasterRCNN_ResNet50_FPN_Weights.COCO_V1 / 'DEFAULT' (from the torch hub
    cache); ``weights_backbone``: ImageNet ResNet-50 weights (None for random)."""
    weights, weights_backbone, num_classes = _detector_weights(
        FasterRCNN_ResNet50_FPN_Weights, weights, weights_backbone, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers,
                                                           5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers)
    model = FasterRCNN(backbone, num_classes=num_classes, **kwargs)
    if weights is not None:
        load_weights(model, weights, progress)
        if weights == FasterRCNN_ResNet50_FPN_Weights.COCO_V1:
            overwrite_eps(model, 0.0)
    return model


def fasterrcnn_resnet50_fpn_v2(*, weights=None, progress=True, num_classes=None,
                               weights_backbone=None, trainable_backbone_layers=None, **kwargs):
    """Faster R-CNN v2 (Li et al. 2021): BatchNorm in the FPN, a 2-conv RPN head and a
    4-conv + 1-fc box head."""
    weights, weights_backbone, num_classes = _detector_weights(
        FasterRCNN_ResNet50_FPN_V2_Weights, weights, weights_backbone, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers,
                                                           5, 3)
    backbone = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers,
                                     norm_layer=nn.BatchNorm2d)
    anchors = _default_anchorgen()
    rpn_head = RPNHead(backbone.out_channels, anchors.num_anchors_per_location()[0],
                       conv_depth=2)
    box_head = FastRCNNConvFCHead((backbone.out_channels, 7, 7), [256, 256, 256, 256], [1024],
                                  norm_layer=nn.BatchNorm2d)
    model = FasterRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=anchors,
                       rpn_head=rpn_head, box_head=box_head, **kwargs)
    return load_weights(model, weights, progress)


def _fasterrcnn_mobilenet_v3_large_fpn(weights_enum, weights, progress, num_classes,
                                       weights_backbone, trainable_backbone_layers, defaults,
                                       kwargs):
    """Faster R-CNN on MobileNetV3-Large with an FPN over its last two stages (3 levels
    with the max-pool level), anchors of sizes 32-512 at every level, and the builder's
    ``defaults`` under the user's keyword arguments."""
    weights, weights_backbone, num_classes = _detector_weights(
        weights_enum, weights, weights_backbone, num_classes, kwargs,
        backbone_enum=MobileNet_V3_Large_Weights)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers,
                                                           6, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = mobilenet_v3_large(weights=weights_backbone, progress=progress,
                                  norm_layer=norm_layer)
    backbone = _mobilenet_extractor(backbone, True, trainable_backbone_layers)
    anchor_sizes = ((32, 64, 128, 256, 512),) * 3
    anchors = AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))
    model = FasterRCNN(backbone, num_classes, rpn_anchor_generator=anchors,
                       **{**defaults, **kwargs})
    return load_weights(model, weights, progress)


def fasterrcnn_mobilenet_v3_large_fpn(*, weights=None, progress=True, num_classes=None,
                                      weights_backbone=MobileNet_V3_Large_Weights.IMAGENET1K_V1,
                                      trainable_backbone_layers=None, **kwargs):
    """Faster R-CNN on a MobileNetV3-Large FPN (high resolution: min_size 800); RPN score
    threshold 0.05. ``trainable_backbone_layers`` in [0, 6] (default 3)."""
    return _fasterrcnn_mobilenet_v3_large_fpn(
        FasterRCNN_MobileNet_V3_Large_FPN_Weights, weights, progress, num_classes,
        weights_backbone, trainable_backbone_layers, {"rpn_score_thresh": 0.05}, kwargs)


def fasterrcnn_mobilenet_v3_large_320_fpn(*, weights=None, progress=True, num_classes=None,
                                          weights_backbone=MobileNet_V3_Large_Weights.IMAGENET1K_V1,
                                          trainable_backbone_layers=None, **kwargs):
    """The low-resolution variant (min_size 320, max_size 640, 150 RPN proposals before and
    after NMS in eval, RPN score threshold 0.05) for mobile use."""
    defaults = {"min_size": 320, "max_size": 640, "rpn_pre_nms_top_n_test": 150,
                "rpn_post_nms_top_n_test": 150, "rpn_score_thresh": 0.05}
    return _fasterrcnn_mobilenet_v3_large_fpn(
        FasterRCNN_MobileNet_V3_Large_320_FPN_Weights, weights, progress, num_classes,
        weights_backbone, trainable_backbone_layers, defaults, kwargs)
