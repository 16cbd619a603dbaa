"""Every optimizer, over a grid of its options, moves float64 parameters exactly as
torch.optim does given the same gradient sequence; state and state_dict agree."""
import multiprocessing
import os

import numpy as np
import pytest
import torch

import ember

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, foreach=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True, eps=1e-6)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True, foreach=False)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.6, 0.8), maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, eps=1e-4)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, eps=1e-3, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.3, 0.5), weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, weight_decay=0.1, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1, maximize=True)),
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
    for step in range(25):
        for a, b in zip(tp, ep):
            g = rng.standard_normal(tuple(a.shape))
            if step % 4 == 3:
                g = np.sign(g)          # repeated values: Rprop's sign logic, ties
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
                assert str(ev.dtype).split(".")[1] == str(tv.dtype).split(".")[1], key
                assert tuple(ev.shape) == tuple(tv.shape), key
                np.testing.assert_allclose(ev.numpy(), tv.numpy(), rtol=1e-10, atol=1e-12)
            else:
                assert ev == tv, key


@pytest.mark.parametrize("name,kwargs", CONFIGS[::3])
def test_resume_from_state_dict(name, kwargs):
    """10 steps, state_dict round trip into a fresh optimizer, 10 more: as torch does it, and
    equal to 20 straight steps up to float32 rounding: torch's load casts float32 scalar state
    (NAdam's mu_product, ASGD's eta and mu) to the parameter's dtype."""
    rng = np.random.default_rng(2)
    grads = [[rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2, 2)]] for _ in range(20)]

    def run(lib, split):
        ps = _params(lib)
        opt = getattr(lib.optim, name)(ps, **kwargs)
        for step, gs in enumerate(grads):
            if step == split:
                sd = opt.state_dict()
                opt = getattr(lib.optim, name)(ps, **kwargs)
                opt.load_state_dict(sd)
            for p, g in zip(ps, gs):
                p.grad = lib.from_numpy(g.copy())
            opt.step()
        return [p.detach().numpy().copy() for p in ps]
    for straight, resumed, torch_resumed in zip(run(ember, None), run(ember, 10), run(torch, 10)):
        np.testing.assert_allclose(resumed, torch_resumed, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(resumed, straight, rtol=1e-6, atol=1e-8)


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


LBFGS_CONFIGS = [
    dict(),
    dict(lr=0.5, max_iter=7, history_size=3),
    dict(max_iter=3, max_eval=4, tolerance_change=1e-5),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", history_size=2, max_iter=4, lr=0.8),
]


def _lbfgs_run(lib, kwargs, steps=6):
    """A least-squares problem plus a quartic term, two parameters; the loss of each step,
    the parameters after it, and the final state."""
    rng = np.random.default_rng(0)
    A = lib.from_numpy(rng.standard_normal((6, 6)) * 0.5 + 2 * np.eye(6))
    b = lib.from_numpy(rng.standard_normal(6))
    x = lib.nn.Parameter(lib.from_numpy(rng.standard_normal(4)))
    y = lib.nn.Parameter(lib.from_numpy(rng.standard_normal(2)))
    opt = lib.optim.LBFGS([x, y], **kwargs)

    def closure():
        opt.zero_grad()
        v = lib.cat([x, y])
        loss = ((A @ v - b) ** 2).sum() + (v ** 4).sum() * 0.1
        loss.backward()
        return loss
    trajectory = []
    for _ in range(steps):
        loss = opt.step(closure)
        trajectory.append([loss.item()] + list(x.detach().numpy()) + list(y.detach().numpy()))
    return np.array(trajectory), opt.state[x]


@pytest.mark.parametrize("kwargs", LBFGS_CONFIGS, ids=[str(k) for k in LBFGS_CONFIGS])
def test_lbfgs_same_trajectory_as_torch(kwargs):
    expected, tstate = _lbfgs_run(torch, kwargs)
    got, estate = _lbfgs_run(ember, kwargs)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert set(estate) == set(tstate)
    for key in ("func_evals", "n_iter"):
        assert estate[key] == tstate[key], key
    for key in ("d", "prev_flat_grad"):
        np.testing.assert_allclose(estate[key].numpy(), tstate[key].numpy(), rtol=1e-8,
                                   atol=1e-12)
    assert len(estate["old_dirs"]) == len(tstate["old_dirs"])
    np.testing.assert_allclose(float(estate["H_diag"]), float(tstate["H_diag"]), rtol=1e-8)
    np.testing.assert_allclose([float(r) for r in estate["ro"]],
                               [float(r) for r in tstate["ro"]], rtol=1e-8)


@pytest.mark.parametrize("kwargs", [dict(), dict(line_search_fn="strong_wolfe", history_size=3)],
                         ids=["plain", "strong_wolfe"])
def test_lbfgs_complex_parameters_like_torch(kwargs):
    """A complex parameter is optimized as its real and imaginary parts, beside a real one."""
    rng = np.random.default_rng(2)
    A = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3)) + 2 * np.eye(4, 3)
    b = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    z0 = rng.standard_normal(3) + 1j * rng.standard_normal(3)

    def run(lib):
        z = lib.nn.Parameter(lib.from_numpy(z0.copy()))
        w = lib.nn.Parameter(lib.from_numpy(np.full(2, 0.7)))
        opt = lib.optim.LBFGS([z, w], **kwargs)
        At, bt = lib.from_numpy(A.copy()), lib.from_numpy(b.copy())

        def closure():
            opt.zero_grad()
            loss = ((At @ z - bt).abs() ** 2).sum() + (w ** 4).sum() + (z.real * w[0]).sum()
            loss.backward()
            return loss
        trajectory = []
        for _ in range(4):
            loss = opt.step(closure)
            trajectory.append([loss.item()] + list(z.detach().numpy()) +
                              list(w.detach().numpy()))
        return np.array(trajectory), opt.state[z]["func_evals"]
    (expected, tevals), (got, eevals) = run(torch), run(ember)
    # complex |.|^2 and dot products round in another order than torch's: 1e-8 apart
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-10)
    assert eevals == tevals


