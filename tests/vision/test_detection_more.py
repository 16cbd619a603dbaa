"""The detectors beyond Faster/Mask R-CNN on ResNet-50-FPN against real torchvision:
Keypoint R-CNN and the MobileNetV3-Large-FPN Faster R-CNNs. Same weights (torchvision's
copied into ember), float64: equal detections in eval, equal losses (same seed) and
parameter gradients in training. torchvision's NMS runs as plain torch (see
test_detection.py)."""
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember.vision.models import detection as ed  # noqa: E402
from ember.vision.models.detection import roi_heads as erh  # noqa: E402
from ember.vision.models.detection.backbone_utils import mobilenet_backbone, \
    resnet_fpn_backbone  # noqa: E402

from .test_detection import close, E, IMAGES, T, TARGETS, tvd  # noqa: E402,F401


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """The oracle on one thread: on 2 shared cores torch's intra-op threads only contend."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)

def _copy_weights(tm, em):
    """torchvision's parameters and buffers into ember's model, both float64. (ember's
    model may be built on the meta device: its random init of millions of parameters
    takes seconds, and every value is overwritten here.)"""
    tm, em = tm.double(), em.double().to_empty(device="cpu")
    sd = tm.state_dict()
    assert list(em.state_dict()) == list(sd)
    assert [tuple(v.shape) for v in em.state_dict().values()] == \
        [tuple(v.shape) for v in sd.values()]
    em.load_state_dict({k: E(v.numpy()) for k, v in sd.items()})
    return tm, em


def _check_pair(tm, em, targets, keys, rtol_losses=None):
    """Eval detections equal; training losses (seeded samplers) and gradients equal."""
    tm.eval()
    em.eval()
    with torch.no_grad():
        t_out = tm([T(i) for i in IMAGES])
    with ember.no_grad():
        e_out = em([E(i) for i in IMAGES])
    for t_det, e_det in zip(t_out, e_out):
        assert set(e_det) == set(t_det) == keys
        assert len(t_det["boxes"]) > 0
        for k in t_det:
            assert tuple(e_det[k].shape) == tuple(t_det[k].shape), k
            assert str(e_det[k].dtype).split(".")[-1] == str(t_det[k].dtype).split(".")[-1], k
            close(e_det[k], t_det[k], rtol=1e-7, atol=1e-7)
    tm.train()
    em.train()
    torch.manual_seed(5)
    ember.manual_seed(5)
    t_loss = tm([T(i) for i in IMAGES], [{k: T(v) for k, v in t.items()} for t in targets])
    e_loss = em([E(i) for i in IMAGES], [{k: E(v) for k, v in t.items()} for t in targets])
    assert list(e_loss) == list(t_loss)
    for k in t_loss:
        # (RPN labels are float32, as torchvision's: its objectness loss is float32)
        close(e_loss[k], t_loss[k], rtol=1e-6 if k == "loss_objectness" else 1e-9)
    sum(t_loss.values()).backward()
    sum(e_loss.values()).backward()
    e_params = dict(em.named_parameters())
    floor = 1e-6 * max(float(p.grad.abs().max()) for p in tm.parameters() if p.grad is not None)
    for name, p in tm.named_parameters():
        assert (p.grad is None) == (e_params[name].grad is None), name
        if p.grad is not None:
            scale = max(float(p.grad.abs().max()), floor)
            # (float32 RPN labels and PyTorch's float32(1/6) in hardsigmoid's backward)
            close(e_params[name].grad / scale, p.grad / scale, rtol=0, atol=1e-6)
    return e_out


def _keypoint_targets():
    rng = np.random.default_rng(7)
    out = []
    for t in TARGETS:
        b = t["boxes"]
        xy = b[:, None, :2] + rng.random((len(b), 5, 2)) * (b[:, None, 2:] - b[:, None, :2])
        vis = (rng.random((len(b), 5, 1)) > 0.2).astype(np.float64)
        out.append(dict(t, keypoints=np.concatenate([xy, vis], 2).astype(np.float32)))
    return out


KW = dict(min_size=48, max_size=64, rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=30,
          rpn_pre_nms_top_n_train=100, rpn_post_nms_top_n_train=30, box_batch_size_per_image=32,
          box_detections_per_img=6, box_score_thresh=0.0)


def test_keypoint_rcnn_matches_torchvision(tvd):
    tbb = sys.modules["torchvision.models.detection.backbone_utils"]
    tkp = sys.modules["torchvision.models.detection.keypoint_rcnn"]
    tfr = sys.modules["torchvision.models.detection.faster_rcnn"]
    torch.manual_seed(0)
    t_bb = tbb.resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5)
    with ember.device("meta"):
        e_bb = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5)
    tm = tvd.KeypointRCNN(t_bb, box_head=tfr.TwoMLPHead(256 * 49, 32),
                          box_predictor=tfr.FastRCNNPredictor(32, 3),
                          keypoint_head=tkp.KeypointRCNNHeads(256, (16, 16)),
                          keypoint_predictor=tkp.KeypointRCNNPredictor(16, 5), **KW)
    with ember.device("meta"):
        em = ed.KeypointRCNN(e_bb, box_head=ed.TwoMLPHead(256 * 49, 32),
                             box_predictor=ed.FastRCNNPredictor(32, 3),
                             keypoint_head=ed.KeypointRCNNHeads(256, (16, 16)),
                             keypoint_predictor=ed.KeypointRCNNPredictor(16, 5), **KW)
    tm, em = _copy_weights(tm, em)
    out = _check_pair(tm, em, _keypoint_targets(),
                      {"boxes", "labels", "scores", "keypoints", "keypoints_scores"})
    assert out[0]["keypoints"].dtype == ember.float32
    assert tuple(out[0]["keypoints"].shape[1:]) == (5, 3)
    em.train()
    bad = [dict(t, keypoints=t["keypoints"].astype(np.float64)) for t in _keypoint_targets()]
    with pytest.raises(TypeError, match="target keypoints must of float type"):
        em([E(i) for i in IMAGES], [{k: E(v) for k, v in t.items()} for t in bad])
    # (torchvision reads target["keypoints"] before checking for it: a KeyError)
    with pytest.raises(KeyError, match="keypoints"):
        em([E(i) for i in IMAGES], [{k: E(v) for k, v in t.items()} for t in TARGETS])


@pytest.mark.parametrize("name", ["fasterrcnn_mobilenet_v3_large_fpn",
                                  "fasterrcnn_mobilenet_v3_large_320_fpn"])
def test_mobilenet_faster_rcnn_matches_torchvision(tvd, name):
    kw = dict(KW, rpn_score_thresh=0.0)
    if name.endswith("320_fpn"):
        # (fewer proposals than the builder's 150: the oracle's Python roi_align is slow;
        # the builder's own settings are checked in test_builders_match_torchvision_layout)
        kw = dict(box_detections_per_img=6, box_score_thresh=0.0, rpn_score_thresh=0.0,
                  rpn_pre_nms_top_n_train=100, rpn_post_nms_top_n_train=30,
                  rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=30,
                  box_batch_size_per_image=32, min_size=64, max_size=96)
    torch.manual_seed(0)
    tm = getattr(tvd, name)(weights=None, weights_backbone=None, num_classes=3, **kw)
    with ember.device("meta"):
        em = getattr(ed, name)(weights=None, weights_backbone=None, num_classes=3, **kw)
    assert repr(em.transform) == repr(tm.transform)
    assert em.rpn._pre_nms_top_n == tm.rpn._pre_nms_top_n
    assert em.rpn.score_thresh == tm.rpn.score_thresh
    tm, em = _copy_weights(tm, em)
    _check_pair(tm, em, TARGETS, {"boxes", "labels", "scores"})


def _plain(v):
    if isinstance(v, (list, tuple)):
        return all(_plain(x) for x in v)
    if isinstance(v, dict):
        return all(_plain(x) for x in v.values())
    return isinstance(v, (bool, int, float, str, type(None)))


def _settings(module):
    """A module's plain attributes (thresholds, top-n counts, sizes ...), without the
    bookkeeping of nn.Module."""
    return {k: v for k, v in vars(module).items()
            if _plain(v) and k != "training" and not k.startswith("_") or
            k in ("_pre_nms_top_n", "_post_nms_top_n", "_loss_type", "_skip_resize")}


def _same_settings(e, t):
    """Every submodule of ``e`` has the plain attributes of its torchvision twin (and the
    det_utils helpers theirs), so the builders' defaults (RPN top-n, score thresholds,
    image sizes, matcher thresholds ...) agree."""
    e_mods = dict(e.named_modules())
    for name, t_mod in t.named_modules():
        if not type(t_mod).__module__.startswith("torchvision.models"):
            continue      # (torch.nn layers: their settings show in the repr)
        e_mod = e_mods[name]
        t_set, e_set = _settings(t_mod), _settings(e_mod)
        for k, v in t_set.items():
            assert k in e_set and e_set[k] == v, (name, k, e_set.get(k), v)
        for k, v in vars(t_mod).items():   # BoxCoder, Matcher, sampler objects
            if type(v).__module__.startswith("torchvision.models.detection._utils"):
                # (torchvision copies the Matcher's class constants onto instances)
                t_vars = {a: b for a, b in vars(v).items() if not a.isupper()}
                assert vars(getattr(e_mod, k)) == t_vars, (name, k)


BUILDERS = ["keypointrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn",
            "fasterrcnn_mobilenet_v3_large_320_fpn", "retinanet_resnet50_fpn",
            "retinanet_resnet50_fpn_v2", "ssd300_vgg16", "ssdlite320_mobilenet_v3_large",
            "fcos_resnet50_fpn"]


@pytest.mark.parametrize("name", BUILDERS)
def test_builders_match_torchvision_layout(tvd, name):
    """The builders against torchvision's: state_dict keys, order and shapes, trainable
    parameters, module reprs (both models on the meta device: the random init of tens of
    millions of parameters would take seconds)."""
    from .test_models_more import _torch_params_on_meta
    for kw in (dict(weights=None, weights_backbone=None, num_classes=4),
               dict(weights=None, weights_backbone=None)):
        with _torch_params_on_meta():
            t = getattr(tvd, name)(**kw)
        with ember.device("meta"):
            e = getattr(ed, name)(**kw)
        t_sd, e_sd = t.state_dict(), e.state_dict()
        assert list(e_sd) == list(t_sd)
        assert [tuple(v.shape) for v in e_sd.values()] == [tuple(v.shape) for v in t_sd.values()]
        assert [n for n, p in e.named_parameters() if p.requires_grad] == \
            [n for n, p in t.named_parameters() if p.requires_grad]
        assert repr(e) == repr(t)
        _same_settings(e, t)


WEIGHTS = ["FasterRCNN_ResNet50_FPN_Weights", "FasterRCNN_ResNet50_FPN_V2_Weights",
           "FasterRCNN_MobileNet_V3_Large_FPN_Weights",
           "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights", "MaskRCNN_ResNet50_FPN_Weights",
           "MaskRCNN_ResNet50_FPN_V2_Weights", "KeypointRCNN_ResNet50_FPN_Weights",
           "RetinaNet_ResNet50_FPN_Weights", "RetinaNet_ResNet50_FPN_V2_Weights",
           "SSD300_VGG16_Weights", "SSDLite320_MobileNet_V3_Large_Weights",
           "FCOS_ResNet50_FPN_Weights"]


def test_weights_enums_match_torchvision(tvd):
    """Every detection weights enum: members, URLs, meta (categories, keypoint names,
    parameter counts, metrics, recipe, GFLOPs, file size) and the preset's repr."""
    t_names = sorted(n for n in dir(tvd) if n.endswith("_Weights"))
    assert sorted(WEIGHTS) == t_names
    for enum_name in WEIGHTS:
        t_enum, e_enum = getattr(tvd, enum_name), getattr(ed, enum_name)
        assert list(e_enum.__members__) == list(t_enum.__members__)
        for member in t_enum:
            e_member = e_enum[member.name]
            assert e_member.url == member.url
            for key in ("categories", "num_params", "min_size", "_metrics", "keypoint_names",
                        "recipe", "_ops", "_file_size"):
                assert e_member.meta.get(key) == member.meta.get(key), (enum_name, key)
            assert repr(e_member.transforms()) == repr(member.transforms())
        t_builder = [b for b in dir(tvd) if b.islower() and
                     getattr(getattr(tvd, b), "__annotations__", {}).get("weights") is not None and
                     enum_name in str(getattr(tvd, b).__annotations__["weights"])]
        assert len(t_builder) == 1 and hasattr(ed, t_builder[0]), enum_name


