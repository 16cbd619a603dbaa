"""ember.cuda: is CUDA usable, devices, streams, events, memory statistics, seeding.

CUDA support comes from CuPy, an optional dependency. Without CuPy, every function
behaves as it does in a CPU-only build of PyTorch: ``is_available()`` is False,
``device_count()`` is 0, the memory statistics are 0, seeding is a no-op, and the calls
that need a device raise PyTorch's AssertionError ("Torch not compiled with CUDA
enabled"). With CuPy but no GPU they raise RuntimeError, as a CUDA build does on a
machine without a driver. ember samples random numbers with the CPU generator and copies
them to the device, so ``manual_seed`` (which seeds that generator) also makes CUDA
sampling reproducible; the CUDA seeding functions only validate their argument.

Memory statistics read CuPy's default memory pool: ``memory_allocated`` is the bytes in
use, ``memory_reserved`` the bytes the pool holds. CuPy keeps no peak counters, so the
``max_*`` values are the largest values seen by these functions since the last reset.
"""
import collections

from .._backend import cupy_backend as _cupy_backend
from .._device import device as _device_cls

__all__ = ["is_available", "device_count", "is_initialized", "init", "current_device",
           "set_device", "device", "device_of", "get_device_name", "get_device_properties",
           "get_device_capability", "get_arch_list", "get_gencode_flags", "synchronize",
           "is_bf16_supported", "manual_seed", "manual_seed_all", "seed", "seed_all",
           "initial_seed", "get_rng_state", "get_rng_state_all", "set_rng_state",
           "set_rng_state_all", "empty_cache", "memory_allocated", "max_memory_allocated",
           "memory_reserved", "max_memory_reserved", "memory_cached", "max_memory_cached",
           "reset_peak_memory_stats", "reset_max_memory_allocated", "reset_max_memory_cached",
           "reset_accumulated_memory_stats", "memory_stats", "memory_stats_as_nested_dict",
           "memory_summary", "mem_get_info", "ipc_collect", "set_per_process_memory_fraction",
           "Stream", "Event", "StreamContext", "stream", "current_stream", "default_stream",
           "set_stream", "OutOfMemoryError", "amp", "get_per_process_memory_fraction",
           "has_half", "has_magma", "is_tf32_supported", "is_current_stream_capturing",
           "get_sync_debug_mode", "set_sync_debug_mode", "nvtx"]

# the largest memory_allocated / memory_reserved values seen, per device index
_PEAK = {"allocated": {}, "reserved": {}}


class AcceleratorError(RuntimeError):
    """An error reported by the device (torch.AcceleratorError)."""


class OutOfMemoryError(RuntimeError):
    """Raised when the device runs out of memory (torch.OutOfMemoryError)."""


def is_available():
    """True when CuPy is installed and sees at least one CUDA device."""
    return _cupy_backend.is_available()


def device_count():
    """The number of CUDA devices CuPy sees (0 without CuPy or a GPU)."""
    if not is_available():
        return 0
    return _cupy_backend.xp.cuda.runtime.getDeviceCount()


def _lazy_init():
    """Raise PyTorch's error when CUDA cannot be used."""
    _cupy_backend.check_available()


def is_initialized():
    """Whether CUDA can run here (CuPy initialises itself on first use)."""
    return is_available()


def init():
    _lazy_init()


def _index(dev, optional=True):
    """The device index of an int / str / device / None (None: the current device)."""
    if dev is None:
        return current_device() if optional else 0
    if isinstance(dev, int) and not isinstance(dev, bool):
        return dev
    dev = _device_cls(dev)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return current_device() if dev.index is None else dev.index


def current_device():
    _lazy_init()
    return _cupy_backend.xp.cuda.Device().id


def set_device(device):
    """Make `device` the current CUDA device (a negative index is a no-op, as in PyTorch)."""
    if isinstance(device, (str, _device_cls)):
        dev = _device_cls(device)
        if dev.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {dev}")
        device = 0 if dev.index is None else dev.index
    if device < 0:
        return
    _lazy_init()
    _cupy_backend.xp.cuda.Device(device).use()


class device:
    """Context manager that makes `device` current inside the block (-1 or None: no-op)."""

    def __init__(self, device):
        self.idx = -1 if device is None else _index(device)
        self.prev_idx = -1

    def __enter__(self):
        if self.idx < 0:
            return
        if not is_available():
            raise RuntimeError("PyTorch was compiled without CUDA support")
        self.prev_idx = current_device()
        if self.prev_idx != self.idx:
            set_device(self.idx)

    def __exit__(self, *exc):
        if self.prev_idx >= 0 and self.prev_idx != self.idx:
            set_device(self.prev_idx)
        return False


