"""prepare_fx's pass: observers inserted into a traced (and fused) model where the
qconfig mapping asks for quantization and the BackendConfig has a pattern for the op.

For each matched op (in graph order):
- its tensor inputs get an activation observer unless one already follows them (weights
  of F.linear / F.conv get the qconfig's weight observer; biases stay float);
- its output gets an observer according to the pattern's ObservationType: one of its own,
  the input's observer instance (ops that keep the range: reshape, maxpool, relu, cat, add
  with a scalar), or none (size, shape);
- dynamic qconfigs observe inputs only (the output stays float), weight-only qconfigs
  nothing (the weight is observed at convert).
Observer modules are named ``activation_post_process_<i>`` in the order they are made, as
PyTorch names them; an observer shared by several nodes is one module under several names.
"""
from ember.fx import Node
from ember.nn.utils.parametrize import type_before_parametrizations

from ..fake_quantize import FakeQuantizeBase, FixedQParamsFakeQuantize
from ..observer import FixedQParamsObserver, ObserverBase, ReuseInputObserver
from ..quantization_mappings import get_default_qat_module_mappings
from ..backend_config import ObservationType
from ..backend_config.native import _fixed_qparams_ops
from .pattern_utils import match_chain, op_in, sorted_patterns
from .qconfig_mapping_utils import generate_node_name_to_qconfig

__all__ = ["prepare", "ObservedGraphModuleAttrs", "is_observer_node", "is_observer_module",
           "is_tensor_node"]

_DIFFERENT = ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT
_SHARE = ObservationType.OUTPUT_SHARE_OBSERVER_WITH_INPUT
_NOT_OBSERVED = ObservationType.INPUT_OUTPUT_NOT_OBSERVED

# methods and functions whose result is not a tensor
_NON_TENSOR_METHODS = {"size", "dim", "numel", "item", "tolist", "stride", "element_size",
                       "nelement", "is_contiguous", "data_ptr"}


class ObservedGraphModuleAttrs:
    """What convert needs to know about a prepared model (kept in ``model.meta``)."""

    def __init__(self, node_name_to_qconfig, node_name_to_scope, qconfig_mapping, is_qat,
                 prepare_custom_config, backend_config, custom_module_nodes,
                 quantized_qconfig):
        self.node_name_to_qconfig = node_name_to_qconfig
        self.node_name_to_scope = node_name_to_scope
        self.qconfig_mapping = qconfig_mapping
        self.is_qat = is_qat
        self.prepare_custom_config = prepare_custom_config
        self.backend_config = backend_config
        self.custom_module_nodes = custom_module_nodes
        self.quantized_qconfig = quantized_qconfig


def is_observer_module(module):
    return isinstance(module, (ObserverBase, FakeQuantizeBase))


def is_observer_node(node, modules):
    return (isinstance(node, Node) and node.op == "call_module"
            and is_observer_module(modules.get(node.target)))


def is_tensor_node(node, modules, cache=None):
    """A guess, from the graph alone, whether `node` gives a tensor (size() and what is
    computed from it do not)."""
    if not isinstance(node, Node):
        return False
    if node.op == "call_method" and node.target in _NON_TENSOR_METHODS:
        return False
    if node.op == "call_function" and node.target is getattr:
        return False
    if node.op == "get_attr":
        value = modules.get("")
        for atom in node.target.split("."):
            value = getattr(value, atom, None)
        from ember import Tensor
        return isinstance(value, Tensor)
    if node.op == "call_function" and getattr(node.target, "__module__", None) in (
            "_operator", "operator"):
        inputs = [a for a in node.args if isinstance(a, Node)]
        return any(is_tensor_node(a, modules) for a in inputs)
    return True


class _Match:
    def __init__(self, chain, config, qconfig):
        self.chain = chain
        self.config = config
        self.qconfig = qconfig


def _activation(qconfig):
    return qconfig.activation()


def _is_dynamic(qconfig):
    return bool(getattr(_activation(qconfig), "is_dynamic", False))


def _activation_dtype(qconfig):
    return getattr(_activation(qconfig), "dtype", None)


def _weight_dtype(qconfig):
    if qconfig.weight is None:
        return None
    return getattr(qconfig.weight(), "dtype", None)


