"""The long tail of the torch namespace (constants, layouts, torch-level in-place
functions, ATen's torch-level nn functions, math odds and ends, small utilities) agrees
with PyTorch's: values, dtypes, shapes, gradients and exception types."""
import math

import numpy as np
import pytest
import torch

import ember
from tests.oracle.harness import Grad, check

# PyTorch warns (once) that index_reduce is in beta; so does ember
pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")

rng = np.random.default_rng(7)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def f64(*s):
    return rng.standard_normal(s)


def pos(*s):
    return (rng.random(s) + 0.1).astype(np.float32)


# ---------------------------------------------------------------------------- constants

def test_constants_and_layouts():
    for name in ("pi", "e", "inf"):
        assert getattr(ember, name) == getattr(torch, name)
    assert math.isnan(ember.nan)
    assert ember.newaxis is None and torch.newaxis is None
    for name in ("strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc",
                 "jagged"):
        obj = getattr(ember, name)
        assert isinstance(obj, ember.layout) and not isinstance(obj, ember.memory_format)
        assert repr(obj) == repr(getattr(torch, name)).replace("torch.", "ember.")
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        obj = getattr(ember, name)
        assert isinstance(obj, ember.memory_format) and not isinstance(obj, ember.layout)
        assert repr(obj) == repr(getattr(torch, name)).replace("torch.", "ember.")


def test_channels_last_3d():
    check(lambda L, x: x.contiguous(memory_format=L.channels_last_3d).stride(), f32(2, 3, 2, 2, 2))
    check(lambda L, x: x.contiguous(memory_format=L.channels_last_3d).is_contiguous(
        memory_format=L.channels_last_3d), f32(2, 3, 2, 2, 2))
    check(lambda L, x: x.contiguous(memory_format=L.channels_last_3d), f32(2, 3))


# ---------------------------------------------------------------------------- in-place functions

INPLACE = [
    ("abs_", (), f32(3, 4)), ("sin_", (), f32(3, 4)), ("sigmoid_", (), f32(5)),
    ("log_", (), pos(3)), ("sqrt_", (), pos(3)), ("clamp_", (-0.5, 0.5), f32(3, 4)),
    ("clip_", (None, 0.2), f32(4)), ("clamp_min_", (0.1,), f32(4)), ("round_", (), f32(4)),
    ("xlogy_", (2.0,), pos(4)), ("ldexp_", (None,), f32(3)), ("nan_to_num_", (), f32(3)),
    ("logit_", (0.1,), pos(3) / 2), ("square_", (), f32(3)), ("trunc_", (), f32(3)),
    ("exp2_", (), f32(3)), ("neg_", (), f32(3)), ("deg2rad_", (), f32(3)),
]


