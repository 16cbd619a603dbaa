"""normal_'s 16-value Box-Muller fill (ember/_sampling.py) runs on runs of rows, on the
elementwise thread pool for large fills: every cut of the rows must give the bits of one
whole pass (NumPy's vector loops handle a piece's start and tail like the middle), and the
samples stay torch's."""
import numpy as np
import pytest

import ember
from ember import _dtype, _sampling

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dt", [_dtype.float32, _dtype.float64, _dtype.float16,
                                _dtype.bfloat16], ids=str)
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (2.0, 3.0)])
def test_any_cut_of_the_rows_gives_the_whole_fill(dt, mean, std):
    acc = np.float64 if dt is _dtype.float64 else np.float32
    rows = 613
    u = np.random.default_rng(1).random((rows, 16)).astype(acc)
    u[5, 3], u[7, 9] = 0.0, acc(1) - np.finfo(acc).eps   # radius extremes
    whole = np.empty((rows, 16), dt.np)
    _sampling._box_muller_rows(u, dt, mean, std, whole)
    for cuts in ([1], [3, 17, 101], [7, 8, 9, 300], list(range(1, rows, 13))):
        out = np.empty((rows, 16), dt.np)
        edges = [0] + cuts + [rows]
        for lo, hi in zip(edges, edges[1:]):
            _sampling._box_muller_rows(u[lo:hi], dt, mean, std, out[lo:hi])
        assert np.array_equal(out.view(np.uint8), whole.view(np.uint8)), cuts


def test_large_fill_through_the_pool_matches_one_thread():
    from ember._backend import parallel
    n = 1 << 20
    ember.manual_seed(3)
    pooled = ember.randn(n, dtype=ember.float64).numpy()
    saved = parallel.SETTING[0]
    parallel.set_threads(1)
    try:
        ember.manual_seed(3)
        alone = ember.randn(n, dtype=ember.float64).numpy()
    finally:
        parallel.set_threads(saved)
    assert np.array_equal(pooled, alone)
    torch.manual_seed(3)
    # the same stream as torch (float64 fills agree but for rare last-bit cases)
    ref = torch.randn(n, dtype=torch.float64).numpy()
    assert np.mean(pooled != ref) < 0.01
    np.testing.assert_allclose(pooled, ref, rtol=1e-12, atol=1e-12)
