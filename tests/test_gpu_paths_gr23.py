"""The CPU fast paths of sessions 22-23 stay off CUDA arrays: convolution's batch pieces on
two threads (conv._over_batch), the stride-1 shifted GEMMs (_conv_shifted, ctypes
cpu_blas.shifted_sum/gemm on host pointers), the image-by-image input gradients
(_input_grad_flat, _input_grad_images), pooling's batch pieces, BatchNorm's (N, C*S) rows
(norm._row) and its blocked input gradient (np.empty scratch), linear's BLAS-count switch
(blas_threads.at_faster_count) and the elementwise pool (parallel.ufunc).

Each case runs a small network's forward and backward on CUDA with those functions
replaced by ones that fail, once with ember's CUDA kernels and once without them
(cupy_kernels.raw giving None, as where NVRTC cannot build them: the op-by-op fallbacks,
which share more code with the CPU paths), and compares the outputs and gradients with the
CPU's, where the fast paths run (checked too). Runs where CUDA is there: a GPU, or
EMBER_FAKE_CUDA=1 (tests/fakecupy.py, whose arrays refuse NumPy operands as CuPy's do)."""
import numpy as np
import pytest

import ember
from ember import nn
from ember._backend import blas_threads, cpu_blas, cupy_kernels, parallel
from ember._ops import conv as conv_ops
from ember._ops import layers as layer_ops
from ember._ops import norm as norm_ops
from ember._ops import pooling as pool_ops

cuda_only = pytest.mark.skipif(not ember.cuda.is_available(),
                               reason="no CUDA device (EMBER_FAKE_CUDA=1 runs the fake)")

# (module, name): NumPy-only code that a CUDA step must never enter
NUMPY_ONLY = [(conv_ops, "_over_batch"), (pool_ops, "_over_batch"),
              (conv_ops, "_conv_shifted"), (conv_ops, "_input_grad_flat"),
              (conv_ops, "_input_grad_images"), (cpu_blas, "gemm"),
              (cpu_blas, "shifted_sum"), (norm_ops, "_row"),
              (blas_threads, "at_faster_count"), (parallel, "split")]


def _is_device_array(a):
    return hasattr(a, "__cuda_array_interface__") or type(a).__module__.split(".")[0] in (
        "cupy", "fakecupy")


def _guard(monkeypatch, calls):
    """Make every NUMPY_ONLY function fail, and parallel.ufunc fail on a device operand;
    `calls` collects the names of those entered."""
    for mod, name in NUMPY_ONLY:
        def boom(*args, _name=f"{mod.__name__}.{name}", **kwargs):
            calls.append(_name)
            raise AssertionError(f"{_name} ran on a CUDA step")
        monkeypatch.setattr(mod, name, boom)
    real_ufunc = parallel.ufunc

    def ufunc(f, *args, out=None):
        if any(_is_device_array(a) for a in args + (out,)):
            calls.append("parallel.ufunc")
            raise AssertionError("parallel.ufunc given a CUDA array")
        return real_ufunc(f, *args, out=out)
    monkeypatch.setattr(parallel, "ufunc", ufunc)


def _spy(monkeypatch):
    """Count the calls of the NUMPY_ONLY functions (the CPU run: the fast paths taken)."""
    seen = []
    for mod, name in NUMPY_ONLY:
        real = getattr(mod, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            seen.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(mod, name, spy)
    return seen


def _cnn(c_in):
    """Layers that take each CPU path: a stride-2 first layer on 32x32 (its input gradient
    image by image: 256 output positions), stride 1 with 8 channels (shifted GEMMs, the
    input gradient through them), stride 1 to 4 channels (its input gradient by
    _input_grad_flat: g has under 8 channels), BatchNorm over N >= 4 (rows), max pooling
    (batch pieces), and linears of over 4 MFLOP (the BLAS-count switch)."""
    return nn.Sequential(
        nn.Conv2d(c_in, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 4, 3, padding=1, bias=False), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 8 * 8, 1024), nn.ReLU(),
        nn.Linear(1024, 10))


def _step(model, x, device):
    model = model.to(device)
    model.zero_grad(set_to_none=True)
    xd = x.detach().to(device).requires_grad_()
    out = model(xd)
    out.square().mean().backward()
    return (out.detach().cpu().numpy(), xd.grad.cpu().numpy(),
            [p.grad.cpu().numpy() for p in model.parameters()])


def _close(got, want, rtol=2e-4, atol=2e-5):
    np.testing.assert_allclose(got[0], want[0], rtol=rtol, atol=atol)
    np.testing.assert_allclose(got[1], want[1], rtol=rtol, atol=atol)
    for g, w in zip(got[2], want[2]):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def _no_kernels(monkeypatch):
    monkeypatch.setattr(cupy_kernels, "raw", lambda name, dtype: None)


def _two_threads(monkeypatch):
    """The CPU run as on two cores, so the thread pieces are taken there."""
    monkeypatch.setattr(parallel, "SETTING", [2])
    monkeypatch.setattr(conv_ops, "_cpu_threads", lambda: 2)


