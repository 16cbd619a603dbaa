"""The COO sparse tensor (``layout=ember.sparse_coo``) and its primitive ops.

A COO tensor of shape (s_0, ..., s_{S-1}, d_0, ..., d_{D-1}) holds
    indices  int64 (S, nnz)       the sparse positions, one column each
    values   (nnz, d_0, ..., d_{D-1})
and stands for  dense[indices[:, k]] += values[k]  summed over k. It is *coalesced* when
its positions are sorted (row-major) and distinct; coalesce() makes it so, summing repeats.

The primitives here each have a backward of their own; every other sparse op is composed
of them and of dense ops on the values (ember/sparse/_math.py). The gradient of a sparse
tensor is a sparse tensor on its coalesced positions, as in PyTorch.
"""
import numpy as np

from .. import _dtype
from .._backend import array_namespace, ufunc_at
from .._sparse_tensor import SparseTensor
from .._tensor import Tensor
from ._autograd import SparseOp, sparse_apply, gather_at, mask_as, linear_positions


class SparseCooTensor(SparseTensor):
    """A sparse COO tensor: see the module docstring. Components: ``_ix`` (indices),
    ``_vals`` (values), ``_coalesced``."""
    _layout_name = "sparse_coo"

    def _component_values(self):
        return self._vals

    # ------------------------------------------------------------------ components
    def _indices(self):
        return Tensor._make(self._ix._data)

    def indices(self):
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._indices()

    def _values(self):
        """The values array, aliased and outside autograd, as PyTorch's _values()."""
        return Tensor._make(self._vals._data)

    def _diff_values(self):
        """The values, differentiable in self (ValuesBackward0): values() and ember's own
        sparse ops use this."""
        return sparse_apply(Values, (self,))

    def values(self):
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._diff_values()

    def _nnz(self):
        return self._ix._data.shape[1]

    def sparse_dim(self):
        return self._ix._data.shape[0]

    def dense_dim(self):
        return self._vals._data.ndim - 1

    def is_coalesced(self):
        return self._coalesced

    def _coalesced_(self, coalesced):
        self._coalesced = bool(coalesced)
        return self

    def coalesce(self):
        """Sorted, distinct positions, repeats summed (itself when already coalesced)."""
        if self._coalesced:
            return self
        return sparse_apply(Coalesce, (self,))

    def to_dense(self, dtype=None, *, masked_grad=None):
        out = sparse_apply(ToDense, (self,))
        return out if dtype is None else out.to(dtype)

    def detach(self):
        return new_coo(self._ix, self._vals, self.shape, self._coalesced)

    def zero_(self):
        """Empty the tensor in place (no elements: all zeros)."""
        from .._ops.creation import zeros
        dev = self._vals.device
        self._ix = zeros((self.sparse_dim(), 0), dtype=_dtype.int64, device=dev)
        self._vals = zeros((0,) + tuple(self._vals.shape[1:]), dtype=self.dtype, device=dev)
        self._coalesced = True
        self._bump_version()
        return self

    def clone(self, *, memory_format=None):
        return sparse_apply(Clone, (self,))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.  If you were attempting to "
                               "deepcopy a module, this may be because of a "
                               "torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        t = new_coo(Tensor._make(self._ix._data.copy()), Tensor._make(self._vals._data.copy()),
                    self.shape, self._coalesced)
        t._requires_grad = self._requires_grad
        memo[id(self)] = t
        return t

    def __reduce_ex__(self, proto):
        return (_rebuild_coo, (self._ix._cpu_array().copy(), self._vals._cpu_array().copy(),
                               tuple(self.shape), self._coalesced, self._requires_grad))


def _rebuild_coo(indices, values, size, coalesced, requires_grad):
    t = new_coo(Tensor._make(indices), Tensor._make(values), size, coalesced)
    t._requires_grad = requires_grad
    return t


def new_coo(indices, values, size, coalesced):
    """A COO tensor over the given component Tensors (taken as they are: no checks, no
    graph)."""
    t = object.__new__(SparseCooTensor)
    t._init_sparse(size, values)
    t._ix = indices
    t._vals = values
    t._coalesced = bool(coalesced) or indices._data.shape[1] <= 1
    return t


# ---------------------------------------------------------------------- coalescing

def coalesce_arrays(indices, values, sizes):
    """(indices, values) arrays sorted by position with repeats summed; values None: the
    indices alone."""
    xp = array_namespace(indices)
    n = indices.shape[1]
    if n <= 1:
        return indices, values
    lin = linear_positions(indices, sizes)
    order = xp.argsort(lin, kind="stable")
    lin = lin[order]
    first = xp.empty(n, dtype=bool)
    first[0] = True
    first[1:] = lin[1:] != lin[:-1]
    out_indices = indices[:, order][:, first]
    if values is None:
        return out_indices, None
    group = xp.cumsum(first) - 1
    groups = out_indices.shape[1]
    if groups == n:
        return out_indices, values[order]
    out_values = xp.zeros((groups,) + values.shape[1:], dtype=values.dtype)
    ufunc_at(np.add, out_values, group, values[order])
    return out_indices, out_values


