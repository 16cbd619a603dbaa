"""The fast path of the _foreach_* ops (ember/_ops/foreach_arrays.py) against PyTorch and
against ember's own per-element ops: values bit for bit (float32 and float64, in place and
out of place, contiguous and not, aliased operands), version counters, that the fast path
is taken where it applies (the per-element methods are not called), and that it is not
where autograd, another dtype or an unusual number needs the per-element path."""
import numpy as np
import pytest
import torch

import ember

LIBS = (torch, ember)
SHAPES = [(7,), (3, 5), (), (0,), (33, 17)]


def _arrays(dtype, seed, shapes=SHAPES, low=None):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        a = np.asarray(rng.standard_normal(s), dtype=dtype)
        out.append(np.asarray(np.abs(a) + 0.5, dtype=dtype) if low else a)
    return out


def _lists(lib, dtype, n=4, positive=False):
    return [[lib.from_numpy(a.copy()) for a in _arrays(dtype, seed, low=positive)]
            for seed in range(n)]


def _bits(ts):
    return [np.asarray(t.detach().numpy() if hasattr(t, "detach") else t).copy() for t in ts]


def _same_bits(xs, ys):
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(x.reshape(-1).view(np.uint8), y.reshape(-1).view(np.uint8)), \
            (x, y)


# name -> (call, whether ember's per-element op is torch's bit for bit)
CALLS = {
    "add_scalar_": lambda m, a, b, c: m._foreach_add_(a, 0.1),
    "add_int_": lambda m, a, b, c: m._foreach_add_(a, 3),
    "add_scalars_": lambda m, a, b, c: m._foreach_add_(a, [0.1, -2, 1e-3, 7.5, 0.3]),
    "add_list_": lambda m, a, b, c: m._foreach_add_(a, b),
    "add_list_alpha_": lambda m, a, b, c: m._foreach_add_(a, b, alpha=-0.013),
    "sub_list_alpha_": lambda m, a, b, c: m._foreach_sub_(a, b, alpha=0.7),
    "sub_scalar_": lambda m, a, b, c: m._foreach_sub_(a, 0.3),
    "mul_scalar_": lambda m, a, b, c: m._foreach_mul_(a, 0.999),
    "mul_list_": lambda m, a, b, c: m._foreach_mul_(a, b),
    "mul_scalars_": lambda m, a, b, c: m._foreach_mul_(a, [0.5, 3, -1.25, 1e-7, 2.0]),
    "div_scalar_": lambda m, a, b, c: m._foreach_div_(a, 0.77),
    "div_zero_": lambda m, a, b, c: m._foreach_div_(a, 0),
    "div_list_": lambda m, a, b, c: m._foreach_div_(a, c),
    "addcmul_": lambda m, a, b, c: m._foreach_addcmul_(a, b, c, value=0.37),
    "addcmul_one_": lambda m, a, b, c: m._foreach_addcmul_(a, b, c),
    "addcmul_scalars_": lambda m, a, b, c: m._foreach_addcmul_(a, b, c, [0.1, 2, -0.3, 1, 5]),
    "addcdiv_": lambda m, a, b, c: m._foreach_addcdiv_(a, b, c, value=-0.01),
    "addcdiv_scalars_": lambda m, a, b, c: m._foreach_addcdiv_(a, b, c, [1, 0.5, -2, 3, 0.1]),
    "lerp_small_": lambda m, a, b, c: m._foreach_lerp_(a, b, 0.1),
    "lerp_large_": lambda m, a, b, c: m._foreach_lerp_(a, b, 0.9),
    "lerp_scalars_": lambda m, a, b, c: m._foreach_lerp_(a, b, [0.1, 0.5, 0.99, -0.2, 1.5]),
    "add": lambda m, a, b, c: m._foreach_add(a, 0.1),
    "add_list_alpha": lambda m, a, b, c: m._foreach_add(a, b, alpha=-0.013),
    "sub_list_alpha": lambda m, a, b, c: m._foreach_sub(a, b, alpha=2.5),
    "mul_list": lambda m, a, b, c: m._foreach_mul(a, b),
    "div_scalars": lambda m, a, b, c: m._foreach_div(a, [3, 0.3, -7, 1e5, 11]),
    "addcmul": lambda m, a, b, c: m._foreach_addcmul(a, b, c, value=0.37),
    "addcdiv": lambda m, a, b, c: m._foreach_addcdiv(a, b, c, value=0.37),
    "lerp": lambda m, a, b, c: m._foreach_lerp(a, b, 0.3),
    "norm_inf": lambda m, a, b, c: m._foreach_norm(b[:3] + b[4:], float("inf")),
}
# ember's linalg.vector_norm sums in another order than torch's: the fast path gives its
# bits, and torch's within a few ulps
NORMS = {
    "norm": lambda m, a, b, c: m._foreach_norm(a),
    "norm_1": lambda m, a, b, c: m._foreach_norm(a, 1),
    "norm_3": lambda m, a, b, c: m._foreach_norm(a, 3.0),
}


