"""F.affine_grid and F.grid_sample (spatial transformer networks), 2-D and 3-D.

grid_sample reads input (N, C, H, W) at the normalized locations grid (N, Ho, Wo, 2),
(x, y) in [-1, 1] (5-D: input (N, C, D, H, W), grid (N, Do, Ho, Wo, 3)). It is composed
of differentiable ops: the source coordinates are a function of the grid, the integer
taps are detached, and the interpolation weights carry the gradient to the grid, so
grads to input and grid (and double backward) come for free.
"""
import itertools
import warnings

import numpy as np

from ..autograd.graph import rename as rename_node
from .._backend import array_namespace, like as _like
from .._tensor import Tensor
from ._util import dtype_name, shape_str

__all__ = []

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                  "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                  "old behavior is desired. See the documentation of grid_sample for details.")


def _base_coords(n, align_corners, dt):
    """The normalized coordinates of n pixel centers, rounded as PyTorch's: linspace(-1, 1)
    in the grid's dtype, then (without align_corners) times n - 1 and divided by n, each
    rounded (a pixel centre one rounding off its place moves grid_sample's gradient to
    the neighbouring pixel pair)."""
    if n <= 1:
        return np.zeros(n, dtype=dt)
    from .._dtype import from_numpy_dtype
    from .creation import linspace
    c = linspace(-1, 1, n, dtype=from_numpy_dtype(dt), device="cpu")._data   # (host)
    if not align_corners:
        c = c * dt.type(n - 1) / dt.type(n)
    return c


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
                             f"{size}. Got {theta.shape}.")
        spatial = size[2:]
    elif len(size) == 5:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {theta.shape}.")
        spatial = size[2:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:   # PyTorch's batched matmul of the base grid and theta
        k = theta.shape[-1]
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {k}] but got: [{theta.shape[0]}, {k}].")
    dt = theta._data.dtype
    # coordinates in (x, y[, z]) order: x runs over the last spatial dim
    axes = [_base_coords(n, align_corners, dt) for n in reversed(spatial)]
    mesh = np.meshgrid(*axes, indexing="ij")  # dims in (x, y, z) order
    coords = np.stack([m for m in mesh] + [np.ones_like(mesh[0])], axis=-1)
    coords = np.transpose(coords, tuple(range(len(spatial) - 1, -1, -1)) + (len(spatial),))
    # the base grid is built on the host: move it to theta's device
    base = Tensor._make(_like(np.ascontiguousarray(coords.reshape(-1, len(spatial) + 1)),
                              theta._data))
    grid = base @ theta.transpose(1, 2)  # (N, prod(spatial), ndim)
    return grid.reshape(size[0], *spatial, len(spatial))


def _unnormalize(coord, n, align_corners, nd):
    """The pixel coordinate of normalized `coord`, rounded as PyTorch's kernels: the 2-D
    one scales (coord + 1) by a factor (then shifts by half a pixel without
    align_corners), the 3-D one divides as the formula reads."""
    if nd == 2:
        if align_corners:
            return (coord + 1) * ((n - 1) / 2)
        return (coord + 1) * (n / 2) - 0.5
    if align_corners:
        return (coord + 1) / 2 * (n - 1)
    return ((coord + 1) * n - 1) / 2


def _clip(c, n):
    """c clamped into [0, n - 1]; the gradient passes only strictly inside, as PyTorch's
    kernels count the borders as out of bounds (clip_coordinates_set_grad)."""
    from .pointwise import where
    inside = Tensor._make((c._data > 0) & (c._data < n - 1))
    return where(inside, c, c.clamp(0, n - 1).detach())


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


def _pad(c, n, padding_mode, align_corners):
    """Pixel coordinate c after the padding rule (PyTorch's compute_coordinates): border
    clamps into [0, n-1], reflection reflects at the borders, zeros leaves c."""
    if padding_mode == "border":
        c = _clip(c, n)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align_corners else _reflect(c, -1, 2 * n - 1)
        c = _clip(c, n)
    return c


def _gather(flat, taps, spatial):
    """flat (N, C, prod(spatial)) at the integer taps (one (N, *out) array per spatial dim);
    out-of-range taps read 0. Returns (values (N, C, *out), valid mask)."""
    xp = array_namespace(taps[0])
    valid = xp.ones(taps[0].shape, dtype=bool)
    idx = xp.zeros(taps[0].shape, dtype=np.int64)
    for t, n in zip(taps, spatial):
        valid &= (t >= 0) & (t < n)
        idx = idx * n + t
    idx = np.where(valid, idx, 0)
    N, C = flat.shape[:2]
    out_shape = taps[0].shape[1:]
    index = Tensor._make(np.broadcast_to(idx.reshape(N, 1, -1), (N, C, idx[0].size)).copy())
    vals = flat.gather(2, index).reshape(N, C, *out_shape)
    return vals, valid


