"""ember.Stream and ember.Event (torch.Stream, torch.Event): device-agnostic streams and
events. On the CPU there is one stream, always done: ``query()`` is True and
``synchronize()`` returns at once, and recording an event raises PyTorch's RuntimeError
(the CPU backend has no events). On CUDA they are ember.cuda's Stream and Event, whose
classes derive from these."""
from ._device import device as _device_cls

__all__ = ["Stream", "Event"]

_NO_EVENTS = "cpu backend doesn't support events."
_DEVICE_TYPE = {"cpu": 0, "cuda": 1, "meta": 9}   # c10::DeviceType's numbers, as torch reports


def _device_of(device):
    if device is None:
        return _device_cls("cpu")
    return device if isinstance(device, _device_cls) else _device_cls(device)


def _check_backend(dev):
    if dev.type == "cuda":
        from . import cuda
        if not cuda.is_available():
            raise RuntimeError("PyTorch is not linked with support for cuda devices")


class Stream:
    """A stream of device `device` (default: the CPU). ``Stream('cuda')`` is an
    ``ember.cuda.Stream``."""

    def __new__(cls, device=None, *, priority=0, **kwargs):
        dev = _device_of(device)
        if cls is Stream and dev.type == "cuda":
            _check_backend(dev)
            from . import cuda
            return cuda.Stream(dev, priority=priority)
        return super().__new__(cls)

    def __init__(self, device=None, *, priority=0, **kwargs):
        self.device = _device_of(device)
        _check_backend(self.device)

    device_type = property(lambda self: _DEVICE_TYPE.get(self.device.type, -1))
    device_index = property(lambda self: -1 if self.device.index is None else self.device.index)
    stream_id = property(lambda self: 0)

    def query(self):
        """True: the CPU's work is done when the call returns."""
        return True

    def synchronize(self):
        return None

    def wait_event(self, event):
        return None

    def wait_stream(self, stream):
        raise RuntimeError(_NO_EVENTS)

    def record_event(self, event=None):
        raise RuntimeError(_NO_EVENTS)

    def __eq__(self, other):
        return type(other) is type(self) and other.device == self.device and \
            other.stream_id == self.stream_id

    def __hash__(self):
        return hash((self.device, self.stream_id))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return (f"torch.Stream device_type={self.device.type}, device_index={self.device_index}, "
                f"stream_id={self.stream_id}")


class Event:
    """An event of device `device` (default: the CPU). ``Event('cuda')`` is an
    ``ember.cuda.Event``."""

    def __new__(cls, device=None, *, enable_timing=False, blocking=False, interprocess=False):
        dev = _device_of(device)
        if cls is Event and dev.type == "cuda":
            _check_backend(dev)
            from . import cuda
            return cuda.Event(enable_timing=enable_timing, blocking=blocking,
                              interprocess=interprocess)
        return super().__new__(cls)

    def __init__(self, device=None, *, enable_timing=False, blocking=False, interprocess=False):
        self.device = _device_of(device)
        self._timing = bool(enable_timing)
        self._flag = int(bool(enable_timing))

    event_id = property(lambda self: 0)

    def query(self):
        return True

    def record(self, stream=None):
        raise RuntimeError(_NO_EVENTS)

    def wait(self, stream=None):
        return None

    def synchronize(self):
        return None

    def elapsed_time(self, end_event):
        if not (self._timing and getattr(end_event, "_timing", False)):
            raise ValueError("Both events must be created with argument 'enable_timing=True'.")
        raise RuntimeError(_NO_EVENTS)

    def __repr__(self):
        index = -1 if self.device.index is None else self.device.index
        return (f"torch.Event device_type={self.device.type}, device_index={index}, "
                f"event_flag={self._flag}, event_id={self.event_id}")