@pytest.mark.parametrize("name,args,x", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_function(name, args, x):
    def fn(L, x):
        a = [L.tensor([1.0, 2.0, 3.0]) if v is None and name == "ldexp_" else v for v in args]
        y = x.clone()
        out = getattr(L, name)(y, *a)
        assert out is y
        return y
    check(fn, Grad(x))


def test_inplace_function_generated_list():
    names = [n for n in dir(torch) if n.endswith("_") and not n.startswith("_")
             and hasattr(ember.Tensor, n)]
    missing = [n for n in names if not hasattr(ember, n)]
    assert missing == []


def test_inplace_function_errors():
    for name in ("abs_", "clamp_", "addmv_"):
        with pytest.raises(TypeError):
            getattr(torch, name)(3)
        with pytest.raises(TypeError, match="must be Tensor"):
            getattr(ember, name)(3)
    check(lambda L, x: L.sqrt_(x), np.arange(3))  # int tensor: result type can't be cast
    check(lambda L, x, m, v: L.addmv_(x, m, v, beta=0.5, alpha=2), f32(3), f32(3, 4), f32(4))
    check(lambda L, x: L.as_strided_(x, (2, 2), (1, 2)), f32(6))


# -------------------------------------------------------------------- torch-level nn functions

def _targets(*s):
    return np.sign(rng.standard_normal(s)).astype(np.float32)


LOSSES = [
    ("bce_logits", lambda L, x, y, w, pw: L.binary_cross_entropy_with_logits(x, y, w, pw, 2),
     [Grad(f32(3, 4)), rng.random((3, 4)).astype(np.float32), pos(4), pos(4)]),
    ("bce_logits-default", lambda L, x, y: L.binary_cross_entropy_with_logits(x, y),
     [Grad(f32(3, 4)), rng.random((3, 4)).astype(np.float32)]),
    ("cosine_embedding", lambda L, a, b, y: L.cosine_embedding_loss(a, b, y, 0.1, 0),
     [Grad(f32(3, 4)), Grad(f32(3, 4)), _targets(3)]),
    ("kl_div", lambda L, x, y: L.kl_div(x, y), [Grad(f32(3, 4)), pos(3, 4)]),
    ("kl_div-log_target", lambda L, x, y: L.kl_div(x, y, 2, log_target=True),
     [Grad(f32(3, 4)), Grad(f32(3, 4))]),
    ("hinge_embedding", lambda L, x, y: L.hinge_embedding_loss(x, y, 0.5), [Grad(f32(6)),
                                                                           _targets(6)]),
    ("margin_ranking", lambda L, a, b, y: L.margin_ranking_loss(a, b, y, 0.2, 0),
     [Grad(f32(5)), Grad(f32(5)), _targets(5)]),
    ("poisson_nll", lambda L, x, y: L.poisson_nll_loss(x, y, True, True, 1e-8, 1),
     [Grad(f32(3, 4)), pos(3, 4) * 3]),
    ("poisson_nll-rate", lambda L, x, y: L.poisson_nll_loss(x, y, False, False, 1e-6, 2),
     [Grad(pos(3, 4)), pos(3, 4)]),
    ("triplet_margin", lambda L, a, p, n: L.triplet_margin_loss(a, p, n, 1.0, 2.0, 1e-6, True, 1),
     [Grad(f32(3, 4)), Grad(f32(3, 4)), Grad(f32(3, 4))]),
    ("bad-reduction", lambda L, x, y: L.hinge_embedding_loss(x, y, 1.0, 5), [f32(3), _targets(3)]),
]


@pytest.mark.parametrize("name,fn,inputs", LOSSES, ids=[c[0] for c in LOSSES])
def test_torch_level_loss(name, fn, inputs):
    check(fn, *inputs)


def test_ctc_loss_torch_level():
    lp = np.log(rng.dirichlet(np.ones(5), size=(6, 2))).astype(np.float32)
    targets = np.array([[1, 2, 3], [2, 4, 0]])
    for red in (0, 1, 2):
        check(lambda L, x, t: L.ctc_loss(x, t, [6, 5], [3, 2], 0, red), Grad(lp), targets,
              rtol=1e-4, atol=1e-5)
    check(lambda L, x, t, il, tl: L.ctc_loss(x, t, il, tl), Grad(lp), targets, np.array([6, 6]),
          np.array([3, 2]), rtol=1e-4, atol=1e-5)


LAYERS = [
    ("constant_pad_nd", lambda L, x: L.constant_pad_nd(x, [1, 2, 0, 1], 3.5), [Grad(f32(2, 3))]),
    ("constant_pad_nd-crop", lambda L, x: L.constant_pad_nd(x, [-1, 1]), [Grad(f32(2, 3))]),
    ("convolution-2d", lambda L, x, w, b: L.convolution(x, w, b, [1, 2], [1, 0], [1, 1], False,
                                                        [0, 0], 1),
     [Grad(f32(1, 2, 5, 5)), Grad(f32(4, 2, 3, 3)), Grad(f32(4))]),
    ("convolution-1d-groups", lambda L, x, w: L.convolution(x, w, None, [1], [2], [2], False,
                                                            [0], 2),
     [Grad(f32(2, 4, 7)), Grad(f32(6, 2, 3))]),
    ("convolution-transposed", lambda L, x, w, b: L.convolution(x, w, b, [2, 2], [1, 1], [1, 1],
                                                                True, [1, 0], 1),
     [Grad(f32(1, 2, 3, 4)), Grad(f32(2, 3, 3, 3)), Grad(f32(3))]),
    ("convolution-bad-weight", lambda L, x, w: L.convolution(x, w, None, [1], [0], [1], False,
                                                             [0], 1),
     [f32(1, 2, 5), f32(2, 5)]),
    ("conv_tbc", lambda L, x, w, b: L.conv_tbc(x, w, b, 1),
     [Grad(f32(6, 2, 3)), Grad(f32(3, 3, 4)), Grad(f32(4))]),
    ("conv_tbc-bad", lambda L, x, w, b: L.conv_tbc(x, w, b), [f32(6, 2, 3), f32(3, 2, 4), f32(4)]),
    ("grid_sampler", lambda L, x, g: L.grid_sampler(x, g, 0, 1, False),
     [Grad(f32(1, 2, 4, 4)), Grad(np.tanh(f32(1, 3, 3, 2)))]),
    ("grid_sampler_2d-nearest", lambda L, x, g: L.grid_sampler_2d(x, g, 1, 0, True),
     [Grad(f32(1, 2, 4, 4)), np.tanh(f32(1, 3, 3, 2))]),
    ("grid_sampler_3d", lambda L, x, g: L.grid_sampler_3d(x, g, 0, 2, True),
     [Grad(f32(1, 1, 3, 3, 3)), Grad(np.tanh(f32(1, 2, 2, 2, 3)))]),
    ("affine_grid_generator", lambda L, t: L.affine_grid_generator(t, [2, 1, 3, 4], False),
     [Grad(f32(2, 2, 3))]),
    ("max_pool1d_with_indices", lambda L, x: L.max_pool1d_with_indices(x, [2]),
     [Grad(f32(2, 3, 7))]),
    ("max_pool1d_with_indices-args", lambda L, x: L.max_pool1d_with_indices(x, 3, 2, 1, 1, True),
     [Grad(f32(2, 3, 8))]),
    ("native_layer_norm", lambda L, x, w, b: L.native_layer_norm(x, [3, 4], w, b, 1e-5),
     [Grad(f32(2, 3, 4)), Grad(f32(3, 4)), Grad(f32(3, 4))]),
    ("native_batch_norm-train", lambda L, x, w, b: L.native_batch_norm(x, w, b, None, None, True,
                                                                       0.1, 1e-5),
     [Grad(f32(4, 3, 2)), Grad(f32(3)), Grad(f32(3))]),
    ("native_batch_norm-eval", lambda L, x, m, v: L.native_batch_norm(x, None, None, m, v, False,
                                                                      0.1, 1e-5),
     [Grad(f32(4, 3)), f32(3), pos(3)]),
    ("native_group_norm", lambda L, x, w, b: L.native_group_norm(x, w, b, 2, 4, 3, 2, 1e-5),
     [Grad(f32(2, 4, 3)), Grad(f32(4)), Grad(f32(4))]),
    ("native_dropout-eval", lambda L, x: L.native_dropout(x, 0.3, False), [Grad(f32(3, 4))]),
    ("native_norm", lambda L, x: L.native_norm(x), [f32(3)]),
    ("rnn_tanh_cell", lambda L, x, h, wi, wh, bi, bh: L.rnn_tanh_cell(x, h, wi, wh, bi, bh),
     [Grad(f32(2, 3)), Grad(f32(2, 4)), Grad(f32(4, 3)), Grad(f32(4, 4)), Grad(f32(4)),
      Grad(f32(4))]),
    ("rnn_relu_cell", lambda L, x, h, wi, wh: L.rnn_relu_cell(x, h, wi, wh),
     [Grad(f32(2, 3)), Grad(f32(2, 4)), Grad(f32(4, 3)), Grad(f32(4, 4))]),
    ("lstm_cell", lambda L, x, h, c, wi, wh, bi, bh: L.lstm_cell(x, [h, c], wi, wh, bi, bh),
     [Grad(f32(2, 3)), Grad(f32(2, 4)), Grad(f32(2, 4)), Grad(f32(16, 3)), Grad(f32(16, 4)),
      Grad(f32(16)), Grad(f32(16))]),
    ("gru_cell", lambda L, x, h, wi, wh, bi, bh: L.gru_cell(x, h, wi, wh, bi, bh),
     [Grad(f32(2, 3)), Grad(f32(2, 4)), Grad(f32(12, 3)), Grad(f32(12, 4)), Grad(f32(12)),
      Grad(f32(12))]),
]


@pytest.mark.parametrize("name,fn,inputs", LAYERS, ids=[c[0] for c in LAYERS])
def test_torch_level_layer(name, fn, inputs):
    check(fn, *inputs, rtol=1e-4, atol=1e-5)


def test_native_dropout_train():
    for L in (torch, ember):
        x = L.ones(200, 50)
        out, mask = L.native_dropout(x, 0.25, True)
        assert mask.dtype == L.bool and out.shape == x.shape
        kept = float(mask.float().mean())
        assert 0.7 < kept < 0.8
        assert L.equal(out, mask.float() / 0.75)
        out, mask = L.native_dropout(x, 0.25, None)   # None counts as training
        assert not bool(mask.all())


def _rnn_params(gates, in_size, hidden, layers, bidir, bias, proj=0):
    params = []
    for layer in range(layers):
        for _ in range(2 if bidir else 1):
            real = proj or hidden
            layer_in = in_size if layer == 0 else real * (2 if bidir else 1)
            params += [Grad(f32(gates * hidden, layer_in) / 2), Grad(f32(gates * hidden, real) / 2)]
            if bias:
                params += [Grad(f32(gates * hidden) / 2), Grad(f32(gates * hidden) / 2)]
            if proj:
                params.append(Grad(f32(proj, hidden) / 2))
    return params


@pytest.mark.parametrize("name,gates", [("rnn_tanh", 1), ("rnn_relu", 1), ("gru", 3),
                                        ("lstm", 4)])
@pytest.mark.parametrize("layers,bidir,bias,batch_first", [(1, False, True, False),
                                                          (2, True, False, True)])
def test_torch_level_rnn(name, gates, layers, bidir, bias, batch_first):
    dirs = 2 if bidir else 1
    params = _rnn_params(gates, 3, 4, layers, bidir, bias)
    x = Grad(f32(2, 5, 3) if batch_first else f32(5, 2, 3))
    h = Grad(f32(layers * dirs, 2, 4))
    if name == "lstm":
        c = Grad(f32(layers * dirs, 2, 4))
        check(lambda L, x, h, c, *p: L.lstm(x, (h, c), p, bias, layers, 0.0, False, bidir,
                                            batch_first), x, h, c, *params, rtol=1e-4, atol=1e-5)
    else:
        check(lambda L, x, h, *p: getattr(L, name)(x, h, p, bias, layers, 0.0, False, bidir,
                                                  batch_first), x, h, *params,
              rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:LSTM with projections")  # torch's oneDNN notice
def test_torch_level_lstm_projection_and_packed():
    params = _rnn_params(4, 3, 5, 1, False, True, proj=2)
    check(lambda L, x, h, c, *p: L.lstm(x, (h, c), p, True, 1, 0.0, False, False, False),
          Grad(f32(4, 2, 3)), Grad(f32(1, 2, 2)), Grad(f32(1, 2, 5)), *params,
          rtol=1e-4, atol=1e-5)
    params = _rnn_params(3, 3, 4, 1, False, True)
    # packed: 3 sequences of lengths 3, 2, 1 -> batch_sizes [3, 2, 1]
    check(lambda L, d, bs, h, *p: L.gru(d, bs, h, p, True, 1, 0.0, False, False),
          Grad(f32(6, 3)), np.array([3, 2, 1]), Grad(f32(1, 3, 4)), *params,
          rtol=1e-4, atol=1e-5)


def test_embedding_bag_torch_level():
    w = f32(6, 3)
    idx = np.array([0, 2, 4, 1, 2, 5])
    off = np.array([0, 2, 2])
    for mode in (0, 1, 2):
        check(lambda L, w, i, o: L.embedding_bag(w, i, o, False, mode), Grad(w), idx, off)
    check(lambda L, w, i, o: L.embedding_bag(w, i, o, False, 1, False, None, False, 2),
          Grad(w), idx, off)
    check(lambda L, w, i, o, s: L.embedding_bag(w, i, o, False, 0, False, s), Grad(w), idx, off,
          Grad(f32(6)))


def test_embedding_renorm_():
    def fn(L, w, i):
        w = w.clone()
        out = L.embedding_renorm_(w, i, 1.0, 2.0)
        assert out is w
        return w
    check(fn, f32(5, 3) * 2, np.array([0, 2, 2, 4]), grad=False)


def test_tensor_prelu_hardshrink():
    check(lambda L, x, w: x.prelu(w), Grad(f32(2, 3, 4)), Grad(f32(3)))
    check(lambda L, x: x.hardshrink(), Grad(f32(3, 4)))
    check(lambda L, x: x.hardshrink(0.3), Grad(f32(3, 4)))


# ---------------------------------------------------------------------------- math odds and ends

@pytest.mark.filterwarnings("ignore:at::")   # both libraries warn that these are deprecated
def test_deprecated_norms():
    check(lambda L, x: L.frobenius_norm(x, [1]), Grad(f32(2, 3)))
    check(lambda L, x: L.frobenius_norm(x, [0, 2], True), Grad(f32(2, 3, 4)))
    check(lambda L, x: L.frobenius_norm(x, []), Grad(f32(2, 3)))
    check(lambda L, x: L.frobenius_norm(x, [0, 1, 2]), f32(2, 3, 4))
    check(lambda L, x: L.frobenius_norm(x, [0]), np.arange(3))
    check(lambda L, x: L.nuclear_norm(x), Grad(f64(3, 4)))
    check(lambda L, x: L.nuclear_norm(x), Grad(f64(2, 3, 4)))
    check(lambda L, x: L.nuclear_norm(x, [0, 2], True), Grad(f64(2, 3, 4)))
    check(lambda L, x: L.nuclear_norm(x, [0]), f64(2, 3))
    check(lambda L, x: L.nuclear_norm(x), f64(3))
    with pytest.warns(UserWarning, match="deprecated"):
        ember.frobenius_norm(ember.ones(2), [0])


@pytest.mark.parametrize("name", ["solve", "lstsq", "symeig", "eig", "matrix_rank"])
def test_removed_functions_raise(name):
    args = {"solve": 2, "lstsq": 2}.get(name, 1)
    for L in (torch, ember):
        with pytest.raises(RuntimeError) as ei:
            getattr(L, name)(*[L.ones(2, 2)] * args)
        if L is torch:
            expected = str(ei.value)
    assert str(ei.value) == expected
    if name != "matrix_rank":
        with pytest.raises(RuntimeError, match="deprecated since version 1.9"):
            getattr(ember.ones(2, 2), name)(*[ember.ones(2, 2)] * (args - 1))


def test_nonzero_static():
    x = np.array([[0, 1], [2, 0], [3, 4]])
    check(lambda L, x: L.nonzero_static(x, size=2), x)
    check(lambda L, x: L.nonzero_static(x, size=5, fill_value=-7), x)
    check(lambda L, x: x.nonzero_static(size=1), x)
    check(lambda L, x: L.nonzero_static(x, size=4), np.array([1.0, 0, 2]))
    check(lambda L, x: L.nonzero_static(x, size=2), np.array(3.0))
    check(lambda L, x: L.nonzero_static(x, size=-1), x)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self):
    src = np.round(f64(4, 3) * 4) / 4        # ties, for amax/amin's shared gradient
    idx = np.array([0, 2, 0, 3])
    check(lambda L, x, i, s: L.index_reduce(x, 0, i, s, reduce, include_self=include_self),
          Grad(np.round(f64(5, 3) * 4) / 4), idx, Grad(src))
    check(lambda L, x, i, s: x.index_reduce(1, i, s, reduce, include_self=include_self),
          Grad(f64(2, 4)), np.array([3, 3, 1]), Grad(f64(2, 3)))

    def inplace(L, x, i, s):
        y = x.clone()
        y.index_reduce_(0, i, s, reduce, include_self=include_self)
        return y
    check(inplace, Grad(f64(5, 3)), idx, Grad(f64(4, 3)))


def test_index_reduce_gradcheck():
    x = ember.tensor(f64(4, 3), requires_grad=True)
    s = ember.tensor(f64(3, 3), requires_grad=True)
    i = ember.tensor([1, 3, 1])
    for reduce in ("prod", "mean"):
        assert ember.autograd.gradcheck(lambda x, s: ember.index_reduce(x, 0, i, s, reduce),
                                        (x, s))


def test_index_reduce_errors():
    x, s, i = f32(3, 2), f32(4, 2), np.array([0, 2, 0, 1])
    check(lambda L, x, i, s: L.index_reduce(x, 0, i, s, "sum"), x, i, s)
    check(lambda L, x, i, s: L.index_reduce(x, 0, i.float(), s, "prod"), x, i, s)
    check(lambda L, x, i, s: L.index_reduce(x, 0, i, s.double(), "prod"), x, i, s)
    check(lambda L, x, i, s: L.index_reduce(x, 0, i + 2, s, "prod"), x, i, s)
    check(lambda L, x, i, s: L.index_reduce(x, 0, i[:3], s, "prod"), x, i, s)
    check(lambda L, x, i, s: L.index_reduce(x, 2, i, s, "prod"), x, i, s)
    check(lambda L, x, i, s: L.index_reduce(x, 1, i, s, "prod"), x, i, s)


def test_empty_permuted():
    check(lambda L: L.empty_permuted((2, 3, 4), (0, 2, 1)).stride())
    check(lambda L: L.empty_permuted((2, 3, 4), (2, 0, 1), dtype=L.float64).zero_())
    check(lambda L: tuple(L.empty_permuted((2, 3), (1, 0)).shape))
    check(lambda L: L.empty_permuted((2, 3), (0, 0)))
    check(lambda L: L.empty_permuted((2, 3), (0,)))
    assert ember.empty_permuted((2, 3), (1, 0), requires_grad=True).requires_grad


def test_binomial():
    ember.manual_seed(0)
    n = ember.full((4000,), 10.0)
    p = ember.full((4000,), 0.3)
    draws = ember.binomial(n, p)
    assert draws.dtype == ember.float32
    assert abs(float(draws.mean()) - 3.0) < 0.15
    assert float(draws.min()) >= 0 and float(draws.max()) <= 10
    assert ember.equal(ember.binomial(ember.tensor([3.0, 4.0]), ember.tensor([1.5, 0.0])),
                       ember.tensor([3.0, 0.0]))     # probabilities clamp to [0, 1]
    check(lambda L, c, p: L.binomial(c, p), np.array([5, 10]), np.array([0.5, 0.2]))
    check(lambda L, c, p: L.binomial(c, p.float()), np.array([5.0, 10.0]), np.array([0.5, 0.2]))
    for L in (torch, ember):
        c = L.tensor([5.0, 10.0], requires_grad=True)
        out = L.binomial(c, L.tensor([0.5, 0.2]))
        assert out.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::binomial is not implemented"):
            out.sum().backward()


def test_copy_variants():
    check(lambda L, x: L.detach_copy(x), f32(2, 3))
    for L in (torch, ember):   # the result requires grad; its backward raises
        y = L.detach_copy(L.ones(2, requires_grad=True))
        assert y.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::detach_copy"):
            y.sum().backward()
    check(lambda L, x: L.view_as_real_copy(x), Grad(f32(2, 3).astype(np.complex64)))
    check(lambda L, x: L.view_as_complex_copy(x), Grad(f32(3, 2)))
    check(lambda L, x: L.view_as_complex_copy(x), f32(3, 2))
    for L in (torch, ember):   # copies: writing the result leaves the input alone
        x = L.ones(3, 2)
        y = L.view_as_complex_copy(x)
        y.zero_()
        assert float(x.sum()) == 6.0


def test_slice_inverse():
    def fn(L, base):
        r = L.slice_inverse(base[4:9], L.zeros(12, 2)[1:11], 0, 1, 6, 1)
        return r, r.stride(), r.storage_offset()
    check(fn, f32(12, 2), grad=False)
    check(lambda L, b: L.slice_inverse(b[4:9], L.zeros(3, 12).t(), 0, 1, 6, 1), f32(12, 2))


def test_hash_tensor():
    check(lambda L, x: L.hash_tensor(x), f32(2, 3))
    check(lambda L, x: L.hash_tensor(x, 1), f64(2, 3))
    check(lambda L, x: L.hash_tensor(x, [0, 2], keepdim=True), f32(2, 3, 4))
    check(lambda L, x: L.hash_tensor(x), np.array([-1, 5], dtype=np.int8))
    check(lambda L, x: L.hash_tensor(x), np.array([True, False, True]))
    check(lambda L, x: L.hash_tensor(x), np.array(2.5, dtype=np.float16))
    check(lambda L, x: L.hash_tensor(x, 0), np.ones((3, 0), np.float32))
    check(lambda L, x: L.hash_tensor(x), np.ones((3, 0), np.float32))
    check(lambda L, x: L.hash_tensor(x, 0), np.ones((0, 3), np.float32))
    check(lambda L, x: L.hash_tensor(x, mode=1), f32(3))
    check(lambda L, x: L.hash_tensor(x), f32(3).astype(np.complex64))
    check(lambda L, x: L.hash_tensor(x).requires_grad, Grad(f32(3)))


GRADIENT = [
    ("1d", lambda L, x: L.gradient(x), [Grad(f64(6))]),
    ("1d-edge2", lambda L, x: L.gradient(x, edge_order=2), [Grad(f64(6))]),
    ("scalar-spacing", lambda L, x: L.gradient(x, spacing=2.0), [Grad(f64(3, 4))]),
    ("0d-tensor-spacing", lambda L, x: L.gradient(x, spacing=L.tensor(0.5)), [Grad(f64(3, 4))]),
    ("list-spacing", lambda L, x: L.gradient(x, spacing=[2.0, 3.0], edge_order=2),
     [Grad(f64(3, 4))]),
    ("dim", lambda L, x: L.gradient(x, dim=1), [Grad(f64(3, 4))]),
    ("dims-spacing", lambda L, x: L.gradient(x, spacing=[0.5, 2.0], dim=[-1, 0]),
     [Grad(f64(3, 4, 2))]),
    ("dim-scalar-spacing", lambda L, x: L.gradient(x, spacing=3, dim=-1), [Grad(f64(2, 3))]),
    ("coordinates", lambda L, x, c: L.gradient(x, spacing=(c,)), [Grad(f64(5)),
                                                                  np.array([0.0, 1, 3, 4, 7])]),
    ("coordinates-edge2", lambda L, x, c: L.gradient(x, spacing=[c], dim=1, edge_order=2),
     [Grad(f64(2, 5)), Grad(np.array([0.0, 1, 3, 4, 7]))]),
    ("int", lambda L, x: L.gradient(x), [np.arange(5) ** 2]),
    ("float32", lambda L, x: L.gradient(x, spacing=(L.tensor([0.0, 1, 3, 4]),), edge_order=2),
     [Grad(f32(4))]),
    ("edge_order3", lambda L, x: L.gradient(x, edge_order=3), [f64(5)]),
    ("short", lambda L, x: L.gradient(x, edge_order=2), [f64(2, 3)]),
    ("bad-spacing-len", lambda L, x: L.gradient(x, spacing=[1.0, 2.0, 3.0]), [f64(3, 4)]),
    ("bad-spacing-dim-len", lambda L, x: L.gradient(x, dim=0, spacing=[1.0, 2.0]), [f64(3, 4)]),
    ("0d-tensor-in-list", lambda L, x: L.gradient(x, spacing=[L.tensor(2.0)]), [f64(3)]),
]


@pytest.mark.parametrize("name,fn,inputs", GRADIENT, ids=[c[0] for c in GRADIENT])
def test_gradient(name, fn, inputs):
    check(fn, *inputs)


def test_gradient_gradcheck():
    x = ember.tensor(f64(2, 5), requires_grad=True)
    c = ember.tensor([0.0, 1, 3, 4, 7], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, c: ember.gradient(x, spacing=[c], dim=1,
                                                                edge_order=2), (x, c))
    assert ember.autograd.gradgradcheck(lambda x: ember.gradient(x, spacing=0.5), (x,))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("initial", [None, 5.0])
def test_segment_reduce(reduce, initial):
    data = np.array([1.0, 2, 5, 3, 5, 6])       # a tie in segment 2 for max
    lengths = np.array([2, 0, 3, 1])
    check(lambda L, d, n: L.segment_reduce(d, reduce, lengths=n, initial=initial),
          Grad(data), lengths)
    check(lambda L, d, o: L.segment_reduce(d, reduce, offsets=o, initial=initial),
          Grad(f32(6, 2)), np.array([0, 2, 2, 5, 6]))
    check(lambda L, d, n: L.segment_reduce(d, reduce, lengths=n, axis=1, initial=initial),
          Grad(f64(2, 6, 2)), np.array([[2, 4], [3, 3]]))


def test_segment_reduce_gradcheck():
    d = ember.tensor(f64(6, 2), requires_grad=True)
    n = ember.tensor([2, 0, 3, 1])
    for reduce in ("sum", "mean", "prod", "max"):
        assert ember.autograd.gradcheck(
            lambda d: ember.segment_reduce(d, reduce, lengths=n, initial=-5.0), (d,))


def test_segment_reduce_errors():
    d, n = f32(6), np.array([2, 0, 3, 1])
    check(lambda L, d: L.segment_reduce(d, "sum"), d)
    check(lambda L, d, n: L.segment_reduce(d, "sum", lengths=n[:2]), d, n)
    check(lambda L, d, n: L.segment_reduce(d, "sum", lengths=n, indices=n), d, n)
    check(lambda L, d, n: L.segment_reduce(d, "sum", lengths=n, axis=1), d, n)
    check(lambda L, d, n: L.segment_reduce(d, "sum", lengths=n.float()), d, n)
    check(lambda L, d, n: L.segment_reduce(d, "foo", lengths=n), d, n)
    check(lambda L, d, n: L.segment_reduce(d.long(), "sum", lengths=n), d, n)
    check(lambda L, d, n: L.segment_reduce(d, "sum", lengths=n - 1), d, n)
    check(lambda L, d, n: L.segment_reduce(d, "sum", lengths=n, axis=0), np.ones((2, 3)),
          np.array([[2, 4], [3, 3]]))


# ---------------------------------------------------------------------------- small utilities

SYM = [("sym_int", (3.7,)), ("sym_int", (-3.7,)), ("sym_int", (5,)), ("sym_float", (3,)),
       ("sym_max", (2, 3.5)), ("sym_max", (2, 3)), ("sym_max", (3, 2.0)), ("sym_min", (2, 3.5)),
       ("sym_min", (2, 3.0)), ("sym_min", (4, 3)), ("sym_not", (True,)), ("sym_not", (0,)),
       ("sym_sqrt", (4,)), ("sym_sqrt", (2.0,)), ("sym_ite", (True, 1, 2)),
       ("sym_ite", (False, 1, 2)), ("sym_ite", (1, 1, 2)), ("sym_sum", ([1, 2, 3.5],)),
       ("sym_sum", ((1, 2),)), ("sym_int", ("a",))]


@pytest.mark.parametrize("name,args", SYM, ids=[f"{n}{a}" for n, a in SYM])
def test_sym_functions(name, args):
    try:
        expected = getattr(torch, name)(*args)
    except Exception as te:
        with pytest.raises(type(te)):
            getattr(ember, name)(*args)
        return
    got = getattr(ember, name)(*args)
    assert got == expected and type(got) is type(expected)


def test_runtime_queries():
    assert ember.get_device_module("cpu") is ember.cpu
    assert ember.get_device_module(ember.device("cuda:0")) is ember.cuda
    assert ember.get_device_module() is (ember.cuda if ember.cuda.is_available() else ember.cpu)
    for bad in ("foo", 3):
        with pytest.raises(RuntimeError):
            torch.get_device_module(bad)
        with pytest.raises(RuntimeError):
            ember.get_device_module(bad)
    check(lambda L, x: L.is_distributed(x), f32(2))
    check(lambda L: L.is_distributed(3))
    assert ember.is_vulkan_available() is torch.is_vulkan_available() is False
    assert ember.compiled_with_cxx11_abi() is False


def test_set_anomaly_enabled():
    try:
        for L in (torch, ember):
            L.set_anomaly_enabled(True)
            assert L.is_anomaly_enabled() and L.is_anomaly_check_nan_enabled()
            L.set_anomaly_enabled(True, False)
            assert not L.is_anomaly_check_nan_enabled()
            L.set_anomaly_enabled(False)
            assert not L.is_anomaly_enabled()
    finally:
        torch.set_anomaly_enabled(False)
        ember.set_anomaly_enabled(False)


def test_to_dlpack():
    x = ember.arange(4.0, requires_grad=True)
    y = torch.from_dlpack(ember.to_dlpack(x))     # torch reads ember's capsule
    assert y.tolist() == [0.0, 1.0, 2.0, 3.0]
    z = ember.from_dlpack(torch.to_dlpack(torch.arange(3)))
    assert z.tolist() == [0, 1, 2] and z.dtype == ember.int64


# torch.cond/while_loop with a tensor predicate compile the call with dynamo (seconds
# each): those cases compare ember with the branch or loop computed directly instead.

def test_cond():
    x = f32(3)
    check(lambda L, x: L.cond(True, lambda x: x.sin(), lambda x: x.cos(), [x]), Grad(x))
    check(lambda L, x: L.cond(0, lambda x: x.sin(), lambda x: x.cos(), [x]), Grad(x))
    for pred in (True, False):
        t = ember.tensor(x, requires_grad=True)
        got = ember.cond(ember.tensor(pred), lambda x: x + 1, lambda x: x - 1, (t,))
        assert got.tolist() == (t + 1 if pred else t - 1).tolist()
        got.sum().backward()
        assert t.grad.tolist() == [1.0, 1.0, 1.0]
    assert ember.cond(ember.tensor(0), lambda: ember.zeros(1), lambda: ember.ones(1)).tolist() \
        == [1.0]
    # PyTorch's argument checks run before it compiles
    check(lambda L, x: L.cond(L.tensor([True, False]), lambda x: x, lambda x: x, (x,)), x)
    check(lambda L, x: L.cond("a", lambda x: x, lambda x: x, (x,)), x)
    check(lambda L, x: L.cond(L.tensor(True), lambda x: x, lambda x: x, (x, 3)), x)
    check(lambda L, x: L.cond(L.tensor(True), 1, lambda x: x, (x,)), x)


def test_while_loop():
    x = ember.tensor(f32(2), requires_grad=True)
    i, y = ember.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2), (ember.tensor(0), x))
    assert int(i) == 3 and y.tolist() == (x * 8).tolist()
    y.sum().backward()
    assert x.grad.tolist() == [8.0, 8.0]
    i, y = ember.while_loop(lambda i, x: i > 3, lambda i, x: (i + 1, x * 2), (ember.tensor(0), x))
    assert int(i) == 0 and y is not x and y.tolist() == x.tolist()   # copies when never run
    assert int(ember.while_loop(lambda i: i < 3, lambda i: (i + 1,), (ember.tensor(0),))[0]) == 3
    assert int(ember.while_loop(lambda i: i < 3, lambda i: i + 1, (ember.tensor(0),))) == 3
    # PyTorch's argument checks run before it compiles
    check(lambda L: L.while_loop(lambda i: i < 3, lambda i: (i + 1,), [L.tensor(0), "a"]))
    check(lambda L: L.while_loop(1, lambda i: (i + 1,), (L.tensor(0),)))
    with pytest.raises(RuntimeError, match="boolean scalar tensor"):
        ember.while_loop(lambda i: i, lambda i: (i + 1,), (ember.tensor(0.0),))
    with pytest.raises(AssertionError, match="same number of elements"):
        ember.while_loop(lambda i, j: i < 3, lambda i, j: (i + 1,), (ember.tensor(0), 1))


