"""Which float module becomes which QAT / quantized / dynamically quantized module
(torch.ao.quantization.quantization_mappings), and the module types prepare puts observers
on (the qconfig propagation list)."""
import copy

from ember import nn
from ember.nn.modules.activation_attn import NonDynamicallyQuantizableLinear
from ember.nn.utils.parametrize import type_before_parametrizations

import ember.ao.nn.intrinsic as nni
import ember.ao.nn.intrinsic.qat as nniqat
import ember.ao.nn.intrinsic.quantized as nniq
import ember.ao.nn.intrinsic.quantized.dynamic as nniqd
import ember.ao.nn.qat as nnqat
import ember.ao.nn.quantizable as nnqa
import ember.ao.nn.quantized as nnq
import ember.ao.nn.quantized.dynamic as nnqd

from .fake_quantize import (default_fixed_qparams_range_0to1_fake_quant,
                            default_fixed_qparams_range_neg1to1_fake_quant)
from .fuser_method_mappings import get_combined_dict
from .stubs import DeQuantStub, QuantStub

__all__ = ["DEFAULT_STATIC_QUANT_MODULE_MAPPINGS", "DEFAULT_QAT_MODULE_MAPPINGS",
           "DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS", "DEFAULT_MODULE_TO_ACT_POST_PROCESS",
           "no_observer_set", "get_default_static_quant_module_mappings",
           "get_default_static_quant_reference_module_mappings",
           "get_embedding_static_quant_module_mappings", "get_static_quant_module_class",
           "get_dynamic_quant_module_class", "get_default_qat_module_mappings",
           "get_embedding_qat_module_mappings", "get_default_dynamic_quant_module_mappings",
           "get_default_qconfig_propagation_list", "get_default_compare_output_module_list",
           "get_default_float_to_quantized_operator_mappings", "get_quantized_operator"]

DEFAULT_STATIC_QUANT_MODULE_MAPPINGS = {
    QuantStub: nnq.Quantize, DeQuantStub: nnq.DeQuantize,
    nn.BatchNorm2d: nnq.BatchNorm2d, nn.BatchNorm3d: nnq.BatchNorm3d, nn.Dropout: nnq.Dropout,
    nn.Conv1d: nnq.Conv1d, nn.Conv2d: nnq.Conv2d, nn.Conv3d: nnq.Conv3d,
    nn.ConvTranspose1d: nnq.ConvTranspose1d, nn.ConvTranspose2d: nnq.ConvTranspose2d,
    nn.ConvTranspose3d: nnq.ConvTranspose3d, nn.ELU: nnq.ELU, nn.Embedding: nnq.Embedding,
    nn.EmbeddingBag: nnq.EmbeddingBag, nn.GroupNorm: nnq.GroupNorm,
    nn.Hardswish: nnq.Hardswish, nn.InstanceNorm1d: nnq.InstanceNorm1d,
    nn.InstanceNorm2d: nnq.InstanceNorm2d, nn.InstanceNorm3d: nnq.InstanceNorm3d,
    nn.LayerNorm: nnq.LayerNorm, nn.LeakyReLU: nnq.LeakyReLU,
    NonDynamicallyQuantizableLinear: nnq.Linear, nn.Linear: nnq.Linear, nn.ReLU6: nnq.ReLU6,
    nn.PReLU: nnq.PReLU, nnq.FloatFunctional: nnq.QFunctional,
    nni.BNReLU2d: nniq.BNReLU2d, nni.BNReLU3d: nniq.BNReLU3d,
    nni.ConvReLU1d: nniq.ConvReLU1d, nni.ConvReLU2d: nniq.ConvReLU2d,
    nni.ConvReLU3d: nniq.ConvReLU3d, nni.ConvAdd2d: nniq.ConvAdd2d,
    nni.ConvAddReLU2d: nniq.ConvAddReLU2d, nni.LinearReLU: nniq.LinearReLU,
    nni.LinearLeakyReLU: nniq.LinearLeakyReLU, nni.LinearTanh: nniq.LinearTanh,
    nniqat.ConvBn1d: nnq.Conv1d, nniqat.ConvBn2d: nnq.Conv2d, nniqat.ConvBn3d: nnq.Conv3d,
    nniqat.ConvBnReLU1d: nniq.ConvReLU1d, nniqat.ConvBnReLU2d: nniq.ConvReLU2d,
    nniqat.ConvBnReLU3d: nniq.ConvReLU3d, nniqat.ConvReLU2d: nniq.ConvReLU2d,
    nniqat.ConvReLU3d: nniq.ConvReLU3d, nniqat.LinearReLU: nniq.LinearReLU,
    nniqat.LinearBn1d: nnq.Linear, nnqat.Linear: nnq.Linear, nnqat.Conv2d: nnq.Conv2d,
    nnqat.Conv3d: nnq.Conv3d,
}

