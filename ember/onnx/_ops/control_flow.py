"""torch.cond as ONNX If, as PyTorch's dynamo exporter writes it.

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
    bodies = [_branch(g, fn, operands, metas, f"{hint}_{side}")
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


def _branch(g, fn, operands, metas, name):
    """The subgraph of one branch: `fn` traced on tensors like the operands."""
    import ember
    from ...export import export as trace
    from ...export.graph_signature import InputKind
    from ...nn import Module
    from .._export import _translate_node, _add_outputs  # noqa: F401  (one translator)

    class Branch(Module):
        def forward(self, *args):
            return fn(*args)
    examples = tuple(ember.zeros(tuple(1 if d is None else d for d in v.shape),
                                 dtype=_ember_dtype(v.dtype)) for v in operands)
    ep = trace(Branch(), examples, dynamic_shapes=_dynamic_dims(g, operands))
    body = g.subgraph()
    body.hint = name
    body.sizes, body.dim_names = g.sizes, g.dim_names
    body.custom = g.custom
    body.tensor_values = g.tensor_values
    body.batch_norm_batch_statistics = g.batch_norm_batch_statistics
    specs = {s.arg.name: s for s in ep.graph_signature.input_specs}
    env = {}
    n_user = 0
    for node in ep.graph.nodes:
        if node.op == "placeholder":
            spec = specs[node.name]
            if spec.kind == InputKind.USER_INPUT:
                env[node.name] = operands[n_user]
                n_user += 1
            else:       # a tensor the branch holds: the model's weight of that name, or
                tensor = ep.constants.get(spec.target, ep.state_dict.get(spec.target))
                outer = g.tensor_values.get(id(tensor))
                if outer is None:       # a constant of the branch's own
                    outer = body.add_initializer(spec.target, tensor.detach().cpu().numpy())
                    body.folded[outer.name] = body.initializers[outer.name]
                env[node.name] = outer
        elif node.op == "call_function":
            env[node.name] = _translate_node(body, node, env, g.opset)
        elif node.op == "output":
            results = node.args[0]
            results = list(results) if isinstance(results, (list, tuple)) else [results]
            if len(results) != len(metas):
                return _unsupported(f"cond (a branch returns {len(results)} values, the "
                                    f"other {len(metas)})")
            values = []
            for r in results:
                value = env[r.name]
                if not any(value.name in n[2] for n in body.nodes):    # (an operand)
                    value = body.op("Identity", value, shape=value.shape)
                values.append(value)
            body.outputs = [(v, None) for v in values]
            return body, values
    return _unsupported("cond (a branch without outputs)")


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
