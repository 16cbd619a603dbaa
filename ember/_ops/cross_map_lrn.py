"""CrossMapLRN2d: Lua Torch's local response normalisation across channels, which
PyTorch keeps as a legacy autograd Function (torch.nn.CrossMapLRN2d).

    scale_c = k + alpha / size * S_c,     y_c = x_c * scale_c^(-beta)

S_c sums x^2 over channels near c. The legacy running-sum code that PyTorch runs never
takes channel 0 out of the sum and takes channel j out one step late, so with
P = floor((size - 1) / 2) + 1:

    S_c = sum of x_j^2 for j in [c - P + 1, c + P - 1]  (clipped to the channels)
          + x_0^2 when c >= P (channel 0 left in the sum).

Its backward is the legacy hand-written formula, not the derivative of that forward:

    dx_c = scale_c^(-beta) g_c - 2 alpha beta / size * x_c * sum_{i in [c - Q, c + size - 1 - Q]} g_i y_i / scale_i

with Q = size - floor((size - 1) / 2). ember reproduces both, so gradients equal PyTorch's.
"""
import numpy as np

from .. import _dtype
from .._backend import like
from .._tensor import Tensor
from ._base import Op, apply
from ._util import dtype_name

__all__ = []


def _window_bounds(C, lo, hi):
    """Cumulative-sum indices for sum_{i in [c + lo, c + hi]} a_i, clipped to [0, C): the sum
    is cs[end_c] - cs[start_c] with cs the cumulative sum padded by a leading zero."""
    c = np.arange(C)
    return np.clip(c + hi + 1, 0, C), np.clip(c + lo, 0, C)


def _window_sum_array(xp, a, lo, hi):
    C = a.shape[1]
    cs = xp.concatenate([xp.zeros_like(a[:, :1]), xp.cumsum(a, axis=1)], axis=1)
    end, start = _window_bounds(C, lo, hi)
    return cs[:, _like(end, a)] - cs[:, _like(start, a)]


def _window_sum_tensor(t, lo, hi):
    from .joining import cat
    from .creation import zeros_like
    C = t.shape[1]
    cs = cat([zeros_like(t[:, :1]), t.cumsum(1)], 1)
    end, start = _window_bounds(C, lo, hi)
    to = cs._data
    return cs[:, Tensor._make(_like(end, to))] - cs[:, Tensor._make(_like(start, to))]


def _like(host, arr):
    """Host int64 indices on arr's device."""
    return like(host.astype(np.int64), arr)


class CrossMapLRN(Op):
    _name = "CrossMapLRN2dBackward"

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        xp = ctx.xp
        pre = int((size - 1) / 2 + 1)
        sq = x * x
        total = _window_sum_array(xp, sq, -pre + 1, pre - 1)
        if x.shape[1] > pre:   # channel 0 stays in the sums of channels >= pre
            total[:, pre:] += sq[:, :1]
        scale = (total * (alpha / size) + k).astype(x.dtype, copy=False)
        out = (x * scale ** -beta).astype(x.dtype, copy=False)
        ctx.cfg = (size, alpha, beta)
        ctx.x, ctx.out, ctx.scale = x, out, scale
        return out

    @staticmethod
    def backward(ctx, grad):
        size, alpha, beta = ctx.cfg
        x, out, scale = (Tensor._make(a) for a in (ctx.x, ctx.out, ctx.scale))
        q = int(size - (size - 1) / 2)
        if q > size - 1:   # sizes 1 and 2: PyTorch's legacy backward fails here too
            raise RuntimeError(f"CrossMapLRN2d backward: size {size} is not supported (the "
                               f"legacy backward needs size >= 3)")
        ratio = _window_sum_tensor(grad * out / scale, -q, size - 1 - q)
        return grad * scale ** -beta - (2 * alpha * beta / size) * x * ratio


def cross_map_lrn2d(input, size, alpha=1e-4, beta=0.75, k=1):
    if input.dim() != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        # PyTorch's legacy function scales in place a buffer of the input's dtype by float
        # factors (a bool input fails one step earlier, on an integer sum)
        result = _dtype.int64 if input.dtype is _dtype.bool else _dtype.get_default_dtype()
        raise RuntimeError(f"result type {dtype_name(result)} can't be cast to the desired "
                           f"output type {dtype_name(input.dtype)}")
    return apply(CrossMapLRN, (input,), (input._data,), int(size), float(alpha), float(beta),
                 float(k))