def test_compiler_outside_compile():
    f = lambda x: x + 1    # noqa: E731
    for c in (torch.compiler, ember.compiler):
        assert c.is_compiling() is False and c.is_dynamo_compiling() is False
        assert c.is_exporting() is False
        assert c.disable(f)(1) == 2 and c.disable(reason="r")(f)(2) == 3
        assert c.allow_in_graph(f) is f and c.assume_constant_result(f) is f
        assert c.reset() is None and c.cudagraph_mark_step_begin() is None
        with c.set_stance("force_eager"):
            assert c.set_stance("force_eager")(f)(1) == 2
        assert c.nested_compile_region(f)(1) == 2
    g = ember.compiler.wrap_numpy(lambda a: a * 2)
    assert ember.equal(g(ember.tensor([1, 2])), ember.tensor([2, 4]))


def test_overrides():
    for o in (torch.overrides, ember.overrides):
        L = torch if o is torch.overrides else ember
        assert o.has_torch_function((L.ones(1),)) is False
        assert o.has_torch_function_unary(L.ones(1)) is False
        assert o.has_torch_function_variadic(1, 2) is False
        assert o.is_tensor_like(L.ones(1)) and not o.is_tensor_like(3)


# ---------------------------------------------------------------------------- low-rank linalg

def _low_rank(m, n, r, batch=()):
    return rng.standard_normal(batch + (m, r)) @ rng.standard_normal(batch + (r, n))


