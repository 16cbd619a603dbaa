"""Quantized convolutions (torch.ao.nn.quantized.Conv1d/2d/3d): a qint8 weight, a float
bias and the output's (scale, zero_point); the input is a quantized tensor. Padding modes
other than zeros pad the quantized input first."""
import numpy as np

import ember
from ember import nn
from ember.nn.modules.utils import _pair, _single, _triple
from ember.nn.utils.fusion import fuse_conv_bn_weights

from .utils import WeightedQuantizedModule, _quantize_weight

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

_SUPPORTED_PADDING = {"zeros", "reflect"}


def _functional():
    from ember.ao.nn.quantized import functional
    return functional


def _reflect_pad_quantized(q, padding):
    """q reflect-padded by padding[i] on both sides of each spatial dim: the integers are
    padded (reflection moves values, so the qparams stay)."""
    ints = q.int_repr().cpu().numpy()
    widths = [(0, 0), (0, 0)] + [(p, p) for p in padding]
    padded = ember.from_numpy(np.ascontiguousarray(np.pad(ints, widths, mode="reflect")))
    return ember._make_per_tensor_quantized_tensor(padded, q.q_scale(), q.q_zero_point())


class _ConvNd(WeightedQuantizedModule):
    """The quantized convolution shared by Conv1d/2d/3d."""

    _version = 3
    _nd = 2
    _FLOAT_MODULE = None
    _NNIQAT_CONV_BN_MODULE = None
    _NNI_CONV_RELU_MODULE = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__()
        tup = {1: _single, 2: _pair, 3: _triple}[self._nd]
        if padding_mode not in _SUPPORTED_PADDING:
            raise ValueError(f"'padding_mode' {padding_mode} is not supported by quantized "
                             f"convolution")
        padding = padding if isinstance(padding, str) else tup(padding)
        if self._nd == 1:
            padding = padding if isinstance(padding, str) else tup(padding[0])
        if out_channels <= 0:
            raise ValueError(f"out_channels must be greater than 0, got {out_channels}")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tup(kernel_size)
        self.stride = tup(stride)
        self.padding = padding
        self.dilation = tup(dilation)
        self.transposed = False
        self.output_padding = tup(0)
        self.groups = groups
        self.padding_mode = padding_mode
        qweight = ember._empty_affine_quantized(
            [out_channels, in_channels // groups] + list(self.kernel_size), scale=1,
            zero_point=0, dtype=ember.qint8)
        bias_float = ember.zeros(out_channels, dtype=ember.float) if bias else None
        self.set_weight_bias(qweight, bias_float)
        self.scale = 1.0
        self.zero_point = 0

    def set_weight_bias(self, w, b):
        if not getattr(w, "is_quantized", False):
            raise RuntimeError("quantized::conv_prepack: the weight must be a quantized "
                               "tensor")
        self._packed_params = (w, None if b is None else b.detach().float())

    def _weight_bias(self):
        return self._packed_params

    _STATE = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
              "transposed", "output_padding", "groups", "padding_mode")

    def __setstate__(self, state):
        """ember's own pickles restore the module's __dict__; a whole module torch saved
        holds torch's tuple (the attributes above, weight, bias, scale, zero_point,
        training)."""
        if not isinstance(state, tuple):
            super().__setstate__(state)
            return
        if len(state) != 15:
            raise RuntimeError(f"{type(self).__name__}.__setstate__: expected torch's state "
                               f"of 15 entries, got {len(state)}")
        nn.Module.__init__(self)
        for name, value in zip(self._STATE, state):
            setattr(self, name, value)
        self.set_weight_bias(state[10], state[11])
        self.scale, self.zero_point, self.training = state[12], state[13], state[14]

    def weight(self):
        return self._packed_params[0]

    def bias(self):
        return self._packed_params[1]

    def extra_repr(self):
        s = ("{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}, "
             "scale={scale}, zero_point={zero_point}")
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias() is None:
            s += ", bias=False"
        return s.format(**self.__dict__)

    def _get_name(self):
        return f"QuantizedConv{self._nd}d"

    def forward(self, input):
        if input.dim() != self._nd + 2:
            shape = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[self._nd]
            raise ValueError(f"Input shape must be `{shape}`!")
        padding = self.padding
        if self.padding_mode != "zeros":
            input = _reflect_pad_quantized(input, self.padding)
            padding = (0,) * self._nd
        conv = getattr(_functional(), f"conv{self._nd}d")
        weight, bias = self._weight_bias()
        return conv(input, weight, bias, stride=self.stride, padding=padding,
                    dilation=self.dilation, groups=self.groups, scale=self.scale,
                    zero_point=self.zero_point)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        w, b = self._weight_bias()
        destination[prefix + "weight"] = w
        destination[prefix + "bias"] = b
        destination[prefix + "scale"] = ember.tensor(self.scale)
        destination[prefix + "zero_point"] = ember.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.set_weight_bias(state_dict.pop(prefix + "weight"), state_dict.pop(prefix + "bias"))
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def get_qconv(cls, mod, activation_post_process, weight_post_process=None):
        """The quantized conv of float conv `mod` observed by the two observers."""
        if weight_post_process is None:
            weight_post_process = mod.qconfig.weight()
        weight_post_process(mod.weight)
        if weight_post_process.dtype != ember.qint8:
            raise AssertionError(f"Weight observer must have a dtype of qint8, got "
                                 f"{weight_post_process.dtype}")
        qweight = _quantize_weight(mod.weight.float(), weight_post_process)
        qconv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride,
                    mod.padding, mod.dilation, mod.groups, mod.bias is not None,
                    mod.padding_mode)
        qconv.set_weight_bias(qweight, mod.bias)
        if activation_post_process is None or activation_post_process.dtype == ember.float:
            return qconv
        act_scale, act_zp = activation_post_process.calculate_qparams()
        qconv.scale = float(act_scale)
        qconv.zero_point = int(act_zp)
        return qconv

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """From an observed float conv / ConvReLU, or a QAT conv (ConvBn folded first)."""
        if hasattr(mod, "weight_fake_quant"):
            if cls._NNIQAT_CONV_BN_MODULE and type(mod) in cls._NNIQAT_CONV_BN_MODULE:
                mod.weight, mod.bias = fuse_conv_bn_weights(
                    mod.weight, mod.bias, mod.bn.running_mean, mod.bn.running_var, mod.bn.eps,
                    mod.bn.weight, mod.bn.bias)
            if not hasattr(mod, "activation_post_process"):
                raise AssertionError("Input QAT module must have observer attached")
            return cls.get_qconv(mod, mod.activation_post_process, mod.weight_fake_quant)
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f"nnq.{cls.__name__}.from_float only works for "
                                 f"{cls._FLOAT_MODULE.__name__} but got: {type(mod).__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined.")
        activation_post_process = getattr(mod, "activation_post_process", None)
        if cls._NNI_CONV_RELU_MODULE is not None and type(mod) is cls._NNI_CONV_RELU_MODULE:
            mod = mod[0]
        return cls.get_qconv(mod, activation_post_process, mod.qconfig.weight())


