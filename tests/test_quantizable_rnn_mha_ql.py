"""The quantizable and static quantized LSTM / MultiheadAttention (torch.ao.nn.quantizable,
torch.ao.nn.quantized.LSTM / MultiheadAttention) on ember and on PyTorch, the same program
on both: the float (observed) modules against nn.LSTM / nn.MultiheadAttention and against
PyTorch's quantizable ones, the eager prepare -> calibrate -> convert flow through the default
custom-module config (x86 qconfig), reprs, state_dict keys, QAT, dequantize and the errors.

Tolerances: the observed float modules equal PyTorch's to float32 rounding (rtol 1e-5).
After calibration, ember's observers see float32 values that can differ from PyTorch's in
the last bit (sigmoid/tanh/softmax/matmul rounding), so a chosen scale may differ by one
float32 ulp; the quantized outputs' integers are then checked "all within one quantum,
nearly all equal" (the LSTM's have all been equal; MultiheadAttention's head-averaged
weights requantize exact halves, which a scale one ulp apart tips either way, so for them
only "within one quantum" is asserted). With PyTorch's quantized
state_dict loaded into ember's converted model, the outputs are bit for bit PyTorch's
(integers, scale and zero point)."""
import io
import re

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")


def _copy_weights(src, dst):
    dst.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                         src.state_dict().items()})


def _text(module, blank_numbers=False):
    text = repr(module).replace("ember.", "torch.")
    return re.sub(r"\d+\.\d+(e-?\d+)?", "#", text) if blank_numbers else text


def _np(t):
    t = t.detach()
    return t.dequantize().numpy() if t.is_quantized else t.numpy()


def _assert_quantized_close(e, t, exact, equal_share=0.95):
    """ember's quantized tensor e against PyTorch's t: same zero point and integers (unless
    exact: one quantum apart at most, at least equal_share of them equal) and scale (unless
    exact: to a few float32 ulps)."""
    assert e.is_quantized and t.is_quantized
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert e.q_zero_point() == t.q_zero_point()
    ei, ti = e.int_repr().numpy().astype(np.int64), t.int_repr().numpy().astype(np.int64)
    if exact:
        assert e.q_scale() == t.q_scale()
        np.testing.assert_array_equal(ei, ti)
    else:
        np.testing.assert_allclose(e.q_scale(), t.q_scale(), rtol=3e-7)
        assert np.abs(ei - ti).max() <= 1
        assert (ei == ti).mean() >= equal_share


def _reload(tq, eq):
    buf = io.BytesIO()
    torch.save(tq.state_dict(), buf)
    buf.seek(0)
    eq.load_state_dict(ember.load(buf))


# ---------------------------------------------------------------- LSTM

def _lstm_net(m, kw):
    tq = m.ao.quantization

    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = tq.QuantStub()
            self.lstm = m.nn.LSTM(**kw)

        def forward(self, x, hidden=None):
            return self.lstm(self.quant(x), hidden)

    return Net().eval()


def _lstm_pair(kw, seed=0):
    torch.manual_seed(seed)
    t, e = _lstm_net(torch, kw), _lstm_net(ember, kw)
    _copy_weights(t, e)
    t.qconfig = torch.ao.quantization.get_default_qconfig("x86")
    e.qconfig = ember.ao.quantization.get_default_qconfig("x86")
    return t, e


def _lstm_input(kw, T=4, N=2, seed=1):
    shape = (N, T, kw["input_size"]) if kw.get("batch_first") else (T, N, kw["input_size"])
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _flat(out):
    y, (h, c) = out
    return [y, h, c]


LSTM_CASES = [dict(input_size=4, hidden_size=3),
              dict(input_size=4, hidden_size=3, num_layers=2),
              dict(input_size=5, hidden_size=3, bidirectional=True, batch_first=True),
              dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, bias=False)]


