"""Pooling: max (with indices), average, adaptive, LP, and max-unpooling, N-d.

Windows are strided views of the (padded) input, shape (N, C, *out, *k). Max pooling
keeps the flat input index of each maximum (PyTorch's `indices`); its backward is a
scatter-add to those indices, whose own backward is a gather, so double backward works.
Average pooling's backward spreads grad / divisor over each window (the adjoint of the
forward), and the adjoint of that is average pooling again.
"""
import math
from itertools import product

import numpy as np

from ..autograd.graph import rename as rename_node
from .._backend import array_namespace, cupy_kernels, like, meta_backend, strided_view, \
    ufunc_at
from .._tensor import Tensor
from ._base import Op, apply
from . import _schema_note
from ._layout import in_format, row_major, suggest_format
from .conv import _over_batch
from ._util import shape_str, dtype_name, check_half_kernel

__all__ = []


def _tuple(v, n):
    if isinstance(v, (tuple, list)):
        return tuple(int(x) for x in v) if len(v) == n else tuple(int(v[0]) for _ in range(n))
    return (int(v),) * n


def _stride_or_kernel(stride, kernel_size):
    """A pooling's stride: None or an empty sequence means the kernel size, as in PyTorch."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return kernel_size
    return stride


def _pool_out(n, k, s, p, d, ceil_mode):
    num = n + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _windows(xp, k, s, d, out):
    nd = len(k)
    st = xp.strides
    return strided_view(
        xp, xp.shape[:2] + tuple(out) + tuple(k),
        st[:2] + tuple(st[2 + i] * s[i] for i in range(nd)) +
        tuple(st[2 + i] * d[i] for i in range(nd)), writeable=False)


def _padded(x, p, out, k, s, d, fill):
    """x padded by p on the left and enough on the right for every window."""
    nd = len(k)
    right = [max(0, (out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - x.shape[2 + i] - p[i])
             for i in range(nd)]
    if not any(p) and not any(right):
        return x
    return np.pad(x, [(0, 0), (0, 0)] + [(p[i], right[i]) for i in range(nd)],
                  constant_values=fill)


class MaxPool(Op):
    _name = "MaxPool2DWithIndicesBackward0"
    nondiff_outputs = (1,)

    @staticmethod
    def forward(ctx, x, k, s, p, d, ceil_mode):
        nd = len(k)
        sp = x.shape[2:]
        out = tuple(_pool_out(sp[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(nd))
        ctx.in_shape = x.shape
        # non-overlapping windows (kernel extent <= stride) give distinct indices, which
        # backward can write with a plain assignment instead of a scatter-add
        ctx.unique = all(d[i] * (k[i] - 1) < s[i] for i in range(nd))
        if type(x) is meta_backend.MetaArray:
            vals, flat = _max_pool(np, x, k, s, p, d, out)   # the shapes, no data
        elif ctx.xp is not np:
            both = None
            if nd <= 2:   # CUDA: one kernel (1-D as 2-D of height 1)
                one = (1,) * (2 - nd)
                both = cupy_kernels.maxpool2d(
                    ctx.xp.ascontiguousarray(x).reshape(x.shape[:2] + one + sp), one + k,
                    one + s, (0,) * (2 - nd) + p, one + d, one + out)
            if both is not None:
                vals, flat = (a.reshape(x.shape[:2] + out) for a in both)
            else:
                vals, flat = _max_pool(ctx.xp, x, k, s, p, d, out)
        else:  # halves of a large batch on two threads (NumPy releases the GIL in its loops)
            n = x.shape[0]
            vals = np.empty(x.shape[:2] + out, dtype=x.dtype)
            flat = np.empty(x.shape[:2] + out, dtype=np.int64)

            def run(a, b):
                part = _max_pool(np, x[a:b], k, s, p, d, out)
                if b - a == n:
                    return part
                vals[a:b], flat[a:b] = part
            parts = _over_batch(np, n, x[:1].nbytes, run)
            if len(parts) == 1:
                vals, flat = parts[0]
        ctx.indices = flat
        dead = _dead_windows(sp, k, s, p, d, out)
        if dead is not None:
            # windows with every tap in the padding: -inf, index -1 and no gradient (torch
            # gives an index outside the input there, which its backward writes through);
            # backward scatters their zeroed gradient at index 0
            dead = like(dead, flat)
            flat = ctx.xp.where(dead, -1, flat)
            ctx.indices = ctx.xp.where(dead, 0, flat)
            ctx.live = Tensor._make(like((~dead).astype(x.dtype), flat))
            ctx.unique = False
        # a channels-last input gives channels-last maxima and indices (and gradient), as
        # PyTorch's pooling kernels lay them out
        ctx.fmt = fmt = suggest_format(x)
        return in_format(vals, fmt), in_format(flat, fmt)

    live = None   # (forward sets it where some window lies wholly in the padding)

    @staticmethod
    def backward(ctx, grad, _unused=None):
        if ctx.live is not None:
            grad = grad * ctx.live
        return pool_scatter(grad, ctx.indices, ctx.in_shape, ctx.unique, fmt=ctx.fmt)


def _dead_windows(sp, k, s, p, d, out):
    """Bool array of the output positions whose window has no tap inside the input (only
    possible with dilation: every tap of a window can then fall in the padding); None
    when there are none."""
    if all(di == 1 for di in d):
        return None
    dead = np.zeros(out, dtype=bool)
    for i in range(len(k)):
        taps = (np.arange(out[i])[:, None] * s[i] - p[i] + np.arange(k[i])[None, :] * d[i])
        miss = ~((taps >= 0) & (taps < sp[i])).any(axis=1)
        dead |= miss.reshape((-1,) + (1,) * (len(k) - 1 - i))
    return dead if dead.any() else None


def _max_pool(xp, x, k, s, p, d, out):
    """(maximum, flat input index of the first maximum) of each window of x."""
    nd = len(k)
    sp = x.shape[2:]
    if type(x) is meta_backend.MetaArray:   # the meta device: only the shapes
        shape = x.shape[:2] + tuple(out)
        return meta_backend.empty(shape, x.dtype), meta_backend.empty(shape, np.int64)
    fill = -np.inf if x.dtype.kind in "fV" else np.iinfo(x.dtype).min
    win = _windows(_padded(x, p, out, k, s, d, fill), k, s, d, out)
    vals, arg = _window_max(xp, win, k)
    if arg is None:  # NaNs: the slower argmax path, which propagates them like PyTorch
        arg, vals = _window_argmax(win, x.shape[:2] + out)
    # flat input index of each maximum: window origin + offset within the window
    es = [math.prod(sp[i + 1:]) for i in range(nd)]
    table = [sum(o[i] * d[i] * es[i] for i in range(nd))
             for o in product(*[range(n) for n in k])]
    origin = 0
    for i in range(nd):
        pos = (xp.arange(out[i]) * s[i] - p[i]) * es[i]
        origin = origin + pos.reshape((-1,) + (1,) * (nd - 1 - i))
    return xp.ascontiguousarray(vals), xp.asarray(table, dtype=np.int64)[arg] + origin


def _window_max(xp, win, k):
    """Maximum over the windows `win` (N, C, *out, *k) and the offset (row-major in k) of
    the first maximum: one ufunc per window offset on (N, C, *out) strided views, far faster
    than an argmax along a short strided axis. (None, None) when a maximum is NaN."""
    views = [win[(Ellipsis,) + o] for o in product(*[range(n) for n in k])]
    vals = views[0].copy()
    for v in views[1:]:
        xp.maximum(vals, v, out=vals)
    if vals.dtype.kind == "f" and xp.isnan(vals).any():
        return None, None
    # the first offset that equals the maximum = the number of leading offsets that miss it
    arg = xp.zeros(vals.shape, dtype=np.uint8 if len(views) <= 256 else np.int64)
    miss = None
    for v in views[:-1]:
        ne = v != vals
        miss = ne if miss is None else xp.logical_and(miss, ne, out=miss)
        arg += miss
    return vals, arg


def _window_argmax(win, shape):
    win = win.reshape(shape + (-1,))
    arg = np.argmax(win, axis=-1)
    nan = np.isnan(win).any(axis=-1)
    if nan.any():
        arg = np.where(nan, np.argmax(np.isnan(win), axis=-1), arg)
    return arg, np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]


class PoolScatter(Op):
    """Zeros of in_shape with grad added at the flat spatial `indices` (per N, C); with
    `unique` (no index repeats within an (N, C) plane) a plain indexed assignment; with
    `overwrite` an assignment even where indices repeat (max_unpool: a repeated index
    holds one of its values, as PyTorch's, not their sum)."""
    _name = "MaxPool2DWithIndicesBackwardBackward0"

    @staticmethod
    def forward(ctx, g, indices, in_shape, unique=False, overwrite=False, fmt=None):
        """fmt: the result's memory format (the pooled input's), None for row-major."""
        ctx.indices, ctx.unique, ctx.fmt = indices, unique, fmt
        return in_format(_scatter(ctx.xp, g, indices, in_shape, unique or overwrite,
                                  overwrite), fmt)

    @staticmethod
    def backward(ctx, grad):
        return pool_gather(grad, ctx.indices, ctx.unique, ctx.fmt)


def _scatter(xp, g, indices, in_shape, unique, overwrite):
    """PoolScatter's value, row-major."""
    if type(g) is meta_backend.MetaArray:   # the meta device: only the shape
        return meta_backend.empty(in_shape, g.dtype)
    if xp is not np and not overwrite:
        out = cupy_kernels.maxpool_backward(g, indices, in_shape)   # CUDA: one kernel
        if out is not None:
            return out
    N, C = in_shape[:2]
    size = math.prod(in_shape[2:])
    idx = indices.reshape(N, C, -1)
    gg = g.reshape(N, C, -1)
    if unique:
        out = xp.empty((N, C * size), dtype=g.dtype)

        def run(a, b):  # images a:b (halves of a large batch on two threads on NumPy)
            part = out[a:b]
            part.fill(0)
            plane = xp.arange((b - a) * C, dtype=np.int64).reshape(b - a, C, 1) * size
            part.reshape(-1)[(idx[a:b] + plane).reshape(-1)] = gg[a:b].reshape(-1)
        if xp is np:
            _over_batch(np, N, C * size * g.itemsize, run)
        else:
            run(0, N)
        return out.reshape(in_shape)
    out = xp.zeros((N, C, size), dtype=g.dtype)
    n_i, c_i = xp.meshgrid(xp.arange(N), xp.arange(C), indexing="ij")
    ufunc_at(np.add, out, (n_i[..., None], c_i[..., None], idx), gg)
    return out.reshape(in_shape)


class PoolGather(Op):
    _name = "GatherBackward0"

    @staticmethod
    def forward(ctx, x, indices, unique=False, fmt=None):
        ctx.indices, ctx.in_shape, ctx.unique, ctx.fmt = indices, x.shape, unique, fmt
        N, C = x.shape[:2]
        flat = x.reshape(N, C, -1)
        return in_format(np.take_along_axis(flat, indices.reshape(N, C, -1), axis=2).reshape(
            indices.shape), fmt)

    @staticmethod
    def backward(ctx, grad):
        return pool_scatter(grad, ctx.indices, ctx.in_shape, ctx.unique, fmt=ctx.fmt)


def pool_scatter(g, indices, in_shape, unique=False, overwrite=False, fmt=None):
    return apply(PoolScatter, (g,), (g._data, indices, tuple(in_shape), unique, overwrite, fmt))


def pool_gather(x, indices, unique=False, fmt=None):
    return apply(PoolGather, (x,), (x._data, indices, unique, fmt))


def _check_pool_input(nd, input, fname):
    if fname == "avg_pool2d" and input.dim() < nd + 1:   # its size checks run first
        n = input.dim()
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(n, 1)}, "
                         f"{max(n, 1) - 1}], but got {-nd - 1})")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(_pool_rank_message(nd, input, fname))


