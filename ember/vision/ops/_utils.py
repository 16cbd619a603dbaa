"""Helpers shared by the vision ops: box-list to RoI conversion, dtype upcasts, and the
reduction of the box losses."""
from ... import cat, float32, float64, int32, int64, Tensor

__all__ = ["convert_boxes_to_roi_format", "check_roi_boxes_shape",
           "split_normalization_params"]


def _cat(tensors, dim=0):
    """cat without a copy for a single tensor."""
    if len(tensors) == 1:
        return tensors[0]
    return cat(tensors, dim)


def convert_boxes_to_roi_format(boxes):
    """A list of per-image boxes [Tensor[L_i, 4]] as one Tensor[K, 5] whose first column
    holds the index i of the image each box belongs to."""
    concat_boxes = _cat(list(boxes), dim=0)
    ids = _cat([b[:, :1].new_full(b[:, :1].shape, i) for i, b in enumerate(boxes)], dim=0)
    return cat([ids, concat_boxes], dim=1)


def check_roi_boxes_shape(boxes):
    """Boxes for the RoI ops: a Tensor[K, 5] or a list/tuple of Tensor[L, 4]. Raises
    AssertionError otherwise (torchvision's torch._assert)."""
    if isinstance(boxes, (list, tuple)):
        for t in boxes:
            if not isinstance(t, Tensor) or t.dim() != 2 or t.size(1) != 4:
                shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise AssertionError(f"The shape of the tensor in the boxes list is not correct "
                                     f"as List[Tensor[L, 4]] (got {shape})")
    elif isinstance(boxes, Tensor):
        if boxes.dim() != 2 or boxes.size(1) != 5:
            raise AssertionError(f"The boxes tensor shape is not correct as Tensor[K, 5] "
                                 f"(got {tuple(boxes.shape)})")
    else:
        raise AssertionError(f"boxes is expected to be a Tensor[L, 5] or a List[Tensor[K, 4]] "
                             f"(got {type(boxes).__name__})")


def split_normalization_params(model, norm_classes=None):
    """(parameters of the normalization layers, all other parameters) of ``model``, those
    that require grad, e.g. to give the norms no weight decay. ``norm_classes`` defaults
    to the batch, layer, group, instance and local-response norms."""
    from ... import nn
    from ...nn.modules.batchnorm import _BatchNorm
    from ...nn.modules.instancenorm import _InstanceNorm
    if not norm_classes:
        norm_classes = [_BatchNorm, nn.LayerNorm, nn.GroupNorm, _InstanceNorm,
                        nn.LocalResponseNorm]
    for t in norm_classes:
        if not issubclass(t, nn.Module):
            raise ValueError(f"Class {t} is not a subclass of nn.Module.")
    classes = tuple(norm_classes)
    norm_params, other_params = [], []
    for module in model.modules():
        if next(module.children(), None):   # a container: only its own parameters
            other_params.extend(p for p in module.parameters(recurse=False) if p.requires_grad)
        elif isinstance(module, classes):
            norm_params.extend(p for p in module.parameters() if p.requires_grad)
        else:
            other_params.extend(p for p in module.parameters() if p.requires_grad)
    return norm_params, other_params


def _upcast(t):
    """float16/bfloat16 to float32 and small ints to int32, so products of coordinates do
    not overflow; float32/64 and int32/64 stay."""
    if t.is_floating_point():
        return t if t.dtype in (float32, float64) else t.float()
    return t if t.dtype in (int32, int64) else t.int()


def _upcast_non_float(t):
    """Anything but float32/float64 as float32 (the box losses)."""
    return t if t.dtype in (float32, float64) else t.float()


def _reduce(loss, reduction, empty_mean_is_zero=True):
    """'none' | 'mean' | 'sum' of a loss tensor; the box losses give 0 (not NaN) for the
    mean of no boxes, keeping the graph (0 * sum)."""
    if reduction == "none":
        return loss
    if reduction == "mean":
        if empty_mean_is_zero and loss.numel() == 0:
            return 0.0 * loss.sum()
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"Invalid Value for arg 'reduction': '{reduction} \n Supported reduction "
                     f"modes: 'none', 'mean', 'sum'")


def _loss_inter_union(boxes1, boxes2):
    """Intersection and union areas of matching boxes (x1, y1, x2, y2) for the losses;
    the intersection is 0 where the boxes do not overlap."""
    from ... import max as _max, min as _min, where
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xi1, yi1 = _max(x1, x1g), _max(y1, y1g)
    xi2, yi2 = _min(x2, x2g), _min(y2, y2g)
    overlap = (yi2 > yi1) & (xi2 > xi1)
    # where() keeps the gradient out of non-overlapping pairs, as a masked assignment does
    inter = where(overlap, (xi2 - xi1) * (yi2 - yi1), (xi2 - xi1) * 0)
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    return inter, union
