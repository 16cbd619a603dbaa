"""ember.ao.nn.quantizable (torch.ao.nn.quantizable): the observable LSTM / MultiheadAttention
of static quantization's custom-module flow. Not built: the classes raise
NotImplementedError (dynamic quantization of LSTM is built: quantize_dynamic)."""
from .._not_built import not_built

__all__ = ["LSTM", "LSTMCell", "MultiheadAttention"]

_HINT = ("quantize recurrent layers dynamically (quantize_dynamic) or leave them in float "
         "(qconfig None)")
LSTM = not_built("torch.ao.nn.quantizable", "LSTM", _HINT)
LSTMCell = not_built("torch.ao.nn.quantizable", "LSTMCell", _HINT)
MultiheadAttention = not_built("torch.ao.nn.quantizable", "MultiheadAttention", _HINT)
