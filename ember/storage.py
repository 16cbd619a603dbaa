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

What ember cannot do, as a tensor holds its array directly rather than a storage object:
``resize_`` works only on a storage that no tensor views (made with ``UntypedStorage(n)``,
``FloatStorage(n)``...; PyTorch also lets a tensor's storage grow or shrink under it);
``share_memory_()`` on a storage moves that storage object's bytes, while tensors made
before keep the old memory (as ``Tensor.share_memory_`` does for views taken before it);
``set_`` cannot grow a storage to fit the view asked for (PyTorch does: ember raises its
out-of-bounds error); a CUDA tensor that is a strided view made by CuPy's as_strided (a
non-contiguous ``set_``) has no findable storage (CuPy keeps no link to the array it views):
its ``untyped_storage()`` raises NotImplementedError and its ``storage_offset()`` reads 0.
"""
import builtins
import numbers
import os
import warnings

import numpy as np

from . import _dtype
from ._device import CPU, as_device, device as _device_cls
from ._tensor import Tensor

__all__ = ["UntypedStorage", "TypedStorage"]

_ndarray = np.ndarray


# ============================================================================ memory roots

def _numpy_root(arr):
    """The last ndarray of `arr`'s .base chain (as_strided views keep their array behind a
    wrapper object whose .base is the array)."""
    root = arr
    while True:
        owner = root.base
        if not isinstance(owner, _ndarray):
            owner = getattr(owner, "base", None)
        if not isinstance(owner, _ndarray):
            return root
        root = owner


def _flat_bytes(root):
    """All the bytes of `root`'s buffer as a 1-D uint8 view."""
    if root.flags.c_contiguous:
        return root.reshape(-1).view(np.uint8)
    if root.flags.f_contiguous:
        return root.T.reshape(-1).view(np.uint8)
    if type(root) is _ndarray and root.base is not None:
        # a strided array laid over a foreign buffer (an mmap, bytes): that buffer
        return np.frombuffer(root.base, np.uint8)
    raise NotImplementedError(f"ember cannot find the storage of an array with strides "
                              f"{root.strides} that owns its memory")


def _bytes_of(arr):
    """The storage bytes of array `arr` (NumPy or CuPy): a 1-D uint8 view of its root."""
    if type(arr) is _ndarray:
        return _flat_bytes(_numpy_root(arr))
    root = arr
    while root.base is not None:   # CuPy views keep their root in .base
        root = root.base
    if root.flags.c_contiguous:
        return root.reshape(-1).view(np.uint8)
    if root.flags.f_contiguous:
        return root.T.reshape(-1).view(np.uint8)
    # CuPy's as_strided views do not keep the array they view: the memory's extent is lost
    raise NotImplementedError("ember cannot find the storage of this CUDA tensor: it is a "
                              "strided view (as_strided, set_ with strides) and CuPy does not "
                              "record the array it views")


def _address(arr):
    if type(arr) is _ndarray:
        return arr.__array_interface__["data"][0]
    return arr.data.ptr


def _xp(arr):
    if type(arr) is _ndarray:
        return np
    from ._backend import cuda_backend
    return cuda_backend().xp


def _device_of(arr):
    if type(arr) is _ndarray:
        return CPU
    return _device_cls("cuda", arr.device.id)


def _new_bytes(nbytes, device):
    """`nbytes` zeroed bytes on `device` (PyTorch leaves new storages uninitialised)."""
    dev = as_device(device) if device is not None else CPU
    if dev.type == "cpu":
        return np.zeros(nbytes, np.uint8)
    if dev.type != "cuda":
        raise NotImplementedError(f"ember has no storages on device '{dev}'")
    from ._backend import cuda_backend
    return cuda_backend().from_numpy(np.zeros(nbytes, np.uint8), dev.index)