def test_lbfgs_rules_like_torch():
    for lib in (torch, ember):
        a, b = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(1))
        with pytest.raises(ValueError):
            lib.optim.LBFGS([{"params": [a]}, {"params": [b]}])
        opt = lib.optim.LBFGS([a])
        with pytest.raises(TypeError):
            opt.step()                   # the closure is required
        opt = lib.optim.LBFGS([a], line_search_fn="backtracking")

        def closure():
            opt.zero_grad()
            loss = (a ** 2).sum()
            loss.backward()
            return loss
        with pytest.raises(RuntimeError):
            opt.step(closure)


def test_sparse_adam_like_torch():
    """ember has no sparse layout: a dense gradient raises as in torch, and nothing moves."""
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.ones(3))
        with pytest.raises(ValueError):
            lib.optim.SparseAdam([p], lr=0.0)
        with pytest.raises(ValueError):
            lib.optim.SparseAdam([p], eps=0.0)
        opt = lib.optim.SparseAdam([p])
        assert repr(opt) == repr(torch.optim.SparseAdam([torch.nn.Parameter(torch.ones(3))]))
        p.grad = lib.ones(3)
        with pytest.raises(RuntimeError, match="does not support dense gradients"):
            opt.step()
        np.testing.assert_array_equal(p.detach().numpy(), np.ones(3))


ALL_OPTIMIZERS = sorted({name for name, _ in CONFIGS})


@pytest.mark.parametrize("name", ALL_OPTIMIZERS + ["LBFGS", "SparseAdam"])
def test_defaults_like_torch(name):
    t = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(1))])
    e = getattr(ember.optim, name)([ember.nn.Parameter(ember.ones(1))])
    assert e.defaults == t.defaults
    assert repr(e) == repr(t)


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_bad_hyperparameters_raise_like_torch(name):
    """Each negative / out-of-range hyper-parameter torch checks: same exception type."""
    candidates = dict(lr=-1.0, eps=-1.0, weight_decay=-1.0, momentum=-0.5, alpha=-0.5,
                      betas=(0.9, 1.0), rho=1.5, lr_decay=-1.0, initial_accumulator_value=-1.0,
                      momentum_decay=-1.0, etas=(1.5, 1.2))
    for key, value in candidates.items():
        outcome = []
        for lib in (torch, ember):
            p = lib.nn.Parameter(lib.ones(2))
            try:
                getattr(lib.optim, name)([p], **{key: value})
                outcome.append(None)
            except TypeError:             # the optimizer has no such option
                outcome.append(TypeError)
            except ValueError:
                outcome.append(ValueError)
        assert outcome[0] is outcome[1], (name, key, outcome)


