"""The autograd graph: Node (one recorded op), AccumulateGrad, saved tensors, a view's
history, and torch.autograd.graph's public helpers. The backward engine that walks it is
engine.py.
"""
import itertools
import re
import warnings
import weakref

from . import grad_mode
from . import saved_hooks as _saved_hooks
from .saved_hooks import SAVED_HOOKS as _SAVED_HOOKS, HookedSave as _HookedSave

_seq = itertools.count()

# the error for reading a node's saved tensors after backward freed them
FREED_GRAPH = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


class RemovableHandle:
    """Returned by register_hook; `remove()` unregisters the hook."""
    _ids = itertools.count()

    def __init__(self, hooks_dict):
        self.hooks_dict = hooks_dict  # plain dicts cannot be weakly referenced
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self.hooks_dict.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _NodeName:
    """``Node._name``: PyTorch's name of a node ("MulBackward0",
    "torch::autograd::CopySlices"), None for a node named by its class alone. It is the
    class's: setting it in forward (``ctx._name = "SumBackward1"``) moves the node to the
    class of that name; a recorded node is renamed by `rename`, which moves its edges
    too."""

    def __get__(self, node, cls):
        return cls._torch_name

    def __set__(self, node, name):
        # (forward, before the node is recorded: its class alone changes)
        node.__class__ = named_class(type(node)._op, name)


