"""ember's CPU generator reproduces PyTorch's random stream: the same seed gives the same
samples (random factories, in-place samplers, nn.init, dropout, samplers, DataLoader
shuffles, distributions), and generator states are PyTorch's 5056-byte layout,
exchangeable both ways.

Not PyTorch's values, by design: Wishart (PyTorch 2.13 redraws every sample up to ten
times, from an inverted singularity test, and warns each time), LKJCholesky (PyTorch's
sampler is biased, see test_lkj_correlations_are_exchangeable)."""
import platform
import struct

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _np(t):
    t = t.detach()
    if str(t.dtype).endswith(("bfloat16", "float16")):
        t = t.float()
    return t.numpy()


# name -> program (run once with torch, once with ember bound to `t`)
EXACT = {
    "rand": lambda t: t.rand(5, 7),
    "rand_float64": lambda t: t.rand(5, 7, dtype=t.float64),
    "rand_float16": lambda t: t.rand(100, dtype=t.float16),
    "rand_bfloat16": lambda t: t.rand(100, dtype=t.bfloat16),
    "rand_complex64": lambda t: t.rand(3, dtype=t.complex64),
    "randn_small": lambda t: t.randn(3),
    "randn_small_twice": lambda t: (t.randn(3), t.randn(3, dtype=t.float64))[1],
    "randn_5_float16": lambda t: t.randn(5, dtype=t.float16),
    "randn_37_float16": lambda t: t.randn(37, dtype=t.float16),
    "randn_37_bfloat16": lambda t: t.randn(37, dtype=t.bfloat16),
    "randn_complex_small": lambda t: t.randn(3, dtype=t.complex64),
    "normal_transposed_view": lambda t: t.zeros(6, 5).t().normal_(),
    "uniform_transposed_view": lambda t: t.zeros(6, 5).t().uniform_(-2, 3),
    "uniform_bounds": lambda t: t.empty(300).uniform_(-0.3, 0.7),
    # float64: u * (to - from) + from and z * std + mean as one fused multiply-add
    "uniform_bounds_float64": lambda t: t.empty(3000, dtype=t.float64).uniform_(-3.7, 11.3),
    "uniform_float64_pieces": lambda t: t.empty(70000, dtype=t.float64).uniform_(0.1, 0.2),
    "normal_float64_small": lambda t: t.empty(15, dtype=t.float64).normal_(0.3, 1.7),
    "normal_float64_block": lambda t: t.empty(64, dtype=t.float64).normal_(-2.0, 0.01),
    "normal_tensors_small": lambda t: t.normal(t.arange(5.), t.ones(5) * 3),
    "randint": lambda t: t.randint(-5, 7, (4, 5)),
    "randint_wide": lambda t: t.randint(0, 2 ** 40, (4,)),
    "randint_int32": lambda t: t.randint(0, 100, (9,), dtype=t.int32),
    "randint_float": lambda t: t.randint(0, 100, (9,), dtype=t.float32),
    "randperm_small": lambda t: t.randperm(50),
    "randperm_large": lambda t: t.randperm(9000),
    "random_int64": lambda t: t.empty(5, dtype=t.int64).random_(),
    "random_float32": lambda t: t.empty(5).random_(),
    "random_uint8": lambda t: t.empty(5, dtype=t.uint8).random_(),
    "random_bool": lambda t: t.empty(5, dtype=t.bool).random_(),
    "random_to": lambda t: t.empty(5).random_(10),
    "random_from_to": lambda t: t.empty(5, dtype=t.int32).random_(3, 10),
    "bernoulli_scalar": lambda t: t.empty(50).bernoulli_(0.3),
    "bernoulli_probs": lambda t: t.bernoulli(t.rand(30)),
    "bernoulli_probs_float64": lambda t: t.bernoulli(t.rand(30, dtype=t.float64)),
    "bernoulli_tensor_p": lambda t: t.empty(4, 5).bernoulli_(t.rand(5)),
    "exponential": lambda t: t.empty(30).exponential_(2.0),
    "geometric": lambda t: t.empty(30).geometric_(0.2),
    "log_normal": lambda t: t.empty(7).log_normal_(),
    "cauchy": lambda t: t.empty(7).cauchy_(),
    "multinomial_replacement": lambda t: t.multinomial(
        t.tensor([[0.1, 0.5, 0.4], [1., 2., 3.]]), 10, True),
    "multinomial_no_replacement": lambda t: t.multinomial(
        t.tensor([[0.1, 0.5, 0.4, 0.2], [1., 2., 3., 4.]]), 3),
    "multinomial_one": lambda t: t.multinomial(t.tensor([0.1, 0.5, 0.4, 0.2]), 1, True),
    "dropout": lambda t: t.nn.functional.dropout(t.ones(10, 10), 0.3),
    "dropout_transposed": lambda t: t.nn.functional.dropout(t.arange(12.).reshape(3, 4).t(), 0.5),
    "dropout2d": lambda t: t.nn.functional.dropout2d(t.ones(2, 6, 3, 3), 0.3),
    "alpha_dropout": lambda t: t.nn.functional.alpha_dropout(t.ones(20), 0.3, True),
    "feature_alpha_dropout": lambda t: t.nn.functional.feature_alpha_dropout(
        t.ones(2, 6, 3), 0.3, True),
    "Linear_weight": lambda t: t.nn.Linear(5, 3).weight,
    "Linear_bias": lambda t: t.nn.Linear(5, 3).bias,
    "Conv2d_weight": lambda t: t.nn.Conv2d(3, 4, 3).weight,
    "LSTM_weight": lambda t: t.nn.LSTM(4, 5).weight_hh_l0,
    "trunc_normal_narrow": lambda t: t.nn.init.trunc_normal_(t.empty(7, 9), a=2, b=3),
    "rand_like_float64": lambda t: t.rand_like(t.ones(4, 4, dtype=t.float64)),
    "rand_like_channels_last": lambda t: t.rand_like(
        t.ones(1, 3, 2, 2).to(memory_format=t.channels_last)),
    "randn_like_transposed": lambda t: t.randn_like(t.ones(5, 7).t()),
    "randint_like": lambda t: t.randint_like(t.ones(3, 4), 0, 9),
    "gumbel_softmax_hard": lambda t: t.nn.functional.gumbel_softmax(
        t.arange(6.).reshape(2, 3), hard=True),
    "fractional_max_pool2d": lambda t: t.nn.functional.fractional_max_pool2d(
        t.arange(64.).reshape(1, 1, 8, 8), 2, output_size=4),
    "RReLU_module": lambda t: t.nn.RReLU()(t.linspace(-2, 2, 9)),
    "dropout_float16": lambda t: t.nn.functional.dropout(t.ones(4, 5, dtype=t.float16), 0.3),
    "MixtureSameFamily_sample": lambda t: t.distributions.MixtureSameFamily(
        t.distributions.Categorical(t.tensor([0.3, 0.7])),
        t.distributions.Normal(t.tensor([0., 5.]), t.tensor([1., 1.]))).sample((6,)),
    "Uniform_sample": lambda t: t.distributions.Uniform(t.zeros(20), t.ones(20)).sample(),
    "Categorical_sample": lambda t: t.distributions.Categorical(
        t.tensor([0.2, 0.3, 0.5])).sample((10,)),
    "Bernoulli_sample": lambda t: t.distributions.Bernoulli(t.full((10,), 0.4)).sample(),
    "Exponential_sample": lambda t: t.distributions.Exponential(t.ones(10)).sample(),
    "generator_argument": lambda t: t.rand(4, generator=t.Generator().manual_seed(7)),
    # rejection samplers (a data-dependent number of draws per value)
    "poisson": lambda t: t.poisson(t.tensor([[3.0, 20.], [0.2, 40.], [0., 130.]])),
    "binomial_float32": lambda t: t.binomial(t.tensor([3., 40., 100., 17., 1000., 25.]),
                                             t.tensor([0.5, 0.25, 0.77, 0.61, 0.013, 0.6])),
    "binomial_float64": lambda t: t.binomial(
        t.tensor([3., 40., 100., 17., 1000.], dtype=t.float64),
        t.tensor([0.5, 0.25, 0.77, 0.61, 0.013], dtype=t.float64)),
    "Gamma_sample": lambda t: t.distributions.Gamma(t.tensor([0.5, 2.0, 7.0]),
                                                    t.tensor([1.0, 2.0, 0.5])).sample((4,)),
    "Gamma_rsample_float64": lambda t: t.distributions.Gamma(
        t.tensor([0.5, 2.0], dtype=t.float64), t.tensor([1.0, 2.0], dtype=t.float64)).rsample((4,)),
    "Beta_sample": lambda t: t.distributions.Beta(t.tensor([0.5, 2.0]),
                                                  t.tensor([1.0, 3.0])).sample((3,)),
    "Dirichlet_sample": lambda t: t.distributions.Dirichlet(t.tensor([0.5, 2.0, 1.0])).sample((3,)),
    "Chi2_sample": lambda t: t.distributions.Chi2(t.tensor([3.0])).sample((5,)),
    "StudentT_sample": lambda t: t.distributions.StudentT(t.tensor([3.0])).sample((5,)),
    "Poisson_sample": lambda t: t.distributions.Poisson(t.tensor([3.0, 20.])).sample((5,)),
    "Binomial_sample": lambda t: t.distributions.Binomial(
        t.tensor([[5.], [50.]]), t.tensor([0.3, 0.9])).sample((2,)),
    "NegativeBinomial_sample": lambda t: t.distributions.NegativeBinomial(
        t.tensor([3.]), t.tensor([0.4])).sample((3,)),
    "Geometric_sample": lambda t: t.distributions.Geometric(t.tensor([0.3, 0.5])).sample((3,)),
    "Multinomial_sample": lambda t: t.distributions.Multinomial(
        5, t.tensor([0.2, 0.8])).sample((3,)),
    "MultivariateNormal_sample": lambda t: t.distributions.MultivariateNormal(
        t.zeros(3), t.eye(3)).sample((2,)),
    "VonMises_sample": lambda t: t.distributions.VonMises(t.tensor([0., 1.]),
                                                          t.tensor([1., 0.1])).sample((5,)),
    "FisherSnedecor_sample": lambda t: t.distributions.FisherSnedecor(
        t.tensor([2.]), t.tensor([3.])).sample((3,)),
}

