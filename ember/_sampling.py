"""PyTorch's CPU sampling kernels on an ember Generator's mt19937 stream.

Each function draws `n` samples, in PyTorch's order, and returns them as a flat NumPy
array: ember's random ops (ember/_ops/random.py, nn.init, dropout, samplers) place them
in their tensors. Drawing as PyTorch's kernels draw, from the same words of the same
stream, makes the samples equal to PyTorch's for the same seed (normal samples of
float32 tensors within a few ulp: PyTorch's vectorized log/sin/cos round differently; of
float64 ones, about one value in 500 by one ulp where NumPy's SIMD log/sin/cos and the C
library's differ).

The raw words (ember/_random.py): `w32` = one 32-bit mt19937 output, `w64` = two of them
(first one high).

- uniform on [from, to): float64 from the low 53 bits of a w64, other float dtypes from the
  low 24 bits of a w32, as u * (to - from) + from (the difference rounded to the dtype,
  the rest in double for float32 and in float for half/bfloat16; for float64 a fused
  multiply-add, emulated exactly: see fma); a value that rounds up to `to` becomes `from`.
- normal: blocks of 16 uniforms, Box-Muller within each block (the first 8 give radii,
  the last 8 angles), when the target is contiguous and holds at least 16 values (a short
  tail recomputes the last 16 with fresh uniforms); otherwise one double Box-Muller pair
  per two values, the second kept in the generator for the next draw.
- integers in [low, high): w32 % range + low, w64 when the range is 2**28 or more.
- permutation: Fisher-Yates, swapping i with i + w32 % (n - i).
- Bernoulli(p): a double uniform (w64) below p for a number p; for a tensor of float
  probabilities a 24-bit uniform, of double ones a 53-bit one.
- exponential, geometric, Cauchy: inverse CDFs of double uniforms; log-normal: exp of a
  double normal.
- multinomial: with replacement, a double uniform per sample looked up in the row's
  cumulative sums; otherwise the top-k of p / Exponential(1) (Gamma/Dirichlet, Poisson
  and binomial: PyTorch's rejection samplers, value after value, at the end of the file).

A float32 normal of 16 or more values differs from PyTorch's in about one value in seven,
by up to 3 ulp: PyTorch's AVX2 kernel evaluates log, sin and cos with its own float32
polynomials. Replaying those polynomials operation by operation (fused multiply-adds
included) reproduces them bit for bit, but costs about 15 times NumPy's log/sin/cos, so
ember keeps NumPy's.
"""
import math

import numpy as np

from . import _dtype
from ._backend import parallel

_U64 = np.uint64
_MASK24 = _U64((1 << 24) - 1)
_MASK53 = _U64((1 << 53) - 1)


_SMALL = 32     # up to this many values, Python ints and floats cost less than NumPy calls
# Large draws go through in pieces of this many values, written into the result: the
# temporaries (raw words, masks, the double-precision affine map) stay small and warm in
# cache instead of being first-touched at the size of the whole tensor (nn.Linear(25088,
# 4096)'s 100M weights went through 2.4 GB of them). Words are drawn in order, so the
# pieces make the same stream.
_PIECE = 1 << 16


def _pieces(n):
    """(start, stop) of consecutive pieces covering range(n)."""
    return ((i, min(i + _PIECE, n)) for i in range(0, n, _PIECE))


def unit_doubles(g, n):
    """n doubles uniform on [0, 1): 53 bits of a w64 each."""
    if n <= _SMALL:
        w = g._words32(2 * n).tolist()
        return np.array([(((w[i] << 32) | w[i + 1]) & 0x1F_FFFF_FFFF_FFFF) * 2.0 ** -53
                         for i in range(0, 2 * n, 2)], dtype=np.float64)
    if n <= _PIECE:
        return (g._words64(n) & _MASK53).astype(np.float64) * 2.0 ** -53
    out = np.empty(n, dtype=np.float64)
    for a, b in _pieces(n):
        w = g._words64(b - a)
        w &= _MASK53
        piece = out[a:b]
        piece[...] = w.view(np.int64)     # below 2**53: exact
        piece *= 2.0 ** -53
    return out


