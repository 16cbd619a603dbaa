"""ember.vision.models.detection (Faster R-CNN, Mask R-CNN) against real torchvision.

torchvision's detectors call its compiled nms, which cannot load here: the oracle's
``torchvision.ops.boxes.nms`` is replaced by a plain-torch greedy NMS, and its roi_align
runs its Python path (without torch.compile). Both models run in float64 on the same
weights and inputs, so detections, losses (same seed: the samplers draw with randperm)
and gradients must agree to rounding.
"""
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember.vision.models import detection as ed  # noqa: E402
from ember.vision.models.detection import _utils as edu  # noqa: E402
from ember.vision.models.detection.anchor_utils import AnchorGenerator  # noqa: E402
from ember.vision.models.detection.backbone_utils import resnet_fpn_backbone  # noqa: E402
from ember.vision.models.detection.image_list import ImageList  # noqa: E402
from ember.vision.models.detection.roi_heads import paste_masks_in_image  # noqa: E402
from ember.vision.models.detection.transform import GeneralizedRCNNTransform  # noqa: E402

from ._tv import tv  # noqa: E402


def _torch_nms(boxes, scores, thr):
    """Greedy NMS in plain torch (the reference torchvision's compiled kernel implements)."""
    order = torch.sort(scores, descending=True, stable=True)[1]
    x1, y1, x2, y2 = boxes[order].unbind(1)
    area = (x2 - x1) * (y2 - y1)
    dead = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if dead[i]:
            continue
        keep.append(order[i])
        w = (torch.minimum(x2[i], x2[i + 1:]) - torch.maximum(x1[i], x1[i + 1:])).clamp(min=0)
        h = (torch.minimum(y2[i], y2[i + 1:]) - torch.maximum(y1[i], y1[i + 1:])).clamp(min=0)
        inter = w * h
        dead[i + 1:] |= inter / (area[i] + area[i + 1:] - inter) > thr
    return torch.stack(keep) if keep else torch.empty(0, dtype=torch.int64)


@pytest.fixture(scope="module")
def tvd():
    """torchvision.models.detection with NMS and roi_align runnable on this CPU."""
    torchvision = tv()
    import torchvision.models.detection  # noqa: F401
    boxes_mod = sys.modules["torchvision.ops.boxes"]
    roi_mod = sys.modules["torchvision.ops.roi_align"]
    saved = boxes_mod.nms, roi_mod._roi_align
    boxes_mod.nms = _torch_nms
    roi_mod._roi_align = getattr(roi_mod._roi_align, "__wrapped__", roi_mod._roi_align)
    yield torchvision.models.detection
    boxes_mod.nms, roi_mod._roi_align = saved


def E(a, dtype=None):
    return ember.tensor(np.asarray(a), dtype=dtype)


def T(a):
    return torch.tensor(np.asarray(a))


def close(e, t, rtol=1e-9, atol=1e-10):
    np.testing.assert_allclose(e.detach().cpu().numpy(), t.detach().numpy(), rtol=rtol,
                               atol=atol)


IMAGES = [np.random.default_rng(0).random((3, 40, 50)),
          np.random.default_rng(1).random((3, 45, 35))]
TARGETS = [{"boxes": np.array([[5.0, 6, 25, 30], [15, 2, 45, 20]]), "labels": np.array([1, 2])},
           {"boxes": np.array([[2.0, 3, 20, 35]]), "labels": np.array([2])}]


def _masks(targets):
    out = []
    for t, img in zip(targets, IMAGES):
        m = np.zeros((len(t["boxes"]),) + img.shape[1:], np.uint8)
        for j, b in enumerate(t["boxes"].astype(int)):
            m[j, b[1]:b[3], b[0]:b[2]] = 1
        out.append(dict(t, masks=m))
    return out


