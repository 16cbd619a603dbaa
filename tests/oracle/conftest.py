"""Every test here runs on each device (see tests/conftest.py's run_on_device)."""
import pytest

from tests.conftest import run_on_device

ember_device = pytest.fixture(autouse=True, params=["cpu", "cuda"])(run_on_device)
