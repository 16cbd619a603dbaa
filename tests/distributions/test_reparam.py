"""Implicit reparameterization gradients of Gamma, Beta, Dirichlet, Chi2 and StudentT
samples: dx/dalpha at the drawn x against torch's _standard_gamma_grad and
_dirichlet_grad and against high-precision derivatives of the CDFs (mpmath)."""
import numpy as np
import pytest

import ember
from ember.distributions._sampling import dirichlet_grad, standard_gamma_grad
from tests.distributions._helpers import torch

mp = pytest.importorskip("mpmath")


def _exact_gamma_grad(a, x):
    """-(dP(a, x)/da) / p(x; a) at 30 digits."""
    with mp.workdps(30):
        a, x = mp.mpf(a), mp.mpf(x)
        dP = mp.diff(lambda aa: mp.gammainc(aa, 0, x, regularized=True), a)
        return float(-dP / (x ** (a - 1) * mp.exp(-x) / mp.gamma(a)))


def _exact_dirichlet_grad(x, a, total):
    """-(dI_x(a, b)/da at fixed b) / p(x; a, b) / (1 - x), b = total - a, at 30 digits."""
    with mp.workdps(30):
        x, a, b = mp.mpf(x), mp.mpf(a), mp.mpf(total) - mp.mpf(a)
        dI = mp.diff(lambda aa: mp.betainc(aa, b, 0, x, regularized=True), a)
        return float(-dI / (x ** (a - 1) * (1 - x) ** (b - 1) / mp.beta(a, b)) / (1 - x))


