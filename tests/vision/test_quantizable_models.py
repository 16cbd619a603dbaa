"""ember.vision.models.quantization against torchvision.models.quantization (the real one,
tests/vision/_tv.py): the quantizable ResNet/ResNeXt, MobileNetV2/V3, GoogLeNet, Inception
v3 and ShuffleNet V2.

- builders: names, weights enums (members, URLs, meta), argument handling and errors;
- structure: state_dict keys, order, shapes and module reprs of every builder (the big ones
  on the meta device), initial values after the same seed;
- the eager post-training flow (fuse_model, prepare with calibration batches, convert) on
  the same float weights: the same modules, keys, zero points and weight integers; the
  activation scales, observed from float convolutions that round differently from
  torch's, within 1e-5 relative; and, with torch's converted state_dict loaded (saved with
  torch.save, read with ember.load), outputs bit for bit equal to torch's;
- ``quantize=True`` (PTQ with torchvision's qconfig, or MobileNetV3's QAT conversion): the
  same quantized model, torch's quantized state_dict loads into it and gives torch's
  outputs.
Inputs are small (a 2x3x64x64 batch, 80x80 for Inception v3); bit-equality tests run on
the fbgemm engine, whose integers ember's kernels reproduce.
"""
import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember.ao import quantization as eq  # noqa: E402
from ember.vision import models as emodels  # noqa: E402
from ember.vision.models import quantization as eqm  # noqa: E402

from ._tv import tv  # noqa: E402

torchvision = tv()
tqm = torchvision.models.quantization
tq = torch.ao.quantization

ALL = ["googlenet", "inception_v3", "mobilenet_v2", "mobilenet_v3_large", "resnet18",
       "resnet50", "resnext101_32x8d", "resnext101_64x4d", "shufflenet_v2_x0_5",
       "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]
# small enough to build with values (the others are compared on the meta device)
SMALL = ["googlenet", "mobilenet_v2", "mobilenet_v3_large", "resnet18",
         "shufflenet_v2_x0_5"]


@pytest.fixture(autouse=True)
def engines_restored():
    """quantize=True sets the quantized engine (torchvision's quantize_model does); put
    both back, and keep torch on one thread (the test machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tengine, eengine = torch.backends.quantized.engine, ember.backends.quantized.engine
    yield
    torch.backends.quantized.engine = tengine
    ember.backends.quantized.engine = eengine
    torch.set_num_threads(threads)


def _quiet():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")   # inception/googlenet init, observer warnings
    return ctx


def _build(name, seed=0, **kwargs):
    """torchvision's and ember's models from the same seed."""
    ctx = _quiet()
    try:
        torch.manual_seed(seed)
        tmodel = getattr(tqm, name)(**kwargs)
        ember.manual_seed(seed)
        emodel = getattr(eqm, name)(**kwargs)
    finally:
        ctx.__exit__(None, None, None)
    return tmodel, emodel


def _randomise(tmodel, seed=0):
    """BatchNorm statistics and affine parameters away from (0, 1), biases away from 0,
    so that BN folding and every bias matter in the quantized model."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, t in tmodel.state_dict().items():
            if not t.is_floating_point() or t.numel() == 0 or t.is_quantized:
                continue
            shape = tuple(t.shape)
            if name.endswith("running_var"):
                new = rng.uniform(0.5, 1.5, shape)
            elif name.endswith("running_mean"):
                new = rng.normal(0.0, 0.1, shape)
            elif name.endswith(("bn.weight", "bn1.weight", "bn2.weight", "bn3.weight")) or \
                    bool((t == t.flatten()[0]).all()):
                new = rng.uniform(0.5, 1.5, shape) if float(t.flatten()[0]) != 0 \
                    else rng.normal(0.0, 0.05, shape)
            else:
                continue
            t.copy_(torch.from_numpy(new.astype(np.float32)))


def _copy_float_state(tmodel, emodel):
    emodel.load_state_dict({k: ember.tensor(v.numpy()) for k, v in
                            tmodel.state_dict().items()}, strict=True)


def _via_torch_save(state_dict):
    """torch's state_dict written by torch.save and read back by ember.load."""
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    buf.seek(0)
    return ember.load(buf)


def _ints(t):
    return (t.int_repr() if t.is_quantized else t).numpy()


def _compare_quantized_states(tsd, esd, exact_weights=True):
    """Keys in order; zero points equal; activation scales within 1e-5 relative (observed
    from float convolutions, which round differently from torch's); with `exact_weights`
    (the same float weights) the weight integers and per-channel scales equal, else (the
    same seed: normal draws can differ in the last bit) integers within one in 1% of
    the places (two at least) and scales within 1e-5."""
    assert list(esd) == list(tsd)
    for key, tv_ in tsd.items():
        ev = esd[key]
        if isinstance(tv_, tuple):   # a linear's packed (weight, bias)
            assert isinstance(ev, tuple) and len(ev) == len(tv_), key
            pairs = list(zip(tv_, ev))
        elif isinstance(tv_, torch.Tensor):
            pairs = [(tv_, ev)]
        else:   # a packed linear's dtype
            assert str(ev).replace("ember.", "torch.") == str(tv_), key
            continue
        for a, b in pairs:
            if a is None:
                assert b is None, key
            elif a.is_quantized:
                assert b.is_quantized and str(b.dtype)[6:] == str(a.dtype)[6:], key
                if exact_weights:
                    np.testing.assert_array_equal(_ints(b), _ints(a), err_msg=key)
                else:
                    diff = np.abs(_ints(b).astype(int) - _ints(a).astype(int))
                    assert diff.max() <= 1 and diff.sum() <= max(2, diff.size // 100), key
                if a.qscheme() is torch.per_tensor_affine:
                    np.testing.assert_allclose(b.q_scale(), a.q_scale(), rtol=1e-5)
                    assert b.q_zero_point() == a.q_zero_point(), key
                else:
                    np.testing.assert_allclose(b.q_per_channel_scales().numpy(),
                                               a.q_per_channel_scales().numpy(),
                                               rtol=0 if exact_weights else 1e-5,
                                               err_msg=key)
                    np.testing.assert_array_equal(b.q_per_channel_zero_points().numpy(),
                                                  a.q_per_channel_zero_points().numpy())
            elif key.endswith("scale"):
                np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, err_msg=key)
            elif key.endswith("zero_point"):
                np.testing.assert_array_equal(b.numpy(), a.numpy(), err_msg=key)
            else:
                np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(),
                                           rtol=1e-5, atol=1e-6, err_msg=key)