class Node:
    """One recorded operation; its `backward` maps output gradients to input gradients.

    Subclasses (built-in ops in ember._ops and user autograd.Functions) define
    `forward` and `backward`. `next_functions` holds one (node, output_nr) edge per
    input of PyTorch's node: (None, 0) for a tensor input that needs no gradient (or an
    optional one not given). An op may take operands that PyTorch's node has no edge for
    (a Python number for a Scalar argument, `x ** 2`; a mask that is never
    differentiable): its class's ``edge_operands`` maps each of its node names to the
    positions of the operands that are edges (see `_edge_positions_of`).

    Names: a node's class carries PyTorch's name, ``type(grad_fn).__name__`` is
    "MulBackward0" (without a "torch::autograd::" prefix), as in PyTorch, while
    ``__qualname__`` keeps the Python name of the op's class ("Mul"). An op class sets
    its usual node name in its body (``_name = "SumBackward0"``: `__init_subclass__`
    names the class by it, no cost per call). A node of another of the op's overloads
    is renamed (``ctx._name = "SumBackward1"`` in forward, or `rename` once recorded),
    which moves it to a subclass of its op named so (`named_class`, made once).
    """
    _name = _NodeName()
    _torch_name = None
    # {node name: positions of the operands that are edges of PyTorch's node}; a name not
    # listed has an edge per operand
    edge_operands = {}
    # of this class's node name (set by __init_subclass__ / named_class); None: all
    _edge_positions = None
    # a recorded node of a class with _edge_positions: the edges of all its operands, of
    # which its next_functions property shows those positions (see _edge_positions_of).
    # (No class default for next_functions itself: CPython 3.11 specializes the reads of
    # an instance attribute only when its class has no attribute of that name.)
    _operand_edges = None
    # outputs whose gradient is never needed (indices of max, ...)
    nondiff_outputs = ()
    materialize_grads = True

    def __init_subclass__(cls, **kwargs):
        """Name the class as PyTorch names its nodes (the `_name` its body sets, or its
        base's); `_op` is the op class itself (a subclass made by named_class points to
        its op instead)."""
        super().__init_subclass__(**kwargs)
        if "_op" in cls.__dict__:   # made by named_class, which sets it all
            return
        if "_name" in cls.__dict__:   # the body's name: kept where _NodeName reads it
            cls._torch_name = cls.__dict__["_name"]
            del cls._name
        cls._op = cls
        cls._variants = {}
        name = cls._torch_name
        if name:
            cls.__name__ = name.rsplit("::", 1)[-1]
        _edge_positions_of(cls, name)

    def name(self):
        return type(self)._torch_name or type(self).__name__

    def __repr__(self):
        # engine nodes are named "torch::autograd::X" by name() but print as X, like PyTorch's
        return f"<{self.name().rsplit('::', 1)[-1]} object at {hex(id(self))}>"

    def __call__(self, *grads):
        return self.backward(self, *grads)

    # --- recorded state -------------------------------------------------------
    def _names_of_saved(self):
        """The names PyTorch gives the tensors this node saved, in the order of `_saved`:
        the op's inputs by position (`input_names`: "self", "other" by default) for those
        in `save_inputs`, then "result" for a saved output."""
        cls = type(self)
        save_inputs = getattr(cls, "save_inputs", None)
        if save_inputs is None:   # an autograd.Function: PyTorch names none either
            return ()
        inputs = getattr(cls, "input_names", None)
        if inputs is None:
            n = len(self.__dict__.get("_input_meta") or ())
            inputs = ("self", "other") if n == 2 else ("self",) if n == 1 else ()
        names = [inputs[i] if i < len(inputs) else None for i in save_inputs]
        out = getattr(self, "save_output", False)   # (an op may decide per call)
        if out is True:
            names.append("result")
        elif out:
            names.extend(f"result{i}" for i in out)
        return names

    def __getattr__(self, name):
        # only reached for attributes not found the usual way: grad_fn._saved_self, ...
        if name.startswith("_saved_"):
            names = self._names_of_saved()
            if name[7:] in names:
                saved = self.__dict__.get("_saved")
                if saved is None:
                    if self.__dict__.get("_freed"):
                        raise RuntimeError(FREED_GRAPH)
                    return None
                k = names.index(name[7:])
                entry = saved[k]
                if entry is not None:
                    return unpack_saved(entry, self)
                # an operand given as a Python number: PyTorch shows the number itself for
                # a Scalar argument (x ** 2), else the 0-dim "wrapped number" tensor (x * 2:
                # int64, float64, complex128 or bool)
                scalars = self.__dict__.get("scalars")
                save_inputs = type(self).save_inputs
                if scalars is None or k >= len(save_inputs) or save_inputs[k] >= len(scalars) \
                        or scalars[save_inputs[k]] is None:
                    return None
                value = scalars[save_inputs[k]]
                if getattr(type(self), "scalar_arguments", False):
                    return value
                from .._ops.creation import tensor
                from .. import _dtype
                kind = (_dtype.bool if isinstance(value, bool) else _dtype.int64
                        if isinstance(value, int) else _dtype.complex128
                        if isinstance(value, complex) else _dtype.float64)
                return tensor(value, dtype=kind)
        raise AttributeError(f"'{self.name().rsplit('::', 1)[-1]}' object has no attribute "
                             f"'{name}'")

    def __dir__(self):
        return sorted(set(super().__dir__()) | {"_saved_" + n for n in self._names_of_saved()
                                                if n is not None})

    @property
    def saved_tensors(self):
        saved = self.__dict__.get("_saved")
        if saved is None:
            if self.__dict__.get("_freed"):
                raise RuntimeError(FREED_GRAPH)
            return ()
        return tuple([unpack_saved(s, self) if s is not None else None for s in saved])

    @property
    def needs_input_grad(self):
        """One flag per operand of the op (by position, as backward reads them)."""
        return tuple([fn is not None for fn, _ in self.next_functions])

    @property
    def metadata(self):
        md = self.__dict__.get("_metadata")
        if md is None:
            md = self._metadata = {}
        return md

    def _release(self):
        if self.__dict__.get("_saved") is not None:
            self._saved = None
            self._freed = True

    # --- hooks ----------------------------------------------------------------
    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) -> new grad_inputs or None, run after backward."""
        hooks = self.__dict__.setdefault("_post_hooks", {})
        h = RemovableHandle(hooks)
        hooks[h.id] = fn
        return h

    def register_prehook(self, fn):
        """fn(grad_outputs) -> new grad_outputs or None, run before backward."""
        hooks = self.__dict__.setdefault("_pre_hooks", {})
        h = RemovableHandle(hooks)
        hooks[h.id] = fn
        return h

    def _register_tensor_hook(self, output_nr, fn):
        per_output = self.__dict__.setdefault("_tensor_hooks", {})
        hooks = per_output.setdefault(output_nr, {})
        h = RemovableHandle(hooks)
        hooks[h.id] = fn
        return h


Node._op = Node
Node._variants = {}


def _needs_operand_grad(node):
    return tuple([fn is not None for fn, _ in node._operand_edges])


def _edges_at_positions(node):
    edges = node._operand_edges
    return None if edges is None else tuple(edges[p] for p in node._edge_positions)


def _all_operand_edges(node):
    return node._operand_edges


def _set_operand_edges(node, edges):
    node._operand_edges = edges


def _edge_positions_of(cls, name):
    """Set node class `cls`'s _edge_positions for its node name. A class whose node has
    edges for some operands only keeps the edges of all of them (recording, the
    engine's gradients and needs_input_grad go by operand) and shows PyTorch's through
    a next_functions property: nothing changes for the other classes (but a subclass of
    such a class, which shows all its edges through the same kind of property)."""
    pos = cls._edge_positions = cls.edge_operands.get(name)
    if pos is not None:
        cls.next_functions = property(_edges_at_positions, _set_operand_edges)
    elif isinstance(getattr(cls, "next_functions", None), property):
        cls.next_functions = property(_all_operand_edges, _set_operand_edges)
    else:
        return
    cls.needs_input_grad = property(_needs_operand_grad, doc=Node.needs_input_grad.__doc__)


def named_class(op, name):
    """The node class of op class `op` for PyTorch node name `name`: `op` itself for its
    usual name, else a subclass of it named so (made once, then cached)."""
    cls = op._variants.get(name)
    if cls is None:
        if op._torch_name == name or name is None:   # (None: the op's own name)
            cls = op
        else:
            cls = type(op)(name.rsplit("::", 1)[-1], (op,), {
                "_op": op, "_torch_name": name, "__qualname__": op.__qualname__,
                "__module__": op.__module__, "__doc__": op.__doc__})
            _edge_positions_of(cls, name)
        op._variants[name] = cls
    return cls


def rename(node, name):
    """Give recorded node `node` PyTorch's node name `name`: its class becomes
    named_class's, and its operands' edges are set again (the new name may have edges
    for other operands)."""
    cls = type(node)
    if cls._torch_name == name:
        return
    edges = operand_edges(node)
    node.__class__ = named_class(cls._op, name)
    node.next_functions = edges


def operand_edges(node):
    """One edge per operand of recorded node `node` (next_functions, unless PyTorch's
    node has fewer)."""
    edges = node._operand_edges
    return node.next_functions if edges is None else edges


class AccumulateGrad(Node):
    """The node at a leaf tensor that requires grad: adds incoming gradients into `.grad`."""
    _name = "torch::autograd::AccumulateGrad"
    next_functions = ()
    _seq = -1

    def __init__(self, variable):
        # as PyTorch's: the node holds its leaf (a graph keeps the leaves it reaches alive,
        # and `.variable` is the leaf while the node lives), and the leaf refers to its node
        # weakly (Tensor._acc_ref): no reference cycle, so the leaf dies with its last
        # reference once no graph holds the node, and the node dies with the graphs using
        # it (accumulator_of makes a new one for the next graph)
        self._variable = variable

    @property
    def variable(self):
        return self._variable

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("AccumulateGrad is applied by the engine")


def accumulator_of(t):
    """The AccumulateGrad node of leaf tensor `t`: the live one, else a new one (the leaf
    refers to it weakly, see AccumulateGrad); None for a view made in no-grad
    mode of a base that requires grad (it requires grad, yet gradients stop there, as
    PyTorch's view without a grad accumulator)."""
    ref = t._acc_ref
    if ref is not None:
        acc = ref()
        if acc is not None:
            return acc
    if t._derived_rg:
        return None
    acc = _new_node(AccumulateGrad)   # (AccumulateGrad(t), without the call of __init__)
    acc._variable = t
    t._acc_ref = _weakref(acc)
    return acc


_new_node = object.__new__
_weakref = weakref.ref


def save_tensor(t, is_output=False):
    """What a node keeps of tensor `t` for backward, with the version `t` has now: a leaf
    input itself, (leaf, vc, version); anything else as its array and graph position,
    (None, vc, version, array, grad_fn, output_nr, requires_grad, is_output), since
    holding an output would make a cycle (node -> output -> node). A tuple, not an
    object: every recorded op saves one or two of these. While saved-tensor hooks are in
    force, a HookedSave (ember/autograd/saved_hooks.py)."""
    if t._inference and (t.grad_fn is not None or not t._requires_grad):
        raise RuntimeError(
            "Inference tensors cannot be saved for backward. Please do not use Tensors created "
            "in inference mode in computation tracked by autograd. To work around this, you can "
            "make a clone to get a normal tensor and use it in autograd, or use "
            "`torch.no_grad()` instead of `torch.inference_mode()`.")
    if _SAVED_HOOKS:   # hooks in force in some thread: this thread's, if any, pack t
        hooked = _saved_hooks.pack(t)
        if hooked is not None:
            return hooked
    vc = t._vc
    if vc is None:  # give t its counter now, so later in-place ops bump this one
        vc = t._vc = [0]
    if t.grad_fn is None and not is_output:
        return (t, vc, vc[0])
    return (None, vc, vc[0], t._data, None if is_output else t.grad_fn, t._output_nr,
            t._requires_grad, is_output)


def _tensor_make(data, requires_grad=False):
    """Tensor._make. ember._tensor imports this module, so the method is looked up on the
    first call and bound here in this function's place (no import on each call)."""
    global _tensor_make
    from .._tensor import Tensor
    _tensor_make = Tensor._make
    return _tensor_make(data, requires_grad)


def unpack_saved(saved, node):
    """The Tensor that save_tensor kept, for node's backward; raises when it was
    modified in place since."""
    if type(saved) is _HookedSave:
        return saved.unpack()
    leaf, vc, version = saved[0], saved[1], saved[2]
    if vc[0] != version:
        _raise_modified(saved, node)
    if leaf is not None:
        return leaf
    _, _, _, data, grad_fn, output_nr, requires_grad, is_output = saved[:8]
    t = _tensor_make(data, requires_grad)
    t._vc = vc
    if requires_grad:
        t.grad_fn = node if is_output else grad_fn
        t._output_nr = output_nr
    if len(saved) > 8:   # saved with its forward-AD tangent (see _ops._base._dual_apply)
        from .forward_ad import restore_tangent
        restore_tangent(t, saved[8])
    return t


def _raise_modified(saved, node):
    leaf, vc, version = saved[0], saved[1], saved[2]
    producer = None
    where = ""
    t = leaf
    if leaf is None:
        from .._tensor import Tensor
        _, _, _, data, grad_fn, output_nr, _, is_output = saved[:8]
        t = Tensor._make(data)
        producer = node.name() if is_output else (grad_fn.name() if grad_fn is not None
                                                  else None)
        if producer:  # PyTorch names the op without "Backward" here, and without its
            # overload number 0 (ReluBackward0: Relu; EluBackward1: Elu1)
            producer = re.sub(r"Backward(\d*)$",
                              lambda m: "" if m.group(1) in ("", "0") else m.group(1), producer)
            where = f", which is output {output_nr} of {producer},"
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{t._type_name()} {list(t.shape)}]{where} is at version "
        f"{vc[0]}; expected version {version} instead. Hint: enable anomaly "
        "detection to find the operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True, check_nan=False).")


