"""Every optimizer, over a grid of its options, moves float64 parameters exactly as
torch.optim does given the same gradient sequence; state and state_dict agree."""
import numpy as np
import pytest
import torch

import ember

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True, eps=1e-6)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
]


def _params(lib, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    return [lib.nn.Parameter(lib.from_numpy(rng.standard_normal(s))) for s in shapes]


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                       enumerate(CONFIGS)])
def test_same_trajectory_as_torch(name, kwargs):
    tp, ep = _params(torch), _params(ember)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    eopt = getattr(ember.optim, name)(ep, **kwargs)
    rng = np.random.default_rng(1)
    for step in range(20):
        for a, b in zip(tp, ep):
            g = rng.standard_normal(tuple(a.shape))
            a.grad = torch.from_numpy(g.copy())
            b.grad = ember.from_numpy(g.copy())
        topt.step()
        eopt.step()
        for i, (a, b) in enumerate(zip(tp, ep)):
            np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=f"step {step} param {i}")
    tsd, esd = topt.state_dict(), eopt.state_dict()
    assert esd["param_groups"] == [
        {k: v for k, v in g.items()} for g in tsd["param_groups"]]
    assert tsd["state"].keys() == esd["state"].keys()
    for k in tsd["state"]:
        assert set(tsd["state"][k]) == set(esd["state"][k])
        for key, tv in tsd["state"][k].items():
            ev = esd["state"][k][key]
            if isinstance(tv, torch.Tensor):
                np.testing.assert_allclose(ev.numpy(), tv.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", CONFIGS[:9:2])
def test_resume_from_state_dict(name, kwargs):
    """10 steps, state_dict round trip into a fresh optimizer, 10 more == 20 straight."""
    rng = np.random.default_rng(2)
    grads = [[rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2, 2)]] for _ in range(20)]

    def run(split):
        ps = _params(ember)
        opt = getattr(ember.optim, name)(ps, **kwargs)
        for step, gs in enumerate(grads):
            if step == split:
                sd = opt.state_dict()
                opt = getattr(ember.optim, name)(ps, **kwargs)
                opt.load_state_dict(sd)
            for p, g in zip(ps, gs):
                p.grad = ember.from_numpy(g.copy())
            opt.step()
        return [p.detach().numpy().copy() for p in ps]
    for a, b in zip(run(None), run(10)):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_raise_like_torch():
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.ones(2))
        with pytest.raises(ValueError):
            lib.optim.SGD([p], lr=-1)
        with pytest.raises(ValueError):
            lib.optim.Adam([p], betas=(1.0, 0.9))
        with pytest.raises(ValueError):
            lib.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
        with pytest.raises(ValueError):
            lib.optim.SGD([p * 2], lr=0.1)
        with pytest.raises(TypeError):
            lib.optim.SGD(p, lr=0.1)
        with pytest.raises(ValueError):
            lib.optim.SGD([], lr=0.1)
        opt = lib.optim.SGD([p], lr=0.1)
        other = lib.optim.SGD([{"params": [p]}, {"params": [lib.nn.Parameter(lib.ones(1))]}],
                              lr=0.1)
        with pytest.raises(ValueError):
            opt.load_state_dict(other.state_dict())


def test_repr_like_torch():
    for name, kwargs in CONFIGS:
        t = getattr(torch.optim, name)(_params(torch), **kwargs)
        e = getattr(ember.optim, name)(_params(ember), **kwargs)
        assert repr(e) == repr(t)


def test_seed_quadratic_minimum():
    """Seed 002 §3.3: SGD(lr=0.01) for 500 steps on a*x**2 + b*x + c reaches x≈1, y≈0."""
    x = ember.tensor(0.0, requires_grad=True)
    a, b, c = ember.tensor(1.0), ember.tensor(-2.0), ember.tensor(1.0)
    opt = ember.optim.SGD(params=[x], lr=0.01)
    for _ in range(500):
        opt.zero_grad()
        y = a * ember.pow(x, 2) + b * x + c
        y.backward()
        opt.step()
    assert abs(x.item() - 1) < 1e-3 and abs((a * x ** 2 + b * x + c).item()) < 1e-5


def test_closure_and_hooks():
    p = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    opt = ember.optim.SGD([p], lr=0.5)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert loss.item() == 5.0 and calls == ["pre", "post"]
    np.testing.assert_allclose(p.detach().numpy(), [0.0, 0.0])
