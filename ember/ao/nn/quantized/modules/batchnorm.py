"""Quantized BatchNorm2d/3d (torch.ao.nn.quantized): the eval-mode batch norm of a
quantized input, requantized to the observed (scale, zero_point).

On the integers, with s_in, z_in the input's qparams and s_out, z_out the output's
(PyTorch's kernel, float32 throughout):

    inv_sigma = 1 / sqrt(var + eps)
    alpha = inv_sigma * gamma * (s_in / s_out)
    beta  = (beta_bn - mean * inv_sigma * gamma) / s_out
    q_out = clamp(rint(alpha * (q_in - z_in) + beta) + z_out, qmin, qmax)   (per channel)
"""
import numpy as np

import ember
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
        return quantized_batch_norm(input, self.weight, self.bias, self.running_mean,
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


_QRANGE = {"quint8": (0, 255), "qint8": (-128, 127), "qint32": (-2 ** 31, 2 ** 31 - 1)}


def quantized_batch_norm(input, weight, bias, mean, var, eps, output_scale, output_zero_point):
    """Batch norm of a per-tensor quantized (N, C, ...) input with the running statistics,
    quantized to (output_scale, output_zero_point) (see the module docstring)."""
    if not getattr(input, "is_quantized", False):
        raise NotImplementedError(f"quantized::batch_norm: expected a quantized input, got "
                                  f"{input.dtype}")
    f32 = np.float32
    channels = input.shape[1]

    def values(t):
        return t.detach().float().cpu().numpy().astype(f32)

    inv_sigma = f32(1.0) / np.sqrt(values(var) + f32(eps))
    gamma = values(weight) if weight is not None else np.ones(channels, f32)
    shift = values(bias) if bias is not None else np.zeros(channels, f32)
    alpha = inv_sigma * gamma * (f32(input.q_scale()) / f32(output_scale))
    beta = (shift - values(mean) * inv_sigma * gamma) / f32(output_scale)
    shape = (1, channels) + (1,) * (input.dim() - 2)
    ints = input.int_repr().cpu().numpy().astype(np.int64) - input.q_zero_point()
    y = (alpha.reshape(shape) * ints.astype(f32) + beta.reshape(shape)).astype(f32)
    low, high = _QRANGE[str(input.dtype).split(".")[-1]]
    q = np.clip(np.rint(y).astype(np.int64) + int(output_zero_point), low, high)
    q = ember.from_numpy(q.astype(input.int_repr().cpu().numpy().dtype))
    return ember._make_per_tensor_quantized_tensor(q, float(output_scale), int(output_zero_point))
