"""FloatFunctional / QFunctional (torch.ao.nn.quantized): the arithmetic between tensors
(add, mul, cat, add_relu ...) written as module methods, so prepare can observe its output
(FloatFunctional.activation_post_process) and convert can swap in the quantized version.

QFunctional's arithmetic gives PyTorch's integers: add/add_relu dequantize (a fused
multiply-add), add in float32 and requantize as its vectorized kernel; mul multiplies the
zero-point-shifted integers and requantizes rint(product * s_x s_y / s) + z; cat
dequantizes, concatenates and quantizes; add_scalar / mul_scalar keep the integers and move
the output's qparams instead (add_scalar requantizes the integers when the zero point would
leave the range).
"""
import numpy as np

import ember
from ember import nn
from ember.nn import functional as F

__all__ = ["FloatFunctional", "FXFloatFunctional", "QFunctional"]


class FloatFunctional(nn.Module):
    """Float arithmetic whose results pass through ``activation_post_process`` (an Identity
    until prepare puts an observer there). Call the methods, not the module."""

    def __init__(self):
        super().__init__()
        self.activation_post_process = nn.Identity()

    def forward(self, x):
        raise RuntimeError("FloatFunctional is not intended to use the 'forward'. Please use "
                           "the underlying operation")

    def add(self, x, y):
        return self.activation_post_process(ember.add(x, y))

    def add_scalar(self, x, y):
        return ember.add(x, y)

    def mul(self, x, y):
        return self.activation_post_process(ember.mul(x, y))

    def mul_scalar(self, x, y):
        return ember.mul(x, y)

    def cat(self, x, dim=0):
        return self.activation_post_process(ember.cat(x, dim=dim))

    def add_relu(self, x, y):
        return self.activation_post_process(F.relu(ember.add(x, y)))

    def matmul(self, x, y):
        return self.activation_post_process(ember.matmul(x, y))


class FXFloatFunctional(nn.Module):
    """FloatFunctional without observers (FX graph mode inserts its own)."""

    def forward(self, x):
        raise RuntimeError("FloatFunctional is not intended to use the 'forward'. Please use "
                           "the underlying operation")

    def add(self, x, y):
        return ember.add(x, y)

    def add_scalar(self, x, y):
        return ember.add(x, y)

    def mul(self, x, y):
        return ember.mul(x, y)

    def mul_scalar(self, x, y):
        return ember.mul(x, y)

    def cat(self, x, dim=0):
        return ember.cat(x, dim=dim)

    def add_relu(self, x, y):
        return F.relu(ember.add(x, y))

    def matmul(self, x, y):
        return ember.matmul(x, y)


def _qrange(dtype):
    return {"quint8": (0, 255), "qint8": (-128, 127),
            "qint32": (-2 ** 31, 2 ** 31 - 1)}[str(dtype).split(".")[-1]]


def _check_quantized(name, *tensors):
    for t in tensors:
        if not getattr(t, "is_quantized", False):
            raise NotImplementedError(
                f"Could not run 'quantized::{name}' with arguments from the 'CPU' backend: "
                f"QFunctional.{name} takes quantized tensors, got {t.dtype}")


