"""Network layer ops: linear (one fused node, AddmmBackward0 as in PyTorch) and dropout."""
import math

import numpy as np

from .. import _threads
from .._backend import like
from .._tensor import Tensor
from ..autograd import grad_mode
from .._random import gen_of
from ._base import Op, apply
from .._autocast import AUTOCAST as _AUTOCAST, autocast_args
from ._util import dtype_name

__all__ = []


class Linear(Op):
    """y = x W^T + b over the last dim of x."""
    _name = "AddmmBackward0"
    save_inputs = (0, 1)
    save_needed_by = {0: (1,), 1: (0,)}

    @staticmethod
    def forward(ctx, x, w, b):
        lowp = x.dtype.kind == "V"
        xx, ww = (x.astype(np.float32), w.astype(np.float32)) if lowp else (x, w)
        if xx.ndim > 2:
            # one GEMM over all leading dims: NumPy's matmul would loop over them, one small
            # GEMM each (slow, and slower still with two BLAS threads)
            lead = xx.shape[:-1]
            out = _forward_2d(xx.reshape(math.prod(lead), xx.shape[-1]), ww, b)
            out = out.reshape(lead + (ww.shape[0],))
        else:
            out = _forward_2d(xx, ww, b)
        return out.astype(x.dtype, copy=False) if lowp else out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        rows = math.prod(grad.shape[:-1])   # explicit, not -1: a dim may be 0
        if not grad_mode.GRAD_ENABLED[0] and grad.dim() > 1:
            # no graph of the gradients is built: on arrays, over two threads when large
            grads = _backward_arrays(grad._data, x._data if need[1] else None,
                                     w._data if need[0] else None, need, rows)
            if grads is not None:
                return grads
        gx = None
        if need[0]:
            if grad.dim() > 2:  # one GEMM, as in forward
                gx = grad.reshape(rows, grad.shape[-1]).mm(w)
                gx = gx.reshape(tuple(grad.shape[:-1]) + (w.shape[-1],))
            else:
                gx = grad.matmul(w)
        gw = gb = None
        if need[1]:
            g2 = grad.reshape(rows, grad.shape[-1])
            gw = g2.t().mm(x.reshape(rows, x.shape[-1]))
        if len(need) > 2 and need[2]:
            gb = grad.sum(tuple(range(grad.dim() - 1))) if grad.dim() > 1 else grad
        return gx, gw, gb


# a product of at least this many multiply-adds (~0.2 ms on one core) is split over two
# threads on NumPy; below it the hand-over (~70 us) would cost more than half the GEMM saves
_SPLIT_MACS = 1 << 23


def _splits(a, rows, inner, cols):
    return (type(a) is np.ndarray and a.dtype.kind == "f"
            and rows * inner * cols >= _SPLIT_MACS)


def _forward_2d(x, w, b):
    """x w^T + b for a 1-D or 2-D x. On NumPy a large product is computed as two column halves
    (the halves of w's rows) on two threads, each half's bias added while it is in cache;
    else one GEMM (ndarray.dot: matmul's BLAS call without its ~1 us of ufunc dispatch)."""
    O = w.shape[0]
    if x.ndim == 2 and _splits(x, x.shape[0], x.shape[1], O) and x.dtype == w.dtype:
        out = np.empty((x.shape[0], O), dtype=x.dtype)

        def columns(s):
            np.matmul(x, w[s].T, out=out[:, s])
            if b is not None:
                out[:, s] += b[s]
        _threads.halves(O, columns)
        return out
    out = x.dot(w.T)
    if b is not None:
        out += b
    return out


