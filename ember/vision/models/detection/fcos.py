"""FCOS (Tian et al. 2019, "FCOS: Fully Convolutional One-Stage Object Detection") with
torchvision's module names, state_dict keys and weights."""
import math
from functools import partial

from .... import cat, float32, full, int64, nn, sqrt, stack, where, zeros_like
from ...ops import boxes as box_ops, misc as misc_nn_ops
from ...ops.feature_pyramid_network import LastLevelP6P7
from ...ops.focal_loss import sigmoid_focal_loss
from ...ops.giou_loss import generalized_box_iou_loss
from .._api import load_weights, WeightsEnum
from ..resnet import resnet50, ResNet50_Weights
from . import _utils as det_utils
from .anchor_utils import AnchorGenerator
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import _coco_weights, _detector_weights
from .generalized_rcnn import _merged_detections, _single_stage_inputs
from .retinanet import _flatten_per_anchor
from .transform import GeneralizedRCNNTransform

__all__ = ["FCOS", "FCOS_ResNet50_FPN_Weights", "fcos_resnet50_fpn", "FCOSHead",
           "FCOSClassificationHead", "FCOSRegressionHead"]


class FCOSHead(nn.Module):
    r"""Classification and regression (+ centerness) subnets shared by all levels, and the
    losses, each summed and divided by the number of foreground locations:

    - classification: sigmoid focal loss over all locations and classes;
    - bbox_regression: GIoU loss of the decoded boxes of the foreground;
    - bbox_ctrness: binary cross-entropy of the centerness logits against
      :math:`\sqrt{\frac{\min(l, r)}{\max(l, r)} \frac{\min(t, b)}{\max(t, b)}}`, (l, t, r, b)
      the location's distances to its ground-truth box's sides.
    """

    def __init__(self, in_channels, num_anchors, num_classes, num_convs=4):
        super().__init__()
        self.box_coder = det_utils.BoxLinearCoder(normalize_by_size=True)
        self.classification_head = FCOSClassificationHead(in_channels, num_anchors,
                                                          num_classes, num_convs)
        self.regression_head = FCOSRegressionHead(in_channels, num_anchors, num_convs)

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        cls_logits = head_outputs["cls_logits"]
        bbox_regression = head_outputs["bbox_regression"]
        bbox_ctrness = head_outputs["bbox_ctrness"]
        all_gt_classes, all_gt_boxes = [], []
        for target, matched in zip(targets, matched_idxs):
            if len(target["labels"]) == 0:
                gt_classes = target["labels"].new_zeros((len(matched),))
                gt_boxes = target["boxes"].new_zeros((len(matched), 4))
            else:
                gt_classes = target["labels"][matched.clip(min=0)]
                gt_boxes = target["boxes"][matched.clip(min=0)]
            gt_classes[matched < 0] = -1     # background
            all_gt_classes.append(gt_classes)
            all_gt_boxes.append(gt_boxes)
        all_gt_boxes = stack(all_gt_boxes)
        all_gt_classes = stack(all_gt_classes)
        anchors = stack(anchors)
        foreground = all_gt_classes >= 0
        num_foreground = foreground.sum().item()
        gt_classes_targets = zeros_like(cls_logits)
        gt_classes_targets[foreground, all_gt_classes[foreground]] = 1.0
        loss_cls = sigmoid_focal_loss(cls_logits, gt_classes_targets, reduction="sum")
        pred_boxes = self.box_coder.decode(bbox_regression, anchors)
        loss_bbox_reg = generalized_box_iou_loss(pred_boxes[foreground], all_gt_boxes[foreground],
                                                 reduction="sum")
        bbox_reg_targets = self.box_coder.encode(anchors, all_gt_boxes)
        if len(bbox_reg_targets) == 0:
            gt_ctrness = bbox_reg_targets.new_zeros(bbox_reg_targets.size()[:-1])
        else:
            left_right = bbox_reg_targets[:, :, [0, 2]]
            top_bottom = bbox_reg_targets[:, :, [1, 3]]
            gt_ctrness = sqrt((left_right.min(dim=-1)[0] / left_right.max(dim=-1)[0]) *
                              (top_bottom.min(dim=-1)[0] / top_bottom.max(dim=-1)[0]))
        pred_ctrness = bbox_ctrness.squeeze(dim=2)
        loss_ctrness = nn.functional.binary_cross_entropy_with_logits(
            pred_ctrness[foreground], gt_ctrness[foreground], reduction="sum")
        n = max(1, num_foreground)
        return {"classification": loss_cls / n, "bbox_regression": loss_bbox_reg / n,
                "bbox_ctrness": loss_ctrness / n}

    def forward(self, x):
        cls_logits = self.classification_head(x)
        bbox_regression, bbox_ctrness = self.regression_head(x)
        return {"cls_logits": cls_logits, "bbox_regression": bbox_regression,
                "bbox_ctrness": bbox_ctrness}


