"""ember/_fronts.py: one mechanism for the wrappers ("fronts") that features put in front of
ember's functions wherever ember binds them (quantized kernels, __torch_dispatch__ of
in-place methods and factories, autocast entries, the __torch_function__ dispatcher, the
profiler's composite events).

The helpers are tested on namespaces of their own; the order of the layers in fresh
processes (each feature installs once per process): a layer installed while the
reversible ones (the dispatcher, the profiler's wrappers) are laid goes beneath them, so
undoing them leaves it in place. Before the shared mechanism, each of the scenarios below
lost a layer.
"""
import functools
import os
import subprocess
import sys
import textwrap

import pytest

from ember import _fronts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _f():
    return "f"


def _g():
    return "g"


class Holder:
    pass


def _front_of(f):
    def front():
        return "front of " + f()
    return _fronts.named_as(front, f)


def test_one_front_per_function_bound_under_every_name_and_restored():
    space = {"f": _f, "alias": _f, "g": _g, "__f__": _f, "n": 3}

    class Holder:
        m = _f

    fronts = _fronts.Fronts()
    front = fronts.make(_f, lambda: _front_of(_f))
    assert fronts.make(_f, lambda: pytest.fail("made twice")) is front
    assert front.__name__ == "_f" and front.__wrapped__ is _f and front() == "front of f"
    records = _fronts.rebind(fronts, [space, Holder], dunders=False)
    assert space["f"] is front and space["alias"] is front
    assert space["g"] is _g and space["__f__"] is _f and Holder.__dict__["m"] is front
    assert len(records) == 3
    space["alias"] = _g   # bound to something else since: restore leaves it
    _fronts.restore(records)
    assert records == []
    assert space == {"f": _f, "alias": _g, "g": _g, "__f__": _f, "n": 3}
    assert Holder.__dict__["m"] is _f


def test_restore_in_any_case_puts_back_what_was_bound():
    space = {"f": _f}
    fronts = _fronts.Fronts()
    fronts.make(_f, lambda: _front_of(_f))
    records = _fronts.rebind(fronts, [space])
    space["f"] = _g
    _fronts.restore(records, held_only=False)
    assert space["f"] is _f


def test_under_sees_a_function_behind_other_layers_wrappers():
    fronts = _fronts.Fronts()
    front = fronts.make(_f, lambda: _front_of(_f))

    @functools.wraps(_f)
    def other_layer(*a):
        return _f(*a)

    def dispatcher(*a):
        return _f(*a)
    dispatcher._ember_undispatched = _f   # as the __torch_function__ dispatcher keeps it

    assert fronts.get(_f) is front and fronts.get(other_layer) is None
    assert fronts.under(other_layer) is front and fronts.under(dispatcher) is front
    assert fronts.under(_g) is None and fronts.under(Holder) is None
    assert fronts.under(front) is None   # the front itself, or a wrapper of it: as it is
    assert fronts.under(functools.wraps(front)(lambda: None)) is None
    space = {"held": other_layer, "plain": _f}
    _fronts.rebind(fronts, [space], through_wrappers=True)
    assert space == {"held": front, "plain": front}


def test_beneath_lifts_the_outer_layers_and_lays_them_again(monkeypatch):
    monkeypatch.setattr(_fronts, "_LAYERS", [])
    events = []

    def layer(name, laid):
        def lift():
            events.append("lift " + name)
            return name if laid else None

        def lay(token):
            events.append("lay " + token)
        return lift, lay

    _fronts.layer(2, *layer("outer", True))
    _fronts.layer(1, *layer("inner", True))
    _fronts.layer(1, *layer("idle", False))
    assert _fronts.beneath(lambda: events.append("install") or 7, rank=1) == 7
    assert events == ["lift outer", "lift idle", "lift inner", "install", "lay inner",
                      "lay outer"]
    events.clear()
    _fronts.beneath(lambda: events.append("install"), rank=2)
    assert events == ["lift outer", "install", "lay outer"]
    events.clear()
    with pytest.raises(ZeroDivisionError):
        _fronts.beneath(lambda: 1 / 0, rank=1)
    assert events[-2:] == ["lay inner", "lay outer"]


