"""Regressions found by bench/optim_sweep.py (torch's OptimizerInfo table and the LR
schedulers run through torch.optim and ember.optim): each case compares ember with torch."""
import importlib
import re

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _pair(shapes, dtype="float64", seed=0):
    """torch and ember Parameters with the same values (complex dtypes: random parts)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for s in shapes:
        a = rng.standard_normal(s)
        if dtype.startswith("complex"):
            a = a + 1j * rng.standard_normal(s)
        arrays.append(a.astype(dtype))
    return ([torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays],
            [ember.nn.Parameter(ember.from_numpy(a.copy())) for a in arrays])


def _run(name, kwargs, shapes=((2, 3), (3,)), dtype="float64", steps=4, ekwargs=None):
    """`steps` steps of optimizer `name` in both libraries with the same gradients; returns
    (torch params, ember params, torch optimizer, ember optimizer)."""
    tp, ep = _pair(shapes, dtype)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    eopt = getattr(ember.optim, name)(ep, **(kwargs if ekwargs is None else ekwargs))
    rng = np.random.default_rng(1)
    for _ in range(steps):
        for a, b in zip(tp, ep):
            g = rng.standard_normal(tuple(a.shape))
            if dtype.startswith("complex"):
                g = g + 1j * rng.standard_normal(tuple(a.shape))
            g = g.astype(dtype)
            a.grad = torch.from_numpy(g.copy())
            b.grad = ember.from_numpy(g.copy())
        topt.step()
        eopt.step()
    return tp, ep, topt, eopt


def _close(tp, ep, rtol=1e-10, atol=1e-12):
    for i, (a, b) in enumerate(zip(tp, ep)):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=rtol,
                                   atol=atol, err_msg=f"param {i}")


def _state_close(topt, eopt, rtol=1e-10, atol=1e-12):
    tsd, esd = topt.state_dict(), eopt.state_dict()
    assert tsd["state"].keys() == esd["state"].keys()
    for k, ts in tsd["state"].items():
        assert set(ts) == set(esd["state"][k])
        for key, tv in ts.items():
            ev = esd["state"][k][key]
            if isinstance(tv, torch.Tensor):
                assert isinstance(ev, ember.Tensor), key
                assert str(ev.dtype)[6:] == str(tv.dtype)[6:], key
                np.testing.assert_allclose(ev.numpy(), tv.numpy(), rtol=rtol, atol=atol,
                                           err_msg=key)


# ------------------------------------------------------------------ complex parameters
# torch updates a complex parameter as the real array of its (real, imaginary) parts
# (view_as_real); ember squared the complex gradient (g*g) instead.
COMPLEX = [
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1, weight_decay=0.1)),
    ("Adadelta", dict(rho=0.95, weight_decay=0.1)),
    ("Adamax", dict(lr=0.1, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.1, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.01)),
]


@pytest.mark.parametrize("name,kwargs", COMPLEX, ids=[f"{n}-{i}" for i, (n, _) in
                                                      enumerate(COMPLEX)])
def test_complex_parameters_update_as_real_pairs(name, kwargs):
    tp, ep, topt, eopt = _run(name, kwargs, dtype="complex128", steps=6)
    _close(tp, ep)
    _state_close(topt, eopt)


def test_complex_rprop_and_adagrad_start_both_parts():
    """The initial step size / accumulator is lr + lr*i (initial + initial*i), as torch."""
    for name, kwargs, key in (("Rprop", dict(lr=0.02), "step_size"),
                              ("Adagrad", dict(initial_accumulator_value=0.3), "sum")):
        tp, ep, topt, eopt = _run(name, kwargs, dtype="complex64", steps=0)
        if name == "Rprop":
            tp, ep, topt, eopt = _run(name, kwargs, dtype="complex64", steps=1)
        tv = topt.state_dict()["state"][0][key]
        ev = eopt.state_dict()["state"][0][key]
        np.testing.assert_allclose(ev.numpy(), tv.numpy(), rtol=1e-6)


# ------------------------------------------------------------------ groups and state
def test_adagrad_add_param_group_creates_state():
    """A group added after construction gets its state at its first step (a KeyError)."""
    tp, ep = _pair([(2, 3), (3,)])
    topt = torch.optim.Adagrad(tp[:1], lr=0.1, initial_accumulator_value=0.2)
    eopt = ember.optim.Adagrad(ep[:1], lr=0.1, initial_accumulator_value=0.2)
    topt.add_param_group({"params": tp[1:], "lr": 0.05, "initial_accumulator_value": 0.7})
    eopt.add_param_group({"params": ep[1:], "lr": 0.05, "initial_accumulator_value": 0.7})
    for a, b in zip(tp, ep):
        a.grad = torch.ones_like(a)
        b.grad = ember.ones_like(b)
    topt.step()
    eopt.step()
    _close(tp, ep)
    _state_close(topt, eopt)


def test_adagrad_initial_accumulator_is_the_constructors():
    tp, ep = _pair([(2, 3), (3,)])
    groups = lambda ps: [{"params": ps[:1]}, {"params": ps[1:], "initial_accumulator_value": 5}]
    topt = torch.optim.Adagrad(groups(tp), initial_accumulator_value=0.5)
    eopt = ember.optim.Adagrad(groups(ep), initial_accumulator_value=0.5)
    _state_close(topt, eopt)


def test_lbfgs_state_scalars_are_tensors():
    """ro, H_diag and al are 0-dim tensors in torch's state (ember kept Python floats)."""
    def closure_for(lib, ps):
        def closure():
            for p in ps:
                p.grad = None
            loss = sum(((p - 1.0) ** 2).sum() + 0.1 * (p ** 4).sum() for p in ps)
            loss.backward()
            return loss
        return closure
    tp, ep = _pair([(2, 3), (3,)])
    topt, eopt = torch.optim.LBFGS(tp, lr=0.5), ember.optim.LBFGS(ep, lr=0.5)
    for _ in range(2):
        topt.step(closure_for(torch, tp))
        eopt.step(closure_for(ember, ep))
    _close(tp, ep, rtol=1e-9, atol=1e-12)
    ts, es = topt.state_dict()["state"][0], eopt.state_dict()["state"][0]
    for key in ("ro", "al"):
        assert len(ts[key]) == len(es[key])
        for a, b in zip(ts[key], es[key]):
            assert (a is None) == (b is None)
            if a is not None:
                assert isinstance(b, ember.Tensor) and b.ndim == 0
                assert b.dtype == ember.float64
                np.testing.assert_allclose(float(b), float(a), rtol=1e-6, atol=1e-12)
    assert isinstance(es["H_diag"], ember.Tensor)
    np.testing.assert_allclose(float(es["H_diag"]), float(ts["H_diag"]), rtol=1e-8)


