"""torch.onnx.export under dynamic axes: sizes computed from dynamic dims stay computed.

A size made by arithmetic on a dynamic dim (``x.reshape(B * n, ...)``, then read back with
``x.size(0)``, as torchvision's swin_t does for its windows) was written as the example's
number, so the file ran only at the traced batch; the trace now takes an output dim equal
to such a computed size for that size. ``%`` of sizes and pad amounts that are traced
sizes (swin's ``F.pad(x, (0, 0, 0, W % 2, 0, H % 2))``) are written too."""
import io
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _windows(lib):
    class Windows(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = lib.nn.Linear(6, 12)

        def forward(self, x):                       # (B, 4, 4, 6)
            B, H, W, C = x.shape
            x = x.view(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 2, 4, 5)
            x = x.reshape(B * (H // 2) * (W // 2), 4, C)      # (B * windows, 4, C)
            qkv = self.qkv(x)
            qkv = qkv.reshape(x.size(0), x.size(1), 2, 2, C // 2).permute(2, 0, 3, 1, 4)
            a = (qkv[0] @ qkv[1].transpose(-2, -1)).softmax(-1)
            return a.reshape(x.size(0), -1).sum(-1).view(B, -1)
    return Windows().eval()


def _pad_odd(lib):
    class PadOdd(lib.nn.Module):
        def forward(self, x):                       # (N, H, W, C)
            H, W = x.shape[1], x.shape[2]
            return lib.nn.functional.pad(x, (0, 0, 0, W % 2, 0, H % 2)) * 2
    return PadOdd().eval()


def _export(model, x, axes):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember.onnx.export(model, (x,), buf, input_names=["x"], dynamo=False,
                          dynamic_axes={"x": axes})
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def test_sizes_computed_from_a_dynamic_batch_stay_in_the_graph():
    e, t = _windows(ember), _windows(torch)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    rng = np.random.default_rng(0)
    sess = _export(e, ember.tensor(rng.standard_normal((3, 4, 4, 6)).astype(np.float32)),
                   {0: "batch"})
    for b in (3, 1, 5):
        x = rng.standard_normal((b, 4, 4, 6)).astype(np.float32)
        got = sess.run(None, {"x": x})[0]
        with torch.no_grad():
            want = t(torch.tensor(x)).numpy()
        assert got.shape == want.shape == (b, 4)
        np.testing.assert_allclose(got, e(ember.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_pad_by_the_remainder_of_dynamic_sizes():
    e, t = _pad_odd(ember), _pad_odd(torch)
    rng = np.random.default_rng(1)
    sess = _export(e, ember.tensor(rng.standard_normal((2, 5, 6, 3)).astype(np.float32)),
                   {1: "h", 2: "w"})
    for h, w in ((5, 6), (4, 7), (3, 3)):
        x = rng.standard_normal((2, h, w, 3)).astype(np.float32)
        got = sess.run(None, {"x": x})[0]
        want = t(torch.tensor(x)).numpy()
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6)


def _collides(lib):
    class Collides(lib.nn.Module):
        """Sizes that equal the example batch (2) without following it: a 4x4 map pooled
        to 2x2, shuffled by channel groups of 2 as shufflenet does, then pooled to 3x3 by
        vgg's adaptive average pool (windows computed from the map's sizes)."""
        def __init__(self):
            super().__init__()
            self.conv = lib.nn.Conv2d(3, 4, 3, padding=1)
            self.pool = lib.nn.AdaptiveAvgPool2d(3)

        def forward(self, x):
            x = lib.nn.functional.max_pool2d(self.conv(x), 2)       # (B, 4, 2, 2)
            b, c, h, w = x.size()
            x = x.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)
            return self.pool(x).flatten(1)
    return Collides().eval()


def test_sizes_that_only_equal_the_example_batch_are_traced_again():
    e, t = _collides(ember), _collides(torch)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    sess = _export(e, ember.tensor(x), {0: "batch"})
    ep = ember.export.export(e, (ember.tensor(x),),
                             dynamic_shapes={"x": {0: ember.export.Dim("batch")}})
    for b in (2, 3, 1, 4):
        xb = rng.standard_normal((b, 3, 4, 4)).astype(np.float32)
        with torch.no_grad():
            want = t(torch.tensor(xb)).numpy()
        np.testing.assert_allclose(sess.run(None, {"x": xb})[0], want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ep.module()(ember.tensor(xb)).detach().numpy(), want,
                                   rtol=1e-5, atol=1e-6)
    assert [str(d) for d in ep.graph_signature.user_inputs] == ["x"]


def test_shufflenet_at_example_batch_two_runs_at_other_batches_as_torchvision():
    """torchvision's shufflenet_v2 on 64x64 images ends in 2x2 maps: at example batch 2
    its channel shuffle's x.view(batchsize, groups, c, height, width) was recorded reading
    the batch for height and width, and the file failed at batch 3."""
    from tests.vision._tv import tv
    torchvision = tv()
    from ember.vision.models import shufflenet_v2_x0_5
    torch.manual_seed(0)
    t = torchvision.models.shufflenet_v2_x0_5(num_classes=10).eval()
    e = shufflenet_v2_x0_5(num_classes=10).eval()
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)
    sess = _export(e, ember.tensor(x), {0: "batch"})
    for b in (2, 3):
        xb = rng.standard_normal((b, 3, 64, 64)).astype(np.float32)
        with torch.no_grad():
            want = t(torch.tensor(xb)).numpy()
        np.testing.assert_allclose(sess.run(None, {"x": xb})[0], want, rtol=1e-4, atol=1e-5)
