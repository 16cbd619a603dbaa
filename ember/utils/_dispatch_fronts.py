"""The __torch_dispatch__ layer's fronts (ember/_fronts.py, rank DISPATCH).

Calls that make no op node never reach ``_ops._base.apply``, where the protocol
(utils/_python_dispatch.py) meets every op; as PyTorch's, they still dispatch through
fronts bound wherever ember holds the function:

- in-place Tensor methods and operators (``x.add_(1)``, ``x += 1``: `_inplace_front`,
  dispatched by _python_dispatch.dispatch_inplace as ``aten.add_.Tensor``);
- factories, ``item()`` and ``numpy()`` (`_factory_front`, `_item_front`,
  `_to_numpy_front`: ``aten.zeros.default``, ``aten._local_scalar_dense.default``,
  ``aten.detach.default``);
- tensors made from Python data, range factories and ``out=`` calls (`_lift_front`,
  `_range_front`, `_out_front`: ``aten.lift_fresh.default``, ``aten.arange.start_step``,
  ``aten.add.out`` named by utils/_dispatch_out.py).

A front costs one check of a module global while the protocol is off. The fronts are laid
when _python_dispatch loads (it imports this module last) and kept across the other
layers' lifts (`_FRONTS`: laid again, a front is the same object).
"""
import re

from .. import _fronts
from .._tensor import Tensor
from .._ops import _base
from .._ops.aten import NOT_INPLACE_OPS
from ._dispatch_state import _MODES, _DISABLED, is_wrapper, _dispatch_types
from ._dispatch_core import _dispatch_function, _aten, dispatch_inplace


# --------------------------------------------------------------------------------------
# in-place methods

# Once this module is loaded, each in-place Tensor method (and every binding of the
# same function in ember's modules: `__iadd__`, `ember.relu_`) has a front that, while the
# protocol is live, dispatches the call as PyTorch's in-place overload. The fronts stay
# (putting them in and out with the hook would fight the __torch_function__ wrappers made
# meanwhile); when the protocol is off a front costs one call.

_INPLACE_NAME = re.compile(r"[a-z]([a-z0-9_]*[a-z0-9])?_")
# in-place operators -> the method PyTorch's operator dispatches as
_INPLACE_OPERATORS = {
    "__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_",
    "__idiv__": "div_", "__ipow__": "pow_", "__ifloordiv__": "floor_divide_",
    "__imod__": "remainder_", "__iand__": "bitwise_and_", "__ior__": "bitwise_or_",
    "__ixor__": "bitwise_xor_", "__ilshift__": "bitwise_left_shift_",
    "__irshift__": "bitwise_right_shift_"}


def _is_ours(value):
    """Whether `value` is a front of this layer (ember/_fronts.py marks every front)."""
    return _fronts.layer_of(value) == _fronts.DISPATCH


def _inplace_front(method, original):
    def front(self, *args, **kwargs):
        if _base._DISPATCH[0] is None or _DISABLED[0]:
            return original(self, *args, **kwargs)
        return dispatch_inplace(method, original, self, args, kwargs)
    return _fronts.named_as(front, original)


def _install_inplace_fronts():
    """Put the fronts in place: on Tensor and wherever an ember module holds the same
    function."""
    fronts = _FRONTS["inplace"]
    for key, value in list(vars(Tensor).items()):
        method = _INPLACE_OPERATORS.get(key) or \
            (key if _INPLACE_NAME.fullmatch(key) and key not in NOT_INPLACE_OPS else None)
        if method is None or not callable(value) or isinstance(value, (property, type)) or \
                _is_ours(value):
            continue
        _LAID.append(_fronts.bind(Tensor, key, fronts.make(
            value, lambda: _inplace_front(method, value))))
    _LAID.extend(_fronts.rebind(fronts))


# --------------------------------------------------------------------------------------
# factories and item()

