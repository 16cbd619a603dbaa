"""ember.ao.nn.quantized.dynamic (torch.ao.nn.quantized.dynamic): modules with quantized
weights that take and return float tensors, the activations quantized on the fly: Linear,
LSTM, GRU, LSTMCell, GRUCell, RNNCell."""
from .modules import *  # noqa: F401,F403
from .modules import __all__  # noqa: F401
