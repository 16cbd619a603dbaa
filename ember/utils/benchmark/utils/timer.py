"""Timer: time a Python statement the way torch.utils.benchmark.Timer does."""
import enum
import sys
import textwrap
import timeit

from . import common

__all__ = ["Timer", "timer", "Language"]


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


def _cuda_in_use():
    """True once CUDA is available to ember (then timings wait for the GPU)."""
    from .... import cuda
    return cuda.is_available()


def timer():
    """timeit.default_timer, after waiting for queued CUDA work when CUDA is in use
    (CuPy launches kernels asynchronously: without the wait a timing would cover only
    their launch)."""
    if _cuda_in_use():
        from .... import cuda
        cuda.synchronize()
    return timeit.default_timer()


class Timer:
    """Time `stmt` after running `setup`, with `globals` as its namespace (``torch`` is
    ember there unless given).

    ``timeit(number)`` runs it `number` times in one block; ``blocked_autorange`` picks a
    block size whose timer overhead is negligible and times blocks until `min_run_time`
    seconds are spent; ``adaptive_autorange`` times blocks until their spread (IQR /
    median) is under `threshold`. Each returns a Measurement of per-run times. The
    statement runs with ``ember.set_num_threads(num_threads)``. Only Python statements
    are supported (``language="cpp"`` raises NotImplementedError)."""

    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=timer, globals=None,
                 label=None, sub_label=None, description=None, env=None, num_threads=1,
                 language=Language.PYTHON):
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError("ember.utils.benchmark.Timer: C++ statements need "
                                      "PyTorch's C++ frontend; ember times Python only")
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        if global_setup:
            raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely "
                             f"this code can simply be moved to `setup`.")
        self._globals = dict(globals or {})     # a copy: eval adds __builtins__ to it
        self._globals.setdefault("torch", sys.modules[__name__.split(".")[0]])
        self._language = Language.PYTHON
        # snippets written inside a function are indented; a leading newline is dropped
        stmt = textwrap.dedent(stmt)
        stmt = (stmt[1:] if stmt and stmt[0] == "\n" else stmt).rstrip()
        setup = textwrap.dedent(setup)
        setup = (setup[1:] if setup and setup[0] == "\n" else setup).rstrip()
        self._timer = timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=self._globals)
        self._task_spec = common.TaskSpec(stmt=stmt, setup=setup, global_setup=global_setup,
                                          label=label, sub_label=sub_label,
                                          description=description, env=env,
                                          num_threads=num_threads)

    def _timeit(self, number):
        # a block is never timed as 0 s (statistics divide by times)
        return max(self._timer.timeit(number), 1e-9)

    def timeit(self, number=1000000):
        """Run the statement `number` times (after a warm-up of number // 100 runs, at
        least 2) and return one measurement of that block."""
        with common.set_torch_threads(self._task_spec.num_threads):
            self._timeit(number=max(int(number // 100), 2))
            return common.Measurement(number_per_run=number,
                                      raw_times=[self._timeit(number=number)],
                                      task_spec=self._task_spec)

    def repeat(self, repeat=-1, number=-1):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _measurement_loop(self, number, time_hook, stop_hook, min_run_time,
                          max_run_time=None, callback=None):
        """Time blocks until `min_run_time` seconds are spent and `stop_hook` agrees (or
        `max_run_time` is passed)."""
        total_time = 0.0
        can_stop = False
        times = []
        with common.set_torch_threads(self._task_spec.num_threads):
            while total_time < min_run_time or not can_stop:
                spent = time_hook()
                times.append(spent)
                total_time += spent
                if callback:
                    callback(number, spent)
                can_stop = stop_hook(times)
                if max_run_time and total_time > max_run_time:
                    break
        return times

    def _estimate_block_size(self, min_run_time):
        """The smallest power of ten of runs per block for which the timer's own overhead
        (an empty block's time) is at most 1e-4 of the block and the block takes at least
        min_run_time / 1000; fewer if one block already exceeds min_run_time. Also the
        warm-up."""
        with common.set_torch_threads(self._task_spec.num_threads):
            overheads = sorted(self._timeit(0) for _ in range(5))
            overhead = overheads[2]
            number = 1
            while True:
                taken = self._timeit(number)
                if overhead / taken <= 1e-4 and taken >= min_run_time / 1000:
                    break
                if taken > min_run_time or number * 10 > 2147483647:
                    break
                number *= 10
        return number

    def blocked_autorange(self, callback=None, min_run_time=0.2):
        """Time blocks of an estimated size until `min_run_time` seconds are spent."""
        number = self._estimate_block_size(min_run_time)
        times = self._measurement_loop(number, lambda: self._timeit(number), lambda t: True,
                                       min_run_time=min_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times,
                                  task_spec=self._task_spec)

    def adaptive_autorange(self, threshold=0.1, *, min_run_time=0.01, max_run_time=10.0,
                           callback=None):
        """Time blocks until there are more than 3, at least `min_run_time` seconds, and
        IQR / median < `threshold`, or until `max_run_time` seconds are spent."""
        number = self._estimate_block_size(min_run_time=0.05)

        def stop_hook(times):
            if len(times) > 3:
                return common.Measurement(number_per_run=number, raw_times=times,
                                          task_spec=self._task_spec
                                          ).meets_confidence(threshold=threshold)
            return False

        times = self._measurement_loop(number, lambda: self._timeit(number), stop_hook,
                                       min_run_time, max_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times,
                                  task_spec=self._task_spec)

    def collect_callgrind(self, *args, **kwargs):
        raise NotImplementedError("ember.utils.benchmark.Timer.collect_callgrind: Callgrind "
                                  "collection is not supported; use valgrind on the script")
