"""The second group of families against torch.distributions: Beta, Gamma, Dirichlet,
Exponential, Laplace, LogNormal, Poisson, Binomial, Geometric, Cauchy, Gumbel, StudentT,
Chi2, HalfNormal, RelaxedBernoulli, RelaxedOneHotCategorical, MixtureSameFamily."""
import numpy as np
import pytest

import ember
from tests.distributions._helpers import assert_close, check_distribution, torch

rng = np.random.default_rng(1)
POS = rng.uniform(0.5, 3.0, (2, 3))
POS2 = rng.uniform(0.5, 3.0, (2, 3))
LOC = rng.normal(size=(2, 3))
UNIT = rng.uniform(0.05, 0.95, (2, 3))
Q = rng.uniform(0.05, 0.95, (2, 3))

CASES = [
    ("Exponential", {"rate": POS}, rng.uniform(0.1, 3, (2, 3)), {"icdf_value": Q}),
    ("Laplace", {"loc": LOC, "scale": POS}, rng.normal(size=(2, 3)), {"icdf_value": Q}),
    ("Cauchy", {"loc": LOC, "scale": POS}, rng.normal(size=(2, 3)), {"icdf_value": Q}),
    ("Gumbel", {"loc": LOC, "scale": POS}, rng.normal(size=(2, 3)), {}),
    ("LogNormal", {"loc": LOC, "scale": POS}, rng.uniform(0.1, 3, (2, 3)), {"icdf_value": Q}),
    ("HalfNormal", {"scale": POS}, rng.uniform(0.1, 3, (2, 3)), {"icdf_value": Q}),
    ("Gamma", {"concentration": POS, "rate": POS2}, rng.uniform(0.1, 3, (2, 3)), {}),
    ("Chi2", {"df": POS * 2}, rng.uniform(0.1, 3, (2, 3)), {}),
    ("Beta", {"concentration1": POS, "concentration0": POS2}, UNIT, {}),
    ("Dirichlet", {"concentration": POS}, rng.dirichlet([1.0, 1.0, 1.0], 2), {}),
    ("StudentT", {"df": POS * 2, "loc": LOC, "scale": POS2}, rng.normal(size=(2, 3)), {}),
    ("Poisson", {"rate": POS}, np.array([[0.0, 1.0, 2.0], [4.0, 0.0, 3.0]]), {}),
    ("Binomial", {"total_count": 5.0, "probs": UNIT}, np.array([[0.0, 1.0, 2.0], [5.0, 0.0, 3.0]]),
     {}),
    ("Binomial", {"total_count": np.array([3.0, 4.0, 5.0]), "logits": LOC},
     np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 5.0]]), {}),
    ("Geometric", {"probs": UNIT}, np.array([[0.0, 1.0, 2.0], [5.0, 0.0, 3.0]]), {}),
    ("Geometric", {"logits": LOC}, np.array([[0.0, 1.0, 2.0], [5.0, 0.0, 3.0]]), {}),
    ("RelaxedBernoulli", {"temperature": np.array(0.7), "probs": UNIT}, UNIT[::-1].copy(), {}),
    ("RelaxedBernoulli", {"temperature": np.array(2.0), "logits": LOC}, UNIT, {}),
    ("RelaxedOneHotCategorical", {"temperature": np.array(0.5), "probs": rng.dirichlet(
        [1.0, 1.0, 1.0, 1.0], 2)}, rng.dirichlet([1.0, 1.0, 1.0, 1.0], 2), {}),
    ("RelaxedOneHotCategorical", {"temperature": np.array(1.5), "logits": rng.normal(size=(2, 4))},
     rng.dirichlet([1.0, 1.0, 1.0, 1.0], 2), {}),
    ("Multinomial", {"total_count": 4, "probs": rng.dirichlet([1.0, 1.0, 1.0], 2)},
     np.array([[1.0, 0.0, 3.0], [2.0, 2.0, 0.0]]), {}),
    ("Multinomial", {"total_count": 3, "logits": rng.normal(size=3)},
     np.array([[1.0, 1.0, 1.0], [0.0, 3.0, 0.0]]), {}),
    ("NegativeBinomial", {"total_count": POS * 2, "probs": UNIT},
     np.array([[0.0, 1.0, 2.0], [5.0, 0.0, 3.0]]), {}),
    ("NegativeBinomial", {"total_count": 3.0, "logits": LOC},
     np.array([[0.0, 1.0, 2.0], [5.0, 0.0, 3.0]]), {}),
    ("HalfCauchy", {"scale": POS}, rng.uniform(0.1, 3, (2, 3)), {"icdf_value": Q}),
    ("Pareto", {"scale": POS * 0.1, "alpha": POS2}, rng.uniform(0.4, 3, (2, 3)),
     {"icdf_value": Q}),
    ("Weibull", {"scale": POS, "concentration": POS2}, rng.uniform(0.1, 3, (2, 3)), {}),
    ("InverseGamma", {"concentration": POS + 1.5, "rate": POS2}, rng.uniform(0.1, 3, (2, 3)),
     {}),
    ("Kumaraswamy", {"concentration1": POS + 0.5, "concentration0": POS2 + 0.5}, UNIT,
     {"skip": ("mode",)}),  # torch's mode is NaN here: test_kumaraswamy_mode
    ("FisherSnedecor", {"df1": POS * 3, "df2": POS2 * 4}, rng.uniform(0.1, 3, (2, 3)), {}),
    ("LogisticNormal", {"loc": LOC, "scale": POS}, rng.dirichlet([1.0, 1.0, 1.0, 1.0], 2),
     {}),
    ("ContinuousBernoulli", {"probs": UNIT}, UNIT[::-1].copy(), {"icdf_value": Q}),
    # entries inside the Taylor region around 1/2 and on both sides of it
    ("ContinuousBernoulli", {"probs": np.array([0.4995, 0.5, 0.5007, 0.2, 0.9])},
     np.array([0.1, 0.5, 0.9, 0.3, 0.7]), {"icdf_value": np.array([0.2, 0.4, 0.6, 0.8, 0.5])}),
    ("ContinuousBernoulli", {"logits": LOC}, UNIT, {}),
    # torch's log I0 is a polynomial fit (relative error ~1e-8): float64 compared at 1e-7
    ("VonMises", {"loc": LOC, "concentration": POS * 2}, rng.uniform(-3, 3, (2, 3)),
     {"tol64": (1e-7, 1e-7)}),
    # torch 2.13's GeneralizedPareto.log_prob fails in float64 (isclose against a float32
    # zero: "Double did not match Float"): compared in float32 only
    ("GeneralizedPareto", {"loc": LOC, "scale": POS,
                           "concentration": np.array([[0.3, 0.0, -0.2], [0.6, 1.2, 1e-9]])},
     LOC + rng.uniform(0.1, 1.0, (2, 3)), {"icdf_value": Q, "dtypes": ("float32",)}),
]


