"""Conv1d/2d/3d and ConvTranspose1d/2d/3d."""
import math

from ..._ops.creation import empty
from ..._ops.conv import convolution, conv_transpose, _tuple
from ..._ops.padding import pad as _pad
from .. import init
from ...autograd import grad_mode
from ... import _torch_function
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d"]

_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


class _ConvNd(Module):
    _nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", output_padding=0, device=None,
                 dtype=None):
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        kernel_size, stride = _tuple(kernel_size, nd), _tuple(stride, nd)
        dilation = _tuple(dilation, nd)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _tuple(padding, nd)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.output_padding = _tuple(output_padding, nd)
        if isinstance(padding, str):
            rev = [0, 0] * nd
            if padding == "same":
                for d, k, i in zip(dilation, kernel_size, range(nd - 1, -1, -1)):
                    total = d * (k - 1)
                    left = total // 2
                    rev[2 * i], rev[2 * i + 1] = left, total - left
        else:
            rev = []
            for p in reversed(padding):
                rev += [p, p]
        self._reversed_padding_repeated_twice = rev
        if self.transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)

    def _conv_forward(self, input, weight, bias):
        if _torch_function.ACTIVE[0] and (_torch_function._MODES_LIVE[0] or
                                          _torch_function._any_overriding((input,), {})):
            return self._functional_conv(input, weight, bias)
        if self.padding_mode != "zeros":
            x = _pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return convolution(self._nd, x, weight, bias, self.stride, 0, self.dilation,
                               self.groups)
        return convolution(self._nd, input, weight, bias, self.stride, self.padding,
                           self.dilation, self.groups)

    def _functional_conv(self, input, weight, bias):
        """The convolution through ``F.conv<n>d``, as PyTorch's module calls it: a
        __torch_function__ handler sees that one call (and not the checks inside)."""
        from .. import functional as F
        conv = getattr(F, f"conv{self._nd}d")
        if self.padding_mode != "zeros":
            x = F.pad(input, tuple(self._reversed_padding_repeated_twice),
                      mode=self.padding_mode)
            return conv(x, weight, bias, self.stride, (0,) * self._nd, self.dilation,
                        self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L); weight (C_out, C_in/groups, k)."""
    _nd = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W); weight (C_out, C_in/groups, kH, kW),
    initialised U(-b, b) with b = 1/sqrt(fan_in) (kaiming_uniform, a=sqrt(5))."""
    _nd = 2


class Conv3d(_ConvNd):
    _nd = 3


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f'{self.__class__.__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)

    def _output_padding(self, input, output_size):
        """The output_padding that gives `output_size`: each size must lie in
        [min, min + stride - 1], min being the size output_padding 0 gives (PyTorch's
        module checks against the stride alone, whatever the dilation)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        leading = 2 if input.dim() == nd + 2 else 1
        if len(output_size) == leading + nd:
            output_size = output_size[leading:]
        if len(output_size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {input.dim()}D input, output_size must "
                             f"have {nd} or {leading + nd} elements (got {len(output_size)})")
        lows, highs = [], []
        for i in range(nd):
            low = ((input.shape[leading + i] - 1) * self.stride[i] - 2 * self.padding[i] +
                   self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            lows.append(low)
            highs.append(low + self.stride[i] - 1)
        for size, low, high in zip(output_size, lows, highs):
            if not low <= size <= high:
                # the input's size is printed from dim 2 on, as PyTorch does
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {lows} to {highs} (for an input of "
                                 f"{input.size()[2:]})")
        return tuple(int(size) - low for size, low in zip(output_size, lows))

    def forward(self, input, output_size=None):
        op = self._output_padding(input, output_size)
        return conv_transpose(self._nd, input, self.weight, self.bias, self.stride, self.padding,
                              op, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution; weight (C_in, C_out/groups, kH, kW)."""
    _nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    _nd = 3


class _LazyConvXdMixin(LazyModuleMixin):
    """A convolution whose ``in_channels`` is read from its first input's channel dimension
    (dim 1 of a batched input, dim 0 of an unbatched one).

    The first call materializes weight ((C_out, C_in/groups, *k), or (C_in, C_out/groups,
    *k) when transposed) and bias (C_out,), initialises them as the non-lazy class does,
    and the module becomes that class (``cls_to_become``).
    """

    def _lazy_init(self, out_channels, bias, device, dtype):
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        self.in_channels = self._get_in_channels(input)
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        with grad_mode.no_grad():
            if self.transposed:
                shape = (self.in_channels, self.out_channels // self.groups)
            else:
                shape = (self.out_channels, self.in_channels // self.groups)
            self.weight.materialize(shape + tuple(self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()

    def _get_in_channels(self, input):
        unbatched, batched = self._nd + 1, self._nd + 2
        if input.dim() not in (unbatched, batched):
            raise RuntimeError(f"Expected {unbatched}D (unbatched) or {batched}D (batched) input "
                               f"to {type(self).__name__}, but got input of size: "
                               f"{input.shape}".replace("ember.Size", "torch.Size"))
        return input.shape[1] if input.dim() == batched else input.shape[0]


class _LazyConvNd(_LazyConvXdMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device=device, dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class _LazyConvTransposeNd(_LazyConvXdMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device=device, dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConvNd, Conv1d):
    """Conv1d with ``in_channels`` inferred from the first input."""
    cls_to_become = Conv1d


class LazyConv2d(_LazyConvNd, Conv2d):
    """Conv2d with ``in_channels`` inferred from the first input."""
    cls_to_become = Conv2d


class LazyConv3d(_LazyConvNd, Conv3d):
    """Conv3d with ``in_channels`` inferred from the first input."""
    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTransposeNd, ConvTranspose1d):
    """ConvTranspose1d with ``in_channels`` inferred from the first input."""
    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeNd, ConvTranspose2d):
    """ConvTranspose2d with ``in_channels`` inferred from the first input."""
    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeNd, ConvTranspose3d):
    """ConvTranspose3d with ``in_channels`` inferred from the first input."""
    cls_to_become = ConvTranspose3d
