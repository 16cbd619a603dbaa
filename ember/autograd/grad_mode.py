"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode.

The flag lives in a one-element list so the op dispatcher reads it with one
index, the cheapest lookup Python offers.
"""
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]

GRAD_ENABLED = [True]
# the gradient layout contract is enforced when a gradient is stolen (graph._accumulate)
GRAD_LAYOUT_ENFORCED = [True]
_INFERENCE = [False]
# a forward-AD dual level is open (forward_ad.ACTIVE is this list)
DUAL_ACTIVE = [False]


def is_grad_enabled():
    return GRAD_ENABLED[0]


def backward_on_tensors():
    """Whether a backward formula must run as ember ops rather than on raw arrays: when a
    graph of it is recorded (create_graph), and when a forward-AD level is open, whose
    tangents flow only through ops (forward-over-reverse). The array fast paths of some
    backwards (relu, gelu, log_softmax, cross_entropy, the norms ...) serve the rest, except
    inside a vectorized vmap, whose batched gradients only ops handle."""
    return GRAD_ENABLED[0] or DUAL_ACTIVE[0] or VMAP_VECTORIZING[0] or DISPATCH_ON[0]


# True while a TorchDispatchMode or wrapper subclass may see ops (its backward ops must be
# ops: ember/utils/_python_dispatch.py)
DISPATCH_ON = [False]


# True while ember.func.vmap runs a function on batched tensors (ember/func/_batching.py)
VMAP_VECTORIZING = [False]


def is_inference_mode_enabled():
    return _INFERENCE[0]


class _DecoratorContextManager:
    """A context manager that also works as a decorator (with or without parentheses)."""

    def __call__(self, func):
        if isinstance(func, type):
            raise TypeError(f"{type(self).__name__} cannot decorate a class")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_DecoratorContextManager):
    """Disable gradient recording inside the block."""

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if callable(orig_func):  # used as a bare @no_grad decorator
            self.__init__()
            return self(orig_func)
        return self

    def __init__(self, orig_func=None):
        self.prev = False

    def __enter__(self):
        self.prev = GRAD_ENABLED[0]
        GRAD_ENABLED[0] = False

    def __exit__(self, *exc):
        GRAD_ENABLED[0] = self.prev
        return False


class enable_grad(_DecoratorContextManager):
    """Enable gradient recording inside the block (even within no_grad)."""

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if callable(orig_func):
            self.__init__()
            return self(orig_func)
        return self

    def __init__(self, orig_func=None):
        self.prev = True

    def __enter__(self):
        self.prev = GRAD_ENABLED[0]
        GRAD_ENABLED[0] = True

    def __exit__(self, *exc):
        GRAD_ENABLED[0] = self.prev
        return False


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode to `mode`; takes effect at once, and as a context manager restores it."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'mode' must be bool, not {type(mode).__name__}")
        self.prev = GRAD_ENABLED[0]
        self.mode = mode
        GRAD_ENABLED[0] = mode

    def __call__(self, func):
        # as a decorator it must not change the mode outside the decorated function
        GRAD_ENABLED[0] = self.prev
        return super().__call__(func)

    def __enter__(self):
        GRAD_ENABLED[0] = self.mode

    def __exit__(self, *exc):
        GRAD_ENABLED[0] = self.prev
        return False

    def __str__(self):
        # as PyTorch's: a notebook cell ending in set_grad_enabled(True) shows this
        return f"{type(self).__module__}.{type(self).__qualname__}(mode={self.mode})"

    __repr__ = __str__

    def clone(self):
        return type(self)(self.mode)


class enforce_grad_layout_policy(_DecoratorContextManager):
    """Whether a leaf's first gradient, when the engine can take the incoming one as is
    (nothing else holds it), must still be laid out like the leaf (True, the default) or
    may keep its own layout (False). Gradients that must be copied are always laid out
    like the leaf. Takes effect at once; as a context manager it restores the setting."""

    def __init__(self, enable=True):
        self.prev = GRAD_LAYOUT_ENFORCED[0]
        self.mode = bool(enable)
        GRAD_LAYOUT_ENFORCED[0] = self.mode

    def __call__(self, func):
        GRAD_LAYOUT_ENFORCED[0] = self.prev
        return super().__call__(func)

    def __enter__(self):
        GRAD_LAYOUT_ENFORCED[0] = self.mode

    def __exit__(self, *exc):
        GRAD_LAYOUT_ENFORCED[0] = self.prev
        return False

    def clone(self):
        return type(self)(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like no_grad (ember keeps no separate inference tensors)."""

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode) and not isinstance(mode, bool):
            self.__init__(True)
            return self(mode)
        return self

    def __init__(self, mode=True):
        self.mode = mode
        self.prev = True
        self.prev_inf = False

    def __enter__(self):
        self.prev, self.prev_inf = GRAD_ENABLED[0], _INFERENCE[0]
        if self.mode:
            GRAD_ENABLED[0] = False
            _INFERENCE[0] = True

    def __exit__(self, *exc):
        GRAD_ENABLED[0], _INFERENCE[0] = self.prev, self.prev_inf
        return False

    def clone(self):
        return type(self)(self.mode)
