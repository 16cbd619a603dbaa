"""ember.func (grad, vjp, jacrev, hessian, vmap, functional_call, stack_module_state)
against torch.func: the same programs on the same inputs, values, shapes, requires_grad
and exception types compared."""
import copy

import numpy as np
import pytest
import torch

import ember
from tests.oracle.harness import assert_same

rng = np.random.default_rng(0)


def arr(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def both(a, requires_grad=False):
    """(ember tensor, torch tensor) holding the values of array `a`."""
    e = ember.tensor(a)
    t = torch.tensor(a)
    if requires_grad:
        e.requires_grad_()
        t.requires_grad_()
    return e, t


def run_both(program, *arrays):
    """program(lib, *tensors) under ember and torch; the results."""
    e = program(ember, *[ember.tensor(a) for a in arrays])
    t = program(torch, *[torch.tensor(a) for a in arrays])
    return e, t


def same_error(program, *arrays):
    """Both libraries raise, with the same exception type; returns ember's exception."""
    with pytest.raises(Exception) as te:
        program(torch, *[torch.tensor(a) for a in arrays])
    with pytest.raises(type(te.value)) as ee:
        program(ember, *[ember.tensor(a) for a in arrays])
    return ee.value


def copy_weights(tm, em):
    """Load torch module `tm`'s state into ember module `em` (same architecture)."""
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return em


# ------------------------------------------------------------------ models

def mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(6, 5), lib.nn.ReLU(), lib.nn.Linear(5, 3))


class SimpleCNN:
    """The per-sample-gradients tutorial's convnet, shrunk."""

    @staticmethod
    def make(lib):
        nn, F = lib.nn, lib.nn.functional

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 4, 3, 1)
                self.conv2 = nn.Conv2d(4, 6, 3, 1)
                self.fc1 = nn.Linear(6 * 2 * 2, 10)

            def forward(self, x):
                x = F.relu(self.conv1(x))
                x = F.max_pool2d(F.relu(self.conv2(x)), 2)
                x = lib.flatten(x, 1)
                return F.log_softmax(self.fc1(x), dim=1)
        return Net()


def paired(make):
    tm = make(torch)
    em = copy_weights(tm, make(ember))
    return em, tm


# ------------------------------------------------------------------ functional_call

def test_functional_call_replaces_and_restores():
    em, tm = paired(mlp)
    x = arr(4, 6)
    new = {"0.weight": arr(5, 6), "2.bias": arr(3)}
    for lib, m in ((ember, em), (torch, tm)):
        params = {k: lib.tensor(v) for k, v in new.items()}
        before = m[0].weight
        out = lib.func.functional_call(m, params, (lib.tensor(x),))
        assert m[0].weight is before and isinstance(m[0].weight, lib.nn.Parameter)
        if lib is ember:
            e_out = out
        else:
            t_out = out
    assert_same(e_out, t_out)
    # the module's own weights are in use again
    assert_same(em(ember.tensor(x)), tm(torch.tensor(x)))


def test_functional_call_tuple_of_dicts_kwargs_and_single_arg():
    def program(lib, x):
        m = lib.nn.BatchNorm1d(3)
        params = {"weight": lib.ones(3) * 2, "bias": lib.zeros(3) + 0.5}
        buffers = {"running_mean": lib.zeros(3) + 1, "running_var": lib.ones(3) * 4}
        m.eval()
        a = lib.func.functional_call(m, (params, buffers), x)
        b = lib.func.functional_call(m, [params, buffers], args=(), kwargs={"input": x})
        return a, b
    e, t = run_both(program, arr(5, 3))
    assert_same(e, t)