def test_mobilenet_backbone_matches_torchvision(tvd):
    tbb = sys.modules["torchvision.models.detection.backbone_utils"]
    for kw in (dict(fpn=True, trainable_layers=2), dict(fpn=False, trainable_layers=0),
               dict(fpn=True, trainable_layers=6, returned_layers=[3, 4, 5])):
        for name in ("mobilenet_v3_small", "mobilenet_v2"):
            t = tbb.mobilenet_backbone(backbone_name=name, weights=None, **kw)
            e = mobilenet_backbone(backbone_name=name, weights=None, **kw)
            assert list(e.state_dict()) == list(t.state_dict())
            assert [n for n, p in e.named_parameters() if p.requires_grad] == \
                [n for n, p in t.named_parameters() if p.requires_grad]
            assert e.out_channels == t.out_channels == 256
    with pytest.raises(ValueError, match=r"Trainable layers should be in the range \[0,6\]"):
        mobilenet_backbone(backbone_name="mobilenet_v3_large", weights=None, fpn=True,
                           trainable_layers=7)
    with pytest.raises(ValueError, match=r"Each returned layer should be in the range \[0,5\]"):
        mobilenet_backbone(backbone_name="mobilenet_v3_large", weights=None, fpn=True,
                           returned_layers=[4, 6])


