"""ember.nn.attention (``torch.nn.attention``): choosing the kernel behind
``F.scaled_dot_product_attention``.

PyTorch has several implementations (math, flash, memory-efficient, cuDNN) and
``sdpa_kernel`` restricts which it may pick. ember has one implementation, the math
one (softmax(Q K^T / sqrt(d) + mask) V, written with ember ops, on every device).
``sdpa_kernel`` is accepted and its choice recorded (``_cur_sdpa_kernel_backends``),
but whatever it names, attention runs that one implementation: the results are those of
PyTorch's math backend, up to rounding. On the CPU the choice decides what PyTorch's
selection would (ember/_ops/attention.py, _cpu_kernel): the output's layout (its flash
kernel's or its math one's), and PyTorch's RuntimeError when the allowed kernels cannot
take the inputs (memory-efficient or cuDNN alone; flash alone with dropout or 3-D inputs).
On CUDA every choice runs.
"""
import contextlib
from enum import IntEnum

from ...backends import cuda as _cuda_flags

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(IntEnum):
    """The attention kernels PyTorch knows (values as PyTorch's)."""
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __str__(self):   # PyTorch's prints SDPBackend.MATH (an IntEnum prints 0)
        return f"SDPBackend.{self.name}"

    def __format__(self, spec):
        return format(str(self), spec)


_ALL = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION,
        SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH, SDPBackend.OVERRIDEABLE]
# the switch of each backend in torch.backends.cuda (shared with its enable_*_sdp)
_FLAG = {SDPBackend.CUDNN_ATTENTION: "cudnn", SDPBackend.FLASH_ATTENTION: "flash",
         SDPBackend.EFFICIENT_ATTENTION: "mem_efficient", SDPBackend.MATH: "math",
         SDPBackend.OVERRIDEABLE: "overrideable"}


def _cur_sdpa_kernel_backends(with_priority=False):
    """The backends currently allowed (in priority order)."""
    return [b for b in _ALL if _cuda_flags._SDP[_FLAG[b]]]


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Within the block, allow only ``backends`` (one SDPBackend or a list) for
    scaled_dot_product_attention; the previous choice comes back on exit. ember runs its
    single (math) implementation whatever the choice (see the module docstring)."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of "
                             f"SDPBackend instances, got {type(backends).__name__}")
    if isinstance(backends, SDPBackend):
        backends = [backends]
    previous = dict(_cuda_flags._SDP)
    for b in _ALL:
        _cuda_flags._SDP[_FLAG[b]] = b in backends
    try:
        yield {}
    finally:
        _cuda_flags._SDP.update(previous)
