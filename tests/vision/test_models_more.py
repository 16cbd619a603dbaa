"""ember.vision.models against real torchvision (tests/vision/_tv.py): DenseNet, Inception
v3, GoogLeNet, ShuffleNet v2, MobileNet v3, EfficientNet, MNASNet, RegNet, ConvNeXt, Swin and
MaxViT.

Each architecture is built in both after seeding (the initial states must be equal), torchvision's state dict (with its BatchNorm statistics
and constant-initialised tensors randomised, so that no layer is an identity) is copied into
ember's through NumPy with ``strict=True``, and then compared: state_dict keys, order and
shapes, parameter counts, module reprs, eval-mode logits, train-mode logits with dropout and
stochastic depth off, and the gradients of one backward step. The largest variants are
compared on the meta device (keys, shapes and counts only).
"""
import contextlib
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember.vision import models as emodels  # noqa: E402

from ._tv import tv  # noqa: E402

torchvision = tv()
tmodels = torchvision.models


# ------------------------------------------------------------------ helpers

@pytest.fixture(autouse=True, scope="module")
def torch_one_thread():
    """torch's thread pool only waits on the shared test machine (2 cores, busy)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _randomise(tmodel, seed=0):
    """Give torchvision's model tensors on which a wrong layer order or a missing layer
    shows: BN statistics away from (0, 1), constant tensors (BN affine, zero biases,
    layer scales, zero-initialised last BN weights) spread around their value."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, t in tmodel.state_dict().items():
            if not t.is_floating_point() or t.numel() == 0:
                continue
            shape = tuple(t.shape)
            if name.endswith("running_var"):
                new = rng.uniform(0.5, 1.5, shape)
            elif name.endswith("running_mean"):
                new = rng.normal(0.0, 0.1, shape)
            elif bool((t == t.flatten()[0]).all()):
                base = float(t.flatten()[0])
                new = (rng.uniform(0.5, 1.5, shape) * base if base != 0
                       else rng.normal(0.0, 0.02, shape))
            else:
                continue
            t.copy_(torch.from_numpy(new.astype(np.float32)))


def _copy_into(emodel, tmodel):
    """torchvision's state dict, through NumPy, into ember's model (strict)."""
    state = {k: ember.from_numpy(v.detach().numpy().copy())
             for k, v in tmodel.state_dict().items()}
    result = emodel.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def _shapes(state_dict):
    return [(k, tuple(v.shape)) for k, v in state_dict.items()]


def _no_dropout(model):
    """Dropout and stochastic depth off, for a deterministic train-mode pass."""
    for m in model.modules():
        if type(m).__name__ in ("Dropout", "StochasticDepth"):
            m.p = 0.0
        if hasattr(m, "stochastic_depth_prob"):
            m.stochastic_depth_prob = 0.0
        if type(m).__name__ == "_DenseLayer":
            m.drop_rate = 0.0


def _pair(name, **kwargs):
    torch.manual_seed(0)
    tmodel = tmodels.get_model(name, weights=None, **kwargs)
    ember.manual_seed(0)
    emodel = emodels.get_model(name, weights=None, **kwargs)
    _check_buffers_and_copy(tmodel, emodel)
    return tmodel, emodel


def _check_buffers_and_copy(tmodel, emodel):
    """Both built after seeding with 0: the same initial state (ember's generator and
    init functions reproduce torch's, and the modules initialise in torchvision's order;
    buffers computed by the constructor, e.g. Swin's relative position index, included).
    Then torchvision's randomised state goes into ember's."""
    estate = emodel.state_dict()
    for key, tvalue in tmodel.state_dict().items():
        evalue = estate[key]
        assert str(evalue.dtype).split(".")[1] == str(tvalue.dtype).split(".")[1], key
        np.testing.assert_allclose(evalue.numpy(), tvalue.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=key)
    _randomise(tmodel)
    _copy_into(emodel, tmodel)


def _close(got, want, rtol=2e-4):
    got = got.detach().numpy() if hasattr(got, "detach") else got
    want = want.detach().numpy()
    assert got.shape == want.shape
    scale = max(float(np.abs(want).max()), 1e-3)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


