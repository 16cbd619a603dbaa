"""The native backend's BackendConfig (fbgemm / x86 / qnnpack): the patterns PyTorch's own
quantized kernels run, with the same observation types and dtypes as PyTorch's
get_native_backend_config. Patterns use ember's modules and functions."""
import operator

import ember
from ember import nn
from ember.nn import functional as F

import ember.ao.nn.intrinsic as nni
import ember.ao.nn.intrinsic.qat as nniqat
import ember.ao.nn.qat as nnqat
import ember.ao.nn.quantized.reference as nnqr

from ..fuser_method_mappings import (_sequential_wrapper2, fuse_conv_bn, fuse_conv_bn_relu,
                                     fuse_convtranspose_bn, fuse_linear_bn)
from .backend_config import BackendConfig, BackendPatternConfig, DTypeConfig, ObservationType

__all__ = ["get_native_backend_config", "get_native_backend_config_dict",
           "get_fbgemm_backend_config", "get_x86_backend_config", "get_qnnpack_backend_config",
           "weighted_op_quint8_dtype_config", "default_op_quint8_dtype_config",
           "default_dynamic_int8_dtype_config", "default_dynamic_float16_dtype_config",
           "input_output_only_quint8_dtype_config", "weight_only_quint8_dtype_config",
           "weight_only_quint4x2_dtype_config"]

_DIFFERENT = ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT
_SHARE = ObservationType.OUTPUT_SHARE_OBSERVER_WITH_INPUT
_NOT_OBSERVED = ObservationType.INPUT_OUTPUT_NOT_OBSERVED

weighted_op_quint8_dtype_config = DTypeConfig(ember.quint8, ember.quint8, ember.qint8,
                                              ember.float)
default_op_quint8_dtype_config = DTypeConfig(ember.quint8, ember.quint8)
default_dynamic_int8_dtype_config = DTypeConfig(ember.quint8, ember.float, ember.qint8,
                                                ember.float, is_dynamic=True)
default_dynamic_float16_dtype_config = DTypeConfig(ember.float16, ember.float, ember.float16,
                                                   ember.float, is_dynamic=True)
input_output_only_quint8_dtype_config = DTypeConfig(ember.quint8, ember.quint8, ember.float,
                                                    ember.float)
weight_only_quint8_dtype_config = DTypeConfig(ember.float, ember.float, ember.quint8)
weight_only_quint4x2_dtype_config = DTypeConfig(ember.float, ember.float, ember.quint4x2)



def _activated():
    """ember's public functions get their dispatching wrappers the first time anything is
    traced (ember._torch_function.activate), and the traced nodes hold the wrappers: the
    patterns must name the same objects, so they are made after that switch."""
    from ember import _torch_function
    _torch_function.activate()


def _relus():
    _activated()
    return (nn.ReLU, F.relu, ember.relu)


def _conv_configs(dtype_configs):
    configs = []
    for nd in (1, 2, 3):
        conv = getattr(nn, f"Conv{nd}d")
        bn = getattr(nn, f"BatchNorm{nd}d")
        conv_relu = getattr(nni, f"ConvReLU{nd}d")
        ref = getattr(nnqr, f"Conv{nd}d")
        fconv = getattr(F, f"conv{nd}d")
        qat_conv = getattr(nnqat, f"Conv{nd}d")
        weighted = [conv, qat_conv, conv_relu, getattr(nniqat, f"ConvReLU{nd}d"),
                    getattr(nniqat, f"ConvBn{nd}d"), getattr(nniqat, f"ConvBnReLU{nd}d")]
        for module in weighted:
            configs.append(BackendPatternConfig(module).set_dtype_configs(dtype_configs)
                           .set_root_module(conv).set_reference_quantized_module(ref))
        configs.append(BackendPatternConfig(fconv).set_dtype_configs(dtype_configs)
                       ._set_input_type_to_index({"weight": 1, "bias": 2}))
        for relu in (nn.ReLU, F.relu):
            configs.append(BackendPatternConfig((conv, relu)).set_dtype_configs(dtype_configs)
                           .set_fuser_method(_sequential_wrapper2(conv_relu))
                           .set_fused_module(conv_relu))
            configs.append(BackendPatternConfig((fconv, relu)).set_dtype_configs(dtype_configs)
                           ._set_input_type_to_index({"weight": 1, "bias": 2}))
            configs.append(BackendPatternConfig((conv, bn, relu)).set_dtype_configs(dtype_configs)
                           .set_fuser_method(fuse_conv_bn_relu)
                           .set_fused_module(conv_relu))
        configs.append(BackendPatternConfig((conv, bn)).set_dtype_configs(dtype_configs)
                       .set_fuser_method(fuse_conv_bn).set_fused_module(conv))
        convt = getattr(nn, f"ConvTranspose{nd}d")
        configs.append(BackendPatternConfig(convt).set_dtype_configs(dtype_configs)
                       .set_root_module(convt)
                       .set_reference_quantized_module(getattr(nnqr, f"ConvTranspose{nd}d")))
        configs.append(BackendPatternConfig((convt, bn)).set_dtype_configs(dtype_configs)
                       .set_fuser_method(fuse_convtranspose_bn).set_fused_module(convt))
    return configs


