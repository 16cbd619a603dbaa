"""BatchNorm's CPU passes over (N, C*S) rows (ember._ops.norm._channel_rows: statistics,
affine and the fused backward with per-channel values laid out as one row) and the fused
backward's input gradient written into x - mean's own buffer a block of rows at a time:
which inputs take the row path, values and gradients against torch (float32, float64,
channels-last, affine off, small batches, 1-d/3-d), the same bits on one or two threads and
with blocks of any size."""
import numpy as np
import pytest
import torch

import ember
from ember._backend import parallel
from ember._ops import norm as norm_ops

rng = np.random.default_rng(23)


def _arr(shape, dtype=np.float32):
    return (rng.standard_normal(shape) * 2 + 1).astype(dtype)


@pytest.mark.parametrize("shape,axes,want", [
    ((8, 4, 5, 6), (0, 2, 3), 30),
    ((4, 3, 7), (0, 2), 7),
    ((6, 2, 3, 4, 5), (0, 2, 3, 4), 60),
    ((3, 4, 5, 6), (0, 2, 3), 0),      # N < 4: the per-channel form
    ((8, 4, 5, 6), (1, 2, 3), 0),      # LayerNorm-like axes
    ((8, 4), (0,), 0),                 # BatchNorm1d on (N, C)
])
def test_which_inputs_take_rows(shape, axes, want):
    x = np.zeros(shape, np.float32)
    assert norm_ops._channel_rows(x, axes) == want
    if want:
        assert norm_ops._channel_rows(x, axes, x[..., ::-1]) == 0      # a strided operand
        assert norm_ops._channel_rows(np.zeros(shape, np.float32).transpose(
            0, *range(2, len(shape)), 1).copy().transpose(
            0, len(shape) - 1, *range(1, len(shape) - 1)), axes) == 0  # channels-last


def test_row_lays_channels_out():
    p = np.arange(3, dtype=np.float32).reshape(1, 3, 1, 1)
    np.testing.assert_array_equal(norm_ops._row(p, 2), [[0, 0, 1, 1, 2, 2]])


CASES = [
    ("bn2d", lambda L: L.nn.BatchNorm2d(6), (8, 6, 5, 7), np.float32, False),
    ("bn2d-f64", lambda L: L.nn.BatchNorm2d(6), (8, 6, 5, 7), np.float64, False),
    ("bn2d-noaffine", lambda L: L.nn.BatchNorm2d(6, affine=False), (8, 6, 5, 7), np.float32,
     False),
    ("bn2d-channels-last", lambda L: L.nn.BatchNorm2d(6), (8, 6, 5, 7), np.float32, True),
    ("bn2d-batch2", lambda L: L.nn.BatchNorm2d(6), (2, 6, 5, 7), np.float32, False),
    ("bn1d-3d", lambda L: L.nn.BatchNorm1d(5), (9, 5, 11), np.float32, False),
    ("bn1d-2d", lambda L: L.nn.BatchNorm1d(5), (33, 5), np.float32, False),
    ("bn3d", lambda L: L.nn.BatchNorm3d(3), (5, 3, 4, 3, 5), np.float32, False),
    ("instance2d", lambda L: L.nn.InstanceNorm2d(4, affine=True), (6, 4, 5, 5), np.float32,
     False),
]


def _run(lib, make, x, g, channels_last):
    layer = make(lib).to(getattr(lib, np.dtype(x.dtype).name))
    with lib.no_grad():
        for i, p in enumerate(layer.parameters()):
            p.copy_(lib.from_numpy(np.linspace(0.5, 1.5 + i, p.numel()).astype(x.dtype)))
    xt = lib.from_numpy(x.copy())
    if channels_last:
        xt = xt.to(memory_format=lib.channels_last)
    xt.requires_grad_()
    y = layer(xt)
    y.backward(lib.from_numpy(g.copy()))
    return [y.detach().numpy().copy(), xt.grad.numpy().copy()] + \
        [p.grad.numpy().copy() for p in layer.parameters()]


@pytest.mark.parametrize("name,make,shape,dtype,cl", CASES, ids=[c[0] for c in CASES])
def test_values_and_grads_match_torch(name, make, shape, dtype, cl):
    x, g = _arr(shape, dtype), _arr(shape, dtype)
    want = _run(torch, make, x, g, cl)
    got = _run(ember, make, x, g, cl)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name,make,shape,dtype,cl", CASES[:4] + CASES[5:6],
                         ids=[c[0] for c in CASES[:4] + CASES[5:6]])
def test_same_bits_threads_and_blocks(name, make, shape, dtype, cl, monkeypatch):
    x, g = _arr(shape, dtype), _arr(shape, dtype)
    base = _run(ember, make, x, g, cl)
    with monkeypatch.context() as m:   # a block of one row at a time
        m.setattr(norm_ops, "_BLOCK_BYTES", 1)
        for a, b in zip(base, _run(ember, make, x, g, cl)):
            np.testing.assert_array_equal(a, b)
    with monkeypatch.context() as m:
        m.setattr(parallel, "SETTING", [2])
        m.setattr(parallel, "MIN_WORK", 1)
        m.setattr(parallel, "MIN_PIECE", 1)
        m.setattr(parallel, "_BACKOFF", [0, 0])
        for a, b in zip(base, _run(ember, make, x, g, cl)):
            np.testing.assert_array_equal(a, b)


def test_blocks_cover_every_row(monkeypatch):
    """A batch of 7 rows in blocks of 2 (the last one short), against torch."""
    x, g = _arr((7, 3, 4, 4)), _arr((7, 3, 4, 4))
    row = 3 * 16 * 4
    monkeypatch.setattr(norm_ops, "_BLOCK_BYTES", 2 * row)
    got = _run(ember, lambda L: L.nn.BatchNorm2d(3), x, g, False)
    want = _run(torch, lambda L: L.nn.BatchNorm2d(3), x, g, False)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
