"""Storages (``torch.storage``): the memory under tensors, as bytes or as typed elements.

An ember tensor wraps one array, and that array is a view of the memory of some *root*
array: the array at the end of its ``.base`` chain, which owns (or wraps) the buffer.
That buffer is the tensor's storage. ``Tensor.untyped_storage()`` returns it as an
:class:`UntypedStorage`: a flat ``uint8`` view of the whole buffer (not only the tensor's
elements), so two views of one tensor have storages with one ``data_ptr()``, and a copy
has another::

    x = ember.arange(6.)
    x[2:].untyped_storage().data_ptr() == x.untyped_storage().data_ptr()   # True
    x.clone().untyped_storage().data_ptr() == x.untyped_storage().data_ptr()   # False

``Tensor.set_(storage, offset, size, stride)`` makes a tensor a strided view of a storage's
bytes read as the tensor's dtype, so writes through either are seen by the other.
:class:`TypedStorage` (``Tensor.storage()``, ``ember.FloatStorage`` ...) is an
UntypedStorage read as elements of one dtype; PyTorch deprecates it and warns once.

``resize_`` of a tensor's storage (and ``set_`` onto a storage too small, which grows it)
makes new memory and lays every tensor on the old memory over it (see _resize.py); a
tensor the storage no longer covers is hollow until it grows back. Meta tensors have meta
storages (a size, no memory), one per array made and shared by its views.

What ember cannot do, as a tensor holds its array directly rather than a storage object:
arrays held outside tensors (saved for backward) keep the memory a resize left;
``share_memory_()`` on a storage moves that storage object's bytes, while tensors made
before keep the old memory (as ``Tensor.share_memory_`` does for views taken before it);
a CUDA tensor that is a strided view made by CuPy's as_strided (a
non-contiguous ``set_``) has no findable storage (CuPy keeps no link to the array it views):
its ``untyped_storage()`` raises NotImplementedError and its ``storage_offset()`` reads 0;
a hollow tensor reports zero strides and storage offset 0 (PyTorch keeps its layout).

The code lives in private modules, one concern each: _memory (a tensor's root array and
its bytes), _resize (resizing the memory tensors view), _untyped (UntypedStorage,
storages from files), _typed (TypedStorage, its deprecation warning, storages from
buffers), _legacy (FloatStorage ..., dtype conversions), _tensors (the Tensor methods
over storages, set_, from_file).
"""
from ._untyped import UntypedStorage, _StorageBase, _rebuild_untyped
from ._typed import (TypedStorage, _get_always_warn_typed_storage_removal, _rebuild_typed,
                     _reset_warn_typed_storage_removal, _set_always_warn_typed_storage_removal,
                     _warn_typed_storage_removal)
from ._legacy import CUDA_LEGACY_STORAGES, LEGACY_STORAGES, _LegacyStorage, _LegacyStorageMeta
from ._tensors import (from_file, is_set_to, is_storage, set_, storage, storage_type,
                       tensor_from_storage, untyped_storage, view_of_storage)

__all__ = ["UntypedStorage", "TypedStorage"]

# named as before the split: storages print their class as ember.storage.<name> (as
# PyTorch's print torch.storage.<name>), and pickles name the classes and rebuild functions
for _obj in (UntypedStorage, _StorageBase, _rebuild_untyped, TypedStorage,
             _get_always_warn_typed_storage_removal, _rebuild_typed,
             _reset_warn_typed_storage_removal, _set_always_warn_typed_storage_removal,
             _warn_typed_storage_removal, _LegacyStorage, _LegacyStorageMeta, from_file,
             is_set_to, is_storage, set_, storage, storage_type, tensor_from_storage,
             untyped_storage, view_of_storage):
    _obj.__module__ = __name__
del _obj

# the legacy names live in this module too, as torch.storage has them
globals().update(LEGACY_STORAGES)
