"""Eager-mode quantization workflows on ember and on PyTorch, the same program on both:
fuse_modules, prepare (observer placement, calibration), convert (quantized outputs),
quantize_dynamic (MLP, LSTM), prepare_qat (training losses, converted outputs), module
reprs and state_dicts, the aliases (torch.quantization, torch.nn.quantized ...) and errors.

Tolerances: quantized outputs equal PyTorch's except where a float32 convolution's last bit
moved an observer's range by one ulp (then an output may differ by one quantum: checked as
"all within one quantum, nearly all equal"); dynamic Linear/LSTM outputs within 1e-6
(float32 rounding of fbgemm's output scaling)."""
import io
import re

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")


def _np(t):
    t = t.detach()
    if getattr(t, "is_quantized", False):
        t = t.dequantize()
    return np.asarray(t.cpu().numpy() if hasattr(t, "cpu") else t.numpy())


def _copy_weights(src, dst):
    dst.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                         src.state_dict().items()})


def _text(module):
    return repr(module).replace("ember.", "torch.")


def _shape_of(text):
    """A repr with its floating-point numbers blanked (observed ranges may differ in the
    last bit after a float32 convolution)."""
    return re.sub(r"-?\d+\.\d+(e-?\d+)?", "#", text)


def _conv_net(m):
    nn = m.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = m.ao.quantization.QuantStub()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(8, 8, 3, stride=2)
            self.relu2 = nn.ReLU()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, 4)
            self.skip = nn.quantized.FloatFunctional()
            self.dequant = m.ao.quantization.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            x = self.relu1(self.bn1(self.conv1(x)))
            x = self.skip.add(x, x)
            x = self.relu2(self.conv2(x))
            x = self.pool(x).flatten(1)
            return self.dequant(self.fc(x))

    return Net()


def _pair():
    torch.manual_seed(0)
    t = _conv_net(torch)
    with torch.no_grad():
        t.bn1.running_mean.uniform_(-0.5, 0.5)
        t.bn1.running_var.uniform_(0.5, 2.0)
    e = _conv_net(ember)
    _copy_weights(t, e)
    return t.eval(), e.eval()


FUSE_LIST = [["conv1", "bn1", "relu1"], ["conv2", "relu2"]]


def test_fuse_modules_eval_folds_batch_norm():
    t, e = _pair()
    tf = torch.ao.quantization.fuse_modules(t, FUSE_LIST)
    ef = ember.ao.quantization.fuse_modules(e, FUSE_LIST)
    assert _text(ef) == repr(tf)
    for name, value in tf.state_dict().items():
        np.testing.assert_allclose(_np(ef.state_dict()[name]), _np(value), rtol=1e-6,
                                   atol=1e-7, err_msg=name)
    x = np.random.default_rng(0).standard_normal((2, 3, 10, 10)).astype(np.float32)
    np.testing.assert_allclose(_np(ef(ember.tensor(x))), _np(tf(torch.tensor(x))),
                               rtol=1e-5, atol=1e-6)
    # the original model is untouched (fuse_modules works on a copy)
    assert type(e.bn1).__name__ == "BatchNorm2d"


def test_fuse_modules_qat_and_linear_bn():
    for m in (torch, ember):
        net = _conv_net(m).train()
        fused = m.ao.quantization.fuse_modules_qat(net, FUSE_LIST)
        assert type(fused.conv1).__name__ == "ConvBnReLU2d"
        assert type(fused.conv2).__name__ == "ConvReLU2d"
        seq = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.BatchNorm1d(4)).train()
        assert type(m.ao.quantization.fuse_modules_qat(seq, ["0", "1"])[0]).__name__ == \
            "LinearBn1d"
    with pytest.raises(AssertionError, match="did not find fuser method"):
        ember.ao.quantization.fuse_modules(_conv_net(ember).eval(), ["conv1", "fc"])
    with pytest.raises(AssertionError, match="same mode"):
        net = _conv_net(ember)
        net.bn1.eval()
        ember.ao.quantization.fuse_modules(net, ["conv1", "bn1"])