RUNS = [(case, dtype, f"{case[0]}-{i}-{dtype}") for i, case in enumerate(CASES)
        for dtype in case[3].get("dtypes", ("float32", "float64"))]


@pytest.mark.parametrize("case,dtype", [r[:2] for r in RUNS], ids=[r[2] for r in RUNS])
def test_against_torch(case, dtype):
    name, spec, value, opts = case
    opts = dict(opts)
    opts.pop("dtypes", None)
    tol = {"float32": (5e-5, 5e-5), "float64": opts.pop("tol64", (1e-9, 1e-9))}[dtype]
    opts.pop("tol64", None)
    check_distribution(name, spec, value, dtype, *tol, **opts)


def _mixture(lib, dtype):
    dt = getattr(lib, dtype)
    w = lib.tensor(rng_mix["w"], dtype=dt, requires_grad=True)
    loc = lib.tensor(rng_mix["loc"], dtype=dt, requires_grad=True)
    mix = lib.distributions.Categorical(w)
    comp = lib.distributions.Independent(lib.distributions.Normal(
        loc, lib.tensor(rng_mix["scale"], dtype=dt)), 1)
    return lib.distributions.MixtureSameFamily(mix, comp), w, loc


_r = np.random.default_rng(5)
rng_mix = {"w": _r.uniform(0.2, 1, (2, 3)), "loc": _r.normal(size=(2, 3, 2)),
           "scale": _r.uniform(0.5, 1.5, (2, 3, 2)), "x": _r.normal(size=(4, 2, 2))}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mixture_same_family(dtype):
    tol = 1e-5 if dtype == "float32" else 1e-10
    (td, tw, tl), (ed, ew, el) = _mixture(torch, dtype), _mixture(ember, dtype)
    assert repr(ed).replace("ember.", "torch.") == repr(td)
    assert tuple(ed.batch_shape) == tuple(td.batch_shape) == (2,)
    assert tuple(ed.event_shape) == tuple(td.event_shape) == (2,)
    x = _r.normal(size=(4, 2, 2))
    tlp, elp = td.log_prob(torch.tensor(x, dtype=getattr(torch, dtype))), \
        ed.log_prob(ember.tensor(x, dtype=getattr(ember, dtype)))
    assert_close(elp, tlp, tol, tol)
    tlp.sum().backward()
    elp.sum().backward()
    assert_close(ew.grad, tw.grad, tol * 10, tol * 10)
    assert_close(el.grad, tl.grad, tol * 10, tol * 10)
    assert_close(ed.mean, td.mean, tol, tol)
    assert_close(ed.variance, td.variance, tol, tol)
    assert repr(ed.support) == repr(td.support)
    for shape in [(), (5,), (2, 3)]:
        assert tuple(ed.sample(shape).shape) == tuple(td.sample(shape).shape)
    ex, tx = ed.expand((3, 2)), td.expand((3, 2))
    assert tuple(ex.batch_shape) == tuple(tx.batch_shape)
    assert not ed.has_rsample