_SMALL_FLOATS = 4   # unit_floats' crossover (callgrind: 16 values cost 30.6k instructions
                    # as Python floats, 19.5k in NumPy; 2 values 13.8k and 18.4k)
_MASK24_32 = np.uint32((1 << 24) - 1)


def unit_floats(g, n):
    """n float32s uniform on [0, 1): 24 bits of a w32 each (exactly representable)."""
    if n <= _SMALL_FLOATS:
        return np.array([(w & 0xFF_FFFF) * 2.0 ** -24 for w in g._words32(n).tolist()],
                        dtype=np.float32)
    if n <= _PIECE:
        u = (g._words32(n) & _MASK24).astype(np.float32)
        u *= np.float32(2.0 ** -24)
        return u
    out = np.empty(n, dtype=np.float32)
    for a, b in _pieces(n):
        w = g._words32(b - a).astype(np.uint32)   # the low 32 bits are the whole word
        w &= _MASK24_32
        piece = out[a:b]
        piece[...] = w.view(np.int32)             # below 2**24: exact
        piece *= np.float32(2.0 ** -24)
    return out


def _split(x):
    """(high, low) halves of doubles `x` (Veltkamp): high holds 26 bits, high + low == x."""
    t = x * 134217729.0   # 2**27 + 1
    high = t - (t - x)
    return high, x - high


