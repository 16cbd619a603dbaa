"""ember.vision.models.segmentation (FCN, DeepLabV3, LR-ASPP) against real torchvision:
the same state_dict layout, and in float64 with torchvision's weights copied over the
same outputs ('out' and 'aux') in eval mode and the same parameter gradients of a
training-mode loss (dropout switched off in both: their random streams differ)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember.vision.models import segmentation as es  # noqa: E402
from ember.vision.models._utils import IntermediateLayerGetter  # noqa: E402

from ._tv import tv  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """The oracle on one thread: on 2 shared cores torch's intra-op threads only contend."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)

@pytest.fixture(scope="module")
def tvs():
    torchvision = tv()
    import torchvision.models.segmentation  # noqa: F401
    return torchvision.models.segmentation


def _no_dropout(model):
    for m in model.modules():
        if type(m).__name__ == "Dropout":
            m.p = 0.0
    return model


def _pair(tvs, name, **kw):
    torch.manual_seed(0)
    t = getattr(tvs, name)(weights=None, weights_backbone=None, **kw).double()
    # (ember's model on the meta device, then allocated: every value is loaded below,
    # and its random init of millions of parameters would take seconds)
    with ember.device("meta"):
        e = getattr(es, name)(weights=None, weights_backbone=None, **kw)
    e = e.double().to_empty(device="cpu")
    t_sd, e_sd = t.state_dict(), e.state_dict()
    assert list(e_sd) == list(t_sd)
    assert [tuple(v.shape) for v in e_sd.values()] == [tuple(v.shape) for v in t_sd.values()]
    # random running statistics, so eval mode tests more than the identity
    g = torch.Generator().manual_seed(1)
    for k, v in t_sd.items():
        if k.endswith("running_var"):
            v.copy_(torch.rand(v.shape, generator=g, dtype=v.dtype) + 0.5)
        elif k.endswith("running_mean"):
            v.copy_(torch.randn(v.shape, generator=g, dtype=v.dtype) * 0.1)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_sd.items()})
    return t, e


def _close(e, t, rtol=1e-9, atol=1e-10):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


# (deeplabv3_resnet50: eval only. The gradient of its ASPP's 2048-channel convs with
# dilation and padding 36 on a 4x4 map costs seconds in ember's conv backward, which
# works on the padded image; deeplabv3_mobilenet_v3_large checks the same head's
# gradients on 960 channels, fcn_resnet50 those of the dilated ResNet-50.)
CASES = [("fcn_resnet50", dict(aux_loss=True), True),
         ("deeplabv3_resnet50", dict(aux_loss=True, num_classes=5), False),
         ("deeplabv3_mobilenet_v3_large", dict(aux_loss=True), True),
         ("lraspp_mobilenet_v3_large", dict(num_classes=4), True)]


@pytest.mark.parametrize("name,kw,train", CASES, ids=[c[0] for c in CASES])
def test_segmentation_model_matches_torchvision(tvs, name, kw, train):
    t, e = _pair(tvs, name, **kw)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 36))
    t.eval()
    e.eval()
    with torch.no_grad():
        t_out = t(torch.tensor(x))
    with ember.no_grad():
        e_out = e(ember.tensor(x))
    assert list(e_out) == list(t_out) == (["out", "aux"] if kw.get("aux_loss") else ["out"])
    for k in t_out:
        assert tuple(e_out[k].shape) == tuple(t_out[k].shape)
        _close(e_out[k], t_out[k])
    if not train:
        return
    # training mode: batch statistics, both heads in the loss
    _no_dropout(t).train()
    _no_dropout(e).train()
    w = np.random.default_rng(1).standard_normal(t_out["out"].shape)
    t_out = t(torch.tensor(x))
    e_out = e(ember.tensor(x))
    t_loss = sum((o * torch.tensor(w)).sum() for o in t_out.values())
    e_loss = sum((o * ember.tensor(w)).sum() for o in e_out.values())
    _close(e_loss, t_loss, rtol=1e-8)
    t_loss.backward()
    e_loss.backward()
    e_params = dict(e.named_parameters())
    # (a gradient that cancels to ~1e-12 is rounding noise: scale by at least 1e-6 of the
    # largest gradient of the model)
    # PyTorch's CPU hardsigmoid backward multiplies by float32(1/6) even in float64, a
    # relative 3e-8 off the exact 1/6 ember uses: the MobileNetV3 gradients agree to 1e-7
    grad_atol = 1e-7 if "mobilenet" in name else 1e-8
    floor = 1e-6 * max(float(p.grad.abs().max()) for p in t.parameters())
    for n, p in t.named_parameters():
        assert (p.grad is None) == (e_params[n].grad is None), n
        if p.grad is not None:
            scale = max(float(p.grad.abs().max()), floor)
            _close(e_params[n].grad / scale, p.grad / scale, rtol=0, atol=grad_atol)
    t_buf, e_buf = dict(t.named_buffers()), dict(e.named_buffers())
    for n in ("classifier.1.running_mean", "classifier.1.running_var"):
        if n in t_buf:
            _close(e_buf[n], t_buf[n])


