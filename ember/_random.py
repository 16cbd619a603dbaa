"""Random number generators: ember.Generator wraps a NumPy PCG64 generator.

ember cannot reproduce PyTorch's random streams bit for bit; it reproduces its
behaviour: manual_seed makes runs repeatable, generators are independent objects,
states can be saved and restored.

CUDA tensors are sampled with these same (CPU) generators and copied to the device:
the same seed gives the same values on every device, and ``manual_seed`` /
``get_rng_state`` / ``fork_rng`` cover CUDA sampling too. The price is a host draw and a
copy per call (noticeable for large tensors, e.g. dropout masks).
"""
import json

import numpy as np

from ._device import CPU, as_device

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "default_generator", "fork_rng"]


class Generator:
    """A random number generator (``torch.Generator``)."""

    def __init__(self, device="cpu"):
        self.device = as_device(device)
        self._seed = 67280421310721
        self._np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < -0x8000_0000_0000_0000 or seed > 0xFFFF_FFFF_FFFF_FFFF:
            raise ValueError("Overflow when unpacking long long")
        seed &= 0xFFFF_FFFF_FFFF_FFFF
        self._seed = seed
        self._np = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from ._ops.creation import tensor
        from . import _dtype
        raw = json.dumps({"seed": self._seed, "state": self._np.bit_generator.state}).encode()
        return tensor(list(raw), dtype=_dtype.uint8)

    def set_state(self, new_state):
        raw = bytes(new_state._cpu_array().astype(np.uint8).tolist())
        try:
            st = json.loads(raw.decode())
            self._seed = st["seed"]
            bg = np.random.PCG64()
            bg.state = st["state"]
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"Invalid RNG state: {e}") from None
        self._np = np.random.Generator(bg)
        return self

    def clone_state(self):
        g = Generator(self.device)
        g.set_state(self.get_state())
        return g


default_generator = Generator()


# Called with the Generator before every draw while ember.func.vmap watches them
# (randomness="error" raises, "same" replays one state per slice); None otherwise.
_draw_hook = None


def gen_of(generator):
    """The NumPy generator behind an optional ember Generator argument."""
    g = generator or default_generator
    if _draw_hook is not None:
        _draw_hook(g)
    return g._np


def manual_seed(seed):
    """Seed the default generator (and CUDA's, when present); returns it."""
    default_generator.manual_seed(seed)
    try:
        from . import cuda
        if cuda.is_available():
            cuda.manual_seed_all(seed)
    except ImportError:
        pass
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


class fork_rng:
    """Context manager that restores the default generator's state on exit."""

    def __init__(self, devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
                 device_type="cuda"):
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            self.state = get_rng_state()

    def __exit__(self, *exc):
        if self.enabled:
            set_rng_state(self.state)
        return False
