"""float16 <-> float32 conversions of NumPy arrays by whole-array integer and float passes.

NumPy's float16 casts are scalar loops (~1.7 ms per 1M elements up, ~2.6 ms down on this
machine), which made every float16 op ~30x PyTorch's. These give the same values with
SIMD-friendly passes over uint32 views (a pass is ~0.05-0.1 ms per 1M):

widen (float16 -> float32, exact): the half's exponent and mantissa bits moved to
float32's place and multiplied by 2**112, which rebiases the exponent of normal numbers
and normalises subnormal ones exactly; infinities and NaNs get float32's all-ones
exponent first; the sign comes along by the sign extension of the bits as int16.

narrow (float32 -> float16, rounded to nearest even as IEEE and PyTorch's c10::Half):
|x| is scaled by 2**112 then 2**-110 (overflowing to inf beyond float16's range), then
added to a power of two chosen from x's exponent (at least 2**-14's bias), so that the
float32 addition itself rounds the mantissa to float16's 10 bits (nearest even); the
exponent and mantissa bits of that sum are float16's. A NaN becomes float16's quiet NaN
0x7e00 (with its sign), as c10's conversion gives.

Both work on C-contiguous arrays of equal size (the blocks of pointwise_arrays.half_blocks)
and write into `out`.
"""
import numpy as np

_U32 = np.uint32
_SCALE_UP = np.float32(2.0 ** 112)
_TO_INF = np.float32(2.0 ** 112)
_TO_ZERO = np.float32(2.0 ** -110)


def widen(h, out, scratch):
    """float16 array `h` into float32 array `out`, exactly; `scratch`: a uint32 array of
    their size (1-D, C-contiguous, like h and out). The bits as int16, sign-extended to
    int32 and shifted left 13, hold the exponent and mantissa at float32's places and the
    sign in bits 28..31; bits 28..30 are cleared, infinities and NaNs (exponent 31, looked
    for in h's bits) get float32's all-ones exponent, and the multiplication by 2**112
    rebiases normal numbers and normalises subnormal ones, the sign riding along."""
    o = out.view(np.int32)
    o[...] = h.view(np.int16)
    o <<= 13
    o &= np.int32(-0x70000001)                # 0x8FFFFFFF
    bits = h.view(np.uint16)
    if bits.size and np.bitwise_and(bits, 0x7C00,
                                    out=scratch.view(np.uint16)[:bits.size]).max() == 0x7C00:
        special = (o & 0x0F800000) == 0x0F800000
        np.bitwise_or(o, 0x70000000, out=o, where=special)
    out *= _SCALE_UP
    return out


_LEAST = [np.empty(0, _U32)]


def _least_exponent(n):
    """n copies of 0x38800000 (2**-14's exponent field): NumPy's maximum of an array and a
    scalar has no SIMD loop (~4x an array-array maximum), so narrow takes a constant array,
    made once (and grown) per process and shared read-only."""
    least = _LEAST[0]
    if least.size < n:
        least = np.full(max(n, 1 << 16), 0x38800000, _U32)
        least.flags.writeable = False
        _LEAST[0] = least
    return least[:n]


def narrow(x, out, scratch):
    """float32 array `x` into float16 array `out`, rounded to nearest even; `scratch`: two
    uint32 arrays of their size (1-D, C-contiguous, like x and out)."""
    w = x.view(_U32)
    bits, bias = scratch
    base = bits.view(np.float32)
    np.abs(x, out=base)
    base *= _TO_INF
    base *= _TO_ZERO
    np.bitwise_and(w, 0x7F800000, out=bias)  # |x|'s exponent field
    np.maximum(bias, _least_exponent(bias.size), out=bias)
    bias += 0x07800000
    base += bias.view(np.float32)
    has_nan = base.size and np.isnan(base.max())   # (max propagates NaN)
    r = bias
    np.right_shift(bits, 13, out=r)
    r &= 0x7C00
    bits &= 0x0FFF
    r += bits
    if has_nan:
        r[np.isnan(x)] = 0x7E00
    np.right_shift(w, 16, out=bits)
    bits &= 0x8000
    r |= bits
    out.view(np.uint16)[...] = r              # (the values fit: a truncating copy)
    return out


# relu's mask constants per 2-byte float: (first shift, addend, second shift); the negative
# numbers' bits, 0x8001 (the smallest subnormal) to -inf's, map by v + 0x7FFF (wrapping)
# onto 0 .. (-inf's bits - 0x8001), below the threshold T = 0x7C00 (float16) or 0x7F80
# (bfloat16), every other value onto T .. 0xFFFF; >> s1 and (+ a) >> s2 give 0 and 1
_RELU = {np.dtype(np.float16): (10, 33, 6)}      # 0x7C00 >> 10 = 31: 0..30 | 31..63
try:
    import ml_dtypes
    _RELU[np.dtype(ml_dtypes.bfloat16)] = (7, 257, 9)   # 0x7F80 >> 7 = 255: 0..254 | 255..511
except ImportError:   # pragma: no cover (a hard dependency)
    pass


def relu(h):
    """PyTorch's relu of a C-contiguous float16 or bfloat16 NumPy array: h where not h < 0
    (-0.0 kept, as PyTorch keeps it; NaNs kept with their bits), else +0, by six uint16
    passes over the bits (no conversion; NumPy's float16 maximum is a scalar loop), on
    the thread pool when large: a mask of 0 or all ones from the bits (_RELU), and h's
    bits masked with it."""
    from .._backend import parallel
    s1, a, s2 = _RELU[h.dtype]
    v = h.reshape(-1).view(np.uint16)
    out = np.empty(h.shape, h.dtype)
    m = out.reshape(-1).view(np.uint16)

    def run(lo, hi):
        r = np.add(v[lo:hi], 0x7FFF, out=m[lo:hi])
        r >>= s1
        r += a
        r >>= s2
        np.negative(r, out=r)
        r &= v[lo:hi]
    parallel.split(v.size, run, passes=6)
    return out
