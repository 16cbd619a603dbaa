"""ember.ao.nn.quantized.reference (torch.ao.nn.quantized.reference): reference quantized
modules: float modules whose weight is fake-quantized by stored qparams, what
convert_to_reference_fx produces (and convert_fx lowers to the quantized modules).
The reference RNNs (LSTM, GRU, RNNCell ...) are not built in ember."""
from .modules import *  # noqa: F401,F403
from .modules import __all__