def test_standard_gamma_grad_is_exact():
    points = [(0.05, 0.01), (0.5, 0.3), (0.5, 4.0), (2.0, 1.5), (7.5, 15.0), (200.0, 180.0)]
    got = standard_gamma_grad(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    want = [_exact_gamma_grad(a, x) for a, x in points]
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("alpha", [0.01, 0.3, 1.0, 4.0, 50.0, 1000.0])
def test_standard_gamma_grad_matches_torch(alpha):
    """torch's _standard_gamma_grad is itself an approximation (relative error up to
    ~3e-4 against the exact values above); ember's agrees with it within that."""
    x = np.random.default_rng(0).gamma(alpha, size=500).clip(1e-300)
    a = np.full_like(x, alpha)
    want = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(standard_gamma_grad(a, x), want, rtol=2e-3, atol=1e-12)


def test_dirichlet_grad_is_exact():
    points = [(0.3, 0.5, 1.5), (0.9, 2.0, 3.0), (0.05, 1.0, 10.0), (0.7, 30.0, 40.0),
              (0.01, 0.1, 0.5), (0.999, 3.0, 3.5)]
    x, a, t = (np.array(v) for v in zip(*points))
    want = [_exact_dirichlet_grad(*p) for p in points]
    np.testing.assert_allclose(dirichlet_grad(x, a, t), want, rtol=1e-10)


def test_dirichlet_grad_matches_torch():
    """torch's _dirichlet_grad: exact series for small concentrations, fitted
    approximations elsewhere (2e-2 off at a = 0.5, total = 60 against mpmath): compared
    where it is accurate to 5e-3."""
    rng = np.random.default_rng(4)
    a = rng.uniform(0.2, 8.0, 300)
    t = a + rng.uniform(0.5, 8.0, 300)
    x = rng.beta(a, t - a)
    want = torch._dirichlet_grad(torch.tensor(x), torch.tensor(a), torch.tensor(t)).numpy()
    np.testing.assert_allclose(dirichlet_grad(x, a, t), want, rtol=5e-3, atol=1e-9)


def test_gamma_rsample_gradient_is_dx_dalpha():
    ember.manual_seed(0)
    alpha = ember.tensor([0.5, 2.0, 9.0], dtype=ember.float64, requires_grad=True)
    rate = ember.tensor([1.0, 2.0, 0.5], dtype=ember.float64, requires_grad=True)
    x = ember.distributions.Gamma(alpha, rate).rsample((4,))
    x.sum().backward()
    std = (x * rate).detach().numpy()  # the standard Gamma draws
    a = np.broadcast_to(alpha.detach().numpy(), std.shape)
    want_alpha = (torch._standard_gamma_grad(torch.tensor(a), torch.tensor(std)).numpy()
                  / rate.detach().numpy()).sum(0)
    np.testing.assert_allclose(alpha.grad.numpy(), want_alpha, rtol=2e-3)
    np.testing.assert_allclose(rate.grad.numpy(), (-x / rate).sum(0).detach().numpy(),
                               rtol=1e-10)


def test_dirichlet_and_beta_rsample_gradients():
    ember.manual_seed(1)
    conc = ember.tensor([[2.0, 3.0, 4.0]], dtype=ember.float64, requires_grad=True)
    weights = np.array([1.0, -2.0, 0.5])
    x = ember.distributions.Dirichlet(conc).rsample((3,))
    (x * ember.tensor(weights)).sum().backward()
    xs = x.detach().numpy()
    a = np.broadcast_to(conc.detach().numpy(), xs.shape)
    total = np.broadcast_to(a.sum(-1, keepdims=True), a.shape)
    d = dirichlet_grad(xs, a, total)
    # PyTorch's backward: d_j (g_j - <x, g>), here with its own d_j
    d_torch = torch._dirichlet_grad(torch.tensor(xs), torch.tensor(a), torch.tensor(total)).numpy()
    for dj, rtol in ((d, 1e-10), (d_torch, 1e-3)):
        want = (dj * (weights - (xs * weights).sum(-1, keepdims=True))).sum(0)
        np.testing.assert_allclose(conc.grad.numpy()[0], want[0], rtol=rtol)
    c1 = ember.tensor([1.5, 4.0], requires_grad=True)
    c0 = ember.tensor([2.5, 0.7], requires_grad=True)
    ember.distributions.Beta(c1, c0).rsample((5,)).sum().backward()
    assert c1.grad is not None and c0.grad is not None
    assert bool(ember.isfinite(c1.grad).all()) and bool(ember.isfinite(c0.grad).all())


def test_reparameterized_gradient_estimates_the_mean_gradient():
    """E[x] = a / rate for Gamma: the average of d x / d a over many draws is 1 / rate;
    for StudentT(df) and Chi2(df) likewise d E[x]/d params."""
    ember.manual_seed(2)
    a = ember.tensor(3.0, dtype=ember.float64, requires_grad=True)
    ember.distributions.Gamma(a, 2.0).rsample((20000,)).mean().backward()
    assert abs(a.grad.item() - 0.5) < 0.02
    df = ember.tensor(6.0, dtype=ember.float64, requires_grad=True)
    ember.distributions.Chi2(df).rsample((20000,)).mean().backward()
    assert abs(df.grad.item() - 1.0) < 0.03
    c1 = ember.tensor(2.0, dtype=ember.float64, requires_grad=True)
    c0 = ember.tensor(3.0, dtype=ember.float64, requires_grad=True)
    ember.distributions.Beta(c1, c0).rsample((20000,)).mean().backward()
    # d/da a/(a+b) = b/(a+b)^2 = 0.12, d/db = -a/(a+b)^2 = -0.08
    assert abs(c1.grad.item() - 0.12) < 0.01 and abs(c0.grad.item() + 0.08) < 0.01
    loc = ember.tensor(1.0, dtype=ember.float64, requires_grad=True)
    df = ember.tensor(5.0, dtype=ember.float64, requires_grad=True)
    ember.distributions.StudentT(df, loc, 2.0).rsample((100,)).sum().backward()
    assert loc.grad.item() == 100.0
    assert df.grad is not None and np.isfinite(df.grad.item())


def test_second_derivative_raises_as_torch():
    """Gamma's dx/dalpha has no derivative (NotImplementedError); Dirichlet's backward is
    differentiable once (its gradient has no history: RuntimeError on backward)."""
    for make in (lambda D, a: D.Gamma(a, 1.0), lambda D, a: D.Dirichlet(a)):
        errors = []
        for lib in (torch, ember):
            a = lib.tensor([2.0, 3.0], requires_grad=True)
            x = make(lib.distributions, a).rsample()
            (g,) = lib.autograd.grad((x * lib.tensor([1.0, -1.0])).sum(), a, create_graph=True)
            with pytest.raises(Exception) as exc:
                g.sum().backward()
            errors.append(type(exc.value))
        assert errors[0] is errors[1]


def _leaf(v):
    return ember.tensor(v, dtype=ember.float64, requires_grad=True)


LOCATION_SCALE = ["Normal", "Laplace", "Cauchy", "Gumbel", "StudentT"]


@pytest.mark.parametrize("name", LOCATION_SCALE)
def test_location_scale_rsample_gradients(name):
    """x = loc + scale * eps: d sum(x)/d loc = number of draws, d sum(x)/d scale =
    sum((x - loc) / scale)."""
    ember.manual_seed(3)
    loc, scale = _leaf([0.5, -1.0]), _leaf([2.0, 0.7])
    kwargs = {"df": ember.tensor([4.0, 9.0], dtype=ember.float64)} if name == "StudentT" else {}
    d = getattr(ember.distributions, name)(loc=loc, scale=scale, **kwargs)
    x = d.rsample((7,))
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [7.0, 7.0], rtol=1e-12)
    want = ((x.detach() - loc.detach()) / scale.detach()).sum(0).numpy()
    np.testing.assert_allclose(scale.grad.numpy(), want, rtol=1e-10)


