"""Recurrent layers: ember's fused LSTM/GRU/RNN layer-direction nodes as ONNX LSTM/GRU/RNN."""
import numpy as np

from ._registry import _op, _unsupported


def _gate_rows(g, w, order):
    """w with its gate blocks (rows) reordered from PyTorch's order to ONNX's, and a
    leading num_directions axis of 1."""
    parts = g.op("Split", w, g.const(np.array([w.shape[0] // len(order)] * len(order),
                                              np.int64)), axis=0, outputs=len(order))
    joined = g.op("Concat", *[parts[i] for i in order], axis=0) if len(order) > 1 else parts
    return g.op("Unsqueeze", joined, g.const(np.array([0], np.int64)))


def _recurrent(g, onnx_op, order, x, states, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse,
               **attrs):
    if batch_sizes is not None:
        return _unsupported(f"{onnx_op.lower()} of a PackedSequence")
    hidden = w_hh.shape[1]
    gates = len(order) * hidden
    zeros = g.const(np.zeros(gates, dtype=x.dtype))
    bias = g.op("Concat", b_ih if b_ih is not None else zeros,
                b_hh if b_hh is not None else zeros, axis=0)
    bias = _gate_rows_pair(g, bias, order, gates)
    axis0 = g.const(np.array([0], np.int64))
    inits = [g.op("Unsqueeze", s, axis0) for s in states]
    outs = g.op(onnx_op, x, _gate_rows(g, w_ih, order), _gate_rows(g, w_hh, order), bias, None,
                *inits, outputs=1 + len(states), hidden_size=hidden,
                direction="reverse" if reverse else "forward", **attrs)
    y = g.op("Squeeze", outs[0], g.const(np.array([1], np.int64)))
    return [y] + [g.op("Squeeze", s, axis0) for s in outs[1:]]


def _gate_rows_pair(g, bias, order, gates):
    """The concatenated [b_ih, b_hh] with each half's gates reordered; shape (1, 2*gates)."""
    halves = g.op("Split", bias, g.const(np.array([gates, gates], np.int64)), axis=0,
                  outputs=2, shape=(gates,))
    return g.op("Concat", *[_gate_rows(g, h, order) for h in halves], axis=1)


@_op("LSTMLayer")
def _lstm_layer(g, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse):
    if w_hr is not None:
        return _unsupported("lstm (proj_size)")
    # PyTorch's gates i, f, g, o; ONNX's i, o, f, c
    return _recurrent(g, "LSTM", [0, 3, 1, 2], x, [h0, c0], w_ih, w_hh, b_ih, b_hh,
                      batch_sizes, reverse)


@_op("GRULayer")
def _gru_layer(g, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse):
    # PyTorch's gates r, z, n; ONNX's z, r, h; PyTorch applies r after the hidden
    # state's linear map (ONNX's linear_before_reset=1)
    return _recurrent(g, "GRU", [1, 0, 2], x, [h0], w_ih, w_hh, b_ih, b_hh, batch_sizes,
                      reverse, linear_before_reset=1)


@_op("RNNLayer")
def _rnn_layer(g, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse, relu=False):
    return _recurrent(g, "RNN", [0], x, [h0], w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse,
                      activations=["Relu" if relu else "Tanh"])
