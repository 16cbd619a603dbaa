"""torch.* spellings of nn.functional ops agree with torch's, argument order included."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle.harness import Grad, check

rng = np.random.default_rng(11)
f32 = lambda *s: rng.standard_normal(s).astype(np.float32)

CASES = [
    ("softmax", lambda L, x: L.softmax(x, 1), [Grad(f32(3, 4))]),
    ("softmax-dtype", lambda L, x: L.softmax(x, 1, L.float64), [Grad(f32(3, 4))]),
    ("log_softmax", lambda L, x: L.log_softmax(x, -1), [Grad(f32(3, 4))]),
    ("conv2d", lambda L, x, w: L.conv2d(x, w, None, 1, 1), [Grad(f32(1, 2, 5, 5)),
                                                           Grad(f32(3, 2, 3, 3))]),
    ("conv1d", lambda L, x, w: L.conv1d(x, w), [Grad(f32(1, 2, 7)), Grad(f32(3, 2, 3))]),
    ("dropout-eval", lambda L, x: L.dropout(x, 0.5, False), [Grad(f32(3, 4))]),
    ("layer_norm", lambda L, x: L.layer_norm(x, (4,)), [Grad(f32(3, 4))]),
    ("group_norm", lambda L, x: L.group_norm(x, 2), [Grad(f32(2, 4, 3))]),
    ("batch_norm", lambda L, x, w, b: L.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
     [Grad(f32(4, 3)), Grad(f32(3)), Grad(f32(3))]),
    ("embedding", lambda L, w, i: L.embedding(w, i), [Grad(f32(5, 2)), np.array([0, 4, 2])]),
    ("selu", lambda L, x: L.selu(x), [Grad(f32(3, 4))]),
    ("prelu", lambda L, x, w: L.prelu(x, w), [Grad(f32(2, 3)), Grad(f32(1))]),
    ("max_pool2d", lambda L, x: L.max_pool2d(x, 2), [Grad(f32(1, 1, 4, 4))]),
    ("cosine_similarity", lambda L, a, b: L.cosine_similarity(a, b), [Grad(f32(3, 4)),
                                                                      Grad(f32(3, 4))]),
    ("is_nonzero", lambda L, x: L.is_nonzero(x), [np.array([2.0])]),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_alias(name, fn, inputs):
    check(fn, *inputs)


def test_torch_level_margin_ranking_loss_broadcasts():
    """torch.margin_ranking_loss broadcasts its inputs; only F.margin_ranking_loss asks for
    equal ranks (the autocast sweep's (8, 8), (8, 8), (8,) call)."""
    for reduction in (0, 1, 2):
        args = lambda L: (L.arange(64.).reshape(8, 8), L.ones(8, 8), L.ones(8), 0.5, reduction)
        expected = torch.margin_ranking_loss(*args(torch))
        got = ember.margin_ranking_loss(*args(ember))
        assert tuple(got.shape) == tuple(expected.shape)
        assert abs(got.sum().item() - expected.sum().item()) < 1e-4
    with pytest.raises(RuntimeError, match="same dimension"):
        ember.nn.functional.margin_ranking_loss(ember.ones(8, 8), ember.ones(8, 8), ember.ones(8))
