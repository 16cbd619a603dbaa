"""RoI ops as sparse linear maps: every output element is a weighted sum of input
elements ("taps"), out[r] = sum_t w[r, t] * x.ravel()[idx[r, t]].

ps_roi_align (bilinear samples averaged over a bin, each output channel reading its own
input channel), ps_roi_pool (the mean of the pixels of a bin) and roi_pool's backward (the
gradient goes to each bin's argmax) are all such maps once the boxes are fixed, so one
pair of ops serves them: TapSum (the map) and TapScatter (its adjoint, the gradient of
TapSum); each is the other's backward, so double backward is exact. Boxes get no
gradient, as in torchvision. (roi_align, whose taps are shared by all channels and
separable in y and x, has its own faster form in roi_align.py.)

The taps come in groups (dest, idx, w): output elements ``dest`` (G,) read input
elements ``idx`` (G, T) of the flattened input with weights ``w`` (G, T); groups differ
in their number of taps T (the adaptive sampling grid differs per box).
"""
import numpy as np

from ..._ops._base import Op, apply

__all__ = []


def tap_sum_array(xp, src, groups, n_out):
    """out (n_out,) with out[dest] = sum_t w[:, t] * src[idx[:, t]] for each group."""
    out = xp.zeros(n_out, dtype=src.dtype)
    for dest, idx, w in groups:
        out[dest] = (w * src[idx]).sum(axis=1)
    return out


def tap_scatter_array(xp, g, groups, n_in):
    """The adjoint of tap_sum_array: (n_in,) with w[:, t] * g[dest] added at idx[:, t]."""
    grad = xp.zeros(n_in, dtype=g.dtype)
    for dest, idx, w in groups:
        # a weighted bincount adds every tap at once (repeated indices sum)
        grad += xp.bincount(idx.ravel(), weights=(w * g[dest][:, None]).ravel(),
                            minlength=n_in).astype(g.dtype, copy=False)
    return grad


class TapSum(Op):
    """out (n_out,) = the tap map applied to x (any shape, read flattened)."""
    _name = "TapSumBackward0"

    @staticmethod
    def forward(ctx, x, groups, n_out):
        ctx.in_shape, ctx.groups, ctx.n_out = x.shape, groups, n_out
        return tap_sum_array(ctx.xp, ctx.xp.ascontiguousarray(x).reshape(-1), groups, n_out)

    @staticmethod
    def backward(ctx, grad):
        return tap_scatter(grad, ctx.groups, ctx.in_shape)


class TapScatter(Op):
    """The gradient of TapSum (shaped as its input) from its output gradient g (n_out,)."""
    _name = "TapSumBackwardBackward0"

    @staticmethod
    def forward(ctx, g, groups, in_shape):
        ctx.groups, ctx.n_out = groups, g.shape[0]
        size = 1
        for n in in_shape:
            size *= n
        return tap_scatter_array(ctx.xp, g, groups, size).reshape(in_shape)

    @staticmethod
    def backward(ctx, grad):
        return tap_sum(grad, ctx.groups, ctx.n_out)


def tap_sum(x, groups, n_out, name=None):
    """TapSum of Tensor x; ``name`` sets the grad_fn's name (the public op's)."""
    cls = TapSum if name is None else _named(TapSum, name)
    return apply(cls, (x,), (x._data, groups, n_out))


def tap_scatter(g, groups, in_shape):
    return apply(TapScatter, (g,), (g._data, groups, tuple(in_shape)))


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
