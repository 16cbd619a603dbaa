"""torch.version: what the build is. Programs print ``torch.version.cuda`` to report their
environment and test it (``if torch.version.cuda is not None``) to choose a CUDA path;
ember's answer is the CUDA runtime CuPy runs on ("12.4"), or None without CuPy, as a
CPU-only PyTorch build answers. ember is never a ROCm, XPU or debug build."""
from . import __version__  # noqa: F401

hip = None
rocm = None
xpu = None
debug = False
git_version = "unknown"


def _cuda_runtime():
    """CuPy's CUDA runtime version as PyTorch writes it ('12.4'), or None."""
    try:
        import cupy
        v = int(cupy.cuda.runtime.runtimeGetVersion())
    except Exception:   # no CuPy, or no usable CUDA runtime: a CPU-only build's answer
        return None
    return f"{v // 1000}.{v % 1000 // 10}"


cuda = _cuda_runtime()