def test_mixture_errors():
    for lib in (torch, ember):
        D = lib.distributions
        with pytest.raises(ValueError):
            D.MixtureSameFamily(D.Normal(lib.zeros(3), 1.0), D.Normal(lib.zeros(3), 1.0))
        with pytest.raises(ValueError):
            D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Normal(lib.zeros(3), 1.0))


def test_mixture_sample_statistics():
    ember.manual_seed(0)
    D = ember.distributions
    d = D.MixtureSameFamily(D.Categorical(ember.tensor([0.3, 0.7], dtype=ember.float64)),
                            D.Normal(ember.tensor([-5.0, 5.0], dtype=ember.float64),
                                     ember.tensor([1.0, 1.0], dtype=ember.float64)))
    s = d.sample((20000,)).numpy()
    assert abs((s > 0).mean() - 0.7) < 0.02
    np.testing.assert_allclose(s.mean(), float(d.mean), atol=0.15)


SAMPLERS = [
    ("Gamma", {"concentration": np.array([0.5, 2.0, 9.0]), "rate": np.array([1.0, 2.0, 0.5])}),
    ("Beta", {"concentration1": np.array([0.5, 2.0, 5.0]),
              "concentration0": np.array([1.5, 2.0, 0.7])}),
    ("Dirichlet", {"concentration": np.array([0.6, 2.0, 4.0])}),
    ("Exponential", {"rate": np.array([0.5, 2.0])}),
    ("Laplace", {"loc": np.array([0.0, 3.0]), "scale": np.array([1.0, 0.5])}),
    ("Poisson", {"rate": np.array([0.5, 4.0, 20.0])}),
    ("Binomial", {"total_count": np.array([5.0, 20.0]), "probs": np.array([0.3, 0.8])}),
    ("Geometric", {"probs": np.array([0.3, 0.8])}),
    ("Gumbel", {"loc": np.array([0.0, 2.0]), "scale": np.array([1.0, 3.0])}),
    ("LogNormal", {"loc": np.array([0.0, 0.5]), "scale": np.array([0.3, 0.5])}),
    ("HalfNormal", {"scale": np.array([1.0, 2.0])}),
    ("StudentT", {"df": np.array([5.0, 10.0]), "loc": np.array([1.0, -1.0])}),
    ("Chi2", {"df": np.array([1.0, 4.0])}),
    ("Multinomial", {"total_count": 5, "probs": np.array([0.2, 0.3, 0.5])}),
    ("NegativeBinomial", {"total_count": np.array([3.0, 6.0]), "probs": np.array([0.3, 0.6])}),
    ("Pareto", {"scale": np.array([1.0, 2.0]), "alpha": np.array([5.0, 6.0])}),
    ("Weibull", {"scale": np.array([1.0, 2.0]), "concentration": np.array([1.5, 3.0])}),
    ("InverseGamma", {"concentration": np.array([5.0, 8.0]), "rate": np.array([1.0, 2.0])}),
    ("Kumaraswamy", {"concentration1": np.array([1.5, 3.0]),
                     "concentration0": np.array([2.0, 0.8])}),
    ("FisherSnedecor", {"df1": np.array([5.0, 10.0]), "df2": np.array([12.0, 20.0])}),
    ("ContinuousBernoulli", {"probs": np.array([0.1, 0.5, 0.8])}),
    ("GeneralizedPareto", {"loc": np.array([0.0, 1.0, -1.0]), "scale": np.array([1.0, 2.0, 0.5]),
                           "concentration": np.array([0.2, 0.0, -0.3])}),
]


