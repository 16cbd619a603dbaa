"""ember.ao.nn.quantizable (torch.ao.nn.quantizable): the observable LSTM, LSTMCell and
MultiheadAttention of eager static quantization's custom-module flow. They compute in float
like nn.LSTM / nn.MultiheadAttention, built from Linear layers and FloatFunctionals that
``prepare`` observes; ``convert`` turns them into ember.ao.nn.quantized.LSTM /
MultiheadAttention (the default custom-module config of prepare/convert maps them)."""
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all

__all__ = _modules_all