def _pair(tvd, mask):
    """The same small detector (ResNet-18-FPN, 64-96 pixel images) in torchvision and in
    ember, float64, with torchvision's weights copied over."""
    kw = dict(min_size=48, max_size=64, rpn_pre_nms_top_n_test=100,
              rpn_post_nms_top_n_test=40, rpn_pre_nms_top_n_train=100,
              rpn_post_nms_top_n_train=40, box_batch_size_per_image=32,
              box_detections_per_img=12)
    tbb = sys.modules["torchvision.models.detection.backbone_utils"]
    torch.manual_seed(0)
    t_backbone = tbb.resnet_fpn_backbone(backbone_name="resnet18", weights=None,
                                         trainable_layers=5)
    e_backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5)
    # narrow heads (a 64-wide box head, 16-channel mask branch) keep the test fast
    tfr = sys.modules["torchvision.models.detection.faster_rcnn"]
    tmr = sys.modules["torchvision.models.detection.mask_rcnn"]
    t_heads = dict(box_head=tfr.TwoMLPHead(256 * 49, 64),
                   box_predictor=tfr.FastRCNNPredictor(64, 3))
    e_heads = dict(box_head=ed.TwoMLPHead(256 * 49, 64), box_predictor=ed.FastRCNNPredictor(64, 3))
    if mask:
        tm = tvd.MaskRCNN(t_backbone, mask_head=tmr.MaskRCNNHeads(256, (16, 16), 1),
                          mask_predictor=tmr.MaskRCNNPredictor(16, 16, 3), **t_heads, **kw)
        em = ed.MaskRCNN(e_backbone, mask_head=ed.MaskRCNNHeads(256, (16, 16), 1),
                         mask_predictor=ed.MaskRCNNPredictor(16, 16, 3), **e_heads, **kw)
    else:
        tm = tvd.FasterRCNN(t_backbone, **t_heads, **kw)
        em = ed.FasterRCNN(e_backbone, **e_heads, **kw)
    tm, em = tm.double(), em.double()
    sd = tm.state_dict()
    assert list(em.state_dict().keys()) == list(sd.keys())
    em.load_state_dict({k: E(v.numpy()) for k, v in sd.items()})
    return tm, em


@pytest.mark.parametrize("mask", [False, True], ids=["faster_rcnn", "mask_rcnn"])
def test_detector_matches_torchvision(tvd, mask, device):
    tm, em = _pair(tvd, mask)
    em = em.to(device)
    tm.eval()
    em.eval()
    with torch.no_grad():
        t_out = tm([T(i) for i in IMAGES])
    with ember.no_grad():
        e_out = em([E(i).to(device) for i in IMAGES])
    for t_det, e_det in zip(t_out, e_out):
        assert set(e_det) == set(t_det) == ({"boxes", "labels", "scores", "masks"} if mask
                                             else {"boxes", "labels", "scores"})
        assert len(t_det["boxes"]) > 5
        for k in t_det:
            assert tuple(e_det[k].shape) == tuple(t_det[k].shape), k
            close(e_det[k], t_det[k])
    assert e_out[0]["labels"].dtype == ember.int64
    tm.train()
    em.train()
    targets = _masks(TARGETS) if mask else TARGETS
    torch.manual_seed(5)
    ember.manual_seed(5)
    t_loss = tm([T(i) for i in IMAGES], [{k: T(v) for k, v in t.items()} for t in targets])
    e_loss = em([E(i).to(device) for i in IMAGES],
                [{k: E(v).to(device) for k, v in t.items()} for t in targets])
    assert list(e_loss) == list(t_loss)
    for k in t_loss:
        # (RPN labels are float32, as torchvision's: its objectness loss is float32)
        close(e_loss[k], t_loss[k], rtol=1e-6 if k == "loss_objectness" else 1e-9)
    sum(t_loss.values()).backward()
    sum(e_loss.values()).backward()
    e_params = dict(em.named_parameters())
    for name, p in tm.named_parameters():
        assert (p.grad is None) == (e_params[name].grad is None), name
        if p.grad is not None:
            scale = float(p.grad.abs().max()) + 1e-12
            close(e_params[name].grad / scale, p.grad / scale, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", ["fasterrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn",
                                  "fasterrcnn_resnet50_fpn_v2", "maskrcnn_resnet50_fpn_v2"])
def test_builders_match_torchvision_layout(tvd, name):
    t = getattr(tvd, name)(weights=None, weights_backbone=None, num_classes=5)
    e = getattr(ed, name)(weights=None, weights_backbone=None, num_classes=5)
    t_sd, e_sd = t.state_dict(), e.state_dict()
    assert list(e_sd) == list(t_sd)
    assert [tuple(v.shape) for v in e_sd.values()] == [tuple(v.shape) for v in t_sd.values()]
    assert [n for n, p in e.named_parameters() if p.requires_grad] == \
        [n for n, p in t.named_parameters() if p.requires_grad]
    assert repr(e.transform) == repr(t.transform)
    weights = getattr(tvd, name.replace("fasterrcnn", "FasterRCNN").replace(
        "maskrcnn", "MaskRCNN").replace("resnet50_fpn", "ResNet50_FPN").replace(
        "_v2", "_V2") + "_Weights")
    e_weights = getattr(ed, weights.__name__)
    assert e_weights.DEFAULT.url == weights.DEFAULT.url
    assert e_weights.DEFAULT.meta["num_params"] == weights.DEFAULT.meta["num_params"]
    assert e_weights.DEFAULT.meta["categories"] == weights.DEFAULT.meta["categories"]


