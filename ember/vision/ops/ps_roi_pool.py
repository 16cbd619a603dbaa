"""Position-sensitive RoI pooling (Dai et al. 2016, R-FCN): ps_roi_pool, PSRoIPool."""
import numpy as np

from ... import nn
from ..._backend import array_namespace, to_host
from ._taps import tap_sum
from .ps_roi_align import check_ps_channels, check_same_dtype
from .roi_align import _pair, as_rois, check_pool_input
from .roi_pool import integer_bins

__all__ = ["ps_roi_pool", "PSRoIPool"]


def ps_roi_pool(input, boxes, output_size, spatial_scale=1.0):
    r"""Position-sensitive RoI pooling: bin (i, j) of output channel c is the mean of input
    channel (c * PH + i) * PW + j over the pixels of the bin (0 for an empty bin).

    The box corners times ``spatial_scale`` are rounded to pixels (halves away from zero),
    the box is at least 1x1, bin i spans rows [floor(i h / PH), ceil((i + 1) h / PH))
    offset by the box's first row and clipped to [0, H - 1] (likewise for columns).

    Returns:
        Tensor[K, C / (PH * PW), PH, PW]. Differentiable in ``input``.
    """
    rois = as_rois(boxes, input)
    check_pool_input(input, rois, "ps_roi_pool")
    check_same_dtype(input, rois, "input and rois must have the same dtype")
    ph, pw = _pair(output_size)
    n, c, h, w = input.shape
    check_ps_channels(c, ph, pw)
    c_out = c // (ph * pw)
    k = rois.shape[0]
    groups = _ps_pool_groups(input._data, rois._data, float(spatial_scale), ph, pw)
    out = tap_sum(input, groups, k * c_out * ph * pw, name="PSRoIPoolBackward0")
    return out.reshape(k, c_out, ph, pw)


def _ps_pool_groups(x, rois, scale, ph, pw):
    xp = array_namespace(x)
    _, c, height, width = x.shape
    c_out = c // (ph * pw)
    k = rois.shape[0]
    if k == 0:
        return []
    # (K, PH) / (K, PW) bin limits; this op clips them to the last pixel (H - 1)
    hs, he, ws, we = integer_bins(xp, rois, scale, ph, pw, height - 1, width - 1, extra=0)
    ext_h = int(to_host((he - hs).max())) if ph else 0
    ext_w = int(to_host((we - ws).max())) if pw else 0
    area = ((he - hs)[:, :, None] * (we - ws)[:, None, :]).astype(x.dtype)   # (K, PH, PW)
    batch = xp.asarray(rois[:, 0]).astype(np.int64)
    channel = xp.arange(c_out * ph * pw).reshape(c_out, ph, pw)
    plane = (batch[:, None, None, None] * c + channel[None]) * (height * width)
    rows, wts = [], []
    for dy in range(max(ext_h, 0)):
        for dx in range(max(ext_w, 0)):
            yy = hs + dy                                            # (K, PH)
            xx = ws + dx                                            # (K, PW)
            inside = ((yy < he)[:, :, None] & (xx < we)[:, None, :])
            pix = xp.where(inside, yy[:, :, None] * width + xx[:, None, :], 0)
            rows.append(plane + pix[:, None])
            wts.append(xp.broadcast_to(
                xp.where(inside, 1 / xp.where(inside, area, 1), 0).astype(x.dtype)[:, None],
                plane.shape))
    if not rows:
        return []
    dest = xp.arange(k * c_out * ph * pw)
    return [(dest, xp.stack(rows, -1).reshape(dest.shape[0], -1),
             xp.stack(wts, -1).reshape(dest.shape[0], -1))]


class PSRoIPool(nn.Module):
    """See :func:`ps_roi_pool`."""

    def __init__(self, output_size, spatial_scale):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input, rois):
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self):
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale})")