def _pool_rank_message(nd, input, fname):
    """PyTorch's wording for a pooling input of the wrong rank, which differs per kernel."""
    got, shape = input.dim(), shape_str(input.shape)
    if nd == 1 and fname != "max_pool1d":     # the 1-d ops check through a generic rank check
        return (f"Expected 2 to 3 dimensions, but got {got}-dimensional tensor for argument "
                f"#1 'self' (while checking arguments for {fname})")
    if fname.startswith("adaptive"):
        colon = ":" if "max" in fname else ""
        return f"{fname}(): Expected {nd + 1}D or {nd + 2}D tensor, but got{colon} {shape}"
    if fname in ("max_pool1d", "avg_pool2d"):
        prefix = "max_pool1d: " if nd == 1 else ""
        return (f"{prefix}Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with optional "
                f"0 dim batch size for input, but got:{shape}")
    return f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input"


def max_pool(nd, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False):
    fname = f"max_pool{nd}d"
    _check_pool_input(nd, input, fname)
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    k = _tuple(kernel_size, nd)
    s = _tuple(_stride_or_kernel(stride, kernel_size), nd)
    p, d = _tuple(padding, nd), _tuple(dilation, nd)
    if nd == 1 and not return_indices:
        _check_max_pool1d_args(input, k[0], s[0], p[0], d[0], ceil_mode)
    _check_pool_args(nd, "max", input, x, k, s, p, d, ceil_mode)
    if nd == 1 and not unbatched and _schema_note.live():
        # (a dispatch handler sees PyTorch's 1-d pool: a 2-d one on x.unsqueeze(-2))
        vals, idx = max_pool(2, input.unsqueeze(-2), (1,) + k, (1,) + s, (0,) + p,
                             (1,) + d, ceil_mode, True)
        vals, idx = vals.squeeze(-2), idx.squeeze(-2)
        return (vals, idx) if return_indices else vals
    if _schema_note.live():   # (a dispatch handler sees the stride as given: None or not)
        _schema_note.note(MaxPool, x._data, stride=_stride_or_kernel(stride, None))
    vals, idx = apply(MaxPool, (x,), (x._data, k, s, p, d, ceil_mode))
    if vals.grad_fn is not None:
        rename_node(vals.grad_fn, f"MaxPool{nd}DWithIndicesBackward0")
    if unbatched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals


