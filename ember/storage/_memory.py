"""Where a storage's bytes are: the root array a tensor's array views (the end of its
.base chain), that root's bytes as a flat uint8 view, its address and device, and new or
moved byte arrays on a device."""
import numpy as np

from .._device import CPU, as_device, device as _device_cls

_ndarray = np.ndarray


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
    from .._backend import cuda_backend
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
    from .._backend import cuda_backend
    return cuda_backend().from_numpy(np.zeros(nbytes, np.uint8), dev.index)


def _to_device(arr, dev):
    """A copy of 1-D array `arr` on device `dev` (itself when it is there already)."""
    from .._backend import cuda_backend
    if dev.type == "cpu":
        return arr if type(arr) is _ndarray else cuda_backend().asnumpy(arr)
    if dev.type != "cuda":
        raise NotImplementedError(f"ember has no storages on device '{dev}'")
    if type(arr) is _ndarray:
        return cuda_backend().from_numpy(arr, dev.index)
    if (dev.index or 0) == arr.device.id:
        return arr
    return cuda_backend().from_numpy(cuda_backend().asnumpy(arr), dev.index)
