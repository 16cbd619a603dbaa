"""Eager-mode quantization workflows (torch.ao.quantization.quantize).

    static (post-training):   model.qconfig = get_default_qconfig('x86')
                              prepared = prepare(model)      # observers after each layer
                              run calibration batches through prepared
                              quantized = convert(prepared)  # float layers -> quantized ones
    quantization-aware training:
                              prepared = prepare_qat(model)  # QAT layers + fake-quantizers
                              train, then convert(prepared.eval())
    dynamic:                  quantize_dynamic(model, {nn.Linear, nn.LSTM}, dtype=qint8)

``prepare`` gives every leaf module that has a qconfig (propagated from its parents) and is
in the propagation list an ``activation_post_process`` observer, run on its output by a
forward hook (on its input by a pre-hook for memoryless dynamic observers). ``convert``
swaps each module that has a qconfig and a mapping for ``Quantized.from_float(module)``,
keeping its other hooks.
"""
import copy
import inspect
import itertools
import warnings

import ember
from ember import nn
from ember.nn.utils.parametrize import is_parametrized, type_before_parametrizations

import ember.ao.nn.quantized as nnq
from ember.ao.nn.intrinsic.modules.fused import _FusedModule

from .observer import _is_activation_post_process
from .qconfig import (_activation_is_memoryless, _add_module_to_qconfig_obs_ctr,
                      _assert_valid_qconfig, default_dynamic_qconfig, float16_dynamic_qconfig,
                      float_qparams_weight_only_qconfig, float_qparams_weight_only_qconfig_4bit)
from .quantization_mappings import (_get_special_act_post_process,
                                    _has_special_act_post_process,
                                    get_default_dynamic_quant_module_mappings,
                                    get_default_qat_module_mappings,
                                    get_default_qconfig_propagation_list,
                                    get_default_static_quant_module_mappings, no_observer_set)
from .stubs import DeQuantStub, QuantWrapper

__all__ = ["get_default_custom_config_dict", "propagate_qconfig_", "add_quant_dequant",
           "prepare", "quantize", "quantize_dynamic", "prepare_qat", "quantize_qat", "convert",
           "swap_module"]

DEPRECATION_WARNING = (
    "torch.ao.quantization is deprecated and will be removed in 2.10. \n"
    "For migrations of users: \n"
    "1. Eager mode quantization (torch.ao.quantization.quantize, "
    "torch.ao.quantization.quantize_dynamic), please migrate to use torchao eager mode "
    "quantize_ API instead \n"
    "2. FX graph mode quantization (torch.ao.quantization.quantize_fx.prepare_fx,"
    "torch.ao.quantization.quantize_fx.convert_fx, please migrate to use torchao pt2e "
    "quantization API instead (prepare_pt2e, convert_pt2e) \n"
    "3. pt2e quantization has been migrated to torchao "
    "(https://github.com/pytorch/ao/tree/main/torchao/quantization/pt2e) \n"
    "see https://github.com/pytorch/ao/issues/2259 for more details")

is_activation_post_process = _is_activation_post_process


def _deprecated():
    warnings.warn(DEPRECATION_WARNING, DeprecationWarning, stacklevel=3)


def get_default_custom_config_dict():
    """The custom-module config of prepare/convert: nn.LSTM and nn.MultiheadAttention become
    their quantizable (observed) versions at prepare, and those their quantized ones at
    convert."""
    import ember.ao.nn.quantizable as nnqa
    return {"float_to_observed_custom_module_class": {nn.LSTM: nnqa.LSTM,
                                                      nn.MultiheadAttention:
                                                          nnqa.MultiheadAttention},
            "observed_to_quantized_custom_module_class": {nnqa.LSTM: nnq.LSTM,
                                                          nnqa.MultiheadAttention:
                                                              nnq.MultiheadAttention}}


def _has_no_children(module):
    if len(module._modules) == 0:
        return True
    if is_parametrized(module):
        return len(module._modules) == 1 and "parametrizations" in module._modules
    return False


def _propagate_qconfig_helper(module, qconfig_dict, qconfig_parent=None, prefix="",
                              prepare_custom_config_dict=None):
    """qconfig of a module: its own attribute, else its name's entry, else its type's entry,
    else its parent's; set on every module of the tree."""
    module_qconfig = qconfig_dict.get(type_before_parametrizations(module), qconfig_parent)
    module_qconfig = qconfig_dict.get(prefix, module_qconfig)
    module_qconfig = getattr(module, "qconfig", module_qconfig)
    _assert_valid_qconfig(module_qconfig, module)
    qconfig_with_device = _add_module_to_qconfig_obs_ctr(module_qconfig, module)
    module.qconfig = qconfig_with_device
    custom = prepare_custom_config_dict or {}
    for name, child in module.named_children():
        module_prefix = prefix + "." + name if prefix else name
        if (name in custom.get("non_traceable_module_name", [])
                or type(child) in custom.get("non_traceable_module_class", [])):
            continue
        _propagate_qconfig_helper(child, qconfig_dict, qconfig_with_device, module_prefix)


