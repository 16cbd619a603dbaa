"""erf and erfc on the CPU against torch: the piecewise evaluation (Maclaurin series below
0.5, fitted erfcx polynomials on [0.5, 6), a continued fraction beyond, and one
lower-degree piece for float32 and narrower dtypes) at and around every piece boundary,
in the tails, at the special values, for each floating dtype and a 0-dim input."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

BOUNDS = (0.0, 0.5, 2.0, 4.0, 6.0, 26.5)


def _points():
    rng = np.random.default_rng(0)
    near = [b + d for b in BOUNDS for d in (-1e-9, 0.0, 1e-9, -1e-3, 1e-3)]
    values = np.concatenate([near, rng.normal(0, 1.5, 3000), rng.uniform(-8, 8, 3000),
                             rng.uniform(-30, 30, 300), [1e-300, 5e-324, 1e-8, 30.0, 1e10]])
    return np.concatenate([values, -values, [np.inf, -np.inf, np.nan]])


def _ulps(a, b, bits):
    return np.abs(a.view(bits).astype(np.int64) - b.view(bits).astype(np.int64))


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_float64_to_rounding(name):
    x = _points()
    got = getattr(ember, name)(ember.tensor(x)).numpy()
    want = getattr(torch, name)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)
    same = np.isfinite(x)
    assert np.array_equal(np.signbit(got[x == 0]), np.signbit(want[x == 0]))
    assert np.isnan(got[~same & np.isnan(x)]).all()


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_float32_within_one_ulp(name):
    x = _points().astype(np.float32)
    got = getattr(ember, name)(ember.tensor(x)).numpy()
    want = getattr(torch, name)(torch.tensor(x)).numpy()
    finite = ~np.isnan(x)
    assert _ulps(got[finite], want[finite], np.int32).max() <= 1
    assert np.isnan(got[~finite]).all()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_half_dtypes(name, dtype):
    x = _points()
    t = torch.tensor(x, dtype=getattr(torch, dtype))
    got = getattr(ember, name)(ember.tensor(t.float().numpy()).to(getattr(ember, dtype)))
    want = getattr(torch, name)(t)
    assert got.dtype == getattr(ember, dtype)
    np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=8e-3, atol=1e-4,
                               equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [0.0, -0.0, 0.3, -0.7, 3.0, -5.0, 7.0])
def test_zero_dim_and_gelu(value, dtype):
    """A 0-dim input (NumPy hands back scalars) and exact GELU, which calls erf."""
    e = ember.tensor(value, dtype=getattr(ember, dtype), requires_grad=True)
    t = torch.tensor(value, dtype=getattr(torch, dtype), requires_grad=True)
    for fe, ft in ((ember.erf, torch.erf), (ember.erfc, torch.erfc),
                   (ember.nn.functional.gelu, torch.nn.functional.gelu)):
        ye, yt = fe(e), ft(t)
        assert ye.shape == yt.shape == ()
        np.testing.assert_allclose(ye.item(), yt.item(), rtol=2e-7, atol=1e-12)
        (ge,), (gt,) = ember.autograd.grad(ye, e), torch.autograd.grad(yt, t)
        np.testing.assert_allclose(ge.item(), gt.item(), rtol=2e-6, atol=1e-12)
