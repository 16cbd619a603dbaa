"""The fused recurrent layers (ember/_ops/rnn.py: one node per layer-direction for LSTM,
GRU and RNN tanh/relu) against torch: outputs, final states and every gradient (input,
h0, c0, each weight and bias), for each option the fused path covers (layers,
bidirectional, batch_first, bias, unbatched input, packed sequences, initial state given
or not), in float64 tightly and float32 within the suite's RNN tolerances; and both
sides of the condition choosing the fused path (dtypes outside float32/64 take the
per-step path), the fused path checked against the per-step path itself.
"""
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember._ops.rnn import gru_layer, lstm_layer, rnn_layer
from ember.autograd import gradcheck, gradgradcheck
from ember.nn.modules import rnn as rnn_module

torch = pytest.importorskip("torch")

rng = np.random.default_rng(2024)

MODES = [("LSTM", {}), ("LSTM", {"proj_size": 3}), ("GRU", {}), ("RNN", {}),
         ("RNN", {"nonlinearity": "relu"})]


def _states(mode, kw, L, batch):
    """Initial states (h0, and c0 for LSTM) of layers*directions L and batch shape `batch`:
    h0 has proj_size features when the LSTM projects."""
    sizes = [kw.get("proj_size") or 5] + ([5] if mode == "LSTM" else [])
    return [rng.standard_normal((L,) + batch + (n,)) for n in sizes]
OPTIONS = [dict(), dict(num_layers=2, bidirectional=True), dict(batch_first=True),
           dict(bias=False, num_layers=2), dict(bidirectional=True, batch_first=True)]


def _pair(mode, kw, dtype):
    tm = getattr(torch.nn, mode)(3, 5, **kw).to(getattr(torch, dtype))
    em = getattr(ember.nn, mode)(3, 5, **kw).to(getattr(ember, dtype))
    em.load_state_dict(OrderedDict((k, ember.from_numpy(v.detach().numpy().copy()))
                                   for k, v in tm.state_dict().items()))
    return tm, em


def _run(lib, m, x, hx):
    """Forward, a loss reading the output and every final state, backward; returns the
    outputs and the gradients of x, the initial states and every parameter."""
    xi = lib.from_numpy(x.copy()).requires_grad_()
    hs = None if hx is None else [lib.from_numpy(h.copy()).requires_grad_() for h in hx]
    state = None if hs is None else (tuple(hs) if len(hs) == 2 else hs[0])
    out, hn = m(xi, state)
    finals = list(hn) if isinstance(hn, tuple) else [hn]
    loss = (out * out).sum() + sum((f * (n + 1.5)).sum() for n, f in enumerate(finals))
    loss.backward()
    grads = [xi.grad] + ([h.grad for h in hs] if hs else []) + [p.grad for p in m.parameters()]
    return [t.detach().numpy() for t in [out] + finals + grads]


def _compare(mode, kw, dtype, shape, with_state):
    tm, em = _pair(mode, kw, dtype)
    x = rng.standard_normal(shape).astype(dtype)
    hx = None
    if with_state:
        L = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        batch = () if len(shape) == 2 else (shape[0] if kw.get("batch_first") else shape[1],)
        hx = [h.astype(dtype) for h in _states(mode, kw, L, batch)]
    expected, got = _run(torch, tm, x, hx), _run(ember, em, x, hx)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    assert len(expected) == len(got)
    for a, b in zip(expected, got):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(b, a, **tol)


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("kw", OPTIONS)
@pytest.mark.parametrize("mode,mkw", MODES)
def test_fused_layers_match_torch_float64(mode, mkw, kw, with_state):
    _compare(mode, {**mkw, **kw}, "float64", (4, 2, 3), with_state)


@pytest.mark.parametrize("mode,mkw", MODES)
@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True)])
def test_fused_layers_match_torch_float32(mode, mkw, kw):
    _compare(mode, {**mkw, **kw}, "float32", (6, 3, 3), True)


@pytest.mark.parametrize("mode,mkw", MODES)
def test_unbatched_input(mode, mkw):
    _compare(mode, mkw, "float64", (4, 3), True)


@pytest.mark.parametrize("mode,mkw", MODES)
def test_large_preactivations(mode, mkw):
    """Saturated gates (sigmoid computed as 0.5 tanh(x/2) + 0.5 on the array path). The
    projection is left as it is: scaled too, it makes the float32 problem ill-conditioned
    (torch's own float32 result then lies 3e-4 from its float64 one)."""
    tm, em = _pair(mode, mkw, "float32")
    with torch.no_grad():
        for name, p in tm.named_parameters():
            if not name.startswith("weight_hr"):
                p.mul_(40)
    em.load_state_dict(OrderedDict((k, ember.from_numpy(v.detach().numpy().copy()))
                                   for k, v in tm.state_dict().items()))
    x = (rng.standard_normal((5, 2, 3)) * 3).astype(np.float32)
    for a, b in zip(_run(torch, tm, x, None), _run(ember, em, x, None)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)


