"""torch.overrides, the __torch_function__ protocol's helpers (the protocol itself:
ember/_torch_function.py). Tensor subclasses and other types that define
__torch_function__ take part."""
import functools

from ._tensor import Tensor
from ._torch_function import (handle_torch_function, overloaded_args as _overloaded_args,
                              _disabled_torch_function_impl, TorchFunctionMode)

__all__ = ["has_torch_function", "has_torch_function_unary", "has_torch_function_variadic",
           "handle_torch_function", "is_tensor_like", "is_tensor_method_or_property",
           "wrap_torch_function", "get_ignored_functions", "get_overridable_functions",
           "resolve_name", "TorchFunctionMode", "BaseTorchFunctionMode"]


def has_torch_function(relevant_args):
    """Whether an argument (a Tensor subclass taking part, or another type defining
    __torch_function__) overrides calls."""
    from ._torch_function import _off
    return not _off() and bool(_overloaded_args(tuple(relevant_args)))


def has_torch_function_unary(obj):
    return has_torch_function((obj,))


def has_torch_function_variadic(*args):
    return has_torch_function(args)


def is_tensor_like(inp):
    """True for tensors and for objects that define __torch_function__."""
    return isinstance(inp, Tensor) or hasattr(type(inp), "__torch_function__")


def is_tensor_method_or_property(func):
    """Whether `func` is a Tensor method or property (Tensor.add, Tensor.shape.__get__)."""
    return getattr(Tensor, getattr(func, "__name__", ""), None) is func or \
        isinstance(func, property)


def wrap_torch_function(dispatcher):
    """Decorator making a function dispatch on the arguments `dispatcher(*args, **kwargs)`
    names (a tuple), as torch functions do."""
    def decorate(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return func(*args, **kwargs)
        return wrapped
    return decorate


def get_ignored_functions():
    return set()


def get_overridable_functions():
    return {}


def resolve_name(f):
    """The dotted name of an ember function (``ember.add``), or None."""
    module = getattr(f, "__module__", None)
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None)
    if module is None or name is None:
        return None
    return f"ember.{name}" if module.startswith("ember") else f"{module}.{name}"


class BaseTorchFunctionMode(TorchFunctionMode):
    """A TorchFunctionMode that runs each call as it is (``func(*args, **kwargs)``): a base
    for modes that rewrite some calls and hand the rest on with
    ``super().__torch_function__(func, types, args, kwargs)``."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))
