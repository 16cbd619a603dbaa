"""Transcendental elementwise ops on the thread pool (ember/_backend/parallel.py: piecewise,
unary, WEIGHT; the `split=` rows of ember/_ops/pointwise.py's unary table, sigmoid's
kernel): a split only where the ufunc's loops are measured to give every run of an array
the bits of one whole call; one thread and two give the same bytes, at pieces cut at odd
offsets, with special values; values and gradients against torch. `where` selects by bit
operations (pointwise_arrays.select): where's bytes, every dtype, split or not."""
import ml_dtypes
import numpy as np
import pytest

import ember
from ember._backend import parallel

from tests.pool_splits import counted_splits  # noqa: E402

torch = pytest.importorskip("torch")

BIG = 1 << 14
rng = np.random.default_rng(19)


@pytest.fixture
def jobs(monkeypatch):
    """Splits handed to the pool (one entry per split), two threads allowed, the threshold at
    BIG element-passes and pieces of at least 1000 elements (so that pieces start at many
    alignments), no back-off; the thread settings restored."""
    yield from counted_splits(monkeypatch, BIG, min_piece=1000)


def _values(n, dtype, positive=False, unit=False):
    """Random values over many scales with special values strewn in."""
    v = rng.standard_normal(n) * 10.0 ** rng.integers(-4, 4, n)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-310, 88.72, 88.73,
               -88.73, -103.98, -104.0, 709.8, -745.2, 1e30, -1e30, 20.0, -20.0, 1.0, -1.0]
    idx = rng.choice(n, len(special) * 7, replace=False)
    v[idx] = np.tile(special, 7)
    if positive:
        v = np.abs(v)
    if unit:
        v = np.tanh(v)
    with np.errstate(all="ignore"):
        return v.astype(dtype)


UNARY = {   # name: (input kind, the ufunc that qualifies the split)
    "exp": ("any", np.exp), "exp2": ("any", np.exp2), "expm1": ("any", np.expm1),
    "log": ("positive", np.log), "log1p": ("positive", np.log1p),
    "log2": ("positive", np.log2), "log10": ("positive", np.log10),
    "sqrt": ("positive", np.sqrt), "sin": ("any", np.sin), "cos": ("any", np.cos),
    "tan": ("any", np.tan), "asin": ("unit", np.arcsin), "acos": ("unit", np.arccos),
    "atan": ("any", np.arctan), "sinh": ("any", np.sinh), "cosh": ("any", np.cosh),
    "tanh": ("any", np.tanh), "asinh": ("any", np.arcsinh), "acosh": ("positive", np.arccosh),
    "atanh": ("unit", np.arctanh), "sigmoid": ("any", np.exp),
}


# ---------------------------------------------------------------------------- the probe

class _Fake:
    """A unary 'ufunc' for the probe: f on every element, except the first (or last) element
    of each call, which `edge` computes (a loop that treats a run's head or tail apart)."""
    nin, nout = 1, 1

    def __init__(self, f, edge=None, at=0):
        self.f, self.edge, self.at = f, edge, at

    def __call__(self, x, out=None):
        r = self.f(x, out=out)
        if self.edge is not None and x.size:
            r[self.at] = self.edge(x[self.at:][:1])[0]
        return r


def _exp64(x):   # exp in float64, rounded: other bits than float32's loop on some values
    return np.exp(x.astype(np.float64)).astype(x.dtype)


def test_probe_finds_a_loop_that_treats_a_runs_head_or_tail_apart():
    f32 = np.dtype(np.float32)
    assert not parallel._probe(_Fake(np.exp, _exp64, 0), f32)
    assert not parallel._probe(_Fake(np.exp, _exp64, -1), f32)
    assert parallel._probe(_Fake(np.exp), f32)
    # its values hold the special ones: signed zeros, infinities, NaN, subnormals
    v = parallel._probe_values(f32, 228, 0)
    assert np.signbit(v[v == 0]).any() and not np.signbit(v[v == 0]).all()
    assert np.isnan(v).any() and np.isposinf(v).any() and np.isneginf(v).any()
    assert ((v != 0) & (np.abs(v) < np.finfo(np.float32).tiny)).any()


def test_piecewise_is_measured_once_and_cached(monkeypatch):
    calls = []
    real = parallel._probe
    monkeypatch.setattr(parallel, "_PIECEWISE", {})
    monkeypatch.setattr(parallel, "_probe", lambda f, dt: calls.append(f) or real(f, dt))
    for _ in range(3):
        parallel.piecewise(np.tanh, np.dtype(np.float32))
    assert calls == [np.tanh]