def propagate_qconfig_(module, qconfig_dict=None, prepare_custom_config_dict=None):
    """Set ``.qconfig`` on every submodule (in place), from qconfig_dict (keys: module types
    or dotted names) and the parents' qconfigs."""
    _propagate_qconfig_helper(module, qconfig_dict or {},
                              prepare_custom_config_dict=prepare_custom_config_dict or {})


def _observer_forward_hook(self, input, output):
    """Run the module's observer on its output."""
    return self.activation_post_process(output)


def _observer_forward_pre_hook(self, input):
    """Run the module's observer on its (first) input."""
    return self.activation_post_process(input[0])


def _register_activation_post_process_hook(module, pre_hook=False):
    if not hasattr(module, "activation_post_process"):
        raise AssertionError("Expect activation_post_process attribute already attached to "
                             "the module")
    if pre_hook:
        module.register_forward_pre_hook(_observer_forward_pre_hook, prepend=True)
    else:
        module.register_forward_hook(_observer_forward_hook, prepend=True)


def _get_unique_devices_(module):
    return ({p.device for p in module.parameters() if p.device.type != "meta"}
            | {b.device for b in module.buffers() if b.device.type != "meta"})


def _add_observer_(module, qconfig_propagation_list=None, non_leaf_module_list=None,
                   device=None, custom_module_class_mapping=None):
    """Give the leaf modules that have a qconfig an activation_post_process observer and the
    hook that runs it (in place)."""
    if qconfig_propagation_list is None:
        qconfig_propagation_list = get_default_qconfig_propagation_list()
    custom_module_class_mapping = custom_module_class_mapping or {}
    if device is None:
        devices = _get_unique_devices_(module)
        if len(devices) > 1:
            raise AssertionError(f"_add_observer_ only works with cpu or single-device CUDA "
                                 f"modules, but got devices {devices}")
        device = next(iter(devices)) if devices else None

    def get_activation_post_process(qconfig, special_act_post_process=None):
        activation = (qconfig.activation() if special_act_post_process is None
                      else special_act_post_process())
        if device is not None:
            activation.to(device)
        return activation

    def needs_observation(m):
        return hasattr(m, "qconfig") and m.qconfig is not None

    def insert_activation_post_process(m, special_act_post_process=None):
        if needs_observation(m) and not isinstance(m, DeQuantStub):
            m.add_module("activation_post_process",
                         get_activation_post_process(m.qconfig, special_act_post_process))
            _register_activation_post_process_hook(
                m, pre_hook=_activation_is_memoryless(m.qconfig))

    for name, child in module.named_children():
        child_type = type_before_parametrizations(child)
        if child_type is nn.Dropout:
            continue
        if issubclass(child_type, (nnq.FloatFunctional, nnq.QFunctional)):
            if needs_observation(child):
                if not hasattr(child, "activation_post_process"):
                    raise AssertionError(f"functional class {child_type} has no pre-defined "
                                         f"`activation_post_process`")
                child.activation_post_process = get_activation_post_process(child.qconfig)
        elif isinstance(child, _FusedModule):
            if needs_observation(child):
                insert_activation_post_process(child)
        elif non_leaf_module_list is not None and child_type in non_leaf_module_list:
            if needs_observation(child):
                insert_activation_post_process(child)
        elif _has_special_act_post_process(child):
            insert_activation_post_process(child, _get_special_act_post_process(child))
        elif needs_observation(child) and child_type in custom_module_class_mapping:
            observed_class = custom_module_class_mapping[child_type]
            observed_child = observed_class.from_float(child)
            setattr(module, name, observed_child)
            if not issubclass(observed_class, tuple(no_observer_set())):
                insert_activation_post_process(observed_child)
        else:
            _add_observer_(child, qconfig_propagation_list, non_leaf_module_list, device,
                           custom_module_class_mapping)
    module_type = type_before_parametrizations(module)
    if (_has_no_children(module) and not isinstance(module, nn.Sequential)
            and module_type in qconfig_propagation_list):
        insert_activation_post_process(module)
    # A QAT module is not a leaf (its weight_fake_quant is a child) but is observed.
    if (hasattr(module, "weight_fake_quant") and not isinstance(module, nn.Sequential)
            and module_type in qconfig_propagation_list):
        insert_activation_post_process(module)


