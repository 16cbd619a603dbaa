"""Activation ops for networks: softmax/log_softmax (fused, stable), GELU, and the
piecewise activations. Simple ones are composed from primitives (STYLE 3)."""
import math

import numpy as np

from .._tensor import Tensor
from ..autograd import grad_mode
from ._base import Op, apply
from ._layout import iter_layout, row_major
from .._backend import dot_keep, sum_keep
from ._util import wrap_dim, cast, float_dtype_for, dtype_name
from . import _gelu_float32

__all__ = ["softmax", "log_softmax"]


def _minus_max(x, dim):
    """x - max(x) along dim; a row of -inf (all masked) gives NaN, as PyTorch's, silently."""
    with np.errstate(invalid="ignore"):
        return x - x.max(axis=dim, keepdims=True)


def _softmax_arrays(x, dim):
    """softmax along dim: one fresh array, exp and the division in place."""
    if not x.size:
        return x.copy()
    e = _minus_max(x, dim)
    np.exp(e, out=e)
    e /= sum_keep(e, (dim,))
    return e


class Softmax(Op):
    """out = softmax(x); dx = out * (g - sum(g * out)) along dim."""
    _name = "SoftmaxBackward0"
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        x = row_major(x)   # PyTorch's result is row-major whatever x's layout
        if x.ndim == 0:
            return np.ones_like(x)
        return _softmax_arrays(x, dim)

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        if out.dim() == 0:
            return grad * 0
        if not grad_mode.backward_on_tensors():
            # no graph of the gradient is built: fused on arrays, two passes
            o, g = out._data, grad._data
            gx = g - dot_keep(g, o, (ctx.dim,))
            gx *= o
            return Tensor._make(gx)
        return out * (grad - (grad * out).sum(ctx.dim, keepdim=True))


class LogSoftmax(Op):
    """out = x - logsumexp(x); dx = g - exp(out) * sum(g) along dim."""
    _name = "LogSoftmaxBackward0"
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        x = row_major(x)   # PyTorch's result is row-major whatever x's layout
        if x.ndim == 0:
            return np.zeros_like(x)
        if x.size == 0:
            return x.copy()
        shifted = _minus_max(x, dim)
        e = np.exp(shifted)
        shifted -= np.log(sum_keep(e, (dim,)))
        return shifted

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        if out.dim() == 0:
            return grad * 0
        if not grad_mode.backward_on_tensors():
            o, g = out._data, grad._data
            e = np.exp(o)
            e *= sum_keep(g, (ctx.dim,))
            return Tensor._make(np.subtract(g, e, out=e))
        return grad - out.exp() * grad.sum(ctx.dim, keepdim=True)


