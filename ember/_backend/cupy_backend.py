"""The CUDA backend: CuPy (an optional dependency)."""
try:
    import cupy as xp
except ImportError:  # pragma: no cover - depends on the machine
    xp = None

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
    return xp.asnumpy(a)


def from_numpy(a, index=None):
    with xp.cuda.Device(index or 0):
        return xp.asarray(a)