def coalesced_indices(s):
    """The positions of COO tensor `s` once coalesced (an int64 Tensor)."""
    if s._coalesced:
        return s._ix
    idx, _ = coalesce_arrays(s._ix._data, None, tuple(s.shape[:s.sparse_dim()]))
    return Tensor._make(idx)


# ---------------------------------------------------------------------- primitives

class Construct(SparseOp):
    """values -> the COO tensor (indices, values, size); d/dvalues[k] reads the gradient at
    position indices[:, k] (each repeat of a position gets all of it)."""
    _name = "SparseCooTensorWithDimsAndTensorsBackward0"

    @staticmethod
    def forward(ctx, values, indices, size, coalesced):
        ctx._saved = (indices,)
        return new_coo(indices, values.detach(), size, coalesced)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved()
        return gather_at(grad, indices)


def construct(indices, values, size, coalesced=False):
    """The COO tensor with these components, differentiable in `values`."""
    return sparse_apply(Construct, (values,), indices, tuple(size), coalesced)


class Values(SparseOp):
    """s -> its values (an alias); the gradient is the sparse tensor of s's positions
    holding the values' gradient."""
    _name = "ValuesBackward0"

    @staticmethod
    def forward(ctx, s):
        ctx._saved = (s._ix, tuple(s.shape), s._coalesced)
        return Tensor._make(s._vals._data)

    @staticmethod
    def backward(ctx, grad):
        indices, size, coalesced = ctx.saved()
        return construct(indices, grad, size, coalesced)


class Coalesce(SparseOp):
    """Sort positions and sum repeats; the gradient passes unchanged (both stand for the
    same dense tensor)."""
    _name = "CoalesceBackward0"

    @staticmethod
    def forward(ctx, s):
        ctx._saved = ()
        idx, vals = coalesce_arrays(s._ix._data, s._vals._data, tuple(s.shape[:s.sparse_dim()]))
        return new_coo(Tensor._make(idx), Tensor._make(vals), s.shape, True)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Clone(SparseOp):
    _name = "CloneBackward0"

    @staticmethod
    def forward(ctx, s):
        ctx._saved = ()
        return new_coo(Tensor._make(s._ix._data.copy()), Tensor._make(s._vals._data.copy()),
                       s.shape, s._coalesced)

    @staticmethod
    def backward(ctx, grad):
        return grad


class ToDense(SparseOp):
    """dense[indices[:, k]] += values[k]; the gradient is the dense gradient read at s's
    (coalesced) positions, a sparse tensor."""
    _name = "ToDenseBackward0"

    @staticmethod
    def forward(ctx, s):
        ctx._saved = (s.detach(),)
        vals = s._vals._data
        xp = array_namespace(vals)
        out = xp.zeros(tuple(s.shape), dtype=vals.dtype)
        idx = s._ix._data
        if idx.shape[1]:
            ufunc_at(np.add, out, tuple(idx[d] for d in range(idx.shape[0])), vals)
        return Tensor._make(out)

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved()
        return mask_as(grad, s)


class ToSparse(SparseOp):
    """A dense tensor -> COO with `sparse_dim` sparse dims, keeping the positions whose
    dense block holds a nonzero; the gradient is the incoming one made dense."""
    _name = "ToSparseBackward0"

    @staticmethod
    def forward(ctx, d, sparse_dim):
        ctx._saved = ()
        a = d._data
        xp = array_namespace(a)
        if a.ndim == 0:   # a scalar: one element, or none when it is zero
            n = int(a != 0)
            return new_coo(Tensor._make(xp.zeros((0, n), dtype=np.int64)),
                           Tensor._make(a.reshape(1)[:n].copy()), (), True)
        nz = a != 0
        if a.ndim > sparse_dim:
            nz = nz.reshape(a.shape[:sparse_dim] + (-1,)).any(axis=-1)
        idx = xp.stack(xp.nonzero(nz)).astype(np.int64).reshape(sparse_dim, -1)
        vals = a[tuple(idx[k] for k in range(sparse_dim))] if sparse_dim else a[None].copy()
        return new_coo(Tensor._make(idx), Tensor._make(xp.ascontiguousarray(vals)), d.shape, True)

    @staticmethod
    def backward(ctx, grad):
        return grad.to_dense() if grad.is_sparse else grad


class Scale(SparseOp):
    """s * c for a number c (neg: c = -1; division: c = 1/divisor, computed as a division
    so that the values match PyTorch's): the positions stay, the gradient is grad * c."""

    @staticmethod
    def forward(ctx, s, c, divide, name):
        ctx._saved = (c, divide)
        ctx._name = name
        vals = s._vals / c if divide else s._vals * c
        return new_coo(s._ix, vals, s.shape, s._coalesced)

    @staticmethod
    def backward(ctx, grad):
        c, divide = ctx.saved()
        return (grad / c if divide else grad * c), None