# normal samples of 16 or more float32 values: PyTorch's vectorized log/sin/cos round
# differently from NumPy's in a few percent of the values (by up to 3 float32 ulp; float64
# by up to 2 ulp in about 0.2%)
CLOSE = {
    "randn_block": lambda t: t.randn(5, 7),
    "randn_float64": lambda t: t.randn(1000, dtype=t.float64),
    "randn_complex": lambda t: t.randn(20, dtype=t.complex64),
    "normal_numbers": lambda t: t.normal(2.0, 3.0, size=(40,)),
    "normal_tensor_mean": lambda t: t.normal(t.arange(20.), 2.0),
    "normal_tensor_std": lambda t: t.normal(1.0, t.arange(20.)),
    "normal_tensors": lambda t: t.normal(t.arange(20.), t.ones(20) * 3),
    "rrelu_training": lambda t: t.nn.functional.rrelu(t.linspace(-3, 3, 20), training=True),
    "Embedding_weight": lambda t: t.nn.Embedding(10, 4).weight,
    "xavier_normal": lambda t: t.nn.init.xavier_normal_(t.empty(7, 9)),
    "kaiming_normal": lambda t: t.nn.init.kaiming_normal_(t.empty(5, 20)),
    "trunc_normal": lambda t: t.nn.init.trunc_normal_(t.empty(7, 9)),
    "orthogonal": lambda t: t.nn.init.orthogonal_(t.empty(4, 6)),
    "sparse": lambda t: t.nn.init.sparse_(t.empty(6, 4), 0.5),
    "Normal_sample": lambda t: t.distributions.Normal(t.zeros(20), t.ones(20)).sample(),
    "Laplace_sample": lambda t: t.distributions.Laplace(t.zeros(3), t.ones(3)).sample((2,)),
    "Gumbel_sample": lambda t: t.distributions.Gumbel(t.zeros(3), t.ones(3)).sample((2,)),
    "LogNormal_sample": lambda t: t.distributions.LogNormal(t.zeros(3), t.ones(3)).sample((2,)),
    "Weibull_sample": lambda t: t.distributions.Weibull(t.tensor([2.]),
                                                        t.tensor([3.])).sample((3,)),
}


