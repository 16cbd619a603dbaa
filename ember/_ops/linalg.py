"""Matrix products and linear algebra."""
import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._base import Op, apply
from ._util import cast, check_same_device, dtype_name

__all__ = ["matmul", "mm"]


def _mm_dtype(a, b, fname):
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != "
                           f"{b.dtype}" if fname == "mm" else
                           f"expected both vectors to have same dtype, but found "
                           f"{dtype_name(a.dtype)} and {dtype_name(b.dtype)}" if fname == "dot" else
                           f"expected mat1 and mat2 to have the same dtype, but got: "
                           f"{dtype_name(a.dtype).lower()} != {dtype_name(b.dtype).lower()}")
    return a.dtype


def _lowp(x):
    # NumPy has no bfloat16 GEMM (it returns float32); compute in float32 and cast back
    return x.astype(np.float32) if x.dtype.kind == "V" else x


class Mm(Op):
    _name = "MmBackward0"
    save_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, y):
        out = np.matmul(_lowp(x), _lowp(y))
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = grad.mm(y.t()) if ctx.needs_input_grad[0] else None
        gy = x.t().mm(grad) if ctx.needs_input_grad[1] else None
        return gx, gy


def mm(input, mat2, *, out=None):
    """Matrix product of two 2-D tensors."""
    if input.dim() != 2 or mat2.dim() != 2:
        bad = input if input.dim() != 2 else mat2
        raise RuntimeError(f"{'self' if bad is input else 'mat2'} must be a matrix")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x"
                           f"{input.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    _mm_dtype(input, mat2, "mm")
    check_same_device(input, mat2)
    return apply(Mm, (input, mat2), (input._data, mat2._data))


class Matmul(Op):
    """Batched / broadcast matmul of tensors with at least 2 dims."""
    _name = "BmmBackward0"
    save_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, y):
        return np.matmul(_lowp(x), _lowp(y)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = grad.matmul(y.mT) if ctx.needs_input_grad[0] else None
        gy = x.mT.matmul(grad) if ctx.needs_input_grad[1] else None
        return gx, gy


def matmul(input, other, *, out=None):
    """Matrix product with NumPy/PyTorch broadcasting of batch dims; 1-D operands are
    treated as a row (left) or column (right) vector and the added dim is removed."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        bad = input if not isinstance(input, Tensor) else other
        raise TypeError(f"matmul(): argument '{'input' if bad is input else 'other'}' must be "
                        f"Tensor, not {type(bad).__name__}")
    da, db = input.dim(), other.dim()
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D "
                           f"and {db}D")
    if da == 2 and db == 2:
        return mm(input, other)
    _mm_dtype(input, other, "matmul")
    check_same_device(input, other)
    a = input.unsqueeze(0) if da == 1 else input
    b = other.unsqueeze(-1) if db == 1 else other
    if a.shape[-1] != b.shape[-2]:
        if da == 1 and db == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src"
                               f" [{other.shape[0]}] to have the same number of elements, but got "
                               f"{input.shape[0]} and {other.shape[0]} elements respectively")
        if db == 1:
            raise RuntimeError(f"size mismatch, got input ({a.shape[-2]}), mat "
                               f"({a.shape[-2]}x{a.shape[-1]}), vec ({other.shape[0]})")
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({int(np.prod(a.shape[:-1]))}x{a.shape[-1]} and "
                           f"{b.shape[-2]}x{b.shape[-1]})")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({a.shape[-3]}) must match the size of tensor b "
                           f"({b.shape[-3]}) at non-singleton dimension 0") from None
    out = apply(Matmul, (a, b), (a._data, b._data))
    if da == 1 and db == 1:
        if out.grad_fn is not None:
            out.grad_fn._name = "DotBackward0"
        return out.reshape(())
    if da == 1:
        out = out.squeeze(-2)
    if db == 1:
        out = out.squeeze(-1)
    return out


def _rmatmul(self, other):
    return matmul(other, self)


Tensor.matmul = Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = _rmatmul
Tensor.mm = mm
