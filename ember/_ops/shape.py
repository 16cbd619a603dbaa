"""Shape ops. View ops return tensors sharing memory and the version counter with
their input, and remember how to rebuild themselves from their base (for in-place
ops on views)."""
import numbers

import numpy as np

from .._tensor import Tensor, Size
from ._base import Op, apply
from ._util import wrap_dim, shape_str

__all__ = ["reshape", "transpose", "permute", "squeeze", "unsqueeze", "t", "unbind",
           "broadcast_to", "flatten", "swapaxes", "swapdims"]


def as_view(out, src, view_fn):
    """Mark `out` as a view of `src`: shared version counter, base, and view_fn(base)."""
    if src._vc is None:
        src._vc = [0]
    out._vc = src._vc
    base = src._base
    if base is None:
        out._base = src
        out._view_fn = view_fn
    else:
        out._base = base
        parent = src._view_fn
        out._view_fn = lambda b: view_fn(parent(b))
    return out


def _parse_shape(shape, numel, fname="view"):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    shape = tuple(int(s) if not isinstance(s, Tensor) else int(s.item()) for s in shape)
    infer = [i for i, s in enumerate(shape) if s == -1]
    if len(infer) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if infer:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{shape_str(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{shape_str(shape)}' is invalid for input of size {numel}")
    return shape


class View(Op):
    _name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x, shape, must_view):
        ctx.in_shape = x.shape
        try:
            return np.reshape(x, shape, copy=False)
        except ValueError:
            if must_view:
                raise RuntimeError(
                    "view size is not compatible with input tensor's size and stride (at least one "
                    "dimension spans across two contiguous subspaces). Use .reshape(...) "
                    "instead.") from None
            ctx._name = "CloneBackward0"
            return np.reshape(x, shape).copy()

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


def view(self, *shape):
    if len(shape) == 1 and hasattr(shape[0], "np"):
        from .conversion import to
        raise NotImplementedError("Tensor.view(dtype) is not supported by ember yet")
    shape = _parse_shape(shape, self._data.size)
    out = apply(View, (self,), (self._data,), shape, True)
    return as_view(out, self, lambda b: b.view(shape))


def reshape(input, *shape):
    """`input` with a new shape; a view when the memory layout allows, else a copy."""
    shape = _parse_shape(shape, input._data.size, "reshape")
    if shape == input._data.shape:
        return as_view(apply(_Alias, (input,), (input._data,)), input, lambda b: b.view(shape))
    out = apply(View, (input,), (input._data,), shape, False)
    if np.shares_memory(out._data, input._data):
        out.grad_fn is not None and setattr(out.grad_fn, "_name", "ViewBackward0")
        return as_view(out, input, lambda b: b.view(shape))
    if out.grad_fn is not None:
        out.grad_fn._name = "ReshapeAliasBackward0"
    return out


class _Alias(Op):
    _name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x):
        return x.view()

    @staticmethod
    def backward(ctx, grad):
        return grad


class Permute(Op):
    _name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return grad.permute(inv)


def permute(input, *dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list, Size)):
        dims = tuple(dims[0])
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                           f"match the length of the desired ordering of dimensions i.e. input.dim()"
                           f" = {n} is not equal to len(dims) = {len(dims)}")
    wd = tuple(wrap_dim(d, n) for d in dims)
    if len(set(wd)) != len(wd):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    out = apply(Permute, (input,), (input._data,), wd)
    return as_view(out, input, lambda b: b.permute(wd))


class Transpose(Op):
    _name = "TransposeBackward0"

    @staticmethod
    def forward(ctx, x, d0, d1):
        ctx.d = (d0, d1)
        return np.swapaxes(x, d0, d1)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*ctx.d)


def transpose(input, dim0, dim1):
    n = input._data.ndim
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    out = apply(Transpose, (input,), (input._data,), d0, d1)
    return as_view(out, input, lambda b: b.transpose(d0, d1))


swapaxes = swapdims = transpose


