"""Pointwise ops: arithmetic, unary math, comparisons, logical ops.

Unary float ops are one table (name, forward on arrays, derivative formula) so each
derivative reads as one line, as in PyTorch's derivatives.yaml. `grad`, `x` (the
input) and `out` (the output) are Tensors; a formula uses only what its row saves.
"""
import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd import grad_mode
from ._base import Op, apply
from ._util import cast, check_same_device, float_dtype_for, scalar_for, dtype_name
from .conversion import commit_inplace, inplace_source

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg",
           "negative", "pow", "exp", "log", "sqrt", "tanh", "sigmoid", "abs", "eq", "ne", "lt",
           "le", "gt", "ge", "where", "square", "relu", "sin", "cos", "rsqrt", "reciprocal"]

_ndarray = np.ndarray


# ---------------------------------------------------------------------------- operands

def binary_operands(a, b, fname):
    """(inputs, arrays, dtype) for a binary pointwise op under PyTorch's promotion."""
    if type(a) is Tensor or isinstance(a, Tensor):
        if type(b) is Tensor or isinstance(b, Tensor):
            da, db = a.dtype, b.dtype
            dt = da if da is db else _dtype.result_dtype(a, b)
            if type(a._data) is not _ndarray or type(b._data) is not _ndarray:
                check_same_device(a, b)
            return (a, b), (cast(a, dt), cast(b, dt)), dt
        if isinstance(b, (numbers.Number, np.generic)):
            dt = _dtype.result_dtype(a, b)
            return (a, None), (cast(a, dt), scalar_for(b, dt)), dt
        raise TypeError(f"{fname}(): argument 'other' must be Tensor or Number, not "
                        f"{type(b).__name__}")
    if isinstance(a, (numbers.Number, np.generic)) and isinstance(b, Tensor):
        dt = _dtype.result_dtype(a, b)
        return (None, b), (scalar_for(a, dt), cast(b, dt)), dt
    raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                    f"{type(a).__name__}")


def _as_compute(arrays, dt, new_dt):
    if new_dt is dt:
        return arrays
    return tuple(a.astype(new_dt.np) if isinstance(a, (_ndarray, np.generic)) else a
                 for a in arrays)


# ---------------------------------------------------------------------------- arithmetic

class Add(Op):
    _name = "AddBackward0"

    @staticmethod
    def forward(ctx, x, y, alpha):
        ctx.alpha = alpha
        return x + y if alpha == 1 else x + alpha * y

    @staticmethod
    def backward(ctx, grad):
        return grad, (grad if ctx.alpha == 1 else grad * ctx.alpha)


class Sub(Op):
    _name = "SubBackward0"

    @staticmethod
    def forward(ctx, x, y, alpha):
        ctx.alpha = alpha
        return x - y if alpha == 1 else x - alpha * y

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad if ctx.alpha == 1 else grad * (-ctx.alpha)


class RSub(Op):
    _name = "RsubBackward1"

    @staticmethod
    def forward(ctx, x, y, alpha):  # y - alpha * x
        ctx.alpha = alpha
        return y - x if alpha == 1 else y - alpha * x

    @staticmethod
    def backward(ctx, grad):
        return (-grad if ctx.alpha == 1 else grad * (-ctx.alpha)), grad


class Mul(Op):
    _name = "MulBackward0"
    save_inputs = (0, 1)
    save_needed_by = {0: (1,), 1: (0,)}

    @staticmethod
    def forward(ctx, x, y):
        ctx.scalars = (x if not isinstance(x, _ndarray) else None,
                       y if not isinstance(y, _ndarray) else None)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        sx, sy = ctx.scalars
        gx = grad * (y if y is not None else sy) if ctx.needs_input_grad[0] else None
        gy = grad * (x if x is not None else sx) if ctx.needs_input_grad[1] else None
        return gx, gy


class Div(Op):
    _name = "DivBackward0"
    save_inputs = (0, 1)
    save_needed_by = {0: (1,), 1: (0, 1)}

    @staticmethod
    def forward(ctx, x, y):
        ctx.scalars = (x if not isinstance(x, _ndarray) else None,
                       y if not isinstance(y, _ndarray) else None)
        return x / y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        sx, sy = ctx.scalars
        yv = y if y is not None else sy
        gx = grad / yv if ctx.needs_input_grad[0] else None
        gy = None
        if ctx.needs_input_grad[1]:
            xv = x if x is not None else sx
            gy = -grad * xv / (yv * yv)
        return gx, gy