def test_bad_params_change_nothing():
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.ones(2))
        # a non-floating parameter is accepted, but its update raises before anything moves
        q, n = lib.nn.Parameter(lib.ones(2)), lib.ones(2, dtype=lib.int64)
        opt = lib.optim.SGD([q, n], lr=0.1)
        q.grad, n.grad = lib.ones(2), lib.ones(2, dtype=lib.int64)
        with pytest.raises(RuntimeError):
            opt.step()
        if lib is ember:                 # torch updated q before failing on n
            np.testing.assert_array_equal(q.detach().numpy(), np.ones(2))
        # a non-leaf tensor that retains its grad is accepted
        y = p * 2
        y.retain_grad()
        lib.optim.SGD([y], lr=0.1)
        # names: all or none
        with pytest.raises(ValueError):
            lib.optim.SGD([("a", p), lib.nn.Parameter(lib.ones(1))], lr=0.1)
        # a param in two groups, via add_param_group, leaves the groups as they were
        opt = lib.optim.Adam([p], lr=0.1)
        with pytest.raises(ValueError):
            opt.add_param_group({"params": [p]})
        with pytest.raises(TypeError):
            opt.add_param_group([p])
        assert len(opt.param_groups) == 1
        # a state dict of another shape changes nothing
        p.grad = lib.ones(2)
        opt.step()
        before = {k: v.clone() for k, v in opt.state[p].items()}
        other = lib.optim.Adam([lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(1))])
        with pytest.raises(ValueError):
            opt.load_state_dict(other.state_dict())
        assert all(np.array_equal(opt.state[p][k].numpy(), v.numpy()) for k, v in before.items())
        assert opt.param_groups[0]["lr"] == 0.1


def test_named_parameters_like_torch():
    tm, em = torch.nn.Linear(2, 1), ember.nn.Linear(2, 1)
    t = torch.optim.SGD(tm.named_parameters(), lr=0.1, momentum=0.9)
    e = ember.optim.SGD(em.named_parameters(), lr=0.1, momentum=0.9)
    assert repr(e) == repr(t)
    assert e.state_dict()["param_groups"] == t.state_dict()["param_groups"]
    for lib, opt in ((torch, t), (ember, e)):
        with pytest.raises(ValueError):
            opt.add_param_group({"params": [lib.nn.Parameter(lib.ones(1))]})


def test_float32_params_follow_torch():
    """float32 parameters: updates computed in float32 as torch does (loose tolerance)."""
    for name, kwargs in CONFIGS:
        tp = [torch.nn.Parameter(p.detach().float()) for p in _params(torch)]
        ep = [ember.nn.Parameter(p.detach().float()) for p in _params(ember)]
        topt = getattr(torch.optim, name)(tp, **kwargs)
        eopt = getattr(ember.optim, name)(ep, **kwargs)
        rng = np.random.default_rng(3)
        for _ in range(5):
            for a, b in zip(tp, ep):
                g = rng.standard_normal(tuple(a.shape)).astype(np.float32)
                a.grad, b.grad = torch.from_numpy(g.copy()), ember.from_numpy(g.copy())
            topt.step()
            eopt.step()
        for a, b in zip(tp, ep):
            assert b.dtype == ember.float32
            np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=name)


