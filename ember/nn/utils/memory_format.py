"""Lay out the weights of a network's convolutions in a memory format (channels_last ...),
as torch.nn.utils.memory_format does. Values are unchanged; only the strides of the
weights change, which convolution kernels with NHWC paths (cuDNN) can read faster."""
from ..modules.conv import Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, memory_format, kinds):
    if isinstance(module, kinds):
        # the Parameter object stays (optimizers hold it); only its storage is re-laid out
        module.weight.data = module.weight.detach().clone(memory_format=memory_format)
    for child in module.children():
        _convert(child, memory_format, kinds)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """Give the weight of every Conv2d / ConvTranspose2d in `module` (itself included) the
    layout `memory_format` (e.g. ember.channels_last); returns `module`."""
    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module, memory_format):
    """Give the weight of every Conv3d / ConvTranspose3d in `module` (itself included) the
    layout `memory_format` (e.g. ember.channels_last_3d); returns `module`."""
    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