def test_keypoint_parts_match_torchvision(tvd):
    trh = sys.modules["torchvision.models.detection.roi_heads"]
    rng = np.random.default_rng(11)
    rois = np.array([[2.0, 3.0, 20.5, 17.0], [0.0, 0.0, 7.3, 40.0], [5.0, 5.0, 5.5, 5.2]])
    maps = rng.standard_normal((3, 4, 8, 8))
    t_xy, t_s = trh.heatmaps_to_keypoints(T(maps), T(rois))
    e_xy, e_s = erh.heatmaps_to_keypoints(E(maps), E(rois))
    assert e_xy.dtype == ember.float32 and e_s.dtype == ember.float32
    close(e_xy, t_xy, rtol=1e-6, atol=1e-5)
    close(e_s, t_s, rtol=1e-6, atol=1e-6)
    # keypoints inside, outside, on the far edges, invisible
    kps = np.array([[[3.0, 4.0, 1], [20.5, 17.0, 1], [25.0, 5.0, 1], [10.0, 10.0, 0]],
                    [[7.3, 40.0, 2], [1.0, 39.0, 1], [-1.0, 3.0, 1], [3.0, 3.0, 1]],
                    [[5.2, 5.1, 1], [5.5, 5.2, 1], [5.0, 5.0, 1], [6.0, 5.0, 1]]])
    t_h, t_v = trh.keypoints_to_heatmap(T(kps), T(rois), 8)
    e_h, e_v = erh.keypoints_to_heatmap(E(kps), E(rois), 8)
    assert e_h.tolist() == t_h.tolist() and e_v.tolist() == t_v.tolist()
    assert e_h.dtype == ember.int64
    logits = rng.standard_normal((3, 4, 8, 8))
    t_logits = T(logits).requires_grad_()
    e_logits = E(logits).requires_grad_()
    t_loss = trh.keypointrcnn_loss(t_logits, [T(rois[:2]), T(rois[2:])], [T(kps[:2]), T(kps[2:])],
                                   [torch.tensor([1, 0]), torch.tensor([0])])
    e_loss = erh.keypointrcnn_loss(e_logits, [E(rois[:2]), E(rois[2:])], [E(kps[:2]), E(kps[2:])],
                                   [ember.tensor([1, 0]), ember.tensor([0])])
    close(e_loss, t_loss)
    t_loss.backward()
    e_loss.backward()
    close(e_logits.grad, t_logits.grad)
    with pytest.raises(ValueError, match="height and width .* should be equal"):
        erh.keypointrcnn_loss(E(np.zeros((1, 4, 8, 6))), [E(rois[:1])], [E(kps[:1])],
                              [ember.tensor([0])])


