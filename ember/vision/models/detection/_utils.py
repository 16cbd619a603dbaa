"""The bookkeeping of two-stage detectors: box encoding, matching boxes to ground truth,
sampling positives and negatives."""
import math

from collections import OrderedDict

from .... import arange, as_tensor, cat, clamp, exp, int64, log, no_grad, randperm, stack, \
    Tensor, uint8, where, zeros, zeros_like
from ....nn import functional as F
from ...ops.ciou_loss import complete_box_iou_loss
from ...ops.diou_loss import distance_box_iou_loss
from ...ops.giou_loss import generalized_box_iou_loss
from ...ops.misc import FrozenBatchNorm2d

__all__ = ["BalancedPositiveNegativeSampler", "BoxCoder", "BoxLinearCoder", "Matcher",
           "SSDMatcher", "encode_boxes", "overwrite_eps", "retrieve_out_channels"]


class BalancedPositiveNegativeSampler:
    """Per image, up to ``batch_size_per_image`` labelled anchors/proposals: at most
    ``positive_fraction`` of them positive (label >= 1), the rest negative (label 0),
    each drawn uniformly at random (torch.randperm, so seeded runs agree with PyTorch's).

    __call__(matched_idxs: list of label tensors) -> (positive masks, negative masks),
    uint8 tensors shaped as the labels.
    """

    def __init__(self, batch_size_per_image, positive_fraction):
        self.batch_size_per_image = batch_size_per_image
        self.positive_fraction = positive_fraction

    def __call__(self, matched_idxs):
        pos_idx, neg_idx = [], []
        for labels in matched_idxs:
            positive = where(labels >= 1)[0]
            negative = where(labels == 0)[0]
            num_pos = min(positive.numel(), int(self.batch_size_per_image * self.positive_fraction))
            num_neg = min(negative.numel(), self.batch_size_per_image - num_pos)
            perm1 = randperm(positive.numel(), device=positive.device)[:num_pos]
            perm2 = randperm(negative.numel(), device=negative.device)[:num_neg]
            pos_mask = zeros_like(labels, dtype=uint8)
            neg_mask = zeros_like(labels, dtype=uint8)
            pos_mask[positive[perm1]] = 1
            neg_mask[negative[perm2]] = 1
            pos_idx.append(pos_mask)
            neg_idx.append(neg_mask)
        return pos_idx, neg_idx


def encode_boxes(reference_boxes, proposals, weights):
    r"""Regression targets of ``reference_boxes`` relative to ``proposals`` (both (K, 4),
    x1 y1 x2 y2):

    .. math:: t_x = w_x \frac{g_x - p_x}{p_w},\; t_y = w_y \frac{g_y - p_y}{p_h},\;
              t_w = w_w \log\frac{g_w}{p_w},\; t_h = w_h \log\frac{g_h}{p_h}

    with (x, y) box centers and (w, h) box sizes.
    """
    wx, wy, ww, wh = weights[0], weights[1], weights[2], weights[3]
    pw = (proposals[:, 2] - proposals[:, 0]).unsqueeze(1)
    ph = (proposals[:, 3] - proposals[:, 1]).unsqueeze(1)
    px = proposals[:, 0].unsqueeze(1) + 0.5 * pw
    py = proposals[:, 1].unsqueeze(1) + 0.5 * ph
    gw = (reference_boxes[:, 2] - reference_boxes[:, 0]).unsqueeze(1)
    gh = (reference_boxes[:, 3] - reference_boxes[:, 1]).unsqueeze(1)
    gx = reference_boxes[:, 0].unsqueeze(1) + 0.5 * gw
    gy = reference_boxes[:, 1].unsqueeze(1) + 0.5 * gh
    return cat((wx * (gx - px) / pw, wy * (gy - py) / ph, ww * log(gw / pw),
                wh * log(gh / ph)), dim=1)


