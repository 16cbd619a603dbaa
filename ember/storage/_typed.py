"""``TypedStorage``: an UntypedStorage read as elements of one dtype, which PyTorch
deprecates (its warning, once per process); typed storages copied from buffers."""
import builtins
import numbers
import warnings

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._memory import _bytes_of
from ._untyped import UntypedStorage, _StorageBase, _from_file, _typename


_WARN_STATE = {"warned": False, "always": False}


def _warn_typed_storage_removal(stacklevel=2):
    """PyTorch's deprecation warning for TypedStorage: once per process (or every time
    after ``_set_always_warn_typed_storage_removal(True)``)."""
    if _WARN_STATE["always"] or not _WARN_STATE["warned"]:
        warnings.warn(
            "TypedStorage is deprecated. It will be removed in the future and UntypedStorage "
            "will be the only storage class. This should only matter to you if you are using "
            "storages directly.  To access UntypedStorage directly, use "
            "tensor.untyped_storage() instead of tensor.storage()", UserWarning,
            stacklevel=stacklevel + 1)
        _WARN_STATE["warned"] = True


def _reset_warn_typed_storage_removal():
    _WARN_STATE["warned"] = False


def _set_always_warn_typed_storage_removal(always_warn):
    _WARN_STATE["always"] = builtins.bool(always_warn)


def _get_always_warn_typed_storage_removal():
    return _WARN_STATE["always"]


class TypedStorage:
    """An UntypedStorage read as elements of one dtype (``torch.TypedStorage``, deprecated
    in PyTorch, which warns once). ``TypedStorage(n, dtype=)``, ``TypedStorage(seq, dtype=)``,
    ``TypedStorage(wrap_storage=untyped, dtype=)``; the legacy classes
    (``ember.FloatStorage(3)``, ``ember.LongStorage([1, 2])``) make TypedStorages of their
    dtype. Indexing reads and writes Python numbers."""
    _is_ember_storage = True
    is_sparse = False

    def __new__(cls, *args, **kwargs):
        return object.__new__(TypedStorage)

    def __init__(self, *args, device=None, dtype=None, wrap_storage=None, _internal=False):
        if not _internal:
            _warn_typed_storage_removal(stacklevel=2)
        dtype = dtype or _dtype.get_default_dtype()
        if wrap_storage is not None:
            if args:
                raise RuntimeError("No positional arguments should be given when using "
                                   "`wrap_storage`")
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError(f"expected a torch.UntypedStorage for argument 'wrap_storage', "
                                f"got {type(wrap_storage).__name__}")
            self._init(wrap_storage, dtype)
            return
        item = _storage_itemsize(dtype)
        if not args:
            self._init(UntypedStorage(device=device), dtype)
        elif len(args) == 1 and isinstance(args[0], numbers.Integral) and \
                not isinstance(args[0], builtins.bool):
            self._init(UntypedStorage(builtins.int(args[0]) * item, device=device), dtype)
        elif len(args) == 1 and isinstance(args[0], (list, tuple, range)):
            from .._ops.creation import tensor
            values = tensor(args[0], dtype=dtype, device=device).reshape(-1)
            self._init(UntypedStorage._wrap(_bytes_of(values._data), resizable=True), dtype)
        else:
            raise TypeError(
                f"{_typename(self)}.__new__ received an invalid combination of arguments. "
                f"Expected one of: no arguments, (int size), (Sequence data), "
                f"(*, UntypedStorage wrap_storage); got {type(args[0]).__name__}")

    def _init(self, untyped, dtype):
        self._untyped_storage = untyped
        self.dtype = dtype

    @classmethod
    def _new_wrapped_storage(cls, untyped, dtype):
        s = object.__new__(TypedStorage)
        s._init(untyped, dtype)
        return s

    @property
    def _bytes(self):
        return self._untyped_storage._bytes

    # ------------------------------------------------------------------ metadata
    @property
    def device(self):
        return self._untyped_storage.device

    @property
    def filename(self):
        return self._untyped_storage.filename

    def size(self):
        return len(self._untyped_storage) // self.dtype.itemsize

    def __len__(self):
        return self.size()

    def nbytes(self):
        return self.size() * self.dtype.itemsize

    def element_size(self):
        return self.dtype.itemsize

    def untyped(self):
        return self._untyped_storage

    def _info(self):
        return (f"[{_typename(self)}(dtype={self.dtype}, device={self.device}) of size "
                f"{len(self)}]")

    def pickle_storage_type(self):
        return (self.dtype._legacy or self.dtype.name).replace("Tensor", "Storage")

    def type(self, dtype=None, non_blocking=False):
        from ._legacy import _LEGACY_BY_DTYPE, _legacy_class_of   # (they subclass this one)
        if dtype is None:
            legacy = _LEGACY_BY_DTYPE.get(self.dtype)
            if legacy is None:
                return "torch.storage.TypedStorage"
            return ("torch.cuda." if self.is_cuda else "torch.") + legacy.__name__
        return _legacy_class_of(dtype)(wrap_storage=self._untyped_storage)

    # ------------------------------------------------------------------ elements
    def _elements(self):
        """The storage's bytes read as a 1-D array of this dtype (a view)."""
        n = self.size() * self.dtype.itemsize
        return self._bytes[:n].view(self.dtype.np)

    def _as_tensor(self):
        return Tensor._make(self._elements())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        i = _StorageBase._check_index(self, idx, self.size(), False)
        return self._as_tensor()[i].item()

    def __setitem__(self, idx, value):
        if isinstance(idx, slice):
            self._as_tensor()[idx] = value
            return
        self._as_tensor()[_StorageBase._check_index(self, idx, self.size(), False)] = value

    def tolist(self):
        return self._as_tensor().tolist()

    def fill_(self, value):
        self._as_tensor().fill_(value)
        return self

    def copy_(self, source, non_blocking=None):
        self._untyped_storage.copy_(source.untyped() if isinstance(source, TypedStorage)
                                    else source)
        return self

    # ------------------------------------------------------------------ copies, moves, casts
    def clone(self):
        return TypedStorage._new_wrapped_storage(self._untyped_storage.clone(), self.dtype)

    def cpu(self):
        return TypedStorage._new_wrapped_storage(self._untyped_storage.cpu(), self.dtype)

    def cuda(self, device=None, non_blocking=False):
        return TypedStorage._new_wrapped_storage(self._untyped_storage.cuda(device), self.dtype)

    def to(self, *, device=None, non_blocking=False):
        return TypedStorage._new_wrapped_storage(self._untyped_storage.to(device=device),
                                                 self.dtype)

    def pin_memory(self, device="cuda"):
        return TypedStorage._new_wrapped_storage(self._untyped_storage.pin_memory(), self.dtype)

    def share_memory_(self):
        self._untyped_storage.share_memory_()
        return self

    @classmethod
    def _new_shared(cls, size, *, device=None, dtype=None):
        dtype = dtype or _dtype.get_default_dtype()
        untyped = UntypedStorage._new_shared(size * _storage_itemsize(dtype), device=device)
        return TypedStorage._new_wrapped_storage(untyped, dtype)

    def resize_(self, size):
        self._untyped_storage.resize_(size * self.dtype.itemsize)

    def _to(self, dtype):
        """A new storage holding these elements converted to `dtype`."""
        if dtype is self.dtype:
            return self
        converted = self._as_tensor().to(dtype).contiguous()
        return TypedStorage._new_wrapped_storage(
            UntypedStorage._wrap(_bytes_of(converted._data), resizable=True), dtype)

    def __reduce__(self):
        return (_rebuild_typed, (self._untyped_storage, self.dtype))

    @classmethod
    def from_buffer(cls, buffer, byte_order=None, count=-1, offset=0, dtype=None):
        return _from_buffer(buffer, byte_order, count, offset,
                            dtype or getattr(cls, "dtype", None) or _dtype.get_default_dtype())

    @classmethod
    def from_file(cls, filename, shared=False, size=0):
        dtype = getattr(cls, "dtype", None) or _dtype.get_default_dtype()
        untyped = _from_file(filename, shared, size, dtype.itemsize)
        return TypedStorage._new_wrapped_storage(untyped, dtype)


