"""Quantized modules and kernels added by helper QV, against PyTorch's (fbgemm engine):
ConvTranspose1d/2d/3d, LayerNorm, GroupNorm, InstanceNorm1d/2d/3d and PReLU of
torch.ao.nn.quantized, and torch.ops.quantized.layer_norm/group_norm/instance_norm/prelu.

Each module goes through the eager flow (prepare, calibration, convert) in both; ember's
converted module with torch's converted state (saved by torch.save, read by ember.load)
gives torch's integers on torch's quantized input, bit for bit; reprs, state_dict keys and
the errors for bad input are PyTorch's.
"""
import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember.ao import quantization as eq  # noqa: E402

tq = torch.ao.quantization


@pytest.fixture(autouse=True)
def fbgemm_engine():
    """PyTorch's x86 engine runs some transposed convolutions through other kernels
    (results far from the float reference for 1-d and 3-d); fbgemm's are the reference
    ember reproduces."""
    engine = torch.backends.quantized.engine
    torch.backends.quantized.engine = "fbgemm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    torch.backends.quantized.engine = engine


def _e(t):
    """An ember copy of a torch tensor (quantized: same integers and parameters)."""
    if t.is_quantized:
        return ember._make_per_tensor_quantized_tensor(
            ember.tensor(t.int_repr().numpy()), t.q_scale(), t.q_zero_point())
    return ember.tensor(t.detach().numpy())


def _via_torch_save(state_dict):
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    buf.seek(0)
    return ember.load(buf)


def _flow(make, shape, qconfigs, seed=0, batches=2):
    """The float module `make(lib)` wrapped in stubs, prepared, calibrated and converted
    in torch and in ember (same weights and batches); returns both converted modules and
    torch's quantized test input."""
    torch.manual_seed(seed)
    tmod = make(torch)
    with torch.no_grad():
        for p in tmod.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    emod = make(ember)
    emod.load_state_dict({k: _e(v) for k, v in tmod.state_dict().items()})
    tm = torch.nn.Sequential(tq.QuantStub(), tmod, tq.DeQuantStub()).eval()
    em = ember.nn.Sequential(eq.QuantStub(), emod, eq.DeQuantStub()).eval()
    tm.qconfig, em.qconfig = qconfigs
    tq.prepare(tm, inplace=True)
    eq.prepare(em, inplace=True)
    for _ in range(batches):
        x = torch.randn(*shape) * 2
        tm(x)
        em(_e(x))
    tq.convert(tm, inplace=True)
    eq.convert(em, inplace=True)
    xq = tm[0](torch.randn(*shape) * 2)
    return tm[1], em[1], xq


def _same_integers(tout, eout):
    assert eout.is_quantized
    assert (eout.q_scale(), eout.q_zero_point()) == (tout.q_scale(), tout.q_zero_point())
    np.testing.assert_array_equal(eout.int_repr().numpy(), tout.int_repr().numpy())


_PER_TENSOR = (tq.QConfig(activation=tq.default_observer, weight=tq.default_weight_observer),
               eq.QConfig(activation=eq.default_observer, weight=eq.default_weight_observer))


# ------------------------------------------------------------------ ConvTranspose

