"""Dynamically quantized LSTM / GRU (quantize_dynamic) against PyTorch, and why their outputs
differ from PyTorch's in the last float bit.

The quantized parts (per-call activation qparams, the integer products, fbgemm's fused
requantization) are PyTorch's bit for bit: with PyTorch's own sigmoid and tanh swapped in
(the only transcendental functions of the recurrence), every output, h_n and c_n equals
PyTorch's exactly. With ember's sigmoid/tanh (NumPy's float32 exp/tanh, not PyTorch's
SLEEF kernels) they differ by a few float32 ulps; that is the whole difference."""
import io

import numpy as np
import pytest

import ember
from ember.ao.nn.quantized.dynamic.modules import rnn as dynamic_rnn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")


def _pair(kind, kw, dtype="qint8", seed=0):
    torch.manual_seed(seed)
    t = torch.nn.Sequential(getattr(torch.nn, kind)(**kw)).eval()
    e = ember.nn.Sequential(getattr(ember.nn, kind)(**kw)).eval()
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    tq = torch.ao.quantization.quantize_dynamic(t, {getattr(torch.nn, kind)},
                                                getattr(torch, dtype))
    eq = ember.ao.quantization.quantize_dynamic(e, {getattr(ember.nn, kind)},
                                                getattr(ember, dtype))
    return tq, eq


def _input(kw, T, N, seed, unbatched=False):
    rng = np.random.default_rng(seed)
    if unbatched:
        return rng.standard_normal((T, kw["input_size"])).astype(np.float32)
    shape = (N, T, kw["input_size"]) if kw.get("batch_first") else (T, N, kw["input_size"])
    return rng.standard_normal(shape).astype(np.float32)


def _flat(kind, out):
    y, state = out
    return [y, *state] if kind == "LSTM" else [y, state]


@pytest.fixture
def torch_pointwise(monkeypatch):
    """PyTorch's sigmoid and tanh, on the chunk views its cell applies them to (its kernels
    take the scalar std::exp path for the elements after a row's last full vectors, so the
    layout matters)."""
    def sigmoid_chunks(a, H, which):
        t = torch.from_numpy(a)
        return [torch.sigmoid(t[:, k * H:(k + 1) * H]).numpy() for k in which]
    monkeypatch.setattr(dynamic_rnn, "_sigmoid_chunks", sigmoid_chunks)
    monkeypatch.setattr(dynamic_rnn, "_tanh", lambda a: torch.tanh(torch.from_numpy(a)).numpy())


CASES = [dict(input_size=6, hidden_size=5),
         dict(input_size=4, hidden_size=16, num_layers=2, bidirectional=True),
         dict(input_size=3, hidden_size=8, batch_first=True),
         dict(input_size=32, hidden_size=64)]


def _hidden(kind, kw, N, seed):
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((layers, N, kw["hidden_size"])).astype(np.float32)
              for _ in range(2 if kind == "LSTM" else 1)]
    return [tuple(m.tensor(a) for a in arrays) if kind == "LSTM" else m.tensor(arrays[0])
            for m in (torch, ember)]


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("kw", CASES)
@pytest.mark.parametrize("given_state", [False, True])
def test_bit_for_bit_with_pytorch_pointwise(kind, kw, given_state, torch_pointwise):
    tq, eq = _pair(kind, kw)
    x = _input(kw, 7, 3, seed=1)
    th, eh = _hidden(kind, kw, 3, seed=2) if given_state else (None, None)
    outs_t = _flat(kind, tq[0](torch.tensor(x), th))
    outs_e = _flat(kind, eq[0](ember.tensor(x), eh))
    for a, b in zip(outs_e, outs_t):
        assert a.dtype is ember.float32 and tuple(a.shape) == tuple(b.shape)
        assert not a.requires_grad and not b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.detach().numpy())


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("kw", CASES[:2])
def test_with_embers_pointwise_a_few_ulps(kind, kw):
    tq, eq = _pair(kind, kw, seed=3)
    x = _input(kw, 9, 2, seed=4)
    for a, b in zip(_flat(kind, eq(ember.tensor(x))), _flat(kind, tq(torch.tensor(x)))):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=2e-6, atol=2e-7)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_torch_saved_state(kind, torch_pointwise):
    kw = dict(input_size=5, hidden_size=7, num_layers=2, batch_first=True)
    tq, _ = _pair(kind, kw, seed=5)
    _, eq = _pair(kind, kw, seed=6)   # other weights until torch's state is loaded
    buf = io.BytesIO()
    torch.save(tq.state_dict(), buf)
    buf.seek(0)
    eq.load_state_dict(ember.load(buf, weights_only=False))
    x = _input(kw, 6, 2, seed=7)
    for a, b in zip(_flat(kind, eq(ember.tensor(x))), _flat(kind, tq(torch.tensor(x)))):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.detach().numpy())


