"""RoI Align (He et al. 2017, Mask R-CNN): roi_align and the RoIAlign module."""

import numpy as np

from ... import nn
from ..._backend import to_host
from ._taps import bilinear_bin_taps, sample_coords, tap_sum
from ._utils import check_roi_boxes_shape, convert_boxes_to_roi_format

__all__ = ["roi_align", "RoIAlign"]


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def check_pool_input(input, rois, fname):
    """The checks torchvision's kernels make, with their exception types."""
    if input.dim() != 4:
        raise RuntimeError(f"{fname}: expected input of shape (N, C, H, W), got "
                           f"{tuple(input.shape)}")
    if not input.is_floating_point():
        raise RuntimeError(f"{fname}: expected a floating point input, got {input.dtype}")
    if input.device != rois.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {input.device} and {rois.device}!")


def as_rois(boxes, input):
    """boxes (Tensor[K, 5] or list of Tensor[L, 4]) as a detached Tensor[K, 5]."""
    check_roi_boxes_shape(boxes)
    rois = boxes if not isinstance(boxes, (list, tuple)) else convert_boxes_to_roi_format(boxes)
    return rois.detach()


def compute_dtype(x):
    """The dtype positions and weights are computed in: the input's (torchvision's T),
    float32 for the half types."""
    return x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float32)


def roi_align(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    r"""RoI Align: the average of bilinear samples over each of output_size bins of each box.

    A box (x1, y1, x2, y2) in input coordinates times ``spatial_scale`` (shifted by -0.5
    when ``aligned``, so pixel centers sit at integers) is cut into PH x PW bins; each bin
    is sampled on a GH x GW grid (``sampling_ratio`` each way, or ceil(box size / bins)
    when it is <= 0) and output[k, c, i, j] is the mean of input[n_k, c] interpolated
    bilinearly at the samples of bin (i, j). Without ``aligned`` a box is at least 1x1.

    Args:
        input (Tensor[N, C, H, W]): the feature maps.
        boxes (Tensor[K, 5] or List[Tensor[L, 4]]): (n, x1, y1, x2, y2) rows, or per-image
            (x1, y1, x2, y2) boxes.
        output_size (int or (int, int)): (PH, PW).

    Returns:
        Tensor[K, C, PH, PW]. Differentiable in ``input`` (not in ``boxes``).
    """
    rois = as_rois(boxes, input)
    check_pool_input(input, rois, "roi_align")
    ph, pw = _pair(output_size)
    n, c, h, w = input.shape
    k = rois.shape[0]
    groups = _align_groups(input._data, rois._data, spatial_scale, ph, pw, int(sampling_ratio),
                           bool(aligned), compute_dtype(input._data))
    out = tap_sum(input, groups, "nhwc", k * ph * pw, name="RoIAlignBackward0")
    return out.reshape(k, ph, pw, c).permute(0, 3, 1, 2).contiguous()


def _align_groups(x, rois, scale, ph, pw, sampling_ratio, aligned, dt):
    """The taps of roi_align: one group per distinct sampling grid (GH, GW)."""
    from ..._backend import array_namespace
    xp = array_namespace(x)
    _, _, height, width = x.shape
    r = rois.astype(dt, copy=False)
    offset = dt.type(0.5 if aligned else 0.0)
    scale = dt.type(scale)
    x0, y0 = r[:, 1] * scale - offset, r[:, 2] * scale - offset
    roi_w, roi_h = r[:, 3] * scale - offset - x0, r[:, 4] * scale - offset - y0
    if not aligned:   # legacy: boxes of at least one pixel
        roi_w, roi_h = xp.maximum(roi_w, dt.type(1)), xp.maximum(roi_h, dt.type(1))
    bin_h, bin_w = roi_h / dt.type(ph), roi_w / dt.type(pw)
    if sampling_ratio > 0:
        grid_h = np.full(rois.shape[0], sampling_ratio, dtype=np.int64)
        grid_w = grid_h
    else:
        grid_h = np.ceil(to_host(roi_h / dt.type(ph))).astype(np.int64)
        grid_w = np.ceil(to_host(roi_w / dt.type(pw))).astype(np.int64)
    batch = xp.asarray(r[:, 0]).astype(np.int64)
    groups = []
    for gh, gw in sorted(set(zip(grid_h.tolist(), grid_w.tolist()))):
        if gh <= 0 or gw <= 0:   # no samples (aligned boxes of negative size): zeros
            continue
        sel = np.flatnonzero((grid_h == gh) & (grid_w == gw))
        sel_x = xp.asarray(sel)
        ys = sample_coords(xp, y0[sel_x], bin_h[sel_x], ph, gh, dt)
        xs = sample_coords(xp, x0[sel_x], bin_w[sel_x], pw, gw, dt)
        pix, wts = bilinear_bin_taps(xp, ys, xs, height, width, dt)
        rows = pix + (batch[sel_x] * (height * width))[:, None, None, None]
        wts = wts / dt.type(max(gh * gw, 1))
        dest = (sel_x[:, None] * (ph * pw) + xp.arange(ph * pw)[None, :]).reshape(-1)
        t = rows.shape[-1]
        groups.append((dest, rows.reshape(-1, t), wts.reshape(-1, t).astype(x.dtype)))
    return groups


class RoIAlign(nn.Module):
    """See :func:`roi_align`."""

    def __init__(self, output_size, spatial_scale, sampling_ratio, aligned=False):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input, rois):
        return roi_align(input, rois, self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)

    def __repr__(self):
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio}, "
                f"aligned={self.aligned})")
