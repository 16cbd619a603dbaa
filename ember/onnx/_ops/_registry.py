"""How each op of an exported ember graph is written as ONNX operators: the table and
the helpers every family module uses.

`TRANSLATIONS` maps the op's ATen name (without namespace and overload; an in-place op
``relu_`` uses ``relu``'s entry) to a function called as the op was called in the
program, with graph values (`Value`) in place of tensors: ``linear(g, x, weight, bias)``.
The functions' parameters mirror PyTorch's signatures, so positional and keyword calls
both bind. ``g.out_dtype`` / ``g.out_shape`` hold the dtype and shape ember computed for
the op's result. Ops that ember records as the op class that ran (average pooling,
transposed convolution, recurrent layers) are keyed by the class name.
"""
import numpy as np

from .._graph import Value

__all__ = ["TRANSLATIONS", "Unsupported"]

TRANSLATIONS = {}


def _op(*names):
    def register(fn):
        for name in names:
            TRANSLATIONS[name] = fn
        return fn
    return register


def _tuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _axis(d, rank):
    return d + rank if d < 0 else d


def _operand(g, v, dtype):
    """A Value of `dtype` from a Value or a Python number."""
    if isinstance(v, Value):
        return g.cast(v, dtype)
    return g.const(np.array(v, dtype=dtype))


class Unsupported(Exception):
    """An op's form that has no translation; the exporter raises UnsupportedOperatorError
    naming it with the opset asked for."""


def _unsupported(name):
    raise Unsupported(f"aten::{name}")


def _reduce(g, onnx_op, x, axes, keepdims):
    axes = [int(a) for a in axes]
    # ReduceSum takes axes as an input from opset 13, the others from opset 18
    if onnx_op == "ReduceSum" or g.opset >= 18:
        return g.op(onnx_op, x, g.const(np.array(axes, np.int64)), keepdims=int(keepdims))
    return g.op(onnx_op, x, axes=axes, keepdims=int(keepdims))


def _sizes(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return list(args[0])
    return list(args)


def _dims(input, dim):
    if dim is None or dim == () or dim == []:
        return list(range(input.rank))
    return [_axis(d, input.rank) for d in _tuple(dim, 1)]
