"""ember.utils.checkpoint against torch.utils.checkpoint: the same models on the same
weights, outputs and gradients compared, for both use_reentrant values; warnings and
errors as torch gives them."""
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import ember
import ember.utils.checkpoint as ecp

rng = np.random.default_rng(0)
BOTH = pytest.mark.parametrize("reentrant", [True, False])


def arr(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def close(e, t, tol=1e-5):
    assert e is not None and t is not None
    np.testing.assert_allclose(e.detach().cpu().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def twin(build):
    """The module build(lib) in both libraries, ember's with torch's weights."""
    t = build(torch)
    e = build(ember)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return e, t


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))


def conv_block(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 3, 3), nn.AvgPool2d(2))


def run_model(lib, cp, model, x, reentrant, requires_grad=True, device="cpu"):
    xt = lib.tensor(x, requires_grad=requires_grad, device=device)
    y = cp.checkpoint(model, xt, use_reentrant=reentrant)
    (y * y).sum().backward()
    return y, xt.grad, [p.grad for p in model.parameters()]


@BOTH
@pytest.mark.parametrize("build", [mlp, conv_block])
def test_gradients_match_torch(build, reentrant, device):
    e, t = twin(build)
    e.to(device)
    x = arr(2, 5) if build is mlp else arr(2, 2, 6, 6)
    ye, gxe, gpe = run_model(ember, ecp, e, x, reentrant, device=device)
    yt, gxt, gpt = run_model(torch, tcp, t, x, reentrant)
    close(ye, yt)
    close(gxe, gxt, 1e-4)
    for a, b in zip(gpe, gpt):
        close(a, b, 1e-4)


@BOTH
def test_gradients_equal_uncheckpointed_with_dropout(reentrant, device):
    """Dropout draws the same mask in the recomputation: the gradients equal those of the
    plain model run from the same seed."""
    model = ember.nn.Sequential(ember.nn.Linear(6, 16), ember.nn.Dropout(0.5),
                                ember.nn.Linear(16, 2)).to(device)
    x = arr(8, 6)

    def grads(checkpointed, preserve=True):
        model.zero_grad()
        ember.manual_seed(123)
        xt = ember.tensor(x, requires_grad=True, device=device)
        if checkpointed:
            y = ecp.checkpoint(model, xt, use_reentrant=reentrant, preserve_rng_state=preserve)
        else:
            y = model(xt)
        y.sum().backward()
        return (y.detach().cpu().numpy(), xt.grad.cpu().numpy(),
                model[0].weight.grad.cpu().numpy())

    plain = grads(False)
    for a, b in zip(grads(True), plain):
        np.testing.assert_array_equal(a, b)
    # without preserving the state the recomputation draws another mask
    out, gx, _ = grads(True, preserve=False)
    np.testing.assert_array_equal(out, plain[0])
    assert not np.array_equal(gx, plain[1])


@BOTH
def test_checkpoint_sequential_matches_torch(reentrant):
    e, t = twin(mlp)
    x = arr(3, 5)
    outs = []
    for lib, cp, m in ((ember, ecp, e), (torch, tcp, t)):
        xt = lib.tensor(x, requires_grad=True)
        y = cp.checkpoint_sequential(m, 2, xt, use_reentrant=reentrant)
        y.sum().backward()
        outs.append((y, xt.grad, [p.grad for p in m.parameters()]))
    (ye, gxe, gpe), (yt, gxt, gpt) = outs
    close(ye, yt)
    close(gxe, gxt)
    for a, b in zip(gpe, gpt):
        close(a, b)


@BOTH
def test_list_of_functions_three_segments(reentrant):
    e, t = twin(mlp)
    x = arr(2, 5)
    res = []
    for lib, cp, m in ((ember, ecp, e), (torch, tcp, t)):
        xt = lib.tensor(x, requires_grad=True)
        y = cp.checkpoint_sequential(list(m), 3, xt, use_reentrant=reentrant)
        y.pow(2).sum().backward()
        res.append((y, xt.grad))
    close(res[0][0], res[1][0])
    close(res[0][1], res[1][1])