class device_of(device):
    """Context manager making the device of tensor `obj` current (no-op for CPU tensors)."""

    def __init__(self, obj):
        dev = obj.device
        super().__init__(dev.index if dev.type == "cuda" else -1)


class _DeviceProperties:
    """What get_device_properties reports: name, total_memory, major, minor,
    multi_processor_count (read from the CUDA runtime through CuPy)."""

    def __init__(self, props):
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else name
        self.total_memory = int(props["totalGlobalMem"])
        self.major = int(props["major"])
        self.minor = int(props["minor"])
        self.multi_processor_count = int(props["multiProcessorCount"])
        self.is_integrated = bool(props.get("integrated", 0))
        self.is_multi_gpu_board = bool(props.get("isMultiGpuBoard", 0))

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None):
    _lazy_init()
    index = _index(device)
    if index < 0 or index >= device_count():
        raise AssertionError("Invalid device id")
    return _DeviceProperties(_cupy_backend.xp.cuda.runtime.getDeviceProperties(index))


def get_device_name(device=None):
    return get_device_properties(device).name


def get_device_capability(device=None):
    props = get_device_properties(device)
    return props.major, props.minor


def get_arch_list():
    """The CUDA architectures the kernels were built for: none without CUDA; CuPy compiles
    its kernels for the device at run time."""
    if not is_available():
        return []
    major, minor = get_device_capability()
    return [f"sm_{major}{minor}"]


def get_gencode_flags():
    return " ".join(f"-gencode compute={a.replace('sm', 'compute')},code={a}"
                    for a in get_arch_list())


def synchronize(device=None):
    """Wait for all kernels on `device` (default: the current device) to finish."""
    _lazy_init()
    with _cupy_backend.xp.cuda.Device(_index(device)):
        _cupy_backend.xp.cuda.Device().synchronize()
    _cupy_backend.cupy_kernels.raise_failed_checks()   # a device-side assert shows here


def is_bf16_supported(including_emulation=True):
    """bfloat16 needs compute capability 8.0 (Ampere) natively; emulation runs anywhere."""
    if not is_available():
        return False
    return including_emulation or get_device_capability()[0] >= 8


# ------------------------------------------------------------------------------ random

def manual_seed(seed):
    """Seed CUDA sampling; ember draws CUDA samples from the CPU generator (see module doc)."""
    int(seed)


def manual_seed_all(seed):
    int(seed)


def seed():
    pass


def seed_all():
    pass


def initial_seed():
    _lazy_init()
    from .._random import initial_seed as _initial_seed
    return _initial_seed()


def get_rng_state(device="cuda"):
    """The generator state behind CUDA sampling: the CPU generator's (see module doc)."""
    _lazy_init()
    from .._random import get_rng_state as _get_rng_state
    return _get_rng_state()


def get_rng_state_all():
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state(new_state, device="cuda"):
    """Without CUDA, PyTorch queues this call until CUDA initialises: a no-op here."""
    if is_available():
        from .._random import set_rng_state as _set_rng_state
        _set_rng_state(new_state)


def set_rng_state_all(new_states):
    for state in new_states:
        set_rng_state(state)


# ------------------------------------------------------------------------------ memory

def _pool():
    return _cupy_backend.xp.get_default_memory_pool()


def _pool_bytes(kind, device):
    """Bytes used ("allocated") or held ("reserved") by CuPy's pool on `device`; 0 without
    CUDA. Updates the peak seen."""
    if not is_available():
        return 0
    index = _index(device)
    with _cupy_backend.xp.cuda.Device(index):
        n = _pool().used_bytes() if kind == "allocated" else _pool().total_bytes()
    peaks = _PEAK[kind]
    peaks[index] = max(peaks.get(index, 0), n)
    return n


def memory_allocated(device=None):
    """Bytes of device memory held by tensors (CuPy's pool, used blocks)."""
    return _pool_bytes("allocated", device)


def max_memory_allocated(device=None):
    """The largest memory_allocated seen since the last reset_peak_memory_stats."""
    n = memory_allocated(device)
    return _PEAK["allocated"].get(_index(device), n) if is_available() else 0


def memory_reserved(device=None):
    """Bytes of device memory held by the caching allocator (CuPy's pool, all blocks)."""
    return _pool_bytes("reserved", device)


def max_memory_reserved(device=None):
    n = memory_reserved(device)
    return _PEAK["reserved"].get(_index(device), n) if is_available() else 0


def memory_cached(device=None):
    """Deprecated name of memory_reserved."""
    return memory_reserved(device)


def max_memory_cached(device=None):
    """Deprecated name of max_memory_reserved."""
    return max_memory_reserved(device)


