"""Grad mode and inference mode are per thread, as PyTorch's: no_grad, set_grad_enabled
and inference_mode in one thread leave another thread recording, a new thread starts with
grad mode on and inference mode off whatever the starting thread's modes, and backward
with create_graph in one thread does not switch recording on in another. Each check runs
the same program on ember and on PyTorch and compares what the threads saw."""
import threading

import pytest

import ember

torch = pytest.importorskip("torch")


def _in_thread(fn):
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:   # noqa: BLE001 (reported to the test's thread)
            out["error"] = e
    th = threading.Thread(target=run)
    th.start()
    th.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _new_thread_sees(lib, mode):
    """What a new thread sees while the starting thread is in `mode`."""
    def probe():
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        return (lib.is_grad_enabled(), lib.is_inference_mode_enabled(), y.requires_grad,
                y.is_inference())
    if mode == "no_grad":
        with lib.no_grad():
            seen = _in_thread(probe)
            here = lib.is_grad_enabled()
    elif mode == "set_grad_enabled":
        prev = lib.is_grad_enabled()
        lib.set_grad_enabled(False)
        try:
            seen = _in_thread(probe)
            here = lib.is_grad_enabled()
        finally:
            lib.set_grad_enabled(prev)
    else:
        with lib.inference_mode():
            seen = _in_thread(probe)
            here = lib.is_grad_enabled()
    return seen, here


@pytest.mark.parametrize("mode", ["no_grad", "set_grad_enabled", "inference_mode"])
def test_new_thread_starts_with_grad_on(mode):
    got, want = _new_thread_sees(ember, mode), _new_thread_sees(torch, mode)
    assert got == want
    assert got == ((True, False, True, False), False)


def test_no_grad_in_a_thread_leaves_the_caller_recording():
    def run(lib):
        entered, release = threading.Event(), threading.Event()

        def worker():
            with lib.no_grad():
                entered.set()
                release.wait(10)
                return lib.is_grad_enabled()
        out = {}
        th = threading.Thread(target=lambda: out.update(v=worker()))
        th.start()
        assert entered.wait(10)
        try:
            x = lib.ones(2, requires_grad=True)
            recorded = (x * 3).requires_grad, lib.is_grad_enabled()
        finally:
            release.set()
            th.join()
        return recorded, out["v"]
    assert run(ember) == run(torch) == ((True, True), False)


def test_interleaved_modes_two_threads():
    # two threads flip their modes in lockstep: each sees only its own
    def run(lib):
        barrier = threading.Barrier(2)
        seen = {}

        def worker(name, off):
            x = lib.ones(1, requires_grad=True)
            got = []
            for step in range(4):
                barrier.wait(10)
                with lib.set_grad_enabled(not off if step % 2 else off):
                    barrier.wait(10)
                    got.append((x + 1).requires_grad)
                    barrier.wait(10)
            seen[name] = got
        ths = [threading.Thread(target=worker, args=(n, off)) for n, off in (("a", True),
                                                                               ("b", False))]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        return seen
    assert run(ember) == run(torch) == {"a": [True, False, True, False],
                                        "b": [False, True, False, True]}


def test_backward_in_a_thread_keeps_the_callers_mode():
    # a create_graph backward in a worker runs with recording on in that thread only;
    # the caller stays in no_grad throughout, and the worker's result is the same as torch's
    def run(lib):
        done, read = threading.Event(), threading.Event()
        seen = []
        with lib.no_grad():
            def worker():
                with lib.enable_grad():
                    x = lib.tensor([1.5, -2.0], requires_grad=True)
                    g, = lib.autograd.grad((x ** 3).sum(), x, create_graph=True)
                    done.set()
                    read.wait(10)   # still in enable_grad while the caller looks
                    return g.requires_grad, g.detach().tolist()
            out = {}
            th = threading.Thread(target=lambda: out.update(v=worker()))
            th.start()
            done.wait(10)
            seen.append(lib.is_grad_enabled())
            read.set()
            th.join()
            seen.append(lib.is_grad_enabled())
        return seen, out["v"]
    assert run(ember) == run(torch) == ([False, False], (True, [6.75, 12.0]))


def test_decorated_function_mode_per_thread():
    @ember.no_grad()
    def f(x):
        return (x * 2).requires_grad, _in_thread(lambda: (x * 2).requires_grad)
    assert f(ember.ones(1, requires_grad=True)) == (False, True)


def test_saved_tensor_hooks_are_per_thread():
    # saved_tensors_hooks in force in one thread pack nothing another thread saves, as
    # PyTorch's (its saved-tensor default hooks are thread-local)
    def run(lib):
        packed = []

        def work():
            x = lib.ones(2, requires_grad=True)
            y = (x * x).sum()
            y.backward()
            return x.grad.tolist()
        with lib.autograd.graph.saved_tensors_hooks(lambda t: packed.append(1) or t,
                                                    lambda t: t):
            in_thread = _in_thread(work)
            n_thread = len(packed)
            here = work()
        return in_thread, n_thread, here, len(packed)
    assert run(ember) == run(torch) == ([2.0, 2.0], 0, [2.0, 2.0], 2)
