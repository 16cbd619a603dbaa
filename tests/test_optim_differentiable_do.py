"""differentiable=True optimizers: the step is recorded by autograd, so the new parameters
and state are functions of the old parameters, the gradients (which may require grad) and
Tensor hyper-parameters. The same meta-learning program runs in torch and ember: values
and gradients agree; float64 gradcheck passes; refusals raise torch's exception types."""
import warnings

import numpy as np
import pytest
import torch

import ember

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, foreach=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True, eps=1e-3, weight_decay=0.1,
                  decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.5, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, eps=1e-4, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5,
                     maximize=True)),
    ("Adadelta", dict(lr=0.5)),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.3, 0.5), weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01, maximize=True)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, betas=(0.5, 0.6), weight_decay=0.1, maximize=True)),
    ("RAdam", dict(lr=0.05, betas=(0.5, 0.6), weight_decay=0.1,
                   decoupled_weight_decay=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.1, t0=1, weight_decay=0.1, maximize=True)),
    ("Rprop", dict(lr=0.05)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.08), maximize=True)),
]

_rng = np.random.default_rng(0)
W0 = [_rng.standard_normal((2, 3)), _rng.standard_normal(3)]
GRADS = [[_rng.standard_normal(w.shape) for w in W0] for _ in range(3)]
COEF = [_rng.standard_normal(w.shape) for w in W0]


def _meta_program(lib, name, kwargs, lr_tensor=False, steps=3):
    """Clone leaf weights into the optimized (non-leaf) parameters, step three times with
    gradients that require grad, then backpropagate a function of the new parameters and
    state to the weights, the gradients and (if `lr_tensor`) the learning rate."""
    dtype = lib.float64
    weights = [lib.tensor(w, dtype=dtype, requires_grad=True) for w in W0]
    grads = [[lib.tensor(g, dtype=dtype, requires_grad=True) for g in step]
             for step in GRADS[:steps]]
    params = [w.clone() for w in weights]
    kwargs = dict(kwargs)
    lr = None
    if lr_tensor:
        lr = kwargs["lr"] = lib.tensor(kwargs["lr"], dtype=dtype, requires_grad=True)
    opt = getattr(lib.optim, name)(params, differentiable=True, **kwargs)
    for step in grads:
        for p, g in zip(params, step):
            p.grad = g * 1.0
        opt.step()
    loss = sum((p * lib.tensor(c)).sum() for p, c in zip(params, COEF))
    states = []
    for p, c in zip(params, COEF):
        for key, value in sorted(opt.state[p].items()):
            if isinstance(value, lib.Tensor) and value.shape == p.shape:
                states.append((key, value))
                if value.requires_grad:
                    loss = loss + (value * lib.tensor(c) ** 2).sum()
    loss.backward()
    leaves = weights + [g for step in grads for g in step] + ([lr] if lr_tensor else [])
    return ([p.detach() for p in params], [(k, v.detach()) for k, v in states],
            [None if t.grad is None else t.grad for t in leaves])


def _compare(results):
    (t_params, t_states, t_grads), (e_params, e_states, e_grads) = results
    for e, t in zip(e_params, t_params):
        _close(e, t)
    assert [k for k, _ in e_states] == [k for k, _ in t_states]
    for (_, e), (_, t) in zip(e_states, t_states):
        _close(e, t)
    assert [g is None for g in e_grads] == [g is None for g in t_grads]
    for e, t in zip(e_grads, t_grads):
        if t is not None:
            _close(e, t)


def _close(e, t):
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", CONFIGS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
@pytest.mark.parametrize("lr_tensor", [False, True])
def test_meta_gradients_match_torch(name, kwargs, lr_tensor):
    if lr_tensor and kwargs.get("foreach"):
        pytest.skip("torch's foreach path refuses a Tensor lr")
    results = []
    for lib in (torch, ember):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # torch: .grad of a non-leaf is being accessed
            try:
                results.append(_meta_program(lib, name, kwargs, lr_tensor))
            except (RuntimeError, TypeError) as exc:
                # (torch's AMSGrad saves exp_avg_sq for backward, then the next step
                # changes it in place: the same error in both; RMSprop and Adagrad pass
                # lr as a Number argument: a Tensor lr that requires grad is refused)
                results.append(str(exc).replace("torch.", "").replace("ember.", ""))
    if isinstance(results[0], str) or isinstance(results[1], str):
        assert results[0] == results[1]
        return
    _compare(results)


