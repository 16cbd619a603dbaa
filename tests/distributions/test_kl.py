"""kl_divergence against torch for every pair torch registers among ember's families:
values and gradients with respect to both distributions' parameters; dispatch rules."""
import warnings

import numpy as np
import pytest

import ember
from tests.distributions._helpers import assert_close, torch

_r = np.random.default_rng(7)


def _pos(shape=(3,)):
    return _r.uniform(0.6, 2.5, shape)


# family -> {parameter: (numpy value for p, numpy value for q)}
PARAMS = {
    "Normal": {"loc": (_r.normal(size=3), _r.normal(size=3)), "scale": (_pos(), _pos())},
    "Bernoulli": {"probs": (_r.uniform(0.1, 0.9, 3), _r.uniform(0.1, 0.9, 3))},
    "Categorical": {"logits": (_r.normal(size=(3, 4)), _r.normal(size=(3, 4)))},
    "OneHotCategorical": {"probs": (_r.uniform(0.1, 1, (3, 4)), _r.uniform(0.1, 1, (3, 4)))},
    "Uniform": {"low": (np.array([0.1, -1.0, 0.2]), np.array([0.0, -2.0, 0.5])),
                "high": (np.array([0.9, 1.0, 2.0]), np.array([1.0, 2.0, 1.5]))},
    "Beta": {"concentration1": (_pos(), _pos()), "concentration0": (_pos(), _pos())},
    "Binomial": {"total_count": (np.array([5.0, 5.0, 6.0]), np.array([5.0, 5.0, 5.0])),
                 "probs": (_r.uniform(0.1, 0.9, 3), _r.uniform(0.1, 0.9, 3))},
    "Cauchy": {"loc": (_r.normal(size=3), _r.normal(size=3)), "scale": (_pos(), _pos())},
    "Dirichlet": {"concentration": (_pos((3, 4)), _pos((3, 4)))},
    "Exponential": {"rate": (_pos(), _pos())},
    "Gamma": {"concentration": (_pos(), _pos()), "rate": (_pos(), _pos())},
    "Geometric": {"probs": (_r.uniform(0.1, 0.9, 3), _r.uniform(0.1, 0.9, 3))},
    "Gumbel": {"loc": (_r.normal(size=3), _r.normal(size=3)), "scale": (_pos(), _pos())},
    "HalfNormal": {"scale": (_pos(), _pos())},
    "Laplace": {"loc": (_r.normal(size=3), _r.normal(size=3)), "scale": (_pos(), _pos())},
    "Poisson": {"rate": (_pos(), _pos())},
    "Pareto": {"scale": (_pos(), _pos()), "alpha": (_pos(), _pos())},
    "LogNormal": {"loc": (_r.normal(size=3), _r.normal(size=3)), "scale": (_pos(), _pos())},
    "Weibull": {"scale": (_pos(), _pos()), "concentration": (_pos(), _pos())},
    "HalfCauchy": {"scale": (_pos(), _pos())},
    "InverseGamma": {"concentration": (_pos(), _pos()), "rate": (_pos(), _pos())},
    "ContinuousBernoulli": {"probs": (np.array([0.2, 0.4996, 0.8]), np.array([0.7, 0.3, 0.5]))},
}
NO_GRAD = {"total_count"}


def build(lib, name, which, dtype):
    """The p (which=0) or q (which=1) distribution of `name`, and its leaf parameters."""
    dt = getattr(lib, dtype)
    leaves = {}
    for k, pair in PARAMS[name].items():
        leaves[k] = lib.tensor(pair[which], dtype=dt, requires_grad=k not in NO_GRAD)
    return getattr(lib.distributions, name)(**leaves), leaves


def registered_pairs():
    from torch.distributions.kl import _KL_REGISTRY
    return sorted({(p.__name__, q.__name__) for p, q in _KL_REGISTRY
                   if p.__name__ in PARAMS and q.__name__ in PARAMS})


