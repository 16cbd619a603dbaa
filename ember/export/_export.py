"""``export(mod, args, kwargs=None, *, dynamic_shapes=None, ...)``: trace, then package.

The steps: match `dynamic_shapes` to the input leaves (dynamic_shapes.py), trace forward
into a graph (_trace.py), and build the ExportedProgram around it: the graph signature
(parameters ``p_*``, buffers ``b_*``, constants ``c_*``, user inputs by argument name,
as PyTorch names them), the state dict (the module's own parameter and buffer objects),
the constants, the guards and the range of each dynamic dim.
"""
import inspect

from .._tensor import Tensor
from ..nn.modules.module import Module
from ..utils import _pytree
from .dynamic_shapes import tensor_spec_dims
from .exported_program import ExportedProgram, CallSpec, InputGuard, ModuleCallEntry, \
    ModuleCallSignature
from .graph_signature import (InputKind, OutputKind, InputSpec, OutputSpec, TensorArgument,
                              ConstantArgument, SymIntArgument, ExportGraphSignature)
from ._errors import UserError
from ._trace import trace_module

__all__ = ["export"]


def export(mod, args, kwargs=None, *, dynamic_shapes=None, strict=False,
           preserve_module_call_signature=(), prefer_deferred_runtime_asserts_over_guards=False):
    """Trace ``mod(*args, **kwargs)`` into an ExportedProgram (``torch.export.export``).

    `strict` is accepted: ember always traces as PyTorch's non-strict mode does (the
    Python program runs; its ember calls are recorded). `preserve_module_call_signature`
    is accepted and has no effect on the graph (ember's graph is never inlined across
    submodule boundaries differently)."""
    if not isinstance(mod, Module):
        raise ValueError(f"Expected `mod` to be an instance of `torch.nn.Module`, got "
                         f"{type(mod)}.")
    if not isinstance(args, tuple):
        raise UserError(f"Expecting `args` to be a tuple of example positional inputs, got "
                        f"{type(args)}")
    kwargs = dict(kwargs or {})
    dynamic, named_dims = _dynamic_leaves(mod, args, kwargs, dynamic_shapes)
    tr, rename, ranges = _trace_refined(mod, args, kwargs, dynamic, named_dims)
    graph = tr.graph

    input_specs = []
    state_dict = {}
    constants = {}
    for kind, node, target, persistent in tr.specs:
        value = _lookup(mod, target, kind)
        arg = TensorArgument(tr.node_map[node].name)
        if kind == "PARAMETER":
            input_specs.append(InputSpec(InputKind.PARAMETER, arg, target))
            state_dict[target] = value
        else:
            input_specs.append(InputSpec(InputKind.BUFFER, arg, target, persistent))
            if persistent:
                state_dict[target] = value
            else:
                constants[target] = value
    for node, value in tr.constants:
        target = node.meta["constant_target"]
        input_specs.append(InputSpec(InputKind.CONSTANT_TENSOR,
                                     TensorArgument(tr.node_map[node].name), target))
        constants[target] = value

    guards = []
    for i, x in enumerate(tr.input_leaves):
        node = tr.node_map[tr.user_inputs[i]]
        if isinstance(x, Tensor):
            input_specs.append(InputSpec(InputKind.USER_INPUT, TensorArgument(node.name)))
            shape = node.meta["val"].shape
            guards.append(InputGuard(node.name, tuple(rename.get(s, s) for s in shape)))
        else:
            input_specs.append(InputSpec(InputKind.USER_INPUT, ConstantArgument(node.name, x)))
            guards.append(InputGuard(node.name, value=x, is_tensor=False))

    output_node = next(n for n in graph.nodes if n.op == "output")
    output_specs = []
    for o in output_node.args[0]:
        if hasattr(o, "op"):
            arg = SymIntArgument(o.name) if isinstance(o.meta.get("val"), (int, str)) \
                else TensorArgument(o.name)
        else:
            arg = ConstantArgument("", o)
        output_specs.append(OutputSpec(OutputKind.USER_OUTPUT, arg))

    signature = ExportGraphSignature(input_specs, output_specs)
    call_spec = CallSpec(tr.in_spec, tr.out_spec)
    arg_names = _positional_names(mod)
    call_graph = [ModuleCallEntry("", ModuleCallSignature([], [], tr.in_spec, tr.out_spec,
                                                          arg_names))]
    call_graph += [ModuleCallEntry(fqn) for fqn in preserve_module_call_signature]
    return ExportedProgram(Module(), graph, signature, state_dict, ranges, call_graph,
                           (tuple(args), kwargs), constants, call_spec=call_spec,
                           guards=guards, arg_names=arg_names)


