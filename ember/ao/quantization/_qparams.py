"""The arithmetic of quantization parameters, shared by the observers (observer.py) and
torch.ao.quantization.utils: a dtype's integer range [qmin, qmax], the checks of a
user-given range and of an observed [min, max], and (scale, zero_point) from them by
the formulas of observer.py's docstring."""
import math
import warnings

import ember

from ._qscheme import (per_channel_affine_float_qparams, per_channel_symmetric,
                       per_tensor_affine, per_tensor_symmetric)


# Bits of each integer/quantized dtype an observer may target.
_BITS = {"qint8": 8, "quint8": 8, "int8": 8, "uint8": 8, "qint32": 32, "int32": 32,
         "int16": 16, "uint16": 16, "quint4x2": 4, "float8_e5m2": 8, "float8_e4m3fn": 8}


def _dtype_bits(dtype):
    return _BITS[str(dtype).split(".")[-1]]


def _allowed_dtypes():
    return (ember.qint8, ember.quint8, ember.quint4x2, ember.qint32, ember.int8, ember.uint8,
            ember.int16, ember.int32, ember.float8_e5m2, ember.float8_e4m3fn, ember.uint16)


def calculate_qmin_qmax(quant_min, quant_max, has_customized_qrange, dtype, reduce_range):
    """The integer range [qmin, qmax] of a dtype, halved with reduce_range; a custom range
    is checked against the dtype's width (and also halved with reduce_range, as torch)."""
    if has_customized_qrange:
        qrange_len = quant_max - quant_min + 1
        if dtype in (ember.qint8, ember.int8) and not 0 < qrange_len <= 256:
            raise AssertionError("quantization range should be positive and not exceed the "
                                 "maximum bit range (=256).")
        if dtype in (ember.qint32, ember.int32) and not 0 < qrange_len <= 2 ** 32:
            raise AssertionError("quantization range should be positive and not exceed the "
                                 "maximum bit range (=4294967296).")
        if reduce_range:
            quant_min, quant_max = quant_min // 2, quant_max // 2
        return quant_min, quant_max
    if dtype in (ember.qint8, ember.int8):
        return (-64, 63) if reduce_range else (-128, 127)
    if dtype in (ember.quint8, ember.uint8):
        return (0, 127) if reduce_range else (0, 255)
    if dtype in (ember.qint32, ember.int32):
        return -(2 ** 31), 2 ** 31 - 1
    if dtype == ember.uint16:
        return 0, 2 ** 16 - 1
    if dtype == ember.int16:
        return -(2 ** 15), 2 ** 15 - 1
    return 0, 15


def validate_qmin_qmax(quant_min, quant_max):
    """A user-given range must hold 0 and be non-empty."""
    if not quant_min <= 0 <= quant_max:
        raise AssertionError("Used-specified quantization range must include 0.")
    if quant_min >= quant_max:
        raise AssertionError("qmin must be strictly less than qmax for user-specified "
                             "quantization range.")


def check_min_max_valid(min_val, max_val):
    """False (with a warning) when nothing was observed yet; AssertionError if min > max."""
    if min_val.numel() == 0 or max_val.numel() == 0:
        warnings.warn("must run observer before calling calculate_qparams. Returning "
                      "default values.", stacklevel=2)
        return False
    if min_val.dim() == 0 or max_val.dim() == 0:
        if min_val.item() == math.inf and max_val.item() == -math.inf:
            warnings.warn("must run observer before calling calculate_qparams. Returning "
                          "default values.", stacklevel=2)
            return False
        if (min_val > max_val).item():
            raise AssertionError(f"min {min_val} should be less than max {max_val}")
    elif ember.any(min_val > max_val).item():
        raise AssertionError(f"min {min_val} should be less than max {max_val}")
    return True


def _determine_qparams(min_val, max_val, quant_min, quant_max, dtype, eps,
                       has_customized_qrange, qscheme=per_tensor_affine):
    """(scale, zero_point) for the ranges [min_val, max_val] (0-dim, or one per channel) on
    the integers [quant_min, quant_max] (the formulas of the module docstring); eps is a
    one-element float32 tensor. Unobserved ranges give (1.0, 0) with a warning."""
    if not check_min_max_valid(min_val, max_val):
        return ember.tensor([1.0], device=min_val.device.type), ember.tensor(
            [0], device=min_val.device.type)
    min_val_neg = ember.min(min_val, ember.zeros_like(min_val))
    max_val_pos = ember.max(max_val, ember.zeros_like(max_val))
    device = min_val_neg.device
    eps = eps.to(device)
    zero_point = ember.zeros(min_val_neg.size(), dtype=ember.int64, device=device)
    if qscheme in (per_tensor_symmetric, per_channel_symmetric):
        max_val_pos = ember.max(-min_val_neg, max_val_pos)
        scale = max_val_pos / (float(quant_max - quant_min) / 2)
        scale = ember.max(scale, eps)
        if dtype in (ember.quint8, ember.uint8):
            middle = (quant_min + quant_max) // 2 if has_customized_qrange else 128
            zero_point = zero_point.new_full(zero_point.size(), middle)
        elif dtype == ember.uint16:
            zero_point = zero_point.new_full(zero_point.size(), 2 ** 15)
    elif qscheme == per_channel_affine_float_qparams:
        scale = (max_val - min_val) / float(quant_max - quant_min)
        scale = ember.where(scale > eps, scale, ember.ones_like(scale))
        zero_point = -1 * min_val / scale
    else:
        scale = (max_val_pos - min_val_neg) / float(quant_max - quant_min)
        scale = ember.max(scale, eps)
        zero_point = quant_min - ember.round(min_val_neg / scale).to(ember.int)
        zero_point = ember.clamp(zero_point, quant_min, quant_max)
    # 0-dim results become one-element tensors, the shape FakeQuantize's buffers have.
    if len(scale.shape) == 0:
        scale = ember.tensor([float(scale)], dtype=scale.dtype, device=device)
    if len(zero_point.shape) == 0:
        value = (float(zero_point) if qscheme == per_channel_affine_float_qparams
                 else int(zero_point))
        zero_point = ember.tensor([value], dtype=zero_point.dtype, device=device)
    return scale, zero_point
