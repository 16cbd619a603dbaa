"""Random number generators: ember.Generator is PyTorch's CPU generator, a 32-bit Mersenne
Twister (mt19937) seeded as PyTorch seeds it.

The engine is NumPy's MT19937 bit generator, which reproduces mt19937's raw stream; the
transforms from raw words to samples (uniform, normal, integers, permutations, Bernoulli
...) live in ember/_sampling.py and follow PyTorch's CPU kernels, so that a program seeded
with ``manual_seed(s)`` draws the same numbers as it does under PyTorch: the same initial
weights, dropout masks and DataLoader shuffles. ``get_state()`` returns PyTorch's 5056-byte
state layout, so states move between the two libraries (``set_rng_state`` of a state a
PyTorch checkpoint saved).

Besides the mt19937 state the generator keeps what PyTorch keeps: the initial seed and
the second sample of the last Box-Muller pair of double normals (normal_distribution's
cache), which the next normal draw of fewer than 16 values uses first.

CUDA tensors are sampled with these same (CPU) generators and copied to the device: the
same seed gives the same values on every device (PyTorch's CUDA generator is a different
algorithm, Philox, so CUDA values differ from PyTorch's on a GPU), and ``manual_seed`` /
``get_rng_state`` / ``fork_rng`` cover CUDA sampling too.
"""
import struct

import numpy as np

from ._device import as_device

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "default_generator", "fork_rng", "thread_safe_generator"]

_MT_N = 624                  # words of mt19937 state
_STATE_BYTES = 5056          # sizeof(CPUGeneratorImplState) in PyTorch
# CPUGeneratorImplState: int64 the_initial_seed, int32 left, int32 seeded, uint64 next,
# uint64 state[624], double normal_x, normal_y, normal_rho, int32 normal_is_valid (+4 pad),
# float next_float_normal_sample, bool is_next_float_normal_sample_valid (+3 pad)
_HEAD = struct.Struct("<qiiQ")
_NORMAL = struct.Struct("<dddi")
_FLOAT_NORMAL = struct.Struct("<f?")
_NORMAL_AT = _HEAD.size + 8 * _MT_N          # 5016
_FLOAT_NORMAL_AT = _NORMAL_AT + 32           # 5048


def _seeded_words(seed):
    """mt19937's state after init_genrand(seed) (the low 32 bits of the seed, as PyTorch)."""
    return np.random.RandomState(seed & 0xFFFF_FFFF).get_state()[1]


