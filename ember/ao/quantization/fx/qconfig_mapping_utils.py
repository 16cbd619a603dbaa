"""Which qconfig applies to each node of a traced model, by PyTorch's precedence:
global < the op's type (module class, function, method name) < the type of the module
the op was called in < module name regex < module name (a name applies to everything
under it) < (module name, op type, call index)."""
import re

from ember.ao.nn.intrinsic import _FusedModule

from .pattern_utils import canonical

__all__ = ["generate_node_name_to_qconfig"]


def _object_type_qconfig(mapping, object_type, fallback):
    if object_type in mapping.object_type_qconfigs:
        return mapping.object_type_qconfigs[object_type]
    if callable(object_type) and not isinstance(object_type, type):
        base = canonical(object_type)
        for key, qconfig in mapping.object_type_qconfigs.items():
            if callable(key) and not isinstance(key, type) and canonical(key) is base:
                return qconfig
    return fallback


def _module_name_regex_qconfig(mapping, module_name, fallback):
    for regex, qconfig in mapping.module_name_regex_qconfigs.items():
        if re.match(regex, module_name):
            return qconfig
    return fallback


def _module_name_qconfig(mapping, module_name, fallback):
    while module_name:
        if module_name in mapping.module_name_qconfigs:
            return mapping.module_name_qconfigs[module_name]
        module_name = module_name.rpartition(".")[0]
    return fallback


def _by_type_and_name(mapping, module_type, module_name, fallback):
    qconfig = _object_type_qconfig(mapping, module_type, fallback)
    qconfig = _module_name_regex_qconfig(mapping, module_name, qconfig)
    return _module_name_qconfig(mapping, module_name, qconfig)


def _module_type_key(module):
    """A fused module takes the qconfig set for its first op's type (conv of ConvReLU2d)
    unless one is set for the fused type itself."""
    return type(module)


def generate_node_name_to_qconfig(model, modules, graph, mapping, node_name_to_scope):
    """{node name: qconfig or None} for every op node of `graph`."""
    result = {}
    call_counts = {}
    global_qconfig = mapping.global_qconfig
    for node in graph.nodes:
        qconfig = None
        if node.op in ("call_function", "call_method"):
            module_path, module_type = node_name_to_scope.get(node.name, ("", None))
            qconfig = _object_type_qconfig(mapping, node.target, global_qconfig)
            qconfig = _by_type_and_name(mapping, module_type, module_path, qconfig)
            key = (module_path, node.target)
        elif node.op == "call_module":
            module = modules[node.target]
            fallback = global_qconfig
            if isinstance(module, _FusedModule) and type(module) not in \
                    mapping.object_type_qconfigs and len(module) > 0:
                fallback = _object_type_qconfig(mapping, type(module[0]), fallback)
            qconfig = _by_type_and_name(mapping, type(module), node.target, fallback)
            module_path = node_name_to_scope.get(node.name, ("", None))[0]
            key = (module_path.rpartition(".")[0], type(module))
        elif node.op == "get_attr":
            # a parameter or buffer read takes its owning module's qconfig
            parent = node.target.rpartition(".")[0]
            owner = modules.get(parent)
            result[node.name] = _by_type_and_name(mapping, type(owner), parent, global_qconfig)
            continue
        else:
            continue
        index = call_counts.get(key, 0)
        call_counts[key] = index + 1
        for (name, object_type, i), value in \
                mapping.module_name_object_type_order_qconfigs.items():
            if name == key[0] and i == index and (object_type == key[1] or (
                    callable(object_type) and canonical(object_type) is canonical(key[1]))):
                qconfig = value
        result[node.name] = qconfig
    return result