def _run(lib, call, dtype):
    a, b, c = _lists(lib, dtype, 3)
    c = [x.abs() + 0.25 for x in c]
    out = call(lib, a, b, c)
    return _bits(out) + _bits(a) + _bits(b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_values_are_torchs_bit_for_bit(name, dtype):
    got, want = (_run(lib, CALLS[name], dtype) for lib in (ember, torch))
    _same_bits(got, want)


def _per_element(name, dtype):
    """The same call through ember's per-element ops (the fast path's reference)."""
    return _run(ember, CALLS[name], dtype)


# ember's per-element float64 add/sub with alpha rounds twice: the fast path is torch's
_PER_ELEMENT_TWO_ROUNDINGS = {("add_list_alpha", np.float64), ("sub_list_alpha", np.float64),
                              ("add_list_alpha_", np.float64), ("sub_list_alpha_", np.float64)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CALLS) + sorted(NORMS))
def test_fast_path_equals_per_element_path(name, dtype, monkeypatch):
    """With the fast path switched off, the per-element ops give the same bits."""
    call = CALLS.get(name) or NORMS[name]
    fast = _run(ember, call, dtype)
    from ember._ops import foreach_arrays
    monkeypatch.setattr(foreach_arrays, "plain_dtype", lambda *a, **k: None)
    slow = _run(ember, call, dtype)
    if (name, dtype) in _PER_ELEMENT_TWO_ROUNDINGS:
        for f, s in zip(fast, slow):
            np.testing.assert_allclose(f, s, rtol=1e-12, atol=1e-300)
        return
    _same_bits(fast, slow)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(NORMS))
def test_norms_close_to_torch(name, dtype):
    got, want = (_run(lib, NORMS[name], dtype) for lib in (ember, torch))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-6 if dtype == np.float32 else 1e-14)


UNARY = ["abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1",
         "floor", "frac", "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal", "round",
         "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt", "tan", "tanh", "trunc"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", UNARY)
def test_unary_equals_single_op(op, dtype):
    """Unary ops: ember's single op's bits (torch's own unary kernels are MKL's, within
    an ulp: compared closely)."""
    xs = _lists(ember, dtype, 1, positive=True)[0]
    if op in ("acos", "asin"):
        xs = [x * 0.5 - 0.6 for x in xs]
    got = getattr(ember, f"_foreach_{op}")(xs)
    want = [getattr(ember, op)(x) for x in xs]
    _same_bits(_bits(got), _bits(want))
    ys = [x.clone() for x in xs]
    getattr(ember, f"_foreach_{op}_")(ys)
    _same_bits(_bits(ys), _bits(want))
    tx = [torch.from_numpy(x.numpy().copy()) for x in xs]
    for g, t in zip(got, getattr(torch, f"_foreach_{op}")(tx)):
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=4e-6 if dtype == np.float32
                                   else 1e-12, atol=1e-13)


def _boom(*args, **kwargs):
    raise AssertionError("per-element op called")


@pytest.mark.parametrize("method,call", [
    ("add_", lambda a, b: ember._foreach_add_(a, b, alpha=0.5)),
    ("add_", lambda a, b: ember._foreach_add_(a, 2.0)),
    ("mul_", lambda a, b: ember._foreach_mul_(a, [2.0] * len(a))),
    ("addcmul_", lambda a, b: ember._foreach_addcmul_(a, b, b, value=0.1)),
    ("lerp_", lambda a, b: ember._foreach_lerp_(a, b, 0.1)),
    ("sqrt_", lambda a, b: ember._foreach_sqrt_(b)),
])
def test_fast_path_taken_and_versions_bumped(method, call, monkeypatch):
    a, b = _lists(ember, np.float32, 2, positive=True)
    versions = [t._version for t in a + b]
    monkeypatch.setattr(ember.Tensor, method, _boom)
    call(a, b)
    changed = [t._version - v for t, v in zip(a + b, versions)]
    assert sum(changed) == len(a) and set(changed) == {0, 1}


@pytest.mark.parametrize("ord", [2, 1, 3.5, float("inf")])
def test_norm_fast_path_taken(ord, monkeypatch):
    xs = _lists(ember, np.float32, 1)[0]
    xs = xs[:3] + xs[4:]
    want = [ember.linalg.vector_norm(x, ord) for x in xs]
    ember._foreach_norm(xs[:1])
    monkeypatch.setattr(ember.linalg, "vector_norm", _boom)
    _same_bits(_bits(ember._foreach_norm(xs, ord)), _bits(want))