@pytest.mark.parametrize("name", ["fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50",
                                  "deeplabv3_resnet101", "deeplabv3_mobilenet_v3_large",
                                  "lraspp_mobilenet_v3_large"])
def test_builder_layouts_match_torchvision(tvs, name):
    """Default arguments (no aux head but for the trained weights): keys, shapes, reprs
    (ember's model on the meta device)."""
    t = getattr(tvs, name)(weights=None, weights_backbone=None)
    with ember.device("meta"):
        e = getattr(es, name)(weights=None, weights_backbone=None)
    t_sd, e_sd = t.state_dict(), e.state_dict()
    assert list(e_sd) == list(t_sd)
    assert [tuple(v.shape) for v in e_sd.values()] == [tuple(v.shape) for v in t_sd.values()]
    assert repr(e) == repr(t)
    if name.startswith("lraspp"):
        assert not hasattr(e, "aux_classifier")
    else:
        assert e.aux_classifier is None and t.aux_classifier is None


@pytest.mark.parametrize("name", ["fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50",
                                  "deeplabv3_resnet101", "deeplabv3_mobilenet_v3_large",
                                  "lraspp_mobilenet_v3_large"])
def test_weights_enums_match_torchvision(tvs, name):
    t_weights = tvs.__dict__[name].__annotations__["weights"]
    enum_name = getattr(t_weights, "__args__", (t_weights,))[0].__name__
    t_enum, e_enum = getattr(tvs, enum_name), getattr(es, enum_name)
    assert list(e_enum.__members__) == list(t_enum.__members__)
    for member in t_enum:
        e_member = e_enum[member.name]
        assert e_member.url == member.url
        for key in ("categories", "num_params", "min_size", "_metrics", "recipe", "_ops",
                    "_file_size"):
            assert e_member.meta[key] == member.meta[key], key
        assert repr(e_member.transforms()) == repr(member.transforms())


def test_builder_arguments_follow_torchvision(tvs):
    with pytest.raises(ValueError, match="'num_classes' expected value 21 but got 5"):
        es.fcn_resnet50(weights="DEFAULT", num_classes=5)
    with pytest.raises(ValueError, match="'aux_loss' expected value True but got False"):
        es.deeplabv3_mobilenet_v3_large(weights="DEFAULT", aux_loss=False)
    with pytest.raises(NotImplementedError, match="does not use auxiliary loss"):
        es.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, aux_loss=True)
    m = es.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None)
    assert m.aux_classifier is None and m.classifier[4].out_channels == 21
    with pytest.warns(UserWarning) as record:
        es.lraspp_mobilenet_v3_large(pretrained=False, weights_backbone=None)
    assert "'pretrained' is deprecated" in str(record[0].message)
    assert "equivalent to passing `weights=None`" in str(record[1].message)


def test_intermediate_layer_getter_matches_torchvision(tvs):
    import torchvision.models._utils as tu
    from ember.vision.models import resnet18
    tm = tv().models.resnet18().double()
    em = resnet18().double()
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    layers = {"layer1": "a", "layer3": "b"}
    t, e = tu.IntermediateLayerGetter(tm, layers), IntermediateLayerGetter(em, layers)
    assert list(e.state_dict()) == list(t.state_dict())
    assert list(dict(e.named_children())) == list(dict(t.named_children()))
    x = np.random.default_rng(2).standard_normal((1, 3, 32, 32))
    e.eval()
    t.eval()
    t_out, e_out = t(torch.tensor(x)), e(ember.tensor(x))
    assert list(e_out) == list(t_out) == ["a", "b"]
    for k in t_out:
        _close(e_out[k], t_out[k])
    with pytest.raises(ValueError, match="return_layers are not present in model"):
        IntermediateLayerGetter(em, {"layer9": "x"})
