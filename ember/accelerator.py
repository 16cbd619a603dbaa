"""ember.accelerator: the device-neutral face of the current accelerator (torch.accelerator).

PyTorch programs written since 2.6 pick their device with
``torch.accelerator.current_accelerator()`` when ``torch.accelerator.is_available()``, and
fall back to the CPU otherwise. ember's only accelerator is CUDA (through CuPy), so every
function here answers for ember.cuda when CUDA is usable. Without it, as in a CPU-only
build of PyTorch, ``is_available()`` is False, ``current_accelerator()`` is None,
``device_count()`` is 0, and the calls that need a device raise RuntimeError ("Cannot access
accelerator device when none is available.").
"""
import contextlib

from ._device import device as _device_cls

__all__ = ["current_accelerator", "current_device_idx", "current_device_index",
           "current_stream", "device_count", "device_index", "empty_cache",
           "empty_host_cache", "get_memory_info", "is_available", "max_memory_allocated",
           "max_memory_reserved", "memory_allocated", "memory_reserved", "memory_stats",
           "reset_accumulated_memory_stats", "reset_peak_memory_stats", "set_device_idx",
           "set_device_index", "set_stream", "synchronize", "get_device_capability", "Graph"]

_NONE = "Cannot access accelerator device when none is available."


def _cuda():
    """ember.cuda when CUDA can run here, else PyTorch's RuntimeError."""
    from . import cuda
    if not cuda.is_available():
        raise RuntimeError(_NONE)
    return cuda


def _index(device):
    """The device index of an int / str / device / None (None: the current device)."""
    cuda = _cuda()
    if device is None:
        return cuda.current_device()
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    dev = _device_cls(device)
    if dev.type != "cuda":
        raise ValueError(f"{dev.type} doesn't match the current accelerator cuda.")
    return cuda.current_device() if dev.index is None else dev.index


def is_available():
    """Whether an accelerator (for ember: a CUDA device through CuPy) can be used."""
    from . import cuda
    return cuda.is_available()


def current_accelerator(check_available=False):
    """``device('cuda')`` when CUDA is usable, else None (ember is never built for another
    accelerator, so `check_available` changes nothing)."""
    return _device_cls("cuda") if is_available() else None


def device_count():
    """The number of accelerator devices (0 without one)."""
    from . import cuda
    return cuda.device_count() if cuda.is_available() else 0


def current_device_index():
    """The index of the current accelerator device."""
    return _cuda().current_device()


current_device_idx = current_device_index


def set_device_index(device):
    """Make `device` (an index, a device or a string) the current accelerator device."""
    _cuda().set_device(_index(device))


set_device_idx = set_device_index


@contextlib.contextmanager
def device_index(device):
    """Within the block the current accelerator device is `device` (None: unchanged)."""
    if device is None:
        yield
        return
    cuda = _cuda()
    previous = cuda.current_device()
    cuda.set_device(device)
    try:
        yield
    finally:
        cuda.set_device(previous)


def synchronize(device=None):
    """Wait for every kernel queued on `device` (default: the current one)."""
    _cuda().synchronize(_index(device))


def current_stream(device=None):
    """The stream the current (or given) accelerator device queues work on."""
    return _cuda().current_stream(_index(device))


def set_stream(stream):
    """Make `stream` the current stream of its device."""
    _cuda().set_stream(stream)


def empty_cache():
    """Hand the memory pool's unused blocks back to the device."""
    _cuda().empty_cache()


def empty_host_cache():
    """Release cached pinned host memory (ember keeps no such cache: nothing to release)."""
    _cuda()


def memory_allocated(device_index=None):
    return _cuda().memory_allocated(_index(device_index))


def max_memory_allocated(device_index=None):
    return _cuda().max_memory_allocated(_index(device_index))


def memory_reserved(device_index=None):
    return _cuda().memory_reserved(_index(device_index))


def max_memory_reserved(device_index=None):
    return _cuda().max_memory_reserved(_index(device_index))


def memory_stats(device_index=None):
    return _cuda().memory_stats(_index(device_index))


def reset_peak_memory_stats(device_index=None):
    _cuda().reset_peak_memory_stats(_index(device_index))


def reset_accumulated_memory_stats(device_index=None):
    _cuda().reset_accumulated_memory_stats(_index(device_index))


def get_memory_info(device_index=None):
    """(free bytes, total bytes) of the device."""
    return _cuda().mem_get_info(_index(device_index))


def get_device_capability(device=None):
    _cuda()
    raise NotImplementedError("torch.accelerator.get_device_capability is not implemented in "
                              "ember; use ember.cuda.get_device_capability")


class Graph:
    """Accelerator graph capture (torch.accelerator.Graph): not built in ember."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("torch.accelerator.Graph (graph capture) is not implemented "
                                  "in ember")
