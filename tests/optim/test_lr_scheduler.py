"""Every scheduler gives torch's learning rates (and momenta) for 120 steps, over two
parameter groups, with a state_dict round trip into fresh objects in the middle."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember


def _lambda(epoch):
    return 0.97 ** epoch + 0.01 * (epoch % 3)


def _scale(x):
    return 1 / (1 + 0.1 * x)


# name -> (optimizer name, optimizer kwargs, make(lib, opt) -> scheduler)
CASES = {
    "LambdaLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.LambdaLR(o, _lambda)),
    "LambdaLR-list": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.LambdaLR(
        o, [_lambda, lambda e: 1.0 / (e + 1)])),
    "MultiplicativeLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.MultiplicativeLR(
        o, lambda e: 0.99 if e % 2 else 1.005)),
    "StepLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.7)),
    "MultiStepLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.MultiStepLR(
        o, milestones=[10, 30, 30, 75], gamma=0.5)),
    "ConstantLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.ConstantLR(
        o, factor=0.3, total_iters=40)),
    "LinearLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.LinearLR(
        o, start_factor=0.1, end_factor=0.9, total_iters=80)),
    "ExponentialLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.ExponentialLR(o, gamma=0.97)),
    "PolynomialLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.PolynomialLR(
        o, total_iters=90, power=2.5)),
    "CosineAnnealingLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=17, eta_min=0.001)),
    "CosineAnnealingWarmRestarts": ("SGD", {}, lambda L, o:
                                    L.optim.lr_scheduler.CosineAnnealingWarmRestarts(
                                        o, T_0=5, T_mult=2, eta_min=0.01)),
    "CyclicLR-triangular": ("SGD", {"momentum": 0.9}, lambda L, o: L.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=7, step_size_down=11)),
    "CyclicLR-triangular2": ("Adam", {}, lambda L, o: L.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="triangular2")),
    "CyclicLR-exp_range": ("SGD", {"momentum": 0.9}, lambda L, o: L.optim.lr_scheduler.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=6, mode="exp_range", gamma=0.98,
        base_momentum=0.7, max_momentum=0.95)),
    "CyclicLR-scale_fn": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=_scale, scale_mode="iterations",
        cycle_momentum=False)),
    "OneCycleLR-cos": ("SGD", {"momentum": 0.9}, lambda L, o: L.optim.lr_scheduler.OneCycleLR(
        o, max_lr=[0.1, 0.3], total_steps=130)),
    "OneCycleLR-linear-3phase": ("AdamW", {}, lambda L, o: L.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.1, epochs=13, steps_per_epoch=10, anneal_strategy="linear",
        three_phase=True, pct_start=0.25, div_factor=10.0, final_div_factor=100.0)),
    "OneCycleLR-no-momentum": ("Adagrad", {}, lambda L, o: L.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.1, total_steps=125, cycle_momentum=False)),
    "SequentialLR": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.SequentialLR(
        o, [L.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=10),
            L.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40),
            L.optim.lr_scheduler.ExponentialLR(o, gamma=0.95)], milestones=[10, 60])),
    "ChainedScheduler": ("SGD", {}, lambda L, o: L.optim.lr_scheduler.ChainedScheduler(
        [L.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=20),
         L.optim.lr_scheduler.ExponentialLR(o, gamma=0.98),
         L.optim.lr_scheduler.StepLR(o, step_size=13, gamma=0.8)])),
    "ReduceLROnPlateau-min-rel": ("SGD", {}, lambda L, o:
                                  L.optim.lr_scheduler.ReduceLROnPlateau(
                                      o, factor=0.5, patience=3, cooldown=2, min_lr=[1e-3, 0.0])),
    "ReduceLROnPlateau-max-abs": ("SGD", {}, lambda L, o:
                                  L.optim.lr_scheduler.ReduceLROnPlateau(
                                      o, mode="max", threshold=0.05, threshold_mode="abs",
                                      patience=2, eps=1e-3)),
}

STEPS = 120


def _metric(step):
    """A noisy plateauing metric for ReduceLROnPlateau."""
    return 1.0 / (1 + step) + 0.05 * math.sin(step * 1.7)


def _build(lib, case):
    opt_name, opt_kwargs, make = CASES[case]
    params = [lib.nn.Parameter(lib.zeros(2)), lib.nn.Parameter(lib.zeros(3))]
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}]
    opt = getattr(lib.optim, opt_name)(groups, lr=0.1, **opt_kwargs)
    return opt, make(lib, opt)


def _run(lib, case, resume_at=None):
    """Rates and momenta after each step; at `resume_at`, state dicts go into fresh objects."""
    opt, sched = _build(lib, case)
    history = []
    for step in range(STEPS):
        if step == resume_at:
            opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
            opt, sched = _build(lib, case)
            opt.load_state_dict(opt_sd)
            sched.load_state_dict(sched_sd)
        opt.step()
        if "Plateau" in case:
            sched.step(_metric(step))
        else:
            sched.step()
        groups = opt.param_groups
        history.append(list(sched.get_last_lr()) + [g["lr"] for g in groups]
                       + [g.get("momentum", 0.0) for g in groups]
                       + [g["betas"][0] if "betas" in g else 0.0 for g in groups])
    return np.array(history, dtype=np.float64), sched


@pytest.mark.parametrize("case", list(CASES))
def test_rates_match_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, tsched = _run(torch, case)
        got, esched = _run(ember, case)
        resumed, _ = _run(ember, case, resume_at=STEPS // 2)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(resumed, expected, rtol=1e-12, atol=0)
    assert getattr(esched, "last_epoch", None) == getattr(tsched, "last_epoch", None)
    tkeys, ekeys = set(tsched.state_dict()), set(esched.state_dict())
    assert ekeys == tkeys


def test_closed_form_step_epoch():
    """step(epoch) uses the closed form (and warns as torch does)."""
    for name, kwargs in [("StepLR", dict(step_size=3, gamma=0.5)),
                         ("MultiStepLR", dict(milestones=[2, 5], gamma=0.3)),
                         ("ExponentialLR", dict(gamma=0.9)),
                         ("CosineAnnealingLR", dict(T_max=10)),
                         ("PolynomialLR", dict(total_iters=8, power=2.0)),
                         ("LinearLR", dict(total_iters=6)), ("ConstantLR", dict(total_iters=4))]:
        rates = []
        for lib in (torch, ember):
            opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1)
            sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
            out = []
            for epoch in [3, 7, 1, 12]:
                opt.step()
                with pytest.warns(UserWarning, match="epoch parameter"):
                    sched.step(epoch)
                out.append(sched.get_last_lr()[0])
            rates.append(out)
        np.testing.assert_allclose(rates[1], rates[0], rtol=1e-12, err_msg=name)


def test_warm_restarts_fractional_epoch():
    rates = []
    for lib in (torch, ember):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
        out = []
        for epoch in [0.5, 2.9, 3.0, 7.25, 20.0, 1.0]:
            opt.step()
            sched.step(epoch)
            out.append((sched.get_last_lr()[0], sched.T_i, sched.T_cur, sched.last_epoch))
        rates.append(out)
    np.testing.assert_allclose(np.array(rates[1]), np.array(rates[0]), rtol=1e-12)


def _warnings_of(lib, scenario):
    opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1)
    sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenario(opt, sched)
    return [str(w.message).split(".")[0] for w in caught]


@pytest.mark.parametrize("scenario", [
    lambda o, s: s.step(),                               # scheduler before optimizer
    lambda o, s: (o.step(), s.step()),                   # the right order: no warning
    lambda o, s: s.get_lr(),                             # get_lr outside step
    lambda o, s: (setattr(o, "step", lambda closure=None: None), s.step()),   # step replaced
], ids=["sched-before-opt", "right-order", "get_lr-outside-step", "step-overridden"])
def test_warnings_like_torch(scenario):
    assert _warnings_of(ember, scenario) == _warnings_of(torch, scenario)


def test_bad_arguments_raise_like_torch():
    def cases(lib):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1)
        adagrad = lib.optim.Adagrad([lib.nn.Parameter(lib.zeros(1))], lr=0.1)
        S = lib.optim.lr_scheduler
        return [
            lambda: S.StepLR("not an optimizer", step_size=1),
            lambda: S.LambdaLR(opt, [_lambda, _lambda]),
            lambda: S.MultiplicativeLR(opt, 0.5),
            lambda: S.ConstantLR(opt, factor=2.0),
            lambda: S.LinearLR(opt, start_factor=0.0),
            lambda: S.LinearLR(opt, end_factor=1.5),
            lambda: S.ExponentialLR(opt, gamma=0.5, last_epoch=3),
            lambda: S.CosineAnnealingWarmRestarts(opt, T_0=0),
            lambda: S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0),
            lambda: S.CyclicLR(opt, 0.01, 0.1, mode="bogus"),
            lambda: S.CyclicLR(adagrad, 0.01, 0.1),
            lambda: S.CyclicLR(opt, [0.01, 0.02], 0.1),
            lambda: S.OneCycleLR(opt, max_lr=0.1),
            lambda: S.OneCycleLR(opt, max_lr=0.1, total_steps=0),
            lambda: S.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1),
            lambda: S.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="cubic"),
            lambda: S.ReduceLROnPlateau(opt, factor=1.0),
            lambda: S.ReduceLROnPlateau(opt, mode="middle"),
            lambda: S.ReduceLROnPlateau(opt, threshold_mode="both"),
            lambda: S.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2]),
            lambda: S.SequentialLR(opt, [], milestones=[]),
            lambda: S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(opt, 3)], milestones=[]),
            lambda: S.SequentialLR(opt, [S.ReduceLROnPlateau(opt)], milestones=[]),
            lambda: S.ChainedScheduler([S.StepLR(opt, 2), S.StepLR(adagrad, 2)]),
        ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (t_case, e_case) in enumerate(zip(cases(torch), cases(ember))):
            with pytest.raises(Exception) as t_err:
                t_case()
            with pytest.raises(Exception) as e_err:
                e_case()
            assert e_err.type is t_err.type, (i, t_err.value, e_err.value)


def test_one_cycle_past_total_steps_raises():
    for lib in (torch, ember):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1, momentum=0.9)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            sched.step()
