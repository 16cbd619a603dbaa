"""Deformable convolution v1/v2 (Dai et al. 2017, Zhu et al. 2018): deform_conv2d and
DeformConv2d, composed of differentiable ember ops (bilinear gathers and a matmul), so
gradients reach input, offset, mask, weight and bias, and double backward works."""
import math

from ... import arange, empty, floor, nn, where, zeros
from ...nn import init
from ...nn.parameter import Parameter

__all__ = ["deform_conv2d", "DeformConv2d"]


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def deform_conv2d(input, offset, weight, bias=None, stride=(1, 1), padding=(0, 0),
                  dilation=(1, 1), mask=None):
    r"""Deformable convolution:

    .. math::
        out[n, o, p] = b_o + \sum_{c, k} w[o, c, k] \; m[n, g, k, p] \;
                       x_n[c](p_0 + p_k + \Delta p[n, g, k, p])

    p_0 = p * stride - padding the window origin of output position p, p_k = k * dilation
    the kernel tap, Delta p = (offset[2k], offset[2k + 1]) the learned (dy, dx) of offset
    group g (channels c split into offset_groups = offset.size(1) / (2 kh kw) groups),
    x_n[c](y, x) bilinear interpolation reading 0 outside the image, m the mask (1 without
    one: v1). Weight groups work as in conv2d.

    Args:
        input (Tensor[N, C, H, W]), offset (Tensor[N, 2 * G * kh * kw, Ho, Wo]),
        weight (Tensor[O, C / groups, kh, kw]), bias (Tensor[O] or None),
        mask (Tensor[N, G * kh * kw, Ho, Wo] or None).
    Returns:
        Tensor[N, O, Ho, Wo].
    """
    stride_h, stride_w = _pair(stride)
    pad_h, pad_w = _pair(padding)
    dil_h, dil_w = _pair(dilation)
    out_channels, c_per_group, kh, kw = weight.shape
    n, c, height, width = input.shape
    n_offset_groups = offset.shape[1] // (2 * kh * kw)
    if n_offset_groups == 0:
        raise RuntimeError(
            "the shape of the offset tensor at dimension 1 is not valid. It should be a "
            "multiple of 2 * weight.size[2] * weight.size[3].\n"
            f"Got offset.shape[1]={offset.shape[1]}, while 2 * weight.size[2] * "
            f"weight.size[3]={2 * kh * kw}")
    if c % c_per_group != 0:
        raise RuntimeError(f"input channels {c} is not divisible by the weight's "
                           f"{c_per_group} channels per group")
    groups = c // c_per_group
    if c % n_offset_groups != 0:
        raise RuntimeError(f"input channels {c} are not divisible by the {n_offset_groups} "
                           f"offset groups")
    out_h = (height + 2 * pad_h - (dil_h * (kh - 1) + 1)) // stride_h + 1
    out_w = (width + 2 * pad_w - (dil_w * (kw - 1) + 1)) // stride_w + 1
    if tuple(offset.shape[2:]) != (out_h, out_w):
        raise RuntimeError(f"offset output dims: ({offset.shape[2]}, {offset.shape[3]}) - "
                           f"computed output dims: ({out_h}, {out_w})")
    if mask is not None and (mask.shape[1] != n_offset_groups * kh * kw
                             or tuple(mask.shape[2:]) != (out_h, out_w)):
        raise RuntimeError(f"mask of shape {tuple(mask.shape)} does not match "
                           f"(N, {n_offset_groups * kh * kw}, {out_h}, {out_w})")

    k = kh * kw
    g = n_offset_groups
    off = offset.reshape(n, g, k, 2, out_h, out_w)
    dev = input.device
    # sample coordinates (N, G, K, Ho, Wo): window origin + kernel tap + learned offset
    tap_y = (arange(kh, device=dev) * dil_h).repeat_interleave(kw).reshape(k, 1, 1)
    tap_x = (arange(kw, device=dev) * dil_w).repeat(kh).reshape(k, 1, 1)
    org_y = (arange(out_h, device=dev) * stride_h - pad_h).reshape(1, out_h, 1)
    org_x = (arange(out_w, device=dev) * stride_w - pad_w).reshape(1, 1, out_w)
    y = off[:, :, :, 0] + (tap_y + org_y).to(input.dtype)
    x = off[:, :, :, 1] + (tap_x + org_x).to(input.dtype)
    cols = _bilinear_sample(input.reshape(n, g, c // g, height * width), y, x, height, width)
    if mask is not None:
        cols = cols * mask.reshape(n, g, 1, k, out_h * out_w)
    # (N, C, K, L) -> per weight group (N, groups, C/groups * K, L), then the matmul
    cols = cols.reshape(n, groups, c_per_group * k, out_h * out_w)
    w = weight.reshape(groups, out_channels // groups, c_per_group * k)
    out = (w.unsqueeze(0) @ cols).reshape(n, out_channels, out_h, out_w)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


def _bilinear_sample(x, y, xs, height, width):
    """x (N, G, Cg, H*W) at the points (y, xs) (N, G, K, Ho, Wo): (N, G, Cg, K, Ho*Wo).

    A point with y <= -1, y >= H, x <= -1 or x >= W reads 0; otherwise each of its four
    corner pixels inside the image contributes with its bilinear weight (the others 0).
    The corners are detached integers; the weights carry the gradient to the offsets."""
    n, g, cg, _ = x.shape
    shape = y.shape
    y0 = floor(y).detach()
    x0 = floor(xs).detach()
    ly, lx = y - y0, xs - x0
    inside = (y > -1) & (y < height) & (xs > -1) & (xs < width)
    out = None
    for dy, wy in ((0, 1 - ly), (1, ly)):
        for dx, wx in ((0, 1 - lx), (1, lx)):
            yc, xc = (y0 + dy).long(), (x0 + dx).long()
            ok = inside & (yc >= 0) & (yc < height) & (xc >= 0) & (xc < width)
            index = where(ok, yc * width + xc, zeros((), dtype=yc.dtype, device=yc.device))
            index = index.reshape(n, g, 1, -1).expand(n, g, cg, index[0, 0].numel())
            vals = x.gather(3, index).reshape(n, g, cg, shape[2], shape[3] * shape[4])
            weight = (wy * wx * ok.to(wy.dtype)).reshape(n, g, 1, shape[2], -1)
            term = vals * weight
            out = term if out is None else out + term
    return out


class DeformConv2d(nn.Module):
    """See :func:`deform_conv2d`. Weight (out, in / groups, kh, kw) and bias start as
    nn.Conv2d's (kaiming-uniform a=sqrt(5), bias uniform in +-1/sqrt(fan_in))."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True):
        super().__init__()
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.groups = groups
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size))
        if bias:
            self.bias = Parameter(empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input, offset, mask=None):
        return deform_conv2d(input, offset, self.weight, self.bias, stride=self.stride,
                             padding=self.padding, dilation=self.dilation, mask=mask)

    def __repr__(self):
        s = (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
             f"kernel_size={self.kernel_size}, stride={self.stride}")
        s += f", padding={self.padding}" if self.padding != (0, 0) else ""
        s += f", dilation={self.dilation}" if self.dilation != (1, 1) else ""
        s += f", groups={self.groups}" if self.groups != 1 else ""
        s += ", bias=False" if self.bias is None else ""
        return s + ")"
