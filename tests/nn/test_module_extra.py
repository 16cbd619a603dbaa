"""Module methods beyond the basics, compared with torch.nn.Module: extra state in
state_dict, set_submodule, compile, dump_patches/T_destination, xpu/ipu/mtia; and the
smaller nn names: RNNCellBase, Container, NLLLoss2d, factory_kwargs, common_types, nn.grad."""
import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.oracle.harness import T, assert_same


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


# ---------------------------------------------------------------- nn names beyond Module

def test_rnn_cell_base_like_torch():
    for args in [(3, 4, True, 2), (3, 4, False, 1)]:
        t, e = torch.nn.RNNCellBase(*args), ember.nn.RNNCellBase(*args)
        assert repr(e) == repr(t)
        assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    for cell in ("RNNCell", "LSTMCell", "GRUCell"):
        assert issubclass(getattr(ember.nn, cell), ember.nn.RNNCellBase)
    assert np.abs(ember.nn.RNNCellBase(3, 4, True, 2).weight_ih.detach().cpu().numpy()).max() <= 0.5


@pytest.mark.parametrize("make", [lambda L: L.nn.Container(a=L.nn.ReLU()),
                                  lambda L: L.nn.NLLLoss2d(ignore_index=1)])
def test_deprecated_modules_warn_like_torch(make):
    with pytest.warns(FutureWarning) as tw:
        t = make(torch)
    with pytest.warns(FutureWarning) as ew:
        e = make(ember)
    assert str(ew[0].message) == str(tw[0].message)
    assert repr(e) == repr(t)


def test_nll_loss_2d_computes_nll_loss():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    y = rng.integers(0, 3, (2, 4, 4))
    with pytest.warns(FutureWarning):
        t = torch.nn.NLLLoss2d(ignore_index=1)(torch.from_numpy(x), torch.from_numpy(y))
    with pytest.warns(FutureWarning):
        e = ember.nn.NLLLoss2d(ignore_index=1)(ember.from_numpy(x), ember.from_numpy(y))
    np.testing.assert_allclose(e.item(), t.item(), rtol=1e-6)


FACTORY_KWARGS = [None, {}, {"device": "cpu", "dtype": None},
                  {"factory_kwargs": {"dtype": 1}, "device": "cpu"},
                  {"factory_kwargs": {"device": 1}, "device": "cpu"},
                  {"device": "cpu", "bad": 1}, {"memory_format": 2}]


@pytest.mark.parametrize("kwargs", FACTORY_KWARGS)
def test_factory_kwargs_like_torch(kwargs):
    try:
        expected = torch.nn.factory_kwargs(kwargs)
    except TypeError:
        with pytest.raises(TypeError):
            ember.nn.factory_kwargs(kwargs)
        return
    assert ember.nn.factory_kwargs(kwargs) == expected   # (dicts: key order is torch's set's)


def test_common_types_names_like_torch():
    names = {n for n in dir(torch.nn.common_types) if n.startswith("_s") or n.startswith("_r")
             or n in ("_tensor_list_t", "_maybe_indices_t")}
    assert names and names <= set(dir(ember.nn.common_types))


CONV_GRADS = [  # (nd, input shape, weight shape, stride, padding, dilation, groups)
    (1, (2, 4, 9), (6, 2, 3), 2, 1, 1, 2),
    (2, (2, 3, 7, 6), (4, 3, 3, 2), 1, (1, 0), (2, 1), 1),
    (2, (1, 4, 8, 8), (4, 1, 3, 3), 3, 0, 1, 4),
    (3, (1, 2, 5, 4, 5), (3, 2, 2, 2, 3), (1, 2, 1), 1, 1, 1),
]


@pytest.mark.parametrize("nd,xs,ws,stride,padding,dilation,groups", CONV_GRADS)
def test_nn_grad_conv_like_torch(nd, xs, ws, stride, padding, dilation, groups):
    rng = np.random.default_rng(nd)
    x, w = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ws).astype(np.float32)
    conv = getattr(torch.nn.functional, f"conv{nd}d")
    ys = tuple(conv(torch.from_numpy(x), torch.from_numpy(w), None, stride, padding, dilation,
                    groups).shape)
    g = rng.standard_normal(ys).astype(np.float32)
    results = {}
    for lib in (torch, ember):
        grad_fns = lib.nn.grad
        tw = T(lib, w, requires_grad=True)
        tg = T(lib, g, requires_grad=True)
        gx = getattr(grad_fns, f"conv{nd}d_input")(xs, tw, tg, stride, padding, dilation, groups)
        gw = getattr(grad_fns, f"conv{nd}d_weight")(T(lib, x), ws, tg, stride, padding,
                                                    dilation, groups)
        # both are differentiable: in the weight and in grad_output
        (gx * gx).sum().backward()
        results[lib] = (gx, gw, tw.grad, tg.grad)
    for e, t, what in zip(results[ember], results[torch], ("input", "weight", "dw", "dg")):
        assert_same(e, t, 1e-4, 1e-4, what)


def test_nn_grad_checks_grad_output_shape():
    with pytest.raises(RuntimeError):
        torch.nn.grad.conv2d_input((1, 1, 5, 5), torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))
    with pytest.raises(RuntimeError, match="grad_output"):
        ember.nn.grad.conv2d_input((1, 1, 5, 5), ember.ones(1, 1, 3, 3), ember.ones(1, 1, 2, 2))