def _to_device(arr, dev):
    """A copy of 1-D array `arr` on device `dev` (itself when it is there already)."""
    from ._backend import cuda_backend
    if dev.type == "cpu":
        return arr if type(arr) is _ndarray else cuda_backend().asnumpy(arr)
    if dev.type != "cuda":
        raise NotImplementedError(f"ember has no storages on device '{dev}'")
    if type(arr) is _ndarray:
        return cuda_backend().from_numpy(arr, dev.index)
    if (dev.index or 0) == arr.device.id:
        return arr
    return cuda_backend().from_numpy(cuda_backend().asnumpy(arr), dev.index)


def _typename(obj):
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


# ============================================================================ the typed-storage warning

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


# ============================================================================ UntypedStorage

class _StorageBase:
    """What byte and typed storages share: the device, sharing and pinning queries."""
    _is_ember_storage = True   # what Tensor(storage) looks for, without importing us
    is_sparse = False
    is_sparse_csr = False

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    def get_device(self):
        return self.device.index if self.device.type == "cuda" else -1

    def data_ptr(self):
        return _address(self._bytes)

    def is_shared(self):
        from . import _shared_memory
        return type(self._bytes) is _ndarray and _shared_memory._segment_of(self._bytes) is not None

    def is_pinned(self, device="cuda"):
        if type(self._bytes) is not _ndarray:
            return False
        from ._backend import CUDA_ON, cuda_backend
        return builtins.bool(CUDA_ON[0] and cuda_backend().is_pinned(self._bytes))

    def __iter__(self):
        return iter(self.tolist())

    def __copy__(self):
        return self.clone()

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = self.clone()
        return memo[id(self)]

    def __sizeof__(self):
        return object.__sizeof__(self) + self.nbytes()

    def _check_index(self, idx, n, wrapped_in_message=True):
        if not isinstance(idx, numbers.Integral) or isinstance(idx, builtins.bool):
            raise TypeError(f"can't index a ember.{type(self).__name__} with "
                            f"{type(idx).__name__}")
        i = idx + n if idx < 0 else idx
        if not 0 <= i < n:   # (PyTorch's untyped storages name the index after wrapping it)
            raise IndexError(f"index {i if wrapped_in_message else idx} out of range for "
                             f"storage of size {n}")
        return builtins.int(i)

    def __str__(self):
        info = self._info()
        if len(self) == 0:
            return " \n" + info
        return " " + "\n ".join(str(v) for v in self.tolist()) + "\n" + info

    __repr__ = __str__


