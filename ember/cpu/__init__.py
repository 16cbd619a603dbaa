"""ember.cpu (``torch.cpu``): the CPU as a device module, for code written against the
device-generic API (``getattr(torch, device.type).synchronize()``).

NumPy runs every operation to completion before returning, so there is nothing to wait
for: ``synchronize`` returns at once, a ``Stream`` orders nothing and an ``Event`` is
always complete, as in PyTorch's CPU module.
"""
import contextlib

__all__ = ["is_available", "is_initialized", "synchronize", "current_device", "current_stream",
           "stream", "set_device", "device_count", "Stream", "StreamContext", "Event"]


def is_available():
    """Always True."""
    return True


def is_initialized():
    """Always True."""
    return True


def synchronize(device=None):
    """Wait for the CPU's work: already done when each op returns."""


def current_device():
    return "cpu"


def set_device(device):
    """Accepted and ignored (there is one CPU device), as in PyTorch."""


def device_count():
    return 1


class Stream:
    """A CPU stream: work is ordered by the program itself, so it records and waits for
    nothing."""

    def __init__(self, priority=-1):
        self.priority = priority

    def wait_stream(self, stream):
        pass

    def wait_event(self, event):
        pass

    def record_event(self, event=None):
        return event if event is not None else Event()


class Event:
    """A CPU event: complete as soon as it is recorded."""

    def query(self):
        return True

    def record(self, stream=None):
        pass

    def synchronize(self):
        pass

    def wait(self, stream=None):
        pass


_default_stream = Stream()
_current = [_default_stream]


def current_stream(device=None):
    return _current[0]


class StreamContext(contextlib.AbstractContextManager):
    """Make ``stream`` the current CPU stream within the block."""

    def __init__(self, stream):
        self.stream = stream
        self.prev = None

    def __enter__(self):
        if self.stream is not None:
            self.prev = _current[0]
            _current[0] = self.stream

    def __exit__(self, *exc):
        if self.prev is not None:
            _current[0] = self.prev
            self.prev = None
        return False


def stream(stream):
    """``with ember.cpu.stream(s):`` (StreamContext)."""
    return StreamContext(stream)


from . import amp  # noqa: E402,F401  (deprecated torch.cpu.amp names)
