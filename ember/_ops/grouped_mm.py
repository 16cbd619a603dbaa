"""grouped_mm: several matrix products in one call (mixture-of-experts layers), composed
of matmul on slices, so its gradients come from matmul's.

Shapes (G groups; `offs` int32 (G,) holds the cumulative ends of the groups along the
ragged dim, which must be given exactly when one operand is 2-D):

    (G, M, K) x (G, K, N) -> (G, M, N)          out[g] = a[g] @ b[g]
    (sum M, K) x (G, K, N) -> (sum M, N)        rows offs[g-1]:offs[g] of a times b[g]
    (G, M, K) x (K, sum N) -> (M, sum N)        columns offs[g-1]:offs[g] of b times a[g]
    (M, sum K) x (sum K, N) -> (G, M, N)        the K slices of group g multiplied

Rows (columns) after the last offset are zeros (PyTorch leaves them unwritten).
"""
import enum

import numpy as np

from .. import _dtype
from ._util import dtype_name

__all__ = []

_ALLOWED = ("float32", "bfloat16", "float16")
_C_NAMES = {"float32": "float", "bfloat16": "c10::BFloat16", "float16": "c10::Half"}


def _check_matrix(t, name):
    if t.dim() not in (2, 3):
        raise RuntimeError(f"{name} has to be 2 or 3d")
    if t.dtype.name not in _ALLOWED:
        raise RuntimeError(f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got "
                           f"{dtype_name(t.dtype)}")
    # the kernels read rows (or columns) at 16-byte aligned strides, as PyTorch's does
    st = t.stride()[-2:]
    lead = st[0] if st[1] == 1 else st[1]
    if (lead * t.element_size()) % 16:
        raise RuntimeError("strides should be multiple of 16 bytes")


def grouped_mm(mat_a, mat_b, *, offs=None, bias=None, out_dtype=None):
    from .joining import cat, stack
    from .creation import zeros
    _check_matrix(mat_a, "mat_a")
    _check_matrix(mat_b, "mat_b")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if out_dtype is not None and out_dtype is not mat_a.dtype:
        raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype")
    if mat_b.dtype is not mat_a.dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {_C_NAMES[mat_b.dtype.name]}, "
                           f"but got {_C_NAMES[mat_a.dtype.name]} instead")
    ragged = mat_a.dim() == 2 or mat_b.dim() == 2
    if ragged != (offs is not None):
        raise RuntimeError("Have to provide offsets if there is a 2d matrix, or no offset if "
                           "both matrices are 3d")
    if mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    if not ragged:
        if mat_a.shape[0] != mat_b.shape[0]:
            raise RuntimeError("batched dimension has to match")
        return mat_a.matmul(mat_b)
    if offs.dtype is not _dtype.int32:
        raise RuntimeError("Offsets have to be int32")
    ends = [int(v) for v in offs._cpu_array().astype(np.int64)]
    starts = [0] + ends[:-1]
    groups = len(ends)
    for t in (mat_a, mat_b):
        if t.dim() == 3 and t.shape[0] != groups:
            raise RuntimeError("matrix batch sizes have to match")
    if mat_a.dim() == 2 and mat_b.dim() == 3:      # ragged rows of a
        parts = [mat_a[s:e].matmul(mat_b[g]) for g, (s, e) in enumerate(zip(starts, ends))]
        rest = mat_a.shape[0] - ends[-1]
        if rest > 0:
            parts.append(zeros(rest, mat_b.shape[-1], dtype=mat_a.dtype, device=mat_a.device))
        return cat(parts, 0)
    if mat_a.dim() == 3 and mat_b.dim() == 2:      # ragged columns of b
        parts = [mat_a[g].matmul(mat_b[:, s:e]) for g, (s, e) in enumerate(zip(starts, ends))]
        rest = mat_b.shape[1] - ends[-1]
        if rest > 0:
            parts.append(zeros(mat_a.shape[1], rest, dtype=mat_a.dtype, device=mat_a.device))
        return cat(parts, 1)
    # both 2-D: ragged contraction dim
    return stack([mat_a[:, s:e].matmul(mat_b[s:e]) for s, e in zip(starts, ends)], 0)


class _ScalingType(enum.IntEnum):
    """How scaled_mm's scales apply to an operand (one per tensor, row or block)."""
    TensorWise = 0
    RowWise = 1
    BlockWise1x16 = 2
    BlockWise1x32 = 3
    BlockWise1x128 = 4
    BlockWise128x128 = 5


class _SwizzleType(enum.IntEnum):
    """The memory layout of block scales."""
    NO_SWIZZLE = 0
    SWIZZLE_32_4_4 = 1


def scaled_mm(*args, **kwargs):
    raise NotImplementedError("nn.functional.scaled_mm (float8 matrix products with scales) is "
                              "not implemented in ember")


def scaled_grouped_mm(*args, **kwargs):
    # PyTorch has no CPU kernel for it either (NotImplementedError there too)
    raise NotImplementedError("nn.functional.scaled_grouped_mm (float8 grouped matrix "
                              "products) is not implemented in ember")
