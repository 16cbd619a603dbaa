"""ember.multiprocessing (``torch.multiprocessing``): Python's multiprocessing, plus
``spawn``/``start_processes`` to run a function in N processes, and the sharing-strategy
switches.

Everything of the standard ``multiprocessing`` module is re-exported (Process, Queue,
Pool, get_context, set_start_method ...). A tensor sent to another process (as an
argument of ``spawn`` or a Process, through a Queue) is copied with its values, unless it
was moved to shared memory with ``Tensor.share_memory_()`` / ``Module.share_memory()``:
then both processes map the same memory and see each other's writes, so Hogwild-style
training shares its updates (ember/_shared_memory.py; it works through the standard
``multiprocessing`` module too). ember shares through files in /dev/shm, PyTorch's
``file_system`` strategy, whatever strategy is set: the strategy is recorded and
reported only.
"""
import multiprocessing
import sys
from multiprocessing import *  # noqa: F401,F403

from .spawn import (ProcessContext, ProcessException, ProcessExitedException,
                    ProcessRaisedException, SpawnContext, spawn, start_processes)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies",
           "spawn", "start_processes", "ProcessContext", "ProcessException",
           "ProcessExitedException", "ProcessRaisedException", "SpawnContext"]
__all__ += multiprocessing.__all__

# PyTorch's choices: file descriptors (the default on Linux) or named files; macOS has
# only the latter
if sys.platform == "darwin":
    _all_sharing_strategies = {"file_system"}
    _sharing_strategy = ["file_system"]
else:
    _all_sharing_strategies = {"file_descriptor", "file_system"}
    _sharing_strategy = ["file_descriptor"]


def set_sharing_strategy(new_strategy):
    """Set how shared tensors travel between processes (recorded only: ember always
    shares through files, the 'file_system' way)."""
    if new_strategy not in _all_sharing_strategies:
        choices = ", ".join(repr(s) for s in sorted(_all_sharing_strategies))
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of "
                             f"{{{choices}}}")
    _sharing_strategy[0] = new_strategy


def get_sharing_strategy():
    return _sharing_strategy[0]


def get_all_sharing_strategies():
    return set(_all_sharing_strategies)
