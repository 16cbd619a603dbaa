"""Last-bit numerics against PyTorch's CPU kernels (session 21, NM): lerp's fused
multiply-add, linspace/logspace's two-sided steps, relu's signed zero, out-of-range
numbers on narrow dtypes, xlogy's float32 rounding. Bitwise where torch is deterministic."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _np(t):
    """A torch or ember tensor's values as a NumPy array, bfloat16 as its int16 bits."""
    name = str(t.dtype).split(".")[-1]
    if name == "bfloat16":
        t = t.view(torch.int16) if isinstance(t, torch.Tensor) else t.view(ember.int16)
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def _e(t):
    """An ember copy of torch tensor `t` (bfloat16 through its bits)."""
    if t.dtype is torch.bfloat16:
        return ember.tensor(t.view(torch.int16).numpy()).view(ember.bfloat16)
    return ember.tensor(t.numpy())


def _bitwise(a, b):
    a, b = _np(a), _np(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    same = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind in "fc" else a == b
    if a.dtype.kind == "f":
        same &= np.signbit(a) == np.signbit(b)
    assert same.all(), f"{int((~same).sum())} of {a.size} differ"


# ---------------------------------------------------------------------------- lerp

LERP_DTYPES = ["float32", "float64", "float16", "bfloat16"]


@pytest.mark.parametrize("dtype", LERP_DTYPES)
@pytest.mark.parametrize("n", [1, 7, 16, 33, 1000])
@pytest.mark.parametrize("weight", [0.1, -0.3, 0.5, 0.9, 1.7, -1.2, 0.123456789])
def test_lerp_number_weight_bitwise(dtype, n, weight):
    g = torch.Generator().manual_seed(n)
    dt = getattr(torch, dtype)
    s, e = torch.randn(n, generator=g).to(dt), torch.randn(n, generator=g).to(dt)
    want = torch.lerp(s, e, weight)
    _bitwise(ember.lerp(_e(s), _e(e), weight), want)
    x = _e(s)
    x.lerp_(_e(e), weight)
    _bitwise(x, want)


@pytest.mark.parametrize("dtype", LERP_DTYPES)
@pytest.mark.parametrize("n", [1, 9, 1000])
def test_lerp_tensor_weight_bitwise(dtype, n):
    g = torch.Generator().manual_seed(n + 1)
    dt = getattr(torch, dtype)
    s, e = torch.randn(n, generator=g).to(dt), torch.randn(n, generator=g).to(dt)
    w = (torch.rand(n, generator=g) * 3 - 1).to(dt)
    want = torch.lerp(s, e, w)
    _bitwise(ember.lerp(_e(s), _e(e), _e(w)), want)
    x = _e(s)
    x.lerp_(_e(e), _e(w))
    _bitwise(x, want)


def test_lerp_broadcast_and_strided_bitwise():
    g = torch.Generator().manual_seed(5)
    s = torch.randn(40, 30, generator=g).t()          # non-contiguous
    e = torch.randn(30, 1, generator=g)
    w = torch.rand(40, generator=g) * 2
    es = _e(s.t().contiguous()).t()
    _bitwise(ember.lerp(es, _e(e), _e(w)), torch.lerp(s, e, w))
    _bitwise(ember.lerp(es, _e(e), 0.25), torch.lerp(s, e, 0.25))


def test_lerp_endpoints_and_gradients():
    s = torch.tensor([1e30, -3.0, 0.1], dtype=torch.float64, requires_grad=True)
    e = torch.tensor([-1e30, 7.0, 0.3], dtype=torch.float64, requires_grad=True)
    es = ember.tensor(s.detach().numpy(), requires_grad=True)
    ee = ember.tensor(e.detach().numpy(), requires_grad=True)
    for w in (0.0, 1.0):
        _bitwise(ember.lerp(es, ee, w), torch.lerp(s, e, w))
    out, want = ember.lerp(es, ee, 0.3), torch.lerp(s, e, 0.3)
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(es.grad.numpy(), s.grad.numpy())
    np.testing.assert_array_equal(ee.grad.numpy(), e.grad.numpy())
    assert out.grad_fn.name() == want.grad_fn.name() == "LerpBackward0"


def test_adam_op_by_op_step_matches_torch_with_exact_sqrt(monkeypatch):
    """The profiled Adam step (ember/optim/adam._adam_listed: lerp_, mul_, addcmul_ ...)
    equals torch's single-tensor step bit for bit once torch's sqrt (MKL's, not correctly
    rounded on this build) is NumPy's."""
    monkeypatch.setattr(torch.Tensor, "sqrt", lambda t: torch.from_numpy(np.sqrt(t.numpy())))
    g = torch.Generator().manual_seed(0)
    p0 = torch.randn(500, generator=g)
    grads = [torch.randn(500, generator=g) for _ in range(6)]
    tp = torch.nn.Parameter(p0.clone())
    ep = ember.nn.Parameter(ember.tensor(p0.numpy()))
    topt = torch.optim.Adam([tp], lr=1e-2, foreach=False)
    eopt = ember.optim.Adam([ep], lr=1e-2, foreach=False)
    for gr in grads:
        tp.grad = gr.clone()
        ep.grad = ember.tensor(gr.numpy())
        topt.step()
        with ember.profiler.profile():
            eopt.step()
    _bitwise(ep, tp)


# ---------------------------------------------------------------------------- linspace, logspace

SPACE_DTYPES = ["float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "uint8"]
BOUNDS = [(0, 1), (-3.7, 11.3), (1e-3, 7), (5, -2.5), (-100, 250)]


def _same_outcome(fn):
    """fn(torch) and fn(ember): equal bits, or the same exception type and message."""
    try:
        want = fn(torch)
    except Exception as e:   # noqa: BLE001
        with pytest.raises(type(e)) as got:
            fn(ember)
        assert str(got.value) == str(e)
        return
    _bitwise(fn(ember), want)


@pytest.mark.parametrize("dtype", SPACE_DTYPES)
@pytest.mark.parametrize("bounds", BOUNDS)
def test_linspace_bitwise(dtype, bounds):
    for steps in list(range(0, 40)) + [97, 98, 1001]:
        _same_outcome(lambda L: L.linspace(*bounds, steps, dtype=getattr(L, dtype)))


@pytest.mark.parametrize("dtype", SPACE_DTYPES)
@pytest.mark.parametrize("bounds,base", [((0, 1), 10.0), ((-3.7, 2.3), 10.0), ((-2, 3), 2.0),
                                         ((1e-3, 2), 2.718281828), ((4, -1), 3.5)])
def test_logspace_bitwise(dtype, bounds, base):
    for steps in list(range(0, 30)) + [51, 66, 1001]:
        _same_outcome(lambda L: L.logspace(*bounds, steps, base, dtype=getattr(L, dtype)))


@pytest.mark.parametrize("call", [
    lambda L: L.linspace(0, 1e5, 3, dtype=L.float16),
    lambda L: L.linspace(0, 1e39, 3, dtype=L.float32),
    lambda L: L.linspace(0, 300, 3, dtype=L.uint8),
    lambda L: L.linspace(-3.0, 5, 3, dtype=L.uint8),
    lambda L: L.linspace(-3, 200, 3, dtype=L.uint8),      # a negative integer wraps around
    lambda L: L.linspace(-3.0, 300, 1, dtype=L.uint8),
    lambda L: L.linspace(-3, 300, 1, dtype=L.uint8),      # one step: end is not read
    lambda L: L.linspace(2, 1e5, 1, dtype=L.float16),
    lambda L: L.linspace(0, 1j, 5),
    lambda L: L.linspace(0, 1, 3, dtype=L.bool),
    lambda L: L.logspace(0, 1e5, 3, dtype=L.float16),
    lambda L: L.logspace(40, 41, 1, dtype=L.float32),
    lambda L: L.logspace(0, 1, 3, dtype=L.bool),
    lambda L: L.full((3,), -3.0, dtype=L.uint8),
    lambda L: L.full((3,), -3, dtype=L.uint8),
])
def test_space_bounds_read_in_the_dtype(call):
    _same_outcome(call)
