"""RetinaNet (Lin et al. 2017, "Focal Loss for Dense Object Detection") with torchvision's
module names, state_dict keys and weights."""
import math
from functools import partial

from .... import cat, full, int64, nn, where
from ...ops import boxes as box_ops, misc as misc_nn_ops
from ...ops.feature_pyramid_network import LastLevelP6P7
from ...ops.focal_loss import sigmoid_focal_loss
from .._api import load_weights, WeightsEnum
from ..resnet import resnet50, ResNet50_Weights
from . import _utils as det_utils
from ._utils import _box_loss, overwrite_eps
from .anchor_utils import AnchorGenerator
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import _coco_weights, _detector_weights
from .generalized_rcnn import _merged_detections, _single_stage_inputs
from .transform import GeneralizedRCNNTransform

__all__ = ["RetinaNet", "RetinaNet_ResNet50_FPN_Weights", "RetinaNet_ResNet50_FPN_V2_Weights",
           "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "RetinaNetHead",
           "RetinaNetClassificationHead", "RetinaNetRegressionHead"]


def _sum(x):
    """Left-to-right sum of a list of tensors (the order torchvision adds in)."""
    res = x[0]
    for i in x[1:]:
        res = res + i
    return res


def _rename_v1_head_convs(state_dict, prefix, local_metadata, strict, missing_keys,
                          unexpected_keys, error_msgs):
    # checkpoints before torchvision 0.13 had bare conv/ReLU pairs: conv.{2i} -> conv.{i}.0
    version = local_metadata.get("version", None)
    if version is not None and version >= 2:
        return
    for i in range(4):
        for kind in ("weight", "bias"):
            old = f"{prefix}conv.{2 * i}.{kind}"
            if old in state_dict:
                state_dict[f"{prefix}conv.{i}.0.{kind}"] = state_dict.pop(old)


def _default_anchorgen():
    """Three sizes per level (x, x 2^(1/3), x 2^(2/3) for x = 32 ... 512), ratios 0.5, 1, 2."""
    anchor_sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3)))
                         for x in [32, 64, 128, 256, 512])
    return AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))


def _flatten_per_anchor(x, last):
    """(N, A * last, H, W) -> (N, H * W * A, last), anchors fastest within a location."""
    N, _, H, W = x.shape
    return x.view(N, -1, last, H, W).permute(0, 3, 4, 1, 2).reshape(N, -1, last)


class RetinaNetHead(nn.Module):
    """A classification and a regression subnet, shared by all levels. forward(list of
    feature maps) -> {'cls_logits': (N, sum HWA, num_classes), 'bbox_regression':
    (N, sum HWA, 4)}."""

    def __init__(self, in_channels, num_anchors, num_classes, norm_layer=None):
        super().__init__()
        self.classification_head = RetinaNetClassificationHead(in_channels, num_anchors,
                                                               num_classes,
                                                               norm_layer=norm_layer)
        self.regression_head = RetinaNetRegressionHead(in_channels, num_anchors,
                                                       norm_layer=norm_layer)

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        return {
            "classification": self.classification_head.compute_loss(targets, head_outputs,
                                                                     matched_idxs),
            "bbox_regression": self.regression_head.compute_loss(targets, head_outputs, anchors,
                                                                 matched_idxs),
        }

    def forward(self, x):
        return {"cls_logits": self.classification_head(x),
                "bbox_regression": self.regression_head(x)}


def _four_convs(in_channels, norm_layer):
    convs = nn.Sequential(*[misc_nn_ops.Conv2dNormActivation(in_channels, in_channels,
                                                             norm_layer=norm_layer)
                            for _ in range(4)])
    for layer in convs.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, std=0.01)
            if layer.bias is not None:
                nn.init.constant_(layer.bias, 0)
    return convs


