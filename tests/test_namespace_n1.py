"""Top-level names filled in by N1: Storage, Future/fork/wait, DisableTorchFunction(Subclass),
parse_schema/FunctionSchema/Argument, sym_fresh_size, and the batch-norm pieces of
SyncBatchNorm (batch_norm_stats ...), compared with torch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402


def _aliases(m):
    fut = m.fork(lambda a, b: a * b, m.tensor([2.0]), 3)
    return [m.Storage is m.FloatStorage, isinstance(fut, m.Future), m.wait(fut),
            m.sym_fresh_size(7), type(m.sym_fresh_size(7)).__name__,
            m.DisableTorchFunctionSubclass is m._C.DisableTorchFunctionSubclass,
            m.DisableTorchFunction is m._C.DisableTorchFunction]


def _disable_torch_function(m):
    calls = []

    class Logged(m.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(getattr(func, "__name__", "?"))
            return super().__torch_function__(func, types, args, kwargs or {})

    x = m.ones(2).as_subclass(Logged)
    with m.DisableTorchFunctionSubclass():
        a = m.add(x, 1)
    inside = len(calls)
    with m.DisableTorchFunction():
        b = m.mul(x, 2)
    inside_all = len(calls)
    c = m.add(x, 1)
    return [inside, inside_all, len(calls) > inside_all, type(a).__name__, type(b).__name__,
            type(c).__name__, a, b]


_PARSE = ["aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
          "mylib::f(Tensor(a!) x, int[2] k=[1, 2], float eps=1e-05) -> (Tensor a, Tensor b)",
          "foo(Tensor[] xs, str mode='x') -> Tensor[]"]


def _parse_schema(m):
    out = []
    for text in _PARSE:
        s = m.parse_schema(text)
        out.append([str(s), s.name, s.overload_name, [a.name for a in s.arguments],
                    [str(a.type) for a in s.arguments], type(s).__name__,
                    isinstance(s, m.FunctionSchema), isinstance(s.arguments[0], m.Argument)])
    return out


def _parse_schema_error(m):
    m.parse_schema("foo(Tensor x -> Tensor")


def _update_stats(m):
    x = m.arange(60.0, dtype=m.float64).reshape(4, 3, 5).sin()
    rm = m.zeros(3, dtype=m.float64)
    rv = m.ones(3, dtype=m.float64)
    mean, var = m.batch_norm_update_stats(x, rm, rv, 0.1)
    no_running = m.batch_norm_update_stats(x.float(), None, None, 0.3)
    return [mean, var, rm, rv, list(no_running)]


@pytest.mark.parametrize("case", ["aliases", "disable_torch_function", "parse_schema",
                                  "parse_schema_error", "update_stats"])
def test_against_torch(case):
    program = {"aliases": _aliases, "disable_torch_function": _disable_torch_function,
               "parse_schema": _parse_schema, "parse_schema_error": _parse_schema_error,
               "update_stats": _update_stats}[case]
    e, t = _run(program, ember), _run(program, torch)
    assert same(e, t), (e, t)


def _t(a, dtype=np.float64):
    return ember.tensor(np.asarray(a, dtype=dtype)), torch.tensor(np.asarray(a, dtype=dtype))


@pytest.mark.parametrize("shape,world", [((4, 3, 5), 1), ((6, 2), 3), ((2, 4, 3, 3), 2)])
def test_sync_batch_norm_pieces_equal_torch_batch_norm(shape, world):
    """The pieces put together as SyncBatchNorm does (the batch split over `world`
    processes, statistics gathered) give torch's F.batch_norm in training: output, running
    stats, and the input/weight/bias gradients. (torch builds the pieces for CUDA only, so
    the oracle is its batch_norm.)"""
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(shape)
    dy_np = rng.standard_normal(shape)
    w_np, b_np = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    eps, momentum = 1e-5, 0.1
    # torch's batch norm and its gradients
    xt = torch.tensor(x_np, requires_grad=True)
    wt = torch.tensor(w_np, requires_grad=True)
    bt = torch.tensor(b_np, requires_grad=True)
    rmt, rvt = torch.zeros(shape[1], dtype=torch.float64), torch.ones(shape[1],
                                                                      dtype=torch.float64)
    yt = torch.nn.functional.batch_norm(xt, rmt, rvt, wt, bt, True, momentum, eps)
    yt.backward(torch.tensor(dy_np))
    # ember: per-process pieces
    xs = np.array_split(x_np, world)
    dys = np.array_split(dy_np, world)
    stats = [ember.batch_norm_stats(ember.tensor(p), eps) for p in xs]
    counts = ember.tensor([float(p.size // shape[1]) for p in xs], dtype=ember.float64)
    rm, rv = ember.zeros(shape[1], dtype=ember.float64), ember.ones(shape[1],
                                                                    dtype=ember.float64)
    w, b = ember.tensor(w_np), ember.tensor(b_np)
    mean, invstd = ember.batch_norm_gather_stats_with_counts(
        ember.tensor(xs[0]), ember.stack([s[0] for s in stats]),
        ember.stack([s[1] for s in stats]), rm, rv, momentum, eps, counts)
    y = ember.cat([ember.batch_norm_elemt(ember.tensor(p), w, b, mean, invstd, eps)
                   for p in xs])
    reduced = [ember.batch_norm_backward_reduce(ember.tensor(g), ember.tensor(p), mean, invstd,
                                                w, True, True, True) for p, g in zip(xs, dys)]
    sum_dy = sum(r[0] for r in reduced)
    sum_dy_xmu = sum(r[1] for r in reduced)
    count_int = counts.to(ember.int32)
    dx = ember.cat([ember.batch_norm_backward_elemt(ember.tensor(g), ember.tensor(p), mean,
                                                    invstd, w, sum_dy, sum_dy_xmu, count_int)
                    for p, g in zip(xs, dys)])
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), rmt.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), rvt.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sum(r[2] for r in reduced).numpy(), wt.grad.numpy(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sum(r[3] for r in reduced).numpy(), bt.grad.numpy(),
                               rtol=1e-10, atol=1e-12)


def test_batch_norm_pieces_details():
    x = ember.randn(4, 3, 2, dtype=ember.float16)
    mean, invstd = ember.batch_norm_stats(x, 1e-5)
    assert mean.dtype == ember.float32 and invstd.dtype == ember.float32
    y = ember.batch_norm_elemt(x, None, None, mean, invstd, 1e-5)
    assert y.dtype == ember.float16 and y.shape == x.shape
    g = ember.randn(4, 3, 2)
    xf = x.float()
    r = ember.batch_norm_backward_reduce(g, xf, mean, invstd, None, False, False, True)
    assert r[0] is None and r[1] is None and r[2] is None
    np.testing.assert_allclose(r[3].numpy(), g.sum((0, 2)).numpy(), rtol=1e-6)
    mean2, invstd2 = ember.batch_norm_gather_stats(
        xf, mean[None].repeat(2, 1), invstd[None].repeat(2, 1), None, None, 0.1, 1e-5, 8)
    np.testing.assert_allclose(mean2.numpy(), mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(invstd2.numpy(), invstd.numpy(), rtol=1e-4)
    with pytest.raises(RuntimeError, match="at least 2 dims"):
        ember.batch_norm_stats(ember.ones(3), 1e-5)


def test_batch_norm_stats_differentiable():
    """Composed of ember's ops: gradients flow (gradcheck in float64)."""
    x = ember.randn(3, 2, 4, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: ember.batch_norm_stats(t, 1e-5), (x,))


