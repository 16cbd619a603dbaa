"""Every loss in ember.nn.functional against torch over its options: reductions, class
weights, ignore_index, label smoothing (with weight and ignore_index together), K-dim
inputs, probability targets, extreme logits; the new CTC, multi-margin, multilabel-margin
and triplet-with-distance losses; errors; module reprs."""
import numpy as np
import pytest
import torch

import ember
from tests.nn.test_layers_oracle import run_layer
from tests.oracle.harness import Grad, check

rng = np.random.default_rng(0)
REDUCTIONS = ("none", "mean", "sum")


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def F_(name, *args, **kw):
    return lambda L, *t: getattr(L.nn.functional, name)(*t, *args, **kw)


def W(L, values):
    return L.tensor(values)


def ce(**kw):
    """cross_entropy with an optional weight given as a list (built in each library)."""
    weight = kw.pop("weight", None)
    return lambda L, x, t: L.nn.functional.cross_entropy(
        x, t, weight=None if weight is None else L.tensor(weight), **kw)


def nll(**kw):
    weight = kw.pop("weight", None)
    return lambda L, x, t: L.nn.functional.nll_loss(
        x, t, weight=None if weight is None else L.tensor(weight), **kw)


w4 = [1.0, 2.0, 0.5, 1.5]
t6 = np.array([0, 1, 2, 3, 1, 0])
t_kd = rng.integers(0, 4, (2, 3, 5))
t_kd[0, 0, :2] = 1
probs = rng.uniform(0, 1, (5, 4)).astype(np.float32)
probs /= probs.sum(1, keepdims=True)