@pytest.mark.parametrize("shape", [(8, 5), (4, 9), (2, 7, 6)])
def test_svd_lowrank(shape):
    """Of a rank-3 matrix, q=4 recovers the 3 singular values exactly (whatever the random
    basis), and their sum's gradient, U_3 V_3^H, is the same as PyTorch's."""
    a = _low_rank(shape[-2], shape[-1], 3, tuple(shape[:-2]))

    def fn(L, A):
        U, S, V = L.svd_lowrank(A, q=4)
        rebuilt = U.matmul(S.unsqueeze(-1) * V.mH)
        return rebuilt, tuple(U.shape), tuple(V.shape)
    check(fn, a, rtol=1e-6, atol=1e-8)
    # the 4th singular value is ~0 and its vectors random: differentiate the exact three
    check(lambda L, A: L.svd_lowrank(A, q=4)[1][..., :3], Grad(a), rtol=1e-6, atol=1e-8)


def test_svd_lowrank_with_M():
    a, mean = _low_rank(8, 5, 2), rng.standard_normal((1, 5))
    check(lambda L, A, M: L.svd_lowrank(A + M, q=3, niter=1, M=M)[1][:2], Grad(a), mean,
          rtol=1e-6, atol=1e-8)


def test_pca_lowrank():
    a = _low_rank(10, 6, 2) + rng.standard_normal((1, 6))   # rank 2 after centering
    check(lambda L, A: L.pca_lowrank(A, q=3)[1][:2], Grad(a), rtol=1e-6, atol=1e-8)
    check(lambda L, A: tuple(t.shape for t in L.pca_lowrank(A)), a)
    check(lambda L, A: L.pca_lowrank(A, q=3, center=False)[1][:3], _low_rank(10, 6, 3),
          rtol=1e-6, atol=1e-8)
    check(lambda L, A: L.pca_lowrank(A, q=7), a)
    check(lambda L, A: L.pca_lowrank(A, niter=-1), a)


