"""Segmentation models and detectors on CUDA: the model built on the CPU from one seed,
copied to 'cuda', must give the CPU model's outputs in eval mode and its losses and
parameter gradients in training mode (float64, small inputs), with its outputs on the GPU.
The CPU runs are compared with torchvision in test_segmentation.py and
test_detection_more.py. Skips without a GPU; EMBER_FAKE_CUDA=1 runs it on
tests/fakecupy.py."""
import copy

import numpy as np
import pytest

import ember
from ember.vision.models import detection as ed
from ember.vision.models import segmentation as es

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device")


def _host(t):
    return t.detach().cpu().numpy()


def _close(cuda, cpu, rtol=1e-9, atol=1e-10):
    assert cuda.device.type == "cuda", cuda.device
    assert cuda.dtype == cpu.dtype and tuple(cuda.shape) == tuple(cpu.shape)
    np.testing.assert_allclose(_host(cuda), _host(cpu), rtol=rtol, atol=atol)


def _no_dropout(model):
    for m in model.modules():
        if isinstance(m, ember.nn.Dropout):
            m.p = 0.0
    return model


def _pair(build):
    """The model built on the CPU (float64, random running statistics so that eval mode
    tests more than the identity) and a copy of it on CUDA."""
    ember.manual_seed(0)
    cpu = build().double()
    g = np.random.default_rng(1)
    with ember.no_grad():
        for name, b in cpu.named_buffers():
            if name.endswith("running_var"):
                b.copy_(ember.tensor(g.random(b.shape) + 0.5))
            elif name.endswith("running_mean"):
                b.copy_(ember.tensor(g.standard_normal(b.shape) * 0.1))
    cuda = copy.deepcopy(cpu).to("cuda")
    assert all(p.is_cuda for p in cuda.parameters())
    return cpu, cuda


def _grads_equal(cpu, cuda, atol=1e-7):
    """Parameter gradients equal, each scaled by its largest entry (at least 1e-6 of the
    model's largest: a gradient that cancels to rounding noise is not compared
    digit by digit)."""
    got = dict(cuda.named_parameters())
    floor = 1e-6 * max(float(p.grad.abs().max()) for p in cpu.parameters()
                       if p.grad is not None)
    for name, p in cpu.named_parameters():
        assert (p.grad is None) == (got[name].grad is None), name
        if p.grad is not None:
            scale = max(float(p.grad.abs().max()), floor)
            _close(got[name].grad / scale, p.grad / scale, rtol=0, atol=atol)


SEGMENTATION = {
    "lraspp_mobilenet_v3_large": lambda: es.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=4),
    "deeplabv3_mobilenet_v3_large": lambda: es.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, aux_loss=True, num_classes=3),
}


@pytest.mark.parametrize("name", list(SEGMENTATION))
def test_segmentation_model_on_cuda(name):
    cpu, cuda = _pair(SEGMENTATION[name])
    x = ember.tensor(np.random.default_rng(0).standard_normal((2, 3, 32, 36)))
    cpu.eval()
    cuda.eval()
    with ember.no_grad():
        want, got = cpu(x), cuda(x.cuda())
    assert list(got) == list(want)
    for k in want:
        _close(got[k], want[k])
    _no_dropout(cpu).train()
    _no_dropout(cuda).train()
    want, got = cpu(x), cuda(x.cuda())
    w = ember.tensor(np.random.default_rng(1).standard_normal(tuple(want["out"].shape)))
    loss_cpu = sum((o * w).sum() for o in want.values())
    loss_cuda = sum((o * w.cuda()).sum() for o in got.values())
    _close(loss_cuda, loss_cpu, rtol=1e-8)
    loss_cpu.backward()
    loss_cuda.backward()
    _grads_equal(cpu, cuda)
    bufs = dict(cuda.named_buffers())
    for n, b in cpu.named_buffers():
        _close(bufs[n], b, rtol=1e-9) if b.is_floating_point() else \
            np.testing.assert_array_equal(_host(bufs[n]), _host(b))


IMAGES = [np.random.default_rng(0).random((3, 40, 50)),
          np.random.default_rng(1).random((3, 45, 35))]
TARGETS = [{"boxes": np.array([[5.0, 6, 25, 30], [15, 2, 45, 20]]), "labels": np.array([1, 2])},
           {"boxes": np.array([[2.0, 3, 20, 35]]), "labels": np.array([2])}]
