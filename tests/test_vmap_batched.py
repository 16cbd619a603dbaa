"""Vectorized vmap (ember/func/_batching.py) against torch.func.vmap: each batching rule on
the same programs and inputs (values, shapes, dtypes), in_dims/out_dims variants, nested
vmap, unbatched operands; and checks that the vectorized path ran (the function called
once, the ops counted by the rules), so that a silent fallback to slices cannot pass."""
import numpy as np
import pytest
import torch

import ember
from ember.func import _batching
from tests.oracle.harness import assert_same

rng = np.random.default_rng(0)


def arr(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


@pytest.fixture
def strict():
    """The vectorized path must succeed (an abort raises); counters start at zero."""
    _batching.STRICT[0] = True
    _batching.STATS.update(vectorized_ops=0, looped_ops=0, aborts=0, last_abort=None)
    yield _batching.STATS
    _batching.STRICT[0] = False


def run_vmap(program, arrays, in_dims=0, out_dims=0, **kw):
    """vmap(program(lib, ...)) on ember and torch: (ember result, torch result, calls of the
    ember function)."""
    calls = [0]

    def e_fn(*xs):
        calls[0] += 1
        return program(ember, *xs)

    e = ember.func.vmap(e_fn, in_dims, out_dims, **kw)(*[ember.tensor(a) for a in arrays])
    t = torch.func.vmap(lambda *xs: program(torch, *xs), in_dims, out_dims, **kw)(
        *[torch.tensor(a) for a in arrays])
    return e, t, calls[0]


# name: (program(lib, *tensors), arrays, in_dims, out_dims)
CASES = {
    # elementwise: unary, binary with broadcasting, unbatched and scalar operands
    "unary": (lambda L, x: x.tanh().exp() - x.sin(), [arr(4, 3)], 0, 0),
    "binary_both": (lambda L, x, y: x * y + x / (y.abs() + 1), [arr(4, 3), arr(4, 3)], 0, 0),
    "binary_unbatched": (lambda L, x, y: x - y, [arr(4, 3), arr(2, 3)], (0, None), 0),
    "broadcast_ranks": (lambda L, x, y: x + y, [arr(4, 3), arr(2, 4, 3)], (0, 1), 0),
    "scalar_pow": (lambda L, x: (x * 2.5) ** 2 + 1, [arr(4, 3)], 0, 0),
    "where": (lambda L, x, y, m: L.where(m, x, y), [arr(4, 3), arr(3), arr(3) > 0],
              (0, None, None), 0),
    "int_dtype": (lambda L, x: (x * 3) - 2, [rng.integers(-5, 5, (4, 3))], 0, 0),
    # reductions and softmax: dims shift past the batch dim, negative dims too
    "sum_all": (lambda L, x: x.sum(), [arr(5, 3, 2)], 0, 0),
    "sum_neg_dim": (lambda L, x: x.sum(-1, keepdim=True), [arr(5, 3, 2)], 0, 0),
    "mean_dims": (lambda L, x: x.mean((0, 1)), [arr(5, 3, 2)], 1, 0),
    "var_std": (lambda L, x: x.var(0) + x.std(-1).sum(), [arr(5, 3, 2)], 2, 0),
    "amax_logsumexp": (lambda L, x: x.amax(1) + L.logsumexp(x, 0).sum(), [arr(4, 3, 2)], 0, 0),
    "norm": (lambda L, x: L.linalg.vector_norm(x, dim=-1), [arr(4, 3, 2)], 0, 0),
    "softmax": (lambda L, x: L.softmax(x, -1) + L.log_softmax(x, 0), [arr(4, 3, 2)], 0, 0),
    "cumsum": (lambda L, x: x.cumsum(1), [arr(4, 3, 2)], 0, 0),
    # views and shape ops
    "reshape": (lambda L, x: x.reshape(6, -1).view(2, 3, 2), [arr(4, 3, 4)], 0, 0),
    "reshape_moved_batch": (lambda L, x: x.reshape(-1), [arr(3, 4, 2)], 1, 0),
    "permute_t": (lambda L, x: x.permute(2, 0, 1).transpose(0, 1).mT, [arr(4, 3, 2, 5)], 0, 0),
    "expand": (lambda L, x: x.unsqueeze(0).expand(2, 3, 4), [arr(5, 3, 4)], 0, 0),
    "squeeze": (lambda L, x: x.unsqueeze(-1).squeeze(-1).squeeze(), [arr(5, 1, 3)], 0, 0),
    "unbind": (lambda L, x: x.unbind(1)[1] * 2, [arr(5, 3, 2)], 0, 0),
    "diagonal": (lambda L, x: x.diagonal(0, -2, -1)[1:] + x.diagonal(1), [arr(5, 3, 3)], 0,
                 0),
    "index_basic": (lambda L, x: x[1:, None, ..., 0] + x[-1, 1], [arr(5, 3, 2)], 0, 0),
    "cat_stack": (lambda L, x, y: L.cat([x, y], -1).sum() + L.stack([x, y], -1),
                  [arr(4, 3, 2), arr(3, 2)], (0, None), 0),
    "narrow_split": (lambda L, x: x.narrow(1, 1, 2) + x.split(2, 1)[0], [arr(4, 3, 4)], 0, 0),
    "to_clone": (lambda L, x: x.to(L.float64).clone() * 2, [arr(4, 3)], 0, 0),
    # products
    "matmul_mm": (lambda L, x, w: x @ w, [arr(4, 3, 5), arr(5, 2)], (0, None), 0),
    "matmul_vec": (lambda L, x, w: w @ x + (x @ x), [arr(4, 5), arr(3, 5)], (0, None), 0),
    "matmul_both": (lambda L, x, w: L.matmul(x, w), [arr(4, 2, 3, 5), arr(4, 5, 2)], 0, 0),
    "matmul_ranks": (lambda L, x, w: x @ w, [arr(4, 3, 5), arr(2, 5, 2)], (0, None), 0),
    "mm_mv_dot": (lambda L, x, w: L.mm(w, x) + L.mv(w, x[:, 0]).unsqueeze(-1)
                  + L.dot(x[:, 0], x[:, 1]), [arr(4, 5, 2), arr(3, 5)], (0, None), 0),
    "addmm": (lambda L, b, x, w: L.addmm(b, x, w, beta=0.5, alpha=2.0),
              [arr(4, 2), arr(3, 5), arr(5, 2)], (0, None, None), 0),
    "linear": (lambda L, x, w, b: L.nn.functional.linear(x, w, b), [arr(4, 3, 5), arr(2, 5),
                                                                   arr(2)], (0, None, None), 0),
    "linear_vector": (lambda L, x, w: L.nn.functional.linear(x, w), [arr(4, 5), arr(2, 5)],
                      (0, None), 0),
    "linear_batched_weight": (lambda L, x, w, b: L.nn.functional.linear(x, w, b),
                              [arr(3, 5), arr(4, 2, 5), arr(4, 2)], (None, 0, 0), 0),
    "mlp": (lambda L, x, w1, w2: L.relu(x @ w1.T).tanh() @ w2.T, [arr(6, 4), arr(8, 4),
                                                                   arr(3, 8)], (0, None, None), 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule(name, strict):
    program, arrays, in_dims, out_dims = CASES[name]
    e, t, calls = run_vmap(program, arrays, in_dims, out_dims)
    assert_same(e, t, rtol=1e-5, atol=1e-5)
    assert calls == 1, "the function ran once per slice: not vectorized"
    assert strict["vectorized_ops"] > 0 and strict["looped_ops"] == 0, strict


@pytest.mark.parametrize("out_dims", [0, 1, -1, (1, 0)])
def test_out_dims(out_dims, strict):
    program = lambda L, x, y: (x * y, (x + y).sum(0))   # noqa: E731
    e, t, calls = run_vmap(program, [arr(4, 3, 2), arr(4, 3, 2)], 0, out_dims)
    assert_same(e, t)
    assert calls == 1


def test_unbatched_output_is_expanded(strict):
    e, t, calls = run_vmap(lambda L, x, y: (x * 2, y + 1), [arr(4, 3), arr(2)], (0, None), 0)
    assert_same(e, t)
    assert calls == 1


def test_out_dim_none_for_an_unbatched_output(strict):
    e, t, calls = run_vmap(lambda L, x, y: (x * 2, y + 1), [arr(4, 3), arr(2)], (0, None),
                           (0, None))
    assert_same(e, t)
    assert calls == 1


def test_nested_vmap(strict):
    def program(L, x, y):
        return L.func.vmap(lambda a: (a * y).sum(-1), in_dims=1)(x)
    e, t, calls = run_vmap(program, [arr(4, 3, 5, 2), arr(2)], (0, None), 0)
    assert_same(e, t, rtol=1e-5, atol=1e-6)
    assert calls == 1


def test_in_place_on_a_batched_tensor(strict):
    def program(L, x):
        y = x.clone()
        y.mul_(2).add_(1)
        return y
    e, t, calls = run_vmap(program, [arr(4, 3)])
    assert_same(e, t)
    assert calls == 1


def test_an_op_without_a_rule_loops_over_the_batch(strict):
    program = lambda L, x: x.flip(-1) + L.cumprod(x, 0)   # noqa: E731
    e, t, calls = run_vmap(program, [arr(4, 3, 2)])
    assert_same(e, t, rtol=1e-5, atol=1e-6)
    assert calls == 1 and strict["looped_ops"] >= 2


def test_advanced_index_loops(strict):
    idx = np.array([2, 0, 2])
    e, t, calls = run_vmap(lambda L, x: x[:, L.tensor(idx)], [arr(4, 2, 3)])
    assert_same(e, t)
    assert calls == 1 and strict["looped_ops"] >= 1


def test_reading_values_falls_back_to_slices():
    """.item() has no batched meaning: the vectorized attempt aborts and vmap reruns the
    function by slices (PyTorch refuses; ember gives the per-slice answer)."""
    _batching.STATS.update(aborts=0)
    calls = [0]

    def f(x):
        calls[0] += 1
        return x * x.sum().item()
    x = arr(3, 2)
    out = ember.func.vmap(f)(ember.tensor(x))
    expect = np.stack([s * s.sum() for s in x])
    np.testing.assert_allclose(out.numpy(), expect, rtol=1e-6)
    assert _batching.STATS["aborts"] == 1
    assert calls[0] == 1 + 3   # the aborted attempt, then one call per slice


def test_randomness_modes_are_not_vectorized():
    calls = [0]

    def f(x):
        calls[0] += 1
        return x + ember.rand(())
    ember.manual_seed(0)
    out = ember.func.vmap(f, randomness="same")(ember.zeros(3))
    assert calls[0] == 3
    assert out[0].item() == out[1].item() == out[2].item()


def test_random_draw_raises_in_error_mode():
    with pytest.raises(RuntimeError, match="randomness"):
        ember.func.vmap(lambda x: x + ember.rand(()))(ember.zeros(3))
    with pytest.raises(RuntimeError, match="randomness"):
        torch.func.vmap(lambda x: x + torch.rand(()))(torch.zeros(3))


def test_errors_inside_the_function_keep_their_type(strict):
    _batching.STRICT[0] = False
    for lib in (ember, torch):
        with pytest.raises(RuntimeError):
            lib.func.vmap(lambda x, w: x @ w)(lib.zeros(2, 3), lib.zeros(2, 4))


def test_batched_output_with_out_dim_none_raises():
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="out_dim"):
            lib.func.vmap(lambda x: x * 2, out_dims=None)(lib.tensor(arr(3, 2)))


def test_no_batched_array_leaks():
    out = ember.func.vmap(lambda x: x * 2, in_dims=1, out_dims=1)(ember.tensor(arr(2, 3)))
    assert type(out._data) is np.ndarray
    assert out.device.type == "cpu"


# ---------------------------------------------------------------- transforms built on vmap

def _predict(L):
    def predict(w, b, x):
        return L.nn.functional.linear(x, w, b).tanh()
    return predict


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian"])
def test_jacobians_are_vectorized(transform, strict):
    # float64: a float32 hessian of tanh at a saturated unit (1 - tanh^2 ~ 3e-4) carries
    # relative errors ~1e-4 in both libraries, and the draws depend on the test order
    w, b, x = (arr(*shape, dtype=np.float64) for shape in ((4, 3), (4,), (3,)))
    results = []
    for L in (ember, torch):
        calls = [0]
        predict = _predict(L)

        def f(w, b, x):
            calls[0] += 1
            return predict(w, b, x)
        tr = getattr(L.func, transform)
        results.append((tr(f, argnums=2)(*(L.tensor(a) for a in (w, b, x))), calls[0]))
    (e, e_calls), (t, t_calls) = results
    assert_same(e, t, rtol=1e-5, atol=1e-6)
    assert e_calls == 1, f"{transform} called f {e_calls} times"
    assert strict["aborts"] == 0


def test_jacrev_of_several_inputs_and_outputs(strict):
    def f(L):
        return lambda w, b, x: (L.nn.functional.linear(x, w, b).sin(), (w * x).sum())
    args = [arr(4, 3), arr(4), arr(3)]
    for tr in ("jacrev", "jacfwd"):
        e = getattr(ember.func, tr)(f(ember), argnums=(0, 2))(*map(ember.tensor, args))
        t = getattr(torch.func, tr)(f(torch), argnums=(0, 2))(*map(torch.tensor, args))
        assert_same(e, t, rtol=1e-5, atol=1e-6)


def test_batch_jacobian(strict):
    w, b, x = arr(4, 3), arr(4), arr(5, 3)
    out = []
    for L in (ember, torch):
        jac = L.func.vmap(L.func.jacrev(_predict(L), argnums=2), in_dims=(None, None, 0))
        out.append(jac(*(L.tensor(a) for a in (w, b, x))))
    assert_same(out[0], out[1], rtol=1e-5, atol=1e-6)


def test_batch_hessian(strict):
    """vmap(hessian(f)): forward AD of tanh on batched duals, its tangent from a node for
    one slice; the inner jacfwd's vmap runs by slices over the outer batch."""
    w, b, x = arr(4, 3), arr(4), arr(5, 3)
    out = []
    for L in (ember, torch):
        hess = L.func.vmap(L.func.hessian(_predict(L), argnums=2), in_dims=(None, None, 0))
        out.append(hess(*(L.tensor(a) for a in (w, b, x))))
    assert_same(out[0], out[1], rtol=1e-5, atol=1e-6)
    assert strict["aborts"] == 0


def test_jacfwd_of_jacfwd(strict):
    w, b, x = arr(4, 3), arr(4), arr(3)
    out = []
    for L in (ember, torch):
        predict = _predict(L)
        h = L.func.jacfwd(L.func.jacfwd(predict, argnums=2), argnums=2)
        out.append(h(*(L.tensor(a) for a in (w, b, x))))
    assert_same(out[0], out[1], rtol=1e-5, atol=1e-6)


def test_per_sample_grads(strict):
    """vmap(grad(f)): a graph recorded over batched tensors, differentiated inside vmap."""
    w, b, x, y = arr(3, 4), arr(3), arr(6, 4), arr(6, 3)
    out = []
    for L in (ember, torch):
        def loss(params, x, y):
            pred = L.nn.functional.linear(x, params[0], params[1]).tanh()
            return ((pred - y) ** 2).mean()
        params = (L.tensor(w), L.tensor(b))
        g = L.func.vmap(L.func.grad(loss), in_dims=(None, 0, 0))(params, L.tensor(x),
                                                                 L.tensor(y))
        out.append(g)
    assert_same(out[0], out[1], rtol=1e-5, atol=1e-6)
    assert strict["aborts"] == 0


def test_backward_inside_vmap_falls_back():
    """.backward() would accumulate a batch into .grad: the function runs by slices."""
    w = ember.tensor(arr(3), requires_grad=True)

    def f(x):
        (w * x).sum().backward()
        return x * 1
    ember.func.vmap(f)(ember.tensor(arr(4, 3)))
    assert type(w.grad._data) is np.ndarray and w.grad.shape == (3,)


def test_recorded_op_keeping_a_batched_mask(strict):
    """where's node keeps the condition: batched, it is stacked from every slice's."""
    x, m = arr(5, 3), arr(5, 3) > 0
    out = []
    for L in (ember, torch):
        def f(x, m):
            return L.where(m, x * x, x * 3).sum()
        out.append(L.func.vmap(L.func.grad(f))(L.tensor(x), L.tensor(m)))
    assert_same(out[0], out[1], rtol=1e-6, atol=1e-6)
    assert strict["aborts"] == 0


def test_per_sample_grads_through_nll_loss(strict):
    """nll_loss's node keeps arrays read from values (its backward computes on raw arrays):
    recorded over the batch as one node per slice, inside the vectorized run."""
    w, x, t = arr(4, 6), arr(5, 6), rng.integers(0, 4, (5,))
    out = []
    for L in (ember, torch):
        def loss(w, x, t):
            logp = L.nn.functional.log_softmax(L.nn.functional.linear(x, w), dim=-1)
            return L.nn.functional.nll_loss(logp.unsqueeze(0), t.unsqueeze(0))
        out.append(L.func.vmap(L.func.grad(loss), in_dims=(None, 0, 0))(
            L.tensor(w), L.tensor(x), L.tensor(t)))
    assert_same(out[0], out[1], rtol=1e-5, atol=1e-6)
    assert strict["aborts"] == 0


def test_per_sample_grads_of_a_small_cnn(strict):
    """conv2d and max_pool2d have no batching rule: they loop over the batch one op at a
    time (forward, and backward through per-slice nodes); relu's backward compares."""
    ws = [arr(3, 1, 3, 3), arr(3), arr(5, 12), arr(5)]
    x, t = arr(4, 1, 6, 6), rng.integers(0, 5, (4,))
    out = []
    for L in (ember, torch):
        F = L.nn.functional

        def loss(params, x, t):
            h = F.max_pool2d(F.relu(F.conv2d(x.unsqueeze(0), params[0], params[1])), 2)
            logits = F.linear(h.flatten(1), params[2], params[3])
            return F.cross_entropy(logits, t.unsqueeze(0))
        params = tuple(L.tensor(w) for w in ws)
        out.append(L.func.vmap(L.func.grad(loss), in_dims=(None, 0, 0))(
            params, L.tensor(x), L.tensor(t)))
    assert_same(out[0], out[1], rtol=1e-4, atol=1e-5)
    assert strict["aborts"] == 0 and strict["looped_ops"] > 0


def test_jacfwd_with_aux(strict):
    x = arr(3)
    out = []
    for L in (ember, torch):
        def f(x):
            return x.sin() * 2, x.cos().sum()
        out.append(L.func.jacfwd(f, has_aux=True)(L.tensor(x)))
    assert_same(out[0], out[1], rtol=1e-6, atol=1e-6)


def test_vmap_over_autograd_grad_frees_the_graph_after(strict):
    """A backward pass inside the vectorized run keeps its graph until the run succeeds
    (a rerun by slices would walk it again), then frees it as PyTorch does."""
    out = []
    for L in (ember, torch):
        x = L.arange(1.0, 4.0, requires_grad=True)
        y = x ** 2
        out.append(L.func.vmap(lambda v: L.autograd.grad(y, x, v))(L.eye(3)))
        with pytest.raises(RuntimeError):
            L.autograd.grad(y, x, L.ones(3))
    assert_same(out[0], out[1])
    assert strict["aborts"] == 0


def test_cumprod_gradient_per_slice(strict):
    """cumprod's node keeps whether its input holds a zero, which differs between slices:
    recorded by slices, each slice's gradient its own."""
    x = arr(3, 4)
    x[1, 2] = 0.0
    out = []
    for L in (ember, torch):
        out.append(L.func.vmap(L.func.grad(lambda v: v.cumprod(0).sum()))(L.tensor(x)))
    assert_same(out[0], out[1], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------
# inputs that require grad: one outer node over the vectorized run (_vmap_autograd.py)

def _grad_case(lib, case):
    g = np.random.default_rng(1)
    W = lib.tensor(g.standard_normal((4, 3, 5)), requires_grad=True)   # 4 ensemble members
    b = lib.tensor(g.standard_normal((4, 3)), requires_grad=True)
    x = lib.tensor(g.standard_normal((6, 5)))
    V = lib.tensor(g.standard_normal((5, 3)), requires_grad=True)      # closed over
    F = lib.nn.functional
    if case == "ensemble":
        out = lib.func.vmap(lambda w, bb, xx: F.relu(F.linear(xx, w, bb)).tanh(),
                            in_dims=(0, 0, None))(W, b, x)
        wrt = [W, b]
    elif case == "in_dim_1":
        out = lib.func.vmap(lambda w, xx: (xx @ w.t()).sigmoid().sum(0), in_dims=(1, None),
                            out_dims=1)(W.transpose(0, 1), x)
        wrt = [W]
    elif case == "closure":
        out = lib.func.vmap(lambda w: (x @ V * w.sum()).exp().mean(1))(W)
        wrt = [W, V]
    else:   # a double backward through the vmapped call
        out = lib.func.vmap(lambda w, xx: (xx @ w.t()).pow(3), in_dims=(0, None))(W, x)
        (gw,) = lib.autograd.grad(out.sum(), W, create_graph=True)
        out = gw.sin()
        wrt = [W]
    cot = lib.tensor(g.standard_normal(tuple(out.shape)))
    grads = lib.autograd.grad(out, wrt, cot)
    return [out.detach().numpy()] + [t.numpy() for t in grads]


@pytest.mark.parametrize("case", ["ensemble", "in_dim_1", "closure", "double_backward"])
def test_inputs_that_require_grad(case):
    _batching.STATS.update(vectorized_ops=0, looped_ops=0, aborts=0, last_abort=None)
    got, want = _grad_case(ember, case), _grad_case(torch, case)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert _batching.STATS["vectorized_ops"] > 0   # the forward ran on the whole batch


def test_ensemble_of_modules_runs_vectorized(strict):
    """functorch's model-ensembling tutorial: stacked parameters that require grad, the
    forward and the outer backward vectorized, results and gradients as torch's."""
    import copy

    def run(lib):
        lib.manual_seed(0)

        class MLP(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = lib.nn.Linear(12, 8)
                self.fc2 = lib.nn.Linear(8, 3)

            def forward(self, x):
                return self.fc2(lib.nn.functional.relu(self.fc1(x.flatten(1))))
        models = [MLP() for _ in range(3)]
        for m in models:   # the same weights in both libraries
            for p in m.parameters():
                p.data = lib.tensor(np.random.default_rng(p.numel()).standard_normal(
                    tuple(p.shape)) * 0.3, dtype=lib.float32)
        params, buffers = lib.func.stack_module_state(models)
        base = copy.deepcopy(models[0]).to("meta")

        def fmodel(params, buffers, x):
            return lib.func.functional_call(base, (params, buffers), (x,))
        x = lib.tensor(np.random.default_rng(5).standard_normal((4, 3, 4)), dtype=lib.float32)
        out = lib.func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
        out.square().sum().backward()
        return [out.detach().numpy()] + [params[k].grad.numpy() for k in sorted(params)]
    got, want = run(ember), run(torch)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert strict["looped_ops"] == 0 and strict["aborts"] == 0


def test_outer_node_is_freed_with_the_graph():
    """A second backward without retain_graph raises as torch's does."""
    W = ember.ones(2, 3, requires_grad=True)
    out = ember.func.vmap(lambda w: (w * 2).sum())(W)
    out.sum().backward()
    with pytest.raises(RuntimeError):
        out.sum().backward()
