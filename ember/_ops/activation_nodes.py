"""hardswish, hardsigmoid and prelu by PyTorch's own nodes (HardswishBackward0,
HardsigmoidBackward0, PreluKernelBackward0), whose gradients are ops too: with
create_graph a first gradient has a graph (HardswishBackwardBackward0 ...) as PyTorch's.

The slopes are PyTorch's kernels', which differ from the composites' at the kinks:

    hardswish'(x)   = 0 for x <= -3,  x / 3 + 1/2 for -3 < x < 3,  1 for x >= 3
    hardswish''(x)  = 1/3 for -3 < x < 3, else 0
    hardsigmoid'(x) = 1/6 for -3 < x < 3, else 0     (no second derivative: PyTorch raises)
    prelu:  dx = g where x > 0 else w g;  dw = 0 where x > 0 else x g
            (its double backward switches at x >= 0, as PyTorch's formula)

float16/bfloat16 compute in float32 and round once, as PyTorch's CPU kernels ("opmath").
A NaN input gives a NaN hardswish gradient (PyTorch's vector loop; its scalar tail, which
it uses for the last few elements, passes the gradient instead).
"""
import numpy as np

from .._tensor import Tensor
from ..autograd import grad_mode
from ._base import Op, apply
from ._layout import iter_layout
from .._backend import array_namespace as _xp_of


def _opmath(a):
    return a.astype(np.float32) if a.itemsize == 2 and a.dtype.kind != "c" else a


def _hardswish_array(xp, x):
    dt = x.dtype
    x = _opmath(x)
    f = x.dtype.type
    return (x * xp.minimum(xp.maximum(x + f(3), f(0)), f(6)) / f(6)).astype(dt, copy=False)


def _hardsigmoid_array(xp, x):
    dt = x.dtype
    x = _opmath(x)
    f = x.dtype.type
    return (xp.minimum(xp.maximum(x + f(3), f(0)), f(6)) / f(6)).astype(dt, copy=False)


def _hardswish_grad_array(xp, g, x):
    dt = g.dtype
    g, x = _opmath(g), _opmath(x)
    f = x.dtype.type
    d = xp.where(x >= f(3), g, g * (x / f(3) + f(0.5)))
    return xp.where(x <= f(-3), f(0), d).astype(dt, copy=False)


def _hardsigmoid_grad_array(xp, g, x):
    dt = g.dtype
    g, x = _opmath(g), _opmath(x)
    f = x.dtype.type
    # PyTorch's 1/6 is a float32 constant, widened for float64
    inside = (x > f(-3)) & (x < f(3))
    return xp.where(inside, g * f(np.float32(1.0) / np.float32(6.0)), f(0)).astype(dt, copy=False)


def _grad_of(cls, array_fn, g, x):
    """The gradient g * slope(x) on arrays, or recorded as op `cls` of (g, x) when backward
    builds a graph."""
    if not grad_mode.backward_on_tensors():
        gd, xd = g._data, x._data
        return Tensor._make(iter_layout(array_fn(_xp_of(gd), gd, xd), (gd, xd)))
    return apply(cls, (g, x), (g._data, x._data))


class HardswishGrad(Op):
    """hardswish_backward(g, x) as an op (HardswishBackwardBackward0): d/dg is itself,
    d/dx = g' g / 3 inside (-3, 3), else 0."""
    _name = "HardswishBackwardBackward0"
    save_inputs = (0, 1)
    elementwise = True

    @staticmethod
    def forward(ctx, g, x):
        return _hardswish_grad_array(ctx.xp, g, x)

    @staticmethod
    def backward(ctx, gg):
        g, x = ctx.saved_tensors
        from .pointwise import where
        dg = _grad_of(HardswishGrad, _hardswish_grad_array, gg, x) if \
            ctx.needs_input_grad[0] else None
        dx = where((x > -3.0) & (x < 3.0), gg * g / 3.0, 0.0) if \
            ctx.needs_input_grad[1] else None
        return dg, dx


