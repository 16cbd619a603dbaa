"""ember.futures (``torch.futures``): a value that will be set later, possibly by another
thread, with callbacks run when it is.

PyTorch's Future comes from its RPC layer and TorchScript (``torch.jit.Future`` is the
same class); here it is plain Python on a condition variable:

    fut = Future()                 pending
    fut.set_result(v)              completes it (once); runs the callbacks in order
    fut.set_exception(e)           completes it with an error that wait()/value() raise
    fut.wait()                     blocks until complete, then the value (or raises)
    fut.then(cb)                   a new Future completed with cb(fut) once fut completes
    fut.add_done_callback(cb)      cb(fut) once complete (its own exceptions are dropped)
    collect_all(futs), wait_all(futs)
"""
import threading
import traceback

__all__ = ["Future", "collect_all", "wait_all"]


class Future:
    """A value set once, later; ``then``/``add_done_callback`` run when it is set."""

    def __init__(self, *, devices=None):
        self._cond = threading.Condition()
        self._done = False
        self._value = None
        self._error = None
        self._callbacks = []

    def __repr__(self):
        return f"<ember.jit.Future object at {hex(id(self))}>"

    def done(self):
        """Whether the value (or an error) has been set."""
        return self._done

    def wait(self):
        """Block until the Future completes; its value, or raise its error."""
        with self._cond:
            while not self._done:
                self._cond.wait()
        return self.value()

    def value(self):
        """The value of a completed Future (raises its error, if it has one)."""
        if not self._done:
            raise RuntimeError("value() called on a Future that has not completed: wait() for "
                               "it first")
        if self._error is not None:
            raise self._error
        return self._value

    def set_result(self, result):
        """Complete the Future with `result` and run its callbacks, in order."""
        self._complete(result, None)

    def set_exception(self, result):
        """Complete the Future with the exception `result`, raised by wait() and value()."""
        assert isinstance(result, Exception), \
            f"{result} is of type {type(result)}, not an Exception."
        self._complete(None, result)

    def _complete(self, value, error):
        with self._cond:
            if self._done:
                raise RuntimeError("Attempting to mark a completed Future as complete again. "
                                   "Note that a Future can only be marked completed once.")
            self._value, self._error, self._done = value, error, True
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for cb in callbacks:
            cb(self)

    def add_done_callback(self, callback):
        """Run callback(self) once complete (now, if it already is). Exceptions the
        callback raises are dropped: handle them inside it."""
        def run(fut):
            try:
                callback(fut)
            except Exception:  # noqa: BLE001 - as PyTorch, a callback's error is dropped
                pass
        self._add(run)

    def then(self, callback):
        """A new Future, completed with callback(self) once self completes (with the
        callback's exception, as a RuntimeError, if it raises)."""
        child = Future()

        def run(fut):
            try:
                result = callback(fut)
            except Exception as e:  # noqa: BLE001 - handed to the child future
                tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
                child.set_exception(RuntimeError(
                    f"Got the following error when running the callback: "
                    f"{type(e).__name__}: {e}\n\n{tb}"))
                return
            child.set_result(result)
        self._add(run)
        return child

    def _add(self, run):
        with self._cond:
            if not self._done:
                self._callbacks.append(run)
                return
        run(self)


def collect_all(futures):
    """A Future completed, once all of `futures` are, with the list of them."""
    combined = Future()
    remaining = [len(futures)]
    lock = threading.Lock()
    if not futures:
        combined.set_result([])
        return combined

    def one_done(_):
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            combined.set_result(list(futures))
    for fut in futures:
        fut.add_done_callback(one_done)
    return combined


def wait_all(futures):
    """Wait for every Future of `futures`; the list of their values (raising the first
    error met)."""
    return [fut.wait() for fut in futures]
