"""Quantized activations (torch.ao.nn.quantized): quantized tensor in, quantized tensor
out. ReLU6 keeps the input's qparams; the others requantize to the (scale, zero_point)
their activation observer chose."""
import numpy as np

import ember
from ember import nn

__all__ = ["ReLU6", "Hardswish", "ELU", "LeakyReLU", "Sigmoid", "Softmax", "PReLU"]


def _functional():
    from ember.ao.nn.quantized import functional
    return functional


def _requantized(float_out, scale, zero_point, dtype):
    return ember.quantize_per_tensor(float_out, float(scale), int(zero_point), dtype)


class ReLU6(nn.ReLU):
    """min(max(x, 0), 6) on the integers (the input's scale and zero point kept)."""

    def __init__(self, inplace=False):
        super().__init__(inplace)
        self.inplace = inplace

    def forward(self, input):
        return _functional().hardtanh(input, 0.0, 6.0, self.inplace)

    def _get_name(self):
        return "QuantizedReLU6"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        return ReLU6(mod.inplace)


class Hardswish(nn.Hardswish):
    """x * relu6(x + 3) / 6, requantized to (scale, zero_point) (buffers)."""

    def __init__(self, scale, zero_point, device=None, dtype=None):
        super().__init__()
        self.register_buffer("scale", ember.tensor(scale, device=device, dtype=dtype))
        self.register_buffer("zero_point", ember.tensor(zero_point, device=device, dtype=dtype))

    def forward(self, input):
        return _functional().hardswish(input, float(self.scale), int(self.zero_point))

    def _get_name(self):
        return "QuantizedHardswish"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return Hardswish(float(scale), int(zero_point))

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(float(scale), int(zero_point))


class ELU(nn.ELU):
    """elu(x, alpha) requantized to (scale, zero_point)."""

    def __init__(self, scale, zero_point, alpha=1.0):
        super().__init__(alpha)
        self.scale = scale
        self.zero_point = zero_point

    def forward(self, input):
        return _functional().elu(input, self.scale, self.zero_point, self.alpha)

    def _get_name(self):
        return "QuantizedELU"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return ELU(float(scale), int(zero_point), mod.alpha)

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(float(scale), int(zero_point), mod.alpha)


class LeakyReLU(nn.LeakyReLU):
    """leaky_relu(x, negative_slope) requantized to (scale, zero_point) (buffers)."""

    def __init__(self, scale, zero_point, negative_slope=0.01, inplace=False, device=None,
                 dtype=None):
        super().__init__(negative_slope, inplace)
        self.register_buffer("scale", ember.tensor(scale, device=device, dtype=dtype))
        self.register_buffer("zero_point", ember.tensor(zero_point, device=device, dtype=dtype))

    def forward(self, input):
        return _functional().leaky_relu(input, self.negative_slope, self.inplace,
                                        float(self.scale), int(self.zero_point))

    def _get_name(self):
        return "QuantizedLeakyReLU"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls(float(scale), int(zero_point), mod.negative_slope, mod.inplace)

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(float(scale), int(zero_point), mod.negative_slope, mod.inplace)


def _sigmoid_float32(x):
    return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)


class Sigmoid(nn.Sigmoid):
    """sigmoid(x) quantized to (output_scale, output_zero_point), as PyTorch's quantized
    sigmoid kernel (dequantize, sigmoid in float32, requantize)."""

    def __init__(self, output_scale, output_zero_point):
        super().__init__()
        self.output_scale = output_scale
        self.output_zero_point = output_zero_point

    def forward(self, input):
        from ember._ops.quantized_ops import _float_op
        return _float_op(input, _sigmoid_float32, self.output_scale, self.output_zero_point)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        output_scale, output_zero_point = mod.activation_post_process.calculate_qparams()
        return cls(float(output_scale), int(output_zero_point))


class Softmax(nn.Softmax):
    """softmax(x, dim) quantized to (scale, zero_point): computed on the dequantized values,
    then quantized."""

    def __init__(self, dim=None, scale=1.0, zero_point=0):
        super().__init__()
        self.dim = dim
        self.scale = scale
        self.zero_point = zero_point

    def forward(self, input):
        out = nn.functional.softmax(input.dequantize(), self.dim)
        return _requantized(out, self.scale, self.zero_point, input.dtype)

    def _get_name(self):
        return "QuantizedSoftmax"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return Softmax(mod.dim, float(scale), int(zero_point))

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(mod.dim, float(scale), int(zero_point))


class PReLU(nn.Module):
    """Quantized PReLU: ``x if x > 0 else a * x`` with quint8 slopes `a` (``weight``, one or
    one per channel), quantized with the output's (scale, zero_point). A new module's
    slopes are drawn from the standard normal (PyTorch's placeholder)."""

    def __init__(self, output_scale, output_zero_point, num_parameters=1):
        super().__init__()
        self.num_parameters = num_parameters
        self.scale = output_scale
        self.zero_point = output_zero_point
        w = ember.randn(num_parameters, dtype=ember.float)
        self.set_weight(ember.quantize_per_tensor(w, scale=1.0, zero_point=0,
                                                  dtype=ember.quint8))

    def set_weight(self, w):
        self.weight = w

    def forward(self, input):
        from ember._ops.quantized_functional import prelu
        return prelu(input, self.weight, self.scale, self.zero_point)

    def _get_name(self):
        return "QuantizedPReLU"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls._with_observed_weight(mod, float(scale), int(zero_point))

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls._with_observed_weight(mod, float(scale), int(zero_point))

    @classmethod
    def _with_observed_weight(cls, mod, scale, zero_point):
        """The slopes quantized per tensor with the qconfig's weight observer."""
        import warnings
        qprelu = cls(scale, zero_point, mod.num_parameters)
        float_wt = mod.weight.float()
        observer = mod.qconfig.weight()
        observer(float_wt)
        if observer.dtype != ember.quint8:
            warnings.warn(f"PReLU's weight observer should have dtype quint8 but got "
                          f"{observer.dtype}", stacklevel=3)
        wt_scale, wt_zp = observer.calculate_qparams()
        qprelu.set_weight(ember.quantize_per_tensor(float_wt, float(wt_scale), int(wt_zp),
                                                    ember.quint8))
        return qprelu
