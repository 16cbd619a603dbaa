"""ember.multiprocessing (``torch.multiprocessing``): Python's multiprocessing, plus
``spawn``/``start_processes`` to run a function in N processes, and the sharing-strategy
switches.

Everything of the standard ``multiprocessing`` module is re-exported (Process, Queue,
Pool, get_context, set_start_method ...). Tensors sent to another process (as arguments
of ``spawn``, through a Queue) are pickled, i.e. copied with their values: ember has no
shared-memory tensors, so ``Tensor.share_memory_()`` / ``Module.share_memory()`` change
nothing, and Hogwild-style training, where children update the parent's parameters in
place, does not share the updates. The sharing strategy is recorded and reported only.
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
    """Set how tensors would be shared between processes (recorded only: ember pickles
    tensors by value)."""
    if new_strategy not in _all_sharing_strategies:
        choices = ", ".join(repr(s) for s in sorted(_all_sharing_strategies))
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of "
                             f"{{{choices}}}")
    _sharing_strategy[0] = new_strategy


def get_sharing_strategy():
    return _sharing_strategy[0]


def get_all_sharing_strategies():
    return set(_all_sharing_strategies)
