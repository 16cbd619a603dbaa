"""Norms: linalg.vector_norm, linalg.matrix_norm and torch.norm.

`vector_norm` is one op (its node `LinalgVectorNormBackward0`); `matrix_norm` is built
from it, from amax/amin, and from singular values for 'nuc' and +-2; `torch.norm`
picks one of the two as PyTorch does (a string p over more than two dims, or 'nuc',
takes the matrix norm).
"""
import builtins
import math
import numbers

import numpy as np

from .._backend import as_array
from .. import _dtype
from .._tensor import Tensor
from ._base import Op, apply
from ._util import cast, wrap_dim, dtype_name, check_tensor
from .reduction import (_compute, _keep_shape, _max_initial, _numel, _out, _reduce_dims,
                        _squeeze, amax, amin, evenly_distribute, expand_reduced)

__all__ = ["norm"]


def _ord_str(ord):
    if isinstance(ord, float) and ord.is_integer():
        return str(int(ord))
    return str(ord)


class VectorNorm(Op):
    """out = (sum |x|^p)^(1/p) over dims; p = inf/-inf: max/min |x|; p = 0: count nonzero.

    dx = grad * sgn(x) |x|^(p-1) / out^(p-1) (0 where out or x is 0); p = 1: grad * sgn(x);
    p = 2: grad * x / out; p = +-inf: grad * sgn(x) shared evenly among |x| == out.
    For complex x, sgn(x) = x / |x| (the norm is real, so no conjugate appears).
    """
    _name = "LinalgVectorNormBackward0"
    save_inputs = (0,)
    save_output = True

    @staticmethod
    def forward(ctx, x, ord, dims, keepdim):
        ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
        a = np.abs(_compute(x))
        if ord == math.inf:
            r = _max_initial(a, dims, keepdim, 0.0)
        elif ord == -math.inf:
            r = np.min(a, axis=dims, keepdims=keepdim)
        elif ord == 0:
            r = np.sum(a != 0, axis=dims, keepdims=keepdim).astype(a.dtype)
        elif ord == 1:
            r = np.sum(a, axis=dims, keepdims=keepdim)
        elif ord == 2:
            r = np.sqrt(np.sum(a * a, axis=dims, keepdims=keepdim))
        else:
            with np.errstate(divide="ignore"):
                r = np.sum(a ** ord, axis=dims, keepdims=keepdim) ** (1.0 / ord)
        real = x.dtype if x.dtype.kind != "c" else x.real.dtype
        return as_array(r).astype(real, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if ctx.ord == 0:
            return None
        return _vector_norm_grad(ctx, x, out, grad)

    @staticmethod
    def jvp(ctx, inputs, outputs, tangents):
        """d out = Re sum(conj(s) t) over dims, s = backward's gradient for grad 1 (finite
        everywhere: 0 where out or x is 0, as PyTorch's; the derivative of backward in its
        grad would be 0/0 there); p = 0: zero."""
        from .creation import ones_like, zeros_like
        (x,), (t,), out = inputs, tangents, outputs[0]
        if ctx.ord == 0:
            return zeros_like(out)
        s = _vector_norm_grad(ctx, x, out, ones_like(out))
        pairing = (s.conj() * t).real if s.is_complex() or t.is_complex() else s * t
        return pairing.sum(ctx.dims, keepdim=ctx.keepdim)


def _vector_norm_grad(ctx, x, out, grad):
    """VectorNorm's input gradient for output gradient `grad` (see VectorNorm); 0 where the
    formula is 0/0 (out is 0; for p != 2 also x is 0). Its own derivative (double backward)
    at those points is PyTorch's: for p != 2 a zero out is replaced by 1 before the
    division, and |x|^(p-1) by 0 where x is 0, so that a zero vector's second derivative is
    0, not 0 * inf, and an x of 0 (p < 1) makes only its own entry NaN; for p = 2 a zero
    vector's is NaN, as PyTorch's."""
    from .pointwise import where
    p, dims, keepdim = ctx.ord, ctx.dims, ctx.keepdim
    g = expand_reduced(grad, x.shape, dims, keepdim)
    if p == 1:
        return g * x.sgn()
    if builtins.abs(p) == math.inf:
        return evenly_distribute(grad, np.abs(x._data), out._data, dims, keepdim) * x.sgn()
    o = expand_reduced(out, x.shape, dims, keepdim)
    if p == 2:
        return where(o == 0, 0.0, g * x / o)
    o_zero = o == 0
    scaled = where(x == 0, 0.0, x.sgn() * x.abs().pow(p - 1))
    return where(o_zero, 0.0, g * scaled / where(o_zero, 1.0, o).pow(p - 1))


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """The vector ord-norm of `x` over `dim` (all elements when None) (linalg.vector_norm)."""
    check_tensor(x, "linalg_vector_norm")
    if not isinstance(ord, numbers.Number) or isinstance(ord, builtins.bool):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not "
                        f"{type(ord).__name__}")
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {dtype_name(x.dtype)}")
    if dtype is not None and _dtype.promote_types(x.dtype, dtype) is not dtype:
        raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({dtype_name(x.dtype)}) "
                           f"should be convertible without narrowing to the specified dtype "
                           f"({dtype_name(dtype)})")
    dims = _reduce_dims(x, dim, "linalg_vector_norm")
    if ord < 0 or ord == math.inf:
        if _numel(x._data.shape, dims) == 0 and (x._data.ndim or x._data.size == 0):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_str(ord)} norm on an "
                               f"empty tensor because the operation does not have an identity")
    arr = x._data if dtype is None else cast(x, dtype)
    return _out(apply(VectorNorm, (x,), (arr,), float(ord), dims, keepdim), out)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Matrix norm over the two dims `dim`: 'fro', 'nuc', +-1, +-2, +-inf (linalg.matrix_norm).

    +-1: max/min column sum of |A|; +-inf: max/min row sum; 'nuc'/+-2 need singular values.
    """
    check_tensor(A, "linalg_matrix_norm")
    if A._data.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if isinstance(dim, numbers.Integral) or len(dim) != 2:
        shown = dim if isinstance(dim, numbers.Integral) else " ".join(str(d) for d in dim)
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {shown}")
    d0, d1 = wrap_dim(dim[0], A._data.ndim), wrap_dim(dim[1], A._data.ndim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim, dtype=dtype, out=out)
    if ord == "nuc" or ord in (2, -2):
        return _out(_singular_value_norm(A, ord, d0, d1, keepdim, dtype), out)
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError(f"linalg.matrix_norm: Expected a floating point or complex tensor as "
                           f"input. Got {dtype_name(A.dtype)}")
    summed, picked = (d0, d1) if builtins.abs(ord) == 1 else (d1, d0)
    if A._data.size == 0:
        shape = _squeeze(np.empty(_keep_shape(A._data.shape, (d0, d1))), (d0, d1), keepdim).shape
        from .creation import zeros
        return zeros(shape, dtype=(dtype or A.dtype).to_real(), device=A.device)
    sums = vector_norm(A, 1, summed, keepdim, dtype=dtype)
    if not keepdim and picked > summed:
        picked -= 1
    return _out((amax if ord > 0 else amin)(sums, picked, keepdim), out)


def _singular_value_norm(A, ord, d0, d1, keepdim, dtype):
    """'nuc' (sum of singular values), 2 (largest), -2 (smallest), via linalg.svdvals."""
    from ..linalg import svdvals  # imported here: linalg builds on this module
    if dtype is not None:
        A = A.to(dtype)
    nd = A._data.ndim
    rest = [i for i in range(nd) if i not in (d0, d1)]
    s = svdvals(A.permute(*rest, d0, d1))
    r = s.sum(-1) if ord == "nuc" else (amax(s, -1) if ord == 2 else amin(s, -1))
    if keepdim:
        r = r.reshape(_keep_shape(A._data.shape, (d0, d1)))
    return r


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm: p='fro' / number -> vector norm over dim; p='nuc' -> matrix norm."""
    check_tensor(input, "norm")
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, numbers.Integral) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype, out=out)
        if dim is None:
            dim = tuple(range(input._data.ndim))
        return matrix_norm(input, p, dim, keepdim, dtype=dtype, out=out)
    return vector_norm(input, 2.0 if p is None else p, dim, keepdim, dtype=dtype, out=out)


Tensor.norm = norm
