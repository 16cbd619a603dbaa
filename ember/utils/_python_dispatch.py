"""The __torch_dispatch__ protocol (``torch.utils._python_dispatch``).

PyTorch calls ``__torch_dispatch__(func, types, args, kwargs)`` for every ATen operator
that runs while a ``TorchDispatchMode`` is entered, or that has an operand of a Tensor
subclass defining ``__torch_dispatch__`` (the "wrapper subclass" of
``Tensor._make_wrapper_subclass``). `func` is the operator's overload
(``aten.mm.default``, ember/_ops/aten.py); the call comes *below* autograd: forward ops
and, when backward runs inside the mode, the ops of the backward formulas, each once, with
grad mode off inside the handler; the graph is recorded around the handler's result.

ember has no dispatcher: every op runs through ``_ops._base.apply``. While a mode is
entered or a wrapper subclass instance is alive, ``_base._DISPATCH[0]`` holds `_hook`,
which apply calls first (one check of a module global otherwise, as the profiler's). For an
op to dispatch, the hook

1. makes the op's node (ctx) and its overload, and the handler's arguments: the op's
   operands (Tensors; a Python number stays a number) and its parameters in PyTorch's
   schema form where one is written (utils/_dispatch_schema_args.py and
   _dispatch_schema_nn.py: ``sum.dim_IntList(x, [0])``, ``convolution(x, w, b, [1, 1],
   ...)``, ``cat([a, b], 1)``, ``native_layer_norm(x, [6], w, b, eps)`` returning its
   statistics too), else ember's parameters after the operands (its forward's non-array
   arguments, in ember's order);
2. runs the innermost mode's ``__torch_dispatch__`` with that mode taken off the stack
   (ops inside see the modes below it), or, with no mode, the subclasses' (subclasses
   before their bases, then left to right) until one answers other than NotImplemented;
3. when autograd records the op, links the handler's result (Tensors, wrappers included)
   to the node, as PyTorch's autograd wraps the result of the dispatch below it.

Inside a handler, ``func(*args)``, with the arguments received or with subclass
operands replaced by the tensors they wrap, runs the op: through the next mode or
subclass if one is left, else its forward, into the node of step 1 (so that its backward
finds what forward kept on ctx). Calling an overload anywhere else runs the op with
PyTorch's argument order (aten.public_function).

Backward inside a mode or on wrappers runs its formulas as ops (grad_mode.DISPATCH_ON
turns the array fast paths off) and tracks the node whose formula runs
(`running_backward_node`: ConvInputGrad's and Matmul's names read it). As PyTorch's
engine does, the backward seed is ``aten.ones_like``, a saved output is detached when saved
and when unpacked, and a leaf's first gradient is detached (autograd/__init__._make_grads,
engine._accumulate and the engine hook call `seed_like`, `accumulate` and
`_unpacking_outputs`); a wrapper gradient is added out of place (PyTorch adds in place).
Comparisons, ``logical_not`` and ``detach``, which ember computes without an op node,
dispatch through `dispatch_function`.
The ``_foreach_`` ops, which ember runs as one op per tensor, dispatch once as PyTorch's
multi-tensor overload (``aten._foreach_add.List`` with lists of tensors) through
`dispatch_nested`.

In-place Tensor methods dispatch as PyTorch's in-place overloads (``x.add_(1)`` is
``aten.add_.Tensor`` with ``(x, 1)``, see `dispatch_inplace`) and write into a wrapper's
inner tensor through its handler; they return self, as PyTorch's.

A public function called with ``out=`` dispatches as PyTorch's out overload
(``aten.add.out``, ``aten.sum.IntList_out``, ``aten.max.dim_max`` with the outs as
``max=``/``max_values=``: utils/_dispatch_out.py), with the arguments as the program gave
them (PyTorch's schema normalizes them: ``sum(x, 0)`` shows ``[0]``); range factories as
``aten.arange.start_step``, ``aten.linspace.default`` ...; a tensor made from Python data
or an ndarray (``tensor``, ``as_tensor``, ``asarray``, ``from_numpy``) as
``aten.lift_fresh.default``; printing dispatches nothing, as PyTorch's. These calls make
no op node: they reach the handlers through fronts (utils/_dispatch_fronts.py).

Not built: an in-place op on a wrapper operand that requires grad (NotImplementedError);
indexing assignment dispatches as ember's ``index_put`` (PyTorch: ``select`` then
``fill_``/``copy_``); factories, ``.item()`` and ``.numpy()`` (as ``detach``) dispatch
(see _dispatch_fronts._FACTORIES), other functions ember runs without an op node do not, and on a
wrapper they see its meta data, as do op functions that compute from an operand's data before making the node
(training-mode batch norm's statistics); ops inside ``autograd.Function.forward``
dispatch, but the Function's own backward is not an op; forward-mode AD tangents are not
carried through a handler (an op with a tangent operand is not dispatched). The mode
stack is per thread, as PyTorch's; the bookkeeping of running handlers is not (two
threads dispatching at once are not supported).

The protocol's modules, each importing only those before it: _dispatch_state (the mode
stack, the running handlers and backward nodes, which operands take part),
_dispatch_schema_args/_nn (the arguments in PyTorch's schema form), _dispatch_core
(dispatching an op or a function without a node), _dispatch_backward (the backward
engine's calls), this module (the modes, wrapper subclasses, switching the hook on and
off; it re-exports the names ember's other layers call) and _dispatch_fronts (laid last).
"""
import contextlib
import weakref