def test_resume_through_save_and_load(tmp_path):
    """Model + optimizer + scheduler: 10 steps, ember.save, ember.load into fresh objects,
    10 more steps == 20 uninterrupted steps."""
    rng = np.random.default_rng(4)
    data = [(rng.standard_normal((8, 3)), rng.standard_normal((8, 2))) for _ in range(20)]

    def build():
        ember.manual_seed(0)
        model = ember.nn.Linear(3, 2).double()
        opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        sched = ember.optim.lr_scheduler.MultiStepLR(opt, milestones=[5, 15], gamma=0.5)
        return model, opt, sched

    def train(model, opt, sched, batches):
        for x, y in batches:
            opt.zero_grad()
            loss = ((model(ember.from_numpy(x)) - ember.from_numpy(y)) ** 2).mean()
            loss.backward()
            opt.step()
            sched.step()

    straight = build()
    train(*straight, data)

    first = build()
    train(*first, data[:10])
    path = tmp_path / "ckpt.pt"
    ember.save({"model": first[0].state_dict(), "opt": first[1].state_dict(),
                "sched": first[2].state_dict()}, path)
    ckpt = ember.load(path)
    model, opt, sched = build()
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["opt"])
    sched.load_state_dict(ckpt["sched"])
    train(model, opt, sched, data[10:])
    for a, b in zip(model.parameters(), straight[0].parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert sched.get_last_lr() == straight[2].get_last_lr()


def test_seed_linear_regression_with_adam():
    """nn.Linear(1, 1) + Adam(lr=0.01), 100 steps on y = 2x + 1: the same path as torch from
    the same initial weights, moving toward (2, 1)."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (32, 1)).astype(np.float32)
    y = 2 * x + 1
    results = []
    for lib in (torch, ember):
        model = lib.nn.Linear(1, 1)
        with lib.no_grad():
            model.weight.copy_(lib.tensor([[0.3]]))
            model.bias.copy_(lib.tensor([-0.2]))
        opt = lib.optim.Adam(model.parameters(), lr=0.01)
        losses = []
        for _ in range(100):
            opt.zero_grad()
            loss = lib.nn.functional.mse_loss(model(lib.from_numpy(x)), lib.from_numpy(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        results.append((model.weight.item(), model.bias.item(), losses))
    (tw, tb, tl), (ew, eb, el) = results
    np.testing.assert_allclose([ew, eb], [tw, tb], rtol=1e-5)
    np.testing.assert_allclose(el, tl, rtol=1e-5)
    assert abs(ew - 2) < abs(0.3 - 2) and abs(eb - 1) < abs(-0.2 - 1)
    assert el[-1] < el[0] / 2


FOREACH_CONFIGS = [(n, k) for n, k in CONFIGS
                   if n in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")]


def _trajectory(lib, name, kwargs, shapes, dtype, device="cpu", steps=8):
    """Parameters of `shapes` after `steps` steps of the optimizer, as NumPy arrays."""
    rng = np.random.default_rng(4)
    ps = [lib.nn.Parameter(lib.from_numpy(rng.standard_normal(s).astype(dtype)).to(device))
          for s in shapes]
    opt = getattr(lib.optim, name)(ps, **kwargs)
    for _ in range(steps):
        for p in ps:
            g = rng.standard_normal(tuple(p.shape)).astype(dtype)
            p.grad = lib.from_numpy(g).to(device)
        opt.step()
    return [p.detach().cpu().numpy() for p in ps]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", FOREACH_CONFIGS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(FOREACH_CONFIGS)])
def test_two_threads_same_as_one_and_torch(monkeypatch, name, kwargs, dtype):
    """The CPU step split over two threads (ember/optim/_foreach.py; forced here for a small
    parameter list, with scratch buffers both kept and, past the size limit, allocated)
    gives the one-thread result to the bit, and torch's."""
    from ember.optim import _foreach
    shapes = [(40, 30), (30,), (7, 5, 3), (2,), (300,), (1,)]
    want = _trajectory(torch, name, kwargs, shapes, dtype)
    monkeypatch.setattr(_foreach, "_num_threads", lambda: 1)
    one = _trajectory(ember, name, kwargs, shapes, dtype)
    monkeypatch.setattr(_foreach, "_num_threads", lambda: 2)
    monkeypatch.setattr(_foreach, "_PARALLEL_MIN", 1)
    monkeypatch.setattr(_foreach, "_KEEP_BYTES", 1000)
    two = _trajectory(ember, name, kwargs, shapes, dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    for a, b, w in zip(one, two, want):
        np.testing.assert_array_equal(b, a)
        np.testing.assert_allclose(a, w, **tol)


@pytest.mark.parametrize("name,kwargs", FOREACH_CONFIGS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(FOREACH_CONFIGS)])
def test_step_on_device_like_torch(device, name, kwargs):
    """The same steps on the test device (on CUDA: the fused kernels, or the op-by-op formula
    with CuPy's scratch arrays) as torch's on the CPU."""
    shapes = [(40, 30), (30,), (7, 5, 3)]
    want = _trajectory(torch, name, kwargs, shapes, np.float64)
    got = _trajectory(ember, name, kwargs, shapes, np.float64, device)
    for a, w in zip(got, want):
        np.testing.assert_allclose(a, w, rtol=1e-9, atol=1e-12)


def _step_twice(opt):
    opt.step()
    opt.step()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_two_threads_after_fork(monkeypatch):
    """A forked child (its copy of the worker pool has no thread) still steps with two."""
    from ember.optim import _foreach
    monkeypatch.setattr(_foreach, "_num_threads", lambda: 2)
    monkeypatch.setattr(_foreach, "_PARALLEL_MIN", 1)
    ps = [ember.nn.Parameter(ember.randn(50, 20)) for _ in range(4)]
    for p in ps:
        p.grad = ember.randn(50, 20)
    opt = ember.optim.Adam(ps)
    opt.step()                      # the pool's thread exists in the parent
    child = multiprocessing.get_context("fork").Process(target=_step_twice, args=(opt,))
    child.start()
    child.join(60)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0


def test_state_dict_hooks_prepend_as_torch():
    def run(lib):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        order = []
        for register, tag, prepend in [(opt.register_state_dict_pre_hook, "pre1", False),
                                       (opt.register_state_dict_pre_hook, "pre2", True),
                                       (opt.register_state_dict_post_hook, "post1", False),
                                       (opt.register_state_dict_post_hook, "post2", True),
                                       (opt.register_load_state_dict_pre_hook, "lpre1", False),
                                       (opt.register_load_state_dict_pre_hook, "lpre2", True),
                                       (opt.register_load_state_dict_post_hook, "lpost1", False),
                                       (opt.register_load_state_dict_post_hook, "lpost2", True)]:
            register(lambda *a, tag=tag: order.append(tag), prepend=prepend)
        opt.load_state_dict(opt.state_dict())
        return order
    assert run(ember) == run(torch)
