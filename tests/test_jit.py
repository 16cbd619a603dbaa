"""ember.jit: TorchScript's Python API running eagerly. What script/trace return computes
what torch's compiled version computes; the helpers behave as torch's do outside
TorchScript; save of a module ember cannot write TorchScript code for raises
NotImplementedError (archives: tests/test_jit_archive.py)."""
import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest
import torch

import ember
import ember.jit
from ember.jit import _TRACING, _WARNED


class Net:
    """A two-layer module built in both libraries with the same weights."""

    @staticmethod
    def build(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
        return model

    @staticmethod
    def pair():
        t = Net.build(torch)
        e = Net.build(ember)
        e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
        return e, t


x_np = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)


def test_script_returns_the_module_and_matches_torch():
    e, t = Net.pair()
    _WARNED.clear()
    with pytest.warns(UserWarning, match="no TorchScript compiler"):
        scripted = ember.jit.script(e)
    assert scripted is e
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # warns once per process
        assert ember.jit.script(e) is e
    expected = torch.jit.script(t)(torch.tensor(x_np)).detach().numpy()
    np.testing.assert_allclose(scripted(ember.tensor(x_np)).detach().numpy(), expected,
                               rtol=1e-6, atol=1e-6)


def total(x):
    return x.sum()


def test_script_of_a_function_and_a_decorator():
    def f(x):
        return x * 2 + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = ember.jit.script(f)
        assert g is f

        @ember.jit.script
        def h(x):
            return x.sum()
        t_h = torch.jit.script(total)
    assert h(ember.ones(3)).item() == t_h(torch.ones(3)).item()


def test_trace_runs_the_function_once_on_the_examples():
    e, t = Net.pair()
    calls = []

    def f(x, y):
        calls.append(ember.jit.is_tracing())
        return e(x) + y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = ember.jit.trace(f, (ember.tensor(x_np), ember.ones(2)))
    assert traced is f and calls == [True]
    assert not ember.jit.is_tracing() and _TRACING[0] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = ember.jit.trace(e, ember.tensor(x_np))     # one tensor: one argument
        t_traced = torch.jit.trace(t, torch.tensor(x_np))
    np.testing.assert_allclose(module(ember.tensor(x_np)).detach().numpy(),
                               t_traced(torch.tensor(x_np)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_trace_surfaces_errors_and_restores_state():
    def bad(x):
        raise ValueError("inside the traced function")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (ember, torch):
            with pytest.raises(ValueError, match="inside the traced function"):
                lib.jit.trace(bad, lib.ones(1))
            with pytest.raises(TypeError):
                lib.jit.trace(lambda x: x, example_inputs=None)
    assert not ember.jit.is_tracing()


def test_trace_kwargs_and_trace_module():
    e, _ = Net.pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = []
        ember.jit.trace(lambda x, scale: got.append(scale), example_kwarg_inputs={
            "x": ember.ones(1), "scale": 3})
        assert got == [3]
        traced = ember.jit.trace_module(e, {"forward": ember.tensor(x_np)})
        assert type(traced).__name__ == "TopLevelTracedModule" and traced._modules["0"] is e[0]
        with pytest.raises(AttributeError):
            ember.jit.trace_module(lambda x: x, {"forward": ember.ones(1)})


def test_decorators_return_their_function():
    def f(x):
        return x + 1
    for name in ("unused", "export", "script_method", "script_if_tracing", "interface"):
        assert getattr(ember.jit, name)(f) is f
    assert ember.jit.ignore(f) is f
    assert ember.jit.ignore(drop=True)(f) is f

    class M(ember.nn.Module):
        @ember.jit.ignore
        def helper(self, x):
            return x * 3

        @ember.jit.export
        def forward(self, x):
            return self.helper(x)
    assert M()(ember.ones(1)).item() == 3.0


def test_flags_annotate_final_attribute():
    assert ember.jit.is_scripting() is torch.jit.is_scripting() is False
    assert ember.jit.is_tracing() is torch.jit.is_tracing() is False
    value = [1, 2]
    assert ember.jit.annotate(List[int], value) is value
    assert ember.jit.Final is torch.jit.Final
    assert ember.jit.Attribute(3, int) == tuple(torch.jit.Attribute(3, int))
    assert ember.jit.Attribute(3, int).value == 3

    class S(ember.jit.ScriptModule):
        def __init__(self):
            super().__init__()
            self.count = ember.jit.Attribute(0, int)
    assert S().count == 0
    assert isinstance(S(), ember.nn.Module)


def test_fork_and_wait_as_torch():
    for lib in (ember, torch):
        future = lib.jit.fork(lambda a, b=0: a + b, 2, b=3)
        assert future.done() and future.wait() == 5 and lib.jit.wait(future) == 5
        assert future.value() == 5
        with pytest.raises(ValueError):
            lib.jit.fork(lambda: (_ for _ in ()).throw(ValueError("boom")))
    chained = ember.jit.fork(lambda: 4).then(lambda f: f.wait() * 2)
    assert chained.wait() == 8


@pytest.mark.parametrize("value,kind", [
    ([1, 2], List[int]), ([1, "a"], List[int]), ({"a": 1}, Dict[str, int]),
    ({"a": "b"}, Dict[str, int]), (None, Optional[int]), (3, Optional[int]),
    ((1, "a"), Tuple[int, str]), ((1, 2), Tuple[int, str]), (3.0, float), ("s", int),
])
def test_isinstance_matches_torch(value, kind):
    assert ember.jit.isinstance(value, kind) == torch.jit.isinstance(value, kind)


def test_freeze_and_optimize_for_inference_return_the_module():
    e, _ = Net.pair()
    e.eval()
    assert ember.jit.freeze(e) is e
    assert ember.jit.optimize_for_inference(e) is e
    with ember.jit.optimized_execution(False), ember.jit.fuser("fuser1"):
        e(ember.tensor(x_np))


def test_save_of_an_untemplated_module_and_compilation_unit_raise_not_implemented(tmp_path):
    # (archives: tests/test_jit_archive.py)
    class Repeat(ember.nn.Module):
        def forward(self, x):
            k = 0
            for _ in range(x.size(0)):   # a Python counter in a loop on a traced size
                x = x * k
                k += 1
            return x
    with pytest.raises(NotImplementedError, match="state_dict"):
        ember.jit.save(Repeat(), str(tmp_path / "m.pt"))
    with pytest.raises(NotImplementedError):
        ember.jit.CompilationUnit("def f(x): return x")


def test_reachable_as_torch_jit():
    assert ember.jit is __import__("ember.jit").jit
    assert issubclass(ember.jit.ScriptModule, ember.nn.Module)
    assert not isinstance(ember.nn.Linear(1, 1), ember.jit.ScriptFunction)