def _error(fn):
    try:
        fn()
    except Exception as e:   # noqa: BLE001 (the type and message are compared)
        return type(e).__name__, str(e).replace("torch.Size", "").replace("ember.Size", "")
    return None


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_input_and_state_errors_as_pytorch(kind):
    kw = dict(input_size=3, hidden_size=4, num_layers=2)
    tq, eq = _pair(kind, kw, seed=11)
    good = [np.zeros((2, 2, 4), np.float32)] * (2 if kind == "LSTM" else 1)
    bad = [np.zeros((2, 3, 4), np.float32)] * (2 if kind == "LSTM" else 1)
    cases = [(np.zeros((5, 3), np.float32), None),        # unbatched: refused
             (np.zeros((5, 2, 4), np.float32), None),     # wrong input_size
             (np.zeros((5, 2, 3), np.float32), bad),      # wrong batch in the state
             (np.zeros((5, 2, 3), np.float32), good[:1] + bad[1:])][:4 if kind == "LSTM" else 3]
    for x, states in cases:
        results = []
        for m, q in ((torch, tq[0]), (ember, eq[0])):
            hx = None if states is None else [m.tensor(a) for a in states]
            hx = hx if hx is None else (tuple(hx) if kind == "LSTM" else hx[0])
            results.append(_error(lambda: q(m.tensor(x), hx)))
        assert results[0] is not None and results[0] == results[1]


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_float16_weights(kind):
    kw = dict(input_size=4, hidden_size=6)
    tq, eq = _pair(kind, kw, dtype="float16", seed=8)
    x = _input(kw, 5, 2, seed=9)
    for a, b in zip(_flat(kind, eq(ember.tensor(x))), _flat(kind, tq(torch.tensor(x)))):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_dynamic_linear_unchanged_by_the_weight_parts():
    """linear_dynamic through dynamic_weight_parts (float sums) gives
    torch.ops.quantized.linear_dynamic's floats bit for bit, float32 and float64 sums."""
    rng = np.random.default_rng(10)
    for in_features in (8, 300):   # 300 * 255 * 128 > 2**24: float64 sums
        w = rng.standard_normal((5, in_features)).astype(np.float32)
        x = (rng.standard_normal((3, in_features)) * 3).astype(np.float32)
        b = rng.standard_normal(5).astype(np.float32)
        tw = torch.quantize_per_tensor(torch.tensor(w), 0.02, 3, torch.qint8)
        ew = ember.quantize_per_tensor(ember.tensor(w), 0.02, 3, ember.qint8)
        packed = torch.ops.quantized.linear_prepack(tw, torch.tensor(b))
        expected = torch.ops.quantized.linear_dynamic(torch.tensor(x), packed, True)
        got = dynamic_rnn.linear_dynamic(ember.tensor(x), ew, ember.tensor(b), True)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_bias_false_refused_as_pytorch(kind):
    for m in (torch, ember):
        model = m.nn.Sequential(getattr(m.nn, kind)(3, 4, bias=False))
        with pytest.raises(AssertionError, match="mod.bias must be True"):
            m.ao.quantization.quantize_dynamic(model, {getattr(m.nn, kind)}, m.qint8)


def test_array_activations_are_embers():
    """The array loop's sigmoid and tanh give ember.sigmoid's and ember.tanh's values (so
    the module path and the array loop agree), on contiguous arrays and on chunk views."""
    x = (np.random.default_rng(12).standard_normal((40, 24)) * 6).astype(np.float32)
    x[0, :4] = [-100.0, 100.0, 0.0, -0.0]
    for a in (x, x[:, 6:18]):
        (s,) = dynamic_rnn._sigmoid_chunks(a, a.shape[1], (0,))
        np.testing.assert_array_equal(s, ember.sigmoid(ember.tensor(a)).numpy())
        np.testing.assert_array_equal(dynamic_rnn._tanh(a), ember.tanh(ember.tensor(a)).numpy())
