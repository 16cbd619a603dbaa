"""F.silu and F.softplus as single ops (ember/_ops/silu_softplus.py) against torch: values,
gradients, node names, dtypes (half precision computed in float32), special values, beta
and threshold, layouts, 0-dim and empty, in place, double backward, and the thread pool's
split giving one thread's bytes."""
import ml_dtypes
import numpy as np
import pytest

import ember
from ember import _threads
from ember._backend import parallel
from ember.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

rng = np.random.default_rng(21)
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, -100.0, 100.0, 20.0, 20.0001, 19.9999,
           -88.8, 89.0, 10.0, 5.0, 2.5, -1.2785, 1e-30, -1e-30, 1e30, -1e30]
CASES = [("silu", {}), ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 5.0}),
         ("softplus", {"beta": 0.5}), ("softplus", {"beta": -1.0, "threshold": 3.0})]


def _run(lib, name, kw, x, dtype, grad=None, transform=lambda t: t):
    t = lib.from_numpy(x.copy()).to(getattr(lib, dtype)).requires_grad_(True)
    y = getattr(lib.nn.functional, name)(transform(t), **kw)
    g = lib.from_numpy(grad.copy()).to(y.dtype) if grad is not None else lib.ones_like(y)
    y.backward(g)
    return (y.detach().float().numpy(), t.grad.float().numpy(), type(y.grad_fn).__name__,
            str(y.dtype).split(".")[-1], y.stride())