class QFunctional(nn.Module):
    """The quantized arithmetic of a converted FloatFunctional: results quantized to the
    (scale, zero_point) observed during calibration."""

    def __init__(self):
        super().__init__()
        self.scale = 1.0
        self.zero_point = 0
        self.activation_post_process = nn.Identity()

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = ember.tensor(self.scale)
        destination[prefix + "zero_point"] = ember.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    def _get_name(self):
        return "QFunctional"

    def extra_repr(self):
        return f"scale={self.scale}, zero_point={self.zero_point}"

    def forward(self, x):
        raise RuntimeError("Functional is not intended to use the 'forward'. Please use the "
                           "underlying operation")

    def _quantized(self, value, like):
        return ember.quantize_per_tensor(value, self.scale, self.zero_point, like.dtype)

    def add(self, x, y):
        """quantize(dequantize(x) + dequantize(y)) to (scale, zero_point)."""
        _check_quantized("add", x, y)
        return self.activation_post_process(_qadd(x, y, self.scale, self.zero_point))

    def add_scalar(self, x, y):
        """x + y (a number): the integers are kept and the zero point moves by round(y / s)
        when it stays in range; otherwise the scale widens (PyTorch's add_scalar)."""
        _check_quantized("add_scalar", x)
        s, z = x.q_scale(), x.q_zero_point()
        qmin, qmax = _qrange(x.dtype)
        c_q = round(y / s)   # half to even, as nearbyint
        shifted = z - c_q
        if qmin <= shifted <= qmax:
            return ember._make_per_tensor_quantized_tensor(x.int_repr(), s, shifted)
        if shifted < qmin:
            new_scale = (qmax - shifted) / (qmax - qmin) * s
            new_zp = qmin
        else:
            new_scale = (shifted - qmin) / (qmax - qmin) * s
            new_zp = qmax
        # PyTorch requantizes the integers: (q - z + round(y / s)) * (s / s') + z'
        multiplier = np.float32(s) * (np.float32(1.0) / np.float32(new_scale))
        shifted_ints = x.int_repr().cpu().numpy().astype(np.int64) - z + c_q
        values = (shifted_ints.astype(np.float32) * multiplier).astype(np.float32)
        ints = np.clip(np.rint(values).astype(np.int64) + new_zp, qmin, qmax)
        ints = ember.from_numpy(ints.astype(x.int_repr().cpu().numpy().dtype))
        return ember._make_per_tensor_quantized_tensor(ints, new_scale, new_zp)

    def mul(self, x, y):
        """(x - z_x) (y - z_y) on the integers, requantized: rint(product * s_x s_y / s)
        + zero_point (PyTorch's kernel)."""
        _check_quantized("mul", x, y)
        fast = _mul_8bit(x, y, self.scale, self.zero_point)
        if fast is not None:
            return self.activation_post_process(fast)
        xi = x.int_repr().cpu().numpy().astype(np.int64) - x.q_zero_point()
        yi = y.int_repr().cpu().numpy().astype(np.int64) - y.q_zero_point()
        multiplier = (np.float32(x.q_scale()) * np.float32(y.q_scale())
                      * (np.float32(1.0) / np.float32(self.scale)))
        values = np.rint((xi * yi).astype(np.float32) * multiplier).astype(np.int64)
        low, high = _qrange(x.dtype)
        ints = np.clip(values + self.zero_point, low, high)
        r = ember._make_per_tensor_quantized_tensor(
            ember.from_numpy(ints.astype(x.int_repr().cpu().numpy().dtype)), self.scale,
            self.zero_point)
        return self.activation_post_process(r)

    def mul_scalar(self, x, y):
        """x * y (a number): quantize(dequantize(x) * y) with scale |y| s (the integers
        reflected for y < 0)."""
        _check_quantized("mul_scalar", x)
        s, z = x.q_scale(), x.q_zero_point()
        if y == 0:
            return ember.quantize_per_tensor(x.dequantize() * 0, 1.0, 0, x.dtype)
        if y > 0:
            return ember._make_per_tensor_quantized_tensor(x.int_repr(), s * y, z)
        qmin, qmax = _qrange(x.dtype)
        reflected = (qmax + qmin) - x.int_repr().to(ember.int64)
        return ember._make_per_tensor_quantized_tensor(reflected.to(x.int_repr().dtype),
                                                       s * -y, qmax + qmin - z)

    def cat(self, x, dim=0):
        """The inputs concatenated and requantized to (scale, zero_point)."""
        _check_quantized("cat", *x)
        r = self._quantized(ember.cat([t.dequantize() for t in x], dim=dim), x[0])
        return self.activation_post_process(r)

    def add_relu(self, x, y):
        """quantize(relu(dequantize(x) + dequantize(y))) to (scale, zero_point)."""
        _check_quantized("add_relu", x, y)
        r = _qadd(x, y, self.scale, self.zero_point, relu=True)
        return self.activation_post_process(r)

    def matmul(self, x, y):
        """quantize(dequantize(x) @ dequantize(y))."""
        _check_quantized("matmul", x, y)
        return self._quantized(ember.matmul(x.dequantize(), y.dequantize()), x)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) is not FloatFunctional:
            raise AssertionError(f"QFunctional.from_float expects an instance of "
                                 f"FloatFunctional, got {type(mod).__name__}")
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        new_mod = QFunctional()
        new_mod.scale = float(scale)
        new_mod.zero_point = int(zero_point)
        return new_mod


