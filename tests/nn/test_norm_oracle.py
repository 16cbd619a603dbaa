"""Normalization and embedding layers against torch, incl. running statistics over
several training steps, eval mode, and double backward."""
from collections import OrderedDict

import ml_dtypes
import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck

from tests.oracle.harness import Grad, check
from .test_layers_oracle import run_layer

rng = np.random.default_rng(4)


def f32(*s):
    return (rng.standard_normal(s) * 2 + 0.5).astype(np.float32)


NORMS = [
    ("BatchNorm1d", lambda L: L.nn.BatchNorm1d(4), [f32(8, 4)], True),
    ("BatchNorm1d-3d", lambda L: L.nn.BatchNorm1d(4), [f32(3, 4, 5)], True),
    ("BatchNorm1d-eval", lambda L: L.nn.BatchNorm1d(4), [f32(8, 4)], False),
    ("BatchNorm1d-noaffine", lambda L: L.nn.BatchNorm1d(4, affine=False), [f32(8, 4)], True),
    ("BatchNorm1d-nobias", lambda L: L.nn.BatchNorm1d(4, bias=False), [f32(8, 4)], True),
    ("BatchNorm1d-nostats", lambda L: L.nn.BatchNorm1d(4, track_running_stats=False),
     [f32(8, 4)], True),
    ("BatchNorm2d", lambda L: L.nn.BatchNorm2d(3, momentum=0.3, eps=1e-3), [f32(4, 3, 5, 5)],
     True),
    ("BatchNorm2d-eval", lambda L: L.nn.BatchNorm2d(3), [f32(4, 3, 5, 5)], False),
    ("BatchNorm3d", lambda L: L.nn.BatchNorm3d(2), [f32(2, 2, 3, 3, 3)], True),
    ("LayerNorm", lambda L: L.nn.LayerNorm(5), [f32(3, 4, 5)], True),
    ("LayerNorm-2d", lambda L: L.nn.LayerNorm([4, 5], eps=1e-3), [f32(3, 4, 5)], True),
    ("LayerNorm-noaffine", lambda L: L.nn.LayerNorm(5, elementwise_affine=False),
     [f32(3, 5)], True),
    ("LayerNorm-nobias", lambda L: L.nn.LayerNorm(5, bias=False), [f32(3, 5)], True),
    ("GroupNorm", lambda L: L.nn.GroupNorm(2, 4), [f32(3, 4, 5, 5)], True),
    ("GroupNorm-1d", lambda L: L.nn.GroupNorm(3, 6, affine=False), [f32(2, 6, 7)], True),
    ("InstanceNorm1d", lambda L: L.nn.InstanceNorm1d(3), [f32(2, 3, 8)], True),
    ("InstanceNorm2d-affine", lambda L: L.nn.InstanceNorm2d(3, affine=True),
     [f32(2, 3, 4, 5)], True),
    ("InstanceNorm2d-stats", lambda L: L.nn.InstanceNorm2d(3, track_running_stats=True),
     [f32(2, 3, 4, 5)], True),
    ("RMSNorm", lambda L: L.nn.RMSNorm(5), [f32(3, 5)], True),
    ("RMSNorm-eps", lambda L: L.nn.RMSNorm([2, 5], eps=1e-3), [f32(3, 2, 5)], True),
    ("LocalResponseNorm", lambda L: L.nn.LocalResponseNorm(3), [f32(2, 5, 4, 4)], True),
    ("LocalResponseNorm-3d", lambda L: L.nn.LocalResponseNorm(2), [f32(2, 5, 6)], True),
]


@pytest.mark.parametrize("name,make,inputs,train", NORMS, ids=[n[0] for n in NORMS])
def test_norm_layer(name, make, inputs, train):
    run_layer(make, inputs, rtol=1e-4, atol=1e-4, train=train)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_match_after_steps(momentum):
    tm, em = torch.nn.BatchNorm2d(3, momentum=momentum), ember.nn.BatchNorm2d(3,
                                                                               momentum=momentum)
    for step in range(5):
        x = f32(4, 3, 5, 5)
        tm(torch.from_numpy(x))
        em(ember.tensor(x))
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(em.state_dict()[k].cpu().numpy(), v.cpu().numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)
    tm.eval()
    em.eval()
    x = f32(2, 3, 5, 5)
    np.testing.assert_allclose(em(ember.tensor(x)).detach().cpu().numpy(),
                               tm(torch.from_numpy(x)).detach().cpu().numpy(), rtol=1e-5, atol=1e-5)


