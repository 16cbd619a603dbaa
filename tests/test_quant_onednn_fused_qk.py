"""torch.ao.nn.intrinsic.quantized ConvAdd2d, ConvAddReLU2d, LinearLeakyReLU, LinearTanh
against PyTorch: on its default engines (x86, fbgemm, qnnpack) their forward raises its
RuntimeError in both; on the oneDNN engine the integers equal PyTorch's. Construction,
reprs, state_dict keys and from_float as PyTorch's."""
import contextlib

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
tnniq = pytest.importorskip("torch.ao.nn.intrinsic.quantized")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@contextlib.contextmanager
def _engine(name):
    old = (torch.backends.quantized.engine, ember.backends.quantized.engine)
    torch.backends.quantized.engine = ember.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine, ember.backends.quantized.engine = old


def _text(x):
    return repr(x).replace("ember.", "torch.")


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:   # noqa: BLE001 (the type and message are compared)
        return type(e).__name__, str(e)


def _quantized(m, a, scale, zp):
    return m.quantize_per_tensor(m.tensor(a), scale, zp, m.quint8)


def _weight(m, w, scales):
    return m.quantize_per_channel(m.tensor(w), m.tensor(scales), m.tensor(np.zeros(len(scales),
                                  np.int64)), 0, m.qint8)


def _pair(name, args, rng, conv):
    shape = (4, 3, 3, 3) if conv else (4, 6)
    w = (rng.standard_normal(shape) * 0.3).astype(np.float32)
    s = rng.uniform(0.005, 0.02, 4)
    b = rng.standard_normal(4).astype(np.float32)
    mods = []
    for m in (torch, ember):
        mod = getattr(tnniq if m is torch else ember.ao.nn.intrinsic.quantized, name)(*args)
        mod.set_weight_bias(_weight(m, w, s), m.tensor(b))
        mod.scale, mod.zero_point = float(rng.uniform(0.02, 0.2)), int(rng.integers(0, 256))
        mods.append(mod)
    mods[1].scale, mods[1].zero_point = mods[0].scale, mods[0].zero_point
    return mods


CASES = [("ConvAdd2d", (3, 4, 3), True), ("ConvAddReLU2d", (3, 4, 3), True),
         ("LinearLeakyReLU", (6, 4, 0.1), False), ("LinearTanh", (6, 4), False)]


def _inputs(rng, conv):
    x = (rng.standard_normal((2, 3, 6, 6) if conv else (5, 6))).astype(np.float32)
    e = (rng.standard_normal((2, 4, 4, 4))).astype(np.float32)
    xs, xz = float(rng.uniform(0.01, 0.1)), int(rng.integers(0, 256))
    es, ez = float(rng.uniform(0.01, 0.1)), int(rng.integers(0, 256))
    return [((_quantized(m, x, xs, xz), _quantized(m, e, es, ez)) if conv
             else (_quantized(m, x, xs, xz),)) for m in (torch, ember)]


@pytest.mark.parametrize("name,args,conv", CASES)
def test_other_engines_refuse_as_pytorch(name, args, conv):
    rng = np.random.default_rng(0)
    t, e = _pair(name, args, rng, conv)
    assert _text(e) == _text(t)
    assert list(e.state_dict()) == list(t.state_dict())
    t_in, e_in = _inputs(rng, conv)
    for engine in ("x86", "fbgemm", "qnnpack"):
        with _engine(engine):
            expected = _outcome(lambda: t(*t_in))
            assert expected[0] == "RuntimeError"
            assert _outcome(lambda: e(*e_in)) == expected


@pytest.mark.parametrize("name,args,conv", CASES)
def test_onednn_integers(name, args, conv):
    rng = np.random.default_rng(1)
    with _engine("onednn"):
        for trial in range(15):
            t, e = _pair(name, args, rng, conv)
            t_in, e_in = _inputs(rng, conv)
            a, b = e(*e_in), t(*t_in)
            assert (a.q_scale(), a.q_zero_point()) == (b.q_scale(), b.q_zero_point())
            np.testing.assert_array_equal(a.int_repr().numpy(), b.int_repr().numpy())