@cuda_only
@pytest.mark.parametrize("kernels", [True, False], ids=["kernels", "no-kernels"])
@pytest.mark.parametrize("c_in", [3, 8])
def test_cnn_step_on_cuda_keeps_off_numpy_paths(monkeypatch, kernels, c_in):
    ember.manual_seed(0)
    model = _cnn(c_in)
    x = ember.randn(8, c_in, 32, 32)
    with monkeypatch.context() as m:
        _two_threads(m)
        seen = _spy(m)
        want = _step(model, x, "cpu")
    # the CPU run took the fast paths this test is about
    assert {"_over_batch", "_input_grad_images", "_input_grad_flat", "_conv_shifted",
            "shifted_sum", "_row", "at_faster_count"} <= set(seen), seen
    calls = []
    with monkeypatch.context() as m:
        if not kernels:
            _no_kernels(m)
        _guard(m, calls)
        got = _step(model, x, "cuda")
    assert calls == []
    _close(got, want)


@cuda_only
@pytest.mark.parametrize("kernels", [True, False], ids=["kernels", "no-kernels"])
@pytest.mark.parametrize("shape,layer", [
    ((8, 6, 5, 7), lambda: nn.BatchNorm2d(6)),
    ((8, 6, 5, 7), lambda: nn.BatchNorm2d(6, affine=False)),
    ((6, 5, 11), lambda: nn.BatchNorm1d(5)),
    ((33, 5), lambda: nn.BatchNorm1d(5)),
    ((5, 3, 4, 3, 5), lambda: nn.BatchNorm3d(3)),
    ((6, 4, 5, 5), lambda: nn.InstanceNorm2d(4, affine=True)),
], ids=["bn2d", "bn2d-noaffine", "bn1d-3d", "bn1d-2d", "bn3d", "instance2d"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels-last"])
def test_batch_norm_train_on_cuda(monkeypatch, kernels, shape, layer, channels_last):
    """Training-mode normalization's forward and fused backward on CUDA: the rows form and
    the blocked input gradient are NumPy's (without the channel kernels the blocked pass
    wrote into an np.empty scratch from a CuPy gradient: TypeError)."""
    if channels_last and len(shape) != 4:
        pytest.skip("channels-last is 4-D")
    rng = np.random.default_rng(1)
    x = ember.from_numpy((rng.standard_normal(shape) * 2 + 1).astype(np.float32))
    g = ember.from_numpy(rng.standard_normal(shape).astype(np.float32))
    if channels_last:
        x = x.contiguous(memory_format=ember.channels_last)
    ember.manual_seed(0)
    mod = layer()

    def run(device):
        m = mod.to(device)
        xd = x.detach().to(device).requires_grad_()
        y = m(xd)
        y.backward(g.to(device))
        return (y.detach().cpu().numpy(), xd.grad.cpu().numpy(),
                [p.grad.cpu().numpy() for p in m.parameters()])
    want = run("cpu")
    mod.zero_grad(set_to_none=True)
    calls = []
    with monkeypatch.context() as m:
        if not kernels:
            _no_kernels(m)
        _guard(m, calls)
        got = run("cuda")
    assert calls == []
    _close(got, want)


@cuda_only
@pytest.mark.parametrize("kernels", [True, False], ids=["kernels", "no-kernels"])
@pytest.mark.parametrize("case", ["conv3d-stride1", "conv3d-stride2", "conv1d-stride1",
                                  "conv2d-groups", "conv2d-dilated-same"])
def test_conv_gradients_on_cuda(monkeypatch, kernels, case):
    """Convolutions whose CPU forms are the NumPy-only ones (3-D and 1-D stride 1: shifted
    GEMMs; stride 2 in 3-D: the chunked columns, which CuPy runs too), values and all three
    gradients as the CPU's."""
    F = ember.nn.functional
    rng = np.random.default_rng(2)
    x_shape, w_shape, kw, fn = {
        "conv3d-stride1": ((4, 8, 5, 6, 4), (6, 8, 3, 3, 3), dict(padding=1), F.conv3d),
        "conv3d-stride2": ((4, 3, 7, 6, 5), (4, 3, 3, 2, 3), dict(stride=2, padding=1),
                           F.conv3d),
        "conv1d-stride1": ((5, 9, 40), (7, 9, 5), dict(padding=2), F.conv1d),
        "conv2d-groups": ((4, 8, 17, 17), (8, 4, 3, 3), dict(groups=2, padding=1), F.conv2d),
        "conv2d-dilated-same": ((4, 8, 12, 12), (8, 8, 3, 3), dict(padding="same",
                                                                   dilation=2), F.conv2d),
    }[case]
    arrays = [rng.standard_normal(s).astype(np.float32) for s in (x_shape, w_shape)]
    bias = rng.standard_normal(w_shape[0]).astype(np.float32)

    def run(device):
        x, w, b = (ember.from_numpy(a).to(device).requires_grad_() for a in arrays + [bias])
        y = fn(x, w, b, **kw)
        y.backward(ember.from_numpy(np.cos(np.arange(y.numel(), dtype=np.float32))
                                    .reshape(tuple(y.shape))).to(device))
        return y.detach().cpu().numpy(), x.grad.cpu().numpy(), [w.grad.cpu().numpy(),
                                                               b.grad.cpu().numpy()]
    with monkeypatch.context() as m:
        _two_threads(m)
        want = run("cpu")
    calls = []
    with monkeypatch.context() as m:
        if not kernels:
            _no_kernels(m)
        _guard(m, calls)
        got = run("cuda")
    assert calls == []
    _close(got, want, rtol=5e-4, atol=5e-5)


@cuda_only
def test_linear_large_on_cuda_skips_blas_switch(monkeypatch):
    """A product of over 4 MFLOP: the CPU runs it through blas_threads.at_faster_count
    (ctypes calls into NumPy's OpenBLAS), CUDA straight through ndarray.dot."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 256)).astype(np.float32)
    ember.manual_seed(0)
    lin = nn.Linear(256, 256)
    with monkeypatch.context() as m:
        seen = _spy(m)
        want = _step(lin, ember.from_numpy(x), "cpu")
    assert seen.count("at_faster_count") == 3   # forward, dx, dw
    calls = []
    with monkeypatch.context() as m:
        _guard(m, calls)
        got = _step(lin, ember.from_numpy(x), "cuda")
    assert calls == []
    _close(got, want)


@cuda_only
@pytest.mark.parametrize("fn,args", [
    ("linspace", (-3.0, 7.0, 1001)),
    ("logspace", (-2.0, 3.0, 257)),
    ("logspace", (0.5, 1.5, 33, 2.0)),
])
@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_spaces_on_cuda(fn, args, dtype):
    """linspace/logspace compute on the host (the FMA blocks, C's pow) and move the result:
    the CUDA tensor, and one written into a CUDA out=, equal the CPU's bit for bit."""
    want = getattr(ember, fn)(*args, dtype=dtype).numpy()
    got = getattr(ember, fn)(*args, dtype=dtype, device="cuda")
    assert got.device.type == "cuda" and got.dtype is dtype
    np.testing.assert_array_equal(got.cpu().numpy(), want)
    for n in (3, len(want)):   # resized, and written in place
        out = ember.empty(n, dtype=dtype, device="cuda")
        assert getattr(ember, fn)(*args, dtype=dtype, out=out) is out
        assert out.device.type == "cuda"
        np.testing.assert_array_equal(out.cpu().numpy(), want)


@pytest.mark.parametrize("fn,args", [("linspace", (0.0, 1.0, 5)), ("logspace", (0.0, 1.0, 5)),
                                     ("arange", (5.0,))])
def test_space_into_meta_out_stays_meta(fn, args):
    """An out= on another device than the host keeps its device (PyTorch writes there); a
    meta out took the host array as its own data."""
    for n in (3, 5):
        out = ember.empty(n, device="meta")
        assert getattr(ember, fn)(*args, out=out) is out
        assert out.device.type == "meta" and tuple(out.shape) == (5,)


@cuda_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["lerp-number", "lerp-tensor", "add-alpha", "sub-alpha"])
def test_fused_multiply_adds_on_cuda(monkeypatch, dtype, case):
    """lerp and add/sub with alpha round once on the CPU (fma_arrays' BLAS axpy,
    _fma_float64's blocks: NumPy only); CUDA takes the plain formulas (CuPy's arithmetic,
    two roundings): within an ulp or two of the CPU's values."""
    from ember._ops import _fma_float64, fma_arrays
    from ember._ops import pointwise as pointwise_ops
    rng = np.random.default_rng(4)
    a, b, w = (rng.standard_normal(5000).astype(dtype) for _ in range(3))
    op = {"lerp-number": lambda x, y, z: ember.lerp(x, y, 0.3),
          "lerp-tensor": lambda x, y, z: ember.lerp(x, y, z),
          "add-alpha": lambda x, y, z: ember.add(x, y, alpha=0.7),
          "sub-alpha": lambda x, y, z: ember.sub(x, y, alpha=1.3)}[case]
    want = op(*(ember.from_numpy(v) for v in (a, b, w))).numpy()
    calls = []
    with monkeypatch.context() as m:
        for mod, name in [(fma_arrays, "axpy_"), (fma_arrays, "axpy"),
                          (_fma_float64, "lerp_scalar"), (_fma_float64, "lerp_tensor"),
                          (pointwise_ops, "_axpy")]:
            def boom(*args, _name=name, **kwargs):
                calls.append(_name)
                raise AssertionError(f"{_name} ran on CUDA arrays")
            m.setattr(mod, name, boom)
        got = op(*(ember.from_numpy(v).cuda() for v in (a, b, w)))
    assert calls == [] and got.device.type == "cuda"
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=4 * eps, atol=4 * eps)
