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


def _flag(module, table, key):
    """A module attribute read from and written (as a bool) to module.table[key] (the
    table looked up at each use)."""
    return property(lambda self: getattr(module, table)[key],
                    lambda self, value: getattr(module, table).__setitem__(key, bool(value)))


class _Module(types.ModuleType):
    allow_tf32 = _flag(_kernels, "TF32", "conv")
    enabled = _flag(_cudnn, "FLAGS", "enabled")
    benchmark = _flag(_cudnn, "FLAGS", "benchmark")
    deterministic = _flag(_cudnn, "FLAGS", "deterministic")


sys.modules[__name__].__class__ = _Module