class BoxCoder:
    """Encodes boxes as regression targets relative to reference boxes (encode_boxes) and
    decodes predicted targets back to boxes; decoded log-sizes are clipped at
    ``bbox_xform_clip`` (log(1000 / 16)) so exp() cannot overflow."""

    def __init__(self, weights, bbox_xform_clip=math.log(1000.0 / 16)):
        self.weights = weights
        self.bbox_xform_clip = bbox_xform_clip

    def encode(self, reference_boxes, proposals):
        boxes_per_image = [len(b) for b in reference_boxes]
        targets = self.encode_single(cat(reference_boxes, dim=0), cat(proposals, dim=0))
        return targets.split(boxes_per_image, 0)

    def encode_single(self, reference_boxes, proposals):
        weights = as_tensor(self.weights, dtype=reference_boxes.dtype,
                            device=reference_boxes.device)
        return encode_boxes(reference_boxes, proposals, weights)

    def decode(self, rel_codes, boxes):
        """rel_codes (sum K_i, 4 * classes) against the list of per-image boxes ->
        (sum K_i, classes, 4)."""
        if not isinstance(boxes, (list, tuple)):
            raise AssertionError("This function expects boxes of type list or tuple.")
        total = sum(b.size(0) for b in boxes)
        if total > 0:
            rel_codes = rel_codes.reshape(total, -1)
        pred = self.decode_single(rel_codes, cat(boxes, dim=0))
        return pred.reshape(total, -1, 4) if total > 0 else pred

    def decode_single(self, rel_codes, boxes):
        boxes = boxes.to(rel_codes.dtype)
        widths = boxes[:, 2] - boxes[:, 0]
        heights = boxes[:, 3] - boxes[:, 1]
        ctr_x = boxes[:, 0] + 0.5 * widths
        ctr_y = boxes[:, 1] + 0.5 * heights
        wx, wy, ww, wh = self.weights
        dx = rel_codes[:, 0::4] / wx
        dy = rel_codes[:, 1::4] / wy
        dw = clamp(rel_codes[:, 2::4] / ww, max=self.bbox_xform_clip)
        dh = clamp(rel_codes[:, 3::4] / wh, max=self.bbox_xform_clip)
        cx = dx * widths[:, None] + ctr_x[:, None]
        cy = dy * heights[:, None] + ctr_y[:, None]
        half_w = 0.5 * (exp(dw) * widths[:, None])
        half_h = 0.5 * (exp(dh) * heights[:, None])
        return stack((cx - half_w, cy - half_h, cx + half_w, cy + half_h), dim=2).flatten(1)


class BoxLinearCoder:
    r"""FCOS's box code: the distances from a reference point (the center of the anchor
    box ``proposals``) to the four sides of the target box,

    .. math:: (l, t, r, b) = (c_x - x_1,\; c_y - y_1,\; x_2 - c_x,\; y_2 - c_y)

    divided by the anchor's (w, h, w, h) when ``normalize_by_size``. Works on any leading
    shape (..., 4). (Note the argument order of encode, torchvision's: the anchors come
    first, the target boxes second.)"""

    def __init__(self, normalize_by_size=True):
        self.normalize_by_size = normalize_by_size

    def _size(self, boxes):
        w = boxes[..., 2] - boxes[..., 0]
        h = boxes[..., 3] - boxes[..., 1]
        return stack((w, h, w, h), dim=-1)

    def encode(self, reference_boxes, proposals):
        ctr_x = 0.5 * (reference_boxes[..., 0] + reference_boxes[..., 2])
        ctr_y = 0.5 * (reference_boxes[..., 1] + reference_boxes[..., 3])
        targets = stack((ctr_x - proposals[..., 0], ctr_y - proposals[..., 1],
                         proposals[..., 2] - ctr_x, proposals[..., 3] - ctr_y), dim=-1)
        if self.normalize_by_size:
            targets = targets / self._size(reference_boxes)
        return targets

    def decode(self, rel_codes, boxes):
        boxes = boxes.to(dtype=rel_codes.dtype)
        ctr_x = 0.5 * (boxes[..., 0] + boxes[..., 2])
        ctr_y = 0.5 * (boxes[..., 1] + boxes[..., 3])
        if self.normalize_by_size:
            rel_codes = rel_codes * self._size(boxes)
        return stack((ctr_x - rel_codes[..., 0], ctr_y - rel_codes[..., 1],
                      ctr_x + rel_codes[..., 2], ctr_y + rel_codes[..., 3]), dim=-1)