def _check_max_pool1d_args(input, k, s, p, d, ceil_mode):
    """PyTorch's max_pool1d without indices has its own kernel and its own checks."""
    for name, v in (("kernel_size", k), ("stride", s)):
        if v <= 0:
            raise RuntimeError(f"max_pool1d() {name} must be greater than zero, but got {v}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")
    if p > k // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got "
                           f"padding={p} and kernel_size={k}")
    if 0 in input.shape[-2:]:
        raise RuntimeError(f"max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim"
                           f" batch size for input, but got:{shape_str(input.shape)}")
    out = _pool_out(input.shape[-1], k, s, p, d, ceil_mode)
    if out < 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {out}")


def _check_pool_args(nd, kind, input, x, k, s, p, d, ceil_mode):
    """PyTorch's checks of a pooling's arguments, in its order. x: the input with its batch
    dim; the 1-d pools run PyTorch's 2-d kernel on (N, C, 1, L), whose wording they report."""
    if any(v == 0 for v in s):
        raise RuntimeError("stride should not be zero")
    for v in p:
        if v < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {v}")
    axes = ("T", "H", "W")[3 - max(nd, 2):]
    as_2d = (lambda v: (1,) + tuple(v)) if nd == 1 else tuple
    for what, prefix, vals in (("kernel size", "k", k), ("stride", "d", s),
                               ("dilation", "dilation", d)):
        if any(v <= 0 for v in vals):
            got = " ".join(f"{prefix}{a}: {v}" for a, v in zip(axes, as_2d(vals)))
            raise RuntimeError(f"{what} should be greater than zero, but got {got}")
    for i in range(nd):
        if p[i] > k[i] // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
    shape = x.shape[1:] if nd > 1 else (x.shape[1], 1, x.shape[2])   # (C, *spatial)
    if 0 in shape:
        if nd == 3 and kind == "max":
            i = list(shape).index(0)
            raise RuntimeError(f"max_pool3d_with_indices_out_cpu_template(): Expected input's "
                               f"non-batch dimensions to have positive length, but input has a "
                               f"shape of {shape_str(input.shape)} and non-batch dimension {i} "
                               f"has length zero!")
        if nd < 3:
            seen = input.shape if nd > 1 else input.shape[:-1] + (1,) + input.shape[-1:]
            raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                               f"size for input, but got:{shape_str(seen)}")
    out = [_pool_out(x.shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(nd)]
    if any(o <= 0 for o in out):
        out_shape = (shape[0],) + (tuple(out) if nd > 1 else (1, out[0]))
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, shape))}). Calculated output "
                           f"size: ({'x'.join(map(str, out_shape))}). Output size is too small")


