"""Array helpers shared by ember's quantized modules."""
import numpy as np


def quantize_float32(x, scale, zero_point, qmin, qmax):
    """clamp(rint(x * (1/scale) + zero_point), qmin, qmax) with one float32 rounding of the
    multiply-add (fbgemm's AVX2 Quantize); 1/scale a float32 division."""
    inv = np.float32(1.0) / np.float32(scale)
    w = np.asarray(x, dtype=np.float32).astype(np.float64)
    w *= np.float64(inv)
    w += np.float64(zero_point)
    v = w.astype(np.float32)
    np.rint(v, out=v)
    np.maximum(v, np.float32(qmin), out=v)   # (as np.clip, NaN stays NaN; cheaper)
    return np.minimum(v, np.float32(qmax), out=v)
