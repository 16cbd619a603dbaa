"""Quantization gaps closed in session 21, each against PyTorch:

- dynamic quantized LSTM/GRU with a PackedSequence input (quantize_dynamic on the same
  float weights on both sides): output PackedSequence data, the padded output and the final
  states (each sequence's state after its own last step), enforce_sorted both ways,
  batch_first, given/absent initial states, multi-layer bidirectional, qint8 and float16.
- quint4x2 tensors saved with ember.save(format='torch') as torch writes them (a
  QUInt4x2Storage of packed bytes): torch.load (weights_only both ways) gives torch's values
  and parameters; a 4-bit quantized EmbeddingBag's state_dict loads into torch's module.
- FX graph mode's custom-module LSTM flow (prepare_fx with nn.LSTM -> quantizable.LSTM,
  convert_fx to quantized.LSTM): the converted graph's ops and the outputs as torch's;
  an LSTM output tuple used whole; MultiheadAttention's flow is refused (not built).

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


# ------------------------------------------------- quint4x2 tensors in PyTorch's format

def _q4(lib, w, scheme):
    t = lib.tensor(w)
    if scheme == "per_tensor":
        return lib.quantize_per_tensor(t, 0.1, 3, lib.quint4x2)
    scales = lib.tensor(np.linspace(0.05, 0.2, w.shape[0]), dtype=lib.float32)
    zps = lib.tensor(np.linspace(-0.3, 0.2, w.shape[0]), dtype=lib.float32)
    return lib.quantize_per_channel(t, scales, zps, 0, lib.quint4x2)


@pytest.mark.parametrize("shape,scheme", [
    ((3, 5), "per_tensor"), ((4, 6), "per_tensor"), ((7,), "per_tensor"), ((1,), "per_tensor"),
    ((2, 3, 3), "per_tensor"), ((3, 5), "float_qparams"), ((4, 6), "float_qparams"),
    ((2, 3, 3), "float_qparams")])
@pytest.mark.parametrize("weights_only", [True, False])
def test_quint4x2_tensor_saved_in_torch_format(shape, scheme, weights_only):
    import io
    w = np.random.default_rng(3).uniform(-1, 1, shape).astype(np.float32)
    e, t = _q4(ember, w, scheme), _q4(torch, w, scheme)
    buf = io.BytesIO()
    ember.save({"q": e}, buf, format="torch")
    buf.seek(0)
    got = torch.load(buf, weights_only=weights_only)["q"]
    assert got.dtype == torch.quint4x2 and got.shape == t.shape
    assert got.qscheme() == t.qscheme()
    np.testing.assert_array_equal(got.dequantize().numpy(), t.dequantize().numpy())
    if scheme == "per_tensor":
        assert (got.q_scale(), got.q_zero_point()) == (t.q_scale(), t.q_zero_point())
    else:
        np.testing.assert_array_equal(got.q_per_channel_scales().numpy(),
                                      t.q_per_channel_scales().numpy())
    buf.seek(0)   # and ember reads its own torch-format file back
    back = ember.load(buf)["q"]
    assert back.dtype == ember.quint4x2
    np.testing.assert_array_equal(back.dequantize().numpy(), e.dequantize().numpy())


@pytest.mark.parametrize("weights_only", [True, False])
def test_4bit_embedding_bag_state_dict_loads_in_torch(weights_only):
    import io
    w = np.random.default_rng(4).standard_normal((10, 8)).astype(np.float32)
    mods = {}
    for lib in (torch, ember):
        f = lib.nn.EmbeddingBag(10, 8, mode="sum")
        f.weight.data = lib.tensor(w)
        f.qconfig = lib.ao.quantization.float_qparams_weight_only_qconfig_4bit
        mods[lib] = lib.ao.nn.quantized.EmbeddingBag.from_float(f)
    buf = io.BytesIO()
    ember.save(mods[ember].state_dict(), buf, format="torch")
    buf.seek(0)
    fresh = torch.ao.nn.quantized.EmbeddingBag(10, 8, mode="sum", dtype=torch.quint4x2)
    fresh.load_state_dict(torch.load(buf, weights_only=weights_only))
    want = mods[torch].weight()
    np.testing.assert_array_equal(fresh.weight().dequantize().numpy(),
                                  want.dequantize().numpy())
    np.testing.assert_array_equal(fresh.weight().q_per_channel_scales().numpy(),
                                  want.q_per_channel_scales().numpy())
    idx, off = [1, 2, 3, 9, 0, 5], [0, 2, 5]
    np.testing.assert_array_equal(fresh(torch.tensor(idx), torch.tensor(off)).numpy(),
                                  mods[torch](torch.tensor(idx), torch.tensor(off)).numpy())


# ------------------------------- FX custom-module flow: nn.LSTM -> quantizable -> quantized

def _fx_lstm_model(lib, unpacked=True):
    nn = lib.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 4)
            self.lstm = nn.LSTM(4, 6)

        def forward(self, x, h, c):
            x = self.linear(x)
            if not unpacked:
                return self.lstm(x, (h, c))
            out, (h2, c2) = self.lstm(x, (h, c))
            return out, h2, c2
    return M()


def _fx_lstm_flow(lib, model, calibration, unpacked=True):
    from importlib import import_module
    q = lib.ao.quantization
    qfx = import_module(lib.__name__ + ".ao.quantization.quantize_fx")
    cc = import_module(lib.__name__ + ".ao.quantization.fx.custom_config")
    qa, qz = lib.ao.nn.quantizable, lib.ao.nn.quantized
    prepare_config = cc.PrepareCustomConfig().set_float_to_observed_mapping(lib.nn.LSTM, qa.LSTM)
    convert_config = cc.ConvertCustomConfig().set_observed_to_quantized_mapping(qa.LSTM, qz.LSTM)
    mapping = q.QConfigMapping().set_global(q.default_qconfig)
    prepared = qfx.prepare_fx(model.eval(), mapping, calibration[0],
                              prepare_custom_config=prepare_config)
    for inputs in calibration:
        prepared(*inputs)
    return prepared, qfx.convert_fx(prepared, convert_custom_config=convert_config)


def _lstm_inputs(lib, seed):
    rng = np.random.default_rng(seed)
    return (lib.tensor(rng.standard_normal((5, 2, 4)).astype(np.float32)),
            lib.tensor(rng.standard_normal((1, 2, 6)).astype(np.float32)),
            lib.tensor(rng.standard_normal((1, 2, 6)).astype(np.float32)))


def _graph_ops(gm):
    """The converted graph as (op, target) pairs, torch's names for ember's functions."""
    out = []
    for n in gm.graph.nodes:
        target = n.target if isinstance(n.target, str) else \
            f"{n.target.__module__}.{n.target.__name__}"
        target = target.replace("ember.", "torch.").replace("_operator.", "")
        if n.op == "get_attr":
            target = "attr"
        out.append((n.op, target.replace("torch._ops.quantized_", "torch.")))
    return out


def test_fx_custom_module_lstm_matches_torch():
    torch.manual_seed(0)
    t, e = _fx_lstm_model(torch), _fx_lstm_model(ember)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    tp, tq = _fx_lstm_flow(torch, t, [_lstm_inputs(torch, s) for s in range(2)])
    ep, eq = _fx_lstm_flow(ember, e, [_lstm_inputs(ember, s) for s in range(2)])
    assert type(ep.lstm) is ember.ao.nn.quantizable.LSTM
    assert type(eq.lstm) is ember.ao.nn.quantized.LSTM
    assert type(tq.lstm) is torch.ao.nn.quantized.LSTM
    assert sorted(n for n, _ in eq.named_children()) == sorted(n for n, _ in tq.named_children())
    # the same quantize / lstm / getitem / dequantize graph (torch's names differ only in
    # how the getitems are numbered)
    assert _graph_ops(eq) == _graph_ops(tq)
    got, want = eq(*_lstm_inputs(ember, 7)), tq(*_lstm_inputs(torch, 7))
    assert len(got) == len(want) == 3
    for g, w in zip(got, want):
        assert g.dtype == ember.float32 and tuple(g.shape) == tuple(w.shape)
        # (scales chosen after calibration may differ by one float32 ulp, see
        # test_quantizable_rnn_mha_ql.py: the dequantized values to within 1e-6)
        np.testing.assert_allclose(_np(g), _np(w), rtol=0, atol=1e-6)


def test_fx_custom_module_lstm_output_tuple_used_whole():
    torch.manual_seed(1)
    t, e = _fx_lstm_model(torch, unpacked=False), _fx_lstm_model(ember, unpacked=False)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    _, tq = _fx_lstm_flow(torch, t, [_lstm_inputs(torch, s) for s in range(2)])
    _, eq = _fx_lstm_flow(ember, e, [_lstm_inputs(ember, s) for s in range(2)])
    assert _graph_ops(eq) == _graph_ops(tq)
    (go, (gh, gc)), (wo, (wh, wc)) = eq(*_lstm_inputs(ember, 3)), tq(*_lstm_inputs(torch, 3))
    for g, w in ((go, wo), (gh, wh), (gc, wc)):
        assert not g.is_quantized
        np.testing.assert_allclose(_np(g), _np(w), rtol=0, atol=1e-6)


def test_fx_custom_module_multihead_attention_refused():
    from ember.ao.quantization.fx.custom_config import PrepareCustomConfig
    from ember.ao.quantization.quantize_fx import prepare_fx

    class M(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = ember.nn.MultiheadAttention(4, 2)

        def forward(self, x):
            return self.mha(x, x, x)[0]
    config = PrepareCustomConfig().set_float_to_observed_mapping(
        ember.nn.MultiheadAttention, ember.ao.nn.quantizable.MultiheadAttention)
    mapping = ember.ao.quantization.QConfigMapping().set_global(
        ember.ao.quantization.default_qconfig)
    with pytest.raises(NotImplementedError, match="MultiheadAttention"):
        prepare_fx(M().eval(), mapping, (ember.randn(3, 2, 4),), prepare_custom_config=config)