def test_fused_node_names_match_torch():
    """LSTM: torch's oneDNN layer node; LSTM with projections, GRU, RNN: torch stacks
    per-step results."""
    x = np.zeros((3, 2, 3), np.float32)
    for mode, kw in MODES:
        tm, em = _pair(mode, kw, "float32")
        names = [m(lib.from_numpy(x))[0].grad_fn.name() for lib, m in ((torch, tm), (ember, em))]
        assert names[0] == names[1], (mode, names)


@pytest.mark.parametrize("mode,kw", [("GRU", {}), ("RNN", {}), ("LSTM", {"proj_size": 2})])
def test_output_written_in_place_keeps_gradients(mode, kw):
    """torch's GRU/RNN (and projected LSTM) output is a stack, which saves nothing: an
    in-place write into it is allowed, and backward sees the write."""
    tm, em = _pair(mode, kw, "float32")
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    for lib, m in ((torch, tm), (ember, em)):
        out, h = m(lib.from_numpy(x.copy()))
        h = h[0] if isinstance(h, tuple) else h
        out.mul_(2)
        h.add_(1)
        ((out * out).sum() + (h * h).sum()).backward()
    for a, b in zip(tm.parameters(), em.parameters()):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize("mode,kw", MODES)
def test_gradients_accumulate_over_two_backwards(mode, kw):
    """Both biases get the same gradient sum: two backwards accumulate into each alone."""
    tm, em = _pair(mode, kw, "float64")
    x = rng.standard_normal((4, 2, 3))
    for _ in range(2):
        for lib, m in ((torch, tm), (ember, em)):
            out = m(lib.from_numpy(x.copy()))[0]
            (out * out).sum().backward()
    for a, b in zip(tm.parameters(), em.parameters()):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def _t(*shape):
    return ember.tensor(rng.standard_normal(shape)).requires_grad_()


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cell", ["GRU", "RNN_TANH", "RNN_RELU"])
def test_gradcheck_and_gradgradcheck(cell, bias, reverse):
    T, B, I, H = 3, 2, 3, 2
    G = 3 * H if cell == "GRU" else H
    x, h0, w_ih, w_hh = _t(T, B, I), _t(B, H), _t(G, I), _t(G, H)
    if cell == "RNN_RELU":   # keep pre-activations away from relu's kink
        with ember.no_grad():
            x.abs_()
            w_ih.abs_()
            w_hh.abs_()
            h0.abs_()
    b = (_t(G), _t(G)) if bias else ()

    def f(x, h0, w_ih, w_hh, *b):
        b_ih, b_hh = b if b else (None, None)
        if cell == "GRU":
            return gru_layer(x, h0, w_ih, w_hh, b_ih, b_hh, reverse)
        return rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, cell == "RNN_RELU", reverse)

    inputs = (x, h0, w_ih, w_hh) + b
    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


def test_lstm_layer_second_derivative_against_torch():
    """Double backward through the fused LSTM (recomputed on Tensors) against torch's."""
    tm, em = _pair("LSTM", dict(num_layers=2), "float64")
    x = rng.standard_normal((4, 2, 3))
    got = []
    for lib, m in ((torch, tm), (ember, em)):
        xi = lib.from_numpy(x.copy()).requires_grad_()
        out, (h, c) = m(xi)
        gx, = lib.autograd.grad((out ** 2).sum() + (h * c).sum(), xi, create_graph=True)
        (gx ** 2).sum().backward()
        got.append([xi.grad.detach().numpy()] + [p.grad.detach().numpy() for p in m.parameters()])
    for a, b in zip(*got):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-11)


def _per_step_and_fused(monkeypatch, make, run):
    """run(make()) on the fused path, then with the fused dtypes emptied (the per-step path)."""
    ember.manual_seed(5)
    fused = run(make())
    monkeypatch.setattr(rnn_module, "_FUSED_DTYPES", ())
    ember.manual_seed(5)
    per_step = run(make())
    return fused, per_step