@pytest.mark.parametrize("nd, kwargs", [
    (1, {"stride": 3, "dilation": 2}),
    (1, {"stride": 2, "padding": 1, "output_padding": 1, "bias": False}),
    (2, {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
    (2, {"stride": (1, 2), "dilation": (2, 1)}),
    (3, {"stride": 2}),
    (3, {"padding": 1, "groups": 2}),
])
def test_conv_transpose_as_torch(nd, kwargs):
    """Eager PTQ of ConvTranspose{nd}d: the same module (state keys, weight integers,
    output scale within float rounding of torch's calibration); with torch's state, its
    repr and torch's integers."""
    def make(lib):
        return getattr(lib.nn, f"ConvTranspose{nd}d")(4, 6, 3, **kwargs)
    tmod, emod, xq = _flow(make, (2, 4) + (5,) * nd, _PER_TENSOR)
    assert type(emod).__name__ == type(tmod).__name__
    tsd = tmod.state_dict()
    assert list(emod.state_dict()) == list(tsd)
    np.testing.assert_allclose(emod.scale, tmod.scale, rtol=1e-5)   # (float calibration)
    assert emod.zero_point == tmod.zero_point
    _same_integers(tsd["weight"], emod.state_dict()["weight"])
    tout = tmod(xq)
    emod.load_state_dict(_via_torch_save(tsd))
    assert repr(emod) == repr(tmod)
    _same_integers(tout, emod(_e(xq)))


def test_conv_transpose_errors_as_torch():
    """Per-channel weight qconfig refused at prepare; padding modes other than zeros,
    wrong input ranks and per-channel weights refused as PyTorch refuses them."""
    for lib, q in ((torch, tq), (ember, eq)):
        model = lib.nn.Sequential(lib.nn.ConvTranspose2d(2, 2, 3))
        model.qconfig = q.get_default_qconfig("fbgemm")
        with pytest.raises(AssertionError, match="Per channel weight observer is not "
                                                 "supported yet for ConvTranspose"):
            q.prepare(model)
        with pytest.raises(ValueError, match='Only "zeros" padding mode is supported'):
            lib.ao.nn.quantized.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
        qconv = lib.ao.nn.quantized.ConvTranspose2d(2, 2, 3)
        x = lib.quantize_per_tensor(lib.randn(2, 5, 5), 0.1, 10, lib.quint8)
        with pytest.raises(ValueError, match=r"Input shape must be `\(N, C, H, W\)`!"):
            qconv(x)
    w = torch.randn(2, 2, 3, 3)
    ew = ember.quantize_per_channel(_e(w), ember.tensor([0.1, 0.1], dtype=ember.double),
                                    ember.tensor([0, 0]), 0, ember.qint8)
    qconv = ember.ao.nn.quantized.ConvTranspose2d(2, 2, 3)
    qconv.set_weight_bias(ew, None)
    with pytest.raises(RuntimeError, match="Per Channel Quantization is currently disabled"):
        qconv(ember.quantize_per_tensor(ember.randn(1, 2, 4, 4), 0.1, 10, ember.quint8))


# ------------------------------------------------------------------ normalizations

_NORMS = [
    ("LayerNorm", lambda lib: lib.nn.LayerNorm([6]), (3, 4, 6)),
    ("LayerNorm2", lambda lib: lib.nn.LayerNorm([3, 5], elementwise_affine=False),
     (2, 4, 3, 5)),
    ("GroupNorm", lambda lib: lib.nn.GroupNorm(2, 6), (3, 6, 4, 4)),
    ("GroupNorm1", lambda lib: lib.nn.GroupNorm(3, 6, affine=False), (2, 6, 7)),
    ("InstanceNorm1d", lambda lib: lib.nn.InstanceNorm1d(4, affine=True), (3, 4, 9)),
    ("InstanceNorm2d", lambda lib: lib.nn.InstanceNorm2d(4), (2, 4, 5, 6)),
    ("InstanceNorm3d", lambda lib: lib.nn.InstanceNorm3d(3, affine=True), (2, 3, 3, 4, 5)),
]


@pytest.mark.parametrize("name, make, shape", _NORMS, ids=[n[0] for n in _NORMS])
def test_normalization_modules_as_torch(name, make, shape):
    """Eager PTQ of LayerNorm/GroupNorm/InstanceNorm: the same quantized module (repr,
    state keys, output scale within float rounding of torch's calibration); with torch's
    state, torch's integers."""
    tmod, emod, xq = _flow(make, shape, (tq.get_default_qconfig("fbgemm"),
                                         eq.get_default_qconfig("fbgemm")))
    assert repr(emod) == repr(tmod)
    tsd = tmod.state_dict()
    assert list(emod.state_dict()) == list(tsd)
    np.testing.assert_allclose(float(emod.scale), float(tmod.scale), rtol=1e-5)
    assert int(emod.zero_point) == int(tmod.zero_point)
    tout = tmod(xq)
    emod.load_state_dict(_via_torch_save(tsd))
    _same_integers(tout, emod(_e(xq)))


def test_normalization_ops_as_torch():
    """torch.ops.quantized.layer_norm/group_norm/instance_norm on random inputs and
    parameters, quint8 and qint8; the shape errors are RuntimeErrors as PyTorch's."""
    rng = np.random.default_rng(0)
    for trial in range(6):
        qdtype = ("quint8", "qint8")[trial % 2]
        x = torch.from_numpy(rng.normal(0.5, 2, (3, 6, 4, 5)).astype(np.float32))
        zp = 60 if qdtype == "quint8" else -5
        xq = torch.quantize_per_tensor(x, 0.05, zp, getattr(torch, qdtype))
        w = torch.from_numpy(rng.normal(1, 0.3, 6).astype(np.float32))
        b = torch.from_numpy(rng.normal(0, 0.3, 6).astype(np.float32))
        cases = [
            ("layer_norm", ([4, 5], torch.randn(4, 5), torch.randn(4, 5), 1e-5)),
            ("group_norm", (3, w, b, 1e-5)),
            ("instance_norm", (w, b, 1e-3)),
        ]
        for op, args in cases:
            tout = getattr(torch.ops.quantized, op)(xq, *args, 0.03, zp + 3)
            eargs = [_e(a) if isinstance(a, torch.Tensor) else a for a in args]
            eout = getattr(ember.ops.quantized, op)(_e(xq), *eargs, 0.03, zp + 3)
            _same_integers(tout, eout)
    xq = torch.quantize_per_tensor(torch.randn(2, 6, 4), 0.1, 10, torch.quint8)
    for lib, x in ((torch, xq), (ember, _e(xq))):
        with pytest.raises(RuntimeError):
            lib.ops.quantized.group_norm(x, 4, None, None, 1e-5, 0.1, 10)
        with pytest.raises(RuntimeError):
            lib.ops.quantized.layer_norm(x, [5], None, None, 1e-5, 0.1, 10)


# ------------------------------------------------------------------ PReLU

@pytest.mark.parametrize("shape, n", [((2, 8, 5, 5), 8), ((2, 8, 5, 5), 1), ((4, 3), 1),
                                      ((4, 3, 7), 3), ((3, 8, 9, 9), 8)])
def test_prelu_op_as_torch(shape, n):
    """torch.ops.quantized.prelu on the integers (PyTorch's requantization), per-channel
    and single slopes."""
    torch.manual_seed(n)
    xq = torch.quantize_per_tensor(torch.randn(*shape), 0.03, 70, torch.quint8)
    wq = torch.quantize_per_tensor(torch.rand(n) * 0.5, 0.004, 3, torch.quint8)
    tout = torch.ops.quantized.prelu(xq, wq, 0.02, 50)
    eout = ember.ops.quantized.prelu(_e(xq), _e(wq), 0.02, 50)
    _same_integers(tout, eout)
    if n > 1:
        for lib, x, w in ((torch, xq, wq), (ember, _e(xq), _e(wq))):
            with pytest.raises(RuntimeError, match="must match the size of tensor b"):
                lib.ops.quantized.prelu(x[:, :2], w, 0.02, 50)


def test_prelu_module_from_float_as_torch():
    """nn.PReLU converts to the quantized PReLU (slopes observed per tensor as quint8),
    with torch's repr, slopes and output parameters; no state of its own in state_dict."""
    def make(lib):
        return lib.nn.PReLU(4)
    qconfigs = (tq.QConfig(activation=tq.default_observer, weight=tq.default_observer),
                eq.QConfig(activation=eq.default_observer, weight=eq.default_observer))
    tmod, emod, xq = _flow(make, (3, 4, 6), qconfigs)
    assert repr(emod) == repr(tmod)
    assert list(emod.state_dict()) == list(tmod.state_dict()) == []
    _same_integers(tmod.weight, emod.weight)
    np.testing.assert_allclose(emod.scale, tmod.scale, rtol=1e-6)
    assert emod.zero_point == tmod.zero_point


# ------------------------------------------------------------------ EmbeddingBag

@pytest.mark.parametrize("kwargs", [{"mode": "sum"}, {"mode": "mean"},
                                    {"mode": "sum", "include_last_offset": True}])
def test_embedding_bag_as_torch(kwargs):
    """nn.EmbeddingBag with float_qparams_weight_only_qconfig converts to the quantized
    EmbeddingBag (quint8 rows): torch's repr and state; bags of 1-D indices with offsets
    (an empty bag included), with per-sample weights, and of 2-D indices give torch's
    floats bit for bit (the module sums whatever its mode, as PyTorch's); torch's saved
    state loads."""
    torch.manual_seed(0)
    tfloat = torch.nn.EmbeddingBag(20, 12, **kwargs)
    with torch.no_grad():
        tfloat.weight.mul_(3)
    efloat = ember.nn.EmbeddingBag(20, 12, **kwargs)
    efloat.load_state_dict({"weight": _e(tfloat.weight)})
    tm, em = torch.nn.Sequential(tfloat), ember.nn.Sequential(efloat)
    tm.qconfig = tq.float_qparams_weight_only_qconfig
    em.qconfig = eq.float_qparams_weight_only_qconfig
    for model, q in ((tm, tq), (em, eq)):
        q.prepare(model, inplace=True)
        q.convert(model, inplace=True)
    tmod, emod = tm[0], em[0]
    assert repr(emod) == repr(tmod).replace("torch.", "ember.")
    tsd = tmod.state_dict()
    assert list(emod.state_dict()) == list(tsd)
    idx = torch.randint(0, 20, (30,))
    offsets = torch.tensor([0, 3, 3, 10, 29] + ([30] if kwargs.get("include_last_offset")
                                                 else []))
    for args in ((idx, offsets), (idx, offsets, torch.rand(30)),
                 (torch.randint(0, 20, (4, 5)),)):
        want = tmod(*args)
        np.testing.assert_array_equal(emod(*[_e(a) for a in args]).numpy(), want.numpy())
    fresh = ember.ao.nn.quantized.EmbeddingBag(20, 12, **kwargs)
    fresh.load_state_dict(_via_torch_save(tsd))
    np.testing.assert_array_equal(fresh(_e(idx), _e(offsets)).numpy(),
                                  tmod(idx, offsets).numpy())


def test_embedding_bag_errors_as_torch():
    """1-D indices need offsets, 2-D ones take none; a qconfig without float qparams is
    refused by from_float."""
    torch.manual_seed(0)
    tfloat = torch.nn.EmbeddingBag(10, 4)
    tfloat.qconfig = tq.float_qparams_weight_only_qconfig
    efloat = ember.nn.EmbeddingBag(10, 4)
    efloat.qconfig = eq.float_qparams_weight_only_qconfig
    tmod = torch.ao.nn.quantized.EmbeddingBag.from_float(tfloat)
    emod = ember.ao.nn.quantized.EmbeddingBag.from_float(efloat)
    for mod, lib in ((tmod, torch), (emod, ember)):
        with pytest.raises(RuntimeError):
            mod(lib.tensor([1, 2, 3]))
        with pytest.raises(RuntimeError):
            mod(lib.tensor([[1, 2], [3, 4]]), lib.tensor([0, 1]))
    tfloat.qconfig = tq.default_qconfig
    efloat.qconfig = eq.default_qconfig
    with pytest.raises(AssertionError, match="only supported with float_qparams"):
        torch.ao.nn.quantized.EmbeddingBag.from_float(tfloat)
    with pytest.raises(AssertionError, match="only supported with float_qparams"):
        ember.ao.nn.quantized.EmbeddingBag.from_float(efloat)