def _supported_by_backend(config, qconfig):
    """Whether one of the pattern's DTypeConfigs admits the qconfig's dtypes."""
    import ember
    act_dtype, dynamic = _activation_dtype(qconfig), _is_dynamic(qconfig)
    weight_dtype = _weight_dtype(qconfig)
    for dtype_config in config.dtype_configs:
        if bool(dtype_config.is_dynamic) != dynamic:
            continue
        if dtype_config.input_dtype is not None and dtype_config.input_dtype != act_dtype:
            continue
        if dtype_config.weight_dtype not in (None, ember.float) and weight_dtype is not None \
                and dtype_config.weight_dtype != weight_dtype:
            continue
        return True
    return False


def _is_fixed_qparams_qconfig(qconfig):
    activation = _activation(qconfig)
    return isinstance(activation, (FixedQParamsObserver, FixedQParamsFakeQuantize))


def _swap_qat_modules(model, modules, graph, node_name_to_qconfig):
    """Each module node with a qconfig whose type has a QAT version becomes that version."""
    mappings = get_default_qat_module_mappings()
    for node in graph.nodes:
        if node.op != "call_module":
            continue
        module = modules[node.target]
        qconfig = node_name_to_qconfig.get(node.name)
        qat_class = mappings.get(type_before_parametrizations(module))
        if qconfig is None or qat_class is None:
            continue
        module.qconfig = qconfig
        qat_module = qat_class.from_float(module)
        _set_module(model, node.target, qat_module)
        modules[node.target] = qat_module


def _set_module(root, qualified_name, module):
    *parents, name = qualified_name.split(".")
    owner = root
    for p in parents:
        owner = getattr(owner, p)
    setattr(owner, name, module)


def _find_matches(graph, modules, configs, node_name_to_qconfig, custom_classes):
    """{node name: _Match} for every node in a matched pattern."""
    matches = {}
    ordered = sorted_patterns([c for c in configs if c.fuser_method is None])
    for node in reversed(list(graph.nodes)):
        if node.name in matches or node.op not in ("call_module", "call_function",
                                                   "call_method"):
            continue
        if node.op == "call_module" and type(modules[node.target]) in custom_classes:
            match = _Match([node], None, node_name_to_qconfig.get(node.name))
            matches[node.name] = match
            continue
        for config in ordered:
            chain = match_chain(node, config.pattern, modules)
            if chain is None or any(n.name in matches for n in chain):
                continue
            match = _Match(chain, config, node_name_to_qconfig.get(node.name))
            for n in chain:
                matches[n.name] = match
            break
    return matches


class _ObserverInserter:
    def __init__(self, model, graph, modules, quantized_inputs=()):
        self.model, self.graph, self.modules = model, graph, modules
        self.quantized_inputs = set(quantized_inputs)

    def new_name(self):
        i = 0
        while hasattr(self.model, f"activation_post_process_{i}"):
            i += 1
        return f"activation_post_process_{i}"

    def insert_after(self, node, observer):
        name = self.new_name()
        setattr(self.model, name, observer)
        self.modules[name] = observer
        with self.graph.inserting_after(node):
            return self.graph.call_module(name, (node,))

    def observed_input(self, arg, qconfig, kind):
        """The node the op should read `arg` through (an observer node, or arg itself)."""
        if not is_tensor_node(arg, self.modules) or kind == "bias" or \
                arg in self.quantized_inputs:
            return arg
        if kind == "weight":
            return self.insert_after(arg, qconfig.weight())
        activation = _activation(qconfig)
        dynamic = bool(getattr(activation, "is_dynamic", False))
        if isinstance(activation, ReuseInputObserver):
            return arg
        if not dynamic and not _quantized_dtype(activation.dtype):
            return arg
        if is_observer_node(arg, self.modules) and \
                getattr(self.modules[arg.target], "is_dynamic", False) == dynamic:
            return arg
        for user in arg.users:
            if is_observer_node(user, self.modules) and \
                    getattr(self.modules[user.target], "is_dynamic", False) == dynamic:
                return user
        return self.insert_after(arg, activation)


def _quantized_dtype(dtype):
    import ember
    return dtype in (ember.quint8, ember.qint8, ember.qint32, ember.quint4x2, ember.float16)


def _observation_type(match, modules):
    config = match.config
    if config is None:
        return _DIFFERENT
    by_count = config._num_tensor_args_to_observation_type
    if by_count:
        first = match.chain[0]
        count = sum(1 for a in first.args if is_tensor_node(a, modules))
        return by_count.get(count, config.observation_type)
    return config.observation_type


def _first_input_observer(node, modules):
    """The observer module feeding node's first tensor input (looking back through ops
    that are not observed), or None."""
    first = next((a for a in node.args if isinstance(a, (Node, list, tuple))), None)
    if isinstance(first, (list, tuple)):
        first = first[0] if first else None
    guard = 0
    while isinstance(first, Node) and not is_observer_node(first, modules):
        if first.op == "placeholder" or guard > 10000:
            return None
        first = next((a for a in first.args if isinstance(a, Node)), None)
        guard += 1
    return first


