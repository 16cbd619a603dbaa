"""Fused convolutions for quantization-aware training (torch.ao.nn.intrinsic.qat):
ConvBn, ConvBnReLU (batch norm folded into the fake-quantized weight) and ConvReLU.

ConvBn's forward simulates the folded layer of the converted model while the batch norm
still trains: with sigma = sqrt(running_var + eps) and gamma the bn weight,

    W' = weight_fake_quant(W * gamma / sigma)          (per output channel)
    y  = bn(conv(x, W') * sigma / gamma + b)            (the division undoes the scaling,
                                                        so bn sees the float conv's output)

``freeze_bn_stats`` stops the running statistics (bn in eval mode), ``update_bn_stats``
restarts them. After training, ``convert`` folds the batch norm into the weight for good.
"""
import math

import ember
from ember import nn
from ember.nn import functional as F
from ember.nn import init
from ember.nn.modules.conv import _ConvNd as _FloatConvNd
from ember.nn.utils.fusion import fuse_conv_bn_weights

from ember.ao.nn.intrinsic.modules import fused as nni
from ember.ao.nn.qat.modules.conv import (Conv1d as _QATConv1d, Conv2d as _QATConv2d,
                                          Conv3d as _QATConv3d)
from ember.ao.nn.intrinsic.modules.fused import _FusedModule

__all__ = ["ConvBn1d", "ConvBnReLU1d", "ConvBn2d", "ConvBnReLU2d", "ConvBn3d", "ConvBnReLU3d",
           "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "update_bn_stats", "freeze_bn_stats"]

_BN_CLASS_MAP = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


class _ConvBnNd(_FloatConvNd, _FusedModule):
    """Conv + BatchNorm for QAT (see the module docstring)."""

    _version = 2
    _FLOAT_MODULE = None
    _FLOAT_CONV_MODULE = None
    _FLOAT_BN_MODULE = None
    _FLOAT_RELU_MODULE = None
    _FUSED_FLOAT_MODULE = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=None, padding_mode="zeros", eps=1e-05, momentum=0.1,
                 freeze_bn=False, qconfig=None, dim=2):
        # The conv is made without a bias; the bias parameter is added after the batch norm,
        # in torch's order (the random draws of initialisation happen in the same sequence).
        self._FLOAT_CONV_MODULE.__init__(self, in_channels, out_channels, kernel_size,
                                         stride=stride, padding=padding, dilation=dilation,
                                         groups=groups, bias=False, padding_mode=padding_mode)
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.freeze_bn = freeze_bn if self.training else True
        self.bn = _BN_CLASS_MAP[dim](out_channels, eps, momentum, True, True)
        self.weight_fake_quant = self.qconfig.weight()
        if bias:
            self.bias = nn.Parameter(ember.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_bn_parameters()
        if self.training and not freeze_bn:
            self.update_bn_stats()
        else:
            self.freeze_bn_stats()
        self._enable_slow_path_for_better_numerical_stability = False

    def reset_running_stats(self):
        self.bn.reset_running_stats()

    def reset_bn_parameters(self):
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def update_bn_stats(self):
        self.freeze_bn = False
        self.bn.training = True
        return self

    def freeze_bn_stats(self):
        self.freeze_bn = True
        self.bn.training = False
        return self

    def _shapes(self):
        weight_shape = [1] * len(self.weight.shape)
        weight_shape[0] = -1
        bias_shape = [1] * len(self.weight.shape)
        bias_shape[1] = -1
        return weight_shape, bias_shape

    def _forward(self, input):
        if self._enable_slow_path_for_better_numerical_stability:
            raise NotImplementedError("ember's ConvBn QAT modules have only the default "
                                      "(approximate) forward, not the slow path")
        running_std = ember.sqrt(self.bn.running_var + self.bn.eps)
        scale_factor = self.bn.weight / running_std
        weight_shape, bias_shape = self._shapes()
        scaled_weight = self.weight_fake_quant(self.weight * scale_factor.reshape(weight_shape))
        if self.bias is not None:
            zero_bias = ember.zeros_like(self.bias, dtype=input.dtype)
        else:
            zero_bias = ember.zeros(self.out_channels, device=scaled_weight.device,
                                    dtype=input.dtype)
        conv = self._conv_forward(input, scaled_weight, zero_bias)
        conv_orig = conv / scale_factor.reshape(bias_shape)
        if self.bias is not None:
            conv_orig = conv_orig + self.bias.reshape(bias_shape)
        return self.bn(conv_orig)

    def forward(self, input):
        return self._forward(input)

    def extra_repr(self):
        return self._FLOAT_CONV_MODULE.extra_repr(self)

    def train(self, mode=True):
        # A frozen batch norm stays in eval mode whatever the model's mode.
        self.training = mode
        if not self.freeze_bn:
            for module in self.children():
                module.train(mode)
        return self

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        version = local_metadata.get("version", None)
        if version is None or version == 1:
            # Version 1 kept the batch norm's tensors under gamma/beta/running_* directly.
            renames = {"bn.weight": "gamma", "bn.bias": "beta", "bn.running_mean": "running_mean",
                       "bn.running_var": "running_var",
                       "bn.num_batches_tracked": "num_batches_tracked"}
            for new, old in renames.items():
                if prefix + old in state_dict:
                    state_dict[prefix + new] = state_dict.pop(prefix + old)
                elif prefix + new not in state_dict and strict:
                    missing_keys.append(prefix + new)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT module sharing the fused float module's conv and bn tensors."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError("qat." + cls.__name__ + ".from_float only works for "
                                 + cls._FLOAT_MODULE.__name__)
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if not mod.qconfig:
            raise AssertionError("Input float module must have a valid qconfig")
        conv, bn = mod[0], mod[1]
        qat = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                  conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                  conv.padding_mode, bn.eps, bn.momentum, False, mod.qconfig)
        qat.weight = conv.weight
        qat.bias = conv.bias
        qat.bn.weight = bn.weight
        qat.bn.bias = bn.bias
        qat.bn.running_mean = bn.running_mean
        qat.bn.running_var = bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat

    def to_float(self):
        """The float conv with the batch norm folded in (and the ReLU, as a ConvReLU)."""
        conv = self._FLOAT_CONV_MODULE(self.in_channels, self.out_channels, self.kernel_size,
                                       self.stride, self.padding, self.dilation, self.groups,
                                       self.bias is not None, self.padding_mode)
        conv.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = nn.Parameter(self.bias.detach())
        conv.weight, conv.bias = fuse_conv_bn_weights(
            conv.weight, conv.bias, self.bn.running_mean, self.bn.running_var, self.bn.eps,
            self.bn.weight, self.bn.bias)
        if self._FLOAT_RELU_MODULE is not None:
            fused = self._FUSED_FLOAT_MODULE(conv, self._FLOAT_RELU_MODULE())
            fused.train(self.training)
            return fused
        conv.train(self.training)
        return conv


