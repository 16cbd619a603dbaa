"""Channels-last layouts for ops that ember composes from others (interpolation, pixel and
channel shuffles): PyTorch's fused kernels give a channels-last input a channels-last
result, and the input's gradient either the layout the output's gradient arrives in or
row-major (per kernel), while the composition computes row-major. The composition runs
unchanged between two Relayout nodes, on the channels-last path only.
"""
from ..autograd.graph import rename as rename_node
from ._base import Op, apply
from ._layout import col_major, in_format, row_major, suggest_format

__all__ = []


def _laid_out(x, fmt):
    """A copy of array x in memory format `fmt`: 'channels_last(_3d)', 'contiguous'
    (row-major), 'col_major' (each matrix column-major, as LAPACK's results) or None
    (x's own layout)."""
    out = row_major(x) if fmt == "contiguous" else col_major(x) if fmt == "col_major" else \
        in_format(x, fmt)
    return x.copy(order="K") if out is x else out


class Relayout(Op):
    """y = x, copied into memory format `fmt`. The gradient comes back laid out as
    `grad_fmt` ('channels_last(_3d)', 'contiguous', None: as it arrives); 'record' passes
    it on and notes its suggested format in `link`, 'linked' lays it out as noted there."""
    _name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x, fmt, grad_fmt, link=None):
        ctx.fmts, ctx.link = (fmt, grad_fmt), link
        return _laid_out(x, fmt)

    @staticmethod
    def backward(ctx, grad):
        fmt, grad_fmt = ctx.fmts
        if grad_fmt == "record":
            ctx.link[0] = suggest_format(grad._data) or "contiguous"
            return grad
        if grad_fmt == "linked":
            grad_fmt = ctx.link[0]
        if grad_fmt is None:
            return grad
        return apply(Relayout, (grad,), (grad._data,), grad_fmt, fmt)


def keep_channels_last(fn, input, *args, grad="follow"):
    """fn(input, *args), a composition of ember ops, with PyTorch's layouts for a
    channels-last input: the result channels-last (3d) too, and input's gradient laid out
    as the result's gradient suggests (grad='follow') or row-major (grad='contiguous').
    Other inputs run fn directly."""
    fmt = suggest_format(input._data)
    if fmt is None:
        return fn(input, *args)
    link = [None]   # the output gradient's format, noted when backward reaches the result
    x = apply(Relayout, (input,), (input._data,), None,
              "linked" if grad == "follow" else "contiguous", link)
    out = fn(x, *args)
    return apply(Relayout, (out,), (out._data,), fmt, "record", link)


def lapack_layout(out, name):
    """out (a composed linear-algebra result) copied into LAPACK's column-major layout,
    as PyTorch returns it; the new top node takes PyTorch's name `name`."""
    out = apply(Relayout, (out,), (out._data,), "col_major", None)
    if out.grad_fn is not None:
        rename_node(out.grad_fn, name)
    return out