def _mask(valid, like):
    return Tensor._make(valid.astype(like._data.dtype))


def _cubic_coefficients(t):
    """Keys cubic convolution weights (A = -0.75) of the taps at -1, 0, 1, 2 for the
    fractional offset t (PyTorch's get_cubic_upsample_coefficients)."""
    A = -0.75

    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _check(input, grid, mode):
    nd = input.dim() - 2
    if input.dim() not in (4, 5) or grid.dim() != input.dim():
        kind = "5D" if input.dim() == 5 else "4D"
        raise RuntimeError(f"grid_sampler(): expected {kind} input and grid with same number of "
                           f"dimensions, but got input with sizes {shape_str(input.shape)} and "
                           f"grid with sizes {shape_str(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {shape_str(input.shape)} and grid with "
                           f"sizes {shape_str(grid.shape)}")
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last dimension, "
                           f"but got grid with sizes {shape_str(grid.shape)}")
    for d in range(2, input.dim()):
        if input.shape[d] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {shape_str(input.shape)} with "
                               f"dimension {d} being empty")
    if mode == "bicubic" and nd == 3:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but "
                           f"input has {dtype_name(input.dtype)} and grid has "
                           f"{dtype_name(grid.dtype)}")


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    r"""out[n, c, h, w] = input[n, c] sampled at grid[n, h, w] = (x, y) in [-1, 1]
    (-1: the left/top edge; with align_corners the centre of the corner pixel); 5-D input
    (N, C, D, H, W) with grid (N, Do, Ho, Wo, 3) = (x, y, z) samples a volume.

    mode: bilinear (trilinear for 5-D) | nearest | bicubic (4-D only: 4x4 taps, Keys cubic
    A = -0.75, the padding rule applied to each tap); padding_mode: zeros | border |
    reflection. The weights are differentiable functions of the grid, the integer taps
    constants, so gradients to input and grid (and double backward) follow.
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
    _check(input, grid, mode)
    N, C = input.shape[:2]
    spatial = tuple(input.shape[2:])
    nd = len(spatial)
    flat = input.reshape(N, C, int(np.prod(spatial)))
    # grid[..., k] addresses spatial dim nd-1-k: x the width, y the height, z the depth
    raw = [_unnormalize(grid[..., nd - 1 - d], spatial[d], align_corners, nd)
           for d in range(nd)]
    if mode == "bicubic":
        out = _bicubic(flat, raw, spatial, padding_mode, align_corners)
    else:
        coords = [_pad(c, n, padding_mode, align_corners) for c, n in zip(raw, spatial)]
        if mode == "nearest":
            taps = [np.round(c._data).astype(np.int64) for c in coords]  # half to even
            vals, valid = _gather(flat, taps, spatial)
            # PyTorch reports a zero (not a missing) grid gradient for nearest: link the grid
            # to the output through a factor of value 1 and derivative 0
            out = vals * (_mask(valid, vals) * (coords[0] * 0 + 1)).unsqueeze(1)
        else:
            out = _linear(flat, coords, spatial)
    if out.grad_fn is not None:
        rename_node(out.grad_fn, f"GridSampler{nd}DBackward0")
    return out


def _linear(flat, coords, spatial):
    """Bi/trilinear: the 2**nd corners around each sample, weights prod(1 - |c - corner|)."""
    lows = [np.floor(c._data) for c in coords]
    fracs = [c - Tensor._make(lo) for c, lo in zip(coords, lows)]
    lows = [lo.astype(np.int64) for lo in lows]
    out = None
    for corner in itertools.product((0, 1), repeat=len(coords)):
        taps = [lo + b for lo, b in zip(lows, corner)]
        vals, valid = _gather(flat, taps, spatial)
        w = _mask(valid, fracs[0])
        for f, b in zip(fracs, corner):
            w = w * (f if b else 1 - f)
        term = vals * w.unsqueeze(1)
        out = term if out is None else out + term
    return out


def _bicubic(flat, raw, spatial, padding_mode, align_corners):
    """4x4 taps around floor(c); the padding rule maps each integer tap, zeros outside."""
    lows = [np.floor(c._data) for c in raw]
    coefs = [_cubic_coefficients(c - Tensor._make(lo)) for c, lo in zip(raw, lows)]
    out = None
    for j in range(4):
        for i in range(4):
            taps = []
            for lo, k, n in zip(lows, (j, i), spatial):
                tap = Tensor._make(lo + (k - 1))
                taps.append(_pad(tap, n, padding_mode, align_corners)._data.astype(np.int64))
            vals, valid = _gather(flat, taps, spatial)
            w = coefs[0][j] * coefs[1][i] * _mask(valid, coefs[0][j])
            term = vals * w.unsqueeze(1)
            out = term if out is None else out + term
    return out