def reset_peak_memory_stats(device=None):
    """Restart the peaks from the current values."""
    _lazy_init()
    index = _index(device)
    for kind in _PEAK:
        _PEAK[kind].pop(index, None)
    _pool_bytes("allocated", index)
    _pool_bytes("reserved", index)


def reset_max_memory_allocated(device=None):
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device=None):
    reset_peak_memory_stats(device)


def reset_accumulated_memory_stats(device=None):
    """CuPy keeps no accumulated counters: nothing to reset once CUDA is there."""
    _lazy_init()


def memory_stats(device=None):
    """The statistics CuPy's pool can give, under PyTorch's key names; empty without CUDA."""
    stats = collections.OrderedDict()
    if not is_available():
        return stats
    stats["allocated_bytes.all.current"] = memory_allocated(device)
    stats["allocated_bytes.all.peak"] = max_memory_allocated(device)
    stats["reserved_bytes.all.current"] = memory_reserved(device)
    stats["reserved_bytes.all.peak"] = max_memory_reserved(device)
    return stats


def memory_stats_as_nested_dict(device=None):
    nested = {}
    for key, value in memory_stats(device).items():
        node = nested
        *path, last = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


def memory_summary(device=None, abbreviated=False):
    """A short table of the pool's current and peak use."""
    _lazy_init()
    stats = memory_stats(device)
    mib = 1024 * 1024
    lines = [f"|{'ember CUDA memory summary, device ' + str(_index(device)):^60}|",
             f"|{'':-^60}|",
             f"| {'Metric':<24}{'Cur usage':>17}{'Peak usage':>17} |",
             f"| {'Allocated memory':<24}{stats['allocated_bytes.all.current'] / mib:>14.1f} MiB"
             f"{stats['allocated_bytes.all.peak'] / mib:>14.1f} MiB |",
             f"| {'GPU reserved memory':<24}{stats['reserved_bytes.all.current'] / mib:>14.1f} MiB"
             f"{stats['reserved_bytes.all.peak'] / mib:>14.1f} MiB |"]
    return "\n".join(lines) + "\n"


def mem_get_info(device=None):
    """(free, total) bytes of device memory."""
    _lazy_init()
    with _cupy_backend.xp.cuda.Device(_index(device)):
        return _cupy_backend.xp.cuda.runtime.memGetInfo()


def empty_cache():
    """Release cached blocks of CuPy's memory pool (no-op without CUDA)."""
    if is_available():
        _pool().free_all_blocks()


def ipc_collect():
    _lazy_init()


def set_per_process_memory_fraction(fraction, device=None):
    """Cap the pool at `fraction` of the device's memory."""
    _lazy_init()
    if not 0 <= fraction <= 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    index = _index(device)
    with _cupy_backend.xp.cuda.Device(index):
        _pool().set_limit(fraction=fraction)
    _FRACTION[index] = fraction


_FRACTION = {}   # per device index: the last set_per_process_memory_fraction (default 1)


def get_per_process_memory_fraction(device=None):
    """The fraction set by set_per_process_memory_fraction (1.0 when never set)."""
    _lazy_init()
    return float(_FRACTION.get(_index(device), 1.0))


# PyTorch's build facts: half precision kernels exist, MAGMA is not used
has_half = True
has_magma = False


def is_tf32_supported():
    """Whether the current device does TF32 matrix products (compute capability >= 8.0)."""
    if not is_available():
        return False
    return get_device_capability() >= (8, 0)


def is_current_stream_capturing():
    """Whether a CUDA graph capture is running on the current stream: never, as ember does
    not capture graphs (PyTorch's CPU build raises RuntimeError here)."""
    if not is_available():
        raise RuntimeError("ember.cuda.is_current_stream_capturing: CUDA is not available")
    return False


def get_sync_debug_mode():
    """0: ember does not watch for synchronizing CUDA calls."""
    _lazy_init()
    return 0


def set_sync_debug_mode(debug_mode):
    """Only the default mode (0, "default") exists in ember: warning or raising on
    synchronizing calls ("warn", "error") is not built."""
    _lazy_init()
    if debug_mode in (0, "default"):
        return
    if debug_mode in (1, 2, "warn", "error"):
        raise NotImplementedError("ember.cuda.set_sync_debug_mode: ember does not detect "
                                  "synchronizing CUDA calls; only mode 0 ('default') exists")
    raise RuntimeError('invalid value of debug_mode, expected one of `default`, `warn`, `error`')


# ------------------------------------------------------------------------------ streams, events

from .._streams import Stream as _GenericStream, Event as _GenericEvent  # noqa: E402

