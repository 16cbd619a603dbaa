"""Quantization gaps closed in session 21, each against PyTorch:

- dynamic quantized LSTM/GRU with a PackedSequence input (quantize_dynamic on the same
  float weights on both sides): output PackedSequence data, the padded output and the final
  states (each sequence's state after its own last step), enforce_sorted both ways,
  batch_first, given/absent initial states, multi-layer bidirectional, qint8 and float16.

Tolerance 1e-6: float32 rounding of fbgemm's output scaling (as test_quant_workflow.py)."""
import numpy as np
import pytest

import ember
from ember.nn.utils import rnn as ember_rnn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")


def _np(t):
    return t.detach().numpy()


def _quantized_pair(kind, layers, bidirectional, batch_first, dtype):
    torch.manual_seed(0)
    f = getattr(torch.nn, kind)(5, 6, num_layers=layers, bidirectional=bidirectional,
                                batch_first=batch_first)
    e = getattr(ember.nn, kind)(5, 6, num_layers=layers, bidirectional=bidirectional,
                                batch_first=batch_first)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in f.state_dict().items()})
    tq = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(f), {type(f)},
                                                dtype=getattr(torch, dtype))[0]
    eq = ember.ao.quantization.quantize_dynamic(ember.nn.Sequential(e), {type(e)},
                                                dtype=getattr(ember, dtype))[0]
    return tq, eq


def _states(kind, hn):
    return [hn] if kind == "GRU" else list(hn)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("enforce_sorted,batch_first,lengths,given,dtype", [
    (True, False, [4, 3, 3, 1], False, "qint8"),
    (False, True, [2, 4, 1, 3], True, "qint8"),
    (False, False, [2, 4, 1, 4], True, "float16"),
    (True, True, [3, 3], False, "float16"),
])
def test_dynamic_rnn_packed_sequence(kind, layers, bidirectional, enforce_sorted,
                                     batch_first, lengths, given, dtype):
    tq, eq = _quantized_pair(kind, layers, bidirectional, batch_first, dtype)
    rng = np.random.default_rng(1)
    B, T, D = len(lengths), max(lengths), 2 if bidirectional else 1
    x = rng.standard_normal((B, T, 5) if batch_first else (T, B, 5)).astype(np.float32)
    h0 = rng.standard_normal((layers * D, B, 6)).astype(np.float32)
    c0 = rng.standard_normal((layers * D, B, 6)).astype(np.float32)
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths),
                                                 batch_first=batch_first,
                                                 enforce_sorted=enforce_sorted)
    ep = ember_rnn.pack_padded_sequence(ember.tensor(x), ember.tensor(lengths),
                                        batch_first=batch_first,
                                        enforce_sorted=enforce_sorted)
    th = eh = None
    if given:
        th = (torch.tensor(h0), torch.tensor(c0)) if kind == "LSTM" else torch.tensor(h0)
        eh = (ember.tensor(h0), ember.tensor(c0)) if kind == "LSTM" else ember.tensor(h0)
    to, thn = tq(tp, th)
    eo, ehn = eq(ep, eh)
    assert isinstance(eo, ember_rnn.PackedSequence)
    np.testing.assert_array_equal(eo.batch_sizes.numpy(), to.batch_sizes.numpy())
    if enforce_sorted:
        assert eo.sorted_indices is None and to.sorted_indices is None
    else:
        np.testing.assert_array_equal(eo.unsorted_indices.numpy(), to.unsorted_indices.numpy())
    np.testing.assert_allclose(_np(eo.data), _np(to.data), rtol=1e-6, atol=1e-6)
    for got, want in zip(_states(kind, ehn), _states(kind, thn)):
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(_np(got), _np(want), rtol=1e-6, atol=1e-6)
    tpad, tlen = torch.nn.utils.rnn.pad_packed_sequence(to, batch_first=batch_first)
    epad, elen = ember_rnn.pad_packed_sequence(eo, batch_first=batch_first)
    np.testing.assert_array_equal(elen.numpy(), tlen.numpy())
    np.testing.assert_allclose(_np(epad), _np(tpad), rtol=1e-6, atol=1e-6)


def test_dynamic_lstm_packed_final_state_is_each_sequences_last_step():
    # a sequence's h_n equals the padded-run output at its own last step (one direction)
    _, eq = _quantized_pair("LSTM", 1, False, True, "qint8")
    x = ember.tensor(np.random.default_rng(2).standard_normal((3, 4, 5)).astype(np.float32))
    lengths = [2, 4, 3]
    out, (h, _) = eq(ember_rnn.pack_padded_sequence(x, ember.tensor(lengths),
                                                    batch_first=True, enforce_sorted=False))
    padded, _ = ember_rnn.pad_packed_sequence(out, batch_first=True)
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(_np(h[0, b]), _np(padded[b, n - 1]))
        assert not _np(padded[b, n:]).any()


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_dynamic_rnn_packed_errors_match(kind):
    tq, eq = _quantized_pair(kind, 1, False, False, "qint8")
    seqs = [np.ones((3, 5), np.float32), np.ones((2, 5), np.float32)]
    tp = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs])
    ep = ember_rnn.pack_sequence([ember.tensor(s) for s in seqs])
    bad = np.zeros((1, 3, 6), np.float32)     # batch 3, the packed batch is 2
    th = (torch.tensor(bad), torch.tensor(bad)) if kind == "LSTM" else torch.tensor(bad)
    eh = (ember.tensor(bad), ember.tensor(bad)) if kind == "LSTM" else ember.tensor(bad)
    with pytest.raises(RuntimeError) as want:
        tq(tp, th)
    with pytest.raises(RuntimeError) as got:
        eq(ep, eh)
    assert str(got.value) == str(want.value)
    tw = torch.nn.utils.rnn.pack_sequence([torch.ones(3, 4)])
    ew = ember_rnn.pack_sequence([ember.ones(3, 4)])
    with pytest.raises(RuntimeError) as want:
        tq(tw)
    with pytest.raises(RuntimeError) as got:
        eq(ew)
    assert str(got.value) == str(want.value)
