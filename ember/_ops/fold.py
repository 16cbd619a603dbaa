"""F.unfold (im2col) and F.fold (col2im), adjoint to each other; pixel and channel shuffle.

unfold gathers every kernel_size block of the zero-padded input into a column:
(N, C, H, W) -> (N, C * kh * kw, L), L = number of block positions. fold scatter-adds
columns back into an image. One index map (block element -> padded pixel) serves both,
so the backward of one is the other and double backward is free.
"""
import numpy as np

from .._backend import ufunc_at
from .. import _dtype
from ._base import Op, apply
from .relayout import keep_channels_last
from ._util import dtype_name, shape_str

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"]


def _pair(v, name):
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise RuntimeError(f"{name} must be an int or a pair of ints, got {v}")
        return tuple(int(x) for x in v)
    return (int(v), int(v))


def _blocks(size, kernel, dilation, padding, stride):
    """Number of block positions along one dim."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _index_map(xp, spatial, kernel, dilation, padding, stride):
    """idx[k, l]: flat index into the padded image of element k of block l (an array of
    namespace xp)."""
    (H, W), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = spatial, kernel, dilation, padding, stride
    bh, bw = _blocks(H, kh, dh, ph, sh), _blocks(W, kw, dw, pw, sw)
    rows = (xp.arange(kh)[:, None] * dh)[:, None, :, None] + (xp.arange(bh) * sh)[None, None,
                                                                                    :, None]
    cols = (xp.arange(kw) * dw)[None, :, None, None] + (xp.arange(bw) * sw)[None, None, None, :]
    idx = rows * (W + 2 * pw) + cols  # (kh, kw, bh, bw)
    return idx.reshape(kh * kw, bh * bw)


class Im2Col(Op):
    """(N, C, H, W) -> (N, C*kh*kw, L): out[n, c*K + k, l] = pad(x)[n, c, idx[k, l]]."""
    _name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, kernel, dilation, padding, stride):
        ctx.args = (x.shape[2:], kernel, dilation, padding, stride)
        (ph, pw) = padding
        padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        idx = _index_map(ctx.xp, x.shape[2:], kernel, dilation, padding, stride)
        N, C = x.shape[:2]
        cols = padded.reshape(N, C, padded.shape[2] * padded.shape[3])[:, :, idx]  # (N, C, K, L)
        return cols.reshape(N, C * idx.shape[0], idx.shape[1])

    @staticmethod
    def backward(ctx, grad):
        return apply(Col2Im, (grad,), (grad._data,), *ctx.args)


class Col2Im(Op):
    """(N, C*kh*kw, L) -> (N, C, H, W): the adjoint of Im2Col (overlaps add up)."""
    _name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, output_size, kernel, dilation, padding, stride):
        ctx.args = (kernel, dilation, padding, stride)
        (H, W), (ph, pw) = output_size, padding
        idx = _index_map(ctx.xp, output_size, kernel, dilation, padding, stride)
        N = cols.shape[0]
        C = cols.shape[1] // idx.shape[0]
        img = ctx.xp.zeros((N, C, (H + 2 * ph) * (W + 2 * pw)), dtype=cols.dtype)
        src = cols.reshape(N, C, idx.shape[0], idx.shape[1])
        for k in range(idx.shape[0]):  # np.add.at is slow; a loop over kernel taps is not
            ufunc_at(np.add, img, (slice(None), slice(None), idx[k]), src[:, :, k])
        img = img.reshape(N, C, H + 2 * ph, W + 2 * pw)
        return ctx.xp.ascontiguousarray(img[:, :, ph:ph + H, pw:pw + W])

    @staticmethod
    def backward(ctx, grad):
        return apply(Im2Col, (grad,), (grad._data,), *ctx.args)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    r"""Extract sliding blocks: (N, C, H, W) -> (N, C * prod(kernel_size), L), also unbatched
    (C, H, W) -> (C * prod(kernel_size), L)."""
    kernel, dilation = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    padding, stride = _pair(padding, "padding"), _pair(stride, "stride")
    if input.dim() < 3:  # PyTorch reads the size of dim 2 before checking the rank
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(input.dim(), 1)}, {max(input.dim(), 1) - 1}], but got "
                         f"{input.dim()})")
    if input.dim() > 4:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: "
                           f"{shape_str(input.shape)}")
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    H, W = x.shape[2:]
    bh = _blocks(H, kernel[0], dilation[0], padding[0], stride[0])
    bw = _blocks(W, kernel[1], dilation[1], padding[1], stride[1])
    if bh < 1 or bw < 1:
        raise RuntimeError(f"Given input with spatial size ({H}, {W}), kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, calculated shape of the "
                           f"array of sliding blocks as ({bh}, {bw}), but its components must "
                           f"be at least one.")
    _no_integer_kernel(input, "im2col_out_cpu")
    out = apply(Im2Col, (x,), (x._data, kernel, dilation, padding, stride))
    return out if batched else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    r"""Sum sliding blocks into an image: (N, C * prod(kernel_size), L) -> (N, C, *output_size),
    also unbatched; overlapping block elements add up."""
    size, kernel = _pair(output_size, "output_size"), _pair(kernel_size, "kernel_size")
    dilation, padding, stride = (_pair(dilation, "dilation"), _pair(padding, "padding"),
                                 _pair(stride, "stride"))
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{shape_str(input.shape)}")
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    K = kernel[0] * kernel[1]
    if x.shape[1] % K:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size={kernel}.")
    bh = _blocks(size[0], kernel[0], dilation[0], padding[0], stride[0])
    bw = _blocks(size[1], kernel[1], dilation[1], padding[1], stride[1])
    if bh * bw != x.shape[2]:
        raise RuntimeError(f"Given output_size={size}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, stride={stride}, expected "
                           f"size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {bh} * {bw} = {bh * bw}, but got "
                           f"input.size(2)={x.shape[2]}.")
    _no_integer_kernel(input, "col2im_out_cpu")
    out = apply(Col2Im, (x,), (x._data, size, kernel, dilation, padding, stride))
    return out if batched else out.squeeze(0)


def _no_integer_kernel(input, kernel):
    """PyTorch's im2col/col2im kernels take floating, complex and bool inputs only (checked
    after the shapes)."""
    dt = input.dtype
    if not (dt.is_floating_point or dt.is_complex or dt == _dtype.bool):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dtype_name(dt)}'")


def pixel_shuffle(input, upscale_factor):
    r"""(*, C r^2, H, W) -> (*, C, H r, W r): out[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w]."""
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, C, H, W = input.shape
    if C % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={C} "
                           f"is not divisible by {r * r}")
    return _keep_4d_channels_last(_pixel_shuffle, input, r)


def _pixel_shuffle(input, r):
    *lead, C, H, W = input.shape
    n = len(lead)
    x = input.reshape(*lead, C // (r * r), r, r, H, W)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return _fresh_contiguous(x.reshape(*lead, C // (r * r), H * r, W * r), input)


def pixel_unshuffle(input, downscale_factor):
    r"""(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle."""
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, C, H, W = input.shape
    if H % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={H} is not divisible by {r}")
    if W % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={W} is not divisible by {r}")
    if input.numel() == 0:
        # PyTorch returns an empty input unchanged in shape (a copy), not (*, C r^2, H/r, W/r)
        return input.clone()
    return _keep_4d_channels_last(_pixel_unshuffle, input, r)


def _pixel_unshuffle(input, r):
    *lead, C, H, W = input.shape
    n = len(lead)
    x = input.reshape(*lead, C, H // r, r, W // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return _fresh_contiguous(x.reshape(*lead, C * r * r, H // r, W // r), input)


def _keep_4d_channels_last(fn, input, *args):
    """fn(input, *args) with PyTorch's layouts: a 4-d channels-last input gives a
    channels-last result, and its gradient the layout of the result's gradient (5-d
    channels-last inputs, which PyTorch's kernels partly refuse, run as before)."""
    if input.dim() != 4:
        return fn(input, *args)
    return keep_channels_last(fn, input, *args)


def _fresh_contiguous(out, input):
    """`out` as a row-major tensor of its own: PyTorch's pixel (un)shuffle always copies,
    even where the reshapes could view `input` (a factor of 1, a transposed input)."""
    from .. import contiguous_format
    if out._vc is not None and out._vc is input._vc:   # a view of input
        return out.clone(memory_format=contiguous_format)
    return out.contiguous()


def channel_shuffle(input, groups):
    r"""(N, g * k, *) -> (N, k * g, *): the channel index c = i k + j moves to j g + i."""
    g = int(groups)
    if input.dim() < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{g}")
    N, C, *rest = input.shape
    if C % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {C} channels "
                           f"and {g} groups.")
    return _keep_4d_channels_last(_channel_shuffle, input, g)


def _channel_shuffle(input, g):
    N, C, *rest = input.shape
    x = input.reshape(N, g, C // g, *rest).transpose(1, 2)
    return x.reshape(N, C, *rest)


native_channel_shuffle = channel_shuffle