def add_quant_dequant(module):
    """Wrap each leaf module that has a qconfig in a QuantWrapper (quant -> module ->
    dequant)."""
    if _has_no_children(module) and getattr(module, "qconfig", None):
        return QuantWrapper(module)
    for name, child in module.named_children():
        module._modules[name] = add_quant_dequant(child)
    return module


def prepare(model, inplace=False, allow_list=None, observer_non_leaf_module_list=None,
            prepare_custom_config_dict=None):
    """Propagate qconfigs and attach observers for calibration (a copy unless inplace)."""
    _deprecated()
    if prepare_custom_config_dict is None:
        prepare_custom_config_dict = get_default_custom_config_dict()
    custom_module_class_mapping = prepare_custom_config_dict.get(
        "float_to_observed_custom_module_class", {})
    if not inplace:
        model = copy.deepcopy(model)
    qconfig_propagation_list = (allow_list if allow_list is not None
                                else get_default_qconfig_propagation_list())
    propagate_qconfig_(model, qconfig_dict=None)
    if not any(hasattr(m, "qconfig") and m.qconfig for m in model.modules()):
        warnings.warn("None of the submodule got qconfig applied. Make sure you passed correct "
                      "configuration through `qconfig_dict` or by assigning the `.qconfig` "
                      "attribute directly on submodules", stacklevel=2)
    _add_observer_(model, qconfig_propagation_list, observer_non_leaf_module_list,
                   custom_module_class_mapping=custom_module_class_mapping)
    return model


def _remove_activation_post_process(module):
    if hasattr(module, "activation_post_process") and _is_activation_post_process(
            module.activation_post_process):
        delattr(module, "activation_post_process")
    for hooks, observer_hook in ((module._forward_pre_hooks, _observer_forward_pre_hook),
                                 (module._forward_hooks, _observer_forward_hook)):
        for handle_id in [h for h, fn in hooks.items() if fn is observer_hook]:
            hooks.pop(handle_id)


def _remove_qconfig(module):
    """Drop the qconfig attributes and observers left by prepare (in place)."""
    for child in module.children():
        _remove_qconfig(child)
    if hasattr(module, "qconfig"):
        del module.qconfig
    _remove_activation_post_process(module)


def quantize(model, run_fn, run_args, mapping=None, inplace=False):
    """Post-training static quantization: prepare, run_fn(model, *run_args) to calibrate,
    convert."""
    _deprecated()
    if mapping is None:
        mapping = get_default_static_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prepare(model, inplace=True)
        run_fn(model, *run_args)
        convert(model, mapping, inplace=True)
    return model


def quantize_dynamic(model, qconfig_spec=None, dtype=None, mapping=None, inplace=False):
    """Dynamic quantization: the chosen modules get quantized weights, their activations
    are quantized on the fly. qconfig_spec: a set of module types / names (with dtype qint8,
    float16 ...), or a dict to qconfigs; default: Linear and the RNNs for qint8."""
    _deprecated()
    dtype = ember.qint8 if dtype is None else dtype
    defaults = {ember.qint8: default_dynamic_qconfig, ember.float16: float16_dynamic_qconfig,
                ember.quint8: float_qparams_weight_only_qconfig,
                ember.quint4x2: float_qparams_weight_only_qconfig_4bit}
    if qconfig_spec is None:
        if dtype in (ember.qint8, ember.float16):
            qconfig_spec = dict.fromkeys((nn.Linear, nn.LSTM, nn.GRU, nn.LSTMCell, nn.RNNCell,
                                          nn.GRUCell), defaults[dtype])
        elif dtype == ember.quint8:
            qconfig_spec = dict.fromkeys((nn.EmbeddingBag, nn.Embedding), defaults[dtype])
        elif dtype == ember.quint4x2:
            qconfig_spec = {nn.EmbeddingBag: defaults[dtype]}
        else:
            raise ValueError(f"Don't know how to quantize with default settings for {dtype}. "
                             f"Provide full qconfig please")
    elif isinstance(qconfig_spec, set):
        if dtype not in defaults:
            raise RuntimeError("Unknown dtype specified for quantize_dynamic: ", str(dtype))
        qconfig_spec = dict(zip(qconfig_spec, itertools.repeat(defaults[dtype])))
    if mapping is None:
        mapping = get_default_dynamic_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, qconfig_spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        convert(model, mapping, inplace=True)
    return model


