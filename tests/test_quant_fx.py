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
                                          (_functional, [(2, 3, 4, 4), (2, 5)])],
                         ids=["mlp", "cnn", "functional"])
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
