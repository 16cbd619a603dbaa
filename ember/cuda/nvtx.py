"""torch.cuda.nvtx: NVTX ranges and marks for Nsight timelines, through CuPy's NVTX
bindings. Without CUDA (or without CuPy's NVTX) every call raises PyTorch's RuntimeError."""
import contextlib

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]

_stack = []   # range_push depth, as PyTorch's range_push returns it


def _nvtx():
    from .._backend import cupy_backend
    nvtx = None
    if cupy_backend.is_available():
        nvtx = getattr(cupy_backend.xp.cuda, "nvtx", None)
    if nvtx is None:
        raise RuntimeError("NVTX functions not installed. Are you sure you have a CUDA build?")
    return nvtx


def range_push(msg):
    """Open a nested range named `msg`; returns the depth of the range (0-based)."""
    _nvtx().RangePush(msg)
    _stack.append(msg)
    return len(_stack) - 1


def range_pop():
    """Close the innermost range; returns its depth."""
    _nvtx().RangePop()
    if _stack:
        _stack.pop()
    return len(_stack)


def range_start(msg):
    """Open a range that may end on another thread; returns its id for range_end."""
    return _nvtx().RangeStartEx(msg) if hasattr(_nvtx(), "RangeStartEx") else range_push(msg)


def range_end(range_id):
    nvtx = _nvtx()
    if hasattr(nvtx, "RangeEnd"):
        nvtx.RangeEnd(range_id)
    else:
        range_pop()


def mark(msg):
    """An instantaneous event named `msg`."""
    _nvtx().Mark(msg)


@contextlib.contextmanager
def range(msg, *args, **kwargs):
    """``with nvtx.range("step {}", i):`` a range named msg.format(*args, **kwargs)."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
