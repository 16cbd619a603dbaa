"""Quantized BatchNorm2d/3d (torch.ao.nn.quantized): the eval-mode batch norm of a
quantized input, requantized to the observed (scale, zero_point)."""
import ember
from ember import nn
from ember.nn.modules.batchnorm import _BatchNorm as _FloatBatchNorm

__all__ = ["BatchNorm2d", "BatchNorm3d"]


class _BatchNorm(_FloatBatchNorm):
    _nd = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, True, True, device=device, dtype=dtype)
        self.register_buffer("scale", ember.tensor(1.0, device=device, dtype=dtype))
        self.register_buffer("zero_point", ember.tensor(0, device=device, dtype=dtype))

    def _get_name(self):
        return f"QuantizedBatchNorm{self._nd}d"

    def forward(self, input):
        if input.dim() != self._nd + 2:
            raise ValueError(f"Input shape must be `(N, C{', D' if self._nd == 3 else ''}, "
                             f"H, W)`!")
        return ember.quantized_batch_norm(input, self.weight, self.bias, self.running_mean,
                                          self.running_var, self.eps, float(self.scale),
                                          int(self.zero_point))

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        activation_post_process = mod.activation_post_process
        if type(mod).__name__.startswith("BNReLU"):
            mod = mod[0]
        scale, zero_point = activation_post_process.calculate_qparams()
        new_mod = cls(mod.num_features, mod.eps)
        new_mod.weight = mod.weight
        new_mod.bias = mod.bias
        new_mod.running_mean = mod.running_mean
        new_mod.running_var = mod.running_var
        new_mod.scale = scale
        new_mod.zero_point = zero_point
        return new_mod


class BatchNorm2d(_BatchNorm):
    """Quantized BatchNorm2d over (N, C, H, W)."""
    _nd = 2


class BatchNorm3d(_BatchNorm):
    """Quantized BatchNorm3d over (N, C, D, H, W)."""
    _nd = 3
