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
