"""The small building blocks torchvision's models share (torchvision.ops.misc):
convolution-norm-activation stacks, squeeze-and-excitation, an MLP, a permutation layer
and a frozen batch norm. Attribute names and layer order are torchvision's, so the
state_dict keys of the models built from them are too."""
import warnings

from ... import nn, permute

__all__ = ["ConvNormActivation", "Conv2dNormActivation", "Conv3dNormActivation",
           "SqueezeExcitation", "MLP", "Permute", "FrozenBatchNorm2d"]


def _same_padding(kernel_size, dilation):
    """``(k - 1) // 2 * d`` per spatial dimension: 'same' output size for odd kernels at
    stride 1 (an int when both arguments are ints, else a tuple)."""
    if isinstance(kernel_size, int) and isinstance(dilation, int):
        return (kernel_size - 1) // 2 * dilation
    ndim = len(kernel_size) if not isinstance(kernel_size, int) else len(dilation)
    kernel_size = (kernel_size,) * ndim if isinstance(kernel_size, int) else tuple(kernel_size)
    dilation = (dilation,) * ndim if isinstance(dilation, int) else tuple(dilation)
    return tuple((k - 1) // 2 * d for k, d in zip(kernel_size, dilation))


class ConvNormActivation(nn.Sequential):
    """``activation(norm(conv(x)))`` as a Sequential (keys ``0.weight``, ``1.weight`` ...).

    `padding` defaults to 'same' for odd kernels; the convolution has a bias only when
    there is no `norm_layer` (a norm's shift makes it redundant). `norm_layer` or
    `activation_layer` None leaves that layer out; `inplace` None calls the activation
    with its own default.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1,
                 inplace=True, bias=None, conv_layer=nn.Conv2d):
        if padding is None:
            padding = _same_padding(kernel_size, dilation)
        if bias is None:
            bias = norm_layer is None
        layers = [conv_layer(in_channels, out_channels, kernel_size, stride, padding,
                             dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            params = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**params))
        super().__init__(*layers)
        self.out_channels = out_channels
        if type(self) is ConvNormActivation:
            warnings.warn("Don't use ConvNormActivation directly, please use "
                          "Conv2dNormActivation and Conv3dNormActivation instead.")


class Conv2dNormActivation(ConvNormActivation):
    """Conv2d, then `norm_layer` (BatchNorm2d), then `activation_layer` (ReLU)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1,
                 inplace=True, bias=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups,
                         norm_layer, activation_layer, dilation, inplace, bias, nn.Conv2d)


class Conv3dNormActivation(ConvNormActivation):
    """Conv3d, then `norm_layer` (BatchNorm3d), then `activation_layer` (ReLU)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, norm_layer=nn.BatchNorm3d, activation_layer=nn.ReLU, dilation=1,
                 inplace=True, bias=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups,
                         norm_layer, activation_layer, dilation, inplace, bias, nn.Conv3d)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2017, eq. 3): channel gates computed from the
    global average of each channel,

        s = sigma(fc2(delta(fc1(avgpool(x)))))     out = s * x

    with 1x1 convolutions `fc1` (C -> `squeeze_channels`) and `fc2` (back to C), `delta` =
    `activation` (ReLU) and `sigma` = `scale_activation` (Sigmoid).
    """

    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU,
                 scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input):
        scale = self.fc1(self.avgpool(input))
        return self.scale_activation(self.fc2(self.activation(scale)))

    def forward(self, input):
        return self._scale(input) * input


class MLP(nn.Sequential):
    """Linear layers of widths `hidden_channels`, each but the last followed by
    `norm_layer` (if any), `activation_layer` and Dropout(`dropout`); the last by Dropout
    alone."""

    def __init__(self, in_channels, hidden_channels, norm_layer=None,
                 activation_layer=nn.ReLU, inplace=None, bias=True, dropout=0.0):
        params = {} if inplace is None else {"inplace": inplace}
        layers = []
        in_dim = in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(nn.Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))
            layers.append(nn.Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(nn.Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout, **params))
        super().__init__(*layers)


class Permute(nn.Module):
    """``x.permute(dims)`` as a layer (a view, no copy)."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return permute(x, self.dims)


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm2d with fixed statistics and affine parameters, all buffers:

        y = (x - running_mean) / sqrt(running_var + eps) * weight + bias

    computed as ``x * scale + shift`` with the per-channel ``scale`` and ``shift`` folded
    first. A BatchNorm2d state dict loads into it (its ``num_batches_tracked`` is dropped).
    """

    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        from ... import ones, zeros
        self.eps = eps
        self.register_buffer("weight", ones(num_features))
        self.register_buffer("bias", zeros(num_features))
        self.register_buffer("running_mean", zeros(num_features))
        self.register_buffer("running_var", ones(num_features))
        self._register_load_state_dict_pre_hook(_drop_num_batches_tracked)

    def forward(self, x):
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        return x * scale + (b - rm * scale)

    def __repr__(self):
        return f"{self.__class__.__name__}({self.weight.shape[0]}, eps={self.eps})"


def _drop_num_batches_tracked(state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
    # a BatchNorm2d checkpoint has this counter; the frozen layer has nothing to put it in
    state_dict.pop(prefix + "num_batches_tracked", None)