def _input(seed, size=64):
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(seed))
    return x, ember.tensor(x.numpy())


# ------------------------------------------------------------------ builders

def test_builders_registered_as_torchvision():
    """list_models/get_model/get_model_weights of the quantized builders; the package's
    names; weights enums with torchvision's members, URLs and meta."""
    from torchvision import models as tmodels
    assert emodels.list_models(eqm) == tmodels.list_models(tqm)
    assert [n for n in emodels.list_models() if n.startswith("quantized_")] == \
        [n for n in tmodels.list_models() if n.startswith("quantized_")]
    public = sorted(n for n in dir(tqm) if not n.startswith("_"))
    assert sorted(n for n in dir(eqm) if not n.startswith("_") and n in public) == public
    assert callable(eqm.googlenet) and callable(eqm.resnet18)   # the builders, not modules
    for name in ALL:
        tw = tmodels.get_model_weights("quantized_" + name)
        ew = emodels.get_model_weights("quantized_" + name)
        assert ew.__name__ == tw.__name__
        assert list(ew.__members__) == list(tw.__members__)
        for member, t in tw.__members__.items():
            e = ew[member]
            assert e.url == t.url
            assert set(e.meta) == set(t.meta), name
            for key, value in t.meta.items():
                if key == "unquantized":
                    assert repr(e.meta[key]) == repr(value)
                elif key == "_docs":
                    assert " ".join(e.meta[key].split()) == " ".join(value.split())
                else:
                    assert e.meta[key] == value, (name, key)
            tpreset, epreset = t.transforms(), e.transforms()
            assert (epreset.crop_size, epreset.resize_size) == \
                (tpreset.crop_size, tpreset.resize_size)
        assert emodels.get_weight(f"{tw.__name__}.DEFAULT") is ew.DEFAULT


