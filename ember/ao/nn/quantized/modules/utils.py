"""Helpers of the quantized modules: quantizing a float weight with its observer's qparams,
and the repr that hides the packed parameters."""
import abc

import ember
from ember import nn

from ember.ao.quantization._qscheme import (per_channel_affine, per_channel_affine_float_qparams,
                                            per_channel_symmetric, per_tensor_affine,
                                            per_tensor_symmetric)

_INT_RANGES = {"qint8": (-128, 127), "quint8": (0, 255), "qint32": (-2 ** 31, 2 ** 31 - 1)}


class WeightedQuantizedModule(nn.Module, metaclass=abc.ABCMeta):
    """Base of the quantized modules with a weight (Linear, Conv ...)."""

    @classmethod
    def from_reference(cls, ref_module, output_scale, output_zero_point):
        raise NotImplementedError


def _get_weight_observer(observer):
    # a fake-quantizer's statistics live in its observer
    return getattr(observer, "activation_post_process", observer)


def _clamp_weights(qweight, observer, scale, zp):
    """Clamp the integers into the observer's range when it is narrower than the dtype's
    (e.g. [-127, 127] for qint8)."""
    observer = _get_weight_observer(observer)
    low, high = _INT_RANGES.get(str(qweight.dtype).split(".")[-1], (None, None))
    if low is None or (observer.quant_min <= low and observer.quant_max >= high):
        return qweight
    ints = ember.clamp(qweight.int_repr(), observer.quant_min, observer.quant_max)
    if observer.qscheme in (per_tensor_symmetric, per_tensor_affine):
        return ember._make_per_tensor_quantized_tensor(ints, scale.item(), zp.item())
    return ember._make_per_channel_quantized_tensor(ints, scale, zp, axis=observer.ch_axis)


def _quantize_weight(float_wt, observer):
    """float_wt quantized with the observer's (already computed) qparams: per tensor or per
    channel, qint8 (float qparams: the observer's dtype)."""
    wt_scale, wt_zp = observer.calculate_qparams()
    if observer.qscheme in (per_tensor_symmetric, per_tensor_affine):
        qweight = ember.quantize_per_tensor(float_wt, float(wt_scale), int(wt_zp), ember.qint8)
    elif observer.qscheme in (per_channel_symmetric, per_channel_affine):
        qweight = ember.quantize_per_channel(float_wt, wt_scale.to(ember.double),
                                             wt_zp.to(ember.int64), observer.ch_axis,
                                             ember.qint8)
    elif observer.qscheme == per_channel_affine_float_qparams:
        qweight = ember.quantize_per_channel(float_wt, wt_scale.to(ember.float),
                                             wt_zp.to(ember.float), observer.ch_axis,
                                             observer.dtype)
    else:
        raise ValueError("Unexpected qscheme " + str(observer.qscheme))
    return _clamp_weights(qweight, observer, wt_scale, wt_zp)


def _hide_packed_params_repr(self, params):
    """The module's repr without its packed-parameters child (as torch prints it)."""
    from ember.nn.modules.module import _addindent
    extra_lines = self.extra_repr().split("\n") if self.extra_repr() else []
    child_lines = ["(" + key + "): " + _addindent(repr(module), 2)
                   for key, module in self._modules.items() if not isinstance(module, params)]
    lines = extra_lines + child_lines
    main_str = self._get_name() + "("
    if lines:
        if len(extra_lines) == 1 and not child_lines:
            main_str += extra_lines[0]
        else:
            main_str += "\n  " + "\n  ".join(lines) + "\n"
    return main_str + ")"
