"""Where a storage's bytes are: the root array a tensor's array views (the end of its
.base chain), that root's bytes as a flat uint8 view, its address and device, and new or
moved byte arrays on a device.

A tensor whose storage was shrunk below the elements it views (``resize_(0)``, as FSDP
frees a parameter's memory) holds a *hollow* array instead: a zero-strided view of one
element whose address is registered in ``HOLLOW`` with the storage bytes it belongs to
and its byte offset and strides there (see _resize.py), so that its storage is still
found, and the tensor put back over the memory when the storage grows again. (The key is
the element's address, not its array object: a CuPy-like library may hand out a new
object for an array's .base each time.)"""
import numpy as np

from .._backend.meta_backend import MetaArray as _MetaArray
from .._device import CPU, as_device, device as _device_cls

_ndarray = np.ndarray

# address of a hollow array's element -> Hollow; an entry leaves with the hollow array
# (weakref.finalize)
HOLLOW = {}


class Hollow:
    """Where a hollow tensor lies in its storage: `bytes` (the storage's flat uint8 array),
    the byte offset of its first element and its byte strides."""
    __slots__ = ("bytes", "offset", "strides")

    def __init__(self, byte_array, offset, strides):
        self.bytes, self.offset, self.strides = byte_array, offset, strides


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
    root = root_of(arr)
    hollow = hollow_of(root)
    if hollow is not None:
        return hollow.bytes
    if type(root) is _ndarray:
        return _flat_bytes(root)
    if root.flags.c_contiguous:
        return root.reshape(-1).view(np.uint8)
    if root.flags.f_contiguous:
        return root.T.reshape(-1).view(np.uint8)
    # CuPy's as_strided views do not keep the array they view: the memory's extent is lost
    raise NotImplementedError("ember cannot find the storage of this CUDA tensor: it is a "
                              "strided view (as_strided, set_ with strides) and CuPy does not "
                              "record the array it views")


def root_of(arr):
    """The array at the end of `arr`'s .base chain (NumPy or CuPy)."""
    if isinstance(arr, _ndarray):
        return _numpy_root(arr)
    root = arr
    while root.base is not None:   # CuPy views keep their root in .base
        root = root.base
    return root


def hollow_of(root):
    """The Hollow record of the array whose root is `root`, or None."""
    if not HOLLOW or root.size != 1:
        return None
    return HOLLOW.get(_address(root))


def _address(arr):
    if type(arr) is _MetaArray:
        return 0
    if type(arr) is _ndarray:
        return arr.__array_interface__["data"][0]
    return arr.data.ptr


def _xp(arr):
    if isinstance(arr, _ndarray):
        return np
    from .._backend import cuda_backend
    return cuda_backend().xp


def _device_of(arr):
    if type(arr) is _ndarray:
        return CPU
    if type(arr) is _MetaArray:
        return _device_cls("meta")
    return _device_cls("cuda", arr.device.id)


def _new_bytes(nbytes, device):
    """`nbytes` zeroed bytes on `device` (PyTorch leaves new storages uninitialised)."""
    dev = as_device(device) if device is not None else CPU
    if dev.type == "cpu":
        return np.zeros(nbytes, np.uint8)
    if dev.type == "meta":
        from .._backend import meta_backend
        return meta_backend.empty((nbytes,), np.uint8)
    if dev.type != "cuda":
        raise NotImplementedError(f"ember has no storages on device '{dev}'")
    from .._backend import cuda_backend
    return cuda_backend().from_numpy(np.zeros(nbytes, np.uint8), dev.index)


def _to_device(arr, dev):
    """A copy of 1-D array `arr` on device `dev` (itself when it is there already)."""
    from .._backend import cuda_backend
    if type(arr) is _MetaArray or dev.type == "meta":
        if dev.type != "meta":
            raise NotImplementedError("Cannot copy out of meta tensor; no data!")
        return arr if type(arr) is _MetaArray else _new_bytes(arr.shape[0], dev)
    if dev.type == "cpu":
        return arr if type(arr) is _ndarray else cuda_backend().asnumpy(arr)
    if dev.type != "cuda":
        raise NotImplementedError(f"ember has no storages on device '{dev}'")
    if type(arr) is _ndarray:
        return cuda_backend().from_numpy(arr, dev.index)
    if (dev.index or 0) == arr.device.id:
        return arr
    return cuda_backend().from_numpy(cuda_backend().asnumpy(arr), dev.index)
