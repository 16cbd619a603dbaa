"""ember/_backend/cudnn.py: CUDA convolutions through cuDNN's C API (ctypes).

There is no GPU here, so the binding runs against tests/fake_cudnn.c, a CPU library with
cuDNN 9's prototypes (tests/test_fake_cudnn.py checks it against the real headers and
NumPy), under the fake CuPy, whose device pointers are host memory. The binding tests
compare its results with torch's; the op tests (a CUDA device: EMBER_FAKE_CUDA=1 or a GPU
with the fake swapped in only under the fake) check that ember's convolutions take the
cuDNN path and still give torch's values and gradients."""
import ctypes
import sys

import numpy as np
import pytest
import torch

import ember
from ember._backend import cudnn
from tests import fake_cudnn, fakecupy

needs_fake_lib = pytest.mark.skipif(fake_cudnn.path() is None,
                                    reason="tests/fake_cudnn.c needs gcc")
# the fake's forward heuristics (tests/fake_cudnn.c): WINOGRAD not supported, then FFT (a
# workspace, non-deterministic), then IMPLICIT_GEMM (no workspace, deterministic)
FWD_FFT, FWD_IMPLICIT_GEMM = 4, 0


def _fresh(monkeypatch, lib_path):
    monkeypatch.setenv("EMBER_CUDNN_LIB", lib_path)
    monkeypatch.delenv("EMBER_CUDNN", raising=False)
    monkeypatch.setattr(cudnn, "_STATE", {"lib": False, "stream": {}})
    monkeypatch.setattr(cudnn, "_HANDLES", {})
    monkeypatch.setattr(cudnn, "_PLANS", {})
    monkeypatch.setattr(cudnn, "_CHANNEL", {})
    monkeypatch.setattr(cudnn, "_CONSTANT", {})
    monkeypatch.setattr(cudnn, "FLAGS", {"enabled": True, "deterministic": False,
                                         "global_deterministic": False, "benchmark": False})


@pytest.fixture
def dnn(monkeypatch):
    """The binding on the fake CuPy and the fake cuDNN, with empty caches."""
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    _fresh(monkeypatch, fake_cudnn.path())
    helpers = fake_cudnn.helpers()
    helpers.reset()
    return helpers


def _dev(a):
    return fakecupy.asarray(a)


def _host(a):
    return a.get()


