"""``save(ep, f)`` / ``load(f)``: an ExportedProgram as a .pt2 archive of data.

The archive (a zip) holds

- ``ember_export/program.json``: the graph as a node list (op, name, target, arguments
  with node references by name, the value's shape and dtype), the graph signature, the
  guards, the input/output nesting and the dynamic dims' ranges;
- ``ember_export/weights.pt``: the state dict and constants, through ``ember.save``'s
  tensor format (read back with ``ember.load(weights_only=True)``).

Nothing in the file is executed: a target is a name that `_targets.resolve` looks up among
ember's public tensor operations (refusing anything else: file, process and settings
functions, private names, other modules), arguments are JSON values of a few tagged kinds
(tuple, dtype, device, slice, node ...), and the loaded program is a Graph rebuilt node by
node. PyTorch's .pt2 format (its own JSON schema) is neither written nor read.
"""
import collections
import io
import json
import math
import os
import sys
import zipfile

import numpy as np

from ..fx.graph import Graph
from ..fx.node import Node
from ..utils import _pytree
from .exported_program import ExportedProgram, CallSpec, InputGuard, ModuleCallEntry, \
    ModuleCallSignature
from .graph_signature import (InputKind, OutputKind, InputSpec, OutputSpec, TensorArgument,
                              SymIntArgument, ConstantArgument, ExportGraphSignature)
from ._targets import ExportOp, OpReplay, resolve, target_path
from ._trace import TensorMeta

__all__ = ["save", "load"]

_FORMAT = "ember-export-pt2"
_VERSION = 1


# --------------------------------------------------------------------------------------
# values


def _enc(v):
    """A graph argument or constant as JSON (tagged dicts for what JSON lacks)."""
    import ember
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else {"float": repr(v)}
    if isinstance(v, Node):
        return {"node": v.name}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if type(v) is tuple:
        return {"tuple": [_enc(x) for x in v]}
    if isinstance(v, ember.Size):
        return {"size": [_enc(x) for x in v]}
    if isinstance(v, np.generic) and v.shape == ():   # a NumPy scalar: its Python value
        return _enc(v.item())
    if type(v) is dict:
        return {"dict": [[_enc(k), _enc(x)] for k, x in v.items()]}
    if isinstance(v, complex):
        return {"complex": [v.real, v.imag]}
    if isinstance(v, slice):
        return {"slice": [_enc(v.start), _enc(v.stop), _enc(v.step)]}
    if v is Ellipsis:
        return {"ellipsis": True}
    if isinstance(v, ember.dtype):
        return {"dtype": str(v).split(".")[-1]}
    if isinstance(v, ember.device):
        return {"device": str(v)}
    for name in _ENUM_NAMES:
        if getattr(ember, name, None) is v:
            return {"ember": name}
    raise NotImplementedError(f"ember.export.save: cannot store the argument {v!r} "
                              f"({type(v).__name__}) of an exported graph")


# ember attributes an argument may name (memory formats, layouts)
_ENUM_NAMES = ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format",
               "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr",
               "sparse_bsc", "jagged", "per_tensor_affine", "per_channel_affine",
               "per_tensor_symmetric", "per_channel_symmetric",
               "per_channel_affine_float_qparams")


def _dec(v, env):
    import ember
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, list):
        return [_dec(x, env) for x in v]
    if not isinstance(v, dict) or len(v) != 1:
        raise ValueError(f"ember.export.load: malformed value {v!r}")
    (tag, x), = v.items()
    if tag == "node":
        if x not in env:
            raise ValueError(f"ember.export.load: reference to unknown node {x!r}")
        return env[x]
    if tag == "tuple":
        return tuple(_dec(i, env) for i in x)
    if tag == "size":
        return ember.Size(_dec(i, env) for i in x)
    if tag == "dict":
        return {_dec(k, env): _dec(i, env) for k, i in x}
    if tag == "float" and x in ("inf", "-inf", "nan"):
        return float(x)
    if tag == "complex":
        return complex(float(x[0]), float(x[1]))
    if tag == "slice":
        return slice(*(_dec(i, env) for i in x))
    if tag == "ellipsis":
        return Ellipsis
    if tag == "dtype":
        dt = getattr(ember, str(x), None)
        if not isinstance(dt, ember.dtype):
            raise ValueError(f"ember.export.load: unknown dtype {x!r}")
        return dt
    if tag == "device":
        return ember.device(str(x))
    if tag == "ember" and x in _ENUM_NAMES:
        return getattr(ember, x)
    raise ValueError(f"ember.export.load: unknown value tag {tag!r}")


