"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode.

Grad mode and inference mode are per thread, as PyTorch's (its GradMode and
InferenceMode are thread-local): no_grad in one thread leaves the others recording, and
a new thread starts with grad mode on and inference mode off. They live as attributes of
STATE, a threading.local, which the hot paths read directly (`STATE.grad`: one attribute
lookup in C). GRAD_ENABLED and _INFERENCE give the same flags the face of a one-element
list (`GRAD_ENABLED[0]`, read and written), for the code that reads them off the hot path.
"""
import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _State(threading.local):
    # class attributes: the values every thread starts with
    grad = True
    inference = False


STATE = _State()

# How many threads have grad mode off, and inference mode on, now. While a count is 0
# every thread has the default, and the hot paths skip the per-thread lookup:
# `not GRAD_OFF[0] or STATE.grad` is this thread's grad mode. (A thread that ends inside
# no_grad leaves its count behind: the hot paths then look up STATE, still correct.)
GRAD_OFF = [0]
INFERENCE_ON = [0]
_COUNT_LOCK = threading.Lock()


def set_grad(mode):
    """Set this thread's grad mode (keeping GRAD_OFF's count)."""
    mode = bool(mode)
    st = STATE
    if st.grad is not mode:
        st.grad = mode
        with _COUNT_LOCK:
            GRAD_OFF[0] += -1 if mode else 1


def set_inference(mode):
    """Set this thread's inference mode (keeping INFERENCE_ON's count)."""
    mode = bool(mode)
    st = STATE
    if st.inference is not mode:
        st.inference = mode
        with _COUNT_LOCK:
            INFERENCE_ON[0] += 1 if mode else -1


class _GradFlag:
    """This thread's grad mode as `flag[0]`."""
    __slots__ = ()

    def __getitem__(self, i):
        return STATE.grad

    def __setitem__(self, i, mode):
        set_grad(mode)

    def __repr__(self):
        return f"[{STATE.grad}]"


class _InferenceFlag:
    """This thread's inference mode as `flag[0]`."""
    __slots__ = ()

    def __getitem__(self, i):
        return STATE.inference

    def __setitem__(self, i, mode):
        set_inference(mode)

    def __repr__(self):
        return f"[{STATE.inference}]"


GRAD_ENABLED = _GradFlag()
# the gradient layout contract is enforced when a gradient is stolen (engine._accumulate)
GRAD_LAYOUT_ENFORCED = [True]
_INFERENCE = _InferenceFlag()
# a forward-AD dual level is open (forward_ad.ACTIVE is this list)
DUAL_ACTIVE = [False]


def is_grad_enabled():
    return not GRAD_OFF[0] or STATE.grad


def backward_on_tensors():
    """Whether a backward formula must run as ember ops rather than on raw arrays: when a
    graph of it is recorded (create_graph), and when a forward-AD level is open, whose
    tangents flow only through ops (forward-over-reverse). The array fast paths of some
    backwards (relu, gelu, log_softmax, cross_entropy, the norms ...) serve the rest, except
    inside a vectorized vmap, whose batched gradients only ops handle."""
    return (not GRAD_OFF[0] or STATE.grad) or DUAL_ACTIVE[0] or VMAP_VECTORIZING[0] or DISPATCH_ON[0]


# True while a TorchDispatchMode or wrapper subclass may see ops (its backward ops must be
# ops: ember/utils/_python_dispatch.py)
DISPATCH_ON = [False]


# True while ember.func.vmap runs a function on batched tensors (ember/func/_batching.py)
VMAP_VECTORIZING = [False]


def is_inference_mode_enabled():
    return INFERENCE_ON[0] > 0 and STATE.inference


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
        self.prev = STATE.grad
        set_grad(False)

    def __exit__(self, *exc):
        set_grad(self.prev)
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
        self.prev = STATE.grad
        set_grad(True)

    def __exit__(self, *exc):
        set_grad(self.prev)
        return False


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode to `mode`; takes effect at once, and as a context manager restores it."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'mode' must be bool, not {type(mode).__name__}")
        self.prev = STATE.grad
        self.mode = mode
        set_grad(mode)

    def __call__(self, func):
        # as a decorator it must not change the mode outside the decorated function
        set_grad(self.prev)
        return super().__call__(func)

    def __enter__(self):
        set_grad(self.mode)

    def __exit__(self, *exc):
        set_grad(self.prev)
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
        self.prev, self.prev_inf = STATE.grad, STATE.inference
        if self.mode:
            set_grad(False)
            set_inference(True)

    def __exit__(self, *exc):
        set_grad(self.prev)
        set_inference(self.prev_inf)
        return False

    def clone(self):
        return type(self)(self.mode)