def _close(a, b, dtype):
    tol = {"float32": (2e-6, 1e-6), "float64": (1e-14, 1e-300),
           "float16": (1e-3, 1e-4), "bfloat16": (8e-3, 1e-3)}[dtype]
    np.testing.assert_allclose(a, b, rtol=tol[0], atol=tol[1], equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("name,kw", CASES)
def test_values_gradients_and_node_as_torch(name, kw, dtype):
    x = np.concatenate([SPECIAL, rng.standard_normal(3000) * 6]).astype(np.float32)
    grad = rng.standard_normal(x.size).astype(np.float32)
    if dtype in ("float16", "bfloat16"):   # values the half type holds
        with np.errstate(over="ignore"):
            x = x.astype(getattr(np, dtype) if dtype == "float16" else ml_dtypes.bfloat16)
        x = x.astype(np.float32)
    e = _run(ember, name, kw, x, dtype, grad)
    t = _run(torch, name, kw, x, dtype, grad)
    assert e[2] == t[2] and e[3] == t[3]
    _close(e[0], t[0], dtype)
    _close(e[1], t[1], dtype)
    zero = t[0] == 0
    assert np.array_equal(np.signbit(e[0][zero]), np.signbit(t[0][zero]))


@pytest.mark.parametrize("name,kw", CASES[:3])
def test_layouts_zero_dim_and_empty(name, kw):
    x = (rng.standard_normal((6, 5, 40)) * 4).astype(np.float32)
    for transform in (lambda t: t.transpose(0, 2), lambda t: t[:, ::2], lambda t: t[0, 0, 3]):
        e = _run(ember, name, kw, x, "float32", transform=transform)
        t = _run(torch, name, kw, x, "float32", transform=transform)
        assert e[4] == t[4]
        _close(e[0], t[0], "float32")
        _close(e[1], t[1], "float32")
    for lib in (ember, torch):
        y = getattr(lib.nn.functional, name)(lib.zeros(0, 3), **kw)
        assert tuple(y.shape) == (0, 3)


def test_silu_in_place_and_complex_as_torch():
    x = (rng.standard_normal((4, 7)) * 3).astype(np.float32)
    res = []
    for lib in (ember, torch):
        a = lib.from_numpy(x.copy()).requires_grad_(True)
        b = a * 1.5
        y = lib.nn.functional.silu(b, inplace=True)
        assert y is b
        y.sum().backward()
        res.append((y.detach().numpy(), a.grad.numpy(), type(y.grad_fn).__name__))
    _close(res[0][0], res[1][0], "float32")
    _close(res[0][1], res[1][1], "float32")
    assert res[0][2] == res[1][2]
    z = (x + 1j * x[::-1]).astype(np.complex64)
    np.testing.assert_allclose(ember.nn.functional.silu(ember.from_numpy(z)).numpy(),
                               torch.nn.functional.silu(torch.from_numpy(z)).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_integer_inputs_raise_as_torch():
    for name in ("silu", "softplus"):
        for lib, err in ((ember, None), (torch, None)):
            with pytest.raises(NotImplementedError, match=f"{name}_cpu"):
                getattr(lib.nn.functional, name)(lib.arange(4))


@pytest.mark.parametrize("name,kw", CASES)
def test_double_backward(name, kw):
    x = ember.from_numpy(rng.standard_normal(12) * 2).requires_grad_(True)
    f = getattr(ember.nn.functional, name)
    assert gradcheck(lambda t: f(t, **kw), (x,))
    assert gradgradcheck(lambda t: f(t, **kw), (x,))
    tx = torch.from_numpy(x.detach().numpy().copy()).requires_grad_(True)
    (ge,) = ember.autograd.grad(f(x, **kw).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad(getattr(torch.nn.functional, name)(tx, **kw).sum(), tx,
                                create_graph=True)
    (gge,) = ember.autograd.grad(ge.sum(), x)
    (ggt,) = torch.autograd.grad(gt.sum(), tx)
    np.testing.assert_allclose(gge.numpy(), ggt.numpy(), rtol=1e-10, atol=1e-12)


@pytest.fixture
def two_threads(monkeypatch):
    """Two threads allowed, the pool's threshold lowered, pieces from 1000 elements, no
    back-off; counts the splits."""
    monkeypatch.setattr(parallel, "MIN_WORK", 1 << 14)
    monkeypatch.setattr(parallel, "MIN_PIECE", 1000)
    monkeypatch.setattr(parallel, "_judge", lambda took, alone: None)
    monkeypatch.setattr(parallel, "_BACKOFF", [0, 0])
    seen = []
    start = parallel._workers
    monkeypatch.setattr(parallel, "_workers", lambda count: seen.append(count) or start(count))
    state, setting = _threads._STATE["num_threads"], parallel.SETTING[0]
    yield seen
    _threads._STATE["num_threads"], parallel.SETTING[0] = state, setting


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CASES)
def test_split_gives_one_threads_bytes(two_threads, name, kw, dtype):
    x = np.concatenate([SPECIAL * 50, rng.standard_normal(30011) * 30]).astype(dtype)
    rng.shuffle(x)
    grad = rng.standard_normal(x.size).astype(dtype)
    out = []
    for threads in (1, 2):
        parallel.SETTING[0] = threads
        before = len(two_threads)
        out.append(_run(ember, name, kw, x, dtype, grad))
        assert (len(two_threads) > before) == (threads == 2)
    assert out[0][0].tobytes() == out[1][0].tobytes()
    assert out[0][1].tobytes() == out[1][1].tobytes()


@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_give_the_whole_calls_bytes(two_threads, monkeypatch, threads):
    """The multi-pass kernels (silu, softplus, sigmoid) run in blocks of BLOCK_BYTES: with
    small odd blocks the bytes are those of one block over the whole array."""
    from ember._ops import pointwise_arrays
    x = np.concatenate([SPECIAL * 20, rng.standard_normal(20011) * 30]).astype(np.float32)
    grad = rng.standard_normal(x.size).astype(np.float32)
    parallel.SETTING[0] = threads
    fns = [("silu", {}), ("softplus", {"beta": 2.0, "threshold": 5.0})]
    whole = [_run(ember, name, kw, x, "float32", grad)[:2] for name, kw in fns]
    whole.append(ember.sigmoid(ember.from_numpy(x)).numpy())
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 4 * 997)
    monkeypatch.setattr(pointwise_arrays, "BLOCKED_MIN", 1000)
    blocked = [_run(ember, name, kw, x, "float32", grad)[:2] for name, kw in fns]
    blocked.append(ember.sigmoid(ember.from_numpy(x)).numpy())
    for w, b in zip(whole[:2], blocked[:2]):
        assert w[0].tobytes() == b[0].tobytes() and w[1].tobytes() == b[1].tobytes()
    assert whole[2].tobytes() == blocked[2].tobytes()
    np.testing.assert_allclose(blocked[2], torch.sigmoid(torch.from_numpy(x)).numpy(),
                               rtol=5e-7, atol=0)   # exp's loops differ by an ulp
