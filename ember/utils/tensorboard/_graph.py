"""The model graph that ``SummaryWriter.add_graph`` logs (torch.utils.tensorboard's
``_pytorch_graph.graph``).

PyTorch traces the model with ``torch.jit.trace`` in eval mode and writes one NodeDef per
TorchScript node. ember traces it with ``ember.fx`` instead, in eval mode: the program's
own modules are traced through and ember.nn's layers are one node each; the trace runs
once on the example inputs to learn each value's shape. The GraphDef has the shape
TensorBoard's graph view reads from PyTorch's:

- ``input/<name>`` and ``output/output.<i>`` nodes of op "IO Node" with the tensors'
  shapes in ``_output_shapes``;
- one node per op, named ``<scope>/<name>`` where the scope is the module path written as
  PyTorch writes it (``Net/Sequential[seq]/Linear[0]``), its op the ATen name PyTorch's
  trace records (``aten::linear``, ``aten::_convolution``, ``aten::relu``, ``aten::view``),
  its inputs the nodes whose values it reads, its output shapes in ``_output_shapes``;
- the parameters and buffers a layer reads, as ``prim::GetAttr`` nodes in its scope.

Not written (they depend on TorchScript's IR): the ``prim::Constant`` and
``prim::ListConstruct`` nodes of scalar arguments, and the IR's numbered value names. A
layer is one node where PyTorch records the ops of its forward (an LSTM is ``aten::lstm``
in both). A module of the program whose forward cannot be traced (control flow on tensor
values) is one node named after its class.
"""
import operator
import re

from . import _proto as pb

__all__ = ["graph"]

# the ATen op PyTorch's trace records where its name differs from the Python function's
_ATEN_NAMES = {
    "conv1d": "_convolution", "conv2d": "_convolution", "conv3d": "_convolution",
    "conv_transpose1d": "_convolution", "conv_transpose2d": "_convolution",
    "conv_transpose3d": "_convolution",
    "truediv": "div", "floordiv": "floor_divide", "neg": "neg", "pos": "positive",
    "iadd": "add_", "isub": "sub_", "imul": "mul_", "itruediv": "div_",
    "matmul": "matmul", "getattr": "size", "contiguous": "contiguous",
}


# the ATen op PyTorch's trace records for a call of an ember.nn layer (others: the class
# name in snake case, MaxPool2d -> max_pool2d)
_LAYER_OPS = {
    "Conv1d": "_convolution", "Conv2d": "_convolution", "Conv3d": "_convolution",
    "ConvTranspose1d": "_convolution", "ConvTranspose2d": "_convolution",
    "ConvTranspose3d": "_convolution", "ReLU": "relu", "ReLU6": "hardtanh",
    "GELU": "gelu", "SiLU": "silu", "ELU": "elu", "SELU": "selu", "CELU": "celu",
    "PReLU": "prelu", "LeakyReLU": "leaky_relu", "BatchNorm1d": "batch_norm",
    "BatchNorm2d": "batch_norm", "BatchNorm3d": "batch_norm",
    "InstanceNorm1d": "instance_norm", "InstanceNorm2d": "instance_norm",
    "InstanceNorm3d": "instance_norm", "Dropout1d": "feature_dropout",
    "Dropout2d": "feature_dropout", "Dropout3d": "feature_dropout", "RNN": "rnn_tanh",
    "LSTM": "lstm", "GRU": "gru", "MultiheadAttention": "_native_multi_head_attention",
}


def _layer_op(module):
    name = type(module).__name__
    if name == "RNN" and getattr(module, "nonlinearity", "tanh") == "relu":
        return "rnn_relu"
    if name in _LAYER_OPS:
        return _LAYER_OPS[name]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _scope(model, node):
    """``Net/Conv2d[conv1]``: the root's class, then Type[attribute] per module entered
    (a layer's own node is recorded inside the layer)."""
    parts = [type(model).__name__]
    for qualname, module_type in node.meta.get("nn_module_stack", {}).values():
        if qualname:
            name = getattr(module_type, "__name__", str(module_type))
            parts.append(f"{name}[{qualname.rsplit('.', 1)[-1]}]")
    return "/".join(parts)


def _op_name(node, modules):
    if node.op == "call_module":
        return f"aten::{_layer_op(modules[node.target])}"
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    if target is operator.getitem:
        index = node.args[1] if len(node.args) > 1 else None
        name = "select" if isinstance(index, int) else "slice"
    name = _ATEN_NAMES.get(name, name)
    if node.kwargs.get("inplace") is True and not name.endswith("_"):
        name += "_"
    return f"aten::{name}"


