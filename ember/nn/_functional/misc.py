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
    """y = x1^T A x2 + b over the last dims."""
    from ..._ops.einsum import einsum
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out + bias if bias is not None else out
