"""ember asks glibc's malloc to keep freed memory (ember/_backend/numpy_backend.py):
op temporaries then reuse pages instead of faulting fresh ones in every step."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc setting")

_CHURN = """
import resource, numpy as np, ember
from ember._backend import numpy_backend
a = np.ones((512, 512), np.float32)
for _ in range(5):
    (a * 2).sum()                                    # warm up
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):                                 # 1 MiB temporaries, freed each time
    (a * 2 + 1).sum()
print(numpy_backend.MALLOC_TUNED, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(setting):
    env = dict(os.environ)
    env.pop("EMBER_KEEP_FREED_MEMORY", None)
    if setting is not None:
        env["EMBER_KEEP_FREED_MEMORY"] = setting
    out = subprocess.run([sys.executable, "-c", _CHURN], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0] == "True", int(out[1])


def test_freed_memory_is_reused_and_the_setting_can_be_turned_off():
    tuned, faults = _faults(None)
    if not tuned:
        pytest.skip("this libc has no glibc mallopt")
    off, faults_off = _faults("0")
    assert not off
    # 200 rounds of two 1 MiB temporaries (256 pages each): kept memory faults a few
    # hundred times in all (measured: ~256); glibc's default gives the pages back to the
    # OS and faults them in again (~96,000)
    assert faults < 5000, faults
    assert faults_off > 10 * faults, (faults, faults_off)
