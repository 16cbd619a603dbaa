"""F.affine_grid and F.grid_sample (spatial transformer networks), 2-D.

grid_sample reads input (N, C, H, W) at the normalized locations grid (N, Ho, Wo, 2),
(x, y) in [-1, 1]. It is composed of differentiable ops: the source coordinates are a
function of the grid, the integer taps are detached, and the bilinear weights carry the
gradient to the grid, so grads to input and grid (and double backward) come for free.
"""
import warnings

import numpy as np

from .._tensor import Tensor
from ._util import dtype_name, shape_str

__all__ = []

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                  "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                  "old behavior is desired. See the documentation of grid_sample for details.")


def _base_coords(n, align_corners, dt):
    """The normalized coordinates of n pixel centers."""
    if n <= 1:
        return np.zeros(n, dtype=dt)
    c = np.linspace(-1, 1, n, dtype=np.float64)
    return (c if align_corners else c * (n - 1) / n).astype(dt)


def affine_grid(theta, size, align_corners=None):
    r"""grid[n, h, w] = theta[n] @ (x_w, y_h, 1): the sampling grid of a batch of 2-D affine
    maps theta (N, 2, 3) for an output of size (N, C, H, W) (3-D: theta (N, 3, 4),
    size (N, C, D, H, W))."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got "
                         f"{dtype_name(theta.dtype)}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {shape_str(theta.shape)}.")
        spatial = size[2:]
    elif len(size) == 5:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {shape_str(theta.shape)}.")
        spatial = size[2:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise ValueError(f"Expected theta batch size {theta.shape[0]} to match size[0] "
                         f"{size[0]}")
    dt = theta._data.dtype
    # coordinates in (x, y[, z]) order: x runs over the last spatial dim
    axes = [_base_coords(n, align_corners, dt) for n in reversed(spatial)]
    mesh = np.meshgrid(*axes, indexing="ij")  # dims in (x, y, z) order
    coords = np.stack([m for m in mesh] + [np.ones_like(mesh[0])], axis=-1)
    coords = np.transpose(coords, tuple(range(len(spatial) - 1, -1, -1)) + (len(spatial),))
    base = Tensor._make(np.ascontiguousarray(coords.reshape(-1, len(spatial) + 1)))
    grid = base @ theta.transpose(1, 2)  # (N, prod(spatial), ndim)
    return grid.reshape(size[0], *spatial, len(spatial))


def _unnormalize(coord, n, align_corners):
    if align_corners:
        return (coord + 1) / 2 * (n - 1)
    return ((coord + 1) * n - 1) / 2


def _reflect(coord, low2, high2):
    """Reflect coord into [low2/2, high2/2] (PyTorch's reflect_coordinates)."""
    if low2 == high2:
        return coord * 0
    lo = low2 / 2
    span = (high2 - low2) / 2
    d = (coord - lo).abs()
    flips = (d / span).floor().detach()
    extra = d - flips * span
    even = Tensor._make((flips._data % 2) == 0)
    from .pointwise import where
    return where(even, extra + lo, span - extra + lo)


def _source(coord, n, padding_mode, align_corners):
    """Pixel coordinate of the sample along one axis, after the padding rule."""
    c = _unnormalize(coord, n, align_corners)
    if padding_mode == "border":
        c = c.clamp(0, n - 1)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align_corners else _reflect(c, -1, 2 * n - 1)
        c = c.clamp(0, n - 1)
    return c


def _gather(flat, iy, ix, H, W):
    """flat (N, C, H*W) at integer taps (N, Ho, Wo); out-of-range taps read 0."""
    valid = (ix >= 0) & (ix < W) & (iy >= 0) & (iy < H)
    idx = np.where(valid, iy * W + ix, 0)
    N, C = flat.shape[:2]
    index = Tensor._make(np.broadcast_to(idx.reshape(N, 1, -1), (N, C, idx[0].size)).copy())
    vals = flat.gather(2, index).reshape(N, C, *ix.shape[1:])
    return vals, valid


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    r"""out[n, c, h, w] = input[n, c] sampled at grid[n, h, w] = (x, y) in [-1, 1]
    (-1: the left/top edge; with align_corners the centre of the corner pixel).

    mode: bilinear | nearest; padding_mode: zeros | border | reflection.
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if input.dim() == 5:
        raise NotImplementedError("grid_sample of 5-D (volumetric) input is not implemented "
                                  "in ember")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample(mode='bicubic') is not implemented in ember")
    if input.dim() != 4 or grid.dim() != 4:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {shape_str(input.shape)} "
                           f"and grid with sizes {shape_str(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {shape_str(input.shape)} and grid with "
                           f"sizes {shape_str(grid.shape)}")
    if grid.shape[-1] != 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size 2 in last dimension, "
                           f"but got grid with sizes {shape_str(grid.shape)}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but "
                           f"input has {dtype_name(input.dtype)} and grid has "
                           f"{dtype_name(grid.dtype)}")
    N, C, H, W = input.shape
    x = _source(grid[..., 0], W, padding_mode, align_corners)
    y = _source(grid[..., 1], H, padding_mode, align_corners)
    flat = input.reshape(N, C, H * W)
    if mode == "nearest":
        ix = np.round(x._data).astype(np.int64)  # round half to even, as nearbyint
        iy = np.round(y._data).astype(np.int64)
        vals, valid = _gather(flat, iy, ix, H, W)
        mask = Tensor._make(valid.astype(vals._data.dtype))
        # PyTorch reports a zero (not a missing) grid gradient for nearest: link the grid
        # to the output through a factor of value 1 and derivative 0
        mask = mask * (x * 0 + 1)
        return vals * mask.unsqueeze(1)
    x0 = np.floor(x._data)
    y0 = np.floor(y._data)
    wx1 = x - Tensor._make(x0)
    wy1 = y - Tensor._make(y0)
    wx0, wy0 = 1 - wx1, 1 - wy1
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    out = None
    for iy, wy in ((y0, wy0), (y0 + 1, wy1)):
        for ix, wx in ((x0, wx0), (x0 + 1, wx1)):
            vals, valid = _gather(flat, iy, ix, H, W)
            w = wy * wx * Tensor._make(valid.astype(wx._data.dtype))
            term = vals * w.unsqueeze(1)
            out = term if out is None else out + term
    return out