def test_lobpcg():
    a = rng.standard_normal((20, 20))
    a = a @ a.T
    b = rng.standard_normal((20, 20))
    b = b @ b.T + 20 * np.eye(20)

    def residual(L, A, E, X, B=None):
        BX = X if B is None else B.matmul(X)
        return float((A.matmul(X) - BX * E).norm())

    for kw in (dict(k=3), dict(k=2, largest=False), dict(k=2, n=3)):
        for L in (torch, ember):
            A = L.tensor(a)
            E, X = L.lobpcg(A, **kw)
            assert residual(L, A, E, X) < 1e-4
            if L is torch:
                expected = E.numpy()
        np.testing.assert_allclose(E.numpy(), expected, rtol=1e-8)
    for L in (torch, ember):
        E, X = L.lobpcg(L.tensor(a), k=2, B=L.tensor(b))
        assert residual(L, L.tensor(a), E, X, L.tensor(b)) < 1e-4
        if L is torch:
            expected = E.numpy()
    np.testing.assert_allclose(E.numpy(), expected, rtol=1e-8)
    check(lambda L, A: L.lobpcg(A, k=2), a[:5, :5])     # fewer than 3k rows


def test_lobpcg_gradient():
    """The eigenvalues' and the eigenvectors' gradients, as PyTorch's (both up to the
    eigenvectors' signs, which the sum of U * U leaves out)."""
    a = rng.standard_normal((12, 12))
    a = a @ a.T
    g = rng.standard_normal((12, 2))
    check(lambda L, A: L.lobpcg(A, k=2)[0], Grad(a), rtol=1e-6, atol=1e-7)
    check(lambda L, A, g: (L.lobpcg(A, k=2)[1] ** 2 * g).sum(), Grad(a), g, rtol=1e-4, atol=1e-5)
    check(lambda L, A: L.lobpcg(A, k=3, largest=False)[0].sum() +
          L.lobpcg(A, k=3, largest=False)[1].abs().sum(), Grad(a), rtol=1e-4, atol=1e-5)
    for L in (torch, ember):     # the generalized problem has no backward
        A = L.tensor(a, requires_grad=True)
        E, X = L.lobpcg(A, k=2, B=L.eye(12, dtype=L.float64) * 2)
        with pytest.raises(ValueError, match="B != I"):
            E.sum().backward()


