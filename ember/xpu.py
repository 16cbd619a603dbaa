"""ember.xpu (torch.xpu): Intel GPUs, which ember does not drive. Programs ask
``torch.xpu.is_available()`` when they choose a device (pytorch/examples'
mnist_forward_forward, mnist_rnn ...), so the module answers as a PyTorch build without XPU:
nothing is available, seeding and cache release do nothing, memory statistics are 0, and the
calls that need a device raise PyTorch's AssertionError."""

__all__ = ["is_available", "device_count", "is_initialized", "is_bf16_supported",
           "manual_seed", "manual_seed_all", "seed", "seed_all", "empty_cache",
           "memory_allocated", "max_memory_allocated", "memory_reserved",
           "max_memory_reserved", "init", "synchronize", "current_device", "set_device",
           "get_device_name", "get_device_properties", "get_rng_state", "set_rng_state"]

_NOT_COMPILED = "Torch not compiled with XPU enabled"


def is_available():
    """False: ember has no XPU backend."""
    return False


def device_count():
    return 0


def is_initialized():
    return False


def is_bf16_supported(including_emulation=True):
    return False


def manual_seed(seed):
    """No XPU generator to seed (as PyTorch without XPU: silently nothing)."""


def manual_seed_all(seed):
    """No XPU generators to seed."""


def seed():
    """No XPU generator to seed."""


def seed_all():
    """No XPU generators to seed."""


def empty_cache():
    """No XPU memory to release."""


def memory_allocated(device=None):
    return 0


def max_memory_allocated(device=None):
    return 0


def memory_reserved(device=None):
    return 0


def max_memory_reserved(device=None):
    return 0


def _not_compiled(*args, **kwargs):
    raise AssertionError(_NOT_COMPILED)


init = synchronize = current_device = set_device = _not_compiled
get_device_name = get_device_properties = get_rng_state = set_rng_state = _not_compiled
