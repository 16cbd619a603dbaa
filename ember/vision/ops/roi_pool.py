"""RoI max pooling (Girshick 2015, Fast R-CNN): roi_pool and the RoIPool module."""
import numpy as np

from ... import nn
from ..._backend import to_host
from ..._ops._base import Op, apply
from ._taps import round_half_away, tap_scatter
from .ps_roi_align import check_same_dtype
from .roi_align import _pair, as_rois, check_pool_input

__all__ = ["roi_pool", "RoIPool"]

_FLT_MAX = float(np.finfo(np.float32).max)


def integer_bins(xp, rois, scale, ph, pw, h_last, w_last, extra):
    """Pixel bins of rois (K, 5) rounded to the grid: (h_start, h_end, w_start, w_end),
    (K, PH) and (K, PW) int64 arrays, each bin [start, end).

    The corners times ``scale`` are rounded (halves away from zero, C's round); the box
    size is end - start + extra, at least 1; bin i spans [floor(i s), ceil((i + 1) s))
    with s = size / bins, offset by the box start and clipped to [0, last].
    """
    dt = rois.dtype
    corner = round_half_away(xp, rois[:, 1:] * dt.type(scale)).astype(np.int64)
    x0, y0, x1, y1 = (corner[:, i] for i in range(4))

    def axis(start, end, bins, last):
        size = xp.maximum(end - start + extra, 1).astype(dt)
        step = (size / dt.type(bins))[:, None]
        i = xp.arange(bins, dtype=dt)[None, :]
        lo = xp.floor(i * step).astype(np.int64) + start[:, None]
        hi = xp.ceil((i + 1) * step).astype(np.int64) + start[:, None]
        return xp.clip(lo, 0, last), xp.clip(hi, 0, last)

    hs, he = axis(y0, y1, ph, h_last)
    ws, we = axis(x0, x1, pw, w_last)
    return hs, he, ws, we


class RoIPoolOp(Op):
    """The maximum of each bin of each box (0 for an empty bin); the gradient goes to the
    first maximum of the bin (row-major), none to an empty bin."""
    _name = "RoIPoolBackward0"

    @staticmethod
    def forward(ctx, x, rois, scale, ph, pw):
        xp = ctx.xp
        n, c, height, width = x.shape
        k = rois.shape[0]
        ctx.in_shape = x.shape
        if k == 0 or c == 0:
            ctx.groups = []
            return xp.zeros((k, c, ph, pw), dtype=x.dtype)
        hs, he, ws, we = integer_bins(xp, rois.astype(x.dtype, copy=False), scale, ph, pw,
                                      height, width, extra=1)
        empty = (he <= hs)[:, :, None] | (we <= ws)[:, None, :]          # (K, PH, PW)
        src = xp.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(-1, c)   # rows (n, h, w)
        batch = rois[:, 0].astype(np.int64)
        best = xp.where(empty, x.dtype.type(0), x.dtype.type(-_FLT_MAX))
        best = xp.ascontiguousarray(xp.broadcast_to(best[..., None], (k, ph, pw, c)))
        arg = xp.full((k, ph, pw, c), -1, dtype=np.int64)
        ext_h = int(to_host((he - hs).max()))
        ext_w = int(to_host((we - ws).max()))
        for dy in range(max(ext_h, 0)):
            for dx in range(max(ext_w, 0)):
                yy, xx = hs + dy, ws + dx
                inside = (yy < he)[:, :, None] & (xx < we)[:, None, :]
                pix = xp.where(inside, yy[:, :, None] * width + xx[:, None, :], 0)
                v = src[(batch[:, None, None] * (height * width) + pix).reshape(-1)]
                v = v.reshape(k, ph, pw, c)
                # strictly greater: the first maximum wins, a NaN never does
                take = inside[..., None] & (v > best)
                best = xp.where(take, v, best)
                arg = xp.where(take, pix[..., None], arg)
        # the backward's taps: output (k, c, i, j) reads input (n_k, c) at its argmax
        arg = arg.transpose(0, 3, 1, 2).reshape(-1, 1)
        plane = (batch[:, None] * c + xp.arange(c)[None, :]) * (height * width)
        plane = xp.broadcast_to(plane[:, :, None, None], (k, c, ph, pw)).reshape(-1, 1)
        found = arg >= 0
        ctx.groups = [(xp.arange(k * c * ph * pw), xp.where(found, plane + arg, 0),
                       found.astype(x.dtype))]
        return xp.ascontiguousarray(best.transpose(0, 3, 1, 2))

    @staticmethod
    def backward(ctx, grad):
        return tap_scatter(grad.reshape(-1), ctx.groups, ctx.in_shape)


def roi_pool(input, boxes, output_size, spatial_scale=1.0):
    r"""RoI max pooling: the maximum of input[n_k, c] over each of PH x PW bins of each box.

    The box corners times ``spatial_scale`` are rounded to pixels (halves away from zero),
    the box spans end - start + 1 pixels (at least 1), bin i spans rows
    [floor(i h / PH), ceil((i + 1) h / PH)) offset by the box's first row and clipped to
    [0, H] (likewise for columns); an empty bin gives 0.

    Returns:
        Tensor[K, C, PH, PW]. Differentiable in ``input``.
    """
    rois = as_rois(boxes, input)
    check_pool_input(input, rois, "roi_pool")
    check_same_dtype(input, rois, "input and rois must have the same dtype")
    ph, pw = _pair(output_size)
    return apply(RoIPoolOp, (input,), (input._data, rois._data, float(spatial_scale), ph, pw))


class RoIPool(nn.Module):
    """See :func:`roi_pool`."""

    def __init__(self, output_size, spatial_scale):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input, rois):
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self):
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale})")