def _share_observers(inserter, node, output_obs_node):
    """Make the output observer (and, for cat, every input's observer) the first input's
    observer instance; False when there is none to share."""
    modules, model = inserter.modules, inserter.model
    first = _first_input_observer(node, modules)
    if first is None:
        return False
    shared = modules[first.target]
    first_arg = next((a for a in node.args if isinstance(a, (Node, list, tuple))), None)
    if isinstance(first_arg, (list, tuple)):
        for arg in first_arg[1:]:
            while isinstance(arg, Node) and not is_observer_node(arg, modules):
                if not arg.args:
                    return False
                arg = arg.args[0]
            if isinstance(arg, Node):
                _set_module(model, arg.target, shared)
                modules[arg.target] = shared
    _set_module(model, output_obs_node.target, shared)
    modules[output_obs_node.target] = shared
    return True


def _remove_observer_node(inserter, obs_node):
    source = obs_node.args[0]
    obs_node.replace_all_uses_with(source)
    inserter.graph.erase_node(obs_node)
    delattr(inserter.model, obs_node.target)
    inserter.modules.pop(obs_node.target, None)


def _input_kinds(match):
    """The role ('weight', 'bias', None) of each positional argument of the first node."""
    config = match.config
    index = config._input_type_to_index if config is not None else {}
    kinds = {}
    for kind, i in index.items():
        kinds[i] = kind
    return kinds


def _insert_for_match(inserter, node, match):
    modules = inserter.modules
    qconfig = match.qconfig
    if node is match.chain[0]:
        kinds = _input_kinds(match)
        new_args = []
        for i, arg in enumerate(node.args):
            if isinstance(arg, (list, tuple)):
                new_args.append(type(arg)(inserter.observed_input(a, qconfig, None)
                                          for a in arg))
            else:
                new_args.append(inserter.observed_input(arg, qconfig, kinds.get(i)))
        new_kwargs = {}
        for key, value in node.kwargs.items():
            kind = key if key in ("weight", "bias") else None
            new_kwargs[key] = inserter.observed_input(value, qconfig, kind)
        node.args, node.kwargs = tuple(new_args), new_kwargs
    if node is not match.chain[-1]:
        return
    if match.config is None and _is_custom_lstm(node, modules):
        _stub_lstm_outputs(inserter, node)
        return
    observation = _observation_type(match, modules)
    activation = _activation(qconfig)
    if observation is _NOT_OBSERVED or getattr(activation, "is_dynamic", False):
        return
    reuse = isinstance(activation, ReuseInputObserver)
    if not reuse and not _quantized_dtype(activation.dtype):
        return
    obs_node = inserter.insert_after(node, activation)
    for user in list(node.users):
        if user is not obs_node:
            user.replace_input_with(node, obs_node)
    if observation is _SHARE or reuse:
        if not _share_observers(inserter, match.chain[0], obs_node):
            _remove_observer_node(inserter, obs_node)


def _refuse_quantizable_rnn_mha(observed_class):
    """FX graph mode's custom-module flow for quantizable MultiheadAttention (observers
    inside its tuple output) is not built; the LSTM's is (_stub_lstm_outputs)."""
    from ember.ao.nn.quantizable import MultiheadAttention
    if issubclass(observed_class, MultiheadAttention):
        raise NotImplementedError(
            f"FX graph mode's custom-module flow for {observed_class.__module__}."
            f"{observed_class.__name__} is not built in ember; quantize the "
            f"MultiheadAttention in eager mode (prepare/convert) instead")


def _is_custom_lstm(node, modules):
    from ember.ao.nn.quantizable import LSTM
    return node.op == "call_module" and isinstance(modules.get(node.target), LSTM)


