"""QConfigMapping (torch.ao.quantization.qconfig_mapping): qconfigs by global default,
module type, module name (or name regex) and (name, type, call index), as FX graph mode
quantization (quantize_fx.prepare_fx) reads them; eager mode can use its global and
per-type entries through ``to_dict``."""
from collections import OrderedDict

from ember import nn

from .qconfig import (default_reuse_input_qconfig, get_default_qat_qconfig,
                      get_default_qconfig)

__all__ = ["QConfigMapping", "get_default_qconfig_mapping", "get_default_qat_qconfig_mapping"]

_GLOBAL_DICT_KEY = ""
_OBJECT_TYPE_DICT_KEY = "object_type"
_MODULE_NAME_REGEX_DICT_KEY = "module_name_regex"
_MODULE_NAME_DICT_KEY = "module_name"
_MODULE_NAME_OBJECT_TYPE_ORDER_DICT_KEY = "module_name_object_type_order"


class QConfigMapping:
    """Which qconfig applies where (set_global, set_object_type, set_module_name_regex,
    set_module_name, set_module_name_object_type_order; later settings of a key win)."""

    def __init__(self):
        self.global_qconfig = None
        self.object_type_qconfigs = OrderedDict()
        self.module_name_regex_qconfigs = OrderedDict()
        self.module_name_qconfigs = OrderedDict()
        self.module_name_object_type_order_qconfigs = OrderedDict()

    def set_global(self, global_qconfig):
        self.global_qconfig = global_qconfig
        return self

    def set_object_type(self, object_type, qconfig):
        self.object_type_qconfigs[object_type] = qconfig
        return self

    def set_module_name_regex(self, module_name_regex, qconfig):
        self.module_name_regex_qconfigs[module_name_regex] = qconfig
        return self

    def set_module_name(self, module_name, qconfig):
        self.module_name_qconfigs[module_name] = qconfig
        return self

    def set_module_name_object_type_order(self, module_name, object_type, index, qconfig):
        self.module_name_object_type_order_qconfigs[(module_name, object_type, index)] = qconfig
        return self

    def __repr__(self):
        out = self.__class__.__name__ + " ("
        for name in ("global_qconfig", "object_type_qconfigs", "module_name_regex_qconfigs",
                     "module_name_qconfigs", "module_name_object_type_order_qconfigs"):
            value = getattr(self, name)
            out += f"\n {name}"
            if isinstance(value, OrderedDict) and value:
                for key, qconfig in value.items():
                    out += f"\n  {key}: {qconfig}"
            else:
                out += f"\n  {value}"
        return out + "\n)"

    def to_dict(self):
        """The old qconfig_dict form: {'': global, 'object_type': [(type, qconfig)], ...}."""
        return {
            _GLOBAL_DICT_KEY: self.global_qconfig,
            _OBJECT_TYPE_DICT_KEY: list(self.object_type_qconfigs.items()),
            _MODULE_NAME_REGEX_DICT_KEY: list(self.module_name_regex_qconfigs.items()),
            _MODULE_NAME_DICT_KEY: list(self.module_name_qconfigs.items()),
            _MODULE_NAME_OBJECT_TYPE_ORDER_DICT_KEY: [
                (*k, v) for k, v in self.module_name_object_type_order_qconfigs.items()],
        }

    @classmethod
    def from_dict(cls, qconfig_dict):
        """The mapping of a qconfig_dict (to_dict's form)."""
        mapping = cls()
        if _GLOBAL_DICT_KEY in qconfig_dict:
            mapping.set_global(qconfig_dict[_GLOBAL_DICT_KEY])
        for object_type, qconfig in qconfig_dict.get(_OBJECT_TYPE_DICT_KEY, []):
            mapping.set_object_type(object_type, qconfig)
        for regex, qconfig in qconfig_dict.get(_MODULE_NAME_REGEX_DICT_KEY, []):
            mapping.set_module_name_regex(regex, qconfig)
        for name, qconfig in qconfig_dict.get(_MODULE_NAME_DICT_KEY, []):
            mapping.set_module_name(name, qconfig)
        for name, object_type, index, qconfig in qconfig_dict.get(
                _MODULE_NAME_OBJECT_TYPE_ORDER_DICT_KEY, []):
            mapping.set_module_name_object_type_order(name, object_type, index, qconfig)
        return mapping