def test_version_matches_torch():
    out = []
    for lib in LIBS:
        a, b = _lists(lib, np.float32, 2)
        lib._foreach_add_(a, b, alpha=0.5)
        lib._foreach_mul_(a, 0.5)
        lib._foreach_lerp_(a, b, 0.5)
        out.append([t._version for t in a + b])
    assert out[0] == out[1]


def test_leaf_requiring_grad_refused_then_updated_under_no_grad():
    for lib in LIBS:
        p = [lib.ones(3, requires_grad=True)]
        with pytest.raises(RuntimeError, match="leaf Variable"):
            lib._foreach_add_(p, 1.0)
        with lib.no_grad():
            lib._foreach_add_(p, [lib.ones(3)], alpha=0.5)
        assert p[0].requires_grad and p[0].grad_fn is None
        assert p[0].tolist() == [1.5, 1.5, 1.5]


def test_grad_recorded_when_an_operand_requires_grad():
    got = []
    for lib in LIBS:
        w = lib.tensor([0.5, 2.0], requires_grad=True)
        x = [lib.tensor([1.0, 3.0])]
        out = lib._foreach_mul(x, [w])
        out[0].sum().backward()
        got.append((type(out[0].grad_fn).__name__ if lib is torch else out[0].grad_fn.name(),
                    w.grad.tolist()))
    assert got[0][1] == got[1][1] == [1.0, 3.0]
    x = [ember.tensor([1.0, 3.0], requires_grad=True).clone()]
    ember._foreach_add_(x, 1.0)             # a non-leaf: recorded in place
    assert x[0].grad_fn is not None


def test_view_of_leaf_refused():
    for lib in LIBS:
        base = lib.ones(4, requires_grad=True)
        with pytest.raises(RuntimeError, match="view of a leaf"):
            lib._foreach_mul_([base[:2]], 2.0)


@pytest.mark.parametrize("call", [
    lambda m, a: m._foreach_add_(a, a, alpha=0.5),
    lambda m, a: m._foreach_addcmul_(a, a, a, value=0.25),
    lambda m, a: m._foreach_lerp_(a, a[::-1], 0.75),
    lambda m, a: m._foreach_add_([a[0], a[0]], [a[1], a[0]], alpha=-1.5),
    lambda m, a: m._foreach_mul_([a[0], a[0]], 3.0),
])
def test_aliased_operands(call):
    got = []
    for lib in LIBS:
        a = [lib.from_numpy(x) for x in _arrays(np.float32, 5, [(6,)] * 4)]
        call(lib, a)
        got.append(_bits(a))
    _same_bits(*got)


def test_non_contiguous_and_views():
    got = []
    for lib in LIBS:
        base = lib.from_numpy(_arrays(np.float32, 1, [(6, 8)])[0])
        other = lib.from_numpy(_arrays(np.float32, 2, [(8, 6)])[0])
        xs = [base.t(), base[:, ::2]]
        ends = [other, other.t()[:, ::2]]
        lib._foreach_add_(xs, ends, alpha=0.3)
        lib._foreach_lerp_(xs, ends, 0.6)
        out = lib._foreach_mul(xs, 1.5)
        got.append(_bits([base] + list(out)) + [o.stride() for o in out])
    _same_bits(got[0][:-2], got[1][:-2])
    assert got[0][-2:] == got[1][-2:]


@pytest.mark.parametrize("call", [
    lambda m, f, d, i: m._foreach_add_([f, d], 0.5),                 # two dtypes
    lambda m, f, d, i: m._foreach_add_([f], [d]),                    # promoted operand
    lambda m, f, d, i: m._foreach_add(([f, i]), [d, i], alpha=2),
    lambda m, f, d, i: m._foreach_add_([i], 0.5),                    # float into int
    lambda m, f, d, i: m._foreach_mul_([f], True),
    lambda m, f, d, i: m._foreach_add_([f], 2 ** 60),
    lambda m, f, d, i: m._foreach_add_([f], float("inf")),
    lambda m, f, d, i: m._foreach_mul_([d], float("nan")),
    lambda m, f, d, i: m._foreach_add_([f], [d[:2]]),                # shape mismatch
    lambda m, f, d, i: m._foreach_add_([f], [d[:1]], alpha=3),       # broadcast operand
    lambda m, f, d, i: m._foreach_lerp_([f], [f.double()], 0.5),
    lambda m, f, d, i: m._foreach_addcmul_([f], [f], [d], value=2),
    lambda m, f, d, i: m._foreach_norm([f, d], 3),
    lambda m, f, d, i: m._foreach_norm([f], 0),
    lambda m, f, d, i: m._foreach_norm([f], 2, dtype=m.float64),
    lambda m, f, d, i: m._foreach_add_([f.expand(2, 3)], 1.0),      # expanded: refused
])
def test_per_element_path_cases_match_torch(call):
    got = []
    for lib in LIBS:
        f = lib.tensor([1.5, -0.25, 3.0])
        d = lib.tensor([0.5, 2.0, -1.0], dtype=lib.float64)
        i = lib.tensor([1, 2, 3])
        try:
            out = call(lib, f, d, i)
        except Exception as e:   # noqa: BLE001  (the type is compared)
            got.append(type(e).__name__)
            continue
        got.append([(str(t.dtype).split(".")[-1], str(t.tolist())) for t in list(out) + [f, d, i]])
    assert got[0] == got[1]