class Generator:
    """A random number generator (``torch.Generator``)."""

    def __init__(self, device="cpu"):
        self.device = as_device(device)
        self._mt = np.random.MT19937()
        self._reseed(67280421310721)

    def _reseed(self, seed):
        self._seed = seed
        self._mt.state = {"bit_generator": "MT19937",
                          "state": {"key": _seeded_words(seed), "pos": _MT_N}}
        self._next_word = 0         # PyTorch's `next` while the freshly seeded state is unused
        self._normal = None         # cached second double normal of a Box-Muller pair
        self._float_normal = None   # PyTorch's float normal cache (kept for the state layout)

    def manual_seed(self, seed):
        # a Python int only, as PyTorch's binding takes (torch.manual_seed converts first)
        if type(seed) is bool or not isinstance(seed, int):
            if isinstance(seed, np.integer):
                raise TypeError("an integer is required")
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        if seed < -0x8000_0000_0000_0000 or seed > 0xFFFF_FFFF_FFFF_FFFF:
            raise ValueError("Overflow when unpacking long long")
        self._reseed(seed & 0xFFFF_FFFF_FFFF_FFFF)
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    # -- raw words (ember/_sampling.py turns them into samples)

    def _words32(self, n):
        """The next `n` 32-bit outputs of mt19937 (as uint64)."""
        self._next_word = None
        return self._mt.random_raw(n)

    def _words64(self, n):
        """The next `n` 64-bit values, each made of two 32-bit outputs (first one high), as
        PyTorch's random64()."""
        w = self._words32(2 * n)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    # -- state, in PyTorch's byte layout

    def _snapshot(self):
        st = self._mt.state["state"]
        return st["key"].copy(), st["pos"], self._next_word, self._normal, self._float_normal

    def _restore(self, snap):
        key, pos, self._next_word, self._normal, self._float_normal = snap
        self._mt.state = {"bit_generator": "MT19937", "state": {"key": key.copy(), "pos": pos}}

    def get_state(self):
        from ._ops.creation import tensor
        from . import _dtype
        key, pos, next_word, normal, float_normal = self._snapshot()
        buf = bytearray(_STATE_BYTES)
        seed = self._seed - (1 << 64) if self._seed >= 1 << 63 else self._seed
        # mt19937 regenerates when `left` reaches 0 before a draw: left = 625 - pos
        _HEAD.pack_into(buf, 0, seed, _MT_N + 1 - pos, 1,
                        pos if next_word is None else next_word)
        buf[_HEAD.size:_NORMAL_AT] = key.astype("<u8").tobytes()
        _NORMAL.pack_into(buf, _NORMAL_AT, 0.0, normal or 0.0, 0.0, normal is not None)
        _FLOAT_NORMAL.pack_into(buf, _FLOAT_NORMAL_AT, float_normal or 0.0,
                                float_normal is not None)
        return tensor(np.frombuffer(bytes(buf), dtype=np.uint8).copy(), dtype=_dtype.uint8)

    def set_state(self, new_state):
        from . import _dtype
        from ._tensor import Tensor
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype is not _dtype.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = new_state._cpu_array().reshape(-1).tobytes()
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(f"Expected either a CPUGeneratorImplStateLegacy of size 5048 or a "
                               f"CPUGeneratorImplState of size 5056 but found the input RNG state "
                               f"size to be {len(raw)}")
        seed, left, seeded, next_word = _HEAD.unpack_from(raw, 0)
        if not (seeded and 0 < left <= _MT_N and next_word <= _MT_N):
            raise RuntimeError("Invalid mt19937 state")
        key = np.frombuffer(raw, dtype="<u8", count=_MT_N, offset=_HEAD.size)
        _, normal_y, _, normal_valid = _NORMAL.unpack_from(raw, _NORMAL_AT)
        float_normal, float_valid = _FLOAT_NORMAL.unpack_from(raw, _FLOAT_NORMAL_AT)
        self._seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        self._restore(((key & 0xFFFF_FFFF).astype(np.uint32), _MT_N + 1 - left,
                       next_word if left == 1 else None,
                       normal_y if normal_valid else None,
                       float_normal if float_valid else None))
        return self

    def clone_state(self):
        g = Generator(self.device)
        g.set_state(self.get_state())
        return g

    def get_offset(self):
        raise RuntimeError("CPU Generator does not use offset")

    def set_offset(self, offset):
        raise RuntimeError("CPU Generator does not use offset")

    def graphsafe_get_state(self):
        raise NotImplementedError("graphsafe_get_state is not supported in this Generator")

    def graphsafe_set_state(self, state):
        raise NotImplementedError("graphsafe_set_state is not supported in this Generator")


Generator.__module__ = "ember._C"   # PyTorch's class is torch._C.Generator (reprs, pickles)

# PyTorch seeds its default CPU generator from the OS's entropy at start-up (a program that
# never calls manual_seed draws other numbers on every run); a new Generator() starts from
# the fixed default seed
default_generator = Generator()
default_generator.seed()


# Called with the Generator before every draw while ember.func.vmap watches them
# (randomness="error" raises, "same" replays one state per slice); None otherwise.
_draw_hook = None


def gen_of(generator):
    """The Generator to draw from: `generator`, or the default one."""
    g = generator or default_generator
    if _draw_hook is not None:
        _draw_hook(g)
    return g


def manual_seed(seed):
    """Seed the default generator (and CUDA's, when present); returns it."""
    seed = int(seed)
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


def thread_safe_generator():
    """The generator of the DataLoader thread worker calling, or None (use the default
    generator): ember's DataLoader workers are processes, so always None."""
    return None


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
            # PyTorch saves and restores get_rng_state(), which holds the initial seed too
            self.state = default_generator._snapshot(), default_generator._seed

    def __exit__(self, *exc):
        if self.enabled:
            default_generator._restore(self.state[0])
            default_generator._seed = self.state[1]
        return False
