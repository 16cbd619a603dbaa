"""Sizes of the inputs, and the bounding-box format conversions and clamping."""
import math

from ....._tensor import Tensor
from .... import tv_tensors
from ....tv_tensors import BoundingBoxFormat, is_rotated_bounding_format
from ._utils import _dispatch, _register, _register_pil, is_pure_tensor

__all__ = ["get_dimensions", "get_dimensions_image", "get_dimensions_video", "get_num_channels",
           "get_num_channels_image", "get_num_channels_video", "get_image_num_channels",
           "get_size", "get_size_image", "get_size_video", "get_size_mask",
           "get_size_bounding_boxes", "get_size_keypoints", "get_num_frames",
           "get_num_frames_video", "convert_bounding_box_format", "clamp_bounding_boxes",
           "clamp_keypoints"]


# ---------------------------------------------------------------- sizes

def get_dimensions(inpt):
    """``[channels, height, width]`` of an image or video."""
    return _dispatch(get_dimensions, inpt)


@_register(get_dimensions, Tensor, tv_tensors.Image, tv_tensors.Video, tv_tensor_wrapper=False)
def get_dimensions_image(image):
    chw = list(image.shape[-3:])
    if len(chw) == 3:
        return chw
    if len(chw) == 2:
        return [1] + chw
    raise TypeError(f"Input tensor should have at least two dimensions, but got {len(chw)}")


get_dimensions_video = get_dimensions_image


@_register_pil(get_dimensions)
def _get_dimensions_pil(image):
    return [len(image.getbands()), image.height, image.width]


def get_num_channels(inpt):
    """The number of channels of an image or video."""
    return _dispatch(get_num_channels, inpt)


@_register(get_num_channels, Tensor, tv_tensors.Image, tv_tensors.Video, tv_tensor_wrapper=False)
def get_num_channels_image(image):
    return get_dimensions_image(image)[0]


get_num_channels_video = get_num_channels_image
get_image_num_channels = get_num_channels


@_register_pil(get_num_channels)
def _get_num_channels_pil(image):
    return len(image.getbands())


def get_size(inpt):
    """``[height, width]`` of an image, video, mask, or the canvas of boxes/key points."""
    return _dispatch(get_size, inpt)


@_register(get_size, Tensor, tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask,
           tv_tensor_wrapper=False)
def get_size_image(image):
    if image.ndim < 2:
        raise TypeError(f"Input tensor should have at least two dimensions, but got "
                        f"{image.ndim}")
    return list(image.shape[-2:])


get_size_video = get_size_mask = get_size_image


@_register_pil(get_size)
def _get_size_pil(image):
    return [image.height, image.width]


@_register(get_size, tv_tensors.BoundingBoxes, tv_tensor_wrapper=False)
def get_size_bounding_boxes(bounding_box):
    return list(bounding_box.canvas_size)


@_register(get_size, tv_tensors.KeyPoints, tv_tensor_wrapper=False)
def get_size_keypoints(keypoints):
    return list(keypoints.canvas_size)


def get_num_frames(inpt):
    """The number of frames of a video ``[..., T, C, H, W]``."""
    return _dispatch(get_num_frames, inpt)


@_register(get_num_frames, Tensor, tv_tensors.Video, tv_tensor_wrapper=False)
def get_num_frames_video(video):
    return video.shape[-4]


# ---------------------------------------------------------------- box formats

def _half(t):
    """t / 2, floored for integer boxes (as torchvision's integer formats round)."""
    return t / 2 if t.is_floating_point() else t.div(2, rounding_mode="floor")


def _to_xyxy(boxes, fmt):
    """Axis-aligned boxes in `fmt` as XYXY (a new tensor)."""
    if fmt is BoundingBoxFormat.XYXY:
        return boxes.clone()
    a, b = boxes[..., :2], boxes[..., 2:]
    if fmt is BoundingBoxFormat.XYWH:                 # (x1, y1) + (w, h)
        return _cat(a, a + b)
    # CXCYWH: integer boxes go through float, the corners rounded down the way
    # torchvision's conversion casts them
    if boxes.is_floating_point():
        lo = a - b / 2
        return _cat(lo, lo + b)
    f = boxes.float()
    lo = f[..., :2] - f[..., 2:] / 2
    return _cat(lo, lo + f[..., 2:]).to(boxes.dtype)


def _from_xyxy(xyxy, fmt):
    if fmt is BoundingBoxFormat.XYXY:
        return xyxy
    lo, hi = xyxy[..., :2], xyxy[..., 2:]
    wh = hi - lo
    if fmt is BoundingBoxFormat.XYWH:
        return _cat(lo, wh)
    # CXCYWH: (2 * lo + wh) / 2
    return _cat(_half(lo * 2 + wh), wh)