CASES = []
for r in REDUCTIONS:
    CASES += [
        (f"ce-{r}", ce(reduction=r), [Grad(f32(6, 4)), t6]),
        (f"ce-weight-{r}", ce(weight=w4, reduction=r), [Grad(f32(6, 4)), t6]),
        (f"ce-ignore-{r}", ce(ignore_index=1, reduction=r), [Grad(f32(6, 4)), t6]),
        (f"ce-smooth-{r}", ce(label_smoothing=0.2, reduction=r), [Grad(f32(6, 4)), t6]),
        (f"ce-smooth-weight-ignore-{r}",
         ce(weight=w4, ignore_index=1, label_smoothing=0.3, reduction=r),
         [Grad(f32(6, 4)), t6]),
        (f"ce-kdim-smooth-weight-ignore-{r}",
         ce(weight=w4, ignore_index=1, label_smoothing=0.1, reduction=r),
         [Grad(f32(2, 4, 3, 5)), t_kd]),
        (f"ce-probs-{r}", ce(reduction=r), [Grad(f32(5, 4)), Grad(probs)]),
        (f"ce-probs-weight-smooth-{r}", ce(weight=w4, label_smoothing=0.2, reduction=r),
         [Grad(f32(5, 4)), probs]),
        (f"ce-probs-kdim-{r}", ce(reduction=r),
         [Grad(f32(2, 4, 3)), np.full((2, 4, 3), 0.25, np.float32)]),
        (f"nll-{r}", nll(reduction=r), [Grad(f32(6, 4)), t6]),
        (f"nll-weight-ignore-{r}", nll(weight=w4, ignore_index=0, reduction=r),
         [Grad(f32(6, 4)), t6]),
        (f"nll-kdim-{r}", nll(weight=w4, reduction=r), [Grad(f32(2, 4, 3, 5)), t_kd]),
        (f"nll-1d-{r}", nll(reduction=r), [Grad(f32(4)), np.array(2)]),
        (f"bce-{r}", F_("binary_cross_entropy", reduction=r),
         [Grad(rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)),
          Grad(rng.uniform(0, 1, (4, 3)).astype(np.float32))]),
        (f"bce-weight-{r}", lambda L, x, t, rr=r: L.nn.functional.binary_cross_entropy(
            x, t, weight=L.tensor([1.0, 2.0, 0.5]), reduction=rr),
         [Grad(rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)),
          rng.integers(0, 2, (4, 3)).astype(np.float32)]),
        (f"bce-saturated-{r}", F_("binary_cross_entropy", reduction=r),
         [np.array([0.0, 1.0, 0.5], np.float32), np.array([1.0, 0.0, 0.5], np.float32)]),
        (f"bcelogits-{r}", F_("binary_cross_entropy_with_logits", reduction=r),
         [Grad(f32(4, 3)), Grad(rng.uniform(0, 1, (4, 3)).astype(np.float32))]),
        (f"bcelogits-huge-{r}", F_("binary_cross_entropy_with_logits", reduction=r),
         [Grad(np.array([1e4, -1e4, 200.0, -200.0, 0.0], np.float32)),
          np.array([0.0, 1.0, 1.0, 0.0, 0.5], np.float32)]),
        (f"bcelogits-weight-posweight-{r}",
         lambda L, x, t, rr=r: L.nn.functional.binary_cross_entropy_with_logits(
             x, t, weight=L.tensor([1.0, 2.0, 0.5]), pos_weight=L.tensor([3.0, 0.5, 1.0]),
             reduction=rr),
         [Grad(f32(4, 3) * 50), rng.integers(0, 2, (4, 3)).astype(np.float32)]),
        (f"mse-{r}", F_("mse_loss", reduction=r), [Grad(f32(3, 4)), Grad(f32(3, 4))]),
        (f"l1-{r}", F_("l1_loss", reduction=r), [Grad(f32(3, 4)), Grad(f32(3, 4))]),
        # the fused array backward of mse/l1: 0-dim, ties (x == t), float64, input-only grad
        (f"mse-0d-{r}", F_("mse_loss", reduction=r), [Grad(np.float32(1.5)),
                                                     Grad(np.float32(-0.5))]),
        (f"l1-ties-{r}", F_("l1_loss", reduction=r),
         [Grad(np.array([1.0, 2.0, 3.0], np.float32)), np.array([1.0, 0.0, 3.0], np.float32)]),
        (f"mse-float64-{r}", F_("mse_loss", reduction=r),
         [Grad(rng.standard_normal((2, 5))), rng.standard_normal((2, 5))]),
        (f"smoothl1-{r}", F_("smooth_l1_loss", reduction=r, beta=0.5),
         [Grad(f32(3, 4)), Grad(f32(3, 4))]),
        (f"smoothl1-beta0-{r}", F_("smooth_l1_loss", reduction=r, beta=0.0),
         [Grad(f32(3, 4)), Grad(f32(3, 4))]),
        (f"huber-{r}", F_("huber_loss", reduction=r, delta=0.6),
         [Grad(f32(3, 4)), Grad(f32(3, 4))]),
        (f"kl-{r}", F_("kl_div", reduction=r),
         [Grad(f32(3, 4)), Grad(rng.uniform(0.1, 1, (3, 4)).astype(np.float32))]),
        (f"kl-logtarget-{r}", F_("kl_div", reduction=r, log_target=True),
         [Grad(f32(3, 4)), Grad(f32(3, 4))]),
        (f"poisson-{r}", F_("poisson_nll_loss", reduction=r),
         [Grad(f32(3, 4)), rng.poisson(2, (3, 4)).astype(np.float32)]),
        (f"poisson-full-nolog-{r}", F_("poisson_nll_loss", log_input=False, full=True,
                                       reduction=r),
         [Grad(rng.uniform(0.5, 3, (3, 4)).astype(np.float32)),
          rng.poisson(2, (3, 4)).astype(np.float32)]),
        (f"gaussian-{r}", F_("gaussian_nll_loss", full=True, reduction=r),
         [Grad(f32(3, 4)), Grad(f32(3, 4)), Grad(rng.uniform(0.5, 2, (3, 4)).astype(np.float32))]),
        (f"gaussian-var-bcast-{r}", F_("gaussian_nll_loss", reduction=r),
         [Grad(f32(3, 4)), Grad(f32(3, 4)), Grad(rng.uniform(0.5, 2, (3, 1)).astype(np.float32))]),
        (f"soft_margin-{r}", F_("soft_margin_loss", reduction=r),
         [Grad(f32(3, 4)), np.sign(f32(3, 4))]),
        (f"margin_ranking-{r}", F_("margin_ranking_loss", margin=0.2, reduction=r),
         [Grad(f32(6)), Grad(f32(6)), np.sign(f32(6))]),
        (f"hinge_embedding-{r}", F_("hinge_embedding_loss", margin=0.5, reduction=r),
         [Grad(f32(6)), np.sign(f32(6))]),
        (f"cosine_embedding-{r}", F_("cosine_embedding_loss", margin=0.1, reduction=r),
         [Grad(f32(4, 3)), Grad(f32(4, 3)), np.sign(f32(4))]),
        (f"triplet-{r}", F_("triplet_margin_loss", margin=0.5, p=1, swap=True, reduction=r),
         [Grad(f32(4, 3)), Grad(f32(4, 3)), Grad(f32(4, 3))]),
        (f"multilabel_soft_margin-{r}", lambda L, x, t, rr=r:
         L.nn.functional.multilabel_soft_margin_loss(x, t, weight=L.tensor([1.0, 0.5, 2.0]),
                                                     reduction=rr),
         [Grad(f32(4, 3)), rng.integers(0, 2, (4, 3)).astype(np.float32)]),
        (f"multi_margin-{r}", F_("multi_margin_loss", reduction=r), [Grad(f32(5, 4)),
                                                                    t6[:5]]),
        (f"multi_margin-p2-weight-{r}", lambda L, x, t, rr=r: L.nn.functional.multi_margin_loss(
            x, t, p=2, margin=0.7, weight=L.tensor(w4), reduction=rr),
         [Grad(f32(5, 4)), t6[:5]]),
        (f"multi_margin-1d-{r}", F_("multi_margin_loss", reduction=r),
         [Grad(f32(4)), np.array(1)]),
        (f"multilabel_margin-{r}", F_("multilabel_margin_loss", reduction=r),
         [Grad(f32(3, 4)), np.array([[3, 0, -1, 1], [1, 1, 2, -1], [-1, 0, 0, 0]])]),
        (f"multilabel_margin-1d-{r}", F_("multilabel_margin_loss", reduction=r),
         [Grad(f32(4)), np.array([2, 0, -1, 3])]),
        (f"triplet_distance-{r}", F_("triplet_margin_with_distance_loss", reduction=r),
         [Grad(f32(4, 3)), Grad(f32(4, 3)), Grad(f32(4, 3))]),
        (f"triplet_distance-cos-swap-{r}", lambda L, a, p, n, rr=r:
         L.nn.functional.triplet_margin_with_distance_loss(
             a, p, n, distance_function=lambda x, y: 1 - L.nn.functional.cosine_similarity(x, y),
             margin=0.3, swap=True, reduction=rr),
         [Grad(f32(4, 3)), Grad(f32(4, 3)), Grad(f32(4, 3))]),
    ]

