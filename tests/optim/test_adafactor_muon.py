"""Adafactor and Muon against torch.optim: 25-step float64 trajectories over a grid of
options, parameter groups, state and state_dict (both ways between ember and torch),
defaults, repr and argument errors."""
import numpy as np
import pytest
import torch

import ember

ADAFACTOR_SHAPES = [(3, 4), (4,), (2, 3, 5), ()]
MUON_SHAPES = [(3, 4), (5, 2), (4, 4)]

CONFIGS = [
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.1, weight_decay=0.1)),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=2.0, maximize=True)),
    ("Adafactor", dict(lr=0.5, eps=(1e-30, 0.0), d=1.0, foreach=True)),
    ("Muon", dict()),
    ("Muon", dict(lr=0.02, weight_decay=0.0, momentum=0.9, nesterov=False)),
    ("Muon", dict(lr=0.05, adjust_lr_fn="match_rms_adamw", ns_steps=3)),
    ("Muon", dict(lr=0.01, adjust_lr_fn="original", ns_coefficients=(2.0, -1.5, 0.5),
                  eps=1e-3, ns_steps=0)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]
# Muon orthogonalizes in bfloat16 (as torch): ember rounds each product to bfloat16 from a
# float32 sum, torch's kernel sums in another order, and about one element in a thousand
# lands one bfloat16 step (0.4 %) apart: times the (adjusted) lr, a parameter moves up to
# ~1e-4 away, against the ~1e-2 a wrong formula costs.
TOL = {"Adafactor": dict(rtol=1e-10, atol=1e-12), "Muon": dict(rtol=1e-4, atol=5e-4)}


def _shapes(name):
    return ADAFACTOR_SHAPES if name == "Adafactor" else MUON_SHAPES


def _params(lib, name, seed=0):
    rng = np.random.default_rng(seed)
    return [lib.nn.Parameter(lib.from_numpy(rng.standard_normal(s))) for s in _shapes(name)]


def _to_ember(obj):
    """A torch state dict with its tensors as ember tensors (and the reverse: _to_torch)."""
    if isinstance(obj, torch.Tensor):
        return ember.from_numpy(obj.numpy().copy())
    if isinstance(obj, dict):
        return {k: _to_ember(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_ember(v) for v in obj]
    return obj


def _to_torch(obj):
    if isinstance(obj, ember.Tensor):
        return torch.from_numpy(obj.numpy().copy())
    if isinstance(obj, dict):
        return {k: _to_torch(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_torch(v) for v in obj]
    return obj


def _set_grads(tp, ep, rng):
    for a, b in zip(tp, ep):
        g = rng.standard_normal(tuple(a.shape))
        a.grad = torch.from_numpy(g.copy())
        b.grad = ember.from_numpy(g.copy())


def _assert_params(tp, ep, name, msg=""):
    for i, (a, b) in enumerate(zip(tp, ep)):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), **TOL[name],
                                   err_msg=f"{msg} param {i}")


def _assert_state_dicts(tsd, esd, name):
    assert esd["param_groups"] == tsd["param_groups"]
    assert tsd["state"].keys() == esd["state"].keys()
    for k in tsd["state"]:
        assert set(tsd["state"][k]) == set(esd["state"][k])
        for key, tv in tsd["state"][k].items():
            ev = esd["state"][k][key]
            assert str(ev.dtype).split(".")[1] == str(tv.dtype).split(".")[1], key
            assert tuple(ev.shape) == tuple(tv.shape), key
            np.testing.assert_allclose(ev.numpy(), tv.numpy(), **TOL[name])


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_same_trajectory_as_torch(name, kwargs):
    tp, ep = _params(torch, name), _params(ember, name)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    eopt = getattr(ember.optim, name)(ep, **kwargs)
    rng = np.random.default_rng(1)
    for step in range(25):
        _set_grads(tp, ep, rng)
        if step == 7:   # a parameter without a gradient is skipped
            tp[1].grad = ep[1].grad = None
        topt.step()
        eopt.step()
        _assert_params(tp, ep, name, f"step {step}")
    _assert_state_dicts(topt.state_dict(), eopt.state_dict(), name)


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_param_groups_as_torch(name):
    """Two groups with their own options; the per-group lr changed between steps."""
    runs = []
    for lib in (torch, ember):
        ps = _params(lib, name)
        opt = getattr(lib.optim, name)([{"params": ps[:1], "lr": 0.2, "weight_decay": 0.05},
                                        {"params": ps[1:]}], lr=0.03)
        runs.append((ps, opt))
    (tp, topt), (ep, eopt) = runs
    assert repr(eopt) == repr(topt)
    rng = np.random.default_rng(2)
    for step in range(10):
        _set_grads(tp, ep, rng)
        if step == 5:
            for opt in (topt, eopt):
                opt.param_groups[1]["lr"] = 0.07
        topt.step()
        eopt.step()
        _assert_params(tp, ep, name, f"step {step}")
    _assert_state_dicts(topt.state_dict(), eopt.state_dict(), name)


