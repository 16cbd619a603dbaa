"""Box utilities (torchvision.ops.boxes): formats, areas, the IoU family, non-maximum
suppression, clipping and masks to boxes.

Boxes are rows of coordinates in the last dim. 'xyxy' is (x1, y1, x2, y2), top-left and
bottom-right corners, with 0 <= x1 < x2 and 0 <= y1 < y2; 'xywh' is (x1, y1, w, h);
'cxcywh' is (cx, cy, w, h). The rotated formats add an angle r in degrees,
counter-clockwise about the box: 'xywhr' (top-left corner, w, h, r), 'cxcywhr' (center,
w, h, r), and 'xyxyxyxy' the four corners in order top-left, top-right, bottom-right,
bottom-left. Everything except nms is composed of differentiable ember ops.
"""
import math

import numpy as np

from ... import atan, atan2, cos, empty, float32, int64, max as _max, min as _min, \
    no_grad, sin, stack, Tensor, unique, where, zeros, zeros_like
from ..._backend import like, to_host
from ._utils import _upcast

__all__ = ["nms", "batched_nms", "remove_small_boxes", "clip_boxes_to_image", "box_convert",
           "box_area", "box_iou", "generalized_box_iou", "distance_box_iou",
           "complete_box_iou", "masks_to_boxes"]

_AXIS_ALIGNED = ("xyxy", "xywh", "cxcywh")
_ROTATED = ("cxcywhr", "xywhr", "xyxyxyxy")


def nms(boxes, scores, iou_threshold):
    r"""Greedy non-maximum suppression.

    Visits the boxes (x1, y1, x2, y2) by decreasing score; a box is kept unless a box kept
    before it overlaps it with IoU = inter / (area_a + area_b - inter) > iou_threshold.

    Returns:
        int64 Tensor of the indices kept, by decreasing score.
    """
    if boxes.dim() != 2:
        raise RuntimeError(f"boxes should be a 2d tensor, got {boxes.dim()}D")
    if boxes.size(1) != 4:
        raise RuntimeError(f"boxes should have 4 elements in dimension 1, got {boxes.size(1)}")
    if scores.dim() != 1:
        raise RuntimeError(f"scores should be a 1d tensor, got {scores.dim()}D")
    if boxes.size(0) != scores.size(0):
        raise RuntimeError(f"boxes and scores should have same number of elements in dimension "
                           f"0, got {boxes.size(0)} and {scores.size(0)}")
    if boxes.device != scores.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {boxes.device} and {scores.device}!")
    # a sequential scan: on the host (CUDA boxes are copied over and the indices back)
    b = to_host(boxes.detach()._data)
    s = to_host(scores.detach()._data)
    keep = _greedy_nms(b, s, float(iou_threshold))
    return Tensor._make(like(keep, boxes._data))


