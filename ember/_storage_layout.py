"""Where a tensor's values lie in its storage, and the storage's bytes as a file holds them.

A checkpoint stores each buffer once and each tensor as a view of it (offset and strides
in elements), so tensors that shared memory when saved share it again when loaded. These
helpers find a host array's owning buffer and its offset in it, rebuild a strided view of a
buffer read back, and give a buffer's bytes in the little-endian order every format writes.
"""
import numpy as np


def _root_array(arr):
    """The ndarray that owns `arr`'s memory (following .base), or arr itself."""
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    return root


def _as_strided(arr, shape, strides):
    """NumPy's as_strided over host array `arr` (a memmap too), for every dtype: as_strided
    rebuilds the array from its type string, which NumPy cannot read back for ml_dtypes'
    float8_e5m2 ('<f1'), so that one goes through uint8."""
    if arr.dtype.kind == "f" and arr.dtype.itemsize == 1:
        return np.lib.stride_tricks.as_strided(arr.view(np.uint8), shape, strides).view(arr.dtype)
    return np.lib.stride_tricks.as_strided(arr, shape, strides)


def memory_order(arr):
    """`arr`'s elements in the order they lie in memory, as a C-contiguous view of the same
    memory, when they fill one dense block (a channels_last or transposed array that owns
    its memory, as an optimizer's zeros_like state of a channels_last weight); else None.
    A tensor is then saved over that block with its own strides, as PyTorch saves it."""
    if arr.ndim == 0 or any(s <= 0 for s in arr.strides):
        return None
    order = sorted(range(arr.ndim), key=lambda d: (-arr.strides[d], -arr.shape[d]))
    dense = arr.transpose(order)
    return dense if dense.flags.c_contiguous else None


def saved_buffer(arr):
    """(buffer, view): the C-contiguous buffer a file stores for host array `arr` (its
    owning array, or its memory in memory order), and `arr` as a view of that buffer
    (`arr` itself, or a row-major copy that is the buffer when `arr` lies in neither)."""
    root = _root_array(arr)
    if root.dtype == arr.dtype and root.flags.c_contiguous:
        return root, arr
    dense = memory_order(arr)
    if dense is not None:
        return dense, arr
    copy = np.ascontiguousarray(arr)
    return copy, copy


def _offset_elems(arr, root):
    start = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return start // arr.itemsize


def _le(arr):
    """The little-endian bytes of `arr` as a flat uint8 array (a view when `arr` is
    already contiguous and little-endian: no copy)."""
    a = np.ascontiguousarray(arr)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return a.reshape(-1).view(np.uint8)
