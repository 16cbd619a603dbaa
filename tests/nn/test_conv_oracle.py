"""Convolutions and F.pad against torch (values, input and parameter grads, reprs), and
float64 gradcheck/gradgradcheck of the three conv ops."""
import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck

from .test_layers_oracle import run_layer

rng = np.random.default_rng(1)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


CONVS = [
    ("Conv1d", lambda L: L.nn.Conv1d(3, 4, 3), [f32(2, 3, 10)]),
    ("Conv1d-s2-p1-d2", lambda L: L.nn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=2),
     [f32(2, 3, 11)]),
    ("Conv1d-unbatched", lambda L: L.nn.Conv1d(3, 4, 2), [f32(3, 7)]),
    ("Conv1d-same-even", lambda L: L.nn.Conv1d(2, 2, 4, padding="same"), [f32(1, 2, 9)]),
    ("Conv2d", lambda L: L.nn.Conv2d(3, 5, 3), [f32(2, 3, 8, 7)]),
    ("Conv2d-rect", lambda L: L.nn.Conv2d(3, 5, (2, 3), stride=(2, 1), padding=(1, 0)),
     [f32(2, 3, 8, 7)]),
    ("Conv2d-groups", lambda L: L.nn.Conv2d(4, 6, 3, groups=2, bias=False), [f32(2, 4, 6, 6)]),
    ("Conv2d-depthwise", lambda L: L.nn.Conv2d(4, 4, 3, groups=4, padding=1), [f32(1, 4, 5, 5)]),
    ("Conv2d-same", lambda L: L.nn.Conv2d(3, 2, 3, padding="same", dilation=2), [f32(1, 3, 7, 7)]),
    ("Conv2d-valid", lambda L: L.nn.Conv2d(3, 2, 3, padding="valid"), [f32(1, 3, 7, 7)]),
    ("Conv2d-reflect", lambda L: L.nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
     [f32(2, 2, 5, 6)]),
    ("Conv2d-replicate", lambda L: L.nn.Conv2d(2, 3, 3, padding=2, padding_mode="replicate"),
     [f32(2, 2, 5, 6)]),
    ("Conv2d-circular", lambda L: L.nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"),
     [f32(2, 2, 5, 6)]),
    ("Conv2d-1x1", lambda L: L.nn.Conv2d(8, 4, 1), [f32(2, 8, 4, 4)]),
    ("Conv3d", lambda L: L.nn.Conv3d(2, 3, 2, stride=(1, 2, 1)), [f32(1, 2, 4, 5, 4)]),
    ("ConvTranspose1d", lambda L: L.nn.ConvTranspose1d(3, 2, 3, stride=2), [f32(2, 3, 5)]),
    ("ConvTranspose2d", lambda L: L.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                       output_padding=1, groups=2),
     [f32(2, 4, 5, 4)]),
    ("ConvTranspose2d-dil", lambda L: L.nn.ConvTranspose2d(2, 3, 2, dilation=2, bias=False),
     [f32(1, 2, 4, 4)]),
    ("ConvTranspose3d", lambda L: L.nn.ConvTranspose3d(2, 2, 2, stride=2), [f32(1, 2, 2, 3, 2)]),
]


@pytest.mark.parametrize("name,make,inputs", CONVS, ids=[c[0] for c in CONVS])
def test_conv_layer(name, make, inputs):
    run_layer(make, inputs, rtol=1e-4, atol=1e-4)


PADS = [((1, 2), "constant"), ((1, 1, 2, 0), "constant"), ((-1, 2), "constant"),
        ((2, 1), "reflect"), ((1, 2, 2, 1), "reflect"), ((1, 3), "replicate"),
        ((2, 2, 1, 1), "replicate"), ((1, 2), "circular"), ((1, 1, 2, 2), "circular")]


@pytest.mark.parametrize("pad,mode", PADS)
def test_pad_matches_torch(pad, mode):
    x = f32(2, 3, 5, 6) if len(pad) == 4 or mode == "constant" else f32(3, 5, 6)
    tx, ex = torch.from_numpy(x).requires_grad_(), ember.tensor(x.copy()).requires_grad_()
    ty = torch.nn.functional.pad(tx, pad, mode=mode)
    ey = ember.nn.functional.pad(ex, pad, mode=mode)
    np.testing.assert_allclose(ey.detach().cpu().numpy(), ty.detach().cpu().numpy())
    w = f32(*ty.shape)
    (ty * torch.from_numpy(w)).sum().backward()
    (ey * ember.tensor(w.copy())).sum().backward()
    np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.cpu().numpy(), rtol=1e-5, atol=1e-5)