def _intel_cpu():
    try:
        with open("/proc/cpuinfo") as f:
            return "GenuineIntel" in f.read(4096)
    except OSError:
        return "intel" in platform.processor().lower()


# PyTorch's x86 builds draw Bernoulli(p) for a number p (dropout masks) with MKL's MCG31
# generator on Intel CPUs (its default kernel, which ember follows, elsewhere): ember does
# not reproduce MKL's stream, so there these samples differ from PyTorch's
SCALAR_BERNOULLI = {"bernoulli_scalar", "dropout", "dropout_transposed", "dropout2d",
                    "alpha_dropout", "feature_alpha_dropout", "dropout_float16"}


def _both(program, seed=0):
    torch.manual_seed(seed)
    expected = program(torch)
    after_t = torch.rand(3)
    ember.manual_seed(seed)
    got = program(ember)
    after_e = ember.rand(3)
    return expected, got, after_t, after_e


@pytest.mark.parametrize("name", sorted(EXACT))
def test_same_samples_as_torch(name):
    expected, got, after_t, after_e = _both(EXACT[name])
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    if name in SCALAR_BERNOULLI and _intel_cpu():
        # not PyTorch's draws here (see SCALAR_BERNOULLI): the same kind of result, each
        # value one PyTorch's kernel can give
        assert got.shape == expected.shape and got.stride() == expected.stride()
        assert set(np.unique(_np(got))) <= set(np.unique(_np(expected))) | {0.0}
        return
    np.testing.assert_array_equal(_np(got), _np(expected))
    assert got.stride() == expected.stride()
    # the stream is left where PyTorch leaves it
    np.testing.assert_array_equal(after_e.numpy(), after_t.numpy())