@pytest.mark.parametrize("kw", LSTM_CASES)
def test_static_lstm_prepare_calibrate_convert(kw):
    t, e = _lstm_pair(kw)
    tp, ep = torch.ao.quantization.prepare(t), ember.ao.quantization.prepare(e)
    assert _text(ep) == _text(tp)
    assert type(ep.lstm) is ember.ao.nn.quantizable.LSTM
    assert list(ep.state_dict()) == list(tp.state_dict())
    for seed in range(2):     # calibration; the observed module computes nn.LSTM's floats
        x = _lstm_input(kw, T=3, seed=seed)
        reference = _flat(t(torch.tensor(x)))
        for a, b, r in zip(_flat(ep(ember.tensor(x))), _flat(tp(torch.tensor(x))), reference):
            np.testing.assert_allclose(_np(b), _np(r), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)
    tq, eq = torch.ao.quantization.convert(tp), ember.ao.quantization.convert(ep)
    assert type(eq.lstm) is ember.ao.nn.quantized.LSTM
    assert eq.lstm._get_name() == tq.lstm._get_name() == "QuantizedLSTM"
    assert _text(eq, blank_numbers=True) == _text(tq, blank_numbers=True)
    assert list(eq.state_dict()) == list(tq.state_dict())
    assert not hasattr(eq.lstm, "qconfig")
    x = _lstm_input(kw, T=5, seed=7)
    for a, b in zip(_flat(eq(ember.tensor(x))), _flat(tq(torch.tensor(x)))):
        _assert_quantized_close(a, b, exact=False)
    _reload(tq, eq)
    for a, b in zip(_flat(eq(ember.tensor(x))), _flat(tq(torch.tensor(x)))):
        _assert_quantized_close(a, b, exact=True)


def test_static_lstm_with_quantized_initial_state():
    kw = dict(input_size=4, hidden_size=3, num_layers=2)
    t, e = _lstm_pair(kw, seed=2)
    tq = torch.ao.quantization.prepare(t)
    eq = ember.ao.quantization.prepare(e)
    for seed in range(2):
        x = _lstm_input(kw, seed=seed)
        tq(torch.tensor(x)), eq(ember.tensor(x))
    tq, eq = torch.ao.quantization.convert(tq), ember.ao.quantization.convert(eq)
    _reload(tq, eq)
    h0 = np.random.default_rng(5).standard_normal((2, 2, 3)).astype(np.float32) * 0.5
    c0 = np.random.default_rng(6).standard_normal((2, 2, 3)).astype(np.float32)
    x = _lstm_input(kw, seed=9)
    t_state = tuple(torch.quantize_per_tensor(torch.tensor(a), 0.01, 128, torch.quint8)
                    for a in (h0, c0))
    e_state = tuple(ember.quantize_per_tensor(ember.tensor(a), 0.01, 128, ember.quint8)
                    for a in (h0, c0))
    for a, b in zip(_flat(eq(ember.tensor(x), e_state)), _flat(tq(torch.tensor(x), t_state))):
        _assert_quantized_close(a, b, exact=True)


@pytest.mark.parametrize("split_gates", [False, True])
@pytest.mark.parametrize("kw", [dict(input_size=4, hidden_size=3, num_layers=2),
                                dict(input_size=3, hidden_size=2, bidirectional=True,
                                     batch_first=True)])