def test_conv_errors_like_torch():
    for lib in (torch, ember):
        F = lib.nn.functional
        with pytest.raises(NotImplementedError):
            F.pad(lib.randn(2, 3, 4, 5), (1, 1), mode="reflect")
        with pytest.raises(RuntimeError):
            F.pad(lib.randn(2, 3), (3, 3), mode="reflect")
        with pytest.raises(RuntimeError):
            F.conv2d(lib.randn(1, 3, 5, 5), lib.randn(4, 2, 3, 3))       # channel mismatch
        with pytest.raises(RuntimeError):
            F.conv2d(lib.randn(1, 3, 2, 2), lib.randn(4, 3, 3, 3))       # kernel > input
        with pytest.raises(RuntimeError):
            F.conv2d(lib.randn(3, 5), lib.randn(4, 3, 3, 3))             # 2-D input
        with pytest.raises(ValueError):
            lib.nn.Conv2d(3, 4, 3, groups=2)
        with pytest.raises(ValueError):
            lib.nn.Conv2d(3, 4, 3, stride=2, padding="same")
        with pytest.raises(RuntimeError):
            F.conv2d(lib.randn(1, 3, 5, 5), lib.randn(4, 3, 3, 3).double())


def test_conv_gradcheck_and_double_backward():
    r = np.random.default_rng(3)
    x = ember.tensor(r.standard_normal((2, 4, 5, 5))).requires_grad_()
    w = ember.tensor(r.standard_normal((6, 2, 3, 3))).requires_grad_()
    b = ember.tensor(r.standard_normal(6)).requires_grad_()

    def f(x, w, b):
        return ember.nn.functional.conv2d(x, w, b, stride=2, padding=1, dilation=1, groups=2)
    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))
    wt = ember.tensor(r.standard_normal((4, 3, 2, 2))).requires_grad_()

    def g(x, w):
        return ember.nn.functional.conv_transpose2d(x, w, stride=2, groups=2)
    assert gradcheck(g, (x, wt))
    assert gradgradcheck(g, (x, wt))


def test_conv_double_backward_matches_torch():
    x = f32(1, 2, 5, 5).astype(np.float64)
    w = f32(3, 2, 3, 3).astype(np.float64)
    outs = []
    for lib in (torch, ember):
        tx = lib.tensor(x.copy()).requires_grad_()
        tw = lib.tensor(w.copy()).requires_grad_()
        y = lib.nn.functional.conv2d(tx, tw, padding=1)
        gx, = lib.autograd.grad(y.pow(2).sum(), tx, create_graph=True)
        gx.pow(2).sum().backward()
        outs.append((tx.grad.cpu().numpy(), tw.grad.cpu().numpy()))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-10)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-10)


CHUNKED = [
    ("Conv2d-pad", lambda L: L.nn.Conv2d(3, 4, 3, padding=1), f32(7, 3, 6, 5)),
    ("Conv2d-groups-dil", lambda L: L.nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2),
     f32(5, 4, 7, 6)),
    ("Conv2d-stride", lambda L: L.nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0)),
     f32(5, 3, 8, 7)),
    ("Conv2d-dil-rect", lambda L: L.nn.Conv2d(3, 4, (3, 2), padding=(2, 1), dilation=(2, 3)),
     f32(5, 3, 9, 8)),
    ("Conv1d-bigpad", lambda L: L.nn.Conv1d(2, 3, 3, padding=3), f32(5, 2, 9)),
    ("Conv3d", lambda L: L.nn.Conv3d(2, 3, 2, padding=1), f32(3, 2, 3, 4, 3)),
    ("ConvTranspose2d-s1-outpad-1group", lambda L: L.nn.ConvTranspose2d(
        3, 4, (3, 2), padding=(0, 1), output_padding=1, dilation=(2, 3)), f32(5, 3, 5, 4)),
    ("ConvTranspose2d-s1-outpad", lambda L: L.nn.ConvTranspose2d(
        4, 2, 3, padding=1, output_padding=1, dilation=2, groups=2), f32(5, 4, 4, 5)),
    # strided transposed convolutions: forward through the input-gradient scatter
    ("ConvTranspose2d-s2-groups", lambda L: L.nn.ConvTranspose2d(
        4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), f32(5, 4, 4, 5)),
    ("ConvTranspose3d-s2", lambda L: L.nn.ConvTranspose3d(
        2, 3, (3, 2, 2), stride=(2, 1, 1), padding=(0, 1, 1)), f32(3, 2, 3, 4, 3)),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name,make,x", CHUNKED, ids=[c[0] for c in CHUNKED])