# a defaultdict's default_factory is stored by name, from these only
_FACTORIES = {"list": list, "dict": dict, "int": int, "float": float, "set": set,
              "tuple": tuple, "str": str, "None": None}


def _enc_tree(spec):
    """A TreeSpec as JSON: its nest with `{"leaf": 1}` leaves. Containers: tuple, list,
    dict, OrderedDict, defaultdict (of a builtin factory), deque, namedtuples (by module,
    name and fields) and ember.return_types' tuples (by name)."""
    def walk(s):
        if s.type is None:
            return {"leaf": 1}
        children = [walk(c) for c in s.children_specs]
        kind = s.type
        if kind is tuple:
            return {"tuple": children}
        if kind is list:
            return children
        if kind in (dict, collections.OrderedDict):
            tag = "dict" if kind is dict else "odict"
            return {tag: [[_enc(k), c] for k, c in zip(s.context, children)]}
        if kind is collections.defaultdict:
            factory, keys = s.context
            name = next((n for n, f in _FACTORIES.items() if f is factory), None)
            if name is None:
                raise NotImplementedError(f"ember.export.save: cannot store a defaultdict "
                                          f"whose default_factory is {factory!r}")
            return {"defaultdict": [name, [[_enc(k), c] for k, c in zip(keys, children)]]}
        if kind is collections.deque:
            return {"deque": [s.context, children]}
        if kind.__name__ == "namedtuple":
            cls = s.context
            return {"namedtuple": [cls.__module__, cls.__qualname__, list(cls._fields),
                                   children]}
        if kind.__name__ == "structseq":
            return {"structseq": [s.context.__name__, children]}
        raise NotImplementedError(f"ember.export.save: cannot store an input/output "
                                  f"container of type {kind.__name__}")
    return walk(spec)


def _namedtuple_class(module, qualname, fields):
    """The namedtuple class `module.qualname` when that module is already imported and
    the class has these fields (looked up, never imported); otherwise a namedtuple class
    of that name and fields."""
    parts = module.split(".")
    obj, rest = None, []
    for i in range(len(parts), 0, -1):   # the longest imported prefix, then attributes
        obj = sys.modules.get(".".join(parts[:i]))
        if obj is not None:
            rest = parts[i:]
            break
    for part in rest + qualname.split("."):
        obj = getattr(obj, part, None) if obj is not None else None
    if _pytree.is_namedtuple_class(obj) and list(obj._fields) == list(fields):
        return obj
    name = qualname.rpartition(".")[2]
    if not name.isidentifier() or not all(isinstance(f, str) and f.isidentifier()
                                          for f in fields):
        raise ValueError(f"ember.export.load: malformed namedtuple {qualname!r} {fields!r}")
    return collections.namedtuple(name, fields, module=module)


def _dec_tree(v):
    import ember

    def pairs(val):
        return [(_dec(k, {}), build(i)) for k, i in val]

    def build(x):
        if isinstance(x, list):
            return [build(i) for i in x]
        (tag, val), = x.items()
        if tag == "leaf":
            return 0
        if tag == "tuple":
            return tuple(build(i) for i in val)
        if tag == "dict":
            return dict(pairs(val))
        if tag == "odict":
            return collections.OrderedDict(pairs(val))
        if tag == "defaultdict" and val[0] in _FACTORIES:
            return collections.defaultdict(_FACTORIES[val[0]], pairs(val[1]))
        if tag == "deque":
            return collections.deque([build(i) for i in val[1]], maxlen=val[0])
        if tag == "namedtuple":
            module, qualname, fields, children = val
            return _namedtuple_class(module, qualname, fields)(*[build(i) for i in children])
        if tag == "structseq":
            cls = getattr(ember.return_types, str(val[0]), None)
            if not _pytree.is_structseq_class(cls):
                raise ValueError(f"ember.export.load: unknown return type {val[0]!r}")
            return cls([build(i) for i in val[1]])
        raise ValueError(f"ember.export.load: malformed tree {x!r}")
    return _pytree.tree_structure(build(v))


def _enc_meta(meta):
    if isinstance(meta, TensorMeta):
        return {"shape": [s if isinstance(s, str) else int(s) for s in meta.shape],
                "dtype": str(meta.dtype).split(".")[-1], "device": str(meta.device)}
    if isinstance(meta, str):
        return {"symbol": meta}
    return None


def _dec_meta(m):
    import ember
    if m is None:
        return None
    if "symbol" in m:
        return str(m["symbol"])
    return TensorMeta(m["shape"], _dec({"dtype": m["dtype"]}, {}),
                      ember.device(m["device"]))