def _two_sum(a, b):
    """(a + b rounded, its rounding error): the pair sums to a + b exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def fma(a, b, c):
    """a * b + c for double arrays `a` and numbers b, c with one rounding, as the fused
    multiply-add PyTorch's compiled kernels use for u * (to - from) + from and
    z * std + mean. NumPy has no fma: the product is made exact as a sum of two doubles
    (Dekker), added to c exactly (TwoSum), and the small parts are rounded to odd before
    the last addition, which makes that one correctly rounded (Boldo and Melquiond,
    "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to
    odd", 2008). Values stay far from overflow and underflow here."""
    b = np.float64(b)
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    p_err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    high, low = _two_sum(np.float64(c), p)
    z, z_err = _two_sum(low, p_err)
    inexact_even = (z_err != 0) & ((z.view(np.int64) & 1) == 0)
    if inexact_even.any():   # round to odd: one ulp towards the lost part
        z = np.where(inexact_even, np.nextafter(z, np.copysign(np.inf, z_err)), z)
    return high + z


def fma_in_place(x, b, c):
    """x = fma(x, b, c) for a flat double array, in cache-sized pieces."""
    for a, e in _pieces(x.size):
        x[a:e] = fma(x[a:e], b, c)
    return x


def uniform(g, n, dt, low=0.0, high=1.0):
    """n samples of dtype `dt` uniform on [low, high); complex dtypes draw real and
    imaginary parts in turn."""
    if dt.is_complex:
        part = dt.to_real()
        pairs = uniform(g, 2 * n, part, low, high).astype(np.float64)
        return _dtype.cast_array(pairs[0::2] + 1j * pairs[1::2], dt.np)   # complex32: a record
    if dt is _dtype.float64:
        u = unit_doubles(g, n)
        if (low, high) != (0.0, 1.0):
            fma_in_place(u, high - low, low)
        return u
    lo, hi = np.asarray(low, dt.np), np.asarray(high, dt.np)
    if (low, high) == (0.0, 1.0):
        u = unit_floats(g, n)
        if dt is _dtype.float32:
            return u      # 24-bit values: never 1
        out = u.astype(dt.np)
        out[out == hi] = lo
        return out
    span = hi - lo                        # rounded to the dtype, as in PyTorch
    acc = np.float64 if dt is _dtype.float32 else np.float32
    span, lo_acc = acc(span), acc(lo)
    out = np.empty(n, dtype=dt.np)
    for a, b in _pieces(n):
        wide = unit_floats(g, b - a).astype(acc)
        wide *= span
        wide += lo_acc
        piece = out[a:b]
        piece[...] = wide
        piece[piece == hi] = lo           # rounded up to `to`: `from`, as PyTorch
    return out


# normal_fill_16's constants in the arithmetic's dtype (made once: a NumPy scalar costs a
# call, and a single randn(4, 4) is one block)
_BOX_MULLER_CONSTANTS = {acc: (acc(1.0), acc(-2.0), acc(2.0 * math.pi))
                         for acc in (np.float32, np.float64)}


def _box_muller_blocks(u, dt, mean, std, out):
    """PyTorch's normal_fill_16 over blocks of 16 uniforms (rows of `u`) into the rows of
    `out`: in double for float64, in float32 arithmetic otherwise, rounded to the dtype at
    the end. Each block is independent of the others, so a large fill is cut into runs of
    rows on the elementwise thread pool (the same values, whoever computes them)."""
    parallel.split(len(u), lambda lo, hi: _box_muller_rows(u[lo:hi], dt, mean, std,
                                                           out[lo:hi]),
                   grain=16, passes=12)


def _box_muller_rows(u, dt, mean, std, out):
    """_box_muller_blocks on one run of rows."""
    acc = np.float64 if dt is _dtype.float64 else np.float32
    one, minus_two, two_pi = _BOX_MULLER_CONSTANTS[acc]
    radius = np.subtract(one, u[:, :8])
    np.log(radius, out=radius)
    radius *= minus_two
    np.sqrt(radius, out=radius)
    theta = u[:, 8:] * two_pi
    exact = std == 1.0 and mean == 0.0
    direct = exact and out.dtype == radius.dtype   # no rounding left: straight into out
    for half, trig in ((slice(0, 8), np.cos), (slice(8, 16), np.sin)):
        if direct:
            z = trig(theta, out=out[:, half])
            z *= radius
            continue
        z = trig(theta)
        z *= radius
        if not exact:   # a fused multiply-add in PyTorch: one rounding
            if acc is np.float64:
                z = fma_in_place(z.reshape(-1), std, mean).reshape(z.shape)
            else:   # the float32 product is exact in double: one rounding, then float's
                z = z.astype(np.float64) * float(acc(std)) + float(acc(mean))
        out[:, half] = z


def _fill_uniforms(g, n, dt):
    """The uniforms of normal's 16-value fill: 53-bit for float64, 24-bit otherwise (half
    and bfloat16 are filled in float32 and rounded at the end)."""
    return unit_doubles(g, n) if dt is _dtype.float64 else unit_floats(g, n)


def double_normals(g, n, mean=0.0, std=1.0):
    """n normal samples as doubles, by normal_distribution<double>: Box-Muller pairs
    (angle from the first uniform, radius from the second), the second of a pair cached
    in the generator for the next call."""
    out = np.empty(n, dtype=np.float64)
    start = 0
    if n and g._normal is not None:
        out[0] = g._normal
        g._normal = None
        start = 1
    m = n - start
    if 0 < m <= 16:      # a few values: Python floats cost less than NumPy calls
        words = iter(g._words32(4 * ((m + 1) // 2)).tolist())
        z = []
        sqrt, log1p, cos, sin, two_pi = math.sqrt, math.log1p, math.cos, math.sin, 2.0 * math.pi
        for a, b, c, d in zip(words, words, words, words):
            theta = two_pi * ((((a << 32) | b) & 0x1F_FFFF_FFFF_FFFF) * 2.0 ** -53)
            radius = sqrt(-2.0 * log1p(-((((c << 32) | d) & 0x1F_FFFF_FFFF_FFFF) * 2.0 ** -53)))
            z.append(radius * cos(theta))
            z.append(radius * sin(theta))
        out[start:] = z[:m]
        if m % 2:
            g._normal = z[-1]
    elif m > 0:
        pairs = (m + 1) // 2
        u = unit_doubles(g, 2 * pairs)
        radius = np.sqrt(-2.0 * np.log1p(-u[1::2]))
        theta = 2.0 * math.pi * u[0::2]
        z = np.empty(2 * pairs, dtype=np.float64)
        z[0::2] = radius * np.cos(theta)
        z[1::2] = radius * np.sin(theta)
        out[start:] = z[:m]
        if m % 2:
            g._normal = float(z[-1])
    if std != 1.0 or mean != 0.0:
        fma_in_place(out, std, mean)
    return out


def normal(g, n, dt, mean=0.0, std=1.0, blocked=True):
    """n normal samples of dtype `dt`. `blocked`: the target is contiguous (PyTorch's
    16-value fill applies when it also holds at least 16 values). Complex dtypes draw
    real and imaginary parts in turn, each with variance std**2 / 2."""
    if dt.is_complex:
        part = dt.to_real()
        pairs = normal(g, 2 * n, part, mean, std / math.sqrt(2.0), blocked).astype(np.float64)
        return _dtype.cast_array(pairs[0::2] + 1j * pairs[1::2], dt.np)
    if not blocked or n < 16:
        return double_normals(g, n, mean, std).astype(dt.np)
    whole = n - n % 16
    # float32/float64 draw a uniform for every value first, half/bfloat16 for whole blocks
    u = _fill_uniforms(g, n if dt is _dtype.float32 or dt is _dtype.float64 else whole, dt)
    if whole == n:
        out = np.empty(n, dtype=dt.np)
        _box_muller_blocks(u.reshape(-1, 16), dt, mean, std, out.reshape(-1, 16))
        return out
    # a short tail: the last 16 values again, from 16 fresh uniforms (one more block)
    blocks = np.concatenate([u[:whole], _fill_uniforms(g, 16, dt)]).reshape(-1, 16)
    z = np.empty(blocks.shape, dtype=dt.np)
    _box_muller_blocks(blocks, dt, mean, std, z)
    out = np.empty(n, dtype=dt.np)
    out[:whole] = z[:-1].reshape(-1)
    out[n - 16:] = z[-1]
    return out


def integers(g, n, low, high):
    """n integers uniform on [low, high) (int64; wraps like PyTorch's int64 arithmetic).
    PyTorch 2.x takes a w64 per value from a range of 2**28 up (less modulo bias), a w32
    below."""
    span = high - low
    words = g._words64(n) if span >= 1 << 28 else g._words32(n)
    with np.errstate(over="ignore"):
        return (words % _U64(span)).astype(np.int64) + np.int64(low)


def full_range(g, n, dt):
    """random_() without bounds: [0, 2**mantissa] for floating dtypes, [0, max] for
    integer ones, {0, 1} for bool (w64 for int64 and float64, w32 otherwise)."""
    wide = dt is _dtype.int64 or dt is _dtype.float64
    words = g._words64(n) if wide else g._words32(n)
    if dt is _dtype.bool:
        return (words & _U64(1)).astype(bool)
    if dt.is_floating_point:
        digits = {_dtype.float64: 53, _dtype.float32: 24, _dtype.float16: 11,
                  _dtype.bfloat16: 8}.get(dt, 24)
        return (words % _U64((1 << digits) + 1)).astype(np.float64)
    top = int(np.iinfo(dt.np).max) + 1
    return (words % _U64(top)).astype(np.int64)


def permutation(g, n):
    """A random permutation of 0..n-1 (PyTorch's randperm: Fisher-Yates, position i swapped
    with position i + w32 % (n - i) for i = 0..n-2)."""
    if n < 2:
        return np.arange(n, dtype=np.int64)
    if n >= (1 << 32) // 20:
        raise NotImplementedError(f"randperm of n={n} (>= 2**32 / 20) is not supported: PyTorch "
                                  f"switches to another shuffle there")
    offsets = (g._words32(n - 1) % np.arange(n, 1, -1, dtype=_U64)).astype(np.int64)
    if n <= 4096:
        perm = list(range(n))
        for i, z in enumerate(offsets.tolist()):
            j = i + z
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)
    return _swaps_to_permutation(offsets)


def _swaps_to_permutation(offsets):
    """The result of swapping positions t and j_t = t + offsets[t] for t = 0, 1, ... in
    turn, starting from the identity, without a Python loop.

    Position t is final after step t (later steps touch positions > t), and it receives
    what position j_t held then: j_t itself if no earlier step targeted j_t, else what
    position r held before step r, for the last earlier step r with j_r = j_t. What
    position s holds before step s is, likewise, s or the same quantity for the last step
    r < s with j_r = s: a chain back through earlier steps, resolved by pointer doubling."""
    n = offsets.size + 1
    steps = np.arange(n - 1)
    target = steps + offsets
    # grouped by target, steps ascending: a stable sort by target, as NumPy's radix sort
    # of 16-bit keys (low 16 bits, then high 16 bits: n < 2**32)
    order = np.argsort((target & 0xFFFF).astype(np.uint16), kind="stable")
    if n > 1 << 16:
        order = order[np.argsort((target[order] >> 16).astype(np.uint16), kind="stable")]
    t_sorted, s_sorted = target[order], steps[order]
    same = np.zeros(n - 1, dtype=bool)
    same[1:] = t_sorted[1:] == t_sorted[:-1]
    earlier = np.full(n - 1, -1)                      # last earlier step with this target
    earlier[order[1:][same[1:]]] = s_sorted[:-1][same[1:]]
    # before_own[s]: the last step r < s with target s (-1: none); steps r <= s only
    rows = np.nonzero(s_sorted < t_sorted)[0]
    row_t = t_sorted[rows]
    last = np.ones(rows.size, dtype=bool)
    last[:-1] = row_t[:-1] != row_t[1:]
    holds = np.arange(n)                              # what s holds before step s, chained
    holds[row_t[last]] = s_sorted[rows[last]]
    while True:
        nxt = holds[holds]
        if np.array_equal(nxt, holds):
            break
        holds = nxt
    out = np.empty(n, dtype=np.int64)
    out[:-1] = np.where(earlier >= 0, holds[np.maximum(earlier, 0)], target)
    out[-1] = holds[n - 1]
    return out


def bernoulli_scalar(g, n, p):
    """n draws of Bernoulli(p) for a number p (bool): u < p for a 53-bit double uniform
    u = k / 2**53, compared as the integer k < ceil(p 2**53)."""
    return (g._words64(n) & _MASK53) < _U64(math.ceil(p * 2.0 ** 53))


def bernoulli_probs(g, probs):
    """One Bernoulli draw per probability of the flat array `probs` (bool): 53-bit
    uniforms for float64 probabilities, 24-bit ones otherwise."""
    if probs.dtype == np.float64:
        return unit_doubles(g, probs.size) < probs
    return unit_floats(g, probs.size) < probs.astype(np.float32)


def exponential(g, n, lambd):
    """n samples of Exponential(lambd), as doubles: -log(1 - u) / lambd."""
    return (-1.0 / lambd) * np.log1p(-unit_doubles(g, n))


def geometric(g, n, p):
    """n samples of Geometric(p) (trials up to the first success), as doubles."""
    return np.ceil(np.log(unit_doubles(g, n)) / math.log1p(-p))


def cauchy(g, n, median, sigma):
    """n samples of Cauchy(median, sigma), as doubles: median + sigma tan(pi (u - 1/2))."""
    return median + sigma * np.tan(math.pi * (unit_doubles(g, n) - 0.5))


def log_normal(g, n, mean, std):
    """n samples of exp(Normal(mean, std)), as doubles."""
    return np.exp(double_normals(g, n, mean, std))


def multinomial_with_replacement(g, rows, num_samples):
    """`num_samples` category indices per row of `rows` (2-D float array, unnormalised
    probabilities): a double uniform per sample, looked up in the row's normalised
    cumulative sums (accumulated in the rows' dtype; the last one set to 1)."""
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        cum = np.cumsum(row)
        total = cum[-1]
        if total > 0:
            cum = cum / total
        cum[-1] = 1
        out[i] = np.searchsorted(cum.astype(np.float64), unit_doubles(g, num_samples),
                                 side="left")
    return out


# ---------------------------------------------------------------------------- sequential samplers
# Rejection samplers draw a data-dependent number of uniforms/normals per value, one value
# after another: they read the stream word by word through a _Reader.

class _Reader:
    """Reads `g`'s stream ahead in Python ints, then leaves `g` exactly as far along as the
    words used (and with the normal cache as the reads left it)."""

    def __init__(self, g, words_hint):
        self.g = g
        self.start = g._snapshot()
        self.words = g._mt.random_raw(max(words_hint, 64)).tolist()
        self.pos = 0
        self.cached = g._normal

    def uniform(self):
        """A double uniform on [0, 1) (53 bits of two words)."""
        if self.pos + 2 > len(self.words):
            self.words += self.g._mt.random_raw(max(len(self.words), 64)).tolist()
        hi, lo = self.words[self.pos], self.words[self.pos + 1]
        self.pos += 2
        return (((hi << 32) | lo) & 0x1F_FFFF_FFFF_FFFF) * 2.0 ** -53

    def normal(self):
        """A standard normal by normal_distribution<double> (with its cached second value)."""
        if self.cached is not None:
            z, self.cached = self.cached, None
            return z
        u1, u2 = self.uniform(), self.uniform()
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        self.cached = radius * math.sin(2.0 * math.pi * u1)
        return radius * math.cos(2.0 * math.pi * u1)

    def close(self):
        g = self.g
        g._restore(self.start)
        if self.pos:
            g._words32(self.pos)
        g._normal = self.cached


_THIRD_F = float(np.float32(1.0) / np.float32(3.0))     # PyTorch's 1.0f / 3.0f
_SQUEEZE_F = float(np.float32(0.0331))                   # and its 0.0331f


def _gamma_one(r, alpha, single):
    """One Gamma(alpha, 1) sample by Marsaglia and Tsang's method (alpha < 1 boosted by
    U^(1/alpha)), as PyTorch's sample_gamma: double arithmetic, except that for float32
    `single` alpha's own updates are rounded to float32."""
    f32 = (lambda v: float(np.float32(v))) if single else (lambda v: v)
    scale = 1.0
    if alpha < 1.0:
        if alpha == 0.0:
            return 0.0
        scale *= (1.0 - r.uniform()) ** f32(1.0 / alpha)
        alpha = f32(alpha + 1.0)
    d = f32(alpha - _THIRD_F)
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        while True:
            x = r.normal()
            y = 1.0 + c * x
            if y > 0:
                break
        v = y * y * y
        u = 1.0 - r.uniform()
        xx = x * x
        if u < 1.0 - _SQUEEZE_F * xx * xx:
            return scale * d * v
        if math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
            return scale * d * v


def gamma(g, alphas, single):
    """Gamma(alpha, 1) samples, one per value of the flat array `alphas` in order (as
    doubles; `single`: the float32 variant of the arithmetic)."""
    r = _Reader(g, 8 * alphas.size)
    try:
        return np.array([_gamma_one(r, a, single) for a in alphas.tolist()], dtype=np.float64)
    finally:
        r.close()


def _poisson_one(r, lam):
    """One Poisson(lam) sample: multiplication of uniforms below 10, Hormann's transformed
    rejection (PTRS) from 10 on, as PyTorch's sample_poisson."""
    if lam >= 10:
        slam, loglam = math.sqrt(lam), math.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = r.uniform() - 0.5
            v = r.uniform()
            us = 0.5 - abs(u)
            k = math.floor((2 * a / us + b) * u + lam + 0.43)
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                    <= -lam + k * loglam - math.lgamma(k + 1)):
                return k
    if lam == 0:
        return 0
    enlam, count, prod = math.exp(-lam), 0, 1.0
    while True:
        prod *= r.uniform()
        if prod > enlam:
            count += 1
        else:
            return count


def poisson(g, rates):
    """Poisson samples, one per rate of the flat array `rates` in order (as doubles)."""
    r = _Reader(g, 8 * rates.size)
    try:
        return np.array([_poisson_one(r, lam) for lam in rates.tolist()], dtype=np.float64)
    finally:
        r.close()


# log(k!) minus its Stirling approximation, for k = 0..9 (PyTorch's table)
_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983,
                  0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                  0.0118967099458917, 0.0104112652619720, 0.00925546218271273,
                  0.00833056343336287)


def _stirling_tail(k):
    if k <= 9:
        return _STIRLING_TAIL[int(k)]
    kp1sq = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)