CASES += [
    ("ce-float64", ce(label_smoothing=0.1), [Grad(rng.standard_normal((5, 4))), t6[:5]]),
    ("ce-all-ignored", ce(ignore_index=1), [Grad(f32(2, 4)), np.array([1, 1])]),
    # (N, C) with class indices takes the fused CrossEntropy node: a batch of 128 with
    # logits far apart, float64, ignore_index with a weight
    ("ce-fused-b128", ce(), [Grad(8 * f32(128, 10)), rng.integers(0, 10, 128)]),
    ("ce-fused-float64", ce(ignore_index=4),
     [Grad(rng.standard_normal((7, 5))), np.array([0, 4, 2, 3, 1, 4, 0])]),
    ("ce-fused-weight-ignore-sum", ce(weight=w4, ignore_index=2, reduction="sum"),
     [Grad(f32(6, 4)), t6]),
    ("ce-empty-batch-sum", ce(reduction="sum"), [Grad(f32(0, 4)), np.zeros(0, np.int64)]),
    ("ce-noncontig", lambda L, x, t: L.nn.functional.cross_entropy(x.t(), t),
     [Grad(f32(4, 6)), t6]),
    ("err-ce-bad-smoothing", ce(label_smoothing=1.5), [f32(6, 4), t6]),
    ("err-ce-target-range", ce(), [f32(2, 4), np.array([0, 4])]),
    ("err-ce-probs-shape", ce(), [f32(2, 4), np.ones((2, 3), np.float32)]),
    ("err-nll-batch", nll(), [f32(3, 4), np.array([0, 1])]),
    ("err-nll-kdim-shape", nll(), [f32(2, 4, 3), np.zeros((2, 4), np.int64)]),
    ("err-nll-weight-size", nll(weight=[1.0, 2.0]), [f32(3, 4), np.array([0, 1, 2])]),
    ("err-bad-reduction", F_("mse_loss", reduction="avg"), [f32(2), f32(2)]),
    ("err-bce-range", F_("binary_cross_entropy"), [np.array([1.5], np.float32),
                                                   np.array([1.0], np.float32)]),
    ("err-bce-shape", F_("binary_cross_entropy"), [np.array([0.5, 0.5], np.float32),
                                                   np.array([[1.0, 0.0]], np.float32)]),
    ("err-bcelogits-shape", F_("binary_cross_entropy_with_logits"), [f32(3), f32(2, 3)]),
    ("err-multi_margin-p", F_("multi_margin_loss", p=3), [f32(2, 3), np.array([0, 1])]),
    ("err-multi_margin-target", F_("multi_margin_loss"), [f32(2, 3), np.array([0, 3])]),
    ("err-multi_margin-size", F_("multi_margin_loss"), [f32(2, 3), np.array([0, 1, 2])]),
    ("err-multilabel_margin-shape", F_("multilabel_margin_loss"),
     [f32(2, 3), np.array([0, 1, -1])]),
    ("err-triplet_distance-margin", F_("triplet_margin_with_distance_loss", margin=0.0),
     [f32(2, 3), f32(2, 3), f32(2, 3)]),
    ("err-triplet_distance-dims", F_("triplet_margin_with_distance_loss"),
     [f32(2, 3), f32(3), f32(2, 3)]),
    ("err-gaussian-negvar", F_("gaussian_nll_loss"), [f32(2, 3), f32(2, 3),
                                                      -np.ones((2, 3), np.float32)]),
    # the deprecated size_average / reduce pair picks the reduction (with a warning)
    ("legacy-nll-reduce", F_("nll_loss", reduce=False), [Grad(f32(3, 4)), np.array([0, 3, 1])]),
    ("legacy-ce-size_average", F_("cross_entropy", size_average=False),
     [Grad(f32(3, 4)), np.array([0, 3, 1])]),
    ("legacy-bce", F_("binary_cross_entropy", reduce=False),
     [Grad(np.full((2, 3), 0.3, np.float32)), np.ones((2, 3), np.float32)]),
    ("legacy-bce-logits", F_("binary_cross_entropy_with_logits", size_average=False),
     [Grad(f32(2, 3)), np.ones((2, 3), np.float32)]),
    ("legacy-mse", F_("mse_loss", size_average=False), [Grad(f32(2, 3)), f32(2, 3)]),
    ("legacy-l1", F_("l1_loss", reduce=False), [Grad(f32(2, 3)), f32(2, 3)]),
    ("legacy-smooth_l1", F_("smooth_l1_loss", reduce=True, size_average=False),
     [Grad(f32(2, 3)), f32(2, 3)]),
    ("legacy-kl_div", F_("kl_div", size_average=False), [Grad(f32(2, 3)), np.abs(f32(2, 3))]),
    ("legacy-hinge", F_("hinge_embedding_loss", reduce=False),
     [Grad(f32(4)), np.array([1.0, -1, 1, -1], np.float32)]),
    ("legacy-multi_margin", F_("multi_margin_loss", size_average=False),
     [Grad(f32(2, 3)), np.array([0, 2])]),
    ("legacy-multilabel_soft", F_("multilabel_soft_margin_loss", reduce=False),
     [Grad(f32(2, 3)), np.array([[1, 0, 1], [0, 0, 1]], np.float32)]),
    ("legacy-cosine", F_("cosine_embedding_loss", size_average=False),
     [Grad(f32(2, 3)), f32(2, 3), np.array([1.0, -1], np.float32)]),
    ("legacy-poisson", F_("poisson_nll_loss", reduce=False), [Grad(f32(2, 3)), np.abs(f32(2, 3))]),
    # mse / l1 weights: 'mean' is sum(w l) / sum(w)
    ("mse-weight", lambda L, x, y, w: L.nn.functional.mse_loss(x, y, weight=w),
     [Grad(f32(2, 3)), f32(2, 3), np.abs(f32(2, 3))]),
    ("l1-weight-sum", lambda L, x, y, w: L.nn.functional.l1_loss(x, y, weight=w, reduction="sum"),
     [Grad(f32(2, 3)), f32(2, 3), Grad(np.abs(f32(2, 3)))]),
    ("err-mse-weight-size", lambda L, x, y, w: L.nn.functional.mse_loss(x, y, weight=w),
     [f32(2, 3), f32(2, 3), np.ones(3, np.float32)]),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_loss(name, fn, inputs, ember_device):
    if name == "err-ce-target-range" and ember_device == "cuda":
        pytest.skip("on CUDA the target range is not checked (a host read; torch asserts on "
                    "the device); see ember/_ops/loss.py _class_targets")
    check(fn, *inputs, rtol=2e-5, atol=2e-5)


def test_bce_with_logits_large_logits_finite():
    x = ember.tensor([1e4, -1e4, 88.0, -88.0, 1e30, -1e30], requires_grad=True)
    t = ember.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    loss = ember.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
    assert np.isfinite(loss.detach().cpu().numpy()).all()
    loss.sum().backward()
    assert np.isfinite(x.grad.cpu().numpy()).all()


def log_probs(T, N, C, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((T, N, C)).astype(np.float32)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def ctc(**kw):
    return lambda L, lp, tg, il, tl: L.nn.functional.ctc_loss(lp, tg, il, tl, **kw)


padded = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [2, 0, 0, 0]])
CTC = []
for r in REDUCTIONS:
    CTC += [
        (f"padded-{r}", ctc(reduction=r), [Grad(log_probs(6, 3, 4)), padded,
                                           np.array([6, 5, 4]), np.array([3, 2, 1])]),
        (f"concat-{r}", ctc(reduction=r), [Grad(log_probs(6, 3, 4)), np.array([1, 2, 2, 3, 1, 2]),
                                           np.array([6, 6, 3]), np.array([3, 2, 1])]),
        (f"blank-last-{r}", ctc(blank=3, reduction=r),
         [Grad(log_probs(5, 2, 4)), np.array([[0, 1], [2, 2]]), np.array([5, 5]),
          np.array([2, 2])]),
        (f"impossible-{r}", ctc(reduction=r), [Grad(log_probs(2, 2, 4)),
                                               np.array([[1, 1, 1], [1, 2, 0]]),
                                               np.array([2, 2]), np.array([3, 2])]),
        (f"impossible-zero_inf-{r}", ctc(reduction=r, zero_infinity=True),
         [Grad(log_probs(2, 2, 4)), np.array([[1, 1, 1], [1, 2, 0]]), np.array([2, 2]),
          np.array([3, 2])]),
        (f"empty-target-{r}", ctc(reduction=r), [Grad(log_probs(4, 2, 3)), np.array([[1], [0]]),
                                                 np.array([4, 3]), np.array([1, 0])]),
    ]
