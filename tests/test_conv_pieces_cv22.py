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
    g = np.cos(np.arange(y.numel())).reshape(tuple(y.shape)).astype(x.dtype)
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


# --- the stride-1 input gradient through the shifted GEMMs --------------------------------

# (name, layer maker, input): g with 8+ channels (shifted) or fewer (flat adds); dilation,
# asymmetric "same" padding, a transposed convolution with output_padding, 1-d and 3-d,
# float64
GRAD_CASES = [
    ("conv2d", lambda L: L.nn.Conv2d(5, 8, 3, padding=1), _f32(3, 5, 9, 11), True),
    ("conv2d-dilated", lambda L: L.nn.Conv2d(4, 9, 3, padding=2, dilation=2), _f32(2, 4, 8, 7),
     True),
    ("conv2d-same-even", lambda L: L.nn.Conv2d(3, 8, 4, padding="same"), _f32(2, 3, 7, 6), True),
    ("conv2d-nopad", lambda L: L.nn.Conv2d(3, 10, (2, 3)), _f32(2, 3, 6, 7), True),
    ("conv1d", lambda L: L.nn.Conv1d(3, 12, 5, padding=1), _f32(2, 3, 20), True),
    ("conv3d", lambda L: L.nn.Conv3d(2, 8, 3, padding=1), _f32(2, 2, 4, 5, 3), True),
    ("conv_transpose2d-outpad", lambda L: L.nn.ConvTranspose2d(
        8, 3, 3, padding=1, output_padding=1, dilation=2), _f32(2, 8, 5, 6), True),
    ("conv2d-float64", lambda L: L.nn.Conv2d(3, 8, 3, padding=1).double(),
     rng.standard_normal((2, 3, 6, 6)), True),
    ("conv2d-few", lambda L: L.nn.Conv2d(6, 4, 3, padding=1), _f32(2, 6, 7, 7), False),
]


def _spy(monkeypatch):
    calls = []
    real = conv_ops._conv_shifted

    def spy(x, *args):
        calls.append(x.shape)
        return real(x, *args)
    monkeypatch.setattr(conv_ops, "_conv_shifted", spy)
    return calls


@pytest.mark.parametrize("name,make,x,shifted", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_input_grad_shifted_matches_torch(name, make, x, shifted, monkeypatch):
    want = _run(torch, make, x)
    calls = _spy(monkeypatch)
    got = _run(ember, make, x)
    tol = 1e-4 if x.dtype == np.float32 else 1e-10
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    transposed = name.startswith("conv_transpose")
    # the input gradient (the forward, for a transposed conv) read g, of out_channels
    # channels, through the shifted GEMMs exactly when it has 8 or more
    g_channels = x.shape[1] if transposed else want[0].shape[1]
    assert any(s[1] == g_channels and s[0] == x.shape[0] for s in calls) == shifted


def test_input_grad_paths_agree(monkeypatch):
    """The shifted input gradient and the flat adds it replaces give the same values."""
    x = _f32(3, 6, 10, 9)
    first = _run(ember, GRAD_CASES[0][1], x[:, :5])
    monkeypatch.setattr(conv_ops, "_SHIFTED", [False])
    calls = _spy(monkeypatch)
    second = _run(ember, GRAD_CASES[0][1], x[:, :5])
    assert not calls
    for a, b in zip(first, second):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
