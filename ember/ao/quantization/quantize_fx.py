"""torch.ao.quantization.quantize_fx: FX graph mode quantization.

    prepared = prepare_fx(model.eval(), get_default_qconfig_mapping("x86"), example_inputs)
    for x in calibration_data: prepared(x)
    quantized = convert_fx(prepared)

The model is traced with ember.fx; module chains the backend runs as one kernel are fused
(fx/fuse.py); observers go where the qconfig mapping and the BackendConfig's patterns ask
(fx/prepare.py); convert replaces them by quantize/dequantize and, unless a reference
model is asked for, lowers each dequantize -> float op -> quantize to ember's quantized
modules and ops (fx/convert.py). prepare_qat_fx does the same with QAT modules and
fake-quantizers. Standalone modules and the PT2E flow are not built (NotImplementedError).
"""
import copy

from .backend_config import get_native_backend_config
from .fx.custom_config import ConvertCustomConfig, FuseCustomConfig, PrepareCustomConfig
from .qconfig_mapping import QConfigMapping

# The passes (fx/prepare.py, convert.py ...) import ember.fx, whose import turns on the
# __torch_function__ dispatcher for the whole process; they are imported when a function
# here is first called, so that `import ember.ao.quantization` (eager mode) leaves it off.

__all__ = ["fuse_fx", "prepare_fx", "prepare_qat_fx", "convert_fx", "convert_to_reference_fx"]


def _check_is_module(model, fn):
    from ember import nn
    if not isinstance(model, nn.Module):
        raise TypeError(f"{fn}: expected an nn.Module, got {type(model).__name__}")


def _trace(model, prepare_custom_config):
    from ember.fx import GraphModule
    from .fx.tracer import QuantizationTracer
    skipped_names = list(prepare_custom_config.non_traceable_module_names)
    skipped_classes = list(prepare_custom_config.non_traceable_module_classes)
    for mapping in prepare_custom_config.float_to_observed_mapping.values():
        skipped_classes.extend(mapping)
    tracer = QuantizationTracer(skipped_names, skipped_classes)
    graph = tracer.trace(model)
    traced = GraphModule(model, graph)
    return traced, tracer.node_name_to_scope


def _preserve(source, target, attributes):
    for name in attributes:
        if hasattr(source, name):
            setattr(target, name, getattr(source, name))


def _as_prepare_config(config):
    if config is None:
        return PrepareCustomConfig()
    if isinstance(config, dict):
        return PrepareCustomConfig.from_dict(config)
    return config


def _as_qconfig_mapping(qconfig_mapping):
    if qconfig_mapping is None:
        return QConfigMapping()
    if isinstance(qconfig_mapping, dict):
        return QConfigMapping.from_dict(qconfig_mapping)
    if not isinstance(qconfig_mapping, QConfigMapping):
        raise TypeError(f"qconfig_mapping must be a QConfigMapping (or a qconfig dict), got "
                        f"{type(qconfig_mapping).__name__}")
    return qconfig_mapping


def _prepare_fx(model, qconfig_mapping, is_qat, example_inputs, prepare_custom_config,
                backend_config, fn):
    _check_is_module(model, fn)
    prepare_custom_config = _as_prepare_config(prepare_custom_config)
    qconfig_mapping = _as_qconfig_mapping(qconfig_mapping)
    if backend_config is None:
        backend_config = get_native_backend_config()
    if prepare_custom_config.standalone_module_names or \
            prepare_custom_config.standalone_module_classes:
        raise NotImplementedError(f"{fn}: standalone modules (PrepareCustomConfig."
                                  f"set_standalone_module_name/class) are not built in ember; "
                                  f"mark the module non-traceable instead")
    from .fx.fuse import fuse
    from .fx.prepare import prepare
    model = copy.deepcopy(model)
    traced, node_name_to_scope = _trace(model, prepare_custom_config)
    fused = fuse(traced, is_qat, backend_config)
    prepared = prepare(fused, qconfig_mapping, is_qat, node_name_to_scope,
                       prepare_custom_config, backend_config)
    _preserve(model, prepared, prepare_custom_config.preserved_attributes)
    return prepared


def fuse_fx(model, fuse_custom_config=None, backend_config=None):
    """The model traced with its fusable module chains (conv-bn-relu, linear-relu, ...)
    fused, BatchNorm folded (the model must be in eval mode)."""
    _check_is_module(model, "fuse_fx")
    if isinstance(fuse_custom_config, dict):
        fuse_custom_config = FuseCustomConfig.from_dict(fuse_custom_config)
    fuse_custom_config = fuse_custom_config or FuseCustomConfig()
    from .fx.fuse import fuse
    traced, _ = _trace(model, PrepareCustomConfig())
    fused = fuse(traced, False, backend_config or get_native_backend_config())
    _preserve(model, fused, fuse_custom_config.preserved_attributes)
    return fused


def prepare_fx(model, qconfig_mapping, example_inputs, prepare_custom_config=None,
               _equalization_config=None, backend_config=None):
    """The model traced, fused and observed for post-training quantization (run it on
    calibration data, then convert_fx)."""
    if _equalization_config is not None:
        raise NotImplementedError("prepare_fx: _equalization_config (input-weight "
                                  "equalization) is not built in ember")
    return _prepare_fx(model, qconfig_mapping, False, example_inputs, prepare_custom_config,
                       backend_config, "prepare_fx")


def prepare_qat_fx(model, qconfig_mapping, example_inputs, prepare_custom_config=None,
                   backend_config=None):
    """The model traced, fused into QAT modules and given fake-quantizers for
    quantization-aware training (train it, then convert_fx)."""
    return _prepare_fx(model, qconfig_mapping, True, example_inputs, prepare_custom_config,
                       backend_config, "prepare_qat_fx")


def _convert_fx(graph_module, is_reference, convert_custom_config, qconfig_mapping,
                backend_config, fn):
    _check_is_module(graph_module, fn)
    if "_observed_graph_module_attrs" not in getattr(graph_module, "meta", {}):
        raise AssertionError(f"{fn}: the model must be the result of prepare_fx or "
                             f"prepare_qat_fx")
    if isinstance(convert_custom_config, dict):
        convert_custom_config = ConvertCustomConfig.from_dict(convert_custom_config)
    convert_custom_config = convert_custom_config or ConvertCustomConfig()
    if qconfig_mapping is not None:
        raise NotImplementedError(f"{fn}: a qconfig_mapping at convert (to update the prepare "
                                  f"qconfigs) is not built in ember")
    from .fx.convert import convert
    quantized = convert(graph_module, is_reference, convert_custom_config,
                        backend_config or get_native_backend_config())
    _preserve(graph_module, quantized, convert_custom_config.preserved_attributes)
    return quantized


def convert_fx(graph_module, convert_custom_config=None, _remove_qconfig=True,
               qconfig_mapping=None, backend_config=None, keep_original_weights=False):
    """The calibrated (or QAT-trained) prepared model with quantized modules and ops."""
    return _convert_fx(graph_module, False, convert_custom_config, qconfig_mapping,
                       backend_config, "convert_fx")


def convert_to_reference_fx(graph_module, convert_custom_config=None, _remove_qconfig=True,
                            qconfig_mapping=None, backend_config=None):
    """The prepared model in reference form: quantize -> dequantize -> float op ->
    quantize ..., with reference quantized modules (float weights fake-quantized)."""
    return _convert_fx(graph_module, True, convert_custom_config, qconfig_mapping,
                       backend_config, "convert_to_reference_fx")