@pytest.mark.parametrize("name", sorted(CLOSE))
def test_same_normal_samples_as_torch_to_float_rounding(name):
    expected, got, after_t, after_e = _both(CLOSE[name])
    np.testing.assert_allclose(_np(got), _np(expected), rtol=2e-6, atol=2e-6)
    np.testing.assert_array_equal(after_e.numpy(), after_t.numpy())


def test_seeds_wrap_like_torch():
    for seed in (5, 2 ** 32 + 5, -1, 2 ** 64 - 1, 67280421310721):
        torch.manual_seed(seed)
        ember.manual_seed(seed)
        assert ember.initial_seed() == torch.initial_seed()
        np.testing.assert_array_equal(ember.rand(4).numpy(), torch.rand(4).numpy())
    g_t, g_e = torch.Generator(), ember.Generator()   # the unseeded default seed
    assert g_e.initial_seed() == g_t.initial_seed()
    np.testing.assert_array_equal(ember.rand(4, generator=g_e).numpy(),
                                  torch.rand(4, generator=g_t).numpy())


def _state_bytes(state):
    return state.numpy().tobytes()


@pytest.mark.parametrize("draws", [
    lambda t: None,
    lambda t: t.rand(5),
    lambda t: t.randn(3),            # leaves a cached normal in the state
    lambda t: t.randn(3, dtype=t.float64) + t.rand(700)[:3],   # crosses a regeneration
])
def test_state_bytes_equal_torch(draws):
    torch.manual_seed(11)
    draws(torch)
    ember.manual_seed(11)
    draws(ember)
    st_t, st_e = torch.get_rng_state(), ember.get_rng_state()
    assert st_e.dtype is ember.uint8 and tuple(st_e.shape) == (5056,)
    assert _state_bytes(st_e) == _state_bytes(st_t)


