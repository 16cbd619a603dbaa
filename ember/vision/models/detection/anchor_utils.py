"""Anchor boxes of the region proposal network."""
from .... import arange, as_tensor, cat, float32, int32, meshgrid, nn, sqrt, stack

__all__ = ["AnchorGenerator"]


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