class RetinaNetClassificationHead(nn.Module):
    r"""Four 3x3 conv (+norm) + ReLU layers, then a 3x3 conv to A * num_classes logits whose
    bias starts at :math:`-\log((1 - \pi) / \pi)` (``prior_probability`` :math:`\pi`), so
    every anchor starts at probability :math:`\pi` for each class.

    Loss per image: sigmoid focal loss (alpha 0.25, gamma 2) summed over the anchors that
    are not in the ignored IoU band, divided by max(1, foreground anchors); then averaged
    over the images."""
    _version = 2

    def __init__(self, in_channels, num_anchors, num_classes, prior_probability=0.01,
                 norm_layer=None):
        super().__init__()
        self.conv = _four_convs(in_channels, norm_layer)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3,
                                    stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias,
                          -math.log((1 - prior_probability) / prior_probability))
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        self.BETWEEN_THRESHOLDS = det_utils.Matcher.BETWEEN_THRESHOLDS
        self._register_load_state_dict_pre_hook(_rename_v1_head_convs)

    def compute_loss(self, targets, head_outputs, matched_idxs):
        losses = []
        for target, logits, matched in zip(targets, head_outputs["cls_logits"], matched_idxs):
            foreground = matched >= 0
            num_foreground = foreground.sum()
            gt_classes_target = logits.new_zeros(logits.shape)
            gt_classes_target[foreground, target["labels"][matched[foreground]]] = 1.0
            valid = matched != self.BETWEEN_THRESHOLDS
            loss = sigmoid_focal_loss(logits[valid], gt_classes_target[valid], reduction="sum")
            losses.append(loss / max(1, int(num_foreground)))
        return _sum(losses) / len(targets)

    def forward(self, x):
        return cat([_flatten_per_anchor(self.cls_logits(self.conv(features)), self.num_classes)
                    for features in x], dim=1)


class RetinaNetRegressionHead(nn.Module):
    """Four 3x3 conv (+norm) + ReLU layers, then a 3x3 conv to 4 box deltas per anchor
    (BoxCoder weights 1, 1, 1, 1). Loss per image: ``_loss_type`` ('l1'; the v2 model uses
    'giou') summed over the foreground anchors, divided by max(1, their number); averaged
    over the images."""
    _version = 2

    def __init__(self, in_channels, num_anchors, norm_layer=None):
        super().__init__()
        self.conv = _four_convs(in_channels, norm_layer)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1,
                                  padding=1)
        nn.init.normal_(self.bbox_reg.weight, std=0.01)
        nn.init.zeros_(self.bbox_reg.bias)
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self._loss_type = "l1"
        self._register_load_state_dict_pre_hook(_rename_v1_head_convs)

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        losses = []
        for target, regression, anchors_i, matched in zip(
                targets, head_outputs["bbox_regression"], anchors, matched_idxs):
            foreground = where(matched >= 0)[0]
            matched_gt_boxes = target["boxes"][matched[foreground]]
            loss = _box_loss(self._loss_type, self.box_coder, anchors_i[foreground, :],
                             matched_gt_boxes, regression[foreground, :])
            losses.append(loss / max(1, foreground.numel()))
        return _sum(losses) / max(1, len(targets))

    def forward(self, x):
        return cat([_flatten_per_anchor(self.bbox_reg(self.conv(features)), 4)
                    for features in x], dim=1)


class RetinaNet(nn.Module):
    """RetinaNet: transform -> backbone (FPN, with ``out_channels``) -> RetinaNetHead on
    every level, anchors from ``anchor_generator``.

    forward(images, targets=None): in training the dict {'classification',
    'bbox_regression'} of losses (anchors matched to ground truth with IoU >= 0.5
    foreground, < 0.4 background, each ground truth keeping its best anchors); in eval a
    list of {'boxes', 'scores', 'labels'}: per level the ``topk_candidates`` best
    (anchor, class) scores above ``score_thresh``, decoded and clipped, then per-class NMS
    (``nms_thresh``) and the ``detections_per_img`` best, in the original image
    coordinates."""

    def __init__(self, backbone, num_classes, min_size=800, max_size=1333, image_mean=None,
                 image_std=None, anchor_generator=None, head=None, proposal_matcher=None,
                 score_thresh=0.05, nms_thresh=0.5, detections_per_img=300, fg_iou_thresh=0.5,
                 bg_iou_thresh=0.4, topk_candidates=1000, **kwargs):
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the "
                             "number of output channels (assumed to be the same for all the "
                             "levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError(f"anchor_generator should be of type AnchorGenerator or None instead "
                            f"of {type(anchor_generator)}")
        if anchor_generator is None:
            anchor_generator = _default_anchorgen()
        self.anchor_generator = anchor_generator
        if head is None:
            head = RetinaNetHead(backbone.out_channels,
                                 anchor_generator.num_anchors_per_location()[0], num_classes)
        self.head = head
        if proposal_matcher is None:
            proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh,
                                                 allow_low_quality_matches=True)
        self.proposal_matcher = proposal_matcher
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        self.transform = GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std,
                                                  **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors):
        matched_idxs = []
        for anchors_i, target in zip(anchors, targets):
            if target["boxes"].numel() == 0:
                matched_idxs.append(full((anchors_i.size(0),), -1, dtype=int64,
                                         device=anchors_i.device))
                continue
            matched_idxs.append(self.proposal_matcher(box_ops.box_iou(target["boxes"],
                                                                      anchors_i)))
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        class_logits = head_outputs["cls_logits"]
        box_regression = head_outputs["bbox_regression"]
        detections = []
        for index, image_shape in enumerate(image_shapes):
            image_boxes, image_scores, image_labels = [], [], []
            for regression, logits, anchors_level in zip(
                    [br[index] for br in box_regression], [cl[index] for cl in class_logits],
                    anchors[index]):
                num_classes = logits.shape[-1]
                scores = logits.sigmoid().flatten()
                keep = scores > self.score_thresh
                scores = scores[keep]
                topk_idxs = where(keep)[0]
                num_topk = det_utils._topk_min(topk_idxs, self.topk_candidates, 0)
                scores, idxs = scores.topk(num_topk)
                topk_idxs = topk_idxs[idxs]
                # flat index = anchor * num_classes + class
                anchor_idxs = topk_idxs.div(num_classes, rounding_mode="floor")
                labels = topk_idxs % num_classes
                boxes = self.box_coder.decode_single(regression[anchor_idxs],
                                                     anchors_level[anchor_idxs])
                image_boxes.append(box_ops.clip_boxes_to_image(boxes, image_shape))
                image_scores.append(scores)
                image_labels.append(labels)
            detections.append(_merged_detections(image_boxes, image_scores, image_labels,
                                                 self.nms_thresh, self.detections_per_img))
        return detections

    def forward(self, images, targets=None):
        original_image_sizes, images, targets, features = _single_stage_inputs(
            self, images, targets)
        head_outputs = self.head(features)
        anchors = self.anchor_generator(images, features)
        losses, detections = {}, []
        if self.training:
            losses = self.compute_loss(targets, head_outputs, anchors)
        else:
            hw_per_level = [x.size(2) * x.size(3) for x in features]
            A = head_outputs["cls_logits"].size(1) // sum(hw_per_level)
            per_level = [hw * A for hw in hw_per_level]
            split_outputs = {k: list(v.split(per_level, dim=1)) for k, v in head_outputs.items()}
            split_anchors = [list(a.split(per_level)) for a in anchors]
            detections = self.postprocess_detections(split_outputs, split_anchors,
                                                     images.image_sizes)
            detections = self.transform.postprocess(detections, images.image_sizes,
                                                    original_image_sizes)
        return self.eager_outputs(losses, detections)