def _avg_divisor(sp, k, s, p, out, count_include_pad, divisor_override):
    if divisor_override:
        return np.float64(divisor_override)
    div = np.ones((), dtype=np.float64)
    for i in range(len(k)):
        start = np.arange(out[i]) * s[i] - p[i]
        end = np.minimum(start + k[i], sp[i] + p[i])
        size_pad = end - start
        cs, ce = np.maximum(start, 0), np.minimum(end, sp[i])
        cnt = size_pad if count_include_pad else ce - cs
        div = np.multiply.outer(div, cnt.astype(np.float64))
    return div


class AvgPool(Op):
    _name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, k, s, p, out, divisor):
        ctx.cfg = (x.shape, k, s, p, out, divisor)
        # PyTorch's 2-d average pooling keeps a channels-last input's layout; its 1-d and
        # 3-d ones give row-major results (NumPy's sum would follow the input's strides)
        ctx.fmt = suggest_format(x) if len(k) == 2 else None
        return _avg_layout(_avg_pool(ctx.xp, x, k, s, p, out, divisor), ctx.fmt)

    @staticmethod
    def backward(ctx, grad):
        return apply(AvgPoolAdjoint, (grad,), (grad._data,) + ctx.cfg + (ctx.fmt,))


def _avg_layout(arr, fmt):
    return in_format(arr, fmt) if fmt is not None else row_major(arr)


def _avg_pool(xp, x, k, s, p, out, divisor):
    """AvgPool's value on arrays."""
    d = (1,) * len(k)
    padded = _padded(x, p, out, k, s, d, 0)
    win = _windows(padded, k, s, d, out)
    axes = tuple(range(-len(k), 0))
    if x.dtype.kind == "i":
        # int64 (PyTorch's only integer kernel): an exact sum, then C's integer
        # division, which truncates toward zero
        total = win.sum(axis=axes, dtype=np.int64)
        div = xp.asarray(divisor).astype(np.int64)
        quotient = xp.abs(total) // xp.abs(div)
        return xp.where((total < 0) != (div < 0), -quotient, quotient)
    total = win.sum(axis=axes, dtype=np.float64 if x.dtype == np.float64 else np.float32)
    total /= divisor   # in place: a new array, so no copy (one launch less on CuPy)
    return total.astype(x.dtype, copy=False)