def _static(m, model, batches):
    fused = m.ao.quantization.fuse_modules(model, FUSE_LIST)
    fused.qconfig = m.ao.quantization.get_default_qconfig("x86")
    prepared = m.ao.quantization.prepare(fused)
    for b in batches:
        prepared(m.tensor(b))
    return prepared


def _observers(prepared):
    return {name: mod for name, mod in prepared.named_modules()
            if name.endswith("activation_post_process")}


def _within_one_quantum(got, want, scale):
    """Dequantized outputs that agree but for float32 noise (a scale one ulp apart), with
    at most a tenth of them one quantum apart."""
    diff = np.abs(got - want)
    assert diff.max() <= scale * 1.001, diff.max()
    assert (diff > scale / 2).mean() <= 0.1, (diff > scale / 2).mean()


def test_prepare_convert_static_conv_net():
    t, e = _pair()
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((4, 3, 10, 10)).astype(np.float32) * (i + 1)
               for i in range(3)]
    tp, ep = _static(torch, t, batches), _static(ember, e, batches)
    assert _shape_of(_text(ep)) == _shape_of(repr(tp))
    t_obs, e_obs = _observers(tp), _observers(ep)
    assert sorted(t_obs) == sorted(e_obs)
    for name in t_obs:
        ts, tz = t_obs[name].calculate_qparams()
        es, ez = e_obs[name].calculate_qparams()
        np.testing.assert_allclose(_np(es), _np(ts), rtol=3e-7, err_msg=name)
        assert tz.tolist() == ez.tolist(), name
    tq = torch.ao.quantization.convert(tp)
    eq = ember.ao.quantization.convert(ep)
    assert [type(c).__name__ for c in eq.children()] == [type(c).__name__
                                                         for c in tq.children()]
    assert list(eq.state_dict()) == list(tq.state_dict())
    np.testing.assert_array_equal(eq.conv1.weight().int_repr().numpy(),
                                  tq.conv1.weight().int_repr().numpy())
    x = rng.standard_normal((4, 3, 10, 10)).astype(np.float32)
    _within_one_quantum(_np(eq(ember.tensor(x))), _np(tq(torch.tensor(x))), tq.fc.scale)
    # the quantized model is left alone by prepare's bookkeeping
    assert not hasattr(eq.conv1, "qconfig") and not hasattr(eq.conv1, "activation_post_process")


def test_quantized_state_dict_saved_by_torch_loads():
    t, e = _pair()
    batches = [np.random.default_rng(2).standard_normal((4, 3, 10, 10)).astype(np.float32)]
    tq = torch.ao.quantization.convert(_static(torch, t, batches))
    eq = ember.ao.quantization.convert(_static(ember, e, batches))
    buf = io.BytesIO()
    torch.save(tq.state_dict(), buf)
    buf.seek(0)
    state = ember.load(buf)
    eq.load_state_dict(state)
    assert eq.fc.scale == tq.fc.scale and eq.fc.zero_point == tq.fc.zero_point
    x = np.random.default_rng(3).standard_normal((2, 3, 10, 10)).astype(np.float32)
    np.testing.assert_array_equal(_np(eq(ember.tensor(x))), _np(tq(torch.tensor(x))))


def _mlp(m):
    return m.nn.Sequential(m.nn.Linear(16, 32), m.nn.ReLU(), m.nn.Linear(32, 5))


@pytest.mark.parametrize("spec", ["set", "dict", "default"])
def test_quantize_dynamic_mlp(spec):
    torch.manual_seed(0)
    t = _mlp(torch)
    e = _mlp(ember)
    _copy_weights(t, e)

    def quantized(m, model):
        qc = m.ao.quantization
        if spec == "set":
            return qc.quantize_dynamic(model, {m.nn.Linear}, dtype=m.qint8)
        if spec == "dict":
            return qc.quantize_dynamic(model, {"0": qc.per_channel_dynamic_qconfig})
        return qc.quantize_dynamic(model)

    tq, eq = quantized(torch, t), quantized(ember, e)
    assert _text(eq) == repr(tq)
    for i in range(4):
        x = np.random.default_rng(i).standard_normal((7, 16)).astype(np.float32) * (i + 1)
        np.testing.assert_allclose(_np(eq(ember.tensor(x))), _np(tq(torch.tensor(x))),
                                   rtol=1e-6, atol=1e-6)
    assert list(eq.state_dict()) == list(tq.state_dict())


