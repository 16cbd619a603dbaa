"""Linear's large products at the faster BLAS count (ember._ops.layers._dot through
ember._backend.blas_threads.at_faster_count): values and gradients as torch's, the paced
path taken only where it applies, and the choice following the recent paces."""
import numpy as np
import pytest

import ember
from ember._backend import blas_threads
from ember._ops import layers

torch = pytest.importorskip("torch")


def _keys():
    return {k for k in blas_threads._PACE if k[0] == "linear"}


@pytest.fixture
def two_blas_threads():
    """OpenBLAS at two threads for the test (the suite runs it at one, where the switch
    has nothing to choose), restored after."""
    n0 = blas_threads.num_threads()
    if n0 is None:
        pytest.skip("no OpenBLAS control")
    blas_threads.set_num_threads(2)
    yield
    blas_threads.set_num_threads(n0)


@pytest.mark.parametrize("shape", [(64, 9216, 128), (128, 784, 512), (7, 30, 400, 96)])
def test_large_linear_matches_torch(shape, two_blas_threads):
    *lead, i, o = shape
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((*lead, i)).astype(np.float32)
    wa = (rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
    ba = rng.standard_normal(o).astype(np.float32)
    ga = rng.standard_normal((*lead, o)).astype(np.float32)
    blas_threads._PACE.clear()
    x, w, b = (ember.tensor(a, requires_grad=True) for a in (xa, wa, ba))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xa, wa, ba))
    for _ in range(3):   # both counts get tried on the way (when two can be had)
        y = ember.nn.functional.linear(x, w, b)
        y.backward(ember.tensor(ga))
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty.backward(torch.tensor(ga))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    for e, t in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(e.grad.numpy() / 3, t.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert {k[1] for k in _keys()} == {"fwd", "dx", "dw"}
    assert all(p[0] is not None and p[1] is not None for p in blas_threads._PACE.values())


def test_small_and_deterministic_products_not_paced(two_blas_threads):
    blas_threads._PACE.clear()
    x = ember.randn(4, 8, requires_grad=True)
    ember.nn.Linear(8, 3)(x).sum().backward()
    assert not _keys()   # 2*4*8*3 flops: plain dot
    ember.use_deterministic_algorithms(True)
    try:
        x = ember.randn(128, 784, requires_grad=True)
        ember.nn.Linear(784, 512)(x).sum().backward()
    finally:
        ember.use_deterministic_algorithms(False)
    assert not _keys()


def _count_inside(key):
    seen = []
    blas_threads.at_faster_count(lambda: seen.append(blas_threads.num_threads()), key=key)
    return seen[0]


def test_choice_follows_paces(two_blas_threads):
    try:
        key = ("linear", "test", 1, 2, 3, np.dtype(np.float32))
        blas_threads._PACE[key] = [1e-3, 1.0, 1]   # one thread faster
        assert _count_inside(key) == 1
        blas_threads._PACE[key] = [1.0, 1e-3, 1]   # the process's count faster
        assert _count_inside(key) == 2
        blas_threads._PACE[key] = [1.0, 1e-3, blas_threads.EXPLORE_LARGE - 1]   # exploring
        assert _count_inside(key) == 1
        assert blas_threads.num_threads() == 2   # restored
    finally:
        blas_threads._PACE.pop(key, None)