# ember's factories and Tensor.item make no op node, so apply never sees them; as PyTorch's
# do, they dispatch (``aten.zeros.default`` with ``([2, 3],)``, ``{'device': ...,
# 'pin_memory': False}``; ``aten._local_scalar_dense.default`` for item()) through fronts
# bound wherever ember holds them (an LSTM's zero initial state is seen, as PyTorch's).
# The handler's result is returned; requires_grad=True is set on it afterwards, as
# PyTorch's autograd layer does.

# name -> (kind, overload): "size" (sizes, then fill_value for full), "like" (a tensor,
# then fill_value), "new" (a tensor, sizes, then fill_value)
_FACTORIES = {
    "zeros": ("size", "default"), "ones": ("size", "default"),
    "empty": ("size", "memory_format"), "full": ("size", "default"),
    "randn": ("size", "default"), "rand": ("size", "default"),
    "zeros_like": ("like", "default"), "ones_like": ("like", "default"),
    "empty_like": ("like", "default"), "full_like": ("like", "default"),
    "randn_like": ("like", "default"), "rand_like": ("like", "default"),
    "new_zeros": ("new", "default"), "new_ones": ("new", "default"),
    "new_empty": ("new", "default"), "new_full": ("new", "default")}
_FACTORY_KEYWORDS = ("dtype", "layout", "device", "pin_memory", "memory_format", "generator")


def _sizes(args, kwargs):
    """(the sizes as a list, the arguments after them) of a factory call."""
    if "size" in kwargs:
        return list(kwargs.pop("size")), list(args)
    if args and isinstance(args[0], (tuple, list)):
        return list(args[0]), list(args[1:])
    return list(args), []


def _factory_call(name, kind, args, kwargs):
    """(args, kwargs, requires_grad) PyTorch's dispatcher passes for a factory call, or
    None for a call that does not dispatch (an out= tensor)."""
    from .._device import device as _device
    kwargs = dict(kwargs)
    if kwargs.get("out") is not None:
        return None
    kwargs.pop("out", None)
    requires_grad = bool(kwargs.pop("requires_grad", False))
    fill = name.startswith("full") or name == "new_full"
    if kind == "size":
        if fill:
            size = kwargs.pop("size") if "size" in kwargs else args[0]
            rest = list(args[1:]) if "size" not in kwargs else list(args)
            lead = [list(size)]
        else:
            size, rest = _sizes(args, kwargs)
            lead = [size]
    elif kind == "like":
        lead, rest = [args[0]], list(args[1:])
    else:
        if fill:
            size = kwargs.pop("size") if "size" in kwargs else args[1]
            lead, rest = [args[0], list(size)], list(args[2:])
        else:
            size, rest = _sizes(args[1:], kwargs)
            lead = [args[0], size]
    if fill and "fill_value" in kwargs:
        rest.append(kwargs.pop("fill_value"))
    out_kwargs = {k: kwargs[k] for k in _FACTORY_KEYWORDS
                  if kwargs.get(k) is not None and k != "pin_memory"}
    if kind == "size":
        from .. import get_default_device
        out_kwargs["device"] = _device(kwargs.get("device") or get_default_device())
    out_kwargs["pin_memory"] = bool(kwargs.get("pin_memory", False))
    return tuple(lead + rest), out_kwargs, requires_grad


def _factory_front(name, kind, overload, original):
    packet = name

    def plain(*args, **kwargs):
        if kind != "size":
            kwargs.pop("pin_memory", None)   # (ember's _like and new_ functions take none)
        return original(*args, **kwargs)

    def front(*args, **kwargs):
        if _base._DISPATCH[0] is None or _DISABLED[0] or \
                (not _MODES and (kind == "size" or not args or not is_wrapper(args[0]))):
            return original(*args, **kwargs)
        call = _factory_call(name, kind, args, kwargs)
        if call is None:
            return original(*args, **kwargs)
        targs, tkwargs, requires_grad = call
        out = _dispatch_function(getattr(getattr(_aten(), packet), overload), targs, plain,
                                 tkwargs)
        if requires_grad and isinstance(out, Tensor):
            out.requires_grad_(True)
        return out
    return _fronts.named_as(front, original)


