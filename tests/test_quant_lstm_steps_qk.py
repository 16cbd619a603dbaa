"""The static quantized LSTM's time loop on integer arrays
(ember/ao/nn/quantized/modules/_lstm_steps.py) against PyTorch and against the module-by-
module path it replaces: with PyTorch's converted state_dict loaded, the outputs and final
states are PyTorch's integers, scale and zero point bit for bit, for shapes whose gate
chunks end in a partial vector (a scalar tail: N * H not a multiple of 64) and shapes that
do not, several layers, both directions, batch_first, given initial states, saturating
inputs. A hook on the cell sends it down the module path, which must give the same
integers."""
import io

import numpy as np
import pytest

import ember
from ember.ao.nn.quantized.modules import _lstm_steps

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")


def _net(m, kw):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = m.ao.quantization.QuantStub()
            self.lstm = m.nn.LSTM(**kw)

        def forward(self, x, hidden=None):
            return self.lstm(self.quant(x), hidden)

    return Net().eval()


def _input(kw, T, N, seed, gain=1.0):
    shape = (N, T, kw["input_size"]) if kw.get("batch_first") else (T, N, kw["input_size"])
    return (np.random.default_rng(seed).standard_normal(shape) * gain).astype(np.float32)


def _converted(kw, T, N, seed=0):
    """PyTorch's converted model and ember's, holding PyTorch's quantized state."""
    torch.manual_seed(seed)
    models = []
    for m in (torch, ember):
        net = _net(m, kw)
        if m is ember:
            net.load_state_dict({k: ember.tensor(v.detach().numpy())
                                 for k, v in models[0][1].items()})
        net.qconfig = m.ao.quantization.get_default_qconfig("x86")
        prepared = m.ao.quantization.prepare(net)
        for s in range(2):
            prepared(m.tensor(_input(kw, T, N, seed + 10 + s)))
        converted = m.ao.quantization.convert(prepared)
        models.append((converted, net.state_dict() if m is torch else None))
    (tq, _), (eq, _) = models
    buf = io.BytesIO()
    torch.save(tq.state_dict(), buf)
    buf.seek(0)
    eq.load_state_dict(ember.load(buf))
    return tq, eq


def _flat(out):
    y, (h, c) = out
    return [y, h, c]


def _assert_same(e, t):
    assert e.is_quantized and t.is_quantized and str(e.dtype)[-5:] == str(t.dtype)[-5:]
    assert (e.q_scale(), e.q_zero_point()) == (t.q_scale(), t.q_zero_point())
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())


@pytest.fixture
def runs(monkeypatch):
    """How many layer calls the integer loop served."""
    served = []
    original = _lstm_steps.run

    def run(cell, x, hidden):
        result = original(cell, x, hidden)
        served.append(result is not None)
        return result
    monkeypatch.setattr(_lstm_steps, "run", run)
    return served


CASES = [
    (dict(input_size=32, hidden_size=64), 6, 4),             # 4 * 64: no tail
    (dict(input_size=4, hidden_size=5), 5, 3),               # 15 elements: all tail
    (dict(input_size=6, hidden_size=48, num_layers=2), 4, 3),  # 144: a 16-element tail
    (dict(input_size=5, hidden_size=3, bidirectional=True, batch_first=True), 4, 2),
    (dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, bias=False), 3, 2),
]


@pytest.mark.parametrize("kw,T,N", CASES)
@pytest.mark.parametrize("gain", [1.0, 8.0])
def test_integer_loop_is_pytorch_bit_for_bit(kw, T, N, gain, runs):
    tq, eq = _converted(kw, T, N)
    x = _input(kw, T, N, seed=3, gain=gain)   # gain 8: far past the calibrated range
    for a, b in zip(_flat(eq(ember.tensor(x))), _flat(tq(torch.tensor(x)))):
        _assert_same(a, b)
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    assert runs == [True] * layers