def test_an_unqualified_ufunc_runs_whole(jobs, monkeypatch):
    x = _values(4 * BIG + 7, np.float32)
    monkeypatch.setitem(parallel._PIECEWISE, (np.exp, np.dtype(np.float32)), False)
    before = len(jobs)
    with np.errstate(all="ignore"):
        got = parallel.ufunc(np.exp, x)
        assert parallel.unary(lambda a, o: np.exp(a, out=o), x, 5, (np.exp,)) is None
        expect = np.exp(x)
    assert len(jobs) == before
    assert got.tobytes() == expect.tobytes()
    e = ember.exp(ember.from_numpy(x))
    assert len(jobs) == before and e.numpy().tobytes() == expect.tobytes()


def test_binary_non_exact_ufunc_splits_only_on_full_arrays_of_one_dtype(jobs):
    a = np.abs(_values(4 * BIG + 5, np.float32)) + 0.5
    b = _values(4 * BIG + 5, np.float32) / 7
    with np.errstate(all="ignore"):
        before = len(jobs)
        got = parallel.ufunc(np.power, a, b)
        if parallel.piecewise(np.power, np.dtype(np.float32)):
            assert len(jobs) == before + 1
        assert got.tobytes() == np.power(a, b).tobytes()
        before = len(jobs)
        got = parallel.ufunc(np.power, a, 1.7)          # a scalar operand: whole
        assert len(jobs) == before and got.tobytes() == np.power(a, 1.7).tobytes()
        got = parallel.ufunc(np.power, a, b.astype(np.float64))   # two dtypes: whole
        assert len(jobs) == before
        got = parallel.ufunc(np.add, a, 1.7)            # an exact ufunc: split as before
        assert len(jobs) == before + 1 and got.tobytes() == (a + np.float32(1.7)).tobytes()