DEFAULT_QAT_MODULE_MAPPINGS = {
    nn.Conv2d: nnqat.Conv2d, nn.Conv3d: nnqat.Conv3d, nn.Linear: nnqat.Linear,
    NonDynamicallyQuantizableLinear: nnqat.Linear,
    nni.ConvBn1d: nniqat.ConvBn1d, nni.ConvBn2d: nniqat.ConvBn2d, nni.ConvBn3d: nniqat.ConvBn3d,
    nni.ConvBnReLU1d: nniqat.ConvBnReLU1d, nni.ConvBnReLU2d: nniqat.ConvBnReLU2d,
    nni.ConvBnReLU3d: nniqat.ConvBnReLU3d, nni.ConvReLU2d: nniqat.ConvReLU2d,
    nni.ConvReLU3d: nniqat.ConvReLU3d, nni.LinearReLU: nniqat.LinearReLU,
    nni.LinearBn1d: nniqat.LinearBn1d,
}

DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS = {
    nn.GRUCell: nnqd.GRUCell, nn.Linear: nnqd.Linear, NonDynamicallyQuantizableLinear: nnqd.Linear,
    nn.LSTM: nnqd.LSTM, nn.GRU: nnqd.GRU, nn.LSTMCell: nnqd.LSTMCell, nn.RNNCell: nnqd.RNNCell,
    nni.LinearReLU: nniqd.LinearReLU, nn.EmbeddingBag: nnq.EmbeddingBag,
    nn.Embedding: nnq.Embedding,
}

_INCLUDE_QCONFIG_PROPAGATE_LIST = {nn.Sequential}

# Modules whose output range is known: their observer is a fixed-qparams fake-quantizer
# (in training mode, i.e. for QAT).
DEFAULT_MODULE_TO_ACT_POST_PROCESS = {
    nn.Hardsigmoid: default_fixed_qparams_range_0to1_fake_quant,
    nn.Sigmoid: default_fixed_qparams_range_0to1_fake_quant,
    nn.Softmax: default_fixed_qparams_range_0to1_fake_quant,
    nn.Tanh: default_fixed_qparams_range_neg1to1_fake_quant,
}


def no_observer_set():
    """Module types prepare puts no output observer on: the quantizable LSTM and
    MultiheadAttention observe inside themselves (their outputs are tuples)."""
    return {nnqa.LSTM, nnqa.MultiheadAttention}


def get_default_static_quant_module_mappings():
    return copy.copy(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS)


def get_default_static_quant_reference_module_mappings():
    raise NotImplementedError("reference quantized modules (convert(is_reference=True)) are "
                              "not built in ember")


def get_embedding_static_quant_module_mappings():
    return copy.copy(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS)


def get_static_quant_module_class(float_module_class, additional_static_quant_mapping=None,
                                  is_reference=False):
    """The quantized class of a float module class; AssertionError if there is none."""
    if is_reference:
        get_default_static_quant_reference_module_mappings()
    mappings = get_combined_dict(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS,
                                 additional_static_quant_mapping or {})
    found = mappings.get(float_module_class, None)
    if found is None:
        raise AssertionError(f"Floating point module class {float_module_class} does not have "
                             f"a corresponding quantized module class")
    return found


def get_dynamic_quant_module_class(float_module_class, additional_dynamic_quant_mapping=None):
    """The dynamically quantized class of a float module class."""
    mappings = get_combined_dict(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS,
                                 additional_dynamic_quant_mapping or {})
    found = mappings.get(float_module_class, None)
    if found is None:
        raise AssertionError(f"Floating point module class {float_module_class} does not have "
                             f"a corresponding quantized module class")
    return found


def get_default_qat_module_mappings():
    return copy.copy(DEFAULT_QAT_MODULE_MAPPINGS)


def get_embedding_qat_module_mappings():
    raise NotImplementedError("QAT Embedding / EmbeddingBag are not built in ember")


def get_default_dynamic_quant_module_mappings():
    return DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS


def get_default_qconfig_propagation_list():
    """Every module type that some mapping quantizes, and Sequential."""
    return (set(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS) | set(DEFAULT_QAT_MODULE_MAPPINGS)
            | set(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS) | _INCLUDE_QCONFIG_PROPAGATE_LIST)


def get_default_compare_output_module_list():
    return (set(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS.values())
            | set(DEFAULT_QAT_MODULE_MAPPINGS.values())
            | set(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS.values())
            | get_default_qconfig_propagation_list())


def get_default_float_to_quantized_operator_mappings():
    raise NotImplementedError("torch.ops.quantized operators are not built in ember")


def get_quantized_operator(float_op):
    raise NotImplementedError("torch.ops.quantized operators are not built in ember")


def _get_special_act_post_process(module):
    return DEFAULT_MODULE_TO_ACT_POST_PROCESS.get(type_before_parametrizations(module), None)


def _has_special_act_post_process(module):
    return module.training and type(module) in DEFAULT_MODULE_TO_ACT_POST_PROCESS
