"""torch.backends.mkldnn: switches of PyTorch's oneDNN (MKL-DNN) CPU kernels. ember has no
oneDNN: its CPU kernels are NumPy's and its BLAS NumPy's, so ``is_available()`` is False
and the flags (``enabled``, ``deterministic``, ``allow_tf32``) are recorded for the scripts
that set them (``torch.backends.mkldnn.enabled = False``, ``with flags(enabled=False):``)
and change nothing."""
from contextlib import contextmanager

VERBOSE_OFF = 0
VERBOSE_ON = 1
VERBOSE_ON_CREATION = 2

enabled = True
deterministic = False
allow_tf32 = True


def is_available():
    """False: ember is not built on oneDNN."""
    return False


def is_acl_available():
    """False: no oneDNN, so no oneDNN + Arm Compute Library either."""
    return False


class verbose:
    """oneDNN's on-demand verbose scope; with no oneDNN there is nothing to log."""

    def __init__(self, level):
        self.level = level

    def __enter__(self):
        return None if self.level == VERBOSE_OFF else self

    def __exit__(self, exc_type, exc_val, exc_tb):
        return False


def set_flags(_enabled=None, _deterministic=None, _allow_tf32=None, _fp32_precision="none"):
    """Set the given flags; returns the previous (enabled, deterministic, allow_tf32,
    fp32_precision), as PyTorch's."""
    global enabled, deterministic, allow_tf32
    orig = (enabled, deterministic, allow_tf32, "none")
    if _enabled is not None:
        enabled = bool(_enabled)
    if _deterministic is not None:
        deterministic = bool(_deterministic)
    if _allow_tf32 is not None:
        allow_tf32 = bool(_allow_tf32)
    return orig


@contextmanager
def flags(enabled=False, deterministic=False, allow_tf32=True, fp32_precision="none"):
    """The flags set for the block, restored after it."""
    orig = set_flags(enabled, deterministic, allow_tf32, fp32_precision)
    try:
        yield
    finally:
        set_flags(*orig)
