"""The CPU backend: NumPy."""
import numpy as xp

name = "cpu"

# PyTorch CPU kernels with float and double versions only (their CUDA kernels take float16
# and bfloat16 too): half-precision inputs on this backend raise PyTorch's
# NotImplementedError (_ops/_util.check_half_kernel)
FULL_PRECISION_KERNELS = frozenset({"multi_margin_loss_cpu_kernel",
                                    "multilabel_margin_loss_forward_out_frame",
                                    "ctc_loss_cpu", "avg_pool3d_out_frame"})


def asnumpy(a):
    return a


def from_numpy(a, index=None):
    return a


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it at once.

    By default glibc serves blocks from 128 KiB up (raised adaptively) with fresh mmaps
    and trims the heap whenever its free top passes twice that, so the temporaries of
    every op come back to the process as new pages: a Transformer training step took
    ~4,000 page faults and 12-16 ms of system time (torch, with its own allocator
    settings, ~480 and 1.8 ms). With blocks under 32 MiB taken from the heap and up to
    256 MiB of free heap kept, the faults drop to about one per step. The price is up to
    256 MiB of freed memory the process keeps. Linux/glibc only; set
    EMBER_KEEP_FREED_MEMORY=0 to leave malloc alone.
    """
    import os
    import sys
    if not sys.platform.startswith("linux") or os.environ.get("EMBER_KEEP_FREED_MEMORY") == "0":
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20)
                    and libc.mallopt(m_trim_threshold, 256 << 20))
    except (OSError, AttributeError):   # not glibc
        return False


MALLOC_TUNED = keep_freed_memory()
