"""ember.utils.benchmark (torch.utils.benchmark): Timer, Measurement, Compare, Fuzzer.

    from ember.utils import benchmark
    t = benchmark.Timer(stmt="x @ x", globals={"x": x}, label="matmul")
    m = t.blocked_autorange(min_run_time=0.2)
    benchmark.Compare([m]).print()

Python statements only; Callgrind collection and C++ statements raise
NotImplementedError. CUDA work is waited for around each timed block.
"""
from .utils.common import Measurement, TaskSpec, select_unit, trim_sigfig  # noqa: F401
from .utils.compare import Colorize, Compare  # noqa: F401
from .utils.fuzzer import Fuzzer, FuzzedParameter, FuzzedTensor, ParameterAlias  # noqa: F401
from .utils.timer import Language, Timer, timer  # noqa: F401

__all__ = ["Timer", "Measurement", "TaskSpec", "Compare", "Colorize", "Language", "timer",
           "select_unit", "trim_sigfig", "Fuzzer", "FuzzedParameter", "FuzzedTensor",
           "ParameterAlias"]
