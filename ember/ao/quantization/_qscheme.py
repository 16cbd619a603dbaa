"""The quantization schemes (torch.per_tensor_affine, ...) as the workflows test them."""
from ember import (per_channel_affine, per_channel_affine_float_qparams,  # noqa: F401
                   per_channel_symmetric, per_tensor_affine, per_tensor_symmetric)

__all__ = ["per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
           "per_channel_symmetric", "per_channel_affine_float_qparams",
           "is_per_tensor", "is_per_channel", "is_symmetric", "is_float_qparams"]


def is_per_tensor(qscheme):
    return qscheme in (per_tensor_affine, per_tensor_symmetric)


def is_per_channel(qscheme):
    return qscheme in (per_channel_affine, per_channel_symmetric,
                       per_channel_affine_float_qparams)


def is_symmetric(qscheme):
    return qscheme in (per_tensor_symmetric, per_channel_symmetric)


def is_float_qparams(qscheme):
    return qscheme == per_channel_affine_float_qparams