EMB = [
    ("Embedding", lambda L: L.nn.Embedding(10, 3), [rng.integers(0, 10, (4, 5))]),
    ("Embedding-pad", lambda L: L.nn.Embedding(10, 3, padding_idx=2),
     [np.array([[2, 1, 2], [0, 2, 9]])]),
    ("Embedding-scale", lambda L: L.nn.Embedding(6, 2, scale_grad_by_freq=True),
     [np.array([1, 1, 3, 5, 1])]),
    ("EmbeddingBag-mean", lambda L: L.nn.EmbeddingBag(10, 3), [rng.integers(0, 10, (4, 5))]),
    ("EmbeddingBag-sum", lambda L: L.nn.EmbeddingBag(10, 3, mode="sum"),
     [rng.integers(0, 10, (4, 5))]),
    ("EmbeddingBag-max", lambda L: L.nn.EmbeddingBag(10, 3, mode="max"),
     [rng.integers(0, 10, (4, 5))]),
    ("EmbeddingBag-offsets", lambda L: L.nn.EmbeddingBag(10, 3, mode="sum"),
     [rng.integers(0, 10, (7,)), np.array([0, 2, 2, 5])]),
]


@pytest.mark.parametrize("name,make,inputs", EMB, ids=[e[0] for e in EMB])
def test_embedding_layer(name, make, inputs):
    run_layer(make, inputs)


def test_embedding_errors_and_pretrained():
    for lib in (torch, ember):
        e = lib.nn.Embedding(4, 2)
        with pytest.raises(IndexError):
            e(lib.tensor([4]))
        with pytest.raises(RuntimeError):
            e(lib.tensor([1.0]))
        w = lib.ones(3, 2)
        p = lib.nn.Embedding.from_pretrained(w)
        assert not p.weight.requires_grad and repr(p) == "Embedding(3, 2)"
    for lib in (torch, ember):
        with pytest.raises(ValueError):
            lib.nn.BatchNorm1d(3)(lib.randn(1, 3))
        with pytest.raises(ValueError):
            lib.nn.BatchNorm2d(3)(lib.randn(2, 3))
        with pytest.raises(RuntimeError):
            lib.nn.LayerNorm(4)(lib.randn(2, 3))


def test_norm_double_backward():
    r = np.random.default_rng(6)
    x = ember.tensor(r.standard_normal((4, 3, 2))).requires_grad_()
    w = ember.tensor(r.standard_normal(3)).requires_grad_()
    b = ember.tensor(r.standard_normal(3)).requires_grad_()
    f = lambda x, w, b: ember.nn.functional.batch_norm(x, None, None, w, b, training=True)
    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))
    lw = ember.tensor(r.standard_normal(2)).requires_grad_()
    g = lambda x, w: ember.nn.functional.layer_norm(x, (2,), w)
    assert gradcheck(g, (x, lw))
    assert gradgradcheck(g, (x, lw))


def test_group_and_instance_norm_double_backward():
    r = np.random.default_rng(8)
    x = ember.tensor(r.standard_normal((2, 6, 3))).requires_grad_()
    w = ember.tensor(r.standard_normal(6)).requires_grad_()
    b = ember.tensor(r.standard_normal(6)).requires_grad_()
    for f in (lambda x, w, b: ember.nn.functional.group_norm(x, 3, w, b),
              lambda x, w, b: ember.nn.functional.group_norm(x, 2, None, b),
              lambda x, w, b: ember.nn.functional.instance_norm(x, weight=w, bias=b),
              lambda x, w, b: ember.nn.functional.batch_norm(x, None, None, None, b, True)):
        assert gradcheck(f, (x, w, b))
        assert gradgradcheck(f, (x, w, b))


def test_batch_norm_eval_double_backward_and_errors():
    r = np.random.default_rng(9)
    x = ember.tensor(r.standard_normal((4, 3, 2))).requires_grad_()
    w = ember.tensor(r.standard_normal(3)).requires_grad_()
    b = ember.tensor(r.standard_normal(3)).requires_grad_()
    rm, rv = ember.tensor(r.standard_normal(3)), ember.tensor(r.random(3) + 0.5)
    f = lambda x, w, b: ember.nn.functional.batch_norm(x, rm, rv, w, b, training=False)
    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))
    for lib in (torch, ember):
        x = lib.ones(4, 3)
        with pytest.raises(RuntimeError, match="not differentiable with respect to argument "
                                               "'running_mean'"):
            lib.nn.functional.batch_norm(x, lib.zeros(3, requires_grad=True), lib.ones(3))
        with pytest.raises(RuntimeError, match="^running_var must be defined in evaluation"):
            lib.nn.functional.batch_norm(x, lib.zeros(3), None)
        with pytest.raises(RuntimeError, match="Expected running_mean and running_var to be "
                                               "defined when use_input_stats is false"):
            lib.nn.functional.instance_norm(x.reshape(2, 3, 2), use_input_stats=False)