def _trace_refined(mod, args, kwargs, dynamic, named_dims):
    """The trace with its dims refined (_refine_dims.py): (TraceResult, trace symbol ->
    program symbol, program symbol -> (min, max)).

    The trace takes a dim equal to a dynamic dim's example size for that dim (duck
    sizing), so a size that only happens to equal it (shufflenet's 2x2 maps at example
    batch 2: ``x.view(batchsize, groups, c, height, width)``) is recorded as the batch,
    and the graph fails at other sizes. When the refining run at other sizes fails, the
    program is traced again with the dynamic dims at those other sizes (the example's
    entries repeated); that trace is kept if it runs at other sizes, else the first."""
    tr, rename, ranges, ok = _trace_once(mod, args, kwargs, dynamic, named_dims)
    if ok is not False:
        return tr, rename, ranges
    from ._refine_dims import resized_example, at_example_sizes
    other = resized_example(args, kwargs, dynamic)
    if other is None:
        return tr, rename, ranges
    kept = {name: dict(entry) for name, entry in named_dims.items()}
    for entry in named_dims.values():
        entry.pop("symbol", None)
    try:
        again = _trace_once(mod, other[0], other[1], dynamic, named_dims)
        ok = again[3] is not False and at_example_sizes(
            again[0].graph, again[0], _state(mod, again[0]), tr.input_leaves)
    except Exception:   # noqa: BLE001 -- a program that only runs at its example sizes
        ok = False
    if not ok:
        for name, entry in kept.items():
            named_dims[name].clear()
            named_dims[name].update(entry)
        return tr, rename, ranges
    again[0].input_leaves = tr.input_leaves      # (the program's own example inputs)
    return again[:3]


def _state(mod, tr):
    state = {tr.node_map[node]: (_lookup(mod, target, kind), kind == "PARAMETER")
             for kind, node, target, _ in tr.specs}
    state.update({tr.node_map[node]: (value, False) for node, value in tr.constants})
    return state


def _trace_once(mod, args, kwargs, dynamic, named_dims):
    """Trace, name the symbols of shared Dims as one, and refine the dims; the last item:
    False when the graph did not run at other sizes."""
    tr = trace_module(mod, args, kwargs, dynamic)

    # symbols shared through one Dim (one name): one symbol
    graph = tr.graph
    ranges = {}
    rename = {}
    for symbol, (_, _, _) in tr.symbols.items():
        leaf, dim = _symbol_source(tr, symbol)
        lo, hi, name = dynamic[leaf][dim]
        if name is not None and name in named_dims:
            rename[symbol] = named_dims[name].setdefault("symbol", symbol)
        ranges.setdefault(rename.get(symbol, symbol), (lo, hi))
    if rename:
        _rename_symbols(graph, rename)

    ok = None
    if tr.symbols:      # sizes that only equal a dynamic dim's example are static
        from ._refine_dims import refine_dims
        ok = refine_dims(graph, tr, rename, ranges, _state(mod, tr))
    return tr, rename, ranges, ok


def _lookup(mod, target, kind):
    *prefix, field = target.split(".")
    owner = mod
    for p in prefix:
        owner = getattr(owner, p)
    return owner._parameters[field] if kind == "PARAMETER" else owner._buffers[field]


