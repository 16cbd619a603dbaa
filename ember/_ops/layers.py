"""Network layer ops: linear (one fused node, AddmmBackward0 as in PyTorch) and dropout."""
import functools
import math

import numpy as np

from ..autograd.graph import rename as rename_node, _seq as _node_seq
from .._backend import DEVICE_CHECKS as _DEVICE_CHECKS, blas_threads, like, sum_over
from .._tensor import Tensor
from ..autograd import grad_mode
from .. import _dtype, _sampling, _threads
from .._random import gen_of
from ._base import VMAP as _VMAP, _DISPATCH, Op, apply
from .._autocast import AUTOCAST as _AUTOCAST, autocast_args
from ._util import c_type_name, check_same_device, dtype_name, shape_str
from .pointwise_operands import check_broadcast
from .half_precision import computes_in_float32
from .random import memory_ordered
from .shape import View, TransposeT

__all__ = []


class Linear(Op):
    """y = x W^T over the last dim of x (no bias; LinearBias adds one)."""
    _name = "AddmmBackward0"
    save_inputs = (0, 1)
    input_names = ("self",)   # PyTorch's node saves W^T as mat2, which ember does not keep
    save_needed_by = {0: (1,), 1: (0,)}
    # PyTorch's node takes W^T: a (deprecated) module backward hook on this node sees the
    # weight's gradient transposed (nn/modules/_backward_hooks.py)
    transposed_input = 1
    # True once the weight's edge goes through a TBackward0 node (_weight_through_t): the
    # weight's gradient is then handed on transposed, as W^T's
    _wt = False

    @staticmethod
    def forward(ctx, x, w):
        return _forward(x, w, None)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        gx, gw, _ = _backward(grad, x, w, ctx.needs_input_grad + (False,))
        return gx, _handed_on(ctx, gw)


class LinearBias(Op):
    """y = x W^T + b over the last dim of x. The inputs come in the order of PyTorch's
    addmm(b, x, W^T), so next_functions list the bias's edge first, as torch's
    AddmmBackward0 does (programs that walk ``loss.grad_fn.next_functions`` see torch's
    graph)."""
    _name = "AddmmBackward0"
    save_inputs = (1, 2)
    save_needed_by = {1: (2,), 2: (1,)}
    transposed_input = 2   # as Linear's
    _wt = False            # as Linear's

    @staticmethod
    def forward(ctx, b, x, w):
        return _forward(x, w, b)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        nb, nx, nw = ctx.needs_input_grad
        gx, gw, gb = _backward(grad, x, w, (nx, nw, nb))
        return gb, gx, _handed_on(ctx, gw)


class LinearWeightT(TransposeT):
    """PyTorch's TBackward0 between linear's GEMM node (which takes W^T) and the weight:
    made by _weight_through_t, not by a forward. Its backward transposes the gradient back
    to the weight's layout; the transpose of the GEMM node's transposed view is the array
    that view was taken of (no copy, so AccumulateGrad may keep it as .grad)."""

    @staticmethod
    def backward(ctx, grad):
        if not grad_mode.backward_on_tensors():
            d = grad._data
            base = d.base
            # d is exactly base.T when their shapes and strides mirror (a view with its
            # base's shape and strides cannot start elsewhere in the base's memory)
            if type(d) is np.ndarray and base is not None and base.ndim == 2 and \
                    base.shape == d.shape[::-1] and base.strides == d.strides[::-1]:
                return Tensor._make(base)
            return Tensor._make(d.T)
        return grad.t()


def _handed_on(ctx, gw):
    """The weight's gradient as a linear node hands it on: W^T's (a transposed view) when
    its weight edge goes through LinearWeightT, else W's."""
    if gw is None or not ctx._wt:
        return gw
    if grad_mode.backward_on_tensors():
        return gw.t()
    return Tensor._make(gw._data.T)


