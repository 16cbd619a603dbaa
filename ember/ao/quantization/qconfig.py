"""QConfig (torch.ao.quantization.qconfig): which observer (or fake-quantizer) watches a
layer's activations and which its weight, as constructors (``Observer.with_args(...)``), and
the default pairs for each backend.

    get_default_qconfig('x86' | 'fbgemm')  activation HistogramObserver(reduce_range=True),
                                            weight per-channel symmetric qint8
    get_default_qconfig('qnnpack')          activation HistogramObserver, weight per-tensor
                                            symmetric qint8
    get_default_qat_qconfig(backend)        the same with fused moving-average fake-quantizers
"""
import copy
import warnings
from collections import namedtuple

import ember
from ember import nn

from .fake_quantize import (FakeQuantize, FakeQuantizeBase, FusedMovingAvgObsFakeQuantize,
                            default_dynamic_fake_quant, default_embedding_fake_quant,
                            default_embedding_fake_quant_4bit, default_fake_quant,
                            default_fused_act_fake_quant, default_fused_per_channel_wt_fake_quant,
                            default_fused_wt_fake_quant, default_per_channel_weight_fake_quant,
                            default_weight_fake_quant, fused_per_channel_wt_fake_quant_range_neg_127_to_127,
                            fused_wt_fake_quant_range_neg_127_to_127)
from .observer import (HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver,
                       MovingAveragePerChannelMinMaxObserver, NoopObserver, ObserverBase,
                       PerChannelMinMaxObserver, PlaceholderObserver, _PartialWrapper,
                       default_debug_observer, default_dynamic_quant_observer,
                       default_float_qparams_observer, default_float_qparams_observer_4bit,
                       default_observer, default_per_channel_weight_observer,
                       default_placeholder_observer, default_reuse_input_observer,
                       default_weight_observer, per_channel_weight_observer_range_neg_127_to_127,
                       weight_observer_range_neg_127_to_127)

__all__ = ["QConfig", "QConfigDynamic", "default_qconfig", "default_debug_qconfig",
           "default_per_channel_qconfig", "default_dynamic_qconfig", "float16_dynamic_qconfig",
           "float16_static_qconfig", "per_channel_dynamic_qconfig",
           "float_qparams_weight_only_qconfig", "float_qparams_weight_only_qconfig_4bit",
           "default_qat_qconfig", "default_dynamic_qat_qconfig", "default_weight_only_qconfig",
           "default_activation_only_qconfig", "default_qat_qconfig_v2",
           "default_reuse_input_qconfig", "default_symmetric_qnnpack_qconfig",
           "default_per_channel_symmetric_qnnpack_qconfig", "default_symmetric_qnnpack_qat_qconfig",
           "default_per_channel_symmetric_qnnpack_qat_qconfig", "default_embedding_qat_qconfig",
           "default_embedding_qat_qconfig_4bit", "default_quint8_weight_qconfig",
           "get_default_qconfig", "get_default_qat_qconfig", "get_default_qconfig_dict",
           "get_default_qat_qconfig_dict", "QConfigAny", "qconfig_equals"]

_BACKENDS = ["fbgemm", "x86", "qnnpack", "onednn"]


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """(activation, weight): observer *constructors* (classes or ``with_args`` results),
    called once per layer by ``prepare``; instances are refused."""

    __slots__ = ()

    def __new__(cls, activation, weight):
        if isinstance(activation, nn.Module) or isinstance(weight, nn.Module):
            raise ValueError("QConfig received observer instance, please pass observer class "
                             "instead. Use MyObserver.with_args(x=1) to override arguments to "
                             "constructor if needed")
        return super().__new__(cls, activation, weight)


class QConfigDynamic(namedtuple("QConfigDynamic", ["activation", "weight"])):
    """Deprecated name of a QConfig for dynamic quantization."""

    __slots__ = ()

    def __new__(cls, activation=nn.Identity, weight=nn.Identity):
        warnings.warn("`QConfigDynamic` is going to be deprecated in PyTorch 1.12, please use "
                      "`QConfig` instead", FutureWarning, stacklevel=2)
        if isinstance(weight, nn.Module):
            raise ValueError("QConfigDynamic received observer instance, please pass observer "
                             "class instead. Use MyObserver.with_args(x=1) to override "
                             "arguments to constructor if needed")
        return super().__new__(cls, activation, weight)


QConfigAny = QConfig

default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_debug_qconfig = QConfig(weight=default_weight_observer,
                                activation=default_debug_observer)
