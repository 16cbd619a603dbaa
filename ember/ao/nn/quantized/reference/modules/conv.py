"""Reference quantized convolutions (Conv1-3d, ConvTranspose1-3d): the float convolution
with the weight fake-quantized by its stored qparams."""
from ember import nn
from ember._ops.conv import conv_transpose

from .utils import ReferenceQuantizedModule

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]


def _conv_args(conv):
    return dict(in_channels=conv.in_channels, out_channels=conv.out_channels,
                kernel_size=conv.kernel_size, stride=conv.stride, padding=conv.padding,
                dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None,
                padding_mode=conv.padding_mode, device=conv.weight.device,
                dtype=conv.weight.dtype)


def _reference_conv(float_cls, transposed):
    nd = int(float_cls.__name__[-2])
    kind = "ConvTranspose" if transposed else "Conv"

    def __init__(self, *args, weight_qparams=None, **kwargs):
        float_cls.__init__(self, *args, **kwargs)
        self._init_weight_qparams(weight_qparams, kwargs.get("device"))

    if transposed:
        def forward(self, x, output_size=None):
            output_padding = self._output_padding(x, output_size)
            return conv_transpose(nd, x, self.get_weight(), self.bias, self.stride,
                                  self.padding, output_padding, self.groups, self.dilation)
    else:
        def forward(self, x):
            return self._conv_forward(x, self.get_weight(), self.bias)

    def _get_name(self):
        return f"QuantizedConv{'Transpose' if transposed else ''}{nd}d(Reference)"

    @classmethod
    def from_float(cls, float_conv, weight_qparams):
        kwargs = _conv_args(float_conv)
        if transposed:
            kwargs["output_padding"] = float_conv.output_padding
        ref = cls(weight_qparams=weight_qparams, **kwargs)
        ref.weight = nn.Parameter(float_conv.weight.detach())
        if float_conv.bias is not None:
            ref.bias = nn.Parameter(float_conv.bias.detach())
        return ref

    return type(f"{kind}{nd}d", (float_cls, ReferenceQuantizedModule), {
        "__init__": __init__, "forward": forward, "_get_name": _get_name,
        "from_float": from_float, "_IS_REFERENCE": True, "__module__": __name__,
        "__doc__": f"A float {kind}{nd}d whose weight is fake-quantized by its stored "
                   f"qparams (torch.ao.nn.quantized.reference.{kind}{nd}d)."})


Conv1d = _reference_conv(nn.Conv1d, False)
Conv2d = _reference_conv(nn.Conv2d, False)
Conv3d = _reference_conv(nn.Conv3d, False)
ConvTranspose1d = _reference_conv(nn.ConvTranspose1d, True)
ConvTranspose2d = _reference_conv(nn.ConvTranspose2d, True)
ConvTranspose3d = _reference_conv(nn.ConvTranspose3d, True)
