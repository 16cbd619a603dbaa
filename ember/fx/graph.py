"""torch.fx.graph: a program as a list of Nodes, and the Python source made from it.

A Graph is a doubly linked list of Nodes in program order (a sentinel ``root`` node closes
the ring), with a namespace that gives every node a unique Python identifier. It is edited
with ``create_node`` and its shorthands (``placeholder``, ``call_function`` ...) at the
insertion point (the end, or where ``inserting_before``/``inserting_after`` put it), and
turned back into Python by ``python_code``: one statement per node, each value released
(``x = None``) right after its last use, as torch.fx writes it.
"""
import builtins
import contextlib
import inspect
import keyword
import linecache
import math
import re
import types
import typing
import warnings

from .node import Node, _callable_name, _get_qualified_name, _public_path, _type_repr, map_arg

# the typing generics that builtin origins print as (List[int].__origin__ is list)
_TYPING_ORIGINS = {list: typing.List, dict: typing.Dict, set: typing.Set,
                   frozenset: typing.FrozenSet, tuple: typing.Tuple, type: typing.Type}

__all__ = ["Graph", "PythonCode", "CodeGen"]

# Python operators a call_function of the `operator` module is written as
_REFLECTABLE = {
    "add": "{} + {}", "sub": "{} - {}", "mul": "{} * {}", "floordiv": "{} // {}",
    "truediv": "{} / {}", "div": "{} / {}", "mod": "{} % {}", "pow": "{} ** {}",
    "lshift": "{} << {}", "rshift": "{} >> {}", "and_": "{} & {}", "or_": "{} | {}",
    "xor": "{} ^ {}", "getitem": "{}[{}]", "matmul": "{} @ {}",
}
MAGIC_METHODS = {
    "eq": "{} == {}", "ne": "{} != {}", "lt": "{} < {}", "gt": "{} > {}", "le": "{} <= {}",
    "ge": "{} >= {}", "pos": "+{}", "neg": "-{}", "invert": "~{}", **_REFLECTABLE,
}
REFLECTABLE_MAGIC_METHODS = _REFLECTABLE
INPLACE_METHODS = {
    "iadd": "{} += {}", "iand": "{} &= {}", "ifloordiv": "{} //= {}", "ilshift": "{} <<= {}",
    "imod": "{} %= {}", "imul": "{} *= {}", "imatmul": "{} @= {}", "ior": "{} |= {}",
    "ipow": "{} **= {}", "irshift": "{} >>= {}", "isub": "{} -= {}", "itruediv": "{} /= {}",
    "ixor": "{} ^= {}", "setitem": "{}[{}] = {}",
}

# names a generated variable may not take (keywords, builtins, and the globals every
# generated module has)
_ILLEGAL = {k: object() for k in keyword.kwlist}
_ILLEGAL.update(builtins.__dict__)
_CUSTOM_BUILTINS = {"inf": math.inf, "nan": math.nan}
_ILLEGAL.update(_CUSTOM_BUILTINS)

_NAME = re.compile(r"^([a-zA-Z_][0-9a-zA-Z_]*?)(?:_(\d+))?$")
_ILLEGAL_CHARS = re.compile("[^0-9a-zA-Z_]+")
_CAMEL = re.compile(r"(?<=[a-z])([A-Z])")

# dtype abbreviations of the verbose code's annotations ('f32[2, 3]')
_DTYPE_ABBRS = {
    "bfloat16": "bf16", "float64": "f64", "float32": "f32", "float16": "f16",
    "complex32": "c32", "complex64": "c64", "complex128": "c128", "int8": "i8",
    "int16": "i16", "int32": "i32", "int64": "i64", "bool": "b8", "uint8": "u8",
    "uint16": "u16", "uint32": "u32", "uint64": "u64",
}


def _snake_case(s):
    """'pascalCase' -> 'pascal_case'."""
    return _CAMEL.sub(r"_\1", s).lower()