EMPTY = {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, np.int64)}


def _detect(cpu, cuda, targets, keys):
    """Eval detections equal (and on the GPU); training losses and gradients equal."""
    cpu.eval()
    cuda.eval()
    with ember.no_grad():
        want = cpu([ember.tensor(i) for i in IMAGES])
        got = cuda([ember.tensor(i, device="cuda") for i in IMAGES])
    assert len(want[0]["boxes"]) > 0
    for w, g in zip(want, got):
        assert set(w) == set(g) == keys
        for k in w:
            _close(g[k], w[k], rtol=1e-7, atol=1e-7)
    cpu.train()
    cuda.train()
    ember.manual_seed(5)
    l_cpu = cpu([ember.tensor(i) for i in IMAGES],
                [{k: ember.tensor(v) for k, v in t.items()} for t in targets])
    ember.manual_seed(5)
    l_cuda = cuda([ember.tensor(i, device="cuda") for i in IMAGES],
                  [{k: ember.tensor(v, device="cuda") for k, v in t.items()} for t in targets])
    assert list(l_cuda) == list(l_cpu)
    for k in l_cpu:
        _close(l_cuda[k], l_cpu[k], rtol=1e-6 if k == "loss_objectness" else 1e-9)
    sum(l_cpu.values()).backward()
    sum(l_cuda.values()).backward()
    _grads_equal(cpu, cuda, atol=1e-6)


def test_retinanet_on_cuda():
    """A RetinaNet on a ResNet-18 FPN (P3-P7); the second image has no objects."""
    from ember.vision.models.detection.backbone_utils import _resnet_fpn_extractor
    from ember.vision.models.resnet import resnet18
    from ember.vision.ops.feature_pyramid_network import LastLevelP6P7

    def build():
        bb = _resnet_fpn_extractor(resnet18(), 5, returned_layers=[2, 3, 4],
                                   extra_blocks=LastLevelP6P7(256, 256))
        return ed.RetinaNet(bb, 3, min_size=48, max_size=64, detections_per_img=15,
                            topk_candidates=50, score_thresh=0.005)
    cpu, cuda = _pair(build)
    _detect(cpu, cuda, [TARGETS[0], EMPTY], {"boxes", "labels", "scores"})


def test_ssdlite_on_cuda():
    """SSDlite at 64 x 64: SSDLiteHead on the reduced-tail MobileNetV3 extractor (the
    builder's parts; the builder itself fixes the size at 320 x 320)."""
    from functools import partial

    from ember.vision.models import mobilenet_v3_large
    from ember.vision.models.detection import ssd as essd, ssdlite as essdl
    from ember.vision.models.detection.anchor_utils import DefaultBoxGenerator

    def build():
        norm = partial(ember.nn.BatchNorm2d, eps=0.001, momentum=0.03)
        bb = essdl._mobilenet_extractor(mobilenet_v3_large(norm_layer=norm, reduced_tail=True),
                                        6, norm)
        ag = DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95)
        head = essdl.SSDLiteHead([672, 480, 512, 256, 256, 128],
                                 ag.num_anchors_per_location(), 3, norm)
        return essd.SSD(bb, ag, (64, 64), 3, head=head, score_thresh=0.2,
                        detections_per_img=10, topk_candidates=20, image_mean=[0.5] * 3,
                        image_std=[0.5] * 3)
    cpu, cuda = _pair(build)
    _detect(cpu, cuda, TARGETS, {"boxes", "labels", "scores"})


def test_fasterrcnn_mobilenet_v3_large_320_fpn_on_cuda():
    """The samplers take every candidate (batch sizes above the anchor and proposal
    counts): their random permutations, drawn on the device, then only reorder terms."""
    def build():
        return ed.fasterrcnn_mobilenet_v3_large_320_fpn(
            weights=None, weights_backbone=None, num_classes=3, box_detections_per_img=6,
            box_score_thresh=0.0, rpn_score_thresh=0.0, rpn_pre_nms_top_n_train=100,
            rpn_post_nms_top_n_train=30, rpn_pre_nms_top_n_test=100,
            rpn_post_nms_top_n_test=30, rpn_batch_size_per_image=100000,
            box_batch_size_per_image=100000, min_size=64, max_size=96)
    cpu, cuda = _pair(build)
    _detect(cpu, cuda, TARGETS, {"boxes", "labels", "scores"})