def _binomial_inversion(r, count, prob, f):
    """Successes as the number of geometric waiting times that fit in `count` trials."""
    total, successes = 0.0, 0
    logq = f(math.log1p(-prob))
    while True:
        total += math.ceil(math.log(r.uniform()) / logq)
        if total > count:
            return successes
        successes += 1


def _binomial_btrs(r, count, prob, f):
    """Hormann's BTRS transformed rejection, as PyTorch's btrs()."""
    stddev = f(math.sqrt(f(f(count * prob) * f(1 - prob))))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = f(count * prob) + 0.5
    v_r = 0.92 - 4.2 / b
    ratio = f(prob / f(1 - prob))
    alpha = (2.83 + 5.1 / b) * stddev
    m = math.floor(f(f(count + 1) * prob))
    while True:
        u = r.uniform() - 0.5
        v = r.uniform()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + c)
        if k < 0 or k > count:
            continue
        if us >= 0.07 and v <= v_r:
            return k
        v = math.log(v * alpha / (a / (us * us) + b))
        bound = ((m + 0.5) * math.log((m + 1) / (ratio * (count - m + 1)))
                 + (count + 1) * math.log((count - m + 1) / (count - k + 1))
                 + (k + 0.5) * math.log(ratio * (count - k + 1) / (k + 1))
                 + _stirling_tail(m) + _stirling_tail(count - m)
                 - _stirling_tail(k) - _stirling_tail(count - k))
        if v <= bound:
            return k