def _stub_lstm_outputs(inserter, node):
    """As PyTorch's FX flow: the quantized LSTM's outputs (output, (h, c)) are each read
    through a DeQuantStub (convert makes them dequantize) instead of an observer on the
    tuple: lstm[0], lstm[1][0], lstm[1][1] each through a stub, the tuple rebuilt from the
    stubs for the LSTM's users, and a constant getitem of a rebuilt tuple rerouted to the
    element."""
    import operator
    from ember.ao.quantization.stubs import DeQuantStub
    graph = inserter.graph
    users = list(node.users)

    def stub(value):
        i = 0
        while hasattr(inserter.model, f"dequant_stub_{i}"):
            i += 1
        name = f"dequant_stub_{i}"
        setattr(inserter.model, name, DeQuantStub())
        inserter.modules[name] = getattr(inserter.model, name)
        return graph.call_module(name, (value,))

    anchor = node

    def add(make):    # each new node after the previous one
        nonlocal anchor
        with graph.inserting_after(anchor):
            anchor = make()
        return anchor
    output = add(lambda: graph.call_function(operator.getitem, (node, 0)))
    stub_out = add(lambda: stub(output))
    hidden = add(lambda: graph.call_function(operator.getitem, (node, 1)))
    h = add(lambda: graph.call_function(operator.getitem, (hidden, 0)))
    stub_h = add(lambda: stub(h))
    c = add(lambda: graph.call_function(operator.getitem, (hidden, 1)))
    stub_c = add(lambda: stub(c))
    inner = add(lambda: graph.call_function(tuple, ([stub_h, stub_c],)))
    outer = add(lambda: graph.call_function(tuple, ([stub_out, inner],)))
    for user in users:
        user.replace_input_with(node, outer)
    _reroute_tuple_getitems(graph, outer)


def _reroute_tuple_getitems(graph, start):
    """getitem(tuple([a, b]), i) -> the element, for the rebuilt tuples from `start` on."""
    import operator
    pending = [start]
    while pending:
        built = pending.pop()
        for user in list(built.users):
            if user.op == "call_function" and user.target is operator.getitem and \
                    user.args[0] is built and isinstance(user.args[1], int) and \
                    -len(built.args[0]) <= user.args[1] < len(built.args[0]):
                element = built.args[0][user.args[1]]
                user.replace_all_uses_with(element)
                if element.op == "call_function" and element.target is tuple:
                    pending.append(element)


def prepare(model, qconfig_mapping, is_qat, node_name_to_scope, prepare_custom_config,
            backend_config):
    """Observe `model` (a traced, fused GraphModule) in place; returns it."""
    graph = model.graph
    modules = dict(model.named_modules(remove_duplicate=False))
    node_name_to_qconfig = generate_node_name_to_qconfig(model, modules, graph, qconfig_mapping,
                                                         node_name_to_scope)
    if is_qat:
        _swap_qat_modules(model, modules, graph, node_name_to_qconfig)
    custom_map = prepare_custom_config.float_to_observed_mapping
    custom_classes = {}
    for mapping in custom_map.values():
        custom_classes.update(mapping)
    custom_module_nodes = []
    for node in graph.nodes:
        if node.op == "call_module" and type(modules[node.target]) in custom_classes:
            qconfig = node_name_to_qconfig.get(node.name)
            if qconfig is None:
                continue
            module = modules[node.target]
            _refuse_quantizable_rnn_mha(custom_classes[type(module)])
            module.qconfig = qconfig
            observed = custom_classes[type(module)].from_float(module)
            _set_module(model, node.target, observed)
            modules[node.target] = observed
            custom_module_nodes.append(node.name)
    observed_classes = set(custom_classes.values())
    matches = _find_matches(graph, modules, backend_config.configs, node_name_to_qconfig,
                            observed_classes)
    for name, match in list(matches.items()):
        if match.qconfig is None or match.config is None:
            continue
        if not _supported_by_backend(match.config, match.qconfig):
            match.qconfig = None
        elif not isinstance(match.config.pattern, tuple) and \
                op_in(match.config.pattern, _fixed_qparams_ops()) and \
                not _is_fixed_qparams_qconfig(match.qconfig) and \
                not _is_dynamic(match.qconfig):
            # PyTorch warns and leaves the op float: its output range is fixed by the op
            match.qconfig = None
    for node in graph.nodes:
        if node.op == "placeholder":
            node_name_to_qconfig[node.name] = None
    # the qconfig each op is quantized with (None: left float)
    quantized_qconfig = {name: match.qconfig for name, match in matches.items()}
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    quantized_inputs = [placeholders[i] for i in prepare_custom_config.input_quantized_indexes]
    inserter = _ObserverInserter(model, graph, modules, quantized_inputs)
    for node in list(graph.nodes):
        match = matches.get(node.name)
        if match is None or match.qconfig is None:
            continue
        _insert_for_match(inserter, node, match)
    from ember.fx import GraphModule
    observed = GraphModule(model, graph)
    observed.meta["_observed_graph_module_attrs"] = ObservedGraphModuleAttrs(
        node_name_to_qconfig, node_name_to_scope, qconfig_mapping, is_qat,
        prepare_custom_config, backend_config, custom_module_nodes, quantized_qconfig)
    return observed