def test_other_rsample_gradients():
    ember.manual_seed(4)
    # LogNormal: x = exp(loc + scale eps), dx/dloc = x
    loc, scale = _leaf([0.1, 0.4]), _leaf([0.5, 0.2])
    x = ember.distributions.LogNormal(loc, scale).rsample((5,))
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), x.detach().sum(0).numpy(), rtol=1e-10)
    # Exponential: x = E / rate, dx/drate = -x / rate
    rate = _leaf([0.5, 3.0])
    x = ember.distributions.Exponential(rate).rsample((5,))
    x.sum().backward()
    np.testing.assert_allclose(rate.grad.numpy(), (-x.detach() / rate.detach()).sum(0).numpy(),
                               rtol=1e-10)
    # Uniform: x = low + u (high - low), dx/dhigh = u, dx/dlow = 1 - u
    low, high = _leaf([0.0, -2.0]), _leaf([1.0, 3.0])
    x = ember.distributions.Uniform(low, high).rsample((5,))
    x.sum().backward()
    u = ((x.detach() - low.detach()) / (high.detach() - low.detach())).numpy()
    np.testing.assert_allclose(high.grad.numpy(), u.sum(0), rtol=1e-10)
    np.testing.assert_allclose(low.grad.numpy(), (1 - u).sum(0), rtol=1e-10)
    # MultivariateNormal: x = loc + L eps, d sum(x) / d loc = number of draws
    mloc = _leaf([0.0, 1.0, 2.0])
    tril = _leaf(np.array([[1.0, 0, 0], [0.3, 2.0, 0], [0.1, -0.4, 0.5]]))
    x = ember.distributions.MultivariateNormal(mloc, scale_tril=tril).rsample((6,))
    x.sum().backward()
    np.testing.assert_allclose(mloc.grad.numpy(), [6.0, 6.0, 6.0], rtol=1e-12)
    eps = np.linalg.solve(tril.detach().numpy(), (x.detach() - mloc.detach()).numpy().T).T
    # d sum(L eps) / d L_ij = sum of eps_j, upper entries included (L is used as given,
    # as PyTorch's rsample does)
    np.testing.assert_allclose(tril.grad.numpy(), np.ones((3, 1)) * eps.sum(0),
                               rtol=1e-10, atol=1e-12)
