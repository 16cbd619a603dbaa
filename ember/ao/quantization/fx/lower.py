"""Lowering a reference quantized graph to the native backend's quantized modules and ops.

Each pattern ``dequantize -> float op -> quantize`` with a native kernel is replaced by the
kernel reading and giving quantized tensors:
- weighted modules (Linear, Conv, their fused and QAT forms): the quantized module, made
  by the eager ``from_float`` from the float module, its qconfig and the output observer;
  dynamically quantized ones (quantize_per_tensor_dynamic in front) the dynamic module;
  weight-only Embedding the quantized Embedding;
- F.linear / F.conv1-3d (optionally followed by relu): ``ops.quantized.linear(_relu)`` /
  ``conv*d(_relu)`` with the weight prepacked into a model attribute;
- add / mul of two quantized tensors (optionally followed by relu):
  ``ops.quantized.add(_relu)`` / ``mul(_relu)``; with a number: the scalar overloads;
- ops that keep the input's qparams or have fixed ones (reshape, maxpool, relu, cat,
  sigmoid, ...) and ops with quantized versions (hardswish, elu, leaky_relu, their
  modules): the same op on the quantized tensor.
Patterns that match none of these stay in reference form (still correct, in float).
"""
import operator

import ember
from ember import nn
from ember.fx import Node
from ember.nn import functional as F

from ..backend_config.native import _fixed_qparams_ops, _share_qparams_ops
from .pattern_utils import op_in, same_op
from ..quantization_mappings import (get_default_dynamic_quant_module_mappings,
                                     get_default_static_quant_module_mappings)

__all__ = ["lower_to_native"]


def _is_dequantize(node):
    return isinstance(node, Node) and node.op == "call_method" and node.target == "dequantize"


def _is_quantize(node):
    return isinstance(node, Node) and node.op == "call_function" and \
        same_op(node.target, ember.quantize_per_tensor)


def _is_dynamic_quantize(node):
    return isinstance(node, Node) and node.op == "call_function" and \
        same_op(node.target, ember.quantize_per_tensor_dynamic)


def _single_user(node):
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def _is_relu(node, modules):
    if not isinstance(node, Node):
        return False
    if node.op == "call_function":
        return op_in(node.target, (F.relu, ember.relu))
    if node.op == "call_method":
        return node.target == "relu"
    return node.op == "call_module" and type(modules.get(node.target)) is nn.ReLU


def _set_module(root, qualified_name, module):
    *parents, name = qualified_name.split(".")
    owner = root
    for p in parents:
        owner = getattr(owner, p)
    setattr(owner, name, module)


def _new_attr_name(model, prefix):
    i = 0
    while hasattr(model, f"{prefix}{i}"):
        i += 1
    return f"{prefix}{i}"


def _attr_value(model, node):
    value = model
    for atom in node.target.split("."):
        value = getattr(value, atom)
    return value


