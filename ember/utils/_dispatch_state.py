"""The state of the __torch_dispatch__ protocol (utils/_python_dispatch.py): the mode
stack of each thread, the ops and functions whose handlers are running, the backward nodes
whose formulas are running, the open no_dispatch blocks, and the questions the layers above
(and ember/_ops/aten.py, utils/flop_counter.py) ask of them: which operands' classes take
part (`_dispatch_types`), which node's backward runs, which ember op is being dispatched.
It imports nothing of the protocol: the modules of dispatching (_dispatch_core), of the
backward engine's calls (_dispatch_backward) and the public face (_python_dispatch) read it."""
import threading

from .._tensor import Tensor


class _ModeStack(threading.local):
    """The entered modes of the running thread, innermost last: PyTorch's mode stack is
    per thread (a mode entered in one thread does not see another thread's ops). It
    answers the list operations this module uses; `entered` counts the modes entered in
    all threads, which keeps the hook on while any thread has one."""
    entered = [0]

    def __init__(self):
        self.modes = []

    def __bool__(self):
        return bool(self.modes)

    def __len__(self):
        return len(self.modes)

    def __iter__(self):
        return iter(list(self.modes))

    def __contains__(self, mode):
        return mode in self.modes

    def __getitem__(self, index):
        return self.modes[index]

    def __setitem__(self, index, values):   # (only `stack[:0] = saved`: put back in front)
        before = len(self.modes)
        self.modes[index] = values
        self.entered[0] += len(self.modes) - before

    def append(self, mode):
        self.modes.append(mode)
        self.entered[0] += 1

    def pop(self):
        mode = self.modes.pop()
        self.entered[0] -= 1
        return mode

    def remove(self, mode):
        self.modes.remove(mode)
        self.entered[0] -= 1

    def clear(self):
        self.entered[0] -= len(self.modes)
        self.modes.clear()


_MODES = _ModeStack()   # the entered modes of the running thread, innermost last
_WRAPPERS = [0]      # wrapper-subclass instances alive
_PENDING = []        # the ops whose handlers are running, innermost last
_FUNCTION_PENDING = []   # likewise for functions without an op node (_dispatch_function)
_BACKWARD_NODES = []   # the nodes whose backward is running (while the hook is live)
_DISABLED = [0]      # no_dispatch blocks open: ops run without any handler
_LOCK = threading.RLock()   # (re-entered when a finalizer runs during a collection)


def _default_torch_dispatch(cls, func, types, args=(), kwargs=None):
    """Tensor's own __torch_dispatch__: plain tensors take no part in the protocol."""
    return NotImplemented


def _overrides_dispatch(tp):
    handler = getattr(tp, "__torch_dispatch__", None)
    return getattr(handler, "__func__", None) is not _default_torch_dispatch


def _dispatch_types(inputs):
    """The classes of the operands that define __torch_dispatch__ (subclasses before
    their bases, otherwise in order of appearance)."""
    found = []
    for t in inputs:
        if t is not None and type(t) is not Tensor and isinstance(t, Tensor):
            tp = type(t)
            if tp not in found and _overrides_dispatch(tp):
                found.append(tp)
    if len(found) > 1:
        ordered = []
        for tp in found:
            at = next((i for i, o in enumerate(ordered) if issubclass(tp, o)), len(ordered))
            ordered.insert(at, tp)
        found = ordered
    return tuple(found)


def is_wrapper(t):
    """Whether `t` is an instance of a Tensor subclass that defines __torch_dispatch__."""
    return type(t) is not Tensor and isinstance(t, Tensor) and _overrides_dispatch(type(t))


def in_backward():
    """Whether a node's backward formula is running (meaningful while the hook is live)."""
    return bool(_BACKWARD_NODES)


def running_backward_node():
    """The node whose backward formula is running (the innermost), or None."""
    return _BACKWARD_NODES[-1] if _BACKWARD_NODES else None


def backward_node_named(names):
    """Whether the backward of a node of an op class named in `names` (__qualname__) is
    running: the ops of its formula belong to it."""
    return any(getattr(type(node), "_op", type(node)).__qualname__ in names
               for node in _BACKWARD_NODES)


def dispatched_op_name(func):
    """The ember op class name (__qualname__) of the op being dispatched as `func`, or
    None (a handler reads it to put ember's operands in PyTorch's order)."""
    for pending in reversed(_PENDING):
        if pending.func is func:
            return pending.cls._op.__qualname__
    return None
