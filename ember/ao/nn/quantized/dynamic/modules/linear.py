"""Dynamically quantized Linear (torch.ao.nn.quantized.dynamic.Linear): a qint8 weight,
float input and output; the input is quantized afresh on every call.

The kernel (fbgemm's, which PyTorch's x86/fbgemm engines run):
    1. (s_x, z_x) from the batch's [min, max] over quint8's [0, 255] ([0, 127] with
       reduce_range, which Linear uses), chosen as fbgemm's ChooseQuantizationParams;
    2. x_q = clamp(rint(x * (1/s_x) + z_x)) (one rounding: a fused multiply-add);
    3. acc[i, j] = sum_k (x_q[i, k] - z_x) * (w_q[j, k] - z_w[j]) in int32 (exact: int64 here);
    4. y[i, j] = fma(float32(acc), float32(s_x * s_w[j]), b[j]) in float32 (one rounding).
float16 weights (dtype=torch.float16): y = x W16^T + b with the weight rounded to float16.
"""
import numpy as np

import ember
from ember import nn
from ember.nn.modules.activation_attn import NonDynamicallyQuantizableLinear

from ember.ao.quantization.fake_quantize import choose_qparams
from ..._quantized_helpers import quantize_float32
from ...modules import linear as nnq_linear
from ...modules.utils import _quantize_weight

__all__ = ["Linear", "linear_dynamic"]


def _weight_qparams(qweight):
    """The weight's integers (int64), and its scales and zero points per output row."""
    ints = qweight.int_repr()._cpu_array().astype(np.int64)
    rows = ints.shape[0]
    if qweight.qscheme() in (ember.ao.quantization._qscheme.per_tensor_affine,
                             ember.ao.quantization._qscheme.per_tensor_symmetric):
        scales = np.full(rows, qweight.q_scale(), dtype=np.float64)
        zero_points = np.full(rows, qweight.q_zero_point(), dtype=np.int64)
    else:
        scales = qweight.q_per_channel_scales()._cpu_array().astype(np.float64)
        zero_points = qweight.q_per_channel_zero_points()._cpu_array().astype(np.int64)
    return ints, scales, zero_points


def linear_dynamic(x, qweight, bias=None, reduce_range=False):
    """y = x W^T + b with x quantized per call to quint8 (see the module docstring)."""
    if not x.is_floating_point():
        raise RuntimeError(f"quantized::linear_dynamic (fbgemm): expected a float input, got "
                           f"{x.dtype}")
    parts = dynamic_weight_parts(qweight, bias)
    in_features, out_features = parts[0].shape
    if x.shape[-1] != in_features:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({int(np.prod(x.shape[:-1]))}x{x.shape[-1]} and "
                           f"{in_features}x{out_features})")
    xa = x.detach().float()._cpu_array().reshape(-1, in_features)
    y = linear_dynamic_array(xa, parts, reduce_range)
    out = ember.from_numpy(y)
    return out.reshape(*x.shape[:-1], out_features).to(x.device)


def dynamic_weight_parts(qweight, bias):
    """What linear_dynamic reads of its weight and bias: (the centred weight transposed
    (in, out), the float32 weight scales, the float64 bias or None). The centred integers'
    products are summed exactly: in float32 while every partial sum stays below 2**24 in
    magnitude, else in float64 (the transposed weight's type)."""
    w_ints, w_scales, w_zps = _weight_qparams(qweight)
    exact32 = w_ints.shape[1] * 255 * (128 + int(np.abs(w_zps).max(initial=0))) < 2 ** 24
    centred_t = (w_ints - w_zps[:, None]).astype(np.float32 if exact32 else np.float64).T
    b = None if bias is None else bias.detach().float()._cpu_array().astype(np.float64)
    return centred_t, w_scales.astype(np.float32), b