def _conv_tower(in_channels, num_convs, norm_layer):
    """``num_convs`` x (3x3 conv, norm (GroupNorm(32) by default), ReLU), convs N(0, 0.01)
    with zero bias."""
    if norm_layer is None:
        norm_layer = partial(nn.GroupNorm, 32)
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=1, padding=1),
                   norm_layer(in_channels), nn.ReLU()]
    tower = nn.Sequential(*layers)
    for layer in tower.children():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.constant_(layer.bias, 0)
    return tower


class FCOSClassificationHead(nn.Module):
    """The conv tower, then a 3x3 conv to A * num_classes logits (bias at the
    ``prior_probability`` 0.01). forward -> (N, sum HWA, num_classes)."""

    def __init__(self, in_channels, num_anchors, num_classes, num_convs=4,
                 prior_probability=0.01, norm_layer=None):
        super().__init__()
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        self.conv = _conv_tower(in_channels, num_convs, norm_layer)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3,
                                    stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias,
                          -math.log((1 - prior_probability) / prior_probability))

    def forward(self, x):
        return cat([_flatten_per_anchor(self.cls_logits(self.conv(f)), self.num_classes)
                    for f in x], dim=1)


class FCOSRegressionHead(nn.Module):
    """The conv tower, then 3x3 convs to the 4 (ReLU'd, so non-negative) box distances and
    the centerness logit per location. forward -> ((N, sum HWA, 4), (N, sum HWA, 1))."""

    def __init__(self, in_channels, num_anchors, num_convs=4, norm_layer=None):
        super().__init__()
        self.conv = _conv_tower(in_channels, num_convs, norm_layer)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1,
                                  padding=1)
        self.bbox_ctrness = nn.Conv2d(in_channels, num_anchors * 1, kernel_size=3, stride=1,
                                      padding=1)
        for layer in [self.bbox_reg, self.bbox_ctrness]:
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        regression, ctrness = [], []
        for features in x:
            t = self.conv(features)
            regression.append(_flatten_per_anchor(nn.functional.relu(self.bbox_reg(t)), 4))
            ctrness.append(_flatten_per_anchor(self.bbox_ctrness(t), 1))
        return cat(regression, dim=1), cat(ctrness, dim=1)


