"""The quantization schemes (torch.per_tensor_affine, ...) as the workflows use them.

TEMPORARY (Q2): the qscheme objects belong to ember's quantized tensors (Q1's work, exported
as ``ember.per_tensor_affine`` ...). Until they land, stand-ins with the same names are made
here; once ``ember.per_tensor_affine`` exists this module only re-exports ember's objects.
"""
import ember

__all__ = ["per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
           "per_channel_symmetric", "per_channel_affine_float_qparams",
           "is_per_tensor", "is_per_channel", "is_symmetric", "is_float_qparams"]


class _StandInQScheme:
    """A stand-in for a qscheme object (prints as torch's ``torch.per_tensor_affine``)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_qscheme, (self.name,))


def _qscheme(name):
    existing = getattr(ember, name, None)
    return existing if existing is not None else _StandInQScheme(name)


per_tensor_affine = _qscheme("per_tensor_affine")
per_tensor_symmetric = _qscheme("per_tensor_symmetric")
per_channel_affine = _qscheme("per_channel_affine")
per_channel_symmetric = _qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = _qscheme("per_channel_affine_float_qparams")


def is_per_tensor(qscheme):
    return qscheme in (per_tensor_affine, per_tensor_symmetric)


def is_per_channel(qscheme):
    return qscheme in (per_channel_affine, per_channel_symmetric,
                       per_channel_affine_float_qparams)


def is_symmetric(qscheme):
    return qscheme in (per_tensor_symmetric, per_channel_symmetric)


def is_float_qparams(qscheme):
    return qscheme == per_channel_affine_float_qparams
