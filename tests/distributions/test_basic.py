"""Normal, Bernoulli, Categorical, OneHotCategorical, Uniform, Independent and
MultivariateNormal against torch.distributions: values, gradients, shapes, errors."""
import numpy as np
import pytest

import ember
from tests.distributions._helpers import assert_close, check_distribution, torch

rng = np.random.default_rng(0)
P23 = rng.uniform(0.1, 0.9, (2, 3))
LOGITS = rng.normal(size=(2, 4))
SIMPLEX = rng.uniform(0.1, 1, (2, 4))
A = rng.normal(size=(2, 3, 3))
COV = A @ A.transpose(0, 2, 1) + 3 * np.eye(3)
TRIL = np.linalg.cholesky(COV)

CASES = [
    ("Normal", {"loc": rng.normal(size=(2, 3)), "scale": rng.uniform(0.5, 2, (2, 3))},
     rng.normal(size=(2, 3)), {"icdf_value": rng.uniform(0.05, 0.95, (2, 3))}),
    ("Normal", {"loc": 0.5, "scale": 2.0}, np.array([0.3, -1.0]),
     {"grad": False, "tol": (1e-6, 1e-6)}),
    ("Normal", {"loc": rng.normal(size=3), "scale": 1.5}, rng.normal(size=(4, 3)), {}),
    ("Bernoulli", {"probs": P23}, (P23 > 0.5).astype(float), {}),
    ("Bernoulli", {"logits": LOGITS[:, :3]}, np.array([1.0, 0.0, 1.0]), {}),
    # number parameters make float32 distributions: float32 accuracy for any value dtype
    ("Bernoulli", {"probs": 0.3}, np.array([1.0, 0.0]), {"grad": False, "tol": (1e-6, 1e-6)}),
    ("Categorical", {"probs": SIMPLEX}, np.array([3, 1]), {"value_is_float": False}),
    ("Categorical", {"logits": LOGITS}, np.array([[0, 1], [2, 3]]), {"value_is_float": False}),
    ("Categorical", {"logits": LOGITS[0]}, np.array(2), {"value_is_float": False}),
    ("OneHotCategorical", {"probs": SIMPLEX}, np.eye(4)[[3, 1]], {}),
    ("OneHotCategorical", {"logits": LOGITS}, np.eye(4)[[0, 2]], {}),
    ("OneHotCategoricalStraightThrough", {"logits": LOGITS}, np.eye(4)[[0, 2]], {}),
    ("Uniform", {"low": rng.normal(size=(2, 3)) - 2, "high": rng.normal(size=(2, 3)) + 2},
     rng.uniform(-0.5, 0.5, (2, 3)), {"icdf_value": rng.uniform(0, 1, (2, 3))}),
    ("Uniform", {"low": -1.0, "high": 3.0}, np.array(0.5), {"grad": False, "tol": (1e-6, 1e-6)}),
    ("MultivariateNormal", {"loc": rng.normal(size=(2, 3)), "covariance_matrix": COV},
     rng.normal(size=(2, 3)), {}),
    ("MultivariateNormal", {"loc": rng.normal(size=3), "scale_tril": TRIL},
     rng.normal(size=(5, 2, 3)), {}),
    ("MultivariateNormal", {"loc": rng.normal(size=(2, 3)), "precision_matrix": COV},
     rng.normal(size=3), {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_against_torch(case, dtype):
    name, spec, value, opts = case
    tol = {"float32": (2e-5, 2e-5), "float64": (1e-10, 1e-10)}[dtype]
    opts = dict(opts)
    tol = opts.pop("tol", tol)
    check_distribution(name, spec, value, dtype, *tol, **opts)


def test_independent():
    loc, scale = rng.normal(size=(2, 3)), rng.uniform(0.5, 2, (2, 3))
    value = rng.normal(size=(4, 2, 3))
    results = {}
    for lib in (torch, ember):
        lt = lib.tensor(loc, requires_grad=True)
        st = lib.tensor(scale, requires_grad=True)
        d = lib.distributions.Independent(lib.distributions.Normal(lt, st), 1)
        lp = d.log_prob(lib.tensor(value))
        lp.sum().backward()
        e = d.expand((5, 2))
        results[lib] = (d, lp, lt.grad, st.grad, d.entropy(), d.mean, d.variance, repr(d),
                        e.batch_shape, e.event_shape, d.sample((7,)).shape, d.support)
    t, e = results[torch], results[ember]
    for a, b in zip(e[1:7], t[1:7]):
        assert_close(a, b)
    assert e[7].replace("ember.", "torch.") == t[7]
    assert tuple(e[8]) == tuple(t[8]) and tuple(e[9]) == tuple(t[9])
    assert tuple(e[10]) == tuple(t[10])
    assert repr(e[11]) == repr(t[11])
    assert e[0].has_rsample and tuple(e[0].event_shape) == (3,) and tuple(e[0].batch_shape) == (2,)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        ember.distributions.Independent(ember.distributions.Normal(0.0, 1.0), 1)


def test_normal_sample_statistics():
    ember.manual_seed(0)
    d = ember.distributions.Normal(ember.tensor([1.0, -2.0]), ember.tensor([0.5, 3.0]))
    s = d.sample((20000,))
    np.testing.assert_allclose(s.mean(0).numpy(), [1.0, -2.0], atol=0.1)
    np.testing.assert_allclose(s.std(0).numpy(), [0.5, 3.0], rtol=0.05)
    r = d.rsample((20000,))
    np.testing.assert_allclose(r.std(0).numpy(), [0.5, 3.0], rtol=0.05)


def test_rsample_gradient_is_reparameterized():
    """d/dloc of rsample().sum() is the number of samples; d/dscale is the sum of eps."""
    ember.manual_seed(1)
    loc = ember.tensor([0.0, 1.0], requires_grad=True)
    scale = ember.tensor([1.0, 2.0], requires_grad=True)
    d = ember.distributions.Normal(loc, scale)
    r = d.rsample((10,))
    r.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [10.0, 10.0])
    eps = (r.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-5, atol=1e-5)


def test_categorical_sample_statistics():
    ember.manual_seed(0)
    probs = np.array([0.1, 0.2, 0.7])
    s = ember.distributions.Categorical(ember.tensor(probs)).sample((20000,))
    assert s.dtype == ember.int64
    freq = np.bincount(s.numpy(), minlength=3) / 20000
    np.testing.assert_allclose(freq, probs, atol=0.02)
    b = ember.distributions.Bernoulli(ember.tensor([0.2, 0.9])).sample((20000,))
    np.testing.assert_allclose(b.mean(0).numpy(), [0.2, 0.9], atol=0.02)


def test_mvn_sample_covariance():
    ember.manual_seed(0)
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    d = ember.distributions.MultivariateNormal(ember.zeros(2, dtype=ember.float64),
                                               ember.tensor(cov))
    s = d.sample((20000,)).numpy()
    np.testing.assert_allclose(np.cov(s.T), cov, atol=0.08)


def test_mvn_lazy_matrices():
    for kw in ("covariance_matrix", "precision_matrix", "scale_tril"):
        mat = TRIL[0] if kw == "scale_tril" else COV[0]
        t = torch.distributions.MultivariateNormal(torch.zeros(3, dtype=torch.float64),
                                                   **{kw: torch.tensor(mat)})
        e = ember.distributions.MultivariateNormal(ember.zeros(3, dtype=ember.float64),
                                                   **{kw: ember.tensor(mat)})
        for attr in ("covariance_matrix", "precision_matrix", "scale_tril", "variance"):
            assert_close(getattr(e, attr), getattr(t, attr), 1e-8, 1e-8, f"{kw}->{attr}")


ERRORS = [
    ("Normal", lambda L: L.distributions.Normal(0.0, -1.0)),
    ("Normal nan", lambda L: L.distributions.Normal(L.tensor([float("nan")]), 1.0)),
    ("Bernoulli both", lambda L: L.distributions.Bernoulli(0.3, logits=0.1)),
    ("Bernoulli none", lambda L: L.distributions.Bernoulli()),
    ("Bernoulli range", lambda L: L.distributions.Bernoulli(L.tensor([1.5]))),
    ("Categorical 0-d", lambda L: L.distributions.Categorical(L.tensor(1.0))),
    ("Categorical negative", lambda L: L.distributions.Categorical(L.tensor([0.5, -0.1]))),
    ("Uniform", lambda L: L.distributions.Uniform(1.0, 0.0)),
    ("MVN 0-d loc", lambda L: L.distributions.MultivariateNormal(L.tensor(0.0), L.eye(2))),
    ("MVN two", lambda L: L.distributions.MultivariateNormal(L.zeros(2), L.eye(2),
                                                               scale_tril=L.eye(2))),
    ("MVN not PD", lambda L: L.distributions.MultivariateNormal(
        L.zeros(2), L.tensor([[1.0, 2.0], [2.0, 1.0]]))),
    ("log_prob not a tensor", lambda L: L.distributions.Normal(0.0, 1.0).log_prob(1.0)),
    ("log_prob shape", lambda L: L.distributions.Normal(L.zeros(2), 1.0).log_prob(L.zeros(3))),
    ("log_prob support", lambda L: L.distributions.Uniform(0.0, 1.0).log_prob(L.tensor(2.0))),
    ("Bernoulli support", lambda L: L.distributions.Bernoulli(0.3).log_prob(L.tensor(0.5))),
    ("Categorical support", lambda L: L.distributions.Categorical(L.ones(3)).log_prob(
        L.tensor(3))),
    ("event shape", lambda L: L.distributions.MultivariateNormal(
        L.zeros(2), L.eye(2)).log_prob(L.zeros(3))),
    ("set_default_validate_args", lambda L: L.distributions.Distribution
     .set_default_validate_args(2)),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case):
    _, fn = case
    with pytest.raises(Exception) as t_exc:
        fn(torch)
    with pytest.raises(type(t_exc.value)) as e_exc:
        fn(ember)
    if "Expected parameter" in str(t_exc.value) or "support" in str(t_exc.value):
        first_t = str(t_exc.value).split(" of distribution")[0]
        first_e = str(e_exc.value).split(" of distribution")[0].replace("ember.", "torch.")
        assert first_e == first_t


def test_validation_can_be_turned_off():
    d = ember.distributions.Normal(0.0, -1.0, validate_args=False)
    assert tuple(d.batch_shape) == ()
    ember.distributions.Distribution.set_default_validate_args(False)
    try:
        ember.distributions.Normal(0.0, -1.0)
        ember.distributions.Uniform(0.0, 1.0).log_prob(ember.tensor(2.0))
    finally:
        ember.distributions.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        ember.distributions.Normal(0.0, -1.0)


def test_enumerate_support():
    for name, kw in [("Bernoulli", {"probs": P23}), ("Categorical", {"probs": SIMPLEX}),
                     ("OneHotCategorical", {"probs": SIMPLEX}),
                     ("Binomial", {"total_count": np.full((2, 3), 4.0), "probs": P23})]:
        td = getattr(torch.distributions, name)(**{k: torch.tensor(v) for k, v in kw.items()})
        ed = getattr(ember.distributions, name)(**{k: ember.tensor(v) for k, v in kw.items()})
        for expand in (True, False):
            assert_close(ed.enumerate_support(expand), td.enumerate_support(expand))
        assert_close(ed.log_prob(ed.enumerate_support()), td.log_prob(td.enumerate_support()))


_rl = np.random.default_rng(9)
LR_LOC, LR_W, LR_D = _rl.normal(size=(2, 4)), _rl.normal(size=(4, 2)), _rl.uniform(0.5, 2, 4)


def _lowrank(lib, dtype):
    dt = getattr(lib, dtype)
    loc = lib.tensor(LR_LOC, dtype=dt, requires_grad=True)
    W = lib.tensor(LR_W, dtype=dt, requires_grad=True)
    D = lib.tensor(LR_D, dtype=dt, requires_grad=True)
    return lib.distributions.LowRankMultivariateNormal(loc, W, D), (loc, W, D)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lowrank_multivariate_normal(dtype):
    tol = 1e-10 if dtype == "float64" else 2e-5
    (td, tp), (ed, ep) = _lowrank(torch, dtype), _lowrank(ember, dtype)
    assert tuple(ed.batch_shape) == tuple(td.batch_shape) == (2,)
    assert tuple(ed.event_shape) == tuple(td.event_shape) == (4,)
    assert repr(ed).replace("ember.", "torch.") == repr(td)
    v = _rl.normal(size=(3, 2, 4))
    tlp = td.log_prob(torch.tensor(v, dtype=getattr(torch, dtype)))
    elp = ed.log_prob(ember.tensor(v, dtype=getattr(ember, dtype)))
    assert_close(elp, tlp, tol, tol)
    (tlp.sum() + td.entropy().sum()).backward()
    (elp.sum() + ed.entropy().sum()).backward()
    for e, t in zip(ep, tp):
        assert_close(e.grad, t.grad, tol * 10, tol * 10)
    for attr in ("mean", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        assert_close(getattr(ed, attr), getattr(td, attr), tol * 10, tol * 10, attr)
    assert tuple(ed.rsample((5,)).shape) == (5, 2, 4)
    assert tuple(ed.expand((3, 2)).sample().shape) == (3, 2, 4)
    # KL against a full-covariance normal, both ways, and between two low-rank ones
    cov = np.cov(_rl.normal(size=(4, 12))) + np.eye(4)
    tm = torch.distributions.MultivariateNormal(torch.zeros(4, dtype=getattr(torch, dtype)),
                                                torch.tensor(cov, dtype=getattr(torch, dtype)))
    em = ember.distributions.MultivariateNormal(ember.zeros(4, dtype=getattr(ember, dtype)),
                                                ember.tensor(cov, dtype=getattr(ember, dtype)))
    kl = ember.distributions.kl_divergence
    tkl = torch.distributions.kl_divergence
    assert_close(kl(ed, em), tkl(td, tm), tol * 10, tol * 10)
    assert_close(kl(em, ed), tkl(tm, td), tol * 10, tol * 10)
    assert_close(kl(ed, ed.expand((2,))), tkl(td, td.expand((2,))), tol * 10, tol * 10)
    with pytest.raises(ValueError):
        ember.distributions.LowRankMultivariateNormal(ember.zeros(3), ember.zeros(4, 2),
                                                      ember.ones(3))


_rw = np.random.default_rng(13)
_AW = _rw.normal(size=(2, 3, 3))
W_COV = _AW @ _AW.transpose(0, 2, 1) + np.eye(3)


@pytest.mark.parametrize("kw", ["covariance_matrix", "precision_matrix", "scale_tril"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_wishart(kw, dtype):
    tol = 1e-10 if dtype == "float64" else 5e-5
    mat = np.linalg.cholesky(W_COV) if kw == "scale_tril" else W_COV
    out = {}
    for lib in (torch, ember):
        dt = getattr(lib, dtype)
        df = lib.tensor([5.0, 7.5], dtype=dt, requires_grad=True)
        m = lib.tensor(mat, dtype=dt, requires_grad=True)
        out[lib] = (lib.distributions.Wishart(df, **{kw: m}), df, m)
    (td, tdf, tm), (ed, edf, em) = out[torch], out[ember]
    assert repr(ed).replace("ember.", "torch.") == repr(td)
    assert tuple(ed.batch_shape) == (2,) and tuple(ed.event_shape) == (3, 3)
    assert repr(ed.support) == repr(td.support) and ed.has_rsample
    value = td.sample((4,)).detach()
    tlp = td.log_prob(value)
    elp = ed.log_prob(ember.tensor(value.numpy()))
    assert_close(elp, tlp, tol, tol)
    (tlp.sum() + td.entropy().sum()).backward()
    (elp.sum() + ed.entropy().sum()).backward()
    assert_close(edf.grad, tdf.grad, tol * 10, tol * 10)
    assert_close(em.grad, tm.grad, tol * 10, tol * 10)
    for attr in ("mean", "mode", "variance", "covariance_matrix", "precision_matrix",
                 "scale_tril"):
        assert_close(getattr(ed, attr), getattr(td, attr), tol * 10, tol * 10, attr)
    assert tuple(ed.expand((3, 2)).sample().shape) == (3, 2, 3, 3)


def test_wishart_samples_and_errors():
    ember.manual_seed(0)
    df = ember.tensor(6.0, dtype=ember.float64, requires_grad=True)
    cov = ember.tensor(W_COV[0])
    d = ember.distributions.Wishart(df, covariance_matrix=cov)
    s = d.rsample((20000,))
    # entry (i, j) of a draw has variance df (S_ij^2 + S_ii S_jj): the mean of the 20000
    # draws lies within 4 standard errors of df S, entry by entry
    S = W_COV[0]
    stderr = np.sqrt(6.0 * (S ** 2 + np.outer(np.diag(S), np.diag(S))) / 20000)
    assert (np.abs(s.detach().mean(0).numpy() - 6.0 * S) < 4 * stderr).all()
    assert bool(ember.distributions.constraints.positive_definite.check(s[:50]).all())
    # E[X] = df S, so d/d df of the mean of the draws is sum(S)
    s.mean(0).sum().backward()
    assert abs(df.grad.item() - W_COV[0].sum()) < 0.05 * abs(W_COV[0].sum())
    for lib in (torch, ember):
        D = lib.distributions
        with pytest.raises(ValueError):
            D.Wishart(lib.tensor(1.0), lib.eye(3))
        with pytest.raises(AssertionError):
            D.Wishart(5.0, lib.eye(3), scale_tril=lib.eye(3))
