"""nn additions against torch: fractional max pooling (with explicit random samples),
AdaptiveLogSoftmaxWithLoss (copied weights), feature alpha dropout (statistics, masks per
channel), LPPool3d, CrossMapLRN2d, gumbel_softmax (the same Gumbel noise in both), pdist,
the *_with_indices poolings, the in-place activations, linear_cross_entropy and grouped_mm."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck
from tests.oracle.harness import Grad, T, assert_same, check, to_numpy

from ._compare import compare_module, copy_state

rng = np.random.default_rng(5)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def samples(n, c, nd, dtype=np.float32):
    return rng.random((n, c, nd)).astype(dtype)


# ---------------------------------------------------------------------------- fractional

FRACTIONAL = [
    # nd, input shape, kernel, output_size, output_ratio
    (2, (2, 3, 9, 11), (2, 3), (4, 5), None),
    (2, (1, 2, 7, 7), 2, 6, None),
    (2, (2, 2, 8, 10), 3, None, (0.5, 0.7)),
    (2, (3, 8, 9), 2, (3, 4), None),            # unbatched
    (3, (2, 2, 6, 7, 8), (2, 3, 2), (3, 4, 5), None),
    (3, (2, 5, 6, 5), 2, None, (0.5, 0.6, 0.7)),   # unbatched
]


@pytest.mark.parametrize("nd,shape,k,size,ratio", FRACTIONAL)
def test_fractional_max_pool_matches_torch(nd, shape, k, size, ratio):
    batch = shape[0] if len(shape) == nd + 2 else 1
    s = samples(batch, shape[-nd - 1], nd)

    def fn(lib, x, s):
        F = lib.nn.functional
        return getattr(F, f"fractional_max_pool{nd}d")(x, k, output_size=size, output_ratio=ratio,
                                                       return_indices=True, _random_samples=s)
    check(fn, Grad(f32(*shape)), s, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_fractional_max_pool_dtypes(dtype):
    x = f32(2, 2, 9, 9).astype(dtype)
    s = samples(2, 2, 2, dtype)
    check(lambda L, x, s: L.nn.functional.fractional_max_pool2d_with_indices(
        x, 2, (5, 4), _random_samples=s), x, s, rtol=0, atol=0)


def test_fractional_max_pool_grad_fn_and_nan():
    x = np.array([[[[1.0, np.nan, 3.0, np.nan], [0, 0, 5, 0]]]], dtype=np.float32)
    s = samples(1, 1, 2)
    check(lambda L, x, s: L.nn.functional.fractional_max_pool2d(
        x, (2, 4), output_size=1, return_indices=True, _random_samples=s), x, s)
    for nd in (2, 3):
        e = ember.randn((1, 2) + (5,) * nd, requires_grad=True)
        y = getattr(ember.nn.functional, f"fractional_max_pool{nd}d")(e, 2, output_size=3)
        assert y.grad_fn.name() == f"FractionalMaxPool{nd}DBackward0"


def test_fractional_max_pool_gradcheck():
    x = ember.tensor(rng.standard_normal((1, 2, 6, 7)), requires_grad=True)
    s = ember.tensor(samples(1, 2, 2, np.float64))
    assert gradcheck(lambda x: ember.nn.functional.fractional_max_pool2d(
        x, 2, output_size=(4, 5), _random_samples=s), (x,))
    x3 = ember.tensor(rng.standard_normal((1, 1, 4, 5, 4)), requires_grad=True)
    s3 = ember.tensor(samples(1, 1, 3, np.float64))
    assert gradcheck(lambda x: ember.nn.functional.fractional_max_pool3d(
        x, 2, output_size=(3, 3, 2), _random_samples=s3), (x3,))


def test_fractional_max_pool_gradgradcheck():
    x = ember.tensor(rng.standard_normal((1, 2, 5, 6)), requires_grad=True)
    s = ember.tensor(samples(1, 2, 2, np.float64))
    assert gradgradcheck(lambda x: ember.nn.functional.fractional_max_pool2d(
        x, 2, output_size=(3, 4), _random_samples=s), (x,))


def test_fractional_max_pool_draws_samples():
    """Without samples, each call draws windows: values are window maxima of the input."""
    x = ember.randn(2, 3, 8, 8)
    v, i = ember.nn.functional.fractional_max_pool2d(x, 2, output_size=4, return_indices=True)
    assert tuple(v.shape) == (2, 3, 4, 4)
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(to_numpy(flat.gather(2, i.reshape(2, 3, -1)).reshape(v.shape)),
                                  to_numpy(v))


FRACTIONAL_ERRORS = [
    (2, (2, 3, 6, 6), dict(kernel_size=2, output_size=6)),
    (2, (2, 3, 6, 6), dict(kernel_size=2)),
    (2, (2, 3, 6, 6), dict(kernel_size=2, output_size=3, _random_samples=samples(2, 3, 2,
                                                                                 np.float64))),
    (2, (2, 3, 6, 6), dict(kernel_size=2, output_size=3, _random_samples=samples(2, 3, 3))),
    (2, (2, 3, 6, 6), dict(kernel_size=2, output_size=3, _random_samples=samples(1, 3, 2))),
    (2, (2, 3, 6, 6), dict(kernel_size=2, output_size=3, _random_samples=samples(2, 2, 2))),
    (2, (6, 6), dict(kernel_size=2, output_size=3)),
    (2, (2, 3, 6, 6), dict(kernel_size=2, output_ratio=0.5)),   # PyTorch's len() of a float
    (2, (1, 1, 1, 6, 6), dict(kernel_size=2, output_size=3)),
    (3, (1, 2, 5, 5, 5), dict(kernel_size=(1, 5, 1), output_size=2)),
    (3, (1, 2, 5, 5, 5), dict(kernel_size=2, output_size=3, _random_samples=samples(1, 2, 2))),
]


@pytest.mark.parametrize("nd,shape,kw", FRACTIONAL_ERRORS)
def test_fractional_max_pool_errors_like_torch(nd, shape, kw):
    kw = dict(kw)
    s = kw.pop("_random_samples", None)

    def fn(lib, x, s):
        return getattr(lib.nn.functional, f"fractional_max_pool{nd}d")(x, _random_samples=s, **kw)
    with pytest.raises(Exception) as te:
        fn(torch, torch.from_numpy(f32(*shape)), None if s is None else torch.from_numpy(s))
    with pytest.raises(type(te.value)):
        fn(ember, T(ember, f32(*shape)), None if s is None else T(ember, s))


def test_fractional_max_pool_int_input_not_implemented():
    x = np.ones((1, 1, 5, 5), dtype=np.int32)
    for lib in (torch, ember):
        with pytest.raises(NotImplementedError):
            lib.nn.functional.fractional_max_pool2d(T(lib, x), 2, output_size=3,
                                                    _random_samples=T(lib, x[0, :, :1, :2]))


@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_max_pool_module(nd):
    shape = (2, 3) + (7,) * nd
    s = samples(2, 3, nd)
    compare_module(lambda L: getattr(L.nn, f"FractionalMaxPool{nd}d")(
        2, output_size=4, return_indices=True, _random_samples=T(L, s)),
        [Grad(f32(*shape))], rtol=0, atol=0)


def test_fractional_max_pool_module_arguments():
    for lib in (torch, ember):
        for kw in (dict(), dict(output_size=2, output_ratio=0.5), dict(output_ratio=1.5)):
            with pytest.raises(ValueError):
                lib.nn.FractionalMaxPool2d(2, **kw)
        with pytest.raises(ValueError):
            lib.nn.FractionalMaxPool3d(0, output_size=2)


# ---------------------------------------------------------------------------- adaptive softmax

@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(head_bias):
    target = np.array([0, 4, 9, 2, 7, 7, 1, 5])

    def make(L):
        return L.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=head_bias)
    compare_module(make, [Grad(f32(8, 8)), target])
    tm, em = make(torch), make(ember)
    copy_state(tm, em)
    x = f32(5, 8)
    out = em(T(ember, x), T(ember, target[:5]))
    assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")
    assert_same(em.log_prob(T(ember, x)), tm.log_prob(torch.from_numpy(x)), 1e-5, 1e-5)
    assert_same(em.predict(T(ember, x)), tm.predict(torch.from_numpy(x)))
    # unbatched: a 1-D input and a 0-dim target
    assert_same(em(T(ember, x[0]), T(ember, np.array(7)))[0],
                tm(torch.from_numpy(x[0]), torch.tensor(7))[0], 1e-5, 1e-5)


def test_adaptive_log_softmax_errors_like_torch():
    for lib in (torch, ember):
        with pytest.raises(ValueError):
            lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [])
        with pytest.raises(ValueError):
            lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [6, 3])
        with pytest.raises(ValueError):
            lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 10])
        m = lib.nn.AdaptiveLogSoftmaxWithLoss(4, 6, [2])
        for x, t in [(np.zeros((3, 4), np.float32), np.array([0, 1, 6])),
                     (np.zeros((3, 4), np.float32), np.array([0, 1])),
                     (np.zeros((2, 4), np.float32), np.array(1)),
                     (np.zeros((2, 4), np.float32), np.zeros((2, 1), np.int64))]:
            with pytest.raises(RuntimeError):
                m(T(lib, x), T(lib, t))


# ---------------------------------------------------------------------------- dropout

def test_feature_alpha_dropout_statistics_and_masks():
    x = ember.tensor(f32(400, 6, 3, 2))
    y = ember.nn.functional.feature_alpha_dropout(x, 0.3, training=True)
    kept = to_numpy((y - (x * 0 + y[..., :1, :1])).abs().sum((2, 3))) > 0
    # each (N, C) plane is kept (an affine map of x) or a constant (alpha' a + b)
    a = ((1 - 0.3) * (1 + 0.3 * 1.7580993408473766 ** 2)) ** -0.5
    dropped = np.isclose(to_numpy(y), -1.7580993408473766 * a * (1 - 0.3)).all(axis=(2, 3))
    assert (kept ^ dropped).all()
    assert abs(dropped.mean() - 0.3) < 0.05
    # SELU-normal input keeps zero mean and unit variance
    assert abs(float(y.mean())) < 0.05 and abs(float(y.var()) - 1) < 0.06
    xx = ember.tensor(f32(4, 5))
    for lib_fn in (ember.nn.functional.feature_alpha_dropout,):
        assert lib_fn(xx, 0.5) is xx                       # training=False by default
        assert lib_fn(xx, 0.0, True) is xx


def test_feature_alpha_dropout_like_torch():
    for lib in (torch, ember):
        F = lib.nn.functional
        with pytest.raises(RuntimeError):
            F.feature_alpha_dropout(lib.ones(3), 0.5, True)
        with pytest.raises(ValueError):
            F.feature_alpha_dropout(lib.ones(2, 3), 1.5, True)
        y = F.feature_alpha_dropout(lib.ones(2, 3, 4), 1.0, True)
        assert to_numpy(y).tolist() == np.zeros((2, 3, 4)).tolist()
        x = lib.ones(2, 3, 4, requires_grad=True)
        assert F.feature_alpha_dropout(x, 0.5, True).grad_fn.name() == "AddBackward0"
        m = lib.nn.FeatureAlphaDropout(0.4)
        z = lib.ones(2, 3, 4)
        assert m.eval()(z) is z
        # torch-level in-place spellings write into their input
        for name in ("feature_alpha_dropout_", "alpha_dropout_", "feature_dropout_"):
            z = lib.ones(2, 3, 4)
            assert getattr(lib, name)(z, 0.5, True) is z
            planes = to_numpy(z)
            if name != "alpha_dropout_":   # one value per (N, C) plane
                assert (planes == planes[..., :1]).all()
        z = lib.ones(2, 3, 4)
        assert to_numpy(lib.feature_alpha_dropout(z, 0.5, False)).tolist() == to_numpy(z).tolist()


def test_feature_alpha_dropout_gradient_is_the_mask():
    x = ember.ones(50, 4, 3, requires_grad=True)
    y = ember.nn.functional.feature_alpha_dropout(x, 0.5, True)
    y.sum().backward()
    a = ((1 - 0.5) * (1 + 0.5 * 1.7580993408473766 ** 2)) ** -0.5
    g = to_numpy(x.grad)
    assert np.isclose(g, 0).sum() + np.isclose(g, a).sum() == g.size
    assert (g == g[..., :1]).all()


# ---------------------------------------------------------------------------- LP / LRN

def test_lp_pool3d():
    x = np.abs(f32(1, 2, 4, 5, 4)) + 0.1
    check(lambda L, x: L.nn.functional.lp_pool3d(x, 2, 2), Grad(x))
    compare_module(lambda L: L.nn.LPPool3d(1.5, (2, 3, 2), 1), [Grad(x)], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("size,channels", [(2, 5), (3, 1), (3, 6), (4, 6), (5, 3), (7, 9)])
def test_cross_map_lrn2d_matches_torch(size, channels):
    compare_module(lambda L: L.nn.CrossMapLRN2d(size, 0.5, 0.75, 1.5),
                   [Grad(f32(2, channels, 3, 2))], rtol=1e-5, atol=1e-6)


def test_cross_map_lrn2d_errors_like_torch():
    for lib in (torch, ember):
        with pytest.raises(ValueError):
            lib.nn.CrossMapLRN2d(3)(lib.ones(2, 3, 4))
        x = lib.ones(1, 3, 2, 2, requires_grad=True)
        y = lib.nn.CrossMapLRN2d(1)(x)   # size 1: PyTorch's legacy backward fails
        with pytest.raises(RuntimeError):
            y.sum().backward()


# ---------------------------------------------------------------------------- gumbel softmax

@pytest.fixture
def fixed_exponential(monkeypatch):
    """exponential_ fills with the same fixed values in torch and ember, so that
    gumbel_softmax draws the same Gumbel noise in both."""
    values = {}

    def fill(lib):
        def exponential_(self, lambd=1.0, *, generator=None):
            shape = tuple(self.shape)
            if shape not in values:
                values[shape] = rng.exponential(1.0, shape)
            src = values[shape].astype(to_numpy(self).dtype)
            with lib.no_grad():
                self.copy_(T(lib, src))
            return self
        return exponential_
    monkeypatch.setattr(torch.Tensor, "exponential_", fill(torch))
    monkeypatch.setattr(ember.Tensor, "exponential_", fill(ember))


@pytest.mark.parametrize("tau,hard,dim", [(1.0, False, -1), (0.5, True, -1), (2.0, True, 0),
                                          (0.7, False, 1)])
def test_gumbel_softmax_matches_torch(fixed_exponential, tau, hard, dim):
    check(lambda L, x: L.nn.functional.gumbel_softmax(x, tau=tau, hard=hard, dim=dim),
          Grad(f32(4, 5)))


def test_gumbel_softmax_hard_is_one_hot_straight_through(fixed_exponential):
    x = ember.tensor(rng.standard_normal((3, 6)), requires_grad=True)
    y = ember.nn.functional.gumbel_softmax(x, tau=0.5, hard=True)
    assert (to_numpy(y).sum(-1) == 1).all() and set(np.unique(to_numpy(y))) <= {0, 1}
    # the gradient is the soft sample's (the noise is the same fixed draw in both calls)
    w = ember.tensor(rng.standard_normal((3, 6)))
    g_hard, = ember.autograd.grad((y * w).sum(), x)
    soft = ember.nn.functional.gumbel_softmax(x, tau=0.5, hard=False)
    g_soft, = ember.autograd.grad((soft * w).sum(), x)
    np.testing.assert_allclose(to_numpy(g_hard), to_numpy(g_soft), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x: ember.nn.functional.gumbel_softmax(x, tau=0.5), (x,))
    with pytest.warns(UserWarning):
        ember.nn.functional.gumbel_softmax(x, eps=1e-3)


# ---------------------------------------------------------------------------- pdist / indices

@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, math.inf])
def test_pdist_matches_torch(p):
    x = f32(5, 3)
    x[3] = x[1]   # a zero distance: the gradient PyTorch gives there
    check(lambda L, x: L.nn.functional.pdist(x, p), Grad(x), rtol=1e-5, atol=1e-5)
    check(lambda L, x: L.pdist(x, p), Grad(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_max_pool_with_indices(nd):
    shape = (2, 3) + (7, 5, 6)[:nd]
    fn = f"adaptive_max_pool{nd}d_with_indices"
    check(lambda L, x: getattr(L.nn.functional, fn)(x, (3, 2, 4)[:nd]), Grad(f32(*shape)))


# ---------------------------------------------------------------------------- in-place activations

INPLACE = [
    ("elu_", (), {}), ("elu_", (0.5,), {}), ("celu_", (), {"alpha": 2.0}), ("selu_", (), {}),
    ("hardtanh_", (-0.5, 0.7), {}), ("leaky_relu_", (0.2,), {}), ("threshold_", (0.1, -3.0), {}),
    ("rrelu_", (0.1, 0.3), {}),     # training=False: the mean slope, deterministic
]


@pytest.mark.parametrize("name,args,kwargs", INPLACE, ids=[f"{c[0]}-{i}" for i, c in
                                                          enumerate(INPLACE)])
def test_inplace_activations(name, args, kwargs):
    def fn(lib, x):
        y = x * 1.0                        # a non-leaf, so it may be written in place
        r = getattr(lib.nn.functional, name)(y, *args, **kwargs)
        assert r is y
        return y
    check(fn, Grad(f32(3, 4)))
    for lib in (torch, ember):   # a leaf that requires grad may not be written in place
        with pytest.raises(RuntimeError):
            getattr(lib.nn.functional, name)(lib.ones(2, requires_grad=True), *args, **kwargs)


def test_rrelu_inplace_training_slopes():
    for lib in (torch, ember):
        x = -lib.ones(200)
        r = lib.rrelu_(x, 0.1, 0.3, True)
        assert r is x
        v = -to_numpy(x)
        assert ((v >= 0.1) & (v <= 0.3)).all() and v.std() > 0.03


# ---------------------------------------------------------------------------- linear cross entropy

LCE = [
    # input, weight shape, target, kwargs
    ((5, 3), (4, 3), np.array([0, 1, 3, 2, 1]), {}),
    ((5, 3), (4, 3), np.array([0, 1, 3, 2, 1]), {"reduction": "sum", "label_smoothing": 0.2}),
    ((5, 3), (4, 3), np.array([0, -100, 3, 2, 1]), {"reduction": "none"}),
    ((5, 3), (4, 3), np.array([0, 7, 3, 2, 7]), {"ignore_index": 7}),
    ((3,), (4, 3), np.array(2), {}),
    ((5, 3), (4, 2, 3), np.array([[0, 1], [3, 2], [1, 1], [0, 0], [2, 3]]), {}),
    ((5, 3), (4, 3), None, {}),                        # class probabilities
    ((5, 3), (4, 3), None, {"ignore_index": 1}),       # refused with probabilities
    ((5, 3), (4, 2), np.array([0, 1, 3, 2, 1]), {}),   # in_features differ
    ((3,), (4, 2, 3), np.array(1), {}),                # K-dim needs a batch
    ((2, 5, 3), (4, 3), np.array([0, 1]), {}),
]


@pytest.mark.parametrize("ishape,wshape,target,kwargs", LCE)
def test_linear_cross_entropy_matches_torch(ishape, wshape, target, kwargs):
    if target is None:
        target = rng.dirichlet(np.ones(wshape[0]), ishape[0]).astype(np.float32)
    bias = f32(*wshape[:-1])
    check(lambda L, x, w, t, b: L.nn.functional.linear_cross_entropy(
        x, w, t, linear_bias=b, **kwargs), Grad(f32(*ishape)), Grad(f32(*wshape)), target,
        Grad(bias))


def test_linear_cross_entropy_options_give_the_same_values():
    x, w, t = f32(6, 3), f32(5, 3), np.array([0, 4, 1, 2, 3, 3])
    opts = {"allow_retain_graph": True, "batch_chunk_size": 2}
    check(lambda L, x, w, t: L.nn.functional.linear_cross_entropy(
        x, w, t, options=L.nn.LinearCrossEntropyOptions(**opts)), Grad(x), Grad(w), t)


@pytest.mark.parametrize("kwargs,target", [
    ({"bias": True}, np.array([0, 1, 3, 2, 1])),
    ({"out_features": (2,), "reduction": "none", "label_smoothing": 0.1},
     np.array([[0, 1], [3, 2], [1, 1], [0, 0], [2, 3]])),
    ({"weight": "w", "ignore_index": 3}, np.array([0, 1, 3, 2, 1]))])
def test_linear_cross_entropy_loss_module(kwargs, target):
    w = np.abs(f32(4)) + 0.5

    def make(L):
        kw = dict(kwargs)
        if kw.get("weight") == "w":
            kw["weight"] = T(L, w)
        return L.nn.LinearCrossEntropyLoss(3, 4, **kw)
    compare_module(make, [Grad(f32(5, 3)), target])


def test_linear_cross_entropy_loss_arguments():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError):
            lib.nn.LinearCrossEntropyLoss(3, 4, weight=lib.ones(3))
        with pytest.raises(RuntimeError):
            lib.nn.LinearCrossEntropyLoss(3, 4, label_smoothing=1.5)


# ---------------------------------------------------------------------------- grouped mm

OFFS = np.array([3, 8], dtype=np.int32)
GROUPED = [
    (Grad(f32(8, 4)), Grad(f32(2, 4, 8)), OFFS),
    (f32(10, 4), f32(2, 4, 8), OFFS),     # rows after the last group (unwritten in torch)
    (Grad(f32(2, 4, 4)), Grad(f32(2, 4, 8)), None),
    (Grad(f32(4, 8)), Grad(f32(8, 4)), OFFS),
    (Grad(f32(2, 4, 4)), Grad(f32(4, 8)), OFFS),
    (f32(8, 4), f32(2, 4, 8), None),                  # offsets missing
    (f32(2, 4, 4), f32(2, 4, 8), OFFS),               # offsets with two 3-D operands
    (f32(8, 4), f32(2, 4, 8), OFFS.astype(np.int64)),
    (f32(2, 4, 8), f32(2, 4, 8), None),
    (f32(2, 4, 8), f32(3, 8, 8), None),
    (f32(8), f32(2, 8, 8), None),
    (f32(8, 4), f32(3, 4, 8), OFFS),
    (f32(2, 4, 2), f32(2, 2, 8), None),               # rows of 8 bytes
    (f32(2, 4, 8), f32(2, 8, 8).astype(np.float64), None),
    (f32(2, 4, 8).astype(np.float64), f32(2, 8, 8).astype(np.float64), None),
]


@pytest.mark.parametrize("a,b,offs", GROUPED)
def test_grouped_mm_matches_torch(a, b, offs):
    check(lambda L, a, b, offs: L.nn.functional.grouped_mm(a, b, offs=offs)[:8], a, b, offs,
          rtol=1e-5, atol=1e-5)


def test_grouped_mm_refuses_like_torch():
    a, b = f32(2, 4, 4), f32(2, 4, 4)
    for kw in ({"bias": "b"}, {"out_dtype": "float64"}):
        for lib in (torch, ember):
            k = {n: (T(lib, f32(2, 4)) if v == "b" else getattr(lib, v)) for n, v in kw.items()}
            with pytest.raises(RuntimeError):
                lib.nn.functional.grouped_mm(T(lib, a), T(lib, b), **k)


def test_scaled_grouped_mm_not_implemented():
    with pytest.raises(NotImplementedError):
        ember.nn.functional.scaled_grouped_mm(ember.ones(2, 4, 16), ember.ones(2, 16, 8), None,
                                              None, None, None)
    with pytest.raises(NotImplementedError):
        ember.nn.functional.scaled_mm(ember.ones(4, 16), ember.ones(16, 8), None, None, None,
                                      None)


def test_functional_constants_and_torch_function_checks():
    F, TF = ember.nn.functional, torch.nn.functional
    for enum_name in ("ScalingType", "SwizzleType"):
        ours, theirs = getattr(F, enum_name), getattr(TF, enum_name)
        assert {k: int(v) for k, v in ours.__members__.items()} == \
            {k: int(v.value) for k, v in theirs.__members__.items()}
        assert [repr(v) for v in ours.__members__.values()] == \
            [repr(v) for v in theirs.__members__.values()]
    assert F.GRID_SAMPLE_INTERPOLATION_MODES == TF.GRID_SAMPLE_INTERPOLATION_MODES
    assert F.GRID_SAMPLE_PADDING_MODES == TF.GRID_SAMPLE_PADDING_MODES
    x = ember.ones(2)
    assert F.has_torch_function((x,)) is False
    assert F.has_torch_function_unary(x) is False
    assert F.has_torch_function_variadic(x, x) is False