def refresh_view(t):
    """Make the history of view `t` current. PyTorch regenerates a view's grad_fn when its
    base's version counter moved on since the view's node was made: an in-place write into
    the base, or through another view of it, changed what the view's values derive from.
    The view's node is made again from the base by the view's function, and the tensor
    hooks of the old node (register_hook, retain_grad) move to the new one. Views made with
    grad mode off have no history to remake."""
    t._gfv = t._vc[0]
    view_fn = t._view_fn
    if view_fn is None or t._creation_meta is not None:
        return
    base = t._base
    old, old_nr = t.grad_fn, t._output_nr
    if not base._requires_grad and old is None:
        return
    with grad_mode.enable_grad():
        fresh = view_fn(base)
    regenerated_view_node(fresh, base)
    t.grad_fn, t._output_nr, t._requires_grad = fresh.grad_fn, fresh._output_nr, \
        fresh._requires_grad
    hooks = old.__dict__.get("_tensor_hooks") if old is not None else None
    if hooks and old_nr in hooks and t.grad_fn is not None:
        t.grad_fn.__dict__.setdefault("_tensor_hooks", {})[t._output_nr] = hooks.pop(old_nr)


def regenerated_view_node(fresh, base):
    """Name the node of view `fresh`, just made again from `base` after an in-place write,
    as PyTorch names a regenerated view's node: ``AsStridedBackward0`` (PyTorch remakes
    it as an as_strided view of the base; ember replays the view's own function, whose
    backward it keeps)."""
    fn = fresh.grad_fn
    if fn is not None and fresh is not base and fn is not base.grad_fn:
        rename(fn, "AsStridedBackward0")