# (x shape, w shape, stride, padding, dilation, groups)
CONFIGS = [
    ((2, 3, 9), (4, 3, 3), (1,), (1,), (1,), 1),
    ((2, 4, 11), (6, 2, 3), (2,), (0,), (2,), 2),
    ((2, 3, 7, 8), (5, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((1, 4, 9, 7), (4, 1, 3, 2), (2, 1), (1, 0), (1, 2), 4),
    ((2, 2, 5, 6, 4), (3, 2, 2, 3, 1), (1, 2, 1), (0, 1, 0), (2, 1, 1), 1),
]


def _torch_conv(x, w, b, stride, padding, dilation, groups):
    fn = {3: torch.nn.functional.conv1d, 4: torch.nn.functional.conv2d,
          5: torch.nn.functional.conv3d}[x.dim()]
    return fn(x, w, b, stride, padding, dilation, groups)


@needs_fake_lib
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{len(c[0]) - 2}d-g{c[5]}")
def test_binding_matches_torch(dnn, cfg, dtype):
    x_shape, w_shape, stride, padding, dilation, groups = cfg
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = _torch_conv(tx, tw, tb, stride, padding, dilation, groups)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)

    y = cudnn.conv_forward(_dev(x), _dev(w), _dev(b), stride, padding, dilation, groups)
    assert y is not None and y.dtype == dtype
    np.testing.assert_allclose(_host(y), ty.detach().numpy(), **tol)
    dx = cudnn.conv_backward_data(_dev(g), _dev(w), x_shape, stride, padding, dilation, groups)
    np.testing.assert_allclose(_host(dx), tx.grad.numpy(), **tol)
    dw = cudnn.conv_backward_filter(_dev(x), _dev(g), w_shape, stride, padding, dilation,
                                    groups)
    np.testing.assert_allclose(_host(dw), tw.grad.numpy(), **tol)
    db = cudnn.conv_backward_bias(_dev(g))
    np.testing.assert_allclose(_host(db), tb.grad.numpy(), **tol)
    for name in ("cudnnConvolutionForward", "cudnnConvolutionBackwardData",
                 "cudnnConvolutionBackwardFilter", "cudnnConvolutionBackwardBias",
                 "cudnnAddTensor"):
        assert dnn.calls(name) == 1, name


@needs_fake_lib
def test_descriptors_are_made_once_per_configuration(dnn):
    x, w = _dev(np.ones((2, 3, 6, 6))), _dev(np.ones((4, 3, 3, 3)))
    cudnn.conv_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    made = dnn.calls("cudnnCreateTensorDescriptor")
    chosen = dnn.calls("cudnnGetConvolutionForwardAlgorithm_v7")
    for _ in range(3):
        cudnn.conv_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    assert dnn.calls("cudnnConvolutionForward") == 4
    assert dnn.calls("cudnnCreateTensorDescriptor") == made
    assert dnn.calls("cudnnGetConvolutionForwardAlgorithm_v7") == chosen == 1
    cudnn.conv_forward(x, w, None, (2, 2), (1, 1), (1, 1), 1)   # a new configuration
    assert dnn.calls("cudnnCreateTensorDescriptor") > made


@needs_fake_lib
def test_deterministic_flags_pick_a_deterministic_algorithm(dnn):
    x, w = _dev(np.ones((2, 3, 6, 6))), _dev(np.ones((4, 3, 3, 3)))
    cudnn.conv_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    (plan,) = cudnn._PLANS.values()
    assert plan.algos[("fwd", False, False)][0][0] == FWD_FFT   # the first supported one
    assert dnn.last_algo("cudnnConvolutionForward") == FWD_FFT
    for flag in ("deterministic", "global_deterministic"):
        cudnn.FLAGS[flag] = True
        cudnn.conv_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
        cudnn.FLAGS[flag] = False
        assert dnn.last_algo("cudnnConvolutionForward") == FWD_IMPLICIT_GEMM
    assert [a for a, _, _ in plan.algos[("fwd", True, False)]] == [FWD_IMPLICIT_GEMM]


@needs_fake_lib
def test_benchmark_takes_cudnn_timings_fastest_first(dnn):
    """cudnn.benchmark: cuDNN times the algorithms (cudnnFind*, once per configuration and
    direction) and the fastest runs; the fake's timings put IMPLICIT_GEMM first."""
    x, w = _dev(np.ones((2, 3, 6, 6))), _dev(np.ones((4, 3, 3, 3)))
    g = _dev(np.ones((2, 4, 6, 6)))
    cudnn.FLAGS["benchmark"] = True
    for _ in range(2):
        y = cudnn.conv_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
        cudnn.conv_backward_data(g, w, (2, 3, 6, 6), (1, 1), (1, 1), (1, 1), 1)
        cudnn.conv_backward_filter(x, g, (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1)
    assert _host(y)[0, 0, 2, 2] == 27.0
    for name in ("Forward", "BackwardData", "BackwardFilter"):
        assert dnn.calls(f"cudnnFindConvolution{name}Algorithm") == 1, name
        assert dnn.calls(f"cudnnGetConvolution{name}Algorithm_v7") == 0, name
    assert dnn.last_algo("cudnnConvolutionForward") == FWD_IMPLICIT_GEMM
    cudnn.FLAGS["benchmark"] = False   # back to the heuristics' first
    cudnn.conv_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    assert dnn.last_algo("cudnnConvolutionForward") == FWD_FFT


@needs_fake_lib
def test_runs_on_the_current_stream(dnn):
    x, w = _dev(np.ones((1, 1, 4, 4))), _dev(np.ones((1, 1, 3, 3)))
    cudnn.conv_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    handle = cudnn._HANDLES[0]
    assert dnn.stream(handle) == 0   # the null stream
    with fakecupy.cuda.Stream() as s:
        cudnn.conv_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    assert s.ptr != 0 and dnn.stream(handle) == s.ptr
    cudnn.conv_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    assert dnn.stream(handle) == 0
    assert dnn.calls("cudnnSetStream") == 3


@needs_fake_lib
@pytest.mark.parametrize("case", ["disabled", "empty", "int", "output_padding", "no_lib"])
def test_declines_what_it_does_not_take(dnn, monkeypatch, case):
    """None: the caller's im2col path takes it."""
    x, w = np.ones((2, 3, 6, 6)), np.ones((4, 3, 3, 3))
    if case == "disabled":
        cudnn.FLAGS["enabled"] = False
    elif case == "empty":
        x = np.ones((0, 3, 6, 6))
    elif case == "int":
        x, w = x.astype(np.int64), w.astype(np.int64)
    elif case == "no_lib":
        _fresh(monkeypatch, "/nonexistent/libcudnn.so.9")
    if case == "output_padding":   # 8 rows do not come from a 3-row dy at stride 2
        assert cudnn.conv_backward_data(_dev(np.ones((2, 4, 3, 3))), _dev(w), (2, 3, 8, 8),
                                        (2, 2), (1, 1), (1, 1), 1) is None
    else:
        assert cudnn.conv_forward(_dev(x), _dev(w), None, (1, 1), (1, 1), (1, 1), 1) is None
    assert dnn.calls("cudnnConvolutionForward") == 0
    assert cudnn.available() is (case not in ("disabled", "no_lib"))


@needs_fake_lib
def test_an_algorithm_whose_workspace_does_not_fit_gives_way(dnn, monkeypatch):
    x, w = _dev(np.ones((1, 1, 4, 4))), _dev(np.ones((1, 1, 3, 3)))
    real_empty = fakecupy.empty

    class OutOfMemoryError(MemoryError):
        pass

    def empty(shape, dtype=float, *a, **k):
        if np.dtype(dtype) == np.uint8 and shape[0] > 1:   # any real workspace
            raise OutOfMemoryError("Out of memory allocating 1,024 bytes")
        return real_empty(shape, dtype, *a, **k)
    monkeypatch.setattr(fakecupy, "empty", empty)
    y = cudnn.conv_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    np.testing.assert_array_equal(_host(y), np.full((1, 1, 2, 2), 9.0))
    assert dnn.last_algo("cudnnConvolutionForward") == FWD_IMPLICIT_GEMM
    (plan,) = cudnn._PLANS.values()
    assert [a for a, _, _ in plan.algos[("fwd", False, False)]] == [FWD_IMPLICIT_GEMM]


@needs_fake_lib
def test_a_failing_algorithm_gives_way_then_cudnn_error(dnn):
    x, w = _dev(np.ones((1, 1, 4, 4))), _dev(np.ones((1, 1, 3, 3)))
    cudnn.conv_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    (plan,) = cudnn._PLANS.values()
    choices = plan.algos[("fwd", False, False)]
    algo, ws, math = choices[0]
    assert algo == FWD_FFT and ws > 0
    choices[0] = (algo, 0, math)   # too small a workspace: the fake refuses the call
    with pytest.warns(UserWarning, match="cudnnConvolutionForward with algorithm 4 failed "
                                         r"\(CUDNN_STATUS_BAD_PARAM\)"):
        y = cudnn.conv_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    np.testing.assert_array_equal(_host(y), np.full((1, 1, 2, 2), 9.0))
    assert dnn.last_algo("cudnnConvolutionForward") == FWD_IMPLICIT_GEMM
    assert [a for a, _, _ in choices] == [FWD_IMPLICIT_GEMM]
    choices[0] = (FWD_FFT, 0, math)   # the last one fails too: an error, not a fallback
    with pytest.warns(UserWarning), \
            pytest.raises(cudnn.CudnnError, match="CUDNN_STATUS_BAD_PARAM"):
        cudnn.conv_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)


# ------------------------------------------------------------------ through ember's ops

needs_cuda = pytest.mark.skipif(not ember.cuda.is_available(),
                                reason="no CUDA device (EMBER_FAKE_CUDA=1 runs the fake)")


@pytest.fixture
def fake_dnn_for_ember(monkeypatch):
    """ember's CUDA device is the fake CuPy here: swap in the fake cuDNN too."""
    import cupy
    if not getattr(cupy, "__fake__", False):
        pytest.skip("a real GPU: its own cuDNN (if any) is tested by the CUDA op tests")
    if fake_cudnn.path() is None:
        pytest.skip("tests/fake_cudnn.c needs gcc")
    _fresh(monkeypatch, fake_cudnn.path())
    helpers = fake_cudnn.helpers()
    helpers.reset()
    return helpers


@needs_cuda
@pytest.mark.parametrize("transposed", [False, True])
def test_ember_convolutions_go_through_cudnn(fake_dnn_for_ember, transposed):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 7, 7)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3) if transposed else (6, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4 if transposed else 6).astype(np.float32)
    fn = "conv_transpose2d" if transposed else "conv2d"
    kw = dict(stride=2, padding=1, groups=2)
    t = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ty = getattr(torch.nn.functional, fn)(*t, **kw)
    (ty * ty).sum().backward()
    e = [ember.tensor(a, device="cuda", requires_grad=True) for a in (x, w, b)]
    ey = getattr(ember.nn.functional, fn)(*e, **kw)
    (ey * ey).sum().backward()
    np.testing.assert_allclose(ey.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-4,
                               atol=1e-4)
    for ea, ta in zip(e, t):
        np.testing.assert_allclose(ea.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-4,
                                   atol=1e-4)
    # a transposed convolution's forward is cuDNN's backward-data, and the other way round
    assert fake_dnn_for_ember.calls("cudnnConvolutionForward") == 1
    assert fake_dnn_for_ember.calls("cudnnConvolutionBackwardData") == 1
    assert fake_dnn_for_ember.calls("cudnnConvolutionBackwardFilter") == 1