class AvgPoolAdjoint(Op):
    _name = "AvgPool2DBackwardBackward0"

    @staticmethod
    def forward(ctx, g, in_shape, k, s, p, out, divisor, fmt=None):
        ctx.cfg = (k, s, p, out, divisor)
        ctx.fmt = fmt
        return _avg_layout(_avg_pool_adjoint(ctx.xp, g, in_shape, k, s, p, out, divisor), fmt)

    @staticmethod
    def backward(ctx, grad):
        k, s, p, out, divisor = ctx.cfg
        return apply(AvgPool, (grad,), (grad._data, k, s, p, out, divisor))


def _avg_pool_adjoint(xp, g, in_shape, k, s, p, out, divisor):
    """AvgPoolAdjoint's value on arrays."""
    nd = len(k)
    gd = g / divisor
    if all(s[i] == k[i] and p[i] == 0 and out[i] * k[i] == in_shape[2 + i]
           for i in range(nd)):
        # windows tile the whole input (global and adaptive pooling): each cell is its
        # window's gradient, so gx is gd spread over the blocks, in one copy
        # (gd is float64 when the divisors are: the copy casts it back)
        spread = gd.reshape(gd.shape[:2] + sum(((out[i], 1) for i in range(nd)), ()))
        spread = xp.broadcast_to(spread, gd.shape[:2] + sum(((out[i], k[i])
                                                             for i in range(nd)), ()))
        return xp.ascontiguousarray(spread, dtype=g.dtype).reshape(in_shape)
    padded = tuple(max(in_shape[2 + i] + 2 * p[i], (out[i] - 1) * s[i] + k[i])
                   for i in range(nd))
    gx = xp.zeros(in_shape[:2] + padded, dtype=np.float64 if g.dtype == np.float64
                  else np.float32)
    if all(s[i] == k[i] and p[i] == 0 for i in range(nd)):
        # windows tile part of the input without overlap, the rest gets zeros: each
        # cell receives its window's gradient once, in one broadcast write
        span = tuple(out[i] * k[i] for i in range(nd))
        blocks = sum(((out[i], k[i]) for i in range(nd)), ())
        ones = sum(((out[i], 1) for i in range(nd)), ())
        spread = np.broadcast_to(gd.reshape(gd.shape[:2] + ones), gd.shape[:2] + blocks)
        gx[(slice(None), slice(None)) + tuple(slice(0, n) for n in span)] = \
            spread.reshape(gd.shape[:2] + span)
    else:
        for offs in product(*[range(n) for n in k]):
            sl = tuple(slice(o, o + s[i] * (out[i] - 1) + 1, s[i])
                       for i, o in enumerate(offs))
            gx[(slice(None), slice(None)) + sl] += gd
    crop = tuple(slice(p[i], p[i] + in_shape[2 + i]) for i in range(nd))
    gx = xp.ascontiguousarray(gx[(slice(None), slice(None)) + crop])
    return gx.astype(g.dtype, copy=False)


