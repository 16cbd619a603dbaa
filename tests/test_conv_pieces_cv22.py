"""Convolution and pooling batches on two threads as pieces claimed one by one
(ember._ops.conv._over_batch): values and gradients against torch, the same bits whichever
thread ran which piece (the weight gradient sums the pieces' parts in their order), and the
pieces' cover of the batch."""
import numpy as np
import pytest
import torch

import ember
from ember import _threads
from ember._ops import conv as conv_ops

rng = np.random.default_rng(22)


def _f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# (name, layer maker, input): the im2col path (3 input channels, image by image), the
# shifted-GEMM path (8+ channels, stride 1), stride 2 (input gradient image by image),
# groups, transposed, 1-d and 3-d, max pooling; odd batches: pieces of unequal size
CASES = [
    ("conv2d-rgb", lambda L: L.nn.Conv2d(3, 8, 3, padding=1, bias=False), _f32(7, 3, 16, 16)),
    ("conv2d-shifted", lambda L: L.nn.Conv2d(8, 6, 3, padding=1), _f32(9, 8, 10, 10)),
    ("conv2d-stride2", lambda L: L.nn.Conv2d(8, 4, 3, stride=2, padding=1), _f32(5, 8, 17, 17)),
    ("conv2d-groups", lambda L: L.nn.Conv2d(4, 6, 3, padding=1, groups=2), _f32(6, 4, 16, 16)),
    ("conv1d", lambda L: L.nn.Conv1d(2, 3, 5, padding=2), _f32(5, 2, 300)),
    ("conv3d", lambda L: L.nn.Conv3d(2, 3, 3, padding=1), _f32(5, 2, 4, 7, 9)),
    ("conv_transpose2d", lambda L: L.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1,
                                                         output_padding=1), _f32(5, 3, 16, 16)),
    ("maxpool2d", lambda L: L.nn.MaxPool2d(2), _f32(5, 3, 16, 16)),
]


def _run(lib, make, x):
    lib.manual_seed(0)
    layer = make(lib)
    if lib is ember:   # the same parameters as torch's layer
        torch.manual_seed(0)
        ref = make(torch)
        with ember.no_grad():
            for p, q in zip(layer.parameters(), ref.parameters()):
                p.copy_(ember.from_numpy(q.detach().numpy().copy()))
    xt = lib.from_numpy(x.copy()).requires_grad_()
    y = layer(xt)
    g = np.cos(np.arange(y.numel())).reshape(tuple(y.shape)).astype(np.float32)
    y.backward(lib.from_numpy(g))
    return [y.detach().numpy().copy(), xt.grad.numpy().copy()] + \
        [p.grad.numpy().copy() for p in layer.parameters()]


def _late_helper(first, second):
    """run_pair with a helper that starts only after this thread is done: this thread
    claims every piece."""
    b = second()
    return first(), b


def _eager_helper(first, second):
    """run_pair with a helper that runs before this thread: it claims every piece."""
    a = first()
    return a, second()


@pytest.fixture
def pieces(monkeypatch):
    """Every batch in pieces: two threads, any batch large enough, and the claims made by
    the real helper thread (torch's own answer comes first, unpatched)."""
    monkeypatch.setattr(conv_ops, "_cpu_threads", lambda: 2)
    monkeypatch.setattr(conv_ops, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(_threads, "intra_op_threads", lambda: 2)
    return monkeypatch


@pytest.mark.parametrize("name,make,x", CASES, ids=[c[0] for c in CASES])
def test_pieces_match_torch_and_each_other(name, make, x, pieces):
    want = _run(torch, make, x)
    got = _run(ember, make, x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    again = _run(ember, make, x)
    for g, a in zip(got, again):
        np.testing.assert_array_equal(g, a)
    # whichever thread claims the pieces, the same bits
    for fake in (_late_helper, _eager_helper):
        pieces.setattr(_threads, "run_pair", fake)
        for g, a in zip(got, _run(ember, make, x)):
            np.testing.assert_array_equal(g, a)


@pytest.mark.parametrize("n", [2, 3, 4, 7, 32])
def test_pieces_cover_the_batch_in_order(n, pieces):
    seen = []

    def run(a, b):
        seen.append((a, b))
        return (a, b)
    parts = conv_ops._over_batch(np, n, 1, run)
    assert len(parts) == min(n, 2 * conv_ops._PIECES_PER_THREAD)
    assert parts[0][0] == 0 and parts[-1][1] == n
    assert all(p[1] == q[0] and p[0] < p[1] for p, q in zip(parts, parts[1:]))
    assert sorted(seen) == parts


def test_small_batch_and_one_thread_run_whole(monkeypatch):
    calls = []
    monkeypatch.setattr(conv_ops, "_cpu_threads", lambda: 2)
    assert conv_ops._over_batch(np, 4, 1, lambda a, b: calls.append((a, b))) == [None]
    monkeypatch.setattr(conv_ops, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_ops, "_cpu_threads", lambda: 1)
    conv_ops._over_batch(np, 4, 1, lambda a, b: calls.append((a, b)))
    assert calls == [(0, 4), (0, 4)]


def test_error_in_a_piece_is_raised(pieces):
    def run(a, b):
        if a > 0:
            raise ValueError(f"piece {a}:{b}")
        return a
    with pytest.raises(ValueError, match="piece"):
        conv_ops._over_batch(np, 8, 1, run)
    # the helper is free again: the next split runs
    assert conv_ops._over_batch(np, 8, 1, lambda a, b: b - a) == [2, 2, 2, 2]
