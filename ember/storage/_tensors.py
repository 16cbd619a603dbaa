"""Tensors and storages: ``Tensor.untyped_storage()``/``storage()``/``storage_type()``,
``Tensor.set_`` (a tensor as a strided view of a storage's bytes), ``is_set_to``, the legacy
``Tensor(storage)`` and ``ember.from_file``."""
import builtins
import numbers

from .. import _dtype
from .._device import as_device
from .._tensor import Tensor
from ._legacy import _LEGACY_BY_DTYPE, CUDA_LEGACY_STORAGES, LEGACY_STORAGES
from .._backend.meta_backend import MetaArray as _MetaArray, empty as _meta_empty
from ._memory import _address, _bytes_of, _ndarray, _new_bytes, _xp, root_of
from ._typed import TypedStorage, _warn_typed_storage_removal
from ._untyped import UntypedStorage, _from_file


def is_storage(obj):
    """Whether `obj` is a storage (untyped or typed)."""
    return isinstance(obj, (UntypedStorage, TypedStorage))


def untyped_storage(self):
    """The bytes of the memory this tensor's array lives in, as an UntypedStorage."""
    data = self._data
    if type(data) is _MetaArray:
        return _meta_storage(root_of(data))
    raw = _bytes_of(data)
    root = root_of(raw)
    # memory ember did not allocate (a file mapping, a buffer) cannot be moved
    return UntypedStorage._wrap(raw, resizable=not isinstance(root, _ndarray) or
                                builtins.bool(root.flags.owndata))


def _meta_storage(element):
    """The storage of meta arrays over one-element buffer `element` (meta_backend's
    StorageElement): one object, made when first asked for, as all their tensors share
    one storage in PyTorch."""
    storage = getattr(element, "storage", None)
    if storage is None:
        nbytes = getattr(element, "storage_nbytes", element.itemsize)
        storage = UntypedStorage._wrap(_new_bytes(nbytes, "meta"), resizable=True)
        if hasattr(element, "storage_nbytes"):
            element.storage = storage
    return storage


def storage(self):
    """This tensor's storage as a TypedStorage of its dtype (deprecated in PyTorch)."""
    _warn_typed_storage_removal(stacklevel=2)
    return TypedStorage._new_wrapped_storage(untyped_storage(self), self.dtype)


def _typed_storage(self):
    """This tensor's storage as a TypedStorage, without the deprecation warning (PyTorch's
    internal form of Tensor.storage())."""
    return TypedStorage._new_wrapped_storage(untyped_storage(self), self.dtype)


def storage_type(self):
    """The legacy storage class of this tensor's dtype (ember.FloatStorage ...), or None."""
    table = CUDA_LEGACY_STORAGES if self.is_cuda else LEGACY_STORAGES
    legacy = _LEGACY_BY_DTYPE.get(self.dtype)
    return None if legacy is None else table[legacy.__name__]


def _contiguous_strides(size):
    strides, step = [], 1
    for n in reversed(size):
        strides.append(step)
        step *= builtins.max(n, 1)
    return tuple(reversed(strides))


def _int_tuple(values, what):
    if isinstance(values, numbers.Integral):
        values = (values,)
    try:
        out = tuple(builtins.int(v) for v in values)
    except TypeError:
        raise TypeError(f"set_(): argument '{what}' must be tuple of ints, not "
                        f"{type(values).__name__}") from None
    return out


def view_of_storage(untyped, dtype, offset, size, stride, grow=False):
    """An array of `dtype` over `untyped`'s bytes: `size` elements at element offset
    `offset` with element strides `stride` (PyTorch's setStorage checks); with `grow`, a
    storage too small for them grows to fit (as PyTorch's set_ does)."""
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{builtins.min(size)}: {list(size)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, "
                           f"got strides: {list(stride)}")
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(stride)} strides "
                           f"for {len(size)} dimensions")
    item = dtype.itemsize
    numel = 1
    for n in size:
        numel *= n
    extent = 0 if numel == 0 else offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    nbytes = len(untyped)
    if grow and extent * item > nbytes:
        untyped.resize_(extent * item)
        nbytes = len(untyped)
    if extent * item > nbytes:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {item} requiring a storage size of "
                           f"{extent * item} are out of bounds for storage of size {nbytes}")
    raw = untyped._bytes
    if type(raw) is _MetaArray:   # no memory to view: a meta array of the shape asked for
        return _meta_empty(size, dtype.np)
    typed = raw[:nbytes - nbytes % item].view(dtype.np)
    # (an empty slice of NumPy's starts at the array's start: one element keeps the offset)
    base = typed[offset:] if numel else typed[offset:offset + 1]
    if numel and tuple(stride) == _contiguous_strides(size):
        return base[:numel].reshape(size)   # a plain view keeps its .base chain on CuPy too
    from .._backend import strided_view
    return strided_view(base, tuple(size), tuple(s * item for s in stride))


