"""Functions for tests/test_small_modules.py to run in spawned processes: a module of its
own, light to import (a spawned child imports the module of the function it runs)."""
import os
import sys


def write_rank(i, folder, scale):
    import ember
    t = ember.full((2,), float(i)) * scale
    with open(os.path.join(folder, f"rank{i}"), "w") as f:
        f.write(repr(t.tolist()))


def raise_in_rank_one(i):
    if i == 1:
        raise ValueError(f"bad rank {i}")


def exit_with_code(i, code):
    sys.exit(code)


def kill_self(i):
    import signal
    os.kill(os.getpid(), signal.SIGKILL)