def _linear_configs(dtype_configs):
    configs = []
    for module in (nn.Linear, nnqat.Linear, nni.LinearReLU, nniqat.LinearReLU,
                   nniqat.LinearBn1d):
        configs.append(BackendPatternConfig(module).set_dtype_configs(dtype_configs)
                       .set_root_module(nn.Linear).set_reference_quantized_module(nnqr.Linear))
    configs.append(BackendPatternConfig(F.linear).set_dtype_configs(dtype_configs)
                   ._set_input_type_to_index({"weight": 1, "bias": 2}))
    for relu in (nn.ReLU, F.relu):
        configs.append(BackendPatternConfig((nn.Linear, relu)).set_dtype_configs(dtype_configs)
                       .set_fuser_method(_sequential_wrapper2(nni.LinearReLU))
                       .set_fused_module(nni.LinearReLU))
        configs.append(BackendPatternConfig((F.linear, relu)).set_dtype_configs(dtype_configs)
                       ._set_input_type_to_index({"weight": 1, "bias": 2}))
    configs.append(BackendPatternConfig((nn.Linear, nn.BatchNorm1d))
                   .set_dtype_configs(dtype_configs).set_fuser_method(fuse_linear_bn)
                   .set_fused_module(nn.Linear))
    return configs


def _binary_ops():
    _activated()
    return (operator.add, ember.add, operator.mul, ember.mul)


def _binary_op_configs(dtype_configs):
    # a binary op with a scalar (or no tensor) keeps its input's observer: the quantized
    # op derives its output qparams from the input's (add_scalar shifts the zero point,
    # mul_scalar scales the scale)
    by_tensor_args = {0: _SHARE, 1: _SHARE, 2: _DIFFERENT}
    configs = []
    for op in _binary_ops():
        for pattern in [op] + [(op, relu) for relu in _relus()]:
            configs.append(BackendPatternConfig(pattern).set_dtype_configs(dtype_configs)
                           ._set_num_tensor_args_to_observation_type(by_tensor_args))
    return configs


def _default_ops():
    _activated()
    return (nn.ELU, nn.LeakyReLU, nn.Hardswish, nn.InstanceNorm1d, nn.InstanceNorm2d,
            nn.InstanceNorm3d, nn.LayerNorm, nn.Dropout, nn.PReLU, F.elu, F.hardswish,
            F.instance_norm, F.layer_norm, F.leaky_relu, F.dropout)


def _fixed_qparams_ops():
    _activated()
    return (nn.Hardsigmoid, F.hardsigmoid, "hardsigmoid", "hardsigmoid_",
                      nn.Sigmoid, ember.sigmoid, "sigmoid", "sigmoid_", nn.Softmax, nn.Tanh,
            ember.tanh, "tanh", "tanh_")


