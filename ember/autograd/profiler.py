"""torch.autograd.profiler: the older profiler API, on the same recorder as ember.profiler.

    with torch.autograd.profiler.profile(record_shapes=True) as prof:
        model(x)
    print(prof.key_averages().table(sort_by="self_cpu_time_total"))
"""
from ..profiler._events import EventList, FunctionEvent, FunctionEventAvg
from ..profiler.profiler import _Profile, kineto_available, record_function  # noqa: F401

__all__ = ["profile", "record_function", "emit_nvtx", "emit_itt", "EventList", "FunctionEvent",
           "FunctionEventAvg", "kineto_available"]


class profile(_Profile):
    """Record the ops run inside the block (CPU time; see ember.profiler.profiler).

    `use_cuda`, `use_device`, `with_flops`, `with_modules`, `use_kineto`,
    `experimental_config` are accepted for compatibility and change nothing. The block
    is not reentrant; with `enabled=False` nothing is recorded (and ``with`` yields None,
    as in PyTorch)."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None):
        super().__init__(record_shapes, profile_memory, with_stack, with_flops, with_modules,
                         acc_events)
        self.enabled = enabled
        self.entered = False
        self.use_device = "cuda" if use_cuda else use_device

    def __enter__(self):
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._prepare_trace()
        self._start_trace()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.enabled:
            self._stop_trace()
        return False

    @property
    def function_events(self):
        return self._function_events

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False):
        """The recorded events as PyTorch's table (one row per event; use
        key_averages().table() for one row per op name)."""
        self._check_finished()
        return self._function_events.table(
            sort_by=sort_by, row_limit=row_limit, max_src_column_width=max_src_column_width,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width, header=header,
            top_level_events_only=top_level_events_only)

    def total_average(self):
        self._check_finished()
        return self._function_events.total_average()

    @property
    def self_cpu_time_total(self):
        """The summed self CPU time of all events, in microseconds."""
        self._check_finished()
        return self._function_events.self_cpu_time_total

    def _check_finished(self):
        if self._function_events is None:
            raise AssertionError("Expected profiling results")

    def __str__(self):
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return str(self._function_events)

    def __repr__(self):
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return repr(self._function_events)


class emit_nvtx:
    """NVTX ranges for each op (PyTorch: for Nsight Systems). ember emits none: with
    ``enabled=True`` entering raises NotImplementedError; ``enabled=False`` is a no-op."""

    _tool = "NVTX ranges (Nsight Systems)"

    def __init__(self, enabled=True, record_shapes=False):
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            raise NotImplementedError(f"ember.autograd.profiler.{type(self).__name__}: ember does "
                                      f"not emit {self._tool}; use ember.profiler.profile")
        return None

    def __exit__(self, *exc):
        return False


class emit_itt(emit_nvtx):
    """ITT ranges for each op (PyTorch: for Intel VTune); as emit_nvtx."""

    _tool = "ITT ranges (Intel VTune)"