default_per_channel_qconfig = QConfig(activation=default_observer,
                                      weight=default_per_channel_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                  weight=default_weight_observer)
float16_dynamic_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(dtype=ember.float16, is_dynamic=True),
    weight=PlaceholderObserver.with_args(dtype=ember.float16))
float16_static_qconfig = QConfig(activation=PlaceholderObserver.with_args(dtype=ember.float16),
                                 weight=PlaceholderObserver.with_args(dtype=ember.float16))
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)
float_qparams_weight_only_qconfig = QConfig(activation=default_placeholder_observer,
                                            weight=default_float_qparams_observer)
float_qparams_weight_only_qconfig_4bit = QConfig(activation=default_placeholder_observer,
                                                 weight=default_float_qparams_observer_4bit)
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)
default_dynamic_qat_qconfig = QConfig(activation=default_dynamic_fake_quant,
                                      weight=default_weight_fake_quant)
default_weight_only_qconfig = QConfig(activation=nn.Identity, weight=default_weight_fake_quant)
default_activation_only_qconfig = QConfig(activation=default_fake_quant, weight=nn.Identity)
default_qat_qconfig_v2 = QConfig(activation=default_fused_act_fake_quant,
                                 weight=default_fused_wt_fake_quant)
default_reuse_input_qconfig = QConfig(activation=default_reuse_input_observer,
                                      weight=NoopObserver)
default_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=ember.qint8, reduce_range=False, eps=2 ** -12),
    weight=weight_observer_range_neg_127_to_127)
default_per_channel_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=ember.qint8, reduce_range=False, eps=2 ** -12),
    weight=per_channel_weight_observer_range_neg_127_to_127)
default_embedding_qat_qconfig = QConfig(activation=NoopObserver.with_args(dtype=ember.float32),
                                        weight=default_embedding_fake_quant)
default_embedding_qat_qconfig_4bit = QConfig(
    activation=NoopObserver.with_args(dtype=ember.float32),
    weight=default_embedding_fake_quant_4bit)
default_quint8_weight_qconfig = QConfig(activation=HistogramObserver, weight=MinMaxObserver)
default_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=FusedMovingAvgObsFakeQuantize.with_args(
        observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=ember.qint8,
        reduce_range=False, eps=2 ** -12),
    weight=fused_wt_fake_quant_range_neg_127_to_127)
default_per_channel_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=FusedMovingAvgObsFakeQuantize.with_args(
        observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=ember.qint8,
        reduce_range=False, eps=2 ** -12),
    weight=fused_per_channel_wt_fake_quant_range_neg_127_to_127)
_default_fp32_placeholder_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(dtype=ember.float32),
    weight=PlaceholderObserver.with_args(dtype=ember.float32))
_default_quint8_placeholder_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(dtype=ember.quint8), weight=None)


def _check_backend(backend):
    if backend not in _BACKENDS:
        raise AssertionError("backend: " + str(backend)
                             + f" not supported. backend must be one of {_BACKENDS}")


def get_default_qconfig(backend="x86", version=0):
    """The default post-training (static) qconfig of a backend (see the module docstring)."""
    _check_backend(backend)
    if version != 0:
        raise AssertionError("Version number: " + str(version) + " in get_default_qconfig is "
                             "not supported. Version number must be 0")
    if backend in ("fbgemm", "x86"):
        return QConfig(activation=HistogramObserver.with_args(reduce_range=True),
                       weight=default_per_channel_weight_observer)
    if backend == "qnnpack":
        return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                       weight=default_weight_observer)
    return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                   weight=default_per_channel_weight_observer)


def get_default_qat_qconfig(backend="x86", version=1):
    """The default quantization-aware-training qconfig of a backend: moving-average
    fake-quantizers (fused ones in version 1)."""
    _check_backend(backend)
    if version == 0:
        act = FakeQuantize
        weights = {"per_channel": default_per_channel_weight_fake_quant,
                   "per_tensor": default_weight_fake_quant}
    elif version == 1:
        act = FusedMovingAvgObsFakeQuantize
        weights = {"per_channel": default_fused_per_channel_wt_fake_quant,
                   "per_tensor": default_fused_wt_fake_quant}
    else:
        raise AssertionError("Version number: " + str(version) + "in get_default_qat_qconfig is "
                             "not supported. Version number must be 0 or 1")
    if backend in ("fbgemm", "x86"):
        return QConfig(activation=act.with_args(observer=MovingAverageMinMaxObserver,
                                                quant_min=0, quant_max=255, reduce_range=True),
                       weight=weights["per_channel"])
    if backend == "qnnpack":
        return QConfig(activation=act.with_args(observer=MovingAverageMinMaxObserver,
                                                quant_min=0, quant_max=255,
                                                reduce_range=False),
                       weight=weights["per_tensor"])
    return QConfig(activation=act.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                            quant_max=255),
                   weight=weights["per_channel"])


