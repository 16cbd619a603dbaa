"""torch.backends.cudnn. ember has no cuDNN: its CUDA convolutions are its own im2col
kernels and cuBLAS GEMMs, which follow `allow_tf32` (default True, as in PyTorch: float32
convolutions may round their inputs to TF32)."""
import sys
import types

from .._backend import cupy_kernels as _kernels

enabled = True
benchmark = False
deterministic = False
benchmark_limit = 10


def is_available():
    """False: ember does not use cuDNN."""
    return False


def version():
    return None


class _Module(types.ModuleType):
    @property
    def allow_tf32(self):
        return _kernels.TF32["conv"]

    @allow_tf32.setter
    def allow_tf32(self, value):
        _kernels.TF32["conv"] = bool(value)


sys.modules[__name__].__class__ = _Module