def test_functional_call_errors():
    def dup(lib, x):
        m = lib.nn.Linear(3, 2)
        return lib.func.functional_call(m, ({"weight": x}, {"weight": x}), (x,))
    assert "multiple dictionaries" in str(same_error(dup, arr(2, 3)))

    def not_dicts(lib, x):
        return lib.func.functional_call(lib.nn.Linear(3, 2), ({"weight": x}, 3), (x,))
    same_error(not_dicts, arr(2, 3))

    def bad_type(lib, x):
        return lib.func.functional_call(lib.nn.Linear(3, 2), 3, (x,))
    same_error(bad_type, arr(2, 3))

    def strict(lib, x):
        m = lib.nn.Linear(3, 2)
        return lib.func.functional_call(m, {"weight": x, "extra": x}, (x,), strict=True)
    msg = str(same_error(strict, arr(2, 3)))
    assert "Unexpected key(s): 'extra'." in msg and "Missing key(s): 'bias'." in msg

    def bad_value(lib, x):
        return lib.func.functional_call(lib.nn.Linear(3, 2), {"weight": 3.0}, (x,))
    same_error(bad_value, arr(2, 3))


def test_functional_call_restores_when_forward_raises():
    for lib in (ember, torch):
        m = lib.nn.Linear(3, 2)
        w = m.weight
        with pytest.raises(RuntimeError):
            lib.func.functional_call(m, {"weight": lib.zeros(2, 3)}, (lib.zeros(4, 5),))
        assert m.weight is w


class Tied:
    @staticmethod
    def make(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = lib.nn.Linear(3, 3)
                self.b = lib.nn.Linear(3, 3)
                self.b.weight = self.a.weight
                self.register_buffer("count", lib.zeros(()))

            def forward(self, x):
                self.count = self.count + 1
                return self.b(self.a(x))
        return M()


def test_functional_call_tied_weights_and_state_updates():
    em, tm = paired(Tied.make)
    x, w, w2 = arr(2, 3), arr(3, 3), arr(3, 3)
    results = {}
    for lib, m in ((ember, em), (torch, tm)):
        fc = lib.func.functional_call
        state = {"a.weight": lib.tensor(w), "count": lib.zeros(())}
        tied = fc(m, state, (lib.tensor(x),))
        untied = fc(m, {"a.weight": lib.tensor(w)}, (lib.tensor(x),), tie_weights=False)
        both_given = fc(m, {"a.weight": lib.tensor(w), "b.weight": lib.tensor(w2)},
                        (lib.tensor(x),), tie_weights=False)
        results[lib] = (tied, untied, both_given, state["count"], m.count)
        with pytest.raises(ValueError, match="which are tied"):
            fc(m, {"a.weight": lib.tensor(w), "b.weight": lib.tensor(w2)}, (lib.tensor(x),))
    assert_same(results[ember], results[torch])


def test_stateless_functional_call_is_deprecated_alias():
    em, tm = paired(mlp)
    x = arr(2, 6)
    outs = []
    for lib, m in ((ember, em), (torch, tm)):
        with pytest.warns(FutureWarning):
            outs.append(lib.nn.utils.stateless.functional_call(
                m, {"2.bias": lib.zeros(3)}, lib.tensor(x)))
    assert_same(*outs)


# ------------------------------------------------------------------ the tutorials

def per_sample_grads(lib, model, data, targets, loss_name):
    """torch.func's per-sample-gradients tutorial, as written there."""
    loss_fn = getattr(lib.nn.functional, loss_name)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        batch = sample.unsqueeze(0)
        targets = target.unsqueeze(0)
        predictions = lib.func.functional_call(model, (params, buffers), (batch,))
        return loss_fn(predictions, targets)

    ft_compute_grad = lib.func.grad(compute_loss)
    ft_compute_sample_grad = lib.func.vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
    return ft_compute_sample_grad(params, buffers, data, targets)


@pytest.mark.parametrize("make,shape,classes,loss_name", [
    (mlp, (8, 6), 3, "cross_entropy"), (SimpleCNN.make, (8, 1, 8, 8), 10, "nll_loss")])
def test_per_sample_gradients_tutorial(make, shape, classes, loss_name):
    em, tm = paired(make)
    data = arr(*shape)
    targets = rng.integers(0, classes, 8)
    e = per_sample_grads(ember, em, ember.tensor(data), ember.tensor(targets), loss_name)
    t = per_sample_grads(torch, tm, torch.tensor(data), torch.tensor(targets), loss_name)
    assert_same(e, t, rtol=1e-4, atol=1e-5)
    for g in e.values():
        assert g.shape[0] == 8 and not g.requires_grad
    # the first sample's gradient is the ordinary gradient of its own loss
    loss = getattr(ember.nn.functional, loss_name)
    loss(em(ember.tensor(data[:1])), ember.tensor(targets[:1])).backward()
    for k, p in em.named_parameters():
        np.testing.assert_allclose(e[k][0].numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-6)


def ensemble(lib, models, minibatches, same_batch):
    """torch.func's model-ensembling tutorial: the stateless base model lives on the meta
    device (functional_call swaps the stacked parameters in)."""
    params, buffers = lib.func.stack_module_state(models)
    base_model = copy.deepcopy(models[0]).to("meta")
    assert all(p.is_meta for p in base_model.parameters())

    def fmodel(params, buffers, x):
        return lib.func.functional_call(base_model, (params, buffers), (x,))
    if same_batch:
        return lib.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatches[0]), params
    return lib.vmap(fmodel)(params, buffers, minibatches), params