# ---------------------------------------------------------------- nn.utils

@pytest.mark.parametrize("make", [lambda L: L.nn.utils.skip_init(L.nn.Linear, 3, 4),
                                  lambda L: L.nn.utils.skip_init(L.nn.Linear, 3, 4, bias=False,
                                                                 device="cpu"),
                                  lambda L: L.nn.utils.skip_init(L.nn.Conv2d, 2, 3, 3,
                                                                 dtype=L.float64),
                                  lambda L: L.nn.utils.skip_init(L.nn.BatchNorm1d, 4)])
def test_skip_init_like_torch(make):
    t, e = make(torch), make(ember)
    assert repr(e) == repr(t)
    assert [(n, tuple(v.shape), str(v.dtype).split(".")[1], v.device.type)
            for n, v in e.state_dict().items()] == \
        [(n, tuple(v.shape), str(v.dtype).split(".")[1], v.device.type)
         for n, v in t.state_dict().items()]
    assert all(type(p) is ember.nn.Parameter for p in e.parameters())


@pytest.mark.parametrize("cls", ["int", "ReLU"])
def test_skip_init_errors_like_torch(cls):
    def run(L):
        L.nn.utils.skip_init(int if cls == "int" else L.nn.ReLU)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def _grads_after(lib, fn, grads):
    params = []
    for g in grads:
        p = lib.nn.Parameter(T(lib, np.ones_like(g)))
        p.grad = T(lib, g)
        params.append(p)
    result = fn(lib, params)
    return result, [p.grad for p in params]


CLIPS = [
    ("with-norm", lambda L, ps: L.nn.utils.clip_grads_with_norm_(
        ps, 1.0, L.nn.utils.get_total_norm([p.grad for p in ps]))),
    ("with-norm-generator", lambda L, ps: L.nn.utils.clip_grads_with_norm_(
        (p for p in ps), 0.5, L.nn.utils.get_total_norm(p.grad for p in ps))),
    ("with-norm-no-clip", lambda L, ps: L.nn.utils.clip_grads_with_norm_(
        ps[0], 100.0, L.nn.utils.get_total_norm(ps[0].grad))),
    ("with-inf-norm", lambda L, ps: L.nn.utils.clip_grads_with_norm_(
        ps, 1.0, L.nn.utils.get_total_norm([p.grad for p in ps], float("inf")))),
    ("norm", lambda L, ps: L.nn.utils.clip_grad_norm_((p for p in ps), 1.0, 3.0)),
    ("total-norm-empty", lambda L, ps: L.nn.utils.get_total_norm([])),
]


@pytest.mark.parametrize("name,fn", CLIPS, ids=[c[0] for c in CLIPS])
def test_clip_grads_like_torch(name, fn):
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((3, 4)).astype(np.float32),
             rng.standard_normal(5).astype(np.float32)]
    t_res, t_grads = _grads_after(torch, fn, grads)
    e_res, e_grads = _grads_after(ember, fn, grads)
    assert (e_res is None) == (t_res is None)
    if t_res is not None:
        assert_same(e_res, t_res, 1e-5, 1e-6, "returned norm")
    assert_same(e_grads, t_grads, 1e-5, 1e-6, "grads")


@pytest.mark.parametrize("nd", [2, 3])
def test_convert_conv_weight_memory_format_like_torch(nd):
    def build(L):
        conv = getattr(L.nn, f"Conv{nd}d")
        conv_t = getattr(L.nn, f"ConvTranspose{nd}d")
        return L.nn.Sequential(conv(2, 3, 2), L.nn.Sequential(conv_t(3, 2, 2)), L.nn.Linear(2, 2))

    results = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        m = build(lib)
        fmt = lib.channels_last if nd == 2 else lib.channels_last_3d
        weight, values = m[0].weight, m[0].weight.detach().clone()
        convert = getattr(lib.nn.utils, f"convert_conv{nd}d_weight_memory_format")
        assert convert(m, fmt) is m
        assert m[0].weight is weight and lib.equal(m[0].weight, values)
        results[lib] = [(m[0].weight.is_contiguous(), m[0].weight.is_contiguous(memory_format=fmt),
                         m[0].weight.stride(), m[1][0].weight.stride(), m[2].weight.stride())]
    assert results[ember] == results[torch]
    assert hasattr(ember.nn.utils.memory_format, f"convert_conv{nd}d_weight_memory_format")


@pytest.mark.parametrize("name,args", [("_single", (3,)), ("_pair", (3,)), ("_pair", ([1, 2],)),
                                       ("_triple", ((1, 2, 3),)), ("_quadruple", (0,)),
                                       ("_reverse_repeat_tuple", ((1, 2), 2)),
                                       ("_list_with_default", ([None, 3], [1, 2, 5, 6])),
                                       ("_list_with_default", (4, [1])),
                                       ("_list_with_default", ([None, 3], [1, 2]))])
def test_modules_utils_helpers_like_torch(name, args):
    import torch.nn.modules.utils as tu
    import ember.nn.modules.utils as eu
    assert _outcome(lambda: getattr(eu, name)(*args)) == _outcome(lambda: getattr(tu, name)(*args))