class _Namespace:
    """Unique Python identifiers: a candidate is cleaned into an identifier, and a taken
    name (or a builtin/keyword) gets the next free numeric suffix ('relu', 'relu_1' ...,
    'sum' -> 'sum_1')."""

    def __init__(self):
        self._obj_to_name = {}
        self._used = set()
        self._base_count = {}

    def create_name(self, candidate, obj):
        if obj is not None and id(obj) in self._obj_to_name:
            return self._obj_to_name[id(obj)]
        match = _NAME.match(candidate)
        if match is None:
            candidate = _ILLEGAL_CHARS.sub("_", candidate) or "_unnamed"
            if candidate[0].isdigit():
                candidate = f"_{candidate}"
            match = _NAME.match(candidate)
        base, num = match.group(1, 2)
        if num is None or candidate in self._used:
            num = self._base_count.get(base, 0)
            if _ILLEGAL.get(candidate, obj) is not obj:
                num += 1
                candidate = f"{base}_{num}"
        else:
            num = int(num)
        while candidate in self._used:
            num += 1
            candidate = f"{base}_{num}"
        self._used.add(candidate)
        self._base_count[base] = num
        if obj is not None:
            self._obj_to_name[id(obj)] = candidate
        return candidate

    def associate_name_with_obj(self, name, obj):
        self._obj_to_name.setdefault(id(obj), name)

    def _rename_object(self, obj, name):
        self._obj_to_name[id(obj)] = name


class PythonCode:
    """The source of a graph's ``forward`` (``src``) and the globals it runs with."""

    def __init__(self, src, globals, _lineno_map=None):
        self.src = src
        self.globals = globals
        self._lineno_map = _lineno_map


def _format_target(base, target):
    """'self.layer1' for base 'self', target 'layer1'; getattr(base, "0") for parts that are
    not identifiers."""
    out = base
    for elem in target.split("."):
        out = f"{out}.{elem}" if elem.isidentifier() else f'getattr({out}, "{elem}")'
    return out