@needs_cuda
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_ember_low_precision_convolutions_go_through_cudnn(fake_dnn_for_ember, dtype):
    """float16/bfloat16 go to cuDNN as they are (float32 accumulation), not widened first:
    torch's CPU results in that dtype, to its rounding."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    t = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in (x, w)]
    e = [ember.tensor(a, dtype=getattr(ember, dtype), device="cuda", requires_grad=True)
         for a in (x, w)]
    ty = torch.nn.functional.conv2d(*t, padding=1)
    ey = ember.nn.functional.conv2d(*e, padding=1)
    ty.sum().backward()
    ey.sum().backward()
    assert ey.dtype == getattr(ember, dtype) and e[1].grad.dtype == ey.dtype
    tol = dict(rtol=2e-2, atol=5e-2) if dtype == "float16" else dict(rtol=5e-2, atol=2e-1)
    for a, b in ((ey, ty), (e[0].grad, t[0].grad), (e[1].grad, t[1].grad)):
        np.testing.assert_allclose(a.detach().float().cpu().numpy(),
                                   b.detach().float().numpy(), **tol)
    for name in ("cudnnConvolutionForward", "cudnnConvolutionBackwardData",
                 "cudnnConvolutionBackwardFilter"):
        assert fake_dnn_for_ember.calls(name) == 1, name


@needs_cuda
def test_ember_double_backward_through_cudnn(fake_dnn_for_ember):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    t = [torch.tensor(a, requires_grad=True) for a in (x, w)]
    e = [ember.tensor(a, device="cuda", requires_grad=True) for a in (x, w)]
    res = []
    for lib, (xx, ww) in ((torch, t), (ember, e)):
        y = lib.nn.functional.conv2d(xx, ww, padding=1)
        gx, = lib.autograd.grad((y * y).sum(), xx, create_graph=True)
        (gx * gx).sum().backward()
        res.append(ww.grad)
    np.testing.assert_allclose(res[1].cpu().numpy(), res[0].numpy(), rtol=1e-10)
    assert fake_dnn_for_ember.calls("cudnnConvolutionBackwardFilter") >= 1


@needs_fake_lib
def test_backends_report_the_library(dnn):
    assert ember.backends.cudnn.is_available() is True
    assert ember.backends.cudnn.version() == 92801   # the fake's, cuDNN 9.28.1's number
    cudnn.FLAGS["enabled"] = False   # still there, only not used
    assert ember.backends.cudnn.is_available() is True and not cudnn.available()


def test_backends_flags_reach_the_binding(monkeypatch):
    monkeypatch.setattr(cudnn, "FLAGS", dict(cudnn.FLAGS))
    for flag in ("enabled", "deterministic", "benchmark"):
        old = getattr(ember.backends.cudnn, flag)
        setattr(ember.backends.cudnn, flag, not old)
        assert cudnn.FLAGS[flag] is (not old) and getattr(ember.backends.cudnn, flag) is not old
        setattr(ember.backends.cudnn, flag, old)
    prev = ember.are_deterministic_algorithms_enabled()
    try:
        ember.use_deterministic_algorithms(True)
        assert cudnn.FLAGS["global_deterministic"] is True
    finally:
        ember.use_deterministic_algorithms(prev)
    assert cudnn.FLAGS["global_deterministic"] is prev


def test_perf_struct_layout():
    """cudnnConvolutionFwdAlgoPerf_t: int algo, int status, float time, size_t memory,
    int determinism, int mathType, int reserved[3] (cudnn_cnn_v9.h): 48 bytes on x86-64."""
    assert ctypes.sizeof(cudnn._Perf) == 48
    assert cudnn._Perf.memory.offset == 16 and cudnn._Perf.mathType.offset == 28


REAL_LIB = "/tmp/cudnn_dl/x/nvidia/cudnn/lib/libcudnn.so.9"


@pytest.mark.skipif(not __import__("os").path.exists(REAL_LIB),
                    reason=f"a local check: needs the real cuDNN at {REAL_LIB} (not in CI)")
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{len(c[0]) - 2}d-g{c[5]}")
def test_real_library_accepts_the_plans_descriptors(monkeypatch, cfg):
    """The real cuDNN, without a GPU: the binding's descriptors are accepted and cuDNN's
    output size is the binding's; one row off is refused. (Its handle needs a GPU, so
    `available()` is False here.)"""
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    _fresh(monkeypatch, REAL_LIB)
    lib = cudnn.library()
    assert lib is not None and cudnn.version() >= 90000
    x_shape, w_shape, stride, padding, dilation, groups = cfg
    if len(stride) == 1:
        x_shape, w_shape = x_shape[:2] + (1,) + x_shape[2:], w_shape[:2] + (1,) + w_shape[2:]
        stride, padding, dilation = (1,) + stride, (0,) + padding, (1,) + dilation
    y_shape = cudnn._shapes(x_shape, w_shape, stride, padding, dilation)
    for dtype in (0, 1):
        plan = cudnn._Plan(lib, dtype, x_shape, w_shape, y_shape, stride, padding, dilation,
                           groups, 0)
        assert plan.ok
        plan.close()
    wrong = y_shape[:-1] + (y_shape[-1] + 1,)
    plan = cudnn._Plan(lib, 0, x_shape, w_shape, wrong, stride, padding, dilation, groups, 0)
    assert not plan.ok
    plan.close()
    assert cudnn.available() is False


@needs_fake_lib
@pytest.mark.parametrize("tf32", [False, True])
def test_math_type_follows_tf32(dnn, monkeypatch, tf32):
    """float32 without TF32 stays on FMA math even where an algorithm reports tensor-op
    math; with TF32 the algorithm's math type is set, once while it stays the same."""
    monkeypatch.setitem(cudnn.cupy_kernels.TF32, "conv", tf32)
    lib = cudnn.library()
    seen = []
    real = lib.cudnnSetConvolutionMathType

    def spy(conv, math):
        seen.append(math)
        return real(conv, math)
    spy.__name__ = "cudnnSetConvolutionMathType"
    monkeypatch.setattr(lib, "cudnnSetConvolutionMathType", spy)
    x, w = _dev(np.ones((1, 2, 5, 5), np.float32)), _dev(np.ones((3, 2, 3, 3), np.float32))
    cudnn.conv_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    (plan,) = cudnn._PLANS.values()
    key = ("fwd", False, False)
    plan.algos[key] = [(FWD_IMPLICIT_GEMM, 0, cudnn._TENSOR_OP_MATH)]
    for _ in range(2):
        cudnn.conv_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    base = cudnn._DEFAULT_MATH if tf32 else cudnn._FMA_MATH
    assert seen[0] == base   # the plan's descriptor, as asked
    assert plan.math == (cudnn._TENSOR_OP_MATH if tf32 else cudnn._FMA_MATH)
    assert cudnn._TENSOR_OP_MATH not in seen if not tf32 else \
        seen.count(cudnn._TENSOR_OP_MATH) == 1