class UntypedStorage(_StorageBase):
    """A flat run of bytes on one device (``torch.UntypedStorage``).

    ``UntypedStorage()`` is empty, ``UntypedStorage(n, device=None)`` holds n (zeroed)
    bytes, ``UntypedStorage(seq)`` the byte values of a sequence of ints (taken modulo
    256, as PyTorch stores them). Indexing reads and writes single bytes as ints; a slice
    with step 1 is a storage viewing the same bytes.
    """

    def __init__(self, *args, device=None):
        if not args:
            data = _new_bytes(0, device)
        elif len(args) == 1 and isinstance(args[0], numbers.Integral) and \
                not isinstance(args[0], builtins.bool):
            if args[0] < 0:
                raise RuntimeError(f"Trying to create a storage of negative size {args[0]}")
            data = _new_bytes(builtins.int(args[0]), device)
        elif len(args) == 1 and isinstance(args[0], (list, tuple, range)):
            for v in args[0]:
                if not isinstance(v, numbers.Integral):
                    raise RuntimeError(
                        f"torch.UntypedStorage(): tried to construct a storage from a sequence "
                        f"({type(args[0]).__name__}), but one of the items was of type "
                        f"{type(v).__name__} instead of int")
            values = np.array([builtins.int(v) % 256 for v in args[0]], dtype=np.uint8)
            data = _to_device(values, as_device(device) if device is not None else CPU)
        elif len(args) == 1 and isinstance(args[0], str):
            raise RuntimeError(
                "torch.UntypedStorage(): tried to construct a storage from a sequence (str), "
                "but one of the items was of type str instead of int")
        else:
            raise RuntimeError(f"torch.UntypedStorage(): Expected a sequence type, but got "
                               f"{type(args[0]).__name__}")
        self._bytes = data
        self._resizable = True

    @classmethod
    def _wrap(cls, byte_array, resizable=False):
        """A storage over an existing 1-D uint8 array (no copy)."""
        s = object.__new__(cls)
        s._bytes = byte_array
        s._resizable = resizable
        return s

    # ------------------------------------------------------------------ metadata
    @property
    def device(self):
        return _device_of(self._bytes)

    @property
    def filename(self):
        return getattr(self, "_filename", None)

    def size(self):
        return builtins.int(self._bytes.shape[0])

    nbytes = size

    def __len__(self):
        return builtins.int(self._bytes.shape[0])

    def element_size(self):
        return 1

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return "torch.storage.UntypedStorage"
        return _legacy_class_of(dtype)(wrap_storage=self)

    def untyped(self):
        return self

    def resizable(self):
        return self._resizable

    def _info(self):
        return f"[{_typename(self)}(device={self.device}) of size {len(self)}]"

    # ------------------------------------------------------------------ element access
    def __getitem__(self, idx):
        n = len(self)
        if isinstance(idx, slice):
            start, stop, step = idx.indices(n)
            if step != 1:
                raise RuntimeError(f"Trying to slice with a step of {step}, but only a step of "
                                   f"1 is supported")
            return UntypedStorage._wrap(self._bytes[start:builtins.max(start, stop)])
        return builtins.int(self._bytes[self._check_index(idx, n)])

    def __setitem__(self, idx, value):
        if isinstance(value, _StorageBase):
            value = value.untyped()._bytes
        elif isinstance(value, numbers.Integral):
            value = builtins.int(value) % 256   # a byte, as PyTorch wraps it
        if isinstance(idx, slice):
            self._bytes[idx] = value
        else:
            self._bytes[self._check_index(idx, len(self))] = value

    def tolist(self):
        return [builtins.int(v) for v in _to_device(self._bytes, CPU).tolist()]

    def fill_(self, value):
        self._bytes[...] = builtins.int(value) % 256
        return self

    def copy_(self, source, non_blocking=None):
        src = source.untyped()._bytes if isinstance(source, _StorageBase) else source
        if src.shape[0] != self._bytes.shape[0]:
            raise RuntimeError(f"size does not match, self was {self.nbytes()} bytes but src "
                               f"was {src.shape[0]} bytes")
        if type(src) is not type(self._bytes):
            src = _to_device(src, self.device)
        self._bytes[...] = src
        return self

    def byteswap(self, dtype):
        """Reverse the byte order of each `dtype` element in place."""
        item = dtype.itemsize
        if item == 1:
            return
        if len(self) % item:
            raise RuntimeError(f"The size of the storage ({len(self)} bytes) is not a multiple "
                               f"of the element size of {dtype} ({item})")
        self._bytes[...] = self._bytes.reshape(-1, item)[:, ::-1].reshape(-1)

    # ------------------------------------------------------------------ copies and moves
    def clone(self):
        return UntypedStorage._wrap(self._bytes.copy(), resizable=True)

    def new(self):
        return UntypedStorage(device=self.device)

    def cpu(self):
        if type(self._bytes) is _ndarray:
            return self
        return UntypedStorage._wrap(_to_device(self._bytes, CPU), resizable=True)

    def cuda(self, device=None, non_blocking=False):
        dev = _device_cls("cuda", device) if isinstance(device, builtins.int) else \
            as_device(device) if device is not None else _device_cls("cuda")
        return self.to(device=dev)

    def to(self, *, device=None, non_blocking=False):
        dev = as_device(device) if device is not None else CPU
        if dev.type == "cuda":
            from . import cuda
            if not cuda.is_available():
                raise RuntimeError("Torch not compiled with CUDA enabled")
        moved = _to_device(self._bytes, dev)
        return self if moved is self._bytes else UntypedStorage._wrap(moved, resizable=True)

    def pin_memory(self, device="cuda"):
        from . import cuda
        if not cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        if type(self._bytes) is not _ndarray:
            raise TypeError(f"cannot pin '{self.type()}' only CPU memory can be pinned")
        from ._backend import cuda_backend
        return UntypedStorage._wrap(cuda_backend().pinned_copy(self._bytes), resizable=False)

    def share_memory_(self):
        """Move these bytes into shared memory (a file in /dev/shm), so that tensors sent
        to other processes from this storage share them; CUDA storages are left as they
        are. Tensors made over the old bytes keep them (see the module's docstring)."""
        if self.is_cuda or self.is_shared():
            return self
        from . import _shared_memory
        holder = Tensor._make(self._bytes.copy())
        _shared_memory.share_memory_(holder)
        self._bytes = holder._data
        self._resizable = False
        return self

    @classmethod
    def _new_shared(cls, size, *, device=None):
        return cls(size, device=device).share_memory_()

    def resize_(self, size):
        """Grow or shrink to `size` bytes, keeping the first min(old, new) of them.
        Only a storage no tensor views can be resized in ember (see the module's docstring)."""
        if not isinstance(size, numbers.Integral) or size < 0:
            raise RuntimeError(f"Trying to resize storage to an invalid size {size}")
        if not self._resizable:
            if getattr(self, "_viewed", False):
                raise NotImplementedError(
                    "ember cannot resize the storage of a tensor (tensors hold their memory "
                    "directly); make a new tensor of the size you need instead")
            raise RuntimeError("Trying to resize storage that is not resizable")
        size = builtins.int(size)
        out = _new_bytes(size, self.device)
        keep = builtins.min(size, len(self))
        out[:keep] = self._bytes[:keep]
        self._bytes = out
        return self

    # ------------------------------------------------------------------ typed conversions
    def _to(self, dtype):
        return TypedStorage(wrap_storage=self, dtype=_dtype.uint8, _internal=True)._to(dtype)

    # ------------------------------------------------------------------ construction from data
    @staticmethod
    def from_buffer(buffer, byte_order=None, count=-1, offset=0, dtype=None):
        """A storage holding a copy of the bytes of `buffer` (bytes, bytearray, memoryview,
        array) read as `dtype` elements; `byte_order` ('little'/'big') is needed when the
        element size exceeds one byte."""
        if dtype is None:
            raise RuntimeError("argument 'dtype' cannot be None")
        return _from_buffer(buffer, byte_order, count, offset, dtype)._untyped_storage

    @staticmethod
    def from_file(filename, shared=False, size=0):
        """A storage of `size` bytes read from `filename`; with ``shared=True`` the file is
        mapped and writes to the storage go to the file."""
        return _from_file(filename, shared, size, 1)

    # ------------------------------------------------------------------ pickling
    def __reduce__(self):
        return (_rebuild_untyped, (_to_device(self._bytes, CPU).tobytes(), str(self.device)))