class CodeGen:
    """Writes a list of nodes as the Python function ``forward(self, ...)``;
    ``_body_transformer`` (Graph.on_generate_code) rewrites the body's fragments."""

    _body_transformer = None

    def generate(self, nodes, root_module, verbose=False, include_stride=False,
                 include_device=False):
        import ember
        namespace = _Namespace()
        globals_ = {}
        free_vars = []
        body = []
        wrapped = []

        def add_global(name_hint, obj):
            """The name the code uses for `obj`: builtins by name, ember's public callables
            by their dotted path (with 'ember' a global), anything else as a global of its
            own."""
            if getattr(builtins, name_hint, None) is obj:
                return name_hint
            if callable(obj) and not isinstance(obj, type) or obj is ember.device:
                path = _public_path(obj) if not isinstance(obj, type) else None
                if path is not None:
                    globals_["ember"] = ember
                    return path
            name = namespace.create_name(name_hint, obj)
            globals_[name] = obj
            return name

        for name, obj in _CUSTOM_BUILTINS.items():
            add_global(name, obj)
        globals_["device"] = ember.device
        namespace._used.add("device")
        globals_["ember"] = ember
        namespace._used.add("ember")
        for node in nodes:
            namespace.create_name(node.name, node)

        def type_repr(o):
            text = _type_repr(o)
            if isinstance(o, type) and (getattr(builtins, text, None) is o or
                                        text.startswith("ember.")):
                return text
            if isinstance(o, type):   # (NoneType too: not a builtin name)
                return add_global(text.replace(".", "_"), o)
            if isinstance(o, types.UnionType):   # T | None, as written
                return "|".join(type_repr(a) for a in o.__args__)
            origin = getattr(o, "__origin__", None)
            if origin is not None:
                # Optional[T], List[int], list[int]: the generic (typing's as a global of the
                # code: typing_Union ...) subscripted with its arguments, as torch.fx does
                if isinstance(o, types.GenericAlias):
                    head = type_repr(origin)
                else:
                    origin = _TYPING_ORIGINS.get(origin, origin)
                    head = add_global(_type_repr(origin).replace(".", "_"), origin)
                args = getattr(o, "__args__", ())
                if not args:
                    return head
                return f"{head}[{','.join(type_repr(a) for a in args)}]"
            if text.startswith("typing."):   # typing.Any ...
                globals_["typing"] = typing
                namespace._used.add("typing")
            return text

        def get_repr(arg):
            if isinstance(arg, Node):
                return repr(arg)
            if isinstance(arg, tuple) and hasattr(arg, "_fields"):
                qual = add_global(_type_repr(type(arg)).replace(".", "_"), type(arg))
                return f"{qual}({', '.join(get_repr(a) for a in arg)})"
            if isinstance(arg, list):
                return "[" + ", ".join(get_repr(a) for a in arg) + "]"
            if isinstance(arg, tuple):
                comma = "," if len(arg) == 1 else ""
                return "(" + ", ".join(get_repr(a) for a in arg) + comma + ")"
            if isinstance(arg, dict):
                return "{" + ", ".join(f"{k!r}: {get_repr(v)}" for k, v in arg.items()) + "}"
            if isinstance(arg, type):
                return add_global(_type_repr(arg).replace(".", "_"), arg)
            if callable(arg) and hasattr(arg, "__name__") and \
                    not isinstance(arg, ember.Tensor):
                return add_global(arg.__name__, arg)
            return repr(arg)

        def format_args(args, kwargs):
            parts = [get_repr(a) for a in args]
            parts += [f"{k} = {get_repr(v)}" for k, v in kwargs.items()]
            return ", ".join(parts)

        # last uses: each value is released after the last node that reads it
        last_use = {}
        user_to_last_uses = {}
        for node in reversed(list(nodes)):
            def register(n, user=node):
                if n not in last_use:
                    last_use[n] = user
                    user_to_last_uses.setdefault(user, []).append(n)
            map_arg(node.args, register)
            map_arg(node.kwargs, register)

        def release(user):
            if user.op == "placeholder":
                return
            if user.op == "output":
                body.append("\n")
                return
            dead = list(user_to_last_uses.get(user, []))
            if not user.users:
                dead.append(user)
            if dead:
                body.append(";  " + " = ".join([repr(n) for n in dead] + ["None"]) + "\n")
            else:
                body.append("\n")

        def annotation(node):
            if not verbose:
                return ""
            meta = node.meta.get("val", node.meta.get("tensor_meta"))
            if meta is None or not hasattr(meta, "shape") or not hasattr(meta, "dtype"):
                return ""
            dt = _DTYPE_ABBRS.get(str(meta.dtype).split(".")[-1], str(meta.dtype))
            return f': "{dt}[{", ".join(str(s) for s in meta.shape)}]"'

        prev_trace = [""]

        def stack_summary(node):
            if node.stack_trace != prev_trace[0]:
                prev_trace[0] = node.stack_trace
                if node.stack_trace:
                    body.append("\n# " + node.stack_trace.strip().replace("\n", "\n# ") + "\n")
                else:
                    body.append("\n# No stacktrace found for following nodes\n")

        for node in nodes:
            if verbose and node.op not in ("placeholder", "output"):
                stack_summary(node)
            ann = annotation(node)
            if not ann and node.type is not None and node.op != "output":
                ann = f" : {type_repr(node.type)}"
            name = repr(node)
            if node.op == "placeholder":
                default = "" if not node.args else f" = {get_repr(node.args[0])}"
                free_vars.append(f"{node.target}{ann}{default}")
                raw = node.target.replace("*", "")
                if raw != name:
                    body.append(f"{name} = {raw}\n")
            elif node.op == "call_method":
                body.append(f"{name}{ann} = {_format_target(get_repr(node.args[0]), node.target)}"
                            f"({format_args(node.args[1:], node.kwargs)})")
            elif node.op == "call_function":
                target = node.target
                fname = getattr(target, "__name__", None)
                if getattr(target, "__module__", None) == "_operator" and \
                        fname in MAGIC_METHODS and not node.kwargs:
                    body.append(f"{name}{ann} = "
                                f"{MAGIC_METHODS[fname].format(*(get_repr(a) for a in node.args))}")
                elif getattr(target, "__module__", None) == "_operator" and \
                        fname in INPLACE_METHODS and not node.kwargs:
                    body.append(f"{INPLACE_METHODS[fname].format(*(get_repr(a) for a in node.args))}"
                                f";  {name}{ann} = {get_repr(node.args[0])}")
                elif target is builtins.getattr and len(node.args) == 2 and \
                        isinstance(node.args[1], str) and node.args[1].isidentifier():
                    body.append(f"{name}{ann} = {_format_target(get_repr(node.args[0]), node.args[1])}")
                else:
                    gname = add_global(_qualified_hint(target), target)
                    body.append(f"{name}{ann} = {gname}({format_args(node.args, node.kwargs)})")
                    if node.meta.get("is_wrapped", False) and gname not in wrapped:
                        wrapped.append(gname)
            elif node.op == "call_module":
                body.append(f"{name}{ann} = {_format_target(root_module, node.target)}"
                            f"({format_args(node.args, node.kwargs)})")
            elif node.op == "get_attr":
                body.append(f"{name}{ann} = {_format_target(root_module, node.target)}")
            elif node.op == "output":
                body.append(f"return {get_repr(node.args[0])}")
            else:
                raise NotImplementedError(f"node: {node.op} {node.target}")
            release(node)

        if self._body_transformer is not None:
            body = list(self._body_transformer(body))
        if not body:
            body.append("pass\n")
        # the generated module registers its wrapped functions again, so that tracing the
        # GraphModule records them too
        wrap_stmts = "\n".join(f'ember.fx._symbolic_trace.wrap("{name}")' for name in wrapped)
        code = "".join(body).lstrip("\n")
        code = "\n".join("    " + line for line in code.split("\n"))
        outputs = [n for n in nodes if n.op == "output"]
        returns = f" -> {type_repr(outputs[0].type)}" \
            if outputs and outputs[0].type is not None else ""
        src = (f"\n{wrap_stmts}\n\ndef forward({', '.join([root_module] + free_vars)})"
               f"{returns}:\n{code}")
        return PythonCode(src, globals_)