@pytest.mark.parametrize("case", SAMPLERS, ids=[c[0] for c in SAMPLERS])
def test_sample_moments(case):
    """Large-sample means and variances match the distribution's own (fixed seed)."""
    name, spec = case
    ember.manual_seed(0)
    d = getattr(ember.distributions, name)(**{k: ember.tensor(v) if isinstance(v, np.ndarray)
                                              else v for k, v in spec.items()})
    s = d.sample((40000,)).double().numpy()
    mean, var = d.mean.double().numpy(), d.variance.double().numpy()
    np.testing.assert_allclose(s.mean(0), mean, rtol=0.03, atol=0.03)
    np.testing.assert_allclose(s.var(0), var, rtol=0.08, atol=0.03)


def test_relaxed_low_temperature_approaches_discrete():
    ember.manual_seed(0)
    D = ember.distributions
    s = D.RelaxedBernoulli(ember.tensor(0.05), probs=ember.tensor([0.2, 0.9])).sample((20000,))
    frac = (s > 0.5).double().mean(0).numpy()
    np.testing.assert_allclose(frac, [0.2, 0.9], atol=0.02)
    s = D.RelaxedOneHotCategorical(ember.tensor(0.05), probs=ember.tensor([0.2, 0.3, 0.5])) \
        .sample((20000,))
    assert np.allclose(s.sum(-1).numpy(), 1, atol=1e-5)
    freq = np.bincount(s.argmax(-1).numpy(), minlength=3) / 20000
    np.testing.assert_allclose(freq, [0.2, 0.3, 0.5], atol=0.02)


def test_dirichlet_mode_all_below_one():
    c = np.array([[0.5, 0.9, 0.3], [2.0, 3.0, 0.5]])
    assert_close(ember.distributions.Dirichlet(ember.tensor(c)).mode,
                 torch.distributions.Dirichlet(torch.tensor(c)).mode)


ERRORS = [
    ("Gamma rate", lambda L: L.distributions.Gamma(1.0, -1.0)),
    ("Beta", lambda L: L.distributions.Beta(L.tensor([0.0]), L.tensor([1.0]))),
    ("Dirichlet 0-d", lambda L: L.distributions.Dirichlet(L.tensor(1.0))),
    ("Dirichlet negative", lambda L: L.distributions.Dirichlet(L.tensor([1.0, -1.0]))),
    ("Poisson", lambda L: L.distributions.Poisson(L.tensor([-1.0]))),
    ("Poisson support", lambda L: L.distributions.Poisson(2.0).log_prob(L.tensor(0.5))),
    ("Binomial count", lambda L: L.distributions.Binomial(L.tensor([2.5]), L.tensor([0.5]))),
    ("Binomial support", lambda L: L.distributions.Binomial(3, L.tensor([0.5])).log_prob(
        L.tensor([4.0]))),
    ("Binomial entropy", lambda L: L.distributions.Binomial(
        L.tensor([3.0, 4.0]), L.tensor([0.5, 0.5])).entropy()),
    ("Geometric zero", lambda L: L.distributions.Geometric(L.tensor([0.0, 0.5]))),
    ("StudentT df", lambda L: L.distributions.StudentT(L.tensor([-1.0]))),
    ("LogNormal support", lambda L: L.distributions.LogNormal(0.0, 1.0).log_prob(
        L.tensor(-1.0))),
    ("HalfNormal support", lambda L: L.distributions.HalfNormal(1.0).log_prob(L.tensor(-1.0))),
    ("Exponential support", lambda L: L.distributions.Exponential(1.0).log_prob(
        L.tensor(-1.0))),
    ("Beta support", lambda L: L.distributions.Beta(1.0, 2.0).log_prob(L.tensor(1.5))),
    ("ContinuousBernoulli", lambda L: L.distributions.ContinuousBernoulli(
        L.tensor([1.5]), validate_args=False)),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case):
    _, fn = case
    with pytest.raises(Exception) as t_exc:
        fn(torch)
    with pytest.raises(type(t_exc.value)):
        fn(ember)


