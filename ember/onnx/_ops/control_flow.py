"""torch.cond as ONNX If and torch.while_loop as ONNX Loop, as PyTorch's dynamo exporter
writes them.

ember.export records ``torch.cond(pred, true_fn, false_fn, operands)`` as one node holding
the two branch functions. Each branch is traced here (ember.export, on tensors of the
operands' dtypes and example shapes) and written as a subgraph of the If node: its nodes
read the operands and the model's weights by their names in the outer graph (ONNX
subgraphs see the enclosing scope), so the model runs either branch at run time.
Under dynamic axes the operands' dims of a dynamic size are dynamic in the branch's trace
too, so sizes a branch reads (``x.size(0)`` passed to view) are read in the graph.
"""
import numpy as np

from .._graph import Body, Value
from ._registry import _op, _unsupported

__all__ = []


@_op("cond")
def _cond(g, pred, true_fn, false_fn, operands=()):
    if not isinstance(pred, Value):
        return _unsupported("cond (a Python predicate)")
    operands = list(operands)
    if not all(isinstance(v, Value) for v in operands):
        return _unsupported("cond (operands other than a flat tuple of tensors)")
    condition = g.cast(pred, np.bool_)
    if pred.shape not in ((), None):
        condition = g.op("Reshape", condition, g.const(np.array([], np.int64)), shape=())
    metas = g.out_meta if isinstance(g.out_meta, tuple) else (g.out_meta,)
    hint = g.hint
    captured = dict(g.captured)     # (writing the branches sets g.captured anew)
    bodies = [_branch(g, fn, operands, metas, f"{hint}_{side}", captured)
              for fn, side in ((true_fn, "true_graph"), (false_fn, "false_graph"))]
    g.hint = hint
    outs = g.op("If", condition, outputs=len(metas), dtype=bodies[0][1][0].dtype,
                then_branch=Body(bodies[0][0], f"{hint}_true_graph"),
                else_branch=Body(bodies[1][0], f"{hint}_false_graph"))
    outs = outs if isinstance(outs, list) else [outs]
    for out, value in zip(outs, bodies[0][1]):
        out.dtype, out.shape = value.dtype, value.shape
    # the node's value is a tuple of the branch's results (getitem reads them)
    return outs if isinstance(g.out_meta, tuple) else outs[0]


def _branch(g, fn, operands, metas, name, captured):
    """The subgraph of one branch: `fn` traced on tensors like the operands, reading
    them from the enclosing graph."""
    body = _subgraph(g, name)
    values = _write(body, g, _traced(g, fn, operands), operands, captured)
    if len(values) != len(metas):
        return _unsupported(f"cond (a branch returns {len(values)} values, the other "
                            f"{len(metas)})")
    values = [_produced(body, v) for v in values]
    body.outputs = [(v, None) for v in values]
    return body, values


@_op("while_loop")
def _while_loop(g, cond_fn, body_fn, carried_inputs):
    """while_loop as an ONNX Loop (as PyTorch 2.13's dynamo exporter writes it): the
    condition computed once before the loop, then in the body after body_fn; the carried
    values are the Loop's state."""
    carried = list(carried_inputs)
    for i, v in enumerate(carried):
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            # a Python int carried (a counter): an int64 0-d tensor of the Loop's state,
            # as PyTorch's exporter carries SymInts
            carried[i] = g.const(np.array(int(v), np.int64))
        elif not isinstance(v, Value):
            return _unsupported(f"while_loop (a carried {type(v).__name__}: tensors and "
                                f"ints are carried)")
    hint = g.hint
    captured = dict(g.captured)
    first, = _write(g, g, _traced(g, cond_fn, carried), carried, captured) or [None]
    body = _subgraph(g, f"{hint}_body")
    body.add_input(f"{hint}/iter_num", np.int64, ())
    body.add_input(f"{hint}/cond_in", np.bool_, ())
    state = [body.add_input(f"{hint}/{v.name}_in", v.dtype,
                            None if v.shape is None else [None] * len(v.shape), v.shape)
             for v in carried]
    new = _write(body, g, _traced(g, body_fn, carried), state, captured)
    if len(new) != len(carried):
        return _unsupported(f"while_loop (body_fn returns {len(new)} values for "
                            f"{len(carried)} carried)")
    again, = _write(body, g, _traced(g, cond_fn, carried), new, captured)
    outs = [_produced(body, _scalar_bool(body, again))] + [_produced(body, v) for v in new]
    body.outputs = [(v, None) for v in outs]
    g.hint = hint
    looped = g.op("Loop", None, _scalar_bool(g, first), *carried, outputs=len(carried),
                  body=Body(body, f"{hint}_body"))
    looped = looped if isinstance(looped, list) else [looped]
    for out, v in zip(looped, carried):
        out.dtype, out.shape = v.dtype, v.shape
    return looped


