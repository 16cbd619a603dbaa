"""Floating-point operation counts for ``profile(with_flops=True)``: the ops PyTorch's
profiler counts (matrix products, convolutions, elementwise mul and add), by the same
formulas.

A product C = A B with contracted size K costs 2 K per output element (a multiply and an
add), so

    mm, addmm, bmm, baddbmm, matmul, linear:  2 * C.numel() * K
    convolution:  2 * out.numel() * (C_in / groups) * prod(kernel)   (= w.shape[1:])
    mul, add:     out.numel()

(addmm's bias and alpha/beta scalings are not counted, as in PyTorch.) PyTorch counts a
convolution on its ``aten::conv2d`` event; ember has one convolution op, so the count
is on ``aten::convolution``, for 1-, 2- and 3-d convolutions alike.
"""
import math

# op class name -> index of the operand whose last dim is contracted
_CONTRACTED_OPERAND = {"Mm": 0, "Bmm": 0, "Matmul": 0, "Linear": 0, "LinearBias": 1,
                       "Addmm": 1, "Baddbmm": 1}
_ELEMENTWISE = {"Mul", "Add"}


def count(cls, arrays, out):
    """FLOPs of one call of op class `cls` on `arrays` giving `out` (a Tensor), 0 for an
    op that is not counted."""
    name = cls.__qualname__   # (__name__ is PyTorch's node name)
    if type(out) is tuple:
        return 0
    size = out._data.size
    if name in _CONTRACTED_OPERAND:
        operand = arrays[_CONTRACTED_OPERAND[name]]
        return 2 * size * operand.shape[-1]
    if name == "Conv":
        weight = arrays[1]
        return 2 * size * math.prod(weight.shape[1:])
    if name in _ELEMENTWISE:
        return size
    return 0