def _greedy_nms(b, s, threshold):
    """Indices (int64 array) that greedy NMS keeps, in order of decreasing score (ties in
    the order given); the arithmetic is in the boxes' dtype, as torchvision's kernel's."""
    n = b.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    # a stable descending sort: negate a copy as float64 so -x cannot overflow integers
    order = np.argsort(-s.astype(np.float64), kind="stable")
    x1, y1, x2, y2 = (b[order, i] for i in range(4))
    area = (x2 - x1) * (y2 - y1)
    suppressed = np.zeros(n, dtype=bool)
    keep = []
    zero = b.dtype.type(0)
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(order[i])
        rest = slice(i + 1, n)
        w = np.maximum(zero, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(zero, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = inter / (area[i] + area[rest] - inter)
        suppressed[rest] |= iou > threshold
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes, scores, idxs, iou_threshold):
    """NMS within each category: boxes of different ``idxs`` never suppress each other.

    Returns:
        int64 Tensor of the indices kept, by decreasing score.
    """
    if boxes.numel() == 0:
        return empty((0,), dtype=int64, device=boxes.device)
    # Shifting each category's boxes by (category * (max coordinate + 1)) makes boxes of
    # different categories disjoint, so one NMS call serves all categories (torchvision's
    # "coordinate trick"); very many boxes (torchvision's thresholds) go category by
    # category instead.
    if boxes.numel() > (4000 if boxes.device.type == "cpu" else 100_000):
        return _batched_nms_per_category(boxes, scores, idxs, iou_threshold)
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def _batched_nms_per_category(boxes, scores, idxs, iou_threshold):
    keep_mask = zeros_like(scores, dtype=bool)
    for class_id in unique(idxs):
        current = where(idxs == class_id)[0]
        kept = nms(boxes[current], scores[current], iou_threshold)
        keep_mask[current[kept]] = True
    keep = where(keep_mask)[0]
    return keep[scores[keep].sort(descending=True)[1]]


def remove_small_boxes(boxes, min_size):
    """Indices of the boxes (x1, y1, x2, y2) whose width and height are both >= min_size."""
    ws = boxes[..., 2] - boxes[..., 0]
    hs = boxes[..., 3] - boxes[..., 1]
    keep = (ws >= min_size) & (hs >= min_size)
    return where(keep)[0]


def clip_boxes_to_image(boxes, size):
    """Boxes (x1, y1, x2, y2) clamped into an image of size (height, width):
    x into [0, width], y into [0, height]."""
    height, width = size
    boxes_x = boxes[..., 0::2].clamp(min=0, max=width)
    boxes_y = boxes[..., 1::2].clamp(min=0, max=height)
    return stack((boxes_x, boxes_y), dim=boxes.dim()).reshape(boxes.shape)


def box_convert(boxes, in_fmt, out_fmt):
    """Boxes (Tensor[..., K]) converted from ``in_fmt`` to ``out_fmt`` (see the module
    docstring). Axis-aligned formats convert among themselves; rotated ones among
    themselves. Integer rotated boxes are rounded back to their dtype."""
    allowed = _AXIS_ALIGNED + _ROTATED
    if in_fmt not in allowed or out_fmt not in allowed:
        raise ValueError(f"Unsupported Bounding Box Conversions for given in_fmt {in_fmt} and "
                         f"out_fmt {out_fmt}")
    if in_fmt == out_fmt:
        return boxes.clone()
    if in_fmt in _AXIS_ALIGNED and out_fmt in _AXIS_ALIGNED:
        return _from_xyxy(_to_xyxy(boxes, in_fmt), out_fmt)
    if in_fmt in _ROTATED and out_fmt in _ROTATED:
        return _rotated_convert(boxes, in_fmt, out_fmt)
    raise NotImplementedError(f"Unsupported Bounding Box Conversions for given in_fmt {in_fmt} "
                              f"and out_fmt {out_fmt}")


def _to_xyxy(boxes, fmt):
    if fmt == "xyxy":
        return boxes
    a, b, w, h = boxes.unbind(-1)
    if fmt == "xywh":
        return stack([a, b, a + w, b + h], dim=-1)
    return stack((a - 0.5 * w, b - 0.5 * h, a + 0.5 * w, b + 0.5 * h), dim=-1)   # cxcywh


def _from_xyxy(boxes, fmt):
    if fmt == "xyxy":
        return boxes
    x1, y1, x2, y2 = boxes.unbind(-1)
    if fmt == "xywh":
        return stack((x1, y1, x2 - x1, y2 - y1), dim=-1)
    return stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)   # cxcywh


