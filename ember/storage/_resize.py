"""Resizing the storage under tensors: ``UntypedStorage.resize_`` of a tensor's storage
(FSDP frees a parameter's memory with ``p.untyped_storage().resize_(0)`` and brings it
back with ``resize_(nbytes)`` before copying the values in) and ``Tensor.resize_`` growing
past its storage.

In PyTorch every tensor on a storage holds the one storage object, so all of them follow
a resize. An ember tensor holds its array directly, and a NumPy or CuPy array cannot
change the memory it views; so a resize makes the new bytes and then finds the tensors
and storage objects on the old ones (a walk over the objects the garbage collector
tracks, skipped when nothing but the storage refers to its bytes) and lays each over
the new bytes at its old byte offset and strides. A tensor that no longer fits (the
storage shrank below it) becomes *hollow* (see _memory.py): PyTorch's would point at
freed memory, and reading it is undefined there (it can crash); ember's reads zeros and
refuses writes, and the tensor is laid over the memory again when the storage grows back.

Arrays held elsewhere than in a tensor (what autograd saved for backward, a NumPy array
the program keeps) still view the old bytes.
"""
import builtins
import gc
import sys
import weakref

import numpy as np

from .._backend import strided_view
from .._tensor import Tensor
from ._memory import HOLLOW, Hollow, _address, _new_bytes, _xp, hollow_of, root_of
from ._untyped import UntypedStorage


def resize_bytes(storage, nbytes):
    """Give `storage` (an UntypedStorage) `nbytes` bytes, keeping the first min(old, new)
    of them; the tensors and storage objects on the same memory follow it."""
    old = storage._bytes
    new = _new_bytes(nbytes, storage.device)
    keep = builtins.min(nbytes, old.shape[0])
    new[:keep] = old[:keep]
    old_root = _storage_root(old)
    if _maybe_viewed(old_root, old):
        _follow(old_root, old, new)
    storage._bytes = new


def _storage_root(byte_array):
    """What identifies a storage: the root array of its bytes."""
    return root_of(byte_array)


def _maybe_viewed(root, storage_bytes):
    """Whether anything but the resizing storage may refer to `root`. A storage nobody
    shares has only these references to it: the caller's `old_root`, our `root`,
    getrefcount's argument, and either (its bytes are the root) the storage's attribute,
    the caller's `old` and our `storage_bytes`, or (its bytes view the root) that view.
    (Counted for NumPy arrays only, whose views hold their root; other arrays: maybe.)"""
    if type(root) is not np.ndarray:
        return True
    return sys.getrefcount(root) > (6 if storage_bytes is root else 4)


def _follow(old_root, old_bytes, new_bytes):
    """Lay every tensor and storage object on `old_root` over `new_bytes` instead."""
    base = _address(old_bytes)
    whole = old_bytes.shape[0]
    for obj in gc.get_objects():
        cls = type(obj)
        if issubclass(cls, Tensor):
            _move_tensor(obj, old_root, base, new_bytes)
        elif issubclass(cls, UntypedStorage):   # (a TypedStorage reads its untyped one's)
            b = obj._bytes
            # (a slice of the storage keeps the old bytes, as it cannot grow)
            if b is not new_bytes and _storage_root(b) is old_root and \
                    _address(b) == base and b.shape[0] == whole:
                obj._bytes = new_bytes


_DATA_SLOT = Tensor.__dict__["_data"]


def _move_tensor(t, old_root, base, new_bytes):
    try:   # (the slot itself: a subclass may wrap _data in a property)
        arr = _DATA_SLOT.__get__(t, Tensor)
    except AttributeError:
        return
    if not hasattr(arr, "strides"):
        return
    root = root_of(arr)
    hollow = hollow_of(root)
    if hollow is not None:
        if _storage_root(hollow.bytes) is not old_root:
            return
        offset, strides = hollow.offset, hollow.strides
    elif root is old_root:
        offset, strides = _address(arr) - base, arr.strides
    else:
        return
    _DATA_SLOT.__set__(t, lay_over(new_bytes, arr.dtype, arr.shape, offset, strides))


def lay_over(byte_array, dtype, shape, offset, strides):
    """An array of `dtype` and `shape` over flat uint8 `byte_array` from byte `offset` with
    byte `strides`; a hollow one (registered in HOLLOW) when it does not fit."""
    item = dtype.itemsize
    numel = 1
    for n in shape:
        numel *= n
    low = offset + builtins.sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
    high = offset + builtins.sum((n - 1) * s for n, s in zip(shape, strides) if s > 0) + item
    if numel == 0:
        return byte_array[:0].view(dtype).reshape(shape)
    if low < 0 or high > byte_array.shape[0]:
        return _hollow(byte_array, dtype, shape, offset, strides)
    typed = byte_array[low:high].view(dtype)
    if tuple(strides) == _row_major(shape, item):   # a plain view keeps CuPy's .base chain
        return typed.reshape(shape)
    first = typed[(offset - low) // item:]
    return strided_view(first, tuple(shape), tuple(strides))


def _row_major(shape, item):
    strides, step = [], item
    for n in reversed(shape):
        strides.append(step)
        step *= builtins.max(n, 1)
    return tuple(reversed(strides))


def _hollow(byte_array, dtype, shape, offset, strides):
    xp = _xp(byte_array)
    element = xp.zeros(1, dtype)
    if xp is np:
        arr = np.lib.stride_tricks.as_strided(element, shape, (0,) * len(shape),
                                              writeable=False)
    else:
        arr = xp.broadcast_to(element, shape)
    key = _address(element)
    HOLLOW[key] = Hollow(byte_array, offset, tuple(strides))
    weakref.finalize(arr, HOLLOW.pop, key, None)
    return arr