def _item_front(original):
    def item(self):
        if _base._DISPATCH[0] is None or _DISABLED[0] or (not _MODES and not is_wrapper(self)):
            return original(self)
        return _dispatch_function(_aten()._local_scalar_dense.default, (self,), original)
    return _fronts.named_as(item, original)


def _to_numpy_front(original):
    """Tensor.numpy / __array__: the tensor's ``detach`` is offered to the handlers
    (``aten.detach.default``), as PyTorch's conversion detaches it; force=True runs
    detach() itself, which dispatches."""
    def front(self, *args, **kwargs):
        if _base._DISPATCH[0] is None or _DISABLED[0] or not _MODES or kwargs.get("force"):
            return original(self, *args, **kwargs)
        array = original(self, *args, **kwargs)   # (its checks first, as PyTorch's)
        _dispatch_function(_aten().detach.default, (self,), Tensor.detach)
        return array
    return _fronts.named_as(front, original)


def _install_factory_fronts():
    """The fronts on Tensor and the ember namespace, and wherever an ember module holds the
    same function (the __torch_function__ wrappers find them there: export's tracer
    sees an LSTM's zeros for its initial state)."""
    import ember
    space = vars(ember)
    fronts = _FRONTS["factory"]
    for name, (kind, overload) in _FACTORIES.items():
        holder = vars(Tensor) if kind == "new" else space
        original = holder.get(name)
        if original is None or _is_ours(original):
            continue
        front = fronts.make(original, lambda: _factory_front(name, kind, overload, original))
        _LAID.append(_fronts.bind(Tensor if kind == "new" else space, name, front))
    original = Tensor.__dict__["item"]
    if not _is_ours(original):
        _LAID.append(_fronts.bind(Tensor, "item", fronts.make(
            original, lambda: _item_front(original))))
    for name in ("numpy", "__array__"):
        original = Tensor.__dict__[name]
        if not _is_ours(original):
            _LAID.append(_fronts.bind(Tensor, name, fronts.make(
                original, lambda: _to_numpy_front(original))))
    _LAID.extend(_fronts.rebind(fronts, _fronts.ember_spaces(root=False)))


# --------------------------------------------------------------------------------------
# functions that make a tensor from Python data, ranges, and out= calls

def _lift_front(original, name=None):
    """ember.tensor / as_tensor / asarray / from_numpy: the tensor made from the data is
    offered to the handlers as ``aten.lift_fresh.default``, as PyTorch's are; reading
    tensors inside the data (``tensor([x[0], x[1]])``) dispatches nothing, as PyTorch's
    reads their values. ``tensor(a_tensor)`` is ``aten.detach`` then ``aten._to_copy``
    (`_copy_construct`); other functions given a Tensor go through the ops they run."""
    def front(*args, **kwargs):
        if _base._DISPATCH[0] is None or _DISABLED[0] or not _MODES:
            return original(*args, **kwargs)
        if args and isinstance(args[0], Tensor):
            if name == "tensor":
                return _copy_construct(original, args, kwargs)
            return original(*args, **kwargs)
        requires_grad = bool(kwargs.pop("requires_grad", False))
        _DISABLED[0] += 1
        try:
            made = original(*args, **kwargs)
        finally:
            _DISABLED[0] -= 1
        out = _dispatch_function(_aten().lift_fresh.default, (made,), _lifted)
        if requires_grad and isinstance(out, Tensor):
            out.requires_grad_(True)
        return out
    return _fronts.named_as(front, original)


