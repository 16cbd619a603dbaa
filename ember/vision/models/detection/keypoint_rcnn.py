"""Keypoint R-CNN (the keypoint branch of He et al. 2017, "Mask R-CNN") with torchvision's
module names and state_dict keys."""
from .... import nn
from ....nn import functional as F
from ...ops import misc as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._api import load_weights, warn_legacy_pretrained, Weights, WeightsEnum
from .._utils import overwrite_value_param
from ..resnet import resnet50, ResNet50_Weights
from ._meta import ObjectDetection
from ._utils import overwrite_eps
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import _detector_weights, FasterRCNN

__all__ = ["KeypointRCNN", "KeypointRCNN_ResNet50_FPN_Weights", "keypointrcnn_resnet50_fpn",
           "KeypointRCNNHeads", "KeypointRCNNPredictor"]


class KeypointRCNN(FasterRCNN):
    """Faster R-CNN plus a keypoint branch: MultiScaleRoIAlign(14) features of the
    detections (of the positive proposals in training) -> KeypointRCNNHeads (8 convs 3x3,
    512) -> KeypointRCNNPredictor (``num_keypoints``, default 17, heatmaps of 56 x 56).
    Eval detections gain 'keypoints' (K, num_keypoints, 3: x, y, 1) and
    'keypoints_scores'; training adds 'loss_keypoint'. Targets need 'keypoints'
    (K, num_keypoints, 3: x, y, visibility), float32. ``min_size`` defaults to the
    multi-scale (640, 672, ..., 800) of the training recipe."""

    def __init__(self, backbone, num_classes=None, min_size=None, max_size=1333,
                 image_mean=None, image_std=None, *args, keypoint_roi_pool=None,
                 keypoint_head=None, keypoint_predictor=None, num_keypoints=None, **kwargs):
        if not isinstance(keypoint_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError(f"keypoint_roi_pool should be of type MultiScaleRoIAlign or None "
                            f"instead of {type(keypoint_roi_pool)}")
        if min_size is None:
            min_size = (640, 672, 704, 736, 768, 800)
        if num_keypoints is not None:
            if keypoint_predictor is not None:
                raise ValueError("num_keypoints should be None when keypoint_predictor is "
                                 "specified")
        else:
            num_keypoints = 17
        out_channels = backbone.out_channels
        if keypoint_roi_pool is None:
            keypoint_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"],
                                                   output_size=14, sampling_ratio=2)
        if keypoint_head is None:
            keypoint_head = KeypointRCNNHeads(out_channels, (512,) * 8)
        if keypoint_predictor is None:
            keypoint_predictor = KeypointRCNNPredictor(512, num_keypoints)
        super().__init__(backbone, num_classes, min_size, max_size, image_mean, image_std,
                         *args, **kwargs)
        self.roi_heads.keypoint_roi_pool = keypoint_roi_pool
        self.roi_heads.keypoint_head = keypoint_head
        self.roi_heads.keypoint_predictor = keypoint_predictor


class KeypointRCNNHeads(nn.Sequential):
    """A 3x3 conv (padding 1) + ReLU per entry of ``layers``; kaiming-normal (fan_out)
    weights, zero biases."""

    def __init__(self, in_channels, layers):
        blocks = []
        previous = in_channels
        for out_channels in layers:
            blocks.append(nn.Conv2d(previous, out_channels, 3, stride=1, padding=1))
            blocks.append(nn.ReLU(inplace=True))
            previous = out_channels
        super().__init__(*blocks)
        for m in self.children():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)


class KeypointRCNNPredictor(nn.Module):
    """Heatmap logits, one map per keypoint: a 4x4 stride-2 transposed conv
    (``kps_score_lowres``, 14 -> 28) then a 2x bilinear upsampling (28 -> 56)."""

    def __init__(self, in_channels, num_keypoints):
        super().__init__()
        deconv_kernel = 4
        self.kps_score_lowres = nn.ConvTranspose2d(in_channels, num_keypoints, deconv_kernel,
                                                   stride=2, padding=deconv_kernel // 2 - 1)
        nn.init.kaiming_normal_(self.kps_score_lowres.weight, mode="fan_out",
                                nonlinearity="relu")
        nn.init.constant_(self.kps_score_lowres.bias, 0)
        self.up_scale = 2
        self.out_channels = num_keypoints

    def forward(self, x):
        x = self.kps_score_lowres(x)
        return F.interpolate(x, scale_factor=float(self.up_scale), mode="bilinear",
                             align_corners=False, recompute_scale_factor=False)


_COCO_PERSON_CATEGORIES = ["no person", "person"]
_COCO_PERSON_KEYPOINT_NAMES = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
]


def _person_weights(url, box_map, kp_map, **extra_meta):
    return Weights(url=url, transforms=ObjectDetection,
                   meta={"categories": _COCO_PERSON_CATEGORIES,
                         "keypoint_names": _COCO_PERSON_KEYPOINT_NAMES, "min_size": (1, 1),
                         "num_params": 59137258,
                         "_metrics": {"COCO-val2017": {"box_map": box_map, "kp_map": kp_map}},
                         **extra_meta})


class KeypointRCNN_ResNet50_FPN_Weights(WeightsEnum):
    COCO_LEGACY = _person_weights(
        "https://download.pytorch.org/models/keypointrcnn_resnet50_fpn_coco-9f466800.pth",
        50.6, 61.1,
        recipe="https://github.com/pytorch/vision/issues/1606",
        _ops=133.924, _file_size=226.054)
    COCO_V1 = _person_weights(
        "https://download.pytorch.org/models/keypointrcnn_resnet50_fpn_coco-fc266e95.pth",
        54.6, 65.0,
        recipe="https://github.com/pytorch/vision/tree/main/references/detection#keypoint-r-cnn",
        _ops=137.42, _file_size=226.054)
    DEFAULT = COCO_V1


def keypointrcnn_resnet50_fpn(*, weights=None, progress=True, num_classes=None,
                              num_keypoints=None, weights_backbone=ResNet50_Weights.IMAGENET1K_V1,
                              trainable_backbone_layers=None, **kwargs):
    """Keypoint R-CNN on a ResNet-50-FPN; ``num_classes`` defaults to 2 (person and
    background), ``num_keypoints`` to 17 (COCO's). The legacy ``pretrained='legacy'``
    picks COCO_LEGACY."""
    if kwargs.get("pretrained") == "legacy":
        kwargs.pop("pretrained")
        enum_name = KeypointRCNN_ResNet50_FPN_Weights.__name__
        warn_legacy_pretrained("pretrained", "weights", f"{enum_name}.COCO_LEGACY",
                               f"{enum_name}.DEFAULT")
        weights = KeypointRCNN_ResNet50_FPN_Weights.COCO_LEGACY
    asked_classes = num_classes
    weights, weights_backbone, num_classes = _detector_weights(
        KeypointRCNN_ResNet50_FPN_Weights, weights, weights_backbone, num_classes, kwargs)
    if weights is None and asked_classes is None:
        num_classes = 2      # person and background, not COCO's 91
    if weights is not None:
        num_keypoints = overwrite_value_param("num_keypoints", num_keypoints,
                                              len(weights.meta["keypoint_names"]))
    elif num_keypoints is None:
        num_keypoints = 17
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers,
                                                           5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers)
    model = KeypointRCNN(backbone, num_classes, num_keypoints=num_keypoints, **kwargs)
    if weights is not None:
        load_weights(model, weights, progress)
        if weights == KeypointRCNN_ResNet50_FPN_Weights.COCO_V1:
            overwrite_eps(model, 0.0)
    return model
