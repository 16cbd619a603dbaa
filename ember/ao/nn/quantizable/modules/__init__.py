"""The quantizable modules (see the package docstring): rnn.py (LSTM, LSTMCell) and
activation.py (MultiheadAttention)."""
from .activation import MultiheadAttention
from .rnn import LSTM, LSTMCell

__all__ = ["LSTM", "LSTMCell", "MultiheadAttention"]
