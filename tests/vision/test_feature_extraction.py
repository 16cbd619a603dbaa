"""vision.models.feature_extraction against torchvision's (pure Python on torch.fx): the
node names of the models, the extractors' outputs, code and errors."""
import warnings

import numpy as np
import pytest

import ember
from ember.vision import models as emodels
from ember.vision.models import feature_extraction as efe

torch = pytest.importorskip("torch")
from tests.vision._tv import tv  # noqa: E402

torchvision = tv()
from torchvision.models import feature_extraction as tfe  # noqa: E402

# importing ember.fx put ember's __torch_function__ dispatchers in place; the test modules
# collected after this one must import the undispatched functions, as the conftest's
# fixture leaves them after each test (tracing puts the dispatchers back as needed)
ember._torch_function.deactivate()


def _build(name, lib_models, lib):
    lib.manual_seed(0)
    return getattr(lib_models, name)(weights=None)


# models whose forward code lists its operations in torchvision's order
NAMED_MODELS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0",
                "shufflenet_v2_x0_5", "squeezenet1_0", "regnet_x_400mf", "mnasnet0_5",
                "googlenet"]   # (alexnet, vgg11, convnext_tiny, densenet121 match too: slow)


@pytest.mark.parametrize("name", NAMED_MODELS)
def test_graph_node_names(name):
    em = _build(name, emodels, ember)
    tm = _build(name, torchvision.models, torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # googlenet's train/eval difference note (both)
        e_train, e_eval = efe.get_graph_node_names(em)
        t_train, t_eval = tfe.get_graph_node_names(tm)
    assert e_train == t_train
    assert e_eval == t_eval
    assert em.training is True


def test_resnet_extractor_outputs_and_code():
    em = _build("resnet18", emodels, ember).eval()
    tm = _build("resnet18", torchvision.models, torch).eval()
    nodes = {"layer1": "feat1", "layer3.1.relu_1": "f3", "flatten": "flat", "fc": "out"}
    ef = efe.create_feature_extractor(em, return_nodes=nodes)
    tf = tfe.create_feature_extractor(tm, return_nodes=nodes)
    assert ef.code.replace("ember", "torch") == tf.code
    assert ef.training is False
    ember.manual_seed(3)
    torch.manual_seed(3)
    eo, to = ef(ember.randn(1, 3, 32, 32)), tf(torch.randn(1, 3, 32, 32))
    assert list(eo) == list(to) == ["feat1", "f3", "flat", "out"]
    for k in to:
        assert tuple(eo[k].shape) == tuple(to[k].shape)
        np.testing.assert_allclose(eo[k].detach().numpy(), to[k].detach().numpy(),
                                   rtol=1e-4, atol=1e-4)
    # a list of names; the module keeps only what the outputs need
    ef2 = efe.create_feature_extractor(em, return_nodes=["layer2", "avgpool"])
    tf2 = tfe.create_feature_extractor(tm, return_nodes=["layer2", "avgpool"])
    assert [n for n, _ in ef2.named_children()] == [n for n, _ in tf2.named_children()]
    assert list(ef2.state_dict()) == list(tf2.state_dict())


def test_train_and_eval_return_nodes():
    em = _build("mobilenet_v2", emodels, ember)
    tm = _build("mobilenet_v2", torchvision.models, torch)
    kw = dict(train_return_nodes=["features.3.add", "classifier.0"],
              eval_return_nodes={"features.18": "last"})
    ef = efe.create_feature_extractor(em, **kw)
    tf = tfe.create_feature_extractor(tm, **kw)
    assert ef.training and tf.training

    def code(gm):   # (torchvision annotates MobileNetV2.forward's input, ember does not)
        return gm.code.replace("ember", "torch").replace("x : torch.Tensor", "x")
    assert code(ef) == code(tf)
    ef.eval()
    tf.eval()
    assert code(ef) == code(tf)
    ember.manual_seed(3)
    torch.manual_seed(3)
    eo, to = ef(ember.randn(1, 3, 32, 32)), tf(torch.randn(1, 3, 32, 32))
    assert list(eo) == list(to) == ["last"]
    np.testing.assert_allclose(eo["last"].detach().numpy(), to["last"].detach().numpy(),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs", [
    dict(return_nodes=["nope"]),
    dict(),
    dict(train_return_nodes=["layer1"]),
    dict(return_nodes=["layer1"], train_return_nodes=["layer1"], eval_return_nodes=["fc"]),
])
def test_errors_as_torchvision(kwargs):
    em = _build("resnet18", emodels, ember)
    tm = _build("resnet18", torchvision.models, torch)
    with pytest.raises(ValueError) as te:
        tfe.create_feature_extractor(tm, **kwargs)
    with pytest.raises(ValueError) as ee:
        efe.create_feature_extractor(em, **kwargs)
    assert str(ee.value) == str(te.value)


