"""torch.overrides, the __torch_function__ protocol's helpers. ember has no
__torch_function__ dispatch: no argument ever asks for it, so the has_torch_function
family answers False and handle_torch_function, which only runs when one says True,
raises NotImplementedError."""
import functools

from ._tensor import Tensor

__all__ = ["has_torch_function", "has_torch_function_unary", "has_torch_function_variadic",
           "handle_torch_function", "is_tensor_like", "is_tensor_method_or_property",
           "wrap_torch_function", "get_ignored_functions", "get_overridable_functions",
           "resolve_name"]


def has_torch_function(relevant_args):
    """Whether an argument overrides __torch_function__: never, in ember."""
    return False


def has_torch_function_unary(obj):
    return False


def has_torch_function_variadic(*args):
    return False


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    raise NotImplementedError("ember has no __torch_function__ dispatch: "
                              "handle_torch_function cannot route a call to an override")


def is_tensor_like(inp):
    """True for tensors and for objects that define __torch_function__."""
    return isinstance(inp, Tensor) or hasattr(type(inp), "__torch_function__")


def is_tensor_method_or_property(func):
    """Whether `func` is a Tensor method or property (Tensor.add, Tensor.shape.__get__)."""
    return getattr(Tensor, getattr(func, "__name__", ""), None) is func or \
        isinstance(func, property)


def wrap_torch_function(dispatcher):
    """Decorator for functions that would dispatch overrides; without dispatch it returns
    the function unchanged (behind functools.wraps)."""
    def decorate(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
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