PAIRS = registered_pairs()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pair", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_kl_against_torch(pair, dtype):
    tol = 1e-9 if dtype == "float64" else 5e-5
    p_name, q_name = pair
    tp, tp_leaves = build(torch, p_name, 0, dtype)
    tq, tq_leaves = build(torch, q_name, 1, dtype)
    ep, ep_leaves = build(ember, p_name, 0, dtype)
    eq, eq_leaves = build(ember, q_name, 1, dtype)
    tk = torch.distributions.kl_divergence(tp, tq)
    ek = ember.distributions.kl_divergence(ep, eq)
    if pair == ("ContinuousBernoulli", "Uniform"):
        # q = Uniform(0, 1) covers p's support exactly: the KL is -H(p), finite; torch 2.13
        # compares the bounds with >= / <= and returns inf there
        assert_close(ek[0], -ep.entropy()[0], tol, tol)
        ek, tk = ek[1:], tk[1:]
    assert_close(ek, tk, tol, tol, f"KL({p_name} || {q_name})")
    if tk.requires_grad and bool(torch.isfinite(tk).all()):
        tk.sum().backward()
        ek.sum().backward()
        for tl, el in ((tp_leaves, ep_leaves), (tq_leaves, eq_leaves)):
            for k in tl:
                if tl[k].grad is None:
                    assert el[k].grad is None or not bool(el[k].grad.ne(0).any()), k
                else:
                    assert_close(el[k].grad, tl[k].grad, tol * 10, tol * 10,
                                 f"KL({p_name} || {q_name}) grad of {k}")


def test_kl_multivariate_normal():
    A = _r.normal(size=(2, 3, 3))
    cov = A @ A.transpose(0, 2, 1) + 2 * np.eye(3)
    B = _r.normal(size=(3, 3))
    tril = np.linalg.cholesky(B @ B.T + np.eye(3))
    locs = _r.normal(size=(2, 3)), _r.normal(size=3)
    out = {}
    for lib in (torch, ember):
        lp, lq = (lib.tensor(v, requires_grad=True) for v in locs)
        c = lib.tensor(cov, requires_grad=True)
        t = lib.tensor(tril, requires_grad=True)
        p = lib.distributions.MultivariateNormal(lp, covariance_matrix=c)
        q = lib.distributions.MultivariateNormal(lq, scale_tril=t)
        kl = lib.distributions.kl_divergence(p, q)
        kl.sum().backward()
        out[lib] = (kl, lp.grad, lq.grad, c.grad, t.grad,
                    lib.distributions.kl_divergence(q, p))
    for e, t in zip(out[ember], out[torch]):
        assert_close(e, t, 1e-9, 1e-9)
    with pytest.raises(ValueError):
        ember.distributions.kl_divergence(
            ember.distributions.MultivariateNormal(ember.zeros(2), ember.eye(2)),
            ember.distributions.MultivariateNormal(ember.zeros(3), ember.eye(3)))


def test_kl_independent_and_transformed():
    loc, scale = _r.normal(size=(2, 3)), _pos((2, 3))
    loc2, scale2 = _r.normal(size=(2, 3)), _pos((2, 3))
    res = {}
    for lib in (torch, ember):
        D = lib.distributions
        p = D.Independent(D.Normal(lib.tensor(loc), lib.tensor(scale)), 1)
        q = D.Independent(D.Normal(lib.tensor(loc2), lib.tensor(scale2)), 1)
        lp = D.LogNormal(lib.tensor(loc), lib.tensor(scale))
        lq = D.LogNormal(lib.tensor(loc2), lib.tensor(scale2))
        res[lib] = (D.kl_divergence(p, q), D.kl_divergence(lp, lq))
    for e, t in zip(res[ember], res[torch]):
        assert_close(e, t, 1e-10, 1e-10)
    D = ember.distributions
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Independent(D.Normal(ember.zeros(2, 3), 1.0), 1),
                        D.Independent(D.Normal(ember.zeros(2, 3), 1.0), 2))