from .._tensor import Tensor, SUBCLASS_HOOKS
from .._torch_function import _disabled_torch_function_impl
from .._ops import _base
from ..autograd import grad_mode
from ._dispatch_state import (_ModeStack, _MODES, _WRAPPERS, _PENDING,  # noqa: F401
                              _FUNCTION_PENDING, _BACKWARD_NODES, _DISABLED, _LOCK,
                              _default_torch_dispatch, _overrides_dispatch, _dispatch_types,
                              is_wrapper, in_backward, running_backward_node,
                              backward_node_named, dispatched_op_name)
from ._dispatch_core import (_hook, call_overload, ember_args, dispatch_function,  # noqa: F401
                             dispatch_nested, dispatch_inplace, _dispatch_function, _aten)
from ._dispatch_backward import (_install_engine_hook, _remove_engine_hook,  # noqa: F401
                                 _FUSED_BACKWARDS, seed_like, accumulate)

__all__ = ["TorchDispatchMode", "_get_current_dispatch_mode",
           "_get_current_dispatch_mode_stack", "_pop_mode_temporarily",
           "_disable_current_modes", "is_traceable_wrapper_subclass",
           "return_and_correct_aliasing", "_len_torch_dispatch_stack"]

_make = Tensor._make


# --------------------------------------------------------------------------------------
# modes


class TorchDispatchMode:
    """A context manager whose ``__torch_dispatch__(func, types, args=(), kwargs=None)``
    sees every op run inside it (``torch.utils._python_dispatch.TorchDispatchMode``).

        class Log(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                print(func)                       # aten.mm.default ...
                return func(*args, **(kwargs or {}))

    Modes nest; the innermost one runs first, taken off the stack while its handler runs.
    """

    def __init__(self, _dispatch_key=None):
        pass

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError(f"{type(self).__name__} does not define __torch_dispatch__")

    def __enter__(self):
        _push_mode(self)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        _pop_mode(self)
        return False

    @classmethod
    def push(cls, *args, **kwargs):
        return cls(*args, **kwargs)

    @classmethod
    def is_infra_mode(cls):
        return False


def _push_mode(mode):
    _MODES.append(mode)
    _update_live()


def _pop_mode(mode=None):
    if not _MODES:
        raise RuntimeError("Trying to pop from an empty TorchDispatchMode stack")
    if mode is not None and _MODES[-1] is not mode:
        if mode not in _MODES:
            raise RuntimeError(f"{type(mode).__name__} is not on the dispatch mode stack")
        _MODES.remove(mode)
    else:
        mode = _MODES.pop()
    _update_live()
    return mode


def _get_current_dispatch_mode():
    """The innermost entered mode, or None."""
    return _MODES[-1] if _MODES else None


def _get_current_dispatch_mode_stack():
    return list(_MODES)


def _len_torch_dispatch_stack():
    return len(_MODES)


@contextlib.contextmanager
def _pop_mode_temporarily(k=None):
    """Take the innermost mode off the stack for the block (ops inside skip it)."""
    mode = _pop_mode()
    try:
        yield mode
    finally:
        _push_mode(mode)


@contextlib.contextmanager
def _disable_current_modes():
    """No mode sees the ops of the block; yields the modes taken off."""
    saved = list(_MODES)
    _MODES.clear()
    _update_live()
    try:
        yield saved
    finally:
        _MODES[:0] = saved
        _update_live()


class _DisableTorchDispatch:
    """Context manager: no mode or subclass handler sees the ops run inside it
    (``torch._C._DisableTorchDispatch``, ``torch.utils._mode_utils.no_dispatch``): a
    handler of a subclass that holds its own data runs ``func`` inside it."""

    def __enter__(self):
        _DISABLED[0] += 1
        return self

    def __exit__(self, *exc):
        _DISABLED[0] -= 1
        return False


def no_dispatch():
    return _DisableTorchDispatch()


def is_traceable_wrapper_subclass(t):
    """Whether `t` is a wrapper subclass that can be flattened (__tensor_flatten__)."""
    return isinstance(t, Tensor) and type(t) is not Tensor and \
        hasattr(t, "__tensor_flatten__") and hasattr(t, "__tensor_unflatten__")


