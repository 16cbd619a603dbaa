"""The static quantized LSTM (torch.ao.nn.quantized.LSTM): a calibrated quantizable LSTM
after ``convert`` (its Linear layers quantized, its FloatFunctionals QFunctionals); it takes
and returns quantized tensors. Built only from an observed module (``from_observed``)."""
from ember.ao.nn.quantizable.modules import rnn as _quantizable

__all__ = ["LSTM"]


class LSTM(_quantizable.LSTM):
    """A quantized LSTM; the arguments, call and weight access of
    ember.ao.nn.quantizable.LSTM. Made by ``convert`` with the custom-module config
    {quantizable.LSTM: quantized.LSTM} (the default one)."""

    _FLOAT_MODULE = _quantizable.LSTM

    def _get_name(self):
        return "QuantizedLSTM"

    @classmethod
    def from_float(cls, *args, **kwargs):
        raise NotImplementedError("It looks like you are trying to convert a non-observed "
                                  "LSTM module. Please, see the examples on quantizable LSTMs.")

    @classmethod
    def from_observed(cls, other):
        """The quantized LSTM of the calibrated quantizable LSTM ``other`` (a converted copy,
        qconfigs and observers removed)."""
        from ember.ao.quantization.quantize import convert
        if not isinstance(other, cls._FLOAT_MODULE):
            raise AssertionError(f"Expected module type {cls._FLOAT_MODULE}, got {type(other)}")
        converted = convert(other, inplace=False, remove_qconfig=True)
        converted.__class__ = cls
        return converted