CTC += [
    ("unbatched", ctc(), [Grad(log_probs(5, 1, 4)[:, 0]), np.array([1, 3]), np.array(5),
                          np.array(2)]),
    ("float64", ctc(), [Grad(log_probs(5, 2, 4).astype(np.float64)), np.array([[1, 2], [3, 3]]),
                        np.array([5, 4]), np.array([2, 2])]),
    ("lengths-tuples", lambda L, lp, tg: L.nn.functional.ctc_loss(lp, tg, (5, 4), (2, 1)),
     [Grad(log_probs(5, 2, 4)), np.array([[1, 2], [3, 0]])]),
    ("err-input-length", ctc(), [log_probs(4, 2, 3), np.array([[1], [2]]), np.array([5, 4]),
                                 np.array([1, 1])]),
    ("err-target-length", ctc(), [log_probs(4, 2, 3), np.array([[1], [2]]), np.array([4, 4]),
                                  np.array([2, 1])]),
]


@pytest.mark.parametrize("name,fn,inputs", CTC, ids=[c[0] for c in CTC])
def test_ctc_loss(name, fn, inputs):
    check(fn, *inputs, rtol=1e-4, atol=1e-5)


def test_ctc_through_log_softmax_and_grad_fn():
    x = f32(6, 2, 5)
    tg = np.array([[1, 2, 3], [4, 4, 0]])
    il, tl = np.array([6, 5]), np.array([3, 2])
    grads = []
    for L in (torch, ember):
        t = L.tensor(x.copy()).requires_grad_()
        loss = L.nn.CTCLoss()(t.log_softmax(2), L.tensor(tg), L.tensor(il),
                              L.tensor(tl))
        loss.backward()
        grads.append(t.grad.cpu().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-4, atol=1e-6)
    lp = ember.tensor(log_probs(3, 1, 3)).requires_grad_()
    out = ember.nn.functional.ctc_loss(lp, ember.tensor([[1]]), [3], [1], reduction="none")
    assert out.grad_fn.name() == "CtcLossBackward0"