# ---------------------------------------------------------------------------- the ops

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_one_and_two_threads_same_bytes_and_torchs_values(jobs, name, dtype):
    kind, f = UNARY[name]
    for n in (BIG // 8 - 1, 4 * BIG + 3, 5 * BIG + 1001):   # pieces at many offsets
        x = _values(n, dtype, positive=kind == "positive", unit=kind == "unit")
        fn = getattr(ember, name)
        parallel.SETTING[0] = 1
        before = len(jobs)
        one = fn(ember.from_numpy(x)).numpy()
        assert len(jobs) == before
        parallel.SETTING[0] = 2
        two = fn(ember.from_numpy(x)).numpy()
        assert one.tobytes() == two.tobytes()
        assert one.dtype == dtype
        split = len(jobs) > before
        weight = 9 if name == "sigmoid" else parallel.WEIGHT.get(f, 1)
        assert split == (n * weight >= BIG and parallel.piecewise(f, np.dtype(dtype)))
        t = getattr(torch, name)(torch.from_numpy(x)).numpy()
        tol = dict(rtol=3e-6, atol=1e-30) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-300)
        with np.errstate(all="ignore"):
            finite = np.isfinite(t) & np.isfinite(one) & (np.abs(t) < np.finfo(dtype).max / 4)
        np.testing.assert_allclose(one[finite], t[finite], **tol)
        assert np.array_equal(np.isnan(one), np.isnan(t))
        both = np.isinf(one) & np.isinf(t)
        assert np.array_equal(one[both], t[both])
        if name not in ("cosh", "sinh"):   # torch's float32 loops overflow from |x| = 89.0
            assert np.array_equal(np.isinf(one), np.isinf(t))


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "log", "sin"])
def test_unary_backward_against_torch(jobs, name):
    kind, _ = UNARY[name]
    x = (rng.standard_normal(3 * BIG + 11) * 3).astype(np.float32)
    if kind == "positive":
        x = np.abs(x) + np.float32(0.1)
    g = rng.standard_normal(x.size).astype(np.float32)
    grads = []
    for lib in (ember, torch):
        t = lib.from_numpy(x.copy()).requires_grad_(True)
        getattr(lib, name)(t).backward(lib.from_numpy(g.copy()))
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_unary_keeps_layout_and_runs_whole_off_the_fast_path(jobs):
    x = _values(600 * 70, np.float32).reshape(600, 70)
    for lib_x in ((ember.from_numpy(x).t()), ember.from_numpy(x)[:, ::2]):   # not C-contiguous
        before = len(jobs)
        e = ember.exp(lib_x)
        assert len(jobs) == before
        t = torch.exp(torch.from_numpy(x).t() if lib_x.shape[0] == 70 else
                      torch.from_numpy(x)[:, ::2])
        assert e.stride() == t.stride()
    from ember._ops import pointwise_arrays
    pointwise_arrays.native_half(np.exp)   # (its one-time probe times half_blocks' splits)
    for dt in (ember.float16, ember.bfloat16, ember.complex64):   # computed on their own path
        before = len(jobs)
        ember.exp(ember.from_numpy(x.reshape(-1)[:100]).to(dt).expand(4 * BIG // 100 + 1, 100).contiguous())
        # (float16: by NumPy's float16 loop split on the pool, or pointwise_arrays.half_blocks
        # in blocks on the pool)
        assert len(jobs) == before + (dt is ember.float16)
    out = ember.empty(600, 70)
    ember.exp(ember.from_numpy(x), out=out)
    with np.errstate(all="ignore"):
        assert out.numpy().tobytes() == np.exp(x).tobytes()


def test_sigmoid_tails_as_torch():
    """1 / (1 + exp(-x)): 0 where exp(-x) overflows (x < -88.72 in float32), as torch's;
    subnormal quotients just above."""
    x = np.array([-1e30, -200, -104, -103.9, -100, -88.8, -88.72, -88.7, -88, -87.3, -20, -1,
                  -0.0, 0.0, 1, 16, 17, 20, 100, np.inf, -np.inf, np.nan], np.float32)
    for dt in (np.float32, np.float64):
        e = ember.sigmoid(ember.from_numpy(x.astype(dt))).numpy()
        t = torch.sigmoid(torch.from_numpy(x.astype(dt))).numpy()
        np.testing.assert_allclose(e, t, rtol=2e-7 if dt == np.float32 else 1e-15, atol=0)
        assert np.array_equal(e == 0, t == 0)


def test_sigmoid_half_and_complex_as_torch():
    x = (rng.standard_normal(500) * 6).astype(np.float32)
    for dt in ("float16", "bfloat16"):
        e = ember.sigmoid(ember.from_numpy(x).to(getattr(ember, dt))).float().numpy()
        t = torch.sigmoid(torch.from_numpy(x).to(getattr(torch, dt))).float().numpy()
        np.testing.assert_array_equal(e, t)
    z = (x[:250] + 1j * x[250:] / 4).astype(np.complex64)
    np.testing.assert_allclose(ember.sigmoid(ember.from_numpy(z)).numpy(),
                               torch.sigmoid(torch.from_numpy(z)).numpy(), rtol=2e-5, atol=1e-6)


# ---------------------------------------------------------------------------- where

WHERE_DTYPES = [np.bool_, np.uint8, np.int16, np.int32, np.int64, np.float16,
                ml_dtypes.bfloat16, np.float32, np.float64, np.complex64, np.complex128]


def _operand(dtype, n):
    with np.errstate(all="ignore"):
        v = _values(n, np.float64)
        if np.dtype(dtype).kind == "c":
            return (v + 1j * v[::-1]).astype(dtype)
        if np.dtype(dtype).kind in "iub":
            return np.nan_to_num(v * 100, posinf=7, neginf=-7).astype(dtype)
        a = v.astype(dtype)
        if dtype in (np.float32, np.float64):   # NaNs with payloads and signs
            bits = a.view(np.uint32 if dtype == np.float32 else np.uint64)
            bits[:: 101] |= bits.dtype.type(0x7F800123 if dtype == np.float32
                                             else 0x7FF0000000000123)
        return a


@pytest.mark.parametrize("dtype", WHERE_DTYPES, ids=lambda d: np.dtype(d).name)
def test_select_gives_wheres_bytes(jobs, dtype):
    from ember._ops.pointwise_arrays import select as _select
    n = 3 * BIG + 5
    cond = rng.random(n) < 0.5
    x, y = _operand(dtype, n), _operand(dtype, n)[::-1].copy()
    cases = [(x, y), (x, y[0]), (x[0], y), (np.asarray(x[3]), y)]
    if np.dtype(dtype).kind == "f":
        cases.append((x, 0.5))
    for one_thread in (True, False):
        parallel.SETTING[0] = 1 if one_thread else 2
        for a, b in cases:
            before = len(jobs)
            got = _select(cond, a, b)
            expect = np.where(cond, a, b)
            if np.dtype(dtype).itemsize > 8:   # no 16-byte integers: where's own loop
                assert got is None
                continue
            assert got is not None and got.dtype == expect.dtype
            assert got.tobytes() == expect.tobytes()
            assert (len(jobs) > before) == (not one_thread)
    # a broadcast or non-contiguous operand, or a mixed dtype: where's own loop
    assert _select(cond.reshape(-1, 1)[:BIG], x[:BIG], y[:BIG]) is None
    assert _select(cond[::2], x[::2], y[::2]) is None
    if dtype not in (np.float64, np.complex128):
        assert _select(cond, x, np.zeros(n, np.float64)) is None


def test_where_op_against_torch(jobs):
    n = 3 * BIG + 7
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    y = (rng.standard_normal(n) * 3).astype(np.float32)
    res = []
    for lib in (ember, torch):
        a = lib.from_numpy(x.copy()).requires_grad_(True)
        b = lib.from_numpy(y.copy()).requires_grad_(True)
        r = lib.where(a > b, a, b)
        s = lib.where(a > 0, a, 0.0)
        (r * 2 + s).sum().backward()
        res.append((r.detach().numpy(), s.detach().numpy(), a.grad.numpy(), b.grad.numpy(),
                    str(r.dtype).split(".")[-1], type(r.grad_fn).__name__))
    for e, t in zip(*res):
        if isinstance(e, np.ndarray):
            assert e.tobytes() == t.tobytes()
        else:
            assert e == t


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_fused_backward_as_torchs_formula(jobs, monkeypatch, name):
    """tanh's and sigmoid's backward on large arrays: one blocked kernel in PyTorch's order
    (g (1 - y^2); g (1 - y) y), against torch's tanh_backward/sigmoid_backward of the same
    output; one thread and two give the same bytes; create_graph keeps the composed form."""
    from ember._ops import pointwise_arrays
    monkeypatch.setattr(pointwise_arrays, "BLOCKED_MIN", 1000)
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 4 * 1003)
    x = (rng.standard_normal(3 * BIG + 5) * 3).astype(np.float32)
    g = rng.standard_normal(x.size).astype(np.float32)
    grads = []
    for threads in (1, 2):
        parallel.SETTING[0] = threads
        t = ember.from_numpy(x.copy()).requires_grad_(True)
        y = getattr(ember, name)(t)
        y.backward(ember.from_numpy(g.copy()))
        grads.append(t.grad.numpy())
    assert grads[0].tobytes() == grads[1].tobytes()
    back = getattr(torch.ops.aten, name + "_backward")
    want = back(torch.from_numpy(g), torch.from_numpy(y.detach().numpy())).numpy()
    np.testing.assert_allclose(grads[0], want, rtol=3e-7, atol=1e-30)
    t = ember.from_numpy(x[:50].astype(np.float64)).requires_grad_(True)
    (d,) = ember.autograd.grad(getattr(ember, name)(t).sum(), t, create_graph=True)
    assert d.grad_fn is not None


def test_erf_float32_blocks_and_threads_keep_its_bits(jobs, monkeypatch):
    """erf of a large float32 array: _erf_float32's kernel in blocks on the pool gives the
    bits of the kernel over the whole array in one block, and stays within an ulp of
    torch's."""
    from ember._ops import _erf_float32, _gelu_float32
    monkeypatch.setattr(_gelu_float32, "_BLOCK", 4099)
    monkeypatch.setattr(_gelu_float32, "_SPLIT", 2 * 4099)
    monkeypatch.setattr(_gelu_float32, "_LOCAL", type(_gelu_float32._LOCAL)())
    x = np.concatenate([_values(3 * BIG, np.float32), [0.5, -0.5, 4.0, -4.0, 0.4999999]])
    x = x.astype(np.float32)
    whole = np.empty_like(x)
    with np.errstate(all="ignore"):
        _erf_float32._erf_block(x, whole, *(np.empty_like(x) for _ in range(3)))
    got = []
    for threads in (1, 2):
        parallel.SETTING[0] = threads
        before = len(jobs)
        got.append(ember.erf(ember.from_numpy(x)).numpy())
        assert (len(jobs) > before) == (threads == 2)
    assert got[0].tobytes() == got[1].tobytes() == whole.tobytes()
    want = torch.erf(torch.from_numpy(x)).numpy()
    ok = ~np.isnan(x)
    ulps = np.abs(got[0][ok].view(np.int32).astype(np.int64) - want[ok].view(np.int32))
    assert ulps.max() <= 1 and np.isnan(got[0][~ok]).all()


# ---------------------------------------------------------------------------- half precision

@pytest.mark.parametrize("low", [np.float16, ml_dtypes.bfloat16], ids=["float16", "bfloat16"])
def test_half_precision_blocks_give_the_whole_forms_bytes(jobs, monkeypatch, low):
    """A ufunc on large float16/bfloat16 arrays (pointwise_arrays.in_float32 -> half_blocks): each
    block widened to float32, computed, rounded; one thread and two give the bytes of the
    whole-array form, and the ember ops torch's (which also round once from float32)."""
    from ember._ops import pointwise_arrays
    monkeypatch.setattr(pointwise_arrays, "BLOCKED_MIN", 1000)
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 4 * 1009)
    low = np.dtype(low)
    x = (rng.standard_normal(3 * BIG + 7) * 3).astype(np.float32)
    a, b = x.astype(low), (x[::-1] * 0.7 + 0.1).astype(low)

    def whole(fn, args):
        up = [v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype == low else v
              for v in args]
        return np.asarray(fn(*up)).astype(low)
    cases = [(np.add, (a, a)), (np.multiply, (a, b)), (np.divide, (a, b)), (np.exp, (a,)),
             (np.maximum, (a, 0.5)), (np.subtract, (2.0, a)), (np.greater, (a, b)),
             (np.power, (np.abs(a), b))]
    for fn, args in cases:
        with np.errstate(all="ignore"):
            expect = whole(fn, args)
            for threads in (1, 2):
                parallel.SETTING[0] = threads
                before = len(jobs)
                got = pointwise_arrays.in_float32(fn, args, low)
                assert got.dtype == low and got.tobytes() == expect.tobytes()
                exact = fn in parallel.EXACT or parallel.piecewise(fn, np.dtype(np.float32))
                if fn is not np.power:   # power: an array pair only where probed
                    assert (len(jobs) > before) == (threads == 2 and exact)
    # operands not all of one shape and dtype: the whole form
    assert pointwise_arrays.half_blocks(np.add, (a, a[:1]), low, a.shape) is None
    assert pointwise_arrays.half_blocks(np.add, (a, b.astype(np.float32)), low, a.shape) is None
    assert pointwise_arrays.half_blocks(np.add, (a[::2], b[::2]), low, a[::2].shape) is None
    name = "float16" if low == np.float16 else "bfloat16"
    e = [ember.from_numpy(x).to(getattr(ember, name)), ember.from_numpy(x[::-1].copy()).to(
        getattr(ember, name))]
    t = [torch.from_numpy(x).to(getattr(torch, name)), torch.from_numpy(x[::-1].copy()).to(
        getattr(torch, name))]
    for op in (lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p - 2.5 * q):
        assert op(*e).float().numpy().tobytes() == op(*t).float().numpy().tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_tanh_backward_blocks_give_the_whole_forms_bytes(jobs, monkeypatch, dtype):
    from ember._ops import activation, _gelu_float32
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 8 * 1013)
    x = _values(3 * BIG + 3, dtype)
    g = rng.standard_normal(x.size).astype(dtype)
    with np.errstate(all="ignore"):
        with monkeypatch.context() as m:
            m.setattr(_gelu_float32, "tanh_backward", lambda *a: None)
            whole = activation._gelu_backward_array(x, g, "tanh")
        for threads in (1, 2):
            parallel.SETTING[0] = threads
            before = len(jobs)
            got = activation._gelu_backward_array(x, g, "tanh")
            assert got.dtype == dtype and got.tobytes() == whole.tobytes()
            assert (len(jobs) > before) == (threads == 2)
    ok = np.abs(x) < 1e3
    res = []
    for lib in (ember, torch):
        t = lib.from_numpy(x[ok].copy()).requires_grad_(True)
        lib.nn.functional.gelu(t, approximate="tanh").backward(lib.from_numpy(g[ok].copy()))
        res.append(t.grad.numpy())
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(res[0], res[1], rtol=tol, atol=tol)