def _binomial_one(r, count, prob, f):
    """`f` rounds what PyTorch computes in the tensors' dtype (float32: to float32)."""
    if count <= 0.0 or prob <= 0.0:
        return 0.0
    if prob >= 1.0:
        return count
    if prob <= 0.5:
        if f(count * prob) >= 10.0:
            return _binomial_btrs(r, count, prob, f)
        return _binomial_inversion(r, count, prob, f)
    if prob > 0.5:
        q = f(1.0 - prob)
        if f(count * q) >= 10.0:
            return count - _binomial_btrs(r, count, q, f)
        return count - _binomial_inversion(r, count, q, f)
    return math.nan


def _float32(v):
    return float(np.float32(v))


def binomial(g, counts, probs, single):
    """Binomial(count, prob) samples, one per pair of the flat arrays in order (as
    doubles): inversion of geometric waiting times when count * min(p, 1-p) < 10, BTRS
    rejection otherwise, as PyTorch's sample_binomial (`single`: float32 tensors, whose
    own arithmetic rounds to float32)."""
    f = _float32 if single else float
    r = _Reader(g, 8 * counts.size)
    try:
        return np.array([_binomial_one(r, n, p, f) for n, p in zip(counts.tolist(),
                                                                   probs.tolist())],
                        dtype=np.float64)
    finally:
        r.close()