def test_states_move_between_libraries():
    torch.manual_seed(3)
    torch.randn(5)                   # an odd count: a cached normal travels too
    saved = torch.get_rng_state()
    ember.set_rng_state(ember.tensor(saved.numpy()))
    np.testing.assert_array_equal(ember.randn(7, dtype=ember.float64).numpy(),
                                  torch.randn(7, dtype=torch.float64).numpy())
    ember.manual_seed(9)
    ember.rand(1000)
    torch.set_rng_state(torch.from_numpy(ember.get_rng_state().numpy()))
    np.testing.assert_array_equal(torch.rand(10).numpy(), ember.rand(10).numpy())


def test_generator_state_round_trip_and_errors():
    g = ember.Generator().manual_seed(4)
    ember.randn(1, generator=g)          # leaves a cached normal in the state
    state = g.get_state()
    a = ember.randn(9, generator=g)
    g.set_state(state)
    np.testing.assert_array_equal(ember.randn(9, generator=g).numpy(), a.numpy())
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="size"):
            lib.Generator().set_state(lib.zeros(4, dtype=lib.uint8))
    for bad in ([1, 2], torch.zeros(5056)):
        with pytest.raises(TypeError) as t_info:
            torch.set_rng_state(bad)
        with pytest.raises(TypeError) as e_info:
            ember.set_rng_state(ember.zeros(5056) if isinstance(bad, torch.Tensor) else bad)
        assert str(e_info.value) == str(t_info.value)
    with pytest.raises(RuntimeError):   # a state whose mt19937 position is impossible
        raw = bytearray(_state_bytes(torch.get_rng_state()))
        struct.pack_into("<i", raw, 8, 0)
        ember.set_rng_state(ember.tensor(np.frombuffer(bytes(raw), dtype=np.uint8).copy()))


def test_fork_rng_restores_the_stream():
    ember.manual_seed(0)
    with ember.random.fork_rng():
        ember.randn(5)
    torch.manual_seed(0)
    np.testing.assert_array_equal(ember.randn(5).numpy(), torch.randn(5).numpy())


def _loader_order(lib, **kw):
    data = lib.utils.data.TensorDataset(lib.arange(23))
    return [b[0].tolist() for b in lib.utils.data.DataLoader(data, batch_size=5, **kw)]


@pytest.mark.parametrize("kw", [
    {"shuffle": True},
    {"sampler_kind": "replacement"},
    {"sampler_kind": "weighted"},
    {"sampler_kind": "subset"},
    {"shuffle": True, "generator": 21},
])
def test_dataloader_order_matches_torch(kw):
    def run(lib):
        lib.manual_seed(5)
        args = dict(kw)
        kind = args.pop("sampler_kind", None)
        if "generator" in args:
            args["generator"] = lib.Generator().manual_seed(args["generator"])
        if kind == "replacement":
            args["sampler"] = lib.utils.data.RandomSampler(range(23), replacement=True,
                                                           num_samples=40)
        elif kind == "weighted":
            args["sampler"] = lib.utils.data.WeightedRandomSampler(
                [0.1, 0.9, 0.4] * 7 + [1, 2], 30)
        elif kind == "subset":
            args["sampler"] = lib.utils.data.SubsetRandomSampler(list(range(3, 20)))
        return [_loader_order(lib, **args) for _ in range(2)]   # two epochs
    assert run(ember) == run(torch)