class Matcher:
    """Matches each prediction (column of a ground truth x prediction quality matrix,
    e.g. IoU) to its best ground truth: the index, or BELOW_LOW_THRESHOLD (-1) when the
    best quality is < low_threshold, BETWEEN_THRESHOLDS (-2) when in [low, high). With
    ``allow_low_quality_matches`` each ground truth keeps the predictions it overlaps
    best, whatever the thresholds."""
    BELOW_LOW_THRESHOLD = -1
    BETWEEN_THRESHOLDS = -2

    def __init__(self, high_threshold, low_threshold, allow_low_quality_matches=False):
        if low_threshold > high_threshold:
            raise AssertionError("low_threshold should be <= high_threshold")
        self.high_threshold = high_threshold
        self.low_threshold = low_threshold
        self.allow_low_quality_matches = allow_low_quality_matches

    def __call__(self, match_quality_matrix):
        if match_quality_matrix.numel() == 0:
            if match_quality_matrix.shape[0] == 0:
                raise ValueError("No ground-truth boxes available for one of the images "
                                 "during training")
            raise ValueError("No proposal boxes available for one of the images during "
                             "training")
        matched_vals, matches = match_quality_matrix.max(dim=0)
        all_matches = matches.clone() if self.allow_low_quality_matches else None
        below = matched_vals < self.low_threshold
        between = (matched_vals >= self.low_threshold) & (matched_vals < self.high_threshold)
        matches[below] = self.BELOW_LOW_THRESHOLD
        matches[between] = self.BETWEEN_THRESHOLDS
        if all_matches is not None:
            self.set_low_quality_matches_(matches, all_matches, match_quality_matrix)
        return matches

    def set_low_quality_matches_(self, matches, all_matches, match_quality_matrix):
        """Give back their match to the predictions that are some ground truth's best
        (ties included)."""
        best_per_gt, _ = match_quality_matrix.max(dim=1)
        pairs = where(match_quality_matrix == best_per_gt[:, None])
        update = pairs[1]
        matches[update] = all_matches[update]


class SSDMatcher(Matcher):
    """SSD's matching: IoU >= ``threshold`` is a match (no in-between band), and every
    ground truth also takes its single best prediction (the first on ties)."""

    def __init__(self, threshold):
        super().__init__(threshold, threshold, allow_low_quality_matches=False)

    def __call__(self, match_quality_matrix):
        matches = super().__call__(match_quality_matrix)
        _, best_pred_per_gt = match_quality_matrix.max(dim=1)
        matches[best_pred_per_gt] = arange(best_pred_per_gt.size(0), dtype=int64,
                                           device=best_pred_per_gt.device)
        return matches


def overwrite_eps(model, eps):
    """Set the eps of every FrozenBatchNorm2d in ``model`` (the first COCO checkpoints were
    trained with eps 0)."""
    for module in model.modules():
        if isinstance(module, FrozenBatchNorm2d):
            module.eps = eps


def _topk_min(input, orig_kval, axis):
    return min(orig_kval, input.size(axis))


def _box_loss(type, box_coder, anchors_per_image, matched_gt_boxes_per_image,
              bbox_regression_per_image, cnf=None):
    """The summed box regression loss of one image: on the encoded targets for 'l1' and
    'smooth_l1' (``cnf['beta']``, default 1), on the decoded boxes for the IoU losses
    'giou', 'diou', 'ciou' (``cnf['eps']``, default 1e-7)."""
    if type not in ("l1", "smooth_l1", "ciou", "diou", "giou"):
        raise AssertionError(f"Unsupported loss: {type}")
    if type in ("l1", "smooth_l1"):
        target = box_coder.encode_single(matched_gt_boxes_per_image, anchors_per_image)
        if type == "l1":
            return F.l1_loss(bbox_regression_per_image, target, reduction="sum")
        beta = cnf["beta"] if cnf is not None and "beta" in cnf else 1.0
        return F.smooth_l1_loss(bbox_regression_per_image, target, reduction="sum", beta=beta)
    boxes = box_coder.decode_single(bbox_regression_per_image, anchors_per_image)
    eps = cnf["eps"] if cnf is not None and "eps" in cnf else 1e-7
    loss = {"ciou": complete_box_iou_loss, "diou": distance_box_iou_loss,
            "giou": generalized_box_iou_loss}[type]
    return loss(boxes, matched_gt_boxes_per_image, reduction="sum", eps=eps)


def retrieve_out_channels(model, size):
    """The channel counts of the feature maps ``model`` returns for a zero image of
    ``size`` (width, height), found by running it once in eval mode without gradients."""
    in_training = model.training
    model.eval()
    with no_grad():
        device = next(model.parameters()).device
        features = model(zeros((1, 3, size[1], size[0]), device=device))
        if isinstance(features, Tensor):
            features = OrderedDict([("0", features)])
        out_channels = [x.size(1) for x in features.values()]
    if in_training:
        model.train()
    return out_channels
