"""torchvision.utils: make_grid, save_image, and the drawing helpers (boxes, masks, key
points, optical flow). Drawing uses Pillow's ImageDraw, as torchvision does, so labels
come out in the same font and pixels."""
import math
import warnings

__all__ = ["make_grid", "save_image", "draw_bounding_boxes", "draw_segmentation_masks",
           "draw_keypoints", "flow_to_image"]


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Tile a batch ``(B, C, H, W)`` (or a list of CxHxW images) into one CxH'xW' image,
    `nrow` images per row with `padding` pixels of `pad_value` between them.

    With `normalize`, values are shifted and scaled to [0, 1] using `value_range`
    ``(min, max)`` (default: the batch's min and max, or each image's with `scale_each`).
    """
    from .. import Tensor, stack
    if isinstance(tensor, (list, tuple)):
        tensor = stack(list(tensor), dim=0)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = tensor.expand(3, *tensor.shape[1:])
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = tensor.expand(tensor.size(0), 3, *tensor.shape[2:])
    if normalize:
        tensor = tensor.clone()
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and "
                            "max are numbers")

        def norm_range(t):
            low, high = value_range if value_range is not None else (float(t.min()),
                                                                     float(t.max()))
            t.clamp_(min=low, max=high)
            t.sub_(low).div_(max(high - low, 1e-5))

        if scale_each:
            for t in tensor:
                norm_range(t)
        else:
            norm_range(tensor)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    num_channels = tensor.size(1)
    grid = tensor.new_full((num_channels, height * ymaps + padding, width * xmaps + padding),
                           pad_value)   # the batch's dtype and device
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            top, left = y * height + padding, x * width + padding
            grid[:, top:top + height - padding, left:left + width - padding] = tensor[k]
            k += 1
    return grid


def save_image(tensor, fp, format=None, **kwargs):
    """Save a tensor (or batch, tiled by make_grid) as an image file."""
    from .. import no_grad, uint8
    from .transforms.functional import to_pil_image
    with no_grad():
        grid = make_grid(tensor, **kwargs)
        ndarr = grid.mul(255).add_(0.5).clamp_(0, 255).to(uint8)
    to_pil_image(ndarr).save(fp, format=format)


# ---------------------------------------------------------------- drawing


def _check_draw_image(image, rgb_only):
    from .. import Tensor, uint8
    if not isinstance(image, Tensor):
        raise TypeError(f"The image must be a tensor, got {type(image)}" if rgb_only
                        else f"Tensor expected, got {type(image)}")
    if not (image.dtype is uint8 or image.is_floating_point()):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if rgb_only and image.size(0) != 3:
        raise ValueError("Pass an RGB image. Other Image formats are not supported")
    if not rgb_only and image.size(0) not in (1, 3):
        raise ValueError("Only grayscale and RGB images are supported")


def _generate_color_palette(num_objects):
    """Distinct colours: object i gets (i * (2^25 - 1, 2^15 - 1, 2^21 - 1)) % 255."""
    palette = (2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1)
    return [tuple(i * p % 255 for p in palette) for i in range(num_objects)]


def _parse_colors(colors, *, num_objects, floating=False):
    """One RGB triple per object from None (the palette), a colour, or a list of them
    (names or (r, g, b)); scaled to [0, 1] for float images."""
    from PIL import ImageColor
    if colors is None:
        colors = _generate_color_palette(num_objects)
    elif isinstance(colors, list):
        if len(colors) < num_objects:
            raise ValueError(f"Number of colors must be equal or larger than the number of "
                             f"objects, but got {len(colors)} < {num_objects}.")
    elif not isinstance(colors, (tuple, str)):
        raise ValueError(f"colors must be a tuple or a string, or a list thereof, but got "
                         f"{colors}.")
    elif isinstance(colors, tuple) and len(colors) != 3:
        raise ValueError(f"If passed as tuple, colors should be an RGB triplet, but got "
                         f"{colors}.")
    else:
        colors = [colors] * num_objects
    colors = [ImageColor.getrgb(c) if isinstance(c, str) else tuple(c) for c in colors]
    if floating:
        colors = [tuple(v / 255 for v in c) for c in colors]
    return colors


def _to_uint8(image):
    from .. import uint8
    from .transforms.v2.functional import to_dtype
    return to_dtype(image, dtype=uint8, scale=True) if image.is_floating_point() else image


def _from_pil(pil, dtype):
    from .transforms.v2.functional import pil_to_tensor, to_dtype
    out = pil_to_tensor(pil)
    return to_dtype(out, dtype=dtype, scale=True) if dtype.is_floating_point else out


def draw_bounding_boxes(image, boxes, labels=None, colors=None, fill=False, width=1, font=None,
                        font_size=None, label_colors=None, label_background_colors=None,
                        fill_labels=False):
    """The image ``(C, H, W)`` (uint8 or float; 1 or 3 channels) with the boxes drawn:
    ``(N, 4)`` (xmin, ymin, xmax, ymax) as rectangles of `width` pixels, ``(N, 8)`` rotated
    boxes (4 corners) as polygons whose first side is dashed; optionally filled (alpha
    100/255) and labelled. Returns a 3-channel image of the input's dtype."""
    from .. import no_grad, int64
    from PIL import ImageDraw, ImageFont
    _check_draw_image(image, rgb_only=False)
    if boxes.shape[-1] == 4 and ((boxes[:, 0] > boxes[:, 2]).any() or
                                 (boxes[:, 1] > boxes[:, 3]).any()):
        raise ValueError("Boxes need to be in (xmin, ymin, xmax, ymax) format. Use "
                         "torchvision.ops.box_convert to convert them")
    num_boxes = boxes.shape[0]
    if num_boxes == 0:
        warnings.warn("boxes doesn't contain any box. No box was drawn")
        return image
    if labels is None:
        labels = [None] * num_boxes
    elif len(labels) != num_boxes:
        raise ValueError(f"Number of boxes ({num_boxes}) and labels ({len(labels)}) mismatch. "
                         f"Please specify labels for each box.")
    colors = _parse_colors(colors, num_objects=num_boxes)
    if label_colors or fill_labels:
        label_colors = _parse_colors(label_colors if label_colors else "black",
                                     num_objects=num_boxes)
    else:
        label_colors = colors.copy()
    if fill_labels and label_background_colors:
        label_background_colors = _parse_colors(label_background_colors,
                                                num_objects=num_boxes)
    else:
        label_background_colors = colors.copy()
    if font is None:
        if font_size is not None:
            warnings.warn("Argument 'font_size' will be ignored since 'font' is not set.")
        txt_font = ImageFont.load_default()
    else:
        txt_font = ImageFont.truetype(font=font, size=font_size or 10)
    from .transforms.v2.functional import to_pil_image
    with no_grad():
        if image.size(0) == 1:
            image = image.tile((3, 1, 1))
        dtype = image.dtype
        pil = to_pil_image(_to_uint8(image))
        draw = ImageDraw.Draw(pil, "RGBA") if fill else ImageDraw.Draw(pil)
        for box, color, label, label_color, label_bg in zip(
                boxes.to(int64).tolist(), colors, labels, label_colors,
                label_background_colors):
            fill_color = color + (100,) if fill else None
            if len(box) > 4:
                _oriented_rectangle(draw, box, width=width, outline=color, fill=fill_color)
            else:
                draw.rectangle(box, width=width, outline=color, fill=fill_color)
            if label is not None:
                box_margin = 1
                margin = width + box_margin
                at = (box[0] + margin, box[1] + margin)
                if fill_labels:
                    left, top, right, bottom = draw.textbbox(at, label, font=txt_font)
                    draw.rectangle((left - box_margin, top - box_margin, right + box_margin,
                                    bottom + box_margin), fill=label_bg)
                draw.text(at, label, fill=label_color, font=txt_font)
        return _from_pil(pil, dtype)