def _qualified_hint(target):
    try:
        return _get_qualified_name(target).replace(".", "_") \
            if _public_path(target) is None else _get_qualified_name(target)
    except RuntimeError:
        return "_lambda"


class _NodeList:
    """The nodes of a graph in order (a live view: iteration skips nodes erased on the
    way, so a pass may erase the node it is looking at)."""

    def __init__(self, graph, direction="_next"):
        self._graph = graph
        self._direction = direction

    def __len__(self):
        return self._graph._len

    def __iter__(self):
        root = self._graph._root
        cur = getattr(root, self._direction)
        while cur is not root:
            if not cur._erased:
                yield cur
            cur = getattr(cur, self._direction)

    def __reversed__(self):
        return iter(_NodeList(self._graph, "_prev" if self._direction == "_next" else "_next"))

    def __repr__(self):
        return repr(list(self))


class _InsertPoint:
    def __init__(self, graph, new_insert):
        self.graph = graph
        self.orig_insert, graph._insert = graph._insert, new_insert

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        self.graph._insert = self.orig_insert


class Graph:
    """A program as Nodes (see the module docstring).

    ``str(graph)`` prints one line per node as torch.fx does; ``python_code`` writes it as
    Python; ``owning_module`` is the GraphModule that runs it (if any)."""

    def __init__(self, owning_module=None, tracer_cls=None, tracer_extras=None):
        self._root = Node(self, "", "root", "", (), {})
        self._used_names = {}
        self._insert = self._root.prepend
        self._len = 0
        self._graph_namespace = _Namespace()
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls
        self._tracer_extras = tracer_extras
        self._codegen = CodeGen()
        self._co_fields = {}

    @property
    def owning_module(self):
        return self._owning_module

    @owning_module.setter
    def owning_module(self, mod):
        self._owning_module = mod

    @property
    def nodes(self):
        """The nodes in program order."""
        return _NodeList(self)

    def find_nodes(self, *, op, target=None, sort=True):
        """The nodes with this op (and this target, when given), in program order."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # ---- making nodes ----
    def _target_to_str(self, target):
        if callable(target):
            op = _callable_name(target)
        else:
            op = target
            if op.startswith("__") and op.endswith("__"):
                op = op[2:-2]
        return _snake_case(op)

    def create_node(self, op, target, args=None, kwargs=None, name=None, type_expr=None):
        """A new node at the insertion point; `name` defaults to one made from `target`."""
        args = () if args is None else args
        kwargs = {} if kwargs is None else kwargs
        if not isinstance(args, tuple):
            raise AssertionError("args must be a tuple")
        if not isinstance(kwargs, dict):
            raise AssertionError("kwargs must be a dict")
        candidate = name if name is not None else self._target_to_str(target)
        name = self._graph_namespace.create_name(candidate, None)
        n = Node(self, name, op, target, args, kwargs, type_expr)
        self._graph_namespace.associate_name_with_obj(name, n)
        self._insert(n)
        self._len += 1
        return n

    def placeholder(self, name, type_expr=None, default_value=inspect.Signature.empty):
        """An input of the program; `default_value` (when given) is its default."""
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args=args, type_expr=type_expr)

    def get_attr(self, qualified_name, type_expr=None):
        """A read of the owning module's attribute `qualified_name` ('layer1.0.weight')."""
        mod = self.owning_module
        if mod is not None:
            obj = mod
            for atom in qualified_name.split("."):
                if not hasattr(obj, atom):
                    warnings.warn("Attempted to insert a get_attr Node with no underlying "
                                  "reference in the owning GraphModule! Call "
                                  "GraphModule.add_submodule to add the necessary submodule, "
                                  "GraphModule.add_parameter to add the necessary Parameter, "
                                  "or nn.Module.register_buffer to add the necessary buffer",
                                  stacklevel=2)
                    break
                obj = getattr(obj, atom)
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name, args=None, kwargs=None, type_expr=None):
        """A call of the owning module's submodule `module_name`."""
        mod = self.owning_module
        if mod is not None:
            try:
                mod.get_submodule(module_name)
            except AttributeError:
                warnings.warn("Attempted to insert a call_module Node with no underlying "
                              "reference in the owning GraphModule! Call "
                              "GraphModule.add_submodule to add the necessary submodule",
                              stacklevel=2)
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name, args=None, kwargs=None, type_expr=None):
        """A call of method `method_name` on ``args[0]``."""
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function, args=None, kwargs=None, type_expr=None, name=None):
        """A call of the free function `the_function`."""
        return self.create_node("call_function", the_function, args, kwargs, name=name,
                                type_expr=type_expr)

    def output(self, result, type_expr=None):
        """The program's return value."""
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def node_copy(self, node, arg_transform=lambda x: x):
        """A copy of `node` (from any graph) inserted here, its Node arguments mapped by
        `arg_transform`."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        result = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        result.meta = dict(node.meta)
        return result

    def graph_copy(self, g, val_map, return_output_node=False):
        """Copy every node of graph `g` into this one; `val_map` maps g's nodes to the
        copies (and is filled in). Returns the value g's output returns, mapped (or the
        output node copied, with return_output_node)."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                rv = map_arg(node.args[0], lambda n: val_map[n])
                return rv if not return_output_node else (rv, node)
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __deepcopy__(self, memo=None):
        g = Graph(tracer_cls=self._tracer_cls)
        memo = {} if memo is None else memo
        output_vals = g.graph_copy(self, val_map=memo, return_output_node=True)
        if output_vals is not None:
            rv, old_out = output_vals
            new_out = g.output(rv, type_expr=old_out.type)
            new_out.meta = dict(old_out.meta)
        return g

    def inserting_before(self, n=None):
        """Context manager: new nodes go just before `n` (the start when None)."""
        if n is None:
            return self.inserting_after(self._root)
        if n.graph is not self:
            raise AssertionError("Node to insert before is not in graph.")
        return _InsertPoint(self, n.prepend)

    def inserting_after(self, n=None):
        """Context manager: new nodes go just after `n` (the end... of the start when
        None: torch's convention, after the root)."""
        if n is None:
            return self.inserting_before(self._root)
        if n.graph is not self:
            raise AssertionError("Node to insert after is not in graph.")
        return _InsertPoint(self, n.append)

    # ---- removing nodes ----
    def erase_node(self, to_erase):
        """Remove a node nobody reads (RuntimeError while it has users)."""
        if len(to_erase.users) > 0:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had "
                               f"{len(to_erase.users)} users in the graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            warnings.warn(f"erase_node({to_erase}) on an already erased node")
            return
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs((), {})

    def eliminate_dead_code(self, is_impure_node=None):
        """Erase the nodes whose values nobody reads and that have no side effects (walking
        backwards, so chains of dead nodes go at once); whether anything was erased."""
        self.lint()
        changed = False
        for node in reversed(self.nodes):
            impure = is_impure_node(node) if is_impure_node is not None else node.is_impure()
            if not impure and len(node.users) == 0:
                self.erase_node(node)
                changed = True
        return changed

    # ---- checks and text ----
    def lint(self):
        """Check the graph is well formed: known ops, nodes defined before use and owned
        by this graph, unique names, get_attr/call_module targets present in the owning
        module (RuntimeError otherwise)."""
        seen_values = set()
        seen_names = set()
        for node in self.nodes:
            if node.op not in ("placeholder", "call_method", "call_module", "call_function",
                               "get_attr", "output"):
                raise RuntimeError(f"Node {node} had unknown opcode {node.op}!")
            if node.graph is not self:
                raise RuntimeError(f"Node '{node}' does not belong to this Graph!")
            for arg in node._input_nodes:
                context = f" of Node '{node}' "
                if arg.graph is not self:
                    raise RuntimeError(
                        f"Argument '{arg}'{context}does not belong to this Graph, but was used "
                        "as an argument! If you are copying nodes from another graph, make "
                        f"sure to use ``arg_transform`` on node_copy() to remap values\n{self}")
                if arg not in seen_values:
                    raise RuntimeError(
                        f"Argument '{arg}'{context}was used before it has been defined! Please "
                        f"check that Nodes in the graph are topologically ordered\n{self}")
            seen_values.add(node)
            if node.name in seen_names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            seen_names.add(node.name)
        if self.owning_module is None:
            return
        for node in self.nodes:
            if node.op not in ("get_attr", "call_module"):
                continue
            obj = self.owning_module
            seen = []
            for atom in node.target.split("."):
                if not hasattr(obj, atom):
                    raise RuntimeError(f"Node {node} target {node.target} references "
                                       f"nonexistent attribute {atom} of {'.'.join(seen)}")
                obj = getattr(obj, atom)
                seen.append(atom)
            from ..nn import Module
            if node.op == "call_module" and not isinstance(obj, Module):
                raise RuntimeError(f"Node {node} target {node.target} {atom} of "
                                   f"{'.'.join(seen[:-1])} does not reference an nn.Module")

    def __str__(self):
        lines = [node.format_node() for node in self.nodes]
        return "graph():" + "".join("\n    " + line for line in lines if line)

    def print_tabular(self):
        """Print the nodes as a table (opcode, name, target, args, kwargs); needs the
        `tabulate` package, as torch's."""
        try:
            from tabulate import tabulate
        except ImportError:
            print("`print_tabular` relies on the library `tabulate`, which could not be found "
                  "on this machine. Run `pip install tabulate` to install the library.")
            raise
        specs = [[n.op, n.name, n.target, n.args, n.kwargs] for n in self.nodes]
        print(tabulate(specs, headers=["opcode", "name", "target", "args", "kwargs"]))

    def python_code(self, root_module, *, verbose=False, include_stride=False,
                    include_device=False, colored=False):
        """The graph as the source of ``forward(<root_module>, <inputs>)``, with the
        globals that source needs (a PythonCode)."""
        return self._codegen.generate(list(self.nodes), root_module, verbose=verbose)

    def set_codegen(self, codegen):
        self._codegen = codegen

    def on_generate_code(self, make_transformer):
        """Install ``make_transformer(current)`` as the transformer of the generated
        forward's body (a function from the list of code fragments to a new list, e.g.
        one that prepends ``"import pdb; pdb.set_trace()\\n"``), where `current` is
        the one installed before (or None). It applies from the next ``recompile()``; the
        returned context manager puts the previous transformer back on exit."""
        previous = self._codegen._body_transformer
        self._codegen._body_transformer = make_transformer(previous)

        @contextlib.contextmanager
        def restore_on_exit():
            try:
                yield
            finally:
                self._codegen._body_transformer = previous
        return restore_on_exit()


