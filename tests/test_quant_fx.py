"""FX graph mode quantization (quantize_fx) on ember and on PyTorch, the same program on
both: prepare_fx's graph (which ops, which observers where, shared observers), calibrated
observers' ranges, convert_fx's graph, module types and state_dict keys, quantized outputs,
convert_to_reference_fx, dynamic quantization (Linear, LSTM), prepare_qat_fx, fuse_fx,
QConfigMapping precedence, custom configs and the errors of what is not built.

Tolerances: quantized outputs are compared dequantized, within one quantum of the output
(a float32 convolution's last bit can move an observer's range by one ulp), and most
elements equal; dynamic outputs within 1e-5."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def _np(t):
    t = t.detach()
    if getattr(t, "is_quantized", False):
        t = t.dequantize()
    return np.asarray(t.numpy())


def _copy_weights(src, dst):
    dst.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                         src.state_dict().items()})


def _target_name(gm, node):
    if node.op == "call_module":
        return type(gm.get_submodule(node.target)).__name__
    if node.op in ("call_function", "call_method"):
        return getattr(node.target, "__name__", str(node.target))
    return str(node.target)


def _same_target_names(e_summary, t_summary):
    # the function a traced torch.sigmoid records is named 'expit' in ember (its kernel's
    # name; the node prints as ember.sigmoid all the same)
    return [(op, name, "sigmoid" if target == "expit" else target)
            for op, name, target in e_summary] == t_summary


def _summary(gm):
    """(op, node name, what it calls) of each node: equal for ember and torch when the
    graphs are the same."""
    return [(n.op, n.name, _target_name(gm, n)) for n in gm.graph.nodes]


def _observers(gm):
    """{name: (class name, the name of the module instance it is, for shared ones)}."""
    first_name = {}
    out = {}
    for name, module in gm.named_modules(remove_duplicate=False):
        if "activation_post_process" in name.split(".")[-1]:
            first = first_name.setdefault(id(module), name)
            out[name] = (type(module).__name__, first)
    return out


# ---- the programs, written once for both libraries ----

def _mlp(m):
    nn = m.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 8)
            self.relu = nn.ReLU()
            self.fc2 = nn.Linear(8, 4)

        def forward(self, x):
            return self.fc2(self.relu(self.fc1(x)))
    return MLP()


def _cnn(m):
    nn, F = m.nn, m.nn.functional

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            y = self.relu(self.bn(self.conv(x)))
            z = F.relu(self.conv2(y) + y)
            z = self.pool(z)
            z = m.flatten(z, 1)
            return m.sigmoid(self.fc(z))
    return CNN()


def _functional(m):
    nn, F = m.nn, m.nn.functional

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(m.randn(6, 8))
            self.b = nn.Parameter(m.randn(6))
            self.cw = nn.Parameter(m.randn(4, 3, 3, 3))
            self.cb = nn.Parameter(m.randn(4))

        def forward(self, x, y):
            c = F.relu(F.conv2d(x, self.cw, self.cb, (1, 1), (1, 1), (1, 1), 1))
            n = c.size(0)
            c = c.reshape(n, -1)[:, :8]
            z = F.linear(c, self.w, self.b)
            z = z * 2.0
            z = z + 1
            t = m.cat([z, z], 1)
            u = m.tanh(t * t)
            v = F.softmax(F.hardsigmoid(y), -1)
            return u, v.transpose(0, 1)
    return Functional()


def _many_ops(m):
    """Ops with quantized versions (hardswish, elu, leaky_relu: functions and modules),
    unfused BatchNorm2d, ops that keep their input's qparams (pooling, interpolate, cat,
    slicing, ReLU6, clamp, view ops) and fixed-qparams modules (Softmax, Tanh)."""
    nn, F = m.nn, m.nn.functional

    class ManyOps(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 6, 3, padding=1)
            self.hs = nn.Hardswish()
            self.bn = nn.BatchNorm2d(6)
            self.conv3 = nn.Conv2d(6, 6, 1)
            self.elu = nn.ELU()
            self.lrelu = nn.LeakyReLU(0.2)
            self.r6 = nn.ReLU6()
            self.pool = nn.AvgPool2d(2)
            self.ap = nn.AdaptiveAvgPool2d(1)
            self.drop = nn.Dropout(0.5)
            self.fc = nn.Linear(6, 4)
            self.sm = nn.Softmax(dim=1)
            self.tanh = nn.Tanh()

        def forward(self, x):
            y = self.bn(self.hs(self.conv(x)))
            y = m.cat([F.hardswish(y), F.leaky_relu(y, 0.1), F.elu(y)], 1)[:, :6]
            y = self.r6(self.lrelu(self.elu(self.conv3(y))))
            y = F.interpolate(F.max_pool2d(y, 2), scale_factor=2, mode="nearest")
            y = self.drop(self.ap(self.pool(y)).flatten(1))
            z = self.fc(y)
            v = z.unsqueeze(0).permute(1, 0, 2).contiguous().view(2, -1)
            return self.sm(z), self.tanh(z), m.clamp(z, -1, 1), v
    return ManyOps()


def _pair(build, train=False):
    torch.manual_seed(0)
    t_model = build(torch)
    e_model = build(ember)
    _copy_weights(t_model, e_model)
    if train:
        return t_model.train(), e_model.train()
    return t_model.eval(), e_model.eval()


def _inputs(*shapes, seed=1):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return [torch.tensor(a) for a in arrays], [ember.tensor(a) for a in arrays]


def _fx(m):
    if m is torch:
        import torch.ao.quantization.quantize_fx as fx
        return fx
    return m.ao.quantization.quantize_fx


def _mapping(m, backend="x86"):
    return m.ao.quantization.get_default_qconfig_mapping(backend)


def _check_close_quantized(t_out, e_out):
    t, e = _np(t_out), _np(e_out)
    assert t.shape == e.shape
    scale = t_out.q_scale() if getattr(t_out, "is_quantized", False) else None
    if scale is None:
        # dequantized float outputs: the spacing of the values is the output quantum
        steps = np.diff(np.unique(t))
        scale = steps.min() if steps.size else 1.0
    assert np.abs(t - e).max() <= scale * 1.001 + 1e-6
    # equal up to the float32 ulp by which an observer's range may differ
    assert np.mean(np.isclose(t, e, rtol=1e-5, atol=1e-7)) >= 0.9


def _prepare_both(build, mapping_of, shapes, calibrate=3):
    t_model, e_model = _pair(build)
    t_in, e_in = _inputs(*shapes)
    t_prep = _fx(torch).prepare_fx(t_model, mapping_of(torch), tuple(t_in))
    e_prep = _fx(ember).prepare_fx(e_model, mapping_of(ember), tuple(e_in))
    for seed in range(calibrate):
        t_cal, e_cal = _inputs(*shapes, seed=10 + seed)
        t_prep(*t_cal)
        e_prep(*e_cal)
    return t_prep, e_prep, t_in, e_in


@pytest.mark.parametrize("build,shapes", [(_mlp, [(4, 6)]), (_cnn, [(2, 3, 4, 4)]),
                                          (_functional, [(2, 3, 4, 4), (2, 5)])],
                         ids=["mlp", "cnn", "functional"])
def test_prepare_fx_graph_and_observers_match_torch(build, shapes):
    t_prep, e_prep, _, _ = _prepare_both(build, _mapping, shapes, calibrate=0)
    assert _same_target_names(_summary(e_prep), _summary(t_prep))
    assert _observers(e_prep) == _observers(t_prep)


@pytest.mark.parametrize("build,shapes", [(_mlp, [(4, 6)]), (_cnn, [(2, 3, 4, 4)]),
                                          (_functional, [(2, 3, 4, 4), (2, 5)])],
                         ids=["mlp", "cnn", "functional"])
def test_calibrated_observers_hold_torch_ranges(build, shapes):
    t_prep, e_prep, _, _ = _prepare_both(build, _mapping, shapes)
    t_modules = dict(t_prep.named_modules(remove_duplicate=False))
    checked = 0
    for name, module in e_prep.named_modules(remove_duplicate=False):
        if "activation_post_process" not in name or not hasattr(module, "min_val"):
            continue
        t_module = t_modules[name]
        np.testing.assert_allclose(_np(module.min_val), t_module.min_val.numpy(), rtol=1e-6,
                                   atol=1e-6)
        np.testing.assert_allclose(_np(module.max_val), t_module.max_val.numpy(), rtol=1e-6,
                                   atol=1e-6)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("build,shapes", [(_mlp, [(4, 6)]), (_cnn, [(2, 3, 4, 4)]),
                                          (_functional, [(2, 3, 4, 4), (2, 5)]),
                                          (_many_ops, [(2, 3, 8, 8)])],
                         ids=["mlp", "cnn", "functional", "many_ops"])
def test_convert_fx_matches_torch(build, shapes):
    t_prep, e_prep, t_in, e_in = _prepare_both(build, _mapping, shapes)
    t_q = _fx(torch).convert_fx(t_prep)
    e_q = _fx(ember).convert_fx(e_prep)
    assert _same_target_names(_summary(e_q), _summary(t_q))
    assert [type(m).__name__ for _, m in e_q.named_children()] == \
        [type(m).__name__ for _, m in t_q.named_children()]
    # torch's state_dict lists F.linear / F.conv's prepacked weights (script objects);
    # ember keeps them as plain attributes of the GraphModule
    assert list(e_q.state_dict()) == [k for k in t_q.state_dict()
                                      if not k.startswith("_packed_weight_")]
    assert hasattr(e_q, "_packed_weight_0") == hasattr(t_q, "_packed_weight_0")
    t_out, e_out = t_q(*t_in), e_q(*e_in)
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    e_out = e_out if isinstance(e_out, tuple) else (e_out,)
    for t, e in zip(t_out, e_out):
        _check_close_quantized(t, e)


@pytest.mark.parametrize("build,shapes", [(_mlp, [(4, 6)]), (_cnn, [(2, 3, 4, 4)])],
                         ids=["mlp", "cnn"])
def test_convert_to_reference_fx_matches_torch(build, shapes):
    t_prep, e_prep, t_in, e_in = _prepare_both(build, _mapping, shapes)
    t_ref = _fx(torch).convert_to_reference_fx(t_prep)
    e_ref = _fx(ember).convert_to_reference_fx(e_prep)
    assert _same_target_names(_summary(e_ref), _summary(t_ref))
    assert list(e_ref.state_dict()) == list(t_ref.state_dict())
    for name, module in t_ref.named_modules():
        if type(module).__name__ in ("Linear", "Conv2d") and "Reference" in module._get_name():
            e_module = e_ref.get_submodule(name)
            assert e_module._get_name() == module._get_name()
            np.testing.assert_allclose(_np(e_module.get_weight()), module.get_weight().numpy(),
                                       rtol=1e-6, atol=1e-7)
    _check_close_quantized(t_ref(*t_in), e_ref(*e_in))


def _lstm_model(m):
    nn, F = m.nn, m.nn.functional

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 8)
            self.lstm = nn.LSTM(8, 6)
            self.fc2 = nn.Linear(6, 3)

        def forward(self, x):
            out, _ = self.lstm(self.fc(x))
            return self.fc2(F.relu(out))
    return Recurrent()


def _dynamic_mapping(m):
    Q = m.ao.quantization
    return (Q.QConfigMapping().set_object_type(m.nn.Linear, Q.default_dynamic_qconfig)
            .set_object_type(m.nn.LSTM, Q.default_dynamic_qconfig))


def test_dynamic_linear_and_lstm_match_torch():
    t_prep, e_prep, t_in, e_in = _prepare_both(_lstm_model, _dynamic_mapping, [(5, 2, 4)],
                                               calibrate=0)
    assert _summary(e_prep) == _summary(t_prep)
    assert _observers(e_prep) == _observers(t_prep)
    t_q, e_q = _fx(torch).convert_fx(t_prep), _fx(ember).convert_fx(e_prep)
    assert _summary(e_q) == _summary(t_q)
    assert [type(m).__name__ for _, m in e_q.named_children()] == \
        ["Linear", "LSTM", "Linear"] == [type(m).__name__ for _, m in t_q.named_children()]
    assert e_q.lstm._get_name() == t_q.lstm._get_name() == "DynamicQuantizedLSTM"
    np.testing.assert_allclose(_np(e_q(*e_in)), _np(t_q(*t_in)), rtol=1e-5, atol=1e-5)
    # a dynamic global qconfig quantizes only what the backend runs dynamically
    Q_e, Q_t = ember.ao.quantization, torch.ao.quantization
    t_model, e_model = _pair(_lstm_model)
    t_q2 = _fx(torch).convert_fx(_fx(torch).prepare_fx(
        t_model, Q_t.QConfigMapping().set_global(Q_t.default_dynamic_qconfig), tuple(t_in)))
    e_q2 = _fx(ember).convert_fx(_fx(ember).prepare_fx(
        e_model, Q_e.QConfigMapping().set_global(Q_e.default_dynamic_qconfig), tuple(e_in)))
    assert _summary(e_q2) == _summary(t_q2)
    np.testing.assert_allclose(_np(e_q2(*e_in)), _np(t_q2(*t_in)), rtol=1e-5, atol=1e-5)
    with pytest.raises(NotImplementedError, match="reference quantized LSTM"):
        _fx(ember).convert_to_reference_fx(e_prep)


def _qat_model(m):
    nn = m.nn

    class QATNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(self.relu(self.bn(self.conv(x))).mean([2, 3]))
    return QATNet()


def test_prepare_qat_fx_train_and_convert_match_torch():
    t_model, e_model = _pair(_qat_model, train=True)
    t_in, e_in = _inputs((2, 3, 5, 5))
    Q_t, Q_e = torch.ao.quantization, ember.ao.quantization
    t_prep = _fx(torch).prepare_qat_fx(t_model, Q_t.get_default_qat_qconfig_mapping("x86"),
                                       tuple(t_in))
    e_prep = _fx(ember).prepare_qat_fx(e_model, Q_e.get_default_qat_qconfig_mapping("x86"),
                                       tuple(e_in))
    assert _summary(e_prep) == _summary(t_prep)
    assert [(n, type(m).__name__) for n, m in e_prep.named_modules()] == \
        [(n, type(m).__name__) for n, m in t_prep.named_modules()]
    t_opt = torch.optim.SGD(t_prep.parameters(), lr=0.1)
    e_opt = ember.optim.SGD(e_prep.parameters(), lr=0.1)
    for step in range(3):
        t_x, e_x = _inputs((2, 3, 5, 5), seed=20 + step)
        t_loss, e_loss = t_prep(*t_x).pow(2).sum(), e_prep(*e_x).pow(2).sum()
        np.testing.assert_allclose(e_loss.item(), t_loss.item(), rtol=1e-4)
        t_opt.zero_grad()
        e_opt.zero_grad()
        t_loss.backward()
        e_loss.backward()
        t_opt.step()
        e_opt.step()
    t_q, e_q = _fx(torch).convert_fx(t_prep.eval()), _fx(ember).convert_fx(e_prep.eval())
    assert _summary(e_q) == _summary(t_q)
    assert list(e_q.state_dict()) == list(t_q.state_dict())
    assert e_q.conv._get_name() == t_q.conv._get_name() == "QuantizedConvReLU2d"
    _check_close_quantized(t_q(*t_in), e_q(*e_in))


def test_fuse_fx_matches_torch():
    t_model, e_model = _pair(_qat_model)
    t_fused, e_fused = _fx(torch).fuse_fx(t_model), _fx(ember).fuse_fx(e_model)
    assert _summary(e_fused) == _summary(t_fused)
    assert [(n, type(m).__name__) for n, m in e_fused.named_modules()] == \
        [(n, type(m).__name__) for n, m in t_fused.named_modules()]
    t_in, e_in = _inputs((2, 3, 5, 5))
    np.testing.assert_allclose(_np(e_fused(*e_in)), _np(t_fused(*t_in)), rtol=1e-5, atol=1e-6)


def test_qconfig_mapping_by_name_and_type():
    def mapping(m):
        Q = m.ao.quantization
        return (Q.QConfigMapping().set_global(Q.get_default_qconfig("x86"))
                .set_module_name("fc", None).set_object_type(m.nn.functional.relu, None))
    t_prep, e_prep, t_in, e_in = _prepare_both(_cnn, mapping, [(2, 3, 4, 4)])
    assert _same_target_names(_summary(e_prep), _summary(t_prep))
    assert _observers(e_prep) == _observers(t_prep)
    t_q, e_q = _fx(torch).convert_fx(t_prep), _fx(ember).convert_fx(e_prep)
    assert _same_target_names(_summary(e_q), _summary(t_q))
    assert type(e_q.fc).__name__ == type(t_q.fc).__name__ == "Linear"
    np.testing.assert_allclose(_np(e_q(*e_in)), _np(t_q(*t_in)), rtol=1e-4, atol=0.02)


def test_non_traceable_module_stays_float():
    def build(m):
        nn = m.nn

        class Untraceable(nn.Module):
            def forward(self, x):
                if x.sum() > 0:     # data-dependent control flow: not traceable
                    return x * 2
                return x

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.odd = Untraceable()

            def forward(self, x):
                return self.odd(self.fc(x))
        return Net()

    def config(m):
        if m is torch:
            from torch.ao.quantization.fx.custom_config import PrepareCustomConfig
        else:
            from ember.ao.quantization.fx.custom_config import PrepareCustomConfig
        return PrepareCustomConfig().set_non_traceable_module_names(["odd"])
    t_model, e_model = _pair(build)
    t_in, e_in = _inputs((3, 4))
    t_prep = _fx(torch).prepare_fx(t_model, _mapping(torch), tuple(t_in), config(torch))
    e_prep = _fx(ember).prepare_fx(e_model, _mapping(ember), tuple(e_in), config(ember))
    assert _summary(e_prep) == _summary(t_prep)
    t_prep(*t_in)
    e_prep(*e_in)
    t_q, e_q = _fx(torch).convert_fx(t_prep), _fx(ember).convert_fx(e_prep)
    assert _summary(e_q) == _summary(t_q)
    _check_close_quantized(t_q(*t_in), e_q(*e_in))


def test_backend_config_basics():
    from ember.ao.quantization.backend_config import (BackendConfig, BackendPatternConfig,
                                                      DTypeConfig, ObservationType,
                                                      get_native_backend_config)
    native = get_native_backend_config()
    assert native.name == "native"
    patterns = {c.pattern for c in native.configs}
    assert ember.nn.Linear in patterns and (ember.nn.Conv2d, ember.nn.BatchNorm2d) in patterns
    config = (BackendPatternConfig(ember.nn.Linear)
              .set_observation_type(ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT)
              .add_dtype_config(DTypeConfig(ember.quint8, ember.quint8, ember.qint8,
                                            ember.float)))
    only_linear = BackendConfig("only_linear").set_backend_pattern_config(config)
    assert BackendConfig.from_dict(only_linear.to_dict()).configs[0].pattern is ember.nn.Linear
    # with a backend that knows only Linear, the ReLU and add stay unobserved
    _, e_model = _pair(_mlp)
    prepared = _fx(ember).prepare_fx(e_model, _mapping(ember), (ember.randn(2, 6),),
                                     backend_config=only_linear)
    observers = _observers(prepared)
    assert len(observers) == 4   # fc1 in, fc1 out, fc2 in (after relu), fc2 out
    torch_config = torch.ao.quantization.backend_config
    assert set(n for n in torch_config.__all__ if not n.startswith("get_tensorrt")
               and not n.startswith("get_executorch") and not n.startswith("get_onednn")) <= \
        set(dir(ember.ao.quantization.backend_config))


def test_unbuilt_parts_raise():
    fx = _fx(ember)
    with pytest.raises(NotImplementedError, match="standalone modules"):
        fx.prepare_fx(_mlp(ember).eval(), _mapping(ember), (ember.randn(2, 6),),
                      {"standalone_module_name": [("fc1", None, (), None, None)]})
    with pytest.raises(NotImplementedError, match="equalization"):
        fx.prepare_fx(_mlp(ember).eval(), _mapping(ember), (ember.randn(2, 6),),
                      _equalization_config=object())
    with pytest.raises(AssertionError, match="prepare_fx"):
        fx.convert_fx(_mlp(ember))
    with pytest.raises(TypeError, match="nn.Module"):
        fx.prepare_fx(lambda x: x, _mapping(ember), ())


def _custom_module_classes(m):
    """A float module, its observed form and its quantized form (a custom module: the
    observed class is built by from_float at prepare, the quantized one by from_observed
    at convert, and it reads and gives quantized tensors)."""
    nn = m.nn

    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 4)

        def forward(self, x):
            return self.linear(x)

    class ObservedScale(Scale):
        @classmethod
        def from_float(cls, float_module):
            observed = cls()
            observed.linear = float_module.linear
            observed.qconfig = float_module.qconfig
            return observed

    class QuantizedScale(nn.Module):
        def __init__(self, linear):
            super().__init__()
            self.linear = linear

        def forward(self, x):
            return m.quantize_per_tensor(self.linear(x.dequantize()), x.q_scale(),
                                         x.q_zero_point(), m.quint8)

        @classmethod
        def from_observed(cls, observed):
            return cls(observed.linear)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.custom = Scale()

        def forward(self, x):
            return self.custom(self.fc(x))
    return Net, Scale, ObservedScale, QuantizedScale


def test_custom_module_classes_match_torch():
    def run(m):
        if m is torch:
            from torch.ao.quantization.fx.custom_config import (ConvertCustomConfig,
                                                                PrepareCustomConfig)
        else:
            from ember.ao.quantization.fx.custom_config import (ConvertCustomConfig,
                                                                PrepareCustomConfig)
        Net, Scale, Observed, Quantized = _custom_module_classes(m)
        m.manual_seed(0)
        model = Net().eval()
        x = m.tensor(np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4))
        prepared = _fx(m).prepare_fx(model, _mapping(m), (x,),
                                     PrepareCustomConfig().set_float_to_observed_mapping(
                                         Scale, Observed))
        prepared(x)
        # (torch's convert_fx edits the prepared model in place)
        prepared_summary = _summary(prepared), type(prepared.custom).__name__
        converted = _fx(m).convert_fx(
            prepared, ConvertCustomConfig().set_observed_to_quantized_mapping(Observed,
                                                                             Quantized))
        return prepared_summary, converted, x

    t_prep, t_q, t_x = run(torch)
    e_prep, e_q, e_x = run(ember)
    assert e_prep == t_prep
    assert e_prep[1] == "ObservedScale"
    assert _summary(e_q) == _summary(t_q)
    assert type(e_q.custom).__name__ == type(t_q.custom).__name__ == "QuantizedScale"
    _check_close_quantized(t_q(t_x), e_q(e_x))


def test_quantized_inputs_and_outputs_match_torch():
    models = dict(zip((torch, ember), _pair(_mlp)))

    def run(m):
        if m is torch:
            from torch.ao.quantization.fx.custom_config import PrepareCustomConfig
        else:
            from ember.ao.quantization.fx.custom_config import PrepareCustomConfig
        model = models[m]
        config = PrepareCustomConfig().set_input_quantized_indexes([0]) \
            .set_output_quantized_indexes([0])
        x = m.tensor(np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6))
        prepared = _fx(m).prepare_fx(model, _mapping(m), (x,), config)
        prepared_summary = _summary(prepared)
        prepared(x)
        converted = _fx(m).convert_fx(prepared)
        return model, prepared_summary, converted, x

    t_model, t_prep, t_q, t_x = run(torch)
    e_model, e_prep, e_q, e_x = run(ember)
    assert e_prep == t_prep
    assert _summary(e_q) == _summary(t_q)
    q_in = t_q.fc1_input_scale_0 if hasattr(t_q, "fc1_input_scale_0") else None
    assert q_in is None and not hasattr(e_q, "fc1_input_scale_0")
    t_out = t_q(torch.quantize_per_tensor(t_x, 0.02, 64, torch.quint8))
    e_out = e_q(ember.quantize_per_tensor(e_x, 0.02, 64, ember.quint8))
    assert e_out.is_quantized and t_out.is_quantized
    assert (e_out.q_scale(), e_out.q_zero_point()) == pytest.approx(
        (t_out.q_scale(), t_out.q_zero_point()), rel=1e-6)
    _check_close_quantized(t_out, e_out)


def test_qconfig_mapping_regex_and_call_order():
    def mapping(m):
        Q = m.ao.quantization
        return (Q.QConfigMapping().set_global(Q.get_default_qconfig("x86"))
                .set_module_name_regex("conv.*", None)
                .set_module_name_object_type_order("", m.nn.functional.relu, 0, None))
    t_prep, e_prep, _, _ = _prepare_both(_cnn, mapping, [(2, 3, 4, 4)], calibrate=0)
    assert _same_target_names(_summary(e_prep), _summary(t_prep))
    assert _observers(e_prep) == _observers(t_prep)


@pytest.mark.parametrize("backend", ["qnnpack", "fbgemm"])
def test_convert_fx_with_other_backends_default_mappings(backend):
    """The backends' default mappings (qnnpack: no reduced range, per-tensor weights);
    both libraries compute with the x86 engine's kernels."""
    def mapping(m):
        return _mapping(m, backend)
    t_prep, e_prep, t_in, e_in = _prepare_both(_cnn, mapping, [(2, 3, 4, 4)])
    assert _observers(e_prep) == _observers(t_prep)
    t_q, e_q = _fx(torch).convert_fx(t_prep), _fx(ember).convert_fx(e_prep)
    assert _same_target_names(_summary(e_q), _summary(t_q))
    assert list(e_q.state_dict()) == list(t_q.state_dict())
    _check_close_quantized(t_q(*t_in), e_q(*e_in))
