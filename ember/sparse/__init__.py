"""``torch.sparse``: sparse tensors and the ops on them.

COO tensors (``ember.sparse_coo_tensor``, ``Tensor.to_sparse()``) support construction,
conversion, coalescing, elementwise ops that keep zeros zero, sums, softmax, products
with dense matrices and autograd through all of these. Compressed layouts (CSR, CSC,
BSR, BSC) support construction, conversion, to_dense, repr, and CSR @ dense. Every other
op given a sparse tensor raises NotImplementedError naming the op and the layout.
"""
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
    raise NotImplementedError("torch.sparse.spdiags is not supported by ember")


def _attach():
    """Attach the sparse methods (and the dense tensor's to_sparse family), then make
    every other Tensor method refuse sparse tensors."""
    from .._sparse_tensor import block_dense_methods
    _creation.attach()
    _math.attach()
    _compressed.attach()
    block_dense_methods()