def _qat_conv_bn(nd, relu):
    from ember.ao.nn.intrinsic import qat as nniqat
    return getattr(nniqat, f"ConvBn{'ReLU' if relu else ''}{nd}d")


class Conv1d(_ConvNd):
    """Quantized 1-D convolution over a quantized (N, C, L) input."""
    _nd = 1
    _FLOAT_MODULE = nn.Conv1d


class Conv2d(_ConvNd):
    """Quantized 2-D convolution over a quantized (N, C, H, W) input."""
    _nd = 2
    _FLOAT_MODULE = nn.Conv2d


class Conv3d(_ConvNd):
    """Quantized 3-D convolution over a quantized (N, C, D, H, W) input."""
    _nd = 3
    _FLOAT_MODULE = nn.Conv3d


class _ConvTransposeNd(_ConvNd):
    """The quantized transposed convolution shared by ConvTranspose1d/2d/3d: a
    (in_channels, out_channels/groups, *kernel) qint8 weight quantized per tensor (the
    kernels take no per-channel weights: a per-channel qconfig is refused at prepare), a
    float bias and the output's (scale, zero_point)."""

    _version = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f'{self.__class__.__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)
        tup = {1: _single, 2: _pair, 3: _triple}[self._nd]
        self.transposed = True
        self.output_padding = tup(output_padding)
        qweight = ember._empty_affine_quantized(
            [in_channels, out_channels // groups] + list(self.kernel_size), scale=1,
            zero_point=0, dtype=ember.qint8)
        self.set_weight_bias(qweight, self.bias())

    def _get_name(self):
        return f"QuantizedConvTranspose{self._nd}d"

    def forward(self, input):
        if input.dim() != self._nd + 2:
            shape = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[self._nd]
            raise ValueError(f"Input shape must be `{shape}`!")
        from ember._ops.quantized_functional import conv_transpose
        weight, bias = self._weight_bias()
        return conv_transpose(self._nd, input, weight, bias, self.stride, self.padding,
                              self.output_padding, self.groups, self.dilation, self.scale,
                              self.zero_point)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """From an observed float ConvTranspose (its weight observed per tensor)."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f" nnq.{cls.__name__}.from_float only works for "
                                 f"{cls._FLOAT_MODULE.__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined.")
        weight_post_process = mod.qconfig.weight()
        weight_post_process(mod.weight)
        if weight_post_process.dtype != ember.qint8:
            raise AssertionError("Weight observer must have a dtype of qint8")
        qweight = _quantize_weight(mod.weight.float(), weight_post_process)
        qconv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride,
                    mod.padding, mod.output_padding, mod.groups, mod.bias is not None,
                    mod.dilation, mod.padding_mode)
        qconv.set_weight_bias(qweight, mod.bias)
        observer = getattr(mod, "activation_post_process", None)
        if observer is None or observer.dtype == ember.float:
            return qconv
        act_scale, act_zp = observer.calculate_qparams()
        qconv.scale = float(act_scale)
        qconv.zero_point = int(act_zp)
        return qconv


class ConvTranspose1d(_ConvTransposeNd):
    """Quantized 1-D transposed convolution over a quantized (N, C, L) input."""
    _nd = 1
    _FLOAT_MODULE = nn.ConvTranspose1d


class ConvTranspose2d(_ConvTransposeNd):
    """Quantized 2-D transposed convolution over a quantized (N, C, H, W) input."""
    _nd = 2
    _FLOAT_MODULE = nn.ConvTranspose2d


class ConvTranspose3d(_ConvTransposeNd):
    """Quantized 3-D transposed convolution over a quantized (N, C, D, H, W) input."""
    _nd = 3
    _FLOAT_MODULE = nn.ConvTranspose3d


def _bind_fused_classes():
    """The QAT ConvBn classes a quantized conv folds (set after the packages load)."""
    for cls in (Conv1d, Conv2d, Conv3d):
        cls._NNIQAT_CONV_BN_MODULE = (_qat_conv_bn(cls._nd, False),)
