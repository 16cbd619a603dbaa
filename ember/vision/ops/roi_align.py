"""RoI Align (He et al. 2017, Mask R-CNN): roi_align and the RoIAlign module."""

import numpy as np

from ... import nn
from ..._backend import array_namespace, to_host, ufunc_at
from ..._ops._base import Op, apply
from ._taps import bilinear_axis, sample_coords
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
    if input.dtype != rois.dtype:
        raise RuntimeError(f"input should have the same type as rois (got {input.dtype} and "
                           f"{rois.dtype})")
    ph, pw = _pair(output_size)
    plan = _align_plan(input._data, rois._data, spatial_scale, ph, pw, int(sampling_ratio),
                       bool(aligned), compute_dtype(input._data))
    return apply(RoIAlignOp, (input,), (input._data, plan))


class RoIAlignOp(Op):
    r"""roi_align as a separable linear map: the bilinear weight of a sample is
    w_y(y) w_x(x), so the mean over a bin's GH x GW samples is, for box k,

    .. math:: out[k, c] = A^y_k \, x[n_k, c] \, (A^x_k)^T

    with A^y_k (PH, H) the summed row weights of the samples of each bin row (divided by
    GH) and A^x_k (PW, W) likewise for columns. Each box reads only the crop of rows and
    columns its weights touch: two small matrix products per box, whatever the sampling
    grid. The backward is the adjoint, RoIAlignAdjoint, whose backward is this op.
    """
    _name = "RoIAlignBackward0"

    @staticmethod
    def forward(ctx, x, plan):
        ctx.plan, ctx.in_shape = plan, x.shape
        return align_forward(ctx.xp, x, plan)

    @staticmethod
    def backward(ctx, grad):
        return apply(RoIAlignAdjoint, (grad,), (grad._data, ctx.plan, ctx.in_shape))


class RoIAlignAdjoint(Op):
    """The input gradient of roi_align: grad[n_k, c, crop] += A^y_k^T g[k, c] A^x_k."""
    _name = "RoIAlignBackwardBackward0"

    @staticmethod
    def forward(ctx, g, plan, in_shape):
        ctx.plan = plan
        return align_adjoint(ctx.xp, g, plan, in_shape)

    @staticmethod
    def backward(ctx, grad):
        return apply(RoIAlignOp, (grad,), (grad._data, ctx.plan))


def align_forward(xp, x, plan):
    k, ph, pw, boxes = plan
    out = xp.zeros((k, x.shape[1], ph, pw), dtype=x.dtype)
    for i, b, h0, h1, w0, w1, ay, ax in boxes:
        # (PH, hc) @ (C, hc, wc) @ (wc, PW): matmul broadcasts over the channels
        out[i] = ay.astype(x.dtype, copy=False) @ (
            x[b, :, h0:h1, w0:w1] @ ax.T.astype(x.dtype, copy=False))
    return out


def align_adjoint(xp, g, plan, in_shape):
    boxes = plan[3]
    grad = xp.zeros(in_shape, dtype=g.dtype)
    for i, b, h0, h1, w0, w1, ay, ax in boxes:
        # (hc, PH) @ (C, PH, PW) @ (PW, wc)
        grad[b, :, h0:h1, w0:w1] += ay.T.astype(g.dtype, copy=False) @ (
            g[i] @ ax.astype(g.dtype, copy=False))
    return grad


def _axis_weights(xp, start, size, bins, grid, n, dt):
    """A (K, bins, n): the weight of pixel j in bin i of box k along one axis, the sum over
    the bin's samples of their bilinear weights divided by the number of samples."""
    a = xp.zeros((start.shape[0], bins, n), dtype=dt)
    for g in sorted(set(grid.tolist())):
        if g <= 0:   # no samples (aligned boxes of negative size): zeros
            continue
        sel = xp.asarray(np.flatnonzero(grid == g))
        coords = sample_coords(xp, start[sel], size[sel], bins, g, dt)     # (G, bins, g)
        lo, hi, w_lo, w_hi = bilinear_axis(xp, coords, n, dt)
        part = xp.zeros((sel.shape[0], bins, n), dtype=dt)
        box = xp.broadcast_to(xp.arange(sel.shape[0])[:, None, None], lo.shape)
        row = xp.broadcast_to(xp.arange(bins)[None, :, None], lo.shape)
        for pix, wt in ((lo, w_lo), (hi, w_hi)):
            ufunc_at(np.add, part, (box, row, pix), wt / dt.type(g))
        a[sel] = part
    return a


def _align_plan(x, rois, scale, ph, pw, sampling_ratio, aligned, dt):
    """(K, PH, PW, boxes): for each box with samples inside the map, (k, n, h0, h1, w0, w1,
    A^y crop (PH, h1 - h0), A^x crop (PW, w1 - w0)); the sample positions follow
    torchvision's kernel (computed in the input's dtype)."""
    xp = array_namespace(x)
    _, _, height, width = x.shape
    k = rois.shape[0]
    r = rois.astype(dt, copy=False)
    offset = dt.type(0.5 if aligned else 0.0)
    scale = dt.type(scale)
    x0, y0 = r[:, 1] * scale - offset, r[:, 2] * scale - offset
    roi_w, roi_h = r[:, 3] * scale - offset - x0, r[:, 4] * scale - offset - y0
    if not aligned:   # legacy: boxes of at least one pixel
        roi_w, roi_h = xp.maximum(roi_w, dt.type(1)), xp.maximum(roi_h, dt.type(1))
    bin_h, bin_w = roi_h / dt.type(ph), roi_w / dt.type(pw)
    if sampling_ratio > 0:
        grid_h = grid_w = np.full(k, sampling_ratio, dtype=np.int64)
    else:
        grid_h = np.ceil(to_host(bin_h)).astype(np.int64)
        grid_w = np.ceil(to_host(bin_w)).astype(np.int64)
    ay = _axis_weights(xp, y0, bin_h, ph, grid_h, height, dt)
    ax = _axis_weights(xp, x0, bin_w, pw, grid_w, width, dt)
    # a box reads the rows (columns) where its weights are nonzero
    live_y = to_host((ay != 0).any(axis=1))                              # (K, H)
    live_x = to_host((ax != 0).any(axis=1))
    batch = to_host(r[:, 0]).astype(np.int64)
    boxes = []
    for i in range(k):
        rows, cols = np.flatnonzero(live_y[i]), np.flatnonzero(live_x[i])
        if rows.size == 0 or cols.size == 0:
            continue
        h0, h1, w0, w1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        boxes.append((i, int(batch[i]), h0, h1, w0, w1, ay[i, :, h0:h1], ax[i, :, w0:w1]))
    return k, ph, pw, boxes


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