def _to_folder_imports(globals_):
    """The import lines a generated forward needs in a file of its own (to_folder): its
    globals other than ember and the builtins, each imported from where it is defined
    (``inf``/``nan`` from math, ``device`` from ember, functions by module and name)."""
    import ember
    lines = []
    for name, obj in globals_.items():
        if name == "ember" or getattr(builtins, name, None) is obj:
            continue
        if name in _CUSTOM_BUILTINS:
            lines.append(f"from math import {name}")
        elif obj is ember.device:
            lines.append(f"from ember import device as {name}")
        elif isinstance(obj, types.ModuleType):
            lines.append(f"import {obj.__name__} as {name}")
        elif obj is type(None):   # (an annotation's Optional[T]: no module exports it)
            lines.append(f"{name} = type(None)")
        else:
            module, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
            if module and qual and "." not in qual and "<" not in qual:
                lines.append(f"from {module} import {qual} as {name}")
    return lines


_EVAL_COUNT = [0]


def _exec_with_source(src, globals_):
    """Run `src` (a module body) in `globals_` under a file name that linecache knows, so
    tracebacks and inspect show the generated lines."""
    _EVAL_COUNT[0] += 1
    key = f"<eval_with_key>.{_EVAL_COUNT[0]}"
    linecache.cache[key] = (len(src), None, src.splitlines(True), key)
    exec(compile(src, key, "exec"), globals_)