def test_lbfgs_second_group_refused_at_step():
    tp, ep = _pair([(2, 3), (3,)])
    errors = []
    for lib, ps in ((torch, tp), (ember, ep)):
        opt = lib.optim.LBFGS(ps[:1])
        opt.add_param_group({"params": ps[1:]})
        with pytest.raises(AssertionError, match="Expected exactly one param_group") as e:
            opt.step(lambda: lib.zeros(()))
        errors.append(str(e.value))
    assert errors[0] == errors[1]


# ------------------------------------------------------------------ Tensor lr rounding
@pytest.mark.parametrize("name,shapes", [("Muon", [(3, 2), (2, 4)]), ("SparseAdam", None)])
def test_float32_tensor_lr_rounds_like_torch(name, shapes):
    """torch's scalar arithmetic on a float32 Tensor lr rounds to float32 (step sizes, the
    decay factor); ember used the lr as a double."""
    if name == "Muon":
        tp, ep, *_ = _run(name, dict(lr=torch.tensor(0.001)), shapes=shapes,
                          ekwargs=dict(lr=ember.tensor(0.001)))
        _close(tp, ep, rtol=0, atol=0)
        return
    tp, ep = _pair([(5, 3)])
    topt = torch.optim.SparseAdam(tp, lr=torch.tensor(0.001))
    eopt = ember.optim.SparseAdam(ep, lr=ember.tensor(0.001))
    for step in range(3):
        rows = np.array([[0, 2, 2 + step]])
        vals = np.random.default_rng(step).standard_normal((3, 3))
        tp[0].grad = torch.sparse_coo_tensor(torch.from_numpy(rows), torch.from_numpy(vals),
                                             (5, 3))
        ep[0].grad = ember.sparse_coo_tensor(ember.from_numpy(rows), ember.from_numpy(vals),
                                             (5, 3))
        topt.step()
        eopt.step()
    _close(tp, ep, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("coefficients", [(3.4, -4.7, 2.0), (2.0, -1.5, 0.5)])
def test_muon_newton_schulz_fused_multiply_add(coefficients):
    """torch's bfloat16 addmm computes beta * C + (alpha A @ B) as one fused multiply-add;
    two roundings flipped a bfloat16 value for other coefficients than the default."""
    tp, ep, *_ = _run("Muon", dict(lr=0.01, ns_coefficients=coefficients),
                      shapes=[(3, 2), (2, 4), (5, 5), (8, 3)], dtype="float32", steps=6)
    # (a flipped bfloat16 value moved a parameter by ~1e-5; what is left is float32 ulps)
    _close(tp, ep, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ hooks
def test_step_hooks_see_torch_args_and_order():
    """Hooks get args = (optimizer, closure...) as torch's wrapper passes them; post-hooks
    run instance first, then global; a pre-hook may return new (args, kwargs)."""
    t_optimizer = importlib.import_module("torch.optim.optimizer")
    logs = []
    for lib, mod in ((torch, t_optimizer), (ember, ember.optim.optimizer)):
        log = []
        tp, ep = _pair([(2,)])
        ps = tp if lib is torch else ep
        opt = lib.optim.SGD(ps, lr=0.1)
        kinds = lambda o, a: ["self" if v is o else type(v).__name__ for v in a]
        handles = [
            mod.register_optimizer_step_pre_hook(lambda o, a, k: log.append(("gpre",
                                                                             kinds(o, a)))),
            mod.register_optimizer_step_post_hook(lambda o, a, k: log.append("gpost")),
            opt.register_step_pre_hook(lambda o, a, k: log.append(("pre", kinds(o, a), k))),
            opt.register_step_post_hook(lambda o, a, k: log.append("post")),
        ]
        ps[0].grad = lib.ones(2, dtype=lib.float64)
        opt.step()
        closure_calls = []

        def closure():
            closure_calls.append(1)
            return lib.tensor(2.0)
        swap = opt.register_step_pre_hook(lambda o, a, k: ((o,), {"closure": closure}))
        loss = opt.step(lambda: lib.tensor(1.0))
        log.append(("loss", float(loss), len(closure_calls)))
        for h in handles + [swap]:
            h.remove()
        opt.step()
        logs.append(log)
    assert logs[0] == logs[1]


def test_bad_pre_hook_return_raises_runtime_error():
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        opt.register_step_pre_hook(lambda o, a, k: 3)
        p.grad = lib.ones(2)
        with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, "
                                               r"new_kwargs\), but got 3"):
            opt.step()


# ------------------------------------------------------------------ errors
def _raises_alike(make):
    """make(lib) raises the same exception type with the same message in both."""
    got = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as e:
            make(lib)
        got.append((type(e.value).__name__, str(e.value)))
    assert got[0][0] == got[1][0]
    return got


@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_adam_tensor_lr_and_betas_errors(cls):
    p = lambda lib: [lib.nn.Parameter(lib.ones(2))]
    cases = [
        lambda lib: getattr(lib.optim, cls)(p(lib), lr=lib.tensor(0.001), foreach=True),
        lambda lib: getattr(lib.optim, cls)(p(lib), lr=0.01, betas=(0.9, lib.tensor(0.99))),
        lambda lib: getattr(lib.optim, cls)(p(lib), lr=0.01, betas=(lib.tensor(0.9), 0.99)),
        lambda lib: getattr(lib.optim, cls)(p(lib), betas=(lib.tensor(0.9), lib.tensor(0.99)),
                                            foreach=True),
        lambda lib: getattr(lib.optim, cls)(p(lib), betas=(lib.tensor([0.9, 0.8]),
                                                           lib.tensor(0.99))),
        lambda lib: getattr(lib.optim, cls)(p(lib), fused=True, foreach=True),
    ]
    for make in cases:
        (tn, tm), (en, em) = _raises_alike(make)
        assert tm == em


def test_adam_tensor_betas_run_like_torch():
    kwargs = lambda lib: dict(lr=0.01, betas=(lib.tensor([[[0.9]]]), lib.tensor([[0.99]])))
    tp, ep, topt, eopt = _run("Adam", kwargs(torch), ekwargs=kwargs(ember))
    # (torch rounds the scalar arithmetic on float32 Tensor betas to float32; ember computes
    # with their values in double: agreement to float32 precision, not to the bit)
    _close(tp, ep, rtol=1e-6, atol=1e-8)
    tb, eb = topt.param_groups[0]["betas"], eopt.param_groups[0]["betas"]
    assert [tuple(b.shape) for b in tb] == [tuple(b.shape) for b in eb] == [(), ()]


def test_sparse_adam_refuses_sparse_parameters():
    for make in (lambda lib: lib.optim.SparseAdam([lib.zeros(3).to_sparse()]),
                 lambda lib: lib.optim.SparseAdam([{"params": [lib.zeros(3).to_sparse()]}])):
        (tn, tm), (en, em) = _raises_alike(make)
        assert tn == "ValueError" and tm == em
        assert re.search("SparseAdam requires dense parameter tensors", em)


@pytest.mark.parametrize("name,kwargs", [
    ("Adam", dict(weight_decay=0.1)), ("AdamW", dict()), ("Adamax", dict()),
    ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True)), ("ASGD", dict()),
    ("Adafactor", dict(weight_decay=0.1))])
