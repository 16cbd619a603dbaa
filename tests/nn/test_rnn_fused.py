"""The fused LSTM layer (one MkldnnRnnLayerBackward0 node per layer-direction): gradients
and second derivatives checked numerically in float64, the node name against torch, and
the fused path against the per-step path it replaces."""
import numpy as np
import pytest
import torch

import ember
from ember._ops.rnn import lstm_layer
from ember.autograd import gradcheck, gradgradcheck
from ember.nn.modules import rnn as rnn_module

rng = np.random.default_rng(3)


def _t(*shape, grad=True):
    return ember.tensor(rng.standard_normal(shape)).requires_grad_(grad)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_and_gradgradcheck(reverse, bias):
    T, B, I, H = 3, 2, 3, 2
    x, h0, c0 = _t(T, B, I), _t(B, H), _t(B, H)
    w_ih, w_hh = _t(4 * H, I), _t(4 * H, H)
    b_ih, b_hh = (_t(4 * H), _t(4 * H)) if bias else (None, None)

    def f(x, h0, c0, w_ih, w_hh, *b):
        b_ih, b_hh = b if b else (None, None)
        return lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)

    inputs = (x, h0, c0, w_ih, w_hh) + ((b_ih, b_hh) if bias else ())
    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


def test_node_name_matches_torch():
    tm, em = torch.nn.LSTM(3, 4), ember.nn.LSTM(3, 4)
    assert em(ember.zeros(5, 2, 3))[0].grad_fn.name() == \
        tm(torch.zeros(5, 2, 3))[0].grad_fn.name() == "MkldnnRnnLayerBackward0"


@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True),
                                dict(bias=False, batch_first=True)])
def test_fused_equals_per_step(kw, monkeypatch):
    """Outputs, parameter gradients and a second derivative agree with the per-step path."""
    ember.manual_seed(0)
    m = ember.nn.LSTM(3, 4, **kw).double()
    x = ember.tensor(rng.standard_normal((5, 2, 3)))

    def run():
        for p in m.parameters():
            p.grad = None
        xi = x.clone().requires_grad_()
        out, (h, c) = m(xi)
        loss = (out ** 2).sum() + (h * c).sum()
        gx, = ember.autograd.grad(loss, xi, create_graph=True)
        (gx ** 2).sum().backward()
        return [out, h, c, gx] + [p.grad for p in m.parameters()]

    fused = run()
    monkeypatch.setattr(rnn_module, "_FUSED_DTYPES", ())
    per_step = run()
    for a, b in zip(fused, per_step):
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(), rtol=1e-10,
                                   atol=1e-12)
