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
"""
import contextlib
import threading
import weakref

import numpy as np

from .._tensor import Tensor, SUBCLASS_HOOKS
from .._torch_function import _disabled_torch_function_impl
from .._ops import _base
from .._ops.aten import overload_for, public_function, inplace_call
from ..autograd import grad_mode, anomaly
from ..autograd import graph as _graph
from ..autograd import engine as _engine
from ..autograd.graph import accumulator_of, save_tensor, _seq
from ._dispatch_schema_args import shown_params as _shown_params, params_back as _params_back
from . import _dispatch_schema_nn

__all__ = ["TorchDispatchMode", "_get_current_dispatch_mode",
           "_get_current_dispatch_mode_stack", "_pop_mode_temporarily",
           "_disable_current_modes", "is_traceable_wrapper_subclass",
           "return_and_correct_aliasing", "_len_torch_dispatch_stack"]

_GRAD = grad_mode.GRAD_ENABLED
_new_object = object.__new__
_make = Tensor._make
_ndarray = np.ndarray



class _ModeStack(threading.local):
    """The entered modes of the running thread, innermost last: PyTorch's mode stack is
    per thread (a mode entered in one thread does not see another thread's ops). It
    answers the list operations this module uses; `entered` counts the modes entered in
    all threads, which keeps the hook on while any thread has one."""
    entered = [0]

    def __init__(self):
        self.modes = []

    def __bool__(self):
        return bool(self.modes)

    def __len__(self):
        return len(self.modes)

    def __iter__(self):
        return iter(list(self.modes))

    def __contains__(self, mode):
        return mode in self.modes

    def __getitem__(self, index):
        return self.modes[index]

    def __setitem__(self, index, values):   # (only `stack[:0] = saved`: put back in front)
        before = len(self.modes)
        self.modes[index] = values
        self.entered[0] += len(self.modes) - before

    def append(self, mode):
        self.modes.append(mode)
        self.entered[0] += 1

    def pop(self):
        mode = self.modes.pop()
        self.entered[0] -= 1
        return mode

    def remove(self, mode):
        self.modes.remove(mode)
        self.entered[0] -= 1

    def clear(self):
        self.entered[0] -= len(self.modes)
        self.modes.clear()


_MODES = _ModeStack()   # the entered modes of the running thread, innermost last
_WRAPPERS = [0]      # wrapper-subclass instances alive
_PENDING = []        # the ops whose handlers are running, innermost last
_FUNCTION_PENDING = []   # likewise for functions without an op node (_dispatch_function)
_BACKWARD_NODES = []   # the nodes whose backward is running (while the hook is live)
_DISABLED = [0]      # no_dispatch blocks open: ops run without any handler
_LOCK = threading.RLock()   # (re-entered when a finalizer runs during a collection)


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


_ENGINE = {}


def _tracked_call_backward(node, grads, anomaly_on):
    if getattr(node, "save_output", False):
        _unpacking_outputs(node)
    _BACKWARD_NODES.append(node)
    try:
        name = getattr(type(node), "_op", type(node)).__qualname__
        fused = _FUSED_BACKWARDS.get(name)
        if fused is not None and len(grads) == 1 and grads[0] is not None and \
                not _GRAD[0]:   # (create_graph records the formula's own ops)
            return (_fused_backward(node, grads[0], *fused),)
        if name == "Conv" and len(grads) == 1 and grads[0] is not None and not _GRAD[0] \
                and not in_backward_of_another(node):
            out = _conv_backward(node, grads[0], anomaly_on)
            if out is not None:
                return out
        if name in _dispatch_schema_nn.POOL_BACKWARDS and grads and grads[0] is not None \
                and all(g is None for g in grads[1:]) and not _GRAD[0] and _MODES and \
                not in_backward_of_another(node):
            out = _pool_backward(node, grads, anomaly_on, name)
            if out is not None:
                return out
        return _ENGINE["_call_backward"](node, grads, anomaly_on)
    finally:
        _BACKWARD_NODES.pop()


# activations whose backward PyTorch runs as one ATen op of (grad, output, *extra):
# node class -> (packet, extra arguments)
_FUSED_BACKWARDS = {"ReluBackward0": ("threshold_backward", (0,)),
                    "SigmoidBackward0": ("sigmoid_backward", ()),
                    "TanhBackward0": ("tanh_backward", ())}


def _fused_backward(node, grad, packet, extra):
    """The node's input gradient as PyTorch computes it: one op the handlers see
    (``aten.threshold_backward`` for relu), run by its PyTorch-order function."""
    output = node.saved_tensors[-1]
    func = getattr(_aten(), packet).default
    return _dispatch_function(func, (grad, output) + extra, public_function(func))


def in_backward_of_another(node):
    """Whether a node's backward other than `node`'s is running (its formula's ops are
    that node's)."""
    return any(n is not node for n in _BACKWARD_NODES)


def _leaf_of(edge_node):
    return getattr(edge_node, "variable", None)


def _conv_backward(node, grad, anomaly_on):
    """A convolution's gradients as PyTorch computes them: one op the handlers see,
    ``aten.convolution_backward.default(grad, input, weight, bias_sizes, stride, padding,
    dilation, False, output_padding, groups, output_mask)`` returning (grad_input,
    grad_weight, grad_bias) (None where the mask says so); ember's formula runs below it.
    None when the node kept neither the input nor the weight a handler is shown (the
    formula's ops are dispatched as they are then)."""
    saved = node.saved_tensors
    nf = node.next_functions
    x = saved[0] if saved and saved[0] is not None else _leaf_of(nf[0][0])
    w = saved[1] if len(saved) > 1 and saved[1] is not None else _leaf_of(nf[1][0])
    cfg = getattr(node, "cfg", None)
    if x is None or w is None or cfg is None or not _MODES or _dispatch_types((grad, x, w)):
        return None   # (a wrapper's handler computes the formula's ops on its own tensors)
    stride, padding, dilation, groups = cfg
    meta = getattr(node, "_input_meta", None) or ()
    has_bias = len(meta) > 2 and meta[2] is not None
    mask = [fn is not None for fn, _ in nf][:3]
    mask += [False] * (3 - len(mask))
    args = (grad, x, w, [int(w.shape[0]) if has_bias else 0], [*stride], [*padding],
            [*dilation], False, [0] * len(stride), groups, mask)

    def formula(*a, **k):
        _DISABLED[0] += 1
        try:
            grads = _ENGINE["_call_backward"](node, (a[0],), anomaly_on)
        finally:
            _DISABLED[0] -= 1
        return tuple(grads) + (None,) * (3 - len(grads))

    out = _dispatch_function(_aten().convolution_backward.default, args, formula)
    return tuple(out)[:len(nf)]


def _pool_backward(node, grads, anomaly_on, name):
    """A pooling's input gradient as PyTorch computes it: one op the handlers see
    (``max_pool2d_with_indices_backward(grad, self, kernel_size, stride, padding,
    dilation, ceil_mode, indices)``, ``avg_pool2d_backward(...)``), with the arguments the
    forward showed; ember's formula runs below it. None when the forward was not
    dispatched (its arguments were not kept)."""
    call = _dispatch_schema_nn.POOL_BACKWARDS[name](node, grads[0])
    if call is None or _dispatch_types(call[1]):
        return None
    packet, args = call

    def formula(*a, **k):
        _DISABLED[0] += 1
        try:
            return _ENGINE["_call_backward"](node, (a[0],) + tuple(grads[1:]), anomaly_on)[0]
        finally:
            _DISABLED[0] -= 1

    out = _dispatch_function(getattr(_aten(), packet).default, args, formula)
    return (out,) + (None,) * (len(node.next_functions) - 1)


def _unpacking_outputs(node):
    """PyTorch's backward unpacks a saved output as a detached alias: handlers see a
    ``detach`` for each before the node's formula runs."""
    saved = node.__dict__.get("_saved")
    if not saved or not _MODES:
        return
    count = 1 if node.save_output is True else len(node.save_output)
    for entry in saved[-count:]:
        if type(entry) is tuple:   # (saved-tensor hooks' entries are left alone)
            t = _graph.unpack_saved(entry, node)
            _dispatch_function(_aten().detach.default, (t,), Tensor.detach)


def _install_engine_hook():
    if _engine._call_backward is not _tracked_call_backward:
        _ENGINE["_call_backward"] = _engine._call_backward
        _engine._call_backward = _tracked_call_backward


def _remove_engine_hook():
    # (only when it is still ours: a profiler started since keeps its own)
    if _engine._call_backward is _tracked_call_backward:
        _engine._call_backward = _ENGINE["_call_backward"]


def in_backward():
    """Whether a node's backward formula is running (meaningful while the hook is live)."""
    return bool(_BACKWARD_NODES)


def running_backward_node():
    """The node whose backward formula is running (the innermost), or None."""
    return _BACKWARD_NODES[-1] if _BACKWARD_NODES else None


def backward_node_named(names):
    """Whether the backward of a node of an op class named in `names` (__qualname__) is
    running: the ops of its formula belong to it."""
    return any(getattr(type(node), "_op", type(node)).__qualname__ in names
               for node in _BACKWARD_NODES)


def dispatched_op_name(func):
    """The ember op class name (__qualname__) of the op being dispatched as `func`, or
    None (a handler reads it to put ember's operands in PyTorch's order)."""
    for pending in reversed(_PENDING):
        if pending.func is func:
            return pending.cls._op.__qualname__
    return None


# --------------------------------------------------------------------------------------
# wrapper subclasses


def _default_torch_dispatch(cls, func, types, args=(), kwargs=None):
    """Tensor's own __torch_dispatch__: plain tensors take no part in the protocol."""
    return NotImplemented


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
for _hook in [h for h in SUBCLASS_HOOKS if getattr(h, "__name__", "") == "_load_on_dispatch_subclass"]:
    SUBCLASS_HOOKS.remove(_hook)   # the stand-in that loads this module (ember/utils/__init__.py)


def _overrides_dispatch(tp):
    handler = getattr(tp, "__torch_dispatch__", None)
    return getattr(handler, "__func__", None) is not _default_torch_dispatch


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


def _dispatch_types(inputs):
    """The classes of the operands that define __torch_dispatch__ (subclasses before
    their bases, otherwise in order of appearance)."""
    found = []
    for t in inputs:
        if t is not None and type(t) is not Tensor and isinstance(t, Tensor):
            tp = type(t)
            if tp not in found and _overrides_dispatch(tp):
                found.append(tp)
    if len(found) > 1:
        ordered = []
        for tp in found:
            at = next((i for i, o in enumerate(ordered) if issubclass(tp, o)), len(ordered))
            ordered.insert(at, tp)
        found = ordered
    return tuple(found)


# --------------------------------------------------------------------------------------
# dispatching an op


class _Pending:
    """An op whose handlers are running: what ``func(*args)`` inside them runs."""
    __slots__ = ("ctx", "cls", "func", "inputs", "arrays", "params", "args", "n", "shown",
                 "operands")

    def __init__(self, ctx, cls, func, inputs, arrays, params, args):
        self.ctx, self.cls, self.func = ctx, cls, func
        self.inputs, self.arrays, self.params, self.args = inputs, arrays, params, args
        self.n = len(arrays)   # (an op may pass non-array arguments among its arrays)


def _operand_args(inputs, arrays):
    """The handler's operand arguments: the Tensors; a number stays a number; an array
    operand without a Tensor (a constant an op's function made) becomes one."""
    args = []
    for i, a in enumerate(arrays):
        t = inputs[i] if i < len(inputs) else None
        if t is not None:
            args.append(t)
        elif isinstance(a, _ndarray) or type(a) in _base._ARRAY_TYPES:
            args.append(_make(a))
        else:
            args.append(a)
    return args


def _hook(cls, inputs, arrays, params, ctx=None):
    """apply's first step while the protocol is live: None when neither a mode nor a
    wrapper operand asks for the op, else the op's result as the handlers give it."""
    if _DISABLED[0]:
        return None
    types = _dispatch_types(inputs)
    if not _MODES and not types:
        return None
    if _base._DUAL[0] and any(t is not None and t._fw_tangent is not None for t in inputs):
        return None   # forward AD: apply computes the tangents (not through a handler)
    if ctx is None:
        ctx = _new_object(cls)
    func = overload_for(cls, inputs, arrays, params)
    shown = _shown_params(cls, func, inputs, arrays, params)
    extra, kwargs = (tuple(params), {}) if shown is None else shown[:2]
    operands = tuple(_operand_args(inputs, arrays))
    if shown is not None and shown.place is not None:   # (cat's list, layer norm's order)
        args = shown.place(operands, extra)
    else:
        args = operands + extra
    pending = _Pending(ctx, cls, func, inputs, arrays, params, args)
    pending.shown, pending.operands = shown, operands
    if shown is not None and cls._op.__qualname__ in _dispatch_schema_nn.POOL_BACKWARDS:
        ctx.__dict__["_dispatched_args"] = args   # (its backward shows them, as PyTorch's)
    grad = _GRAD[0]
    _GRAD[0] = False   # handlers run below autograd
    _PENDING.append(pending)
    try:
        out = _call_handlers(func, types, args, kwargs)
    finally:
        _PENDING.pop()
        _GRAD[0] = grad
    if shown is not None and shown.outs is not None and type(out) in (tuple, list):
        out = out[0]   # (PyTorch's op returns more, its statistics: ember's op the first)
    if grad and _base._recording(inputs):
        if not ctx.__dict__.get("_dispatch_ran"):
            # the handler made its result without running the op: run forward for what
            # backward reads from ctx
            _forward(ctx, cls, arrays, params)
        return _record_outputs(ctx, inputs, out)
    return out


def _call_handlers(func, types, args, kwargs):
    if _MODES:
        mode = _MODES.pop()
        try:
            out = mode.__torch_dispatch__(func, types, args, kwargs)
            if out is NotImplemented:   # the mode passes: the subclasses' handlers may answer
                out = _call_subclass_handlers(func, types, args, kwargs, mode)
        finally:
            _MODES.append(mode)
        return out
    return _call_subclass_handlers(func, types, args, kwargs)


def _call_subclass_handlers(func, types, args, kwargs, mode=None):
    for tp in types:
        out = tp.__torch_dispatch__(func, types, args, kwargs)
        if out is not NotImplemented:
            return out
    refused = [f"mode object {mode!r}"] if mode is not None else []
    refused += [f"tensor subclass {tp!r}" for tp in types]
    raise TypeError(f"Multiple dispatch failed for '{func}'; all __torch_dispatch__ handlers "
                    f"returned NotImplemented:\n\n" + "\n".join(f"  - {r}" for r in refused))


def call_overload(op, args, kwargs):
    """``op(*args, **kwargs)``: inside the handler of the op `op` names, with its
    arguments (or the tensors its wrappers hold), the op itself; anywhere else the ember
    function of PyTorch's operator."""
    fp = _FUNCTION_PENDING[-1] if _FUNCTION_PENDING else None
    if fp is not None and fp.func is op and (not _PENDING or _PENDING[-1].func is not op):
        return _dispatch_function(op, tuple(args), fp.plain, kwargs)
    pending = _PENDING[-1] if _PENDING else None
    if pending is not None and pending.func is op and _is_its_call(pending, args):
        kwargs = kwargs or {}
        shown = pending.shown
        if shown is not None and shown.split is not None:
            operands, rest = shown.split(args)
        else:
            operands, rest = args[:pending.n], args[pending.n:]
        if len(operands) == pending.n and \
                all(a is b or _same_value(a, b) for a, b in zip(operands, pending.operands)):
            inputs, arrays = pending.inputs, pending.arrays
        else:
            inputs, arrays = _rebuilt_operands(pending, operands)
        params = _params_back(pending, tuple(rest), kwargs)
        out = _run(pending, inputs, arrays, params)
        if shown is not None and shown.outs is not None:
            out = shown.outs(params, arrays, out)   # (native_layer_norm's mean, rstd ...)
        return out
    return public_function(op)(*args, **kwargs)


def ember_args(pending):
    """The arguments of a dispatched op in ember's order, its operands (as the handler was
    given them) then its parameters: what replays the op class itself (export's tracer)."""
    if pending.shown is None:
        return pending.args
    return tuple(pending.operands) + tuple(pending.params)


def _same_value(a, b):
    """Whether a non-Tensor operand a handler passed is the one it was given (a pooling's
    sizes come back from PyTorch's lists as tuples)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return False
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


def _is_its_call(pending, args):
    """Whether a handler's ``func(*args)`` calls the op being dispatched: the arguments it
    was given (as many), or, for an op whose arguments are shown in PyTorch's form, as many
    operands and any of the other arguments (read back into ember's parameters)."""
    if len(args) == len(pending.args):
        return True
    shown = pending.shown
    if shown is None:
        return False
    if shown.split is not None:
        try:
            return len(shown.split(args)[0]) == pending.n
        except (TypeError, IndexError, KeyError, ValueError):
            return False
    return len(args) >= pending.n


def _rebuilt_operands(pending, operands):
    """(inputs, arrays) for the operands a handler passed in place of the dispatched
    ones (a wrapper's inner tensors): each array cast to the dtype the op's function cast
    the original operand to, unless the handler gave it another dtype."""
    inputs, arrays = [], []
    for i, (a, original) in enumerate(zip(operands, pending.arrays)):
        dispatched = pending.inputs[i] if i < len(pending.inputs) else None
        if isinstance(a, Tensor):
            inputs.append(a)
            data = a._data
            dt = getattr(original, "dtype", None)
            if dt is not None and data.dtype != dt and dispatched is not None and \
                    data.dtype == dispatched._data.dtype:
                # (the op's function cast this operand; a dtype the handler chose is kept)
                data = data.astype(dt)
            shape = getattr(original, "shape", None)
            if shape is not None and data.shape != shape and data.size == original.size:
                data = data.reshape(shape)   # (an op's function passed a reshaped array)
            arrays.append(data)
        else:
            inputs.append(None)
            arrays.append(a)
    return tuple(inputs[:len(pending.inputs)]), tuple(arrays)


def _run(pending, inputs, arrays, params):
    """The op on these operands: the next handler if a mode or wrapper operand is left,
    else its forward (into the pending node, the first time)."""
    ctx = pending.ctx
    fresh = not ctx.__dict__.get("_dispatch_ran")
    if not _DISABLED[0] and (_MODES or _dispatch_types(inputs)):
        out = _hook(pending.cls, inputs, arrays, params, ctx if fresh else None)
        return out
    return _forward(ctx if fresh else _new_object(pending.cls), pending.cls, arrays, params)


def _forward(ctx, cls, arrays, params):
    """apply's forward step, into node `ctx`: the op's output Tensor(s), unrecorded."""
    if _base._DEVICE_CHECKS[0]:
        arrays = _base.on_one_device(ctx, arrays)
        if _base._NARROW_SEEN[0]:
            out = _base._narrow_dtypes.forward(cls, ctx, arrays, params)
        else:
            out = cls.forward(ctx, *arrays, *params)
        if ctx._on_meta:
            out = _base._as_meta(out)
    else:
        out = cls.forward(ctx, *arrays, *params)
    if cls.elementwise:
        out = _base._iter_layout(out, arrays)
    ctx._dispatch_ran = True
    if type(out) is tuple:
        return tuple(_make(_base._as_array(ctx, o)) for o in out)
    return _make(_base._as_array(ctx, out))


def _saved(t, is_output=False):
    """What backward reads for a saved operand or output: as the usual path saves it
    (graph.save_tensor: saved-tensor hooks run), but a wrapper as itself (it must come
    back as the same object, not as a plain tensor of its meta data), with its version
    for the in-place check."""
    if not is_wrapper(t):
        return save_tensor(t, is_output)
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    return (t, vc, vc[0])


def _record_outputs(ctx, inputs, out):
    """_base._record for outputs a handler made: link them to node ctx."""
    ctx.__dict__.pop("_dispatch_ran", None)
    multi = type(out) is tuple or type(out) is list
    results = tuple(out) if multi else (out,)
    if not all(isinstance(r, Tensor) for r in results):
        return out
    if any(r is t for r in results for t in inputs):
        # a handler answered with an operand itself: the node's output is a new alias of
        # it (linking the operand to the node would make it its own ancestor)
        results = tuple(_alias(r) if any(r is t for t in inputs) else r for r in results)
    edges, meta = [], []
    for t in inputs:
        if t is None:
            edges.append(_base._NO_EDGE)
            meta.append(None)
            continue
        if t._requires_grad:
            fn = t.grad_fn
            edges.append((fn, t._output_nr) if fn is not None else
                         (t._accumulator or accumulator_of(t), 0))
        else:
            edges.append(_base._NO_EDGE)
        meta.append((t._data.shape, t._data.dtype))
    nf = ctx.next_functions = tuple(edges)
    ctx._input_meta = meta
    ctx._seq = next(_seq)
    if anomaly._ENABLED[0]:
        anomaly.record_trace(ctx)
    nondiff = ctx.nondiff_outputs
    for i, r in enumerate(results):
        if i not in nondiff and r._data.dtype.kind in "fcV":
            r._requires_grad = True
            r.grad_fn = ctx
            if i:
                r._output_nr = i
    if multi:
        ctx._num_outputs = len(results)
        ctx._output_meta = [(r.shape, r.dtype, r.device) for r in results]
    if ctx.save_inputs or ctx.save_output:
        save = []
        need_by = ctx.save_needed_by
        for i in ctx.save_inputs:
            t = inputs[i]
            if t is not None and need_by is not None and \
                    all(nf[j][0] is None for j in need_by[i]):
                t = None   # no gradient that reads it is needed
            save.append(None if t is None else _saved(t))
        if ctx.save_output:
            for i in ((0,) if ctx.save_output is True else ctx.save_output):
                save.append(_saved(results[i], True))
                # PyTorch saves a detached alias of an output: handlers see the detach
                _dispatch_function(_aten().detach.default, (results[i],), Tensor.detach)
        ctx._saved = save
    return tuple(results) if multi else results[0]


def _alias(t):
    """A new tensor of t's class on t's data (and version counter), outside any graph."""
    a = _make.__func__(type(t), t._data)
    if t._vc is None:
        t._vc = [0]
    a._vc = t._vc
    if t._wrapper_device is not None:
        a.__dict__.update(t.__dict__)   # (a wrapper's attributes: the tensors it holds)
    return a


def _aten():
    from .._ops.aten import aten
    return aten


# --------------------------------------------------------------------------------------
# the backward engine's calls for wrapper tensors


def is_wrapper(t):
    """Whether `t` is an instance of a Tensor subclass that defines __torch_dispatch__."""
    return type(t) is not Tensor and isinstance(t, Tensor) and _overrides_dispatch(type(t))


def seed_like(out):
    """The backward seed ones_like(out) while the protocol is live: through the handlers
    as PyTorch's ``aten.ones_like`` (a wrapper output gets a wrapper seed)."""
    from .. import preserve_format
    return _dispatch_function(_aten().ones_like.default, (out,), _ones_like_plain,
                              {"pin_memory": False, "memory_format": preserve_format})


def accumulate(leaf, g):
    """The backward engine's first step of leaf.grad += g while the protocol is live:
    True when done here (a wrapper gradient: stored, or added, without writing into a
    wrapper's data), False when the engine goes on as usual. A leaf's first gradient is
    detached, as PyTorch's AccumulateGrad does: handlers see ``aten.detach``."""
    wrapper = is_wrapper(g)
    if leaf._grad is None:
        if not wrapper and not is_wrapper(leaf) and _breaks_layout(g, leaf):
            leaf._grad = _copied_by_layout(leaf, g)
            return True
        detached = _dispatch_function(_aten().detach.default, (g,), Tensor.detach)
        if wrapper:
            leaf._grad = detached
    elif wrapper:
        leaf._grad = leaf._grad + g
    return wrapper


def _breaks_layout(g, leaf):
    """Whether gradient g does not keep PyTorch's layout contract for a row-major leaf's
    .grad, which AccumulateGrad then copies: an expanded gradient (a sum's seed, viewed
    back), stride 0 on a dim of size > 1. (Other layouts of ember's gradient arrays are
    its own kernels', not PyTorch's: the engine relays them out without a handler.)"""
    gd, data = g._data, leaf._data
    return type(gd) is _ndarray and type(data) is _ndarray and data.flags.c_contiguous and \
        any(st == 0 and n > 1 for st, n in zip(gd.strides, gd.shape))


def _copied_by_layout(leaf, g):
    """A leaf's first gradient copied as PyTorch's AccumulateGrad copies one that breaks the
    layout contract: ``new_empty_strided`` with the leaf's sizes and strides, then
    ``copy_``, both seen by the handlers (their answer is the .grad)."""
    from .. import strided

    def new_empty_strided(t, size, stride, dtype=None, layout=None, device=None):
        from .._ops.creation import empty_strided
        return empty_strided(size, stride, dtype=dtype, device=device)

    def copy(dst, src):
        _DISABLED[0] += 1
        try:
            return dst.copy_(src)
        finally:
            _DISABLED[0] -= 1
    aten = _aten()
    fresh = _dispatch_function(aten.new_empty_strided.default,
                               (g, [*leaf.shape], [*leaf.stride()]), new_empty_strided,
                               {"dtype": g.dtype, "layout": strided, "device": g.device})
    return _dispatch_function(aten.copy_.default, (fresh, g), copy)


def dispatch_function(packet, overload, plain, args):
    """For an ember function that computes without an op node (comparisons,
    logical_not): its result through the mode or wrapper handlers as ``aten.<packet>.
    <overload>``, or None when none of them is concerned (the function then computes
    itself; `plain` is the function, called again on the arguments the handler passes)."""
    if _DISABLED[0] or (not _MODES and not _dispatch_types(args)):
        return None
    from .._ops.aten import aten
    return _dispatch_function(getattr(getattr(aten, packet), overload), tuple(args), plain)


def _ones_like_plain(x, pin_memory=False, memory_format=None, **kwargs):
    from .._ops.creation import ones_like
    return ones_like(x, memory_format=memory_format, **kwargs) if memory_format is not None \
        else ones_like(x, **kwargs)


def dispatch_nested(packet, overload, args, kwargs, plain):
    """An ember function that runs as several ops (the ``_foreach_`` ops of
    ember/_ops/foreach.py) while the protocol is live: the handlers see
    ``aten.<packet>.<overload>`` once, with the tensors of list arguments among its
    operands; ``func(*args)`` in a handler runs `plain` at the caller's grad mode (autograd
    records its ops as usual on plain tensors), and its own ops no handler sees. A wrapper
    operand that requires grad is not built (its graph would have to be made around the
    handler, as PyTorch's autograd does)."""
    tensors = list(_tensors_in(tuple(args) + tuple(kwargs.values())))
    types = _dispatch_types(tensors)
    if _DISABLED[0] or (not _MODES and not types) or \
            (_base._DUAL[0] and any(t._fw_tangent is not None for t in tensors)):
        return plain(*args, **kwargs)
    grad = _GRAD[0]
    if grad and types and any(t._requires_grad and is_wrapper(t) for t in tensors):
        raise NotImplementedError(
            f"{packet}: a multi-tensor op on a tensor subclass with __torch_dispatch__ that "
            f"requires grad is not built in ember (autograd would have to record it around "
            f"the handler); run it under no_grad")

    def below(*a, **k):
        prev = _GRAD[0]
        _GRAD[0] = grad
        _DISABLED[0] += 1
        try:
            return plain(*a, **k)
        finally:
            _DISABLED[0] -= 1
            _GRAD[0] = prev

    func = getattr(getattr(_aten(), packet), overload)
    return _dispatch_function(func, tuple(args), below, kwargs, types)


def _dispatch_function(func, args, plain, kwargs=None, types=None):
    """Dispatch `func` for an ember function without an op node: handlers see `func`;
    calling it with the args (or their wrapped tensors) runs `plain`."""
    kwargs = {} if kwargs is None else kwargs
    if types is None:
        types = _dispatch_types(args)
    if _DISABLED[0] or (not _MODES and not types):
        return plain(*args, **kwargs)
    pending = _FunctionPending(func, args, plain)
    grad = _GRAD[0]
    _GRAD[0] = False
    _FUNCTION_PENDING.append(pending)
    try:
        return _call_handlers(func, types, args, kwargs)
    finally:
        _FUNCTION_PENDING.pop()
        _GRAD[0] = grad


class _FunctionPending:
    """A function without an op node whose handlers are running (see _dispatch_function)."""
    __slots__ = ("func", "args", "plain")

    def __init__(self, func, args, plain):
        self.func, self.args, self.plain = func, args, plain




# --------------------------------------------------------------------------------------
# in-place methods

# ember computes an in-place op out of place and writes the result into self
# (ember/_ops/conversion.commit_inplace), so the op a handler would see is the out-of-place
# one. Each in-place Tensor method has a front (utils/_dispatch_fronts.py) that, while the
# protocol is live, calls `dispatch_inplace`: the call is dispatched as PyTorch's in-place
# overload (``aten.add_.Tensor`` with ``(self, other)``); calling that overload inside the
# handler runs the method itself, whose own ops no handler sees again.

def _tensors_in(values):
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif type(v) is list or type(v) is tuple:
            yield from (t for t in v if isinstance(t, Tensor))


def dispatch_inplace(method, original, self, args, kwargs):
    """``self.<method>(*args, **kwargs)`` while the protocol is live: through the handlers
    as PyTorch's in-place overload when a mode is on or an operand is a wrapper, else the
    method as usual. As PyTorch's in-place ops, it returns `self` whatever the handler
    returns, and bumps a wrapper's version (its inner tensor was written). The method runs
    at the bottom of the handlers with the caller's grad mode, so autograd records it as
    usual on plain tensors; a wrapper operand that requires grad is not built (its graph
    would have to be made around the handler, as PyTorch's autograd does)."""
    tensors = list(_tensors_in((self,) + tuple(args) + tuple(kwargs.values())))
    types = _dispatch_types(tensors)
    if not _MODES and not types:
        return original(self, *args, **kwargs)
    if _base._DUAL[0] and any(t._fw_tangent is not None for t in tensors):
        return original(self, *args, **kwargs)   # (forward AD: as _hook does)
    grad = _GRAD[0]
    if grad and types and any(t._requires_grad and is_wrapper(t) for t in tensors):
        raise NotImplementedError(
            f"{method}: an in-place op on a tensor subclass with __torch_dispatch__ that "
            f"requires grad is not built in ember (autograd would have to record it around "
            f"the handler); run it out of place, or under no_grad")
    func, targs, tkwargs = inplace_call(method, self, args, kwargs)

    def plain(*a, **k):
        # the method on the operands the handler passes, recorded by autograd as the
        # caller's grad mode says; the ops it runs are this one op to the handlers
        prev = _GRAD[0]
        _GRAD[0] = grad
        _DISABLED[0] += 1
        try:
            return original(*a, **k)
        finally:
            _DISABLED[0] -= 1
            _GRAD[0] = prev

    _dispatch_function(func, targs, plain, tkwargs)
    if is_wrapper(self):
        self._bump_version()
    return self


# the fronts of in-place methods, factories, item(), tensors made from data, ranges and
# out= calls: laid on load, as the __torch_dispatch__ layer of ember/_fronts.py
from . import _dispatch_fronts  # noqa: E402,F401