def test_kumaraswamy_mode():
    """The mode is where the density peaks (torch 2.13 returns NaN for a, b > 1)."""
    a, b = np.array([2.0, 3.0, 1.5, 0.5]), np.array([2.0, 0.9, 5.0, 2.0])
    d = ember.distributions.Kumaraswamy(ember.tensor(a), ember.tensor(b))
    grid = np.linspace(1e-4, 1 - 1e-4, 200001)
    density = a * b * grid[:, None] ** (a - 1) * (1 - grid[:, None] ** a) ** (b - 1)
    want = grid[density.argmax(0)]
    want[(a < 1) | (b < 1)] = np.nan
    np.testing.assert_allclose(d.mode.numpy(), want, atol=1e-4, equal_nan=True)


def test_von_mises_sample_statistics():
    """Circular statistics of the draws: the mean direction is loc and 1 - |E e^(ix)| is
    the circular variance."""
    ember.manual_seed(0)
    loc, k = np.array([0.5, -2.5, 3.0]), np.array([2.0, 0.5, 8.0])
    d = ember.distributions.VonMises(ember.tensor(loc), ember.tensor(k))
    s = d.sample((40000,)).double().numpy()
    assert s.min() >= -np.pi and s.max() < np.pi
    resultant = np.exp(1j * s).mean(0)
    np.testing.assert_allclose(np.angle(resultant * np.exp(-1j * loc)), 0, atol=0.05)
    np.testing.assert_allclose(1 - np.abs(resultant), d.variance.double().numpy(), atol=0.01)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lkj_cholesky(dtype):
    tol = 1e-10 if dtype == "float64" else 2e-5
    c = np.array([0.5, 2.0])
    out = {}
    for lib in (torch, ember):
        conc = lib.tensor(c, dtype=getattr(lib, dtype), requires_grad=True)
        out[lib] = (lib.distributions.LKJCholesky(4, conc), conc)
    (td, tc), (ed, ec) = out[torch], out[ember]
    assert repr(ed).replace("ember.", "torch.") == repr(td)
    assert tuple(ed.batch_shape) == (2,) and tuple(ed.event_shape) == (4, 4)
    assert repr(ed.support) == repr(td.support)
    value = td.sample((3,))
    tlp, elp = td.log_prob(value), ed.log_prob(ember.tensor(value.numpy()))
    assert_close(elp, tlp, tol, tol)
    tlp.sum().backward()
    elp.sum().backward()
    assert_close(ec.grad, tc.grad, tol * 10, tol * 10)
    with pytest.raises(ValueError):
        ember.distributions.LKJCholesky(1, 1.0)
    assert tuple(ed.expand((3, 2)).sample().shape) == (3, 2, 4, 4)


def test_lkj_cholesky_samples_have_the_lkj_marginals():
    """Every correlation r_ij of LKJ(eta) in dimension D has E[r^2] = 1 / (2 eta + D - 1).
    (torch 2.13's sampler gives 0.28 instead of 0.25 for the last pair at eta = 0.5,
    D = 4, so samples are checked against the theory, not against torch.)"""
    ember.manual_seed(0)
    c = np.array([0.5, 2.0])
    s = ember.distributions.LKJCholesky(4, ember.tensor(c)).sample((20000,)).numpy()
    assert np.allclose((s ** 2).sum(-1), 1)
    assert bool(ember.distributions.constraints.corr_cholesky.check(ember.tensor(s)).all())
    corr = s @ s.transpose(0, 1, 3, 2)
    for i, j in [(1, 0), (2, 0), (2, 1), (3, 0), (3, 2)]:
        np.testing.assert_allclose((corr[..., i, j] ** 2).mean(0), 1 / (2 * c + 3), rtol=0.04)
