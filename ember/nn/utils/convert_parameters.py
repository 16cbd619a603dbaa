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
        # as PyTorch: each parameter becomes a view of `vec` (writes to it show), of its dtype;
        # a vector too short raises view's RuntimeError
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n
