"""convert_fx's pass: a prepared (calibrated or QAT-trained) model made quantized.

1. Weighted modules become reference quantized modules (float weight fake-quantized by
   its observer's qparams); QAT modules go back to float first (BatchNorm folded).
2. Each observer becomes ``quantize_per_tensor(x, scale, zero_point, dtype)`` followed by
   ``dequantize`` (dynamic observers ``quantize_per_tensor_dynamic``; weight observers of
   F.linear / F.conv ``quantize_per_channel``), the qparams stored on the model as buffers
   named after the module the op runs in (``conv_scale_0``, ``fc_input_zero_point_0``).
   This is the reference model (convert_to_reference_fx).
3. Lowering (convert_fx): each ``dequantize -> op -> quantize`` the native backend has a
   kernel for becomes the quantized module or op (fx/lower.py).
"""
import copy

import ember

from ..observer import PlaceholderObserver
from .lower import lower_to_native
from .pattern_utils import same_op
from .prepare import is_observer_node

__all__ = ["convert"]

_PER_CHANNEL = ("per_channel_affine", "per_channel_symmetric",
                "per_channel_affine_float_qparams")


def _qscheme_name(qscheme):
    return str(qscheme).split(".")[-1]


def _new_attr_name(model, prefix):
    prefix = prefix.replace(".", "_")
    i = 0
    while hasattr(model, f"{prefix}{i}"):
        i += 1
    return f"{prefix}{i}"


def _getattr_node(model, graph, prefix, value):
    name = _new_attr_name(model, prefix)
    tensor = value.detach().clone() if isinstance(value, ember.Tensor) else ember.tensor(value)
    model.register_buffer(name, tensor)
    return graph.create_node("get_attr", name)


def _module_path_and_prefix(obs_node, attrs):
    """Where the quantize's qparams are named from: the observed op's module, or (for an
    observer that exists only because the next op wants a quantized input) the module of
    the op that reads it, with an '_input' prefix (PyTorch's naming)."""
    observed = obs_node.args[0]
    qconfigs = attrs.node_name_to_qconfig
    input_only = qconfigs.get(observed.name) is None if observed.name in qconfigs else None
    if input_only:
        users = list(obs_node.users)
        first = users[0] if users else None
        for user in users:
            if user.op == "call_function" and same_op(user.target, ember.nn.functional.linear):
                first = user
                break
        prefix = "_input"
    else:
        first, prefix = observed, ""
    scopes = attrs.node_name_to_scope
    path = scopes[first.name][0] if first is not None and first.name in scopes else ""
    return path, prefix


def _replace_observer(model, graph, node, observer, attrs):
    """The observer node replaced by quantize (+ dequantize); returns the quantize node,
    or None where the observer quantizes nothing (a float placeholder)."""
    observed = node.args[0]
    dtype = getattr(observer, "dtype", ember.float)
    dynamic = bool(getattr(observer, "is_dynamic", False))
    if dtype not in (ember.quint8, ember.qint8, ember.qint32, ember.quint4x2) or \
            (isinstance(observer, PlaceholderObserver) and not dynamic):
        node.replace_all_uses_with(observed)
        graph.erase_node(node)
        return None
    with graph.inserting_before(node):
        if dynamic:
            reduce_range = ember.backends.quantized.engine in ("fbgemm", "x86")
            quantize = graph.call_function(ember.quantize_per_tensor_dynamic,
                                           (observed, dtype, reduce_range))
        else:
            path, prefix = _module_path_and_prefix(node, attrs)
            scale, zero_point = observer.calculate_qparams()
            if _qscheme_name(observer.qscheme) in _PER_CHANNEL:
                scale_node = _getattr_node(model, graph, path + prefix + "_scale_", scale)
                zp_node = _getattr_node(model, graph, path + prefix + "_zero_point_",
                                        zero_point)
                # the axis and dtype are literals in the graph
                quantize = graph.call_function(ember.quantize_per_channel,
                                               (observed, scale_node, zp_node,
                                                observer.ch_axis, dtype))
            else:
                scale_node = _getattr_node(model, graph, path + prefix + "_scale_",
                                           float(scale))
                zp_node = _getattr_node(model, graph, path + prefix + "_zero_point_",
                                        int(zero_point))
                quantize = graph.call_function(ember.quantize_per_tensor,
                                               (observed, scale_node, zp_node, dtype))
        dequantize = graph.call_method("dequantize", (quantize,))
    quantize.meta["observer"] = observer
    node.replace_all_uses_with(dequantize)
    graph.erase_node(node)
    return quantize


