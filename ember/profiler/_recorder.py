"""What a running profiler records, and the hooks that feed it.

Three sources produce events:

- every op, through one check at the top of ``ember._ops._base.apply``: while a recorder
  is active, ``_base._PROFILER[0]`` holds `_profiled_apply`, which times the op and runs it
  through a copy of ``apply`` whose flag is off (so the op is timed once, and ops it calls
  through the module's ``apply`` are timed as its children);
- the backward engine: while recording, ``autograd.engine._call_backward`` and
  ``_accumulate`` (module globals the engine looks up on each node) are replaced by timed
  versions, giving PyTorch's ``autograd::engine::evaluate_function: MulBackward0`` events
  with the node's own ``MulBackward0`` event inside;
- composite functions (``F.linear``, ``torch.matmul``): while recording, _composite.py
  puts timed wrappers in their place, giving PyTorch's ``aten::linear`` around the ops;
- ``record_function`` blocks (user annotations) and the profiler's ``ProfilerStep#<n>``.

Nothing of this runs when no profiler records: the flag is None and the engine's
functions are the originals. Events are kept per thread as a tree (an event's children
are the events that started and ended inside it on the same thread).
"""
import os
import sys
import threading
import time
import types

import numpy as np

from .._ops import _base
from ..autograd import engine as _engine
from . import _composite, _flops
from ._names import op_name

_CHILD_NAMES = _composite.CHILD_NAMES
_INPLACE_EVENTS = _composite.INPLACE_EVENTS

_perf_ns = time.perf_counter_ns
_get_ident = threading.get_ident
_ndarray = np.ndarray

# the recorder events go to, or None
ACTIVE = [None]


class RawEvent:
    """One timed interval: an op, a backward node, or a user annotation."""
    __slots__ = ("name", "kind", "start_ns", "end_ns", "thread", "shapes", "children",
                 "parent", "memory", "flops", "stack")

    def __init__(self, name, kind, thread, shapes=None, stack=None):
        self.name = name
        self.kind = kind            # "cpu_op" | "user_annotation"
        self.thread = thread
        self.shapes = shapes
        self.stack = stack
        self.children = []
        self.parent = None
        self.memory = 0             # bytes the op's outputs own (host memory)
        self.flops = 0
        self.start_ns = self.end_ns = 0


class Recorder:
    """Collects RawEvents between `start` and `stop`."""

    def __init__(self, record_shapes=False, profile_memory=False, with_stack=False,
                 with_flops=False):
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.events = []            # in the order they started
        self._open = {}             # thread id -> stack of events not yet ended
        self.start_ns = None
        self.stop_ns = None

    # --- the interval API used by every hook ------------------------------------------
    def begin(self, name, kind, shapes=None):
        tid = _get_ident()
        stack = _python_stack() if self.with_stack else None
        event = RawEvent(name, kind, tid, shapes, stack)
        open_events = self._open.get(tid)
        if open_events is None:
            open_events = self._open[tid] = []
        if open_events:
            parent = open_events[-1]
            event.parent = parent
            parent.children.append(event)
        open_events.append(event)
        self.events.append(event)
        event.start_ns = _perf_ns()
        return event

    def innermost_name(self):
        """The name of this thread's innermost open event, or None."""
        open_events = self._open.get(_get_ident())
        return open_events[-1].name if open_events else None

    def end(self, event):
        event.end_ns = _perf_ns()
        open_events = self._open.get(event.thread)
        if open_events and open_events[-1] is event:
            open_events.pop()
        elif open_events and event in open_events:
            # an enclosing block ended first (a record_function left open): close the rest
            while open_events.pop() is not event:
                pass

    # --- switching the hooks on and off -----------------------------------------------
    def start(self):
        if ACTIVE[0] is not None:
            raise RuntimeError("ember.profiler: a profiler is already recording; ember runs one "
                               "profiler at a time (stop the other one first)")
        ACTIVE[0] = self
        self.start_ns = _perf_ns()
        _install_hooks()

    def stop(self):
        if ACTIVE[0] is self:
            _remove_hooks()
            ACTIVE[0] = None
        self.stop_ns = _perf_ns()
        # blocks still open (a step marker, a record_function never exited) end here
        for open_events in self._open.values():
            for event in open_events:
                event.end_ns = self.stop_ns
        self._open.clear()


def _python_stack():
    """Source locations of the calling Python frames, innermost first. The op machinery's
    frames (the op library, Tensor methods, autograd, the profiler) are left out, as
    PyTorch's C++ frames are; nn, vision and the user's code are listed."""
    entries = []
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith(_MACHINERY):
            entries.append(f"{path}({frame.f_lineno}): {frame.f_code.co_name}")
        frame = frame.f_back
    return entries