class FCOS(nn.Module):
    """FCOS: transform -> backbone (FPN, with ``out_channels``) -> FCOSHead; one "anchor"
    per location (a square of the level's stride, used as the reference point and scale).

    Training assigns a location to a ground-truth box when its center lies within
    ``center_sampling_radius`` strides of the box center, inside the box, and its largest
    distance to the box's sides is in the level's range (4 to 8 anchor sizes; the first
    level from 0, the last to infinity); of several boxes the smallest wins. Eval: score
    sqrt(sigmoid(class) * sigmoid(centerness)) above ``score_thresh``, top
    ``topk_candidates`` per level, per-class NMS (``nms_thresh``), ``detections_per_img``
    best."""

    def __init__(self, backbone, num_classes, min_size=800, max_size=1333, image_mean=None,
                 image_std=None, anchor_generator=None, head=None, center_sampling_radius=1.5,
                 score_thresh=0.2, nms_thresh=0.6, detections_per_img=100, topk_candidates=1000,
                 **kwargs):
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the "
                             "number of output channels (assumed to be the same for all the "
                             "levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError(f"anchor_generator should be of type AnchorGenerator or None, "
                            f"instead  got {type(anchor_generator)}")
        if anchor_generator is None:
            # sizes equal to the levels' strides, a single anchor per location
            anchor_sizes = ((8,), (16,), (32,), (64,), (128,))
            anchor_generator = AnchorGenerator(anchor_sizes, ((1.0,),) * len(anchor_sizes))
        self.anchor_generator = anchor_generator
        if self.anchor_generator.num_anchors_per_location()[0] != 1:
            raise ValueError(f"anchor_generator.num_anchors_per_location()[0] should be 1 "
                             f"instead of {anchor_generator.num_anchors_per_location()[0]}")
        if head is None:
            head = FCOSHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0],
                            num_classes)
        self.head = head
        self.box_coder = det_utils.BoxLinearCoder(normalize_by_size=True)
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        self.transform = GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std,
                                                  **kwargs)
        self.center_sampling_radius = center_sampling_radius
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def _match(self, anchors, gt_boxes, num_anchors_per_level):
        """Index of the ground truth each location is assigned to, -1 for none."""
        gt_centers = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
        anchor_centers = (anchors[:, :2] + anchors[:, 2:]) / 2
        anchor_sizes = anchors[:, 2] - anchors[:, 0]
        # center sampling: within radius * stride of the box center (Chebyshev distance)
        match = (anchor_centers[:, None, :] - gt_centers[None, :, :]).abs().max(dim=2).values \
            < self.center_sampling_radius * anchor_sizes[:, None]
        x, y = anchor_centers.unsqueeze(dim=2).unbind(dim=1)
        x0, y0, x1, y1 = gt_boxes.unsqueeze(dim=0).unbind(dim=2)
        dist = stack([x - x0, y - y0, x1 - x, y1 - y], dim=2)
        match = match & (dist.min(dim=2).values > 0)
        # each level regresses its own range of box sizes
        lower_bound = anchor_sizes * 4
        lower_bound[:num_anchors_per_level[0]] = 0
        upper_bound = anchor_sizes * 8
        upper_bound[-num_anchors_per_level[-1]:] = float("inf")
        dist = dist.max(dim=2).values
        match = match & (dist > lower_bound[:, None]) & (dist < upper_bound[:, None])
        # of several candidate boxes the smallest wins
        gt_areas = (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
        score = match.to(float32) * (1e8 - gt_areas[None, :])
        best, matched = score.max(dim=1)
        matched[best < 1e-5] = -1
        return matched

    def compute_loss(self, targets, head_outputs, anchors, num_anchors_per_level):
        matched_idxs = []
        for anchors_i, target in zip(anchors, targets):
            if target["boxes"].numel() == 0:
                matched_idxs.append(full((anchors_i.size(0),), -1, dtype=int64,
                                         device=anchors_i.device))
            else:
                matched_idxs.append(self._match(anchors_i, target["boxes"],
                                                num_anchors_per_level))
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        detections = []
        for index, image_shape in enumerate(image_shapes):
            image_boxes, image_scores, image_labels = [], [], []
            for regression, logits, ctrness, anchors_level in zip(
                    [br[index] for br in head_outputs["bbox_regression"]],
                    [cl[index] for cl in head_outputs["cls_logits"]],
                    [bc[index] for bc in head_outputs["bbox_ctrness"]], anchors[index]):
                num_classes = logits.shape[-1]
                scores = sqrt(logits.sigmoid() * ctrness.sigmoid()).flatten()
                keep = scores > self.score_thresh
                scores = scores[keep]
                topk_idxs = where(keep)[0]
                scores, idxs = scores.topk(det_utils._topk_min(topk_idxs, self.topk_candidates,
                                                               0))
                topk_idxs = topk_idxs[idxs]
                anchor_idxs = topk_idxs.div(num_classes, rounding_mode="floor")
                labels = topk_idxs % num_classes
                boxes = self.box_coder.decode(regression[anchor_idxs], anchors_level[anchor_idxs])
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
        num_anchors_per_level = [x.size(2) * x.size(3) for x in features]
        losses, detections = {}, []
        if self.training:
            losses = self.compute_loss(targets, head_outputs, anchors, num_anchors_per_level)
        else:
            split_outputs = {k: list(v.split(num_anchors_per_level, dim=1))
                             for k, v in head_outputs.items()}
            split_anchors = [list(a.split(num_anchors_per_level)) for a in anchors]
            detections = self.postprocess_detections(split_outputs, split_anchors,
                                                     images.image_sizes)
            detections = self.transform.postprocess(detections, images.image_sizes,
                                                    original_image_sizes)
        return self.eager_outputs(losses, detections)


class FCOS_ResNet50_FPN_Weights(WeightsEnum):
    COCO_V1 = _coco_weights(
        "https://download.pytorch.org/models/fcos_resnet50_fpn_coco-99b0c9b7.pth", 32269600,
        {"box_map": 39.2},
        recipe=("https://github.com/pytorch/vision/tree/main/references/detection"
                "#fcos-resnet-50-fpn"),
        _ops=128.207, _file_size=123.608)
    DEFAULT = COCO_V1


def fcos_resnet50_fpn(*, weights=None, progress=True, num_classes=None,
                      weights_backbone=ResNet50_Weights.IMAGENET1K_V1,
                      trainable_backbone_layers=None, **kwargs):
    """FCOS on a ResNet-50-FPN over layer2-4 plus P6/P7 (from P5); ``num_classes``
    defaults to 91 (COCO)."""
    weights, weights_backbone, num_classes = _detector_weights(
        FCOS_ResNet50_FPN_Weights, weights, weights_backbone, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers,
                                                           5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    model = FCOS(backbone, num_classes, **kwargs)
    return load_weights(model, weights, progress)