def test_lobpcg_gradcheck():
    a = rng.standard_normal((9, 9))
    A = ember.tensor(a @ a.T, requires_grad=True)

    def top_pair(A):
        E, X = ember.lobpcg((A + A.mT) / 2, k=1, tol=1e-12)
        return E, X * X[0].sign()      # a sign-fixed eigenvector
    assert ember.autograd.gradcheck(top_pair, (A,), atol=1e-5, rtol=1e-4)


def test_norm_except_dim():
    check(lambda L, v: L.norm_except_dim(v, 2, 0), Grad(f64(3, 4)))
    check(lambda L, v: L.norm_except_dim(v, 3, 1), Grad(f64(3, 4, 2)))
    check(lambda L, v: L.norm_except_dim(v, 2, -1), Grad(f64(3, 4)))
    check(lambda L, v: L.norm_except_dim(v), Grad(f64(5)))


def test_as_strided_scatter():
    # values and src's gradient against torch; input's gradient by gradcheck, since
    # PyTorch 2.13's gives input the window's gradient instead of the rest's
    check(lambda L, x, s: L.as_strided_scatter(x, s, (2, 2), (1, 2), 1), f64(6),
          Grad(f64(2, 2)))
    check(lambda L, x, s: L.as_strided_scatter(x, s, (3,), (4,)), f64(3, 4), Grad(f64(3)))
    check(lambda L, x, s: L.as_strided_scatter(x, s, (2, 2), (1, 2)), f64(6), f64(3))
    check(lambda L, x, s: L.as_strided_scatter(x, s, (2, 3), (3, 1), 1), f64(6), f64(2, 3))
    x = ember.tensor(f64(6), requires_grad=True)
    s = ember.tensor(f64(2, 2), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda x, s: ember.as_strided_scatter(x, s, (2, 2), (1, 2), 1), (x, s))
    g = ember.autograd.grad(ember.as_strided_scatter(x, s, (2, 2), (1, 2), 1).sum(), x)[0]
    assert g.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]