def _rebuild_untyped(data, device):
    arr = np.frombuffer(bytearray(data), np.uint8)
    return UntypedStorage._wrap(_to_device(arr, as_device(device)), resizable=True)


def _from_file(filename, shared, size, itemsize):
    nbytes = builtins.int(size) * itemsize
    if shared:
        flags = os.O_RDWR | os.O_CREAT
        fd = os.open(filename, flags, 0o600)
        try:
            if os.fstat(fd).st_size < nbytes:
                os.ftruncate(fd, nbytes)
        finally:
            os.close(fd)
        arr = np.memmap(filename, np.uint8, mode="r+", shape=(nbytes,)) if nbytes else \
            np.zeros(0, np.uint8)
        data = arr.view(np.ndarray)
    else:
        actual = os.path.getsize(filename)
        if actual < nbytes:
            raise RuntimeError(f"file <{os.fspath(filename)}> size <{actual}> is smaller than the "
                               f"required mapping size <{nbytes}>")
        with open(filename, "rb") as fh:
            data = np.frombuffer(bytearray(fh.read(nbytes)), np.uint8)
    s = UntypedStorage._wrap(data, resizable=False)
    s._filename = os.fspath(filename)
    return s


# ============================================================================ TypedStorage

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
            from ._ops.creation import tensor
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
del _name


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


