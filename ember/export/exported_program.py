"""ExportedProgram: a traced forward, its state and its input guards.

``ep.graph_module`` runs the graph with the state lifted to inputs (parameters, buffers,
constants, then the user's input leaves); ``ep.module()`` is the program as a Module
again: a GraphModule holding the same parameter objects under their state-dict names,
called with the original arguments (args and kwargs, nested as at export), checking them
against the guards first, and returning the outputs in the original nesting.

Guards (checked on each call of ``ep.module()``, AssertionError as PyTorch's
``Guard failed: x.size()[0] == 2``): each input tensor's number of dims and every static
dim; a dynamic dim's range [min, max]; dims that share a symbol are equal; a non-tensor
input equals its export value (it was baked into the graph).
"""
import collections
import copy
import math
import re

from .._tensor import Tensor
from ..nn.modules.module import Module
from ..fx.graph import Graph
from ..fx.graph_module import GraphModule
from ..utils import _pytree
from .graph_signature import InputKind
from ._targets import ExportOp

__all__ = ["ExportedProgram", "ModuleCallSignature", "ModuleCallEntry"]

CallSpec = collections.namedtuple("CallSpec", ["in_spec", "out_spec"])


class ModuleCallSignature:
    def __init__(self, inputs, outputs, in_spec, out_spec, forward_arg_names=None):
        self.inputs, self.outputs = inputs, outputs
        self.in_spec, self.out_spec = in_spec, out_spec
        self.forward_arg_names = forward_arg_names


class ModuleCallEntry:
    def __init__(self, fqn, signature=None):
        self.fqn = fqn
        self.signature = signature


class InputGuard:
    """What a user input leaf must be: a tensor of `shape` (ints, or symbol names for
    dynamic dims), or the constant `value`."""

    def __init__(self, name, shape=None, value=None, is_tensor=True):
        self.name = name
        self.shape = None if shape is None else tuple(shape)
        self.value = value
        self.is_tensor = is_tensor


def check_inputs(guards, ranges, leaves):
    """Raise AssertionError (PyTorch's) for the first guard the input leaves break."""
    if len(leaves) != len(guards):
        raise AssertionError(f"Guard failed: expected {len(guards)} input leaves, got "
                             f"{len(leaves)}")
    seen = {}
    for g, x in zip(guards, leaves):
        if not g.is_tensor:
            if isinstance(x, Tensor) or x != g.value:
                raise AssertionError(f"Guard failed: {g.name} == {g.value!r}")
            continue
        if not isinstance(x, Tensor):
            raise AssertionError(f"Guard failed: {g.name} is a Tensor (got "
                                 f"{type(x).__name__})")
        if x.dim() != len(g.shape):
            raise AssertionError(f"Guard failed: {g.name}.dim() == {len(g.shape)}")
        for d, want in enumerate(g.shape):
            size = x.shape[d]
            where = f"{g.name}.size()[{d}]"
            if isinstance(want, str):
                lo, hi = ranges.get(want, (0, math.inf))
                # (a lower bound up to 2 is not checked, as PyTorch's guards leave it: its
                # dynamic dims are taken to be >= 2 while tracing)
                if lo > 2 and size < lo:
                    raise AssertionError(f"Guard failed: {where} >= {lo}")
                if size > hi:
                    raise AssertionError(f"Guard failed: {where} <= {hi}")
                if want in seen and seen[want][0] != size:
                    raise AssertionError(f"Guard failed: {where} == {seen[want][1]}")
                seen.setdefault(want, (size, where))
            elif size != want:
                raise AssertionError(f"Guard failed: {where} == {want}")


