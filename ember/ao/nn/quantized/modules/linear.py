"""Quantized Linear (torch.ao.nn.quantized.Linear): a qint8 weight (per tensor or per
channel), a float bias, and the output's (scale, zero_point). Input and output are quantized
tensors: y_q = quantize(x W^T + b, scale, zero_point), computed in integers by the quantized
functional linear."""
from collections.abc import Iterable

import ember
from ember import nn
from ember.nn.modules.activation_attn import NonDynamicallyQuantizableLinear
from ember.nn.utils.fusion import fuse_linear_bn_weights
from ember.nn.utils.parametrize import type_before_parametrizations

from .utils import WeightedQuantizedModule, _hide_packed_params_repr, _quantize_weight

__all__ = ["LinearPackedParams", "Linear"]


def _functional():
    from ember.ao.nn.quantized import functional
    return functional


def _float32_scales(weight):
    """The weight as fbgemm's linear_prepack keeps it: its scales rounded to float32
    (torch's unpacked weight reports float(float32(scale)); the integers are unchanged)."""
    if weight.qscheme() == ember.per_tensor_affine:
        scale = float(ember.tensor(weight.q_scale(), dtype=ember.float32))
        if scale == weight.q_scale():
            return weight
        return ember._make_per_tensor_quantized_tensor(weight.int_repr(), scale,
                                                       weight.q_zero_point())
    scales = weight.q_per_channel_scales()
    rounded = scales.float().double()
    if ember.equal(rounded, scales):
        return weight
    return ember._make_per_channel_quantized_tensor(weight.int_repr(), rounded,
                                                    weight.q_per_channel_zero_points(),
                                                    weight.q_per_channel_axis())


class LinearPackedParams(nn.Module):
    """Holds a linear layer's quantized weight and float bias (torch keeps them packed for
    fbgemm; ember keeps the pair). Its state_dict entries are ``dtype`` and
    ``_packed_params`` = (weight, bias), as torch saves them."""

    _version = 3

    def __init__(self, dtype=None):
        super().__init__()
        self.dtype = ember.qint8 if dtype is None else dtype
        if self.dtype == ember.qint8:
            wq = ember._empty_affine_quantized([1, 1], scale=1.0, zero_point=0,
                                               dtype=ember.qint8)
        elif self.dtype == ember.float16:
            wq = ember.zeros([1, 1], dtype=ember.float)
        else:
            raise RuntimeError("Unsupported dtype on dynamic quantized linear!")
        self.set_weight_bias(wq, None)

    def set_weight_bias(self, weight, bias):
        if self.dtype == ember.qint8:
            if not getattr(weight, "is_quantized", False) or weight.dtype != ember.qint8:
                raise RuntimeError(f"quantized::linear_prepack: the weight must be a qint8 "
                                   f"quantized tensor, got {weight.dtype}")
            weight = _float32_scales(weight)
        elif self.dtype == ember.float16:
            weight = weight.to(ember.float16).float()
        else:
            raise RuntimeError("Unsupported dtype on dynamic quantized linear!")
        bias = None if bias is None else bias.detach().float()
        self._packed_params = (weight, bias)

    def _weight_bias(self):
        return self._packed_params

    def __setstate__(self, state):
        # a whole module torch saved holds its weight and bias in a torch.ScriptObject
        super().__setstate__(state)
        from ember import _script_object
        self._packed_params = _script_object.linear_params(self._packed_params,
                                                           "LinearPackedParams")

    def forward(self, x):
        return x

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_params"] = self._weight_bias()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            self.dtype = ember.qint8
        else:
            self.dtype = state_dict.pop(prefix + "dtype")
        if version is None or version < 3:
            self.set_weight_bias(state_dict.pop(prefix + "weight"),
                                 state_dict.pop(prefix + "bias"))
        if version == 3:
            weight, bias = state_dict.pop(prefix + "_packed_params")
            self.set_weight_bias(weight, bias)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    def __repr__(self):
        return self._weight_bias().__repr__()


