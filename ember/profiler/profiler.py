"""torch.profiler's profile, schedule, ProfilerActivity and tensorboard_trace_handler.

ember times on the CPU: every op (named as PyTorch's ATen operators, see _names.py),
every backward node and gradient accumulation, and ``record_function`` blocks. On CUDA,
an op's CPU time is the time to launch its kernels (CuPy runs them asynchronously);
kernel times on the GPU are not recorded, so the table has no CUDA columns.
"""
import enum
import json
import os
import socket
import time
import warnings
from contextlib import ContextDecorator

from . import _recorder
from ._events import EventList, FunctionEvent, write_chrome_trace


class ProfilerActivity(enum.Enum):
    """The activity groups a profiler may be asked to record."""
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5

    def __repr__(self):
        return f"<ProfilerActivity.{self.name}: {self.value}>"


class ProfilerAction(enum.Enum):
    """What the profiler does during a step (the value a schedule returns)."""
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities():
    """CPU, and CUDA where a CUDA device is available."""
    from .. import cuda
    found = {ProfilerActivity.CPU}
    if cuda.is_available():
        found.add(ProfilerActivity.CUDA)
    return found


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """The profiler schedule as a function of the step number.

    Steps 0 .. skip_first-1 are skipped (NONE); after them the cycle is `wait` steps of
    NONE, `warmup` steps of WARMUP (the profiler is started but keeps nothing), `active`
    steps of RECORD, the last of them RECORD_AND_SAVE (on_trace_ready is called when it
    ends). `repeat` cycles are run (0: until the profiler stops); `skip_first_wait` drops
    the first cycle's wait."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)
    cycle = wait + warmup + active

    def schedule_fn(step):
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step >= repeat * cycle:
            return ProfilerAction.NONE
        phase = step % cycle
        if phase < wait:
            return ProfilerAction.NONE
        if phase < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if phase < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def kineto_available():
    """False: ember's profiler is its own, not PyTorch's Kineto library (the profile API
    works all the same)."""
    return False


def _record_always(step):
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False,
                              use_python_export=False):
    """An on_trace_ready callback writing each trace as
    ``<dir_name>/<worker_name>.<time ns>.pt.trace.json`` (``.gz`` with `use_gzip`), the
    files TensorBoard's profiler plugin reads. worker_name defaults to host_pid."""

    def handler_fn(prof):
        nonlocal worker_name
        try:
            os.makedirs(dir_name, exist_ok=True)
        except OSError as e:
            raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        file_name = f"{worker_name}.{time.time_ns()}.pt.trace.json"
        if use_gzip:
            file_name += ".gz"
        prof.export_chrome_trace(os.path.join(dir_name, file_name))

    return handler_fn


class record_function(ContextDecorator):
    """Label a block (or, as a decorator, each call of a function) in the profile:
    ``with record_function("forward"): ...``. The block is an event of its own, and the
    ops run inside it are its children. Costs nothing measurable when no profiler runs."""

    def __init__(self, name, args=None):
        self.name = name
        self.args = args
        self._event = None
        self._recorder = None

    def _recreate_cm(self):
        # a fresh instance per decorated call: calls may nest (recursion)
        return type(self)(self.name, self.args)

    def __enter__(self):
        rec = _recorder.ACTIVE[0]
        if rec is not None:
            self._recorder = rec
            self._event = rec.begin(self.name, "user_annotation")
        return self

    def __exit__(self, *exc):
        if self._event is not None:
            self._recorder.end(self._event)
            self._event = self._recorder = None
        return False


def _function_events(recorder, origin_ns, first_id=0):
    """The recorder's raw events as FunctionEvents, parents and children linked, in
    microseconds since `origin_ns`. A step marker "ProfilerStep#<n>" is named
    "ProfilerStep*" (so key_averages sums the steps) and keeps its number as trace_name."""
    made = {}
    events = EventList(profile_memory=recorder.profile_memory, with_flops=recorder.with_flops)
    for i, raw in enumerate(recorder.events):
        name = raw.name
        trace_name = None
        if raw.kind == "user_annotation" and name.startswith("ProfilerStep#"):
            trace_name, name = name, "ProfilerStep*"
        event = FunctionEvent(first_id + i, name, raw.thread,
                              (raw.start_ns - origin_ns) / 1000.0,
                              (max(raw.end_ns, raw.start_ns) - origin_ns) / 1000.0,
                              input_shapes=raw.shapes, stack=raw.stack,
                              is_user_annotation=raw.kind == "user_annotation",
                              cpu_memory_usage=raw.memory, trace_name=trace_name)
        event.flops = raw.flops
        if raw.parent is not None and raw.parent in made:
            parent = made[raw.parent]
            event.cpu_parent = parent
            parent.cpu_children.append(event)
        made[raw] = event
        events.append(event)
    if recorder.profile_memory:
        # an event's memory counts its children's (children start after their parent)
        for event in reversed(events):
            if event.cpu_parent is not None:
                event.cpu_parent.cpu_memory_usage += event.cpu_memory_usage
    return events