class Stream(_GenericStream):
    """A CUDA stream (a CuPy stream); ``Stream()`` without CUDA raises PyTorch's RuntimeError."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, device=None, priority=0, **kwargs):
        if not is_available():
            raise RuntimeError("torch.cuda.Stream requires CUDA support")
        with _cupy_backend.xp.cuda.Device(_index(device)):
            self._stream = _cupy_backend.xp.cuda.Stream(non_blocking=True, priority=priority)
        self.device = _device_cls("cuda", _index(device))

    @classmethod
    def _wrap(cls, cupy_stream, index):
        s = cls.__new__(cls)
        s._stream, s.device = cupy_stream, _device_cls("cuda", index)
        return s

    @property
    def cuda_stream(self):
        return self._stream.ptr

    def synchronize(self):
        self._stream.synchronize()

    def query(self):
        return self._stream.done

    def wait_event(self, event):
        self._stream.wait_event(event._event)

    def wait_stream(self, stream):
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    stream_id = property(lambda self: self._stream.ptr)

    def __eq__(self, other):
        return isinstance(other, Stream) and self.cuda_stream == other.cuda_stream

    def __repr__(self):
        return f"<torch.cuda.Stream device={self.device} cuda_stream={self.cuda_stream:#x}>"

    def __hash__(self):
        return hash((self.cuda_stream, self.device))

    def __enter__(self):
        self._stream.__enter__()
        return self

    def __exit__(self, *exc):
        return self._stream.__exit__(*exc)


class Event(_GenericEvent):
    """A CUDA event (a CuPy event) for synchronisation and timing."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        if not is_available():
            raise RuntimeError("Tried to instantiate dummy base class Event")
        self._event = _cupy_backend.xp.cuda.Event(block=blocking,
                                                  disable_timing=not enable_timing,
                                                  interprocess=interprocess)

    def record(self, stream=None):
        stream = current_stream() if stream is None else stream
        self._event.record(stream._stream)

    def wait(self, stream=None):
        stream = current_stream() if stream is None else stream
        stream.wait_event(self)

    def query(self):
        return self._event.done

    def synchronize(self):
        self._event.synchronize()

    def elapsed_time(self, end_event):
        """Milliseconds between this event and `end_event` (both recorded, timing enabled)."""
        return _cupy_backend.xp.cuda.get_elapsed_time(self._event, end_event._event)

    def __repr__(self):
        return f"<torch.cuda.Event {self._event.ptr:#x}>"


def current_stream(device=None):
    _lazy_init()
    return Stream._wrap(_cupy_backend.xp.cuda.get_current_stream(), _index(device))


def default_stream(device=None):
    _lazy_init()
    stream = _cupy_backend.xp.cuda.Stream.null
    return Stream._wrap(stream, _index(device))


def set_stream(stream):
    """Make `stream` current (None: no-op)."""
    if stream is None:
        return
    stream._stream.use()


class StreamContext:
    """Context manager that makes `stream` current inside the block (None: no-op)."""

    def __init__(self, stream):
        self.stream = stream
        self.prev = None

    def __enter__(self):
        if self.stream is None:
            return None
        self.prev = current_stream()
        self.stream._stream.use()
        return self.stream

    def __exit__(self, *exc):
        if self.prev is not None:
            self.prev._stream.use()
        return False


def stream(stream):
    """``with ember.cuda.stream(s):`` runs the block's kernels on `s`."""
    return StreamContext(stream)


from . import amp  # noqa: E402  (deprecated torch.cuda.amp names)
from . import nvtx  # noqa: E402,F401

# torch.cuda.FloatTensor, ...: the legacy typed constructors of CUDA tensors
from .. import _dtype as _dt  # noqa: E402
from .._tensor import _make_legacy  # noqa: E402
FloatTensor = _make_legacy("FloatTensor", _dt.float32, "cuda")
DoubleTensor = _make_legacy("DoubleTensor", _dt.float64, "cuda")
HalfTensor = _make_legacy("HalfTensor", _dt.float16, "cuda")
BFloat16Tensor = _make_legacy("BFloat16Tensor", _dt.bfloat16, "cuda")
ByteTensor = _make_legacy("ByteTensor", _dt.uint8, "cuda")
CharTensor = _make_legacy("CharTensor", _dt.int8, "cuda")
ShortTensor = _make_legacy("ShortTensor", _dt.int16, "cuda")
IntTensor = _make_legacy("IntTensor", _dt.int32, "cuda")
LongTensor = _make_legacy("LongTensor", _dt.int64, "cuda")
BoolTensor = _make_legacy("BoolTensor", _dt.bool, "cuda")

# torch.cuda.FloatStorage, ...: the legacy typed storages of GPU memory (ember/storage/_legacy.py)
from ..storage import CUDA_LEGACY_STORAGES as _LEGACY_STORAGES  # noqa: E402
globals().update(_LEGACY_STORAGES)
