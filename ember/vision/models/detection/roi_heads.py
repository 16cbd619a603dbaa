"""The second stage of Faster/Mask R-CNN: classify and refine the proposals (and
predict masks), with their losses and the post-processing of detections."""
from .... import arange, cat, float32, int64, nn, stack, uint8, where, zeros
from ....nn import functional as F
from ...ops import boxes as box_ops, roi_align
from . import _utils as det_utils

__all__ = ["RoIHeads", "fastrcnn_loss", "maskrcnn_loss", "maskrcnn_inference",
           "paste_masks_in_image", "keypoints_to_heatmap", "heatmaps_to_keypoints",
           "keypointrcnn_loss", "keypointrcnn_inference"]


def fastrcnn_loss(class_logits, box_regression, labels, regression_targets):
    """(cross-entropy of the class logits, smooth L1 (beta 1/9) of the positives' deltas
    of their ground-truth class, summed and divided by the number of samples)."""
    labels = cat(labels, dim=0)
    regression_targets = cat(regression_targets, dim=0)
    classification_loss = F.cross_entropy(class_logits, labels)
    pos = where(labels > 0)[0]
    labels_pos = labels[pos]
    N = class_logits.shape[0]
    box_regression = box_regression.reshape(N, box_regression.size(-1) // 4, 4)
    box_loss = F.smooth_l1_loss(box_regression[pos, labels_pos], regression_targets[pos],
                                beta=1 / 9, reduction="sum")
    return classification_loss, box_loss / labels.numel()


def maskrcnn_inference(x, labels):
    """Per image, the sigmoid of the mask logits of each detection's class, (K, 1, M, M)."""
    mask_prob = x.sigmoid()
    boxes_per_image = [label.shape[0] for label in labels]
    labels = cat(labels)
    index = arange(x.shape[0], device=labels.device)
    return mask_prob[index, labels][:, None].split(boxes_per_image, dim=0)


def project_masks_on_boxes(gt_masks, boxes, matched_idxs, M):
    """The ground-truth masks cropped to the proposals and resampled to M x M (roi_align)."""
    rois = cat([matched_idxs.to(boxes)[:, None], boxes], dim=1)
    return roi_align(gt_masks[:, None].to(rois), rois, (M, M), 1.0)[:, 0]


def maskrcnn_loss(mask_logits, proposals, gt_masks, gt_labels, mask_matched_idxs):
    """Binary cross-entropy of each positive's mask logits for its class against its
    ground-truth mask projected on the proposal."""
    M = mask_logits.shape[-1]
    labels = cat([gl[idxs] for gl, idxs in zip(gt_labels, mask_matched_idxs)], dim=0)
    targets = cat([project_masks_on_boxes(m, p, i, M)
                   for m, p, i in zip(gt_masks, proposals, mask_matched_idxs)], dim=0)
    if targets.numel() == 0:
        return mask_logits.sum() * 0
    return F.binary_cross_entropy_with_logits(
        mask_logits[arange(labels.shape[0], device=labels.device), labels], targets)


def expand_boxes(boxes, scale):
    """Boxes scaled by ``scale`` about their centers."""
    w_half = (boxes[:, 2] - boxes[:, 0]) * 0.5 * scale
    h_half = (boxes[:, 3] - boxes[:, 1]) * 0.5 * scale
    x_c = (boxes[:, 2] + boxes[:, 0]) * 0.5
    y_c = (boxes[:, 3] + boxes[:, 1]) * 0.5
    return stack((x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half), dim=1)


def expand_masks(mask, padding):
    """Masks zero-padded by ``padding`` on each side, and the scale that grows a box alike."""
    M = mask.shape[-1]
    return F.pad(mask, (padding,) * 4), float(M + 2 * padding) / M


def paste_mask_in_image(mask, box, im_h, im_w):
    """One M x M mask resized (bilinear) onto its integer box in an im_h x im_w image."""
    box = [int(v) for v in box.tolist()]
    w = max(box[2] - box[0] + 1, 1)
    h = max(box[3] - box[1] + 1, 1)
    mask = F.interpolate(mask.expand((1, 1, -1, -1)), size=(h, w), mode="bilinear",
                         align_corners=False)[0][0]
    im_mask = zeros((im_h, im_w), dtype=mask.dtype, device=mask.device)
    x_0, x_1 = max(box[0], 0), min(box[2] + 1, im_w)
    y_0, y_1 = max(box[1], 0), min(box[3] + 1, im_h)
    if x_1 > x_0 and y_1 > y_0:
        im_mask[y_0:y_1, x_0:x_1] = mask[(y_0 - box[1]):(y_1 - box[1]),
                                         (x_0 - box[0]):(x_1 - box[0])]
    return im_mask


def paste_masks_in_image(masks, boxes, img_shape, padding=1):
    """Masks (K, 1, M, M) pasted into images of img_shape (h, w): (K, 1, h, w)."""
    masks, scale = expand_masks(masks, padding=padding)
    boxes = expand_boxes(boxes, scale).to(dtype=int64)
    im_h, im_w = img_shape
    res = [paste_mask_in_image(m[0], b, im_h, im_w) for m, b in zip(masks, boxes)]
    if res:
        return stack(res, dim=0)[:, None]
    return masks.new_empty((0, 1, im_h, im_w))


def keypoints_to_heatmap(keypoints, rois, heatmap_size):
    """Ground-truth keypoints (K, N, 3: x, y, visibility) as cells of a heatmap_size x
    heatmap_size grid over each RoI: (flat cell index y * size + x, or 0 where invalid;
    valid = visible and inside the RoI), both (K, N) int64. A keypoint on the RoI's right
    or bottom edge falls in the last cell."""
    offset_x, offset_y = rois[:, 0][:, None], rois[:, 1][:, None]
    scale_x = (heatmap_size / (rois[:, 2] - rois[:, 0]))[:, None]
    scale_y = (heatmap_size / (rois[:, 3] - rois[:, 1]))[:, None]
    x, y = keypoints[..., 0], keypoints[..., 1]
    x_on_edge = x == rois[:, 2][:, None]
    y_on_edge = y == rois[:, 3][:, None]
    x = ((x - offset_x) * scale_x).floor().long()
    y = ((y - offset_y) * scale_y).floor().long()
    x[x_on_edge] = heatmap_size - 1
    y[y_on_edge] = heatmap_size - 1
    inside = (x >= 0) & (y >= 0) & (x < heatmap_size) & (y < heatmap_size)
    valid = (inside & (keypoints[..., 2] > 0)).long()
    return (y * heatmap_size + x) * valid, valid


def heatmaps_to_keypoints(maps, rois):
    """Keypoint locations from heatmaps (K, N, H, W) over RoIs (K, 4): each map is resized
    (bicubic) to the RoI's size rounded up, its argmax cell d becomes the continuous
    coordinate (d + 0.5) * (RoI size / rounded size) + RoI corner (Heckbert's c = d + 0.5).
    Returns ((K, N, 3) float32 x, y, 1; (K, N) float32 map values at the argmax)."""
    offset_x, offset_y = rois[:, 0], rois[:, 1]
    widths = (rois[:, 2] - rois[:, 0]).clamp(min=1)
    heights = (rois[:, 3] - rois[:, 1]).clamp(min=1)
    widths_ceil, heights_ceil = widths.ceil(), heights.ceil()
    num_keypoints = maps.shape[1]
    # (float32 whatever the model's dtype, as torchvision)
    xy_preds = zeros((len(rois), 3, num_keypoints), dtype=float32, device=maps.device)
    end_scores = zeros((len(rois), num_keypoints), dtype=float32, device=maps.device)
    for i in range(len(rois)):
        roi_map_width = int(widths_ceil[i].item())
        roi_map_height = int(heights_ceil[i].item())
        width_correction = widths[i] / roi_map_width
        height_correction = heights[i] / roi_map_height
        roi_map = F.interpolate(maps[i][:, None], size=(roi_map_height, roi_map_width),
                                mode="bicubic", align_corners=False)[:, 0]
        w = roi_map.shape[2]
        pos = roi_map.reshape(num_keypoints, -1).argmax(dim=1)
        x_int = pos % w
        y_int = (pos - x_int).div(w, rounding_mode="floor")
        x = (x_int.float() + 0.5) * width_correction
        y = (y_int.float() + 0.5) * height_correction
        xy_preds[i, 0, :] = x + offset_x[i]
        xy_preds[i, 1, :] = y + offset_y[i]
        xy_preds[i, 2, :] = 1
        end_scores[i, :] = roi_map[arange(num_keypoints, device=roi_map.device), y_int, x_int]
    return xy_preds.permute(0, 2, 1), end_scores


def keypointrcnn_loss(keypoint_logits, proposals, gt_keypoints, keypoint_matched_idxs):
    """Cross-entropy over the H*W cells of each (proposal, keypoint) heatmap against the
    cell of its matched ground-truth keypoint, over the valid (visible, inside) ones; 0
    (keeping the graph) when none is valid."""
    N, K, H, W = keypoint_logits.shape
    if H != W:
        raise ValueError(f"keypoint_logits height and width (last two elements of shape) "
                         f"should be equal. Instead got H = {H} and W = {W}")
    heatmaps, valid = [], []
    for proposals_per_image, gt_kp_in_image, midx in zip(proposals, gt_keypoints,
                                                         keypoint_matched_idxs):
        heatmaps_i, valid_i = keypoints_to_heatmap(gt_kp_in_image[midx], proposals_per_image, H)
        heatmaps.append(heatmaps_i.view(-1))
        valid.append(valid_i.view(-1))
    keypoint_targets = cat(heatmaps, dim=0)
    valid = where(cat(valid, dim=0).to(dtype=uint8))[0]
    if keypoint_targets.numel() == 0 or len(valid) == 0:
        return keypoint_logits.sum() * 0
    keypoint_logits = keypoint_logits.view(N * K, H * W)
    return F.cross_entropy(keypoint_logits[valid], keypoint_targets[valid])


def keypointrcnn_inference(x, boxes):
    """Per image, (keypoints (K, N, 3), their scores (K, N)) from the heatmaps ``x`` of all
    images' detections ``boxes``."""
    kp_probs, kp_scores = [], []
    for xx, bb in zip(x.split([box.size(0) for box in boxes], dim=0), boxes):
        kp_prob, scores = heatmaps_to_keypoints(xx, bb)
        kp_probs.append(kp_prob)
        kp_scores.append(scores)
    return kp_probs, kp_scores


class RoIHeads(nn.Module):
    """Box head (and optional mask head) over the proposals.

    Training: the ground-truth boxes join the proposals, each proposal is matched to a
    ground truth (IoU >= fg_iou_thresh: its class; < bg_iou_thresh: background), a
    ``batch_size_per_image`` sample is kept, and fastrcnn_loss (plus maskrcnn_loss on
    the positives) is returned. Eval: class-specific boxes are decoded, clipped, scored
    by softmax, filtered (score > score_thresh, size >= 0.01), NMS'd per class and the
    best ``detections_per_img`` returned as dicts of boxes, labels, scores (masks).
    """

    def __init__(self, box_roi_pool, box_head, box_predictor, fg_iou_thresh, bg_iou_thresh,
                 batch_size_per_image, positive_fraction, bbox_reg_weights, score_thresh,
                 nms_thresh, detections_per_img, mask_roi_pool=None, mask_head=None,
                 mask_predictor=None, keypoint_roi_pool=None, keypoint_head=None,
                 keypoint_predictor=None):
        super().__init__()
        self.box_similarity = box_ops.box_iou
        self.proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh,
                                                  allow_low_quality_matches=False)
        self.fg_bg_sampler = det_utils.BalancedPositiveNegativeSampler(batch_size_per_image,
                                                                       positive_fraction)
        if bbox_reg_weights is None:
            bbox_reg_weights = (10.0, 10.0, 5.0, 5.0)
        self.box_coder = det_utils.BoxCoder(bbox_reg_weights)
        self.box_roi_pool = box_roi_pool
        self.box_head = box_head
        self.box_predictor = box_predictor
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.mask_roi_pool = mask_roi_pool
        self.mask_head = mask_head
        self.mask_predictor = mask_predictor
        self.keypoint_roi_pool = keypoint_roi_pool
        self.keypoint_head = keypoint_head
        self.keypoint_predictor = keypoint_predictor

    def has_mask(self):
        return not (self.mask_roi_pool is None or self.mask_head is None or
                    self.mask_predictor is None)

    def has_keypoint(self):
        return not (self.keypoint_roi_pool is None or self.keypoint_head is None or
                    self.keypoint_predictor is None)

    def assign_targets_to_proposals(self, proposals, gt_boxes, gt_labels):
        matched_idxs, labels = [], []
        for props, gt_b, gt_l in zip(proposals, gt_boxes, gt_labels):
            if gt_b.numel() == 0:
                device = props.device
                clamped = zeros((props.shape[0],), dtype=int64, device=device)
                labels_i = zeros((props.shape[0],), dtype=int64, device=device)
            else:
                matched = self.proposal_matcher(box_ops.box_iou(gt_b, props))
                clamped = matched.clamp(min=0)
                labels_i = gt_l[clamped].to(dtype=int64)
                labels_i[matched == self.proposal_matcher.BELOW_LOW_THRESHOLD] = 0
                labels_i[matched == self.proposal_matcher.BETWEEN_THRESHOLDS] = -1
            matched_idxs.append(clamped)
            labels.append(labels_i)
        return matched_idxs, labels

    def subsample(self, labels):
        pos, neg = self.fg_bg_sampler(labels)
        return [where(p | n)[0] for p, n in zip(pos, neg)]

    def add_gt_proposals(self, proposals, gt_boxes):
        return [cat((p, g)) for p, g in zip(proposals, gt_boxes)]

    def check_targets(self, targets):
        if targets is None:
            raise ValueError("targets should not be None")
        if not all("boxes" in t for t in targets):
            raise ValueError("Every element of targets should have a boxes key")
        if not all("labels" in t for t in targets):
            raise ValueError("Every element of targets should have a labels key")
        if self.has_mask() and not all("masks" in t for t in targets):
            raise ValueError("Every element of targets should have a masks key")
        if self.has_keypoint() and not all("keypoints" in t for t in targets):
            raise ValueError("Every element of targets should have a keypoints key")

    def select_training_samples(self, proposals, targets):
        self.check_targets(targets)
        dtype, device = proposals[0].dtype, proposals[0].device
        gt_boxes = [t["boxes"].to(dtype) for t in targets]
        gt_labels = [t["labels"] for t in targets]
        proposals = self.add_gt_proposals(proposals, gt_boxes)
        matched_idxs, labels = self.assign_targets_to_proposals(proposals, gt_boxes, gt_labels)
        sampled = self.subsample(labels)
        matched_gt_boxes = []
        for i in range(len(proposals)):
            proposals[i] = proposals[i][sampled[i]]
            labels[i] = labels[i][sampled[i]]
            matched_idxs[i] = matched_idxs[i][sampled[i]]
            gt = gt_boxes[i]
            if gt.numel() == 0:
                gt = zeros((1, 4), dtype=dtype, device=device)
            matched_gt_boxes.append(gt[matched_idxs[i]])
        regression_targets = self.box_coder.encode(matched_gt_boxes, proposals)
        return proposals, matched_idxs, labels, regression_targets

    def postprocess_detections(self, class_logits, box_regression, proposals, image_shapes):
        device = class_logits.device
        num_classes = class_logits.shape[-1]
        boxes_per_image = [p.shape[0] for p in proposals]
        pred_boxes = self.box_coder.decode(box_regression, proposals)
        pred_scores = F.softmax(class_logits, -1)
        all_boxes, all_scores, all_labels = [], [], []
        for boxes, scores, image_shape in zip(pred_boxes.split(boxes_per_image, 0),
                                              pred_scores.split(boxes_per_image, 0),
                                              image_shapes):
            boxes = box_ops.clip_boxes_to_image(boxes, image_shape)
            labels = arange(num_classes, device=device).view(1, -1).expand_as(scores)
            # class 0 is the background: drop it, one candidate per (proposal, class)
            boxes = boxes[:, 1:].reshape(-1, 4)
            scores = scores[:, 1:].reshape(-1)
            labels = labels[:, 1:].reshape(-1)
            inds = where(scores > self.score_thresh)[0]
            boxes, scores, labels = boxes[inds], scores[inds], labels[inds]
            keep = box_ops.remove_small_boxes(boxes, min_size=1e-2)
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = box_ops.batched_nms(boxes, scores, labels, self.nms_thresh)
            keep = keep[:self.detections_per_img]
            all_boxes.append(boxes[keep])
            all_scores.append(scores[keep])
            all_labels.append(labels[keep])
        return all_boxes, all_scores, all_labels

    def forward(self, features, proposals, image_shapes, targets=None):
        if targets is not None:
            for t in targets:
                if not t["boxes"].is_floating_point():
                    raise TypeError(f"target boxes must of float type, instead got "
                                    f"{t['boxes'].dtype}")
                if t["labels"].dtype != int64:
                    raise TypeError(f"target labels must of int64 type, instead got "
                                    f"{t['labels'].dtype}")
                # (float32 even in a float64 model, as torchvision demands)
                if self.has_keypoint() and t["keypoints"].dtype != float32:
                    raise TypeError(f"target keypoints must of float type, instead got "
                                    f"{t['keypoints'].dtype}")
        if self.training:
            proposals, matched_idxs, labels, regression_targets = \
                self.select_training_samples(proposals, targets)
        else:
            labels = regression_targets = matched_idxs = None
        box_features = self.box_head(self.box_roi_pool(features, proposals, image_shapes))
        class_logits, box_regression = self.box_predictor(box_features)
        result, losses = [], {}
        if self.training:
            loss_classifier, loss_box_reg = fastrcnn_loss(class_logits, box_regression, labels,
                                                          regression_targets)
            losses = {"loss_classifier": loss_classifier, "loss_box_reg": loss_box_reg}
        else:
            boxes, scores, labels = self.postprocess_detections(class_logits, box_regression,
                                                                proposals, image_shapes)
            result = [{"boxes": b, "labels": lab, "scores": s}
                      for b, s, lab in zip(boxes, scores, labels)]
        if self.has_mask():
            if self.training:
                mask_proposals, pos_matched_idxs = [], []
                for i in range(len(proposals)):
                    pos = where(labels[i] > 0)[0]
                    mask_proposals.append(proposals[i][pos])
                    pos_matched_idxs.append(matched_idxs[i][pos])
            else:
                mask_proposals = [p["boxes"] for p in result]
            mask_features = self.mask_head(self.mask_roi_pool(features, mask_proposals,
                                                              image_shapes))
            mask_logits = self.mask_predictor(mask_features)
            if self.training:
                gt_masks = [t["masks"] for t in targets]
                gt_labels = [t["labels"] for t in targets]
                losses["loss_mask"] = maskrcnn_loss(mask_logits, mask_proposals, gt_masks,
                                                    gt_labels, pos_matched_idxs)
            else:
                masks_probs = maskrcnn_inference(mask_logits, [r["labels"] for r in result])
                for mask_prob, r in zip(masks_probs, result):
                    r["masks"] = mask_prob
        if self.has_keypoint():
            self._keypoint_branch(features, proposals, image_shapes, targets, labels,
                                  matched_idxs, result, losses)
        return result, losses

    def _keypoint_branch(self, features, proposals, image_shapes, targets, labels,
                         matched_idxs, result, losses):
        """Keypoint heatmaps on the positive proposals (training: loss_keypoint) or on the
        detections (eval: 'keypoints' and 'keypoints_scores' added to ``result``)."""
        if self.training:
            keypoint_proposals, pos_matched_idxs = [], []
            for i in range(len(proposals)):
                pos = where(labels[i] > 0)[0]
                keypoint_proposals.append(proposals[i][pos])
                pos_matched_idxs.append(matched_idxs[i][pos])
        else:
            keypoint_proposals = [p["boxes"] for p in result]
        keypoint_features = self.keypoint_head(self.keypoint_roi_pool(
            features, keypoint_proposals, image_shapes))
        keypoint_logits = self.keypoint_predictor(keypoint_features)
        if self.training:
            gt_keypoints = [t["keypoints"] for t in targets]
            losses["loss_keypoint"] = keypointrcnn_loss(keypoint_logits, keypoint_proposals,
                                                        gt_keypoints, pos_matched_idxs)
        else:
            keypoints_probs, kp_scores = keypointrcnn_inference(keypoint_logits,
                                                                keypoint_proposals)
            for keypoint_prob, kps, r in zip(keypoints_probs, kp_scores, result):
                r["keypoints"] = keypoint_prob
                r["keypoints_scores"] = kps
