"""Activation checkpointing (``torch.utils.checkpoint``): trade compute for memory.

``checkpoint(f, *args)`` returns ``f(*args)`` without keeping the intermediate tensors
that ``f``'s backward would read; backward runs ``f`` again, with gradients recorded,
and back-propagates through that recomputation. Memory held between forward and
backward drops from every activation inside ``f`` to ``f``'s inputs; compute grows by
one extra forward of ``f``.

Randomness: with ``preserve_rng_state=True`` (the default) the state of the default
generator is saved before the forward and restored for the recomputation, so dropout
draws the same mask twice. ember samples CUDA tensors from the same (CPU) generators
(see ember/_random.py), so that one state covers both devices. The autocast state of
the forward is re-entered for the recomputation too.

Two variants, as in PyTorch:

``use_reentrant=True``
    An ``autograd.Function``: forward runs ``f`` under no_grad; backward recomputes
    ``f`` on detached copies of the inputs and calls ``ember.autograd.backward`` on the
    recomputed outputs (a backward inside the backward, hence "reentrant"). Gradients
    reach the inputs through the Function and the parameters ``f`` reads through the
    inner backward (accumulated into ``.grad``). As in PyTorch: if no input requires
    grad the output does not either (a warning says so), keyword arguments are refused,
    and ``autograd.grad`` / ``backward(inputs=...)`` raise.

``use_reentrant=False``
    Forward runs ``f`` with grad recorded, on stand-ins of the inputs, then walks the
    recorded graph back to where it leaves ``f`` (the inputs, the parameters and any
    other tensor ``f`` read) and replaces the whole of it by one ``CheckpointBackward``
    node whose edges are those boundary points; the recorded graph and its saved
    tensors are dropped. Backward recomputes ``f`` and back-propagates from the
    recomputed outputs to the boundary points only (``autograd.grad``-style capture),
    handing the gradients to the boundary edges. So, as in PyTorch, parameters get
    gradients even when no input requires grad, keyword arguments and nested outputs
    work, ``autograd.grad`` and ``create_graph=True`` work. Where PyTorch keeps the
    outputs' own nodes (a ``MulBackward0``), ember's outputs hang off one
    ``CheckpointBackward`` node. The graph is recorded in full for the duration of the
    forward of ``f`` (PyTorch discards saved tensors as they are packed): peak memory
    inside one checkpointed segment is that of the segment without checkpointing.
"""
import contextlib
import warnings

from .. import _random
from .. import _autocast
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.graph import Node, accumulator_of, current, _seq, FREED_GRAPH
from ..autograd.engine import capturing_backward, run_backward

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction",
           "check_backward_validity", "detach_variable", "noop_context_fn",
           "set_checkpoint_early_stop", "set_checkpoint_debug_enabled",
           "create_selective_checkpoint_contexts", "CheckpointPolicy",
           "SelectiveCheckpointContext", "SAC_IGNORED_OPS", "get_device_states",
           "set_device_states", "DefaultDeviceType"]

# selective checkpointing (the context_fn that saves the ops a policy picks)
from ._selective_checkpoint import (CheckpointPolicy, SelectiveCheckpointContext,  # noqa: E402
                                    SAC_IGNORED_OPS, create_selective_checkpoint_contexts)

class CheckpointError(RuntimeError):
    """The recomputation did not reproduce the forward (other outputs, shapes or dtypes)."""


def noop_context_fn():
    """The default ``context_fn``: no context around the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


_EARLY_STOP = [True]
_DEBUG = [None]


@contextlib.contextmanager
def set_checkpoint_early_stop(enable):
    """Accepted for PyTorch compatibility. ember's recomputation always runs ``f`` to
    the end (it does not stop once the tensors backward needs are rebuilt)."""
    prev = _EARLY_STOP[0]
    _EARLY_STOP[0] = enable
    try:
        yield
    finally:
        _EARLY_STOP[0] = prev


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled):
    """Accepted for PyTorch compatibility; ember records no operator traces."""
    prev = _DEBUG[0]
    _DEBUG[0] = enabled
    try:
        yield
    finally:
        _DEBUG[0] = prev


def _is_tensor(x):
    from .._tensor import Tensor
    return isinstance(x, Tensor)


def detach_variable(inputs):
    """The tensors of tuple ``inputs`` detached, keeping their ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for inp in inputs:
        if _is_tensor(inp):
            x = inp.detach()
            x.requires_grad = inp.requires_grad
            inp = x
        out.append(inp)
    return tuple(out)