def test_builder_arguments_and_errors():
    """Keyword-only arguments; weights checked against the quantized enum when
    quantize=True and the float one otherwise; num_classes against the weights'; an
    unknown backend; the legacy ``pretrained`` with torchvision's warnings."""
    for args in ((None,), (None, True), (False, True, False)):   # by position: warned
        with warnings.catch_warnings(record=True) as tw:
            warnings.simplefilter("always")
            tqm.shufflenet_v2_x0_5(*args)
        with warnings.catch_warnings(record=True) as ew:
            warnings.simplefilter("always")
            eqm.shufflenet_v2_x0_5(*args)
        assert [str(w.message) for w in ew] == [str(w.message) for w in tw]
    # a member of the other enum: torchvision's Enum lookup raises KeyError, ember's
    # WeightsEnum.verify a ValueError naming the members (as for the float builders)
    for kwargs in ({"weights": "IMAGENET1K_FBGEMM_V1"},
                   {"weights": "IMAGENET1K_V1", "quantize": True}):
        with pytest.raises(KeyError):
            tqm.resnet18(**kwargs)
        with pytest.raises(ValueError, match="Unknown weights"):
            eqm.resnet18(**kwargs)
    # num_classes must be the weights' (checked before any download)
    kwargs = {"weights": "IMAGENET1K_FBGEMM_V1", "quantize": True, "num_classes": 10}
    with pytest.raises(ValueError) as texc:
        tqm.resnet18(**kwargs)
    with pytest.raises(ValueError) as eexc:
        eqm.resnet18(**kwargs)
    assert str(eexc.value) == str(texc.value)
    with pytest.raises(RuntimeError, match="Quantized backend not supported"):
        tqm.shufflenet_v2_x0_5(quantize=True, backend="nope")
    with pytest.raises(RuntimeError, match="Quantized backend not supported"):
        eqm.shufflenet_v2_x0_5(quantize=True, backend="nope")
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        tqm.shufflenet_v2_x0_5(pretrained=False)
    with warnings.catch_warnings(record=True) as ew:
        warnings.simplefilter("always")
        eqm.shufflenet_v2_x0_5(pretrained=False)
    assert [str(w.message) for w in ew] == [str(w.message) for w in tw]
    assert len(tw) == 2


@pytest.mark.parametrize("name", ALL)
def test_structure_as_torchvision(name):
    """Float quantizable models on the meta device: keys, order, shapes, reprs."""
    ctx = _quiet()
    try:
        tmodel = getattr(tqm, name)()
        tmodel = tmodel.to("meta")
        with ember.device("meta"):
            emodel = getattr(eqm, name)()
    finally:
        ctx.__exit__(None, None, None)
    tsd, esd = tmodel.state_dict(), emodel.state_dict()
    assert list(esd) == list(tsd)
    assert [tuple(v.shape) for v in esd.values()] == [tuple(v.shape) for v in tsd.values()]
    assert repr(emodel) == repr(tmodel)
    assert type(emodel).__name__ == type(tmodel).__name__