def test_frozen_backbone_with_imagenet_layout(tvd):
    """With backbone weights the ResNet uses FrozenBatchNorm2d and freezes the first
    stages (no file is loaded here: the layout is what a trained backbone would get)."""
    from ember.vision.models.detection.backbone_utils import _resnet_fpn_extractor
    from ember.vision.models.resnet import resnet50
    from ember.vision.ops.misc import FrozenBatchNorm2d
    tbb = sys.modules["torchvision.models.detection.backbone_utils"]
    tres = sys.modules["torchvision.models.resnet"]
    tmisc = sys.modules["torchvision.ops.misc"]
    e = _resnet_fpn_extractor(resnet50(norm_layer=FrozenBatchNorm2d), 2)
    t = tbb._resnet_fpn_extractor(tres.resnet50(norm_layer=tmisc.FrozenBatchNorm2d), 2)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, p in e.named_parameters() if p.requires_grad] == \
        [n for n, p in t.named_parameters() if p.requires_grad]
    with pytest.raises(ValueError, match=r"Trainable layers should be in the range \[0,5\]"):
        _resnet_fpn_extractor(resnet50(), 6)


def test_fine_tuning_recipe_of_the_tutorial(tvd):
    """The tutorial swaps the box (and mask) predictors for its own number of classes."""
    model = ed.maskrcnn_resnet50_fpn(weights=None, weights_backbone=None)
    in_features = model.roi_heads.box_predictor.cls_score.in_features
    model.roi_heads.box_predictor = ed.FastRCNNPredictor(in_features, 2)
    in_mask = model.roi_heads.mask_predictor.conv5_mask.in_channels
    model.roi_heads.mask_predictor = ed.MaskRCNNPredictor(in_mask, 256, 2)
    assert (in_features, in_mask) == (1024, 256)
    assert tuple(model.roi_heads.box_predictor.bbox_pred.weight.shape) == (8, 1024)
    assert tuple(model.roi_heads.mask_predictor.mask_fcn_logits.weight.shape) == (2, 256, 1, 1)


def test_anchor_generator_matches_torchvision(tvd):
    t_anchor = sys.modules["torchvision.models.detection.anchor_utils"]
    t_il = sys.modules["torchvision.models.detection.image_list"]
    sizes, ratios = ((16, 32), (64,)), ((0.5, 1.0, 2.0), (1.0, 3.0))
    t = t_anchor.AnchorGenerator(sizes, ratios)
    e = AnchorGenerator(sizes, ratios)
    assert e.num_anchors_per_location() == t.num_anchors_per_location() == [6, 2]
    feats_t = [torch.zeros(2, 4, 8, 10), torch.zeros(2, 4, 4, 5)]
    feats_e = [ember.zeros(2, 4, 8, 10), ember.zeros(2, 4, 4, 5)]
    a_t = t(t_il.ImageList(torch.zeros(2, 3, 64, 80), [(60, 80), (64, 70)]), feats_t)
    a_e = e(ImageList(ember.zeros(2, 3, 64, 80), [(60, 80), (64, 70)]), feats_e)
    assert len(a_e) == 2
    for x, y in zip(a_e, a_t):
        close(x, y, rtol=0, atol=0)
    with pytest.raises(AssertionError, match="number of feature maps"):
        e(ImageList(ember.zeros(1, 3, 64, 80), [(64, 80)]), feats_e[:1])


def test_box_coder_matcher_and_sampler_match_torchvision(tvd):
    tu = sys.modules["torchvision.models.detection._utils"]
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 50, (12, 2))
    props = np.c_[xy, xy + rng.uniform(2, 30, (12, 2))]
    gts = props[[3, 7, 1]] + rng.uniform(-2, 2, (3, 4))
    weights = (10.0, 10.0, 5.0, 5.0)
    tc, ec = tu.BoxCoder(weights), edu.BoxCoder(weights)
    t_codes = tc.encode([T(gts)], [T(props[:3])])[0]
    e_codes = ec.encode([E(gts)], [E(props[:3])])[0]
    close(e_codes, t_codes)
    rel = rng.standard_normal((12, 8)) * 3     # (large deltas: the clip at log(1000/16))
    close(ec.decode(E(rel), [E(props[:5]), E(props[5:])]),
          tc.decode(T(rel), [T(props[:5]), T(props[5:])]))
    iou = rng.random((4, 12))
    iou[2, 5] = iou[2].max()          # a tie for ground truth 2's best prediction
    for low_quality in (False, True):
        tm_, em_ = tu.Matcher(0.7, 0.3, low_quality), edu.Matcher(0.7, 0.3, low_quality)
        assert em_(E(iou)).tolist() == tm_(T(iou)).tolist()
    with pytest.raises(ValueError, match="No ground-truth boxes"):
        edu.Matcher(0.5, 0.5)(E(np.zeros((0, 3))))
    with pytest.raises(ValueError, match="No proposal boxes"):
        edu.Matcher(0.5, 0.5)(E(np.zeros((3, 0))))
    labels = [rng.integers(-1, 3, 40), rng.integers(-1, 2, 25)]
    torch.manual_seed(9)
    ember.manual_seed(9)
    t_pos, t_neg = tu.BalancedPositiveNegativeSampler(16, 0.25)([T(v) for v in labels])
    e_pos, e_neg = edu.BalancedPositiveNegativeSampler(16, 0.25)([E(v) for v in labels])
    for a, b in zip(e_pos + e_neg, t_pos + t_neg):
        assert a.dtype == ember.uint8 and a.tolist() == b.tolist()


