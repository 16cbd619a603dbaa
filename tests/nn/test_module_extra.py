"""Module methods beyond the basics, compared with torch.nn.Module: extra state in
state_dict, set_submodule, compile, dump_patches/T_destination, xpu/ipu/mtia."""
import copy
import pickle
import warnings

import pytest
import torch

import ember


def with_extra(lib):
    class WithExtra(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)
            self.count = 3

        def get_extra_state(self):
            return {"count": self.count}

        def set_extra_state(self, state):
            self.count = state["count"]

    return WithExtra()


def test_extra_state_saved_and_loaded_like_torch():
    for lib in (torch, ember):
        m = lib.nn.Sequential(with_extra(lib), lib.nn.ReLU())
        sd = m.state_dict()
        assert list(sd) == ["0._extra_state", "0.lin.weight", "0.lin.bias"]
        assert sd["0._extra_state"] == {"count": 3}
        m2 = lib.nn.Sequential(with_extra(lib), lib.nn.ReLU())
        m2[0].count = 0
        assert repr(m2.load_state_dict(sd)) == "<All keys matched successfully>"
        assert m2[0].count == 3


def _outcome(fn):
    try:
        return "ok", repr(fn())
    except Exception as e:   # noqa: BLE001 - the exception type and text are compared
        return type(e).__name__, str(e).replace("torch.", "").replace("ember.", "")


def _extra_state_cases(lib):
    def missing_strict():
        sd = lib.nn.Sequential(with_extra(lib)).state_dict()
        del sd["0._extra_state"]
        return lib.nn.Sequential(with_extra(lib)).load_state_dict(sd)

    def missing_lenient():
        sd = lib.nn.Sequential(with_extra(lib)).state_dict()
        del sd["0._extra_state"]
        return lib.nn.Sequential(with_extra(lib)).load_state_dict(sd, strict=False)

    def unexpected(strict):
        def run():
            sd = lib.nn.Linear(2, 2).state_dict()
            sd["_extra_state"] = 5
            return lib.nn.Linear(2, 2).load_state_dict(sd, strict=strict)
        return run

    return [missing_strict, missing_lenient, unexpected(True), unexpected(False)]


@pytest.mark.parametrize("i", range(4))
def test_extra_state_key_errors_like_torch(i):
    assert _outcome(_extra_state_cases(ember)[i]) == _outcome(_extra_state_cases(torch)[i])


def test_extra_state_load_is_all_or_nothing():
    """A failed load leaves the extra state alone, as it leaves the parameters."""
    src = ember.nn.Sequential(with_extra(ember))
    src[0].count = 7
    sd = src.state_dict()
    sd["0.lin.weight"] = ember.zeros(3, 3)
    dst = ember.nn.Sequential(with_extra(ember))
    with pytest.raises(RuntimeError, match="size mismatch"):
        dst.load_state_dict(sd)
    assert dst[0].count == 3


def test_base_extra_state_methods_raise():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="get_extra_state"):
            lib.nn.Module().get_extra_state()
        with pytest.raises(RuntimeError, match="set_extra_state"):
            lib.nn.Module().set_extra_state(1)


def _set_submodule_run(lib, target, make, strict):
    s = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(lib.nn.ReLU()))
    module = make(lib) if callable(make) else make
    s.set_submodule(target, module, strict=strict)
    return s


SET_SUBMODULE = [("1.0", lambda L: L.nn.Tanh(), False), ("1.0", lambda L: L.nn.Tanh(), True),
                 ("1.new", lambda L: L.nn.Sigmoid(), False),
                 ("1.new", lambda L: L.nn.Sigmoid(), True), ("", lambda L: L.nn.ReLU(), False),
                 ("0", 3, False), ("0.weight", lambda L: L.nn.ReLU(), False),
                 ("2.a", lambda L: L.nn.ReLU(), False), ("1.0.y", lambda L: L.nn.ReLU(), False)]


@pytest.mark.parametrize("target,make,strict", SET_SUBMODULE)
def test_set_submodule_like_torch(target, make, strict):
    assert _outcome(lambda: _set_submodule_run(ember, target, make, strict)) == \
        _outcome(lambda: _set_submodule_run(torch, target, make, strict))


def test_class_attributes():
    assert ember.nn.Module.dump_patches is torch.nn.Module.dump_patches is False
    assert repr(ember.nn.Module.T_destination) == repr(torch.nn.Module.T_destination)
    for name in ("compile", "set_submodule", "get_extra_state", "set_extra_state", "xpu", "ipu",
                 "mtia", "register_module"):
        assert callable(getattr(ember.nn.Module, name))


def test_compile_keeps_module_and_results():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ember.nn.Linear(3, 2)
        x = ember.ones(4, 3)
        y0 = m(x)
        calls = []
        m.register_forward_hook(lambda mod, args, out: calls.append(1))
        assert m.compile() is None
        y = m(x)
    assert ember.equal(y, y0) and calls == [1]   # hooks still run: the call is compiled
    assert type(m) is ember.nn.Linear and list(m.state_dict()) == ["weight", "bias"]
    assert m._compiled_call_impl is not None
    d = copy.deepcopy(m)
    assert ember.equal(d(x), y0)
    m._forward_hooks.clear()    # (a lambda hook does not pickle)
    p = pickle.loads(pickle.dumps(m))
    assert "_compiled_call_impl" not in p.__dict__ and ember.equal(p.to(x.device)(x), y0)


def test_compile_passes_options_to_compile():
    seen = {}
    import ember._threads as threads
    real = threads.compile

    def fake_compile(fn, **kw):
        seen.update(kw)
        return lambda *a, **k: ("compiled", fn(*a, **k))

    threads.compile = fake_compile
    try:
        m = ember.nn.ReLU()
        m.compile(mode="reduce-overhead", fullgraph=True)
        out = m(ember.tensor([-1.0, 2.0]))
    finally:
        threads.compile = real
    assert seen == {"mode": "reduce-overhead", "fullgraph": True}
    assert out[0] == "compiled" and out[1].tolist() == [0.0, 2.0]


@pytest.mark.parametrize("method", ["xpu", "ipu", "mtia"])
def test_unsupported_device_moves_raise_like_torch(method):
    with pytest.raises(Exception) as te:
        getattr(torch.nn.Linear(2, 2), method)()
    with pytest.raises(type(te.value)):
        getattr(ember.nn.Linear(2, 2), method)()
    # without tensors there is nothing to move: the module comes back
    m = ember.nn.ReLU()
    assert getattr(m, method)() is m
    assert getattr(torch.nn.ReLU(), method)() is not None


def test_register_module_is_add_module():
    for lib in (torch, ember):
        m = lib.nn.Module()
        m.register_module("a", lib.nn.ReLU())
        assert list(dict(m.named_children())) == ["a"]
