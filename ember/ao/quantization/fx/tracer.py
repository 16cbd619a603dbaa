"""The tracer of FX graph mode quantization: ember.fx's Tracer that also keeps, for each
node, the module it was recorded in (its scope: qconfigs by module name apply to the
functions called inside that module), and treats non-traceable and custom modules as
leaves."""
from ember.fx import Tracer

__all__ = ["QuantizationTracer"]


class QuantizationTracer(Tracer):
    """Tracer with skipped (non-traceable) module names and classes as leaves;
    ``node_name_to_scope`` maps a node's name to (module path, module type)."""

    def __init__(self, skipped_module_names=(), skipped_module_classes=()):
        super().__init__()
        self.skipped_module_names = list(skipped_module_names)
        self.skipped_module_classes = tuple(skipped_module_classes)
        self.node_name_to_scope = {}

    def is_leaf_module(self, m, module_qualified_name):
        return (super().is_leaf_module(m, module_qualified_name)
                or module_qualified_name in self.skipped_module_names
                or isinstance(m, self.skipped_module_classes)
                or type(m).__module__.startswith("ember.ao.nn"))

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        self.node_name_to_scope[node.name] = (self.scope.module_path, self.scope.module_type)
        return node