def test_quantizable_lstm_float_equals_nn_lstm(kw, split_gates):
    """from_float (split or fused gates) copies the weights; the float module gives
    nn.LSTM's outputs, with a given initial state too, and PyTorch's reprs and keys."""
    torch.manual_seed(3)
    t_float = torch.nn.LSTM(**kw).eval()
    e_float = ember.nn.LSTM(**kw).eval()
    _copy_weights(t_float, e_float)
    for m, f in ((torch, t_float), (ember, e_float)):
        f.qconfig = m.ao.quantization.default_qconfig
    tq = torch.ao.nn.quantizable.LSTM.from_float(t_float, split_gates=split_gates)
    eq = ember.ao.nn.quantizable.LSTM.from_float(e_float, split_gates=split_gates)
    assert _text(eq) == _text(tq)
    assert list(eq.state_dict()) == list(tq.state_dict())
    directions = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    x = _lstm_input(kw, seed=4)
    rng = np.random.default_rng(8)
    h0 = rng.standard_normal((layers * directions, 2, kw["hidden_size"])).astype(np.float32)
    c0 = rng.standard_normal(h0.shape).astype(np.float32)
    for hidden in (None, (h0, c0)):
        t_args = [torch.tensor(x)] + ([] if hidden is None else [tuple(map(torch.tensor,
                                                                           hidden))])
        e_args = [ember.tensor(x)] + ([] if hidden is None else [tuple(map(ember.tensor,
                                                                           hidden))])
        reference = _flat(e_float(*e_args))
        for a, b, r in zip(_flat(eq(*e_args)), _flat(tq(*t_args)), reference):
            assert tuple(a.shape) == tuple(b.shape)
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(_np(a), _np(r), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("split_gates", [False, True])
def test_quantizable_lstm_cell(split_gates):
    torch.manual_seed(4)
    t_cell, e_cell = torch.nn.LSTMCell(4, 3), ember.nn.LSTMCell(4, 3)
    _copy_weights(t_cell, e_cell)
    t_cell.qconfig = torch.ao.quantization.default_qconfig
    e_cell.qconfig = ember.ao.quantization.default_qconfig
    tq = torch.ao.nn.quantizable.LSTMCell.from_float(t_cell, split_gates=split_gates)
    eq = ember.ao.nn.quantizable.LSTMCell.from_float(e_cell, split_gates=split_gates)
    assert _text(eq) == _text(tq) and eq._get_name() == "QuantizableLSTMCell"
    assert list(eq.state_dict()) == list(tq.state_dict())
    assert eq.igates.qconfig is e_cell.qconfig
    rng = np.random.default_rng(0)
    x, h, c = (rng.standard_normal(s).astype(np.float32) for s in ((2, 4), (2, 3), (2, 3)))
    for state in (None, (h, c)):
        ref = e_cell(ember.tensor(x), None if state is None else tuple(map(ember.tensor,
                                                                              state)))
        got = eq(ember.tensor(x), None if state is None else tuple(map(ember.tensor, state)))
        want = tq(torch.tensor(x), None if state is None else tuple(map(torch.tensor, state)))
        for a, b, r in zip(got, want, ref):
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(_np(a), _np(r), rtol=1e-5, atol=1e-6)
    # a quantized x without a state: zeros quantized with the initial-state qparams
    hq, cq = eq.initialize_hidden(3, is_quantized=True)
    ht, ct = tq.initialize_hidden(3, is_quantized=True)
    for a, b in ((hq, ht), (cq, ct)):
        _assert_quantized_close(a, b, exact=True)


def test_lstm_qat_prepare_and_convert():
    """prepare_qat swaps nn.LSTM for the quantizable LSTM with fake-quantizers (training
    mode); training steps and the converted model follow PyTorch."""
    def build(m):
        tq = m.ao.quantization

        class Net(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.quant = tq.QuantStub()
                self.lstm = m.nn.LSTM(4, 3)
                self.fc = m.nn.Linear(3, 2)
                self.dequant = tq.DeQuantStub()

            def forward(self, x):
                return self.dequant(self.fc(self.lstm(self.quant(x))[0]))
        return Net()

    torch.manual_seed(0)
    t, e = build(torch), build(ember)
    _copy_weights(t, e)
    t.qconfig = torch.ao.quantization.get_default_qat_qconfig("x86")
    e.qconfig = ember.ao.quantization.get_default_qat_qconfig("x86")
    tp = torch.ao.quantization.prepare_qat(t.train())
    ep = ember.ao.quantization.prepare_qat(e.train())
    assert _text(ep) == _text(tp)
    assert type(ep.lstm) is ember.ao.nn.quantizable.LSTM and ep.lstm.training
    x = _lstm_input(dict(input_size=4), T=5, seed=0)
    a, b = ep(ember.tensor(x)), tp(torch.tensor(x))
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    a.sum().backward()
    b.sum().backward()
    ew = ep.lstm.layers[0].layer_fw.cell.igates.weight.grad
    tw = tp.lstm.layers[0].layer_fw.cell.igates.weight.grad
    np.testing.assert_allclose(ew.numpy(), tw.numpy(), rtol=1e-5, atol=1e-6)
    tq = torch.ao.quantization.convert(tp.eval())
    eq = ember.ao.quantization.convert(ep.eval())
    assert _text(eq, blank_numbers=True) == _text(tq, blank_numbers=True)
    _reload(tq, eq)
    np.testing.assert_array_equal(eq(ember.tensor(x)).numpy(), tq(torch.tensor(x)).numpy())


# ---------------------------------------------------------------- MultiheadAttention

def _mha_net(m, kw, call):
    tq = m.ao.quantization

    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.quant_q, self.quant_k, self.quant_v = (tq.QuantStub() for _ in range(3))
            self.mha = m.nn.MultiheadAttention(**kw)

        def forward(self, q, k, v, **masks):
            return self.mha(self.quant_q(q), self.quant_k(k), self.quant_v(v), **call,
                            **masks)

    return Net().eval()


def _mha_inputs(kw, seed, L=4, S=5, N=2):
    rng = np.random.default_rng(seed)
    E = kw["embed_dim"]
    dims = (E, kw.get("kdim") or E, kw.get("vdim") or E)
    lengths = (L, S, S)
    return [rng.standard_normal((N, n, d) if kw.get("batch_first") else (n, N, d))
            .astype(np.float32) for n, d in zip(lengths, dims)]


_BOOL_MASK = np.triu(np.ones((4, 5), bool), 1)
_PADDING = np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 1]], bool)
_FLOAT_MASK = np.random.default_rng(0).standard_normal((4, 4, 5)).astype(np.float32)

