"""Test setup: BLAS limited to one thread (multi-threaded OpenBLAS stalls when the
other core is busy), hypothesis kept small and deterministic."""
import pytest

try:
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
except ImportError:  # pragma: no cover
    pass

from hypothesis import settings

settings.register_profile("ember", max_examples=30, deadline=None, derandomize=True)
settings.load_profile("ember")


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """The device a test runs on: 'cpu', and 'cuda' where ember.cuda.is_available()."""
    import ember
    if request.param == "cuda" and not ember.cuda.is_available():
        pytest.skip("no CUDA device")
    return request.param
