"""Normalization and embedding layers against torch, incl. running statistics over
several training steps, eval mode, and double backward."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck

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
