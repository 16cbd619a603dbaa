"""The __torch_function__ protocol for Tensor subclasses and tensor-like types.

PyTorch lets a Tensor subclass intercept every torch function and Tensor method called
with one of its instances: the call becomes
``type(arg).__torch_function__(func, types, args, kwargs)`` for the overriding arguments
(subclasses before their bases, otherwise left to right) until one answers something other
than NotImplemented. Tensor's own classmethod, the default, runs `func` with the protocol
off and makes Tensor results instances of the subclass, so ``MyTensor + 1`` is a MyTensor.

ember pays for this only once a program defines a Tensor subclass that takes part
(``Tensor.__init_subclass__``): `activate` then wraps the public functions of ember,
ember.nn.functional, ember.linalg, ember.fft and ember.special and the public methods and
operators of Tensor in a dispatcher, wherever ember holds them (so ember's own calls
between ops dispatch too, as PyTorch's Python-level functions do, unless the protocol is
off, as it is inside the default handler). Before that no call is wrapped, and the built-in
subclasses (Parameter, the sparse tensors, the uninitialized lazy tensors) opt out with
`_disabled_torch_function_impl`, as PyTorch's Parameter does.

A TorchFunctionMode, while entered, sees every such call first (the innermost mode, taken
off the stack while its handler runs); entering one activates the wrapping too.

Types that are not Tensors take part too when they define __torch_function__ (the
"ScalarTensor" of PyTorch's "Extending torch with a Tensor-like type"): ``torch.mean(st)``
calls ``ScalarTensor.__torch_function__(torch.mean, ...)``, and a call none of the
arguments' handlers answers raises TypeError. Such a class is noticed when its ``class``
statement runs (`_build_class`, in front of Python's builtins.__build_class__, costs one
attribute lookup per class statement): the first one outside torch and ember activates the
wrapping. Tensor operators whose handlers all answer NotImplemented return NotImplemented,
so Python tries the other operand's reflected operator, as PyTorch's do. Once active, the
public properties of Tensor (shape, dtype, grad, T ...) dispatch too, as
``Tensor.shape.__get__`` (and ``__set__`` for assignments), as PyTorch's do.

Functions imported by name into ember's modules while the protocol is active are bound to
the wrappers, and `deactivate` takes the wrappers off them too (`_fronts.unbind_fronts`).
Not covered: functions a program's own modules or objects hold from before activation (they
keep the undispatched function; ember.fx's tracer puts the wrapper, `front_of`, in front of
the functions the traced modules hold as attributes), tensor-like classes made without a
class statement (``type(name, bases, ns)``) or defined before ``import ember``.
"""
import builtins
import functools
import threading

from . import _fronts
from ._tensor import Tensor, SUBCLASS_HOOKS
from ._torch_function_forms import FUNCTIONAL_FORMS, as_torch_passes

_STATE = threading.local()   # .off: 0 dispatching, 1 subclasses off, 2 all off
ACTIVE = [False]
# TorchFunctionModes entered and not yet left, in all threads: while 0, a call dispatches
# only for an overriding argument, found without reading the thread's state
_MODES_LIVE = [0]


def _off():
    return getattr(_STATE, "off", 0)


class DisableTorchFunctionSubclass:
    """Context manager: calls inside it skip the subclasses' __torch_function__
    (torch._C.DisableTorchFunctionSubclass)."""

    def __enter__(self):
        self._prev = _off()
        _STATE.off = max(self._prev, 1)
        return self

    def __exit__(self, *exc):
        _STATE.off = self._prev
        return False


class DisableTorchFunction(DisableTorchFunctionSubclass):
    """Context manager: no __torch_function__ runs inside it (torch._C.DisableTorchFunction)."""

    def __enter__(self):
        self._prev = _off()
        _STATE.off = 2
        return self


def _disabled_torch_function_impl(func, types, args=(), kwargs=None):
    """The __torch_function__ of subclasses that do not take part (Parameter): the call
    runs as on a plain Tensor."""
    with DisableTorchFunctionSubclass():
        return func(*args, **(kwargs or {}))


def _convert(ret, cls):
    if isinstance(ret, Tensor) and not isinstance(ret, cls):
        return ret.as_subclass(cls)
    if isinstance(ret, (tuple, list)) and not hasattr(ret, "_fields"):
        return type(ret)(_convert(r, cls) for r in ret)
    if isinstance(ret, tuple):   # a named tuple of results (torch.return_types)
        return type(ret)(*(_convert(r, cls) for r in ret))
    return ret


