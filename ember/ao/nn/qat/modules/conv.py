"""torch.ao.nn.qat.Conv1d/2d/3d: convolutions whose weight is fake-quantized in forward
(y = conv(x, weight_fake_quant(W)) + b; gradients reach W straight through)."""
from ember import nn

__all__ = ["Conv1d", "Conv2d", "Conv3d"]


class _ConvNd:
    """The QAT behaviour shared by Conv1d/2d/3d (mixed in before the float class)."""

    _FLOAT_MODULE = None
    _FLOAT_CONV_MODULE = None
    _FLOAT_RELU_MODULE = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", qconfig=None,
                 device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        self._FLOAT_CONV_MODULE.__init__(self, in_channels, out_channels, kernel_size,
                                         stride=stride, padding=padding, dilation=dilation,
                                         groups=groups, bias=bias, padding_mode=padding_mode,
                                         **factory_kwargs)
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight(factory_kwargs=factory_kwargs)

    def forward(self, input):
        return self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT module sharing mod's parameters (mod: the float conv, or a fused
        ConvReLU, carrying a qconfig)."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f"qat.{cls.__name__}.from_float only works for "
                                 f"{cls._FLOAT_MODULE.__name__}, got {type(mod).__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if not mod.qconfig:
            raise AssertionError("Input float module must have a valid qconfig")
        from ember.ao.nn.intrinsic.modules.fused import _FusedModule
        qconfig = mod.qconfig
        if issubclass(type(mod), _FusedModule):
            mod = mod[0]
        qat_conv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, stride=mod.stride,
                       padding=mod.padding, dilation=mod.dilation, groups=mod.groups,
                       bias=mod.bias is not None, padding_mode=mod.padding_mode,
                       qconfig=qconfig)
        qat_conv.weight = mod.weight
        qat_conv.bias = mod.bias
        return qat_conv

    def to_float(self):
        conv = self._FLOAT_CONV_MODULE(self.in_channels, self.out_channels, self.kernel_size,
                                       self.stride, self.padding, self.dilation, self.groups,
                                       self.bias is not None, self.padding_mode)
        conv.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = nn.Parameter(self.bias.detach())
        if self._FLOAT_RELU_MODULE is not None:
            fused = self._FLOAT_MODULE(conv, self._FLOAT_RELU_MODULE())
            fused.train(self.training)
            return fused
        return conv


class Conv1d(_ConvNd, nn.Conv1d):
    """Conv1d with a fake-quantized weight."""
    _FLOAT_MODULE = nn.Conv1d
    _FLOAT_CONV_MODULE = nn.Conv1d


class Conv2d(_ConvNd, nn.Conv2d):
    """Conv2d with a fake-quantized weight."""
    _FLOAT_MODULE = nn.Conv2d
    _FLOAT_CONV_MODULE = nn.Conv2d


class Conv3d(_ConvNd, nn.Conv3d):
    """Conv3d with a fake-quantized weight."""
    _FLOAT_MODULE = nn.Conv3d
    _FLOAT_CONV_MODULE = nn.Conv3d
