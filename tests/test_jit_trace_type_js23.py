"""ember.jit.trace of a module returns a TopLevelTracedModule, as torch.jit.trace does: a
ScriptModule that is not an instance of the module's class, prints as torch's, shares the
module's parameters, hides its Python attributes and methods, and has .code and .save.
Each check is run on torch's traced module and on ember's."""
import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from tests.jit_roundtrip import to_torch  # noqa: E402


def build(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 3)
            self.body = nn.Sequential(nn.ReLU(), nn.Linear(3, 2))
            self.scale = 2.0

        def forward(self, x):
            return self.body(self.fc(x)) * self.scale

        def helper(self):
            return 1

    lib.manual_seed(0)
    return Net()


def traced_pair():
    ours, theirs = build(ember), build(torch)
    theirs.load_state_dict({k: to_torch(v) for k, v in ours.state_dict().items()})
    x = ember.randn(4, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ours, theirs, ember.jit.trace(ours, x), torch.jit.trace(theirs, to_torch(x))


def test_the_type_is_torchs():
    ours, theirs, e, t = traced_pair()
    assert type(e).__name__ == type(t).__name__ == "TopLevelTracedModule"
    assert type(e).__module__ == "ember.jit._trace" and type(t).__module__ == "torch.jit._trace"
    for lib, traced, orig in ((ember, e, ours), (torch, t, theirs)):
        assert isinstance(traced, lib.jit.ScriptModule) and isinstance(traced, lib.nn.Module)
        assert not isinstance(traced, type(orig))
        assert isinstance(traced, lib.jit._trace.TracedModule)
    assert repr(e) == repr(t)
    assert e.original_name == t.original_name == "Net"


def test_parameters_are_shared_with_the_module():
    ours, theirs, e, t = traced_pair()
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert e.fc.weight is ours.fc.weight and t.fc.weight is theirs.fc.weight
    x = ember.randn(3, 2)
    np.testing.assert_allclose(e(x).detach().numpy(), t(to_torch(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)
    # a step of an optimizer on the traced module's parameters moves the module's
    opt = ember.optim.SGD(e.parameters(), lr=0.1)
    before = ours.fc.weight.detach().numpy().copy()
    e(x).sum().backward()
    opt.step()
    assert not np.allclose(before, ours.fc.weight.detach().numpy())
    np.testing.assert_allclose(e(x).detach().numpy(), ours(x).detach().numpy())


def test_python_attributes_and_methods_are_gone():
    _, _, e, t = traced_pair()
    for traced in (e, t):
        for name in ("scale", "helper"):
            with pytest.raises(AttributeError,
                               match=f"'RecursiveScriptModule' object has no attribute "
                                     f"'{name}'"):
                getattr(traced, name)


def test_train_and_eval_reach_the_module():
    ours, theirs, e, t = traced_pair()
    e.eval()
    t.eval()
    assert e.training == t.training is False
    assert not ours.training and not ours.body[1].training
    e.train()
    assert ours.training and ours.body[1].training and e.training


def test_code_and_save():
    ours, _, e, t = traced_pair()
    assert e.code.startswith("def forward(self,") and "CONSTANTS" not in e.code
    with pytest.raises(NotImplementedError, match="read .code instead"):
        e.graph
    buf = io.BytesIO()
    e.save(buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    x = ember.randn(5, 2)
    np.testing.assert_allclose(loaded(to_torch(x)).detach().numpy(),
                               t(to_torch(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    buf = io.BytesIO()
    ember.jit.save(e, buf)   # the function form alike
    buf.seek(0)
    back = ember.jit.load(buf)
    np.testing.assert_allclose(back(x).detach().numpy(), ours(x).detach().numpy())


def test_trace_module_and_layers_alone():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (ember, torch):
            lin = lib.nn.Linear(2, 2)
            one = lib.jit.trace(lin, lib.ones(1, 2))
            assert type(one).__name__ == "TopLevelTracedModule"
            assert repr(one) == "Linear(original_name=Linear)"
            both = lib.jit.trace_module(lin, {"forward": lib.ones(1, 2)})
            assert type(both).__name__ == "TopLevelTracedModule"
            fn = lib.jit.trace(lambda a: a * 2, lib.ones(2))
            np.testing.assert_allclose(np.asarray(fn(lib.ones(2)).numpy()), [2.0, 2.0])


def test_a_traced_module_traces_with_fx_and_exports_to_onnx():
    ours, _, e, _ = traced_pair()
    gm = ember.fx.symbolic_trace(e)
    x = ember.randn(2, 2)
    np.testing.assert_allclose(gm(x).detach().numpy(), ours(x).detach().numpy())
    pytest.importorskip("onnx")
    buf = io.BytesIO()
    ember.onnx.export(e, (x,), buf)
    assert len(buf.getvalue()) > 0


def test_pickling_is_refused_and_deepcopy_copies():
    import copy
    ours, _, e, t = traced_pair()
    for lib, traced in ((ember, e), (torch, t)):
        with pytest.raises(RuntimeError, match="Tried to serialize object __torch__.*Net "
                                               "which does not have a __getstate__"):
            lib.save(traced, io.BytesIO())
    twin = copy.deepcopy(e)
    assert type(twin).__name__ == "TopLevelTracedModule"
    assert twin.fc.weight is not ours.fc.weight
    x = ember.randn(2, 2)
    np.testing.assert_allclose(twin(x).detach().numpy(), e(x).detach().numpy())