def _run(code):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_subclass_defined_while_profiling_keeps_dispatch_after_the_profile():
    """The dispatcher goes beneath the profiler's timed wrappers: stopping the profiler
    used to put the undispatched functions back (matmul, linear are timed composites)."""
    out = _run("""
        import ember
        from ember.profiler import profile
        seen = []
        with profile():
            class Logged(ember.Tensor):
                @classmethod
                def __torch_function__(cls, func, types, args=(), kwargs=None):
                    seen.append(func.__name__)
                    return super().__torch_function__(func, types, args, kwargs or {})
        x = ember.ones(2, 2).as_subclass(Logged)
        seen.clear()
        y = ember.matmul(x, x)
        z = ember.nn.functional.linear(x, x)
        print(seen, type(y).__name__, type(z).__name__)
    """)
    assert out.split() == ["['matmul',", "'linear']", "Logged", "Logged"]


def test_quantized_fronts_made_while_profiling_survive_the_profile():
    out = _run("""
        import ember
        from ember import nn
        from ember.profiler import profile
        with profile():
            q = ember.quantize_per_tensor(ember.randn(1, 1, 4, 4), 0.1, 0, ember.quint8)
        out = nn.MaxPool2d(2)(q)
        print(out.dtype, tuple(out.shape))
    """)
    assert out.split() == ["ember.quint8", "(1,", "1,", "2,", "2)"]


def test_dispatch_fronts_loaded_while_profiling_survive_the_profile():
    out = _run("""
        import sys
        import ember
        from ember.profiler import profile
        assert "ember.utils._python_dispatch" not in sys.modules
        with profile():
            from ember.utils._python_dispatch import TorchDispatchMode
        seen = []

        class Log(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                seen.append(str(func))
                return func(*args, **(kwargs or {}))
        x = ember.ones(2)
        with Log():
            x.add_(1)
            ember.zeros(2)
        print(seen)
    """)
    assert "aten.add_.Tensor" in out and "aten.zeros.default" in out


def test_autocast_entries_installed_while_profiling_survive_the_profile():
    out = _run("""
        import ember
        from ember.profiler import profile
        F = ember.nn.functional
        with profile():
            with ember.autocast("cpu", dtype=ember.bfloat16):
                pass
        print(hasattr(F.layer_norm, "autocast_op"), hasattr(F.mse_loss, "autocast_op"),
              hasattr(ember._ops.pooling.max_pool, "autocast_op"))
    """)
    assert out.split() == ["True", "True", "True"]


def test_fronts_installed_while_dispatching_go_beneath_the_dispatcher():
    """Quantized fronts and autocast entries installed while the __torch_function__
    dispatcher is on go beneath it: deactivate() leaves no dispatcher in front of any
    function (it used to stay under them, paid on every call)."""
    out = _run("""
        import ember
        from ember import _torch_function as tf
        F = ember.nn.functional
        tf.activate()
        q = ember.quantize_per_tensor(ember.randn(1, 1, 4, 4), 0.1, 0, ember.quint8)
        with ember.autocast("cpu", dtype=ember.bfloat16):
            pass
        tf.deactivate()
        made = {id(w) for _, w in tf._MADE.values()}

        def dispatched(f):
            for _ in range(8):
                if id(f) in made:
                    return True
                f = getattr(f, "__wrapped__", None)
            return False
        fns = (ember.cat, ember.sum, F.max_pool2d, F.layer_norm, ember.flatten)
        print([dispatched(f) for f in fns], ember.cat([q, q]).dtype,
              hasattr(F.layer_norm, "autocast_op"))
    """)
    assert out.split() == ["[False,", "False,", "False,", "False,", "False]", "ember.quint8",
                           "True"]
