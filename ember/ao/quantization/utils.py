"""torch.ao.quantization.utils: helpers about qconfigs and quantization parameters
(which dtypes a qconfig quantizes to, an observer's qparams as a dict, the integer ranges)."""
from ember.nn.utils.parametrize import is_parametrized

import ember

from ._qscheme import is_per_channel, is_per_tensor, per_channel_affine, per_channel_symmetric
from ._qscheme import per_tensor_affine
from .fuser_method_mappings import get_combined_dict
from .observer import (_determine_qparams, calculate_qmin_qmax, check_min_max_valid,
                       validate_qmin_qmax)

__all__ = ["get_qparam_dict", "activation_dtype", "weight_dtype",
           "activation_is_statically_quantized", "activation_is_dynamically_quantized",
           "activation_is_int8_quantized", "activation_is_int32_quantized",
           "weight_is_quantized", "weight_is_statically_quantized",
           "op_is_int8_dynamically_quantized", "get_qconfig_dtypes",
           "has_no_children_ignoring_parametrizations", "get_combined_dict",
           "check_min_max_valid", "calculate_qmin_qmax", "validate_qmin_qmax",
           "determine_qparams"]


def _static_dtypes():
    return (ember.quint8, ember.qint8, ember.qint32, ember.float16, ember.uint8, ember.int8,
            ember.int16, ember.int32, ember.float8_e5m2, ember.float8_e4m3fn)


def get_qparam_dict(observer_or_fake_quant):
    """{'qscheme', 'dtype', 'scale', 'zero_point', 'axis', 'quant_min', 'quant_max'} of an
    observer (symmetric schemes reported as affine, as reference modules read them)."""
    from .observer import PlaceholderObserver
    qscheme = getattr(observer_or_fake_quant, "qscheme", None)
    dtype = observer_or_fake_quant.dtype
    if not qscheme or isinstance(observer_or_fake_quant, PlaceholderObserver):
        return {"qscheme": None, "dtype": dtype}
    qparams = {"qscheme": qscheme, "dtype": dtype}
    if is_per_tensor(qscheme):
        qscheme = per_tensor_affine
    elif is_per_channel(qscheme):
        if qscheme == per_channel_symmetric:
            qscheme = per_channel_affine
        qparams["axis"] = observer_or_fake_quant.ch_axis
    else:
        raise RuntimeError(f"Unrecognized qscheme: {qscheme}")
    qparams["qscheme"] = qscheme
    qparams["scale"], qparams["zero_point"] = observer_or_fake_quant.calculate_qparams()
    for name in ("quant_min", "quant_max"):
        if hasattr(observer_or_fake_quant, name):
            qparams[name] = getattr(observer_or_fake_quant, name)
    return qparams


def _need(qconfig, what):
    if qconfig is None:
        raise AssertionError(f"qconfig must be provided to determine {what}")


def activation_dtype(qconfig):
    _need(qconfig, "activation dtype")
    return qconfig.activation().dtype


def weight_dtype(qconfig):
    _need(qconfig, "weight dtype")
    return qconfig.weight().dtype


def get_qconfig_dtypes(qconfig):
    """(activation dtype, weight dtype, whether the activation is quantized dynamically)."""
    if qconfig is None:
        raise AssertionError("qconfig must be provided to extract dtypes")
    activation = qconfig.activation()
    return activation.dtype, qconfig.weight().dtype, getattr(activation, "is_dynamic", False)


def activation_is_dynamically_quantized(qconfig):
    return get_qconfig_dtypes(qconfig)[2]


def activation_is_statically_quantized(qconfig):
    return (activation_dtype(qconfig) in _static_dtypes()
            and not activation_is_dynamically_quantized(qconfig))


def activation_is_int8_quantized(qconfig):
    return activation_dtype(qconfig) in (ember.quint8, ember.qint8, ember.uint8, ember.int8)


def activation_is_int32_quantized(qconfig):
    return activation_dtype(qconfig) in (ember.qint32, ember.int32)


def weight_is_quantized(qconfig):
    return weight_dtype(qconfig) in (ember.quint8, ember.qint8, ember.float16, ember.quint4x2,
                                     ember.uint8, ember.int8, ember.int16, ember.int32,
                                     ember.float8_e5m2, ember.float8_e4m3fn)


def weight_is_statically_quantized(qconfig):
    return weight_dtype(qconfig) in (ember.quint8, ember.qint8, ember.uint8, ember.int8)


def op_is_int8_dynamically_quantized(qconfig):
    act, weight, dynamic = get_qconfig_dtypes(qconfig)
    return (act in (ember.quint8, ember.uint8) and weight in (ember.qint8, ember.int8)
            and dynamic)


def has_no_children_ignoring_parametrizations(module):
    """Whether module is a leaf (a parametrization container does not count as a child)."""
    if len(module._modules) == 0:
        return True
    if is_parametrized(module):
        return len(module._modules) == 1 and "parametrizations" in module._modules
    return False


def determine_qparams(min_val, max_val, quant_min, quant_max, dtype, eps,
                      has_customized_qrange, qscheme=per_tensor_affine):
    """The observers' (scale, zero_point) for [min_val, max_val], returned as float64 scales
    and int64 zero points (torch's utility function)."""
    scale, zero_point = _determine_qparams(min_val, max_val, quant_min, quant_max, dtype, eps,
                                           has_customized_qrange, qscheme)
    return scale.to(ember.double), zero_point.to(ember.int64)