class Add(SparseOp):
    """a + alpha * b of two COO tensors of one shape: the positions of both (coalesced
    when both were); each gradient is the incoming one (times alpha for b)."""
    _name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha, name):
        ctx._saved = (alpha,)
        ctx._name = name
        from .._ops.joining import cat
        vb = b._vals if alpha == 1 else b._vals * alpha
        dt = _dtype.result_dtype(a._vals, vb)
        idx = cat([a._ix, b._ix], 1)
        vals = cat([a._vals.to(dt), vb.to(dt)], 0)
        out = new_coo(idx, vals, a.shape, False)
        if a._coalesced and b._coalesced:
            i, v = coalesce_arrays(idx._data, vals._data, tuple(a.shape[:a.sparse_dim()]))
            out = new_coo(Tensor._make(i), Tensor._make(v), a.shape, True)
        return out

    @staticmethod
    def backward(ctx, grad):
        (alpha,) = ctx.saved()
        return grad, (grad if alpha == 1 else grad * alpha)


class MulDense(SparseOp):
    """s * d for a dense d of s's shape: s's positions, values times d there. The
    gradients: grad * d at s's positions (sparse) for s, grad * s (sparse) for d."""
    _name = "MulBackward0"

    @staticmethod
    def forward(ctx, s, d):
        ctx._saved = (s.detach(), d.detach() if not d._requires_grad else d)
        vals = s._vals * gather_at(d, s._ix)
        return new_coo(s._ix, vals, s.shape, s._coalesced)

    @staticmethod
    def backward(ctx, grad):
        s, d = ctx.saved()
        pattern = coalesced_indices(s)
        gs = construct(pattern, gather_at(grad, pattern) * gather_at(d, pattern), s.shape, True)
        gd = construct(s._ix, gather_at(grad, s._ix) * s._vals, s.shape, s._coalesced)
        return gs, gd


class Transpose(SparseOp):
    """Swap two sparse dims (rows of the indices); the result counts as uncoalesced, as
    in PyTorch. The gradient is the incoming one transposed back."""

    @staticmethod
    def forward(ctx, s, d0, d1, name):
        ctx._saved = (d0, d1)
        ctx._name = name
        idx = s._ix._data.copy()
        idx[[d0, d1]] = idx[[d1, d0]]
        size = list(s.shape)
        size[d0], size[d1] = size[d1], size[d0]
        return new_coo(Tensor._make(idx), s._vals, size, False)

    @staticmethod
    def backward(ctx, grad):
        d0, d1 = ctx.saved()
        return grad.transpose(d0, d1)


class ToCopy(SparseOp):
    """The tensor in another dtype and/or on another device; the gradient goes back."""
    _name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, s, values):
        ctx._saved = (s.dtype, s.device)
        return new_coo(s._ix.to(values.device), values, s.shape, s._coalesced)

    @staticmethod
    def backward(ctx, grad):
        dt, dev = ctx.saved()
        return grad.to(device=dev, dtype=dt), None


class SparseEmbedding(SparseOp):
    """weight[input] whose weight gradient is sparse (``embedding(..., sparse=True)``):
    one row per looked-up index (repeats kept, padding_idx's rows dropped)."""
    _name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq):
        ctx._saved = (idx, tuple(weight.shape), padding_idx, scale_grad_by_freq)
        return Tensor._make(weight._data[idx])

    @staticmethod
    def backward(ctx, grad):
        idx, shape, padding_idx, scale = ctx.saved()
        flat = idx.reshape(-1)
        g = grad.reshape(-1, shape[1])
        if scale:
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse "
                               "gradients")
        if padding_idx is not None:
            keep = (flat != padding_idx).nonzero()[0]
            flat = flat[keep]
            g = g.index_select(0, Tensor._make(keep))
        return construct(Tensor._make(flat.reshape(1, -1).astype(np.int64)), g, shape)


def sparse_embedding(input, weight, padding_idx, scale_grad_by_freq):
    idx = input._data.astype(np.int64, copy=False)
    return sparse_apply(SparseEmbedding, (weight,), idx, padding_idx, scale_grad_by_freq)


def accumulate_sparse(old, g, create_graph):
    """A leaf's .grad after gradient `g` arrives, one of them sparse (the engine's
    accumulation of sparse gradients): the first is kept as is (a fresh tensor), a sparse
    one adds to a sparse one by joining their positions, and a sparse and a dense one add
    up to a dense one (written into the dense .grad's memory when nothing records)."""
    if old is None:
        return g if create_graph else g.detach()
    if create_graph or old._requires_grad:
        # dense + sparse goes to the sparse operand's __radd__ whichever side it is on
        return g + old if old.is_sparse and not g.is_sparse else old + g
    if old.is_sparse and g.is_sparse:
        return (old + g).detach()
    if g.is_sparse:   # dense .grad += sparse g, in place
        idx = g._ix._data
        if idx.shape[1]:
            ufunc_at(np.add, old._data, tuple(idx[d] for d in range(idx.shape[0])),
                     g._vals._data.astype(old._data.dtype, copy=False))
        return old
    return (g + old).detach()