MHA_CASES = [
    (dict(embed_dim=8, num_heads=2), {}, {}),
    (dict(embed_dim=8, num_heads=2, batch_first=True), {}, {}),
    (dict(embed_dim=8, num_heads=4, kdim=6, vdim=5), {}, {}),
    (dict(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True), {}, {}),
    (dict(embed_dim=8, num_heads=2, bias=False), {"need_weights": False}, {}),
    (dict(embed_dim=8, num_heads=2), {"average_attn_weights": False},
     {"attn_mask": _BOOL_MASK}),
    (dict(embed_dim=8, num_heads=2, add_bias_kv=True), {}, {"key_padding_mask": _PADDING}),
    (dict(embed_dim=8, num_heads=2, add_zero_attn=True), {}, {"attn_mask": _FLOAT_MASK}),
]


@pytest.mark.parametrize("kw,call,masks", MHA_CASES)
def test_static_mha_prepare_calibrate_convert(kw, call, masks):
    torch.manual_seed(0)
    t, e = _mha_net(torch, kw, call), _mha_net(ember, kw, call)
    if kw.get("bias", True):   # nonzero projection biases (nn.MHA starts them at zero)
        with torch.no_grad():
            t.mha.in_proj_bias.uniform_(-0.3, 0.3)
    _copy_weights(t, e)
    t.qconfig = torch.ao.quantization.get_default_qconfig("x86")
    e.qconfig = ember.ao.quantization.get_default_qconfig("x86")
    tp, ep = torch.ao.quantization.prepare(t), ember.ao.quantization.prepare(e)
    assert type(ep.mha) is ember.ao.nn.quantizable.MultiheadAttention
    assert _text(ep) == _text(tp)
    assert list(ep.state_dict()) == list(tp.state_dict())
    t_masks = {k: torch.tensor(v) for k, v in masks.items()}
    e_masks = {k: ember.tensor(v) for k, v in masks.items()}
    for seed in range(3):
        x = _mha_inputs(kw, seed)
        want = tp(*map(torch.tensor, x), **t_masks)
        got = ep(*map(ember.tensor, x), **e_masks)
        # PyTorch's quantizable MHA is nn.MHA's computation, except with batch_first, where
        # it reads the heads' outputs in another order (ember follows the quantizable one)
        reference = None if kw.get("batch_first") else t(*map(torch.tensor, x), **t_masks)
        for i, (a, b) in enumerate(zip(got, want)):
            if b is None:
                assert a is None
                continue
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)
            if reference is not None:
                np.testing.assert_allclose(_np(b), _np(reference[i]), rtol=1e-5, atol=1e-6)
    tq, eq = torch.ao.quantization.convert(tp), ember.ao.quantization.convert(ep)
    assert type(eq.mha) is ember.ao.nn.quantized.MultiheadAttention
    assert eq.mha._get_name() == "QuantizedMultiheadAttention"
    assert _text(eq, blank_numbers=True) == _text(tq, blank_numbers=True)
    assert list(eq.state_dict()) == list(tq.state_dict())
    assert not hasattr(eq.mha, "in_proj_weight") and not hasattr(eq.mha, "in_proj_bias")
    if kw.get("add_bias_kv"):
        for name in ("bias_k", "bias_v"):
            _assert_quantized_close(getattr(eq.mha, name), getattr(tq.mha, name), exact=True)
    x = _mha_inputs(kw, seed=11)
    for exact in (False, True):
        if exact:
            _reload(tq, eq)
        got = eq(*map(ember.tensor, x), **e_masks)
        want = tq(*map(torch.tensor, x), **t_masks)
        for a, b in zip(got, want):
            if b is None:
                assert a is None
                continue
            assert tuple(a.shape) == tuple(b.shape)
            # the head-averaged weights requantize exact halves (q1 + q2) / 2: a scale one
            # ulp apart tips those ties either way, so only "within one quantum" holds
            _assert_quantized_close(a, b, exact=exact, equal_share=0.0)