# ============================================================================ legacy classes

class _LegacyStorageMeta(type):
    """``isinstance(s, ember.FloatStorage)`` checks a TypedStorage's dtype and device."""

    def __instancecheck__(cls, obj):
        if type(obj) is not TypedStorage:
            return False
        return obj.dtype is cls.dtype and (obj.device.type == "cuda") == cls._cuda


class _LegacyStorage(TypedStorage):
    _cuda = False

    def __new__(cls, *args, wrap_storage=None, device=None):
        _warn_typed_storage_removal(stacklevel=2)
        if cls._cuda and device is None:
            device = "cuda"
        if wrap_storage is not None:
            if args:
                raise RuntimeError("No positional arguments should be given when using "
                                   "`wrap_storage`")
            if wrap_storage.device.type != ("cuda" if cls._cuda else "cpu"):
                raise RuntimeError(f"Device of 'wrap_storage' must be "
                                   f"{'cuda' if cls._cuda else 'cpu'}, but got "
                                   f"{wrap_storage.device.type}")
            return TypedStorage(wrap_storage=wrap_storage, dtype=cls.dtype, _internal=True)
        if len(args) == 1 and isinstance(args[0], Tensor):
            raise TypeError(f"{cls.__name__}.__new__ received an invalid combination of "
                            f"arguments - got (Tensor); expected no arguments, (int size), "
                            f"(Sequence data) or (*, UntypedStorage wrap_storage)")
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}.__new__ takes at most one positional argument")
        return TypedStorage(*args, dtype=cls.dtype, device=device, _internal=True)


_LEGACY_NAMES = {
    "FloatStorage": _dtype.float32, "DoubleStorage": _dtype.float64,
    "HalfStorage": _dtype.float16, "BFloat16Storage": _dtype.bfloat16,
    "LongStorage": _dtype.int64, "IntStorage": _dtype.int32, "ShortStorage": _dtype.int16,
    "CharStorage": _dtype.int8, "ByteStorage": _dtype.uint8, "BoolStorage": _dtype.bool,
    "ComplexFloatStorage": _dtype.complex64, "ComplexDoubleStorage": _dtype.complex128,
}


def _make_legacy_storage(name, dt, cuda, module):
    return _LegacyStorageMeta(name, (_LegacyStorage,),
                              {"dtype": dt, "_cuda": cuda, "__module__": module})


LEGACY_STORAGES = {name: _make_legacy_storage(name, dt, False, "ember")
                   for name, dt in _LEGACY_NAMES.items()}
CUDA_LEGACY_STORAGES = {name: _make_legacy_storage(name, dt, True, "ember.cuda")
                        for name, dt in _LEGACY_NAMES.items()}
_LEGACY_BY_DTYPE = {cls.dtype: cls for cls in LEGACY_STORAGES.values()}


def _legacy_class_of(dtype):
    """The legacy storage class a ``type(...)`` argument names (a class or a string)."""
    if isinstance(dtype, str):
        name = dtype.rsplit(".", 1)[-1]
        table = CUDA_LEGACY_STORAGES if ".cuda." in dtype else LEGACY_STORAGES
        if name not in table:
            raise ValueError(f"invalid type: '{dtype}'")
        return table[name]
    if isinstance(dtype, type) and issubclass(dtype, _LegacyStorage):
        return dtype
    raise TypeError(f"invalid storage type {dtype!r}")


def _typed_conversion(dt):
    def method(self):
        return self._to(dt)
    return method


