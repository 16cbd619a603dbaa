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
           "get_testing_overrides",
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


def _namespaces():
    import ember
    from ember import fft, linalg, special
    from ember.nn import functional
    return (ember, functional, linalg, fft, special)


def get_overridable_functions():
    """{namespace: [its public functions that dispatch __torch_function__]}: the modules
    ember, ember.nn.functional, ember.linalg, ember.fft and ember.special, and Tensor (its
    methods and operators, and its properties' getters as ``Tensor.shape.__get__``). Turns
    the protocol on (ember wraps its functions the first time a program asks)."""
    from . import _torch_function as tf
    tf.activate()
    result = {}
    for mod in _namespaces():
        public = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        funcs = [getattr(mod, n, None) for n in public if not n.startswith("_")]
        result[mod] = [f for f in funcs if hasattr(f, "_ember_undispatched")]
    methods = []
    for name, attr in Tensor.__dict__.items():
        if hasattr(attr, "_ember_undispatched"):
            methods.append(attr)
        elif type(attr) is property and hasattr(attr.fget, "_ember_undispatched"):
            methods.append(attr.__get__)
    result[Tensor] = methods
    return result


def get_ignored_functions():
    """The public functions and Tensor methods that do not dispatch __torch_function__
    (``Tensor.as_subclass``, the protocol's own helpers, ember's plumbing ...)."""
    from . import _torch_function as tf
    tf.activate()
    ignored = set()
    for mod in _namespaces():
        public = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        for name in public:
            f = getattr(mod, name, None)
            if callable(f) and not isinstance(f, type) and \
                    not hasattr(f, "_ember_undispatched"):
                ignored.add(f)
    for name in tf._NOT_DISPATCHED:
        f = Tensor.__dict__.get(name)
        if callable(f) and not isinstance(f, type):
            ignored.add(getattr(Tensor, name))
    return ignored


def get_testing_overrides():
    """{overridable function: a dummy with its signature that returns -1}, for testing a
    __torch_function__ implementation against every function it may be handed."""
    import inspect
    dummies = {}
    for funcs in get_overridable_functions().values():
        for f in funcs:
            def dummy(*args, **kwargs):
                return -1
            original = getattr(f, "_ember_undispatched", f)
            try:
                dummy.__signature__ = inspect.signature(original)
            except (TypeError, ValueError):
                pass
            dummy.__name__ = getattr(f, "__name__", "dummy")
            dummies[f] = dummy
    return dummies


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