# ------------------------------------------------------------------ batch normalization

needs_fake_bn = pytest.mark.skipif(
    fake_cudnn.path() is None or not hasattr(ctypes.CDLL(fake_cudnn.path() or "libc.so.6"),
                                             "cudnnBatchNormalizationBackward"),
    reason="tests/fake_cudnn.c needs gcc (and its batch normalization)")


@needs_fake_bn
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5), (2, 2, 3, 2, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_binding_matches_torch(dnn, shape, dtype, affine):
    rng = np.random.default_rng(4)
    C = shape[1]
    x = rng.standard_normal(shape).astype(dtype) * 2 + 1
    w, b = (rng.standard_normal(C).astype(dtype) if affine else None for _ in range(2))
    rm, rv = rng.standard_normal(C).astype(dtype), rng.random(C).astype(dtype) + 0.5
    g = rng.standard_normal(shape).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    tw, tb = ((torch.tensor(a, requires_grad=True) if affine else None) for a in (w, b))
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, True, 0.3, 1e-3)
    ty.backward(torch.tensor(g))
    dev = [None if a is None else _dev(a) for a in (x, w, b, rm, rv)]
    assert cudnn.batch_norm_supported(dev[0], dev[1], dev[2], tuple(dev[3:]), 1e-3)
    y, saved = cudnn.batch_norm_train(dev[0], dev[1], dev[2], tuple(dev[3:]), 0.3, 1e-3)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(_host(y), ty.detach().numpy(), **tol)
    np.testing.assert_allclose(_host(dev[3]), trm.numpy(), **tol)   # moved in place
    np.testing.assert_allclose(_host(dev[4]), trv.numpy(), **tol)
    dx, dw, db = cudnn.batch_norm_backward(_dev(g), dev[0], dev[1], saved, 1e-3)
    np.testing.assert_allclose(_host(dx), tx.grad.numpy(), **tol)
    if affine:
        np.testing.assert_allclose(_host(dw), tw.grad.numpy(), **tol)
        np.testing.assert_allclose(_host(db), tb.grad.numpy(), **tol)
    assert dnn.calls("cudnnBatchNormalizationForwardTraining") == 1
    assert dnn.calls("cudnnBatchNormalizationBackward") == 1