def _positional_names(mod):
    try:
        sig = inspect.signature(mod.forward)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _symbol_source(tr, symbol):
    _, dim, _ = tr.symbols[symbol]
    return tr.symbol_leaf[symbol], dim


def _rename_symbols(graph, rename):
    from ._trace import TensorMeta
    for node in graph.nodes:
        val = node.meta.get("val")
        if isinstance(val, TensorMeta):
            node.meta["val"] = TensorMeta([rename.get(s, s) if isinstance(s, str) else s
                                           for s in val.shape], val.dtype, val.device)
        elif isinstance(val, str):
            node.meta["val"] = rename.get(val, val)


def _dynamic_leaves(mod, args, kwargs, dynamic_shapes):
    """{leaf index of (args, kwargs): {dim: (min, max, Dim name)}} and {Dim name: {}}."""
    if dynamic_shapes is None:
        return {}, {}
    names = _positional_names(mod)
    try:
        bound = inspect.signature(mod.forward).bind(*args, **kwargs)
        values = list(bound.arguments.items())
    except (TypeError, ValueError):
        values = [(names[i] if i < len(names) else f"args_{i}", a)
                  for i, a in enumerate(args)] + list(kwargs.items())
    if isinstance(dynamic_shapes, dict):
        unknown = set(dynamic_shapes) - {k for k, _ in values}
        if unknown:
            raise UserError(f"dynamic_shapes has keys {sorted(unknown)} that are not "
                            f"arguments of forward ({[k for k, _ in values]})")
        specs = {k: dynamic_shapes.get(k) for k, _ in values}
    elif isinstance(dynamic_shapes, (tuple, list)):
        if len(dynamic_shapes) != len(values):
            raise UserError(f"dynamic_shapes has {len(dynamic_shapes)} entries, but forward "
                            f"was given {len(values)} arguments")
        specs = {k: s for (k, _), s in zip(values, dynamic_shapes)}
    else:
        raise UserError(f"dynamic_shapes must be a dict, tuple or list, got "
                        f"{type(dynamic_shapes).__name__}")
    # the leaves of (args, kwargs) in flatten order, each with its spec
    per_leaf = {}
    leaf_ids = {}
    leaves, _ = _pytree.tree_flatten((tuple(args), dict(kwargs)))
    for i, leaf in enumerate(leaves):
        leaf_ids.setdefault(id(leaf), []).append(i)
    for key, value in values:
        spec = specs.get(key)
        if spec is None:
            continue
        for tensor, tspec, path in _walk(value, spec, key):
            dims = tensor_spec_dims(tspec, tensor, path)
            if dims:
                for i in leaf_ids.get(id(tensor), []):
                    per_leaf[i] = dims
    named = {}
    for dims in per_leaf.values():
        for lo, hi, name in dims.values():
            if name is not None:
                entry = named.setdefault(name, {"range": (lo, hi)})
                if entry["range"] != (lo, hi):
                    raise UserError(f"Dim {name!r} is given with two ranges")
    return per_leaf, named


def _walk(value, spec, path):
    """(tensor, its spec, path) for a (possibly nested) argument and its spec."""
    if isinstance(value, Tensor):
        yield value, spec, path
    elif isinstance(value, (list, tuple)) and isinstance(spec, (list, tuple)) and \
            len(value) == len(spec) and not all(_is_dim_entry(s) for s in spec):
        for i, (v, s) in enumerate(zip(value, spec)):
            yield from _walk(v, s, f"{path}[{i}]")
    elif isinstance(value, dict) and isinstance(spec, dict):
        for k, v in value.items():
            if k in spec:
                yield from _walk(v, spec[k], f"{path}[{k!r}]")
    elif spec is not None and not isinstance(value, (int, float, bool, str, type(None))):
        raise UserError(f"dynamic_shapes of {path}: the spec {spec!r} does not match the "
                        f"input's structure ({type(value).__name__})")


def _is_dim_entry(s):
    from .dynamic_shapes import _Dim, _DimHint, _DimHintRange
    return s is None or isinstance(s, (_Dim, _DimHint, _DimHintRange, int))