# --------------------------------------------------------------------------------------
# operators defined with ember.library (``ember.ops.<namespace>.<name>``)


def _custom_op_name(fn):
    """"namespace::name[.overload]" of an operator defined with ember.library, else None."""
    from ..library import _operators
    if isinstance(fn, _operators.OpOverloadPacket):
        return fn._qualified_op_name
    if isinstance(fn, _operators.OpOverload):
        return f"{fn.overloadpacket._qualified_op_name}.{fn._overloadname}"
    return None


def _custom_op_target(entry):
    """The graph target of a saved call of an ember.library operator: the operator must be
    defined in this process (as PyTorch's load needs the custom op registered); nothing is
    imported to define it."""
    from ..library import _operators, _registry
    qualname = entry["custom_op"]
    if not isinstance(qualname, str) or "::" not in qualname:
        raise ValueError(f"ember.export.load: malformed operator name {qualname!r}")
    base, _, overload = qualname.partition(".")
    if not _registry._defined(base):
        raise RuntimeError(f"ember.export.load: the program calls the operator {base}, "
                           f"which is not defined in this process: define it (import the "
                           f"module that calls ember.library.custom_op) before loading")
    namespace, name = _registry.parse_namespace(base)
    fn = _operators._packet_named(namespace, name)
    if overload:
        fn = getattr(fn, overload)
    aten, path = entry["aten"], entry["target"]
    if not isinstance(aten, str) or not isinstance(path, str):
        raise ValueError(f"ember.export.load: malformed target {path!r}")
    return ExportOp(fn, aten, path)


# --------------------------------------------------------------------------------------
# save


def save(ep, f, *, extra_files=None, opset_version=None, pickle_protocol=2):
    """Write ExportedProgram `ep` to `f` (a path or a binary file) as a .pt2 archive."""
    import ember
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"The 'ep' parameter must be an instance of 'ExportedProgram', got "
                        f"'{type(ep).__name__}' instead.")
    nodes = []
    for node in ep.graph.nodes:
        entry = {"op": node.op, "name": node.name}
        if node.op == "call_function":
            if not isinstance(node.target, ExportOp):
                path = target_path(node.target)
                if path is None:
                    raise NotImplementedError(f"ember.export.save: the graph calls "
                                              f"{node.target!r}, which has no saved name")
                entry["target"], entry["aten"] = path, path
            else:
                entry["target"], entry["aten"] = node.target.path, node.target.aten_name
                custom = _custom_op_name(node.target.fn)
                if custom is not None:
                    entry["custom_op"] = custom
                if isinstance(node.target.fn, OpReplay):
                    entry["replay"] = node.target.fn.state()
        elif node.op in ("placeholder", "get_attr"):
            entry["target"] = node.target
        elif node.op != "output":
            raise NotImplementedError(f"ember.export.save: node kind {node.op} is not stored")
        entry["args"] = _enc(tuple(node.args))
        entry["kwargs"] = _enc(dict(node.kwargs))
        entry["meta"] = _enc_meta(node.meta.get("val"))
        entry["stack_trace"] = node.stack_trace
        nodes.append(entry)
    sig = ep.graph_signature

    def arg_entry(arg):
        if isinstance(arg, ConstantArgument):
            return {"constant": arg.name, "value": _enc(arg.value)}
        return {"kind": type(arg).__name__, "name": arg.name}

    program = {
        "format": _FORMAT, "version": _VERSION, "nodes": nodes,
        "input_specs": [{"kind": s.kind.name, "arg": arg_entry(s.arg), "target": s.target,
                         "persistent": s.persistent} for s in sig.input_specs],
        "output_specs": [{"kind": s.kind.name, "arg": arg_entry(s.arg), "target": s.target}
                         for s in sig.output_specs],
        "range_constraints": {s: [lo, None if hi == math.inf else hi]
                              for s, (lo, hi) in ep.range_constraints.items()},
        "guards": [{"name": g.name, "shape": None if g.shape is None else list(g.shape),
                    "value": _enc(g.value), "is_tensor": g.is_tensor} for g in ep._guards],
        "in_spec": _enc_tree(ep.call_spec.in_spec),
        "out_spec": _enc_tree(ep.call_spec.out_spec),
        "arg_names": list(ep._arg_names),
        "requires_grad": {k: bool(v.requires_grad) for k, v in ep.state_dict.items()},
    }
    weights = io.BytesIO()
    with ember.no_grad():
        ember.save({"state_dict": {k: v.detach() for k, v in ep.state_dict.items()},
                    "constants": {k: v.detach() for k, v in ep.constants.items()}}, weights)
    own = not hasattr(f, "write")
    fh = open(f, "wb") if own else f
    try:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as z:
            z.writestr("archive_format", _FORMAT)
            z.writestr("ember_export/version", str(_VERSION))
            z.writestr("ember_export/program.json", json.dumps(program))
            z.writestr("ember_export/weights.pt", weights.getvalue())
            for name, data in (extra_files or {}).items():
                z.writestr("extra/" + os.path.basename(name),
                           data.encode() if isinstance(data, str) else data)
    finally:
        if own:
            fh.close()


