"""torchvision.models.feature_extraction: intermediate outputs of a model, by node name.

A model is traced with ember.fx by a tracer that names every node by where it was made:
the qualified name of the module it was recorded in plus the node's own name
(``layer1.0.relu_1``, ``layer1.0.add``, ``flatten``; a leaf module's call is just the
module's name, ``layer1.0.conv1``), numbered ``_1``, ``_2`` ... when a name repeats.
``get_graph_node_names`` lists those names (train and eval mode);
``create_feature_extractor`` rebuilds the model's GraphModule so that it returns a dict
of the requested nodes' values. The modules of ``vision.ops`` (Conv2dNormActivation,
StochasticDepth ...) are leaves, and its functions are recorded as calls, as
torchvision's tracer does.
"""
import inspect
import math
import re
import warnings
from collections import OrderedDict

from ... import fx, nn

__all__ = ["create_feature_extractor", "get_graph_node_names"]


class LeafModuleAwareTracer(fx.Tracer):
    """An fx Tracer that also treats the classes in `leaf_modules` as leaves."""

    def __init__(self, *args, **kwargs):
        self.leaf_modules = {}
        if "leaf_modules" in kwargs:
            self.leaf_modules = kwargs.pop("leaf_modules")
        super().__init__(*args, **kwargs)

    def is_leaf_module(self, m, module_qualname):
        if isinstance(m, tuple(self.leaf_modules)):
            return True
        return super().is_leaf_module(m, module_qualname)


class NodePathTracer(LeafModuleAwareTracer):
    """Notes for each node the qualified name it is known by (``node_to_qualname``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_module_qualname = ""
        self.node_to_qualname = OrderedDict()

    def call_module(self, m, forward, args, kwargs):
        """Module calls made while tracing `m` are named under m's qualified name."""
        old_qualname = self.current_module_qualname
        try:
            module_qualname = self.path_of_module(m)
            self.current_module_qualname = module_qualname
            if not self.is_leaf_module(m, module_qualname):
                return forward(*args, **kwargs)
            return self.create_proxy("call_module", module_qualname, args, kwargs)
        finally:
            self.current_module_qualname = old_qualname

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, *_, **__):
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr)
        self.node_to_qualname[proxy.node] = self._get_node_qualname(
            self.current_module_qualname, proxy.node)
        return proxy

    def _get_node_qualname(self, module_qualname, node):
        """'<module path>.<node name>' (a leaf module's call: its path), with the node's own
        numeric suffix replaced by a count of earlier nodes of the same qualified name."""
        node_qualname = module_qualname
        if node.op != "call_module":
            if node_qualname:
                node_qualname += "."
            node_qualname += str(node)
        if re.match(r".+_[0-9]+$", node_qualname) is not None:
            node_qualname = node_qualname.rsplit("_", 1)[0]
        for existing in reversed(self.node_to_qualname.values()):
            if re.match(rf"{re.escape(node_qualname)}(_[0-9]+)?$", existing) is not None:
                postfix = existing.replace(node_qualname, "")
                next_index = int(postfix[1:]) + 1 if postfix else 1
                node_qualname += f"_{next_index}"
                break
        return node_qualname


def _is_subseq(x, y):
    """Whether x is a subsequence of y."""
    it = iter(y)
    return all(any(x_item == y_item for y_item in it) for x_item in x)


def _warn_graph_differences(train_tracer, eval_tracer):
    train_nodes = list(train_tracer.node_to_qualname.values())
    eval_nodes = list(eval_tracer.node_to_qualname.values())
    if len(train_nodes) == len(eval_nodes) and all(t == e for t, e in zip(train_nodes,
                                                                            eval_nodes)):
        return
    suggestion_msg = ("When choosing nodes for feature extraction, you may need to specify "
                      "output nodes for train and eval mode separately.")
    if _is_subseq(train_nodes, eval_nodes):
        msg = ("NOTE: The nodes obtained by tracing the model in train mode are a "
               "subsequence of those obtained in eval mode. ")
    elif _is_subseq(eval_nodes, train_nodes):
        msg = ("NOTE: The nodes obtained by tracing the model in eval mode are a "
               "subsequence of those obtained in train mode. ")
    else:
        msg = "The nodes obtained by tracing the model in train mode are different to those obtained in eval mode. "
    warnings.warn(msg + suggestion_msg)


def _get_leaf_modules_for_ops():
    from .. import ops
    return [obj for _, obj in inspect.getmembers(ops)
            if inspect.isclass(obj) and issubclass(obj, nn.Module)]


def _set_default_tracer_kwargs(original_tr_kwargs):
    from .. import ops
    default_autowrap_modules = (math, ops)
    default_leaf_modules = _get_leaf_modules_for_ops()
    result = {} if original_tr_kwargs is None else dict(original_tr_kwargs)
    result["autowrap_modules"] = (
        tuple(set(result["autowrap_modules"] + default_autowrap_modules))
        if "autowrap_modules" in result else default_autowrap_modules)
    result["leaf_modules"] = (list(set(result["leaf_modules"] + default_leaf_modules))
                              if "leaf_modules" in result else default_leaf_modules)
    return result


def get_graph_node_names(model, tracer_kwargs=None, suppress_diff_warning=False,
                         concrete_args=None):
    """The node names of `model` traced in train mode and in eval mode (two lists), the
    names ``create_feature_extractor`` accepts."""
    tracer_kwargs = _set_default_tracer_kwargs(tracer_kwargs)
    is_training = model.training
    train_tracer = NodePathTracer(**tracer_kwargs)
    train_tracer.trace(model.train(), concrete_args=concrete_args)
    eval_tracer = NodePathTracer(**tracer_kwargs)
    eval_tracer.trace(model.eval(), concrete_args=concrete_args)
    train_nodes = list(train_tracer.node_to_qualname.values())
    eval_nodes = list(eval_tracer.node_to_qualname.values())
    if not suppress_diff_warning:
        _warn_graph_differences(train_tracer, eval_tracer)
    model.train(is_training)
    return train_nodes, eval_nodes


