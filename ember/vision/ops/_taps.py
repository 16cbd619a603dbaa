"""The RoI ops as sparse linear maps: every output element is a weighted sum of input
elements ("taps"), out[r] = sum_t w[r, t] * src[idx[r, t]].

roi_align and ps_roi_align (bilinear samples averaged over a bin), ps_roi_pool (the mean
of the pixels of a bin) and roi_pool's backward (the gradient goes to each bin's argmax)
are all such maps once the boxes are fixed, so one pair of ops serves them: TapSum
(the map) and TapScatter (its adjoint, the gradient of TapSum); each is the other's
backward, so double backward is exact. Boxes get no gradient, as in torchvision.

``src`` is the input (N, C, H, W) seen as a 2-D array of rows:
  'nhwc': rows (n, h, w), columns C -- the taps are shared by every channel (roi_align);
  'flat': rows (n, c, h, w), one column -- each output reads its own channel (the
          position-sensitive ops, roi_pool's argmax).
The taps come in groups (dest, idx, w): output rows ``dest`` (G,) read input rows
``idx`` (G, T) with weights ``w`` (G, T); groups differ in their number of taps T
(roi_align's adaptive sampling grid differs per box).
"""
import numpy as np

from ..._backend import ufunc_at
from ..._ops._base import Op, apply

__all__ = []


def _source(xp, x, layout):
    """The input array as rows (see the module docstring)."""
    if layout == "nhwc":
        return xp.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(-1, x.shape[1])
    return xp.ascontiguousarray(x).reshape(-1, 1)


def _from_source(xp, rows, in_shape, layout):
    """Rows back in the input's (N, C, H, W) layout (row-major)."""
    n, c, h, w = in_shape
    if layout == "nhwc":
        return xp.ascontiguousarray(rows.reshape(n, h, w, c).transpose(0, 3, 1, 2))
    return rows.reshape(in_shape)


def tap_sum_array(xp, src, groups, n_out):
    """out (n_out, cols) with out[dest] = sum_t w[:, t] * src[idx[:, t]] for each group."""
    out = xp.zeros((n_out, src.shape[1]), dtype=src.dtype)
    for dest, idx, w in groups:
        acc = xp.zeros((dest.shape[0], src.shape[1]), dtype=src.dtype)
        # one gathered (G, cols) block per tap keeps memory at the size of the output
        for t in range(idx.shape[1]):
            acc += w[:, t, None] * src[idx[:, t]]
        out[dest] = acc
    return out


def tap_scatter_array(xp, g, groups, n_rows):
    """The adjoint of tap_sum_array: rows (n_rows, cols) += w[:, t] * g[dest] at idx[:, t]."""
    cols = g.shape[1]
    rows = xp.zeros((n_rows, cols), dtype=g.dtype)
    for dest, idx, w in groups:
        gd = g[dest]
        if cols == 1:   # one column: a weighted bincount does every tap at once
            rows[:, 0] += xp.bincount(idx.ravel(), weights=(w * gd).ravel(),
                                      minlength=n_rows).astype(g.dtype, copy=False)
            continue
        for t in range(idx.shape[1]):
            ufunc_at(np.add, rows, idx[:, t], w[:, t, None] * gd)
    return rows


class TapSum(Op):
    """out (R, cols) = the tap map applied to x (N, C, H, W); see the module docstring."""
    _name = "RoIAlignBackward0"

    @staticmethod
    def forward(ctx, x, groups, layout, n_out):
        ctx.in_shape, ctx.groups, ctx.layout, ctx.n_out = x.shape, groups, layout, n_out
        return tap_sum_array(ctx.xp, _source(ctx.xp, x, layout), groups, n_out)

    @staticmethod
    def backward(ctx, grad):
        return tap_scatter(grad, ctx.groups, ctx.layout, ctx.in_shape)


class TapScatter(Op):
    """x-shaped (N, C, H, W) gradient of TapSum from its output gradient g (R, cols)."""
    _name = "RoIAlignBackwardBackward0"

    @staticmethod
    def forward(ctx, g, groups, layout, in_shape):
        ctx.groups, ctx.layout, ctx.n_out = groups, layout, g.shape[0]
        n, c, h, w = in_shape
        n_rows = n * h * w if layout == "nhwc" else n * c * h * w
        rows = tap_scatter_array(ctx.xp, ctx.xp.ascontiguousarray(g), groups, n_rows)
        return _from_source(ctx.xp, rows, in_shape, layout)

    @staticmethod
    def backward(ctx, grad):
        return tap_sum(grad, ctx.groups, ctx.layout, ctx.n_out)