@needs_fake_bn
def test_batch_norm_without_running_statistics(dnn):
    x = _dev(np.arange(24.0).reshape(2, 3, 4))
    y, _ = cudnn.batch_norm_train(x, None, None, (None, None), 0.1, 1e-5)
    ref = torch.nn.functional.batch_norm(torch.arange(24.0, dtype=torch.float64).reshape(2, 3, 4),
                                         None, None, training=True)
    np.testing.assert_allclose(_host(y), ref.numpy(), rtol=1e-10)


@needs_fake_bn
@pytest.mark.parametrize("case", ["half", "strided", "weight_dtype", "one_running", "6d",
                                  "disabled"])
def test_batch_norm_declines(dnn, case):
    x = np.ones((2, 3, 4, 4))
    w, running = np.ones(3), (np.zeros(3), np.ones(3))
    if case == "half":
        x, w, running = x.astype(np.float16), w.astype(np.float16), (None, None)
    elif case == "strided":
        x = "strided"
    elif case == "weight_dtype":
        w = w.astype(np.float32)
    elif case == "one_running":
        running = (np.zeros(3), None)
    elif case == "6d":
        x = np.ones((2, 3, 2, 2, 2, 2))
    elif case == "disabled":
        cudnn.FLAGS["enabled"] = False
    running = tuple(None if a is None else _dev(a) for a in running)
    xd = _dev(np.ones((2, 3, 4, 8)))[..., ::2] if case == "strided" else _dev(x)
    assert not cudnn.batch_norm_supported(xd, _dev(w), None, running, 1e-5)