LOSS_MODULES = [
    ("CTCLoss", lambda L: L.nn.CTCLoss(blank=1, zero_infinity=True),
     [log_probs(5, 2, 4), np.array([[2, 3], [0, 0]]), np.array([5, 4]), np.array([2, 1])]),
    ("MultiMarginLoss", lambda L: L.nn.MultiMarginLoss(p=2, margin=0.5,
                                                       weight=L.tensor([1.0, 2.0, 3.0])),
     [f32(4, 3), np.array([0, 1, 2, 1])]),
    ("MultiLabelMarginLoss", lambda L: L.nn.MultiLabelMarginLoss(reduction="sum"),
     [f32(2, 3), np.array([[2, -1, 0], [0, 1, -1]])]),
    ("TripletMarginWithDistanceLoss", lambda L: L.nn.TripletMarginWithDistanceLoss(
        margin=0.5, swap=True), [f32(4, 3), f32(4, 3), f32(4, 3)]),
    ("CrossEntropyLoss-all", lambda L: L.nn.CrossEntropyLoss(
        weight=L.tensor([1.0, 2.0, 0.5]), ignore_index=2, reduction="sum",
        label_smoothing=0.1), [f32(4, 3), np.array([0, 2, 1, 1])]),
    ("NLLLoss-legacy", lambda L: L.nn.NLLLoss(size_average=False), [f32(4, 3),
                                                                   np.array([0, 2, 1, 1])]),
]