def test_given_initial_state(runs):
    kw = dict(input_size=4, hidden_size=16, num_layers=2)
    tq, eq = _converted(kw, 4, 4, seed=2)
    h0 = np.random.default_rng(5).standard_normal((2, 4, 16)).astype(np.float32) * 0.5
    c0 = np.random.default_rng(6).standard_normal((2, 4, 16)).astype(np.float32)
    states = [tuple(m.quantize_per_tensor(m.tensor(a), 0.01, 128, m.quint8) for a in (h0, c0))
              for m in (torch, ember)]
    x = _input(kw, 5, 4, seed=9)
    for a, b in zip(_flat(eq(ember.tensor(x), states[1])),
                    _flat(tq(torch.tensor(x), states[0]))):
        _assert_same(a, b)
    assert runs == [True, True]


@pytest.mark.parametrize("kw,T,N", CASES[:3])
def test_module_path_gives_the_same_integers(kw, T, N, runs):
    _, eq = _converted(kw, T, N)
    x = ember.tensor(_input(kw, T, N, seed=4, gain=2.0))
    fast = _flat(eq(x))
    calls = []
    handle = eq.lstm.layers[0].layer_fw.cell.register_forward_hook(
        lambda *args: calls.append(1))
    slow = _flat(eq(x))
    handle.remove()
    layers = kw.get("num_layers", 1)
    assert len(calls) == T and runs == [True] * layers + [False] + [True] * (layers - 1)
    for a, b in zip(fast, slow):
        assert (a.q_scale(), a.q_zero_point()) == (b.q_scale(), b.q_zero_point())
        np.testing.assert_array_equal(a.int_repr().numpy(), b.int_repr().numpy())


def test_global_hook_runs_the_modules(runs):
    kw = dict(input_size=4, hidden_size=5)
    _, eq = _converted(kw, 3, 2)
    seen = []
    handle = ember.nn.modules.module.register_module_forward_hook(
        lambda mod, args, out: seen.append(type(mod).__name__))
    try:
        eq(ember.tensor(_input(kw, 3, 2, seed=1)))
    finally:
        handle.remove()
    assert runs == [False] and seen.count("LSTMCell") == 3


def test_qint8_state_takes_the_module_path_and_its_error():
    kw = dict(input_size=4, hidden_size=5)
    tq, eq = _converted(kw, 3, 2)
    x = _input(kw, 3, 2, seed=1)
    states = [tuple(m.quantize_per_tensor(m.zeros(1, 2, 5), 0.01, 0, m.qint8)
                    for _ in range(2)) for m in (torch, ember)]
    with pytest.raises(RuntimeError) as t_err:
        tq(torch.tensor(x), states[0])
    with pytest.raises(type(t_err.value)):
        eq(ember.tensor(x), states[1])


def test_tail_elements_take_the_scalar_rounding(runs):
    """Gate parameters under which sigmoid's vector and scalar loops give different integers
    for one input integer (128): with N * H = 15 every chunk element is in the tail."""
    from ember._ops import quantized_ops as QO
    scale, zero_point = 0.06633058190345764, 142
    every = np.arange(256, dtype=np.uint8)
    sig = (scale, zero_point, QO.sigmoid_float32, 1 / 256, 0, ember.quint8)
    differ = QO.float_op_vector(every, *sig) != QO.float_op_scalar(every, *sig)
    assert list(np.nonzero(differ)[0]) == [128]
    kw = dict(input_size=4, hidden_size=5)
    tq, eq = _converted(kw, 3, 3)
    for model in (tq, eq):
        gates = model.lstm.layers[0].layer_fw.cell.gates
        gates.scale, gates.zero_point = scale, zero_point
    for seed in range(4):   # (the vector table's 128 fails this: checked by mutation)
        x = _input(kw, 60, 3, seed=seed, gain=0.5)
        for a, b in zip(_flat(eq(ember.tensor(x))), _flat(tq(torch.tensor(x)))):
            _assert_same(a, b)
    assert runs == [True] * 4