def _conv_bn(name, dim, conv_cls, fused_cls, relu_fused_cls=None, float_relu_fused=None):
    """ConvBn{dim}d (relu_fused_cls None) or ConvBnReLU{dim}d for QAT."""
    relu = relu_fused_cls is not None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=None, padding_mode="zeros", eps=1e-05,
                 momentum=0.1, freeze_bn=False, qconfig=None):
        _ConvBnNd.__init__(self, in_channels, out_channels, kernel_size, stride, padding,
                           dilation, groups, bias, padding_mode, eps, momentum, freeze_bn,
                           qconfig, dim=dim)

    body = {"__init__": __init__, "__module__": __name__,
            "_FLOAT_MODULE": relu_fused_cls if relu else fused_cls,
            "_FLOAT_CONV_MODULE": conv_cls, "_FLOAT_BN_MODULE": _BN_CLASS_MAP[dim],
            "_FLOAT_RELU_MODULE": nn.ReLU if relu else None,
            "_FUSED_FLOAT_MODULE": float_relu_fused,
            "__doc__": f"Conv{dim}d + BatchNorm{dim}d{' + ReLU' if relu else ''} for QAT "
                       f"(batch norm folded into the fake-quantized weight)."}
    if relu:
        body["forward"] = lambda self, input: F.relu(self._forward(input))
    return type(name, (_ConvBnNd, conv_cls), body)


ConvBn1d = _conv_bn("ConvBn1d", 1, nn.Conv1d, nni.ConvBn1d)
ConvBn2d = _conv_bn("ConvBn2d", 2, nn.Conv2d, nni.ConvBn2d)
ConvBn3d = _conv_bn("ConvBn3d", 3, nn.Conv3d, nni.ConvBn3d)
ConvBnReLU1d = _conv_bn("ConvBnReLU1d", 1, nn.Conv1d, nni.ConvBn1d, nni.ConvBnReLU1d,
                        nni.ConvReLU1d)
ConvBnReLU2d = _conv_bn("ConvBnReLU2d", 2, nn.Conv2d, nni.ConvBn2d, nni.ConvBnReLU2d,
                        nni.ConvReLU2d)
ConvBnReLU3d = _conv_bn("ConvBnReLU3d", 3, nn.Conv3d, nni.ConvBn3d, nni.ConvBnReLU3d,
                        nni.ConvReLU3d)


class _ConvReLUMixin:
    """relu(conv(x, weight_fake_quant(W)) + b) for QAT."""

    _FLOAT_RELU_MODULE = nn.ReLU

    def forward(self, input):
        return F.relu(self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias))


class ConvReLU1d(_ConvReLUMixin, _QATConv1d, _FusedModule):
    """Conv1d + ReLU for QAT."""
    _FLOAT_MODULE = nni.ConvReLU1d
    _FLOAT_CONV_MODULE = nn.Conv1d


class ConvReLU2d(_ConvReLUMixin, _QATConv2d, _FusedModule):
    """Conv2d + ReLU for QAT."""
    _FLOAT_MODULE = nni.ConvReLU2d
    _FLOAT_CONV_MODULE = nn.Conv2d


class ConvReLU3d(_ConvReLUMixin, _QATConv3d, _FusedModule):
    """Conv3d + ReLU for QAT."""
    _FLOAT_MODULE = nni.ConvReLU3d
    _FLOAT_CONV_MODULE = nn.Conv3d


_CONV_BN_CLASSES = (ConvBn1d, ConvBn2d, ConvBn3d, ConvBnReLU1d, ConvBnReLU2d, ConvBnReLU3d)


def update_bn_stats(mod):
    """``model.apply(update_bn_stats)``: let the ConvBn modules' batch norms train."""
    if type(mod) in _CONV_BN_CLASSES:
        mod.update_bn_stats()


def freeze_bn_stats(mod):
    """``model.apply(freeze_bn_stats)``: freeze the ConvBn modules' running statistics."""
    if type(mod) in _CONV_BN_CLASSES:
        mod.freeze_bn_stats()
