"""Small training steps as tutorials write them, run in ember and torch on the same
parameters and the same fixed "samples": a REINFORCE policy-gradient loss with a
Categorical policy, and a VAE step with a Normal rsample and kl_divergence(Normal, Normal)."""
import numpy as np

import ember
from tests.distributions._helpers import assert_close, torch

_r = np.random.default_rng(21)
W_POLICY = _r.normal(size=(3, 4)) * 0.5
STATES = _r.normal(size=(6, 4))
ACTIONS = np.array([0, 2, 1, 1, 0, 2])
RETURNS = _r.normal(size=6)


def _reinforce(lib):
    lin = lib.nn.Linear(4, 3)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(W_POLICY, dtype=lib.float32))
        lin.bias.zero_()
    logits = lin(lib.tensor(STATES, dtype=lib.float32))
    dist = lib.distributions.Categorical(logits=logits)
    log_probs = dist.log_prob(lib.tensor(ACTIONS))
    advantage = lib.tensor(RETURNS, dtype=lib.float32)
    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
    loss = -(log_probs * advantage).mean() - 0.01 * dist.entropy().mean()
    loss.backward()
    opt = lib.optim.SGD(lin.parameters(), lr=0.1)
    opt.step()
    return loss, lin.weight.grad, lin.bias.grad, lin.weight.detach().clone()


def test_reinforce_step_matches_torch():
    e, t = _reinforce(ember), _reinforce(torch)
    for a, b in zip(e, t):
        assert_close(a, b, 1e-5, 1e-6)


X = (_r.uniform(0, 1, (5, 6)) > 0.5).astype(np.float64)
EPS = _r.normal(size=(5, 2))


def _vae_step(lib):
    lib.manual_seed(0)
    enc = lib.nn.Linear(6, 4)
    dec = lib.nn.Linear(2, 6)
    with lib.no_grad():
        enc.weight.copy_(lib.tensor(_vae_weights["enc_w"], dtype=lib.float32))
        enc.bias.copy_(lib.tensor(_vae_weights["enc_b"], dtype=lib.float32))
        dec.weight.copy_(lib.tensor(_vae_weights["dec_w"], dtype=lib.float32))
        dec.bias.copy_(lib.tensor(_vae_weights["dec_b"], dtype=lib.float32))
    x = lib.tensor(X, dtype=lib.float32)
    h = enc(x)
    mu, log_var = h[:, :2], h[:, 2:]
    q = lib.distributions.Normal(mu, (0.5 * log_var).exp())
    prior = lib.distributions.Normal(lib.zeros_like(mu), lib.ones_like(mu))
    # the same noise in both libraries: z = mu + sigma * eps, as rsample computes it
    z = q.loc + q.scale * lib.tensor(EPS, dtype=lib.float32)
    recon = lib.distributions.Bernoulli(logits=dec(z))
    log_lik = lib.distributions.Independent(recon, 1).log_prob(x)
    kl = lib.distributions.kl_divergence(q, prior).sum(-1)
    loss = (kl - log_lik).mean()
    loss.backward()
    return loss, kl, enc.weight.grad, enc.bias.grad, dec.weight.grad, q.log_prob(z).sum()


_vae_weights = {"enc_w": _r.normal(size=(4, 6)) * 0.3, "enc_b": _r.normal(size=4) * 0.1,
                "dec_w": _r.normal(size=(6, 2)) * 0.3, "dec_b": _r.normal(size=6) * 0.1}


def test_vae_step_matches_torch():
    e, t = _vae_step(ember), _vae_step(torch)
    for a, b in zip(e, t):
        assert_close(a, b, 2e-5, 2e-6)


def test_vae_rsample_trains():
    """A few Adam steps on the ELBO of a 1-D Gaussian: the posterior moves to the data."""
    ember.manual_seed(0)
    loc = ember.zeros(1, requires_grad=True)
    log_scale = ember.zeros(1, requires_grad=True)
    opt = ember.optim.Adam([loc, log_scale], lr=0.1)
    data = ember.tensor([2.0, 2.2, 1.8, 2.1])
    prior = ember.distributions.Normal(0.0, 10.0)
    for _ in range(150):
        opt.zero_grad()
        q = ember.distributions.Normal(loc, log_scale.exp())
        z = q.rsample((16,))
        lik = ember.distributions.Normal(z, 0.5).log_prob(data).sum(-1)
        loss = (ember.distributions.kl_divergence(q, prior).sum() - lik.mean())
        loss.backward()
        opt.step()
    assert abs(loc.item() - 2.02) < 0.15
    assert log_scale.exp().item() < 0.5