class Hardswish(Op):
    """F.hardswish: x min(max(x + 3, 0), 6) / 6 (HardswishBackward0)."""
    _name = "HardswishBackward0"
    save_inputs = (0,)
    elementwise = True

    @staticmethod
    def forward(ctx, x):
        return _hardswish_array(ctx.xp, x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return _grad_of(HardswishGrad, _hardswish_grad_array, grad, x)

    @staticmethod
    def jvp(ctx, inputs, outputs, tangents):
        return _grad_of(HardswishGrad, _hardswish_grad_array, tangents[0], inputs[0])


_HARDSIGMOID_DOUBLE = "derivative for aten::hardsigmoid_backward is not implemented"


class HardsigmoidGrad(Op):
    """hardsigmoid_backward(g, x) as an op: PyTorch records it (a first gradient taken
    with create_graph requires grad) under a node named NotImplemented, whose backward
    raises."""
    _name = "torch::autograd::NotImplemented"
    elementwise = True

    @staticmethod
    def forward(ctx, g, x):
        return _hardsigmoid_grad_array(ctx.xp, g, x)

    @staticmethod
    def backward(ctx, gg):
        raise RuntimeError(_HARDSIGMOID_DOUBLE)


class Hardsigmoid(Op):
    """F.hardsigmoid: min(max(x + 3, 0), 6) / 6 (HardsigmoidBackward0)."""
    _name = "HardsigmoidBackward0"
    save_inputs = (0,)
    elementwise = True

    @staticmethod
    def forward(ctx, x):
        return _hardsigmoid_array(ctx.xp, x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return _grad_of(HardsigmoidGrad, _hardsigmoid_grad_array, grad, x)

    @staticmethod
    def jvp(ctx, inputs, outputs, tangents):
        # (its own: the one derived from backward would differentiate HardsigmoidGrad)
        return _grad_of(HardsigmoidGrad, _hardsigmoid_grad_array, tangents[0], inputs[0])


def hardswish(input):
    return apply(Hardswish, (input,), (input._data,))


def hardsigmoid(input):
    return apply(Hardsigmoid, (input,), (input._data,))


# ----------------------------------------------------------------------------------------
# prelu


def _sum_to_shape(xp, a, shape):
    """Array `a` summed down to `shape` (which it broadcasts from, same rank)."""
    axes = tuple(i for i, (s, n) in enumerate(zip(shape, a.shape)) if s == 1 and n != 1)
    if axes:
        a = a.sum(axis=axes, keepdims=True)
    return a.reshape(shape)


def _prelu_grad_arrays(xp, g, x, w):
    positive = x > 0
    gx = xp.where(positive, g, w * g)
    gw = xp.where(positive, g.dtype.type(0), x * g)
    return gx, gw


class PreluGrad(Op):
    """_prelu_kernel_backward(g, x, w) as an op of two outputs, dx and dw before the sum
    over broadcast dims (PreluKernelBackwardBackward0). Its gradients follow PyTorch's
    formula, which takes x >= 0 as the positive side (the first gradient takes x > 0)."""
    _name = "PreluKernelBackwardBackward0"
    save_inputs = (0, 1, 2)
    materialize_grads = False

    @staticmethod
    def forward(ctx, g, x, w):
        gx, gw = _prelu_grad_arrays(ctx.xp, g, x, w)
        return iter_layout(gx, (x, g)), iter_layout(gw, (x, g))   # laid out as x leads

    @staticmethod
    def backward(ctx, ggx, ggw):
        g, x, w = ctx.saved_tensors
        from .pointwise import where
        from .creation import zeros_like
        from .reduction import sum_to_size
        nonneg = x >= 0
        need = ctx.needs_input_grad
        dg = dx = dw = None
        if need[0]:
            if ggx is None:
                dg = where(nonneg, 0.0, ggw * x)
            elif ggw is None:
                dg = where(nonneg, ggx, ggx * w)
            else:
                dg = where(nonneg, ggx, ggx * w + ggw * x)
        if need[1]:
            dx = zeros_like(x) if ggw is None else where(nonneg, 0.0, g * ggw)
        if need[2]:
            dw = zeros_like(x) if ggx is None else where(nonneg, 0.0, g * ggx)
            if tuple(dw.shape) != tuple(w.shape):
                dw = sum_to_size(dw, tuple(w.shape))
        return dg, dx, dw


class Prelu(Op):
    """prelu on an input and a weight already shaped to broadcast over it
    (PreluKernelBackward0): x where x > 0, else w x."""
    _name = "PreluKernelBackward0"
    save_inputs = (0, 1)
    elementwise = True

    @staticmethod
    def forward(ctx, x, w):
        return ctx.xp.where(x > 0, x, w * x)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if not grad_mode.backward_on_tensors():
            gd, xd, wd = grad._data, x._data, w._data
            gx, gw = _prelu_grad_arrays(_xp_of(gd), gd, xd, wd)
            return (Tensor._make(iter_layout(gx, (xd, gd))) if need[0] else None,
                    Tensor._make(_sum_to_shape(None, gw, wd.shape)) if need[1] else None)
        gx, gw = apply(PreluGrad, (grad, x, w), (grad._data, x._data, w._data))
        if tuple(gw.shape) != tuple(w.shape):
            from .reduction import sum_to_size
            gw = sum_to_size(gw, tuple(w.shape))
        return (gx if need[0] else None), (gw if need[1] else None)


def prelu(input, weight):
    """prelu of `input` and `weight` (shaped by the caller to broadcast over input)."""
    return apply(Prelu, (input, weight), (input._data, weight._data))
