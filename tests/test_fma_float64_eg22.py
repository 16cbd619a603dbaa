"""float64 lerp and linspace by ember/_ops/_fma_float64.py's blocked fused multiply-add
(and number-weight lerps by BLAS's axpy where fma_arrays found it fused), bit for bit
against torch (whose kernels are compiled with FMA contraction): scalar,
0-dim and tensor weights on both sides of |w| = 0.5, sizes around the block, values over
many magnitudes, infinities and NaNs (their blocks take the whole-array form), operands
large enough that the splits overflow; the thread pool's runs give the same bits; small,
broadcast and strided operands keep the old path. Linspace over many bounds and sizes,
integer dtypes, and the fallback past INDEX_MAX."""
import numpy as np
import pytest

import ember
from ember._ops import _fma_float64, fma_arrays, pointwise_more
from tests.pool_splits import counted_splits

torch = pytest.importorskip("torch")

SIZES = [4096, 16384, 16385, 40_003]


def _same_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    bits = np.uint64 if want.dtype.itemsize == 8 else np.uint32
    assert np.array_equal(got[~nan].view(bits), want[~nan].view(bits))


def _operands(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)
    b = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)
    return a, b


def _both(a, b, w):
    """(ember's, torch's) lerp of arrays a, b with weight w (number or array)."""
    ew = ember.from_numpy(w) if isinstance(w, np.ndarray) else w
    tw = torch.from_numpy(w) if isinstance(w, np.ndarray) else w
    got = ember.lerp(ember.from_numpy(a), ember.from_numpy(b), ew).numpy()
    want = torch.lerp(torch.from_numpy(a), torch.from_numpy(b), tw).numpy()
    return got, want


@pytest.fixture
def counted(monkeypatch):
    """The blocked kernels' calls, with BLAS's axpy (number weights' first choice) off."""
    monkeypatch.setattr(fma_arrays, "_blas", lambda dtype: None)
    calls = []
    real_scalar, real_tensor = _fma_float64.lerp_scalar, _fma_float64.lerp_tensor

    def scalar(*args):
        calls.append("scalar")
        return real_scalar(*args)

    def tensor(*args):
        calls.append("tensor")
        return real_tensor(*args)
    monkeypatch.setattr(_fma_float64, "lerp_scalar", scalar)
    monkeypatch.setattr(_fma_float64, "lerp_tensor", tensor)
    return calls


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("w", [0.3, 0.1, 0.49999999999999994, 0.5, 0.7, -0.2, -2.5, 1.0,
                               3.75, 1e-300, 0.0])
def test_lerp_scalar_weight_bitwise(counted, n, w):
    a, b = _operands(n, n)
    _same_bits(*_both(a, b, w))
    # (a zero coefficient, w = 0 or 1: the plain form is exact)
    assert counted == ([] if w in (0.0, 1.0) else ["scalar"])


@pytest.mark.parametrize("n", SIZES)
def test_lerp_tensor_weight_bitwise(counted, n):
    a, b = _operands(n, n + 1)
    rng = np.random.default_rng(n)
    w = rng.uniform(-1.5, 2.5, n)
    w[::7] = 0.5
    w[1::7] = -0.5
    w[2::11] = np.nextafter(0.5, 0)
    _same_bits(*_both(a, b, w))
    assert counted == ["tensor"]


def test_lerp_zero_dim_weight_bitwise(counted):
    a, b = _operands(9000, 3)
    for w in (0.3, 0.8):
        got = ember.lerp(ember.from_numpy(a), ember.from_numpy(b),
                         ember.tensor(w, dtype=ember.float64)).numpy()
        want = torch.lerp(torch.from_numpy(a), torch.from_numpy(b),
                          torch.tensor(w, dtype=torch.float64)).numpy()
        _same_bits(got, want)
    assert counted == ["scalar", "scalar"]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("weight", ["scalar", "tensor"])
