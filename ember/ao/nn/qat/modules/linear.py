"""torch.ao.nn.qat.Linear: a Linear whose weight is fake-quantized in forward
(y = x W_fq^T + b, W_fq = weight_fake_quant(W); gradients reach W straight through)."""
from ember import nn
from ember.nn import functional as F
from ember.nn.utils.parametrize import (is_parametrized, transfer_parametrizations_and_params,
                                        type_before_parametrizations)

__all__ = ["Linear"]


class Linear(nn.Linear):
    """Linear for quantization-aware training: ``weight_fake_quant`` (made from
    ``qconfig.weight``) fake-quantizes the weight on each forward."""

    _FLOAT_MODULE = nn.Linear

    def __init__(self, in_features, out_features, bias=True, qconfig=None, device=None,
                 dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(in_features, out_features, bias, **factory_kwargs)
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight(factory_kwargs=factory_kwargs)

    def forward(self, input):
        return F.linear(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT module sharing mod's parameters (mod must carry a qconfig)."""
        if type_before_parametrizations(mod) != cls._FLOAT_MODULE:
            raise AssertionError(f"qat.{cls.__name__}.from_float only works for "
                                 f"{cls._FLOAT_MODULE.__name__}, got "
                                 f"{type_before_parametrizations(mod).__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if not mod.qconfig:
            raise AssertionError("Input float module must have a valid qconfig")
        from ember.ao.nn.intrinsic.modules.fused import LinearReLU
        if type_before_parametrizations(mod) == LinearReLU:
            mod = mod[0]
        qat_linear = cls(mod.in_features, mod.out_features, bias=mod.bias is not None,
                         qconfig=mod.qconfig)
        for name in ("weight", "bias"):
            if is_parametrized(mod, name):
                transfer_parametrizations_and_params(mod, qat_linear, name)
            else:
                setattr(qat_linear, name, getattr(mod, name))
        return qat_linear

    def to_float(self):
        linear = nn.Linear(self.in_features, self.out_features, self.bias is not None)
        linear.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            linear.bias = nn.Parameter(self.bias.detach())
        linear.train(self.training)
        return linear
