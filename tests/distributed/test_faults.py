"""A rank that raises, exits, is killed or hangs ends the job with a non-zero exit code and
a message naming the rank, within the timeout (never a hang)."""
import time

import pytest

from .launch import launch


@pytest.mark.parametrize("mode, code, reason", [
    ("raise", 1, "ValueError: rank 1 fails on purpose"),
    ("kill", 128 + 9, "killed by signal 9 (SIGKILL)"),
    ("hang", 1, "all_reduce did not finish within the process group timeout"),
])
def test_failing_rank_is_named(mode, code, reason):
    start = time.monotonic()
    returncode, output = launch("fault_worker.py", mode, timeout=60)
    assert returncode == code, output
    assert "ember.distributed.run: rank 1" in output or "[rank 0]" in output, output
    assert reason in output, output
    assert "finished" not in output
    assert time.monotonic() - start < 30