ONE_STEP = [(n, k) for n, k in CONFIGS
            if k.get("amsgrad") or k.get("centered") or n in ("Adamax", "Rprop")]


@pytest.mark.parametrize("name,kwargs", ONE_STEP + [("SGD", dict(lr=0.1, momentum=0.9))])
def test_one_step_meta_gradients_match_torch(name, kwargs):
    """The updates whose second step torch can't differentiate through (state saved for
    backward is changed in place by the next step): one step, values and gradients."""
    lr_tensor = name in ("SGD", "Adam", "AdamW")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare([_meta_program(lib, name, kwargs, lr_tensor, steps=1)
                  for lib in (torch, ember)])


@pytest.mark.parametrize("name,kwargs", CONFIGS[1:4] + CONFIGS[6:8] + CONFIGS[11:13]
                         + CONFIGS[14:])
def test_gradcheck_through_steps(name, kwargs):
    """Numerical vs analytical gradients of the steps w.r.t. the weights and gradients.
    SGD's first momentum buffer is a detached copy of the gradient (as torch), so with
    momentum the buffer is given as an input, as torch's own test does; AMSGrad takes one
    step (the next would change exp_avg_sq, saved for backward, in place: torch's error)."""
    momentum = name == "SGD" and kwargs.get("momentum", 0) != 0
    steps = 1 if kwargs.get("amsgrad") or kwargs.get("centered") or name in ("Adamax", "Rprop") \
        else 2

    def run_steps(w, buf, *grads):
        p = w.clone()
        opt = getattr(ember.optim, name)([p], differentiable=True, **kwargs)
        if momentum:
            opt.state[p]["momentum_buffer"] = buf.clone()
        for g in grads:
            p.grad = g * 1.0
            opt.step()
        state = [v for _, v in sorted(opt.state[p].items())
                 if isinstance(v, ember.Tensor) and v.shape == p.shape]
        return (p,) + tuple(state)

    arrays = (W0[1], COEF[1]) + tuple(step[1] for step in GRADS[:steps])
    inputs = [ember.tensor(a, dtype=ember.float64, requires_grad=True) for a in arrays]
    assert ember.autograd.gradcheck(run_steps, inputs)


def test_first_momentum_buffer_is_detached_as_torch():
    """torch's SGD fills the first momentum buffer with a detached copy of the gradient:
    the first gradient reaches the new parameter only through later steps."""
    grads = []
    for lib in (torch, ember):
        w = lib.tensor(W0[1], requires_grad=True)
        g = lib.tensor(GRADS[0][1], requires_grad=True)
        p = w.clone()
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9, differentiable=True)
        p.grad = g * 1.0
        opt.step()
        assert opt.state[p]["momentum_buffer"].requires_grad is False
        assert p.requires_grad      # (through w)
        p.sum().backward()
        grads.append(g.grad)
    assert grads == [None, None]


def _one_step(lib, name, leaf=False, **kwargs):
    w = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    p = w if leaf else w.clone()
    opt = getattr(lib.optim, name)([p], lr=0.1, differentiable=True, **kwargs)
    p.grad = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True)
    opt.step()
    return p


@pytest.mark.parametrize("name", sorted({name for name, _ in CONFIGS}))
def test_refusals_match_torch(name):
    """A leaf parameter is updated in place under grad mode: torch's RuntimeError; a
    non-leaf one without differentiable=True: ValueError; foreach=True: AssertionError
    (except SGD, whose foreach update is recorded too); fused=True: RuntimeError."""
    cases = [dict(leaf=True), dict(foreach=True)]
    if name in ("SGD", "Adam", "AdamW", "Adagrad"):
        cases.append(dict(fused=True))
    for case in cases:
        errors = []
        for lib in (torch, ember):
            try:
                _one_step(lib, name, **case)
                errors.append(None)
            except Exception as exc:   # noqa: BLE001 - the types are compared below
                errors.append((type(exc), str(exc)))
        assert errors[0] == errors[1], (case, errors)
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="non-leaf"):
            getattr(lib.optim, name)([lib.ones(2, requires_grad=True).clone()], lr=0.1)