@pytest.mark.parametrize("name", SMALL)
def test_same_seed_same_initial_state(name):
    """The same seed gives torchvision's initial values (normal draws within float32
    rounding: ember's generator reproduces torch's stream, its normal transform can differ
    in the last bit)."""
    tmodel, emodel = _build(name)
    tsd, esd = tmodel.state_dict(), emodel.state_dict()
    assert list(esd) == list(tsd)
    for key, value in tsd.items():
        np.testing.assert_allclose(esd[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-7,
                                   err_msg=key)


# ------------------------------------------------------------------ eager PTQ flow

def _ptq(model, quant, batches, qconfig):
    model.eval()
    model.qconfig = qconfig
    model.fuse_model()
    quant.prepare(model, inplace=True)
    for x in batches:
        model(x)
    quant.convert(model, inplace=True)
    return model


@pytest.mark.parametrize("name, size", [("resnet18", 64), ("shufflenet_v2_x0_5", 64),
                                        ("mobilenet_v2", 64), ("googlenet", 64),
                                        ("mobilenet_v3_large", 64)])
def test_eager_ptq_flow_as_torch(name, size):
    """fuse_model + prepare (fbgemm's default qconfig) + two calibration batches + convert
    on the same float weights: the same quantized modules and state; the outputs of ember's
    model with torch's converted state are torch's, bit for bit."""
    tmodel, emodel = _build(name)
    _randomise(tmodel)
    _copy_float_state(tmodel, emodel)
    torch.backends.quantized.engine = "fbgemm"
    ember.backends.quantized.engine = "fbgemm"
    (t1, e1), (t2, e2) = _input(1, size), _input(2, size)
    ctx = _quiet()
    try:
        _ptq(tmodel, tq, [t1, t2], tq.get_default_qconfig("fbgemm"))
        _ptq(emodel, eq, [e1, e2], eq.get_default_qconfig("fbgemm"))
    finally:
        ctx.__exit__(None, None, None)
    assert [type(m).__name__ for m in emodel.modules()] == \
        [type(m).__name__ for m in tmodel.modules()]
    tsd = tmodel.state_dict()
    _compare_quantized_states(tsd, emodel.state_dict(), exact_weights=True)
    tx, ex = _input(3, size)
    with torch.no_grad():
        want = tmodel(tx).numpy()
    # ember's own calibration: within a few quanta of the output (scales differ in ulps)
    step = max(float(v) for k, v in tsd.items() if k.endswith(".scale"))
    assert np.abs(emodel(ex).numpy() - want).max() <= 4 * step
    # torch's calibration (its saved state): the same integers, so the same outputs
    emodel.load_state_dict(_via_torch_save(tsd))
    np.testing.assert_array_equal(emodel(ex).numpy(), want)


def test_fuse_model_modes():
    """fuse_model() fuses for QAT in training mode (ConvBnReLU2d with its BN kept) and
    folds BN in eval mode; is_qat overrides the mode; the fused float model computes what
    the unfused one did."""
    for is_qat, train in ((None, True), (None, False), (True, False)):
        tmodel, emodel = _build("resnet18")
        tmodel.train(train)
        emodel.train(train)
        tmodel.fuse_model(is_qat)
        emodel.fuse_model(is_qat)
        assert [type(m).__name__ for m in emodel.modules()] == \
            [type(m).__name__ for m in tmodel.modules()]
        assert list(emodel.state_dict()) == list(tmodel.state_dict())
    tmodel, emodel = _build("resnet18")   # eval fusion of a model in training: refused
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        tmodel.fuse_model(is_qat=False)
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        emodel.fuse_model(is_qat=False)
    tmodel, emodel = _build("mobilenet_v3_large")
    _randomise(tmodel)
    _copy_float_state(tmodel, emodel)
    tx, ex = _input(4)
    tmodel.eval()
    emodel.eval()
    with torch.no_grad():
        before = tmodel(tx).numpy()
    emodel.fuse_model()
    np.testing.assert_allclose(emodel(ex).detach().numpy(), before, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ quantize=True

@pytest.mark.parametrize("name, kwargs, size", [
    ("resnet18", {}, 64),
    ("shufflenet_v2_x0_5", {}, 64),
    ("mobilenet_v2", {"backend": "fbgemm"}, 64),
    ("mobilenet_v3_large", {}, 64),
    ("inception_v3", {"aux_logits": False}, 80),
])
def test_quantize_true_as_torchvision(name, kwargs, size):
    """The builders' quantize=True (torchvision's recipe, calibrated on its random batch):
    the same quantized model (module types, keys, zero points, weight integers, activation
    scales within 1e-5); torch's quantized state_dict loads and gives torch's outputs."""
    tmodel, emodel = _build(name, quantize=True, **kwargs)
    assert ember.backends.quantized.engine == torch.backends.quantized.engine
    assert [type(m).__name__ for m in emodel.modules()] == \
        [type(m).__name__ for m in tmodel.modules()]
    tsd = tmodel.state_dict()
    _compare_quantized_states(tsd, emodel.state_dict(), exact_weights=False)
    emodel.load_state_dict(_via_torch_save(tsd))
    tx, ex = _input(5, size)
    with torch.no_grad():
        want = tmodel(tx).numpy()
    np.testing.assert_array_equal(emodel(ex).numpy(), want)


def test_quantized_float_weights_load():
    """quantize=False keeps the float keys, so a float torchvision state_dict (of the
    plain model) loads into the quantizable model and gives the same logits."""
    from torchvision import models as tmodels
    torch.manual_seed(0)
    plain = tmodels.shufflenet_v2_x0_5().eval()
    emodel = eqm.shufflenet_v2_x0_5().eval()
    _copy_float_state(plain, emodel)
    tx, ex = _input(6)
    with torch.no_grad():
        want = plain(tx).numpy()
    np.testing.assert_allclose(emodel(ex).detach().numpy(), want, rtol=1e-4, atol=1e-5)
