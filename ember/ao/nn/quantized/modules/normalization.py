"""Quantized normalizations (torch.ao.nn.quantized.LayerNorm, GroupNorm, InstanceNorm1d/2d/
3d): the float modules' parameters (weight and bias stay float) with the output's (scale,
zero_point) as buffers; forward normalizes the dequantized input and quantizes the result
(ember/_ops/quantized_functional.py)."""
import ember
from ember import nn

__all__ = ["LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]


def _kernels():
    from ember._ops import quantized_functional
    return quantized_functional


def _output_qparams(module, scale, zero_point, factory_kwargs):
    module.register_buffer("scale", ember.tensor(scale, **factory_kwargs))
    module.register_buffer("zero_point", ember.tensor(zero_point, **factory_kwargs))


class LayerNorm(nn.LayerNorm):
    """Quantized LayerNorm: over the trailing `normalized_shape` dims,
    ``(x - mean) / sqrt(var + eps) * weight + bias``, quantized with (scale, zero_point)."""

    def __init__(self, normalized_shape, weight, bias, scale, zero_point, eps=1e-5,
                 elementwise_affine=True, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(normalized_shape, eps=eps, elementwise_affine=elementwise_affine,
                         **factory_kwargs)
        self.weight = weight
        self.bias = bias
        _output_qparams(self, scale, zero_point, factory_kwargs)

    def forward(self, input):
        return _kernels().layer_norm(input, self.normalized_shape, self.weight, self.bias,
                                     self.eps, float(self.scale), int(self.zero_point))

    def _get_name(self):
        return "QuantizedLayerNorm"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls(mod.normalized_shape, mod.weight, mod.bias, float(scale), int(zero_point),
                   mod.eps, mod.elementwise_affine)

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(mod.normalized_shape, mod.weight, mod.bias, float(scale), int(zero_point),
                   mod.eps, mod.elementwise_affine)


class GroupNorm(nn.GroupNorm):
    """Quantized GroupNorm: each of `num_groups` channel groups normalized over its
    channels and positions, then the per-channel affine; quantized with (scale,
    zero_point)."""

    def __init__(self, num_groups, num_channels, weight, bias, scale, zero_point, eps=1e-5,
                 affine=True, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(num_groups, num_channels, eps, affine, **factory_kwargs)
        self.weight = weight
        self.bias = bias
        _output_qparams(self, scale, zero_point, factory_kwargs)

    def forward(self, input):
        return _kernels().group_norm(input, self.num_groups, self.weight, self.bias, self.eps,
                                     float(self.scale), int(self.zero_point))

    def _get_name(self):
        return "QuantizedGroupNorm"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls(mod.num_groups, mod.num_channels, mod.weight, mod.bias, float(scale),
                   int(zero_point), mod.eps, mod.affine)


def _instance_norm(nd, float_cls):
    """The quantized InstanceNorm{nd}d: each (sample, channel) normalized over its
    positions, then the per-channel affine (if any); quantized with (scale, zero_point)."""

    def __init__(self, num_features, weight, bias, scale, zero_point, eps=1e-5, momentum=0.1,
                 affine=False, track_running_stats=False, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        float_cls.__init__(self, num_features, eps, momentum, affine, track_running_stats,
                           **factory_kwargs)
        self.weight = weight
        self.bias = bias
        _output_qparams(self, scale, zero_point, factory_kwargs)

    def forward(self, input):
        return _kernels().instance_norm(input, self.weight, self.bias, self.eps,
                                        float(self.scale), int(self.zero_point))

    def _get_name(self):
        return f"QuantizedInstanceNorm{nd}d"

    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls(mod.num_features, mod.weight, mod.bias, float(scale), int(zero_point),
                   mod.eps, mod.affine)

    def from_reference(cls, mod, scale, zero_point):
        return cls(mod.num_features, mod.weight, mod.bias, float(scale), int(zero_point),
                   mod.eps, mod.affine)

    return type(f"InstanceNorm{nd}d", (float_cls,), {
        "__init__": __init__, "forward": forward, "_get_name": _get_name,
        "from_float": classmethod(from_float), "from_reference": classmethod(from_reference),
        "__module__": __name__, "__doc__": _instance_norm.__doc__.replace("{nd}", str(nd))})


InstanceNorm1d = _instance_norm(1, nn.InstanceNorm1d)
InstanceNorm2d = _instance_norm(2, nn.InstanceNorm2d)
InstanceNorm3d = _instance_norm(3, nn.InstanceNorm3d)