def _weight_observer_of(module, qconfig):
    """The (run) weight observer of a float or QAT weighted module."""
    if hasattr(module, "weight_fake_quant"):
        return module.weight_fake_quant
    weighted = module[0] if isinstance(module, ember.nn.Sequential) else module
    observer = qconfig.weight()
    observer(weighted.weight)
    return observer


def _to_reference(module, qconfig, backend_config):
    """The reference quantized version of a weighted module (fused ones keep their
    container, the weighted part made reference), or None if it has none."""
    from ember.ao.nn.quantized.reference.modules.utils import _weight_qparams_of
    references = {}
    for config in backend_config.configs:
        if config.reference_quantized_module is not None and config.root_module is not None:
            references[config.root_module] = config.reference_quantized_module
    weight_observer = None
    if hasattr(module, "weight_fake_quant"):
        weight_observer = module.weight_fake_quant
        module = module.to_float()
    part = module[0] if isinstance(module, ember.nn.Sequential) else module
    ref_class = references.get(type(part))
    if ref_class is None:
        return None
    if weight_observer is None:
        weight_observer = qconfig.weight()
        weight_observer(part.weight)
    ref = ref_class.from_float(part, _weight_qparams_of(weight_observer))
    if part is module:
        return ref
    module[0] = ref
    return module


def _is_weighted(module):
    """Linear, convolutions, embeddings (and their fused / QAT forms), recurrent layers."""
    from ember.nn.modules.rnn import RNNBase, RNNCellBase
    if isinstance(module, (RNNBase, RNNCellBase)):
        return True
    part = module[0] if isinstance(module, ember.nn.Sequential) and len(module) else module
    return isinstance(getattr(part, "weight", None), ember.Tensor)


def _set_module(root, qualified_name, module):
    *parents, name = qualified_name.split(".")
    owner = root
    for p in parents:
        owner = getattr(owner, p)
    setattr(owner, name, module)


def convert(prepared, is_reference, convert_custom_config, backend_config):
    """The quantized (or reference) GraphModule of a prepared one; `prepared` is left as
    it is."""
    from ember.fx import GraphModule
    attrs = prepared.meta["_observed_graph_module_attrs"]
    model = copy.deepcopy(prepared)
    graph = model.graph
    modules = dict(model.named_modules(remove_duplicate=False))
    custom_nodes = set(attrs.custom_module_nodes)
    originals = {}
    for node in list(graph.nodes):
        if node.op != "call_module" or node.name in custom_nodes:
            continue
        qconfig = attrs.quantized_qconfig.get(node.name)
        module = modules[node.target]
        if qconfig is None or is_observer_node(node, modules) or not _is_weighted(module):
            continue
        originals[node.target] = (copy.deepcopy(module), qconfig)
        from ember.nn.modules.rnn import RNNBase, RNNCellBase
        if isinstance(module, (RNNBase, RNNCellBase)):
            if is_reference:
                raise NotImplementedError(
                    f"convert_to_reference_fx: the reference quantized {type(module).__name__} "
                    f"(ao.nn.quantized.reference) is not built in ember; convert_fx gives the "
                    f"dynamically quantized {type(module).__name__}")
            continue
        ref = _to_reference(module, qconfig, backend_config)
        if ref is not None:
            _set_module(model, node.target, ref)
            modules[node.target] = ref
    for node in list(graph.nodes):
        if is_observer_node(node, modules):
            _replace_observer(model, graph, node, modules[node.target], attrs)
    _convert_custom_modules(model, graph, modules, custom_nodes, convert_custom_config)
    _dequantize_quantized_inputs(graph, attrs.prepare_custom_config.input_quantized_indexes)
    if not is_reference:
        lower_to_native(model, graph, originals, attrs)
    _keep_quantized_outputs(graph, attrs.prepare_custom_config.output_quantized_indexes)
    graph.eliminate_dead_code()
    result = GraphModule(model, graph)
    return result