@pytest.mark.parametrize("same_batch", [False, True])
def test_model_ensembling_tutorial(same_batch):
    pairs = [paired(mlp) for _ in range(3)]
    data = arr(3, 4, 6)
    e, e_params = ensemble(ember, [p[0] for p in pairs], ember.tensor(data), same_batch)
    t, t_params = ensemble(torch, [p[1] for p in pairs], torch.tensor(data), same_batch)
    assert_same(e, t, rtol=1e-5, atol=1e-6)
    assert_same(e_params, t_params)
    assert all(p.requires_grad and p.is_leaf for p in e_params.values())
    # the stacked parameters are leaves the ensemble's loss can be differentiated by
    e.sum().backward()
    t.sum().backward()
    assert_same({k: v.grad for k, v in e_params.items()},
                {k: v.grad for k, v in t_params.items()}, rtol=1e-5, atol=1e-5)


def test_stack_module_state_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="at least one model"):
            lib.func.stack_module_state([])
        a, b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
        b.eval()
        with pytest.raises(RuntimeError, match="training/eval mode"):
            lib.func.stack_module_state([a, b])
        with pytest.raises(RuntimeError, match="same class"):
            lib.func.stack_module_state([a, lib.nn.Tanh()])
        b.train()
        b.weight.requires_grad_(False)
        with pytest.raises(RuntimeError, match="same .requires_grad"):
            lib.func.stack_module_state([a, b])


# ------------------------------------------------------------------ grad

def f_cubic(lib, x):
    return (x ** 3).sum() + x.sin().prod()


def f_two(lib, x, y):
    return (x * y).tanh().sum() + (x ** 2).mean()


def test_grad_values_and_no_graph():
    e, t = run_both(lambda lib, x: lib.func.grad(lambda x: f_cubic(lib, x))(x), arr(4))
    assert_same(e, t)
    assert not e.requires_grad and e.grad_fn is None


@pytest.mark.parametrize("argnums", [0, 1, -1, (0, 1), (1, 0), (-2,)])
def test_grad_argnums(argnums):
    def program(lib, x, y):
        g, v = lib.func.grad_and_value(lambda x, y: f_two(lib, x, y), argnums=argnums)(x, y)
        return g, v
    e, t = run_both(program, arr(3), arr(3))
    assert_same(e, t)


def test_grad_has_aux_pytree_inputs_and_unused():
    def program(lib, x, y):
        def f(d, scale):
            loss = (d["a"] * d["b"][0]).sum() * scale
            return loss, {"doubled": d["a"] * 2, "n": [d["b"][1]]}
        return lib.func.grad(f, has_aux=True)({"a": x, "b": [y, x]}, 2.0)
    e, t = run_both(program, arr(3), arr(3))
    assert_same(e, t)
    assert not e[1]["doubled"].requires_grad


