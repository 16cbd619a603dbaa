"""ember.nn.attention (``torch.nn.attention``): choosing the kernel behind
``F.scaled_dot_product_attention``.

PyTorch has several implementations (math, flash, memory-efficient, cuDNN) and
``sdpa_kernel`` restricts which it may pick. ember has one implementation, the math
one (softmax(Q K^T / sqrt(d) + mask) V, written with ember ops, on every device).
``sdpa_kernel`` is accepted and its choice recorded (``_cur_sdpa_kernel_backends``),
but whatever it names, attention runs that one implementation: the results are those of
PyTorch's math backend, up to rounding. Restricting to a kernel PyTorch lacks for the
inputs (where PyTorch would raise "No available kernel") runs normally in ember.
"""
import contextlib
from enum import IntEnum

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


_ALL = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION,
        SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH, SDPBackend.OVERRIDEABLE]
_enabled = list(_ALL)


def _cur_sdpa_kernel_backends(with_priority=False):
    """The backends currently allowed (in priority order)."""
    return list(_enabled)


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
    previous = list(_enabled)
    _enabled[:] = list(dict.fromkeys(backends))
    try:
        yield {}
    finally:
        _enabled[:] = previous