# storage.float(), .double(), .bool() ... convert the elements (an UntypedStorage's bytes
# are uint8 values)
for _method_name, _dt in (("float", _dtype.float32), ("double", _dtype.float64),
                          ("half", _dtype.float16), ("bfloat16", _dtype.bfloat16),
                          ("long", _dtype.int64), ("int", _dtype.int32),
                          ("short", _dtype.int16), ("char", _dtype.int8),
                          ("byte", _dtype.uint8), ("bool", _dtype.bool),
                          ("complex_float", _dtype.complex64),
                          ("complex_double", _dtype.complex128),
                          ("float8_e4m3fn", _dtype.float8_e4m3fn),
                          ("float8_e5m2", _dtype.float8_e5m2),
                          ("float8_e4m3fnuz", _dtype.float8_e4m3fnuz),
                          ("float8_e5m2fnuz", _dtype.float8_e5m2fnuz)):
    setattr(UntypedStorage, _method_name, _typed_conversion(_dt))
    setattr(TypedStorage, _method_name, _typed_conversion(_dt))
del _method_name, _dt


# ============================================================================ tensors and storages

def is_storage(obj):
    """Whether `obj` is a storage (untyped or typed)."""
    return isinstance(obj, (UntypedStorage, TypedStorage))


def untyped_storage(self):
    """The bytes of the memory this tensor's array lives in, as an UntypedStorage."""
    if self.device.type == "meta":
        raise NotImplementedError("ember has no storages of meta tensors (they hold no memory)")
    s = UntypedStorage._wrap(_bytes_of(self._data), resizable=False)
    s._viewed = True
    return s


def storage(self):
    """This tensor's storage as a TypedStorage of its dtype (deprecated in PyTorch)."""
    _warn_typed_storage_removal(stacklevel=2)
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


def view_of_storage(untyped, dtype, offset, size, stride):
    """An array of `dtype` over `untyped`'s bytes: `size` elements at element offset
    `offset` with element strides `stride` (PyTorch's setStorage checks)."""
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
    if extent * item > nbytes:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {item} requiring a storage size of "
                           f"{extent * item} are out of bounds for storage of size {nbytes}")
    raw = untyped._bytes
    typed = raw[:nbytes - nbytes % item].view(dtype.np)
    # (an empty slice of NumPy's starts at the array's start: one element keeps the offset)
    base = typed[offset:] if numel else typed[offset:offset + 1]
    if numel and tuple(stride) == _contiguous_strides(size):
        return base[:numel].reshape(size)   # a plain view keeps its .base chain on CuPy too
    from ._backend import strided_view
    return strided_view(base, tuple(size), tuple(s * item for s in stride))


def set_(self, source=None, storage_offset=0, size=None, stride=None):
    """Make this tensor view `source`'s memory: another tensor (its storage, offset, size
    and strides), a storage (as `size`/`stride` elements of this tensor's dtype from
    element `storage_offset`; all of it, 1-D, by default), or nothing (empty)."""
    from .autograd import grad_mode
    if self.grad_fn is None and self._requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    dt = self.dtype
    if source is None:
        arr = _xp(self._data).empty((0,), dtype=dt.np)
    elif isinstance(source, Tensor):
        if source.dtype is not dt:
            from ._ops._util import c_type_name
            raise RuntimeError(f"Could not set tensor of type {c_type_name(source.dtype)} to a "
                               f"tensor of type {c_type_name(dt)}")
        _check_same_device(self, source.device)
        arr = source._data
    elif isinstance(source, (UntypedStorage, TypedStorage)):
        if isinstance(source, TypedStorage) and source.dtype is not dt:
            from ._ops._util import c_type_name, dtype_name
            raise RuntimeError(f"Expected a Storage of type {c_type_name(dt)} or an "
                               f"UntypedStorage, but got type {dtype_name(source.dtype)} for "
                               f"argument 1 'storage'")
        _check_same_device(self, source.device)
        untyped = source.untyped()
        if size is None:
            size = ((len(untyped) // dt.itemsize) - builtins.int(storage_offset),)
        size = _int_tuple(size, "size")
        stride = _contiguous_strides(size) if stride is None else _int_tuple(stride, "stride")
        arr = view_of_storage(untyped, dt, builtins.int(storage_offset), size, stride)
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
        from ._ops._util import dtype_name
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
Tensor.storage_type = storage_type
Tensor.set_ = set_
Tensor.is_set_to = is_set_to

# the legacy names live in this module too, as torch.storage has them
globals().update(LEGACY_STORAGES)