def test_kl_not_registered_raises():
    D = ember.distributions
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Categorical(ember.ones(3)))
    with pytest.raises(NotImplementedError):
        torch.distributions.kl_divergence(torch.distributions.Normal(0.0, 1.0),
                                          torch.distributions.Categorical(torch.ones(3)))


def test_register_kl_most_specific_dispatch():
    D = ember.distributions

    class MyNormal(D.Normal):
        pass

    class MyNormal2(MyNormal):
        pass

    @D.register_kl(MyNormal, D.Normal)
    def _kl_mine(p, q):
        return ember.tensor(42.0)

    # the subclass pair wins over (Normal, Normal); a deeper subclass inherits it
    assert float(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0))) == 42.0
    assert float(D.kl_divergence(MyNormal2(0.0, 1.0), D.Normal(0.0, 2.0))) == 42.0
    assert float(D.kl_divergence(D.Normal(0.0, 1.0), MyNormal(0.0, 1.0))) == 0.0

    @D.register_kl(D.Normal, MyNormal)
    def _kl_other(p, q):
        return ember.tensor(7.0)

    # (MyNormal, MyNormal) matches both (MyNormal, Normal) and (Normal, MyNormal): ambiguous
    with pytest.warns(RuntimeWarning, match="Ambiguous"):
        D.kl_divergence(MyNormal(0.0, 1.0), MyNormal(0.0, 1.0))
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(D.kl_divergence(D.Normal(0.0, 1.0), MyNormal(0.0, 1.0))) == 7.0


def test_kl_uniform_pareto_finite():
    """Intervals above the Pareto minimum (the registry table only has infinite ones)."""
    low, high = np.array([2.6, 3.0, 0.2]), np.array([3.5, 7.0, 1.0])
    scale, alpha = np.array([1.0, 2.5, 0.5]), np.array([1.5, 3.0, 0.7])
    out = {}
    for lib in (torch, ember):
        leaves = [lib.tensor(v, requires_grad=True) for v in (low, high, scale, alpha)]
        kl = lib.distributions.kl_divergence(lib.distributions.Uniform(*leaves[:2]),
                                             lib.distributions.Pareto(*leaves[2:]))
        kl.sum().backward()
        out[lib] = [kl] + [v.grad for v in leaves]
    for e, t in zip(out[ember], out[torch]):
        assert_close(e, t, 1e-10, 1e-10)


def test_exponential_family_bregman_kl_and_entropy():
    """The generic exponential-family KL (Bregman divergence of the log normalizer) and
    entropy agree with the closed forms, values and gradients with respect to q (p's
    natural parameters are detached there, in PyTorch too)."""
    from ember.distributions.exp_family import ExponentialFamily
    from ember.distributions.kl import _kl_expfamily_expfamily
    for name in ("Normal", "Gamma", "Poisson", "Exponential", "Beta", "Dirichlet",
                 "Bernoulli"):
        ep, _ = build(ember, name, 0, "float64")
        eq, eq_leaves = build(ember, name, 1, "float64")
        generic = _kl_expfamily_expfamily(ep, eq)
        closed = ember.distributions.kl_divergence(ep, eq)
        assert_close(generic, closed, 1e-9, 1e-9, name)
        leaf = next(iter(eq_leaves.values()))
        (g_generic,) = ember.autograd.grad(generic.sum(), [leaf])
        (g_closed,) = ember.autograd.grad(closed.sum(), [leaf])
        assert_close(g_generic, g_closed, 1e-8, 1e-8, name)
        if name in ("Normal", "Gamma", "Exponential", "Bernoulli"):  # with a carrier mean
            assert_close(ExponentialFamily.entropy(ep), ep.entropy(), 1e-9, 1e-9, name)
    with pytest.raises(NotImplementedError):
        _kl_expfamily_expfamily(ember.distributions.Normal(0.0, 1.0),
                                ember.distributions.Gamma(1.0, 1.0))
