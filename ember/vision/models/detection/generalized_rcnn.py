"""GeneralizedRCNN: transform -> backbone -> region proposals -> RoI heads."""
from collections import OrderedDict

from .... import cat, nn, Tensor, where

__all__ = ["GeneralizedRCNN"]


def _check_training_targets(targets, with_found=False):
    """Training needs targets whose 'boxes' are (K, 4) tensors (the two-stage detectors'
    messages also say what was found)."""
    if targets is None:
        raise AssertionError("targets should not be none when in training mode")
    for target in targets:
        boxes = target["boxes"]
        if not isinstance(boxes, Tensor):
            found = f", got {type(boxes)}" if with_found else ""
            raise AssertionError(f"Expected target boxes to be of type Tensor{found}.")
        if not (boxes.dim() == 2 and boxes.shape[-1] == 4):
            found = f", got {boxes.shape}" if with_found else ""
            raise AssertionError(f"Expected target boxes to be a tensor of shape [N, 4]{found}.")


def _original_image_sizes(images):
    """(H, W) of each input image, before the transform resizes it."""
    sizes = []
    for img in images:
        val = img.shape[-2:]
        if len(val) != 2:
            raise AssertionError(f"expecting the last two dimensions of the Tensor to be H and W "
                                 f"instead got {img.shape[-2:]}")
        sizes.append((int(val[0]), int(val[1])))
    return sizes


def _single_stage_inputs(model, images, targets, with_found=False):
    """The first half of a single-stage detector's forward (RetinaNet, FCOS, SSD): the
    targets checked, the images and targets transformed, the backbone's feature maps as a
    list. Returns (original image sizes, ImageList, targets, features)."""
    if model.training:
        _check_training_targets(targets, with_found=with_found)
    original_image_sizes = _original_image_sizes(images)
    images, targets = model.transform(images, targets)
    _check_degenerate_boxes(targets)
    features = model.backbone(images.tensors)
    if isinstance(features, Tensor):
        features = OrderedDict([("0", features)])
    return original_image_sizes, images, targets, list(features.values())


def _merged_detections(boxes, scores, labels, nms_thresh, detections_per_img):
    """One image's detection dict from its per-level candidates (lists of tensors):
    class-wise NMS, then the best ``detections_per_img``."""
    from ...ops import boxes as box_ops
    boxes, scores, labels = cat(boxes, dim=0), cat(scores, dim=0), cat(labels, dim=0)
    keep = box_ops.batched_nms(boxes, scores, labels, nms_thresh)[:detections_per_img]
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}


def _check_degenerate_boxes(targets):
    """Every target box needs x2 > x1 and y2 > y1 (after the transform)."""
    if targets is None:
        return
    for target_idx, target in enumerate(targets):
        boxes = target["boxes"]
        degenerate = boxes[:, 2:] <= boxes[:, :2]
        if degenerate.any():
            bb_idx = int(where(degenerate.any(dim=1))[0][0])
            raise AssertionError(
                "All bounding boxes should have positive height and width. Found invalid box "
                f"{boxes[bb_idx].tolist()} for target at index {target_idx}.")


class GeneralizedRCNN(nn.Module):
    """The two-stage detector skeleton.

    forward(images: list of (C, H, W) tensors in [0, 1], targets=None): in training the
    dict of losses (targets: a list of dicts with 'boxes' (K, 4) x1 y1 x2 y2 float and
    'labels' (K,) int64, and 'masks' for Mask R-CNN); in eval a list of detection dicts
    ('boxes', 'labels', 'scores', 'masks'), in the original image coordinates.
    """

    def __init__(self, backbone, rpn, roi_heads, transform):
        super().__init__()
        self.transform = transform
        self.backbone = backbone
        self.rpn = rpn
        self.roi_heads = roi_heads
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def forward(self, images, targets=None):
        if self.training:
            _check_training_targets(targets, with_found=True)
        original_image_sizes = _original_image_sizes(images)
        images, targets = self.transform(images, targets)
        _check_degenerate_boxes(targets)
        features = self.backbone(images.tensors)
        if isinstance(features, Tensor):
            features = OrderedDict([("0", features)])
        proposals, proposal_losses = self.rpn(images, features, targets)
        detections, detector_losses = self.roi_heads(features, proposals, images.image_sizes,
                                                     targets)
        detections = self.transform.postprocess(detections, images.image_sizes,
                                                original_image_sizes)
        losses = {}
        losses.update(detector_losses)
        losses.update(proposal_losses)
        return self.eager_outputs(losses, detections)