def _copy_construct(original, args, kwargs):
    """``tensor(t, dtype=, device=)`` as PyTorch dispatches it: ``aten.detach.default``
    of t, then ``aten._to_copy.default`` with the dtype and device (t's where not given);
    the copy warning is the caller's, as the function's own is."""
    import warnings
    from .._device import device as _device
    data, rest = args[0], args[1:]
    kwargs = dict(kwargs)
    requires_grad = bool(kwargs.pop("requires_grad", False))
    if rest or set(kwargs) - {"dtype", "device", "pin_memory"}:
        return original(*args, requires_grad=requires_grad, **kwargs)   # (its own error)
    warnings.warn("To copy construct from a tensor, it is recommended to use "
                  "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                  "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                  UserWarning, stacklevel=3)
    pin_memory = kwargs.pop("pin_memory", False)
    dtype, device = kwargs.get("dtype"), kwargs.get("device")

    def plain(t, dtype=None, device=None, **_):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # (warned above, once)
            return original(t, dtype=dtype, device=device, pin_memory=pin_memory)

    detached = data.detach()
    to_kwargs = {"dtype": data.dtype if dtype is None else dtype,
                 "device": data.device if device is None else _device(device)}
    out = _dispatch_function(_aten()._to_copy.default, (detached,), plain, to_kwargs)
    if requires_grad and isinstance(out, Tensor):
        out.requires_grad_(True)
    return out


def _lifted(t):
    return t


# range factories: overload by the number of range arguments given
_RANGES = {"arange": ("default", "start", "start_step"), "linspace": ("default",) * 3,
           "logspace": ("default",) * 3}
_RANGE_ARGS = {"arange": ("start", "end", "step"), "linspace": ("start", "end", "steps"),
               "logspace": ("start", "end", "steps", "base")}


def _range_front(name, original):
    """ember.arange / linspace / logspace dispatched as PyTorch's factory overloads
    (``aten.arange.start_step`` with the range arguments, then device and pin_memory)."""
    def front(*args, **kwargs):
        if kwargs.get("out") is not None:
            return _out_call(name, original, args, kwargs)
        if _base._DISPATCH[0] is None or _DISABLED[0] or not _MODES:
            return original(*args, **kwargs)
        from .._device import device as _device
        from .. import get_default_device
        kwargs = dict(kwargs)
        requires_grad = bool(kwargs.pop("requires_grad", False))
        positional = list(args)
        if name == "arange" and len(args) == 1 and "end" not in kwargs and \
                "start" not in kwargs:
            lead = positional
        else:
            lead = positional + [kwargs.pop(k) for k in _RANGE_ARGS[name][len(args):]
                                 if k in kwargs]
        if name == "arange" and len(lead) == 1 and "end" in kwargs:
            lead = [kwargs.pop("end")]
        overload = _RANGES[name][min(len(lead), 3) - 1] if lead else "default"
        tkwargs = {k: kwargs[k] for k in _FACTORY_KEYWORDS
                   if kwargs.get(k) is not None and k != "pin_memory"}
        tkwargs["device"] = _device(kwargs.get("device") or get_default_device())
        tkwargs["pin_memory"] = bool(kwargs.get("pin_memory", False))
        out = _dispatch_function(getattr(getattr(_aten(), name), overload), tuple(lead),
                                 _plain_factory(original), tkwargs)
        if requires_grad and isinstance(out, Tensor):
            out.requires_grad_(True)
        return out
    return _fronts.named_as(front, original)


def _plain_factory(original):
    def plain(*args, **kwargs):
        kwargs = dict(kwargs)
        kwargs.pop("pin_memory", None)
        return original(*args, **kwargs)
    return plain


def _out_front(name, original):
    """A public function with an ``out=`` keyword: called with an out tensor, dispatched as
    PyTorch's out overload (``aten.add.out``, ember/utils/_dispatch_out.py) with the
    arguments as given; the handler's ``func(*args, **kwargs)`` runs the function, whose
    own ops no handler sees again (PyTorch's out kernels run as one operator)."""
    def front(*args, **kwargs):
        if kwargs.get("out") is None:
            return original(*args, **kwargs)
        return _out_call(name, original, args, kwargs)
    return _fronts.named_as(front, original)


