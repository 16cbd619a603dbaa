"""nn.grad: the gradients of a convolution with respect to its input and to its weight.

For y = conv(x, w) (stride, padding, dilation, groups as in nn.functional.convNd) and an
upstream gradient g = dL/dy:

    convNd_input(x.shape, w, g)  = dL/dx = conv_transpose(g, w)   (cropped/padded to x.shape)
    convNd_weight(x, w.shape, g) = dL/dw = sum over the batch of the correlation of x and g

Both are computed by differentiating the convolution itself (it is linear in each
argument, so the values used for the other one do not matter); the results are
differentiable in `w`/`x` and `g` when those require grad.
"""
from .. import autograd
from .._ops.creation import zeros
from ..autograd import grad_mode
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _input_grad(conv, input_size, weight, grad_output, stride, padding, dilation, groups):
    create_graph = grad_mode.is_grad_enabled() and (weight.requires_grad
                                                    or grad_output.requires_grad)
    with grad_mode.enable_grad():
        x = zeros(tuple(input_size), dtype=grad_output.dtype, device=grad_output.device,
                  requires_grad=True)
        y = conv(x, weight, None, stride, padding, dilation, groups)
        _check_grad_output(y, grad_output)
        (gx,) = autograd.grad(y, x, grad_output, create_graph=create_graph)
    return gx


def _weight_grad(conv, input, weight_size, grad_output, stride, padding, dilation, groups):
    create_graph = grad_mode.is_grad_enabled() and (input.requires_grad
                                                    or grad_output.requires_grad)
    with grad_mode.enable_grad():
        w = zeros(tuple(weight_size), dtype=grad_output.dtype, device=grad_output.device,
                  requires_grad=True)
        y = conv(input, w, None, stride, padding, dilation, groups)
        _check_grad_output(y, grad_output)
        (gw,) = autograd.grad(y, w, grad_output, create_graph=create_graph)
    return gw


def _check_grad_output(y, grad_output):
    if tuple(y.shape) != tuple(grad_output.shape):
        raise RuntimeError(f"grad_output of shape {list(grad_output.shape)} does not match the "
                           f"convolution's output shape {list(y.shape)}")


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv1d with respect to an input of shape `input_size`."""
    return _input_grad(F.conv1d, input_size, weight, grad_output, stride, padding, dilation,
                       groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv1d with respect to a weight of shape `weight_size`."""
    return _weight_grad(F.conv1d, input, weight_size, grad_output, stride, padding, dilation,
                        groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv2d with respect to an input of shape `input_size`."""
    return _input_grad(F.conv2d, input_size, weight, grad_output, stride, padding, dilation,
                       groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv2d with respect to a weight of shape `weight_size`."""
    return _weight_grad(F.conv2d, input, weight_size, grad_output, stride, padding, dilation,
                        groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv3d with respect to an input of shape `input_size`."""
    return _input_grad(F.conv3d, input_size, weight, grad_output, stride, padding, dilation,
                       groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv3d with respect to a weight of shape `weight_size`."""
    return _weight_grad(F.conv3d, input, weight_size, grad_output, stride, padding, dilation,
                        groups)