def test_random_split_matches_torch():
    def run(lib):
        lib.manual_seed(1)
        parts = lib.utils.data.random_split(range(30), [0.5, 0.3, 0.2])
        return [list(p.indices) for p in parts]
    assert run(ember) == run(torch)


def test_seeded_training_run_matches_torch():
    """A seeded script (random init, shuffled batches) gives PyTorch's losses."""
    def run(lib):
        lib.manual_seed(0)
        x = lib.randn(64, 8)
        y = (x[:, 0] > 0).long()
        model = lib.nn.Sequential(lib.nn.Linear(8, 16), lib.nn.ReLU(), lib.nn.Linear(16, 2))
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(x, y), batch_size=16,
                                           shuffle=True)
        losses = []
        for _ in range(2):
            for xb, yb in loader:
                loss = lib.nn.functional.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
        return losses
    np.testing.assert_allclose(run(ember), run(torch), rtol=1e-5, atol=1e-6)


def test_lkj_correlations_are_exchangeable():
    """LKJ(eta=1) is uniform over correlation matrices: every correlation has the same
    marginal, Beta(d/2, d/2) on [-1, 1], of variance 1/(d+1). PyTorch 2.13's sampler draws
    the rows' Beta with first concentration k - 1/2 instead of k/2, and its correlations
    with the last row come out with variance 0.30 instead of 0.25 (d = 3); ember keeps the
    Onion method's k/2, so ember differs from PyTorch here on purpose."""
    ember.manual_seed(0)
    L = ember.distributions.LKJCholesky(3, 1.0).sample((20000,))
    C = L @ L.mT
    for i, j in ((1, 0), (2, 0), (2, 1)):
        assert abs(C[:, i, j].var().item() - 0.25) < 0.015


def test_distributed_sampler_order_matches_torch():
    def run(lib):
        s = lib.utils.data.distributed.DistributedSampler(range(21), num_replicas=3, rank=1,
                                                          seed=4)
        s.set_epoch(2)
        return list(s)
    assert run(ember) == run(torch)


def _worker_draws(_):
    import random
    info = ember.utils.data.get_worker_info()
    return [info.seed, ember.rand(2).tolist(), random.random(), np.random.rand(2).tolist()]


def _torch_worker_draws(_):
    import random
    info = torch.utils.data.get_worker_info()
    return [info.seed, torch.rand(2).tolist(), random.random(), np.random.rand(2).tolist()]


class _Draws:
    def __init__(self, fn):
        self.fn = fn

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return self.fn(i)


def test_worker_seeds_match_torch():
    """Workers are seeded as PyTorch seeds them: the base seed (a draw from the default
    generator) plus the worker id for ember and `random`, NumPy from both hashed."""
    def run(lib, fn):
        lib.manual_seed(8)
        loader = lib.utils.data.DataLoader(_Draws(fn), batch_size=None, num_workers=2)
        return list(loader)
    got, expected = run(ember, _worker_draws), run(torch, _torch_worker_draws)
    assert len(got) == len(expected) == 4
    for g, e in zip(got, expected):
        assert g[0] == e[0] and g[2] == e[2]
        np.testing.assert_array_equal(np.asarray(g[1], dtype=np.float32),
                                      np.asarray(e[1], dtype=np.float32))
        np.testing.assert_array_equal(g[3], e[3])


def test_generator_methods_of_a_cpu_generator():
    for call, exc in ((lambda g: g.get_offset(), RuntimeError),
                      (lambda g: g.set_offset(3), RuntimeError),
                      (lambda g: g.graphsafe_get_state(), NotImplementedError),
                      (lambda g: g.graphsafe_set_state(g), NotImplementedError)):
        for lib in (torch, ember):
            with pytest.raises(exc):
                call(lib.Generator())
    assert ember.random.thread_safe_generator() is torch.random.thread_safe_generator() is None
    g = ember.Generator().manual_seed(1)
    clone = g.clone_state()
    np.testing.assert_array_equal(ember.rand(3, generator=g).numpy(),
                                  ember.rand(3, generator=clone).numpy())