def _cat(a, b):
    from ..... import cat
    return cat([a, b], dim=-1)


# ---- rotated boxes: XYWHR (top-left corner, width, height, angle r in degrees
# counter-clockwise), CXCYWHR (centre instead of corner), XYXYXYXY (the four corners, from
# the top-left one along the width first). Conversions go through XYWHR.

def _half_abs(wh):
    # |wh / -2|: integer boxes round the half towards -infinity first, as torchvision's
    return (wh / -2 if wh.is_floating_point() else wh.div(-2, rounding_mode="floor")).abs()


def _cos_sin(r):
    rad = r * (math.pi / 180.0)
    return rad.cos(), rad.sin()


def _cxcywhr_to_xywhr(b):
    half = _half_abs(b[..., 2:4])
    cos, sin = _cos_sin(b[..., 4])
    x = b[..., 0] - half[..., 0] * cos - half[..., 1] * sin
    y = b[..., 1] + half[..., 0] * sin - half[..., 1] * cos
    return _stack_last([x, y, b[..., 2], b[..., 3], b[..., 4]]).to(b.dtype)


def _xywhr_to_cxcywhr(b):
    half = _half_abs(b[..., 2:4])
    cos, sin = _cos_sin(b[..., 4])
    cx = b[..., 0] + half[..., 0] * cos + half[..., 1] * sin
    cy = b[..., 1] - half[..., 0] * sin + half[..., 1] * cos
    return _stack_last([cx, cy, b[..., 2], b[..., 3], b[..., 4]]).to(b.dtype)


def _xywhr_to_xyxyxyxy(b):
    x, y, w, h = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    cos, sin = _cos_sin(b[..., 4])
    corners = [x, y, x + w * cos, y - w * sin, x + w * cos + h * sin, y - (w * sin - h * cos),
               x + h * sin, y + h * cos]
    return _stack_last(corners).to(b.dtype)


def _xyxyxyxy_to_xywhr(b):
    from ..... import atan2, float32
    dtype = b.dtype
    p = b if str(dtype).endswith(("float32", "float64")) else b.to(float32)
    r = atan2(p[..., 1] - p[..., 3], p[..., 2] - p[..., 0])
    w = ((p[..., 2] - p[..., 0]) ** 2 + (p[..., 3] - p[..., 1]) ** 2).sqrt()
    h = ((p[..., 4] - p[..., 2]) ** 2 + (p[..., 5] - p[..., 3]) ** 2).sqrt()
    return _stack_last([p[..., 0], p[..., 1], w, h, r / math.pi * 180.0]).to(dtype)


def _stack_last(parts):
    from ..... import stack
    return stack(parts, dim=-1)


def _convert_rotated(boxes, old_format, new_format):
    xywhr = {BoundingBoxFormat.XYWHR: lambda b: b, BoundingBoxFormat.CXCYWHR: _cxcywhr_to_xywhr,
             BoundingBoxFormat.XYXYXYXY: _xyxyxyxy_to_xywhr}[old_format](boxes)
    return {BoundingBoxFormat.XYWHR: lambda b: b, BoundingBoxFormat.CXCYWHR: _xywhr_to_cxcywhr,
            BoundingBoxFormat.XYXYXYXY: _xywhr_to_xyxyxyxy}[new_format](xywhr)


def _convert_plain(boxes, old_format, new_format):
    if new_format is old_format:
        return boxes
    if is_rotated_bounding_format(old_format) ^ is_rotated_bounding_format(new_format):
        raise ValueError("Cannot convert between rotated and unrotated bounding boxes.")
    if is_rotated_bounding_format(old_format):
        return _convert_rotated(boxes, old_format, new_format)
    if old_format is BoundingBoxFormat.XYWH and new_format is BoundingBoxFormat.CXCYWH:
        lo, wh = boxes[..., :2], boxes[..., 2:]
        return _cat(lo + _half(wh), wh)
    if old_format is BoundingBoxFormat.CXCYWH and new_format is BoundingBoxFormat.XYWH:
        xyxy = _to_xyxy(boxes, old_format)
        return _cat(xyxy[..., :2], xyxy[..., 2:] - xyxy[..., :2])
    return _from_xyxy(_to_xyxy(boxes, old_format), new_format)


def _format(fmt):
    return BoundingBoxFormat[fmt.upper()] if isinstance(fmt, str) else fmt