def current(t):
    """`t`, with its history made current first if it is a view whose base changed."""
    if t._base is not None and t._gfv != t._vc[0]:
        refresh_view(t)
    return t


def warn_nonleaf_grad():
    warnings.warn(
        "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
        "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
        "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
        "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
        "instead. See github.com/pytorch/pytorch/pull/30531 for more informations.",
        UserWarning, stacklevel=3)


# --------------------------------------------------------------------------------------
# torch.autograd.graph's public helpers

from .saved_hooks import (saved_tensors_hooks, save_on_cpu,  # noqa: E402,F401
                          disable_saved_tensors_hooks)


class GradientEdge(tuple):
    """(node, output_nr): where a tensor's gradient enters the graph. autograd.grad takes
    one in place of a tensor among its inputs."""
    __slots__ = ()

    def __new__(cls, node, output_nr):
        return tuple.__new__(cls, (node, output_nr))

    node = property(lambda self: self[0])
    output_nr = property(lambda self: self[1])

    def __repr__(self):
        return f"GradientEdge(node={self[0]!r}, output_nr={self[1]})"


def get_gradient_edge(tensor):
    """The GradientEdge of `tensor`: its grad_fn, or a leaf's AccumulateGrad node."""
    current(tensor)
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    if tensor.grad_fn is not None:
        return GradientEdge(tensor.grad_fn, tensor._output_nr)
    return GradientEdge(accumulator_of(tensor), 0)