@BOTH
def test_non_tensor_args_and_tuple_outputs(reentrant):
    a, b = arr(4), arr(4)
    res = []
    for lib, cp in ((ember, ecp), (torch, tcp)):
        x = lib.tensor(a, requires_grad=True)
        w = lib.tensor(b, requires_grad=True)

        def f(x, scale, w, name):
            assert name == "n"
            return x.sin() * scale, (x * w).cos(), 7

        p, q, seven = cp.checkpoint(f, x, 3.0, w, "n", use_reentrant=reentrant)
        assert seven == 7
        (p.sum() + (q * q).sum()).backward()
        res.append((p, q, x.grad, w.grad))
    for e, t in zip(*res):
        close(e, t)


def test_kwargs_and_nested_outputs_non_reentrant():
    a, b = arr(3), arr(3)
    res = []
    for lib, cp in ((ember, ecp), (torch, tcp)):
        x = lib.tensor(a, requires_grad=True)
        w = lib.tensor(b, requires_grad=True)
        out = cp.checkpoint(lambda x, *, w, k: {"s": x * w, "l": [x.exp(), k]}, x,
                            w=w, k="z", use_reentrant=False)
        assert out["l"][1] == "z"
        (out["s"].sum() + out["l"][0].sum()).backward()
        res.append((out["s"], out["l"][0], x.grad, w.grad))
    for e, t in zip(*res):
        close(e, t)


def test_kwargs_refused_by_reentrant():
    for cp, lib in ((ecp, ember), (tcp, torch)):
        with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
            cp.checkpoint(lambda x, foo: x, lib.ones(2), foo=1, use_reentrant=True)
        with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
            cp.checkpoint(lambda x: x, lib.ones(2), use_reentrant=True, debug=True)