@pytest.mark.parametrize("name,kwargs", CONFIGS[::2], ids=IDS[::2])
def test_state_dict_between_torch_and_ember(name, kwargs):
    """torch's state_dict after 5 steps loaded into ember (and ember's into torch): the next
    5 steps as torch's own."""
    rng = np.random.default_rng(3)
    grads = [[rng.standard_normal(s) for s in _shapes(name)] for _ in range(10)]

    def steps(lib, ps, opt, gs):
        for g_step in gs:
            for p, g in zip(ps, g_step):
                p.grad = lib.from_numpy(g.copy())
            opt.step()

    tp = _params(torch, name)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    steps(torch, tp, topt, grads[:5])
    middle = [p.detach().numpy().copy() for p in tp]
    sd = topt.state_dict()

    # torch -> ember
    ep = [ember.nn.Parameter(ember.from_numpy(a.copy())) for a in middle]
    eopt = getattr(ember.optim, name)(ep, **kwargs)
    eopt.load_state_dict(_to_ember(sd))
    _assert_state_dicts(sd, eopt.state_dict(), name)
    # ember -> torch
    tp2 = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in middle]
    topt2 = getattr(torch.optim, name)(tp2, **kwargs)
    topt2.load_state_dict(_to_torch(eopt.state_dict()))

    steps(torch, tp, topt, grads[5:])
    steps(ember, ep, eopt, grads[5:])
    steps(torch, tp2, topt2, grads[5:])
    _assert_params(tp, ep, name, "torch -> ember")
    _assert_params(tp, tp2, name, "ember -> torch")


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_defaults_and_repr_like_torch(name):
    t = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2, 2))])
    e = getattr(ember.optim, name)([ember.nn.Parameter(ember.ones(2, 2))])
    assert e.defaults == t.defaults
    assert repr(e) == repr(t)


def _outcome(fn):
    try:
        fn()
    except Exception as exc:   # noqa: BLE001 (the type is what is compared)
        return type(exc), str(exc)
    return None


BAD_ARGUMENTS = [
    ("Adafactor", dict(lr=-1.0)), ("Adafactor", dict(beta2_decay=0.5)),
    ("Adafactor", dict(eps=(-1.0, 1e-3))), ("Adafactor", dict(eps=(None, -1.0))),
    ("Adafactor", dict(d=0.5)), ("Adafactor", dict(weight_decay=-0.1)),
    ("Adafactor", dict(momentum=0.9)), ("Adafactor", dict(eps=(1e-3, 1e-3), maximize=True)),
    ("Muon", dict(lr=-1.0)), ("Muon", dict(momentum=-0.5)), ("Muon", dict(weight_decay=-1.0)),
    ("Muon", dict(adjust_lr_fn="other")), ("Muon", dict(foreach=True)),
    ("Muon", dict(adjust_lr_fn="original", nesterov=False)),
]


@pytest.mark.parametrize("name,kwargs", BAD_ARGUMENTS)
def test_bad_arguments_like_torch(name, kwargs):
    """The same exception type and message (or none) as torch for each argument."""
    got = [_outcome(lambda lib=lib: getattr(lib.optim, name)(
        [lib.nn.Parameter(lib.ones(2, 2))], **kwargs)) for lib in (torch, ember)]
    assert got[1] == got[0]


def _step_outcome(lib, name, param, kwargs=None, grad=None):
    def run():
        p = lib.nn.Parameter(param(lib))
        opt = getattr(lib.optim, name)([p], **(kwargs or {}))
        p.grad = lib.ones_like(p) if grad is None else grad(lib)
        opt.step()
    return _outcome(run)


BAD_STEPS = [
    ("Adafactor", lambda L: L.ones(2, dtype=L.complex128), None),
    ("Adafactor", lambda L: L.zeros(0, 3, dtype=L.float64), None),   # RMS of nothing
    ("Muon", lambda L: L.ones(2, 2, dtype=L.complex128), None),
    ("Muon", lambda L: L.ones(2, 2), dict(ns_steps=100)),
    ("Muon", lambda L: L.ones(2, 2), dict(ns_coefficients=(1.0, 2.0))),
]


@pytest.mark.parametrize("name,param,kwargs", BAD_STEPS)
def test_bad_steps_like_torch(name, param, kwargs):
    """Parameters or options the step refuses: torch's exception and message."""
    got = [_step_outcome(lib, name, param, kwargs) for lib in (torch, ember)]
    assert got[0] is not None and got[1] == got[0]


def test_muon_refuses_parameters_that_are_not_matrices():
    for shape in [(4,), (2, 2, 2), ()]:
        got = []
        for lib in (torch, ember):
            outcome = _outcome(lambda: lib.optim.Muon([lib.nn.Parameter(lib.ones(shape))]))
            got.append((outcome[0], outcome[1].replace("torch.", "").replace("ember.", "")))
        assert got[0][0] is ValueError and got[1] == got[0]


def test_adafactor_float32_and_zero_gradients_like_torch():
    """float32 parameters (eps1 from float32's epsilon) and an all-zero gradient (the
    variance clamps at eps1^2): torch's values, at float32 precision."""
    runs = []
    for lib in (torch, ember):
        rng = np.random.default_rng(6)
        ps = [lib.nn.Parameter(lib.from_numpy(rng.standard_normal(s).astype(np.float32)))
              for s in [(3, 4), (5,)]]
        opt = lib.optim.Adafactor(ps, lr=0.1)
        for step in range(6):
            for p in ps:
                g = rng.standard_normal(tuple(p.shape)).astype(np.float32)
                p.grad = lib.from_numpy(g * 0 if step == 2 else g)
            opt.step()
        runs.append([p.detach().numpy() for p in ps])
    for a, b in zip(*runs):
        assert b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_step_on_device_like_torch(device, name):
    """The same steps on the test device as torch's on the CPU."""
    rng = np.random.default_rng(4)
    init = [rng.standard_normal(s) for s in _shapes(name)]
    grads = [[rng.standard_normal(s) for s in _shapes(name)] for _ in range(6)]
    results = []
    for lib, dev in ((torch, "cpu"), (ember, device)):
        ps = [lib.nn.Parameter(lib.from_numpy(a.copy()).to(dev)) for a in init]
        opt = getattr(lib.optim, name)(ps, lr=0.05)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = lib.from_numpy(g.copy()).to(dev)
            opt.step()
        results.append([p.detach().cpu().numpy() for p in ps])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, **TOL[name])