@pytest.mark.parametrize("kw", [dict(embed_dim=8, num_heads=2, kdim=6, vdim=5, bias=False,
                                     add_bias_kv=True),
                                dict(embed_dim=8, num_heads=2)])
def test_quantized_mha_dequantize(kw):
    """dequantize() rebuilds a float module of class _FLOAT_MODULE (the quantizable one, as
    PyTorch); with equal q/k/v dims PyTorch's in-place writes into leaf parameters raise,
    and so do ember's."""
    torch.manual_seed(1)
    t, e = _mha_net(torch, kw, {}), _mha_net(ember, kw, {})
    _copy_weights(t, e)
    t.qconfig = torch.ao.quantization.get_default_qconfig("x86")
    e.qconfig = ember.ao.quantization.get_default_qconfig("x86")
    tp, ep = torch.ao.quantization.prepare(t), ember.ao.quantization.prepare(e)
    x = _mha_inputs(kw, 0)
    tp(*map(torch.tensor, x)), ep(*map(ember.tensor, x))
    tq, eq = torch.ao.quantization.convert(tp), ember.ao.quantization.convert(ep)
    _reload(tq, eq)
    if kw.get("kdim") is None:
        with pytest.raises(RuntimeError) as t_err:
            tq.mha.dequantize()
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            eq.mha.dequantize()
        assert "leaf Variable that requires grad" in str(t_err.value)
        return
    tf, ef = tq.mha.dequantize(), eq.mha.dequantize()
    assert type(ef) is ember.ao.nn.quantizable.MultiheadAttention
    assert list(ef.state_dict()) == list(tf.state_dict())
    for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v",
                 "out_proj.weight"):
        np.testing.assert_array_equal(ef.state_dict()[name].numpy(),
                                      tf.state_dict()[name].detach().numpy())


# ---------------------------------------------------------------- config, names, errors

def test_default_custom_config_and_no_observer_set():
    def names(mapping):
        return sorted((k.__name__, v.__qualname__, v.__module__.split(".")[3])
                      for k, v in mapping.items())
    tc = torch.ao.quantization.get_default_custom_config_dict()
    ec = ember.ao.quantization.get_default_custom_config_dict()
    assert list(ec) == list(tc)
    for key in tc:
        assert names(ec[key]) == names(tc[key])
    qa = ember.ao.nn.quantizable
    assert ember.ao.quantization.no_observer_set() == {qa.LSTM, qa.MultiheadAttention}
    assert ember.ao.nn.quantized.LSTM._FLOAT_MODULE is qa.LSTM
    assert ember.ao.nn.quantized.MultiheadAttention._FLOAT_MODULE is qa.MultiheadAttention
    assert ember.nn.quantizable.LSTM is qa.LSTM   # the torch.nn.quantizable alias


