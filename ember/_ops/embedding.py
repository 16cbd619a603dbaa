"""Embedding lookups: `embedding` (rows of a weight by index, max_norm renormalizing the
rows it reads, padding_idx, sparse gradients) and `embedding_bag` (bags of rows reduced by
sum, mean or max, offsets checked as PyTorch's)."""
import numpy as np

from ..autograd.graph import rename as rename_node
from .. import _dtype
from .._backend import array_namespace, ufunc_at
from .._tensor import Tensor
from ..autograd import grad_mode
from ._base import Op, apply

__all__ = []


class Embedding(Op):
    _name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, w, idx, padding_idx, scale_grad_by_freq):
        ctx.idx, ctx.num, ctx.padding_idx = idx, w.shape[0], padding_idx
        ctx.scale = scale_grad_by_freq
        return w[idx]

    @staticmethod
    def backward(ctx, grad):
        idx = ctx.idx
        g = grad
        if ctx.scale:
            counts = np.bincount(idx.reshape(-1), minlength=ctx.num)
            g = g / Tensor._make(counts[idx].astype(grad._data.dtype)[..., None])
        if ctx.padding_idx is not None:
            keep = (idx != ctx.padding_idx).astype(grad._data.dtype)[..., None]
            g = g * Tensor._make(keep)
        flat_idx = idx.reshape(-1)
        g = g.reshape(-1, g.shape[-1])   # the rows the scatter reads (its graph input too)
        out = apply(_EmbeddingScatter, (g,), (g._data, flat_idx, ctx.num))
        return out


class _EmbeddingScatter(Op):
    _name = "EmbeddingDenseBackward0"

    @staticmethod
    def forward(ctx, g, idx, num):
        ctx.idx = idx
        out = ctx.xp.zeros((num, g.shape[-1]), dtype=g.dtype)
        ufunc_at(np.add, out, idx, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return apply(_Rows, (grad,), (grad._data, ctx.idx))


class _Rows(Op):
    _name = "IndexSelectBackward0"

    @staticmethod
    def forward(ctx, w, idx):
        ctx.idx, ctx.num = idx, w.shape[0]
        return w[idx]

    @staticmethod
    def backward(ctx, grad):
        return apply(_EmbeddingScatter, (grad,), (grad._data, ctx.idx, ctx.num))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input.dtype.is_floating_point or input.dtype is _dtype.bool:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input._type_name()} "
                           f"instead (while checking arguments for embedding)")
    num = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += num
    idx = input._data.astype(np.int64, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        with grad_mode.no_grad():
            rows = np.unique(idx)
            sub = weight._data[rows]
            norms = np.linalg.norm(sub.astype(np.float64), ord=norm_type, axis=1)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            weight._data[rows] = (sub * scale[:, None]).astype(weight._data.dtype)
            weight._bump_version()
    if sparse:   # the weight's gradient is a sparse tensor (ember/sparse/_coo.py)
        from ..sparse._coo import sparse_embedding
        return sparse_embedding(input, weight, padding_idx, scale_grad_by_freq)
    return apply(Embedding, (weight,), (weight._data, idx, padding_idx, scale_grad_by_freq))


def _torch_type_str(obj):
    """str(type(obj)) as PyTorch prints it for its own classes (<class 'torch.Tensor'>)."""
    return "<class 'torch.Tensor'>" if isinstance(obj, Tensor) else str(type(obj))


def _bag_bounds(input, offsets, include_last_offset):
    """(start, end) of each bag of a 1-D input cut at `offsets`, checked as PyTorch's kernel
    checks them: integer offsets, the first 0, none past the input's end, none negative,
    none decreasing."""
    for t in (input, offsets):
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype is _dtype.bool:
            raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                               f"following scalar types: Long, Int; but got {t._type_name()} "
                               f"instead (while checking arguments for embedding_bag)")
    off = [int(v) for v in offsets.tolist()]
    n = int(input.shape[0])
    if include_last_offset and not off:
        raise RuntimeError("include_last_offset: number of offset should be at least 1")
    if off and off[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {off[0]}\n"
                           f"[ {offsets._type_name().replace('IntTensor', 'LongTensor')}{{}} ]")
    if off and off[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                           f"offsets[-1] of {off[-1]}")
    if any(v < 0 for v in off):
        raise IndexError("index out of range in self")
    if any(b < a for a, b in zip(off, off[1:])):
        raise RuntimeError("Expected i < index_size to be true, but got false.  (Could this "
                           "error message be improved?  If so, please report an enhancement "
                           "request to PyTorch.)")
    bounds = off if include_last_offset else off + [n]
    return list(zip(bounds[:-1], bounds[1:]))


def _check_bag_indices(flat, bags, num_embeddings, mode):
    """Indices outside [0, num_embeddings) raise PyTorch's RuntimeError (naming the bag),
    not embedding's IndexError."""
    idx = flat.tolist()
    for b, (start, end) in enumerate(bags):
        for v in idx[start:end]:
            if not 0 <= v < num_embeddings:
                if mode == "max":
                    raise RuntimeError(f"embedding_bag: Expected idx >= 0 && idx < "
                                       f"num_embeddings but found idx to be {v}")
                raise RuntimeError(f"Index {b} of input takes value {v} which is not in the "
                                   f"valid range [0, {num_embeddings})")


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sums/means/maxes of embedding rows per bag (2-D input: one bag per row)."""
    from .joining import stack
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is "
                         f"not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.dim()}")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated "
                             f"is a mini-batch of fixed length sequences. However, found "
                             f"offsets of type {_torch_type_str(offsets)}")
        bags = [(i * input.shape[1], (i + 1) * input.shape[1]) for i in range(input.shape[0])]
        flat = input.reshape(-1)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        bags = _bag_bounds(input, offsets, include_last_offset)
        flat = input
        psw = per_sample_weights
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    _check_bag_indices(flat, bags, weight.shape[0], mode)
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    # (sparse: the weight's gradient is a sparse tensor with a row per input index)
    rows = embedding(flat, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq,
                     sparse=bool(sparse))
    if psw is not None:
        rows = rows * psw.unsqueeze(-1)
    keep = None
    if padding_idx is not None:
        keep = (flat._data != (padding_idx % weight.shape[0]))
    outs = []
    for s, e in bags:
        sel = array_namespace(flat._data).arange(s, e)
        if keep is not None:
            sel = sel[keep[s:e]]
        if len(sel) == 0:
            outs.append(rows[:0].sum(0))   # an empty bag: zeros, in the graph
            continue
        part = rows[Tensor._make(sel)]
        if mode == "sum":
            outs.append(part.sum(0))
        elif mode == "mean":
            outs.append(part.mean(0))
        else:
            outs.append(part.max(0).values)   # ties: the first row takes the gradient
    out = stack(outs, 0) if outs else rows[:0] * 0   # no offsets: no bags
    if out.grad_fn is not None:   # the composite's top node takes torch's name for its kernel
        rename_node(out.grad_fn, "EmbeddingBagBackward0")
    return out
