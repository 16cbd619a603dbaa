"""ember.utils.dlpack (``torch.utils.dlpack``): exchanging tensors with other libraries
(NumPy, CuPy, PyTorch, JAX ...) without copying, through the DLPack protocol.

ember's arrays are NumPy's (CPU) or CuPy's (CUDA), and both speak DLPack, so:

    from_dlpack(x)   x an object with ``__dlpack__``/``__dlpack_device__`` (a PyTorch or
                     JAX tensor, a NumPy or CuPy array) or a DLPack capsule: NumPy's
                     (CPU) or CuPy's (CUDA) from_dlpack makes the array, which shares
                     x's memory; the tensor wraps it.
    to_dlpack(t)     the capsule of t's array (the legacy interface; new code passes
                     the tensor itself, which has ``__dlpack__``).

Writes through either side show in the other, as in PyTorch. A tensor that requires
grad is refused (BufferError), as in PyTorch. bfloat16 cannot be exchanged: NumPy's
DLPack support lacks it.
"""
import enum

__all__ = ["from_dlpack", "to_dlpack", "DLDeviceType"]


class DLDeviceType(enum.IntEnum):
    """DLPack's device codes (values as in dlpack.h and PyTorch)."""
    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


_CUDA_LIKE = (DLDeviceType.kDLCUDA, DLDeviceType.kDLCUDAManaged)


class _Capsule:
    """A bare DLPack capsule dressed as a producer object, for NumPy's / CuPy's
    from_dlpack, which take objects with ``__dlpack__`` only."""

    def __init__(self, capsule, device):
        self.capsule, self.device = capsule, device

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return self.device


def _capsule_device(capsule):
    """(device type, device id) written in a capsule's DLTensor. The capsule holds a
    DLManagedTensor ("dltensor": the DLTensor first, its device after the data pointer)
    or a DLManagedTensorVersioned ("dltensor_versioned": version, manager context,
    deleter and flags before the DLTensor)."""
    import ctypes
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    name = api.PyCapsule_GetName(capsule)
    offsets = {b"dltensor": 0, b"dltensor_versioned": 32}
    if name not in offsets:
        raise RuntimeError("from_dlpack received an invalid capsule. Note that DLTensor capsules "
                           "can be consumed only once, so you might have already constructed a "
                           "tensor from it once.")
    base = api.PyCapsule_GetPointer(capsule, name) + offsets[name]
    device = (ctypes.c_int32 * 2).from_address(base + ctypes.sizeof(ctypes.c_void_p))
    return DLDeviceType(device[0]), int(device[1])


def from_dlpack(ext_tensor):
    """A tensor sharing the memory of ``ext_tensor`` (an object with ``__dlpack__`` or a
    DLPack capsule)."""
    from .._tensor import Tensor
    from .. import _dtype
    if hasattr(ext_tensor, "__dlpack__"):
        kind, index = ext_tensor.__dlpack_device__()
        source = ext_tensor
    elif type(ext_tensor).__name__ == "PyCapsule":
        kind, index = _capsule_device(ext_tensor)
        source = _Capsule(ext_tensor, (kind, index))
    else:
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, "
                        f"got {type(ext_tensor).__name__}")
    kind = DLDeviceType(kind)
    if kind == DLDeviceType.kDLCPU:
        import numpy as np
        make = np.from_dlpack
    elif kind in _CUDA_LIKE:
        try:
            import cupy
        except ImportError:
            raise RuntimeError("from_dlpack: a CUDA tensor needs CuPy, which is not "
                               "installed") from None
        make = cupy.from_dlpack
    else:
        raise RuntimeError(f"from_dlpack: ember has no device for DLPack device {kind.name} "
                           "(only CPU and CUDA)")
    try:
        array = make(source)
    except (RuntimeError, BufferError, TypeError) as e:
        raise RuntimeError(f"from_dlpack: cannot import this tensor: {e}") from None
    _dtype.from_numpy_dtype(array.dtype)   # raises TypeError for a dtype ember lacks
    if source is not ext_tensor and kind == DLDeviceType.kDLCPU and not array.flags.writeable:
        array = _writable(array)
    return Tensor._make(array)


def _writable(array):
    """`array` with NumPy's read-only mark taken off: NumPy marks every array it makes from a
    legacy (unversioned) capsule read-only, the capsule having no flag to say otherwise,
    where PyTorch's tensor from it is writable."""
    from .._ops.creation import writable_alias
    return writable_alias(array)


def to_dlpack(tensor):
    """The DLPack capsule of ``tensor``'s memory (legacy interface; consume it once)."""
    return tensor.__dlpack__()


def _tensor_dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """Tensor.__dlpack__: the DLPack capsule of the tensor's array (NumPy's or CuPy's)."""
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    kwargs = {"stream": stream}
    if max_version is not None:
        kwargs["max_version"] = max_version
    if dl_device is not None:
        kwargs["dl_device"] = dl_device
    if copy is not None:
        kwargs["copy"] = copy
    return self._data.__dlpack__(**kwargs)


def _tensor_dlpack_device(self):
    """Tensor.__dlpack_device__: (DLDeviceType, device index)."""
    kind, index = self._data.__dlpack_device__()
    return DLDeviceType(kind), int(index)


def _install():
    from .._tensor import Tensor
    if not hasattr(Tensor, "__dlpack__"):
        Tensor.__dlpack__ = _tensor_dlpack
        Tensor.__dlpack_device__ = _tensor_dlpack_device


_install()