def test_build_flags_and_other_autocast():
    assert ember.legacy_contiguous_format is ember.contiguous_format
    assert torch.legacy_contiguous_format is torch.contiguous_format
    assert ember.has_lapack and ember.has_spectral
    assert ember.has_mkl is False and ember.has_openmp is False
    check(lambda L, x: L.cudnn_is_acceptable(x), f32(2))
    for dev in ("ipu", "xla"):
        for L in (torch, ember):
            with pytest.warns(DeprecationWarning):
                assert getattr(L, f"is_autocast_{dev}_enabled")() is False
            with pytest.warns(DeprecationWarning):
                dt = getattr(L, f"get_autocast_{dev}_dtype")()
            assert str(dt).split(".")[-1] == {"ipu": "float16", "xla": "bfloat16"}[dev]
            with pytest.warns(DeprecationWarning):
                getattr(L, f"set_autocast_{dev}_enabled")(True)
            with pytest.warns(DeprecationWarning):
                assert getattr(L, f"is_autocast_{dev}_enabled")() is True
            with pytest.warns(DeprecationWarning):
                getattr(L, f"set_autocast_{dev}_enabled")(False)


@pytest.mark.parametrize("fn,args,kw", [
    ("sym_constrain_range", (5,), dict(min=0, max=10)),
    ("sym_constrain_range", (5,), dict(min=6, max=10)),
    ("sym_constrain_range", (5,), dict(max=4)),
    ("sym_constrain_range_for_size", (5,), {}),
    ("sym_constrain_range_for_size", (-1,), {}),
    ("sym_constrain_range_for_size", (1,), dict(min=2)),
])
def test_sym_constrain_range(fn, args, kw):
    try:
        expected = getattr(torch, fn)(*args, **kw)
    except RuntimeError as te:
        with pytest.raises(RuntimeError) as ei:
            getattr(ember, fn)(*args, **kw)
        assert str(ei.value) == str(te)
        return
    assert getattr(ember, fn)(*args, **kw) == expected