def test_reprs_of_fresh_modules():
    for path, args in (("ao.nn.quantizable.LSTM", (3, 4, 2)),
                       ("ao.nn.quantizable.LSTMCell", (3, 4)),
                       ("ao.nn.quantizable.MultiheadAttention", (4, 2)),
                       ("ao.nn.quantized.MultiheadAttention", (4, 2)),
                       ("ao.nn.quantized.LSTM", (3, 2))):
        t_cls, e_cls = torch, ember
        for part in path.split("."):
            t_cls, e_cls = getattr(t_cls, part), getattr(e_cls, part)
        t_mod, e_mod = t_cls(*args), e_cls(*args)
        assert _text(e_mod) == _text(t_mod)
        assert list(e_mod.state_dict()) == list(t_mod.state_dict())
        assert e_mod.training == t_mod.training


def test_errors_as_pytorch():
    qa, q = ember.ao.nn.quantizable, ember.ao.nn.quantized
    with pytest.raises(NotImplementedError, match="non-observed LSTM"):
        q.LSTM.from_float(ember.nn.LSTM(3, 2))
    with pytest.raises(NotImplementedError, match="non-quantizable LSTM"):
        qa.LSTM.from_observed(qa.LSTM(3, 2))
    with pytest.raises(NotImplementedError, match="non-observed MHA"):
        q.MultiheadAttention.from_float(ember.nn.MultiheadAttention(4, 2))
    with pytest.raises(NotImplementedError, match="prepare an MHA"):
        qa.MultiheadAttention.from_observed(qa.MultiheadAttention(4, 2))
    with pytest.raises(AssertionError, match="must have 'qconfig'"):
        qa.MultiheadAttention.from_float(ember.nn.MultiheadAttention(4, 2))
    with pytest.raises(AssertionError, match="qconfig"):
        qa.LSTM.from_float(ember.nn.LSTM(3, 2))
    with pytest.raises(AssertionError, match="Expected module type"):
        qa.LSTM.from_float(ember.nn.GRU(3, 2))
    with pytest.raises(AssertionError, match="Expected module type"):
        q.LSTM.from_observed(ember.nn.LSTM(3, 2))
    with pytest.raises(ValueError, match="dropout should be a number"):
        qa.LSTM(3, 2, dropout=1.5)
    with pytest.warns(UserWarning, match="dropout option for quantizable LSTM is ignored"):
        qa.LSTM(3, 2, num_layers=2, dropout=0.5)
    mha = qa.MultiheadAttention(4, 2)
    x = ember.randn(3, 1, 4)
    with pytest.raises(AssertionError, match="causal mask not supported"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="2D attn_mask is not correct"):
        mha(x, x, x, attn_mask=ember.zeros(2, 2))
    with pytest.raises(AssertionError, match="bi and bh must both be None"):
        qa.LSTMCell.from_params(ember.randn(8, 3), ember.randn(8, 2), ember.randn(8))


def test_fx_custom_module_lstm_needs_its_initial_state():
    """FX graph mode's custom-module LSTM flow (built: tests/test_quant_gaps_qk21.py): as in
    PyTorch, prepare and calibration take an LSTM called without (h0, c0), and convert_fx
    refuses it with PyTorch's AssertionError."""
    from ember.ao.quantization.fx.custom_config import ConvertCustomConfig, PrepareCustomConfig
    from ember.ao.quantization.quantize_fx import convert_fx, prepare_fx

    class Net(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = ember.nn.LSTM(4, 3)

        def forward(self, x):
            return self.lstm(x)[0]

    config = PrepareCustomConfig().set_float_to_observed_mapping(
        ember.nn.LSTM, ember.ao.nn.quantizable.LSTM)
    x = ember.randn(5, 2, 4)
    prepared = prepare_fx(Net().eval(), ember.ao.quantization.get_default_qconfig_mapping("x86"),
                          (x,), prepare_custom_config=config)
    prepared(x)
    convert_config = ConvertCustomConfig().set_observed_to_quantized_mapping(
        ember.ao.nn.quantizable.LSTM, ember.ao.nn.quantized.LSTM)
    with pytest.raises(AssertionError, match=r"Expected LSTM custom module inputs to be "
                                             r"\(input, \(hidden0, hidden1\)\)"):
        convert_fx(prepared, convert_custom_config=convert_config)