# --------------------------------------------------------------------------------------
# load


def load(f, *, extra_files=None, expected_opset_version=None):
    """Read an ExportedProgram written by `save` (never runs code from the file)."""
    import ember
    from ..nn import Parameter
    own = not hasattr(f, "read")
    fh = open(f, "rb") if own else f
    try:
        with zipfile.ZipFile(fh) as z:
            names = set(z.namelist())
            if "ember_export/program.json" not in names:
                raise RuntimeError("ember.export.load: not an ember export archive (no "
                                   "ember_export/program.json); PyTorch's .pt2 files are not "
                                   "read")
            program = json.loads(z.read("ember_export/program.json"))
            weights = ember.load(io.BytesIO(z.read("ember_export/weights.pt")),
                                 weights_only=True)
            if extra_files is not None:
                for name in list(extra_files):
                    key = "extra/" + os.path.basename(name)
                    if key in names:
                        extra_files[name] = z.read(key).decode()
    finally:
        if own:
            fh.close()
    if program.get("format") != _FORMAT or program.get("version") != _VERSION:
        raise RuntimeError(f"ember.export.load: unsupported archive format "
                           f"{program.get('format')!r} version {program.get('version')!r}")

    graph = Graph()
    env = {}
    for entry in program["nodes"]:
        op = entry["op"]
        args = _dec(entry["args"], env)
        kwargs = _dec(entry["kwargs"], env)
        if not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise ValueError("ember.export.load: malformed node arguments")
        if op == "call_function" and "custom_op" in entry:
            target = _custom_op_target(entry)
        elif op == "call_function":
            target = resolve(entry["target"], entry["aten"], entry.get("replay"))
        elif op in ("placeholder", "get_attr"):
            target = str(entry["target"])
        elif op == "output":
            target = "output"
        else:
            raise ValueError(f"ember.export.load: unknown node kind {op!r}")
        node = graph.create_node(op, target, args, kwargs, name=str(entry["name"]))
        if op == "placeholder" and node.name != entry["name"] and \
                str(entry["name"]).isidentifier():
            node.name = str(entry["name"])   # (an input named as a builtin, as saved)
        meta = _dec_meta(entry.get("meta"))
        if meta is not None:
            node.meta["val"] = meta
        if entry.get("stack_trace"):
            node.stack_trace = str(entry["stack_trace"])
        env[entry["name"]] = node

    def arg_of(a):
        if "constant" in a:
            return ConstantArgument(a["constant"], _dec(a["value"], {}))
        kinds = {"TensorArgument": TensorArgument, "SymIntArgument": SymIntArgument}
        return kinds[a["kind"]](a["name"])

    input_specs = [InputSpec(InputKind[s["kind"]], arg_of(s["arg"]), s["target"],
                             s["persistent"]) for s in program["input_specs"]]
    output_specs = [OutputSpec(OutputKind[s["kind"]], arg_of(s["arg"]), s["target"])
                    for s in program["output_specs"]]
    requires_grad = program.get("requires_grad", {})
    state_dict = {}
    for k, v in weights["state_dict"].items():
        kind = next((s.kind for s in input_specs if s.target == k), None)
        state_dict[k] = Parameter(v, requires_grad=requires_grad.get(k, True)) \
            if kind == InputKind.PARAMETER else v
    guards = [InputGuard(g["name"], g["shape"], _dec(g["value"], {}), g["is_tensor"])
              for g in program["guards"]]
    ranges = {s: (lo, math.inf if hi is None else hi)
              for s, (lo, hi) in program["range_constraints"].items()}
    in_spec, out_spec = _dec_tree(program["in_spec"]), _dec_tree(program["out_spec"])
    arg_names = [str(n) for n in program["arg_names"]]
    call_graph = [ModuleCallEntry("", ModuleCallSignature([], [], in_spec, out_spec,
                                                          arg_names))]
    return ExportedProgram(None, graph, ExportGraphSignature(input_specs, output_specs),
                           state_dict, ranges, call_graph, None, weights["constants"],
                           call_spec=CallSpec(in_spec, out_spec), guards=guards,
                           arg_names=arg_names)
