"""nn.init against its definitions: every initializer's distribution (Kolmogorov-Smirnov
statistic against the analytic CDF, moments, bounds), exact initializers against torch,
calculate_gain == torch's for every name, errors as torch; and every layer's default
initialisation (bounds and moments of its parameters and buffers)."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.nn import init

N = 20000


def ks_crit(n):
    """Kolmogorov-Smirnov critical value for n samples at alpha = 0.001."""
    return 1.95 / math.sqrt(n)


def normal_cdf(x, mean=0.0, std=1.0):
    return 0.5 * (1 + np.vectorize(math.erf)((x - mean) / (std * math.sqrt(2))))


def ks_stat(samples, cdf):
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = len(x)
    c = cdf(x)
    return max(np.max(np.arange(1, n + 1) / n - c), np.max(c - np.arange(n) / n))


def assert_uniform(t, a, b):
    x = t.detach().cpu().numpy().astype(np.float64)
    assert x.min() >= a and x.max() <= b
    assert ks_stat(x, lambda v: np.clip((v - a) / (b - a), 0, 1)) < ks_crit(x.size)


def assert_normal(t, mean, std):
    x = t.detach().cpu().numpy().astype(np.float64)
    assert ks_stat(x, lambda v: normal_cdf(v, mean, std)) < ks_crit(x.size)


def big(*shape, dtype=ember.float32):
    return ember.empty(*shape, dtype=dtype)


def test_uniform_normal_constant():
    ember.manual_seed(0)
    assert_uniform(init.uniform_(big(N)), 0, 1)
    assert_uniform(init.uniform_(big(100, 200), -3, 2), -3, 2)
    assert_normal(init.normal_(big(N)), 0, 1)
    assert_normal(init.normal_(big(200, 100), 2.0, 0.5), 2.0, 0.5)
    t = big(3, 4, dtype=ember.float64)
    assert init.constant_(t, 1.5) is t and t.dtype is ember.float64
    assert (t.cpu().numpy() == 1.5).all()
    assert (init.zeros_(t).cpu().numpy() == 0).all() and (init.ones_(t).cpu().numpy() == 1).all()


def test_uniform_with_generator_is_reproducible():
    g1, g2 = ember.Generator().manual_seed(3), ember.Generator().manual_seed(3)
    a = init.uniform_(big(5), generator=g1).cpu().numpy()
    b = init.uniform_(big(5), generator=g2).cpu().numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mean,std,a,b", [(0, 1, -2, 2), (1.0, 2.0, -1.0, 4.0),
                                          (0, 1, 0.5, 3.0)])
def test_trunc_normal(mean, std, a, b):
    ember.manual_seed(1)
    x = init.trunc_normal_(big(N), mean, std, a, b).cpu().numpy().astype(np.float64)
    assert x.min() >= a and x.max() <= b
    lo, hi = normal_cdf(np.array(a), mean, std), normal_cdf(np.array(b), mean, std)
    assert ks_stat(x, lambda v: (normal_cdf(v, mean, std) - lo) / (hi - lo)) < ks_crit(x.size)


@pytest.mark.parametrize("shape", [(300, 200), (40, 30, 3, 3), (500, 20, 5)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(shape, gain):
    ember.manual_seed(2)
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    assert_uniform(init.xavier_uniform_(big(*shape), gain), -std * 3 ** 0.5, std * 3 ** 0.5)
    assert_normal(init.xavier_normal_(big(*shape), gain), 0, std)


KAIMING = [("fan_in", "leaky_relu", 0), ("fan_in", "leaky_relu", math.sqrt(5)),
           ("fan_out", "relu", 0), ("fan_in", "tanh", 0), ("fan_out", "linear", 0),
           ("fan_in", "selu", 0), ("fan_out", "leaky_relu", 0.2), ("fan_in", "sigmoid", 0)]


@pytest.mark.parametrize("mode,nonlinearity,a", KAIMING)
@pytest.mark.parametrize("shape", [(200, 150), (50, 20, 3, 3)])
def test_kaiming(mode, nonlinearity, a, shape):
    ember.manual_seed(3)
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    fan = (shape[1] if mode == "fan_in" else shape[0]) * receptive
    gain = torch.nn.init.calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    t = init.kaiming_uniform_(big(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    assert_uniform(t, -std * 3 ** 0.5, std * 3 ** 0.5)
    t = init.kaiming_normal_(big(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    assert_normal(t, 0, std)


def test_kaiming_zero_element_warns():
    for L in (torch, ember):
        with pytest.warns(UserWarning):
            L.nn.init.kaiming_uniform_(L.empty(0, 3))


@pytest.mark.parametrize("shape", [(5, 8), (8, 5), (6, 6), (4, 2, 3), (3, 2, 2, 2)])
@pytest.mark.parametrize("gain", [1, 2.0])
def test_orthogonal(shape, gain):
    ember.manual_seed(4)
    q = init.orthogonal_(big(*shape), gain).cpu().numpy().reshape(shape[0], -1).astype(np.float64)
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_is_haar_distributed():
    """Entries of a random orthogonal n x n matrix times sqrt(n) are close to N(0, 1)."""
    ember.manual_seed(5)
    n = 150
    q = init.orthogonal_(big(n, n)).cpu().numpy() * math.sqrt(n)
    assert ks_stat(q, normal_cdf) < 3 * ks_crit(n * n)


@pytest.mark.parametrize("sparsity,std", [(0.1, 0.01), (0.5, 1.0), (0.9, 0.3)])
def test_sparse(sparsity, std):
    ember.manual_seed(6)
    rows, cols = 200, 100
    x = init.sparse_(big(rows, cols), sparsity, std).cpu().numpy()
    zeros_per_col = (x == 0).sum(0)
    assert (zeros_per_col == math.ceil(sparsity * rows)).all()
    assert_normal(ember.tensor(x[x != 0]), 0, std)


@pytest.mark.parametrize("shape,groups", [((4, 6, 3), 1), ((6, 4, 3, 3), 2), ((4, 4, 2, 3, 3), 1),
                                          ((2, 5, 3, 3), 1), ((6, 2, 3), 3)])
def test_dirac_and_eye_match_torch(shape, groups):
    t = torch.nn.init.dirac_(torch.empty(shape), groups)
    e = init.dirac_(ember.empty(*shape), groups)
    np.testing.assert_array_equal(e.cpu().numpy(), t.cpu().numpy())
    for s in ((3, 5), (5, 3), (4, 4)):
        np.testing.assert_array_equal(init.eye_(ember.empty(*s)).cpu().numpy(),
                                      torch.nn.init.eye_(torch.empty(s)).cpu().numpy())


GAINS = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
         ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
         ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
         ("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", 3), ("selu", None)]


@pytest.mark.parametrize("name,param", GAINS)
def test_calculate_gain(name, param):
    assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


ERRORS = [
    lambda L: L.nn.init.calculate_gain("softmax"),
    lambda L: L.nn.init.calculate_gain("leaky_relu", "x"),
    lambda L: L.nn.init.calculate_gain("leaky_relu", True),
    lambda L: L.nn.init.xavier_uniform_(L.empty(3)),
    lambda L: L.nn.init.kaiming_normal_(L.empty(3, 4), mode="fan_avg"),
    lambda L: L.nn.init.eye_(L.empty(2, 2, 2)),
    lambda L: L.nn.init.dirac_(L.empty(2, 2)),
    lambda L: L.nn.init.dirac_(L.empty(3, 2, 2), groups=2),
    lambda L: L.nn.init.orthogonal_(L.empty(3)),
    lambda L: L.nn.init.sparse_(L.empty(2, 2, 2), 0.1),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_init_errors(i):
    with pytest.raises(Exception) as te:
        ERRORS[i](torch)
    with pytest.raises(type(te.value)):
        ERRORS[i](ember)


def test_init_keeps_leaf_and_dtype():
    p = ember.nn.Parameter(ember.empty(30, 20, dtype=ember.float64))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
               init.orthogonal_, init.trunc_normal_, init.zeros_, init.eye_):
        out = fn(p)
        assert out is p and p.grad_fn is None and p.is_leaf and p.dtype is ember.float64


# ----------------------------------------------------------------------- layer defaults

def bound_check(t, bound, kind="uniform"):
    x = t.detach().cpu().numpy().astype(np.float64).ravel()
    if kind == "uniform":
        assert np.abs(x).max() <= bound + 1e-7
        assert np.abs(x).max() > 0.5 * bound  # actually spread over the interval
        if x.size >= 2000:
            assert_uniform(t.detach().reshape(-1), -bound, bound)
    else:
        assert_normal(t.detach().reshape(-1), 0, bound)


def linear_bound(fan_in):
    return 1 / math.sqrt(fan_in)


LAYER_DEFAULTS = [
    ("Linear", lambda: ember.nn.Linear(400, 300),
     {"weight": ("uniform", linear_bound(400)), "bias": ("uniform", linear_bound(400))}),
    ("Bilinear", lambda: ember.nn.Bilinear(30, 20, 10),
     {"weight": ("uniform", linear_bound(30)), "bias": ("uniform", linear_bound(30))}),
    ("Conv1d", lambda: ember.nn.Conv1d(16, 64, 5),
     {"weight": ("uniform", linear_bound(16 * 5)), "bias": ("uniform", linear_bound(16 * 5))}),
    ("Conv2d-groups", lambda: ember.nn.Conv2d(32, 64, 3, groups=4),
     {"weight": ("uniform", linear_bound(8 * 9)), "bias": ("uniform", linear_bound(8 * 9))}),
    ("Conv3d", lambda: ember.nn.Conv3d(4, 32, 3),
     {"weight": ("uniform", linear_bound(4 * 27)), "bias": ("uniform", linear_bound(4 * 27))}),
    ("ConvTranspose2d", lambda: ember.nn.ConvTranspose2d(32, 16, 3),
     {"weight": ("uniform", linear_bound(16 * 9)), "bias": ("uniform", linear_bound(16 * 9))}),
    ("RNN", lambda: ember.nn.RNN(20, 50, num_layers=2),
     {n: ("uniform", linear_bound(50)) for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                 "bias_hh_l1")}),
    ("LSTM", lambda: ember.nn.LSTM(20, 64, bidirectional=True),
     {n: ("uniform", linear_bound(64)) for n in ("weight_ih_l0", "weight_hh_l0_reverse",
                                                 "bias_ih_l0")}),
    ("GRU", lambda: ember.nn.GRU(10, 40),
     {n: ("uniform", linear_bound(40)) for n in ("weight_ih_l0", "weight_hh_l0")}),
    ("LSTMCell", lambda: ember.nn.LSTMCell(10, 40),
     {n: ("uniform", linear_bound(40)) for n in ("weight_ih", "weight_hh", "bias_hh")}),
    ("Embedding", lambda: ember.nn.Embedding(1000, 20), {"weight": ("normal", 1.0)}),
    ("MultiheadAttention", lambda: ember.nn.MultiheadAttention(64, 4),
     {"in_proj_weight": ("uniform", math.sqrt(6 / (64 + 192))),
      "out_proj.weight": ("uniform", linear_bound(64))}),
]


@pytest.mark.parametrize("name,make,expect", LAYER_DEFAULTS, ids=[c[0] for c in LAYER_DEFAULTS])
def test_layer_default_init(name, make, expect):
    ember.manual_seed(7)
    m = make()
    params = dict(m.named_parameters())
    for pname, (kind, bound) in expect.items():
        bound_check(params[pname], bound, kind)


def test_constant_defaults_match_torch():
    def build(L):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [L.nn.BatchNorm1d(5), L.nn.BatchNorm2d(3, affine=False), L.nn.LayerNorm(4),
                    L.nn.GroupNorm(2, 4), L.nn.InstanceNorm1d(3, affine=True), L.nn.PReLU(3),
                    L.nn.Embedding(5, 3, padding_idx=2), L.nn.MultiheadAttention(4, 2),
                    L.nn.RMSNorm(4)]
    for tm, em in zip(build(torch), build(ember)):
        t_state, e_state = tm.state_dict(), em.state_dict()
        assert list(t_state) == list(e_state), type(tm).__name__
        for k, v in t_state.items():
            if type(tm).__name__ in ("Embedding", "MultiheadAttention") and "weight" in k:
                continue  # random; checked above (padding row below)
            np.testing.assert_array_equal(e_state[k].cpu().numpy(), v.cpu().numpy(), err_msg=f"{tm} {k}")
    emb = ember.nn.Embedding(5, 3, padding_idx=2)
    assert (emb.weight.detach().cpu().numpy()[2] == 0).all()
    mha = ember.nn.MultiheadAttention(4, 2, add_bias_kv=True)
    assert (mha.in_proj_bias.detach().cpu().numpy() == 0).all()
    assert (mha.out_proj.bias.detach().cpu().numpy() == 0).all()