def increment_version(tensor):
    """Bump the version counter of `tensor` (or of each tensor in an iterable), as an
    in-place change made behind autograd's back would have to."""
    from .._tensor import Tensor
    for t in ((tensor,) if isinstance(tensor, Tensor) else tensor):
        if t._vc is None:
            t._vc = [0]
        t._vc[0] += 1


class _MultiHandle:
    def __init__(self, handles):
        self.handles = handles

    def remove(self):
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _engine_tasks():
    """The backward passes running on this thread, innermost last (engine._ENGINE)."""
    from .engine import _ENGINE
    return _ENGINE.__dict__.get("tasks")


def _will_get_grad(task, t):
    """Whether backward pass `task` computes a gradient for tensor `t`."""
    _, deps, roots, needed = task
    node = t.grad_fn if t.grad_fn is not None else t._accumulator
    return node is not None and (node in deps or node in roots) and (needed is None or
                                                                   node in needed)


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """Call `fn` once per backward pass over `tensors`: with mode "all", fn(grads) after
    every gradient of them this pass computes is known (None for a tensor the pass does not
    reach); with mode "any", fn(grad) with the first one computed."""
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    n = len(tensors)
    state = {"serial": None}

    def make_hook(i):
        def hook(grad):
            stack = _engine_tasks()
            task = stack[-1] if stack else None
            serial = task[0] if task else None
            if state["serial"] != serial:
                state.update(serial=serial, grads=[None] * n, count=0, fired=False,
                             expected=sum(1 for t in tensors if task and _will_get_grad(task, t)))
            if mode == "any":
                if not state["fired"]:
                    state["fired"] = True
                    fn(grad)
                return None
            state["grads"][i] = grad
            state["count"] += 1
            if state["count"] == state["expected"]:
                grads, state["grads"] = state["grads"], [None] * n
                fn(grads)
            return None
        return hook

    return _MultiHandle([t.register_hook(make_hook(i)) for i, t in enumerate(tensors)
                         if t.requires_grad])


class _AllowMutationOnSavedContext:
    """What allow_mutation_on_saved_tensors hands the ``with`` block: the tensors saved
    inside it, each with a copy of its values at the time it was saved."""

    def __init__(self):
        self.closed = False


class allow_mutation_on_saved_tensors:
    """Context manager: tensors saved for backward inside it may be modified in place
    afterwards; backward reads their values from the time they were saved.

    Each saved tensor is kept with a copy of its values (PyTorch copies lazily, on the first
    in-place write; ember has no hook before every write, so it copies when saving: the
    same gradients, one extra copy of each saved tensor in memory). Backward reads the
    tensor itself while it is unmodified (keeping its graph for double backward), the copy
    after a modification. Contexts do not nest, and backward must run inside the context
    that recorded the graph, as in PyTorch."""

    _ACTIVE = [False]

    def __enter__(self):
        if self._ACTIVE[0]:
            raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
        ctx = self._ctx = _AllowMutationOnSavedContext()

        def pack(t):
            vc = t._vc
            if vc is None:
                vc = t._vc = [0]
            return t, vc, vc[0], t.detach().clone()

        def unpack(packed):
            t, vc, version, copy = packed
            if ctx.closed:
                raise AssertionError("Trying to backward outside of the "
                                     "'allow_mutation_on_saved_tensors' contextin which the "
                                     "graph was originally recorded.")
            return t if vc[0] == version else copy

        self._hooks = saved_tensors_hooks(pack, unpack)
        self._hooks.__enter__()
        self._ACTIVE[0] = True
        return ctx

    def __exit__(self, *exc):
        self._hooks.__exit__(*exc)
        self._ctx.closed = True
        self._ACTIVE[0] = False
        return False