def _softmax_input(input, dim, dtype, fname):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if dim is None:
        import warnings
        warnings.warn(f"Implicit dimension choice for {fname} has been deprecated. Change the call "
                      f"to include dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if input.dim() in (0, 1, 3) else 1
    d = wrap_dim(dim, input.dim())
    dt = dtype or input.dtype
    if not dt.is_floating_point:
        # PyTorch's CPU kernels (no integer or complex one): one for the last dim (a 0-dim
        # input's too), one for the others
        kernel = "lastdim_kernel_impl" if d >= input.dim() - 1 else "kernel_impl"
        raise NotImplementedError(f'"{fname}_{kernel}" not implemented for '
                                  f"'{dtype_name(dt)}'")
    arr = cast(input, dt)
    low = arr.dtype.kind == "V" or arr.dtype == np.float16
    return d, dt, (arr.astype(np.float32) if low else arr), low


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along `dim`, computed stably."""
    d, dt, arr, low = _softmax_input(input, dim, dtype, "softmax")
    r = apply(Softmax, (input,), (arr,), d)
    return r.to(dt) if low else r


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x) along `dim`."""
    d, dt, arr, low = _softmax_input(input, dim, dtype, "log_softmax")
    r = apply(LogSoftmax, (input,), (arr,), d)
    return r.to(dt) if low else r


_K = math.sqrt(2 / math.pi)   # tanh form: inner = _K (x + 0.044715 x^3)
_C = 0.044715


def _gelu_cdf(x):
    """Phi(x) = 0.5 (1 + erf(x / sqrt 2)), a fresh array in x's dtype."""
    from .pointwise_more import erf_array
    cdf = erf_array(x * (1 / math.sqrt(2)))
    cdf += 1
    cdf *= 0.5
    return cdf


def _gelu_tanh_inner(x):
    """tanh(_K (x + _C x^3)), a fresh array."""
    t = (x * x)[...]   # [...]: an array for 0-dim x too (NumPy gives a scalar)
    t *= _C * _K
    t += _K
    t *= x
    return np.tanh(t, out=t)


class Gelu(Op):
    """x Phi(x) (approximate "none") or 0.5 x (1 + tanh(_K (x + _C x^3))) ("tanh").

    dx = g (Phi(x) + x phi(x)), or for tanh with t the tanh above:
    dx = g (0.5 (1 + t) + 0.5 x (1 - t^2) _K (1 + 3 _C x^2))."""
    _name = "GeluBackward0"
    save_inputs = (0,)

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        dt = x.dtype
        if x.itemsize == 2:   # float16/bfloat16: in float32, rounded once, as PyTorch
            x = x.astype(np.float32)
        if approximate == "tanh":
            y = _gelu_tanh_inner(x)
            y += 1
            y *= x
            y *= 0.5
        elif type(x) is np.ndarray and x.dtype == np.float32:
            # float32 arithmetic throughout, as PyTorch (see _gelu_float32), laid out as x
            y = iter_layout(_gelu_float32.gelu(x), (x,))
        else:
            y = _gelu_cdf(x)
            y *= x
        return y.astype(dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not grad_mode.backward_on_tensors():
            # laid out as PyTorch's gelu_backward(grad, self) is: the gradient leads
            return Tensor._make(iter_layout(
                _gelu_backward_array(x._data, grad._data, ctx.approximate), (grad._data, x._data)))
        if ctx.approximate == "tanh":
            inner = _K * (x + _C * x.pow(3))
            t = inner.tanh()
            d_inner = _K * (1 + 3 * _C * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
        from .pointwise import erf
        cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
        pdf = (-0.5 * x * x).exp() / math.sqrt(2 * math.pi)
        return grad * (cdf + x * pdf)


def _gelu_backward_array(x, g, approximate):
    """Gelu's derivative times g on arrays (backward without create_graph), the formulas of
    Gelu's docstring in place on fresh buffers."""
    if approximate != "tanh" and type(x) is np.ndarray and x.dtype == np.float32 and \
            type(g) is np.ndarray and g.dtype == np.float32:
        return _gelu_float32.gelu_backward(x, g)
    if approximate == "tanh":
        t = _gelu_tanh_inner(x)
        d = (x * x)[...]
        d *= 3 * _C * _K
        d += _K                   # _K (1 + 3 _C x^2)
        d *= x
        d *= 0.5                  # 0.5 x _K (1 + 3 _C x^2)
        one_minus = 1 - t * t
        d *= one_minus
        t += 1
        t *= 0.5
        d += t
    else:
        d = (x * x)[...]
        d *= -0.5
        np.exp(d, out=d)
        d *= x * (1 / math.sqrt(2 * math.pi))     # x phi(x)
        d += _gelu_cdf(x)
    d *= g
    return d.astype(x.dtype, copy=False)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    dt = float_dtype_for(input.dtype)
    if not input.dtype.is_floating_point:
        from .. import _quantized
        if isinstance(input, _quantized.QuantizedTensor):
            # PyTorch's quantized gelu, requantized with the input's parameters; reached
            # here, not through a front, so that F.gelu keeps its identity (quantized_ops)
            from . import quantized_ops
            return quantized_ops.gelu(input, approximate)
        raise NotImplementedError(f'"GeluKernelImpl" not implemented for '
                                  f"'{dtype_name(input.dtype)}'")
    return apply(Gelu, (input,), (cast(input, dt),), approximate)


Tensor.softmax = lambda self, dim=None, dtype=None: softmax(self, dim, dtype=dtype)
Tensor.log_softmax = lambda self, dim=None, dtype=None: log_softmax(self, dim, dtype=dtype)


_ELU_NEGATIVE_SLOPE_INPLACE = (
    "In-place elu backward calculation is triggered with a negative slope which is not "
    "supported. This is caused by calling in-place forward function with a negative slope, "
    "please call out-of-place version instead.")


class EluResult(Op):
    """The ELU family written into its input (F.elu/selu/celu with inplace=True):

        y = scale x                               where x >= 0 (and where x is NaN)
        y = scale alpha (exp(input_scale x) - 1)  where x < 0

    Backward reads the output y, as PyTorch's in-place node does (EluBackward1; celu's is
    CeluBackward1): from y = scale alpha (e^(s x) - 1), dy/dx = s (y + scale alpha), so

        dx = g scale                         where y > 0
        dx = g input_scale (y + scale alpha) where y <= 0

    The sign of y tells the branch only for alpha >= 0: backward refuses a negative alpha,
    as PyTorch's. The output is saved (not the input, which the write overwrites), so a
    later in-place write into it makes backward raise. float16/bfloat16 compute in float32,
    rounded once at the end."""
    _name = "EluBackward1"
    save_output = True
    elementwise = True

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale, celu):
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        if celu:
            ctx._name = "CeluBackward1"
        dt = x.dtype
        if x.itemsize == 2:
            x = x.astype(np.float32)
        f = x.dtype.type
        # the steps of the out-of-place composite (nn.functional._elu), so that both give
        # the same bits: expm1 sees min(x, 0) only, NaN takes the x branch; a zero of
        # either sign stays itself, as PyTorch's (alpha < 0 would make expm1(0) alpha -0.0)
        xp = ctx.xp
        negative = x < 0
        y = xp.where(negative, x, f(0)) * f(input_scale)
        y = xp.expm1(y, out=y) * f(alpha)
        y = xp.where(negative, y, x)
        if scale != 1.0:
            y = f(scale) * y
        return y.astype(dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        if ctx.alpha < 0:
            raise RuntimeError(_ELU_NEGATIVE_SLOPE_INPLACE)
        from .pointwise import where
        y, = ctx.saved_tensors
        dt = y.dtype
        if dt.itemsize == 2:   # in float32, rounded once, as PyTorch's opmath
            y, grad = y.float(), grad.float()
        negative = (y + ctx.scale * ctx.alpha) * ctx.input_scale
        dx = grad * where(y <= 0, negative, ctx.scale)
        return dx.to(dt)


def elu_result(input, alpha, scale=1.0, input_scale=1.0, celu=False):
    """The ELU family's values for writing into `input` (nn.functional's inplace=True), by
    the node that saves them (EluResult); the caller writes them into `input`."""
    return apply(EluResult, (input,), (input._data,), float(alpha), float(scale),
                 float(input_scale), celu)