def _out_call(name, original, args, kwargs):
    from ._dispatch_out import out_overload, out_names
    out = kwargs["out"]
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    if _base._DISPATCH[0] is None or _DISABLED[0] or \
            (not _MODES and not _dispatch_types(args + outs)):
        return original(*args, **kwargs)
    packet, overload = out_overload(name, args, kwargs)
    names = out_names(overload, len(outs), packet) if isinstance(out, (tuple, list)) \
        else None
    plain = original
    if names is not None:   # (values, indices) outs are keywords of their own, as PyTorch's
        kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        kwargs.update(zip(names, outs))

        def plain(*args, **kw):
            kw = dict(kw)
            got = tuple(kw.pop(n) for n in names)
            return original(*args, out=got, **kw)
    made = []   # (the named tuple class the function returned, when the handler ran it)
    if isinstance(out, (tuple, list)):
        # the operator returns a plain tuple of the outs; the function PyTorch's named
        # tuple for out= calls (return_types.max_out)
        def tupled(*a, _plain=plain, **k):
            got = _plain(*a, **k)
            made.append(type(got))
            return tuple(got)
        plain = tupled
    result = _dispatch_function(getattr(getattr(_aten(), packet), overload), args, plain,
                                kwargs)
    named = made[0] if made and hasattr(made[0], "_fields") else \
        _return_types().__dict__.get(packet)
    if isinstance(out, (tuple, list)) and type(result) is tuple and \
            getattr(named, "_fields", None) is not None and len(named._fields) == len(result):
        from .._ops.reduction import out_return_type
        return out_return_type(named)(*result)
    return result


def _return_types():
    from .._ops.reduction import return_types
    return return_types


def _takes_out(f):
    import inspect
    try:
        return "out" in inspect.signature(f).parameters
    except (TypeError, ValueError):
        return False


def _install_made_fronts():
    """The fronts of `_lift_front`, `_range_front` and `_out_front` in the public
    namespaces (ember, linalg, special, fft): ember's own calls between its functions stay
    as they are (PyTorch's kernels do not dispatch the calls they make inside)."""
    import sys
    import types
    fronts = _FRONTS["made"]
    for prefix, module_name in (("", "ember"), ("linalg.", "ember.linalg"),
                                ("special.", "ember.special"), ("fft.", "ember.fft")):
        space = vars(sys.modules[module_name])
        for name in list(getattr(sys.modules[module_name], "__all__", ()) or space):
            value = space.get(name)
            if name.startswith("_") or type(value) is not types.FunctionType or \
                    _is_ours(value):
                continue
            if not prefix and name in ("tensor", "as_tensor", "asarray", "from_numpy"):
                make = lambda: _lift_front(value, name)   # noqa: E731
            elif not prefix and name in _RANGES:
                make = lambda: _range_front(name, value)   # noqa: E731
            elif _takes_out(value):
                make = lambda: _out_front(prefix + name, value)   # noqa: E731
            else:
                continue
            front = fronts.make(value, make)
            _LAID.append(_fronts.bind(space, name, front))
            if front is not value and \
                    getattr(sys.modules.get(front.__module__), front.__qualname__, None) \
                    is not front:
                # pickle finds a function by (module, qualname): ember.tensor's front is
                # bound in ember, not in ember._ops.creation where the function is defined
                # (ember.linalg.lu's, the function linalg_lu, under another name)
                front.__module__ = module_name
                if space.get(front.__qualname__) is not front:
                    front.__qualname__ = name


# the fronts, one per function bound (kept across lifts: laid again, a front is the same
# object), and the bindings laid (ember/_fronts.bind's records)
_FRONTS = {"inplace": _fronts.Fronts(_fronts.DISPATCH),
           "factory": _fronts.Fronts(_fronts.DISPATCH),
           "made": _fronts.Fronts(_fronts.DISPATCH)}
_LAID = []


def _lay(token=True):
    _install_inplace_fronts()
    _install_factory_fronts()
    _install_made_fronts()


def _lift():
    if not _LAID:
        return None
    _fronts.restore(_LAID)
    return True


# the __torch_dispatch__ layer of ember/_fronts.py: beneath the autocast entries, the
# __torch_function__ dispatcher and the profiler's wrappers, over the quantized fronts
_fronts.layer(_fronts.DISPATCH, _lift, _lay)
_fronts.beneath(_lay, _fronts.DISPATCH)