def test_float32_tensor_lr_rounds_like_torch_everywhere(name, kwargs):
    """A float32 Tensor lr with float64 parameters: torch's step sizes, decay factors and
    ASGD's eta are float32 products; ember computed them in double (~1e-9 apart)."""
    tp, ep, topt, eopt = _run(name, dict(kwargs, lr=torch.tensor(0.02)),
                              ekwargs=dict(kwargs, lr=ember.tensor(0.02)))
    _close(tp, ep, rtol=1e-14, atol=1e-15)
    _state_close(topt, eopt, rtol=1e-14, atol=1e-15)


def _sparse_run(name, kwargs, steps=3):
    tp, ep = _pair([(5, 3)])
    topt = getattr(torch.optim, name)(tp, **kwargs)
    eopt = getattr(ember.optim, name)(ep, **kwargs)
    for step in range(steps):
        rows = np.array([[0, 2, 2 + step, 0]])        # repeated rows: uncoalesced
        vals = np.random.default_rng(step).standard_normal((4, 3))
        tp[0].grad = torch.sparse_coo_tensor(torch.from_numpy(rows), torch.from_numpy(vals),
                                             (5, 3))
        ep[0].grad = ember.sparse_coo_tensor(ember.from_numpy(rows), ember.from_numpy(vals),
                                             (5, 3))
        topt.step()
        eopt.step()
    return tp, ep, topt, eopt


