"""float16 <-> float32 conversions by whole-array passes (ember/_ops/pointwise_half.py) and
the float16 ufunc path built on them (pointwise_arrays.half_blocks): the values of NumPy's
casts (IEEE, round to nearest even) and PyTorch's results, block sizes and threads aside."""
import numpy as np
import pytest

import ember
from ember._backend import parallel
from ember._ops import pointwise_arrays, pointwise_half
from tests.pool_splits import counted_splits

torch = pytest.importorskip("torch")


def _same_values(a, b):
    """Equal values, NaN where the other has NaN (a NaN's payload aside), signed zeros kept."""
    a, b = np.asarray(a), np.asarray(b)
    nan = np.isnan(a)
    assert (nan == np.isnan(b)).all()
    assert (a[~nan].view(np.uint16 if a.itemsize == 2 else np.uint32) ==
            b[~nan].view(np.uint16 if b.itemsize == 2 else np.uint32)).all()


def test_widen_every_float16():
    h = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    out = np.empty(h.size, np.float32)
    with np.errstate(all="ignore"):   # (as ember calls it: signaling NaNs are quieted)
        pointwise_half.widen(h, out, np.empty(h.size, np.uint32))
        _same_values(out, h.astype(np.float32))


def _float32_sweep():
    """Every 2039th float32 bit pattern, and around every float16 rounding boundary of
    interest: ties, the subnormal range, the overflow edge, infinities and NaNs."""
    strided = np.arange(0, 1 << 32, 2039, dtype=np.uint64).astype(np.uint32)
    halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)
    halves = halves[np.isfinite(halves)].view(np.uint32)
    near = (halves[:, None] + np.arange(-3, 4, dtype=np.int64)[None, :] * (1 << 12)).ravel()
    ties = halves + np.uint32(1 << 12)     # exactly halfway to the next float16 up
    edge = np.float32([65504, 65519.996, 65520, 65536, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001,
                       3 * 2 ** -26, 2 ** -14, 2 ** -14 * (1 - 2 ** -12), np.inf, np.nan])
    x = np.concatenate([strided, near.astype(np.uint32), ties, edge.view(np.uint32)])
    return np.concatenate([x, x ^ np.uint32(0x80000000)]).view(np.float32)


def test_narrow_matches_numpys_rounding():
    x = _float32_sweep()
    out = np.empty(x.size, np.float16)
    scratch = (np.empty(x.size, np.uint32), np.empty(x.size, np.uint32))
    with np.errstate(all="ignore"):
        pointwise_half.narrow(x, out, scratch)
        _same_values(out, x.astype(np.float16))
    nan = np.isnan(x)
    assert (out[nan].view(np.uint16) & 0x7FFF == 0x7E00).all()   # c10's quiet NaN


@pytest.mark.parametrize("n", [100, 32768, 40001, 70001])
@pytest.mark.parametrize("block", [None, 4 * 1000])
def test_float16_ufuncs_against_torch(monkeypatch, n, block):
    if block is not None:
        monkeypatch.setattr(parallel, "BLOCK_BYTES", block)
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 4).astype(np.float32)
    x[:6] = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-7]
    y = (np.abs(rng.standard_normal(n)) + 0.25).astype(np.float32)
    ea, eb = ember.tensor(x).half(), ember.tensor(y).half()
    ta, tb = torch.tensor(x).half(), torch.tensor(y).half()
    cases = [lambda m, a, b: a + a, lambda m, a, b: a * b, lambda m, a, b: a / b,
             lambda m, a, b: a - b, lambda m, a, b: a + 0.3, lambda m, a, b: m.exp(a),
             lambda m, a, b: m.sqrt(b), lambda m, a, b: m.tanh(a), lambda m, a, b: 2.5 * a]
    for f in cases:
        got, want = f(ember, ea, eb), f(torch, ta, tb)
        assert str(got.dtype) == "ember.float16"
        _same_values(got.numpy(), want.numpy())


@pytest.fixture
def jobs(monkeypatch):
    yield from counted_splits(monkeypatch, 1 << 12, min_piece=1 << 10)


def test_float16_blocks_on_the_pool_give_the_same_bytes(jobs, monkeypatch):
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 4 * 1500)
    x = (np.random.default_rng(5).standard_normal(40001) * 3).astype(np.float16)
    a = ember.from_numpy(x)
    split = [(a * a).numpy(), ember.exp(a).numpy()]
    assert jobs
    monkeypatch.setattr(pointwise_arrays, "HALF_MIN", 1 << 40)   # the astype form
    whole = [(a * a).numpy(), ember.exp(a).numpy()]
    for s, w in zip(split, whole):
        assert s.tobytes() == w.tobytes()