def test_transform_matches_torchvision(tvd):
    tt = sys.modules["torchvision.models.detection.transform"]
    args = ((48, 64, 80), 100, [0.4, 0.5, 0.6], [0.2, 0.25, 0.3])
    t, e = tt.GeneralizedRCNNTransform(*args), GeneralizedRCNNTransform(*args)
    targets = _masks(TARGETS)
    for training in (True, False):
        t.train(training)
        e.train(training)
        torch.manual_seed(2)
        ember.manual_seed(2)
        t_il, t_tg = t([T(i) for i in IMAGES], [{k: T(v) for k, v in g.items()} for g in targets])
        e_il, e_tg = e([E(i) for i in IMAGES], [{k: E(v) for k, v in g.items()} for g in targets])
        assert e_il.image_sizes == t_il.image_sizes
        close(e_il.tensors, t_il.tensors, rtol=1e-7, atol=1e-7)
        for a, b in zip(e_tg, t_tg):
            close(a["boxes"], b["boxes"])
            assert a["masks"].dtype == ember.uint8 and a["masks"].tolist() == b["masks"].tolist()
    with pytest.raises(TypeError, match="Expected input images to be of floating type"):
        e([E(np.zeros((3, 8, 8), np.uint8))])
    with pytest.raises(ValueError, match="3d tensors"):
        e([E(np.zeros((8, 8)))])


def test_paste_masks_matches_torchvision(tvd):
    tr = sys.modules["torchvision.models.detection.roi_heads"]
    rng = np.random.default_rng(4)
    masks = rng.random((3, 1, 28, 28))
    boxes = np.array([[3.2, 4.0, 30.5, 20.1], [-5.0, 10.0, 12.0, 60.0], [40.0, 2.0, 41.0, 3.0]])
    close(paste_masks_in_image(E(masks), E(boxes), (50, 45)),
          tr.paste_masks_in_image(T(masks), T(boxes), (50, 45)), rtol=1e-7, atol=1e-7)
    empty = paste_masks_in_image(E(np.zeros((0, 1, 28, 28))), E(np.zeros((0, 4))), (5, 6))
    assert tuple(empty.shape) == (0, 1, 5, 6)


def test_detector_argument_errors():
    backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None)
    with pytest.raises(ValueError, match="num_classes should not be None"):
        ed.FasterRCNN(backbone)
    with pytest.raises(ValueError, match="num_classes should be None when box_predictor"):
        ed.FasterRCNN(backbone, num_classes=3, box_predictor=ed.FastRCNNPredictor(1024, 3))
    with pytest.raises(ValueError, match="out_channels"):
        ed.FasterRCNN(ember.nn.ReLU(), num_classes=3)
    with pytest.raises(TypeError, match="rpn_anchor_generator should be of type"):
        ed.FasterRCNN(backbone, num_classes=3, rpn_anchor_generator=object())
    with pytest.raises(ValueError, match="'num_classes' expected value 91 but got 5"):
        ed.fasterrcnn_resnet50_fpn(weights="DEFAULT", num_classes=5)
    model = ed.FasterRCNN(backbone, num_classes=3, min_size=32, max_size=48)
    model.train()
    with pytest.raises(AssertionError, match="targets should not be none"):
        model([E(IMAGES[0], ember.float32)])
    bad = [{"boxes": E(np.array([[10.0, 10, 5, 20]])), "labels": E(np.array([1]))}]
    with pytest.raises(AssertionError, match="positive height and width"):
        model([E(IMAGES[0], ember.float32)], bad)
    with pytest.raises(TypeError, match="target labels must of int64 type"):
        model([E(IMAGES[0], ember.float32)], [{"boxes": E(np.array([[1.0, 1, 5, 20]])),
                                "labels": E(np.array([1], np.int32))}])
