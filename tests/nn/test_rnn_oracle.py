"""RNN/LSTM/GRU and cells against torch (outputs, final states, input/parameter grads,
reprs, parameter names), PackedSequence inputs, and the seed's LSTM time-series model."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from tests.nn._compare import check_repr

rng = np.random.default_rng(7)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def _copy(tm, em):
    em.load_state_dict(OrderedDict((k, ember.from_numpy(v.detach().numpy().copy()))
                                   for k, v in tm.state_dict().items()))


def _flat(out):
    if isinstance(out, tuple):
        r = []
        for o in out:
            r += _flat(o)
        return r
    return [out]


CASES = [
    ("LSTM", dict(), (5, 3, 4)),
    ("LSTM", dict(num_layers=2, bidirectional=True), (5, 3, 4)),
    ("LSTM", dict(batch_first=True, proj_size=2), (3, 5, 4)),
    ("LSTM", dict(bias=False), (4, 4)),  # unbatched
    ("GRU", dict(), (5, 3, 4)),
    ("GRU", dict(num_layers=3, batch_first=True), (2, 6, 4)),
    ("GRU", dict(bidirectional=True), (4, 2, 4)),
    ("RNN", dict(), (5, 3, 4)),
    ("RNN", dict(nonlinearity="relu", num_layers=2), (5, 3, 4)),
]


@pytest.mark.parametrize("name,kw,shape", CASES)
def test_rnn_matches_torch(name, kw, shape):
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(4, 5, **kw)
    em = getattr(ember.nn, name)(4, 5, **kw)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    check_repr(em, tm)
    _copy(tm, em)
    x = f32(*shape)
    tx, ex = torch.from_numpy(x).requires_grad_(), ember.tensor(x.copy()).requires_grad_()
    to, eo = _flat(tm(tx)), _flat(em(ex))
    assert len(to) == len(eo)
    loss_t, loss_e = 0, 0
    for a, b in zip(to, eo):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(b.detach().cpu().numpy(), a.detach().cpu().numpy(), rtol=1e-5, atol=1e-5)
        w = f32(*a.shape)
        loss_t = loss_t + (a * torch.from_numpy(w)).sum()
        loss_e = loss_e + (b * ember.tensor(w.copy())).sum()
    loss_t.backward()
    loss_e.backward()
    np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.cpu().numpy(), rtol=1e-4, atol=1e-5)
    for (n, a), (_, b) in zip(tm.named_parameters(), em.named_parameters()):
        np.testing.assert_allclose(b.grad.cpu().numpy(), a.grad.cpu().numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=n)


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_initial_state_and_errors(name):
    tm, em = getattr(torch.nn, name)(3, 4, num_layers=2), getattr(ember.nn, name)(3, 4,
                                                                                num_layers=2)
    _copy(tm, em)
    x = f32(5, 2, 3)
    h = f32(2, 2, 4)
    if name == "LSTM":
        th, eh = (torch.from_numpy(h), torch.from_numpy(h * 2)), \
            (ember.tensor(h.copy()), ember.tensor(h * 2))
    else:
        th, eh = torch.from_numpy(h), ember.tensor(h.copy())
    np.testing.assert_allclose(em(ember.tensor(x), eh)[0].detach().cpu().numpy(),
                               tm(torch.from_numpy(x), th)[0].detach().cpu().numpy(), rtol=1e-5,
                               atol=1e-5)
    for lib, m in ((torch, tm), (ember, em)):
        with pytest.raises(RuntimeError):
            m(lib.randn(5, 2, 7))
        with pytest.raises(ValueError):
            m(lib.randn(5))


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences(name, enforce_sorted):
    tm = getattr(torch.nn, name)(3, 4, bidirectional=True)
    em = getattr(ember.nn, name)(3, 4, bidirectional=True)
    _copy(tm, em)
    lengths = [5, 3, 2] if enforce_sorted else [2, 5, 3]
    x = f32(5, 3, 3)
    res = []
    for lib, m in ((torch, tm), (ember, em)):
        ru = lib.nn.utils.rnn
        xx = lib.tensor(x.copy()).requires_grad_()
        packed = ru.pack_padded_sequence(xx, lib.tensor(lengths), enforce_sorted=enforce_sorted)
        out, h = m(packed)
        padded, lens = ru.pad_packed_sequence(out)
        hh = h[0] if isinstance(h, tuple) else h
        (padded.sum() + hh.pow(2).sum()).backward()
        res.append((padded.detach().cpu().numpy(), lens.cpu().numpy(), hh.detach().cpu().numpy(),
                    xx.grad.cpu().numpy()))
    for a, b in zip(res[1], res[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_pad_and_pack_helpers():
    seqs = [f32(4, 2), f32(2, 2), f32(3, 2)]
    res = []
    for lib in (torch, ember):
        ru = lib.nn.utils.rnn
        ts = [lib.tensor(s.copy()) for s in seqs]
        p = ru.pad_sequence(ts, batch_first=True, padding_value=-1.0)
        pk = ru.pack_sequence(ts, enforce_sorted=False)
        back = ru.unpack_sequence(pk)
        res.append((p.cpu().numpy(), pk.data.cpu().numpy(), pk.batch_sizes.cpu().numpy(),
                    [b.cpu().numpy() for b in back]))
    np.testing.assert_array_equal(res[1][0], res[0][0])
    np.testing.assert_array_equal(res[1][1], res[0][1])
    np.testing.assert_array_equal(res[1][2], res[0][2])
    for a, b in zip(res[1][3], res[0][3]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells(name):
    tm, em = getattr(torch.nn, name)(3, 4), getattr(ember.nn, name)(3, 4)
    check_repr(em, tm)
    _copy(tm, em)
    x = f32(2, 3)
    to, eo = _flat(tm(torch.from_numpy(x))), _flat(em(ember.tensor(x.copy())))
    for a, b in zip(to, eo):
        np.testing.assert_allclose(b.detach().cpu().numpy(), a.detach().cpu().numpy(), rtol=1e-5, atol=1e-6)
    unb = _flat(em(ember.tensor(x[0].copy())))
    assert unb[0].shape == (4,)


def test_seed_lstm_time_series_trains():
    """Seed 003: an LSTM (batch_first) + Linear regressor; the loss must decrease."""
    ember.manual_seed(0)

    class LSTMNet(ember.nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, output_size):
            super().__init__()
            self.lstm = ember.nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
            self.fc = ember.nn.Linear(hidden_size, output_size)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1, :])
    t = np.linspace(0, 20, 220, dtype=np.float32)
    wave = np.sin(t)
    xs = np.stack([wave[i:i + 10] for i in range(200)])[..., None]
    ys = wave[10:210][:, None]
    net = LSTMNet(1, 16, 1, 1)
    opt = ember.optim.Adam(net.parameters(), lr=0.01)
    crit = ember.nn.MSELoss()
    x, y = ember.tensor(xs), ember.tensor(ys)
    losses = []
    for epoch in range(60):
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