@needs_cuda
@needs_fake_bn
def test_ember_batch_norm_goes_through_cudnn(fake_dnn_for_ember):
    """BatchNorm2d training on CUDA: one cuDNN call forward, one backward, torch's output,
    gradients and running statistics; a backward with create_graph takes the composed
    graph (second derivatives as torch's)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 5, 5))
    tm, em = torch.nn.BatchNorm2d(3).double(), ember.nn.BatchNorm2d(3).double().to("cuda")
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-1, 1)
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tx = torch.tensor(x, requires_grad=True)
    ex = ember.tensor(x, device="cuda", requires_grad=True)
    for lib, m, xx in ((torch, tm, tx), (ember, em, ex)):
        y = m(xx)
        gx, = lib.autograd.grad((y * y).sum(), xx, create_graph=True)
        (gx * gx).sum().backward()
    assert fake_dnn_for_ember.calls("cudnnBatchNormalizationForwardTraining") == 1
    # the second backward passes y's node without a graph: cuDNN's backward
    assert fake_dnn_for_ember.calls("cudnnBatchNormalizationBackward") == 1
    for e, t in ((ex.grad, tx.grad), (em.weight.grad, tm.weight.grad),
                 (em.bias.grad, tm.bias.grad), (em.running_mean, tm.running_mean),
                 (em.running_var, tm.running_var)):
        np.testing.assert_allclose(e.cpu().numpy(), t.numpy(), rtol=1e-9, atol=1e-9)
    y = em(ex)   # and a plain backward: cuDNN's
    y.sum().backward()
    assert fake_dnn_for_ember.calls("cudnnBatchNormalizationBackward") == 2
    assert y.grad_fn.name() == "NativeBatchNormBackward0"


@needs_fake_lib
def test_host_arrays_are_never_given_to_cudnn(dnn):
    """The ops call the binding on every device; NumPy arrays get None (their own path)."""
    x, w, g = np.ones((2, 3, 6, 6)), np.ones((4, 3, 3, 3)), np.ones((2, 4, 6, 6))
    conv = ((1, 1), (1, 1), (1, 1), 1)
    assert cudnn.conv_forward(x, w, None, *conv) is None
    assert cudnn.conv_backward_data(g, w, x.shape, *conv) is None
    assert cudnn.conv_backward_filter(x, g, w.shape, *conv) is None
    assert cudnn.conv_backward_bias(g) is None
    assert not cudnn.batch_norm_supported(x, None, None, (None, None), 1e-5)
    assert dnn.calls() == 0