def test_dynamic_linear_state_dict_from_torch():
    torch.manual_seed(1)
    tq = torch.ao.quantization.quantize_dynamic(_mlp(torch), {torch.nn.Linear})
    eq = ember.ao.quantization.quantize_dynamic(_mlp(ember), {ember.nn.Linear})
    buf = io.BytesIO()
    torch.save(tq.state_dict(), buf)
    buf.seek(0)
    eq.load_state_dict(ember.load(buf))
    x = np.random.default_rng(5).standard_normal((3, 16)).astype(np.float32)
    np.testing.assert_allclose(_np(eq(ember.tensor(x))), _np(tq(torch.tensor(x))), rtol=1e-6,
                               atol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"num_layers": 2, "bidirectional": True},
                                    {"batch_first": True}])
def test_quantize_dynamic_lstm(kwargs):
    def model(m):
        class Tagger(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = m.nn.LSTM(6, 8, **kwargs)
                self.out = m.nn.Linear(8 * (2 if kwargs.get("bidirectional") else 1), 3)

            def forward(self, x):
                y, (h, c) = self.lstm(x)
                return self.out(y), h, c

        return Tagger()

    torch.manual_seed(0)
    t, e = model(torch), model(ember)
    _copy_weights(t, e)
    tq = torch.ao.quantization.quantize_dynamic(t, {torch.nn.LSTM, torch.nn.Linear},
                                                dtype=torch.qint8)
    eq = ember.ao.quantization.quantize_dynamic(e, {ember.nn.LSTM, ember.nn.Linear},
                                                dtype=ember.qint8)
    assert _text(eq) == repr(tq)
    x = np.random.default_rng(9).standard_normal((5, 3, 6)).astype(np.float32)
    for got, want in zip(eq(ember.tensor(x)), tq(torch.tensor(x))):
        np.testing.assert_allclose(_np(got), _np(want), rtol=1e-5, atol=1e-6)
    # torch's state_dict keys; ember's own state_dict loads back into a fresh model
    assert list(eq.state_dict()) == list(tq.state_dict())
    fresh = ember.ao.quantization.quantize_dynamic(model(ember), {ember.nn.LSTM, ember.nn.Linear})
    fresh.load_state_dict(eq.state_dict())
    for got, want in zip(fresh(ember.tensor(x)), eq(ember.tensor(x))):
        np.testing.assert_array_equal(_np(got), _np(want))


def _qat_net(m):
    nn = m.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = m.ao.quantization.QuantStub()
            self.conv1 = nn.Conv2d(1, 6, 3)
            self.bn1 = nn.BatchNorm2d(6)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(6, 8, 3)
            self.relu2 = nn.ReLU()
            self.fc = nn.Linear(8 * 4 * 4, 10)
            self.dequant = m.ao.quantization.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            x = self.relu1(self.bn1(self.conv1(x)))
            x = self.relu2(self.conv2(x))
            return self.dequant(self.fc(m.flatten(x, 1)))

    return Net()


def _qat_run(m, data, target, backend="x86", version=1):
    m.manual_seed(0)
    model = _qat_net(m).train()
    model.qconfig = m.ao.quantization.get_default_qat_qconfig(backend, version)
    model = m.ao.quantization.fuse_modules_qat(model, FUSE_LIST)
    qat = m.ao.quantization.prepare_qat(model)
    opt = m.optim.SGD(qat.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(6):
        if step == 4:
            qat.apply(m.ao.quantization.disable_observer)
        if step == 5:
            qat.apply(m.ao.nn.intrinsic.qat.freeze_bn_stats)
        loss = m.nn.functional.cross_entropy(qat(m.tensor(data[step % 2])),
                                             m.tensor(target[step % 2]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return qat, losses


@pytest.mark.parametrize("backend,version", [("x86", 1), ("x86", 0), ("qnnpack", 1)])
def test_qat_training_and_convert(backend, version):
    rng = np.random.default_rng(4)
    data = rng.standard_normal((2, 16, 1, 8, 8)).astype(np.float32)
    target = rng.integers(0, 10, (2, 16))
    tqat, t_losses = _qat_run(torch, data, target, backend, version)
    eqat, e_losses = _qat_run(ember, data, target, backend, version)
    assert _shape_of(_text(eqat)) == _shape_of(repr(tqat))
    np.testing.assert_allclose(e_losses, t_losses, rtol=1e-5)
    tq = torch.ao.quantization.convert(tqat.eval())
    eq = ember.ao.quantization.convert(eqat.eval())
    assert [type(c).__name__ for c in eq.children()] == [type(c).__name__
                                                         for c in tq.children()]
    _within_one_quantum(_np(eq(ember.tensor(data[0]))), _np(tq(torch.tensor(data[0]))),
                        tq.fc.scale)


def test_qat_modules_match_torch_step_by_step():
    import ember.ao.nn.intrinsic.qat as eniqat
    import torch.ao.nn.intrinsic.qat as tniqat
    for make, shape in ((lambda lib, q: lib.ConvBnReLU2d(3, 4, 3, padding=1, qconfig=q),
                         (2, 3, 6, 6)),
                        (lambda lib, q: lib.ConvBn2d(3, 4, 3, bias=True, qconfig=q),
                         (2, 3, 6, 6)),
                        (lambda lib, q: lib.LinearReLU(5, 4, qconfig=q), (6, 5))):
        torch.manual_seed(0)
        ember.manual_seed(0)
        t = make(tniqat, torch.ao.quantization.get_default_qat_qconfig("x86"))
        e = make(eniqat, ember.ao.quantization.get_default_qat_qconfig("x86"))
        for (name, tv), ev in zip(t.state_dict().items(), e.state_dict().values()):
            np.testing.assert_array_equal(_np(ev), tv.detach().clone().numpy(), err_msg=name)
        for step in range(3):
            a = np.random.default_rng(step).standard_normal(shape).astype(np.float32)
            tx, ex = torch.tensor(a, requires_grad=True), ember.tensor(a, requires_grad=True)
            to, eo = t(tx), e(ex)
            to.sum().backward()
            eo.sum().backward()
            np.testing.assert_allclose(_np(eo), _np(to), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(_np(e.weight.grad), _np(t.weight.grad), rtol=1e-4,
                                       atol=1e-5)


def test_float_functional_and_qfunctional():
    for m in (torch, ember):
        ff = m.ao.nn.quantized.FloatFunctional()
        with pytest.raises(RuntimeError, match="not intended"):
            ff(m.ones(1))
    rng = np.random.default_rng(6)
    # 3 x 70 elements: one full vector of PyTorch's kernel and a scalar tail
    a = rng.standard_normal((3, 70)).astype(np.float32)
    b = rng.standard_normal((3, 70)).astype(np.float32)
    for op in ("add", "mul", "add_relu", "cat"):
        results = []
        for m in (torch, ember):
            qf = m.ao.nn.quantized.QFunctional()
            qf.scale, qf.zero_point = 0.05, 64
            qa = m.quantize_per_tensor(m.tensor(a), 0.02, 60, m.quint8)
            qb = m.quantize_per_tensor(m.tensor(b), 0.03, 70, m.quint8)
            out = qf.cat([qa, qb], dim=1) if op == "cat" else getattr(qf, op)(qa, qb)
            results.append((out.int_repr().numpy(), out.q_scale(), out.q_zero_point()))
        (t_ints, t_s, t_z), (e_ints, e_s, e_z) = results
        assert (t_s, t_z) == (e_s, e_z)
        np.testing.assert_array_equal(e_ints, t_ints, err_msg=op)
    for op in ("add_scalar", "mul_scalar"):
        for value in (0.3, -0.7, 20.0, -5.0, 0.0, 1.0, 2.5):
            for dtype, zp in (("quint8", 60), ("qint8", -4)):
                results = []
                for m in (torch, ember):
                    qf = m.ao.nn.quantized.QFunctional()
                    qa = m.quantize_per_tensor(m.tensor(a), 0.02, zp, getattr(m, dtype))
                    out = getattr(qf, op)(qa, value)
                    results.append((out.int_repr().numpy(), out.q_scale(), out.q_zero_point()))
                (t_ints, t_s, t_z), (e_ints, e_s, e_z) = results
                assert (e_s, e_z) == (t_s, t_z), (op, value, dtype)
                np.testing.assert_array_equal(e_ints, t_ints)


def test_quantized_module_reprs_and_errors():
    for m in (torch, ember):
        nnq = m.ao.nn.quantized
        qs = str(m.quint8).split(".")[0]
        text = [repr(nnq.Linear(3, 2)), repr(nnq.Conv2d(3, 4, 3, padding=1, groups=1)),
                repr(nnq.dynamic.Linear(3, 2)), repr(nnq.Quantize(0.1, 2, m.quint8)),
                repr(nnq.DeQuantize()), repr(nnq.ReLU6()), repr(nnq.Hardswish(0.1, 3)),
                repr(nnq.QFunctional())]
        text = [s.replace(qs + ".", "torch.") for s in text]
        if m is torch:
            want = text
        else:
            assert text == want
    with pytest.raises(AssertionError, match="training mode"):
        ember.ao.quantization.prepare_qat(_mlp(ember).eval())
    with pytest.raises(NotImplementedError, match="standalone modules"):
        ember.ao.quantization.quantize_fx.prepare_fx(
            _mlp(ember), {}, (), {"standalone_module_name": [("0", None, (), None, None)]})
    with pytest.raises(AssertionError, match="from_float only works"):
        ember.ao.nn.quantized.Linear.from_float(ember.nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="Input shape must be"):
        layer = ember.ao.nn.quantized.Conv2d(1, 1, 1)
        layer(ember.quantize_per_tensor(ember.ones(1, 2, 2), 0.1, 0, ember.quint8))


def test_prepare_warns_without_qconfig_and_observer_hooks():
    for m in (torch, ember):
        with pytest.warns(UserWarning, match="None of the submodule got qconfig"):
            m.ao.quantization.prepare(_mlp(m))
    model = _mlp(ember)
    model.qconfig = ember.ao.quantization.default_qconfig
    prepared = ember.ao.quantization.prepare(model)
    assert [n for n, _ in prepared.named_modules() if n.endswith("activation_post_process")] \
        == ["0.activation_post_process", "2.activation_post_process"]
    prepared(ember.randn(2, 16))
    assert prepared[0].activation_post_process.min_val.item() < 0


def test_aliases_and_engine():
    import ember.nn.intrinsic.qat
    import ember.nn.quantized.dynamic
    import ember.quantization.observer
    assert ember.nn.quantized.dynamic.Linear is ember.ao.nn.quantized.dynamic.Linear
    assert ember.nn.intrinsic.qat.ConvBn2d is ember.ao.nn.intrinsic.qat.ConvBn2d
    assert ember.nn.qat.Linear is ember.ao.nn.qat.Linear
    assert ember.quantization.quantize_dynamic is ember.ao.quantization.quantize_dynamic
    assert ember.quantization.observer.MinMaxObserver is ember.ao.quantization.MinMaxObserver
    assert ember.backends.quantized.engine == torch.backends.quantized.engine == "x86"
    assert ember.backends.quantized.supported_engines == \
        torch.backends.quantized.supported_engines
    with pytest.raises(RuntimeError, match="not a valid value for quantized engine"):
        ember.backends.quantized.engine = "tpu"
    ember.backends.quantized.engine = "qnnpack"
    try:
        assert ember.backends.quantized.engine == "qnnpack"
    finally:
        ember.backends.quantized.engine = "x86"


def _activation_net(m, act):
    nn = m.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = m.ao.quantization.QuantStub()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.act = act(m)
            self.ff = nn.quantized.FloatFunctional()
            self.dequant = m.ao.quantization.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            y = self.act(self.bn(self.conv(x)))
            return self.dequant(self.ff.cat([y, self.ff.add_relu(y, y)], 1))

    return Net()


ACTIVATIONS = {"ReLU6": lambda m: m.nn.ReLU6(), "Hardswish": lambda m: m.nn.Hardswish(),
               "ELU": lambda m: m.nn.ELU(), "LeakyReLU": lambda m: m.nn.LeakyReLU(0.1),
               "Sigmoid": lambda m: m.nn.Sigmoid(), "Identity": lambda m: m.nn.Identity()}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_static_quantized_activations_and_batch_norm(name):
    """Unfused BatchNorm2d (quantized batch norm on the integers), an activation module and
    FloatFunctional's cat/add_relu, observed with the per-tensor default qconfig."""
    torch.manual_seed(0)
    t = _activation_net(torch, ACTIVATIONS[name]).eval()
    e = _activation_net(ember, ACTIVATIONS[name]).eval()
    with torch.no_grad():
        t.bn.running_mean.uniform_(-0.3, 0.3)
        t.bn.running_var.uniform_(0.5, 1.5)
    _copy_weights(t, e)
    rng = np.random.default_rng(0)
    calibration = [rng.standard_normal((2, 3, 6, 6)).astype(np.float32) for _ in range(2)]
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    outs = []
    for m, model in ((torch, t), (ember, e)):
        model.qconfig = m.ao.quantization.default_qconfig
        prepared = m.ao.quantization.prepare(model)
        for batch in calibration:
            prepared(m.tensor(batch))
        quantized = m.ao.quantization.convert(prepared)
        outs.append((quantized, _np(quantized(m.tensor(x)))))
    (tq, t_out), (eq, e_out) = outs
    assert _shape_of(_text(eq)) == _shape_of(repr(tq))
    _within_one_quantum(e_out, t_out, tq.ff.scale)


def test_quantized_batch_norm_integers():
    from ember.ao.nn.quantized.modules.batchnorm import quantized_batch_norm
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.standard_normal((2, 4, 3, 3)).astype(np.float32) * 2
        scale, zp = float(rng.uniform(0.01, 0.1)), int(rng.integers(0, 255))
        params = [rng.uniform(0.5, 2, 4), rng.standard_normal(4), rng.standard_normal(4),
                  rng.uniform(0.5, 2, 4)]
        out_scale, out_zp = float(rng.uniform(0.01, 0.1)), int(rng.integers(0, 255))
        results = []
        for m, fn in ((torch, torch.quantized_batch_norm), (ember, quantized_batch_norm)):
            w, b, mean, var = (m.tensor(p.astype(np.float32)) for p in params)
            q = m.quantize_per_tensor(m.tensor(x), scale, zp, m.quint8)
            results.append(fn(q, w, b, mean, var, 1e-5, out_scale, out_zp).int_repr().numpy())
        np.testing.assert_array_equal(results[1], results[0])


CONV_CASES = {
    "conv1d": (lambda nn: nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.ReLU(),
                                        nn.Conv1d(4, 2, 2, stride=2)), (2, 3, 8)),
    "conv3d": (lambda nn: nn.Sequential(nn.Conv3d(2, 3, 2), nn.ReLU()), (1, 2, 4, 4, 4)),
    "reflect": (lambda nn: nn.Sequential(nn.Conv2d(3, 4, 3, padding=1,
                                                   padding_mode="reflect")), (2, 3, 5, 5)),
    "groups": (lambda nn: nn.Sequential(nn.Conv2d(4, 4, 3, groups=4, dilation=2),
                                        nn.Conv2d(4, 6, 1, groups=2, bias=False)), (2, 4, 7, 7)),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_static_quantized_convolutions(case):
    layers, shape = CONV_CASES[case]

    def build(m):
        return m.nn.Sequential(m.ao.quantization.QuantStub(), layers(m.nn),
                               m.ao.quantization.DeQuantStub())

    torch.manual_seed(0)
    t, e = build(torch).eval(), build(ember).eval()
    _copy_weights(t, e)
    rng = np.random.default_rng(0)
    calibration = rng.standard_normal(shape).astype(np.float32)
    x = rng.standard_normal(shape).astype(np.float32)
    outs = []
    for m, model in ((torch, t), (ember, e)):
        model.qconfig = m.ao.quantization.get_default_qconfig("x86")
        prepared = m.ao.quantization.prepare(model)
        prepared(m.tensor(calibration))
        quantized = m.ao.quantization.convert(prepared)
        outs.append((quantized, _np(quantized(m.tensor(x)))))
    (tq, t_out), (eq, e_out) = outs
    assert _shape_of(_text(eq)) == _shape_of(repr(tq))
    last = [mod for mod in tq.modules() if hasattr(mod, "zero_point")][-1]
    _within_one_quantum(e_out, t_out, last.scale)


def test_float16_dynamic_quantize_run_fn_and_wrappers():
    torch.manual_seed(0)
    t, e = _mlp(torch), _mlp(ember)
    _copy_weights(t, e)
    x = np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32)
    tq = torch.ao.quantization.quantize_dynamic(t, {torch.nn.Linear}, dtype=torch.float16)
    eq = ember.ao.quantization.quantize_dynamic(e, {ember.nn.Linear}, dtype=ember.float16)
    assert _text(eq) == repr(tq)
    np.testing.assert_allclose(_np(eq(ember.tensor(x))), _np(tq(torch.tensor(x))), rtol=1e-6,
                               atol=1e-7)
    results = []
    for m, model in ((torch, t), (ember, e)):
        wrapped = m.ao.quantization.QuantWrapper(m.nn.Sequential(model[0], model[1]))
        wrapped.qconfig = m.ao.quantization.default_qconfig

        def calibrate(module, batches):
            for batch in batches:
                module(m.tensor(batch))

        quantized = m.ao.quantization.quantize(wrapped, calibrate, [[x, 2 * x]])
        results.append((_text(quantized), _np(quantized(m.tensor(x)))))
        tree = m.nn.Sequential(model[0], model[1], model[2])
        tree[0].qconfig = m.ao.quantization.default_qconfig
        results.append((_text(m.ao.quantization.add_quant_dequant(tree)), None))
    assert results[2][0] == results[0][0] and results[3][0] == results[1][0]
    np.testing.assert_array_equal(results[2][1], results[0][1])


def test_quantized_embedding_weight_only():
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Embedding(10, 6), torch.nn.Linear(6, 3))
    e = ember.nn.Sequential(ember.nn.Embedding(10, 6), ember.nn.Linear(6, 3))
    _copy_weights(t, e)
    idx = np.array([[1, 2, 3], [4, 5, 9]])
    for spec in ("dtype", "qconfig"):
        outs = []
        for m, model in ((torch, t), (ember, e)):
            qc = m.ao.quantization
            if spec == "dtype":
                q = qc.quantize_dynamic(model, {m.nn.Embedding}, dtype=m.quint8)
            else:
                q = qc.quantize_dynamic(model, {m.nn.Embedding: qc.float_qparams_weight_only_qconfig,
                                                m.nn.Linear: qc.default_dynamic_qconfig})
            outs.append((q, _np(q[0](m.tensor(idx))), _np(q(m.tensor(idx)))))
        (tq, t_rows, t_out), (eq, e_rows, e_out) = outs
        assert _text(eq) == repr(tq)
        assert list(eq.state_dict()) == list(tq.state_dict())
        np.testing.assert_array_equal(eq[0].weight().int_repr().numpy(),
                                      tq[0].weight().int_repr().numpy())
        np.testing.assert_array_equal(e_rows, t_rows)
        np.testing.assert_allclose(e_out, t_out, rtol=1e-6, atol=1e-7)
    with pytest.raises(AssertionError, match="float_qparams_weight_only_qconfig"):
        layer = ember.nn.Embedding(3, 2)
        layer.qconfig = ember.ao.quantization.default_qconfig
        ember.ao.nn.quantized.Embedding.from_float(layer)


RNN_CASES = {
    "GRU": (lambda m: m.nn.GRU(6, 8, num_layers=2, bidirectional=True), 3),
    "GRU_batch_first": (lambda m: m.nn.GRU(6, 8, batch_first=True), 3),
    "LSTMCell": (lambda m: m.nn.LSTMCell(6, 8), 2),
    "GRUCell": (lambda m: m.nn.GRUCell(6, 8), 2),
    "RNNCell": (lambda m: m.nn.RNNCell(6, 8), 2),
    "RNNCell_relu": (lambda m: m.nn.RNNCell(6, 8, nonlinearity="relu"), 2),
}


@pytest.mark.parametrize("case", sorted(RNN_CASES))
def test_quantize_dynamic_gru_and_cells(case):
    make, ndim = RNN_CASES[case]

    def model(m):
        return m.nn.Sequential(make(m))

    torch.manual_seed(0)
    t, e = model(torch), model(ember)
    _copy_weights(t, e)
    kind = {type(t[0])}
    tq = torch.ao.quantization.quantize_dynamic(t, kind)
    eq = ember.ao.quantization.quantize_dynamic(e, {type(e[0])})
    assert _text(eq) == repr(tq)
    assert list(eq.state_dict()) == list(tq.state_dict())
    x = np.random.default_rng(9).standard_normal((5, 3, 6)[-ndim:]).astype(np.float32)

    def flat(out):
        if isinstance(out, (tuple, list)):
            return [leaf for item in out for leaf in flat(item)]
        return [_np(out)]

    for got, want in zip(flat(eq(ember.tensor(x))), flat(tq(torch.tensor(x)))):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # the placeholder weights of a new module are drawn as torch draws them
    torch.manual_seed(1)
    ember.manual_seed(1)
    torch.ao.quantization.quantize_dynamic(t, kind)
    ember.ao.quantization.quantize_dynamic(e, {type(e[0])})
    assert torch.rand(3).tolist() == ember.rand(3).tolist()


def test_quantize_qat_one_call():
    rng = np.random.default_rng(8)
    data = rng.standard_normal((16, 1, 8, 8)).astype(np.float32)
    target = rng.integers(0, 10, 16)
    outs = []
    for m in (torch, ember):
        m.manual_seed(0)
        model = _qat_net(m)
        model.qconfig = m.ao.quantization.get_default_qat_qconfig("x86")

        def train(module, batches, lr):
            opt = m.optim.SGD(module.parameters(), lr=lr)
            for x, y in batches:
                loss = m.nn.functional.cross_entropy(module(m.tensor(x)), m.tensor(y))
                opt.zero_grad()
                loss.backward()
                opt.step()
            module.eval()

        quantized = m.ao.quantization.quantize_qat(model, train,
                                                   [[(data, target), (data[:8], target[:8])],
                                                    0.1])
        outs.append((quantized, _np(quantized(m.tensor(data[:4])))))
    (tq, t_out), (eq, e_out) = outs
    assert _shape_of(_text(eq)) == _shape_of(repr(tq))
    _within_one_quantum(e_out, t_out, tq.fc.scale)


def test_quantized_sigmoid_module_integers():
    rng = np.random.default_rng(0)
    for _ in range(10):
        a = (rng.standard_normal((3, 50)) * 3).astype(np.float32)
        scale, zp = float(rng.uniform(0.01, 0.1)), int(rng.integers(0, 255))
        out_scale, out_zp = float(rng.uniform(0.002, 0.01)), int(rng.integers(0, 50))
        results = []
        for m in (torch, ember):
            q = m.quantize_per_tensor(m.tensor(a), scale, zp, m.quint8)
            results.append(m.ao.nn.quantized.Sigmoid(out_scale, out_zp)(q).int_repr().numpy())
        np.testing.assert_array_equal(results[1], results[0])


@pytest.mark.parametrize("path", ["ao.nn.qat.Embedding", "ao.nn.qat.dynamic.Linear"])
def test_not_built_modules_say_so(path):
    """Names torch has and ember does not build: present, and raising NotImplementedError
    (torch builds them)."""
    target = ember
    for part in path.split("."):
        target = getattr(target, part)
    source = torch
    for part in path.split("."):
        source = getattr(source, part)
    assert isinstance(source, type)
    with pytest.raises(NotImplementedError, match="not built"):
        target(4, 4)
