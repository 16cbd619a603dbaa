"""Last-bit numerics against PyTorch's CPU kernels (session 21, NM): lerp's fused
multiply-add, linspace/logspace's two-sided steps, relu's signed zero, out-of-range
numbers on narrow dtypes, xlogy's float32 rounding. Bitwise where torch is deterministic."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _np(t):
    """A torch or ember tensor's values as a NumPy array, bfloat16 as float32 (exact)."""
    name = str(t.dtype).split(".")[-1]
    if name == "bfloat16":
        t = t.float()
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
    if a.dtype.kind == "f":   # (signed zeros; a NaN's sign is not compared)
        same &= (np.signbit(a) == np.signbit(b)) | np.isnan(a)
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


# ---------------------------------------------------------------------------- relu's -0.0

RELU_CALLS = {
    "Tensor.relu": lambda L, x: x.relu(),
    "relu_": lambda L, x: x.clone().relu_(),
    "F.relu": lambda L, x: L.nn.functional.relu(x),
    "F.relu_inplace": lambda L, x: L.nn.functional.relu(x.clone(), inplace=True),
    "nn.ReLU": lambda L, x: L.nn.ReLU()(x),
    "F.relu6": lambda L, x: L.nn.functional.relu6(x),
    "F.threshold": lambda L, x: L.nn.functional.threshold(x, 0.0, 0.0),
    "F.threshold_inplace": lambda L, x: L.nn.functional.threshold(x.clone(), 0.0, 0.0, True),
    "clamp_min": lambda L, x: x.clamp_min(0.0),
    "clamp": lambda L, x: x.clamp(min=0),
    "strided": lambda L, x: x[::2].relu(),
    "transposed": lambda L, x: x.reshape(2, -1).t().relu(),
    "large": lambda L, x: x.repeat(6000).relu(),
    "rows": lambda L, x: x.repeat(64).reshape(8, -1).relu(),
}


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("call", list(RELU_CALLS))
def test_relu_keeps_negative_zero_and_nan(dtype, call):
    vals = [-0.0, 0.0, -1.5, float("nan"), 2.0, float("-inf"), float("inf"), -0.0]
    t = torch.tensor(vals, dtype=getattr(torch, dtype))
    _bitwise(RELU_CALLS[call](ember, _e(t)), RELU_CALLS[call](torch, t))


def test_relu_gradient_at_negative_zero():
    t = torch.tensor([-0.0, 0.0, 1.0, -1.0], requires_grad=True)
    e = _e(t.detach()).requires_grad_()
    t.relu().sum().backward()
    e.relu().sum().backward()
    _bitwise(e.grad, t.grad)


# ---------------------------------------------------------------------------- numbers that do not fit

OVERFLOW_CALLS = [
    lambda L: L.ones(2, dtype=L.float16).clamp(max=1e5),
    lambda L: L.ones(2, dtype=L.float16).clamp(min=-1e5),
    lambda L: L.ones(2, dtype=L.float16).clamp(max=65504.5),
    lambda L: L.ones(2, dtype=L.float16).clamp(max=100000),
    lambda L: L.ones(2, dtype=L.float16).clamp_min(1e5),
    lambda L: L.ones(2, dtype=L.float16).clamp_max(1e5),
    lambda L: L.ones(2, dtype=L.float16).clamp_(1e5, 2e5),
    lambda L: L.ones(2, dtype=L.bfloat16).clamp(max=1e39),
    lambda L: L.ones(2).clamp(max=1e39),
    lambda L: L.ones(2).clamp(max=10 ** 40),
    lambda L: L.ones(2, dtype=L.int8).clamp(max=1000),
    lambda L: L.ones(2, dtype=L.int32).clamp(max=2 ** 40),
    lambda L: L.ones(2, dtype=L.uint8).clamp(min=-1),          # wraps: 255
    lambda L: L.ones(2, dtype=L.float16).clamp(max=float("inf")),
    lambda L: L.ones(2, dtype=L.float16).pow(10 ** 5),
    lambda L: L.ones(2, dtype=L.float16).pow(1e5),
    lambda L: L.ones(2, dtype=L.float16).pow_(70000),
    lambda L: L.ones(2, dtype=L.bfloat16).pow(1e39),
    lambda L: L.ones(2).pow(1e39),                             # float32: no check
    lambda L: L.pow(1e5, L.ones(2, dtype=L.float16)),           # a number base: no check
    lambda L: L.ones(2, dtype=L.int32).pow(2 ** 40),
    lambda L: L.ones(3, dtype=L.float16).index_fill(0, L.tensor([1]), 1e5),
    lambda L: L.ones(3, dtype=L.float16).index_fill_(0, L.tensor([1]), L.tensor(1e5)),
    lambda L: L.ones(3, dtype=L.int8).index_fill(0, L.tensor([1]), 1000),
    lambda L: L.ones(3, dtype=L.int8).index_fill(0, L.tensor([1]), 3.7),
    lambda L: L.ones(3, dtype=L.uint8).index_fill(0, L.tensor([1]), -1),
    lambda L: L.ones(3, dtype=L.uint8).index_fill(0, L.tensor([1]), -1.0),
    lambda L: L.ones(3, dtype=L.int32).index_fill(0, L.tensor([1]), float("nan")),
    lambda L: L.ones(3, dtype=L.float16).scatter(0, L.tensor([1]), 1e5),
    lambda L: L.ones(3, dtype=L.int8).scatter_(0, L.tensor([1]), 1000),
    lambda L: L.ones(3, dtype=L.uint8).scatter(0, L.tensor([1]), -1),
    lambda L: L.ones(3, dtype=L.float16).masked_fill(L.tensor([True, False, True]), 1e5),
    lambda L: L.ones(3, dtype=L.uint8).masked_fill(L.tensor([True, False, True]), 300),
    lambda L: L.zeros(2, dtype=L.float16).fill_(1e5),
    lambda L: L.full((2,), 70000.0, dtype=L.float16),
    lambda L: L.full((2,), 300, dtype=L.uint8),
    lambda L: L.full((2,), 127.5, dtype=L.int8),
]