def _mark_scalar_inputs(inputs):
    return inputs


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, with broadcasting and type promotion."""
    inputs, arrays, dt = binary_operands(input, other, "add")
    if dt is _dtype.bool and alpha != 1 and not isinstance(alpha, bool):
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, float) and not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"For integral input tensors, argument alpha must not be a floating "
                           f"point number.")
    if dt is _dtype.bool:
        return apply(_LogicalOr, inputs, arrays)
    return _out(apply(Add, inputs, arrays, alpha), out)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    inputs, arrays, dt = binary_operands(input, other, "sub")
    if dt is _dtype.bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if not isinstance(input, Tensor):
        return apply(RSub, (inputs[1], inputs[0]), (arrays[1], arrays[0]), alpha)
    return _out(apply(Sub, inputs, arrays, alpha), out)


subtract = sub


def rsub(input, other, *, alpha=1):
    inputs, arrays, dt = binary_operands(input, other, "rsub")
    return apply(RSub, inputs, arrays, alpha)


def mul(input, other, *, out=None):
    """Elementwise product."""
    inputs, arrays, dt = binary_operands(input, other, "mul")
    if dt is _dtype.bool:
        return apply(_LogicalAnd, inputs, arrays)
    return _out(apply(Mul, inputs, arrays), out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """input / other; rounding_mode None (true division), 'trunc' or 'floor'."""
    inputs, arrays, dt = binary_operands(input, other, "div")
    if rounding_mode is None:
        fdt = float_dtype_for(dt)
        return _out(apply(Div, inputs, _as_compute(arrays, dt, fdt)), out)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                         f"found '{rounding_mode}'")
    from . import pointwise_more
    return _out(pointwise_more.rounded_div(inputs, arrays, dt, rounding_mode), out)


divide = div


def true_divide(input, other, *, out=None):
    return div(input, other, out=out)


def _out(result, out):
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"argument 'out' must be Tensor, not {type(out).__name__}")
    if out.shape != result.shape:
        out._data = np.empty(result._data.shape, dtype=out._data.dtype)
    with grad_mode.no_grad():
        commit_inplace(out, result)
    return out


class _LogicalOr(Op):
    _name = "LogicalOrBackward0"

    @staticmethod
    def forward(ctx, x, y):
        return np.logical_or(x, y)


class _LogicalAnd(Op):
    _name = "LogicalAndBackward0"

    @staticmethod
    def forward(ctx, x, y):
        return np.logical_and(x, y)


class Pow(Op):
    _name = "PowBackward1"
    save_inputs = (0, 1)
    save_output = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.scalars = (x if not isinstance(x, _ndarray) else None,
                       y if not isinstance(y, _ndarray) else None)
        if ctx.scalars[1] is not None:
            ctx._name = "PowBackward0"
        elif ctx.scalars[0] is not None:
            ctx._name = "PowBackward2"
        if isinstance(x, _ndarray) and x.dtype.kind in "iu" and np.any(np.asarray(y) < 0):
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return ctx.xp.power(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        sx, sy = ctx.scalars
        gx = gy = None
        if ctx.needs_input_grad[0]:
            if sy is not None:
                gx = grad * sy * x.pow(sy - 1) if sy != 0 else grad * 0
            else:
                gx = grad * y * x.pow(y - 1)
                gx = where(y == 0, 0.0, gx)
        if ctx.needs_input_grad[1]:
            base = x if x is not None else sx
            logb = log(base) if isinstance(base, Tensor) else float(np.log(base))
            gy = grad * out * logb
            if isinstance(base, Tensor):
                gy = where((base == 0) & (y >= 0), 0.0, gy)
        return gx, gy


def pow(input, exponent, *, out=None):
    """input ** exponent (either may be a scalar)."""
    inputs, arrays, dt = binary_operands(input, exponent, "pow")
    if not isinstance(exponent, Tensor) and isinstance(input, Tensor) and exponent == 1:
        from .conversion import clone
        return clone(input) if input.dtype is dt else input.to(dt)
    return _out(apply(Pow, inputs, arrays), out)


# ---------------------------------------------------------------------------- unary table

class Unary(Op):
    """A float-valued unary op built from a table row."""
    float_out = True


def _unary_row(name, node_name, fwd, bwd, save, float_out=True):
    cls = type(node_name, (Unary,), {
        "_name": node_name,
        "forward": staticmethod(lambda ctx, x: fwd(ctx.xp, x)),
        "save_inputs": (0,) if "x" in save else (),
        "save_output": "out" in save,
        "float_out": float_out,
    })

    def backward(ctx, grad):
        saved = ctx.saved_tensors
        x = saved[0] if "x" in save else None
        out = saved[-1] if "out" in save else None
        return bwd(grad, x, out)
    cls.backward = staticmethod(backward)

    def public(input, *, out=None):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        dt = input.dtype
        fdt = float_dtype_for(dt) if float_out else dt
        arr = cast(input, fdt)
        return _out(apply(cls, (input,), (arr,)), out)
    public.__name__ = name
    public.__doc__ = f"Elementwise {name}."
    return public


# name, node, forward(xp, x), derivative(grad, x, out), saved
exp = _unary_row("exp", "ExpBackward0", lambda xp, x: xp.exp(x),
                 lambda g, x, out: g * out, "out")
log = _unary_row("log", "LogBackward0", lambda xp, x: xp.log(x),
                 lambda g, x, out: g / x, "x")
sqrt = _unary_row("sqrt", "SqrtBackward0", lambda xp, x: xp.sqrt(x),
                  lambda g, x, out: g / (2 * out), "out")
rsqrt = _unary_row("rsqrt", "RsqrtBackward0", lambda xp, x: 1 / xp.sqrt(x),
                   lambda g, x, out: -0.5 * g * out.pow(3), "out")
tanh = _unary_row("tanh", "TanhBackward0", lambda xp, x: xp.tanh(x),
                  lambda g, x, out: g * (1 - out * out), "out")
sigmoid = _unary_row("sigmoid", "SigmoidBackward0",
                     lambda xp, x: _sigmoid_array(xp, x),
                     lambda g, x, out: g * out * (1 - out), "out")
sin = _unary_row("sin", "SinBackward0", lambda xp, x: xp.sin(x),
                 lambda g, x, out: g * cos(x), "x")
cos = _unary_row("cos", "CosBackward0", lambda xp, x: xp.cos(x),
                 lambda g, x, out: -g * sin(x), "x")
reciprocal = _unary_row("reciprocal", "ReciprocalBackward0", lambda xp, x: 1 / x,
                        lambda g, x, out: -g * out * out, "out")
neg = _unary_row("neg", "NegBackward0", lambda xp, x: -x, lambda g, x, out: -g, "",
                 float_out=False)
abs = _unary_row("abs", "AbsBackward0", lambda xp, x: xp.abs(x),
                 lambda g, x, out: g * x.sign(), "x", float_out=False)
square = _unary_row("square", "PowBackward0", lambda xp, x: x * x,
                    lambda g, x, out: g * 2 * x, "x", float_out=False)
relu = _unary_row("relu", "ReluBackward0", lambda xp, x: xp.maximum(x, 0).astype(x.dtype),
                  lambda g, x, out: g * (out > 0), "out", float_out=False)
negative = neg


def _sigmoid_array(xp, x):
    # 1 / (1 + exp(-x)) overflows for very negative x; split by sign for stability
    out = xp.empty_like(x)
    pos = x >= 0
    e = xp.exp(-xp.abs(x))
    xp.divide(1, 1 + e, out=out, where=pos)
    xp.divide(e, 1 + e, out=out, where=~pos)
    return out


class Sign(Op):
    _name = "SignBackward0"

    @staticmethod
    def forward(ctx, x):
        return np.sign(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0


def sign(input, *, out=None):
    if input.dtype is _dtype.bool:
        raise RuntimeError("sign is not implemented for bool tensors.")
    return _out(apply(Sign, (input,), (input._data,)), out)


# ---------------------------------------------------------------------------- comparisons

def _compare(name, ufunc):
    def cmp(input, other, *, out=None):
        inputs, arrays, dt = binary_operands(input, other, name)
        r = ufunc(*arrays)
        if type(r) is not _ndarray:
            r = np.asarray(r)
        return _out(Tensor._make(r), out)
    cmp.__name__ = name
    cmp.__doc__ = f"Elementwise `{name}` comparison; returns a bool tensor."
    return cmp


eq = _compare("eq", np.equal)
ne = _compare("ne", np.not_equal)
lt = _compare("lt", np.less)
le = _compare("le", np.less_equal)
gt = _compare("gt", np.greater)
ge = _compare("ge", np.greater_equal)


# ---------------------------------------------------------------------------- where

class Where(Op):
    _name = "WhereBackward0"

    @staticmethod
    def forward(ctx, cond, x, y):
        ctx.cond = cond
        return np.where(cond, x, y)

    @staticmethod
    def backward(ctx, grad):
        c = Tensor._make(ctx.cond)
        zero = grad.new_zeros(())
        gx = where(c, grad, zero) if ctx.needs_input_grad[1] else None
        gy = where(c, zero, grad) if ctx.needs_input_grad[2] else None
        return None, gx, gy


def where(condition, input=None, other=None, *, out=None):
    """Elements of input where condition holds, else of other (broadcast)."""
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' (position 1) must be Tensor, not "
                        f"{type(condition).__name__}")
    if condition.dtype is not _dtype.bool and condition.dtype is not _dtype.uint8:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with "
                           f"dtype {dtype_name(condition.dtype)}")
    inputs, arrays, dt = binary_operands(input, other, "where")
    check_same_device(condition, *[t for t in inputs if t is not None])
    cond = condition._data.astype(bool, copy=False)
    return _out(apply(Where, (None,) + inputs, (cond,) + arrays), out)


# ---------------------------------------------------------------------------- methods

def _reflect(fn):
    def method(self, other):
        return fn(other, self)
    return method


def _inplace(fn):
    def method(self, *args, **kwargs):
        return commit_inplace(self, fn(inplace_source(self, args), *args, **kwargs))
    method.__name__ = fn.__name__ + "_"
    return method


def _new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    from .creation import zeros
    return zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                 requires_grad=requires_grad)


def _new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    from .creation import ones
    return ones(*size, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    from .creation import full
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def _new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    from .creation import empty
    return empty(*size, dtype=dtype or self.dtype, device=device or self.device,
                 requires_grad=requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    from .creation import tensor
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


Tensor.new_zeros = _new_zeros
Tensor.new_ones = _new_ones
Tensor.new_full = _new_full
Tensor.new_empty = _new_empty
Tensor.new_tensor = _new_tensor

Tensor.__add__ = Tensor.add = add
Tensor.__radd__ = _reflect(add)
Tensor.__sub__ = Tensor.sub = sub
Tensor.subtract = sub
Tensor.__rsub__ = _reflect(sub)
Tensor.__mul__ = Tensor.mul = mul
Tensor.multiply = mul
Tensor.__rmul__ = _reflect(mul)
Tensor.__truediv__ = Tensor.div = div
Tensor.divide = Tensor.true_divide = div
Tensor.__rtruediv__ = _reflect(div)
Tensor.__pow__ = Tensor.pow = pow
Tensor.__rpow__ = _reflect(pow)
Tensor.__neg__ = Tensor.neg = neg
Tensor.negative = neg
Tensor.__abs__ = Tensor.abs = abs
Tensor.__eq__, Tensor.__ne__ = eq, ne
Tensor.__lt__, Tensor.__le__, Tensor.__gt__, Tensor.__ge__ = lt, le, gt, ge
Tensor.__hash__ = lambda self: id(self)
for _name in ("eq", "ne", "lt", "le", "gt", "ge", "exp", "log", "sqrt", "rsqrt", "tanh",
              "sigmoid", "sin", "cos", "reciprocal", "square", "relu", "sign", "where"):
    setattr(Tensor, _name, globals()[_name])
Tensor.greater, Tensor.less, Tensor.greater_equal, Tensor.less_equal = gt, lt, ge, le
Tensor.not_equal = ne
Tensor.where = lambda self, condition, other: where(condition, self, other)
for _name in ("add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "rsqrt",
              "tanh", "sigmoid", "sin", "cos", "reciprocal", "square", "relu", "sign", "eq", "ne",
              "lt", "le", "gt", "ge"):
    setattr(Tensor, _name + "_", _inplace(globals()[_name]))
Tensor.subtract_, Tensor.multiply_, Tensor.divide_, Tensor.true_divide_ = (
    Tensor.sub_, Tensor.mul_, Tensor.div_, Tensor.div_)
Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_
Tensor.__ipow__ = Tensor.pow_