def _scalar_bool(g, v):
    v = g.cast(v, np.bool_)
    if v.shape != ():
        v = g.op("Reshape", v, g.const(np.array([], np.int64)), shape=())
    return v


def _produced(body, value):
    """`value` as a node output of `body` (an Identity of what it only reads)."""
    if any(value.name in n[2] for n in body.nodes):
        return value
    return body.op("Identity", value, shape=value.shape)


def _subgraph(g, name):
    body = g.subgraph()
    body.hint = name
    body.sizes, body.dim_names = g.sizes, g.dim_names
    body.custom = g.custom
    body.tensor_values = g.tensor_values
    body.batch_norm_batch_statistics = g.batch_norm_batch_statistics
    return body


def _traced(g, fn, values):
    """`fn` traced by ember.export on tensors like `values` (zeros of their dtypes and
    example shapes; dynamic where the model's dims are)."""
    import ember
    from ...export import export as trace
    from ...nn import Module

    class Fn(Module):
        def forward(self, *args):
            return fn(*args)
    examples = tuple(ember.zeros(tuple(1 if d is None else d for d in v.shape),
                                 dtype=_ember_dtype(v.dtype)) for v in values)
    return trace(Fn(), examples, dynamic_shapes=_dynamic_dims(g, values))


def _write(builder, g, ep, inputs, captured):
    """The nodes of the traced program `ep` written into `builder` (the graph `g` or one of
    its subgraphs), its inputs being `inputs`; the Values of its outputs. Tensors the
    function holds are the model's weights of the outer graph where they are those, and
    the outer graph's values where the trace saw them (`captured`: id -> Value)."""
    from ...export.graph_signature import InputKind
    from .._export import _translate_node
    specs = {s.arg.name: s for s in ep.graph_signature.input_specs}
    env = {}
    n_user = 0
    for node in ep.graph.nodes:
        if node.op == "placeholder":
            spec = specs[node.name]
            if spec.kind == InputKind.USER_INPUT:
                env[node.name] = inputs[n_user]
                n_user += 1
                continue
            tensor = ep.constants.get(spec.target, ep.state_dict.get(spec.target))
            value = g.tensor_values.get(id(tensor), captured.get(id(tensor)))
            if value is None:       # a constant of the function's own
                value = builder.add_initializer(spec.target, tensor.detach().cpu().numpy())
                builder.folded[value.name] = builder.initializers[value.name]
            env[node.name] = value
        elif node.op == "call_function":
            env[node.name] = _translate_node(builder, node, env, g.opset)
        elif node.op == "output":
            results = node.args[0]
            results = list(results) if isinstance(results, (list, tuple)) else [results]
            if not all(r is not None and hasattr(r, "name") and isinstance(env.get(r.name), Value)
                       for r in results):
                return _unsupported("cond/while_loop (a function returning other than "
                                    "tensors)")
            return [env[r.name] for r in results]
    return []


def _dynamic_dims(g, operands):
    """The branch's dynamic dims when the model's are: those of the operands whose example
    size is a dynamic size's (one Dim per size, so equal sizes stay one symbol)."""
    if not g.dynamic or not g.sizes:
        return None
    from ...export import Dim
    dims = {}
    for symbol, size in g.sizes.items():
        dims.setdefault(size, Dim(f"branch_{symbol}"))
    entries = tuple({k: dims[d] for k, d in enumerate(v.shape) if d in dims} or None
                    for v in operands)
    return {"args": entries} if any(entries) else None


def _ember_dtype(np_dtype):
    from ..._dtype import from_numpy_dtype
    return from_numpy_dtype(np.dtype(np_dtype))
