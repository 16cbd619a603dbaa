"""erf of float32 in float32 arithmetic (ember/_ops/_erf_float32.py) against torch: at most
one ulp from torch's erf and from the exact value (torch's float64 erf, rounded), on 10^6
points over [-10, 10], both sides of the branch point, tiny and subnormal inputs, special
values; its gradient, 0-dim, strided and out= inputs; float64 and half precision keep
their own paths."""
import math

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _ulps(a, b):
    """|a - b| in float32 ulps (bit distance; a and b finite or equal specials)."""
    ia = a.view(np.int32).astype(np.int64)
    ib = b.view(np.int32).astype(np.int64)
    # map the sign-magnitude bits onto a line, so that -0.0 and +0.0 are neighbours
    ia = np.where(ia < 0, -(ia & 0x7FFFFFFF), ia)
    ib = np.where(ib < 0, -(ib & 0x7FFFFFFF), ib)
    return np.abs(ia - ib)


def _points():
    rng = np.random.default_rng(21)
    c = math.sqrt(1.125)     # the branch point |x| = 1.0607 (x^2 = 9/8)
    tiny = np.float32(10) ** rng.uniform(-45, 0, 50_000).astype(np.float32)
    return np.concatenate([
        np.linspace(-10, 10, 1_000_001, dtype=np.float32),
        rng.standard_normal(100_000).astype(np.float32) * 2,
        np.linspace(c - 1e-4, c + 1e-4, 2001, dtype=np.float32),
        -np.linspace(c - 1e-4, c + 1e-4, 2001, dtype=np.float32),
        tiny, -tiny,
        np.arange(-160, 161, dtype=np.float32) / 16,
        np.array([0.0, -0.0, 1e-45, -1e-45, 1.17549435e-38, 3.9, 3.92, 4.0, 5.0, 9.4, 9.5,
                  1e30, -1e30, 3.4028235e38, -3.4028235e38], np.float32)])


def test_erf_float32_within_one_ulp_of_torch_and_exact():
    x = _points()
    got = ember.erf(ember.from_numpy(x)).numpy()
    assert got.dtype == np.float32
    want = torch.erf(torch.from_numpy(x)).numpy()
    exact = torch.erf(torch.from_numpy(x).double()).float().numpy()
    assert _ulps(got, want).max() <= 1
    assert _ulps(got, exact).max() <= 1
    # nearly always the correctly rounded value (a sloppier formula fails this)
    assert (got == exact).mean() > 0.95


def test_erf_float32_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.0, -1.0, 2.0, 0.5],
                 np.float32)
    got = ember.erf(ember.from_numpy(x)).numpy()
    want = torch.erf(torch.from_numpy(x)).numpy()
    assert np.signbit(got[1]) and got[0] == 0 and not np.signbit(got[0])
    assert got[2] == 1 and got[3] == -1
    assert np.isnan(got[4:6]).all()
    np.testing.assert_array_equal(got[6:], want[6:])   # erf(1), erf(2), erf(0.5) exact


@pytest.mark.parametrize("n", [0, 1, 7, 70_000, 300_001])
def test_erf_float32_sizes_and_layouts(n):
    """Empty, short, several blocks, the pool's sizes; a transposed view and out=."""
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 3
    got = ember.erf(ember.from_numpy(x)).numpy()
    assert got.shape == (n,)
    assert _ulps(got, torch.erf(torch.from_numpy(x)).numpy()).max(initial=0) <= 1
    if n >= 7:
        m = x[: n - n % 7].reshape(7, -1)
        t = ember.from_numpy(m).t()
        out = ember.empty(t.shape)
        r = ember.erf(t, out=out)
        assert r is out
        np.testing.assert_array_equal(out.numpy(), got[: m.size].reshape(7, -1).T)


def test_erf_float32_0dim_and_inplace():
    x = ember.tensor(0.3)
    y = ember.erf(x)
    assert y.shape == () and y.dtype == ember.float32
    assert y.item() == torch.erf(torch.tensor(0.3)).item()
    z = ember.tensor([0.25, -3.0])
    z.erf_()
    np.testing.assert_array_equal(z.numpy(), torch.erf(torch.tensor([0.25, -3.0])).numpy())


def test_erf_float32_gradient_against_torch():
    x = np.random.default_rng(3).standard_normal(1000).astype(np.float32) * 2
    g = np.random.default_rng(4).standard_normal(1000).astype(np.float32)
    a = ember.from_numpy(x.copy()).requires_grad_(True)
    ember.erf(a).backward(ember.from_numpy(g))
    b = torch.from_numpy(x.copy()).requires_grad_(True)
    torch.erf(b).backward(torch.from_numpy(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=2e-6, atol=1e-30)
    # second derivative through the graph
    a2 = ember.from_numpy(x[:20].copy()).requires_grad_(True)
    (d,) = ember.autograd.grad(ember.erf(a2).sum(), a2, create_graph=True)
    (dd,) = ember.autograd.grad(d.sum(), a2)
    b2 = torch.from_numpy(x[:20].copy()).requires_grad_(True)
    (td,) = torch.autograd.grad(torch.erf(b2).sum(), b2, create_graph=True)
    (tdd,) = torch.autograd.grad(td.sum(), b2)
    np.testing.assert_allclose(dd.numpy(), tdd.numpy(), rtol=1e-5, atol=1e-6)


def test_erf_other_dtypes_keep_their_paths():
    """float64 stays the float64 erf (within a few ulps of torch's), float16/bfloat16 round the
    float32 value once (equal to torch's where torch's own float32 erf is near exact)."""
    x = np.linspace(-6, 6, 20001)
    got = ember.erf(ember.from_numpy(x)).numpy()
    want = torch.erf(torch.from_numpy(x)).numpy()
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-300)
    for dt in ("float16", "bfloat16"):
        xe = ember.from_numpy(x.astype(np.float32)).to(getattr(ember, dt))
        xt = torch.from_numpy(x.astype(np.float32)).to(getattr(torch, dt))
        got = ember.erf(xe)
        assert got.dtype == getattr(ember, dt)
        # torch's half erf is A&S 7.1.26 (absolute error 1.5e-7): compare in absolute terms
        np.testing.assert_allclose(got.float().numpy(), torch.erf(xt).float().numpy(),
                                   rtol=0, atol=8e-3)


def test_erf_float32_meta_tensor_stays_meta(monkeypatch):
    """A meta tensor never reaches the NumPy kernel (it would allocate the data)."""
    from ember._ops import _erf_float32

    def refuse(x):
        raise AssertionError("the float32 kernel ran on " + type(x).__name__)
    monkeypatch.setattr(_erf_float32, "erf", refuse)
    x = ember.empty(10 ** 6, device="meta")
    y = ember.erf(x)
    assert y.is_meta and y.shape == (10 ** 6,) and y.dtype == ember.float32
    g = ember.nn.functional.gelu(x)
    assert g.is_meta and g.shape == (10 ** 6,)
