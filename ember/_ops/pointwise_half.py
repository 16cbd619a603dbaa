"""float16 <-> float32 conversions of NumPy arrays by whole-array integer and float passes.

NumPy's float16 casts are scalar loops (~1.7 ms per 1M elements up, ~2.6 ms down on this
machine), which made every float16 op ~30x PyTorch's. These give the same values with
SIMD-friendly passes over uint32 views (a pass is ~0.05-0.1 ms per 1M):

widen (float16 -> float32, exact): the half's exponent and mantissa bits moved to
float32's place and multiplied by 2**112, which rebiases the exponent of normal numbers
and normalises subnormal ones exactly; infinities and NaNs get float32's all-ones
exponent first; the sign bit goes back last.

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
    their size (1-D, C-contiguous, like h and out)."""
    u = scratch
    u[...] = h.view(np.uint16)
    o = out.view(_U32)
    np.bitwise_and(u, 0x7FFF, out=o)
    np.left_shift(o, 13, out=o)
    if o.size and o.max() >= 0x0F800000:       # exponent 31: infinities or NaNs
        np.bitwise_or(o, 0x70000000, out=o, where=o >= 0x0F800000)
    out *= _SCALE_UP
    np.bitwise_and(u, 0x8000, out=u)
    np.left_shift(u, 16, out=u)
    np.bitwise_or(o, u, out=o)
    return out


def narrow(x, out, scratch):
    """float32 array `x` into float16 array `out`, rounded to nearest even; `scratch`: two
    uint32 arrays of their size (1-D, C-contiguous, like x and out)."""
    w = x.view(_U32)
    bits, bias = scratch
    base = bits.view(np.float32)
    np.abs(x, out=base)
    base *= _TO_INF
    base *= _TO_ZERO
    np.add(w, w, out=bias)                   # 2 * |x|'s bits: the sign shifted out
    has_nan = bias.size and bias.max() > 0xFF000000
    np.bitwise_and(bias, 0xFF000000, out=bias)
    np.maximum(bias, 0x71000000, out=bias)
    np.right_shift(bias, 1, out=bias)
    bias += 0x07800000
    base += bias.view(np.float32)
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
