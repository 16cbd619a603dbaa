"""The static quantized MultiheadAttention (torch.ao.nn.quantized.MultiheadAttention): a
calibrated quantizable MultiheadAttention after ``convert``. Its projections are quantized
Linear layers; query, key and value come in quantized and the outputs leave quantized (the
attention weights with the parameters observed at quant_attn_output_weights). bias_k /
bias_v become quint8 tensors, bias_v with the qparams chosen for the quantized bias_k's
values (PyTorch's choice); in_proj_weight / in_proj_bias are dropped."""
import ember
from ember.ao.nn.quantizable.modules import activation as _quantizable

__all__ = ["MultiheadAttention"]


class MultiheadAttention(_quantizable.MultiheadAttention):
    """A quantized MultiheadAttention, made by ``convert`` with the custom-module config
    {quantizable.MultiheadAttention: quantized.MultiheadAttention} (the default one)."""

    _FLOAT_MODULE = _quantizable.MultiheadAttention

    def _get_name(self):
        return "QuantizedMultiheadAttention"

    @classmethod
    def from_float(cls, other):
        raise NotImplementedError("It looks like you are trying to convert a non-observed "
                                  "MHA module. Please, see the examples on quantizable MHAs.")

    @classmethod
    def from_observed(cls, other):
        """The quantized MHA of the calibrated quantizable MHA ``other``."""
        from ember.ao.quantization.quantize import convert
        converted = convert(other, mapping=None, inplace=False, remove_qconfig=True,
                            convert_custom_config_dict=None)
        converted.__class__ = cls
        if converted.bias_k is not None:
            bias_k = converted._parameters.pop("bias_k")
            scale, zero_point = _choose_qparams(bias_k)
            converted.bias_k = ember.quantize_per_tensor(bias_k, scale, zero_point,
                                                         ember.quint8)
            if converted.bias_v is not None:
                bias_v = converted._parameters.pop("bias_v")
                # PyTorch chooses bias_v's parameters from the quantized bias_k's values
                scale, zero_point = _choose_qparams(converted.bias_k.dequantize())
                converted.bias_v = ember.quantize_per_tensor(bias_v, scale, zero_point,
                                                             ember.quint8)
        del converted.in_proj_weight
        del converted.in_proj_bias
        return converted


def _choose_qparams(t):
    """torch._choose_qparams_per_tensor(t, reduce_range=False): quint8 qparams of t's range."""
    from ember._quantized_creation import _choose_qparams as choose
    return choose(t.detach().numpy(), False, ember.quint8)