def _oriented_rectangle(draw, xy, fill=None, outline=None, width=1):
    """A rotated box given by its 4 corners (x1, y1, ..., x4, y4): the first side dashed
    (it marks the box's orientation), the other three solid, the inside filled."""
    _dashed_line(draw, ((xy[0], xy[1]), (xy[2], xy[3])), width=width, fill=outline)
    for i in range(2, len(xy), 2):
        draw.line(((xy[i], xy[i + 1]), (xy[(i + 2) % len(xy)], xy[(i + 3) % len(xy)])),
                  width=width, fill=outline)
    draw.polygon(xy, fill=fill, outline=None, width=0)


def _dashed_line(draw, points, fill=None, width=0, dash_length=5, space_length=5):
    """A polyline drawn as dashes of dash_length separated by gaps of space_length, the
    pattern continuing across vertices."""
    dash = True
    for (x1, y1), (x2, y2) in zip(points[:-1], points[1:]):
        remaining = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
        while remaining > 0:
            step = min(remaining, dash_length if dash else space_length)
            # the direction from where the pattern has got to (torchvision recomputes it
            # each step, so the rounding of the dash ends agrees)
            angle = math.atan2(y2 - y1, x2 - x1)
            end_x, end_y = x1 + math.cos(angle) * step, y1 + math.sin(angle) * step
            if dash:
                draw.line([(x1, y1), (end_x, end_y)], fill, width, None)
            remaining -= step
            x1, y1 = end_x, end_y
            dash = not dash


def draw_segmentation_masks(image, masks, alpha=0.8, colors=None):
    """The RGB image blended with the boolean masks ``(N, H, W)`` (or ``(H, W)``):
    image * (1 - alpha) + coloured * alpha, where pixels covered by several masks are
    black in `coloured`."""
    from .. import bool as bool_, no_grad, tensor
    _check_draw_image(image, rgb_only=True)
    if masks.ndim == 2:
        masks = masks[None, :, :]
    if masks.ndim != 3:
        raise ValueError("masks must be of shape (H, W) or (batch_size, H, W)")
    if masks.dtype is not bool_:
        raise ValueError(f"The masks must be of dtype bool. Got {masks.dtype}")
    if masks.shape[-2:] != image.shape[-2:]:
        raise ValueError("The image and the masks must have the same height and width")
    num_masks = masks.size(0)
    if num_masks == 0:
        warnings.warn("masks doesn't contain any mask. No mask was drawn")
        return image
    dtype = image.dtype
    with no_grad():
        overlapping = masks.sum(dim=0) > 1
        colors = [tensor(c, dtype=dtype, device=image.device) for c in
                  _parse_colors(colors, num_objects=num_masks,
                                floating=dtype.is_floating_point)]
        img_to_draw = image.detach().clone()
        for mask, color in zip(masks, colors):
            img_to_draw[:, mask] = color[:, None]
        img_to_draw[:, overlapping] = 0
        return (image * (1 - alpha) + img_to_draw * alpha).to(dtype)