def _dequantize_quantized_inputs(graph, indexes):
    """Graph inputs that come quantized (PrepareCustomConfig.set_input_quantized_indexes)
    are dequantized for the float ops; lowering then reads them quantized."""
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    for i in indexes:
        node = placeholders[i]
        users = list(node.users)
        with graph.inserting_after(node):
            dequantize = graph.call_method("dequantize", (node,))
        for user in users:
            user.replace_input_with(node, dequantize)


def _keep_quantized_outputs(graph, indexes):
    """Graph outputs asked quantized (set_output_quantized_indexes) lose their final
    dequantize."""
    if not indexes:
        return
    output = next(n for n in graph.nodes if n.op == "output")
    result = output.args[0]
    values = list(result) if isinstance(result, (list, tuple)) else [result]
    for i in indexes:
        value = values[i]
        if isinstance(value, ember.fx.Node) and value.op == "call_method" and \
                value.target == "dequantize":
            values[i] = value.args[0]
    new = type(result)(values) if isinstance(result, (list, tuple)) else values[0]
    output.args = (new,)


def _dequantize_stubs(model, graph, modules, node):
    """The DeQuantStubs prepare put on a custom LSTM's unpacked outputs become
    ``.dequantize()`` calls."""
    from ember.ao.quantization.stubs import DeQuantStub
    stubs, pending = set(), list(node.users)
    while pending:
        user = pending.pop()
        if user.op == "call_module" and isinstance(modules.get(user.target), DeQuantStub):
            stubs.add(user)
        elif user.op == "call_function":
            pending.extend(user.users)
    for user in [n for n in graph.nodes if n in stubs]:    # (in graph order)
        with graph.inserting_after(user):
            dequantize = graph.call_method("dequantize", (user.args[0],))
        user.replace_all_uses_with(dequantize)
        graph.erase_node(user)
        _delete_module(model, user.target)


def _delete_module(model, target):
    *parents, name = target.split(".")
    owner = model
    for p in parents:
        owner = getattr(owner, p)
    delattr(owner, name)


def _convert_custom_modules(model, graph, modules, custom_nodes, convert_custom_config):
    """Observed custom modules become their quantized class (from_observed): they read
    the quantized input and give a quantized output."""
    mapping = {}
    for classes in convert_custom_config.observed_to_quantized_mapping.values():
        mapping.update(classes)
    for node in list(graph.nodes):
        if node.name not in custom_nodes:
            continue
        observed = modules[node.target]
        quantized_class = mapping.get(type(observed))
        if quantized_class is None:
            raise NotImplementedError(
                f"convert_fx: no quantized class for the observed custom module "
                f"{type(observed).__name__} (set it with ConvertCustomConfig."
                f"set_observed_to_quantized_mapping)")
        from ember.ao.nn.quantizable import LSTM
        if isinstance(observed, LSTM) and not (
                len(node.args) == 2 and isinstance(node.args[1], (tuple, list))
                and len(node.args[1]) == 2):
            raise AssertionError("Expected LSTM custom module inputs to be (input, "
                                 "(hidden0, hidden1))")
        _set_module(model, node.target, quantized_class.from_observed(observed))
        args = [node.args[0]]
        if len(node.args) > 1 and isinstance(node.args[1], (tuple, list)):
            args += list(node.args[1])    # (an LSTM's (h, c): read quantized too)
        for arg in args:
            if isinstance(arg, ember.fx.Node) and arg.op == "call_method" and \
                    arg.target == "dequantize":
                node.replace_input_with(arg, arg.args[0])
        _dequantize_stubs(model, graph, modules, node)
        for user in list(node.users):
            if user.op == "call_function" and same_op(user.target, ember.quantize_per_tensor):
                user.replace_all_uses_with(node)
                graph.erase_node(user)
