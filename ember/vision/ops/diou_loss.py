"""distance_box_iou_loss (Zheng et al. 2019)."""
from ... import max as _max, min as _min
from ._utils import _loss_inter_union, _reduce, _upcast_non_float

__all__ = ["distance_box_iou_loss"]


def distance_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    r"""1 - DIoU of matching boxes (Tensor[N, 4], (x1, y1, x2, y2)):

    .. math:: L = 1 - \frac{I}{U + \epsilon} + \frac{d^2}{c^2 + \epsilon}

    d the distance between the box centers, c the diagonal of the enclosing box.
    """
    boxes1 = _upcast_non_float(boxes1)
    boxes2 = _upcast_non_float(boxes2)
    loss, _ = _diou_iou_loss(boxes1, boxes2, eps)
    return _reduce(loss, reduction)


def _diou_iou_loss(boxes1, boxes2, eps=1e-7):
    """(1 - DIoU, IoU) of matching boxes."""
    inter, union = _loss_inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    diagonal2 = (_max(x2, x2g) - _min(x1, x1g)) ** 2 + (_max(y2, y2g) - _min(y1, y1g)) ** 2 + eps
    centers2 = ((x2 + x1) / 2 - (x1g + x2g) / 2) ** 2 + ((y2 + y1) / 2 - (y1g + y2g) / 2) ** 2
    return 1 - iou + centers2 / diagonal2, iou
