"""Fake quantization: the float simulation of quantization that quantization-aware
training runs (quantized tensors themselves live in ember/_quantized.py; the torch-level
quantized_max_pool* and quantized_batch_norm at the end of this file take them):

    fake_quantize_per_tensor_affine(x, scale, zero_point, qmin, qmax)
        q   = clamp(round(x * (1 / scale)) + zero_point, qmin, qmax)   (round half to even)
        out = (q - zero_point) * scale
        d out / d x = 1 where round(x / scale) + zero_point lies in [qmin, qmax], else 0
        (the straight-through estimator; scale and zero_point get no gradient)

    fake_quantize_per_channel_affine(x, scale, zero_point, axis, qmin, qmax)
        the same with scale[c], zero_point[c] for the slices x.select(axis, c); a float
        zero point enters before the rounding: q = clamp(round(x / scale + zero_point), ...)

As PyTorch's kernels, the product x * (1 / scale) is taken in float32 for float16,
bfloat16 and float32 inputs (with 1 / scale a float32), in float64 for float64 ones.
"""
import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._base import Op, apply
from ._util import dtype_name

__all__ = ["fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine",
           "quantized_batch_norm", "quantized_max_pool1d", "quantized_max_pool2d",
           "quantized_max_pool3d"]


class FakeQuantize(Op):
    """out = (clamp(round(x / s) + z, lo, hi) - z) * s;  dx = grad where not clamped."""
    elementwise = True
    _name = "FakeQuantizePerTensorAffineCachemaskBackward0"

    @staticmethod
    def forward(ctx, x, scale, zero_point, quant_min, quant_max, float_zero_point):
        xp = ctx.xp
        compute = np.float64 if x.dtype == np.float64 else np.float32
        s = xp.asarray(scale, dtype=np.float32)
        z = xp.asarray(zero_point, dtype=compute if float_zero_point else np.int64)
        scaled = x.astype(compute) * (np.float32(1.0) / s).astype(compute)
        q = xp.rint(scaled + z) if float_zero_point else xp.rint(scaled) + z
        ctx.kept = (q >= quant_min) & (q <= quant_max)
        out = (xp.clip(q, quant_min, quant_max) - z) * s.astype(compute)
        return out.astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad * Tensor._make(ctx.kept.astype(grad._data.dtype)),)


class FakeQuantizeTensorQparams(FakeQuantize):
    _name = "FakeQuantizePerTensorAffineCachemaskTensorQparamsBackward0"


class FakeQuantizePerChannel(FakeQuantize):
    _name = "FakeQuantizePerChannelAffineCachemaskBackward0"


def _check_input(x, kernel):
    if not isinstance(x, Tensor):
        raise TypeError(f"{kernel}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if not x.is_floating_point():
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{dtype_name(x.dtype)}'")


def _check_range(zero_points, quant_min, quant_max):
    if quant_min > quant_max:
        raise RuntimeError("`quant_min` should be less than or equal to `quant_max`.")
    if np.any((zero_points < quant_min) | (zero_points > quant_max)):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")


def _scalar(v):
    """A Python number from a number or a one-element tensor."""
    if isinstance(v, Tensor):
        if v.numel() != 1:
            raise RuntimeError(f"a Tensor with {v.numel()} elements cannot be converted to "
                               f"Scalar")
        return v.item()
    return v


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max):
    """Quantize and dequantize `input` with one scale and zero point (see the module
    docstring); scale and zero_point may be numbers or one-element tensors."""
    _check_input(input, "fake_quantize_tensor_cachemask_kernel_type_handling")
    tensor_qparams = isinstance(scale, Tensor) or isinstance(zero_point, Tensor)
    s, z = float(_scalar(scale)), int(_scalar(zero_point))
    _check_range(np.asarray(z), quant_min, quant_max)
    op = FakeQuantizeTensorQparams if tensor_qparams else FakeQuantize
    return apply(op, (input,), (input._data,), s, z, quant_min, quant_max, False)


def fake_quantize_per_channel_affine(input, scale, zero_point, axis, quant_min, quant_max):
    """Quantize and dequantize `input` with scale[c] and zero_point[c] for each index c
    along `axis` (see the module docstring)."""
    _check_input(input, "fake_quantize_channel_cachemask_cpu_type_handling")
    if scale.dtype not in (_dtype.float32, _dtype.bfloat16):
        raise RuntimeError(f"Scale must be Float or BFloat16, found {dtype_name(scale.dtype)}")
    if zero_point.dtype not in (_dtype.int32, _dtype.float32, _dtype.float16):
        raise RuntimeError(f"Zero-point must be Int32, Float or Half, found "
                           f"{dtype_name(zero_point.dtype)}")
    if scale.dim() != 1:
        raise RuntimeError("scale should be a 1-D tensor")
    if zero_point.dim() != 1:
        raise RuntimeError("zero point should be a 1-D tensor")
    if scale.numel() != zero_point.numel():
        raise RuntimeError("scale and zero-point need to have the same dimensions")
    if not isinstance(axis, numbers.Integral) or axis < 0 or axis >= input.dim():
        if isinstance(axis, numbers.Integral) and axis >= input.dim():
            input._wrap_dim(axis)   # PyTorch's IndexError, naming the range
        raise RuntimeError("`axis` must be between 0 and number of dimensions of input")
    if scale.numel() != input.shape[axis]:
        raise RuntimeError("dimensions of scale and zero-point are not consistent with input "
                           "tensor")
    z = zero_point._cpu_array()
    _check_range(z, quant_min, quant_max)
    shape = [1] * input.dim()
    shape[axis] = -1
    s_arr = scale._data.astype(np.float32).reshape(shape)
    z_arr = zero_point._data.reshape(shape)
    float_zp = zero_point.dtype is not _dtype.int32
    return apply(FakeQuantizePerChannel, (input,), (input._data,), s_arr, z_arr, quant_min,
                 quant_max, float_zp)


def _quantized_max_pool(nd):
    def quantized_max_pool(input, kernel_size, stride=(), padding=0, dilation=1,
                           ceil_mode=False):
        from .. import _quantized
        from . import quantized_ops
        if not isinstance(input, _quantized.QuantizedTensor):
            raise RuntimeError(f"quantized_max_pool{nd}d expects a quantized tensor, got "
                               f"{input.dtype}")
        return quantized_ops.max_pool(nd, input, kernel_size, list(stride) or None, padding,
                                      dilation, ceil_mode)
    quantized_max_pool.__name__ = quantized_max_pool.__qualname__ = f"quantized_max_pool{nd}d"
    quantized_max_pool.__doc__ = (f"``torch.quantized_max_pool{nd}d``: max pooling of a "
                                  f"quantized tensor's integers.")
    return quantized_max_pool


quantized_max_pool1d = _quantized_max_pool(1)
quantized_max_pool2d = _quantized_max_pool(2)
quantized_max_pool3d = _quantized_max_pool(3)


def quantized_batch_norm(input, weight, bias, mean, var, eps, output_scale, output_zero_point):
    """``torch.quantized_batch_norm``: batch norm of a quantized (N, C, ...) tensor with
    float parameters, quantized to (output_scale, output_zero_point) (the kernel of
    ember.ao.nn.quantized.BatchNorm2d/3d)."""
    from ..ao.nn.quantized.modules.batchnorm import quantized_batch_norm as kernel
    return kernel(input, weight, bias, mean, var, eps, output_scale, output_zero_point)