class ExportedProgram:
    """The result of ``ember.export.export`` (see the module docstring)."""

    def __init__(self, root, graph, graph_signature, state_dict, range_constraints,
                 module_call_graph=None, example_inputs=None, constants=None, *,
                 call_spec=None, guards=None, arg_names=None, verifiers=None):
        self._graph_module = GraphModule(root if isinstance(root, Module) else Module(),
                                         graph)
        self._graph_signature = graph_signature
        self._state_dict = state_dict
        self._range_constraints = dict(range_constraints)
        self._module_call_graph = list(module_call_graph or [])
        self._example_inputs = example_inputs
        self._constants = dict(constants or {})
        self._call_spec = call_spec
        self._guards = list(guards or [])
        self._arg_names = list(arg_names or [])
        self.verifiers = list(verifiers or [])

    # ---- what PyTorch's ExportedProgram shows ----
    @property
    def graph_module(self):
        return self._graph_module

    @property
    def graph(self):
        return self._graph_module.graph

    @property
    def graph_signature(self):
        return self._graph_signature

    @property
    def state_dict(self):
        return self._state_dict

    @property
    def constants(self):
        return self._constants

    @property
    def tensor_constants(self):
        return self._constants

    @property
    def range_constraints(self):
        return self._range_constraints

    @property
    def module_call_graph(self):
        return self._module_call_graph

    @property
    def example_inputs(self):
        return self._example_inputs

    @property
    def call_spec(self):
        return self._call_spec

    @property
    def dialect(self):
        return "TRAINING"

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_parameters(self):
        for name in self._graph_signature.parameters:
            yield name, self._state_dict[name]

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def named_buffers(self):
        non_persistent = set(self._graph_signature.non_persistent_buffers)
        for name in self._graph_signature.buffers:
            yield name, (self._constants[name] if name in non_persistent
                         else self._state_dict[name])

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Unable to call ExportedProgram directly. You should use "
                           "`exported_program.module()` instead.")

    def validate(self):
        """PyTorch checks the graph against its IR's rules; ember's graph is what its
        tracer made, so there is nothing further to check."""

    def run_decompositions(self, decomp_table=None, decompose_custom_triton_ops=False):
        """The program with its ops decomposed to core ATen. ember's graph calls ember's
        functions, which have no separate decompositions: the result is a copy of this
        program with the same graph (its ops compute the same values)."""
        env = {}
        graph = Graph()
        for node in self.graph.nodes:
            env[node] = graph.node_copy(node, lambda n: env[n])
        return ExportedProgram(Module(), graph, copy.copy(self._graph_signature),
                               self._state_dict, self._range_constraints,
                               self._module_call_graph, self._example_inputs, self._constants,
                               call_spec=self._call_spec, guards=self._guards,
                               arg_names=self._arg_names, verifiers=self.verifiers)

    # ---- the program as a Module ----
    def _lifted_tensor(self, spec):
        if spec.kind == InputKind.PARAMETER:
            return self._state_dict[spec.target]
        if spec.kind == InputKind.BUFFER:
            return self._state_dict[spec.target] if spec.persistent else \
                self._constants[spec.target]
        return self._constants[spec.target]

    def module(self, check_guards=True):
        """A GraphModule computing forward with the original calling convention, holding
        the program's parameters and buffers (the same objects as ``state_dict``)."""
        specs = {s.arg.name: s for s in self._graph_signature.input_specs}
        holder = Module()
        graph = Graph()
        env = {}
        fixups = []   # (target, kind, persistent)
        for node in self.graph.nodes:
            spec = specs.get(node.name) if node.op == "placeholder" else None
            if spec is not None and spec.kind != InputKind.USER_INPUT:
                target = spec.target if spec.kind != InputKind.CONSTANT_TENSOR else \
                    _constant_attr(spec.target)
                _set_path(holder, target, self._lifted_tensor(spec))
                new = graph.get_attr(target)
                new.meta = dict(node.meta)
                env[node] = new
                fixups.append((target, spec.kind, spec.persistent))
            else:
                env[node] = graph.node_copy(node, lambda n: env[n])
        gm = _UnliftedModule(holder, graph)
        for target, kind, persistent in fixups:
            *prefix, field = target.split(".")
            owner = gm
            for p in prefix:
                owner = getattr(owner, p)
            if kind == InputKind.BUFFER and not persistent:
                owner.register_buffer(field, owner._buffers[field], persistent=False)
            elif kind == InputKind.CONSTANT_TENSOR:
                value = owner._buffers.pop(field)
                object.__setattr__(owner, field, value)
        gm._export_info = _CallInfo(self._call_spec, self._guards if check_guards else None,
                                    self._range_constraints, self._arg_names)
        gm.meta["module_call_specs"] = {}
        return gm

    # ---- printing ----
    def _graph_text(self):
        code = self.graph.python_code(root_module="self", verbose=True)
        src = code.src.lstrip("\n")
        for name, obj in code.globals.items():
            if isinstance(obj, ExportOp):
                src = re.sub(rf"(?<![\w.]){re.escape(name)}\(", f"torch.ops.{obj.aten_name}(",
                             src)
        for node in self.graph.nodes:   # sizes read from dynamic dims: "Sym(s0)"
            val = node.meta.get("val")
            if node.op == "call_function" and isinstance(val, str):
                src = re.sub(rf"(?m)^(\s*){re.escape(node.name)} = ",
                             lambda m: f'{m.group(1)}{node.name}: "Sym({val})" = ', src)
        src = "\n".join(line if line.strip() else "" for line in src.rstrip().split("\n"))
        text = "class GraphModule(torch.nn.Module):\n    " + _indent(src, 4)
        return "\n".join(line if line.strip() else "" for line in text.split("\n")) + "\n"

    def __str__(self):
        ranges = ", ".join(f"{s}: VR[{lo}, {'int_oo' if hi == math.inf else hi}]"
                           for s, (lo, hi) in self._range_constraints.items())
        return ("ExportedProgram:\n    " + _indent(self._graph_text(), 4) +
                "\nGraph signature: " + _indent(str(self._graph_signature), 4) +
                "\nRange constraints: {" + ranges + "}\n")

    __repr__ = __str__


