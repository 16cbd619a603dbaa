"""ember.mps (torch.mps): Apple's Metal GPUs, which ember does not drive. Programs ask
``torch.mps.is_available()`` (or ``torch.backends.mps.is_available()``) when they choose a
device, so the module answers as a PyTorch build without MPS: nothing is available,
``manual_seed`` does nothing, and the calls that need the backend raise PyTorch's
RuntimeError."""

__all__ = ["is_available", "device_count", "manual_seed", "seed", "get_rng_state",
           "set_rng_state", "synchronize", "empty_cache", "set_per_process_memory_fraction",
           "current_allocated_memory", "driver_allocated_memory", "recommended_max_memory"]


def _no_backend(what):
    raise RuntimeError(f"Cannot execute {what}() without MPS backend.")


def is_available():
    """False: ember has no MPS backend."""
    return False


def device_count():
    return 0


def manual_seed(seed):
    """Nothing to seed (as PyTorch without MPS)."""
    return None


def seed():
    _no_backend("getDefaultGenerator")


def get_rng_state(device="mps"):
    _no_backend("getDefaultGenerator")


def set_rng_state(new_state, device="mps"):
    _no_backend("getDefaultGenerator")


def synchronize():
    _no_backend("deviceSynchronize")


def empty_cache():
    _no_backend("emptyCache")


def set_per_process_memory_fraction(fraction):
    _no_backend("setMemoryFraction")


def current_allocated_memory():
    _no_backend("getCurrentAllocatedMemory")


def driver_allocated_memory():
    _no_backend("getDriverAllocatedMemory")


def recommended_max_memory():
    _no_backend("getRecommendedMaxMemory")