def _default_torch_function(cls, func, types, args=(), kwargs=None):
    """Tensor.__torch_function__: run func with the protocol off, then make the Tensor
    results instances of cls (when every overriding type is cls or one of its bases)."""
    if not all(issubclass(cls, t) for t in types):
        return NotImplemented
    with DisableTorchFunctionSubclass():
        ret = func(*args, **(kwargs or {}))
        if getattr(func, "__self__", None) in _NOWRAP:   # x.grad of a subclass: as it is
            return ret
        return _convert(ret, cls)


# the dispatching properties whose values the default handler leaves alone (PyTorch's
# get_default_nowrap_functions: Tensor.grad.__get__ ...)
_NOWRAP = set()


Tensor.__torch_function__ = classmethod(_default_torch_function)


# argument types that never override calls (the common ones, skipped without a lookup)
_PLAIN = frozenset((int, float, bool, complex, str, type(None), slice, type(Ellipsis), dict))


def _takes_part(tp):
    """Whether instances of type `tp` override calls (a Tensor subclass whose
    __torch_function__ is not the disabled one, or any other type defining one)."""
    if tp in _PLAIN:
        return False
    tf = getattr(tp, "__torch_function__", None)
    return tf is not None and getattr(tf, "__func__", tf) is not _disabled_torch_function_impl


def overloaded_args(args, kwargs=None):
    """The arguments whose types override calls, one per type, subclasses before their
    bases and otherwise in order of appearance (lists and tuples are looked into)."""
    found = []
    types = []

    def visit(a):
        tp = type(a)
        if tp is Tensor:
            return
        if tp is list or tp is tuple:
            for b in a:
                visit(b)
            return
        if tp in types or not _takes_part(tp):
            return
        # before the first argument whose type it subclasses
        at = next((i for i, t in enumerate(types) if issubclass(tp, t)), len(types))
        types.insert(at, tp)
        found.insert(at, a)

    for a in args:
        visit(a)
    if kwargs:
        for a in kwargs.values():
            visit(a)
    return found


def _modes():
    modes = getattr(_STATE, "modes", None)
    if modes is None:
        modes = _STATE.modes = []
    return modes


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Offer the call to the innermost TorchFunctionMode, then to the __torch_function__ of
    each overriding argument in `relevant_args` in turn, until one answers; TypeError when
    all answer NotImplemented."""
    ret = _offer(public_api, relevant_args, args, kwargs)
    if ret is _UNANSWERED:
        overloaded = overloaded_args(relevant_args) if _off() < 1 else []
        name = getattr(public_api, "__qualname__", getattr(public_api, "__name__", public_api))
        raise TypeError(f"no implementation found for '{name}' on types that implement "
                        f"__torch_function__: {[type(a) for a in overloaded]}")
    return ret


_UNANSWERED = object()


def _offer(public_api, relevant_args, args, kwargs):
    """What the first handler that answers gives, or _UNANSWERED."""
    off = _off()
    overloaded = overloaded_args(relevant_args) if off < 1 else []
    types = tuple(type(a) for a in overloaded)
    modes = _modes()
    if modes and off < 2:
        mode = modes.pop()   # off the stack while it runs: its own calls go past it
        try:
            ret = mode.__torch_function__(public_api, types, args, kwargs)
        finally:
            modes.append(mode)
        if ret is not NotImplemented:
            return ret
    for a in overloaded:
        ret = type(a).__torch_function__(public_api, types, args, kwargs)
        if ret is not NotImplemented:
            return ret
    return _UNANSWERED


def _dispatching_operator(func, api):
    """An operator method with the protocol in front: when no handler answers it returns
    NotImplemented, so that Python tries the other operand's reflected operator."""
    @functools.wraps(func)
    def public(*args, **kwargs):
        if (_MODES_LIVE[0] or _any_overriding(args, kwargs)) and _wanted(args, kwargs):
            ret = _offer(api or public, args + tuple(kwargs.values()), args, kwargs)
            return NotImplemented if ret is _UNANSWERED else ret
        return func(*args, **kwargs)
    public._ember_undispatched = func
    return _fronts.mark(public, _fronts.TORCH_FUNCTION)


