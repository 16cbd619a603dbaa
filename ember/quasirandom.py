"""ember.quasirandom (``torch.quasirandom``): Sobol low-discrepancy sequences.

A Sobol sequence in dimension d is built from direction numbers v_j (j = 0..MAXBIT-1, as
MAXBIT-bit integers): point k is the XOR of the v_j over the bits set in the Gray code of
k, built up incrementally: ``quasi ^= v[rightmost_zero(k)]``, and the point's coordinate
is ``quasi / 2**MAXBIT``. The direction numbers come from a primitive polynomial
``x^s + a_1 x^(s-1) + ... + a_(s-1) x + 1`` over GF(2) and initial values m_1..m_s::

    m_j = 2 a_1 m_(j-1) ^ 4 a_2 m_(j-2) ^ ... ^ 2^s m_(j-s) ^ m_(j-s),  v_j = m_j 2^(MAXBIT-1-j)

ember uses Joe & Kuo's numbers for 21201 dimensions (criterion D(6)), PyTorch's table,
stored packed in ``_sobol_directions.bin`` (bench/make_sobol_table.py writes it). Owen's
scrambling multiplies every direction number by a random lower-triangular bit matrix
(per dimension, over GF(2)) and starts from a random shift; the bits are drawn with
``randint`` from PyTorch's random stream (the seeded generator, else the global one), so
scrambled sequences equal PyTorch's for the same seed.
"""
import functools
import os

import numpy as np

__all__ = ["SobolEngine"]

MAXBIT = 30
MAXDIM = 21201
# how many primitive polynomials of each degree s = 1..18 there are (phi(2^s - 1) / s):
# dimensions 2..21201 use them all, in order of degree
_PRIMITIVE_COUNTS = (1, 1, 2, 2, 6, 6, 18, 16, 48, 60, 176, 144, 630, 756, 1800, 2048,
                     7710, 7776)


@functools.lru_cache(maxsize=None)
def _table_bytes():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_sobol_directions.bin")
    return np.fromfile(path, dtype=np.uint8)


def _bits_to_int(bits):
    """Rows of bits, most significant first, as integers."""
    if bits.shape[1] == 0:
        return np.zeros(bits.shape[0], dtype=np.int64)
    weights = np.left_shift(1, np.arange(bits.shape[1] - 1, -1, -1, dtype=np.int64))
    return bits.astype(np.int64) @ weights


def _direction_numbers(dimension):
    """The (dimension, MAXBIT) int64 array of m_j (unshifted direction numbers)."""
    m = np.ones((dimension, MAXBIT), dtype=np.int64)   # dimension 1: every m_j is 1
    data, offset, row = _table_bytes(), 0, 1
    for s, count in enumerate(_PRIMITIVE_COUNTS, start=1):
        if row >= dimension:
            break
        width = (s - 1) + s * (s - 1) // 2
        nbytes = (count * width + 7) // 8
        take = min(count, dimension - row)
        bits = np.unpackbits(data[offset:offset + nbytes])[:count * width]
        bits = bits.reshape(count, width)[:take]
        offset += nbytes
        poly = (1 << s) | (_bits_to_int(bits[:, :s - 1]) << 1) | 1
        col = s - 1
        block = np.zeros((take, MAXBIT), dtype=np.int64)
        for i in range(1, s + 1):   # m_i is odd: its bits above the lowest are stored
            block[:, i - 1] = (_bits_to_int(bits[:, col:col + i - 1]) << 1) | 1
            col += i - 1
        for j in range(s, MAXBIT):
            new = block[:, j - s].copy()
            for k in range(1, s + 1):
                coefficient = (poly >> (s - k)) & 1
                new ^= coefficient * (block[:, j - k] << k)
            block[:, j] = new
        m[row:row + take] = block
        row += take
    return m


def _rightmost_zero(k):
    """The index of the lowest zero bit of each integer in k."""
    lowest = ~k & (k + 1)
    return np.frexp(lowest.astype(np.float64))[1] - 1


