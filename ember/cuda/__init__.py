"""ember.cuda: is CUDA usable, how many devices, seeding.

CUDA support comes from CuPy, an optional dependency. Without CuPy or without a GPU,
``is_available()`` is False, ``device_count()`` is 0, seeding is a no-op, and the calls
that need a device raise PyTorch's AssertionError ("Torch not compiled with CUDA
enabled"). ember samples random numbers with the CPU generator and copies them to the
device, so ``manual_seed`` (which seeds that generator) also makes CUDA sampling
reproducible; the CUDA seeding functions only validate their argument.
"""
from .._backend import cupy_backend as _cupy_backend

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all", "seed", "seed_all",
           "initial_seed", "synchronize", "current_device", "get_device_name", "empty_cache",
           "is_bf16_supported"]


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


def synchronize(device=None):
    """Wait for all kernels on the current device to finish."""
    _lazy_init()
    _cupy_backend.xp.cuda.Device().synchronize()


def current_device():
    _lazy_init()
    return _cupy_backend.xp.cuda.Device().id


def get_device_name(device=None):
    _lazy_init()
    index = device if isinstance(device, int) else getattr(device, "index", None) or 0
    props = _cupy_backend.xp.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else name


def empty_cache():
    """Release cached blocks of CuPy's memory pool (no-op without CUDA)."""
    if is_available():
        _cupy_backend.xp.get_default_memory_pool().free_all_blocks()


def is_bf16_supported(including_emulation=True):
    return is_available()