@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.1, lr_decay=0.1, maximize=True,
                                                       initial_accumulator_value=0.2)])
def test_adagrad_sparse_gradients(kwargs):
    """Adagrad steps at a sparse gradient's entries (ember raised NotImplementedError)."""
    tp, ep, topt, eopt = _sparse_run("Adagrad", kwargs)
    _close(tp, ep, rtol=1e-14, atol=1e-15)
    _state_close(topt, eopt, rtol=1e-14, atol=1e-15)


def test_adagrad_sparse_gradient_with_weight_decay_raises():
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.zeros(4, 2))
        opt = lib.optim.Adagrad([p], weight_decay=0.1)
        p.grad = lib.sparse_coo_tensor(lib.tensor([[1]]), lib.ones(1, 2), (4, 2))
        with pytest.raises(RuntimeError, match="weight_decay option is not compatible with "
                                               "sparse gradients"):
            opt.step()


def test_sgd_sparse_gradient_without_momentum_keeps_no_state():
    tp, ep, topt, eopt = _sparse_run("SGD", dict(lr=0.1))
    _close(tp, ep, rtol=1e-14, atol=1e-15)
    assert topt.state_dict()["state"] == {} == eopt.state_dict()["state"]


# ------------------------------------------------------------------ old state_dicts
@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "RMSprop", "NAdam", "ASGD",
                                  "Adagrad", "Rprop", "SparseAdam"])