def _dispatching(func, api=None, form=None):
    """`func` with the protocol in front: calls without overriding arguments (or with the
    protocol off) go straight to it. The overrides see `api` as the function called
    (default: this wrapper; `x + y` is reported as Tensor.add, as PyTorch does); `form`:
    the name of the nn.functional function whose call they see in PyTorch's form
    (_torch_function_forms: ``mse_loss(x, y, size_average=None, ...)``)."""
    @functools.wraps(func)
    def public(*args, **kwargs):
        if (_MODES_LIVE[0] or _any_overriding(args, kwargs)) and _wanted(args, kwargs):
            relevant = args + tuple(kwargs.values())
            if form is not None:
                shown = as_torch_passes(func, form, args, kwargs)
                if shown is not None:
                    args, kwargs = shown
            return handle_torch_function(api or public, relevant, *args, **kwargs)
        return func(*args, **kwargs)
    public._ember_undispatched = func
    return _fronts.mark(public, _fronts.TORCH_FUNCTION)


# Tensor operators that PyTorch reports to __torch_function__ as the named method
# (x + 1 and 1 + x as Tensor.add(x, 1)); the others are reported as themselves
_OPERATOR_METHODS = {
    "__add__": "add", "__radd__": "add", "__sub__": "sub", "__mul__": "mul", "__rmul__": "mul",
    "__truediv__": "div", "__matmul__": "matmul", "__neg__": "neg", "__pow__": "pow",
    "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge", "__ne__": "ne",
    "__mod__": "remainder", "__abs__": "abs", "__iadd__": "add_", "__isub__": "sub_",
    "__imul__": "mul_", "__itruediv__": "div_", "__rand__": "bitwise_and",
    "__ror__": "bitwise_or", "__rxor__": "bitwise_xor",
}


# the other binary operators (reported as themselves)
_BINARY_OPERATORS = frozenset((
    "__rsub__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__rmod__", "__rpow__",
    "__rmatmul__", "__and__", "__or__", "__xor__", "__lshift__", "__rshift__",
    "__rlshift__", "__rrshift__", "__eq__", "__imod__", "__ipow__", "__ifloordiv__",
    "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__", "__imatmul__",
    "__div__", "__rdiv__", "__idiv__"))


def _any_overriding(args, kwargs):
    for a in args:
        tp = type(a)
        if tp is not Tensor and ((tp is list or tp is tuple) and _any_overriding(a, None) or
                                 _takes_part(tp)):
            return True
    if kwargs:
        return _any_overriding(tuple(kwargs.values()), None)
    return False


# Tensor attributes that are not calls on a tensor's value: object protocol, pickling,
# NumPy interop and ember's own plumbing
_NOT_DISPATCHED = frozenset((
    "__new__", "__init__", "__init_subclass__", "__torch_function__", "__getattribute__",
    "__getattr__", "__setattr__", "__delattr__", "__reduce__", "__reduce_ex__",
    "__getstate__", "__setstate__", "__class_getitem__", "__subclasshook__", "__sizeof__",
    "__dir__", "__format__", "__hash__", "__array__", "__array_wrap__", "__dlpack__",
    "__dlpack_device__", "__weakref__", "__dict__", "__slots__", "__class__", "__doc__",
    "__module__", "__deepcopy__", "__copy__", "as_subclass",
))


def _is_plain_function(f):
    """A Python or builtin function, other than the protocol's own helpers
    (has_torch_function ... must not dispatch)."""
    return callable(f) and not isinstance(f, type) and \
        type(f).__name__ in ("function", "builtin_function_or_method") and \
        getattr(f, "__module__", None) not in ("ember.overrides", __name__)


# what activate replaced, to put back (ember/_fronts.bind's records)
_REPLACED = []
# every wrapper made, by (kind, name, id(original)) -> (original, wrapper): activating again
# after deactivate() puts the same objects back, so that tables keyed by function identity
# (ember.export's, the fx code printer's) stay valid across the cycle
_MADE = {}


def _made(key, original, make):
    entry = _MADE.get(key)
    if entry is None or entry[0] is not original:
        entry = _MADE[key] = (original, make())
    return entry[1]


def activate():
    """Put the dispatcher in front of ember's public functions and Tensor's methods (once).

    Each original function object gets one wrapper, which replaces it wherever ember holds
    it (every ember module and the Tensor class), so that names which were one function
    stay one (``ember.from_dlpack is ember.utils.dlpack.from_dlpack``; the autocast
    installer recognises functions by identity too). Operators get wrappers of their own
    that report the named method (see _OPERATOR_METHODS)."""
    if not ACTIVE[0]:   # (beneath the profiler's timed wrappers, when they are laid)
        _fronts.beneath(_activate, _fronts.PROFILER)