def get_default_qconfig_dict(backend="x86", version=0):
    """Deprecated: ``get_default_qconfig_mapping(backend, version).to_dict()``."""
    warnings.warn("`torch.ao.quantization.get_default_qconfig_dict` is deprecated and will be "
                  "removed in a future version. Please use "
                  "`torch.ao.quantization.get_default_qconfig_mapping` instead.", FutureWarning,
                  stacklevel=2)
    from .qconfig_mapping import get_default_qconfig_mapping
    return get_default_qconfig_mapping(backend, version).to_dict()


def get_default_qat_qconfig_dict(backend="x86", version=1):
    """Deprecated: ``get_default_qat_qconfig_mapping(backend, version).to_dict()``."""
    warnings.warn("`torch.ao.quantization.get_default_qat_qconfig_dict` is deprecated and will "
                  "be removed in a future version. Please use "
                  "`torch.ao.quantization.get_default_qat_qconfig_mapping` instead.",
                  FutureWarning, stacklevel=2)
    from .qconfig_mapping import get_default_qat_qconfig_mapping
    return get_default_qat_qconfig_mapping(backend, version).to_dict()


def _assert_valid_qconfig(qconfig, mod):
    """Per-channel weight observers are refused for transposed convolutions."""
    if qconfig is None or qconfig.weight is None:
        return
    if isinstance(mod, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        example = qconfig.weight()
        if isinstance(example, (PerChannelMinMaxObserver, MovingAveragePerChannelMinMaxObserver)):
            raise AssertionError("Per channel weight observer is not supported yet for "
                                 "ConvTranspose{n}d.")


def _add_module_to_qconfig_obs_ctr(qconfig, module):
    """The qconfig with constructors that put observers on `module`'s device."""
    if module is None or qconfig is None or qconfig._fields != ("activation", "weight"):
        return qconfig

    def module_device_kwargs():
        devices = {p.device for p in module.parameters()} | {b.device for b in module.buffers()}
        device = next(iter(devices)) if devices else None
        return None if device is None else {"device": device}

    def on_module_device(constructor):
        try:
            constructor.with_args(factory_kwargs=None)()
            return constructor.with_callable_args(factory_kwargs=module_device_kwargs)
        except (AttributeError, TypeError):
            # Not a with_args-able constructor, or one without factory_kwargs.
            return constructor

    return QConfig(on_module_device(qconfig.activation), on_module_device(qconfig.weight))


def _partial_wrapper_equals(a, b):
    a_kw, b_kw = copy.copy(a.p.keywords), copy.copy(b.p.keywords)
    equal = True
    if "observer" in a_kw and "observer" in b_kw:
        equal = _obs_or_fq_ctr_equals(a_kw.pop("observer"), b_kw.pop("observer"))
    return equal and a_kw == b_kw and a.p.func == b.p.func and a.p.args == b.p.args


def _obs_or_fq_ctr_equals(a, b):
    if isinstance(a, _PartialWrapper) and isinstance(b, _PartialWrapper):
        return _partial_wrapper_equals(a, b)
    return a == b


def qconfig_equals(q1, q2):
    """Whether two qconfigs make the same observers (constructors compared by class and
    bound arguments)."""
    if q1 is None or q2 is None:
        return q1 == q2
    try:
        return (_obs_or_fq_ctr_equals(q1.activation, q2.activation)
                and _obs_or_fq_ctr_equals(q1.weight, q2.weight))
    except AttributeError:
        return q1 == q2


def _activation_is_memoryless(qconfig):
    """Whether the activation observer keeps no state between batches (dynamic
    quantization)."""
    act = qconfig.activation()
    if isinstance(act, FakeQuantizeBase) and hasattr(act, "activation_post_process"):
        act = act.activation_post_process
    return isinstance(act, MovingAverageMinMaxObserver) and act.averaging_constant == 1


def _is_reuse_input_qconfig(qconfig):
    return (qconfig is not None and isinstance(qconfig.activation(), ObserverBase)
            and type(qconfig.activation()).__name__ == "ReuseInputObserver"
            and isinstance(qconfig.weight(), NoopObserver))
