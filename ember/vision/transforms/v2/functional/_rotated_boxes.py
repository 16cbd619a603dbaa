"""Rotated bounding boxes: clamping them to the canvas, and making a rectangle again of a
box whose corners a transform has moved (resize, affine, perspective).

Boxes here are XYXYXYXY rows (x1, y1, x2, y2, x3, y3, x4, y4): four corners in order
around the box. The clamping is torchvision's: the box's sides keep their angles and only
slide, so a rotated box stays a rectangle of the same orientation.

Clamping, one canvas side at a time. The corners are cycled so that the left-most corner
comes first; the four sides are the lines y = a_i x + b_i through corners i and i + 1. The
intercepts b_i are clamped (``_clamped_intercepts``) so that the box is cut back at the
left edge x = 0: "soft" keeps the smallest box of these angles that encloses the part of
the box inside the canvas, "hard" the largest one inside both the box and the canvas. The
corners are then the intersections of consecutive sides. The canvas is turned a quarter
turn (x, y) -> (y, W - x) and the same is done for the next side, four times in all."""
from ..... import arange, cat, long, stack, where, zeros_like


def _slopes_and_intercepts(boxes):
    """(a, b), each (N, 4): side i runs from corner i to corner i + 1 (cyclically) along
    y = a_i x + b_i."""
    x, y = boxes[:, 0::2], boxes[:, 1::2]
    next_x = cat([x[:, 1:], x[:, :1]], dim=1)
    next_y = cat([y[:, 1:], y[:, :1]], dim=1)
    a = (next_y - y) / (next_x - x)
    return a, y - a * x


def _corners_of(a, b):
    """(N, 8) corners: corner i is where side i - 1 meets side i,
    x = -(b_i - b_{i-1}) / (a_i - a_{i-1}), y = a_i x + b_i."""
    prev_a = cat([a[:, 3:], a[:, :3]], dim=1)
    prev_b = cat([b[:, 3:], b[:, :3]], dim=1)
    x = -(b - prev_b) / (a - prev_a)
    y = a * x + b
    return stack([x, y], dim=-1).reshape(a.shape[0], 8)


def _left_corner_first(boxes):
    """The (N, 8) gather index that cycles each box's corners so that its left-most corner
    (ties: the top-most of them) comes first."""
    x, y = boxes[:, 0::2], boxes[:, 1::2]
    y_max = y.abs().amax(dim=1, keepdim=True)
    x_max = x.abs().amax(dim=1, keepdim=True)
    first = (y / y_max + (x / x_max) * 100).argmin(dim=1)
    return (first.unsqueeze(1) * 2 + arange(8, device=boxes.device)).remainder(8).to(long)


def _clamped_intercepts(boxes, original, canvas_size, clamping_mode):
    """The sides' intercepts (N, 4) after cutting the box back at x = 0 (see the module's
    docstring); they never leave the range of the original box's intercepts."""
    height, width = canvas_size
    a, b = _slopes_and_intercepts(boxes)
    a1, a2, a3, a4 = a.unbind(-1)
    b1, b2, b3, b4 = b.unbind(-1)
    b1m, b2m, b3m, b4m = _slopes_and_intercepts(original)[1].unbind(-1)
    new_b1 = b2.clamp(b1, b3).clamp(0, height)
    new_b4 = b3.clamp(b2, b4).clamp(0, height)
    if clamping_mode == "hard":
        # the largest box inside: the two sides through the cut share one intercept, and
        # the other two move in as far as the canvas's corners require
        mid = (new_b1 + new_b4) / 2
        b2 = stack([mid * a2 / a1, b3 * a2 / a3, (a1 - a2) * width + mid,
                    (a3 - a2) * width + b3], dim=1).amax(dim=1).clamp(max=b2)
        b3 = stack([height * (1 - a3 / a4) + mid * a3 / a4,
                    height * (1 - a3 / a2) + b2 * a3 / a2,
                    (a2 - a3) * width + b2, (a4 - a3) * width + mid],
                   dim=1).amin(dim=1).clamp(min=b3)
        # one intercept for both sides, bounded by both sides' original ranges in turn
        new_b1 = new_b4 = mid.clamp(b1m, b3m).clamp(b2m, b4m)
    else:
        new_b1 = new_b1.clamp(b1m, b3m)
        new_b4 = new_b4.clamp(b2m, b4m)
    return stack([new_b1, b2.clamp(b2m, b4m), b3.clamp(b1m, b3m), new_b4], dim=-1)


