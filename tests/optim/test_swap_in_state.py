"""optim.swap_in_optimizer_params_and_state against torch's: steps taken inside the block
move the swapped-in tensors and state (in place), and the optimizer's own come back."""
import numpy as np
import pytest
import torch

import ember

SHAPES = [(3, 2), (2,), (4,)]


def _tensors(lib, seed):
    rng = np.random.default_rng(seed)
    return [lib.nn.Parameter(lib.from_numpy(rng.standard_normal(s))) for s in SHAPES]


def _step(lib, opt, seed):
    rng = np.random.default_rng(seed)
    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = lib.from_numpy(rng.standard_normal(tuple(p.shape)))
    opt.step()


def _swap_run(lib, name, kwargs):
    """An optimizer stepped once, a copy stepped twice for its state_dict, then steps on
    swapped-in tensors: (live values after, swapped values, swap state, live state, the
    group options seen inside)."""
    live = _tensors(lib, 0)
    opt = getattr(lib.optim, name)([{"params": live[:2]}, {"params": live[2:], "lr": 0.3}],
                                   **kwargs)
    _step(lib, opt, 1)
    other = _tensors(lib, 2)
    other_opt = getattr(lib.optim, name)([{"params": other[:2], "lr": 0.05},
                                          {"params": other[2:], "lr": 0.2}], **kwargs)
    _step(lib, other_opt, 3)
    _step(lib, other_opt, 4)
    sd = other_opt.state_dict()
    swapped = {f"p{i}": p for i, p in enumerate(_tensors(lib, 5))}
    with lib.optim.swap_in_optimizer_params_and_state(opt, swapped, sd):
        inside_lrs = [g["lr"] for g in opt.param_groups]
        assert [list(g["params"]) for g in opt.param_groups][0][0] is swapped["p0"]
        _step(lib, opt, 6)
        _step(lib, opt, 7)
    assert opt.param_groups[0]["params"][0] is live[0]
    lrs = [g["lr"] for g in opt.param_groups]
    state = {k: v.detach().numpy().copy() for k, v in opt.state[live[0]].items()}
    swap_state = {k: v.detach().numpy().copy() for k, v in sd["state"][0].items()}
    values = [p.detach().numpy().copy() for p in live]
    _step(lib, opt, 8)   # the optimizer goes on from its own state
    after = [p.detach().numpy().copy() for p in live]
    return (values, after, [p.detach().numpy() for p in swapped.values()], swap_state, state,
            inside_lrs, lrs)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.1)), ("Adafactor", dict())])
def test_swap_in_like_torch(name, kwargs):
    t, e = _swap_run(torch, name, kwargs), _swap_run(ember, name, kwargs)
    for what, tv, ev in zip(("live", "live after", "swapped"), t[:3], e[:3]):
        for a, b in zip(tv, ev):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14, err_msg=what)
    for what, tv, ev in zip(("swap state", "live state"), t[3:5], e[3:5]):
        assert tv.keys() == ev.keys()
        for key in tv:
            np.testing.assert_allclose(ev[key], tv[key], rtol=1e-12, atol=1e-14,
                                       err_msg=f"{what} {key}")
    assert e[5:] == t[5:]


def _error(lib, change, fresh=False):
    p = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
    if not fresh:
        p.grad = lib.ones(2)
        opt.step()
    sd = opt.state_dict()
    params = {"a": lib.nn.Parameter(lib.zeros(2))}
    sd, params = change(lib, sd, params)
    try:
        with lib.optim.swap_in_optimizer_params_and_state(opt, params, sd):
            pass
    except RuntimeError as exc:
        return str(exc)
    return None


BAD = [
    ("not a dict", lambda L, sd, ps: ([sd], ps)),
    ("state a list", lambda L, sd, ps: ({**sd, "state": []}, ps)),
    ("state keyed by tensors", lambda L, sd, ps: ({**sd, "state": {L.ones(1): {}}}, ps)),
    ("state entry not a dict", lambda L, sd, ps: ({**sd, "state": {0: 1}}, ps)),
    ("groups not a list", lambda L, sd, ps: ({**sd, "param_groups": ()}, ps)),
    ("two groups", lambda L, sd, ps: ({**sd, "param_groups": sd["param_groups"] * 2}, ps)),
    ("group not a dict", lambda L, sd, ps: ({**sd, "param_groups": [1]}, ps)),
    ("ids not ints", lambda L, sd, ps: ({**sd, "param_groups": [
        {**sd["param_groups"][0], "params": ["a"]}]}, ps)),
    ("more ids", lambda L, sd, ps: ({**sd, "param_groups": [
        {**sd["param_groups"][0], "params": [0, 1]}]}, ps)),
    ("other keys", lambda L, sd, ps: ({**sd, "param_groups": [
        {**sd["param_groups"][0], "betas": 1}]}, ps)),
    ("missing tensors", lambda L, sd, ps: (sd, {})),
    ("extra state", lambda L, sd, ps: ({**sd, "state": {**sd["state"], 5: {}}}, ps)),
]


@pytest.mark.parametrize("name,change", BAD, ids=[b[0] for b in BAD])
def test_swap_in_errors_like_torch(name, change):
    want = _error(torch, change)
    assert want is not None
    assert _error(ember, change) == want


def test_swap_in_needs_initialized_state():
    got = [_error(lib, lambda L, sd, ps: (sd, ps), fresh=True) for lib in (torch, ember)]
    assert got[0] is not None and got[1] == got[0]
