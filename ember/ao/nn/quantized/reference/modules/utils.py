"""The weight bookkeeping every reference quantized module shares: the weight stays float,
its qparams ride along as buffers, and forward uses dequantize(quantize(weight)) so the
float op sees exactly the values the quantized kernel would."""
import ember
from ember import nn

__all__ = ["ReferenceQuantizedModule"]

_PER_CHANNEL = ("per_channel_affine", "per_channel_affine_float_qparams")


def _qscheme_name(qscheme):
    return None if qscheme is None else str(qscheme).split(".")[-1]


class ReferenceQuantizedModule(nn.Module):
    """Mixin: ``weight_qscheme``, ``weight_dtype`` and the buffers ``weight_scale``,
    ``weight_zero_point``, ``weight_axis`` (from a qparams dict {qscheme, dtype, scale,
    zero_point[, axis]}); get_weight() fake-quantizes, get_quantized_weight() quantizes."""

    def _init_weight_qparams(self, weight_qparams, device=None):
        if weight_qparams is None:
            weight_qparams = {"qscheme": ember.per_tensor_affine, "dtype": ember.quint8,
                              "scale": 1.0, "zero_point": 0}
        self.weight_qscheme = weight_qparams["qscheme"]
        self.weight_dtype = weight_qparams["dtype"]
        if _qscheme_name(self.weight_qscheme) not in (None, "per_tensor_affine", *_PER_CHANNEL):
            raise AssertionError(f"qscheme: {self.weight_qscheme} is not supported in reference "
                                 f"quantized {self._get_name()}")
        quantized = self.weight_dtype in (ember.quint8, ember.qint8, ember.quint4x2, ember.qint32)

        def as_tensor(value, dtype):
            if isinstance(value, ember.Tensor):
                return value.detach().clone()
            return ember.tensor(value, dtype=dtype, device=device)

        scale = weight_qparams["scale"] if quantized else 1.0
        zero_point = weight_qparams["zero_point"] if quantized else 0
        axis = weight_qparams.get("axis", 0) if (
            quantized and _qscheme_name(self.weight_qscheme) in _PER_CHANNEL) else 0
        self.register_buffer("weight_scale", as_tensor(scale, ember.float))
        self.register_buffer("weight_zero_point", as_tensor(zero_point, ember.int))
        self.register_buffer("weight_axis", as_tensor(axis, ember.int))
        self.is_decomposed = weight_qparams.get("is_decomposed", False)
        self.weight_axis_int = int(self.weight_axis.item())
        self.weight_quant_min = weight_qparams.get("quant_min")
        self.weight_quant_max = weight_qparams.get("quant_max")

    def get_quantized_weight(self):
        """The weight as a quantized tensor with the stored qparams."""
        name = _qscheme_name(self.weight_qscheme)
        if name == "per_tensor_affine":
            return ember.quantize_per_tensor(self.weight, float(self.weight_scale),
                                             int(self.weight_zero_point), self.weight_dtype)
        if name in _PER_CHANNEL:
            return ember.quantize_per_channel(self.weight, self.weight_scale,
                                              self.weight_zero_point, self.weight_axis_int,
                                              self.weight_dtype)
        raise NotImplementedError(f"reference quantized {self._get_name()}: weights of "
                                  f"qscheme {self.weight_qscheme} are not supported by ember")

    def get_weight(self):
        """dequantize(quantize(weight)): the float weight the quantized kernel sees."""
        if self.weight_dtype in (ember.quint8, ember.qint8, ember.quint4x2, ember.qint32):
            return self.get_quantized_weight().dequantize()
        return self.weight

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "weight_qscheme"] = self.weight_qscheme
        destination[prefix + "weight_dtype"] = self.weight_dtype

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        for key in ("weight_qscheme", "weight_dtype"):
            if prefix + key in state_dict:
                setattr(self, key, state_dict.pop(prefix + key))
            elif strict:
                missing_keys.append(prefix + key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)
        self.weight_axis_int = int(self.weight_axis.item())


def _weight_qparams_of(observer):
    """The qparams dict of a (run) weight observer or fake-quant."""
    scale, zero_point = observer.calculate_qparams()
    qparams = {"qscheme": observer.qscheme, "dtype": observer.dtype, "scale": scale,
               "zero_point": zero_point}
    if _qscheme_name(observer.qscheme) in _PER_CHANNEL + ("per_channel_symmetric",):
        qparams["axis"] = observer.ch_axis
        if _qscheme_name(observer.qscheme) == "per_channel_symmetric":
            qparams["qscheme"] = ember.per_channel_affine
    elif _qscheme_name(observer.qscheme) == "per_tensor_symmetric":
        qparams["qscheme"] = ember.per_tensor_affine
    return qparams