def _clamped_at_left_edge(boxes, original, canvas_size, clamping_mode):
    """Boxes (N, 8), left-most corner first, cut back at x = 0."""
    x1, y1, x2, y2, x3, y3, x4, y4 = boxes.unbind(-1)
    a = _slopes_and_intercepts(boxes)[0]
    cut = _corners_of(a, _clamped_intercepts(boxes, original, canvas_size, clamping_mode))
    # a side along the x axis (parallel to the edge): its end corners move to x = 0
    moved = boxes.clone()
    moved[:, 0] = moved[:, 0].clamp(min=0)
    moved[:, 6] = moved[:, 6].clamp(min=0)
    use_cut = (x1 < 0) & ~cut.isnan().any(-1)
    axis_aligned = y1.isclose(y2) | y3.isclose(y4)
    vanished = ((x1 <= 0) & (x2 <= 0) & (x3 <= 0) & (x4 <= 0)) | y1.isclose(y4) | \
        y2.isclose(y3) | (axis_aligned & x1.isclose(x2))
    out = where(use_cut.unsqueeze(1), cut, boxes)
    out = where(axis_aligned.unsqueeze(1), moved, out)
    return where(vanished.unsqueeze(1), zeros_like(out), out)


def clamp_xyxyxyxy(boxes, canvas_size, clamping_mode):
    """Rotated boxes (N, 8) clamped to a (H, W) canvas, "soft" or "hard"."""
    out, original = boxes, boxes.clone()
    for _ in range(4):
        index = _left_corner_first(out)
        out, original = out.gather(1, index), original.gather(1, index)
        out = _clamped_at_left_edge(out, original, canvas_size, clamping_mode)
        # torchvision cycles the corners by the same amount once more (not back), which
        # decides which corner XYXYXYXY boxes list first
        out, original = out.gather(1, index), original.gather(1, index)
        out, original = _quarter_turn(out, canvas_size[1]), _quarter_turn(original,
                                                                           canvas_size[1])
        canvas_size = (canvas_size[1], canvas_size[0])
    return out


def _quarter_turn(boxes, width):
    """(x, y) -> (y, W - x): the canvas turned so that its top side becomes the left one."""
    turned = boxes.clone()
    turned[:, 0::2] = boxes[:, 1::2]
    turned[:, 1::2] = width - boxes[:, 0::2]
    return turned


def parallelogram_to_rectangle(corners):
    """(..., 8) corners of parallelograms (what a resize or shear makes of a rectangle) ->
    rectangles with the same centre and the same long diagonal's end corners: width and
    height from the sides |p2 - p1|, |p4 - p1| and the angle between them; the angle of the
    longer side is kept. Integer input is computed in float32 and cast back."""
    import math

    from ..... import atan2, float32
    shape, dtype = corners.shape, corners.dtype
    p = corners if str(dtype).endswith(("float32", "float64")) else corners.to(float32)
    x1, y1, x2, y2, x3, y3, x4, y4 = p.unbind(-1)
    cx, cy = (x1 + x3) / 2, (y1 + y3) / 2
    side_w = ((x2 - x1) ** 2 + (y2 - y1) ** 2).sqrt()
    side_h = ((x4 - x1) ** 2 + (y4 - y1) ** 2).sqrt()
    angle_w = atan2(y1 - y2, x2 - x1)
    angle_h = atan2(y1 - y4, x4 - x1)
    between = angle_w - angle_h
    sign = 1 - 2 * (between > math.pi / 2).to(between.dtype)       # -1 past a right angle
    cos, sin = between.cos(), between.sin()
    w = where(side_w < side_h, side_w * sin, side_w + side_h * cos * sign)
    h = where(side_w > side_h, side_h * sin, side_h + side_w * cos * sign)
    angle = where(side_h > side_w, angle_h + math.pi / 2, angle_w)
    cos, sin = angle.cos(), angle.sin()
    hw_cos, hw_sin, hh_cos, hh_sin = w / 2 * cos, w / 2 * sin, h / 2 * cos, h / 2 * sin
    out = stack([cx - hw_cos - hh_sin, cy - hh_cos + hw_sin,
                 cx + hw_cos - hh_sin, cy - hh_cos - hw_sin,
                 cx + hw_cos + hh_sin, cy + hh_cos - hw_sin,
                 cx - hw_cos + hh_sin, cy + hh_cos + hw_sin], dim=-1).reshape(shape)
    return out.to(dtype)
