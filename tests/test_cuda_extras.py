"""The ember.cuda queries added for PyTorch's API, on CUDA (a GPU or the fake CuPy:
EMBER_FAKE_CUDA=1); their CPU-only behaviour is compared with torch in test_cuda_api.py."""
import pytest

import ember

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device")


def test_cuda_memory_fraction_round_trip():
    assert ember.cuda.get_per_process_memory_fraction() == 1.0
    try:
        ember.cuda.set_per_process_memory_fraction(0.5)
        assert ember.cuda.get_per_process_memory_fraction() == 0.5
    finally:
        ember.cuda.set_per_process_memory_fraction(1.0)
    with pytest.raises(ValueError):
        ember.cuda.set_per_process_memory_fraction(1.5)


def test_cuda_capture_and_sync_debug_queries():
    assert ember.cuda.is_current_stream_capturing() is False
    assert ember.cuda.get_sync_debug_mode() == 0
    ember.cuda.set_sync_debug_mode("default")
    with pytest.raises(NotImplementedError, match="synchronizing"):
        ember.cuda.set_sync_debug_mode("warn")
    with pytest.raises(RuntimeError, match="debug_mode"):
        ember.cuda.set_sync_debug_mode("loud")
    major, minor = ember.cuda.get_device_capability()
    assert ember.cuda.is_tf32_supported() == ((major, minor) >= (8, 0))