def _observed(m, kind):
    """An observed float fused module (calibrated on one input), as prepare leaves it."""
    nni = m.ao.nn.intrinsic
    qconfig = m.ao.quantization.get_default_qconfig("onednn")
    if kind == "LinearLeakyReLU":
        mod = nni.LinearLeakyReLU(m.nn.Linear(6, 4), m.nn.LeakyReLU(0.2))
    else:
        mod = nni.LinearTanh(m.nn.Linear(6, 4), m.nn.Tanh())
    mod.qconfig = mod[0].qconfig = qconfig
    mod.activation_post_process = qconfig.activation()
    return mod


@pytest.mark.parametrize("kind", ["LinearLeakyReLU", "LinearTanh"])
def test_from_float(kind):
    torch.manual_seed(0)
    t = _observed(torch, kind)
    e = _observed(ember, kind)
    e[0].weight = ember.nn.Parameter(ember.tensor(t[0].weight.detach().numpy()))
    e[0].bias = ember.nn.Parameter(ember.tensor(t[0].bias.detach().numpy()))
    x = np.random.default_rng(2).standard_normal((8, 6)).astype(np.float32)
    t.activation_post_process(t(torch.tensor(x)))
    e.activation_post_process(e(ember.tensor(x)))
    with _engine("onednn"):
        tq = getattr(tnniq, kind).from_float(t)
        eq = getattr(ember.ao.nn.intrinsic.quantized, kind).from_float(e)
        assert _text(eq) == _text(tq)
        xq = [_quantized(m, x, 0.03, 128) for m in (torch, ember)]
        np.testing.assert_array_equal(eq(xq[1]).int_repr().numpy(),
                                      tq(xq[0]).int_repr().numpy())
    if kind == "LinearLeakyReLU":
        assert eq.negative_slope == tq.negative_slope == 0.2


@pytest.mark.parametrize("relu", [False, True])
def test_conv_add_from_float(relu):
    torch.manual_seed(1)
    mods = []
    for m in (torch, ember):
        nni = m.ao.nn.intrinsic
        conv = m.nn.Conv2d(3, 4, 3, padding=1)
        if m is ember:
            conv.weight = ember.nn.Parameter(ember.tensor(mods[0][0].weight.detach().numpy()))
            conv.bias = ember.nn.Parameter(ember.tensor(mods[0][0].bias.detach().numpy()))
        mod = nni.ConvAddReLU2d(conv, m.add, m.nn.ReLU()) if relu else nni.ConvAdd2d(conv, m.add)
        mod.qconfig = conv.qconfig = m.ao.quantization.get_default_qconfig("onednn")
        mod.activation_post_process = mod.qconfig.activation()
        mods.append(mod)
    x = np.random.default_rng(3).standard_normal((1, 3, 5, 5)).astype(np.float32)
    extra = np.random.default_rng(4).standard_normal((1, 4, 5, 5)).astype(np.float32)
    for m, mod in zip((torch, ember), mods):
        mod.activation_post_process(mod(m.tensor(x), m.tensor(extra)))
    name = "ConvAddReLU2d" if relu else "ConvAdd2d"
    with _engine("onednn"):
        tq = getattr(tnniq, name).from_float(mods[0])
        eq = getattr(ember.ao.nn.intrinsic.quantized, name).from_float(mods[1])
        assert _text(eq) == _text(tq)
        outs = [q(_quantized(m, x, 0.03, 128), _quantized(m, extra, 0.02, 120))
                for q, m in ((tq, torch), (eq, ember))]
        np.testing.assert_array_equal(outs[1].int_repr().numpy(), outs[0].int_repr().numpy())
