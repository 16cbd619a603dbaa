"""torch.backends.cudnn. Where a cuDNN 9 library loads (ember/_backend/cudnn.py says where
it is looked for), CUDA convolutions and their gradients run through it; elsewhere through
ember's own im2col kernels and cuBLAS GEMMs. Both follow `allow_tf32` (default True, as in
PyTorch: float32 convolutions may round their inputs to TF32), `enabled` (False: im2col
always), `deterministic` (only cuDNN algorithms that give the same bits every run) and
`benchmark` (cuDNN times every algorithm once per configuration and the fastest runs)."""
import sys
import types

from .._backend import cudnn as _cudnn
from .._backend import cupy_kernels as _kernels

benchmark_limit = 10


def is_available():
    """Whether a cuDNN library can be loaded (and CuPy is there to use it)."""
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return _cudnn.library() is not None


def version():
    """cuDNN's version (e.g. 92801 for 9.28.1), or None where none loads."""
    return _cudnn.version() if is_available() else None


class _Module(types.ModuleType):
    @property
    def allow_tf32(self):
        return _kernels.TF32["conv"]

    @allow_tf32.setter
    def allow_tf32(self, value):
        _kernels.TF32["conv"] = bool(value)

    @property
    def enabled(self):
        return _cudnn.FLAGS["enabled"]

    @enabled.setter
    def enabled(self, value):
        _cudnn.FLAGS["enabled"] = bool(value)

    @property
    def benchmark(self):
        return _cudnn.FLAGS["benchmark"]

    @benchmark.setter
    def benchmark(self, value):
        _cudnn.FLAGS["benchmark"] = bool(value)

    @property
    def deterministic(self):
        return _cudnn.FLAGS["deterministic"]

    @deterministic.setter
    def deterministic(self, value):
        _cudnn.FLAGS["deterministic"] = bool(value)


sys.modules[__name__].__class__ = _Module