def front_of(value):
    """The dispatching wrapper ember binds in place of `value` while the protocol is
    active (`value` itself when it is one), else None: for a function held where no
    rebinding reaches (an attribute of an object made before activation, such as
    TransformerEncoderLayer(activation="gelu")'s F.gelu)."""
    if not ACTIVE[0] or not callable(value) or isinstance(value, type):
        return None
    if _fronts.layer_of(value) == _fronts.TORCH_FUNCTION:
        return value
    return _WRAPPERS[0].under(value) if _WRAPPERS[0] is not None else None


# the activation's wrappers (an ember/_fronts.Fronts), while active
_WRAPPERS = [None]


def _activate():
    ACTIVE[0] = True
    import sys
    import ember
    from ember import fft, linalg, special
    from ember.nn import functional
    wrappers = _fronts.Fronts(_fronts.TORCH_FUNCTION)   # one dispatching wrapper per original
    _WRAPPERS[0] = wrappers

    def wrap(f, name, qual):
        w = wrappers.get(f)
        if w is None:
            form = name if name in FUNCTIONAL_FORMS and getattr(functional, name, None) is f \
                else None
            w = wrappers.make(f, lambda: _made(("function", id(f)), f,
                                               lambda: _dispatching(f, form=form)))
            w.__name__, w.__qualname__ = name, qual
        elif name == qual == f.__name__:
            # one function under several names (swapaxes, swapdims, transpose): the
            # wrapper, whichever alias met it first, is named as the function is
            w.__name__ = w.__qualname__ = name
        return w

    for mod in (ember, functional, linalg, fft, special):
        public = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        for name in public:
            f = getattr(mod, name, None)
            if not name.startswith("_") and _is_plain_function(f) and \
                    not hasattr(f, "_ember_undispatched"):
                w = wrap(f, name, name)
                if getattr(sys.modules.get(w.__module__), w.__qualname__, None) is not f and \
                        getattr(mod, w.__qualname__, None) is f:
                    # its module holds it under another name (ember.linalg.slogdet is
                    # ember._ops.linalg_solvers.linalg_slogdet): pickle finds the wrapper by
                    # (module, qualname) in the namespace that shows it under this name
                    w.__module__ = mod.__name__
    methods = [n for n in list(Tensor.__dict__) if n not in _NOT_DISPATCHED and
               (not n.startswith("_") or n.startswith("__") and n.endswith("__"))]
    for name in sorted(methods, key=lambda n: n.startswith("__")):   # named methods first
        f = Tensor.__dict__[name]
        if not _is_plain_function(f) or hasattr(f, "_ember_undispatched"):
            continue
        if name in _OPERATOR_METHODS:
            api = Tensor.__dict__.get(_OPERATOR_METHODS[name])
            api = api if hasattr(api, "_ember_undispatched") else None
            w = _made(("operator", name, id(f), id(api)), f,
                      lambda: _dispatching_operator(f, api))
            w.__name__, w.__qualname__ = name, f"Tensor.{name}"
        elif name in _BINARY_OPERATORS:
            w = _made(("operator", name, id(f)), f, lambda: _dispatching_operator(f, None))
            w.__name__, w.__qualname__ = name, f"Tensor.{name}"
        else:
            w = wrap(f, name, f"Tensor.{name}")
        if w.__qualname__ == f"Tensor.{name}":
            # pickle finds it as ember.Tensor.<name> (the original may live in another
            # module under its own name: ember.storage's untyped_storage)
            w.__module__ = Tensor.__module__
        _REPLACED.append(_fronts.bind(Tensor, name, w))
    for name, prop in list(Tensor.__dict__.items()):
        if type(prop) is property and name[0] != "_":
            w = _made(("property", name, id(prop)), prop,
                      lambda: _dispatching_property(prop, name))
            _REPLACED.append(_fronts.bind(Tensor, name, w))
    # ember's modules hold the functions behind the NumPy-name fronts (ember/_numpy_aliases.py)
    # of the public ones: there they get the front's dispatcher, so that a handler sees
    # ember.sum for the calls ember's own code makes too
    # The same holds for a function under a lower layer's front (the __torch_dispatch__
    # out= fronts laid on ember.cat ... when ember.utils._python_dispatch is imported):
    # a module that imported the name before (densenet's `from ... import cat`) holds the
    # function beneath, and must get the dispatcher too (fx traces through it).
    for f, w in list(wrappers.items()):
        under = w._ember_undispatched
        while _fronts.layer_of(under) is not None and \
                _fronts.layer_of(under) < _fronts.TORCH_FUNCTION and \
                getattr(under, "__wrapped__", None) is not None:
            under = under.__wrapped__
            wrappers.add(under, w)
        inner = getattr(under, "__wrapped__", None)
        if hasattr(under, "_numpy_names") and inner is not None:
            wrappers.add(inner, w)
    spaces = _fronts.ember_spaces(exclude=(__name__,))
    _REPLACED.extend(_fronts.rebind(wrappers, spaces, dunders=False))
    # A name bound to another lower layer's front of such a function (MultiheadAttention's
    # `linear` under its own autocast entry, once autocast has been used) gets the
    # dispatcher too, which calls the public function's fronts: the same op
    for where in spaces:
        for key, value in list(where.items()):
            rank = _fronts.layer_of(value)
            if rank is not None and rank < _fronts.TORCH_FUNCTION and \
                    not key.startswith("__"):
                w = wrappers.under(value)
                if w is not None:
                    _REPLACED.append(_fronts.bind(where, key, w))


