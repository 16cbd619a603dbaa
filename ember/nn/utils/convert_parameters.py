"""Flatten parameters into one vector and back."""
from ..._tensor import Tensor


def parameters_to_vector(parameters):
    from ..._ops.joining import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for p in parameters:
        n = p.numel()
        p._data = vec._data[pointer:pointer + n].reshape(p.shape).astype(p._data.dtype)
        p._bump_version()
        pointer += n
