"""torch.fx: capture a program as a graph of operations, edit it, and run it again.

``symbolic_trace(module)`` runs the module's forward once on Proxy values and records
every operation as a Node of a Graph (placeholder, get_attr, call_function, call_method,
call_module, output); the result is a GraphModule whose ``forward`` is Python source
generated from the graph (``gm.code``). Passes edit the graph (``Graph`` methods,
``subgraph_rewriter.replace_pattern``), then ``gm.recompile()``; ``Interpreter`` runs a
graph node by node, ``Transformer`` rewrites one while running it, and
``passes.shape_prop.ShapeProp`` records tensor shapes. ember's functions reach the
Proxies through its ``__torch_function__`` protocol (ember/_torch_function.py).
"""
from . import immutable_collections, node, graph, proxy  # noqa: F401
from .graph import Graph, CodeGen, PythonCode
from .graph_module import GraphModule
from .node import Node, map_arg, map_aggregate, has_side_effect
from .proxy import Proxy, TraceError, TracerBase, GraphAppendingTracer, Attribute
from ._symbolic_trace import Tracer, symbolic_trace, wrap, PH
from .interpreter import Interpreter, Transformer
from . import subgraph_rewriter, passes  # noqa: F401
from .subgraph_rewriter import replace_pattern

# ember's functions hand Proxies to Proxy.__torch_function__ only while the protocol's
# dispatchers are in place; they go in now, before the program keeps references to
# ember's functions (``{torch.exp: torch.log}`` tables compared with node targets)
from .. import _torch_function as _tf  # noqa: E402
_tf.activate()

__all__ = ["symbolic_trace", "Tracer", "wrap", "Graph", "GraphModule", "Interpreter",
           "Transformer", "Node", "Proxy", "replace_pattern", "has_side_effect", "map_arg",
           "map_aggregate", "TraceError", "PH", "CodeGen"]