@pytest.mark.parametrize("name,make,inputs", LOSS_MODULES, ids=[c[0] for c in LOSS_MODULES])
def test_loss_modules(name, make, inputs):
    run_layer(make, inputs, rtol=1e-4, atol=1e-5, ngrad=3 if "Triplet" in name else 1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_pointwise_loss_double_backward(reduction):
    # create_graph takes the composed derivative, not the fused array one
    from ember.autograd import gradcheck, gradgradcheck
    r = np.random.default_rng(3)
    x = ember.tensor(r.standard_normal((3, 4))).requires_grad_()
    t = ember.tensor(r.standard_normal((3, 4))).requires_grad_()
    mse = lambda x, t: ember.nn.functional.mse_loss(x, t, reduction=reduction)
    assert gradcheck(mse, (x, t)) and gradgradcheck(mse, (x, t))
    assert gradcheck(lambda x, t: ember.nn.functional.l1_loss(x, t, reduction=reduction), (x, t))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_double_backward(reduction):
    # the fused node's create_graph backward is built from differentiable ops
    from ember.autograd import gradcheck, gradgradcheck
    r = np.random.default_rng(4)
    x = ember.tensor(r.standard_normal((5, 4))).requires_grad_()
    t = ember.tensor([0, 3, 1, 1, 2])
    w = ember.tensor([1.0, 2.0, 0.5, 1.5], dtype=ember.float64)
    ce_ = lambda x: ember.nn.functional.cross_entropy(x, t, weight=w, ignore_index=2,
                                                      reduction=reduction)
    assert gradcheck(ce_, (x,)) and gradgradcheck(ce_, (x,))


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("dt", ["int32", "int16", "bool", "uint8", "int64"])
def test_class_target_dtypes(fn, dt):
    """Class-index targets must be int64 or uint8: other dtypes raise torch's RuntimeError
    (on cross_entropy's fused (N, C) path and on nll_loss alike)."""
    x = f32(4, 3)
    results = []
    for lib in (torch, ember):
        target = lib.tensor([0, 1, 2, 1]).to(getattr(lib, dt))
        try:
            out = getattr(lib.nn.functional, fn)(lib.tensor(x), target)
            results.append(("ok", round(float(out), 5)))
        except RuntimeError as e:
            results.append(("RuntimeError", str(e)))
    assert results[1] == results[0]


def test_legacy_reduction_args_warn_as_torch():
    for lib in (torch, ember):
        x, y = lib.ones(2, 3), lib.zeros(2, 3)
        with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
            lib.nn.functional.mse_loss(x, y, size_average=False)
        with pytest.warns(UserWarning, match="please use reduction='none' instead"):
            assert lib.nn.MSELoss(reduce=False).reduction == "none"