class RetinaNet_ResNet50_FPN_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/retinanet_resnet50_fpn_coco-eeacb38b.pth",
        34014999, {"box_map": 36.4},
        recipe="https://github.com/pytorch/vision/tree/main/references/detection#retinanet",
        _ops=151.54, _file_size=130.267)
    DEFAULT = COCO_V1


class RetinaNet_ResNet50_FPN_V2_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/retinanet_resnet50_fpn_v2_coco-5905b1c5.pth",
        38198935, {"box_map": 41.5},
        recipe="https://github.com/pytorch/vision/pull/5756",
        _ops=152.238, _file_size=146.037)
    DEFAULT = COCO_V1


def retinanet_resnet50_fpn(*, weights=None, progress=True, num_classes=None,
                           weights_backbone=ResNet50_Weights.IMAGENET1K_V1,
                           trainable_backbone_layers=None, **kwargs):
    """RetinaNet on a ResNet-50-FPN over layer2-4 (P3-P5) plus P6/P7 from P5;
    ``num_classes`` defaults to 91 (COCO)."""
    weights, weights_backbone, num_classes = _detector_weights(
        RetinaNet_ResNet50_FPN_Weights, weights, weights_backbone, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers,
                                                           5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    # (no P2: it would make too many anchors, says the paper)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    model = RetinaNet(backbone, num_classes, **kwargs)
    if weights is not None:
        load_weights(model, weights, progress)
        if weights == RetinaNet_ResNet50_FPN_Weights.COCO_V1:
            overwrite_eps(model, 0.0)
    return model


def retinanet_resnet50_fpn_v2(*, weights=None, progress=True, num_classes=None,
                              weights_backbone=None, trainable_backbone_layers=None, **kwargs):
    """RetinaNet v2 (the recipe of Li et al. 2021's ViTDet-style training): P6/P7 from C5,
    GroupNorm(32) in the heads, GIoU box loss."""
    weights, weights_backbone, num_classes = _detector_weights(
        RetinaNet_ResNet50_FPN_V2_Weights, weights, weights_backbone, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers,
                                                           5, 3)
    backbone = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(2048, 256))
    anchor_generator = _default_anchorgen()
    head = RetinaNetHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0],
                         num_classes, norm_layer=partial(nn.GroupNorm, 32))
    head.regression_head._loss_type = "giou"
    model = RetinaNet(backbone, num_classes, anchor_generator=anchor_generator, head=head,
                      **kwargs)
    return load_weights(model, weights, progress)