def _init_cases():
    from tests.nn.test_module_reprs import CASES
    return CASES


@pytest.mark.parametrize("name,make", _init_cases(), ids=[c[0] for c in _init_cases()])
def test_module_initial_state_matches_torch(name, make):
    """Every ember.nn module class (the repr table's constructors) starts from PyTorch's
    parameters and buffers for the same seed, and leaves the generator where PyTorch's
    construction leaves it."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        t = make(torch)
        after_t = torch.rand(2)
        ember.manual_seed(0)
        e = make(ember)
        after_e = ember.rand(2)
    st, se = t.state_dict(), e.state_dict()
    assert list(se) == list(st)
    for key, value in st.items():
        if not isinstance(value, torch.Tensor) or type(value).__name__.startswith("Uninit"):
            continue
        np.testing.assert_array_equal(_np(se[key]), _np(value), err_msg=key)
    np.testing.assert_array_equal(after_e.numpy(), after_t.numpy())


def test_rng_state_in_checkpoints_moves_between_libraries(tmp_path):
    """A training checkpoint's saved generator state resumes the same stream in the other
    library (torch.save -> ember.load, ember.save(format="torch") -> torch.load)."""
    torch.manual_seed(7)
    torch.randn(3)
    torch.save({"rng": torch.get_rng_state(), "epoch": 3}, tmp_path / "torch.pt")
    expected = torch.randn(5)
    ember.set_rng_state(ember.load(tmp_path / "torch.pt")["rng"])
    np.testing.assert_array_equal(ember.randn(5).numpy(), expected.numpy())
    ember.manual_seed(9)
    ember.rand(3)
    ember.save({"rng": ember.get_rng_state()}, tmp_path / "ember.pt", format="torch")
    expected = ember.rand(4)
    torch.set_rng_state(torch.load(tmp_path / "ember.pt")["rng"])
    np.testing.assert_array_equal(torch.rand(4).numpy(), expected.numpy())


ERROR_CASES = {
    "randint_bool_to": lambda t: t.randint(0, 5, (3,), dtype=t.bool),
    "randint_bool_from": lambda t: t.randint(-1, 1, (3,), dtype=t.bool),
    "randint_uint8": lambda t: t.randint(0, 300, (3,), dtype=t.uint8),
    "randint_int8_from": lambda t: t.randint(-200, 3, (3,), dtype=t.int8),
    "randint_int16": lambda t: t.randint(0, 70000, (2,), dtype=t.int16),
    "randint_int32": lambda t: t.randint(0, 2 ** 40, (2,), dtype=t.int32),
    "randint_complex": lambda t: t.randint(0, 5, (3,), dtype=t.complex64),
    "random_complex": lambda t: t.empty(3, dtype=t.complex64).random_(),
    "random_to_complex": lambda t: t.empty(3, dtype=t.complex64).random_(5),
    "random_int8_to": lambda t: t.empty(3, dtype=t.int8).random_(0, 200),
    "randperm_bool": lambda t: t.randperm(5, dtype=t.bool),
    "randperm_complex": lambda t: t.randperm(5, dtype=t.complex64),
    "randperm_int8": lambda t: t.randperm(129, dtype=t.int8),
    "randperm_uint8": lambda t: t.randperm(300, dtype=t.uint8),
    "randperm_half": lambda t: t.randperm(3000, dtype=t.float16),
    "exponential_int": lambda t: t.empty(3, dtype=t.int64).exponential_(),
    "exponential_complex": lambda t: t.empty(3, dtype=t.complex64).exponential_(),
    "cauchy_int16": lambda t: t.empty(3, dtype=t.int16).cauchy_(),
    "cauchy_bool": lambda t: t.empty(3, dtype=t.bool).cauchy_(),
    "log_normal_int": lambda t: t.empty(3, dtype=t.int32).log_normal_(),
    "geometric_bool": lambda t: t.empty(3, dtype=t.bool).geometric_(0.3),
    "geometric_complex": lambda t: t.empty(3, dtype=t.complex64).geometric_(0.3),
    "bernoulli_complex": lambda t: t.empty(3, dtype=t.complex64).bernoulli_(0.3),
    "bernoulli_tensor_complex": lambda t: t.empty(3, dtype=t.complex64).bernoulli_(t.rand(3)),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_random_op_errors_match_torch(name):
    with pytest.raises(Exception) as expected:
        ERROR_CASES[name](torch)
    with pytest.raises(type(expected.value)) as got:
        ERROR_CASES[name](ember)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("program", [
    lambda t: t.randint(0, 2 ** 25 + 2, (3,), dtype=t.float32),
    lambda t: t.empty(3, dtype=t.float16).random_(-5000, 5),
])
def test_random_bounds_warning_matches_torch(program):
    import warnings
    with warnings.catch_warnings(record=True) as w_t:
        warnings.simplefilter("always")
        program(torch)
    with warnings.catch_warnings(record=True) as w_e:
        warnings.simplefilter("always")
        program(ember)
    # torch appends the C++ source location: "(Triggered internally at ...)"
    expected = [str(w.message).split(" (Triggered internally")[0] for w in w_t]
    assert [str(w.message) for w in w_e] == expected
    assert expected


def test_generator_class_is_named_as_torchs():
    import pickle
    g = ember.Generator().manual_seed(2)
    assert repr(g).split(" object at")[0] == repr(torch.Generator()).split(
        " object at")[0].replace("torch.", "ember.")
    assert type(g) is ember._C.Generator
    clone = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(ember.rand(3, generator=clone).numpy(),
                                  ember.rand(3, generator=g).numpy())


@pytest.mark.parametrize("shape,perm", [((2, 3, 4), (2, 0, 1)), ((3, 1, 4), (1, 2, 0)),
                                        ((2, 3, 4, 5), (0, 2, 3, 1))])
def test_in_place_samples_follow_memory_order(shape, perm):
    """A permuted view is filled in its memory order, as PyTorch's TensorIterator walks it."""
    inverse = np.argsort(perm).tolist()

    def program(t):
        view = t.zeros(*[shape[p] for p in perm]).permute(*inverse)
        return view.normal_(), view.uniform_(), t.empty(*shape).mT.bernoulli_(t.rand(shape[-2]))
    torch.manual_seed(0)
    expected = program(torch)
    ember.manual_seed(0)
    got = program(ember)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g.numpy(), e.numpy())


