"""Recording sparse ops in the autograd graph, and the gradient helpers they share.

The dense dispatcher (ember/_ops/_base.py) runs forward on arrays and wraps one array
out; a sparse op's operands and result are sparse tensors (several component arrays
each), so sparse ops have this dispatcher of their own. It records into the same graph:
a SparseOp is a Node, its edges point at the operands' nodes as the dense ones do, and
the engine needs nothing else of it. Only a handful of sparse ops are primitives with a
backward of their own (ember/sparse/_coo.py); the rest are composed of these and of dense
ops on the values, so their gradients (and double backward) come for free.
"""
import numpy as np

from ..autograd import grad_mode
from ..autograd.graph import Node, accumulator_of, current, _seq, FREED_GRAPH, \
    rename as rename_node
from .._tensor import Tensor

_NO_EDGE = (None, 0)


class SparseOp(Node):
    """An op with sparse operands or result.

    forward(ctx, *inputs, *params) -> Tensor: computes from the operands' components
    (through their arrays, recording nothing); it keeps what backward needs in
    ``ctx._saved`` (a tuple), which the engine frees after backward.
    backward(ctx, grad) -> one gradient per input (None where not needed), written
    with ember ops.
    """

    def saved(self):
        s = self.__dict__.get("_saved")
        if s is None:
            raise RuntimeError(FREED_GRAPH)
        return s


def sparse_apply(cls, inputs, *params):
    """Run SparseOp `cls` on `inputs` (Tensors, None for an operand that takes no part
    in the graph) and record it when a gradient is needed."""
    ctx = object.__new__(cls)
    with grad_mode.no_grad():
        out = cls.forward(ctx, *inputs, *params)
    if not grad_mode.GRAD_ENABLED[0]:
        return out
    if not any(t is not None and current(t)._requires_grad for t in inputs):
        return out
    edges, meta = [], []
    for t in inputs:
        if t is None or not t._requires_grad:
            edges.append(_NO_EDGE)
            meta.append(None)
            continue
        fn = t.grad_fn
        edges.append((fn, t._output_nr) if fn is not None else
                     (t._accumulator or accumulator_of(t), 0))
        meta.append((t._data.shape, t._data.dtype))
    ctx.next_functions = tuple(edges)
    ctx._input_meta = meta
    ctx._seq = next(_seq)
    if out._data.dtype.kind in "fc":
        out._requires_grad = True
        out.grad_fn = ctx
    return out


def rename(t, name):
    """Give the node that produced composed op output `t` PyTorch's name for the op
    (``SqrtBackward0`` for a sqrt built from values and a constructor), as learners read
    it in reprs."""
    if t.grad_fn is not None:
        rename_node(t.grad_fn, name)
    return t


# ------------------------------------------------------------------ gradient helpers

def linear_positions(indices, shape):
    """Row-major linear positions (int64 array) of the columns of `indices` (an array,
    sparse_dim x n) in a tensor whose sparse dims are `shape`."""
    xp = _xp(indices)
    lin = xp.zeros(indices.shape[1], dtype=np.int64)
    for d, size in enumerate(shape):
        lin = lin * size + indices[d]
    return lin


def _xp(a):
    from .._backend import array_namespace
    return array_namespace(a)


def gather_at(t, indices):
    """The elements of tensor `t` (dense, or sparse COO) at the sparse positions given by
    the columns of `indices` (an int64 Tensor, sparse_dim x n): a dense Tensor of shape
    (n, *t.shape[sparse_dim:]), zero where a sparse `t` holds nothing. Differentiable in t."""
    from .._ops.creation import zeros
    sd, n = indices.shape
    if not t.is_sparse:
        if sd == 0:
            return t.unsqueeze(0).expand(n, *t.shape)
        return t[tuple(indices[d] for d in range(sd))]
    tc = t.coalesce()
    values = tc._diff_values()
    dense_shape = tuple(t.shape[sd:])
    if tc._nnz() == 0 or n == 0:
        return zeros((n,) + dense_shape, dtype=t.dtype, device=t.device)
    sizes = tuple(t.shape[:sd])
    have = linear_positions(tc._ix._data, sizes)
    want = linear_positions(indices._data, sizes)
    xp = _xp(have)
    pos = xp.searchsorted(have, want)
    pos = xp.minimum(pos, have.shape[0] - 1)
    found = have[pos] == want
    picked = values.index_select(0, Tensor._make(pos))
    mask = Tensor._make(found.reshape((n,) + (1,) * len(dense_shape)))
    return picked * mask.to(picked.dtype)


def mask_as(t, pattern):
    """Tensor `t` (dense or sparse) restricted to the coalesced positions of sparse
    `pattern`: a coalesced sparse tensor (``t.sparse_mask(pattern)``)."""
    from ._coo import construct, coalesced_indices
    idx = coalesced_indices(pattern)
    return construct(idx, gather_at(t, idx), pattern.shape, coalesced=True)