class _Lowering:
    def __init__(self, model, graph, originals, attrs):
        self.model, self.graph = model, graph
        self.originals, self.attrs = originals, attrs
        self.modules = dict(model.named_modules(remove_duplicate=False))
        self.static = get_default_static_quant_module_mappings()
        self.dynamic = get_default_dynamic_quant_module_mappings()

    def quantized_input(self, arg):
        """The quantized tensor node under a dequantize node, or None."""
        return arg.args[0] if _is_dequantize(arg) else None

    # ---- weighted modules ----
    def lower_module(self, node):
        entry = self.originals.get(node.target)
        if entry is None:
            return
        original, qconfig = entry
        arg = node.args[0] if node.args else None
        activation = qconfig.activation()
        if getattr(activation, "is_dynamic", False):
            if not (_is_dequantize(arg) and _is_dynamic_quantize(arg.args[0])):
                return
            qclass = self.dynamic.get(type(original))
            if qclass is None:
                return
            _set_qconfig(original, qconfig)
            self._swap(node, qclass.from_float(original))
            node.replace_input_with(arg, arg.args[0].args[0])
            return
        if getattr(activation, "dtype", None) == ember.float:
            qclass = self.static.get(type(original))
            if qclass is None:
                return
            _set_qconfig(original, qconfig)
            self._swap(node, qclass.from_float(original))
            return
        q_out = _single_user(node)
        if self.quantized_input(arg) is None or not _is_quantize(q_out):
            return
        qclass = self.static.get(type(original))
        if qclass is None:
            return
        _set_qconfig(original, qconfig)
        original.activation_post_process = q_out.meta["observer"]
        quantized = qclass.from_float(original)
        self._swap(node, quantized)
        node.replace_input_with(arg, self.quantized_input(arg))
        q_out.replace_all_uses_with(node)
        self.graph.erase_node(q_out)

    def _swap(self, node, module):
        _set_module(self.model, node.target, module)
        self.modules[node.target] = module

    # ---- F.linear / F.conv ----
    def lower_weighted_functional(self, node):
        if node.op != "call_function":
            return
        convs = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
        is_linear = same_op(node.target, F.linear)
        nd = next((k for k, f in convs.items() if same_op(node.target, f)), None)
        if not is_linear and nd is None:
            return
        args = list(node.args)
        names = ["input", "weight", "bias", "stride", "padding", "dilation", "groups"]
        for i, key in enumerate(names):
            if key in node.kwargs:
                while len(args) <= i:
                    args.append(None)
                args[i] = node.kwargs[key]
        x_q = self.quantized_input(args[0])
        weight_dq = args[1]
        if x_q is None or not _is_dequantize(weight_dq):
            return
        weight_q = weight_dq.args[0]
        if not (isinstance(weight_q, Node) and weight_q.op == "call_function" and
                op_in(weight_q.target, (ember.quantize_per_channel, ember.quantize_per_tensor))):
            return
        user = _single_user(node)
        relu = _is_relu(user, self.modules)
        q_out = _single_user(user) if relu else user
        if not _is_quantize(q_out):
            return
        from ember.ao.nn.quantized.modules.utils import _quantize_weight
        weight = _attr_value(self.model, weight_q.args[0])
        qweight = _quantize_weight(weight.detach().float(), weight_q.meta["observer"])
        bias = args[2] if len(args) > 2 else None
        bias_value = _attr_value(self.model, bias) if isinstance(bias, Node) else bias
        ops = ember.ops.quantized
        if is_linear:
            packed = ops.linear_prepack(qweight, bias_value)
            op = ops.linear_relu if relu else ops.linear
        else:
            defaults = [None, None, None, 1, 0, 1, 1]
            full = args + defaults[len(args):]
            stride, padding, dilation, groups = [d if a is None else a
                                                 for a, d in zip(full[3:], defaults[3:])]
            if isinstance(padding, str):
                return
            packed = getattr(ops, f"conv{nd}d_prepack")(qweight, bias_value, stride, padding,
                                                       dilation, groups)
            op = getattr(ops, f"conv{nd}d_relu" if relu else f"conv{nd}d")
        path = self.attrs.node_name_to_scope.get(node.name, ("", None))[0].replace(".", "_")
        name = _new_attr_name(self.model, path + "_packed_weight_")
        setattr(self.model, name, packed)
        scale_node, zp_node = q_out.args[1], q_out.args[2]
        with self.graph.inserting_before(scale_node):
            packed_node = self.graph.create_node("get_attr", name)
        # the op node itself becomes the quantized op (it keeps its name, as in PyTorch)
        # and moves after the output qparams it now reads
        node.target = op
        node.args = (x_q, packed_node, scale_node, zp_node)
        node.kwargs = {}
        q_out.replace_all_uses_with(node)
        zp_node.append(node)
        self.graph.erase_node(q_out)
        if relu:
            self.graph.erase_node(user)

    # ---- add / mul ----
    def lower_binary(self, node):
        if node.op != "call_function" or node.kwargs:
            return
        if op_in(node.target, (operator.add, ember.add)):
            kind = "add"
        elif op_in(node.target, (operator.mul, ember.mul)):
            kind = "mul"
        else:
            return
        if len(node.args) != 2:
            return
        a, b = node.args
        qa = self.quantized_input(a)
        qb = self.quantized_input(b)
        user = _single_user(node)
        relu = _is_relu(user, self.modules)
        q_out = _single_user(user) if relu else user
        if not _is_quantize(q_out):
            return
        ops = ember.ops.quantized
        op = getattr(ops, f"{kind}_relu" if relu else kind)
        if qa is not None and qb is not None:
            lowered_args = (qa, qb, q_out.args[1], q_out.args[2])
        elif qa is not None and isinstance(b, (int, float)):
            lowered_args = (qa, b)
        elif qb is not None and isinstance(a, (int, float)):
            lowered_args = (qb, a)
        else:
            return
        with self.graph.inserting_before(q_out):
            lowered = self.graph.call_function(op, lowered_args)
        q_out.replace_all_uses_with(lowered)
        self.graph.erase_node(q_out)
        if relu:
            self.graph.erase_node(user)
        self.graph.erase_node(node)

    # ---- ops on the quantized tensor itself ----
    _MODULES_FROM_REFERENCE = (nn.Hardswish, nn.ELU, nn.LeakyReLU, nn.Softmax)
    _MODULES_FROM_FLOAT = (nn.BatchNorm2d, nn.BatchNorm3d, nn.Dropout, nn.ReLU6)

    def _op_key(self, node):
        if node.op == "call_module":
            return type(self.modules.get(node.target))
        return node.target

    def lower_special(self, node):
        if node.op not in ("call_function", "call_method", "call_module"):
            return
        key = self._op_key(node)
        if not isinstance(key, type) and callable(key):
            for f in (F.hardswish, F.elu, F.leaky_relu, ember.cat):
                if same_op(key, f):
                    key = f
        with_output_qparams = (F.hardswish, F.elu)
        fused_bn = key in (getattr(_nni(), "BNReLU2d"), getattr(_nni(), "BNReLU3d"))
        with_qparams = key in with_output_qparams or key is F.leaky_relu or \
            key in self._MODULES_FROM_REFERENCE or key in self._MODULES_FROM_FLOAT or fused_bn
        if not (op_in(key, _share_qparams_ops()) or op_in(key, _fixed_qparams_ops())
                or key is ember.cat or with_qparams):
            return
        first = node.args[0] if node.args else None
        inputs = list(first) if isinstance(first, (list, tuple)) else [first]
        if not inputs or not all(_is_dequantize(a) for a in inputs):
            return
        q_out = _single_user(node)
        if not _is_quantize(q_out):
            return
        observer = q_out.meta["observer"]
        if node.op == "call_module" and (key in self._MODULES_FROM_REFERENCE or
                                         key in self._MODULES_FROM_FLOAT or fused_bn):
            module = self.modules[node.target]
            if key in self._MODULES_FROM_REFERENCE:
                qclass = self.static.get(key)
                if key is nn.Softmax:
                    from ember.ao.nn.quantized import Softmax as qclass
                scale, zero_point = observer.calculate_qparams()
                quantized = qclass.from_reference(module, float(scale), int(zero_point))
            else:
                module.qconfig = self.attrs.quantized_qconfig.get(node.name)
                module.activation_post_process = observer
                quantized = self.static[key].from_float(module)
            self._swap(node, quantized)
        elif key in with_output_qparams or key is F.leaky_relu:
            # the quantized op takes the float op's arguments and the output qparams
            ops = ember.ops.quantized
            op = {F.hardswish: ops.hardswish, F.elu: ops.elu,
                  F.leaky_relu: ops.leaky_relu}[key]
            kwargs = dict(node.kwargs)
            if key is not F.leaky_relu:
                kwargs.pop("inplace", None)   # the quantized hardswish / elu have none
            kwargs["output_scale"], kwargs["output_zero_point"] = q_out.args[1], q_out.args[2]
            args = (self.quantized_input(first),) + tuple(node.args[1:])
            with self.graph.inserting_before(q_out):
                lowered = self.graph.call_function(op, args, kwargs)
            q_out.replace_all_uses_with(lowered)
            self.graph.erase_node(q_out)
            self.graph.erase_node(node)
            return
        for dq in inputs:
            node.replace_input_with(dq, dq.args[0])
        q_out.replace_all_uses_with(node)
        self.graph.erase_node(q_out)

    def lower_tensor_info(self, node):
        """x.size() / x.shape read the quantized tensor (no dequantize needed)."""
        reads_info = (node.op == "call_method" and node.target in ("size", "dim", "numel")) or \
            (node.op == "call_function" and node.target is getattr and len(node.args) > 1
             and node.args[1] in ("shape", "dtype", "device", "ndim"))
        if reads_info and node.args and _is_dequantize(node.args[0]):
            node.replace_input_with(node.args[0], node.args[0].args[0])

    def run(self):
        for node in list(self.graph.nodes):
            if node.graph is None:
                continue
            if node.op == "call_module":
                self.lower_module(node)
        for node in list(self.graph.nodes):
            if _erased(node):
                continue
            self.lower_weighted_functional(node)
        for node in list(self.graph.nodes):
            if _erased(node):
                continue
            self.lower_binary(node)
        for node in list(self.graph.nodes):
            if _erased(node):
                continue
            self.lower_special(node)
        for node in list(self.graph.nodes):
            if not _erased(node):
                self.lower_tensor_info(node)


def _set_qconfig(module, qconfig):
    """The qconfig on the module and its parts (the eager from_float reads it from the
    conv inside a ConvReLU2d)."""
    for m in module.modules():
        m.qconfig = qconfig


def _erased(node):
    return getattr(node, "_erased", False)


def _nni():
    import ember.ao.nn.intrinsic as nni
    return nni


def lower_to_native(model, graph, originals, attrs):
    _Lowering(model, graph, originals, attrs).run()