def _indent(text, n):
    """Every line after the first indented by n (empty lines too, as PyTorch prints)."""
    return text.replace("\n", "\n" + " " * n)


def _constant_attr(target):
    """The attribute a lifted constant lives under in ``ep.module()``."""
    return target if not target.startswith("lifted_tensor_") else "_" + target.replace(
        "lifted_tensor_", "lifted_tensor_constant")


def _set_path(root, path, value):
    *prefix, field = path.split(".")
    owner = root
    for p in prefix:
        nxt = owner._modules.get(p) if hasattr(owner, "_modules") else None
        if nxt is None:
            nxt = Module()
            owner.add_module(p, nxt)
        owner = nxt
    from ..nn import Parameter
    if isinstance(value, Parameter):
        owner.register_parameter(field, value)
    else:
        owner.register_buffer(field, value)


class _CallInfo:
    """What ``ep.module()`` needs to take the original arguments."""

    def __init__(self, call_spec, guards, ranges, arg_names):
        self.in_spec = call_spec.in_spec
        self.out_spec = call_spec.out_spec
        self.guards = guards
        self.ranges = ranges
        self.arg_names = arg_names

    def flatten(self, args, kwargs):
        leaves, spec = _pytree.tree_flatten((tuple(args), dict(kwargs)))
        if spec == self.in_spec:
            return leaves
        # arguments given by another route (positional as keyword, kwargs in another
        # order): bind them by name into the export-time layout
        n_args = len(self.in_spec.children_specs[0].children_specs)
        kw_keys = list(self.in_spec.children_specs[1].context or [])
        values = dict(zip(self.arg_names, args))
        extra = list(args[len(self.arg_names):])
        values.update(kwargs)
        try:
            new_args = tuple(values[self.arg_names[i]] if i < len(self.arg_names) else
                             extra.pop(0) for i in range(n_args))
            new_kwargs = {k: values[k] for k in kw_keys}
        except (KeyError, IndexError):
            new_args = new_kwargs = None
        if new_args is not None and len(values) + len(extra) == len(set(
                self.arg_names[:n_args]) | set(kw_keys)) + len(extra):
            leaves, spec = _pytree.tree_flatten((new_args, new_kwargs))
            if spec == self.in_spec:
                return leaves
        raise TypeError(f"Trying to flatten user inputs with exported input tree spec: \n"
                        f"{self.in_spec}\nbut actually got inputs with tree spec of: \n"
                        f"{spec}.\nPlease check that the inputs have the same number and type "
                        f"of args and kwargs as the ones you used when tracing.")


class _UnliftedModule(GraphModule):
    """``ep.module()``: the generated forward takes the input leaves; the class's forward
    takes the original arguments around it."""

    def recompile(self):
        code = super().recompile()
        cls = type(self)
        cls._graph_forward = cls.forward
        cls.forward = _exported_forward
        return code

    # the graph recorded the train/eval behaviour the model had at export time: switching
    # is refused, as PyTorch refuses it
    def train(self, mode=True):
        raise NotImplementedError("Calling train() is not supported yet.")

    def eval(self):
        raise NotImplementedError("Calling eval() is not supported yet.")


def _exported_forward(self, *args, **kwargs):
    info = self.__dict__.get("_export_info")
    if info is None:
        return self._graph_forward(*args, **kwargs)
    leaves = info.flatten(args, kwargs)
    if info.guards is not None:
        check_inputs(info.guards, info.ranges, leaves)
    out = self._graph_forward(*leaves)
    return _pytree.tree_unflatten(list(out), info.out_spec)