def _rotated_convert(boxes, in_fmt, out_fmt):
    """Rotated formats through 'xywhr': the top-left corner (x1, y1) and the unit vectors
    u = (cos r, -sin r) along the top edge and v = (sin r, cos r) down the left edge
    (image y points down, r counter-clockwise)."""
    dtype = boxes.dtype
    integral = not boxes.is_floating_point()
    if in_fmt == "cxcywhr":
        cx, cy, w, h, r = boxes.unbind(-1)
        c, s = _cos_sin(r)
        xywhr = stack((cx - w / 2 * c - h / 2 * s, cy - h / 2 * c + w / 2 * s, w, h, r), dim=-1)
    elif in_fmt == "xyxyxyxy":
        x1, y1, x2, y2, x3, y3, x4, y4 = boxes.unbind(-1)
        r = atan2(y1 - y2, x2 - x1) * 180 / math.pi
        w = ((x2 - x1) ** 2 + (y1 - y2) ** 2).sqrt()
        h = ((x3 - x2) ** 2 + (y3 - y2) ** 2).sqrt()
        xywhr = stack((x1, y1, w, h, r), dim=-1)
    else:
        xywhr = boxes
    if in_fmt != "xywhr" and integral:
        xywhr = xywhr.round().to(dtype)
    if out_fmt == "xywhr":
        return xywhr
    x1, y1, w, h, r = xywhr.unbind(-1)
    c, s = _cos_sin(r)
    if out_fmt == "cxcywhr":
        out = stack([x1 + w / 2 * c + h / 2 * s, y1 - w / 2 * s + h / 2 * c, w, h, r], dim=-1)
    else:   # xyxyxyxy
        x2, y2 = x1 + w * c, y1 - w * s
        out = stack((x1, y1, x2, y2, x2 + h * s, y2 + h * c, x1 + h * s, y1 + h * c), dim=-1)
    return out.round().to(dtype) if integral else out


def _cos_sin(r_degrees):
    rad = r_degrees * math.pi / 180.0
    return cos(rad), sin(rad)


def box_area(boxes, fmt="xyxy"):
    """Area of each box: (x2 - x1) * (y2 - y1), or w * h for 'xywh'/'cxcywh'."""
    if fmt not in _AXIS_ALIGNED:
        raise ValueError(f"Unsupported Bounding Box area for given format {fmt}")
    boxes = _upcast(boxes)
    if fmt == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]


def _box_inter_union(boxes1, boxes2, fmt="xyxy"):
    """Pairwise intersection and union areas, Tensor[..., N, M] each."""
    area1 = box_area(boxes1, fmt=fmt)
    area2 = box_area(boxes2, fmt=fmt)
    a = _to_xyxy(boxes1, fmt)
    b = _to_xyxy(boxes2, fmt)
    lt = _max(a[..., None, :2], b[..., None, :, :2])
    rb = _min(a[..., None, 2:], b[..., None, :, 2:])
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[..., None] + area2[..., None, :] - inter
    return inter, union


def box_iou(boxes1, boxes2, fmt="xyxy"):
    """Pairwise intersection over union, Tensor[..., N, M], of boxes1 (Tensor[..., N, K])
    and boxes2 (Tensor[..., M, K]): inter / (area1 + area2 - inter). Axis-aligned formats
    (K = 4) are differentiable; rotated ones (K = 5 or 8) go through ``box_iou_rotated``
    (the exact area of the overlap polygon, not differentiable)."""
    if fmt in _AXIS_ALIGNED:
        inter, union = _box_inter_union(boxes1, boxes2, fmt=fmt)
        return inter / union
    if fmt in _ROTATED:
        from .boxes_rotated import box_iou_rotated
        if fmt != "cxcywhr":
            boxes1 = box_convert(boxes1, in_fmt=fmt, out_fmt="cxcywhr")
            boxes2 = box_convert(boxes2, in_fmt=fmt, out_fmt="cxcywhr")
        return box_iou_rotated(boxes1, boxes2)
    raise ValueError(f"Unsupported format '{fmt}'. Supported axis-aligned formats: "
                     f"{_AXIS_ALIGNED}. Supported rotated formats: {_ROTATED}.")


def _enclosing_wh(boxes1, boxes2):
    """Width and height (Tensor[..., N, M, 2]) of the smallest box enclosing each pair."""
    lt = _min(boxes1[..., None, :2], boxes2[..., None, :, :2])
    rb = _max(boxes1[..., None, 2:], boxes2[..., None, :, 2:])
    return _upcast(rb - lt).clamp(min=0)


