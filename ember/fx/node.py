"""torch.fx.node: one operation of a Graph, and the helpers that walk its arguments.

A Node is one line of the program a Graph holds: ``op`` says what kind of line
(``placeholder`` an input, ``get_attr`` a parameter or buffer read, ``call_function``,
``call_method``, ``call_module``, ``output`` the return), ``target`` what is called or read,
``args``/``kwargs`` its arguments (numbers, strings, other Nodes, nested in tuples, lists,
dicts and slices). The graph keeps the def-use links both ways: ``node.all_input_nodes``
(the Nodes in its arguments) and ``node.users`` (the Nodes that read its value), updated
whenever arguments are assigned, so passes can rewrite a program safely.
"""
import builtins
import importlib
import types

from .immutable_collections import immutable_dict, immutable_list

__all__ = ["Node", "map_arg", "map_aggregate", "has_side_effect", "Argument", "Target"]

# the types an argument may be (documentation aliases, as torch.fx.node's)
Argument = object
Target = object

_OPCODES = ("placeholder", "call_method", "call_module", "call_function", "get_attr",
            "output", "root")

# functions whose nodes are kept by dead-code elimination although nobody reads them
_SIDE_EFFECTFUL = set()


def has_side_effect(fn):
    """Mark `fn` as having side effects: its call_function nodes survive
    Graph.eliminate_dead_code (a decorator, as torch.fx.node.has_side_effect)."""
    _SIDE_EFFECTFUL.add(fn)
    return fn


# public namespaces searched, in order, for the dotted name of an ember callable
_PUBLIC_SPACES = ("ember", "ember.nn.functional", "ember.linalg", "ember.fft", "ember.special",
                  "ember.nn.init", "ember.autograd")


def _same_function(a, b):
    """Whether a and b are one function, either possibly behind ember's __torch_function__
    dispatcher (ember/_torch_function.py wraps the public functions while it is active)."""
    if a is b:
        return True
    ua = getattr(a, "_ember_undispatched", a)
    ub = getattr(b, "_ember_undispatched", b)
    # the front a quantized tensor puts before a public function (ember/_ops/quantized_ops)
    # stands for that function
    ua = ua.__wrapped__ if getattr(ua, "__quantized_front__", False) else ua
    ub = ub.__wrapped__ if getattr(ub, "__quantized_front__", False) else ub
    return ua is ub


def _callable_name(f):
    """The name a program calls `f` by. For ember's dispatching wrappers (one wrapper
    serves aliases such as transpose/swapaxes and carries one of their names, while the
    function inside may carry a factory's name) the function's own name when ember
    publishes it under that name, else the wrapper's."""
    name = getattr(f, "__name__", None)
    inner = getattr(f, "_ember_undispatched", None)
    if inner is None or getattr(inner, "__name__", name) == name:
        return name
    for space in _PUBLIC_SPACES:
        module = importlib.import_module(space)
        if _same_function(module.__dict__.get(inner.__name__), f):
            return inner.__name__
    return name


def _public_path(obj):
    """'ember.relu', 'ember.nn.functional.relu' ...: where ember publishes `obj`, or None."""
    name = _callable_name(obj)
    if not isinstance(name, str):
        return None
    from .. import _tensor
    if getattr(obj, "__qualname__", None) == f"Tensor.{name}" and \
            _same_function(_tensor.Tensor.__dict__.get(name), obj):
        return f"ember.Tensor.{name}"
    for space in _PUBLIC_SPACES:
        module = importlib.import_module(space)
        if _same_function(module.__dict__.get(name), obj):
            return f"{space}.{name}"
    return None


def _get_qualified_name(func):
    """The dotted name a program reaches `func` by: 'getattr' for builtins, 'ember.relu',
    'ember.nn.functional.relu', else '<module>.<name>'."""
    name = func.__name__
    if getattr(builtins, name, None) is func:
        return name
    path = _public_path(func)
    if path is not None:
        return path
    if name == "<lambda>":
        raise RuntimeError("Unable to represent lambda")
    module = getattr(func, "__module__", None)
    if module is None and isinstance(getattr(func, "__self__", None), types.ModuleType):
        module = func.__self__.__name__
    return f"{module}.{name}"


def _pretty_print_target(target):
    """How a target prints in a node's text: strings as they are, builtins as
    'builtins.x', operators as 'operator.x', other callables by qualified name."""
    if isinstance(target, str):
        return target
    name = getattr(target, "__name__", None)
    module = getattr(target, "__module__", None)
    if name is not None and module == "builtins":
        return f"builtins.{name}"
    if name is not None and module == "_operator":
        return f"operator.{name}"
    return _get_qualified_name(target)