def prepare_qat(model, mapping=None, inplace=False):
    """Quantization-aware training: swap modules for their QAT versions (fake-quantized
    weights) and attach fake-quantizing observers (a copy unless inplace; model must be in
    training mode)."""
    _deprecated()
    if not model.training:
        raise AssertionError("prepare_qat only works on models in training mode")
    if mapping is None:
        mapping = get_default_qat_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model, qconfig_dict=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        convert(model, mapping=mapping, inplace=True, remove_qconfig=False)
        prepare(model, observer_non_leaf_module_list=set(mapping.values()), inplace=True)
    return model


def quantize_qat(model, run_fn, run_args, inplace=False):
    """prepare_qat, run_fn(model, *run_args) to train, convert."""
    _deprecated()
    if not inplace:
        model = copy.deepcopy(model)
    model.train()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prepare_qat(model, inplace=True)
        run_fn(model, *run_args)
        convert(model, inplace=True)
    return model


def convert(module, mapping=None, inplace=False, remove_qconfig=True, is_reference=False,
            convert_custom_config_dict=None, use_precomputed_fake_quant=False):
    """Swap the observed modules for their quantized versions (a copy unless inplace)."""
    _deprecated()
    if not inplace:
        module = copy.deepcopy(module)
    _convert(module, mapping, inplace=True, is_reference=is_reference,
             convert_custom_config_dict=convert_custom_config_dict,
             use_precomputed_fake_quant=use_precomputed_fake_quant)
    if remove_qconfig:
        _remove_qconfig(module)
    return module


def _convert(module, mapping=None, inplace=False, is_reference=False,
             convert_custom_config_dict=None, use_precomputed_fake_quant=False):
    if is_reference:
        raise NotImplementedError("convert(is_reference=True): reference quantized modules "
                                  "are not built in ember")
    if mapping is None:
        mapping = get_default_static_quant_module_mappings()
    if convert_custom_config_dict is None:
        convert_custom_config_dict = get_default_custom_config_dict()
    custom_module_class_mapping = convert_custom_config_dict.get(
        "observed_to_quantized_custom_module_class", {})
    if not inplace:
        module = copy.deepcopy(module)
    reassign = {}
    for name, mod in module.named_children():
        # fused modules are swapped as a whole: their children are not converted
        if (not isinstance(mod, _FusedModule)
                and type_before_parametrizations(mod) not in custom_module_class_mapping):
            _convert(mod, mapping, True, is_reference, convert_custom_config_dict,
                     use_precomputed_fake_quant=use_precomputed_fake_quant)
        reassign[name] = swap_module(mod, mapping, custom_module_class_mapping,
                                     use_precomputed_fake_quant)
    for key, value in reassign.items():
        module._modules[key] = value
    return module


def swap_module(mod, mapping, custom_module_class_mapping, use_precomputed_fake_quant=False):
    """mod's quantized counterpart if it has a qconfig and a mapping, else mod; hooks other
    than the observer's carry over."""
    new_mod = mod
    if getattr(mod, "qconfig", None) is None:
        return new_mod
    mod_type = type_before_parametrizations(mod)
    if mod_type in custom_module_class_mapping:
        new_mod = custom_module_class_mapping[mod_type].from_observed(mod)
    elif mod_type in mapping:
        qmod = mapping[mod_type]
        if "use_precomputed_fake_quant" in inspect.signature(qmod.from_float).parameters:
            new_mod = qmod.from_float(mod, use_precomputed_fake_quant=use_precomputed_fake_quant)
        else:
            new_mod = qmod.from_float(mod)
    else:
        return new_mod
    for pre_hook_fn in mod._forward_pre_hooks.values():
        new_mod.register_forward_pre_hook(pre_hook_fn)
    for hook_fn in mod._forward_hooks.values():
        if hook_fn is not _observer_forward_hook:
            new_mod.register_forward_hook(hook_fn)
    devices = _get_unique_devices_(mod)
    if len(devices) > 1:
        raise AssertionError(f"swap_module only works with cpu or single-device CUDA modules, "
                             f"but got devices {devices}")
    device = next(iter(devices)) if devices else None
    if device is not None and device.type != "cpu":
        new_mod.to(device)
    return new_mod


def _get_observer_dict(mod, target_dict, prefix=""):
    """Collect every activation_post_process under `mod` into target_dict by dotted name."""
    def with_dot(p):
        return p if p == "" else p + "."
    if hasattr(mod, "activation_post_process"):
        target_dict[with_dot(prefix) + "activation_post_process"] = mod.activation_post_process
    for name, child in mod.named_children():
        _get_observer_dict(child, target_dict, with_dot(prefix) + name if prefix else name)