# --------------------------------------------------------------------------- sparse extras

def _sparse_operands(m):
    s = m.sparse_coo_tensor(m.tensor([[0, 1, 1], [2, 0, 2]]), m.tensor([3.0, 4.0, 5.0]), (2, 3))
    d = m.arange(6.0).reshape(3, 2)
    inp = m.sparse_coo_tensor(m.tensor([[0], [1]]), m.tensor([1.0]), (2, 2))
    return s, d, inp


def _addmm(m, fn, **kwargs):
    s, d, inp = _sparse_operands(m)
    return fn(inp, s, d, **kwargs)


def _coo(t):
    return [t._indices(), t._values(), tuple(t.shape), t.is_coalesced(), str(t.layout)[-10:]]


_SPARSE = {
    "sspaddmm": lambda m: _coo(_addmm(m, m.sspaddmm, beta=2, alpha=0.5)),
    "saddmm": lambda m: _coo(_addmm(m, m.saddmm, beta=3, alpha=2)),
    "sspaddmm_method": lambda m: _coo(_sparse_operands(m)[2].sspaddmm(
        *_sparse_operands(m)[:2])),
    "smm": lambda m: _coo(m.smm(*_sparse_operands(m)[:2])),
    "smm_method": lambda m: _coo(_sparse_operands(m)[0].smm(_sparse_operands(m)[1])),
    "hsmm": lambda m: _coo(m.hsmm(*_sparse_operands(m)[:2])),
    "dsmm": lambda m: m.dsmm(*_sparse_operands(m)[:2]),
    "dsmm_dense": lambda m: m.dsmm(m.ones(2, 3), m.ones(3, 2)),
    "csr_copies": lambda m: [f(_sparse_operands(m)[0].to_sparse_csr()) for f in
                             (m.crow_indices_copy, m.col_indices_copy, m.values_copy)],
    "csc_copies": lambda m: [f(_sparse_operands(m)[0].to_sparse_csc()) for f in
                             (m.ccol_indices_copy, m.row_indices_copy, m.values_copy)],
    "copy_is_a_copy": lambda m: _copy_is_a_copy(m),
    # errors
    "sspaddmm_dense_mat1": lambda m: m.sspaddmm(_sparse_operands(m)[2], m.ones(2, 3),
                                                m.ones(3, 2)),
    "sspaddmm_shape": lambda m: m.sspaddmm(_sparse_operands(m)[2], _sparse_operands(m)[0],
                                           m.ones(4, 2)),
    "smm_dense": lambda m: m.smm(m.ones(2, 3), m.ones(3, 2)),
    "smm_method_dense": lambda m: m.ones(2, 3).smm(m.ones(3, 2)),
    "hsmm_dense": lambda m: m.hsmm(m.ones(2, 3), m.ones(3, 2)),
    "indices_copy_coo": lambda m: m.indices_copy(_sparse_operands(m)[0].coalesce()),
    "values_copy_coo": lambda m: m.values_copy(_sparse_operands(m)[0].coalesce()),
    "crow_copy_coo": lambda m: m.crow_indices_copy(_sparse_operands(m)[0]),
    "indices_copy_dense": lambda m: m.indices_copy(m.ones(2)),
    "col_copy_csc": lambda m: m.col_indices_copy(_sparse_operands(m)[0].to_sparse_csc()),
    "row_copy_csr": lambda m: m.row_indices_copy(_sparse_operands(m)[0].to_sparse_csr()),
}


