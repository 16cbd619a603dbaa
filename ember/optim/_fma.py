"""The optimizers' exact in-place updates (axpy_, lerp_) and addcmul_'s fma_: array
kernels that live in the op layer (ember/_ops/fma_arrays.py), where the _foreach_* ops use
them too; imported here under their old home."""
from .._ops.fma_arrays import axpy_, fma_, lerp_  # noqa: F401

__all__ = ["axpy_", "fma_", "lerp_"]
