"""torch.fx.experimental.optimization: inference passes over fx graphs.

Built: ``fuse`` (Conv1d/2d/3d + BatchNorm and Linear + BatchNorm1d folded into one layer,
as ``nn.utils.fusion`` computes it), ``remove_dropout``, ``extract_subgraph`` and the
helpers ``matches_module_pattern`` / ``replace_node_module``. Not built: the MKLDNN layout
passes (``optimize_for_inference``, ``modules_to_mkldnn``, ``MklSubgraph``,
``gen_mkl_autotuner``, ``use_mkl_length``, ``UnionFind``, ``reset_modules``): ember has no
MKLDNN tensors; reaching one raises NotImplementedError.
"""
import copy

from ... import nn
from ...nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
from .. import Graph, GraphModule, Node, Transformer, symbolic_trace

__all__ = ["matches_module_pattern", "replace_node_module", "fuse", "remove_dropout",
           "extract_subgraph"]

_MKLDNN = ("optimize_for_inference", "modules_to_mkldnn", "reset_modules", "MklSubgraph",
           "gen_mkl_autotuner", "use_mkl_length", "UnionFind", "mkldnn_supported",
           "mkldnn_supported_unknown", "mkldnn_map")


def __getattr__(name):
    if name in _MKLDNN:
        raise NotImplementedError(f"ember.fx.experimental.optimization.{name}: the MKLDNN "
                                  f"layout passes are not built (ember has no MKLDNN tensors); "
                                  f"fuse and remove_dropout are")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _parent_name(target):
    """('foo.bar', 'baz') for 'foo.bar.baz'; ('', 'baz') for 'baz'."""
    parent, _, name = target.rpartition(".")
    return parent, name


def matches_module_pattern(pattern, node, modules):
    """Whether `node` and its first argument are call_module nodes of exactly the types
    of `pattern` (a pair: the argument's type first)."""
    if len(node.args) == 0:
        return False
    for expected, current in zip(pattern, (node.args[0], node)):
        if not isinstance(current, Node) or current.op != "call_module" or \
                not isinstance(current.target, str) or current.target not in modules or \
                type(modules[current.target]) is not expected:
            return False
    return True


def replace_node_module(node, modules, new_module):
    """Install `new_module` where call_module `node`'s target is (and in `modules`)."""
    if not isinstance(node.target, str):
        raise AssertionError(f"Expected str target, got {type(node.target)}")
    parent, name = _parent_name(node.target)
    modules[node.target] = new_module
    setattr(modules[parent], name, new_module)


def fuse(model, inplace=False, no_trace=False):
    """Fold each BatchNorm that directly follows a Conv (1d/2d/3d, same rank) or a Linear
    (BatchNorm1d), and whose input is used by nothing else, into that layer's weight and
    bias (the batch norm's running statistics, eval-mode arithmetic), dropping the
    BatchNorm node. Works on a deep copy unless ``inplace``; a GraphModule given with
    ``no_trace=True`` is not traced again. Returns a GraphModule."""
    patterns = [(nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d),
                (nn.Conv3d, nn.BatchNorm3d), (nn.Linear, nn.BatchNorm1d)]
    if not inplace:
        model = copy.deepcopy(model)
    if no_trace and isinstance(model, GraphModule):
        traced = model
    else:
        traced = symbolic_trace(model)
    modules = dict(traced.named_modules())
    graph = copy.deepcopy(traced.graph)
    for pattern in patterns:
        for node in list(graph.nodes):
            if not matches_module_pattern(pattern, node, modules):
                continue
            producer = node.args[0]
            if len(producer.users) > 1:   # the layer's output is read elsewhere too
                continue
            layer, bn = modules[producer.target], modules[node.target]
            if not bn.track_running_stats:
                continue
            fused = fuse_linear_bn_eval(layer, bn) if pattern[0] is nn.Linear \
                else fuse_conv_bn_eval(layer, bn)
            replace_node_module(producer, modules, fused)
            node.replace_all_uses_with(producer)
            graph.erase_node(node)
    return GraphModule(traced, graph)


def remove_dropout(model):
    """A GraphModule of `model` with every nn.Dropout call replaced by its input."""
    traced = symbolic_trace(model)

    class DropoutRemover(Transformer):
        def call_module(self, target, args, kwargs):
            if isinstance(self.submodules[target], nn.Dropout):
                if len(args) != 1:
                    raise AssertionError(f"Expected 1 arg for Dropout, got {len(args)}")
                return args[0]
            return super().call_module(target, args, kwargs)

    return DropoutRemover(traced).transform()


def extract_subgraph(orig_module, nodes, inputs, outputs):
    """A GraphModule over `orig_module` running `nodes` (in order) of another graph:
    `inputs` become its placeholders, `outputs` the list it returns."""
    graph = Graph()
    env = {}
    for node in inputs:
        env[node] = graph.placeholder(node.name)
    for node in nodes:
        env[node] = graph.node_copy(node, lambda n: env[n])
    graph.output([env[node] for node in outputs])
    graph.lint()
    return GraphModule(orig_module, graph)