def draw_keypoints(image, keypoints, connectivity=None, colors=None, radius=2, width=3,
                   visibility=None):
    """The RGB image with key points ``(num_instances, K, 2)`` drawn as discs of `radius`
    and the `connectivity` pairs joined by lines of `width` (invisible points skipped)."""
    from .. import bool as bool_, no_grad, int64, ones
    from PIL import ImageDraw
    from .transforms.v2.functional import to_pil_image
    _check_draw_image(image, rgb_only=True)
    if keypoints.ndim != 3:
        raise ValueError("keypoints must be of shape (num_instances, K, 2)")
    if visibility is None:
        visibility = ones(keypoints.shape[:-1], dtype=bool_)
    if visibility.ndim == 3:
        visibility = visibility.squeeze(-1)
    if visibility.ndim != 2:
        raise ValueError(f"visibility must be of shape (num_instances, K). Got "
                         f"ndim={visibility.ndim}")
    if visibility.shape != keypoints.shape[:-1]:
        raise ValueError(f"keypoints and visibility must have the same dimensionality for "
                         f"num_instances and K. Got visibility.shape={visibility.shape!r} and "
                         f"keypoints.shape={keypoints.shape!r}")
    with no_grad():
        dtype = image.dtype
        pil = to_pil_image(_to_uint8(image))
        draw = ImageDraw.Draw(pil)
        for kpts, vis in zip(keypoints.to(int64).tolist(), visibility.cpu().bool().tolist()):
            for (x, y), visible in zip(kpts, vis):
                if visible:
                    draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colors,
                                 outline=None, width=0)
            for a, b in connectivity or ():
                if vis[a] and vis[b]:
                    draw.line(((kpts[a][0], kpts[a][1]), (kpts[b][0], kpts[b][1])), width=width)
        return _from_pil(pil, dtype)


def _make_colorwheel():
    """The 55 colours of the Middlebury flow colour wheel (RY, YG, GC, CB, BM, MR hue
    ramps of 15, 6, 4, 11, 13, 6 steps)."""
    import numpy as np
    ramps = [(15, 0, 1, "up"), (6, 1, 0, "down"), (4, 1, 2, "up"), (11, 2, 1, "down"),
             (13, 2, 0, "up"), (6, 0, 2, "down")]
    rows = []
    for n, full_channel, ramp_channel, direction in ramps:
        block = np.zeros((n, 3), dtype=np.float32)
        block[:, full_channel] = 255
        ramp = np.floor(np.float32(255) * np.arange(n, dtype=np.float32) / np.float32(n))
        block[:, ramp_channel] = ramp if direction == "up" else 255 - ramp
        rows.append(block)
    return np.concatenate(rows)


def flow_to_image(flow):
    """An optical flow ``(2, H, W)`` or ``(N, 2, H, W)`` (float32) as RGB uint8 images:
    the direction picks the hue on the colour wheel, the magnitude (relative to the
    largest) the saturation."""
    from .. import atan2, float32, floor, from_numpy, long, no_grad, pi, uint8, zeros
    if flow.dtype is not float32:
        raise ValueError(f"Flow should be of dtype torch.float, got {flow.dtype}.")
    orig_shape = flow.shape
    if flow.ndim == 3:
        flow = flow[None]
    if flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(f"Input flow should have shape (2, H, W) or (N, 2, H, W), got "
                         f"{orig_shape}.")
    with no_grad():
        max_norm = flow.pow(2).sum(dim=1).sqrt().max()
        flow = flow / (max_norm + 1.1920928955078125e-07)   # float32's eps
        n, _, h, w = flow.shape
        image = zeros((n, 3, h, w), dtype=uint8, device=flow.device)
        wheel = from_numpy(_make_colorwheel()).to(flow.device)
        ncols = wheel.shape[0]
        norm = flow.pow(2).sum(dim=1).sqrt()
        a = atan2(-flow[:, 1], -flow[:, 0]) / pi
        fk = (a + 1) / 2 * (ncols - 1)
        k0 = floor(fk).to(long)
        k1 = k0 + 1
        k1[k1 == ncols] = 0
        f = fk - k0
        for c in range(3):
            col0 = wheel[:, c][k0] / 255.0
            col1 = wheel[:, c][k1] / 255.0
            col = 1 - norm * (1 - ((1 - f) * col0 + f * col1))
            image[:, c] = floor(255 * col)
        return image[0] if len(orig_shape) == 3 else image