class Linear(WeightedQuantizedModule):
    """y = quantize(x W^T + b) with the output's scale and zero_point (x quantized)."""

    _version = 3
    _FLOAT_MODULE = (nn.Linear, NonDynamicallyQuantizableLinear)

    def __init__(self, in_features, out_features, bias_=True, dtype=None):
        super().__init__()
        dtype = ember.qint8 if dtype is None else dtype
        self.in_features = in_features
        self.out_features = out_features
        bias = ember.zeros(out_features, dtype=ember.float) if bias_ else None
        if dtype == ember.qint8:
            qweight = ember._empty_affine_quantized([out_features, in_features], scale=1,
                                                    zero_point=0, dtype=ember.qint8)
        elif dtype == ember.float16:
            qweight = ember.zeros([out_features, in_features], dtype=ember.float)
        else:
            raise RuntimeError("Unsupported dtype specified for quantized Linear!")
        self._packed_params = LinearPackedParams(dtype)
        self._packed_params.set_weight_bias(qweight, bias)
        self.scale = 1.0
        self.zero_point = 0

    def _get_name(self):
        return "QuantizedLinear"

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"scale={self.scale}, zero_point={self.zero_point}, "
                f"qscheme={self.weight().qscheme()}")

    def __repr__(self):
        return _hide_packed_params_repr(self, LinearPackedParams)

    def forward(self, x):
        weight, bias = self._weight_bias()
        return _functional().linear(x, weight, bias, self.scale, self.zero_point)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = ember.tensor(self.scale)
        destination[prefix + "zero_point"] = ember.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))
        version = local_metadata.get("version", None)
        if version is None or version == 1:
            # Version 1 kept weight and bias at the top level.
            weight = state_dict.pop(prefix + "weight")
            bias = state_dict.pop(prefix + "bias")
            state_dict.update({prefix + "_packed_params.weight": weight,
                               prefix + "_packed_params.bias": bias})
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    def _weight_bias(self):
        return self._packed_params._weight_bias()

    def weight(self):
        return self._weight_bias()[0]

    def bias(self):
        return self._weight_bias()[1]

    def set_weight_bias(self, w, b):
        self._packed_params.set_weight_bias(w, b)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized Linear of an observed float (or QAT) Linear / LinearReLU: the weight
        quantized with its weight observer's qparams, the output's qparams from the
        activation observer."""
        if hasattr(mod, "weight_fake_quant"):
            from ember.ao.nn.intrinsic.qat import LinearBn1d
            if type_before_parametrizations(mod) == LinearBn1d:
                mod.weight, mod.bias = fuse_linear_bn_weights(
                    mod.weight, mod.bias, mod.bn.running_mean, mod.bn.running_var, mod.bn.eps,
                    mod.bn.weight, mod.bn.bias)
            weight_post_process = mod.weight_fake_quant
            activation_post_process = mod.activation_post_process
        else:
            float_modules = (cls._FLOAT_MODULE if isinstance(cls._FLOAT_MODULE, Iterable)
                             else [cls._FLOAT_MODULE])
            if type_before_parametrizations(mod) not in float_modules:
                names = ", ".join(m.__name__ for m in float_modules)
                raise AssertionError(f"nnq.{cls.__name__}.from_float only works for {names}, "
                                     f"but got: {type(mod)}")
            if not hasattr(mod, "qconfig"):
                raise AssertionError("Input float module must have qconfig defined")
            activation_post_process = mod.activation_post_process
            from ember.ao.nn.intrinsic import LinearReLU
            if type_before_parametrizations(mod) == LinearReLU:
                mod = mod[0]
            weight_post_process = mod.qconfig.weight()
        if not use_precomputed_fake_quant:
            weight_post_process(mod.weight)
        dtype = weight_post_process.dtype
        act_scale, act_zp = activation_post_process.calculate_qparams()
        if dtype != ember.qint8:
            raise AssertionError(f"Weight observer must have dtype torch.qint8, got {dtype}")
        qweight = _quantize_weight(mod.weight.float(), weight_post_process)
        qlinear = cls(mod.in_features, mod.out_features, dtype=dtype)
        qlinear.set_weight_bias(qweight, mod.bias)
        qlinear.scale = float(act_scale)
        qlinear.zero_point = int(act_zp)
        return qlinear