def test_grad_of_constant_and_kwargs():
    e, t = run_both(lambda lib, x: lib.func.grad(lambda x, k: lib.tensor(1.0) * k)(x, k=2.0),
                    arr(3))
    assert_same(e, t)


def test_grad_errors():
    cases = [
        lambda lib, x: lib.func.grad(lambda x: x)(x),                       # not a scalar
        lambda lib, x: lib.func.grad(lambda x: 3.0)(x),                     # not a tensor
        lambda lib, x: lib.func.grad(lambda x: x.sum(), has_aux=True)(x),   # no aux
        lambda lib, x: lib.func.grad(lambda x: x.sum(), argnums=2)(x),
        lambda lib, x: lib.func.grad(lambda x: x.sum(), argnums=())(x),
        lambda lib, x: lib.func.grad(lambda x: x.sum(), argnums=(0, 0))(x),
        lambda lib, x: lib.func.grad(lambda x: x.sum(), argnums=0.5)(x),
        lambda lib, x: lib.func.grad(lambda x: x.sum())(3.0),               # not a Tensor
        lambda lib, x: lib.func.grad(lambda x: x.sum())(x.long()),          # integer input
        lambda lib, x: lib.func.grad(lambda x: (x.sum(), 3), has_aux=True)(x),  # aux not tensors
        lambda lib, x: lib.func.vjp(lambda x: (x, [x, 3]), x, has_aux=True),
    ]
    for program in cases:
        same_error(program, arr(3))


def test_grad_of_tracked_input_keeps_graph_for_caller():
    e_x, t_x = both(arr(3), requires_grad=True)
    results = []
    for lib, x in ((ember, e_x), (torch, t_x)):
        g = lib.func.grad(lambda y: (y ** 3).sum())(x)
        assert g.requires_grad
        g.sum().backward()
        results.append((g, x.grad))
    assert_same(*results)


def test_grad_ignores_outer_no_grad():
    def program(lib, x):
        with lib.no_grad():
            return lib.func.grad(lambda x: (x.exp()).sum())(x)
    assert_same(*run_both(program, arr(3)))


# ------------------------------------------------------------------ nesting