def test_state_step_requiring_grad_is_refused():
    for lib in (torch, ember):
        p = lib.ones(2, dtype=lib.float64, requires_grad=True).clone()
        opt = lib.optim.Adam([p], differentiable=True)
        opt.state[p]["step"] = lib.tensor(0.0, requires_grad=True)
        opt.state[p]["exp_avg"] = lib.zeros(2, dtype=lib.float64)
        opt.state[p]["exp_avg_sq"] = lib.zeros(2, dtype=lib.float64)
        p.grad = lib.ones(2, dtype=lib.float64)
        with pytest.raises(RuntimeError, match="`requires_grad` is not supported for `step`"):
            opt.step()


def test_non_differentiable_step_records_nothing():
    """Without differentiable=True the step stays outside autograd (no_grad), as torch."""
    w = ember.nn.Parameter(ember.ones(2))
    w.grad = ember.ones(2, requires_grad=True)
    ember.optim.Adam([w]).step()
    assert w.grad_fn is None and w.is_leaf


@pytest.mark.parametrize("name,kwargs", [CONFIGS[5], CONFIGS[10], CONFIGS[13], CONFIGS[19],
                                         CONFIGS[22], CONFIGS[25]])
def test_float32_values_match_torch(name, kwargs):
    """float32 parameters: the 0-dim float32 bias corrections round as torch's do."""
    out = []
    for lib in (torch, ember):
        p = lib.tensor(W0[1], dtype=lib.float32, requires_grad=True).clone()
        opt = getattr(lib.optim, name)([p], differentiable=True, **kwargs)
        for step in GRADS:
            p.grad = lib.tensor(step[1], dtype=lib.float32)
            opt.step()
        assert p.dtype == lib.float32
        out.append(p.detach().numpy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad"])
def test_complex_and_sparse_are_not_built(name):
    p = ember.ones(2, dtype=ember.complex128, requires_grad=True).clone()
    p.grad = ember.ones(2, dtype=ember.complex128)
    with pytest.raises(NotImplementedError, match="complex"):
        getattr(ember.optim, name)([p], differentiable=True).step()
    p = ember.ones(3, requires_grad=True).clone()
    p.grad = ember.ones(3).to_sparse()
    with pytest.raises(NotImplementedError, match="sparse"):
        getattr(ember.optim, name)([p], differentiable=True).step()


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.05, weight_decay=0.01)),
                                         ("RMSprop", dict(lr=0.01))])
def test_learned_initialisation_as_torch(name, kwargs):
    """A MAML-style program: inner steps on a regression loss with gradients from
    autograd.grad(create_graph=True), an outer loss of the adapted weights, its gradient
    w.r.t. the initial weights (second order through the inner gradients)."""
    rng = np.random.default_rng(1)
    x, y, xq = rng.standard_normal((8, 3)), rng.standard_normal((8, 1)), rng.standard_normal((4, 3))
    out = []
    for lib in (torch, ember):
        w0 = lib.tensor(rng.standard_normal((3, 1)) if lib is torch else out[0][2],
                        requires_grad=True)
        w = w0.clone()
        opt = getattr(lib.optim, name)([w], differentiable=True, **kwargs)
        for _ in range(3):
            loss = ((lib.tensor(x) @ w - lib.tensor(y)) ** 2).mean()
            (g,) = lib.autograd.grad(loss, w, create_graph=True)
            w.grad = g
            opt.step()
        outer = (lib.tensor(xq) @ w).pow(2).sum()
        outer.backward()
        out.append((w.detach().numpy(), w0.grad.numpy(), w0.detach().numpy()))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-10)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-9)