def _shapes(value):
    """The shapes of the tensors in a node's ``tensor_meta`` (a structure of them)."""
    from ...fx.passes.shape_prop import TensorMetadata
    if isinstance(value, TensorMetadata):
        return [list(value.shape)]
    if isinstance(value, (tuple, list)):
        return [s for v in value for s in _shapes(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _shapes(v)]
    return []


def _inputs(node, names):
    """The names of the graph nodes `node` reads, in argument order, each once."""
    from ...fx.node import Node
    found = []

    def visit(a):
        if isinstance(a, Node):
            if a.name in names and names[a.name] not in found:
                found.append(names[a.name])
        elif isinstance(a, (tuple, list)):
            for x in a:
                visit(x)
        elif isinstance(a, dict):
            for x in a.values():
                visit(x)

    visit(node.args)
    visit(node.kwargs)
    return found


def _trace(model):
    """An fx GraphModule of `model`: ember.nn's layers are leaves; the program's own
    modules are traced through where they can be, else leaves too."""
    from ... import fx

    class ThroughTracer(fx.Tracer):
        def call_module(self, m, forward, args, kwargs):
            # a module that cannot be traced through becomes one call_module node
            before = list(self.graph.nodes)
            try:
                return super().call_module(m, forward, args, kwargs)
            except Exception:
                if m is self.root:
                    raise
                kept = set(map(id, before))
                for n in reversed(list(self.graph.nodes)):
                    if id(n) not in kept:
                        self.graph.erase_node(n)
                leaf = self.is_leaf_module
                self.is_leaf_module = lambda *a: True
                try:
                    return super().call_module(m, forward, args, kwargs)
                finally:
                    self.is_leaf_module = leaf

    tracer = ThroughTracer()
    g = tracer.trace(model)
    return fx.GraphModule(tracer.root, g, type(model).__name__)


def graph(model, args, verbose=False, use_strict_trace=True):
    """(encoded GraphDef, encoded RunMetadata) of `model` run on `args` (a tensor or a
    tuple/list of them), as PyTorch's ``torch.utils.tensorboard._pytorch_graph.graph``."""
    from ... import no_grad
    from ...fx.passes.shape_prop import ShapeProp
    if not isinstance(args, (tuple, list)):
        args = (args,)
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with no_grad():
            gm = _trace(model)
            ShapeProp(gm).propagate(*args)
    finally:
        for m, training in modes.items():
            m.training = training
    if verbose:
        print(gm.graph)
    modules = dict(gm.named_modules())
    names, nodes = {}, []
    empty = pb.attr_value(s="")
    for node in gm.graph.nodes:
        shapes = _shapes(node.meta.get("tensor_meta"))
        shape_attr = [("_output_shapes", pb.attr_value(shapes=shapes))] if shapes else []
        if node.op == "placeholder":
            names[node.name] = f"input/{node.name}"
            nodes.append(pb.node_def(names[node.name], "IO Node",
                                     attrs=[("attr", empty)] + shape_attr))
        elif node.op == "get_attr":
            names[node.name] = f"{_scope(model, node)}/{node.name}"
            attr = node.target.rsplit(".", 1)[-1]
            nodes.append(pb.node_def(names[node.name], "prim::GetAttr",
                                     attrs=[("attr", pb.attr_value(s=f"{{ name :  {attr} }}"))]))
        elif node.op == "output":
            # one output, as TorchScript's graph has: a tuple/list/dict of results is
            # built by a prim::*Construct node, and its IO node's shape reads [1] (what
            # PyTorch's writer notes for a value without tensor sizes)
            result = node.args[0]
            if hasattr(result, "op"):
                src, shapes = names[result.name], _shapes(node.meta.get("tensor_meta"))
            else:
                kind = {tuple: "Tuple", list: "List", dict: "Dict"}.get(type(result), "Tuple")
                src, shapes = f"{type(model).__name__}/output", [[1]]
                nodes.append(pb.node_def(src, f"prim::{kind}Construct",
                                         inputs=_inputs(node, names),
                                         attrs=[("attr", pb.attr_value(s="{}"))]))
            nodes.append(pb.node_def("output/output.1", "IO Node", inputs=[src],
                                     attrs=[("attr", empty),
                                            ("_output_shapes", pb.attr_value(shapes=shapes))]))
        else:
            scope = _scope(model, node)
            inputs = _inputs(node, names)
            if node.op == "call_module":
                layer = modules[node.target]
                for attr, t in list(layer.named_parameters()) + list(layer.named_buffers()):
                    if t is None or t.dim() == 0:
                        continue   # (num_batches_tracked: a counter no op reads)
                    inputs.append(f"{scope}/{attr}")
                    nodes.append(pb.node_def(
                        inputs[-1], "prim::GetAttr",
                        attrs=[("attr", pb.attr_value(s=f"{{ name :  {attr} }}"))]))
            names[node.name] = f"{scope}/{node.name}"
            nodes.append(pb.node_def(names[node.name], _op_name(node, modules), inputs=inputs,
                                     attrs=[("attr", pb.attr_value(s="{}"))] + shape_attr))
    # TorchScript's IR version that PyTorch's writer stamps on the GraphDef
    return pb.graph_def(nodes, producer=22), pb.run_metadata(["/device:CPU:0"])
