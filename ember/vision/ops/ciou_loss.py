"""complete_box_iou_loss (Zheng et al. 2019)."""
import math

from ... import atan, no_grad
from ._utils import _reduce, _upcast_non_float
from .diou_loss import _diou_iou_loss

__all__ = ["complete_box_iou_loss"]


def complete_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    r"""1 - CIoU of matching boxes (Tensor[N, 4] or Tensor[4], (x1, y1, x2, y2)):

    .. math:: L = L_{DIoU} + \alpha v, \quad
              v = \frac{4}{\pi^2}\left(\arctan\frac{w_2}{h_2} - \arctan\frac{w_1}{h_1}\right)^2,
              \quad \alpha = \frac{v}{1 - IoU + v + \epsilon}

    with alpha a constant (no gradient through it).
    """
    boxes1 = _upcast_non_float(boxes1)
    boxes2 = _upcast_non_float(boxes2)
    diou_loss, iou = _diou_iou_loss(boxes1, boxes2)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    v = (4 / (math.pi ** 2)) * (atan((x2g - x1g) / (y2g - y1g)) - atan((x2 - x1) / (y2 - y1))) ** 2
    with no_grad():
        alpha = v / (1 - iou + v + eps)
    return _reduce(diou_loss + alpha * v, reduction)