def _weight_through_t(node, i, weight):
    """Route recorded linear node `node`'s edge to its weight (operand i) through a
    TBackward0 node (LinearWeightT), as PyTorch's graph of addmm(b, x, W.t()) /
    mm(x, W.t()): ``out.grad_fn.next_functions`` shows TBackward0 where the weight's
    AccumulateGrad was, and the weight's gradient reaches it through that node. Under a
    dispatch mode or a vectorized vmap the node is another's: left as it is."""
    if _DISPATCH[0] is not None or _VMAP[0] is not None or \
            type(node)._op not in (Linear, LinearBias):
        return
    edges = list(node.next_functions)
    fn, nr = edges[i]
    if fn is None:
        return
    t = LinearWeightT.__new__(LinearWeightT)
    t.next_functions = ((fn, nr),)
    data = weight._data
    t._input_meta = [(data.shape, data.dtype)]
    t._seq = next(_node_seq)
    t.d = (0, 1)
    edges[i] = (t, 0)
    node.next_functions = tuple(edges)
    node._input_meta[i] = (data.shape[::-1], data.dtype)
    node._wt = True
    # (the module backward hook's view of this node already has W^T's gradient)
    node.transposed_input = None


def _forward(x, w, b):
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


def _backward(grad, x, w, need):
    """(dx, dW, db) of y = x W^T + b, each None unless `need` (for x, W, b) asks for it:
    dx = g W, dW = g^T x, db = g summed over the leading dims (W and x conjugated for
    complex operands, as PyTorch's)."""
    rows = math.prod(grad.shape[:-1])   # explicit, not -1: a dim may be 0
    if not grad_mode.backward_on_tensors() and grad.dim() > 1:
        # no graph of the gradients is built: on arrays
        grads = _backward_arrays(grad._data, x._data if need[1] else None,
                                 w._data if need[0] else None, need, rows)
        if grads is not None:
            return grads
    if grad.is_complex():   # the gradient of a holomorphic product: the conjugates
        x, w = x.conj() if need[1] else x, w.conj() if need[0] else w
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
    if need[2]:
        gb = grad.sum(tuple(range(grad.dim() - 1))) if grad.dim() > 1 else grad
    return gx, gw, gb


def _forward_2d(x, w, b):
    """x w^T + b for a 1-D or 2-D x: one GEMM (ndarray.dot: matmul's BLAS call without its
    ~1 us of ufunc dispatch), the bias added in place.

    (Splitting a large product over two threads, BLAS at one thread each, was measured on a
    quiet 2-core machine: slower than OpenBLAS's own two threads -- mlp_train 6.2 -> 7.3 ms,
    mlp_infer_b256 3.4 -> 4.5 ms -- though much faster while another process keeps the
    second core busy, where OpenBLAS's threads stall.)"""
    out = _dot(x, w.T, "fwd")
    if b is not None:
        out += b
    return out


# Products of at least this many floating-point operations (2 m k n) run at one BLAS
# thread or OpenBLAS's own count, whichever recent calls of the same shape ran faster
# (blas_threads.at_faster_count): on a free pair of cores its two threads win, while
# another process holds the other core they stall (cnn_train's 9216 -> 128 at batch 64,
# load ~3.7: the step's two forward products 32-323 ms at two threads, 2-3 ms at one).
# Below it OpenBLAS keeps small products on one thread anyway, and the switch's few
# microseconds would be felt. OpenBLAS's result can differ in the last bits between the
# two counts for some shapes (128x784 @ 784x512, 37x1000 @ 1000x1000), so with
# deterministic algorithms asked for (ember.use_deterministic_algorithms) the count stays
# as set, and a run gives the same bits each time.
_PACED_FLOPS = 4e6


def _dot(a, b, kind):
    """a @ b (2-D ndarrays) by ndarray.dot, a large one at the faster BLAS count."""
    if type(a) is not np.ndarray or a.ndim != 2 or \
            2 * a.shape[0] * a.shape[1] * b.shape[1] < _PACED_FLOPS or \
            _threads.are_deterministic_algorithms_enabled():
        return a.dot(b)
    m, k = a.shape
    n = b.shape[1]
    return blas_threads.at_faster_count(a.dot, b, key=("linear", kind, m, k, n, a.dtype))


def _backward_arrays(g, x, w, need, rows):
    """Linear's input gradients on arrays (x is None unless w's gradient is needed, w None
    unless x's is): g w and g^T x, no Tensor dispatch. None for dtypes the Tensor path
    computes in a wider type (half precision)."""
    if g.dtype.kind != "f" or g.dtype.itemsize < 4 or any(
            a is not None and a.dtype != g.dtype for a in (x, w)):
        return None
    O, I = g.shape[-1], (w if w is not None else x).shape[-1]
    g2 = g.reshape(rows, O)
    gx = Tensor._make(_dot(g2, w, "dx").reshape(g.shape[:-1] + (I,))) if need[0] else None
    gw = Tensor._make(_dot(g2.T, x.reshape(rows, I), "dw")) if need[1] else None
    gb = Tensor._make(sum_over(g2, (0,))) if need[2] else None
    return gx, gw, gb