_EMBER_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_MACHINERY = tuple(_EMBER_ROOT + part for part in
                   ("_ops" + os.sep, "_tensor.py", "autograd" + os.sep, "profiler" + os.sep,
                    "_torch_function.py", "_autocast.py", "_method_out.py"))


# --------------------------------------------------------------------------------------
# ops


def _unhooked_apply():
    """A copy of ``_base.apply`` that sees PROFILER as off: the profiled call runs the op
    through it (calling ``apply`` itself would re-enter the hook forever). Its globals are
    the module's at this moment, with only PROFILER replaced."""
    original = _base.apply
    env = dict(original.__globals__)
    env["_PROFILER"] = [None]
    return types.FunctionType(original.__code__, env, original.__name__,
                              original.__defaults__, original.__closure__)


_PLAIN_APPLY = []


def _profiled_apply(cls, inputs, arrays, params):
    rec = ACTIVE[0]
    if rec is None:   # another thread stopped the profiler after this op read the hook
        return _PLAIN_APPLY[0](cls, inputs, arrays, *params)
    name = op_name(cls)
    parent = rec.innermost_name()
    if parent is not None:
        name = _CHILD_NAMES.get((parent, name), name)
    if parent == name or parent in _INPLACE_EVENTS:
        # the composite function around it has the op's own name (F.relu runs the Relu
        # op), or is an in-place method (add_ runs the Add op): PyTorch lists one event
        return _PLAIN_APPLY[0](cls, inputs, arrays, *params)
    shapes = None
    if rec.record_shapes:
        shapes = [list(t._data.shape) if t is not None else [] for t in inputs]
    event = rec.begin(name, "cpu_op", shapes)
    try:
        out = _PLAIN_APPLY[0](cls, inputs, arrays, *params)
    finally:
        rec.end(event)
    if rec.profile_memory:
        event.memory = _nbytes(out)
    if rec.with_flops:
        event.flops = _flops.count(cls, arrays, out)
    return out


def _nbytes(out):
    """Bytes of host memory the op's outputs own (a view owns none): the profiler's
    estimate of what the op allocated. Freed memory is not tracked."""
    total = 0
    for t in (out if type(out) is tuple else (out,)):
        data = getattr(t, "_data", None)
        if type(data) is _ndarray and data.base is None:
            total += data.nbytes
    return total


# --------------------------------------------------------------------------------------
# the backward engine

_ENGINE = {}


def _timed_call_backward(node, grads, anomaly):
    rec = ACTIVE[0]
    if rec is None:
        return _ENGINE["_call_backward"](node, grads, anomaly)
    name = node.name()
    outer = rec.begin("autograd::engine::evaluate_function: " + name, "cpu_op")
    inner = rec.begin(name, "cpu_op", [list(g.shape) if g is not None else [] for g in grads]
                      if rec.record_shapes else None)
    try:
        return _ENGINE["_call_backward"](node, grads, anomaly)
    finally:
        rec.end(inner)
        rec.end(outer)


def _timed_accumulate(t, g, create_graph, sole_owner=False):
    rec = ACTIVE[0]
    if rec is None:
        return _ENGINE["_accumulate"](t, g, create_graph, sole_owner)
    name = "torch::autograd::AccumulateGrad"
    outer = rec.begin("autograd::engine::evaluate_function: " + name, "cpu_op")
    inner = rec.begin(name, "cpu_op", [list(g.shape)] if rec.record_shapes else None)
    try:
        return _ENGINE["_accumulate"](t, g, create_graph, sole_owner)
    finally:
        rec.end(inner)
        rec.end(outer)


def _install_hooks():
    _PLAIN_APPLY[:] = [_unhooked_apply()]
    _ENGINE["_call_backward"] = _engine._call_backward
    _ENGINE["_accumulate"] = _engine._accumulate
    _engine._call_backward = _timed_call_backward
    _engine._accumulate = _timed_accumulate
    _base._PROFILER[0] = _profiled_apply
    _composite.install(ACTIVE)


def _remove_hooks():
    # the originals stay in _PLAIN_APPLY and _ENGINE: a thread that read a hook just
    # before this still finds them (the hooks run them untimed once ACTIVE is None)
    _base._PROFILER[0] = None
    _engine._call_backward = _ENGINE["_call_backward"]
    _engine._accumulate = _ENGINE["_accumulate"]
    _composite.remove()
