"""``torch.sparse``: sparse tensors and the ops on them.

COO tensors (``ember.sparse_coo_tensor``, ``Tensor.to_sparse()``) support construction,
conversion, coalescing, elementwise ops that keep zeros zero, sums, softmax, products
with dense matrices and autograd through all of these. Compressed layouts (CSR, CSC,
BSR, BSC) support construction, conversion, to_dense, repr, and CSR @ dense. Every other
op given a sparse tensor raises NotImplementedError naming the op and the layout.
"""
import numpy as np

from ._coo import SparseCooTensor, sparse_embedding  # noqa: F401
from ._creation import sparse_coo_tensor, _sparse_coo_tensor_unsafe, LEGACY_TYPES  # noqa: F401
from ._math import mm, addmm, smm, hspmm, softmax, log_softmax, sparse_sum as sum  # noqa: F401
from ._compressed import (sparse_csr_tensor, sparse_csc_tensor, sparse_bsr_tensor,  # noqa: F401
                          sparse_bsc_tensor, sparse_compressed_tensor, sampled_addmm,
                          SparseCompressedTensor)
from . import _creation, _math, _compressed

__all__ = ["mm", "addmm", "sum", "softmax", "log_softmax", "sampled_addmm", "as_sparse_gradcheck",
           "check_sparse_tensor_invariants", "spdiags"]


# torch.sparse.FloatTensor(indices, values, size) ... (deprecated constructors)
globals().update(LEGACY_TYPES)


class check_sparse_tensor_invariants:
    """Context manager / decorator turning on PyTorch's invariant checks of sparse
    constructors. ember checks the indices of every sparse tensor it builds, so this only
    records the setting."""
    _enabled = False

    def __init__(self, enable=True):
        self.state = enable
        self.saved_state = None

    @staticmethod
    def is_enabled():
        return check_sparse_tensor_invariants._enabled

    @staticmethod
    def enable():
        check_sparse_tensor_invariants._enabled = True

    @staticmethod
    def disable():
        check_sparse_tensor_invariants._enabled = False

    def __enter__(self):
        self.saved_state = check_sparse_tensor_invariants._enabled
        check_sparse_tensor_invariants._enabled = self.state
        return self

    def __exit__(self, *exc):
        check_sparse_tensor_invariants._enabled = self.saved_state

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapped


def as_sparse_gradcheck(gradcheck):
    raise NotImplementedError("torch.sparse.as_sparse_gradcheck is not supported by ember")


def spdiags(diagonals, offsets, shape, layout=None):
    """A sparse 2-D tensor of `shape` holding row i of `diagonals` along diagonal
    offsets[i] (0 the main one, > 0 above, < 0 below): diagonals[i, j] goes to
    (j - offsets[i], j), the row of `diagonals` indexed by the output's column, for the
    columns that fall inside the matrix. COO (uncoalesced, diagonal by diagonal), or
    CSR/CSC with ``layout``. Not differentiable (PyTorch has no derivative for it)."""
    import ember
    from .._tensor import Tensor
    if not isinstance(offsets, Tensor):
        raise TypeError(f"_spdiags(): argument 'offsets' (position 2) must be Tensor, not "
                        f"{type(offsets).__name__}")
    if len(shape) != 2:
        raise RuntimeError("Output shape must be 2d")
    if offsets.dim() > 1:
        raise RuntimeError("Offsets must be scalar or vector")
    if offsets.dtype is not ember.int64:
        raise RuntimeError(f"Offset Tensor must have dtype Long but got "
                           f"{offsets.dtype._legacy.replace('Tensor', '')}")
    layout = layout or ember.sparse_coo
    if layout not in (ember.sparse_coo, ember.sparse_csr, ember.sparse_csc):
        names = {"sparse_bsr": "SparseBsr", "sparse_bsc": "SparseBsc", "strided": "Strided"}
        raise RuntimeError(f"Only output layouts (Sparse, SparseCsc, SparseCsr) are supported, "
                           f"got {names.get(str(layout).split('.')[-1], layout)}")
    offs = [int(o) for o in offsets.reshape(-1).tolist()]
    diags = diagonals.reshape(1, -1) if diagonals.dim() == 1 else diagonals
    if diags.shape[0] != len(offs):
        raise RuntimeError(f"Number of diagonals ({diags.shape[0]}) does not match the number "
                           f"of offsets ({len(offs)})")
    if len(set(offs)) != len(offs):
        raise RuntimeError("Offset tensor contains duplicate values")
    rows, cols = int(shape[0]), int(shape[1])
    which, columns = [], []
    for i, k in enumerate(offs):
        stop = min(cols, rows + k, diags.shape[1])
        j = np.arange(max(k, 0), max(stop, max(k, 0)), dtype=np.int64)
        which.append(np.full(j.shape, i, dtype=np.int64))
        columns.append(j)
    which, columns = np.concatenate(which), np.concatenate(columns)
    offset_of = np.asarray(offs, dtype=np.int64)[which]
    device = diagonals.device
    indices = ember.tensor(np.stack([columns - offset_of, columns]), device=device)
    values = diags.detach()[ember.tensor(which, device=device),
                            ember.tensor(columns, device=device)]
    out = ember.sparse_coo_tensor(indices, values, (rows, cols))
    if layout is ember.sparse_csr:
        return out.to_sparse_csr()
    if layout is ember.sparse_csc:
        return out.to_sparse_csc()
    return out


def _attach():
    """Attach the sparse methods (and the dense tensor's to_sparse family), then make
    every other Tensor method refuse sparse tensors."""
    from .._sparse_tensor import block_dense_methods
    _creation.attach()
    _math.attach()
    _compressed.attach()
    from . import _extra   # Tensor.smm, Tensor.sspaddmm
    _extra.attach()
    block_dense_methods()