def convert_bounding_box_format(inpt, old_format=None, new_format=None, inplace=False):
    """Boxes converted from one BoundingBoxFormat to another: XYXY, XYWH = (x1, y1, x2 - x1,
    y2 - y1), CXCYWH = ((x1 + x2) / 2, (y1 + y2) / 2, w, h); among the rotated formats
    XYWHR, CXCYWHR, XYXYXYXY.
    Plain tensors need `old_format`; BoundingBoxes carry theirs."""
    if new_format is None:
        raise TypeError("convert_bounding_box_format() missing 1 required argument: "
                        "'new_format'")
    old_format, new_format = _format(old_format), _format(new_format)
    if is_pure_tensor(inpt):
        if old_format is None:
            raise ValueError("For pure tensor inputs, `old_format` has to be passed.")
        out = _convert_plain(inpt, old_format, new_format)
        if inplace and out is not inpt:
            inpt.copy_(out)
            return inpt
        return out
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if old_format is not None:
            raise ValueError("For bounding box tv_tensor inputs, `old_format` must not be "
                             "passed.")
        out = _convert_plain(inpt.as_subclass(Tensor), inpt.format, new_format)
        return tv_tensors.wrap(out, like=inpt, format=new_format)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got "
                    f"{type(inpt)} instead.")


def _clamp_plain(boxes, fmt, canvas_size, clamping_mode):
    """Boxes clamped to the canvas. Axis-aligned boxes: x in [0, W], y in [0, H] (integer
    boxes are clamped in float32 and cast back; "soft" and "hard" agree for them). Rotated
    boxes keep their angle: their sides slide in (see ``_rotated_boxes``)."""
    if clamping_mode is None:
        return boxes.clone()
    if is_rotated_bounding_format(fmt):
        return _clamp_rotated(boxes, fmt, canvas_size, clamping_mode)
    in_dtype = boxes.dtype
    work = boxes if boxes.is_floating_point() else boxes.float()
    xyxy = _to_xyxy(work, fmt)
    h, w = canvas_size
    from ..... import stack
    x = xyxy[..., 0::2].clamp(0, w)
    y = xyxy[..., 1::2].clamp(0, h)
    xyxy = stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)
    return _from_xyxy(xyxy, fmt).to(in_dtype)


def _clamp_rotated(boxes, fmt, canvas_size, clamping_mode):
    from ._rotated_boxes import clamp_xyxyxyxy
    corners = _convert_plain(boxes.clone(), fmt, BoundingBoxFormat.XYXYXYXY).reshape(-1, 8)
    out = clamp_xyxyxyxy(corners, tuple(canvas_size), clamping_mode)
    return _convert_plain(out, BoundingBoxFormat.XYXYXYXY, fmt).reshape(boxes.shape)


def clamp_bounding_boxes(inpt, format=None, canvas_size=None, clamping_mode="auto"):
    """Boxes clamped to their canvas. Plain tensors need format, canvas_size and an explicit
    clamping_mode; BoundingBoxes use their own ("auto" = the boxes' clamping_mode)."""
    if clamping_mode is not None and clamping_mode not in ("soft", "hard", "auto"):
        raise ValueError(f"clamping_mode must be soft, hard, auto or None, got {clamping_mode}")
    if is_pure_tensor(inpt):
        if format is None or canvas_size is None or clamping_mode == "auto":
            raise ValueError("For pure tensor inputs, `format`, `canvas_size` and "
                             "`clamping_mode` have to be passed.")
        return _clamp_plain(inpt, _format(format), canvas_size, clamping_mode)
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("For bounding box tv_tensor inputs, `format` and `canvas_size` "
                             "must not be passed.")
        mode = inpt.clamping_mode if clamping_mode == "auto" else clamping_mode
        out = _clamp_plain(inpt.as_subclass(Tensor), inpt.format, inpt.canvas_size, mode)
        return tv_tensors.wrap(out, like=inpt)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got "
                    f"{type(inpt)} instead.")


def clamp_keypoints(inpt, canvas_size=None):
    """Key points clamped into the canvas: x in [0, W - 1], y in [0, H - 1]."""
    if is_pure_tensor(inpt):
        if canvas_size is None:
            raise ValueError("For pure tensor inputs, `canvas_size` has to be passed.")
        return _clamp_points(inpt, canvas_size)
    if isinstance(inpt, tv_tensors.KeyPoints):
        if canvas_size is not None:
            raise ValueError("For keypoints tv_tensor inputs, `canvas_size` must not be passed.")
        return tv_tensors.wrap(_clamp_points(inpt.as_subclass(Tensor), inpt.canvas_size),
                               like=inpt)
    raise TypeError(f"Input can either be a plain tensor or a keypoints tv_tensor, but got "
                    f"{type(inpt)} instead.")


def _clamp_points(points, canvas_size):
    from ..... import stack
    dtype = points.dtype
    p = points if points.is_floating_point() else points.float()
    h, w = canvas_size
    out = stack([p[..., 0].clamp(0, w - 1), p[..., 1].clamp(0, h - 1)], dim=-1)
    return out.to(dtype)