def _backward_arrays(g, x, w, need, rows):
    """Linear's input gradients on arrays (x is None unless w's gradient is needed, w None
    unless x's is): g w and g^T x, on NumPy over two threads when large (side by side when
    both are needed, else the one needed in two halves). None for dtypes the Tensor path
    computes in a wider type (half precision)."""
    if g.dtype.kind != "f" or g.dtype.itemsize < 4 or any(
            a is not None and a.dtype != g.dtype for a in (x, w)):
        return None
    O, I = g.shape[-1], (w if w is not None else x).shape[-1]
    g2 = g.reshape(rows, O)
    x2 = x.reshape(rows, I) if x is not None else None
    gx = gw = None
    split = _splits(g, rows, O, I)
    if need[0] and need[1]:
        both = _threads.run_pair(lambda: g2.dot(w), lambda: g2.T.dot(x2)) if split else None
        gx, gw = both if both is not None else (g2.dot(w), g2.T.dot(x2))
    elif need[1] and split:
        gw = np.empty((O, I), dtype=g.dtype)
        _threads.halves(O, lambda s: np.dot(g2[:, s].T, x2, out=gw[s]))
    elif need[1]:
        gw = g2.T.dot(x2)
    elif need[0] and split:
        gx = np.empty((rows, I), dtype=g.dtype)
        _threads.halves(I, lambda s: np.matmul(g2, w[:, s], out=gx[:, s]))
    elif need[0]:
        gx = g2.dot(w)
    gb = Tensor._make(g2.sum(0)) if len(need) > 2 and need[2] else None
    if gx is not None:
        gx = Tensor._make(gx.reshape(g.shape[:-1] + (I,)))
    return gx, (Tensor._make(gw) if gw is not None else None), gb


def linear(input, weight, bias=None):
    if not isinstance(input, Tensor):
        raise TypeError(f"linear(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if _AUTOCAST[0]:
        input, weight, bias = autocast_args("linear", input, weight, bias)
    if input.dim() == 0 or weight.dim() not in (1, 2):
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{input.dim()}D and {weight.dim()}D")
    if weight.dim() == 1 or input.shape[-1] != weight.shape[-1]:
        if weight.dim() == 1:
            out = input.matmul(weight)
            return out + bias if bias is not None else out
        rows = int(np.prod(input.shape[:-1])) if input.dim() > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} "
                           f"and {weight.shape[1]}x{weight.shape[0]})")
    if input.dtype is not weight.dtype or (bias is not None and bias.dtype is not input.dtype):
        other = weight if input.dtype is not weight.dtype else bias
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{dtype_name(input.dtype)} and {dtype_name(other.dtype)}")
    inputs = (input, weight, bias) if bias is not None else (input, weight)
    arrays = (input._data, weight._data, bias._data if bias is not None else None)
    r = apply(Linear, inputs, arrays)
    if r.grad_fn is not None and input.dim() != 2:
        # PyTorch reshapes non-2-D inputs around its matmul; its top node is named after that
        if bias is None:
            r.grad_fn._name = "SqueezeBackward4" if input.dim() == 1 else "UnsafeViewBackward0"
        else:
            r.grad_fn._name = "ViewBackward0"
    elif r.grad_fn is not None and bias is None:
        r.grad_fn._name = "MmBackward0"
    return r


class Dropout(Op):
    _name = "NativeDropoutBackward0"

    @staticmethod
    def forward(ctx, x, mask, scale):
        ctx.mask = mask
        ctx.scale = scale
        return (x * mask * scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return grad * Tensor._make((ctx.mask * ctx.scale).astype(grad._data.dtype))


def dropout(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        mask = np.zeros(input.shape, dtype=bool)
        scale = 0.0
    else:
        mask = gen_of(None).random(input.shape) >= p
        scale = 1.0 / (1.0 - p)
    # the mask is drawn on the host (ember's generator): move it to the input's device
    out = apply(Dropout, (input,), (input._data, like(mask, input._data), scale))
    if inplace:
        from .conversion import commit_inplace
        return commit_inplace(input, out)
    return out


def feature_dropout(input, p, training, inplace, batched_dim):
    """Zero whole channels (Dropout1d/2d/3d): one draw per (N, C)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    shape = input.shape[:2] + (1,) * (input.dim() - 2) if input.dim() == batched_dim else \
        input.shape[:1] + (1,) * (input.dim() - 1)
    # drawn on the host (ember's generator), moved to the input's device
    mask = np.broadcast_to(like(gen_of(None).random(shape) >= p, input._data), input.shape)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    out = apply(Dropout, (input,), (input._data, mask, scale))
    if out.grad_fn is not None:
        out.grad_fn._name = "MulBackward0"
    if inplace:
        from .conversion import commit_inplace
        return commit_inplace(input, out)
    return out