class _Profile:
    """Recording into FunctionEvents; the common core of profile and the legacy
    autograd.profiler.profile."""

    def __init__(self, record_shapes=False, profile_memory=False, with_stack=False,
                 with_flops=False, with_modules=False, acc_events=False):
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.acc_events = acc_events
        self._recorder = None
        self._function_events = None
        self._origin_ns = None
        self._metadata = {}

    def _prepare_trace(self):
        self._recorder = _recorder.Recorder(self.record_shapes, self.profile_memory,
                                            self.with_stack, self.with_flops)

    def _start_trace(self):
        if self._recorder is None:
            self._prepare_trace()
        self._recorder.start()
        if self._origin_ns is None:
            self._origin_ns = self._recorder.start_ns

    def _stop_trace(self):
        rec = self._recorder
        if rec is None:
            return
        rec.stop()
        self._recorder = None
        previous = self._function_events if self.acc_events else None
        first_id = len(previous) if previous else 0
        events = _function_events(rec, self._origin_ns, first_id)
        if previous:
            previous.extend(events)
            events = previous
        self._function_events = events

    def _check_finished(self):
        if self._function_events is None:
            raise AssertionError("Profiler must be initialized before getting key averages")

    def events(self):
        """Every recorded event (FunctionEvents), in the order they started."""
        self._check_finished()
        return self._function_events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        """The events summed by name (and input shapes, with `group_by_input_shape`)."""
        self._check_finished()
        return self._function_events.key_averages(group_by_input_shape, group_by_stack_n,
                                                  group_by_overload_name)

    def export_chrome_trace(self, path):
        """Write the events as Chrome trace JSON (gzip-compressed for a ``.gz`` path)."""
        self._check_finished()
        write_chrome_trace(self._function_events, path, self._metadata)

    def add_metadata(self, key, value):
        """Add a string entry to the top level of exported Chrome traces."""
        self._metadata[key] = value

    def add_metadata_json(self, key, value):
        """Add an entry given as JSON text to the top level of exported Chrome traces."""
        self._metadata[key] = json.loads(value)

    def export_memory_timeline(self, path, device=None):
        raise NotImplementedError("ember.profiler: export_memory_timeline needs PyTorch's "
                                  "memory profiler; ember records the bytes each op's outputs "
                                  "own (profile_memory=True, the table's CPU Mem columns)")

    def export_stacks(self, path, metric="self_cpu_time_total"):
        """Write flame-graph stacks (needs ``with_stack=True``)."""
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        self._check_finished()
        self._function_events.export_stacks(path, metric)


class profile(_Profile):
    """torch.profiler.profile: a context manager recording the ops run inside it.

        with torch.profiler.profile(record_shapes=True) as prof:
            model(x)
        print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

    With a `schedule`, call ``prof.step()`` at the end of each iteration: the schedule
    decides which steps are recorded, each step is an event ``ProfilerStep#<n>``, and
    `on_trace_ready(prof)` is called at the end of each active cycle (and at exit when
    recording). Without one every step is recorded and on_trace_ready is called at exit.
    Only one profiler records at a time.

    `activities` is accepted for compatibility: ember records CPU time only. `with_flops`
    counts the FLOPs of matrix products, convolutions, mul and add (see _flops.py).
    `with_modules` and `experimental_config` are accepted and ignored.
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None,
                 post_processing_timeout_s=None):
        if activities is not None:
            activities = set(activities)
            for a in activities:
                if not isinstance(a, (ProfilerActivity, dict)):
                    raise TypeError(f"profile: activities must be ProfilerActivity values, "
                                    f"got {a!r}")
        else:
            activities = supported_activities()
        if use_cuda is not None:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead",
                          FutureWarning, stacklevel=2)
        if not activities:
            raise AssertionError("No valid profiler activities found")
        super().__init__(record_shapes, profile_memory, with_stack, with_flops, with_modules,
                         acc_events)
        self.activities = activities
        self.record_steps = schedule is not None
        self.schedule = schedule if schedule is not None else _record_always
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self._step_marker = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        return False

    def start(self):
        self._transit(ProfilerAction.NONE, self.current_action)
        self._open_step_marker()

    def stop(self):
        self._close_step_marker()
        self._transit(self.current_action, None)

    def step(self):
        """Mark the end of a training step; the schedule's action for the next one applies."""
        self._close_step_marker()
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(previous, self.current_action)
        self._open_step_marker()

    def _open_step_marker(self):
        if self.record_steps:
            self._step_marker = record_function(f"ProfilerStep#{self.step_num}")
            self._step_marker.__enter__()

    def _close_step_marker(self):
        if self._step_marker is not None:
            self._step_marker.__exit__(None, None, None)
            self._step_marker = None

    def _transit(self, previous, current):
        """Move between schedule actions. A cycle's events are kept from its first
        RECORD step; they become the result (events(), key_averages()) when the cycle's
        RECORD_AND_SAVE step ends, or when the profiler stops while recording."""
        A = ProfilerAction
        recording = (A.RECORD, A.RECORD_AND_SAVE)
        if previous == A.RECORD_AND_SAVE and current is not None:
            self._stop_trace()
            self._trace_ready()
        if current is None:
            if previous in recording:
                self._stop_trace()
                self._trace_ready()
            elif previous == A.WARMUP:
                self._prepare_trace()       # started, never recorded: an empty result
                self._stop_trace()
            return
        if previous == A.RECORD and current in (A.NONE, A.WARMUP):
            warnings.warn(f"Incorrect schedule: RECORD followed by {current.name}")
            self._stop_trace()
        elif previous == A.WARMUP and current == A.NONE:
            warnings.warn("Incorrect schedule: WARMUP followed by NONE")
            self._prepare_trace()
            self._stop_trace()
        if current in recording and (self._recorder is None
                                     or _recorder.ACTIVE[0] is not self._recorder):
            self._start_trace()

    def _prepare_trace(self):
        if self._recorder is None:
            super()._prepare_trace()

    # PyTorch's public names for the schedule's transitions
    def prepare_trace(self):
        self._prepare_trace()

    def start_trace(self):
        self._start_trace()

    def stop_trace(self):
        self._stop_trace()

    def _trace_ready(self):
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)