def test_vision_transformer_traces_through_assert():
    """ViT checks its input with torch._assert, which tracing records (ember's ViT used
    a Python `if`, and tracing raised TraceError); the extracted features equal
    torchvision's. (Its node names differ: ember's encoder block is written otherwise.)"""
    def build(lib_models, lib):
        lib.manual_seed(0)
        return lib_models.VisionTransformer(image_size=32, patch_size=16, num_layers=2,
                                            num_heads=2, hidden_dim=8, mlp_dim=16).eval()

    em, tm = build(emodels, ember), build(torchvision.models, torch)
    ef = efe.create_feature_extractor(em, return_nodes={"encoder.ln": "ln"})
    tf = tfe.create_feature_extractor(tm, return_nodes={"encoder.ln": "ln"})
    assert "_assert" in ef.code
    ember.manual_seed(3)
    torch.manual_seed(3)
    eo, to = ef(ember.randn(2, 3, 32, 32)), tf(torch.randn(2, 3, 32, 32))
    np.testing.assert_allclose(eo["ln"].detach().numpy(), to["ln"].detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(AssertionError, match="Wrong image height"):
        ef(ember.randn(1, 3, 16, 32))
    with pytest.raises(AssertionError, match="Wrong image height"):
        tf(torch.randn(1, 3, 16, 32))


@pytest.mark.parametrize("v2", [False, True])
def test_swin_transformer_window_attention_is_a_leaf(v2):
    """Swin's shifted_window_attention/_get_relative_position_bias/_patch_merging_pad are
    fx.wrap'ed as in torchvision (their bodies branch on shapes; tracing them raised
    TraceError): node names and extracted features equal torchvision's."""
    def build(lib_models, lib):
        lib.manual_seed(0)
        kw = {}
        if v2:
            kw = dict(block=lib_models.swin_transformer.SwinTransformerBlockV2,
                      downsample_layer=lib_models.swin_transformer.PatchMergingV2)
        return lib_models.SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 2],
                                          num_heads=[1, 2], window_size=[2, 2],
                                          num_classes=5, **kw).eval()

    em, tm = build(emodels, ember), build(torchvision.models, torch)
    assert efe.get_graph_node_names(em) == tfe.get_graph_node_names(tm)
    nodes = {"features.3": "f3", "norm": "n"}
    ef = efe.create_feature_extractor(em, return_nodes=nodes)
    tf = tfe.create_feature_extractor(tm, return_nodes=nodes)
    # (the wrapped functions' global names come from their modules' paths)
    assert ef.code.replace("ember_vision", "torchvision").replace("ember", "torch") == tf.code
    ember.manual_seed(3)
    torch.manual_seed(3)
    eo, to = ef(ember.randn(1, 3, 16, 16)), tf(torch.randn(1, 3, 16, 16))
    for k in to:
        np.testing.assert_allclose(eo[k].detach().numpy(), to[k].detach().numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_inception_v3_node_names():
    """Inception's blocks run their 1x1 branch first, as torchvision's, so the traced
    nodes come in torchvision's order (train mode has the auxiliary head too)."""
    def build(lib_models, lib):
        lib.manual_seed(0)
        return lib_models.inception_v3(weights=None, init_weights=False, aux_logits=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = efe.get_graph_node_names(build(emodels, ember))
        t = tfe.get_graph_node_names(build(torchvision.models, torch))
    assert e == t


def test_deepcopied_extractor_keeps_both_graphs():
    import copy
    em = _build("resnet18", emodels, ember)
    tm = _build("resnet18", torchvision.models, torch)
    nodes = ["layer1.0.conv2", "layer2"]
    ef = copy.deepcopy(efe.create_feature_extractor(em, return_nodes=nodes))
    tf = copy.deepcopy(tfe.create_feature_extractor(tm, return_nodes=nodes))
    assert type(ef).__name__ == type(tf).__name__
    assert isinstance(ef, efe.DualGraphModule) and isinstance(tf, tfe.DualGraphModule)
    ef.eval()
    tf.eval()
    assert ef.training == tf.training is False
    assert ef.code.replace("ember", "torch") == tf.code
    ember.manual_seed(3)
    torch.manual_seed(3)
    eo, to = ef(ember.randn(1, 3, 32, 32)), tf(torch.randn(1, 3, 32, 32))
    for k in to:
        np.testing.assert_allclose(eo[k].detach().numpy(), to[k].detach().numpy(),
                                   rtol=1e-4, atol=1e-4)
