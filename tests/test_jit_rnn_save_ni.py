"""ember.jit.save of recurrent layers (LSTM, GRU, RNN) read back by real torch.jit.load:
the same inputs through the ember model, the loaded TorchScript module and the archive
loaded back by ember.jit.load; batched and unbatched inputs, given and zero initial
states, several layers, both directions, batch_first, no bias, relu RNNs, and a layer
saved on its own."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402

nn = ember.nn


def flat(t):
    if isinstance(t, (tuple, list)):
        return [y for x in t for y in flat(x)]
    return [t]


def check(model, *inputs):
    model.eval()
    buf = io.BytesIO()
    ember.jit.save(ember.jit.script(model), buf)
    buf.seek(0)
    theirs = torch.jit.load(buf)(*[torch.from_numpy(np.array(x.numpy())) for x in inputs])
    buf.seek(0)
    back = ember.jit.load(buf)(*inputs)
    ours = model(*inputs)
    assert len(flat(ours)) == len(flat(theirs)) == len(flat(back))
    for a, b, c in zip(flat(ours), flat(theirs), flat(back)):
        assert tuple(a.shape) == tuple(b.shape) == tuple(c.shape)
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(c.detach().numpy(), a.detach().numpy(), rtol=1e-6, atol=1e-7)


class Classifier(nn.Module):
    """The text classifier of the tutorials: embedding, LSTM, last step, linear."""

    def __init__(self, **kw):
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.lstm = nn.LSTM(8, 6, batch_first=True, **kw)
        d = 2 if kw.get("bidirectional") else 1
        self.fc = nn.Linear(6 * d, 3)

    def forward(self, x):
        out, (h, c) = self.lstm(self.emb(x))
        return self.fc(out[:, -1]), h, c


@pytest.mark.parametrize("kw", [{}, {"num_layers": 2}, {"bidirectional": True},
                                {"num_layers": 2, "bidirectional": True, "bias": False}])
def test_lstm_classifier(kw):
    ember.manual_seed(0)
    check(Classifier(**kw), ember.randint(0, 10, (3, 5)))


class Stacked(nn.Module):
    def __init__(self, batch_first):
        super().__init__()
        self.gru = nn.GRU(4, 5, num_layers=2, batch_first=batch_first)
        self.rnn = nn.RNN(5, 3, nonlinearity="relu", bias=False, batch_first=batch_first)
        self.tanh_rnn = nn.RNN(3, 2, bidirectional=True, batch_first=batch_first)

    def forward(self, x, h):
        o, hn = self.gru(x, h)
        o2, h2 = self.rnn(o)
        return self.tanh_rnn(o2), hn, h2


@pytest.mark.parametrize("batch_first", [False, True])
def test_gru_and_rnn_with_given_state(batch_first):
    ember.manual_seed(1)
    x = ember.randn(2, 4, 4) if batch_first else ember.randn(4, 2, 4)
    check(Stacked(batch_first), x, ember.randn(2, 2, 5))


def test_unbatched_inputs():
    ember.manual_seed(2)
    check(Stacked(False), ember.randn(4, 4), ember.randn(2, 5))

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4)

        def forward(self, x, h, c):
            return self.lstm(x, (h, c))

    check(WithState(), ember.randn(5, 3), ember.randn(1, 4), ember.randn(1, 4))


def test_layer_saved_on_its_own():
    ember.manual_seed(3)
    check(nn.LSTM(3, 4, num_layers=2), ember.randn(5, 2, 3))
    check(nn.GRU(3, 4, batch_first=True), ember.randn(2, 5, 3))
    check(nn.Linear(3, 2), ember.randn(4, 3))


# (an LSTM with proj_size: tests/test_jit_layers_save_js.py)


class Cells(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTMCell(3, 4)
        self.gru = nn.GRUCell(4, 5)
        self.relu_rnn = nn.RNNCell(5, 2, nonlinearity="relu", bias=False)
        self.tanh_rnn = nn.RNNCell(2, 2)

    def forward(self, x, h, c):
        hn, cn = self.lstm(x, (h, c))
        return self.tanh_rnn(self.relu_rnn(self.gru(hn))), cn, self.lstm(x)[0]


@pytest.mark.parametrize("shapes", [((2, 3), (2, 4), (2, 4)), ((3,), (4,), (4,))])
def test_cells(shapes):
    """LSTMCell/GRUCell/RNNCell (torch.lstm_cell ...), batched and unbatched, with a given
    and a zero state; ember.jit.load runs the cell ops too."""
    ember.manual_seed(4)
    check(Cells(), *[ember.randn(*s) for s in shapes])