def t(input):
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    if input._data.ndim < 2:
        return as_view(apply(_Alias, (input,), (input._data,)), input, lambda b: b.t())
    out = transpose(input, 0, 1)
    if out.grad_fn is not None:
        out.grad_fn._name = "TBackward0"
    return out


class Expand(Op):
    _name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        from .reduction import sum_to_size
        return sum_to_size(grad, ctx.in_shape)


def expand(self, *sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size)):
        sizes = tuple(sizes[0])
    shape = self._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.{self.dtype._legacy or self.dtype.name}{{{list(shape)}}}, "
                           f"size={list(sizes)}): the number of sizes provided ({len(sizes)}) must "
                           f"be greater or equal to the number of dimensions in the tensor "
                           f"({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        s = int(s)
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading,"
                                   f" non-existing dimension {i}")
            target.append(s)
            continue
        cur = shape[i - lead]
        if s == -1:
            s = cur
        elif cur != 1 and s != cur:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size "
                               f"({cur}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(shape)}")
        target.append(s)
    target = tuple(target)
    if target == shape:
        return as_view(apply(_Alias, (self,), (self._data,)), self, lambda b: b.expand(target))
    out = apply(Expand, (self,), (self._data,), target)
    return as_view(out, self, lambda b: b.expand(target))


def broadcast_to(input, size):
    return expand(input, tuple(size))


def expand_as(self, other):
    return expand(self, other.shape)


class Squeeze(Op):
    _name = "SqueezeBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.in_shape = x.shape
        return np.squeeze(x, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


def squeeze(input, dim=None):
    shape = input._data.shape
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        ds = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = tuple(sorted({wrap_dim(d, len(shape)) for d in ds}))
        dims = tuple(d for d in dims if len(shape) and shape[d] == 1)
    out = apply(Squeeze, (input,), (input._data,), dims)
    if out.grad_fn is not None and dim is not None:
        out.grad_fn._name = "SqueezeBackward1" if not isinstance(dim, (tuple, list)) else \
            "SqueezeBackward2"
    return as_view(out, input, lambda b: b.squeeze(dim))


class Unsqueeze(Op):
    _name = "UnsqueezeBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.expand_dims(x, dim)

    @staticmethod
    def backward(ctx, grad):
        return grad.squeeze(ctx.dim)


def unsqueeze(input, dim):
    d = wrap_dim(dim, input._data.ndim + 1)
    out = apply(Unsqueeze, (input,), (input._data,), d)
    return as_view(out, input, lambda b: b.unsqueeze(d))


def flatten(input, start_dim=0, end_dim=-1):
    n = input._data.ndim
    if n == 0:
        return reshape(input, (1,))
    s, e = wrap_dim(start_dim, n), wrap_dim(end_dim, n)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input._data.shape
    new = shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:]
    return reshape(input, new)


class Unbind(Op):
    _name = "UnbindBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return tuple(np.take(x, i, axis=dim) if False else x[(slice(None),) * dim + (i,)]
                     for i in range(x.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        from .joining import stack
        return stack(grads, ctx.dim)


def unbind(input, dim=0):
    d = wrap_dim(dim, input._data.ndim)
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    outs = apply(Unbind, (input,), (input._data,), d)
    if type(outs) is not tuple:
        outs = (outs,)
    return tuple(as_view(o, input, (lambda i: lambda b: b.unbind(d)[i])(i))
                 for i, o in enumerate(outs))


Tensor.view = view
Tensor.reshape = reshape
Tensor.permute = permute
Tensor.transpose = transpose
Tensor.swapaxes = Tensor.swapdims = transpose
Tensor.t = t
Tensor.expand = expand
Tensor.expand_as = expand_as
Tensor.broadcast_to = broadcast_to
Tensor.squeeze = squeeze
Tensor.unsqueeze = unsqueeze
Tensor.flatten = flatten
Tensor.unbind = unbind
Tensor.view_as = lambda self, other: view(self, other.shape)
Tensor.reshape_as = lambda self, other: reshape(self, other.shape)
Tensor.T = property(lambda self: permute(self, tuple(range(self._data.ndim))[::-1]))
Tensor.mT = property(lambda self: transpose(self, -2, -1))
