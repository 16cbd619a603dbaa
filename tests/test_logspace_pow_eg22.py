"""logspace's powers by ember/_ops/_logspace_pow.py (whole-array values certified against
rounding midpoints, C's pow for the rest): bit for bit against torch over bases, ranges
that underflow to subnormals and overflow to inf, dtypes and sizes; most elements take
the certified path; bases it does not serve, small sizes and a libm that fails the probe
keep C's pow."""
import math

import numpy as np
import pytest

import ember
from ember._ops import _logspace_pow, creation

torch = pytest.importorskip("torch")

BASES = [10.0, 2.0, math.e, 0.5, 3.3, 1e-3, 100.0, 1.0000001, 0.9999]


def _same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    nan = np.isnan(want) if want.dtype.kind == "f" else np.zeros(want.shape, bool)
    assert np.array_equal(np.isnan(got) if got.dtype.kind == "f" else nan, nan)
    assert np.array_equal(got[~nan].view(np.uint8), want[~nan].view(np.uint8))


@pytest.fixture
def exact_calls(monkeypatch):
    sizes = []
    real = creation._c_pow
    if "trusted" not in _logspace_pow._STATE:    # the probe's own calls are not counted
        with np.errstate(all="ignore"):
            _logspace_pow._STATE["trusted"] = _logspace_pow._probe(real)

    def spy(base, exps):
        sizes.append(exps.size)
        return real(base, exps)
    monkeypatch.setattr(creation, "_c_pow", spy)
    return sizes


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("bounds", [(-3, 7.5), (-30, 30), (0.1, 0.2), (5, -5)])
def test_logspace_float64_bitwise(exact_calls, base, bounds):
    n = 20_001
    got = ember.logspace(*bounds, n, base, dtype=ember.float64).numpy()
    want = torch.logspace(*bounds, n, base, dtype=torch.float64).numpy()
    _same_bits(got, want)
    assert sum(exact_calls) < 0.2 * n      # most values certified


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("base", [10.0, 2.0, 0.1])
def test_logspace_underflow_and_overflow_bitwise(base):
    bounds = (-330, 330) if base != 2.0 else (-1080, 1080)
    got = ember.logspace(*bounds, 50_001, base, dtype=ember.float64).numpy()
    want = torch.logspace(*bounds, 50_001, base, dtype=torch.float64).numpy()
    _same_bits(got, want)
    assert np.isinf(want).any() and (want == 0).any() and \
        ((want > 0) & (want < 2.2250738585072014e-308)).any()


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "int64", "int32"])
def test_logspace_other_dtypes_bitwise(dtype):
    got = ember.logspace(-2, 4, 9999, 10.0, dtype=getattr(ember, dtype)).numpy()
    want = torch.logspace(-2, 4, 9999, 10.0, dtype=getattr(torch, dtype))
    want = want.view(torch.int16).numpy() if dtype == "bfloat16" else want.numpy()
    _same_bits(got.view(np.int16) if dtype == "bfloat16" else got, want)


@pytest.mark.parametrize("base", [1.0, 0.0, -2.0, -10.0, math.inf])
def test_logspace_unserved_bases_keep_c_pow(exact_calls, base):
    got = ember.logspace(-3, 3, 5001, base, dtype=ember.float64).numpy()
    want = torch.logspace(-3, 3, 5001, base, dtype=torch.float64).numpy()
    _same_bits(got, want)
    assert exact_calls == [5001]


def test_logspace_small_keeps_c_pow(exact_calls):
    _same_bits(ember.logspace(-3, 3, 100, 10.0, dtype=ember.float64).numpy(),
               torch.logspace(-3, 3, 100, 10.0, dtype=torch.float64).numpy())
    assert exact_calls == [100]


def test_logspace_untrusted_libm_keeps_c_pow(monkeypatch, exact_calls):
    monkeypatch.setitem(_logspace_pow._STATE, "trusted", False)
    _same_bits(ember.logspace(-3, 3, 5001, 10.0, dtype=ember.float64).numpy(),
               torch.logspace(-3, 3, 5001, 10.0, dtype=torch.float64).numpy())
    assert exact_calls == [5001]


def test_certified_values_equal_c_pow():
    rng = np.random.default_rng(0)
    for base in BASES + [7.0, 1e10]:
        x = rng.uniform(-1, 1, 50_000) * (300 / max(abs(math.log10(base)), 1e-3))
        x = x[np.abs(x * math.log2(base)) < 1020]
        with np.errstate(all="ignore"):
            vals, ok = _logspace_pow._certified(base, x)
        assert ok.mean() > 0.8
        assert np.array_equal(vals[ok], creation._c_pow(base, x[ok]))


def test_probe_rejects_a_wrong_pow():
    assert _logspace_pow._probe(creation._c_pow)
    assert not _logspace_pow._probe(lambda base, x: np.nextafter(creation._c_pow(base, x),
                                                                    np.inf))


@pytest.mark.filterwarnings("error")
def test_logspace_huge_exponents_bitwise():
    # 256 * x log2(base) far past int32: those elements are refused before the cast
    for bounds, base in (((-1e7, 1e7), 2.0), ((-3e9, 3e9), 10.0), ((-1e300, 1e300), 1.5)):
        got = ember.logspace(*bounds, 5001, base, dtype=ember.float64).numpy()
        want = torch.logspace(*bounds, 5001, base, dtype=torch.float64).numpy()
        _same_bits(got, want)


def test_logspace_pool_runs_same_bits(monkeypatch):
    from tests.pool_splits import counted_splits
    for jobs in counted_splits(monkeypatch, 1 << 14, min_piece=1000):
        _same_bits(ember.logspace(-30, 30, 70_001, 3.3, dtype=ember.float64).numpy(),
                   torch.logspace(-30, 30, 70_001, 3.3, dtype=torch.float64).numpy())
        assert jobs