def return_and_correct_aliasing(func, args, kwargs, out):
    """PyTorch fixes up the aliasing of a wrapper's view ops here; ember's views are made
    around the dispatch (the op's function sets them up), so `out` is right as it is."""
    return out


# --------------------------------------------------------------------------------------
# switching the hook on and off


def _update_live():
    live = _ModeStack.entered[0] > 0 or _WRAPPERS[0] > 0
    if live and _base._DISPATCH[0] is None:
        _base._DISPATCH[0] = _hook
        grad_mode.DISPATCH_ON[0] = True
        _install_engine_hook()
    elif not live and _base._DISPATCH[0] is not None:
        _base._DISPATCH[0] = None
        grad_mode.DISPATCH_ON[0] = False
        _remove_engine_hook()


# --------------------------------------------------------------------------------------
# wrapper subclasses


Tensor.__torch_dispatch__ = classmethod(_default_torch_dispatch)


def _on_subclass(cls):
    """A subclass defining __torch_dispatch__ with Tensor's default __torch_function__
    gets the disabled one, as PyTorch skips it for such classes: its handler decides
    what the results are (the default would make every result an instance of cls)."""
    if _overrides_dispatch(cls):
        default = Tensor.__dict__["__torch_function__"]
        if getattr(cls.__torch_function__, "__func__", None) is \
                getattr(default, "__func__", default):
            cls.__torch_function__ = _disabled_torch_function_impl


SUBCLASS_HOOKS.insert(0, _on_subclass)   # (before the protocol's own hook looks at it)
for _h in [h for h in SUBCLASS_HOOKS if getattr(h, "__name__", "") == "_load_on_dispatch_subclass"]:
    SUBCLASS_HOOKS.remove(_h)   # the stand-in that loads this module (ember/utils/__init__.py)


def _wrapper_died():
    with _LOCK:
        _WRAPPERS[0] -= 1
        if _WRAPPERS[0] == 0:
            _update_live()


def _make_wrapper_subclass(cls, size, strides=None, storage_offset=None, memory_format=None,
                           dtype=None, layout=None, device=None, pin_memory=False,
                           requires_grad=False, dispatch_sizes_strides_policy=None,
                           dispatch_device=False, dispatch_layout=False,
                           _extra_dispatch_keys=None, storage_size=None):
    """A `cls` instance with the given size, dtype and device that holds no data
    (``torch.Tensor._make_wrapper_subclass``): its ops go to cls.__torch_dispatch__,
    which computes them on the tensors the instance wraps. ember keeps a meta array of
    the size and dtype as its data (so that shapes and dtypes check and promote as
    usual); `strides` are not kept (the meta array is row-major)."""
    from .._backend.meta_backend import empty
    from .. import _dtype
    from .._device import device as _device
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"_make_wrapper_subclass: expected a Tensor subclass, got {cls!r}")
    dt = _dtype.get_default_dtype() if dtype is None else dtype
    data = empty(tuple(int(s) for s in size), dt.np)
    t = _make.__func__(cls, data, bool(requires_grad))
    t._wrapper_device = _device("cpu") if device is None else _device(device)
    _count_live(t)
    return t


def _count_live(t):
    """Keep the hook on while `t` (an instance whose ops its class dispatches) lives."""
    with _LOCK:
        _WRAPPERS[0] += 1
        if _WRAPPERS[0] == 1:
            _update_live()
    weakref.finalize(t, _wrapper_died)


def _make_subclass(cls, data, require_grad=False, dispatch_strides=False,
                   dispatch_device=False, dispatch_layout=False, _extra_dispatch_keys=None,
                   storage_size=None):
    """A `cls` instance sharing `data`'s memory, outside its graph
    (``torch.Tensor._make_subclass``); when cls defines __torch_dispatch__, its ops go
    there (the handler runs on the instance's own data)."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"_make_subclass: expected a Tensor subclass, got {cls!r}")
    if not isinstance(data, Tensor):
        raise TypeError(f"_make_subclass: data must be a Tensor, not {type(data).__name__}")
    t = _make.__func__(cls, data._data, bool(require_grad))
    if data._vc is None:
        data._vc = [0]
    t._vc = data._vc
    if _overrides_dispatch(cls):
        _count_live(t)
    return t


Tensor._make_wrapper_subclass = staticmethod(_make_wrapper_subclass)
Tensor._make_subclass = staticmethod(_make_subclass)


# the fronts of in-place methods, factories, item(), tensors made from data, ranges and
# out= calls: laid on load, as the __torch_dispatch__ layer of ember/_fronts.py
from . import _dispatch_fronts  # noqa: E402,F401