def _format_arg(arg):
    """An argument as a node's text shows it: Nodes as %name, containers item by item,
    anything else by str."""
    if isinstance(arg, list):
        return "[" + ", ".join(_format_arg(a) for a in arg) + "]"
    if isinstance(arg, tuple):
        comma = "," if len(arg) == 1 else ""
        return "(" + ", ".join(_format_arg(a) for a in arg) + comma + ")"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in arg.items()) + "}"
    if isinstance(arg, Node):
        return "%" + str(arg)
    return str(arg)


def _type_repr(obj):
    """A type annotation as text: 'int', 'ember.Tensor', 'module.Class'."""
    if isinstance(obj, type):
        if obj.__module__ == "builtins":
            return obj.__qualname__
        if obj.__module__.partition(".")[0] == "ember":
            import ember
            if getattr(ember, obj.__name__, None) is obj:
                return f"ember.{obj.__name__}"
        return f"{obj.__module__}.{obj.__qualname__}"
    if obj is ...:
        return "..."
    return repr(obj)


class Node:
    """One operation in a Graph (see the module docstring for op/target/args/kwargs).

    Made by Graph.create_node and its shorthands, never directly. Nodes are kept in a
    doubly linked list in program order; ``meta`` is a free dict for passes
    (ShapeProp writes ``meta['tensor_meta']``)."""

    def __init__(self, graph, name, op, target, args, kwargs, return_type=None):
        if op not in _OPCODES:
            raise ValueError(f"Node op must be one of {_OPCODES}, got {op!r}")
        if op == "call_function" and not callable(target):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has "
                             f"type {type(target)} but a Callable is expected")
        if op in ("placeholder", "call_method", "call_module", "get_attr", "output") and \
                not isinstance(target, str):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has "
                             f"type {type(target)} but a str is expected")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self._input_nodes = {}
        self.users = {}
        self.type = return_type
        self._prev = self
        self._next = self
        self._erased = False
        self._args = ()
        self._kwargs = {}
        self.meta = {}
        self._update_args_kwargs(args, kwargs)

    # ---- arguments and def-use links ----
    @property
    def args(self):
        """The positional arguments (a tuple); assigning updates the users links."""
        return self._args

    @args.setter
    def args(self, value):
        self._update_args_kwargs(value, self._kwargs)

    @property
    def kwargs(self):
        """The keyword arguments (a dict); assigning updates the users links."""
        return self._kwargs

    @kwargs.setter
    def kwargs(self, value):
        self._update_args_kwargs(self._args, value)

    @property
    def all_input_nodes(self):
        """The Nodes this one reads, in order of first appearance in args then kwargs."""
        return list(self._input_nodes)

    def _update_args_kwargs(self, new_args, new_kwargs):
        found = {}

        def note(n):
            found.setdefault(n, None)
            return n

        # lists and dicts inside become the immutable kinds (map_aggregate rebuilds them)
        self._args = map_aggregate(tuple(new_args), lambda a: a)
        self._kwargs = map_aggregate(dict(new_kwargs), lambda a: a)
        map_arg((self._args, self._kwargs), note)
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._input_nodes = found
        for n in found:
            n.users.setdefault(self, None)

    def update_arg(self, idx, arg):
        """Set positional argument `idx` to `arg`."""
        args = list(self.args)
        args[idx] = arg
        self.args = tuple(args)

    def insert_arg(self, idx, arg):
        """Insert `arg` at position `idx` of the positional arguments."""
        args = list(self.args)
        args.insert(idx, arg)
        self.args = tuple(args)

    def update_kwarg(self, key, arg):
        """Set keyword argument `key` to `arg`."""
        kwargs = dict(self.kwargs)
        kwargs[key] = arg
        self.kwargs = kwargs

    def replace_all_uses_with(self, replace_with, delete_user_cb=lambda user: True, *,
                              propagate_meta=False):
        """Make every user read `replace_with` instead of this node (those for which
        `delete_user_cb` answers True); the users changed, as a list."""
        if propagate_meta:
            if replace_with.meta:
                raise AssertionError(
                    "Called node.replace_all_uses_with(replace_with, propagate_meta=True), "
                    "but replace_with already has .meta keys")
            replace_with.meta.update(self.meta)
        changed = []
        for user in list(self.users):
            if delete_user_cb is not None and not delete_user_cb(user):
                continue
            user.replace_input_with(self, replace_with)
            changed.append(user)
        return changed

    def replace_input_with(self, old_input, new_input):
        """Replace every occurrence of the Node `old_input` in this node's arguments."""
        def swap(n):
            return new_input if n is old_input else n

        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    # ---- position in the graph ----
    @property
    def next(self):
        """The node after this one (the graph's root sentinel at the end)."""
        return self._next

    @property
    def prev(self):
        """The node before this one."""
        return self._prev

    def prepend(self, x):
        """Move node `x` (of the same graph) to just before this one."""
        if x is self:
            return
        if x.graph is not self.graph:
            raise AssertionError("Attempting to move a Node into a different Graph")
        x._remove_from_list()
        p = self._prev
        p._next, x._prev = x, p
        x._next, self._prev = self, x

    def append(self, x):
        """Move node `x` (of the same graph) to just after this one."""
        self._next.prepend(x)

    def _remove_from_list(self):
        p, n = self._prev, self._next
        p._next, n._prev = n, p

    # ---- text ----
    def __repr__(self):
        return self.name

    def _pretty_print_target(self, target):
        return _pretty_print_target(target)

    def format_node(self, placeholder_names=None, maybe_return_typename=None):
        """The node as one line of the graph's text: '%name : [num_users=N] =
        op[target=...](args = (...), kwargs = {...})'; placeholders and outputs shorter."""
        typename = f"{_type_repr(self.type)} " if self.type is not None else ""
        head = f"%{self.name} : {typename}[num_users={len(self.users)}] = "
        if self.op == "placeholder":
            arg_str = self.target
            if self.type:
                arg_str += f": {_type_repr(self.type)}"
            if placeholder_names:   # torch's test: a non-empty list collects signatures
                placeholder_names.append(arg_str)
                return None
            default = f"(default={self.args[0]})" if self.args else ""
            return f"{head}placeholder[target={self.target}]{default}"
        if self.op == "get_attr":
            return f"{head}get_attr[target={_pretty_print_target(self.target)}]"
        if self.op == "output":
            if self.type and maybe_return_typename:
                maybe_return_typename[0] = f" -> {_type_repr(self.type)}"
            return f"return {self.args[0]}"
        return (f"{head}{self.op}[target={_pretty_print_target(self.target)}]("
                f"args = {_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})")

    # ---- semantics ----
    def is_impure(self, impure_random=True):
        """Whether removing the node could change the program: inputs, outputs, calls of
        side-effectful functions and of modules marked impure (``_is_impure``)."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_function":
            from .._fx_assert import _assert
            return self.target in _SIDE_EFFECTFUL or self.target is _assert
        if self.op == "call_module" and self.graph.owning_module is not None:
            try:
                module = self.graph.owning_module.get_submodule(self.target)
            except AttributeError:
                return False
            return bool(getattr(module, "_is_impure", False))
        if self.op == "call_method":
            return str(self.target).endswith("_") and not str(self.target).endswith("__")
        return False

    def normalized_arguments(self, *args, **kwargs):
        raise NotImplementedError("ember.fx: Node.normalized_arguments needs operator schemas, "
                                  "which ember does not have")

    @property
    def stack_trace(self):
        """Where the traced program made this node (None: ember records no stack traces)."""
        return self.meta.get("stack_trace", None)

    @stack_trace.setter
    def stack_trace(self, trace):
        self.meta["stack_trace"] = trace


def map_arg(a, fn):
    """Apply `fn` to every Node inside the argument structure `a` (tuples, lists, dicts,
    slices), giving the same structure with the results."""
    if not callable(fn):
        raise AssertionError("torch.fx.map_arg(a, fn): fn must be a callable")
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def map_aggregate(a, fn):
    """Apply `fn` to every leaf of the argument structure `a`; lists and dicts come back as
    the immutable kinds, tuples (named tuples too) as their own type."""
    tp = type(a)
    if isinstance(a, tuple):
        items = [map_aggregate(x, fn) for x in a]
        return tp(*items) if hasattr(a, "_fields") else tuple(items)
    if isinstance(a, list):
        return immutable_list(map_aggregate(x, fn) for x in a)
    if isinstance(a, dict):
        return immutable_dict((k, map_aggregate(v, fn)) for k, v in a.items())
    if isinstance(a, slice):
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn),
                     map_aggregate(a.step, fn))
    return fn(a)
