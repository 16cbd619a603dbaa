"""nn.functional's functions of no family: one_hot (class indices to one-hot vectors) and
bilinear (the two-input linear map of nn.Bilinear)."""
from ..._backend import array_namespace
from ..._tensor import Tensor
from ... import _dtype


def one_hot(tensor, num_classes=-1):
    import numpy as np
    if tensor.dtype is not _dtype.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    arr = tensor._data
    if num_classes == -1:
        num_classes = int(arr.max()) + 1 if arr.size else 0
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if arr.size and
                           arr.min() >= 0 else "Class values must be non-negative.")
    classes = array_namespace(arr).arange(num_classes)
    return Tensor._make((arr[..., None] == classes).astype(np.int64))


def bilinear(input1, input2, weight, bias=None):
    """y = x1^T A x2 + b over the last dims: input1 (..., in1), input2 (..., in2), weight
    (out, in1, in2), bias (out,). Checked as PyTorch's: one dtype for all, matching
    batch dims and sizes; a complex product that autograd would record raises (PyTorch's
    _trilinear has no complex derivative)."""
    from ..._ops.einsum import einsum
    _check_bilinear(input1, input2, weight, bias)
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out + bias if bias is not None else out


def _check_bilinear(input1, input2, weight, bias):
    from ..._ops._util import c_type_name
    from ...autograd import grad_mode
    tensors = (input1, input2, weight) + ((bias,) if bias is not None else ())
    if any(t.dtype is not input1.dtype for t in tensors):
        names = ("input1", "input2", "weight", "bias")
        raise RuntimeError("All tensors must have the same dtype, got " + ", ".join(
            f"{n}: {c_type_name(t.dtype)}" for n, t in zip(names, tensors)))
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} "
                           f"and {input2.dim()}")
    for i in range(input1.dim() - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: "
                               f"got {input1.shape[i]} and {input2.shape[i]}")
    if input1.dim() == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    for name, t, d in (("input1", input1, 1), ("input2", input2, 2)):
        if weight.dim() == 0:
            raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
        if weight.dim() <= d:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[-{weight.dim()}, {weight.dim() - 1}], but got {d})")
        if t.shape[-1] != weight.shape[d]:
            raise RuntimeError(f"bilinear(): {name} size does not match weight size: got "
                               f"{t.shape[-1]} but expected {weight.shape[d]}")
    if bias is not None and (bias.dim() == 0 or bias.shape[0] != weight.shape[0]):
        if bias.dim() == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[0]} but expected {weight.shape[0]}")
    if weight.dim() != 3:
        raise RuntimeError("number of dimensions must match")   # (PyTorch's _trilinear)
    if input1.dtype.is_complex and grad_mode.is_grad_enabled() and (
            input1.requires_grad or input2.requires_grad or weight.requires_grad):
        raise RuntimeError("_trilinear does not support automatic differentiation for "
                           "outputs with complex dtype.")