def _linear_other_bias(input, weight, bias):
    """linear with a bias other than a vector of the output's width (or of one value), as
    PyTorch's: inside the GEMM (addmm, the bias expanded to the (rows, out) product, the
    result viewed back) for a 2-D input, or a contiguous one with a bias of one dim or of
    one dim not 1 (a (1, out) bias of a 1-D input); otherwise added in place to the
    product, so the bias may not widen the output."""
    from .linalg import addmm
    shape = bias._data.shape
    if input.dim() == 2:
        return addmm(bias, input, weight.t())
    if input.is_contiguous() and (len(shape) == 1 or sum(s != 1 for s in shape) == 1):
        lead = tuple(input.shape[:-1])
        x2 = input.view(math.prod(lead), input.shape[-1])
        return addmm(bias, x2, weight.t()).view(lead + (weight.shape[0],))
    out_shape = list(input.shape[:-1]) + [weight.shape[0]]
    check_broadcast(out_shape, bias.shape)
    full = list(np.broadcast_shapes(tuple(out_shape), tuple(bias.shape)))
    if full != out_shape:
        raise RuntimeError(f"output with shape {out_shape} doesn't match the broadcast shape "
                           f"{full}")
    return linear(input, weight) + bias


@computes_in_float32   # the product and the bias add rounded once, as PyTorch's addmm
def linear(input, weight, bias=None):
    if not isinstance(input, Tensor):
        raise TypeError(f"linear(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if _AUTOCAST[0]:
        input, weight, bias = autocast_args("linear", input, weight, bias)
    if input.dim() == 0 or weight.dim() not in (1, 2):
        if input.dim() and weight.dim():   # (PyTorch's weight.t())
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{weight.dim()}D")
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{input.dim()}D and {weight.dim()}D")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"linear(): argument 'bias' (position 3) must be Tensor, not "
                        f"{type(bias).__name__}")
    if bias is not None and (bias.dtype is not weight.dtype or input.dtype is not weight.dtype):
        from .linalg import check_addmm_dtypes   # PyTorch's addmm: dtypes before shapes
        check_addmm_dtypes(bias, input, weight)
    if weight.dim() == 1 or input.shape[-1] != weight.shape[-1]:
        if weight.dim() == 1:
            if bias is not None and input.dim() > 1:   # (PyTorch's addmm wants a matrix)
                raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
            out = input.matmul(weight)
            return out + bias if bias is not None else out
        rows = int(np.prod(input.shape[:-1])) if input.dim() > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} "
                           f"and {weight.shape[1]}x{weight.shape[0]})")
    if input.dtype is not weight.dtype:   # (no bias: PyTorch's matmul words it)
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{c_type_name(input.dtype)} != {c_type_name(weight.dtype)}")
    if bias is not None:
        bshape = bias._data.shape
        if len(bshape) != 1 or (bshape[0] != weight._data.shape[0] and bshape[0] != 1):
            return _linear_other_bias(input, weight, bias)
    if bias is not None and _DEVICE_CHECKS[0]:
        # PyTorch checks addmm's operands against the input's device
        check_same_device(input, weight, bias)
    # (inside a vectorized vmap the fused node goes to its batching rule: the graph of
    # batched tensors is vmap's own)
    if input.dim() != 2 and grad_mode.GRAD_ENABLED[0] and _VMAP[0] is None and (
            input._requires_grad or weight._requires_grad or
            (bias is not None and bias._requires_grad)):
        return _linear_reshaped(input, weight, bias)
    if bias is None:
        r = apply(Linear, (input, weight), (input._data, weight._data))
        if r.grad_fn is not None:
            rename_node(r.grad_fn, "MmBackward0")
            _weight_through_t(r.grad_fn, 1, weight)
        return r
    r = apply(LinearBias, (bias, input, weight), (bias._data, input._data, weight._data))
    if r.grad_fn is not None:
        _weight_through_t(r.grad_fn, 2, weight)
    return r