@pytest.mark.parametrize("mode,mkw", MODES)
def test_dropout_between_layers_fused_equals_per_step(mode, mkw, monkeypatch):
    """Dropout between layers (drawn outside the fused node) with the same seed gives the
    same result on the fused and the per-step path."""
    x = ember.tensor(rng.standard_normal((5, 2, 3)))

    def make():
        ember.manual_seed(1)
        return getattr(ember.nn, mode)(3, 4, num_layers=3, dropout=0.5, **mkw).double()

    def run(m):
        xi = x.clone().requires_grad_()
        out = m(xi)[0]
        (out * out).sum().backward()
        return [out, xi.grad] + [p.grad for p in m.parameters()]

    fused, per_step = _per_step_and_fused(monkeypatch, make, run)
    for a, b in zip(fused, per_step):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def _run_packed(lib, m, x, lengths, hx):
    xi = lib.from_numpy(x.copy()).requires_grad_()
    hs = None if hx is None else [lib.from_numpy(h.copy()).requires_grad_() for h in hx]
    state = None if hs is None else (tuple(hs) if len(hs) == 2 else hs[0])
    packed = lib.nn.utils.rnn.pack_padded_sequence(xi, lengths, enforce_sorted=False)
    out, hn = m(packed, state)
    padded, _ = lib.nn.utils.rnn.pad_packed_sequence(out)
    finals = list(hn) if isinstance(hn, tuple) else [hn]
    ((padded ** 2).sum() + sum((f * (n + 1.5)).sum() for n, f in enumerate(finals))).backward()
    grads = [xi.grad] + ([h.grad for h in hs] if hs else []) + [p.grad for p in m.parameters()]
    return [t.detach().numpy() for t in [padded] + finals + grads]


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("kw", [dict(bidirectional=True), dict(num_layers=2)])
@pytest.mark.parametrize("mode,mkw", MODES)
def test_packed_sequences_match_torch(mode, mkw, kw, with_state):
    """Packed input runs the fused layers too (each step on its batch size's rows)."""
    kw = {**mkw, **kw}
    tm, em = _pair(mode, kw, "float64")
    x = rng.standard_normal((5, 4, 3))
    lengths = [5, 2, 4, 2]
    hx = None
    if with_state:
        L = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        hx = _states(mode, kw, L, (4,))
    for a, b in zip(_run_packed(torch, tm, x, lengths, hx), _run_packed(ember, em, x, lengths, hx)):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode,mkw", MODES)
def test_packed_fused_equals_per_step(mode, mkw, monkeypatch):
    x = rng.standard_normal((4, 3, 3))

    def make():
        ember.manual_seed(2)
        return getattr(ember.nn, mode)(3, 4, bidirectional=True, **mkw).double()

    def run(m):
        return _run_packed(ember, m, x, [4, 1, 3], None)

    for a, b in zip(*_per_step_and_fused(monkeypatch, make, run)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_projected_lstm_gradcheck_and_gradgradcheck(reverse, packed):
    batch_sizes, I, H, P = ([3, 3, 1, 1] if packed else None), 2, 3, 2
    x = _t(8, I) if packed else _t(3, 2, I)
    B = 3 if packed else 2
    inputs = (x, _t(B, P), _t(B, H), _t(4 * H, I), _t(4 * H, P), _t(4 * H), _t(4 * H), _t(P, H))

    def f(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        return lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes, w_hr)

    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN_TANH"])
def test_packed_gradcheck_and_gradgradcheck(cell, reverse):
    """The fused layers on packed rows with batch sizes 3, 3, 1, 1 (sequences ending at
    different steps, and in reverse starting at different steps)."""
    batch_sizes, I, H = [3, 3, 1, 1], 2, 2
    G = {"LSTM": 4, "GRU": 3}.get(cell, 1) * H
    x, h0, c0, w_ih, w_hh = _t(sum(batch_sizes), I), _t(3, H), _t(3, H), _t(G, I), _t(G, H)
    b_ih, b_hh = _t(G), _t(G)

    def f(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        if cell == "LSTM":
            return lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes)
        if cell == "GRU":
            return gru_layer(x, h0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes) + (c0 * 1,)
        return rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, False, reverse, batch_sizes) + (c0 * 1,)

    inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


@pytest.mark.parametrize("mode,mkw", MODES)
def test_half_precision_takes_the_per_step_path(mode, mkw, monkeypatch):
    """bfloat16 is outside the fused dtypes; float32's fused result equals the per-step
    path's (the other side of the dtype condition)."""
    em = getattr(ember.nn, mode)(3, 4, **mkw)
    x = ember.tensor(rng.standard_normal((4, 2, 3)).astype(np.float32))
    out16 = em.to(ember.bfloat16)(x.to(ember.bfloat16))[0]
    assert out16.dtype == ember.bfloat16
    em.float()

    def run(m):
        m.zero_grad()
        out = m(x)[0]
        out.sum().backward()
        return [out] + [p.grad for p in m.parameters()]

    fused, per_step = _per_step_and_fused(monkeypatch, lambda: em, run)
    np.testing.assert_allclose(out16.float().detach().numpy(), fused[0].detach().numpy(), atol=0.05)
    for a, b in zip(fused, per_step):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
