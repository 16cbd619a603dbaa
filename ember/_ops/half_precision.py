"""Composite ops on float16/bfloat16 tensors, computed in float32 and rounded once.

PyTorch's CPU kernels for half precision compute in float32 (its "opmath" type) and round
the result to half precision once. An ember op composed of several primitives would round
after every primitive instead: rms_norm's x * x overflows float16 at |x| > 256, a linear
layer's bias add cancels digits the rounded product has lost, a loss's mean sums in float16.
`computes_in_float32` widens such an op's half-precision tensor arguments to float32 (a
differentiable cast, so gradients come back in the input's dtype) and rounds its floating
results back to that dtype.
"""
import functools

from .. import _dtype
from .._tensor import Tensor

_HALF = (_dtype.float16, _dtype.bfloat16)
# a first operand of these dtypes means the arguments are not all of one half dtype
_WIDE_NP = frozenset(d.np for d in (_dtype.float32, _dtype.float64, _dtype.complex64,
                                      _dtype.complex128))


def _float_dtypes(x, found):
    """Collect into `found` the dtypes of the floating/complex tensors in x (nested)."""
    if isinstance(x, Tensor):
        if x.dtype.is_floating_point or x.dtype.is_complex:
            found.add(x.dtype)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _float_dtypes(v, found)


def _widen(x, low):
    if isinstance(x, Tensor):
        return x.float() if x.dtype is low else x
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_widen(v, low) for v in x)
    return x


def _narrow(x, low):
    if isinstance(x, Tensor):
        return x.to(low) if x.dtype is _dtype.float32 else x
    if isinstance(x, tuple) and hasattr(x, "_fields"):   # a named tuple of results
        return type(x)(*(_narrow(v, low) for v in x))
    if isinstance(x, (list, tuple)):
        return type(x)(_narrow(v, low) for v in x)
    return x


def computes_in_float32(fn):
    """Decorate composite op `fn` so that, when its floating tensor arguments are all of one
    half-precision dtype, it runs on float32 copies and its float32 results are rounded back
    to that dtype. Mixed dtypes, other dtypes and calls with `out=` run `fn` unchanged (so
    its own checks and messages apply)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if args and type(args[0]) is Tensor and args[0]._data.dtype in _WIDE_NP:
            return fn(*args, **kwargs)   # the common case: a float32/float64 first operand
        if kwargs.get("out") is not None:
            return fn(*args, **kwargs)
        found = set()
        _float_dtypes(args, found)
        _float_dtypes(tuple(kwargs.values()), found)
        if len(found) != 1:
            return fn(*args, **kwargs)
        low = found.pop()
        if low not in _HALF:
            return fn(*args, **kwargs)
        result = fn(*_widen(args, low), **{k: _widen(v, low) for k, v in kwargs.items()})
        return _narrow(result, low)
    return wrapper