def test_gradcheck_torch_level_functions():
    gc = ember.autograd.gradcheck

    def T(a):
        return ember.tensor(a, requires_grad=True)
    assert gc(lambda x, w, b: ember.conv_tbc(x, w, b, 1), (T(f64(5, 2, 3)), T(f64(2, 3, 4)),
                                                            T(f64(4))))
    assert gc(lambda v: ember.norm_except_dim(v, 2, 1), (T(f64(3, 4)),))
    assert gc(lambda x: ember.native_group_norm(x, None, None, 2, 4, 3, 2, 1e-5),
              (T(f64(2, 4, 3)),))
    params = [T(f64(4, 3) / 2), T(f64(4, 4) / 2), T(f64(4) / 2), T(f64(4) / 2)]
    assert gc(lambda x, h, *p: ember.rnn_tanh(x, h, p, True, 1, 0.0, False, False, False),
              (T(f64(3, 2, 3)), T(f64(1, 2, 4)), *params))


# ---------------------------------------------------------------------------- what is left

BRIEF_GROUPS = {
    "constants": ["pi", "e", "inf", "nan", "newaxis", "layout", "memory_format",
                  "channels_last_3d", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc",
                  "jagged", "legacy_contiguous_format"],
    "in-place": ["addmv_", "as_strided_", "embedding_renorm_", "nan_to_num_"],
    "nn": ["binary_cross_entropy_with_logits", "cosine_embedding_loss", "ctc_loss", "kl_div",
           "hinge_embedding_loss", "margin_ranking_loss", "poisson_nll_loss",
           "triplet_margin_loss", "embedding_bag", "constant_pad_nd", "convolution", "conv_tbc",
           "grid_sampler", "grid_sampler_2d", "grid_sampler_3d", "affine_grid_generator",
           "native_layer_norm", "native_batch_norm", "native_group_norm", "native_dropout",
           "native_norm", "max_pool1d_with_indices", "rnn_tanh", "rnn_relu", "lstm", "gru",
           "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "norm_except_dim"],
    "math": ["gradient", "index_reduce", "nonzero_static", "frobenius_norm", "nuclear_norm",
             "binomial", "empty_permuted", "segment_reduce", "pca_lowrank", "svd_lowrank",
             "lobpcg", "detach_copy", "view_as_real_copy", "view_as_complex_copy",
             "slice_inverse", "hash_tensor", "solve", "lstsq", "symeig", "eig", "matrix_rank",
             "as_strided_scatter"],
    "utilities": ["sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_sqrt",
                  "sym_ite", "sym_sum", "sym_constrain_range", "sym_constrain_range_for_size",
                  "get_device_module", "set_anomaly_enabled", "to_dlpack", "is_distributed",
                  "compiled_with_cxx11_abi", "is_vulkan_available", "cond", "while_loop",
                  "compiler", "overrides", "has_lapack", "has_mkl", "has_openmp",
                  "has_spectral", "cudnn_is_acceptable", "is_autocast_ipu_enabled",
                  "get_autocast_ipu_dtype", "set_autocast_ipu_enabled",
                  "set_autocast_ipu_dtype", "is_autocast_xla_enabled", "get_autocast_xla_dtype",
                  "set_autocast_xla_enabled", "set_autocast_xla_dtype"],
}
TENSOR_METHODS = ["prelu", "hardshrink", "index_reduce", "index_reduce_", "nonzero_static",
                  "solve", "lstsq", "symeig", "eig"]


def test_no_name_of_the_groups_is_missing():
    in_torch = [n for names in BRIEF_GROUPS.values() for n in names if hasattr(torch, n)]
    assert len(in_torch) == sum(map(len, BRIEF_GROUPS.values()))   # the list is torch's
    assert [n for n in in_torch if not hasattr(ember, n)] == []
    inplace = [n for n in dir(torch) if n.endswith("_") and not n.startswith("_")
               and hasattr(ember.Tensor, n)]
    assert [n for n in inplace if not hasattr(ember, n)] == []
    assert [m for m in TENSOR_METHODS if hasattr(torch.Tensor, m)
            and not hasattr(ember.Tensor, m)] == []