def linear_dynamic_array(xa, parts, reduce_range):
    """linear_dynamic of the float32 rows xa (M, in) (parts from dynamic_weight_parts): a
    new contiguous float32 array (M, out)."""
    centred_t, w_scales, b = parts
    lo = float(xa.min()) if xa.size else 0.0
    hi = float(xa.max()) if xa.size else 0.0
    qmax = 127 if reduce_range else 255
    x_scale, x_zp = choose_qparams(lo, hi, 0, qmax, False)
    x_ints = quantize_float32(xa, x_scale, x_zp, 0, 255)
    x_ints -= np.float32(x_zp)
    acc = x_ints.astype(centred_t.dtype, copy=False) @ centred_t
    multiplier = (np.float32(x_scale) * w_scales).astype(np.float64)
    # fbgemm's requantization is one fused multiply-add per output, rounded once: the
    # product of two float32 values is exact in float64, so the sum rounds once there
    y = (acc if acc.dtype == np.float32 else acc.astype(np.float32)).astype(np.float64)
    y *= multiplier
    if b is not None:
        y += b
    return np.ascontiguousarray(y.astype(np.float32))


class Linear(nnq_linear.Linear):
    """Linear with a quantized weight computing on float tensors (see the module docstring);
    repr ``DynamicQuantizedLinear(in_features=.., out_features=.., dtype=torch.qint8,
    qscheme=torch.per_tensor_affine)``."""

    _version = 4
    _FLOAT_MODULE = (nn.Linear, NonDynamicallyQuantizableLinear)

    def __init__(self, in_features, out_features, bias_=True, dtype=None):
        super().__init__(in_features, out_features, bias_, dtype=dtype)
        self.version = 4

    def forward(self, x):
        weight, bias = self._weight_bias()
        if self._packed_params.dtype == ember.qint8:
            reduce_range = self.version is not None and self.version >= 4
            return linear_dynamic(x, weight, bias, reduce_range=reduce_range).to(x.dtype)
        if self._packed_params.dtype == ember.float16:
            return nn.functional.linear(x, weight.to(x.dtype), bias)
        raise RuntimeError("Unsupported dtype on dynamic quantized linear!")

    def _get_name(self):
        return "DynamicQuantizedLinear"

    def extra_repr(self):
        extra = (f"in_features={self.in_features}, out_features={self.out_features}, "
                 f"dtype={self._packed_params.dtype}")
        if self._packed_params.dtype == ember.qint8:
            extra += f", qscheme={self.weight().qscheme()}"
        return extra

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.version = local_metadata.get("version", None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The dynamic quantized Linear of a float Linear (or LinearReLU's linear, or a
        dynamic QAT Linear) carrying a qconfig: the weight quantized by qconfig.weight."""
        from ember.ao.nn.intrinsic import LinearReLU
        float_modules = [nn.Linear, NonDynamicallyQuantizableLinear, LinearReLU]
        if type(mod) not in float_modules and not hasattr(mod, "weight_fake_quant"):
            names = ", ".join(m.__name__ for m in float_modules)
            raise AssertionError(f"nn.quantized.dynamic.Linear.from_float only works for one "
                                 f"of {names}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if type(mod) is LinearReLU:
            mod = mod[0]
        if mod.qconfig is not None and mod.qconfig.weight is not None:
            weight_observer = mod.qconfig.weight()
        else:
            from ember.ao.quantization.qconfig import default_dynamic_qconfig
            weight_observer = default_dynamic_qconfig.weight()
        dtype = weight_observer.dtype
        if dtype not in (ember.qint8, ember.float16):
            raise AssertionError(f"The only supported dtypes for dynamic quantized linear are "
                                 f"qint8 and float16 got: {dtype}")
        weight_observer(mod.weight)
        if dtype == ember.qint8:
            qweight = _quantize_weight(mod.weight.float(), weight_observer)
        else:
            qweight = mod.weight.float()
        qlinear = cls(mod.in_features, mod.out_features, dtype=dtype)
        qlinear.set_weight_bias(qweight, mod.bias)
        return qlinear