BOUND_ERROR_CASES = {
    "uniform_nan_from": lambda t: t.empty(2).uniform_(float("nan"), 1),
    "uniform_inf_to": lambda t: t.empty(2).uniform_(0, float("inf")),
    "uniform_half_to": lambda t: t.empty(2, dtype=t.float16).uniform_(0, 70000),
    "uniform_span": lambda t: t.empty(2).uniform_(-3e38, 3e38),
    "uniform_span_double": lambda t: t.empty(2, dtype=t.float64).uniform_(-1.7e308, 1.7e308),
    "uniform_reversed": lambda t: t.empty(2).uniform_(2.5, 1.5),
    "uniform_complex_inf": lambda t: t.empty(2, dtype=t.complex64).uniform_(0, float("inf")),
    "randint_int64_overflow": lambda t: t.randint(0, 2 ** 64, (2,)),
    "random_overflow": lambda t: t.empty(2).random_(0, 2 ** 70),
    "randperm_negative": lambda t: t.randperm(-1),
}


@pytest.mark.parametrize("name", sorted(BOUND_ERROR_CASES))
def test_random_bound_errors_match_torch(name):
    with pytest.raises(Exception) as expected:
        BOUND_ERROR_CASES[name](torch)
    with pytest.raises(type(expected.value)) as got:
        BOUND_ERROR_CASES[name](ember)
    assert str(got.value) == str(expected.value)
