"""Array namespaces per device type: NumPy for 'cpu', CuPy for 'cuda'.

Op code calls ``xp.exp`` on whatever namespace serves its tensors; the few
kernels that differ between NumPy and CuPy live in the backend modules.
"""
from . import numpy_backend

_CUDA = None


def get(dev):
    if dev.type == "cpu":
        return numpy_backend
    if dev.type == "cuda":
        return cuda_backend()
    raise RuntimeError(f"no backend for device type '{dev.type}'")


def cuda_backend():
    global _CUDA
    if _CUDA is None:
        from . import cupy_backend
        cupy_backend.check_available()
        _CUDA = cupy_backend
    return _CUDA


def array_namespace(arr):
    """The namespace (numpy or cupy) that owns `arr`."""
    if type(arr).__module__.startswith("cupy"):
        return cuda_backend().xp
    return numpy_backend.xp
