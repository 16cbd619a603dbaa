"""Anchor boxes: the region proposal network's and SSD's default boxes."""
import math

from .... import arange, as_tensor, cat, float32, int32, meshgrid, nn, sqrt, stack, tensor

__all__ = ["AnchorGenerator", "DefaultBoxGenerator"]


class AnchorGenerator(nn.Module):
    """Anchors for each feature map: for every position of the map (at the map's stride
    in image pixels) one box per (size, aspect ratio) pair, centered there.

    A box of size s and aspect ratio a = h / w has w = s / sqrt(a), h = s sqrt(a), and is
    (-w/2, -h/2, w/2, h/2) rounded, shifted by (x * stride_w, y * stride_h).

    Args:
        sizes: one tuple of sizes per feature map (or a tuple of sizes: one map each).
        aspect_ratios: one tuple of ratios per feature map (or one tuple for all).

    forward(image_list, feature_maps) -> one Tensor[sum_l H_l W_l A_l, 4] per image.
    """

    def __init__(self, sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),)):
        super().__init__()
        if not isinstance(sizes[0], (list, tuple)):
            sizes = tuple((s,) for s in sizes)
        if not isinstance(aspect_ratios[0], (list, tuple)):
            aspect_ratios = (aspect_ratios,) * len(sizes)
        self.sizes = sizes
        self.aspect_ratios = aspect_ratios
        self.cell_anchors = [self.generate_anchors(size, ratio)
                             for size, ratio in zip(sizes, aspect_ratios)]

    def generate_anchors(self, scales, aspect_ratios, dtype=float32, device="cpu"):
        """The zero-centered anchors (len(ratios) * len(scales), 4), ratios outermost."""
        scales = as_tensor(scales, dtype=dtype, device=device)
        aspect_ratios = as_tensor(aspect_ratios, dtype=dtype, device=device)
        h_ratios = sqrt(aspect_ratios)
        w_ratios = 1 / h_ratios
        ws = (w_ratios[:, None] * scales[None, :]).view(-1)
        hs = (h_ratios[:, None] * scales[None, :]).view(-1)
        return (stack([-ws, -hs, ws, hs], dim=1) / 2).round()

    def set_cell_anchors(self, dtype, device):
        self.cell_anchors = [a.to(dtype=dtype, device=device) for a in self.cell_anchors]

    def num_anchors_per_location(self):
        return [len(s) * len(a) for s, a in zip(self.sizes, self.aspect_ratios)]

    def grid_anchors(self, grid_sizes, strides):
        if not (len(grid_sizes) == len(strides) == len(self.cell_anchors)):
            raise AssertionError(
                "Anchors should be Tuple[Tuple[int]] because each feature map could potentially "
                "have different sizes and aspect ratios. There needs to be a match between the "
                "number of feature maps passed and the number of sizes / aspect ratios "
                f"specified (got {len(grid_sizes)} feature maps and {len(self.cell_anchors)} "
                f"anchor settings).")
        anchors = []
        for (grid_h, grid_w), (stride_h, stride_w), base in zip(grid_sizes, strides,
                                                               self.cell_anchors):
            device = base.device
            shifts_x = arange(0, grid_w, dtype=int32, device=device) * stride_w
            shifts_y = arange(0, grid_h, dtype=int32, device=device) * stride_h
            shift_y, shift_x = meshgrid(shifts_y, shifts_x, indexing="ij")
            shift_x, shift_y = shift_x.reshape(-1), shift_y.reshape(-1)
            shifts = stack((shift_x, shift_y, shift_x, shift_y), dim=1)
            anchors.append((shifts.view(-1, 1, 4) + base.view(1, -1, 4)).reshape(-1, 4))
        return anchors

    def forward(self, image_list, feature_maps):
        grid_sizes = [tuple(f.shape[-2:]) for f in feature_maps]
        image_size = image_list.tensors.shape[-2:]
        dtype, device = feature_maps[0].dtype, feature_maps[0].device
        strides = [(as_tensor(image_size[0] // g[0], device=device),
                    as_tensor(image_size[1] // g[1], device=device)) for g in grid_sizes]
        self.set_cell_anchors(dtype, device)
        over_maps = self.grid_anchors(grid_sizes, strides)
        return [cat(list(over_maps)) for _ in range(len(image_list.image_sizes))]


class DefaultBoxGenerator(nn.Module):
    r"""SSD's default boxes (Liu et al. 2016, section 2.2 and page 6).

    Feature map k has scale :math:`s_k` (``scales``, or spread linearly from
    ``min_ratio`` to ``max_ratio`` over the maps, with 1.0 appended) and the box shapes
    (w, h), relative to the image: :math:`(s_k, s_k)`, :math:`(s'_k, s'_k)` with
    :math:`s'_k = \sqrt{s_k s_{k+1}}`, and for every ratio r of ``aspect_ratios[k]`` both
    :math:`(s_k \sqrt{r}, s_k / \sqrt{r})` and its transpose; with ``clip`` the shapes are
    clamped to [0, 1]. Box centers are ((j + 0.5) / f_x, (i + 0.5) / f_y), f the map's size
    or image size / ``steps[k]``.

    forward(image_list, feature_maps) -> per image Tensor[sum_k H_k W_k A_k, 4] of
    x1 y1 x2 y2 boxes in pixels of the (padded) batch image.
    """

    def __init__(self, aspect_ratios, min_ratio=0.15, max_ratio=0.9, scales=None, steps=None,
                 clip=True):
        super().__init__()
        if steps is not None and len(aspect_ratios) != len(steps):
            raise ValueError("aspect_ratios and steps should have the same length")
        self.aspect_ratios = aspect_ratios
        self.steps = steps
        self.clip = clip
        num_outputs = len(aspect_ratios)
        if scales is None:
            if num_outputs > 1:
                range_ratio = max_ratio - min_ratio
                self.scales = [min_ratio + range_ratio * k / (num_outputs - 1.0)
                               for k in range(num_outputs)]
                self.scales.append(1.0)
            else:
                self.scales = [min_ratio, max_ratio]
        else:
            self.scales = scales
        self._wh_pairs = self._generate_wh_pairs(num_outputs)

    def _generate_wh_pairs(self, num_outputs, dtype=float32, device="cpu"):
        pairs = []
        for k in range(num_outputs):
            s_k = self.scales[k]
            s_prime_k = math.sqrt(self.scales[k] * self.scales[k + 1])
            wh = [[s_k, s_k], [s_prime_k, s_prime_k]]
            for ar in self.aspect_ratios[k]:
                sq_ar = math.sqrt(ar)
                w, h = s_k * sq_ar, s_k / sq_ar
                wh.extend([[w, h], [h, w]])
            pairs.append(as_tensor(wh, dtype=dtype, device=device))
        return pairs

    def num_anchors_per_location(self):
        return [2 + 2 * len(r) for r in self.aspect_ratios]

    def _grid_default_boxes(self, grid_sizes, image_size, dtype=float32):
        """(cx, cy, w, h) boxes of all maps, relative to the image size."""
        default_boxes = []
        for k, f_k in enumerate(grid_sizes):
            if self.steps is not None:
                x_f_k = image_size[1] / self.steps[k]
                y_f_k = image_size[0] / self.steps[k]
            else:
                y_f_k, x_f_k = f_k
            shifts_x = ((arange(0, f_k[1]) + 0.5) / x_f_k).to(dtype=dtype)
            shifts_y = ((arange(0, f_k[0]) + 0.5) / y_f_k).to(dtype=dtype)
            shift_y, shift_x = meshgrid(shifts_y, shifts_x, indexing="ij")
            num_shapes = len(self._wh_pairs[k])
            # every location repeats its center once per box shape
            shifts = stack((shift_x.reshape(-1), shift_y.reshape(-1)) * num_shapes,
                           dim=-1).reshape(-1, 2)
            wh = self._wh_pairs[k].clamp(min=0, max=1) if self.clip else self._wh_pairs[k]
            wh = wh.repeat(f_k[0] * f_k[1], 1)
            default_boxes.append(cat((shifts, wh), dim=1))
        return cat(default_boxes, dim=0)

    def __repr__(self):
        return (f"{self.__class__.__name__}(aspect_ratios={self.aspect_ratios}, "
                f"clip={self.clip}, scales={self.scales}, steps={self.steps})")

    def forward(self, image_list, feature_maps):
        grid_sizes = [tuple(feature_map.shape[-2:]) for feature_map in feature_maps]
        image_size = tuple(image_list.tensors.shape[-2:])
        dtype, device = feature_maps[0].dtype, feature_maps[0].device
        boxes = self._grid_default_boxes(grid_sizes, image_size, dtype=dtype).to(device)
        x_y_size = tensor([image_size[1], image_size[0]], device=device)
        corners = cat([(boxes[:, :2] - 0.5 * boxes[:, 2:]) * x_y_size,
                       (boxes[:, :2] + 0.5 * boxes[:, 2:]) * x_y_size], -1)
        return [corners for _ in image_list.image_sizes]