NESTED = {
    "grad_grad": lambda lib, x: lib.func.grad(lib.func.grad(lambda x: x.sin() * x ** 2))(x),
    "grad_grad_grad": lambda lib, x: lib.func.grad(lib.func.grad(lib.func.grad(
        lambda x: x.exp() * x.cos())))(x),
    # perturbation confusion: the inner derivative treats x as a constant
    "confusion_mul": lambda lib, x: lib.func.grad(
        lambda x: x * lib.func.grad(lambda y: x * y)(x))(x),
    "confusion_add": lambda lib, x: lib.func.grad(
        lambda x: x * lib.func.grad(lambda y: x + y)(x))(x),
    "confusion_sq": lambda lib, x: lib.func.grad(
        lambda x: lib.func.grad(lambda y: (x * y ** 2))(x) * x.sin())(x),
    "inner_of_outer_value": lambda lib, x: lib.func.grad(
        lambda x: lib.func.grad(lambda y: (y * x.exp()).sin())(x.cos()))(x),
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_grad(name):
    e, t = run_both(NESTED[name], np.array(0.7, dtype=np.float64))
    assert_same(e, t)
    assert not e.requires_grad


def test_jacrev_jacrev_and_hessian():
    def program(lib, x):
        f = lambda x: (x.sin() * x.roll(1)).sum()   # noqa: E731
        g = lambda x: x.exp() * x.sum()             # noqa: E731
        return (lib.func.hessian(f)(x), lib.func.jacrev(lib.func.jacrev(g))(x),
                lib.func.jacrev(lib.func.grad(f))(x))
    e, t = run_both(program, arr(4, dtype=np.float64))
    assert_same(e, t)
    assert not any(r.requires_grad for r in e)


def test_grad_over_functional_call_and_vmap_inside_grad():
    em, tm = paired(mlp)
    x, y = arr(5, 6), rng.integers(0, 3, 5)
    results = []
    for lib, m in ((ember, em), (torch, tm)):
        params = {k: v.detach() for k, v in m.named_parameters()}

        def loss(p, x, y):
            return lib.nn.functional.cross_entropy(lib.func.functional_call(m, p, (x,)), y)

        def vloss(p, x):
            per_row = lib.func.vmap(lambda r: lib.func.functional_call(m, p, (r,)).pow(2).sum())
            return per_row(x).mean()
        results.append((lib.func.grad(loss)(params, lib.tensor(x), lib.tensor(y)),
                        lib.func.grad(vloss)(params, lib.tensor(x)),
                        lib.func.grad(lambda x: lib.func.vmap(lambda r: r.sin().sum())(x).sum())(
                            lib.tensor(x))))
    assert_same(*results, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ vjp, jacrev

def test_vjp_values_repeated_calls_and_aux():
    def program(lib, x, y, v1, v2):
        out, fn, aux = lib.func.vjp(lambda x, y: ((x * y).sin(), x.exp().sum()), x, y,
                                    has_aux=False) + (None,)
        first = fn((v1, v1.sum()))
        second = fn((v2, lib.tensor(0.0)))
        out2, fn2, aux2 = lib.func.vjp(lambda x: (x.cos(), {"s": x.sum()}), x, has_aux=True)
        return out, first, second, out2, fn2(v2), aux2
    e, t = run_both(program, arr(3), arr(3), arr(3), arr(3))
    assert_same(e, t)
    assert not e[0][0].requires_grad and not e[1][0].requires_grad


def test_vjp_errors():
    same_error(lambda lib, x: lib.func.vjp(lambda x: (x, 3.0), x), arr(2))
    same_error(lambda lib, x: lib.func.vjp(lambda x: x.long(), x), arr(2))
    same_error(lambda lib, x: lib.func.vjp(lambda x: x, x, has_aux=True), arr(2))
    same_error(lambda lib, x: lib.func.vjp(lambda x: x * 2, x)[1]((x,)), arr(2))
    same_error(lambda lib, x: lib.func.vjp(lambda x: x * 2, x)[1](lib.ones(3)), arr(2))


def test_jacrev_pytrees_argnums_aux():
    def program(lib, x, y):
        def f(x, y):
            return {"a": x * y.sum(), "b": (x ** 2).sum()}, x.mean()
        j0, aux = lib.func.jacrev(f, has_aux=True)(x, y)
        j01 = lib.func.jacrev(lambda x, y: f(x, y)[0], argnums=(0, 1))(x, y)
        jm = lib.func.jacrev(lambda x: x @ x.t())(x.reshape(3, 1).expand(3, 2) * 1.0)
        return j0, aux, j01, jm
    e, t = run_both(program, arr(3), arr(2))
    assert_same(e, t)


def test_jacrev_errors():
    same_error(lambda lib, x: lib.func.jacrev(lambda x: x, chunk_size=0)(x), arr(2))
    same_error(lambda lib, x: lib.func.jacrev(lambda x: x, argnums=1)(x), arr(2))


# ------------------------------------------------------------------ vmap

VMAPS = {
    "default": lambda lib, x, y: lib.vmap(lambda a, b: a * b.sum())(x, y),
    "in_dims_none": lambda lib, x, y: lib.func.vmap(lambda a, b: a @ b, in_dims=(0, None))(
        x, y[:3].reshape(3, 1) * y[1:]),
    "negative_in_dim": lambda lib, x, y: lib.func.vmap(lambda a: a.cumsum(0), in_dims=-1)(x),
    "out_dims": lambda lib, x, y: lib.func.vmap(lambda a: (a, a.sum()), out_dims=(1, 0))(x),
    "negative_out_dim": lambda lib, x, y: lib.func.vmap(lambda a: a.exp(), out_dims=-1)(x),
    "nested_in_dims": lambda lib, x, y: lib.func.vmap(
        lambda d, l: d["p"] + d["q"] * l[0] - l[1], in_dims=({"p": 0, "q": None}, [1, 0]))(
            {"p": x, "q": x[0]}, [x.t(), x]),
    "dict_output": lambda lib, x, y: lib.func.vmap(lambda a: {"s": a.sum(), "m": [a * 2]})(x),
    "nested_vmap": lambda lib, x, y: lib.func.vmap(lib.func.vmap(lambda a, b: a * b + 1,
                                                                 in_dims=(0, None)),
                                                   in_dims=(1, None))(x, y),
    "kwargs_not_batched": lambda lib, x, y: lib.func.vmap(lambda a, scale: a * scale)(
        x, scale=y[:3]),
    "none_out_dim": lambda lib, x, y: lib.func.vmap(lambda a: (a * 2, y), out_dims=(0, None))(x),
    "non_tensor_unbatched": lambda lib, x, y: lib.func.vmap(lambda a: (a, 3),
                                                            out_dims=(0, None))(x),
    "empty_batch": lambda lib, x, y: lib.func.vmap(lambda a: a.sum(0))(x[:0]),
    "grad_in_vmap": lambda lib, x, y: lib.func.vmap(lib.func.grad(lambda a: (a ** 3).sum()))(x),
    "jacrev_in_vmap": lambda lib, x, y: lib.func.vmap(lib.func.jacrev(lambda a: a.sin() * a))(x),
    "vmap_chunks": lambda lib, x, y: lib.func.vmap(lambda a: a.sum(), chunk_size=2)(x),
}


@pytest.mark.parametrize("name", sorted(VMAPS))
def test_vmap(name):
    e, t = run_both(VMAPS[name], arr(4, 3), arr(4))
    assert_same(e, t)


def test_vmap_keeps_the_graph_of_batched_inputs():
    e_x, t_x = both(arr(4, 3), requires_grad=True)
    res = []
    for lib, x in ((ember, e_x), (torch, t_x)):
        out = lib.vmap(lambda a: (a.sin() * a).sum())(x)
        out.pow(2).sum().backward()
        res.append((out, x.grad))
    assert_same(*res)


VMAP_ERRORS = {
    "sizes": lambda lib, x: lib.vmap(lambda a, b: a + b)(x, x[:2]),
    "nothing_batched": lambda lib, x: lib.vmap(lambda a: a, in_dims=None)(x),
    "no_inputs": lambda lib, x: lib.vmap(lambda: x)(),
    "in_dims_type": lambda lib, x: lib.vmap(lambda a: a, in_dims=[0])(x),
    "in_dims_structure": lambda lib, x: lib.vmap(lambda a: a, in_dims=(0, 0))(x),
    "in_dim_range": lambda lib, x: lib.vmap(lambda a: a, in_dims=2)(x),
    "in_dim_not_int": lambda lib, x: lib.vmap(lambda a: a, in_dims=(0.5,))(x),
    "non_tensor_in": lambda lib, x: lib.vmap(lambda a, b: a, in_dims=(0, 0))(x, 3),
    "non_tensor_out": lambda lib, x: lib.vmap(lambda a: 3.0)(x),
    "none_out": lambda lib, x: lib.vmap(lambda a: None)(x),
    "batched_with_out_none": lambda lib, x: lib.vmap(lambda a: a * 2, out_dims=None)(x),
    "out_dims_type": lambda lib, x: lib.vmap(lambda a: a, out_dims="a")(x),
    "out_dims_structure": lambda lib, x: lib.vmap(lambda a: (a, a), out_dims=(0, 0, 0))(x),
    "out_dim_range": lambda lib, x: lib.vmap(lambda a: a, out_dims=2)(x),
    "randomness_value": lambda lib, x: lib.vmap(lambda a: a, randomness="x")(x),
    "chunk_size": lambda lib, x: lib.vmap(lambda a: a, chunk_size=0)(x),
    "random_op": lambda lib, x: lib.vmap(lambda a: a + lib.rand(3))(x),
    "dropout": lambda lib, x: lib.vmap(lambda a: lib.nn.functional.dropout(a, 0.5))(x),
    "random_nested": lambda lib, x: lib.vmap(lib.vmap(lambda a: a + lib.rand(()),
                                                      randomness="different"))(x),
}


@pytest.mark.parametrize("name", sorted(VMAP_ERRORS))
def test_vmap_errors(name):
    err = same_error(VMAP_ERRORS[name], arr(4, 3))
    if name in ("random_op", "dropout", "random_nested"):
        assert "randomness error mode" in str(err)


def test_vmap_randomness_modes():
    x = ember.zeros(4, 3)
    ember.manual_seed(0)
    diff = ember.vmap(lambda a: a + ember.rand(3), randomness="different")(x)
    assert len({tuple(r) for r in diff.tolist()}) == 4
    ember.manual_seed(0)
    same = ember.vmap(lambda a: a + ember.rand(3) + ember.randn(()), randomness="same")(x)
    assert same.shape == (4, 3) and all(same[i].equal(same[0]) for i in range(4))
    # 'same' draws what one call outside vmap draws, and leaves the generator after it
    ember.manual_seed(0)
    once = ember.rand(3) + ember.randn(())
    assert same[0].equal(once)
    after_vmap = ember.rand(2)
    ember.manual_seed(0)
    ember.rand(3) + ember.randn(())
    assert after_vmap.equal(ember.rand(2))
    g = ember.Generator().manual_seed(1)
    drawn = ember.vmap(lambda a: ember.rand(2, generator=g), randomness="same")(x)
    assert all(drawn[i].equal(drawn[0]) for i in range(4))
    # the error mode is restored after a vmap returns or raises
    ember.rand(1)
    with pytest.raises(RuntimeError):
        ember.vmap(lambda a: ember.rand(1))(x)
    ember.rand(1)


def test_replace_all_batch_norm_modules_and_functionalize():
    def program(lib, x):
        m = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.BatchNorm1d(3))
        lib.func.replace_all_batch_norm_modules_(m)
        bn = m[1]
        flags = (bn.running_mean is None, bn.track_running_stats)
        return lib.func.functionalize(lambda x: x.add_(1).mul(2))(x.clone()), flags
    e, t = run_both(program, arr(4, 3))
    assert_same(e, t)


# ------------------------------------------------------------------ forward mode

def test_jvp_values_pytrees_and_aux():
    def program(lib, x, y, tx, ty):
        out, tangent = lib.func.jvp(lambda a, b: {"p": a * b.sum(), "q": [a.exp()]},
                                    (x, y), (tx, ty))
        o2, t2, aux = lib.func.jvp(lambda d: ((d["u"] ** 2).sum(), d["u"].cos()),
                                   ({"u": x},), ({"u": tx},), has_aux=True)
        constant = lib.func.jvp(lambda a: lib.ones(2), (x,), (tx,))
        return out, tangent, o2, t2, aux, constant
    e, t = run_both(program, arr(3), arr(2), arr(3), arr(2))
    assert_same(e, t)
    assert not e[1]["p"].requires_grad


def test_jacfwd_and_forward_over_reverse():
    def program(lib, x, y):
        f = lambda x, y: (x.sin() * y.sum(), (x ** 2).sum())   # noqa: E731
        return (lib.func.jacfwd(f)(x, y), lib.func.jacfwd(f, argnums=(0, 1))(x, y),
                lib.func.jacfwd(lambda x: (x.exp(), x.sum()), has_aux=True)(x),
                lib.func.jvp(lib.func.grad(lambda x: (x.tanh() * x).sum()), (x,), (y[:3] + x,)),
                lib.func.grad(lambda x: lib.func.jvp(lambda a: (a ** 3).sum(), (x,), (x,))[1])(x),
                lib.func.hessian(lambda x, y: (x * y[:3]).prod(), argnums=(0, 1))(x, y))
    e, t = run_both(program, arr(3, dtype=np.float64), arr(4, dtype=np.float64))
    assert_same(e, t)


def test_forward_mode_errors():
    x = np.ones(2, dtype=np.float32)
    cases = [
        lambda lib, x: lib.func.jvp(lambda a: a, [x], [x]),
        lambda lib, x: lib.func.jvp(lambda a: a, (x,), [x]),
        lambda lib, x: lib.func.jvp(lambda a: a, (x,), (lib.ones(3),)),
        lambda lib, x: lib.func.jvp(lambda a: a, (x,), (x,), has_aux=True),
        lambda lib, x: lib.func.jvp(lambda a: 3.0, (x,), (x,)),
        lambda lib, x: lib.func.jvp(lambda a: a, (3.0,), (x,)),
        lambda lib, x: lib.func.jvp(lambda a: a, (), ()),
        lambda lib, x: lib.func.jvp(lambda a: a * 2, (x.long(),), (x.long(),)),
        lambda lib, x: lib.func.jacfwd(lambda a: a, randomness="x")(x),
        lambda lib, x: lib.func.jacfwd(lambda a: a + lib.rand(2))(x),
        lambda lib, x: lib.func.jacfwd(lambda a: a, argnums=1)(x),
    ]
    for program in cases:
        same_error(program, x)
    same = ember.func.jacfwd(lambda a: a + ember.rand(2), randomness="same")(ember.ones(2))
    assert_same(same, torch.eye(2))


def test_forward_over_forward():
    """A jvp inside another (ember takes the inner product in reverse mode); inside the
    caller's own dual level PyTorch refuses it, and so does ember."""
    x = np.array([0.3, -1.2, 2.0])
    programs = [
        lambda lib, a: lib.func.jvp(lambda a: lib.func.jvp(lambda b: b * a, (a,), (a,))[1],
                                    (a,), (a,)),
        lambda lib, a: lib.func.jacfwd(lib.func.jacfwd(lambda a: a.sin() * a.sum()))(a),
    ]
    for program in programs:
        assert_same(program(ember, ember.tensor(x)), program(torch, torch.tensor(x)))

    def inside_dual_level(lib, a):
        with lib.autograd.forward_ad.dual_level():
            d = lib.autograd.forward_ad.make_dual(a, lib.ones_like(a))
            return lib.func.jvp(lambda b: b.sum(), (d,), (a,))
    same_error(inside_dual_level, x)


def test_hessian_through_fused_backwards():
    """jacfwd(jacrev(f)) through ops whose backward has a no-grad fast path (relu,
    log_softmax, cross_entropy, gelu, layer_norm), of a model's loss by parameter dict."""
    em, tm = paired(lambda lib: lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.GELU(),
                                                  lib.nn.LayerNorm(4), lib.nn.ReLU(),
                                                  lib.nn.Linear(4, 3)))
    x, y = arr(5, 3, dtype=np.float64), rng.integers(0, 3, 5)
    results = []
    for lib, m in ((ember, em), (torch, tm)):
        m.double()
        params = {k: v.detach() for k, v in m.named_parameters()}

        def loss(p):
            out = lib.func.functional_call(m, p, (lib.tensor(x),))
            return (lib.nn.functional.cross_entropy(out, lib.tensor(y))
                    + lib.nn.functional.log_softmax(out, 1).pow(2).mean())
        h = lib.func.hessian(loss)(params)
        results.append({k: h[k]["0.weight"] for k in ("0.weight", "0.bias", "4.weight")})
    assert_same(*results)
    assert not results[0]["0.bias"].requires_grad
