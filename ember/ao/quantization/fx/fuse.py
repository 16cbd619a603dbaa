"""fuse_fx's pass: module chains a backend runs as one kernel (conv-bn-relu, conv-relu,
linear-relu, linear-bn, bn-relu, convtranspose-bn) replaced by the fused module its
BackendConfig names (with BatchNorm folded into the conv when not training for QAT)."""
from ember import nn
from ember.fx import GraphModule

from .pattern_utils import match_chain, sorted_patterns

__all__ = ["fuse"]


def fuse(model, is_qat, backend_config):
    """Fuse `model` (a GraphModule) in place of its graph; returns a new GraphModule."""
    modules = dict(model.named_modules())
    configs = sorted_patterns([c for c in backend_config.configs
                               if c.fuser_method is not None and isinstance(c.pattern, tuple)])
    graph = model.graph
    fused_nodes = set()
    for node in reversed(list(graph.nodes)):
        if node in fused_nodes or node.op not in ("call_module", "call_function"):
            continue
        for config in configs:
            chain = match_chain(node, config.pattern, modules)
            if chain is None or chain[0].op != "call_module" or fused_nodes.intersection(chain):
                continue
            parts = [modules[n.target] if n.op == "call_module" else nn.ReLU() for n in chain]
            fused = config.fuser_method(is_qat, *parts)
            _set_module(model, chain[0].target, fused)
            modules[chain[0].target] = fused
            chain[-1].replace_all_uses_with(chain[0])
            for n in reversed(chain[1:]):
                graph.erase_node(n)
            fused_nodes.update(chain)
            break
    return GraphModule(model, graph, model.__class__.__name__)


def _set_module(root, qualified_name, module):
    *parents, name = qualified_name.split(".")
    owner = root
    for p in parents:
        owner = getattr(owner, p)
    setattr(owner, name, module)