def test_batch_norm_eval_backward_reads_the_statistics_of_its_forward():
    # a training step between forward and backward moves the running statistics in place;
    # the gradients are those of forward's (mean 0, variance 1)
    bn = ember.nn.BatchNorm1d(3).eval()
    x, g = f32(5, 3), f32(5, 3)
    ex = ember.tensor(x).requires_grad_()
    y = bn(ex)
    bn.train()
    bn(ember.tensor(f32(5, 3) + 4))
    assert abs(bn.running_mean.cpu().numpy()).max() > 0.1
    (y * ember.tensor(g)).sum().backward()
    scale = 1 / np.sqrt(1 + bn.eps)
    np.testing.assert_allclose(ex.grad.cpu().numpy(), g * scale, rtol=1e-6)
    np.testing.assert_allclose(bn.weight.grad.cpu().numpy(), (g * x).sum(0) * scale, rtol=1e-5)
    np.testing.assert_allclose(bn.bias.grad.cpu().numpy(), g.sum(0), rtol=1e-5)


def _edges(L, y, params):
    """y's node name, its edges' node names, and whether the edges after the first lead
    to `params` themselves (their AccumulateGrad; None to None)."""
    fn = y.grad_fn
    names = [None if f is None else f.name() for f, _ in fn.next_functions]
    leads = [(f is None and p is None) or getattr(f, "variable", None) is p
             for (f, _), p in zip(fn.next_functions[1:], params)]
    return fn.name(), names, leads


# PyTorch's normalization node takes input, weight and bias as its edges: no view of the
# 1-D weight and bias between it and their AccumulateGrad
GRAPHS = [
    ("BatchNorm1d", lambda L: L.nn.BatchNorm1d(3), (4, 3)),
    ("BatchNorm1d-3d", lambda L: L.nn.BatchNorm1d(3), (4, 3, 5)),
    ("BatchNorm2d", lambda L: L.nn.BatchNorm2d(3), (4, 3, 5, 5)),
    ("BatchNorm3d", lambda L: L.nn.BatchNorm3d(3), (2, 3, 2, 3, 2)),
    ("BatchNorm2d-noaffine", lambda L: L.nn.BatchNorm2d(3, affine=False), (4, 3, 2, 2)),
    ("BatchNorm2d-nobias", lambda L: L.nn.BatchNorm2d(3, bias=False), (4, 3, 2, 2)),
    ("GroupNorm", lambda L: L.nn.GroupNorm(3, 6), (2, 6, 4)),
    ("GroupNorm-noaffine", lambda L: L.nn.GroupNorm(2, 6, affine=False), (2, 6, 2, 2)),
    ("LayerNorm", lambda L: L.nn.LayerNorm(5), (2, 3, 5)),
    ("BatchNorm2d-eval", lambda L: L.nn.BatchNorm2d(3).eval(), (4, 3, 2, 2)),
    ("BatchNorm1d-eval-nobias", lambda L: L.nn.BatchNorm1d(3, bias=False).eval(), (4, 3)),
]