def avg_pool(nd, input, kernel_size, stride=None, padding=0, ceil_mode=False,
             count_include_pad=True, divisor_override=None):
    fname = f"avg_pool{nd}d"
    _check_pool_input(nd, input, fname)
    if not input.dtype.is_floating_point and input.dtype.name != "int64":
        raise NotImplementedError(f'"{fname}" not implemented for '
                                  f"'{dtype_name(input.dtype)}'")
    if nd == 3:
        check_half_kernel(input, "avg_pool3d_out_frame")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    k = _tuple(kernel_size, nd)
    s = _tuple(_stride_or_kernel(stride, kernel_size), nd)
    p = _tuple(padding, nd)
    _check_pool_args(nd, "avg", input, x, k, s, p, (1,) * nd, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if nd == 1 and not unbatched and _schema_note.live():   # (as max_pool's)
        return avg_pool(2, input.unsqueeze(-2), (1,) + k, (1,) + s, (0,) + p, ceil_mode,
                        count_include_pad, divisor_override).squeeze(-2)
    sp = x.shape[2:]
    out = tuple(_pool_out(sp[i], k[i], s[i], p[i], 1, ceil_mode) for i in range(nd))
    # the divisors are counted on the host: move them to x's device
    div = like(_avg_divisor(sp, k, s, p, out, count_include_pad, divisor_override), x._data)
    if _schema_note.live():   # (what a dispatch handler sees: the options as given)
        _schema_note.note(AvgPool, x._data, stride=_stride_or_kernel(stride, None),
                          ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                          divisor_override=divisor_override)
    y = apply(AvgPool, (x,), (x._data, k, s, p, out, div))
    if y.grad_fn is not None:
        rename_node(y.grad_fn, f"AvgPool{nd}DBackward0")
    return y.squeeze(0) if unbatched else y


def _formats():
    from .. import channels_last, channels_last_3d
    return {"channels_last": channels_last, "channels_last_3d": channels_last_3d}


class _Formats(dict):
    """memory-format name -> ember.memory_format (read from ember once it is loaded)."""

    def __missing__(self, name):
        self.update(_formats())
        return self[name]


_FORMATS = _Formats()


def _adaptive_bounds(n, o):
    starts = [(i * n) // o for i in range(o)]
    ends = [-(-((i + 1) * n) // o) for i in range(o)]
    return starts, ends


def adaptive_pool(nd, input, output_size, kind, return_indices=False):
    """Adaptive average/max pooling: output cell i covers [floor(i n/o), ceil((i+1) n/o))."""
    fname = f"adaptive_{kind}_pool{nd}d"
    if isinstance(output_size, (tuple, list)):
        if nd == 1 and len(output_size) != 1:
            raise RuntimeError(f"{fname}() argument 'output_size' should contain one int (got "
                               f"{len(output_size)})")
        if nd > 1 and input.dim() <= len(output_size):   # torch.nn.functional's own check
            raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    _check_pool_input(nd, input, fname)
    if kind == "avg" and not (input.dtype.is_floating_point or input.dtype.is_complex):
        if nd == 3:
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either "
                               f"a floating point or complex dtype. Got: "
                               f"{dtype_name(input.dtype)}")
        # PyTorch's 1-d adaptive pooling runs its 2-d kernel, and names it
        raise NotImplementedError(f"\"adaptive_avg_pool2d\" not implemented for "
                                  f"'{dtype_name(input.dtype)}'")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    sp = x.shape[2:]
    if not isinstance(output_size, (tuple, list)):
        output_size = (output_size,) * nd
    if len(output_size) != nd:
        raise RuntimeError(f"{fname}: output_size must be {nd}" if kind == "avg" else
                           f"{fname}(): internal error: output_size.size() must be {nd}")
    out = tuple(sp[i] if output_size[i] is None else int(output_size[i]) for i in range(nd))
    if any(o < 0 for o in out):
        if kind == "avg":   # the 1-d pool runs the 2-d kernel on (N, C, 1, L)
            shown = ", ".join(str(o) for o in ((1,) + out if nd == 1 else out))
            raise RuntimeError(f"adaptive_avg_pool{max(nd, 2)}d: elements of output_size must "
                               f"be greater than or equal to 0 but received {{{shown}}}")
        full = input.shape[:-nd] + ((1,) + out if nd == 1 else out)
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(out)}: {shape_str(full)}")
    if 0 in out:   # an empty result, still in the graph
        y = (x.sum(tuple(range(2, 2 + nd)), keepdim=True) * 0).expand(x.shape[:2] + out)
        y = y.squeeze(0) if unbatched else y
        if kind == "avg":
            return y
        idx = Tensor._make(array_namespace(x._data).zeros(y.shape, dtype=np.int64))
        return (y, idx) if return_indices else y
    fmt = suggest_format(x._data)
    if kind == "avg" and nd > 1 and all(o == 1 for o in out):
        # PyTorch takes the mean (MeanBackward1), laid out as the input suggests: the
        # fresh result's array (which nothing else holds) is laid out afresh
        y = x.mean(tuple(range(2, 2 + nd)), keepdim=True)
        y._data = in_format(y._data, fmt)
        return y.squeeze(0) if unbatched else y
    if all(sp[i] % out[i] == 0 for i in range(nd)):
        k = tuple(sp[i] // out[i] for i in range(nd))
        if kind == "avg":
            y = avg_pool(nd, x, k, k)
            if y.grad_fn is not None:
                rename_node(y.grad_fn, f"AdaptiveAvgPool{nd}DBackward0")
            r = y
        else:
            r = max_pool(nd, x, k, k, return_indices=True)
            if r[0].grad_fn is not None:
                rename_node(r[0].grad_fn, f"AdaptiveMaxPool{nd}DBackward0")
    else:
        # uneven windows: build each output cell from a slice (differentiable ops)
        from .joining import stack
        bounds = [_adaptive_bounds(sp[i], out[i]) for i in range(nd)]
        cells, idx_cells = [], []
        for pos in product(*[range(o) for o in out]):
            sl = (slice(None), slice(None)) + tuple(slice(bounds[i][0][pos[i]],
                                                          bounds[i][1][pos[i]])
                                                    for i in range(nd))
            region = x[sl]
            dims = tuple(range(2, 2 + nd))
            if kind == "avg":
                cells.append(region.mean(dims))
            else:
                flat = region.reshape(region.shape[:2] + (-1,))
                cells.append(flat.amax(-1))
                loc = np.argmax(flat._data, axis=-1)
                offs = np.unravel_index(loc, region.shape[2:])
                fi = array_namespace(loc).zeros(loc.shape, dtype=np.int64)
                for i in range(nd):
                    fi = fi * sp[i] + offs[i] + bounds[i][0][pos[i]]
                idx_cells.append(fi)
        y = stack(cells, -1).reshape(x.shape[:2] + out)
        r = y if kind == "avg" else (y, Tensor._make(np.stack(idx_cells, -1).reshape(
            x.shape[:2] + out)))
        if nd == 2 and fmt is not None:   # channels-last as PyTorch's 2-d kernels give it
            r = r.clone(memory_format=_FORMATS[fmt]) if kind == "avg" else \
                tuple(t.clone(memory_format=_FORMATS[fmt]) for t in r)
    if nd == 3 and kind == "max" and fmt is not None:
        r = tuple(t.contiguous() for t in r)   # PyTorch's 3-d adaptive max pool: row-major
    if kind == "avg":
        return r.squeeze(0) if unbatched else r
    vals, idx = r
    if unbatched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals


def max_unpool(nd, input, indices, kernel_size, stride=None, padding=0, output_size=None):
    k = _tuple(kernel_size, nd)
    s = _tuple(_stride_or_kernel(stride, kernel_size), nd)
    p = _tuple(padding, nd)
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    idx = indices.unsqueeze(0) if unbatched else indices
    default = tuple((x.shape[2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nd))
    if output_size is None:
        out = default
    else:
        out = tuple(output_size)
        if len(out) == nd + 2:
            out = out[2:]
        if len(out) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                             f"elements, but it has a length of '{len(out)}'")
        for i in range(nd):   # strictly within a stride of the default size, as PyTorch
            if not default[i] - s[i] < out[i] < default[i] + s[i]:
                raise ValueError(f'invalid output_size "{out}" (dim {i} must be between '
                                 f'{default[i] - s[i]} and {default[i] + s[i]})')
    if idx.shape != x.shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({shape_str(x.shape)}) but got indices tensor with shape: "
                           f"{shape_str(idx.shape)}")
    if idx._data.size and (idx._data.max() >= math.prod(out) or idx._data.min() < 0):
        raise RuntimeError(f"Found an invalid max index: {int(idx._data.max())} (output volumes "
                           f"are of size {'x'.join(str(o) for o in out)}")
    y = pool_scatter(x, idx._data, x.shape[:2] + out, overwrite=True)
    if y.grad_fn is not None:
        rename_node(y.grad_fn, f"MaxUnpool{nd}DBackward0")
    return y.squeeze(0) if unbatched else y


def lp_pool(nd, input, norm_type, kernel_size, stride=None, ceil_mode=False):
    k = _tuple(kernel_size, nd)
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        # the largest (smallest, for -inf) magnitude in the window, as PyTorch 2.x: the
        # p-norm's limit, so the signs of the inputs do not count
        if norm_type > 0:
            return max_pool(nd, input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool(nd, -input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool(nd, input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    from .pointwise import sign, relu
    return (sign(out) * relu(out.abs())).mul(math.prod(k)).pow(1.0 / norm_type)


# ---------------------------------------------------------------------------- fractional

def _fractional_starts(xp, u, n, k, o):
    """Window starts of fractional max pooling along one dim (Graham, 2014): with
    alpha = (n - k) / (o - 1), window i starts at floor((i + u) alpha) - floor(u alpha) and
    the last one at n - k, so the o windows of size k span the input from edge to edge.
    u (N, C) are the plane's samples in [0, 1); the arithmetic runs in u's dtype, as
    PyTorch's, so the same samples give the same windows. Returns int64 (N, C, o)."""
    starts = xp.full(u.shape + (o,), n - k, dtype=np.int64)
    if o > 1:
        dt = u.dtype
        alpha = dt.type(n - k) / dt.type(o - 1)
        i = xp.arange(o - 1).astype(dt)
        scaled = ((i + u[..., None]).astype(dt) * alpha).astype(dt)
        first = (u * alpha).astype(dt)
        starts[..., :o - 1] = (xp.floor(scaled.astype(np.float64)).astype(np.int64) -
                               xp.floor(first.astype(np.float64)).astype(np.int64)[..., None])
    return starts


class FractionalMaxPool(Op):
    """Max over pseudo-random windows of size k whose starts `_fractional_starts` draws
    from per-plane samples; returns (values, flat input index of each maximum). Backward
    scatter-adds grad to those indices (windows may overlap, so indices can repeat)."""
    _name = "FractionalMaxPool2DBackward0"
    nondiff_outputs = (1,)

    @staticmethod
    def forward(ctx, x, samples, k, out):
        xp = ctx.xp
        nd = len(k)
        N, C = x.shape[:2]
        sp = x.shape[2:]
        ctx.in_shape = x.shape
        es = [math.prod(sp[i + 1:]) for i in range(nd)]   # element strides of the dims
        # PyTorch's sample order: 2-D (width, height), 3-D (time, height, width)
        order = (1, 0) if nd == 2 else tuple(range(nd))
        flat = xp.zeros((N, C) + tuple(out) + tuple(k), dtype=np.int64)
        for i in range(nd):
            st = _fractional_starts(xp, samples[:N, :, order[i]], sp[i], k[i], out[i])
            pos = st.reshape((N, C) + tuple(out[j] if j == i else 1 for j in range(nd)) +
                             (1,) * nd)
            tap = xp.arange(k[i], dtype=np.int64).reshape(
                (1, 1) + (1,) * nd + tuple(k[j] if j == i else 1 for j in range(nd)))
            flat = flat + (pos + tap) * es[i]
        K = math.prod(k)
        flat = flat.reshape((N, C) + tuple(out) + (K,))
        vals = xp.take_along_axis(x.reshape(N, C, -1), flat.reshape(N, C, -1), axis=2)
        vals = vals.reshape(flat.shape)
        arg = xp.argmax(vals, axis=-1)          # the first maximum, as PyTorch's scan
        if vals.dtype.kind == "f" or vals.dtype.name == "bfloat16":
            nan = xp.isnan(vals)
            if nan.any():   # PyTorch's scan keeps the last NaN of a window
                last_nan = K - 1 - xp.argmax(nan[..., ::-1], axis=-1)
                arg = xp.where(nan.any(axis=-1), last_nan, arg)
        idx = xp.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        best = xp.take_along_axis(vals, arg[..., None], axis=-1)[..., 0]
        ctx.indices = idx
        return xp.ascontiguousarray(best), xp.ascontiguousarray(idx)

    @staticmethod
    def backward(ctx, grad, _unused=None):
        return pool_scatter(grad, ctx.indices, ctx.in_shape, False)


_FRACTIONAL_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def fractional_max_pool(nd, input, kernel_size, output_size=None, output_ratio=None,
                        return_indices=False, _random_samples=None):
    """Fractional max pooling (nn.functional.fractional_max_pool2d/3d): output_size, or
    output_ratio r giving int(n r) per dim; the windows' pseudo-random starts come from
    `_random_samples` (N, C, nd) in [0, 1), drawn with ember.rand when not given."""
    fname = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fname} requires specifying either an output_size or an "
                         f"output_ratio")
    if input.dim() not in (nd + 1, nd + 2):
        if input.dim() <= nd and _random_samples is None:   # PyTorch reads the channels
            n = input.dim()
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(n, 1)}, {max(n, 1) - 1}], but got {-nd - 1})")
        raise RuntimeError(f"{fname}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{shape_str(input.shape)}")
    if output_size is None:
        if nd == 2 and not isinstance(output_ratio, (tuple, list)):   # (PyTorch takes len())
            raise TypeError(f"object of type '{type(output_ratio).__name__}' has no len()")
        if nd == 2 and len(output_ratio) > 2:
            raise ValueError("fractional_max_pool2d requires output_ratio to either be a "
                             "single Int or tuple of Ints.")
        ratio = (tuple(output_ratio) if isinstance(output_ratio, (tuple, list))
                 else (output_ratio,) * nd)
        output_size = [int(input.shape[-nd + i] * ratio[i]) for i in range(nd)]
    out = _tuple(output_size, nd)
    k = _tuple(kernel_size, nd)
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    if _random_samples is None:
        from .creation import rand
        _random_samples = rand(x.shape[0], x.shape[1], nd, dtype=input.dtype,
                               device=input.device)
    samples = _random_samples
    if not (input.dtype.is_floating_point):
        raise NotImplementedError(f'"{fname}_out_frame" not implemented for '
                                  f"'{input.dtype.name.capitalize()}'")
    if samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if samples.dim() != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.dim()}")
    if samples.shape[2] != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got "
                           f"{samples.shape[2]}.")
    if samples.shape[1] != x.shape[1]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[0] < x.shape[0]:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    where = f"{fname}()" if nd == 2 else "fractional_max_pool3d_out()"
    for i, dim in enumerate(_FRACTIONAL_DIM_NAMES[nd]):
        if k[i] <= 0:   # PyTorch returns -inf for empty windows; ember refuses them
            raise RuntimeError(f"{where}: kernel_size must be greater than zero, but got "
                               f"{kernel_size}")
        if out[i] + k[i] - 1 > x.shape[2 + i]:
            raise RuntimeError(f"{where}: pool {dim} {k[i]} too large relative to input "
                               f"{dim} {x.shape[2 + i]}")
    if samples.device != input.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                           f"least two devices, {input.device} and {samples.device}!")
    vals, idx = apply(FractionalMaxPool, (x,), (x._data,), samples._data, k, out)
    if vals.grad_fn is not None:
        rename_node(vals.grad_fn, f"FractionalMaxPool{nd}DBackward0")
    if unbatched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals
