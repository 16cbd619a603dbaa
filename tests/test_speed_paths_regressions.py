"""Behaviour the speed work's fast paths could get wrong, each checked on both sides of
the condition that selects the fast path, against torch.

- The fused LSTM layer writes each step's hidden state straight into its output array and
  backward reads the hidden states from there: so the output is saved for backward (an
  in-place write into it raises, as PyTorch's MkldnnRnnLayerBackward0 does), while the
  returned final states are copies a user may change in place.
"""
from collections import OrderedDict

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

rng = np.random.default_rng(11)


def _pair_lstm(**kw):
    tm = torch.nn.LSTM(3, 4, **kw)
    em = ember.nn.LSTM(3, 4, **kw)
    em.load_state_dict(OrderedDict((k, ember.from_numpy(v.detach().numpy().copy()))
                                   for k, v in tm.state_dict().items()))
    return tm, em


def _grads(m):
    return [p.grad.detach().numpy() for p in m.parameters()]


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True)])
def test_lstm_output_written_in_place_raises_like_torch(kw):
    tm, em = _pair_lstm(**kw)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    errors = []
    for lib, m in ((torch, tm), (ember, em)):
        out, _ = m(lib.from_numpy(x.copy()))
        out.mul_(2)
        with pytest.raises(RuntimeError) as info:
            out.sum().backward()
        errors.append(str(info.value))
    assert "modified by an inplace operation" in errors[0]
    assert "modified by an inplace operation" in errors[1]


def test_lstm_bidirectional_output_written_in_place_is_a_copy():
    """Two directions' outputs are joined by cat (a copy): writing into the result is
    allowed in both, and the gradients agree."""
    tm, em = _pair_lstm(bidirectional=True)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    for lib, m in ((torch, tm), (ember, em)):
        out, _ = m(lib.from_numpy(x.copy()))
        out.mul_(2)
        (out * out).sum().backward()
    for a, b in zip(_grads(tm), _grads(em)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("which", ["h", "c", "none"])
@pytest.mark.parametrize("kw", [dict(), dict(bidirectional=True, num_layers=2)])
def test_lstm_final_state_written_in_place_keeps_gradients(which, kw):
    """h_n and c_n are copies of the last step's state: writing into them changes neither
    the output nor the gradients (the fast path keeps the states in one array)."""
    tm, em = _pair_lstm(**kw)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    results = []
    for lib, m in ((torch, tm), (ember, em)):
        xi = lib.from_numpy(x.copy()).requires_grad_()
        out, (h, c) = m(xi)
        if which == "h":
            h.mul_(3)
        elif which == "c":
            c.add_(1)
        loss = (out * out).sum() + (h * c).sum()
        loss.backward()
        results.append([out.detach().numpy(), h.detach().numpy(), c.detach().numpy(),
                        xi.grad.numpy()] + _grads(m))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("grad", [False, True])
def test_lstm_no_grad_and_grad_forward_agree(grad):
    """The output without a graph (inference) equals the one recorded for backward."""
    tm, em = _pair_lstm(batch_first=True)
    x = rng.standard_normal((2, 7, 3)).astype(np.float32)
    with torch.set_grad_enabled(grad), ember.set_grad_enabled(grad):
        t_out, (t_h, t_c) = tm(torch.from_numpy(x))
        e_out, (e_h, e_c) = em(ember.from_numpy(x))
    for a, b in ((t_out, e_out), (t_h, e_h), (t_c, e_c)):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert (e_out.grad_fn is not None) == grad


# - sigmoid divides a numerator chosen per element (1 where x >= 0, exp(-|x|) below) by
#   1 + exp(-|x|), without masked NumPy loops: both branches, their boundary, the extremes,
#   nan, 0-dim and half precision.

@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5)])
def test_sigmoid_both_branches_match_torch(dtype, shape):
    values = np.array([0.0, -0.0, 1e-8, -1e-8, 3.5, -3.5, 20.0, -20.0, 90.0, -90.0, 800.0,
                       -800.0, np.inf, -np.inf, np.nan], dtype=np.float64)
    n = int(np.prod(shape))
    x = np.resize(np.concatenate([values, rng.standard_normal(16) * 10]), n).reshape(shape)
    t = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    e = ember.tensor(x, dtype=getattr(ember, dtype), requires_grad=True)
    ts, es = torch.sigmoid(t), ember.sigmoid(e)
    assert es.dtype is getattr(ember, dtype) and tuple(es.shape) == tuple(ts.shape)
    np.testing.assert_allclose(es.detach().float().numpy(), ts.detach().float().numpy(),
                               rtol=1e-6 if dtype == "float32" else 1e-3 if "16" in dtype
                               else 1e-12, atol=1e-30)
    # (atol: at x = -90 float32 PyTorch's 1 / (1 + exp(90)) flushes to 0 where ember keeps
    # the subnormal exp(-90) / (1 + exp(-90)) = 8e-40; both were so before the fast path)
    ts.sum().backward()
    es.sum().backward()
    np.testing.assert_allclose(e.grad.float().numpy(), t.grad.float().numpy(),
                               rtol=1e-5 if dtype == "float32" else 1e-2 if "16" in dtype
                               else 1e-12, atol=1e-30)


def test_sigmoid_transposed_input_keeps_layout():
    x = rng.standard_normal((4, 6)).astype(np.float32)
    ts = torch.sigmoid(torch.from_numpy(x).t())
    es = ember.sigmoid(ember.from_numpy(x).t())
    assert es.stride() == ts.stride()
    np.testing.assert_allclose(es.numpy(), ts.numpy(), rtol=1e-6)


# - The engine tests a gradient's fit to its input inline (a call to _fit only for a
#   gradient of another shape or dtype) and must leave no hold on the gradient behind:
#   a leaf's first .grad takes the gradient's own memory when nothing else holds it, so
#   with the layout policy relaxed a permuted leaf keeps the gradient's layout, as in
#   PyTorch. Both sides: a gradient that fits, one reduced from a broadcast, one cast.

def _grad_strides(lib, make_loss):
    p = lib.zeros(2, 3, 4).permute(2, 0, 1).requires_grad_()
    with lib.autograd.enforce_grad_layout_policy(False):
        make_loss(lib, p).backward()
    relaxed = p.grad.stride()
    p.grad = None
    make_loss(lib, p).backward()
    return relaxed, p.grad.stride(), p.grad.numpy().copy()


@pytest.mark.parametrize("case", ["fits", "broadcast", "cast"])
def test_leaf_gradient_layout_after_inline_fit(case):
    def loss(lib, p):
        if case == "fits":
            return (p * 2).sum()
        if case == "broadcast":
            return (p[:1] * lib.ones(3, 2, 3)).sum()   # p[:1]'s gradient summed over dim 0
        return (p.double() * 3).sum()                  # the gradient cast back to float32
    t, e = _grad_strides(torch, loss), _grad_strides(ember, loss)
    assert e[0] == t[0] and e[1] == t[1]
    np.testing.assert_array_equal(e[2], t[2].numpy() if hasattr(t[2], "numpy") else t[2])


# Large draws are sampled in pieces (ember/_sampling.py _PIECE): the pieces must make
# PyTorch's stream, across piece boundaries and with a short last piece.
@pytest.mark.parametrize("case", ["kaiming_uniform", "uniform_range_f32", "rand_f64",
                                  "rand_f16", "randn_after"])
def test_large_draws_are_torchs_stream(case):
    def draw(lib):
        lib.manual_seed(11)
        if case == "kaiming_uniform":
            w = lib.empty(300, 457)
            lib.nn.init.kaiming_uniform_(w, a=5 ** 0.5)
            return w
        if case == "uniform_range_f32":
            return lib.empty(140_003).uniform_(-2.0, 3.0)
        if case == "rand_f64":
            return lib.rand(131_077, dtype=lib.float64)
        if case == "rand_f16":
            return lib.rand(65_541, dtype=lib.float16)
        lib.rand(65_539)
        return lib.randn(5)      # the stream continues where the large draw left it
    a, b = draw(ember).numpy(), draw(torch).numpy()
    assert a.dtype == b.dtype and np.array_equal(a, b)