def _image(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# name, builder kwargs, input shape for the forward comparisons, backward too
SMALL = [
    ("densenet121", {}, (2, 3, 64, 64), True),
    # the auxiliary head needs 299x299 inputs: checked on its own below
    ("inception_v3", {"aux_logits": False, "init_weights": True}, (2, 3, 75, 75), True),
    ("inception_v3", {"transform_input": True, "init_weights": True}, (1, 3, 75, 75), False),
    ("googlenet", {"aux_logits": True, "init_weights": True}, (2, 3, 64, 64), True),
    ("googlenet", {"transform_input": True, "aux_logits": False, "init_weights": True},
     (1, 3, 32, 32), False),
    ("shufflenet_v2_x0_5", {}, (2, 3, 64, 64), True),
    ("shufflenet_v2_x1_0", {}, (1, 3, 32, 32), False),
    ("mobilenet_v3_small", {}, (2, 3, 64, 64), True),
    ("mobilenet_v3_large", {}, (2, 3, 64, 64), True),
    ("mobilenet_v3_large", {"width_mult": 0.75, "reduced_tail": True, "dilated": True},
     (1, 3, 32, 32), False),
    ("mnasnet0_5", {}, (2, 3, 64, 64), True),
    ("mnasnet0_75", {}, (1, 3, 32, 32), False),
    ("efficientnet_b0", {}, (2, 3, 64, 64), True),
    ("efficientnet_b1", {"dropout": 0.1}, (1, 3, 32, 32), False),
    ("efficientnet_v2_s", {}, (2, 3, 48, 48), True),
    ("regnet_y_400mf", {}, (2, 3, 64, 64), True),
    ("regnet_x_400mf", {}, (2, 3, 64, 64), True),
    ("regnet_y_800mf", {}, (1, 3, 32, 32), False),
    ("regnet_x_800mf", {}, (1, 3, 32, 32), False),
    ("convnext_tiny", {}, (2, 3, 32, 32), True),
    # 32x32: the first stage's 8x8 grid padded to two 7x7 windows, shifted
    ("swin_t", {}, (2, 3, 32, 32), True),
    # 64x64: a 16x16 grid, four 8x8 windows shifted by 4
    ("swin_v2_t", {}, (2, 3, 64, 64), True),
]

NEW_MODULES = ("convnext", "densenet", "efficientnet", "googlenet", "inception", "maxvit",
               "mnasnet", "mobilenetv3", "regnet", "shufflenetv2", "swin_transformer")


# ------------------------------------------------------------------ tests

@pytest.mark.parametrize("name,kwargs,shape,backward", SMALL,
                         ids=[f"{s[0]}-{i}" for i, s in enumerate(SMALL)])
def test_state_dict_eval_and_train_logits_gradients(name, kwargs, shape, backward):
    tmodel, emodel = _pair(name, **kwargs)
    _compare(tmodel, emodel, shape, backward)


def _compare(tmodel, emodel, shape, backward):
    """Keys, counts, repr, eval logits; with `backward`, float64 train-mode logits,
    gradients and updated BN statistics."""
    assert _shapes(emodel.state_dict()) == _shapes(tmodel.state_dict())
    assert sum(p.numel() for p in emodel.parameters()) == \
        sum(p.numel() for p in tmodel.parameters())
    assert [n for n, _ in emodel.named_parameters()] == \
        [n for n, _ in tmodel.named_parameters()]
    assert repr(emodel) == repr(tmodel)
    x = _image(shape)

    tmodel.eval()
    emodel.eval()
    with torch.no_grad():
        want = tmodel(torch.from_numpy(x))
    with ember.no_grad():
        got = emodel(ember.from_numpy(x))
    _close(got, want)

    if not backward:
        return
    # train mode in float64: through dozens of batch-normalised layers float32 rounding
    # alone moves the first layers' gradients by ~1%
    tmodel.double().train()
    emodel.double().train()
    x = x.astype(np.float64)
    _no_dropout(tmodel)
    _no_dropout(emodel)
    want = tmodel(torch.from_numpy(x))
    got = emodel(ember.from_numpy(x))
    # Inception/GoogLeNet give a namedtuple of logits in training mode
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__ and got._fields == want._fields
    else:
        want, got = (want,), (got,)
    tloss, eloss = 0, 0
    for i, (g, w) in enumerate(zip(got, want)):
        _close(g, w)
        weight = _image(tuple(w.shape), seed=2 + i).astype(np.float64)
        tloss = tloss + (w * torch.from_numpy(weight)).sum()
        eloss = eloss + (g * ember.from_numpy(weight)).sum()
    tloss.backward()
    eloss.backward()
    tgrads = dict(tmodel.named_parameters())
    for pname, p in emodel.named_parameters():
        tp = tgrads[pname]
        if tp.grad is None:
            assert p.grad is None, pname
            continue
        assert p.grad is not None, pname
        _close(p.grad, tp.grad, rtol=1e-6)
    # running statistics moved the same way
    tbuffers = dict(tmodel.named_buffers())
    for bname, b in emodel.named_buffers():
        if b.is_floating_point():
            _close(b, tbuffers[bname], rtol=1e-6)


@contextlib.contextmanager
def _torch_params_on_meta():
    """Parameters and buffers moved to the meta device as modules register them (the
    builder's own arithmetic, e.g. RegNet's width rounding, stays on the CPU, which
    ``with torch.device("meta")`` would not allow)."""
    register_parameter = torch.nn.Module.register_parameter
    register_buffer = torch.nn.Module.register_buffer

    def parameter_on_meta(self, name, param):
        if param is not None:
            param = torch.nn.Parameter(param.to("meta"), param.requires_grad)
        register_parameter(self, name, param)

    def buffer_on_meta(self, name, tensor, persistent=True):
        if tensor is not None:
            tensor = tensor.to("meta")
        register_buffer(self, name, tensor, persistent)

    torch.nn.Module.register_parameter = parameter_on_meta
    torch.nn.Module.register_buffer = buffer_on_meta
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register_parameter
        torch.nn.Module.register_buffer = register_buffer


@pytest.mark.filterwarnings("ignore:The default weight initialization:FutureWarning")
@pytest.mark.parametrize("name", emodels.list_models(emodels))
def test_every_builder_structure(name):
    """Every builder (these files' and the earlier ones) against torchvision's, with
    parameters on the meta device: state_dict keys, order and shapes, parameter counts,
    module reprs (which show every layer's configuration)."""
    with _torch_params_on_meta():
        tmodel = tmodels.get_model(name, weights=None)
    assert all(p.is_meta for p in tmodel.parameters())
    with ember.device("meta"):
        emodel = emodels.get_model(name, weights=None)
    assert _shapes(emodel.state_dict()) == _shapes(tmodel.state_dict())
    assert sum(p.numel() for p in emodel.parameters()) == \
        sum(p.numel() for p in tmodel.parameters())
    assert repr(emodel) == repr(tmodel)




@pytest.mark.parametrize("name", emodels.list_models(emodels))
def test_builder_registered_with_weights_meta(name):
    """Every builder's weights enum: torchvision's members (and DEFAULT), URLs, meta and
    preset transforms."""
    assert name in emodels.list_models()
    tweights = tmodels.get_model_weights(name)
    eweights = emodels.get_model_weights(name)
    assert eweights.__name__ == tweights.__name__
    assert list(eweights.__members__) == list(tweights.__members__)
    for member, tw in tweights.__members__.items():
        ew = eweights[member]
        assert ew.url == tw.url
        assert ew.meta["categories"] == tw.meta["categories"]
        for key in ("num_params", "min_size", "recipe", "license", "_ops", "_file_size"):
            if key in tw.meta:
                assert ew.meta[key] == tw.meta[key], (member, key)
        # (the accuracies of feature-extractor weights are NaN)
        np.testing.assert_equal(ew.meta["_metrics"], tw.meta["_metrics"])
        tt, et = tw.transforms(), ew.transforms()
        assert et.crop_size == tt.crop_size and et.resize_size == tt.resize_size
        assert et.interpolation.value == tt.interpolation.value
        assert list(et.mean) == list(tt.mean) and list(et.std) == list(tt.std)
        assert emodels.get_weight(f"{tweights.__name__}.{member}") is ew


# ------------------------------------------------------------------ model-specific behaviour

def test_maxvit_small_configuration():
    """MaxViT's class with a small configuration (maxvit_t needs 224x224 inputs for its 7x7
    partitions): 32x32 inputs, grids 8 and 4 split into 2x2 windows and grids."""
    from ember.vision.models import maxvit
    config = dict(input_size=(32, 32), stem_channels=8, partition_size=2,
                  block_channels=[8, 16], block_layers=[2, 1], head_dim=4,
                  stochastic_depth_prob=0.2, num_classes=10)
    torch.manual_seed(0)
    tmodel = tmodels.maxvit.MaxVit(**config)
    ember.manual_seed(0)
    emodel = maxvit.MaxVit(**config)
    _check_buffers_and_copy(tmodel, emodel)
    _compare(tmodel, emodel, (2, 3, 32, 32), True)


def test_maxvit_partition_error():
    config = dict(input_size=(40, 40), stem_channels=8, partition_size=3,
                  block_channels=[8], block_layers=[1], head_dim=4, stochastic_depth_prob=0.0)
    with pytest.raises(ValueError) as want:
        tmodels.maxvit.MaxVit(**config)
    from ember.vision.models import maxvit
    with pytest.raises(ValueError) as got:
        maxvit.MaxVit(**config)
    assert str(got.value) == str(want.value)


def _module_pair(tcls, ecls, *args):
    torch.manual_seed(0)
    tmodule = tcls(*args)
    emodule = ecls(*args)
    _randomise(tmodule)
    _copy_into(emodule, tmodule)
    return tmodule, emodule


def test_inception_aux_head_train_mode():
    """Inception v3's auxiliary classifier needs the 17x17 grid of a 299x299 input; fed
    that grid directly it gives torchvision's logits and gradients."""
    from ember.vision.models import inception
    tmodule, emodule = _module_pair(tmodels.inception.InceptionAux,
                                    inception.InceptionAux, 64, 7)
    tmodule.double().train()
    emodule.double().train()
    x = _image((2, 64, 17, 17)).astype(np.float64)
    want = tmodule(torch.from_numpy(x))
    got = emodule(ember.from_numpy(x))
    _close(got, want, rtol=1e-7)
    want.sum().backward()
    got.sum().backward()
    _close(emodule.conv0.conv.weight.grad, tmodule.conv0.conv.weight.grad, rtol=1e-6)


def test_densenet_legacy_keys_load_from_a_file(tmp_path):
    """The published DenseNet files name the layers norm.1/conv.2; loading renames them."""
    tmodel = tmodels.densenet121(num_classes=3)
    _randomise(tmodel)
    legacy = {}
    for key, value in tmodel.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue   # the 2017 files predate it
        for old, new in (("norm1", "norm.1"), ("norm2", "norm.2"), ("conv1", "conv.1"),
                         ("conv2", "conv.2")):
            if ".denselayer" in key:
                key = key.replace(f".{old}.", f".{new}.")
        legacy[key] = value
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    path = tmp_path / "densenet121_legacy.pth"
    torch.save(legacy, path)
    emodel = emodels.densenet121(weights=str(path), num_classes=3)
    np.testing.assert_array_equal(
        emodel.features.denseblock4.denselayer16.conv2.weight.detach().numpy(),
        tmodel.features.denseblock4.denselayer16.conv2.weight.detach().numpy())


@pytest.mark.parametrize("name", ["inception_v3", "googlenet"])
def test_eval_mode_returns_plain_logits_and_init_warning(name):
    with pytest.warns(FutureWarning):
        tmodel = tmodels.get_model(name, aux_logits=True)
    with pytest.warns(FutureWarning):
        emodel = emodels.get_model(name, aux_logits=True)
    assert tmodel.aux_logits is emodel.aux_logits is True
    emodel.eval()
    with ember.no_grad():
        out = emodel(ember.zeros(1, 3, 80, 80))
    assert isinstance(out, ember.Tensor) and tuple(out.shape) == (1, 1000)


# ------------------------------------------------------------------ pretrained weights

@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """A torch hub cache both torchvision and ember read (TORCH_HOME): a file put there
    under a weights URL's file name is used without a download."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    path = tmp_path / "torch_home" / "hub" / "checkpoints"
    path.mkdir(parents=True)
    return path


def _legacy_densenet_keys(state_dict):
    renamed = {}
    for key, value in state_dict.items():
        if ".denselayer" in key:
            if key.endswith("num_batches_tracked"):
                continue
            for old, new in (("norm1", "norm.1"), ("norm2", "norm.2"), ("conv1", "conv.1"),
                             ("conv2", "conv.2")):
                key = key.replace(f".{old}.", f".{new}.")
        renamed[key] = value
    return renamed


# name, builder kwargs, input shape; the file is made from a torchvision model with the
# heads the published file has (Inception/GoogLeNet keep their auxiliary heads)
PRETRAINED = [
    ("googlenet", {}, (1, 3, 64, 64)),
    ("googlenet", {"aux_logits": True}, (1, 3, 64, 64)),
    ("inception_v3", {}, (1, 3, 75, 75)),
    ("inception_v3", {"transform_input": False}, (1, 3, 75, 75)),
    ("densenet121", {}, (1, 3, 32, 32)),
    ("shufflenet_v2_x0_5", {}, (1, 3, 32, 32)),
    ("mobilenet_v3_small", {}, (1, 3, 32, 32)),
    ("mnasnet0_5", {}, (1, 3, 32, 32)),
    ("efficientnet_b0", {}, (1, 3, 32, 32)),
    ("regnet_x_400mf", {}, (1, 3, 32, 32)),
]


@pytest.mark.parametrize("name,kwargs,shape", PRETRAINED,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(PRETRAINED)])
def test_pretrained_weights_from_the_hub_cache(hub_dir, name, kwargs, shape):
    """``weights=<Enum>.DEFAULT`` in both, reading one file from the cache: the same
    logits and the same post-loading changes (auxiliary heads dropped, transform_input
    switched on, DenseNet's legacy keys renamed)."""
    weights = tmodels.get_model_weights(name).DEFAULT
    heads = {"aux_logits": True, "init_weights": False} if name in ("googlenet",
                                                                   "inception_v3") else {}
    source = tmodels.get_model(name, weights=None, **heads)
    _randomise(source)
    state = source.state_dict()
    if name.startswith("densenet"):
        state = _legacy_densenet_keys(state)
    torch.save(state, hub_dir / weights.url.rsplit("/", 1)[1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # googlenet's "auxiliary heads are not pretrained"
        tmodel = tmodels.get_model(name, weights=weights, **kwargs).eval()
        emodel = emodels.get_model(name, weights=emodels.get_model_weights(name).DEFAULT,
                                   **kwargs).eval()
    for attr in ("aux_logits", "transform_input"):
        if hasattr(tmodel, attr):
            assert getattr(emodel, attr) == getattr(tmodel, attr), attr
    assert _shapes(emodel.state_dict()) == _shapes(tmodel.state_dict())
    x = _image(shape)
    with torch.no_grad():
        want = tmodel(torch.from_numpy(x))
    with ember.no_grad():
        got = emodel(ember.from_numpy(x))
    _close(got, want)


@pytest.mark.parametrize("name,kwargs", [
    ("inception_v3", {"aux_logits": False}),
    ("googlenet", {"init_weights": True}),
    ("densenet121", {"num_classes": 10}),
    ("maxvit_t", {"input_size": (256, 256)}),
])
def test_pretrained_weights_refuse_conflicting_arguments(name, kwargs):
    """Arguments the weights fix (heads, init, classes, input size) raise ValueError with
    torchvision's message before anything is loaded."""
    with pytest.raises(ValueError) as want:
        tmodels.get_model(name, weights="DEFAULT", **kwargs)
    with pytest.raises(ValueError) as got:
        emodels.get_model(name, weights="DEFAULT", **kwargs)
    assert str(got.value) == str(want.value)


# ------------------------------------------------------------------ vision.ops.misc blocks

def test_frozen_batch_norm_loads_a_batch_norm_state_dict():
    """FrozenBatchNorm2d (detection backbones) takes a BatchNorm2d's state dict, dropping
    its num_batches_tracked, and normalises with the stored statistics."""
    from ember.vision.ops.misc import FrozenBatchNorm2d
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(4)
    _randomise(bn)
    state = bn.state_dict()
    tfrozen = torchvision.ops.misc.FrozenBatchNorm2d(4, eps=1e-3)
    efrozen = FrozenBatchNorm2d(4, eps=1e-3)
    tfrozen.load_state_dict(dict(state))
    efrozen.load_state_dict({k: ember.from_numpy(v.numpy().copy()) for k, v in state.items()})
    assert repr(efrozen) == repr(tfrozen)
    assert list(efrozen.state_dict()) == list(tfrozen.state_dict())
    assert not list(efrozen.parameters())
    x = _image((2, 4, 3, 3))
    _close(efrozen(ember.from_numpy(x)), tfrozen(torch.from_numpy(x)), rtol=1e-6)


@pytest.mark.parametrize("build", [
    lambda ops: ops.misc.SqueezeExcitation(8, 2),
    lambda ops: ops.misc.MLP(8, [16, 8], norm_layer=None, dropout=0.0),
    lambda ops: ops.misc.Conv2dNormActivation(8, 8, kernel_size=(3, 5), dilation=(1, 2)),
    lambda ops: ops.misc.Conv3dNormActivation(8, 4, kernel_size=3, stride=2),
], ids=["squeeze_excitation", "mlp", "conv2d_norm_act", "conv3d_norm_act"])
def test_misc_blocks_match_torchvision(build):
    from ember.vision import ops as eops
    torch.manual_seed(0)
    tblock = build(torchvision.ops)
    ember.manual_seed(0)
    eblock = build(eops)
    assert repr(eblock) == repr(tblock)
    _check_buffers_and_copy(tblock, eblock)
    tblock.eval()
    eblock.eval()
    shape = (2, 8, 4, 6, 6) if "3d" in type(tblock).__name__ else (2, 8, 6, 6)
    if type(tblock).__name__ == "MLP":
        shape = (3, 8)
    x = _image(shape)
    with torch.no_grad():
        want = tblock(torch.from_numpy(x))
    with ember.no_grad():
        got = eblock(ember.from_numpy(x))
    _close(got, want)


def test_list_models_as_torchvision():
    """All builders, per task package, and fnmatch include/exclude filters."""
    for module in (None, "models", "detection", "segmentation"):
        tmod = None if module is None else \
            tmodels if module == "models" else getattr(tmodels, module)
        emod = None if module is None else \
            emodels if module == "models" else getattr(emodels, module)
        assert emodels.list_models(emod) == [n for n in tmodels.list_models(tmod)
                                             if not n.startswith(("r3d", "r2plus1d", "mc3",
                                                                  "s3d", "mvit", "swin3d",
                                                                  "raft"))]
    for include, exclude in (("resnet*", None), (["*rcnn*", "ssd*"], "*v2"),
                             (None, ["*_b?", "vit*"])):
        assert emodels.list_models(emodels.detection, include, exclude) == \
            tmodels.list_models(tmodels.detection, include, exclude)
        assert emodels.list_models(emodels, include, exclude) == \
            tmodels.list_models(tmodels, include, exclude)
    weights = emodels.get_weight("FCOS_ResNet50_FPN_Weights.COCO_V1")
    assert weights is emodels.detection.FCOS_ResNet50_FPN_Weights.COCO_V1
    assert emodels.get_model_weights("lraspp_mobilenet_v3_large").__name__ == \
        tmodels.get_model_weights("lraspp_mobilenet_v3_large").__name__
    with ember.device("meta"):
        model = emodels.get_model("fcn_resnet50", weights=None, weights_backbone=None)
    assert type(model).__name__ == "FCN"