def test_autograd_grad_and_double_backward_non_reentrant():
    a = arr(5)
    res = []
    for lib, cp in ((ember, ecp), (torch, tcp)):
        x = lib.tensor(a, requires_grad=True)
        y = cp.checkpoint(lambda x: (x.sin() * x).sum(), x, use_reentrant=False)
        g, = lib.autograd.grad(y, x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        res.append((y, g, gg))
        assert x.grad is None
    for e, t in zip(*res):
        close(e, t)


def test_autograd_grad_refused_by_reentrant():
    for lib, cp in ((ember, ecp), (torch, tcp)):
        x = lib.ones(3, requires_grad=True)
        y = cp.checkpoint(lambda x: x.sin(), x, use_reentrant=True)
        with pytest.raises(RuntimeError, match="incompatible with .grad()"):
            lib.autograd.grad(y.sum(), x)


def test_parameters_only_non_reentrant_gets_gradients():
    """An input that needs no grad: non-reentrant still differentiates the parameters;
    reentrant warns and gives them nothing (torch's known pitfall)."""
    e, t = twin(mlp)
    x = arr(2, 5)
    ye, gxe, gpe = run_model(ember, ecp, e, x, False, requires_grad=False)
    yt, gxt, gpt = run_model(torch, tcp, t, x, False, requires_grad=False)
    assert gxe is None and gxt is None
    for a, b in zip(gpe, gpt):
        close(a, b)
    for lib, cp, m in ((ember, ecp, e), (torch, tcp, t)):
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
            y = cp.checkpoint(m, lib.tensor(x), use_reentrant=True)
        assert not y.requires_grad


def test_missing_use_reentrant_warns_and_defaults_to_reentrant():
    for lib, cp in ((ember, ecp), (torch, tcp)):
        x = lib.ones(2, requires_grad=True)
        with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
            y = cp.checkpoint(lambda x: x * 2, x)
        assert type(y.grad_fn).__name__ == "CheckpointFunctionBackward"
        with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
            cp.checkpoint_sequential([lambda x: x * 2, lambda x: x + 1], 2, x)


def test_explicit_use_reentrant_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ecp.checkpoint(lambda x: x * 2, ember.ones(2, requires_grad=True), use_reentrant=False)
        ecp.checkpoint(lambda x: x * 2, ember.ones(2, requires_grad=True), use_reentrant=True)


def test_reentrant_output_without_grad_raises_in_backward():
    for lib, cp in ((ember, ecp), (torch, tcp)):
        x = lib.ones(3, requires_grad=True)
        y = cp.checkpoint(lambda a: a.detach() * 2, x, use_reentrant=True)
        with pytest.raises(RuntimeError, match="none of output has requires_grad=True"):
            y.sum().backward()


def test_second_backward_raises_and_retain_graph_allows_it():
    for lib, cp in ((ember, ecp), (torch, tcp)):
        x = lib.ones(3, requires_grad=True)
        y = cp.checkpoint(lambda a: a.sin() * 2, x, use_reentrant=False)
        y.sum().backward(retain_graph=True)
        y.sum().backward()
        close(x.grad, torch.ones(3).cos() * 4)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.sum().backward()


def test_identity_and_no_grad():
    for lib, cp in ((ember, ecp), (torch, tcp)):
        x = lib.ones(3, requires_grad=True)
        assert cp.checkpoint(lambda a: a, x, use_reentrant=False) is x
        with lib.no_grad():
            assert not cp.checkpoint(lambda a: a * 2, x, use_reentrant=False).requires_grad


def test_determinism_check():
    for lib, cp in ((ember, ecp), (torch, tcp)):
        with pytest.raises(ValueError, match="determinism_check should be one of"):
            cp.checkpoint(lambda a: a, lib.ones(1), use_reentrant=False, determinism_check="x")
    calls = []

    def f(a):   # another shape on the second run
        calls.append(1)
        return a[: len(calls)] * 2

    y = ecp.checkpoint(f, ember.ones(3, requires_grad=True), use_reentrant=False)
    with pytest.raises(ecp.CheckpointError):
        y.sum().backward()
    assert issubclass(ecp.CheckpointError, RuntimeError)


def test_context_fn_entered_in_forward_and_recompute():
    log = []

    class Ctx:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            log.append(self.name)

        def __exit__(self, *exc):
            return False

    x = ember.ones(2, requires_grad=True)
    y = ecp.checkpoint(lambda a: a * 3, x, use_reentrant=False,
                       context_fn=lambda: (Ctx("fwd"), Ctx("re")))
    y.sum().backward()
    assert log == ["fwd", "re"]
    close(x.grad, torch.full((2,), 3.0))


def test_detach_variable_and_exports():
    a = ember.ones(2, requires_grad=True) * 2
    d, s = ecp.detach_variable((a, "s"))
    assert d.requires_grad and d.grad_fn is None and s == "s"
    with pytest.raises(RuntimeError, match="Only tuple of tensors"):
        ecp.detach_variable([a])
    assert ember.utils.checkpoint.checkpoint is ecp.checkpoint
    # (selective checkpointing: tests/test_checkpoint_selective_ni.py)
    forward_mode, recompute_mode = ecp.create_selective_checkpoint_contexts(lambda *a: None)
    assert hasattr(forward_mode, "__enter__") and hasattr(recompute_mode, "__exit__")


@BOTH
def test_input_sharing_a_parameter_with_the_function(reentrant):
    """A tied weight: the input is computed from the parameter f also reads; its gradient
    sums both paths once each."""
    a, b = arr(3, 3), arr(2, 3)
    res = []
    for lib, cp in ((ember, ecp), (torch, tcp)):
        w = lib.tensor(a, requires_grad=True)
        h = lib.tensor(b) @ w
        y = cp.checkpoint(lambda h: (h @ w.t()).tanh(), h, use_reentrant=reentrant)
        y.sum().backward()
        res.append((y, w.grad))
    for e, t in zip(*res):
        close(e, t)