@pytest.mark.parametrize("name,make,shape", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_norm_graph_edges_match_torch(name, make, shape):
    x = f32(*shape)
    got = []
    for L in (torch, ember):
        m = make(L)
        y = m(L.tensor(x).requires_grad_())
        got.append(_edges(L, y, (m.weight, m.bias)))
    assert got[1] == got[0]
    assert all(got[1][2])


@pytest.mark.parametrize("which", ["weight", "bias"])
def test_functional_batch_norm_edges_match_torch(which):
    x = f32(4, 3, 2)
    got = []
    for L in (torch, ember):
        p = L.ones(3, requires_grad=True)
        w, b = (p, None) if which == "weight" else (None, p)
        y = L.nn.functional.batch_norm(L.tensor(x).requires_grad_(), None, None, w, b, True)
        got.append(_edges(L, y, (w, b)))
    assert got[1] == got[0]
    assert all(got[1][2])


def _bn(L, x, w, b):
    return L.nn.functional.batch_norm(x, None, None, w, b, training=True)


def _ln(L, x, w, b):
    return L.nn.functional.layer_norm(x, tuple(x.shape[-1:]), w, b)


RUN_MEAN, RUN_VAR = f32(3), np.abs(f32(3)) + 0.5


def _bn_eval(L, x, w, b):
    return L.nn.functional.batch_norm(x, L.tensor(RUN_MEAN), L.tensor(RUN_VAR), w, b,
                                      training=False, eps=1e-3)


def _in_frozen(L, x, w, b):
    return L.nn.functional.instance_norm(x, L.tensor(RUN_MEAN), L.tensor(RUN_VAR), w, b,
                                         use_input_stats=False)


def _gn(L, x, w, b):
    return L.nn.functional.group_norm(x, 2, w, b)


def _in(L, x, w, b):
    return L.nn.functional.instance_norm(x, weight=w, bias=b)


# the fused array forward/backward of batch and layer norm (a backward without
# create_graph): weight constant over the normalized axes (BatchNorm) or not (LayerNorm),
# without weight or bias, a mean far from 0, float64 and bfloat16
FUSED = [
    ("bn-affine", _bn, [Grad(f32(6, 3, 4, 5)), Grad(f32(3)), Grad(f32(3))]),
    ("bn-bias-only", _bn, [Grad(f32(6, 3, 4)), None, Grad(f32(3))]),
    ("bn-weight-only", _bn, [Grad(f32(6, 3)), Grad(f32(3)), None]),
    ("bn-far-mean", _bn, [Grad(f32(8, 2, 3, 3) + 300), Grad(f32(2)), Grad(f32(2))]),
    ("bn-float64", _bn, [Grad(rng.standard_normal((5, 3, 4))), Grad(rng.standard_normal(3)),
                         Grad(rng.standard_normal(3))]),
    ("ln-affine", _ln, [Grad(f32(4, 6, 16)), Grad(f32(16)), Grad(f32(16))]),
    ("ln-noaffine", _ln, [Grad(f32(4, 6, 16)), None, None]),
    ("ln-far-mean", _ln, [Grad(f32(5, 16) - 200), Grad(f32(16)), Grad(f32(16))]),
    ("ln-noncontig", lambda L, x, w, b: _ln(L, x.transpose(0, 1), w, b),
     [Grad(f32(6, 4, 8)), Grad(f32(8)), Grad(f32(8))]),
    ("ln-bfloat16", _ln, [Grad(f32(4, 8).astype(ml_dtypes.bfloat16)),
                          Grad(f32(8).astype(ml_dtypes.bfloat16)), None]),
    # group and instance norm: weight and bias per channel, statistics per sample and
    # group (channel), in the same op
    ("gn-affine", _gn, [Grad(f32(3, 4, 5, 5)), Grad(f32(4)), Grad(f32(4))]),
    ("gn-2d", _gn, [Grad(f32(5, 6)), Grad(f32(6)), Grad(f32(6))]),
    ("gn-weight-only", _gn, [Grad(f32(3, 4, 7)), Grad(f32(4)), None]),
    ("gn-noncontig", lambda L, x, w, b: _gn(L, x.transpose(2, 3), w, b),
     [Grad(f32(2, 4, 3, 5)), Grad(f32(4)), Grad(f32(4))]),
    ("in-affine", _in, [Grad(f32(2, 3, 4, 5)), Grad(f32(3)), Grad(f32(3))]),
    ("in-weight-only", _in, [Grad(f32(3, 2, 6)), Grad(f32(2)), None]),
    # evaluation mode: the running statistics, constants of the op
    ("bn-eval-affine", _bn_eval, [Grad(f32(6, 3, 4, 5)), Grad(f32(3)), Grad(f32(3))]),
    ("bn-eval-2d", _bn_eval, [Grad(f32(6, 3)), Grad(f32(3)), Grad(f32(3))]),
    ("bn-eval-bias-only", _bn_eval, [Grad(f32(6, 3, 4)), None, Grad(f32(3))]),
    ("bn-eval-noaffine", _bn_eval, [Grad(f32(6, 3, 4)), None, None]),
    ("bn-eval-bfloat16", _bn_eval, [Grad(f32(4, 3, 5).astype(ml_dtypes.bfloat16)),
                                    Grad(f32(3)), Grad(f32(3))]),
    ("in-frozen-affine", _in_frozen, [Grad(f32(2, 3, 4)), Grad(f32(3)), Grad(f32(3))]),
]


@pytest.mark.parametrize("name,fn,inputs", FUSED, ids=[c[0] for c in FUSED])
def test_norm_fused_against_torch(name, fn, inputs):
    tol = {"rtol": 2e-2, "atol": 2e-2} if "bfloat16" in name else {"rtol": 1e-4, "atol": 1e-4}
    check(fn, *inputs, **tol, grad_rtol=tol["rtol"], grad_atol=tol["atol"])


def test_layer_norm_fused_backward_twice_with_retained_graph():
    # the fused backward reads forward's xhat: a second backward of a retained graph
    # must find it unchanged
    r = np.random.default_rng(7)
    x = ember.tensor(r.standard_normal((3, 5, 8)).astype(np.float32)).requires_grad_()
    w = ember.tensor(r.standard_normal(8).astype(np.float32)).requires_grad_()
    b = ember.tensor(r.standard_normal(8).astype(np.float32)).requires_grad_()
    y = ember.nn.functional.layer_norm(x, (8,), w, b)
    g = ember.tensor(r.standard_normal((3, 5, 8)).astype(np.float32))
    first = ember.autograd.grad(y, (x, w, b), g, retain_graph=True)
    second = ember.autograd.grad(y, (x, w, b), g)
    for a, c in zip(first, second):
        np.testing.assert_array_equal(a.cpu().numpy(), c.cpu().numpy())