class SobolEngine:
    r"""Draws (scrambled) Sobol sequences of ``dimension`` in [1, 21201] dimensions
    (``torch.quasirandom.SobolEngine``).

    Args:
        dimension (int): the dimensionality of the points.
        scramble (bool): Owen-scramble the sequence (random linear matrix scrambling and a
            random digital shift). Default: False.
        seed (int, optional): the seed of the scrambling's generator; None draws from the
            global generator.
    """

    MAXBIT = MAXBIT
    MAXDIM = MAXDIM

    def __init__(self, dimension, scramble=False, seed=None):
        import ember
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError(f"Supported range of dimensionality for SobolEngine is "
                             f"[1, {self.MAXDIM}]")
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        state = _direction_numbers(dimension) << np.arange(MAXBIT - 1, -1, -1, dtype=np.int64)
        self.sobolstate = ember.from_numpy(state)
        if not self.scramble:
            self.shift = ember.zeros(self.dimension, dtype=ember.long)
        else:
            self._scramble()
        self.quasi = self.shift.clone(memory_format=ember.contiguous_format)
        self._first_point = (self.quasi / 2 ** self.MAXBIT).reshape(1, -1)
        self.num_generated = 0

    def _scramble(self):
        """Owen's linear matrix scrambling: each direction number's bits multiplied by a
        random lower-triangular GF(2) matrix with unit diagonal (one per dimension), and a
        random digital shift; the bits drawn as PyTorch draws them."""
        import ember
        g = None
        if self.seed is not None:
            g = ember.Generator()
            g.manual_seed(self.seed)
        shift_bits = ember.randint(2, (self.dimension, self.MAXBIT), generator=g)
        self.shift = ember.mv(shift_bits, ember.pow(2, ember.arange(0, self.MAXBIT)))
        ltm = ember.randint(2, (self.dimension, self.MAXBIT, self.MAXBIT),
                            generator=g).tril().numpy().copy()
        ltm[:, np.arange(MAXBIT), np.arange(MAXBIT)] = 1
        # the scrambled number's bit MAXBIT-1-p is the parity of row p of the matrix
        # against the number's bits (column c against bit MAXBIT-1-c): it is the XOR of
        # the matrix's columns (as integers) over the number's set bits
        weights = np.int64(1) << np.arange(MAXBIT - 1, -1, -1, dtype=np.int64)
        columns = np.einsum("dpc,p->dc", ltm.astype(np.int64), weights)
        state = self.sobolstate.numpy()
        scrambled = np.zeros_like(state)
        for c in range(MAXBIT):
            bit = (state >> (MAXBIT - 1 - c)) & 1
            scrambled ^= bit * columns[:, c:c + 1]
        state[:] = scrambled

    def draw(self, n=1, out=None, dtype=None):
        """The next `n` points, an (n, dimension) tensor of `dtype` (the default dtype
        when None); written into `out` (resized) when given."""
        import ember
        if dtype is None:
            dtype = ember.get_default_dtype()
        if self.num_generated == 0:
            if n == 1:
                result = self._first_point.to(dtype)
            else:
                result = self._draw(n - 1, self.num_generated, dtype)
                result = ember.cat((self._first_point.to(dtype), result), dim=-2)
        else:
            result = self._draw(n, self.num_generated - 1, dtype)
        self.num_generated += n
        if out is not None:
            out.resize_as_(result).copy_(result)
            return out
        return result

    def _draw(self, n, num_generated, dtype):
        """n points after the current one (PyTorch's _sobol_engine_draw): quasi is XORed
        with the direction number of the lowest zero bit of each count, in turn."""
        import ember
        if dtype not in (ember.float32, ember.float64):
            raise NotImplementedError(f'"_sobol_engine_draw" not implemented for '
                                      f"'{_dtype_name(dtype)}'")
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: "
                               f"[{n}, {self.dimension}]")
        state = self.sobolstate.numpy()
        counts = np.arange(num_generated, num_generated + n, dtype=np.int64)
        steps = state[:, _rightmost_zero(counts)].T      # (n, dimension)
        quasi = self.quasi.numpy()
        points = np.bitwise_xor.accumulate(np.concatenate([quasi[None], steps]), axis=0)[1:]
        if n:
            self.quasi = ember.from_numpy(points[-1].copy())
        np_dtype = np.float32 if dtype == ember.float32 else np.float64
        values = points.astype(np_dtype) * np_dtype(1.0 / (1 << MAXBIT))
        return ember.from_numpy(values.reshape(n, self.dimension))

    def draw_base2(self, m, out=None, dtype=None):
        """The next 2**m points; the total drawn must stay a power of 2 (the balance
        properties of Sobol points)."""
        n = 2 ** m
        total_n = self.num_generated + n
        if not (total_n & (total_n - 1) == 0):
            raise ValueError(f"The balance properties of Sobol' points require n to be a "
                             f"power of 2. {self.num_generated} points have been previously "
                             f"generated, then: n={self.num_generated}+2**{m}={total_n}. If "
                             f"you still want to do this, please use 'SobolEngine.draw()' "
                             f"instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self):
        """Back to the first point."""
        self.quasi.copy_(self.shift)
        self.num_generated = 0
        return self

    def fast_forward(self, n):
        """Skip `n` points (as drawing them would)."""
        start = self.num_generated if self.num_generated == 0 else self.num_generated - 1
        steps = n - 1 if self.num_generated == 0 else n
        if steps > 0:
            counts = np.arange(start, start + steps, dtype=np.int64)
            state = self.sobolstate.numpy()
            quasi = self.quasi.numpy()
            quasi ^= np.bitwise_xor.reduce(state[:, _rightmost_zero(counts)], axis=1)
        self.num_generated += n
        return self

    def __repr__(self):
        fmt = [f"dimension={self.dimension}"]
        if self.scramble:
            fmt += ["scramble=True"]
        if self.seed is not None:
            fmt += [f"seed={self.seed}"]
        return self.__class__.__name__ + "(" + ", ".join(fmt) + ")"


def _dtype_name(dtype):
    return {"float16": "Half", "bfloat16": "BFloat16", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "complex64": "ComplexFloat", "complex128": "ComplexDouble"}.get(
        str(dtype).split(".")[-1], str(dtype))
