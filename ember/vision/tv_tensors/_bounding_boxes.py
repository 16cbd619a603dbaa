"""BoundingBoxes: an ``[N, K]`` tensor of boxes with their format and canvas size."""
import enum

from ..._tensor import Tensor
from ._tv_tensor import TVTensor, _tree_leaves

__all__ = ["BoundingBoxFormat", "BoundingBoxes", "is_rotated_bounding_format"]


class BoundingBoxFormat(enum.Enum):
    """How a box's numbers are laid out.

    XYXY: corners (x1, y1) top left, (x2, y2) bottom right. XYWH: top-left corner, width,
    height. CXCYWH: centre, width, height. Rotated boxes (angle r in degrees): XYWHR,
    CXCYWHR, and XYXYXYXY (the four corners, clockwise from the top left)."""
    XYXY = "XYXY"
    XYWH = "XYWH"
    CXCYWH = "CXCYWH"
    XYWHR = "XYWHR"
    CXCYWHR = "CXCYWHR"
    XYXYXYXY = "XYXYXYXY"


_ROTATED = ("XYWHR", "CXCYWHR", "XYXYXYXY")


def is_rotated_bounding_format(format):
    """Whether `format` (a BoundingBoxFormat or its name) describes rotated boxes."""
    if isinstance(format, BoundingBoxFormat):
        return format.value in _ROTATED
    if isinstance(format, str):
        return format in _ROTATED
    raise ValueError(f"format should be str or BoundingBoxFormat, got {type(format)}")


class BoundingBoxes(TVTensor):
    """Boxes ``[N, K]`` (K = 4, or 5/8 for rotated formats) on an image of
    ``canvas_size = (height, width)``.

    Args: data (anything ``torch.as_tensor`` takes), format (BoundingBoxFormat or its name),
    canvas_size, clamping_mode ("soft" (default), "hard" or None: how transforms clamp boxes
    that leave the canvas), dtype, device, requires_grad."""

    @classmethod
    def _wrap(cls, tensor, *, format, canvas_size, clamping_mode="soft", check_dims=True):
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.ndim != 2:
                raise ValueError(f"Expected a 1D or 2D tensor, got {tensor.ndim}D")
        if clamping_mode is not None and clamping_mode not in ("hard", "soft"):
            raise ValueError(f"clamping_mode must be None, hard or soft, got {clamping_mode}.")
        if isinstance(format, str):
            format = BoundingBoxFormat[format.upper()]
        boxes = tensor.as_subclass(cls)
        boxes.format = format
        boxes.canvas_size = canvas_size
        boxes.clamping_mode = clamping_mode
        return boxes

    @classmethod
    def wrap(cls, tensor, like, **kwargs):
        return cls._wrap(tensor, format=kwargs.get("format", like.format),
                         canvas_size=kwargs.get("canvas_size", like.canvas_size),
                         clamping_mode=kwargs.get("clamping_mode", like.clamping_mode))

    def __new__(cls, data, *, format, canvas_size, clamping_mode="soft", dtype=None,
                device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if not tensor.is_floating_point() and is_rotated_bounding_format(format):
            raise ValueError(f"Rotated bounding boxes should be floating point tensors, got "
                             f"{tensor.dtype}.")
        return cls._wrap(tensor, format=format, canvas_size=canvas_size,
                         clamping_mode=clamping_mode)

    @classmethod
    def _wrap_output(cls, output, args=(), kwargs=None):
        leaves = _tree_leaves(tuple(args) + tuple((kwargs or {}).values()))
        first = next(x for x in leaves if isinstance(x, BoundingBoxes))
        meta = dict(format=first.format, canvas_size=first.canvas_size,
                    clamping_mode=first.clamping_mode, check_dims=False)
        if isinstance(output, Tensor) and not isinstance(output, BoundingBoxes):
            output = BoundingBoxes._wrap(output, **meta)
        elif isinstance(output, (tuple, list)):
            output = type(output)(BoundingBoxes._wrap(part, **meta) for part in output)
        return output

    def __repr__(self, *, tensor_contents=None):
        return self._make_repr(format=self.format, canvas_size=self.canvas_size,
                               clamping_mode=self.clamping_mode)