def _dispatching_property(prop, name):
    """A Tensor property that offers reads (and writes) to the handlers, as
    ``Tensor.<name>.__get__`` (``__set__``), as PyTorch's do."""
    def get(self):
        if _dispatch_wanted((self,)):
            return handle_torch_function(public.__get__, (self,), self)
        return prop.fget(self)

    def set_(self, value):
        if _dispatch_wanted((self, value)):
            return handle_torch_function(public.__set__, (self, value), self, value)
        return prop.fset(self, value)

    public = property(get, set_ if prop.fset is not None else None, prop.fdel, prop.__doc__)
    if name in ("grad", "_grad", "_base"):
        _NOWRAP.add(public)
    return public


def _wanted(args, kwargs):
    """Whether a call goes to the handlers: a mode of this thread is on (unless all
    dispatch is off), or an argument overrides (unless subclass dispatch is off)."""
    off = getattr(_STATE, "off", 0)
    return off < 2 and bool(getattr(_STATE, "modes", None)) or \
        not off and _any_overriding(args, kwargs)


def _dispatch_wanted(args):
    return (_MODES_LIVE[0] or _any_overriding(args, None)) and _wanted(args, None)


def deactivate():
    """Undo activate (for test isolation): every name still holding its wrapper gets its
    original back (one bound to something else since is left alone)."""
    _fronts.beneath(_deactivate, _fronts.PROFILER)


def _deactivate():
    _fronts.restore(_REPLACED)
    # modules imported while it was on (ember.vision's, `from ember.nn.functional import
    # relu`) bound wrappers that no record names
    _fronts.unbind_fronts(_fronts.TORCH_FUNCTION)
    ACTIVE[0] = False
    _WRAPPERS[0] = None


def _lift():
    if not ACTIVE[0]:
        return None
    deactivate()
    return True


_fronts.layer(_fronts.TORCH_FUNCTION, _lift, lambda token: activate())


class TorchFunctionMode:
    """torch.overrides.TorchFunctionMode: subclass it and define
    ``__torch_function__(self, func, types, args=(), kwargs=None)``; inside ``with mode:``
    every ember function and Tensor method call goes to it first."""

    def __init__(self):
        pass

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError()

    def __enter__(self):
        activate()
        _modes().append(self)
        _MODES_LIVE[0] += 1
        return self

    def __exit__(self, *exc):
        modes = _modes()
        if modes and modes[-1] is self:
            modes.pop()
            _MODES_LIVE[0] -= 1
        elif self in modes:
            modes.remove(self)
            _MODES_LIVE[0] -= 1
        return False

    @classmethod
    def push(cls, *args, **kwargs):
        return cls(*args, **kwargs)


def _on_subclass(cls):
    if not ACTIVE[0] and _takes_part(cls):
        activate()


SUBCLASS_HOOKS.append(_on_subclass)

_python_build_class = builtins.__build_class__


def _build_class(func, name, *bases, **kwds):
    """builtins.__build_class__ (what a class statement calls), noticing the first
    tensor-like class: one that defines __torch_function__ outside torch and ember, is not
    a Tensor subclass (those have their own hook) and not a TorchFunctionMode."""
    cls = _python_build_class(func, name, *bases, **kwds)
    if not ACTIVE[0] and getattr(cls, "__torch_function__", None) is not None and \
            isinstance(cls, type) and not issubclass(cls, (Tensor, TorchFunctionMode)) and \
            str(getattr(cls, "__module__", "")).partition(".")[0] not in ("torch", "ember"):
        activate()
    return cls


builtins.__build_class__ = _build_class