def check_backward_validity(inputs):
    if not any(_is_tensor(inp) and inp.requires_grad for inp in inputs):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)


class DefaultDeviceType:
    """The accelerator type whose generators set_device_states restores when none is named
    ('cuda' unless set)."""
    _default_device_type = "cuda"

    @staticmethod
    def set_device_type(device="cuda"):
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type():
        return DefaultDeviceType._default_device_type


def get_device_states(*args):
    """(device indices, generator states) of the accelerator tensors among `args` (nested
    containers too), as PyTorch's: reversible layers (RevNet, Reformer) save them beside
    the CPU state to replay their dropout in backward. CPU and meta tensors add nothing."""
    from ._pytree import tree_flatten
    tensors = [a for a in tree_flatten(args)[0] if hasattr(a, "get_device")
               and getattr(a, "device", None) is not None and a.device.type not in ("cpu", "meta")]
    ids = [t.get_device() for t in tensors]
    if not ids:
        return [], []
    kinds = [t.device.type for t in tensors]
    module = _device_module("cuda" if "cuda" in kinds else kinds[0])
    return ids, [module.get_rng_state(i) for i in ids]


def set_device_states(devices, states, *, device_type=None):
    """Put back generator states from get_device_states on those devices."""
    if device_type is None:
        device_type = DefaultDeviceType.get_device_type()
    if device_type == "meta":
        return
    module = _device_module(device_type)
    for device, state in zip(devices, states):
        module.set_rng_state(state, device)


def _device_module(device_type):
    import importlib
    return importlib.import_module("ember." + device_type)


class _ForwardState:
    """What the recomputation must reproduce of the forward's surroundings: the default
    generator's state (when preserved) and the autocast settings."""

    def __init__(self, preserve_rng_state):
        self.rng = _random.get_rng_state() if preserve_rng_state else None
        self.autocast = [(d, _autocast.is_autocast_enabled(d), _autocast.get_autocast_dtype(d))
                         for d in _autocast_devices()]

    @contextlib.contextmanager
    def restored(self):
        """Run the block in the forward's RNG and autocast state; the caller's RNG state
        is put back afterwards."""
        from ..amp import autocast
        with contextlib.ExitStack() as stack:
            if self.rng is not None:
                stack.enter_context(_random.fork_rng())
                _random.set_rng_state(self.rng)
            for device_type, enabled, dtype in self.autocast:
                stack.enter_context(autocast(device_type, dtype=dtype, enabled=enabled))
            yield


def _autocast_devices():
    from .. import cuda
    return ("cpu", "cuda") if cuda.is_available() else ("cpu",)


# ---------------------------------------------------------------------------------------
# use_reentrant=True