def _fixed_qparams_op_to_observer():
    """Ops with a fixed output range and the observer that fixes their qparams."""
    import ember
    from ember import _torch_function
    from ember.nn import functional as F
    from .observer import (default_fixed_qparams_range_0to1_observer as zero_to_one,
                           default_fixed_qparams_range_neg1to1_observer as minus_one_to_one)
    _torch_function.activate()   # the traced graphs hold the dispatching wrappers
    return {nn.Hardsigmoid: zero_to_one, F.hardsigmoid: zero_to_one, "hardsigmoid": zero_to_one,
            "hardsigmoid_": zero_to_one, nn.Sigmoid: zero_to_one, ember.sigmoid: zero_to_one,
            "sigmoid": zero_to_one, "sigmoid_": zero_to_one, nn.Softmax: zero_to_one,
            nn.Tanh: minus_one_to_one, ember.tanh: minus_one_to_one, "tanh": minus_one_to_one,
            "tanh_": minus_one_to_one}


def _default_mapping(is_qat, backend, version):
    """PyTorch's default mapping: the backend's qconfig everywhere; reshape reusing its
    input's observer; per-tensor weights for transposed convolutions on fbgemm/x86; float
    weights for layer_norm; quint8 weights for PReLU; fixed qparams for sigmoid, tanh,
    hardsigmoid and Softmax."""
    from ember.nn import functional as F
    from .fake_quantize import FixedQParamsFakeQuantize, default_weight_fake_quant
    from .observer import default_placeholder_observer, default_weight_observer
    from .qconfig import QConfig, default_quint8_weight_qconfig
    qconfig = (get_default_qat_qconfig(backend, version) if is_qat
               else get_default_qconfig(backend, version))
    default_weight = default_weight_fake_quant if is_qat else default_weight_observer
    if backend in ("fbgemm", "x86"):
        qconfig_transpose = QConfig(activation=qconfig.activation, weight=default_weight)
    else:
        qconfig_transpose = qconfig
    qconfig_layernorm = QConfig(activation=qconfig.activation,
                                weight=default_placeholder_observer)
    mapping = QConfigMapping().set_global(qconfig)
    mapping.set_object_type("reshape", default_reuse_input_qconfig)
    for op in (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, F.conv_transpose1d,
               F.conv_transpose2d, F.conv_transpose3d):
        mapping.set_object_type(op, qconfig_transpose)
    mapping.set_object_type(F.layer_norm, qconfig_layernorm)
    mapping.set_object_type(nn.LayerNorm, qconfig_layernorm)
    mapping.set_object_type(nn.PReLU, default_quint8_weight_qconfig)
    qconfig_of_observer = {}
    for op, observer in _fixed_qparams_op_to_observer().items():
        if observer not in qconfig_of_observer:
            activation = (FixedQParamsFakeQuantize.with_args(observer=observer) if is_qat
                          else observer)
            qconfig_of_observer[observer] = QConfig(activation=activation,
                                                    weight=default_weight)
        mapping.set_object_type(op, qconfig_of_observer[observer])
    return mapping


def get_default_qconfig_mapping(backend="x86", version=0):
    """The default post-training QConfigMapping of a backend (its global qconfig is
    get_default_qconfig(backend))."""
    return _default_mapping(False, backend, version)


def get_default_qat_qconfig_mapping(backend="x86", version=1):
    """The default QAT QConfigMapping of a backend."""
    return _default_mapping(True, backend, version)


