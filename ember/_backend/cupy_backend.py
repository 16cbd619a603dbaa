"""The CUDA backend: CuPy (an optional dependency)."""
try:
    import cupy as xp
except ImportError:  # pragma: no cover - depends on the machine
    xp = None

from . import cupy_kernels

name = "cuda"


def is_available():
    if xp is None:
        return False
    try:
        return xp.cuda.is_available()
    except Exception:
        return False


def check_available():
    if xp is None:
        raise AssertionError("Torch not compiled with CUDA enabled (ember: CuPy is not installed; "
                             "install ember[cuda12] or ember[cuda13])")
    if not is_available():
        raise RuntimeError("Found no NVIDIA driver on your system. (ember: CuPy found no CUDA device)")


def asnumpy(a):
    out = xp.asnumpy(a)
    if cupy_kernels._PENDING:   # a deferred device check to look at (cupy_kernels)
        cupy_kernels.raise_failed_checks()
    return out


def from_numpy(a, index=None):
    with xp.cuda.Device(index or 0):
        return xp.asarray(a)


_PINNED_TYPE = []   # the type of what alloc_pinned_memory returns, once looked up


def _pinned_type():
    if not _PINNED_TYPE:
        _PINNED_TYPE.append(type(xp.cuda.alloc_pinned_memory(1)))
    return _PINNED_TYPE[0]


def pinned_copy(a):
    """A C-contiguous copy of NumPy array `a` in page-locked host memory (CuPy's pinned
    pool), which the GPU copies from without staging; still a numpy.ndarray."""
    import numpy
    mem = xp.cuda.alloc_pinned_memory(max(a.nbytes, 1))
    out = numpy.ndarray(a.shape, a.dtype, buffer=mem)
    out[...] = a
    return out


def is_pinned(a):
    """Whether NumPy array `a` lies in memory made by pinned_copy (its owner, at the end of
    the .base chain, is a pinned allocation)."""
    import numpy
    owner = a
    # as_strided views keep their array behind a wrapper object that has .base too
    while isinstance(owner, numpy.ndarray) or type(owner).__name__ == "DummyArray":
        owner = owner.base
    return owner is not None and type(owner) is _pinned_type()
