"""``UntypedStorage``: a flat run of bytes on one device, and what it shares with the
typed storage (`_StorageBase`); storages read from files (``from_file``)."""
import builtins
import numbers
import os

import numpy as np

from .. import _dtype
from .._device import CPU, as_device, device as _device_cls
from .._tensor import Tensor
from ._memory import _address, _device_of, _ndarray, _new_bytes, _to_device


def _typename(obj):
    """The class name a storage prints: ember.storage.UntypedStorage ... (the package's
    __init__ gives the classes that module)."""
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


class _StorageBase:
    """What byte and typed storages share: the device, sharing and pinning queries."""
    _is_ember_storage = True   # what Tensor(storage) looks for, without importing us
    is_sparse = False
    is_sparse_csr = False

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    def get_device(self):
        if self.device.type == "meta":   # (PyTorch's answer: the meta device has no index)
            return None
        return self.device.index if self.device.type == "cuda" else -1

    def data_ptr(self):
        return _address(self._bytes)

    def is_shared(self):
        from .. import _shared_memory
        return type(self._bytes) is _ndarray and _shared_memory._segment_of(self._bytes) is not None

    def is_pinned(self, device="cuda"):
        if type(self._bytes) is not _ndarray:
            return False
        from .._backend import CUDA_ON, cuda_backend
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
        if self.device.type == "meta":   # no values to show
            return "...\n" + info
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
        from ._legacy import _legacy_class_of
        return _legacy_class_of(dtype)(wrap_storage=self)

    def untyped(self):
        return self

    def resizable(self):
        return self._resizable

    def _info(self):
        return f"[{_typename(self)}(device={self.device}) of size {len(self)}]"

    # ------------------------------------------------------------------ element access
    def __getitem__(self, idx):
        _refuse_meta(self)
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
        _refuse_meta(self)
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
            from .. import cuda
            if not cuda.is_available():
                raise RuntimeError("Torch not compiled with CUDA enabled")
        moved = _to_device(self._bytes, dev)
        return self if moved is self._bytes else UntypedStorage._wrap(moved, resizable=True)

    def pin_memory(self, device="cuda"):
        from .. import cuda
        if not cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        if type(self._bytes) is not _ndarray:
            raise TypeError(f"cannot pin '{self.type()}' only CPU memory can be pinned")
        from .._backend import cuda_backend
        return UntypedStorage._wrap(cuda_backend().pinned_copy(self._bytes), resizable=False)

    def share_memory_(self):
        """Move these bytes into shared memory (a file in /dev/shm), so that tensors sent
        to other processes from this storage share them; CUDA storages are left as they
        are. Tensors made over the old bytes keep them (see the module's docstring)."""
        if self.device.type == "meta":
            raise RuntimeError("_share_fd_: only available on CPU")
        if self.is_cuda or self.is_shared():
            return self
        from .. import _shared_memory
        holder = Tensor._make(self._bytes.copy())
        _shared_memory.share_memory_(holder)
        self._bytes = holder._data
        self._resizable = False
        return self

    @classmethod
    def _new_shared(cls, size, *, device=None):
        return cls(size, device=device).share_memory_()

    def resize_(self, size):
        """Grow or shrink to `size` bytes, keeping the first min(old, new) of them (new
        bytes are zero; PyTorch leaves them uninitialised). The tensors on this storage
        follow it; one the storage no longer covers must not be used until the storage
        grows back (see _resize.py)."""
        if not isinstance(size, numbers.Integral):
            raise RuntimeError(f"resize_ expects an int, but got {type(size).__name__}")
        if size < 0:
            raise RuntimeError(f"Trying to resize storage to an invalid size {size}")
        if not self._resizable:
            raise RuntimeError("Trying to resize storage that is not resizable")
        size = builtins.int(size)
        if self.device.type == "meta":   # no memory: only the size changes
            self._bytes = _new_bytes(size, self.device)
        elif size != len(self):
            from ._resize import resize_bytes
            resize_bytes(self, size)
        return self

    # ------------------------------------------------------------------ typed conversions
    def _to(self, dtype):
        from ._typed import TypedStorage
        return TypedStorage(wrap_storage=self, dtype=_dtype.uint8, _internal=True)._to(dtype)

    # ------------------------------------------------------------------ construction from data
    @staticmethod
    def from_buffer(buffer, byte_order=None, count=-1, offset=0, dtype=None):
        """A storage holding a copy of the bytes of `buffer` (bytes, bytearray, memoryview,
        array) read as `dtype` elements; `byte_order` ('little'/'big') is needed when the
        element size exceeds one byte."""
        if dtype is None:
            raise RuntimeError("argument 'dtype' cannot be None")
        from ._typed import _from_buffer
        return _from_buffer(buffer, byte_order, count, offset, dtype)._untyped_storage

    @staticmethod
    def from_file(filename, shared=False, size=0):
        """A storage of `size` bytes read from `filename`; with ``shared=True`` the file is
        mapped and writes to the storage go to the file."""
        return _from_file(filename, shared, size, 1)

    # ------------------------------------------------------------------ pickling
    def __reduce__(self):
        return (_rebuild_untyped, (_to_device(self._bytes, CPU).tobytes(), str(self.device)))


def _refuse_meta(storage):
    if storage.device.type == "meta":
        raise NotImplementedError("Not available for 'meta' device type")


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