def test_lerp_specials_and_huge_values_bitwise(weight):
    a, b = _operands(20_000, 7)
    specials = [np.inf, -np.inf, np.nan, 1.7e308, -1.7e308, 1e300, -1e300, 5e-324, 0.0,
                -0.0, 2.2250738585072014e-308]
    a[100:100 + len(specials)] = specials
    b[100:100 + len(specials)] = specials[::-1]
    a[15_000:15_011] = specials       # a later block holds some too
    b[15_000:15_011] = 1.0
    w = np.random.default_rng(1).uniform(-1, 2, a.size) if weight == "tensor" else 0.3
    if weight == "tensor":
        w[200:211] = specials
    _same_bits(*_both(a, b, w))


def test_lerp_huge_weight_takes_whole_array_form(counted):
    a, b = _operands(5000, 11)
    _same_bits(*_both(a, b, 1e300))
    assert counted == ["scalar"]


def test_lerp_small_broadcast_and_strided_keep_old_path(counted):
    a, b = _operands(8192, 5)
    _same_bits(*_both(a[:100], b[:100], 0.3))                      # small
    _same_bits(*_both(a[::2].copy(), b[::2], 0.3))                  # strided end
    _same_bits(*_both(a.reshape(2, 4096), b[:4096], 0.7))           # broadcast
    w = np.random.default_rng(0).uniform(0, 1, 4096)
    _same_bits(*_both(a.reshape(2, 4096), b.reshape(2, 4096), w))  # broadcast weight
    assert counted == []


def test_lerp_pool_runs_same_bits(monkeypatch):
    monkeypatch.setattr(fma_arrays, "_blas", lambda dtype: None)
    for jobs in counted_splits(monkeypatch, 1 << 14, min_piece=1000):
        a, b = _operands(50_000, 2)
        w = np.random.default_rng(3).uniform(-1, 2, a.size)
        _same_bits(*_both(a, b, 0.3))
        _same_bits(*_both(a, b, w))
        assert jobs   # the work went to the pool


def test_lerp_float64_grads_unchanged():
    a, b = _operands(5000, 4)
    w = np.random.default_rng(4).uniform(0, 1, 5000)
    ea, eb, ew = (ember.tensor(v, requires_grad=True) for v in (a, b, w))
    ta, tb, tw = (torch.tensor(v, requires_grad=True) for v in (a, b, w))
    ember.lerp(ea, eb, ew).sum().backward()
    torch.lerp(ta, tb, tw).sum().backward()
    for e, t in ((ea, ta), (eb, tb), (ew, tw)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-15, atol=0)


def test_lerp_blocked_equals_whole_array_form():
    # the blocked kernels and _fma64's whole-array steps give the same bits
    a, b = _operands(30_000, 9)
    w = np.random.default_rng(9).uniform(-1, 2, a.size)
    for weight in (0.3, 0.9, w):
        if isinstance(weight, float):
            blocked = _fma_float64.lerp_scalar(a, b, np.float64(weight), None)
        else:
            blocked = _fma_float64.lerp_tensor(a, b, weight, None)
        _same_bits(blocked, pointwise_more._lerp_fused(a, b, weight if isinstance(
            weight, np.ndarray) else np.float64(weight)))


BOUNDS = [(0, 1), (-3.7, 11.3), (1e-3, 7), (5, -2.5), (-1e300, 1e300), (1e-310, 3e-308),
          (2.5, 2.5), (-7.1, -7.1 + 1e-12), (123456.789, -0.001)]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("bounds", BOUNDS)
@pytest.mark.parametrize("steps", [2, 3, 1000, 16_384, 16_385, 32_769, 100_001])
def test_linspace_float64_bitwise(bounds, steps):
    got = ember.linspace(*bounds, steps, dtype=ember.float64).numpy()
    want = torch.linspace(*bounds, steps, dtype=torch.float64).numpy()
    _same_bits(got, want)


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_linspace_integer_bitwise(dtype):
    got = ember.linspace(-1000, 7777, 50_001, dtype=getattr(ember, dtype)).numpy()
    want = torch.linspace(-1000, 7777, 50_001, dtype=getattr(torch, dtype)).numpy()
    assert np.array_equal(got, want) and got.dtype == want.dtype