def generalized_box_iou(boxes1, boxes2):
    r"""Pairwise GIoU = IoU - (|C| - |A \cup B|) / |C|, C the smallest enclosing box."""
    inter, union = _box_inter_union(boxes1, boxes2)
    iou = inter / union
    wh = _enclosing_wh(boxes1, boxes2)
    area_c = wh[..., 0] * wh[..., 1]
    return iou - (area_c - union) / area_c


def _box_diou_iou(boxes1, boxes2, eps=1e-7):
    """(DIoU, IoU): DIoU = IoU - d^2 / (c^2 + eps), d the distance between the centers and
    c the diagonal of the enclosing box."""
    iou = box_iou(boxes1, boxes2)
    wh = _enclosing_wh(boxes1, boxes2)
    diagonal2 = wh[..., 0] ** 2 + wh[..., 1] ** 2 + eps
    cx1 = (boxes1[..., 0] + boxes1[..., 2]) / 2
    cy1 = (boxes1[..., 1] + boxes1[..., 3]) / 2
    cx2 = (boxes2[..., 0] + boxes2[..., 2]) / 2
    cy2 = (boxes2[..., 1] + boxes2[..., 3]) / 2
    centers2 = _upcast(cx1[..., None] - cx2[..., None, :]) ** 2 + \
        _upcast(cy1[..., None] - cy2[..., None, :]) ** 2
    return iou - centers2 / diagonal2, iou


def distance_box_iou(boxes1, boxes2, eps=1e-7):
    """Pairwise distance IoU, Tensor[..., N, M] (see _box_diou_iou)."""
    diou, _ = _box_diou_iou(_upcast(boxes1), _upcast(boxes2), eps=eps)
    return diou


def complete_box_iou(boxes1, boxes2, eps=1e-7):
    r"""Pairwise complete IoU = DIoU - alpha v, with the aspect-ratio term
    v = 4 / pi^2 (atan(w1 / h1) - atan(w2 / h2))^2 and alpha = v / (1 - IoU + v + eps)
    taken as a constant (no gradient flows through alpha)."""
    boxes1 = _upcast(boxes1)
    boxes2 = _upcast(boxes2)
    diou, iou = _box_diou_iou(boxes1, boxes2, eps)
    w1 = boxes1[..., None, 2] - boxes1[..., None, 0]
    h1 = boxes1[..., None, 3] - boxes1[..., None, 1]
    w2 = boxes2[..., None, :, 2] - boxes2[..., None, :, 0]
    h2 = boxes2[..., None, :, 3] - boxes2[..., None, :, 1]
    v = (4 / (math.pi ** 2)) * (atan(w1 / h1) - atan(w2 / h2)) ** 2
    with no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


def masks_to_boxes(masks):
    """The (x1, y1, x2, y2) box (float32, inclusive pixel coordinates) around the nonzero
    pixels of each mask of masks (Tensor[N, H, W]); an empty mask gives (0, 0, 0, 0)."""
    if masks.numel() == 0:
        return zeros((0, 4), device=masks.device, dtype=float32)
    n, h, w = masks.shape
    on = masks.bool()
    rows = on.any(dim=2)     # (N, H): some pixel of the row is set
    cols = on.any(dim=1)     # (N, W)
    empty_masks = ~rows.any(dim=1)
    # first set row/column: the argmax of a 0/1 vector; the last one: the same, reversed
    y1 = rows.float().argmax(dim=1)
    x1 = cols.float().argmax(dim=1)
    y2 = (h - 1) - rows.float().flip(dims=[1]).argmax(dim=1)
    x2 = (w - 1) - cols.float().flip(dims=[1]).argmax(dim=1)
    boxes = stack([x1, y1, x2, y2], dim=1).float()
    boxes[empty_masks] = 0
    return boxes