def test_conv_batch_chunks(name, make, x, threads, monkeypatch):
    """The batch (odd) in chunks of two images, the last one short, through the im2col
    forward, the input gradient image by image in flat coordinates (stride 1, one group,
    with and without padding and dilation), as a convolution (stride 1, groups) or as a
    scatter (stride 2, padding beyond the kernel's reach),
    and the weight gradient; with two threads each takes half of the batch (on NumPy, where
    threadpoolctl is installed)."""
    import ember._ops.conv as conv
    monkeypatch.setattr(conv, "_chunks", lambda xp, n, per_image: [
        (i, min(n, i + 2)) for i in range(0, n, 2)])
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(conv, "_cpu_threads", lambda: threads)
    run_layer(make, [x], rtol=1e-4, atol=1e-4)


def _conv_in_child(x, w):
    return ember.nn.functional.conv2d(ember.from_numpy(x), ember.from_numpy(w)).numpy()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_conv_two_threads_in_forked_child(monkeypatch):
    """A process forked after a two-thread conv (a DataLoader worker, say) starts its own
    worker thread instead of waiting on the parent's, which the child does not have."""
    import multiprocessing
    import ember._ops.conv as conv
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(conv, "_cpu_threads", lambda: 2)
    x, w = f32(4, 2, 5, 5), f32(3, 2, 3, 3)
    y = _conv_in_child(x, w)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        np.testing.assert_allclose(pool.apply_async(_conv_in_child, (x, w)).get(timeout=60), y)
    np.testing.assert_allclose(y, torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(w)).numpy(), rtol=1e-5, atol=1e-5)


def test_conv_bias_inside_the_node():
    """The bias joins the conv node, as in torch: one ConvolutionBackward0 whose edges lead
    to x, w and b (the chunked forward adds it chunk by chunk; values and gradients are in
    the layer tests above)."""
    names = []
    for lib in (torch, ember):
        x = lib.tensor(f32(2, 3, 5, 5), requires_grad=True)
        w = lib.tensor(f32(4, 3, 3, 3), requires_grad=True)
        b = lib.tensor(f32(4), requires_grad=True)
        y = lib.nn.functional.conv2d(x, w, b)
        names.append((y.grad_fn.name(), len(y.grad_fn.next_functions)))
    assert names[1] == names[0]


def test_conv_empty_batch_gradients():
    """A batch of no images: empty output and input gradient, zero weight and bias
    gradients, as torch."""
    outs = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        c = lib.nn.Conv2d(2, 3, 3)
        x = lib.zeros(0, 2, 5, 5, requires_grad=True)
        c(x).sum().backward()
        outs.append((tuple(x.grad.shape), c.weight.grad.cpu().numpy(), c.bias.grad.cpu().numpy()))
    assert outs[1][0] == outs[0][0]
    np.testing.assert_array_equal(outs[1][1], outs[0][1])
    np.testing.assert_array_equal(outs[1][2], outs[0][2])


@pytest.mark.parametrize("make, shape", [
    (lambda nn: nn.ConvTranspose2d(4, 2, 2, stride=2), (0, 4, 3, 3)),
    (lambda nn: nn.ConvTranspose1d(4, 2, 3, stride=2, padding=1), (0, 4, 5)),
    (lambda nn: nn.ConvTranspose3d(2, 2, 2, stride=2), (0, 2, 2, 2, 2)),
    (lambda nn: nn.Conv2d(4, 2, 3, stride=2, padding=1), (0, 4, 6, 6)),
])
def test_empty_batch_forward_and_backward(make, shape):
    """An empty batch (Mask R-CNN's mask head with no detections): strided transposed
    convolutions raised ValueError in the input-gradient kernel; torch gives empty
    results and zero weight gradients."""
    out = {}
    for lib in (ember, torch):
        lib.manual_seed(0)
        mod = make(lib.nn)
        x = lib.zeros(*shape, requires_grad=True)
        y = mod(x)
        y.sum().backward()
        out[lib.__name__] = (tuple(y.shape), tuple(x.grad.shape),
                             mod.weight.grad.detach().cpu().numpy().tolist())
    assert out["ember"] == out["torch"]
