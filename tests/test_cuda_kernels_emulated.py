"""The numerics of ember's CUDA kernels (ember/_backend/cupy_kernels.py) without a GPU: the
kernels run on the CPU (tests/cuda_emu.py: g++, one fiber per CUDA thread) through the fake
CuPy (tests/fakecupy.py), each compared with a NumPy or torch reference, in float32 and
float64, on odd shapes with several blocks so that an indexing error shows. Every array
the wrappers allocate, and every input, sits between guard bytes checked after the call
(an out-of-bounds write or atomicAdd fails the test; an out-of-bounds read gets 12.08 in
float32, 2.3e6 in float64).

The first tests check the emulator itself: indices, barriers, warp shuffles, atomics, the
errors a GPU would hang or misbehave on, and that a wrong kernel is caught."""
import importlib
import math
import sys
import types

import numpy as np
import pytest
import torch

from ember._backend import cupy_kernels as ck
from tests import cuda_emu, fakecupy

pytestmark = pytest.mark.skipif(not cuda_emu.available(),
                                reason="tests/cuda_emu.py needs g++ (or EMBER_CUDA_EMU=0)")

F32_TOL = dict(rtol=2e-5, atol=2e-6)
F64_TOL = dict(rtol=1e-11, atol=1e-12)
DTYPES = [np.float32, np.float64]


def tol(dtype):
    return F32_TOL if np.dtype(dtype) == np.float32 else F64_TOL


# ------------------------------------------------------------------ guarded fake arrays

class Guard:
    """Allocates fake arrays between guard bytes and checks them: 0x41, a float of middling
    size in both widths, so that adding to it changes it too."""
    PAD = 256

    def __init__(self):
        self.buffers = []

    def alloc(self, shape, dtype=float):
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        buf = np.full(nbytes + 2 * self.PAD, 0x41, dtype=np.uint8)
        self.buffers.append(buf)
        return buf[self.PAD:self.PAD + nbytes].view(dtype).reshape(shape)

    def check(self):
        for buf in self.buffers:
            assert (buf[:self.PAD] == 0x41).all(), "a kernel wrote before an array"
            assert (buf[-self.PAD:] == 0x41).all(), "a kernel wrote past an array"

    def dev(self, a):
        """A guarded fake copy of NumPy array a."""
        a = np.asarray(a)
        out = self.alloc(a.shape, a.dtype)
        out[...] = a
        return fakecupy.ndarray._from(out)


@pytest.fixture
def cp(monkeypatch):
    """The fake CuPy as `cupy` for cupy_kernels (fresh kernel caches), its allocations
    guarded; yields the Guard."""
    guard = Guard()
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    monkeypatch.setattr(ck, "_RAW", {})
    monkeypatch.setattr(ck, "_BUILT", {})
    # device-check flags of the fake only (on a GPU machine the real CuPy's stay apart)
    monkeypatch.setattr(ck, "_FLAGS", {})
    monkeypatch.setattr(ck, "_PENDING", {})

    def empty(shape, dtype=float, order="C"):
        return fakecupy.ndarray._from(guard.alloc(shape, dtype))

    def zeros(shape, dtype=float, order="C"):
        a = guard.alloc(shape, dtype)
        a[...] = 0
        return fakecupy.ndarray._from(a)

    monkeypatch.setattr(fakecupy, "empty", empty, raising=False)
    monkeypatch.setattr(fakecupy, "zeros", zeros, raising=False)
    monkeypatch.setattr(fakecupy, "empty_like",
                        lambda a, dtype=None: empty(a.shape, dtype or a.dtype), raising=False)
    yield guard
    guard.check()


def host(a):
    return a.get()