def test_inference_tensor_refused_outside_inference_mode():
    for lib in LIBS:
        with lib.inference_mode():
            x = [lib.ones(2)]
        with pytest.raises(RuntimeError, match="[Ii]nference"):
            lib._foreach_add_(x, 1.0)


def test_subclass_with_torch_function_sees_the_per_element_ops():
    """A Tensor subclass that overrides calls keeps them (the fast path steps aside)."""
    seen = []

    class Logged(ember.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs or {})

    xs = [ember.ones(3).as_subclass(Logged), ember.ones(2).as_subclass(Logged)]
    ember._foreach_mul_(xs, 2.0)
    assert seen and [x.tolist() for x in xs] == [[2.0] * 3, [2.0] * 2]
    plain = [ember.ones(3)]
    ember._foreach_mul_(plain, 2.0)     # plain tensors, the protocol on: still fast
    assert plain[0].tolist() == [2.0] * 3


def test_fast_path_taken_with_the_protocol_on(monkeypatch):
    """With the __torch_function__ protocol active (the public functions wrapped), plain
    tensors still take the fast path, unary ops included (their node found under the
    wrappers)."""
    class Marked(ember.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return super().__torch_function__(func, types, args, kwargs or {})

    xs = [ember.tensor([4.0, 9.0]), ember.tensor([16.0])]
    monkeypatch.setattr(ember.Tensor, "sqrt_", _boom)
    monkeypatch.setattr(ember.Tensor, "mul_", _boom)
    ember._foreach_sqrt_(xs)
    ember._foreach_mul_(xs, 0.5)
    assert [x.tolist() for x in xs] == [[1.0, 1.5], [2.0]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("call", [
    lambda m, a, b, c: m._foreach_add_(a, b, alpha=-0.013),
    lambda m, a, b, c: m._foreach_addcmul_(a, b, c, value=0.37),
    lambda m, a, b, c: m._foreach_addcmul_(a, b, c, [0.1 * k - 2 for k in range(len(a))]),
    lambda m, a, b, c: m._foreach_lerp_(a, b, 0.1),
    lambda m, a, b, c: m._foreach_lerp_(a, b, 0.8),
])
def test_many_small_tensors_grouped(call, dtype, monkeypatch):
    """Runs of small tensors are updated through one concatenation (a tensor over the run
    size in the middle alone, a short run tensor by tensor): torch's bits."""
    from ember._ops import foreach_arrays
    # (add_ and lerp_ take one ?axpy call per tensor where OpenBLAS's probed ?axpy is there,
    # tests/test_foreach_direct_nu23.py; the runs are their path without it)
    monkeypatch.setattr(foreach_arrays, "axpy_list_", lambda *args: False)
    monkeypatch.setattr(foreach_arrays, "lerp_list_", lambda *args: False)
    runs, flat = [], foreach_arrays._flat
    monkeypatch.setattr(foreach_arrays, "_flat", lambda ts, *a: runs.append(len(ts)) or
                        flat(ts, *a))
    rng = np.random.default_rng(3)
    sizes = [int(n) for n in rng.integers(0, 3000, 30)] + [40_000, 5, 7] + \
        [int(n) for n in rng.integers(0, 100, 12)]
    arrays = [[np.asarray(rng.standard_normal(n), dtype=dtype) for n in sizes]
              for _ in range(3)]
    got = []
    for lib in LIBS:
        a, b, c = ([lib.from_numpy(x.reshape(-1, 1).copy()) if i % 3 == 0 else
                    lib.from_numpy(x.copy()) for i, x in enumerate(xs)] for xs in arrays)
        call(lib, a, b, c)
        got.append(_bits(a) + [t._version for t in a])
    _same_bits(got[0][:len(sizes)], got[1][:len(sizes)])
    assert got[0][len(sizes):] == got[1][len(sizes):]
    if dtype == np.float32 or "addcmul" not in str(call.__code__.co_names):
        assert runs and max(runs) >= 10