# what a typed storage shares with an untyped one (PyTorch's TypedStorage is no subclass of
# its storage base either)
for _name in ("is_cuda", "get_device", "data_ptr", "is_shared", "is_pinned", "__iter__",
              "__str__", "__repr__", "__copy__", "__deepcopy__", "__sizeof__"):
    setattr(TypedStorage, _name, _StorageBase.__dict__[_name])
# PyTorch's internal names, which skip its deprecation warning (FSDP frees and brings back
# parameter memory with tensor._typed_storage()._resize_(n) and reads _size())
for _name, _public in (("_size", "size"), ("_nbytes", "nbytes"), ("_resize_", "resize_"),
                      ("_data_ptr", "data_ptr"), ("_element_size", "element_size"),
                      ("_is_shared", "is_shared"), ("_share_memory_", "share_memory_"),
                      ("_getitem", "__getitem__"), ("_setitem", "__setitem__")):
    setattr(TypedStorage, _name, getattr(TypedStorage, _public))
del _name, _public


def _rebuild_typed(untyped, dtype):
    return TypedStorage._new_wrapped_storage(untyped, dtype)


def _storage_itemsize(dtype):
    if not isinstance(dtype, _dtype.dtype):
        raise TypeError(f"dtype must be an ember.dtype, got {type(dtype).__name__}")
    return dtype.itemsize


def _from_buffer(buffer, byte_order, count, offset, dtype):
    """A TypedStorage of `dtype` with a copy of `count` elements of `buffer` from byte
    `offset` (all of them when count is -1)."""
    if dtype.itemsize > 1 and byte_order not in ("little", "big", "native"):
        raise RuntimeError("function missing required argument 'byte_order' (pos 2)")
    raw = memoryview(buffer).cast("B")
    if offset < 0 or offset > len(raw):
        raise ValueError(f"offset must be non-negative and no greater than buffer length "
                         f"({len(raw)}), but got {offset}")
    avail = len(raw) - offset
    if count < 0:
        if avail % dtype.itemsize:
            raise ValueError(f"buffer size ({avail}) must be a multiple of element size "
                             f"({dtype.itemsize})")
        count = avail // dtype.itemsize
    if count * dtype.itemsize > avail:
        raise ValueError(f"buffer has only {avail} bytes after offset {offset}, but "
                         f"{count} elements of {dtype.itemsize} bytes were asked for")
    data = np.frombuffer(raw, np.uint8, count=count * dtype.itemsize, offset=offset).copy()
    if byte_order == "big" and dtype.itemsize > 1:
        part = dtype.itemsize // (2 if dtype.is_complex else 1)   # complex: each part
        data = data.reshape(-1, part)[:, ::-1].reshape(-1).copy()
    return TypedStorage._new_wrapped_storage(UntypedStorage._wrap(data, resizable=True), dtype)