class CheckpointFunction(Function):
    """The reentrant variant: forward under no_grad, backward recomputes and runs an inner
    backward from the recomputed outputs."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.state = _ForwardState(preserve_rng_state)
        ctx.inputs = [None if _is_tensor(a) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if _is_tensor(a)]
        ctx.save_for_backward(*(a for a in args if _is_tensor(a)))
        return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        if capturing_backward():
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() "
                "or passing an `inputs` parameter to .backward(). To resolve this error, you "
                "can either set use_reentrant=False, or call .backward() without passing the "
                "`inputs` argument.")
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        with ctx.state.restored():
            detached = detach_variable(tuple(inputs))
            with grad_mode.enable_grad():
                outputs = ctx.run_function(*detached)
        if _is_tensor(outputs):
            outputs = (outputs,)
        roots, root_grads = [], []
        for out, g in zip(outputs, grads):
            if _is_tensor(out) and out.requires_grad:
                roots.append(out)
                root_grads.append(g)
        if not roots:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        from ..autograd import backward
        backward(roots, root_grads)
        return (None, None) + tuple(d.grad if _is_tensor(d) else None for d in detached)


# ---------------------------------------------------------------------------------------
# use_reentrant=False


class _InputStandIn(Node):
    """Where a checkpointed input's gradient is collected: ``f`` gets a tensor on the
    input's memory whose history is this node. It has no edge while the recomputation
    is differentiated, so that backward stops at the inputs (the input's own history is
    the outer engine's business: walking into it would count a gradient twice when the
    input and ``f`` share a parameter). After that, with create_graph=True, it becomes
    an identity with one edge to the real input, so the gradient graph leads back to
    it. A non-leaf, so ``f`` may modify it in place, as it may the real input."""
    _name = "CheckpointInput"

    def __init__(self, source):
        self.source = source
        self.next_functions = ()
        self._seq = -1

    def connect(self):
        self.next_functions = (_edge_of(self.source),)

    @staticmethod
    def backward(ctx, grad):
        return (grad,) if ctx.next_functions else ()


def _stand_in(x):
    """``x`` for the inside of ``f``: itself when it needs no gradient, else a tensor on
    the same memory (and version counter) whose history is an _InputStandIn."""
    from .._tensor import Tensor
    if not (_is_tensor(x) and x.requires_grad):
        return x
    t = Tensor._make(x._data, True)
    if x._vc is None:
        x._vc = [0]
    t._vc = x._vc
    t.grad_fn = _InputStandIn(x)
    t._output_nr = 0
    return t


def _edge_of(t):
    current(t)
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (accumulator_of(t), 0)


class CheckpointBackward(Node):
    """One node standing for a checkpointed ``f``. Its edges are the points where ``f``'s
    graph met the outside: the checkpointed inputs, then every other tensor ``f`` read
    (parameters, captured tensors). Backward recomputes ``f`` and returns the gradient
    reaching each of those points."""
    _name = "CheckpointBackward"
    materialize_grads = False

    def _release(self):
        if self.__dict__.get("_args") is not None:
            self._args = self._kwargs = None
            self._freed = True

    @staticmethod
    def backward(ctx, *grads):
        if ctx.__dict__.get("_args") is None:
            raise RuntimeError(FREED_GRAPH)
        args = [_stand_in(a) for a in ctx._args]
        kwargs = {k: _stand_in(v) for k, v in ctx._kwargs.items()}
        create_graph = grad_mode.is_grad_enabled()   # the engine enables grad for create_graph
        with ctx._state.restored(), ctx._recompute_ctx, grad_mode.enable_grad():
            outputs = ctx._function(*args, **kwargs)
        from ..func._pytree import tree_flatten
        leaves = [x for x in tree_flatten(outputs)[0] if _is_tensor(x)]
        _check_recomputed(ctx, leaves)
        capture = [(_input_at(p, args, kwargs).grad_fn, 0) if p[0] == "input" else p[1]
                   for p in ctx._points]
        roots, root_grads = [], []
        for k, g in zip(ctx._output_slots, grads):
            if g is not None:
                roots.append(leaves[k])
                root_grads.append(g)
        if not roots:
            return (None,) * len(capture)
        grads = run_backward(roots, root_grads, retain_graph=True, create_graph=create_graph,
                             capture=capture, accumulate=False)
        if create_graph:
            for a in list(args) + list(kwargs.values()):
                if _is_tensor(a) and type(a.grad_fn) is _InputStandIn:
                    a.grad_fn.connect()
        return tuple(grads)


def _input_at(point, args, kwargs):
    _, key = point
    return kwargs[key] if isinstance(key, str) else args[key]


def _check_recomputed(ctx, leaves):
    if ctx._determinism_check == "none":
        return
    now = [(tuple(t.shape), t.dtype, t.device) for t in leaves]
    if now != ctx._output_meta:
        raise CheckpointError(
            "ember.utils.checkpoint: the recomputed outputs of the checkpointed function "
            "differ from those of the forward pass (number, shapes, dtypes or devices).\n"
            f"forward: {_describe(ctx._output_meta)}\nrecomputed: {_describe(now)}")


def _describe(meta):
    return ", ".join(f"{list(s)} {d} {dev}" for s, d, dev in meta) or "no tensors"


def _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check,
                                  args, kwargs):
    if not grad_mode.is_grad_enabled():
        forward_ctx, _ = context_fn()
        with forward_ctx:
            return function(*args, **kwargs)
    state = _ForwardState(preserve)
    forward_ctx, recompute_ctx = context_fn()
    in_args = [_stand_in(a) for a in args]
    in_kwargs = {k: _stand_in(v) for k, v in kwargs.items()}
    marker = next(_seq)   # nodes numbered from here on were recorded by f
    with forward_ctx:
        outputs = function(*in_args, **in_kwargs)
    from ..func._pytree import tree_flatten, tree_unflatten   # (ember.func loads lazily)
    leaves, spec = tree_flatten(outputs)

    # where each stand-in came from: its position among the arguments
    origin = {}
    for i, s in enumerate(in_args):
        if s is not args[i]:
            origin[s.grad_fn] = ("input", i)
    for k, s in in_kwargs.items():
        if s is not kwargs[k]:
            origin[s.grad_fn] = ("input", k)

    inside = []   # (leaf index, tensor) of outputs recorded by f or stand-ins themselves
    for k, x in enumerate(leaves):
        if _is_tensor(x) and x.grad_fn is not None and (x.grad_fn._seq >= marker
                                                          or x.grad_fn in origin):
            inside.append((k, x))
    points = _boundary([x.grad_fn for _, x in inside], marker, origin)
    if not points:
        return outputs

    node = CheckpointBackward()
    node.next_functions = tuple(
        _edge_of(args[p[1]] if isinstance(p[1], int) else kwargs[p[1]]) if p[0] == "input"
        else p[1] for p in points)
    node._seq = next(_seq)
    node._num_outputs = len(inside)
    node._function = function
    node._args = tuple(args)
    node._kwargs = dict(kwargs)
    node._state = state
    node._recompute_ctx = recompute_ctx
    node._points = points
    node._determinism_check = determinism_check
    tensor_leaves = [x for x in leaves if _is_tensor(x)]
    node._output_meta = [(tuple(t.shape), t.dtype, t.device) for t in tensor_leaves]
    position = {id(t): n for n, t in enumerate(tensor_leaves)}
    node._output_slots = [position[id(x)] for _, x in inside]

    from .._tensor import Tensor
    new_leaves = list(leaves)
    for nr, (k, x) in enumerate(inside):
        if x.grad_fn in origin:   # f returned its input: PyTorch returns the input itself
            new_leaves[k] = _input_at(origin[x.grad_fn], args, kwargs)
            continue
        t = Tensor._make(x._data, True)
        t.grad_fn = node
        t._output_nr = nr
        new_leaves[k] = t
    return tree_unflatten(new_leaves, spec)


def _boundary(roots, marker, origin):
    """Walk f's recorded graph back from `roots` (its output nodes) to the edges that leave
    it: ("input", position) for a stand-in of an argument, ("edge", (node, nr)) for
    anything else f read. Returns the points (each once, in discovery order)."""
    points, index = [], set()
    seen = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node in origin:
            key = origin[node]
            if key not in index:
                index.add(key)
                points.append(key)
            continue
        for fn, nr in node.next_functions:
            if fn is None:
                continue
            if fn in origin or fn._seq >= marker:
                stack.append(fn)
            else:
                key = ("edge", (fn, nr))
                if key not in index:
                    index.add(key)
                    points.append(key)
    return points


# ---------------------------------------------------------------------------------------
# the public functions


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check="default", debug=False, early_stop=True, **kwargs):
    """``function(*args, **kwargs)``, recomputed in backward instead of storing its
    activations. See the module docstring for the two variants."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    if determinism_check not in ("default", "none"):
        raise ValueError("determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check,
                                         args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (a list or an ``nn.Sequential``) in ``segments`` chunks, all but
    the last checkpointed; returns the output of the last function."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
            "be passed explicitly. In version 2.9 we will raise an exception if use_reentrant "
            "is not passed. use_reentrant=False is recommended, but if you need to preserve "
            "the current default behavior, you can pass use_reentrant=True. Refer to docs for "
            "more details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    from ..nn import Sequential
    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