def rand(rng, shape, dtype, scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(dtype)


# ------------------------------------------------------------------ the emulator itself

_PROBE = r"""
extern "C" __global__ void ids(int* out) {
    const int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const int b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    const int n = blockDim.x * blockDim.y * blockDim.z;
    out[(b * n + t) * 2] = t;
    out[(b * n + t) * 2 + 1] = b;
}

// reverses each block's slice through shared memory (n threads, not a multiple of 32)
extern "C" __global__ void reverse(const double* x, double* y) {
    __shared__ double s[1024];
    const int t = threadIdx.x, n = blockDim.x, off = blockIdx.x * n;
    s[t] = x[off + t];
    __syncthreads();
    y[off + t] = s[n - 1 - t];
}

// per lane: shfl_xor 5, shfl_down 3, shfl_up 2 (width 8), shfl from lane 7, ballot of odd
// lanes, a tree sum by xor
extern "C" __global__ void shuffles(const float* x, float* out) {
    const int g = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x & 31;
    const float v = x[g];
    out[g * 6] = __shfl_xor_sync(0xffffffffu, v, 5);
    out[g * 6 + 1] = __shfl_down_sync(0xffffffffu, v, 3);
    out[g * 6 + 2] = __shfl_up_sync(0xffffffffu, v, 2, 8);
    out[g * 6 + 3] = __shfl_sync(0xffffffffu, v, 7);
    out[g * 6 + 4] = (float)__ballot_sync(0xffffffffu, lane & 1);
    float s = v;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    out[g * 6 + 5] = s;
}

extern "C" __global__ void atomics(int* i, float* f, double* d) {
    atomicAdd(i, 1);
    atomicAdd(f, 0.5f);
    atomicAdd(d + threadIdx.x % 3, 0.25);
}

// lanes >= 16 return before the shuffle that names them
extern "C" __global__ void bad_mask(float* x) {
    if ((threadIdx.x & 31) >= 16) return;
    x[threadIdx.x] = __shfl_xor_sync(0xffffffffu, x[threadIdx.x], 1);
}

// half of each warp waits at a barrier, the other half at a shuffle that names it
extern "C" __global__ void deadlock(float* x) {
    if ((threadIdx.x & 31) < 16) __syncthreads();
    else x[threadIdx.x] = __shfl_xor_sync(0xffffffffu, x[threadIdx.x], 1);
}

extern "C" __global__ void scaled(float* y, int n, double a, long long k) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = (float)(a * (double)k);
}
"""


def _module(options=()):
    return cuda_emu.Module(_PROBE, options)


def test_cuda_emu_indices_3d():
    out = np.full(2 * 4 * 3 * 2 * 5 * 2 * 3, -1, dtype=np.int32)
    _module().get_function("ids")((5, 2, 3), (4, 3, 2), (out,))
    t, b = out[0::2], out[1::2]
    n = 4 * 3 * 2
    assert (t == np.tile(np.arange(n), 30)).all() and (b == np.repeat(np.arange(30), n)).all()


@pytest.mark.parametrize("options", [(), ("-DEMU_UCONTEXT",)], ids=["asm", "ucontext"])
def test_cuda_emu_barrier_and_shuffles(options):
    x = np.arange(3 * 100, dtype=np.float64)
    y = np.zeros_like(x)
    m = _module(options)
    m.get_function("reverse")(3, 100, (x, y))
    assert (y == x.reshape(3, 100)[:, ::-1].ravel()).all()
    v = np.arange(64, dtype=np.float32) * 1.5
    out = np.zeros((64, 6), dtype=np.float32)
    m.get_function("shuffles")(1, 64, (v, out))
    lane = np.arange(64) % 32
    base = np.arange(64) - lane
    down = np.where(lane + 3 < 32, np.arange(64) + 3, np.arange(64))
    up = np.where(lane % 8 >= 2, np.arange(64) - 2, np.arange(64))
    np.testing.assert_array_equal(out[:, 0], v[base + (lane ^ 5)])
    np.testing.assert_array_equal(out[:, 1], v[down])
    np.testing.assert_array_equal(out[:, 2], v[up])
    np.testing.assert_array_equal(out[:, 3], v[base + 7])
    np.testing.assert_array_equal(out[:, 4], np.float32(0xAAAAAAAA))
    np.testing.assert_array_equal(out[:, 5], np.repeat(v.reshape(2, 32).sum(1), 32))


def test_cuda_emu_atomics():
    i, f, d = np.zeros(1, np.int32), np.zeros(1, np.float32), np.zeros(3, np.float64)
    _module().get_function("atomics")(7, 96, (i, f, d))
    assert i[0] == 7 * 96 and f[0] == 7 * 96 * 0.5 and (d == 7 * 32 * 0.25).all()


def test_cuda_emu_reports_what_a_gpu_would_hang_or_misread_on():
    m = _module()
    x = np.zeros(64, np.float32)
    with pytest.raises(cuda_emu.LaunchError, match="mask 0xffffffff names lanes"):
        m.get_function("bad_mask")(1, 64, (x,))
    with pytest.raises(cuda_emu.LaunchError, match="deadlock"):
        m.get_function("deadlock")(1, 64, (x,))
    scaled = m.get_function("scaled")
    y = np.zeros(10, np.float32)
    scaled(1, 32, (y, np.int32(10), np.float64(2.0), np.int64(3)))
    assert (y == 6).all()
    i32, i64, f32, f64 = np.int32(10), np.int64(10), np.float32(2), np.float64(2)
    for args, what in [((y, i64, f64, i64), "int64 scalar for a 4-byte"),
                       ((y, i32, f32, i64), "float32 scalar for an? 8"),
                       ((y, i32, i64, i64), "int64 scalar for an? 8-byte floating"),
                       ((y.astype(np.float64), i32, 2.0, 3), "float64 array for a pointer"),
                       ((y[::2], np.int32(5), 2.0, 3), "non-contiguous"),
                       ((y, i32, 2.0), "takes 4 arguments")]:
        with pytest.raises(cuda_emu.LaunchError, match=what):
            scaled(1, 32, args)
    with pytest.raises(cuda_emu.LaunchError, match="invalid block"):
        scaled(1, 2048, (y, np.int32(10), 2.0, 3))


def test_cuda_emu_elementwise_broadcast_strides_and_types():
    k = cuda_emu.ElementwiseKernel("T a, T b, float64 s, raw T r", "T y, int32 n",
                                   "y = a * b + (T)s + r[i % 3]; n = (int)i;", "probe")
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    b = np.arange(4.0, dtype=np.float32)
    r = np.array([100, 200, 300], np.float32)
    y, n = k(a.T, b[:3], 0.5, r)   # a transposed view, b broadcast, s a Python float
    assert y.shape == (4, 3) and n.dtype == np.int32
    np.testing.assert_array_equal(y, a.T * b[:3] + 0.5 + r[np.arange(12).reshape(4, 3) % 3])
    np.testing.assert_array_equal(n, np.arange(12).reshape(4, 3))
    out = np.zeros((3, 8), np.float32)[:, ::2]   # a strided output
    nn = np.zeros((3, 4), np.int32)
    assert k(a, b, 1.0, r, out, nn)[0] is out
    np.testing.assert_array_equal(out, a * b + 1 + r[np.arange(12).reshape(3, 4) % 3])
    with pytest.raises(TypeError, match="Type is mismatched"):
        k(a, b.astype(np.float64), 1.0, r)


def test_cuda_emu_catches_a_wrong_kernel(cp, monkeypatch):
    """The harness can fail: a barrier taken out of the block sum, a half-warp shuffle sum,
    a wrong sign in SGD, each gives a mismatch with the references below."""
    rng = np.random.default_rng(0)
    # (only the kernels used here, for double: two compilations of the module less)
    monkeypatch.setattr(ck, "_RAW_NAMES", ("chan_partial", "chan_stats", "ce_rows"))
    monkeypatch.setattr(ck, "_RAW_TYPES", {"d": "double"})
    x = rand(rng, (3, 4, 50), np.float64)
    assert np.allclose(host(ck.channel_stats(cp.dev(x), 3, 4, 50, 1e-5))[0], x.mean((0, 2)))
    loop_barrier = ("            sb[threadIdx.x] += sb[threadIdx.x + k];\n        }\n"
                    "        __syncthreads();")
    assert loop_barrier in ck._RAW_SOURCE
    monkeypatch.setattr(ck, "_RAW_SOURCE", ck._RAW_SOURCE.replace(
        loop_barrier, loop_barrier.replace("__syncthreads();", "")))
    monkeypatch.setattr(ck, "_RAW", {})
    assert not np.allclose(host(ck.channel_stats(cp.dev(x), 3, 4, 50, 1e-5))[0], x.mean((0, 2)))

    half = "for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync"   # warp_sum
    assert half in ck._RAW_SOURCE
    monkeypatch.setattr(ck, "_RAW_SOURCE", ck._RAW_SOURCE.replace(half, half.replace("16", "8")))
    monkeypatch.setattr(ck, "_RAW", {})
    xs, t = rand(rng, (4, 40), np.float64), rng.integers(0, 40, 4)
    loss, _ = ck.cross_entropy(cp.dev(xs), cp.dev(t), None, -100, "none")
    ref = torch.nn.functional.cross_entropy(torch.tensor(xs), torch.tensor(t), reduction="none")
    assert not np.allclose(host(loss), ref.numpy())

    monkeypatch.setitem(ck._SOURCES, "sgd",
                        ("T g, T wd, T lr", "T x", "x = x + lr * (g + wd * x);"))
    p = rand(rng, 10, np.float32)
    xd = cp.dev(p)
    ck.kernel("sgd")(cp.dev(np.ones(10, np.float32)), np.float32(0), np.float32(0.1), xd)
    assert not np.allclose(host(xd), p - 0.1)


# ------------------------------------------------------------------ normalization kernels

# (A, C, B) views: BatchNorm (N, C, H*W), LayerNorm (1, rows, normalized), GroupNorm
# (1, N*G, rest), and BatchNorm with several blocks per channel (S = 2 and 3)
VIEWS = [(3, 5, 21), (1, 6, 37), (1, 8, 45), (5, 3, 1000), (7, 2, 1000), (1, 1, 3)]
VIEW_IDS = ["batchnorm", "layernorm", "groupnorm", "parts2", "parts3", "single"]


def _norm_ref(x):
    xd = x.astype(np.float64)
    return xd.mean((0, 2)), xd.var((0, 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("view", VIEWS, ids=VIEW_IDS)
def test_cuda_kernel_channel_stats(cp, view, dtype):
    rng = np.random.default_rng(1)
    A, C, B = view
    x = rand(rng, view, dtype, 3.0, 1.5)
    eps, momentum = 1e-5, 0.1
    if A * B > 1:
        rm, rv = rand(rng, C, dtype), np.abs(rand(rng, C, dtype)) + 0.5
        run = (cp.dev(rm), cp.dev(rv))
    else:
        run = None
    st = host(ck.channel_stats(cp.dev(x), A, C, B, eps, run, momentum))
    mean, var = _norm_ref(x)
    np.testing.assert_allclose(st[0], mean, **tol(dtype))
    np.testing.assert_allclose(st[1], var, **tol(dtype))
    np.testing.assert_allclose(st[2], 1 / np.sqrt(var + eps), **tol(dtype))
    if run is not None:
        M = A * B
        np.testing.assert_allclose(host(run[0]), (1 - momentum) * rm + momentum * mean,
                                   **tol(dtype))
        np.testing.assert_allclose(host(run[1]), (1 - momentum) * rv + momentum * var * M / (M - 1),
                                   **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["wb", "w", "none"])
@pytest.mark.parametrize("view", VIEWS[:4], ids=VIEW_IDS[:4])
def test_cuda_kernel_channel_affine_and_backward(cp, view, affine, dtype):
    rng = np.random.default_rng(2)
    A, C, B = view
    x, g = rand(rng, view, dtype, 2.0, -1.0), rand(rng, view, dtype)
    w = rand(rng, C, dtype) if affine != "none" else None
    b = rand(rng, C, dtype) if affine == "wb" else None
    xd = cp.dev(x)
    st_d = ck.channel_stats(xd, A, C, B, 1e-5)
    st = host(st_d).astype(np.float64)
    mean, inv = st[0][:, None], st[2][:, None]
    wc = np.ones((C, 1)) if w is None else w.astype(np.float64)[:, None]
    bc = np.zeros((C, 1)) if b is None else b.astype(np.float64)[:, None]
    y = ck.channel_affine(xd, st_d, None if w is None else cp.dev(w),
                          None if b is None else cp.dev(b), A, C, B)
    xhat = (x - mean) * inv
    np.testing.assert_allclose(host(y), xhat * wc + bc, **tol(dtype))

    dx, dw, db = ck.channel_backward(cp.dev(g), xd, st_d, None if w is None else cp.dev(w),
                                     A, C, B)
    M = A * B
    gd = g.astype(np.float64)
    dw_ref, db_ref = (gd * xhat).sum((0, 2)), gd.sum((0, 2))
    dx_ref = inv * wc * (gd - db_ref[:, None] / M - xhat * dw_ref[:, None] / M)
    np.testing.assert_allclose(host(dw), dw_ref, **tol(dtype))
    np.testing.assert_allclose(host(db), db_ref, **tol(dtype))
    np.testing.assert_allclose(host(dx), dx_ref, rtol=tol(dtype)["rtol"] * 10,
                               atol=tol(dtype)["atol"] * 10)


@pytest.mark.parametrize("dtype", [np.float32])
def test_cuda_kernel_channels_beyond_the_grid_cap(cp, monkeypatch, dtype):
    """_grid caps a launch at 65535 blocks, so a kernel launched by it must loop over what
    lies beyond (LayerNorm's channels are its rows: more than 65535 * 256 = 16.8M rows
    happen). Simulated with a cap of one block over 300 channels."""
    monkeypatch.setattr(ck, "_grid", lambda total, threads=256: ((1,), (threads,)))
    rng = np.random.default_rng(9)
    A, C, B = 1, 300, 5
    x, g = rand(rng, (A, C, B), dtype, 2.0, 1.0), rand(rng, (A, C, B), dtype)
    w = rand(rng, C, dtype)
    xd = cp.dev(x)
    st = ck.channel_stats(xd, A, C, B, 1e-5)
    mean, var = _norm_ref(x)
    np.testing.assert_allclose(host(st)[0], mean, **tol(dtype))
    np.testing.assert_allclose(host(st)[1], var, **tol(dtype))
    dx, dw, db = ck.channel_backward(cp.dev(g), xd, st, cp.dev(w), A, C, B)
    np.testing.assert_allclose(host(db), g.astype(np.float64).sum((0, 2)), **tol(dtype))


# LayerNorm's rows (R, D): D under, over and a multiple of the 256-thread block, R over
# several blocks and several parts of the weight gradient's first pass (S = 2, 3)
ROWS = [(5, 37), (3, 300), (4, 512), (70, 45), (100, 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["wb", "w", "b", "none"])
@pytest.mark.parametrize("rows", ROWS, ids=[f"R{r}xD{d}" for r, d in ROWS])
def test_cuda_kernel_row_affine_and_backward(cp, rows, affine, dtype):
    rng = np.random.default_rng(3)
    R, D = rows
    x, g = rand(rng, rows, dtype, 2.0, -1.0), rand(rng, rows, dtype)
    w = rand(rng, D, dtype) if "w" in affine else None
    b = rand(rng, D, dtype) if "b" in affine else None
    xd = cp.dev(x)
    st_d = ck.channel_stats(xd, 1, R, D, 1e-5)
    st = host(st_d).astype(np.float64)
    mean, inv = st[0][:, None], st[2][:, None]
    wr = np.ones(D) if w is None else w.astype(np.float64)
    br = np.zeros(D) if b is None else b.astype(np.float64)
    y = ck.row_affine(xd, st_d, None if w is None else cp.dev(w),
                      None if b is None else cp.dev(b), R, D)
    xhat = (x - mean) * inv
    np.testing.assert_allclose(host(y), xhat * wr + br, **tol(dtype))

    dx, dw, db = ck.row_backward(cp.dev(g), xd, st_d, None if w is None else cp.dev(w), R, D)
    gd = g.astype(np.float64)
    gw = gd * wr
    dx_ref = inv * (gw - gw.mean(1, keepdims=True) - xhat * (gw * xhat).mean(1, keepdims=True))
    np.testing.assert_allclose(host(dw), (gd * xhat).sum(0), **tol(dtype))
    np.testing.assert_allclose(host(db), gd.sum(0), **tol(dtype))
    np.testing.assert_allclose(host(dx), dx_ref, rtol=tol(dtype)["rtol"] * 10,
                               atol=tol(dtype)["atol"] * 10)
    if dtype == np.float64:   # and torch's LayerNorm from x itself
        xt, wt, bt = (torch.tensor(a if a is not None else f, requires_grad=True)
                      for a, f in ((x, None), (w, np.ones(D)), (b, np.zeros(D))))
        yt = torch.nn.functional.layer_norm(xt, (D,), wt, bt, 1e-5)
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(host(y), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        for ours, ref in ((dx, xt), (dw, wt), (db, bt)):
            np.testing.assert_allclose(host(ours), ref.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_cuda_kernel_row_backward_parts_and_grid_cap(cp, monkeypatch):
    """Only the gradients asked for, and the kernels' loops over what lies beyond a capped
    grid (simulated with 2 blocks per grid dimension: rows of row_backward, columns of
    row_param_partial/sums)."""
    monkeypatch.setattr(ck, "MAX_BLOCKS", 2)
    rng = np.random.default_rng(4)
    R, D = 9, 700
    x, g, w = rand(rng, (R, D), np.float64), rand(rng, (R, D), np.float64), rand(rng, D, np.float64)
    xd, gd, wd = cp.dev(x), cp.dev(g), cp.dev(w)
    st_d = ck.channel_stats(xd, 1, R, D, 1e-5)
    dx, dw, db = ck.row_backward(gd, xd, st_d, wd, R, D)
    dx_only = ck.row_backward(gd, xd, st_d, wd, R, D, need_wb=False)
    wb_only = ck.row_backward(gd, xd, st_d, wd, R, D, need_x=False)
    assert dx_only[1:] == (None, None) and wb_only[0] is None
    np.testing.assert_array_equal(host(dx_only[0]), host(dx))
    np.testing.assert_array_equal(host(wb_only[1]), host(dw))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = torch.zeros(D, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.layer_norm(xt, (D,), wt, bt, 1e-5).backward(torch.tensor(g))
    for ours, ref in ((dx, xt), (dw, wt), (db, bt)):
        np.testing.assert_allclose(host(ours), ref.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_cuda_kernel_row_kernels_do_not_apply(cp):
    """None (the caller's fallback) for another dtype of w or b, or an empty x."""
    x = cp.dev(np.ones((2, 3), np.float32))
    st = ck.channel_stats(x, 1, 2, 3, 1e-5)
    w64 = cp.dev(np.ones(3, np.float64))
    assert ck.row_affine(x, st, w64, None, 2, 3) is None
    assert ck.row_affine(x, st, None, w64, 2, 3) is None
    assert ck.row_backward(x, x, st, w64, 2, 3) is None
    empty = cp.dev(np.ones((0, 3), np.float32))
    assert ck.row_affine(empty, st, None, None, 0, 3) is None


# ------------------------------------------------------------------ convolution and pooling

def _out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _im2col_ref(x, k, s, p, d, out):
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0] + k[0] * d[0]), (p[1], p[1] + k[1] * d[1])))
    cols = np.empty((C, k[0], k[1], N, out[0], out[1]), x.dtype)
    for kh in range(k[0]):
        for kw in range(k[1]):
            h0, w0 = kh * d[0], kw * d[1]
            patch = xp[:, :, h0:h0 + s[0] * out[0]:s[0], w0:w0 + s[1] * out[1]:s[1]]
            cols[:, kh, kw] = patch.transpose(1, 0, 2, 3)
    return cols.reshape(C * k[0] * k[1], N * out[0] * out[1])


# (N, C, H, W), kernel, stride, padding, dilation
CONV = [((2, 3, 7, 5), (3, 2), (2, 1), (1, 0), (1, 2)),
        ((1, 2, 9, 11), (1, 1), (1, 1), (0, 0), (1, 1)),
        ((3, 1, 12, 10), (2, 3), (3, 2), (1, 1), (2, 1)),
        ((2, 4, 23, 17), (3, 3), (1, 1), (1, 1), (1, 1)),   # N*OH*OW = 782: 4 blocks a row
        ((1, 1100, 35, 33), (3, 1), (1, 1), (0, 0), (1, 1))]   # 3300 rows: grid-stride loop


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV, ids=[f"conv{i}" for i in range(len(CONV))])
def test_cuda_kernel_im2col(cp, case, dtype):
    shape, k, s, p, d = case
    if shape[1] > 100 and dtype == np.float64:
        pytest.skip("the large case once")
    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    out = (_out(shape[2], k[0], s[0], p[0], d[0]), _out(shape[3], k[1], s[1], p[1], d[1]))
    cols = ck.im2col(cp.dev(x), k, s, p, d, out)
    np.testing.assert_array_equal(host(cols), _im2col_ref(x, k, s, p, d, out))


# im2col's adjoint for the CONV cases, and: stride over the kernel (pixels no tap reads get
# 0), 1-D as height 1, rows past the last window (conv_transpose's output_padding)
COL2IM = CONV + [((2, 3, 11, 9), (2, 2), (3, 4), (0, 1), (1, 1)),
                 ((3, 5, 1, 29), (1, 4), (1, 2), (0, 3), (1, 3)),
                 ((2, 2, 10, 8), (3, 2), (2, 2), (1, 0), (1, 1))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", COL2IM, ids=[f"conv{i}" for i in range(len(COL2IM))])
def test_cuda_kernel_col2im(cp, case, dtype):
    """col2im against torch's fold (the same sum, columns laid out (N, C*KH*KW, L)), and
    as im2col's adjoint: <im2col(x), cols> = <x, col2im(cols)>."""
    shape, k, s, p, d = case
    if shape[1] > 100 and dtype == np.float64:
        pytest.skip("the large case once")
    rng = np.random.default_rng(5)
    N, C, H, W = shape
    out = (_out(H, k[0], s[0], p[0], d[0]), _out(W, k[1], s[1], p[1], d[1]))
    L = out[0] * out[1]
    cols = rand(rng, (C * k[0] * k[1], N * L), dtype)
    dx = host(ck.col2im(cp.dev(cols), shape, k, s, p, d, out))
    folded = torch.nn.functional.fold(
        torch.tensor(cols.reshape(-1, N, L).transpose(1, 0, 2)), (H, W), k, d, p, s)
    np.testing.assert_allclose(dx, folded.numpy(), **tol(dtype))
    x = rand(rng, shape, dtype)
    lhs = (_im2col_ref(x, k, s, p, d, out).astype(np.float64) * cols).sum()
    np.testing.assert_allclose((x.astype(np.float64) * dx).sum(), lhs,
                               rtol=tol(dtype)["rtol"] * 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N, O, P", [(3, 5, 7), (1, 1, 1), (2, 70, 9), (5, 3, 300)])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_cuda_kernel_conv_out(cp, N, O, P, bias, dtype):
    rng = np.random.default_rng(6)
    src, b = rand(rng, (O, N * P), dtype), rand(rng, O, dtype)
    y = ck.conv_out(cp.dev(src), cp.dev(b) if bias else None, N, O, P)
    ref = src.reshape(O, N, P).transpose(1, 0, 2) + (b[:, None] if bias else 0)
    np.testing.assert_array_equal(host(y), ref)


def test_cuda_kernel_conv_kernels_beyond_the_grid_cap(cp, monkeypatch):
    """conv_out and col2im loop over what lies beyond a capped grid (one block here)."""
    monkeypatch.setattr(ck, "_grid", lambda total, threads=256: ((1,), (threads,)))
    rng = np.random.default_rng(7)
    src, b = rand(rng, (6, 4 * 50), np.float32), rand(rng, 6, np.float32)
    y = ck.conv_out(cp.dev(src), cp.dev(b), 4, 6, 50)
    np.testing.assert_array_equal(host(y), src.reshape(6, 4, 50).transpose(1, 0, 2) +
                                  b[:, None])
    cols = rand(rng, (3 * 4, 2 * 9 * 10), np.float32)
    dx = host(ck.col2im(cp.dev(cols), (2, 3, 10, 11), (2, 2), (1, 1), (0, 0), (1, 1),
                        (9, 10)))
    folded = torch.nn.functional.fold(
        torch.tensor(cols.reshape(12, 2, 90).transpose(1, 0, 2)), (10, 11), (2, 2))
    np.testing.assert_allclose(dx, folded.numpy(), **F32_TOL)


def _maxpool_ref(x, k, s, p, d, out):
    """The max of each window and the flat in-plane index of its first maximum; the first
    NaN wins; padding never does."""
    N, C, H, W = x.shape
    best = np.zeros((N, C) + out, x.dtype)
    idx = np.full((N, C) + out, -1, np.int64)
    stop = np.zeros((N, C) + out, bool)
    oh, ow = np.meshgrid(np.arange(out[0]), np.arange(out[1]), indexing="ij")
    for kh in range(k[0]):
        for kw in range(k[1]):
            ih, iw = oh * s[0] - p[0] + kh * d[0], ow * s[1] - p[1] + kw * d[1]
            inside = (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
            v = x[:, :, np.clip(ih, 0, H - 1), np.clip(iw, 0, W - 1)]
            take = inside & ~stop & ((idx < 0) | (v > best) | np.isnan(v))
            best = np.where(take, v, best)
            idx = np.where(take, ih * W + iw, idx)
            stop |= take & np.isnan(v)
    return best, idx


# (N, C, H, W), kernel, stride, padding, dilation: odd sizes, overlapping windows,
# dilation, 1-D as height 1, more than one block
POOL = [((2, 3, 7, 9), (3, 2), (2, 2), (1, 0), (1, 1)),
        ((1, 2, 5, 6), (3, 3), (1, 1), (1, 1), (1, 1)),
        ((2, 2, 11, 8), (2, 3), (1, 2), (0, 1), (2, 1)),
        ((3, 4, 1, 37), (1, 3), (1, 2), (0, 1), (1, 1)),
        ((4, 5, 13, 14), (2, 2), (2, 2), (0, 0), (1, 1))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nan", [False, True], ids=["finite", "nan"])
@pytest.mark.parametrize("case", POOL, ids=[f"pool{i}" for i in range(len(POOL))])
def test_cuda_kernel_maxpool2d_and_backward(cp, case, nan, dtype):
    shape, k, s, p, d = case
    rng = np.random.default_rng(4)
    x = rng.integers(-4, 5, shape).astype(dtype)   # ties: the first maximum must win
    if nan:
        x[rng.random(shape) < 0.1] = np.nan
    out = (_out(shape[2], k[0], s[0], p[0], d[0]), _out(shape[3], k[1], s[1], p[1], d[1]))
    y, idx = ck.maxpool2d(cp.dev(x), k, s, p, d, out)
    ref_y, ref_idx = _maxpool_ref(x, k, s, p, d, out)
    np.testing.assert_array_equal(host(y), ref_y)
    np.testing.assert_array_equal(host(idx), ref_idx)
    if not nan and 2 * p[0] <= k[0] and 2 * p[1] <= k[1]:   # torch's own rule, same ties
        ty, ti = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, d, return_indices=True)
        np.testing.assert_array_equal(host(y), ty.numpy())
        np.testing.assert_array_equal(host(idx), ti.numpy())

    g = rand(rng, (shape[0], shape[1]) + out, dtype)
    dx = ck.maxpool_backward(cp.dev(g), cp.dev(ref_idx), shape)
    ref = np.zeros((shape[0] * shape[1], shape[2] * shape[3]), dtype)
    rows = np.repeat(np.arange(shape[0] * shape[1]), out[0] * out[1])
    np.add.at(ref, (rows, ref_idx.ravel()), g.ravel())
    np.testing.assert_allclose(host(dx), ref.reshape(shape), **tol(dtype))


def test_cuda_kernel_maxpool_window_in_padding_only(cp):
    """A window whose taps all fall in the padding (width 1, kernel 2, padding 1, dilation
    2): -inf and index -1, as the CPU path, and backward adds its gradient nowhere (it
    wrote before each plane: out of bounds for the first)."""
    x = np.arange(6.0).reshape(2, 3, 1, 1)
    y, idx = ck.maxpool2d(cp.dev(x), (1, 2), (1, 1), (0, 1), (1, 2), (1, 1))
    assert (host(y) == -np.inf).all() and (host(idx) == -1).all()
    dx = ck.maxpool_backward(cp.dev(np.ones((2, 3, 1, 1))), idx, x.shape)
    assert (host(dx) == 0).all()


# ------------------------------------------------------------------ cross-entropy

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("C,ignore", [(5, -100), (37, 2), (70, -100)], ids=["C5", "C37-ignore2",
                                                                           "C70"])
def test_cuda_kernel_cross_entropy(cp, C, ignore, weighted, reduction, dtype):
    """N = 11 rows: 352 threads, two blocks (a warp per row); C below, between and above
    multiples of 32; targets with ignore_index."""
    rng = np.random.default_rng(5)
    N = 11
    x = rand(rng, (N, C), dtype, 3.0)
    t = rng.integers(0, C, N)
    t[[1, 6]] = ignore
    w = (rng.random(C) + 0.5).astype(dtype) if weighted else None
    xd, td = cp.dev(x), cp.dev(t)
    loss, cache = ck.cross_entropy(xd, td, None if w is None else cp.dev(w), ignore, reduction)
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    ref = torch.nn.functional.cross_entropy(
        tx, torch.tensor(t), None if w is None else torch.tensor(w.astype(np.float64)),
        ignore_index=ignore, reduction=reduction)
    np.testing.assert_allclose(host(loss), ref.detach().numpy(), **tol(dtype))
    grad = rand(rng, N, dtype) if reduction == "none" else np.array(1.7, dtype)
    ref.backward(torch.tensor(grad.astype(np.float64)))
    dx = ck.cross_entropy_backward(xd, td, cache, cp.dev(grad))
    np.testing.assert_allclose(host(dx), tx.grad.numpy(), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 5), (7, 70), (1, 1), (33, 32)])
def test_cuda_kernel_exp_rows(cp, shape, dtype, monkeypatch):
    """Attention's softmax numerators: s = exp(s - rowmax) in place, r = 1 / row sum; a
    fully masked row (-inf) gives zeros and r = 1, a NaN row stays NaN; rows past a capped
    grid (one block of 8 warps here) are reached by the loop."""
    monkeypatch.setattr(ck, "MAX_BLOCKS", 1)
    rng = np.random.default_rng(8)
    s = rand(rng, shape, dtype, scale=4.0)
    rows = s.reshape(-1, shape[-1])
    if rows.shape[0] > 2:
        rows[1] = -np.inf
        rows[2, -1] = np.nan
    if rows.shape[1] > 2:
        rows[0, :2] = -np.inf   # masked positions in a live row
    sd, rd = cp.dev(s), cp.dev(np.full(shape[:-1] + (1,), 7, dtype))
    assert ck.exp_rows(sd, rd)
    with np.errstate(all="ignore"):
        m = s.max(-1, keepdims=True)
        dead = m == -np.inf
        e = np.exp(s - np.where(dead, 0, m))
        ref_r = np.where(dead, 1, 1 / e.sum(-1, keepdims=True))
    np.testing.assert_allclose(host(sd), e, **tol(dtype))
    np.testing.assert_allclose(host(rd), ref_r, **tol(dtype))
    if rows.shape[0] > 2:
        assert np.isnan(host(rd).reshape(-1)[2]) and host(rd).reshape(-1)[1] == 1


def test_cuda_kernel_exp_rows_does_not_apply(cp):
    assert not ck.exp_rows(np.ones((3, 4), np.float32), np.ones((3, 1), np.float32))   # host
    s = cp.dev(np.ones((3, 4), np.float32))
    assert not ck.exp_rows(s, cp.dev(np.ones((3, 1), np.float64)))
    assert not ck.exp_rows(cp.dev(np.ones((3, 8), np.float32))[:, ::2],
                           cp.dev(np.ones((3, 1), np.float32)))


def test_cuda_kernel_cross_entropy_bad_target_and_all_ignored(cp):
    """A target out of range gives a NaN loss and sets the deferred device check's flag
    (no host read at the call); a mean over ignored rows only is NaN, as torch's."""
    x = np.zeros((3, 4), np.float32)
    loss, _ = ck.cross_entropy(cp.dev(x), cp.dev(np.array([0, 4, -2])), None, -100, "none")
    assert np.isnan(host(loss)[1:]).all() and np.isfinite(host(loss)[0])
    flag = ck._PENDING[(0, "cross_entropy: Target {} is out of bounds.")]
    assert host(flag)[0] == 1 and host(flag)[1] in (4, -2)
    with pytest.raises(RuntimeError, match="device-side assert triggered"):
        ck.raise_failed_checks()
    assert host(flag)[0] == 0 and not ck._PENDING
    loss, _ = ck.cross_entropy(cp.dev(x), cp.dev(np.array([0, 3, -100])), None, -100, "none")
    ck.raise_failed_checks()    # good targets (and ignore_index) fail nothing
    loss, _ = ck.cross_entropy(cp.dev(x), cp.dev(np.array([-100] * 3)), None, -100, "mean")
    assert np.isnan(host(loss))


@pytest.mark.parametrize("shape", [(3,), (2, 5, 7), (70000,)])
def test_cuda_kernel_class_check(cp, shape):
    """nll_loss's class-target check: every target outside [0, C) that is not ignore_index
    fails it (one of them is reported), ignore_index and the range's ends do not."""
    n = int(np.prod(shape))
    key = (0, "nll_loss: Target {} is out of bounds.")
    good = np.arange(n).reshape(shape) % 5
    good.reshape(-1)[::3] = -100
    assert ck.class_target_check(cp.dev(good), 5, -100, "nll_loss")
    assert host(ck._PENDING[key])[0] == 0
    ck.raise_failed_checks()
    for bad_value in (5, -1):
        bad = good.copy()
        bad.reshape(-1)[n // 2] = bad_value
        assert ck.class_target_check(cp.dev(bad), 5, -100, "nll_loss")
        assert tuple(host(ck._PENDING[key])) == (1, bad_value)
        with pytest.raises(RuntimeError, match=rf"nll_loss: Target {bad_value} is out"):
            ck.raise_failed_checks()
    assert not ck.class_target_check(good, 5, -100, "nll_loss")   # host arrays: not here
    assert not ck.class_target_check(cp.dev(np.zeros(0, np.int64)), 5, -100, "nll_loss")


# ------------------------------------------------------------------ elementwise kernels

SHAPE = (7, 13)   # 91 elements


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["adam", "adamw", "adam_amsgrad"])
def test_cuda_kernel_adam(cp, kind, dtype):
    """One step (the third) of ember.optim.adam's fused path against torch.optim's."""
    adam = importlib.import_module("ember.optim.adam")
    rng = np.random.default_rng(6)
    x, g = rand(rng, SHAPE, dtype), rand(rng, SHAPE, dtype)
    m, v = rand(rng, SHAPE, dtype, 0.1), np.abs(rand(rng, SHAPE, dtype, 0.1))
    vmax = v + np.abs(rand(rng, SHAPE, dtype, 0.01)) * (rng.random(SHAPE) < 0.5)
    amsgrad, decoupled = kind == "adam_amsgrad", kind == "adamw"
    group = dict(betas=(0.9, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=amsgrad,
                 decoupled_weight_decay=decoupled, maximize=False)
    xd, md, vd, vmd = cp.dev(x), cp.dev(m), cp.dev(v), cp.dev(vmax)
    state = {"exp_avg": types.SimpleNamespace(_data=md),
             "exp_avg_sq": types.SimpleNamespace(_data=vd),
             "max_exp_avg_sq": types.SimpleNamespace(_data=vmd)}
    assert adam._fused_step(xd, cp.dev(g), state, group, 0.01, 3)

    p = torch.tensor(x.astype(np.float64), requires_grad=True)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = cls([p], lr=0.01, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=amsgrad,
              foreach=False)
    opt.state[p] = {"step": torch.tensor(2.0), "exp_avg": torch.tensor(m.astype(np.float64)),
                    "exp_avg_sq": torch.tensor(v.astype(np.float64)),
                    "max_exp_avg_sq": torch.tensor(vmax.astype(np.float64))}
    p.grad = torch.tensor(g.astype(np.float64))
    opt.step()
    np.testing.assert_allclose(host(xd), p.detach().numpy(), **tol(dtype))
    np.testing.assert_allclose(host(md), opt.state[p]["exp_avg"].numpy(), **tol(dtype))
    np.testing.assert_allclose(host(vd), opt.state[p]["exp_avg_sq"].numpy(), **tol(dtype))
    if amsgrad:
        np.testing.assert_allclose(host(vmd), opt.state[p]["max_exp_avg_sq"].numpy(),
                                   **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov"])
def test_cuda_kernel_sgd(cp, kind, dtype):
    """A step of ember.optim.sgd's fused path (after the first, with a momentum buffer)
    against torch.optim.SGD's."""
    sgd = importlib.import_module("ember.optim.sgd")
    rng = np.random.default_rng(7)
    x, g, buf = rand(rng, SHAPE, dtype), rand(rng, SHAPE, dtype), rand(rng, SHAPE, dtype)
    momentum = 0.0 if kind == "sgd" else 0.9
    dampening = 0.0 if kind == "nesterov" else 0.2 * (kind == "momentum")
    h = types.SimpleNamespace(lr=0.05, weight_decay=0.01, momentum=momentum,
                              dampening=dampening, nesterov=kind == "nesterov", maximize=False)
    xd, bufd = cp.dev(x), cp.dev(buf)
    assert sgd._fused_step(xd, cp.dev(g), None if kind == "sgd" else bufd, h)

    p = torch.tensor(x.astype(np.float64), requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.05, momentum=momentum, dampening=dampening,
                          weight_decay=0.01, nesterov=kind == "nesterov", foreach=False)
    if kind != "sgd":
        opt.state[p] = {"momentum_buffer": torch.tensor(buf.astype(np.float64))}
    p.grad = torch.tensor(g.astype(np.float64))
    opt.step()
    np.testing.assert_allclose(host(xd), p.detach().numpy(), **tol(dtype))
    if kind != "sgd":
        np.testing.assert_allclose(host(bufd), opt.state[p]["momentum_buffer"].numpy(),
                                   **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_kernel_relu_backward(cp, dtype):
    """0 where the output is <= 0 (or -0.0), g elsewhere and at a NaN output; a transposed
    pair too."""
    rng = np.random.default_rng(8)
    y = np.maximum(rand(rng, SHAPE, dtype), 0)
    y[0, :4] = [np.nan, -0.0, 0.0, 1.0]
    g = rand(rng, SHAPE, dtype)
    ref = np.where(y <= 0, 0, g)
    k = ck.kernel("relu_backward")
    np.testing.assert_array_equal(host(k(cp.dev(g), cp.dev(y))), ref)
    np.testing.assert_array_equal(host(k(cp.dev(g).T, cp.dev(y).T)), ref.T)
