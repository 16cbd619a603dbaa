"""optim.swa_utils vs torch: AveragedModel (SWA mean, EMA, custom avg_fn, buffers), SWALR
rates, update_bn statistics."""
import warnings

import numpy as np
import pytest
import torch

import ember


def _model(lib):
    rng = np.random.default_rng(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 1))
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return model


AVERAGING = {
    "swa": lambda S: {},
    "ema-multi": lambda S: {"multi_avg_fn": S.get_ema_multi_avg_fn(0.9)},
    "ema": lambda S: {"avg_fn": S.get_ema_avg_fn(0.8)},
    "swa-multi": lambda S: {"multi_avg_fn": S.get_swa_multi_avg_fn()},
    "swa-buffers": lambda S: {"use_buffers": True},
}


@pytest.mark.parametrize("kind", list(AVERAGING))
def test_averaged_model_like_torch(kind):
    rng = np.random.default_rng(1)
    steps = [rng.standard_normal((8, 3)).astype(np.float32) for _ in range(6)]
    results = []
    for lib in (torch, ember):
        S = lib.optim.swa_utils
        model = _model(lib)
        averaged = S.AveragedModel(model, **AVERAGING[kind](S))
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        for x in steps:
            opt.zero_grad()
            model(lib.from_numpy(x)).pow(2).mean().backward()
            opt.step()
            averaged.update_parameters(model)
        out = averaged(lib.from_numpy(steps[0]))
        state = {k: v.detach().numpy().copy() for k, v in averaged.state_dict().items()}
        results.append((out.detach().numpy(), state))
    (t_out, t_state), (e_out, e_state) = results
    assert list(e_state) == list(t_state)
    for key in t_state:
        np.testing.assert_allclose(e_state[key], t_state[key], rtol=1e-5, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(e_out, t_out, rtol=1e-5, atol=1e-6)


def test_averaged_model_rejects_both_functions():
    for lib in (torch, ember):
        S = lib.optim.swa_utils
        with pytest.raises(AssertionError):
            S.AveragedModel(_model(lib), avg_fn=S.get_swa_avg_fn(),
                            multi_avg_fn=S.get_swa_multi_avg_fn())
        with pytest.raises(ValueError):
            S.get_ema_avg_fn(1.5)


@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.01], anneal_epochs=4,
                                                            anneal_strategy="linear"),
                                    dict(swa_lr=0.02, anneal_epochs=0)])
def test_swalr_like_torch(kwargs):
    rates = []
    for lib in (torch, ember):
        groups = [{"params": [lib.nn.Parameter(lib.zeros(1))]},
                  {"params": [lib.nn.Parameter(lib.zeros(1))], "lr": 0.3}]
        opt = lib.optim.SGD(groups, lr=0.1)
        sched = lib.optim.swa_utils.SWALR(opt, **kwargs)
        out = []
        for step in range(20):
            opt.step()
            sched.step()
            if step == 10:
                sd = sched.state_dict()
                sched.load_state_dict(sd)
            out.append(sched.get_last_lr())
        rates.append(out)
    np.testing.assert_allclose(rates[1], rates[0], rtol=1e-12)
    for lib in (torch, ember):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1)
        with pytest.raises(ValueError):
            lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="step")
        with pytest.raises(ValueError):
            lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)


def test_update_bn_like_torch():
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((5, 3)).astype(np.float32) for _ in range(4)]
    stats = []
    for lib in (torch, ember):
        model = _model(lib)
        model.eval()
        loader = [(lib.from_numpy(x), lib.zeros(5)) for x in batches]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib.optim.swa_utils.update_bn(loader, model)
        bn = model[1]
        assert not model.training and bn.momentum == 0.1
        stats.append((bn.running_mean.numpy().copy(), bn.running_var.numpy().copy(),
                      int(bn.num_batches_tracked)))
    np.testing.assert_allclose(stats[1][0], stats[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats[1][1], stats[0][1], rtol=1e-5, atol=1e-6)
    assert stats[1][2] == stats[0][2]
