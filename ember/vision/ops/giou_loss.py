"""generalized_box_iou_loss (Rezatofighi et al. 2019)."""
from ... import max as _max, min as _min
from ._utils import _loss_inter_union, _reduce, _upcast_non_float

__all__ = ["generalized_box_iou_loss"]


def generalized_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    r"""1 - GIoU of matching boxes (Tensor[N, 4] or Tensor[4], (x1, y1, x2, y2)):

    .. math:: L = 1 - \frac{I}{U + \epsilon} + \frac{|C| - U}{|C| + \epsilon}

    C the smallest box enclosing both. Symmetric in its arguments; the mean of no boxes is 0.
    """
    boxes1 = _upcast_non_float(boxes1)
    boxes2 = _upcast_non_float(boxes2)
    inter, union = _loss_inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    area_c = (_max(x2, x2g) - _min(x1, x1g)) * (_max(y2, y2g) - _min(y1, y1g))
    loss = 1 - (iou - (area_c - union) / (area_c + eps))
    return _reduce(loss, reduction)