def tap_sum(x, groups, layout, n_out, name=None):
    """TapSum of Tensor x; ``name`` sets the grad_fn's name (the public op's)."""
    cls = TapSum if name is None else _named(TapSum, name)
    return apply(cls, (x,), (x._data, groups, layout, n_out))


def tap_scatter(g, groups, layout, in_shape):
    return apply(TapScatter, (g,), (g._data, groups, layout, tuple(in_shape)))


_NAMED = {}


def _named(cls, name):
    """A subclass of cls with grad_fn name ``name`` (one per name, made once)."""
    key = (cls, name)
    if key not in _NAMED:
        _NAMED[key] = type(name, (cls,), {"_name": name})
    return _NAMED[key]


def bilinear_axis(xp, coord, size, dt):
    """Bilinear taps along one axis of ``size`` pixels for sample coordinates ``coord``
    (any shape, dtype dt): (lo, hi, w_lo, w_hi) with integer pixels lo, hi and weights.

    torchvision's rule: a sample outside [-1, size] (or NaN) reads nothing (both weights
    0); a coordinate <= 0 is taken as 0; one at or past the last pixel reads the last
    pixel alone. Otherwise w_lo = 1 - (c - lo), w_hi = c - lo with lo = floor(c).
    """
    valid = (coord >= -1) & (coord <= size)
    c = xp.where(valid & (coord > 0), coord, dt.type(0))
    lo = c.astype(np.int64)
    top = lo >= size - 1
    lo = xp.where(top, size - 1, lo)
    hi = xp.where(top, size - 1, lo + 1)
    c = xp.where(top, lo.astype(dt), c)
    frac = c - lo.astype(dt)
    zero = dt.type(0)
    w_hi = xp.where(valid, frac, zero)
    w_lo = xp.where(valid, dt.type(1) - frac, zero)
    return lo, hi, w_lo, w_hi


def bilinear_bin_taps(xp, ys, xs, height, width, dt):
    """Taps of the bilinear samples of each bin on the grid ys x xs.

    ys: (K, PH, GH) sample rows of each roi/bin-row, xs: (K, PW, GW) sample columns.
    Returns (pix, w), each (K, PH, PW, GH*2*GW*2): the pixel y * width + x read by each
    corner of each sample and its weight w_y * w_x (not yet divided by the count).
    """
    ylo, yhi, wylo, wyhi = bilinear_axis(xp, ys, height, dt)
    xlo, xhi, wxlo, wxhi = bilinear_axis(xp, xs, width, dt)
    ypix = xp.stack([ylo, yhi], axis=-1) * width            # (K, PH, GH, 2)
    wy = xp.stack([wylo, wyhi], axis=-1)
    xpix = xp.stack([xlo, xhi], axis=-1)                      # (K, PW, GW, 2)
    wx = xp.stack([wxlo, wxhi], axis=-1)
    k, ph, gh = ys.shape
    pw, gw = xs.shape[1:]
    pix = ypix[:, :, None, :, :, None, None] + xpix[:, None, :, None, None, :, :]
    w = wy[:, :, None, :, :, None, None] * wx[:, None, :, None, None, :, :]
    return pix.reshape(k, ph, pw, -1), w.reshape(k, ph, pw, -1)


def sample_coords(xp, start, bin_size, n_bins, grid, dt):
    """Sample coordinates (K, n_bins, grid): start + p * bin + (i + 0.5) * bin / grid,
    for rois whose starts and bin sizes are (K,) arrays, all with the same grid."""
    p = xp.arange(n_bins, dtype=dt)[None, :, None]
    i = (xp.arange(grid, dtype=dt) + dt.type(0.5))[None, None, :]
    b = bin_size[:, None, None]
    return (start[:, None, None] + p * b) + i * b / dt.type(grid)


def round_half_away(xp, v):
    """C's round(): halves away from zero (NumPy rounds them to even)."""
    return xp.sign(v) * xp.floor(xp.abs(v) + 0.5)