def test_linspace_past_index_max_takes_old_path(monkeypatch):
    called = []
    real = _fma_float64.linspace

    def spy(*args):
        called.append(args)
        return real(*args)
    monkeypatch.setattr(_fma_float64, "linspace", spy)
    monkeypatch.setattr(_fma_float64, "INDEX_MAX", 1000)
    _same_bits(ember.linspace(-3.3, 7.1, 1001, dtype=ember.float64).numpy(),
               torch.linspace(-3.3, 7.1, 1001, dtype=torch.float64).numpy())
    assert called == []
    _same_bits(ember.linspace(-3.3, 7.1, 999, dtype=ember.float64).numpy(),
               torch.linspace(-3.3, 7.1, 999, dtype=torch.float64).numpy())
    assert len(called) == 1


@pytest.mark.filterwarnings("error")
def test_linspace_overflowing_step_matches_torch():
    for bounds in ((-1.7e308, 1.7e308), (0.0, 1.7e308)):
        got = ember.linspace(*bounds, 5, dtype=ember.float64).numpy()
        want = torch.linspace(*bounds, 5, dtype=torch.float64).numpy()
        _same_bits(got, want)


def test_linspace_pool_runs_same_bits(monkeypatch):
    for jobs in counted_splits(monkeypatch, 1 << 14, min_piece=1000):
        got = ember.linspace(-3.7, 11.3, 70_001, dtype=ember.float64).numpy()
        want = torch.linspace(-3.7, 11.3, 70_001, dtype=torch.float64).numpy()
        _same_bits(got, want)
        assert jobs


@pytest.mark.parametrize("blas", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("w", [0.3, 0.7, -3.0, 0.0, 1.0, np.inf, -np.inf, np.nan, 1e-45])
def test_lerp_number_weight_float32_float64_bitwise(monkeypatch, blas, dtype, w):
    # number weights: BLAS's axpy where fma_arrays found it fused, else the kernels above
    if blas:
        assert fma_arrays._blas(np.dtype(dtype)) is not None   # (NumPy's wheel ships it)
    else:
        monkeypatch.setattr(fma_arrays, "_blas", lambda dtype: None)
    a, b = (v.astype(dtype) for v in _operands(9000, 12))
    a[:6] = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0]
    b[:6] = [1.0, -np.inf, 2.0, -0.0, np.inf, np.nan]
    a[6:] = np.clip(a[6:], -1e30, 1e30)
    b[6:] = np.clip(b[6:], -1e30, 1e30)
    with np.errstate(all="ignore"):
        _same_bits(*_both(a, b, w))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("bounds", BOUNDS[:4] + [(-3e38, 3e38), (1e-40, 3e-38), (7.25, 7.25),
                                                 (123456.789, -0.001), (-np.inf, 1.0)])
@pytest.mark.parametrize("steps", [2, 3, 1000, 16_384, 16_385, 32_769, 100_001])
def test_linspace_float32_bitwise(bounds, steps):
    with np.errstate(invalid="ignore"):   # (torch's own inf - inf)
        want = torch.linspace(*bounds, steps, dtype=torch.float32).numpy()
    _same_bits(ember.linspace(*bounds, steps, dtype=ember.float32).numpy(), want)


def test_linspace_float32_rounded_index_path(monkeypatch):
    # past 2**24 steps the index is rounded to float32 first (exact below: the same bits)
    monkeypatch.setattr(_fma_float64, "F32_INDEX_EXACT", 100)
    _same_bits(ember.linspace(-3.7, 11.3, 40_001, dtype=ember.float32).numpy(),
               torch.linspace(-3.7, 11.3, 40_001, dtype=torch.float32).numpy())


def test_linspace_float32_pool_runs_same_bits(monkeypatch):
    for jobs in counted_splits(monkeypatch, 1 << 14, min_piece=1000):
        _same_bits(ember.linspace(-3.7, 11.3, 70_001).numpy(),
                   torch.linspace(-3.7, 11.3, 70_001).numpy())
        assert jobs
