"""Position-sensitive RoI Align (R-FCN with RoI Align sampling): ps_roi_align, PSRoIAlign."""
import numpy as np

from ... import nn
from ..._backend import array_namespace, to_host
from ._taps import bilinear_bin_taps, sample_coords, tap_sum
from .roi_align import _pair, as_rois, check_pool_input, compute_dtype

__all__ = ["ps_roi_align", "PSRoIAlign"]


def check_ps_channels(c, ph, pw):
    if c % (ph * pw) != 0:
        raise RuntimeError(f"input channels must be a multiple of pooling height * pooling width "
                           f"(got {c} channels for a {ph}x{pw} output)")


def check_same_dtype(input, rois, message):
    if input.dtype != rois.dtype:
        raise RuntimeError(f"{message} (got {input.dtype} and {rois.dtype})")


def ps_roi_align(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1):
    r"""Position-sensitive RoI Align: bin (i, j) of output channel c reads input channel
    (c * PH + i) * PW + j, averaging bilinear samples as roi_align with ``aligned=True``
    does (box corners shifted by -0.5, no minimum box size).

    Args:
        input (Tensor[N, C, H, W]): C a multiple of PH * PW.
        boxes (Tensor[K, 5] or List[Tensor[L, 4]]): as for roi_align.
        output_size (int or (int, int)): (PH, PW).

    Returns:
        Tensor[K, C / (PH * PW), PH, PW]. Differentiable in ``input``.
    """
    rois = as_rois(boxes, input)
    check_pool_input(input, rois, "ps_roi_align")
    check_same_dtype(input, rois, "input should have the same type as rois")
    ph, pw = _pair(output_size)
    n, c, h, w = input.shape
    check_ps_channels(c, ph, pw)
    c_out = c // (ph * pw)
    k = rois.shape[0]
    groups = _ps_align_groups(input._data, rois._data, float(spatial_scale), ph, pw,
                              int(sampling_ratio), compute_dtype(input._data))
    out = tap_sum(input, groups, k * c_out * ph * pw, name="PSRoIAlignBackward0")
    return out.reshape(k, c_out, ph, pw)


def _ps_align_groups(x, rois, scale, ph, pw, sampling_ratio, dt):
    xp = array_namespace(x)
    _, c, height, width = x.shape
    c_out = c // (ph * pw)
    r = rois.astype(dt, copy=False)
    half, scale = dt.type(0.5), dt.type(scale)
    x0, y0 = r[:, 1] * scale - half, r[:, 2] * scale - half
    roi_w, roi_h = r[:, 3] * scale - half - x0, r[:, 4] * scale - half - y0
    bin_h, bin_w = roi_h / dt.type(ph), roi_w / dt.type(pw)
    if sampling_ratio > 0:
        grid_h = grid_w = np.full(rois.shape[0], sampling_ratio, dtype=np.int64)
    else:
        grid_h = np.ceil(to_host(bin_h)).astype(np.int64)
        grid_w = np.ceil(to_host(bin_w)).astype(np.int64)
    batch = r[:, 0].astype(np.int64)
    # the input channel read by output (c_out, i, j), and its first element
    channel = xp.arange(c_out * ph * pw).reshape(c_out, ph, pw)
    groups = []
    for gh, gw in sorted(set(zip(grid_h.tolist(), grid_w.tolist()))):
        if gh <= 0 or gw <= 0:
            continue
        sel = xp.asarray(np.flatnonzero((grid_h == gh) & (grid_w == gw)))
        ys = sample_coords(xp, y0[sel], bin_h[sel], ph, gh, dt)
        xs = sample_coords(xp, x0[sel], bin_w[sel], pw, gw, dt)
        pix, wts = bilinear_bin_taps(xp, ys, xs, height, width, dt)   # (G, PH, PW, T)
        plane = (batch[sel][:, None, None, None] * c + channel[None]) * (height * width)
        rows = pix[:, None] + plane[..., None]                         # (G, C_out, PH, PW, T)
        wts = xp.broadcast_to((wts / dt.type(gh * gw))[:, None], rows.shape)
        dest = (sel[:, None] * (c_out * ph * pw) + xp.arange(c_out * ph * pw)[None]).reshape(-1)
        t = rows.shape[-1]
        groups.append((dest, rows.reshape(-1, t), wts.reshape(-1, t).astype(x.dtype)))
    return groups


class PSRoIAlign(nn.Module):
    """See :func:`ps_roi_align`."""

    def __init__(self, output_size, spatial_scale, sampling_ratio):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio

    def forward(self, input, rois):
        return ps_roi_align(input, rois, self.output_size, self.spatial_scale,
                            self.sampling_ratio)

    def __repr__(self):
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio})")
