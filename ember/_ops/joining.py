"""Joining and splitting: cat, stack (split/chunk/... live here too)."""
import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._base import Op, apply
from ._util import wrap_dim, cast, check_same_device

__all__ = ["cat", "concat", "concatenate", "stack"]


class Cat(Op):
    _name = "CatBackward0"

    @staticmethod
    def forward(ctx, *args):
        *arrays, dim = args
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] if a.ndim else 0 for a in arrays]
        ctx.skip = [a.ndim == 1 and a.shape[0] == 0 for a in arrays]
        kept = [a for a in arrays if not (a.ndim == 1 and a.shape[0] == 0)] or arrays[:1]
        return np.concatenate(kept, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        out, start = [], 0
        for size, skip in zip(ctx.sizes, ctx.skip):
            if skip:
                out.append(None)
                continue
            out.append(grad.narrow(ctx.dim, start, size))
            start += size
        return tuple(out)


def cat(tensors, dim=0, *, out=None):
    """Concatenate tensors along an existing dim."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"cat(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    ref = next((t for t in tensors if not (t.dim() == 1 and t.shape[0] == 0)), tensors[0])
    if ref.dim() == 0:
        raise RuntimeError(f"zero-dimensional tensor (at position {tensors.index(ref)}) cannot be "
                           f"concatenated")
    d = wrap_dim(dim, ref.dim())
    check_same_device(*tensors)
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _dtype.promote_types(dt, t.dtype)
    for i, t in enumerate(tensors):
        if t.dim() == 1 and t.shape[0] == 0:
            continue
        if t.dim() != ref.dim():
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.dim()} and "
                               f"{t.dim()}")
        for k in range(ref.dim()):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected "
                                   f"size {ref.shape[k]} but got size {t.shape[k]} for tensor number"
                                   f" {i} in the list.")
    return apply(Cat, tuple(tensors), tuple(cast(t, dt) for t in tensors), d)


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    """Stack tensors of equal shape along a new dim."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"stack(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} "
                               f"at entry 0 and {list(t.shape)} at entry {i}")
    d = wrap_dim(dim, len(shape) + 1)
    r = cat([t.unsqueeze(d) for t in tensors], d)
    if r.grad_fn is not None:
        r.grad_fn._name = "StackBackward0"
    return r


class Narrow(Op):
    _name = "SliceBackward0"

    @staticmethod
    def forward(ctx, x, dim, start, length):
        ctx.shape, ctx.dim, ctx.start = x.shape, dim, start
        return x[(slice(None),) * dim + (slice(start, start + length),)]

    @staticmethod
    def backward(ctx, grad):
        from .creation import zeros
        pad_before = ctx.start
        pad_after = ctx.shape[ctx.dim] - ctx.start - grad.shape[ctx.dim]
        parts = []
        if pad_before:
            s = list(ctx.shape)
            s[ctx.dim] = pad_before
            parts.append(zeros(s, dtype=grad.dtype, device=grad.device))
        parts.append(grad)
        if pad_after:
            s = list(ctx.shape)
            s[ctx.dim] = pad_after
            parts.append(zeros(s, dtype=grad.dtype, device=grad.device))
        return cat(parts, ctx.dim) if len(parts) > 1 else grad


def narrow(input, dim, start, length):
    from .shape import as_view
    d = wrap_dim(dim, input.dim())
    if isinstance(start, Tensor):
        start = int(start.item())
    size = input.shape[d]
    if start < -size or start > size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but "
                         f"got {start})")
    if start < 0:
        start += size
    if length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    out = apply(Narrow, (input,), (input._data,), d, start, length)
    return as_view(out, input, lambda b: b.narrow(d, start, length))


__all__.append("narrow")
Tensor.narrow = narrow