def _mul_8bit(x, y, scale, zero_point):
    """QFunctional.mul of two per-tensor 8-bit tensors of one dtype in float32, or None
    (another case: the int64 path). The centred integers and their product (at most
    255 * 255 in magnitude) are exact in float32, so the product times the float32
    multiplier rounds as PyTorch's; a rounded value past 2**24 clamps either way."""
    from ember import _quantized as Q
    if x.dtype != y.dtype or x.dtype not in (ember.quint8, ember.qint8) or \
            x.qscheme() != ember.per_tensor_affine or y.qscheme() != ember.per_tensor_affine:
        return None
    xi, xs, xz = Q.per_tensor_parts(x)
    yi, ys, yz = Q.per_tensor_parts(y)
    multiplier = mul_multiplier(xs, ys, scale)
    if not np.isfinite(multiplier) or xi.ndim == yi.ndim == 0:
        return None
    ints = mul_8bit_ints(xi, xz, yi, yz, multiplier, zero_point, _qrange(x.dtype))
    return Q.per_tensor(ints, x.dtype, float(scale), int(zero_point))


def mul_multiplier(x_scale, y_scale, scale):
    """PyTorch's float32 requantization multiplier of a quantized product."""
    return np.float32(x_scale) * np.float32(y_scale) * (np.float32(1.0) / np.float32(scale))


def mul_8bit_ints(xi, xz, yi, yz, multiplier, zero_point, bounds):
    """The integers of (xi - xz) (yi - yz) requantized: rint(product * multiplier) + zero
    point, clamped to bounds (low, high); xi, yi 8-bit arrays of one type (not both
    0-dim)."""
    a = xi.astype(np.float32)
    a -= np.float32(xz)
    b = yi.astype(np.float32)
    b -= np.float32(yz)
    v = np.multiply(a, b)
    v *= multiplier
    np.rint(v, out=v)
    v += np.float32(zero_point)
    np.maximum(v, np.float32(bounds[0]), out=v)   # (np.clip's dispatch costs more)
    np.minimum(v, np.float32(bounds[1]), out=v)
    return v.astype(xi.dtype)


def _qadd(x, y, scale, zero_point, relu=False):
    """PyTorch's quantized add (its vectorized kernel: each input dequantized with a fused
    multiply-add, the float32 sum (relu'd) rounded before the zero point is added; the
    elements after the last full vector through the scalar dequantize/quantize)."""
    from ember import _quantized as Q
    if x.shape != y.shape:
        raise RuntimeError(f"quantized::add: the inputs must have the same shape, got "
                           f"{tuple(x.shape)} and {tuple(y.shape)}")
    if x.qscheme() == ember.per_tensor_affine and y.qscheme() == ember.per_tensor_affine:
        a = np.ascontiguousarray(Q.per_tensor_parts(x)[0]).reshape(-1)   # (read only)
        b = np.ascontiguousarray(Q.per_tensor_parts(y)[0]).reshape(-1)
    else:
        a = np.ascontiguousarray(x.int_repr().cpu().numpy()).reshape(-1)
        b = np.ascontiguousarray(y.int_repr().cpu().numpy()).reshape(-1)
    ints = add_ints(a, x.q_scale(), x.q_zero_point(), b, y.q_scale(), y.q_zero_point(),
                    scale, zero_point, x.dtype, relu)
    return Q.per_tensor(ints.reshape(tuple(x.shape)), x.dtype, float(scale), int(zero_point))


def add_ints(a, a_scale, a_zero_point, b, b_scale, b_zero_point, scale, zero_point, qdtype,
             relu=False):
    """The integers of PyTorch's quantized add of the flat contiguous integer arrays a and
    b (see _qadd), quantized to (scale, zero_point) of qdtype."""
    from ember import _quantized as Q
    from ember._ops.quantized_ops import _VECTOR_WIDTH
    tail = a.size - a.size % _VECTOR_WIDTH

    def summed(dequantize, a, b):
        c = (dequantize(a, a_scale, a_zero_point)
             + dequantize(b, b_scale, b_zero_point)).astype(np.float32)
        return np.maximum(c, np.float32(0.0)) if relu else c

    ints = Q.quantize_array(summed(Q.dequantize_array_fma, a, b), scale, zero_point,
                            qdtype, round_first=True)
    if tail < a.size:
        ints[tail:] = Q.quantize_array(summed(Q.dequantize_array, a[tail:], b[tail:]), scale,
                                       zero_point, qdtype, fused=False)
    return ints