def _linear_reshaped(input, weight, bias):
    """linear of a non-2-D input, recorded with PyTorch's graph: its GEMM node on the input
    viewed as 2-D, between view nodes. With a bias and a contiguous input,
    View(Addmm(bias, View(x), W)); otherwise the product (UnsafeView(Mm(x reshaped, W)), or
    for a 1-D input Squeeze(Mm(Unsqueeze(x), W))), plus the bias (AddBackward0); the GEMM
    node takes W^T through a TBackward0 node, as PyTorch's (_weight_through_t)."""
    k, n = input.shape[-1], weight.shape[0]
    lead = tuple(input.shape[:-1])
    if bias is not None and input.is_contiguous():
        x2 = input.view(-1, k)
        r = apply(LinearBias, (bias, x2, weight), (bias._data, x2._data, weight._data))
        if r.grad_fn is not None:
            _weight_through_t(r.grad_fn, 2, weight)
        return r.view(lead + (n,))
    x2 = input.unsqueeze(0) if input.dim() == 1 else input.reshape(-1, k)
    r = apply(Linear, (x2, weight), (x2._data, weight._data))
    rename_node(r.grad_fn, "MmBackward0")
    _weight_through_t(r.grad_fn, 1, weight)
    if input.dim() == 1:
        out = r.squeeze(0)
        rename_node(out.grad_fn, "SqueezeBackward4")
    else:
        # (PyTorch's _unsafe_view: the product is internal, its result no view of it)
        out = apply(View, (r,), (r._data,), lead + (n,))
        rename_node(out.grad_fn, "UnsafeViewBackward0")
    return out if bias is None else out + bias


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


@functools.lru_cache(maxsize=64)
def _keep_scale(p, dt):
    """1 / (1 - p) as PyTorch scales kept units: divided in the dtype's arithmetic
    (float32 for float32 and narrower) and rounded to the dtype."""
    acc = np.float64 if dt is _dtype.float64 else np.float32
    return float(np.asarray(acc(1.0) / acc(1.0 - p)).astype(dt.np)) if dt.is_floating_point \
        else 1.0 / (1.0 - p)


def dropout(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p < 1.0 and not (input.dtype.is_floating_point or input.dtype.is_complex):
        # the mask scaled by 1 / (1 - p) is a float, as PyTorch's in-place multiply refuses
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{dtype_name(input.dtype)}")
    if p == 1.0:
        mask = np.zeros(input.shape, dtype=bool)
        scale = 0.0
    elif input.is_meta:   # no data to mask, no draws from the generator (as PyTorch)
        mask = np.ones((), dtype=bool)
        scale = 1.0 / (1.0 - p)
    else:
        mask = memory_ordered(input, _sampling.bernoulli_scalar(gen_of(None), input.numel(), 1 - p))
        scale = _keep_scale(p, input.dtype)
    # the mask is drawn on the host (ember's generator): move it to the input's device
    out = apply(Dropout, (input,), (input._data, like(mask, input._data), scale))
    if out.grad_fn is not None and not (input.is_cuda and 0.0 < p < 1.0 and input.numel()):
        # PyTorch fuses dropout into native_dropout on CUDA only; elsewhere it multiplies
        # by the scaled mask, and its node is that product's (grad_fn=<MulBackward0>)
        rename_node(out.grad_fn, "MulBackward0")
    if inplace:
        from .conversion import commit_inplace
        return commit_inplace(input, out)
    return out


def feature_dropout(input, p, training, inplace, batched=True):
    """Zero whole channels (Dropout1d/2d/3d, ATen's feature_dropout): one draw per (N, C)
    plane of a batched input (N, C, *), one per channel of an unbatched one (C, *)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if input.dim() < (2 if batched else 1):
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p < 1.0 and not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{dtype_name(input.dtype)}")
    kept = 2 if batched else 1
    shape = input.shape[:kept] + (1,) * (input.dim() - kept)
    # drawn on the host (ember's generator), moved to the input's device
    mask = _sampling.bernoulli_scalar(gen_of(None), math.prod(shape), 1 - p).reshape(shape)
    mask = np.broadcast_to(like(mask, input._data), input.shape)
    scale = 0.0 if p == 1.0 else _keep_scale(p, input.dtype)
    out = apply(Dropout, (input,), (input._data, mask, scale))
    if out.grad_fn is not None:
        rename_node(out.grad_fn, "MulBackward0")
    if inplace:
        from .conversion import commit_inplace
        return commit_inplace(input, out)
    return out