def _share_qparams_ops():
    _activated()
    return (
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AvgPool1d,
    nn.AvgPool2d, nn.AvgPool3d, nn.Hardtanh, nn.Identity, nn.MaxPool1d, nn.MaxPool2d,
    nn.MaxPool3d, nn.PixelShuffle, nn.PixelUnshuffle, nn.ReLU, nn.ReLU6,
    ember.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d, F.hardtanh,
    F.hardtanh_, F.interpolate, F.max_pool1d, F.max_pool2d, F.max_pool3d, F.pixel_shuffle,
    F.pixel_unshuffle, F.relu, F.relu6, ember.avg_pool1d, F.avg_pool2d, F.avg_pool3d,
    ember.clamp, ember.flatten, ember.mean, ember.narrow, ember.repeat_interleave,
    ember.transpose, ember.squeeze, ember.stack, ember.unsqueeze, operator.floordiv,
    "contiguous", "clamp", "detach", "detach_", "mean", "permute", "repeat",
    "repeat_interleave", "reshape", "resize_", "relu", "relu_", "squeeze", "squeeze_",
    "transpose", "unsqueeze", "unsqueeze_", "view")


def _bn_configs(dtype_configs):
    configs = []
    for bn, fused in ((nn.BatchNorm2d, nni.BNReLU2d), (nn.BatchNorm3d, nni.BNReLU3d)):
        for relu in (nn.ReLU, F.relu):
            configs.append(BackendPatternConfig((bn, relu)).set_dtype_configs(dtype_configs)
                           .set_fuser_method(_sequential_wrapper2(fused)).set_fused_module(fused))
        configs.append(BackendPatternConfig(bn).set_dtype_configs(dtype_configs))
        configs.append(BackendPatternConfig(fused).set_dtype_configs(dtype_configs))
    return configs


def get_native_backend_config():
    """The BackendConfig of PyTorch's native backend (fbgemm/x86 and qnnpack kernels)."""
    _activated()
    weighted = [weighted_op_quint8_dtype_config]
    linear = [weighted_op_quint8_dtype_config, default_dynamic_int8_dtype_config,
              default_dynamic_float16_dtype_config]
    default = [default_op_quint8_dtype_config]
    config = (BackendConfig("native")
              .set_backend_pattern_configs(_conv_configs(weighted))
              .set_backend_pattern_configs(_linear_configs(linear))
              .set_backend_pattern_configs(_binary_op_configs(default))
              .set_backend_pattern_config(BackendPatternConfig(ember.cat)
                                          .set_observation_type(_SHARE)
                                          .set_dtype_configs(default)))
    for op in _default_ops():
        config.set_backend_pattern_config(BackendPatternConfig(op).set_dtype_configs(default))
    for op in _fixed_qparams_ops():
        config.set_backend_pattern_config(BackendPatternConfig(op).set_dtype_configs(default))
    for op in _share_qparams_ops():
        config.set_backend_pattern_config(BackendPatternConfig(op).set_observation_type(_SHARE)
                                          .set_dtype_configs(default))
    for op in ("shape", "size"):
        config.set_backend_pattern_config(BackendPatternConfig(op)
                                          .set_observation_type(_NOT_OBSERVED)
                                          .set_dtype_configs(default))
    config.set_backend_pattern_configs(_bn_configs(default))
    for rnn in (nn.GRUCell, nn.LSTMCell, nn.RNNCell, nn.LSTM, nn.GRU):
        config.set_backend_pattern_config(
            BackendPatternConfig(rnn).set_dtype_configs(
                [default_dynamic_int8_dtype_config, default_dynamic_float16_dtype_config]))
    for embedding, ref in ((nn.Embedding, nnqr.Embedding), (nn.EmbeddingBag, nnqr.EmbeddingBag)):
        config.set_backend_pattern_config(
            BackendPatternConfig(embedding).set_dtype_configs(
                [weight_only_quint8_dtype_config, weight_only_quint4x2_dtype_config])
            .set_root_module(embedding).set_reference_quantized_module(ref))
    return config


def get_native_backend_config_dict():
    return get_native_backend_config().to_dict()


def _renamed(name):
    def get():
        return get_native_backend_config().set_name(name)
    get.__name__ = f"get_{name}_backend_config"
    get.__doc__ = (f"The BackendConfig of the {name} backend: in ember, the native backend's "
                   f"patterns under that name.")
    return get


get_fbgemm_backend_config = _renamed("fbgemm")
get_x86_backend_config = _renamed("x86")
get_qnnpack_backend_config = _renamed("qnnpack")
