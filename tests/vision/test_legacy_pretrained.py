"""The legacy ``pretrained``/``pretrained_backbone`` arguments warn with torchvision's texts
(both of its deprecation warnings) and choose its weights."""
import warnings

import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember.vision import models as emodels  # noqa: E402
from ember.vision.models import _api  # noqa: E402

from ._tv import tv  # noqa: E402

torchvision = tv()


def _deprecations(build):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        build()
    return [str(w.message) for w in seen if "deprecated" in str(w.message)]


@pytest.mark.parametrize("name,kwargs", [
    ("resnet18", {"pretrained": False}),
    ("squeezenet1_1", {"pretrained": False}),
    ("mobilenet_v3_small", {"pretrained": False}),
    ("detection.fasterrcnn_resnet50_fpn", {"pretrained": False, "pretrained_backbone": False}),
])
def test_pretrained_false_warns_as_torchvision(name, kwargs):
    def builder(models):
        for part in name.split("."):
            models = getattr(models, part)
        return models
    torch.manual_seed(0)
    expected = _deprecations(lambda: builder(torchvision.models)(**kwargs))
    ember.manual_seed(0)
    got = _deprecations(lambda: builder(emodels)(**kwargs))
    assert expected and got == expected


def test_pretrained_true_names_the_weights_and_default():
    """pretrained=True means IMAGENET1K_V1 (the file is not in any cache here: the load
    fails after the warnings, in both libraries)."""
    def warned(models, env):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with pytest.raises(Exception):
                models.resnet18(pretrained=True)
        return [str(w.message) for w in seen if "deprecated" in str(w.message)]
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("TORCH_HOME", "/nonexistent-ember-test")
        mp.setattr(torch.hub, "download_url_to_file",
                   lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no network in tests")))
        expected = warned(torchvision.models, mp)
        got = warned(emodels, mp)
    finally:
        mp.undo()
    assert got == expected
    assert "weights=ResNet18_Weights.IMAGENET1K_V1" in got[1]
    assert "weights=ResNet18_Weights.DEFAULT" in got[1]


def test_no_legacy_default():
    """A builder whose pretrained=True has no weights (torchvision's regnet_y_128gf,
    vit_h_14) stays silent for True and builds untrained; False warns as usual."""
    enum = emodels.RegNet_Y_128GF_Weights
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert _api.resolve_weights(enum, None, {"pretrained": True}, None) is None
    assert not seen
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert _api.resolve_weights(enum, None, {"pretrained": False}, None) is None
    assert [str(w.message) for w in seen] == _deprecations(
        lambda: torchvision.models.resnet18(pretrained=False))