@pytest.mark.parametrize("call", OVERFLOW_CALLS)
def test_out_of_range_numbers_as_torch(call):
    _same_outcome(call)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_clamp_number_bound_keeps_signed_zero(dtype):
    dt = getattr(torch, dtype)
    t = torch.tensor([-0.0, 0.0, float("nan"), -1.0, 1.0] * 13, dtype=dt)
    for call in (lambda L, x: x.clamp(min=0), lambda L, x: x.clamp(max=0),
                 lambda L, x: x.clamp(min=-0.0), lambda L, x: x.clamp(max=-0.0),
                 lambda L, x: x.clamp_min(0.0), lambda L, x: x.clamp(-0.0, 0.0),
                 lambda L, x: x[::3].clamp(min=0)):
        _bitwise(call(ember, _e(t)), call(torch, t))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_linspace_many_steps_bitwise_and_silent(dtype):
    # past 65504 steps float16's index is inf, as in c10's Half arithmetic
    _same_outcome(lambda L: L.linspace(-3.3, 7.1, 70001, dtype=getattr(L, dtype)))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("call", [
    lambda L: L.full((1,), 1e5, dtype=L.float16),          # one element: unchecked, inf
    lambda L: L.full((), -1e5, dtype=L.float16),
    lambda L: L.zeros(1, dtype=L.bfloat16).fill_(1e39),
    lambda L: L.full_like(L.ones(1, 1, dtype=L.float16), 1e5),
    lambda L: L.ones(2, dtype=L.float16).new_full((1,), 1e5),
    lambda L: L.full((0,), 1e5, dtype=L.float16),          # none or several: checked
    lambda L: L.full((2,), 1e5, dtype=L.float16),
    lambda L: L.full((1,), 1e39),                          # float32: checked
    lambda L: L.full((1,), 1000, dtype=L.int8),
])
def test_one_element_half_fill_unchecked(call):
    _same_outcome(call)


@pytest.mark.parametrize("call", [
    lambda L: L.ones(2).lerp(L.zeros(2), L.tensor(0.3, dtype=L.float64)),   # 0-dim weight
    lambda L: L.ones(2).lerp(L.zeros(2), L.tensor([0.3, 0.3], dtype=L.float64)),
    lambda L: L.ones(2, dtype=L.float16).lerp(L.zeros(2, dtype=L.float16), L.tensor(0.3)),
    lambda L: L.ones(2, dtype=L.int64).lerp(L.zeros(2, dtype=L.int64), L.tensor(0.5)),
    lambda L: L.ones(2, dtype=L.int64).lerp(L.zeros(2, dtype=L.int64), 0.5),
    lambda L: L.ones(2, dtype=L.int64).lerp_(L.zeros(2, dtype=L.int64), L.tensor(0.5)),
    lambda L: L.ones(2).lerp(L.zeros(2, dtype=L.float64), 0.5),
    lambda L: L.ones(2, dtype=L.float16).lerp(L.zeros(2), 0.3),
    lambda L: L.ones(2, dtype=L.bfloat16).lerp(L.zeros(2, dtype=L.complex64), 0.3),
    lambda L: L.ones(2).lerp(L.zeros(2), 0.5 + 1j),
    lambda L: L.ones(2).lerp(L.zeros(2), L.tensor(0.5 + 1j)),
])
def test_lerp_operand_dtypes_as_torch(call):
    _same_outcome(call)