def test_keypoint_rcnn_argument_errors():
    backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None)
    with pytest.raises(ValueError, match="num_keypoints should be None when keypoint_predictor"):
        ed.KeypointRCNN(backbone, num_classes=2, num_keypoints=3,
                        keypoint_predictor=ed.KeypointRCNNPredictor(512, 3))
    with pytest.raises(TypeError, match="keypoint_roi_pool should be of type"):
        ed.KeypointRCNN(backbone, num_classes=2, keypoint_roi_pool=object())
    with pytest.raises(ValueError, match="'num_keypoints' expected value 17 but got 5"):
        ed.keypointrcnn_resnet50_fpn(weights="DEFAULT", num_keypoints=5)
    m = ed.keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None)
    assert m.roi_heads.box_predictor.cls_score.out_features == 2
    assert m.roi_heads.keypoint_predictor.out_channels == 17


# a batch whose second image has no objects
WITH_EMPTY = [TARGETS[0], {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, np.int64)}]


def _dense_pair(tvd, tm, em, targets=TARGETS):
    """Single-stage detectors: equal detections in eval, equal losses and gradients."""
    tm, em = _copy_weights(tm, em)
    return _check_pair(tm, em, targets, {"boxes", "labels", "scores"})


@pytest.mark.parametrize("v2", [False, True], ids=["retinanet", "retinanet_v2"])
def test_retinanet_matches_torchvision(tvd, v2):
    """A RetinaNet on a ResNet-18 FPN (P3-P7), with the heads of v1 (l1 loss) or v2
    (GroupNorm, GIoU loss)."""
    from functools import partial
    tbb = sys.modules["torchvision.models.detection.backbone_utils"]
    trn = sys.modules["torchvision.models.detection.retinanet"]
    tfpn = sys.modules["torchvision.ops.feature_pyramid_network"]
    from ember.vision.models.detection import retinanet as ern
    from ember.vision.ops.feature_pyramid_network import LastLevelP6P7
    torch.manual_seed(0)
    tres = sys.modules["torchvision.models.resnet"]
    t_bb = tbb._resnet_fpn_extractor(tres.resnet18(), 5, returned_layers=[2, 3, 4],
                                     extra_blocks=tfpn.LastLevelP6P7(256, 256))
    from ember.vision.models.resnet import resnet18
    from ember.vision.models.detection.backbone_utils import _resnet_fpn_extractor
    with ember.device("meta"):
        e_bb = _resnet_fpn_extractor(resnet18(), 5, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    kw = dict(min_size=48, max_size=64, detections_per_img=15, topk_candidates=50,
              score_thresh=0.005)
    t_head = e_head = None
    if v2:
        t_head = trn.RetinaNetHead(256, 9, 3, norm_layer=partial(torch.nn.GroupNorm, 32))
        t_head.regression_head._loss_type = "giou"
        e_head = ern.RetinaNetHead(256, 9, 3, norm_layer=partial(ember.nn.GroupNorm, 32))
        e_head.regression_head._loss_type = "giou"
    tm = tvd.RetinaNet(t_bb, 3, head=t_head, **kw)
    with ember.device("meta"):
        em = ed.RetinaNet(e_bb, 3, head=e_head, **kw)
    # (v2: the second image has no objects, a negative image for the losses)
    _dense_pair(tvd, tm, em, WITH_EMPTY if v2 else TARGETS)


def test_retinanet_heads_load_pre_0_13_checkpoints(tvd):
    """Checkpoints saved before the heads' version 2 named their convs conv.0, conv.2, ...
    (bare Conv2d/ReLU pairs); both heads rename them on load, as torchvision's do."""
    from collections import OrderedDict
    from ember.vision.models.detection import retinanet as ern
    trn = sys.modules["torchvision.models.detection.retinanet"]
    for t_cls, e_cls, args in ((trn.RetinaNetClassificationHead,
                                ern.RetinaNetClassificationHead, (8, 2, 3)),
                               (trn.RetinaNetRegressionHead, ern.RetinaNetRegressionHead, (8, 2))):
        t_head = t_cls(*args)
        legacy = OrderedDict()
        for k, v in t_head.state_dict().items():
            parts = k.split(".")
            if parts[0] == "conv":      # conv.{i}.0.weight -> conv.{2i}.weight
                k = f"conv.{2 * int(parts[1])}.{parts[-1]}"
            legacy[k] = v
        t_fresh = t_cls(*args)
        t_fresh.load_state_dict(legacy)
        e_head = e_cls(*args)
        e_head.load_state_dict(OrderedDict((k, E(v.numpy())) for k, v in legacy.items()))
        for (k, a), b in zip(e_head.state_dict().items(), t_fresh.state_dict().values()):
            close(a, b, rtol=0, atol=0)


class _TinyFeatures:
    """A three-map backbone built from either library's nn (for SSD with SSDHead)."""

    @staticmethod
    def build(lib):
        nn = lib.nn

        class Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                self.c1 = nn.Conv2d(3, 8, 3, stride=4, padding=1)
                self.c2 = nn.Conv2d(8, 12, 3, stride=2, padding=1)
                self.c3 = nn.Conv2d(12, 16, 3, stride=2, padding=1)

            def forward(self, x):
                from collections import OrderedDict
                a = self.c1(x).relu()
                b = self.c2(a).relu()
                return OrderedDict([("0", a), ("1", b), ("2", self.c3(b).relu())])

        return Tiny()


@pytest.mark.parametrize("lite", [False, True], ids=["ssd", "ssdlite"])
def test_ssd_matches_torchvision(tvd, lite):
    """SSD at 64 x 64: with SSDHead on a tiny three-map backbone (out_channels probed by
    retrieve_out_channels), and SSDlite's head and MobileNetV3 extractor."""
    from functools import partial
    tssd = sys.modules["torchvision.models.detection.ssd"]
    tag = sys.modules["torchvision.models.detection.anchor_utils"]
    from ember.vision.models.detection import ssd as essd, ssdlite as essdl
    from ember.vision.models.detection.anchor_utils import DefaultBoxGenerator
    kw = dict(score_thresh=0.2, detections_per_img=10, topk_candidates=20)
    torch.manual_seed(0)
    if lite:
        import torchvision.models.detection.ssdlite as tssdl
        from torchvision.models import mobilenet_v3_large as t_mnv3
        from ember.vision.models import mobilenet_v3_large as e_mnv3
        t_norm = partial(torch.nn.BatchNorm2d, eps=0.001, momentum=0.03)
        e_norm = partial(ember.nn.BatchNorm2d, eps=0.001, momentum=0.03)
        t_bb = tssdl._mobilenet_extractor(t_mnv3(norm_layer=t_norm, reduced_tail=True), 6, t_norm)
        with ember.device("meta"):
            e_bb = essdl._mobilenet_extractor(e_mnv3(norm_layer=e_norm, reduced_tail=True), 6,
                                              e_norm)
        ratios = [[2, 3] for _ in range(6)]
        t_ag = tag.DefaultBoxGenerator(ratios, min_ratio=0.2, max_ratio=0.95)
        e_ag = DefaultBoxGenerator(ratios, min_ratio=0.2, max_ratio=0.95)
        channels = [672, 480, 512, 256, 256, 128]
        t_head = tssdl.SSDLiteHead(channels, t_ag.num_anchors_per_location(), 3, t_norm)
        e_head = essdl.SSDLiteHead(channels, e_ag.num_anchors_per_location(), 3, e_norm)
        kw.update(image_mean=[0.5] * 3, image_std=[0.5] * 3)
    else:
        t_bb, e_bb = _TinyFeatures.build(torch), _TinyFeatures.build(ember)
        ratios = [[2], [2, 3], [2]]
        t_ag = tag.DefaultBoxGenerator(ratios, steps=[4, 8, 16], clip=False)
        e_ag = DefaultBoxGenerator(ratios, steps=[4, 8, 16], clip=False)
        t_head = e_head = None
    assert repr(e_ag) == repr(t_ag)
    tm = tssd.SSD(t_bb, t_ag, (64, 64), 3, head=t_head, **kw)
    em = essd.SSD(e_bb, e_ag, (64, 64), 3, head=e_head, **kw)
    assert repr(em.transform) == repr(tm.transform)
    _dense_pair(tvd, tm, em, TARGETS if lite else WITH_EMPTY)


def test_default_box_generator_matches_torchvision(tvd):
    tag = sys.modules["torchvision.models.detection.anchor_utils"]
    t_il = sys.modules["torchvision.models.detection.image_list"]
    from ember.vision.models.detection.anchor_utils import DefaultBoxGenerator
    from ember.vision.models.detection.image_list import ImageList
    for args, kw in ((([[2], [2, 3]],), {}), (([[2, 3]],), dict(clip=False)),
                     (([[2], [3]],), dict(scales=[0.1, 0.5, 1.2], steps=[8, 16]))):
        t, e = tag.DefaultBoxGenerator(*args, **kw), DefaultBoxGenerator(*args, **kw)
        assert repr(e) == repr(t)
        assert e.num_anchors_per_location() == t.num_anchors_per_location()
        shapes = [(5, 6), (3, 3)][:len(args[0])]
        a_t = t(t_il.ImageList(torch.zeros(2, 3, 40, 48), [(40, 48), (36, 40)]),
                [torch.zeros((2, 4) + s) for s in shapes])
        a_e = e(ImageList(ember.zeros(2, 3, 40, 48), [(40, 48), (36, 40)]),
                [ember.zeros((2, 4) + s) for s in shapes])
        assert len(a_e) == 2
        for x, y in zip(a_e, a_t):
            assert x.dtype == ember.float32
            close(x, y, rtol=1e-6, atol=1e-5)
    with pytest.raises(ValueError, match="same length"):
        DefaultBoxGenerator([[2], [3]], steps=[8])


def _resnet18_p3_p7(lib_bb, resnet18, p6p7):
    return lib_bb._resnet_fpn_extractor(resnet18(), 5, returned_layers=[2, 3, 4],
                                        extra_blocks=p6p7(256, 256))


def test_fcos_matches_torchvision(tvd):
    """FCOS on a ResNet-18 FPN (P3-P7) with two-conv GroupNorm towers."""
    from ember.vision.models import resnet18 as e_resnet18
    from ember.vision.models.detection import backbone_utils as ebb, fcos as efc
    from ember.vision.models.detection.anchor_utils import AnchorGenerator
    from ember.vision.ops.feature_pyramid_network import LastLevelP6P7
    tbb = sys.modules["torchvision.models.detection.backbone_utils"]
    tfc = sys.modules["torchvision.models.detection.fcos"]
    tres = sys.modules["torchvision.models.resnet"]
    tfpn = sys.modules["torchvision.ops.feature_pyramid_network"]
    torch.manual_seed(0)
    kw = dict(min_size=48, max_size=64, score_thresh=0.05, detections_per_img=12,
              topk_candidates=40)
    tm = tvd.FCOS(_resnet18_p3_p7(tbb, tres.resnet18, tfpn.LastLevelP6P7), 3,
                  head=tfc.FCOSHead(256, 1, 3, num_convs=2), **kw)
    with ember.device("meta"):
        em = ed.FCOS(_resnet18_p3_p7(ebb, e_resnet18, LastLevelP6P7), 3,
                     head=efc.FCOSHead(256, 1, 3, num_convs=2), **kw)
    _dense_pair(tvd, tm, em, WITH_EMPTY)
    with pytest.raises(ValueError, match="num_anchors_per_location"):
        ed.FCOS(em.backbone, 3, anchor_generator=AnchorGenerator(((8, 16),), ((1.0,),)))


def test_box_linear_coder_and_ssd_matcher_match_torchvision(tvd):
    tu = sys.modules["torchvision.models.detection._utils"]
    from ember.vision.models.detection import _utils as edu
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 40, (2, 6, 2))
    anchors = np.concatenate([xy, xy + rng.uniform(4, 20, (2, 6, 2))], -1)
    gts = anchors + rng.uniform(-3, 3, anchors.shape)
    for normalize in (True, False):
        t, e = tu.BoxLinearCoder(normalize), edu.BoxLinearCoder(normalize)
        close(e.encode(E(anchors), E(gts)), t.encode(T(anchors), T(gts)))
        codes = rng.uniform(0, 2, anchors.shape)
        close(e.decode(E(codes), E(anchors)), t.decode(T(codes), T(anchors)))
    iou = rng.random((3, 10)) * 0.6
    iou[1, 4] = iou[1].max()
    tm_, em_ = tu.SSDMatcher(0.5), edu.SSDMatcher(0.5)
    assert em_(E(iou)).tolist() == tm_(T(iou)).tolist()
    with pytest.raises(AssertionError, match="Unsupported loss"):
        edu._box_loss("l2", edu.BoxCoder((1.0, 1, 1, 1)), E(anchors[0]), E(gts[0]), E(gts[0]))
    for kind in ("l1", "smooth_l1", "giou", "diou", "ciou"):
        coder_t, coder_e = tu.BoxCoder((1.0, 1, 1, 1)), edu.BoxCoder((1.0, 1, 1, 1))
        reg = rng.standard_normal((6, 4)) * 0.1
        close(edu._box_loss(kind, coder_e, E(anchors[0]), E(gts[0]), E(reg), {"beta": 0.5}),
              tu._box_loss(kind, coder_t, T(anchors[0]), T(gts[0]), T(reg), {"beta": 0.5}))