def test_old_style_state_dict_loads_like_torch(name):
    """A state_dict of an older torch (Python-number 'step', eta, mu, mu_product; group
    options added later missing): filled in as torch's __setstate__ does, then steps on."""
    kwargs = dict(momentum=0.9) if name == "SGD" else {}
    shapes = [(4, 3)]
    tp, ep = _pair(shapes)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    rng = np.random.default_rng(0)

    def grad(p, lib):
        g = rng.standard_normal(tuple(p.shape))
        if name != "SparseAdam":
            return lib.from_numpy(g)
        return lib.sparse_coo_tensor(lib.tensor([[0, 2]]), lib.from_numpy(g[[0, 2]]),
                                     tuple(p.shape))
    for _ in range(2):
        tp[0].grad = grad(tp[0], torch)
        topt.step()
    sd = topt.state_dict()
    for st in sd["state"].values():
        for key in ("step", "eta", "mu", "mu_product"):
            if isinstance(st.get(key), torch.Tensor):
                st[key] = st[key].item()
    for g in sd["param_groups"]:
        for key in ("foreach", "maximize", "capturable", "differentiable", "fused",
                    "decoupled_weight_decay"):
            g.pop(key, None)
    t2, e2 = _pair(shapes, seed=3)
    topt2 = getattr(torch.optim, name)(t2, **kwargs)
    eopt2 = getattr(ember.optim, name)(e2, **kwargs)
    esd = {"state": {k: {kk: ember.from_numpy(vv.numpy().copy())
                         if isinstance(vv, torch.Tensor) else vv for kk, vv in v.items()}
                     for k, v in sd["state"].items()},
           "param_groups": [dict(g) for g in sd["param_groups"]]}
    topt2.load_state_dict(sd)
    eopt2.load_state_dict(esd)
    assert topt2.param_groups[0].keys() == eopt2.param_groups[0].keys()
    assert {k: v for k, v in topt2.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in eopt2.param_groups[0].items() if k != "params"}
    for _ in range(2):
        g = grad(t2[0], torch)
        t2[0].grad = g
        e2[0].grad = ember.sparse_coo_tensor(ember.from_numpy(g._indices().numpy()),
                                             ember.from_numpy(g._values().numpy()),
                                             tuple(g.shape)) if g.is_sparse \
            else ember.from_numpy(g.numpy().copy())
        topt2.step()
        eopt2.step()
    _close(t2, e2)
    _state_close(topt2, eopt2)


def test_lbfgs_bfloat16_state_keeps_the_parameter_dtype():
    """NumPy's bfloat16 times a Python float is float32: the stored vectors came out
    float32 where torch's are bfloat16."""
    dtypes = []
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.tensor([1.5, -2.0, 0.5], dtype=lib.bfloat16))
        opt = lib.optim.LBFGS([p], max_iter=4)

        def closure():
            opt.zero_grad()
            loss = ((p - 1) ** 2).sum()
            loss.backward()
            return loss
        opt.step(closure)
        st = opt.state_dict()["state"][0]
        dtypes.append([str(st[k].dtype)[6:] for k in ("d", "prev_flat_grad")] +
                      [str(v.dtype)[6:] for v in st["old_dirs"] + st["old_stps"]])
    assert dtypes[0] == dtypes[1]


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop",
                                  "Rprop", "ASGD", "Adadelta"])
def test_capturable_refuses_cpu_parameters_at_step(name):
    """torch's capturable=True keeps the state on the device for graph capture and asserts
    at the step that the parameters are on one; ember stepped on."""
    msgs = []
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.ones(2))
        opt = getattr(lib.optim, name)([p], capturable=True)
        p.grad = lib.ones(2)
        with pytest.raises(AssertionError) as e:
            opt.step()
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_conflicts_and_dtypes_raise_like_torch(name):
    """fused=True with foreach or differentiable, or on a complex parameter, raises torch's
    RuntimeError (ember ran, or raised its differentiable NotImplementedError)."""
    for kwargs, dtype in ((dict(fused=True, foreach=True), "float32"),
                          (dict(fused=True, differentiable=True), "float32"),
                          (dict(fused=True), "complex64")):
        msgs = []
        for lib in (torch, ember):
            p = lib.nn.Parameter(lib.ones(2, dtype=getattr(lib, dtype)))
            with pytest.raises(RuntimeError) as e:
                opt = getattr(lib.optim, name)([p], **kwargs)
                p.grad = lib.ones(2, dtype=getattr(lib, dtype))
                opt.step()
            msgs.append(str(e.value).replace("torch.", "").replace("ember.", ""))
        assert msgs[0] == msgs[1]
