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


def add_to_shared(t, weight, rank, queue):
    """Hogwild-style: write into tensors the parent shared, report what this side sees."""
    import importlib
    lib = importlib.import_module(type(t).__module__.split(".")[0])   # torch or ember
    t[rank] += 10 + rank
    with lib.no_grad():
        weight.add_(1.0)
    queue.put((rank, t.is_shared(), type(weight).__name__, weight.requires_grad))


def spawn_add(i, t):
    t[i] += 1