def test_ssd300_vgg16_features_and_head_match_torchvision(tvd):
    """SSD300's VGG-16 extractor (L2-normalised, rescaled conv4_3, FC6/FC7, extra layers)
    and SSDHead on one 300 x 300 image: the six feature maps and the head outputs (float32:
    the network is large), and its default boxes."""
    import types
    from ember.vision.models import vgg as evgg
    from ember.vision.models.detection import ssd as essd
    from ember.vision.models.detection.anchor_utils import DefaultBoxGenerator
    from ember.vision.models.detection.image_list import ImageList
    tssd = sys.modules["torchvision.models.detection.ssd"]
    tag = sys.modules["torchvision.models.detection.anchor_utils"]
    t_il = sys.modules["torchvision.models.detection.image_list"]
    tvgg = sys.modules["torchvision.models.vgg"]
    torch.manual_seed(0)
    t_bb = tssd._vgg_extractor(types.SimpleNamespace(features=tvgg.make_layers(tvgg.cfgs["D"])),
                               False, 5)
    with ember.device("meta"):
        e_bb = essd._vgg_extractor(
            types.SimpleNamespace(features=evgg.make_layers(evgg.cfgs["D"])), False, 5)
    args = ([[2], [2, 3], [2, 3], [2, 3], [2], [2]],)
    kw = dict(scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps=[8, 16, 32, 64, 100, 300])
    t_head = tssd.SSDHead([512, 1024, 512, 256, 256, 256], [4, 6, 6, 6, 4, 4], 5)
    with ember.device("meta"):
        e_head = essd.SSDHead([512, 1024, 512, 256, 256, 256], [4, 6, 6, 6, 4, 4], 5)
    for t, e in ((t_bb, e_bb), (t_head, e_head)):
        e.to_empty(device="cpu")
        e.load_state_dict({k: E(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((1, 3, 300, 300)).astype(np.float32)
    with torch.no_grad():
        t_feats = t_bb(T(x))
        t_out = t_head(list(t_feats.values()))
    with ember.no_grad():
        e_feats = e_bb(E(x))
        e_out = e_head(list(e_feats.values()))
    assert [tuple(v.shape) for v in e_feats.values()] == \
        [tuple(v.shape) for v in t_feats.values()] == \
        [(1, 512, 38, 38), (1, 1024, 19, 19), (1, 512, 10, 10), (1, 256, 5, 5),
         (1, 256, 3, 3), (1, 256, 1, 1)]
    for k in t_feats:
        scale = float(t_feats[k].abs().max())
        close(e_feats[k] / scale, t_feats[k] / scale, rtol=0, atol=1e-5)
    for k in t_out:
        scale = float(t_out[k].abs().max())
        close(e_out[k] / scale, t_out[k] / scale, rtol=0, atol=1e-5)
    t_ag, e_ag = tag.DefaultBoxGenerator(*args, **kw), DefaultBoxGenerator(*args, **kw)
    a_t = t_ag(t_il.ImageList(T(x), [(300, 300)]), list(t_feats.values()))
    a_e = e_ag(ImageList(E(x), [(300, 300)]), list(e_feats.values()))
    assert tuple(a_e[0].shape) == (8732, 4)
    close(a_e[0], a_t[0], rtol=1e-6, atol=1e-4)