def _copy_is_a_copy(m):
    c = _sparse_operands(m)[0].to_sparse_csr()
    crow = m.crow_indices_copy(c)
    crow.zero_()
    return [c.crow_indices(), crow]


@pytest.mark.parametrize("case", sorted(_SPARSE))
def test_sparse_extras_against_torch(case):
    e, t = _run(_SPARSE[case], ember), _run(_SPARSE[case], torch)
    assert same(e, t), (e, t)


def _tensor_leftovers(m):
    import warnings
    d = m.ones(2, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        volatile = d.volatile
    return [d.const_data_ptr() == d.data_ptr(), d.name, volatile,
            [c.category.__name__ for c in caught if "volatile" in str(c.message)]]


_TENSOR = {
    "leftovers": _tensor_leftovers,
    "reinforce": lambda m: m.ones(2).reinforce(1),
    "ipu": lambda m: m.ones(2).ipu(),
    "name_not_writable": lambda m: setattr(m.ones(2), "name", "x"),
}
for _method in ("crow_indices", "col_indices", "ccol_indices", "row_indices", "coalesce"):
    _TENSOR[f"dense_{_method}"] = (lambda name: lambda m: getattr(m.ones(2, 2), name)())(_method)
    for _layout in ("coo", "csr", "csc"):
        _TENSOR[f"{_layout}_{_method}"] = (lambda name, layout: lambda m: getattr(
            _in_layout(m, layout), name)())(_method, _layout)


def _in_layout(m, layout):
    s = m.sparse_coo_tensor(m.tensor([[0, 1], [1, 0]]), m.tensor([3.0, 4.0]), (2, 2))
    return {"coo": s.coalesce(), "csr": s.to_sparse_csr(), "csc": s.to_sparse_csc()}[layout]


@pytest.mark.parametrize("case", sorted(_TENSOR))
def test_tensor_leftovers_against_torch(case):
    e, t = _run(_TENSOR[case], ember), _run(_TENSOR[case], torch)
    assert same(e, t), (e, t)


def test_dense_component_messages():
    with pytest.raises(RuntimeError, match="crow_indices expected sparse row compressed "
                                           "tensor layout but got Strided"):
        ember.ones(2, 2).crow_indices()


# --------------------------------------------------------------------------- qparams search

@pytest.mark.parametrize("seed", range(12))
def test_choose_qparams_optimized_bit_equal(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 100))
    x = (rng.standard_normal(n) * rng.uniform(0.01, 50)).astype(np.float32)
    args = (int(rng.integers(1, n + 1)), int(rng.integers(0, 250)), float(rng.uniform(0, 1)),
            int(rng.choice([2, 4, 8])))

    def program(m):
        return list(m.choose_qparams_optimized(m.tensor(x), *args))
    e, t = _run(program, ember), _run(program, torch)
    assert e[0][:3] == t[0][:3] and e[0][3].tobytes() == t[0][3].tobytes()
    assert e[1][3].tobytes() == t[1][3].tobytes()


_QPARAM_ERRORS = {
    "numel_big": lambda m: m.choose_qparams_optimized(m.ones(4), 5, 10, 0.1, 4),
    "numel_negative": lambda m: m.choose_qparams_optimized(m.ones(4), -1, 10, 0.1, 4),
    "double": lambda m: m.choose_qparams_optimized(m.ones(4, dtype=m.float64), 4, 10, 0.1, 4),
    "empty": lambda m: m.choose_qparams_optimized(m.ones(0), 0, 10, 0.1, 4),
    "constant": lambda m: list(m.choose_qparams_optimized(m.ones(5), 5, 200, 0.16, 4)),
    "two_dims": lambda m: list(m.choose_qparams_optimized(m.arange(16.0).reshape(4, 4), 16,
                                                          50, 0.3, 2)),
}


@pytest.mark.parametrize("case", sorted(_QPARAM_ERRORS))
def test_choose_qparams_optimized_edges(case):
    e, t = _run(_QPARAM_ERRORS[case], ember), _run(_QPARAM_ERRORS[case], torch)
    assert same(e, t), (e, t)


def test_tensor_index_not_built():
    """Tensor.index binds functorch.dim's first-class dims: not built in ember."""
    assert hasattr(torch.Tensor, "index")
    with pytest.raises(NotImplementedError, match="first-class"):
        ember.ones(2).index(0, None)