class DualGraphModule(fx.GraphModule):
    """A GraphModule holding a train-mode and an eval-mode graph; ``train()``/``eval()``
    switch between them."""

    def __init__(self, root, train_graph, eval_graph, class_name="GraphModule"):
        super(fx.GraphModule, self).__init__()
        self.__class__.__name__ = class_name
        self.train_graph = train_graph
        self.eval_graph = eval_graph
        from ...fx.graph_module import _copy_attr
        for node in list(train_graph.nodes) + list(eval_graph.nodes):
            if node.op in ("get_attr", "call_module"):
                if not isinstance(node.target, str):
                    raise TypeError(f"node.target should be of type str instead of "
                                    f"{type(node.target)}")
                _copy_attr(root, self, node.target)
        self.train(root.training)
        self.graph = train_graph if self.training else eval_graph
        if self.eval_graph._tracer_cls != self.train_graph._tracer_cls:
            raise TypeError(f"Train mode and eval mode should use the same tracer class. "
                            f"Instead got {self.eval_graph._tracer_cls} for eval vs "
                            f"{self.train_graph._tracer_cls} for train")
        self._tracer_cls = self.train_graph._tracer_cls
        self.meta = {}

    def train(self, mode=True):
        """Switch graphs with the mode (then Module.train)."""
        if mode and not self.training:
            self.graph = self.train_graph
        elif not mode and self.training:
            self.graph = self.eval_graph
        return super().train(mode=mode)


def create_feature_extractor(model, return_nodes=None, train_return_nodes=None,
                             eval_return_nodes=None, tracer_kwargs=None,
                             suppress_diff_warning=False, concrete_args=None):
    """A GraphModule of `model` returning an ordered dict of the requested nodes' values.

    `return_nodes` (a list of node names, or a dict node name -> output key) applies to
    both modes; or give `train_return_nodes` and `eval_return_nodes` separately. A name
    may be a prefix of a qualified node name ('layer1' means the last node inside
    layer1)."""
    tracer_kwargs = _set_default_tracer_kwargs(tracer_kwargs)
    is_training = model.training
    if all(arg is None for arg in [return_nodes, train_return_nodes, eval_return_nodes]):
        raise ValueError("Either `return_nodes` or `train_return_nodes` and "
                         "`eval_return_nodes` together, should be specified")
    if (train_return_nodes is None) ^ (eval_return_nodes is None):
        raise ValueError("If any of `train_return_nodes` and `eval_return_nodes` are "
                         "specified, then both should be specified")
    if not ((return_nodes is None) ^ (train_return_nodes is None)):
        raise ValueError("If `train_return_nodes` and `eval_return_nodes` are specified, "
                         "then both should be specified")

    def to_strdict(n):
        if isinstance(n, list):
            return {str(i): str(i) for i in n}
        return {str(k): str(v) for k, v in n.items()}

    if train_return_nodes is None:
        return_nodes = to_strdict(return_nodes)
        train_return_nodes = dict(return_nodes)
        eval_return_nodes = dict(return_nodes)
    else:
        train_return_nodes = to_strdict(train_return_nodes)
        eval_return_nodes = to_strdict(eval_return_nodes)
    mode_return_nodes = OrderedDict(train=train_return_nodes, eval=eval_return_nodes)

    tracers = {}
    graphs = {}
    for mode in ["train", "eval"]:
        model.train(mode == "train")
        tracer = NodePathTracer(**tracer_kwargs)
        graph = tracer.trace(model, concrete_args=concrete_args)
        name = model.__class__.__name__
        graph_module = fx.GraphModule(tracer.root, graph, name)
        available_nodes = list(tracer.node_to_qualname.values())
        if len(set(available_nodes)) != len(available_nodes):
            raise ValueError("There are duplicate nodes! Please raise an issue "
                             "https://github.com/pytorch/vision/issues")
        for query in mode_return_nodes[mode].keys():
            if not any(re.match(rf"^{re.escape(query)}(\.|$)", n) is not None
                       for n in available_nodes):
                raise ValueError(
                    f"node: '{query}' is not present in model. Hint: use "
                    "`get_graph_node_names` to make sure the `return_nodes` you specified "
                    "are present. It may even be that you need to specify "
                    "`train_return_nodes` and `eval_return_nodes` separately.")
        for n in reversed(list(graph_module.graph.nodes)):
            if n.op == "output":
                graph_module.graph.erase_node(n)
        nodes = list(graph_module.graph.nodes)
        output_nodes = OrderedDict()
        pending = dict(mode_return_nodes[mode])
        for n in reversed(nodes):
            module_qualname = tracer.node_to_qualname.get(n)
            if module_qualname is None:
                continue
            for query in list(pending):
                depth = query.count(".")
                if ".".join(module_qualname.split(".")[:depth + 1]) == query:
                    output_nodes[pending.pop(query)] = n
                    break
        output_nodes = OrderedDict(reversed(list(output_nodes.items())))
        with graph_module.graph.inserting_after(nodes[-1]):
            graph_module.graph.output(output_nodes)
        graph_module.graph.eliminate_dead_code()
        graph_module.recompile()
        tracers[mode] = tracer
        graphs[mode] = graph_module.graph

    if not suppress_diff_warning:
        _warn_graph_differences(tracers["train"], tracers["eval"])
    graph_module = DualGraphModule(model, graphs["train"], graphs["eval"],
                                   class_name=model.__class__.__name__)
    model.train(is_training)
    graph_module.train(is_training)
    return graph_module