def set_(self, source=None, storage_offset=0, size=None, stride=None):
    """Make this tensor view `source`'s memory: another tensor (its storage, offset, size
    and strides), a storage (as `size`/`stride` elements of this tensor's dtype from
    element `storage_offset`; all of it, 1-D, by default), or nothing (empty)."""
    from ..autograd import grad_mode
    if self.grad_fn is None and self._requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    dt = self.dtype
    if source is None:
        arr = _xp(self._data).empty((0,), dtype=dt.np)
    elif isinstance(source, Tensor):
        if source.dtype is not dt:
            from .._ops._util import c_type_name
            raise RuntimeError(f"Could not set tensor of type {c_type_name(source.dtype)} to a "
                               f"tensor of type {c_type_name(dt)}")
        _check_same_device(self, source.device)
        arr = source._data
    elif isinstance(source, (UntypedStorage, TypedStorage)):
        if isinstance(source, TypedStorage) and source.dtype is not dt:
            from .._ops._util import c_type_name, dtype_name
            raise RuntimeError(f"Expected a Storage of type {c_type_name(dt)} or an "
                               f"UntypedStorage, but got type {dtype_name(source.dtype)} for "
                               f"argument 1 'storage'")
        _check_same_device(self, source.device)
        untyped = source.untyped()
        if size is None:
            size = ((len(untyped) // dt.itemsize) - builtins.int(storage_offset),)
        size = _int_tuple(size, "size")
        stride = _contiguous_strides(size) if stride is None else _int_tuple(stride, "stride")
        arr = view_of_storage(untyped, dt, builtins.int(storage_offset), size, stride,
                              grow=True)
        if type(arr) is _MetaArray:   # the new meta array's storage is this one
            root_of(arr).storage = untyped
    else:
        raise TypeError(f"set_() received an invalid combination of arguments - got "
                        f"({type(source).__name__}), but expected one of: (), "
                        f"(Storage source), (Storage source, int storage_offset, tuple of ints "
                        f"size, tuple of ints stride), (Tensor source)")
    self._data = arr
    # no longer a view of what it viewed before
    self.__dict__.pop("_base", None)
    self.__dict__.pop("_view_fn", None)
    self._bump_version()
    return self


def _check_same_device(t, dev):
    if t.device != dev:
        raise RuntimeError(f'Attempted to set the storage of a tensor on device "{t.device}" '
                           f'to a storage on different device "{dev}".  This is no longer '
                           f'allowed; the devices must match.')


def is_set_to(self, tensor):
    """Whether both tensors view the same memory with one offset, size and strides."""
    a, b = self._data, tensor._data
    if a.dtype != b.dtype or a.shape != b.shape or a.strides != b.strides or \
            type(a) is not type(b):
        return False
    if _address(a) != _address(b):
        return False
    return _address(_bytes_of(a)) == _address(_bytes_of(b))


def tensor_from_storage(source, dtype, device=None):
    """The legacy ``Tensor(storage)`` / ``FloatTensor(storage)``: a 1-D tensor of `dtype`
    over the whole storage (sharing its memory)."""
    if isinstance(source, TypedStorage) and source.dtype is not dtype:
        from .._ops._util import dtype_name
        raise RuntimeError(f"Expected a Storage of type {dtype_name(dtype)} or an "
                           f"UntypedStorage, but got type {dtype_name(source.dtype)} for "
                           f"argument 1 'storage'")
    untyped = source.untyped()
    n = len(untyped) // dtype.itemsize
    return Tensor._make(view_of_storage(untyped, dtype, 0, (n,), (1,)))


def from_file(filename, shared=None, size=0, *, dtype=None, layout=None, device=None,
              pin_memory=False, requires_grad=False):
    """A 1-D tensor of `size` elements of `dtype` read from `filename` (``torch.from_file``);
    with ``shared=True`` the file is mapped and writes to the tensor reach the file."""
    dtype = dtype or _dtype.get_default_dtype()
    untyped = _from_file(filename, builtins.bool(shared), size, dtype.itemsize)
    t = Tensor._make(view_of_storage(untyped, dtype, 0, (builtins.int(size),), (1,)))
    if device is not None and as_device(device).type != "cpu":
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


Tensor.untyped_storage = untyped_storage
Tensor.storage = storage
Tensor._typed_storage = _typed_storage
Tensor.storage_type = storage_type
Tensor.set_ = set_
Tensor.is_set_to = is_set_to
