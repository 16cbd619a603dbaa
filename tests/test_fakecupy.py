"""The CPU fake of CuPy (tests/fakecupy.py) keeps CuPy's traps for NumPy-minded code."""
import sys

import numpy as np
import pytest

from tests import fakecupy as cp

NO_IMPLICIT = "Implicit conversion to a NumPy array is not allowed"


@pytest.fixture
def installed():
    """`import cupy` gives the fake inside the test; sys.modules is restored after."""
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in ("cupy", "cupyx")}
    module = cp.install(force=True)
    yield module
    for name in [k for k in sys.modules if k.split(".")[0] in ("cupy", "cupyx")]:
        del sys.modules[name]
    sys.modules.update(saved)


def test_install_registers_modules(installed):
    import cupy
    import cupyx.scipy.special
    from cupy.lib.stride_tricks import as_strided
    assert cupy is installed is cp and cupy.__fake__ and cupy.__version__ == "14.2.0-fake"
    assert type(cupy.zeros(3)) is cupy.ndarray and type(cupy.zeros(3)).__module__ == "cupy"
    assert callable(as_strided) and cupyx.scipy.special.erf(cupy.zeros(1)).item() == 0


def test_dispatch_returns_fakes():
    a = cp.arange(6.0).reshape(2, 3)
    for result in (np.exp(a), a + 1, np.concatenate([a, a]), np.where(a > 2, a, 0),
                   np.linalg.inv(a[:, :2] + cp.eye(2)), a.sum(), a[0, 0], np.sum(a)):
        assert type(result) is cp.ndarray
    assert a.sum().ndim == 0 and float(a.sum()) == 15.0    # 0-d arrays, not scalars
    q, r = np.linalg.qr(a.T)
    assert type(q) is cp.ndarray and type(r) is cp.ndarray
    assert type(np.multiply.outer(cp.arange(2), cp.arange(3))) is cp.ndarray
    assert np.add.reduce(a, axis=0).tolist() == [3.0, 5.0, 7.0]
    assert cp.exp(0.0).shape == () and type(cp.exp(0.0)) is cp.ndarray


@pytest.mark.parametrize("op", [
    lambda a, h: a + h, lambda a, h: h * a, lambda a, h: np.add(a, h),
    lambda a, h: np.concatenate([a, h]), lambda a, h: np.where(a > 0, h, a),
    lambda a, h: cp.maximum(a, h), lambda a, h: np.dot(a, h), lambda a, h: cp.stack([a, h]),
    lambda a, h: np.add(a, a, out=h), lambda a, h: a + np.float64(1)[()] * h,
])
def test_mixing_with_numpy_arrays_raises(op):
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        op(cp.ones(3), np.ones(3))


def test_numpy_scalars_and_lists():
    a = cp.ones(3, dtype=np.float32)
    assert (a + np.float32(2)).dtype == np.float32 and (a * 2.5).tolist() == [2.5] * 3
    with pytest.raises(TypeError, match="Unsupported type <class 'list'>"):
        cp.add(a, [1, 2, 3])


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda a: np.ascontiguousarray(a),
                                     lambda a: np.lib.stride_tricks.as_strided(a, (2,), (8,))])
def test_implicit_conversion_raises(convert):
    with pytest.raises(TypeError, match=NO_IMPLICIT):
        convert(cp.arange(3.0))


def test_explicit_conversion():
    a = cp.arange(3.0)
    host = a.get()
    assert type(host) is np.ndarray and host.tolist() == [0.0, 1.0, 2.0]
    host[0] = 9                                       # a copy
    assert a[0].item() == 0 and type(cp.asnumpy(a)) is np.ndarray
    assert float(a[1]) == 1.0 and int(a[2]) == 2 and bool(a[1])
    assert [0, 1, 2][cp.arange(3)[1]] == 1
    assert a.tolist() == [0.0, 1.0, 2.0] and a.item(1) == 1.0
    assert cp.asarray(a) is a and cp.asarray(a, dtype=np.float32).dtype == np.float32
    h = np.zeros(2)
    b = cp.asarray(h)
    h[0] = 1                                          # the device copy is separate
    assert b.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError):
        bool(a)


def test_views_share_memory():
    a = cp.zeros((2, 3))
    v = a.reshape(-1)
    v[0] = 5
    t = a.T
    t[2, 1] = 7
    assert a[0, 0].item() == 5 and a[1, 2].item() == 7
    assert v.base is a and a.base is None
    assert np.shares_memory(a, v) and cp.shares_memory(a, t) and not cp.shares_memory(a, a.copy())
    assert a.data.ptr == v.data.ptr and a.device.id == 0
    assert a.T.flags.f_contiguous and not a.T.flags.c_contiguous
    s = a[0]
    s += 1                                            # in place through a view
    assert a[0].tolist() == [6.0, 1.0, 1.0]


def test_indexing():
    a = cp.arange(10)
    assert a[np.array([1, 3])].tolist() == [1, 3]        # host index arrays are accepted
    assert a[cp.asarray([2, 4])].tolist() == [2, 4] and a[a > 7].tolist() == [8, 9]
    assert a[None, ..., 1:3].shape == (1, 2) and type(a[3]) is cp.ndarray
    a[0] = 100
    a[cp.asarray([1, 2])] = cp.asarray([-1, -2])
    a[np.int64(3)] = np.int64(30)
    a[4] = np.array(40)                                  # 0-d host arrays are scalars
    assert a[:5].tolist() == [100, -1, -2, 30, 40]
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[:2] = np.array([1, 2])
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a.fill(np.ones(10))
    assert [x.item() for x in cp.arange(3)] == [0, 1, 2] and len(a) == 10


def test_ufunc_methods():
    a = cp.zeros(3)
    assert np.add.at(a, cp.asarray([0, 0, 2]), 1.0) is None
    with pytest.raises(TypeError, match="NotImplemented"):   # host index arrays: as CuPy 14.2
        np.add.at(a, np.array([0]), 1.0)
    with pytest.raises(TypeError):
        np.exp(a, where=a > 0)
    with pytest.raises(TypeError):
        np.max(a, initial=0)
    assert not hasattr(a.flags, "writeable")
    assert a.tolist() == [2.0, 0.0, 1.0]                # in place on the fake's buffer
    cp.cupyx.scatter_add(a, cp.asarray([1]), cp.ones(1))
    assert a.tolist() == [2.0, 1.0, 1.0]
    with pytest.raises(NotImplementedError):
        np.maximum.accumulate(cp.asarray([1, 3, 2]))
    with pytest.raises(TypeError):
        np.add.at(a, (cp.asarray([0]),), 1.0)
    with pytest.raises(NotImplementedError, match="`cupy_logaddexp.accumulate` is not supported"):
        np.logaddexp.accumulate(a)
    with pytest.raises(NotImplementedError, match="`cupy_multiply.at` is not supported"):
        np.multiply.at(a, [0], 2.0)
    with pytest.raises(AttributeError, match="'tuple' object has no attribute 'ndim'"):
        np.lexsort((a, a))


def test_inplace_and_out():
    a = cp.ones(3)
    b = a
    a += 1
    a *= cp.full(3, 2.0)
    assert a is b and a.tolist() == [4.0] * 3
    out = cp.empty(3)
    assert np.add(a, 1, out=out) is out and np.sum(cp.ones((2, 3)), axis=0, out=out) is out


def test_stride_tricks():
    a = cp.arange(5.0)
    w = np.lib.stride_tricks.sliding_window_view(a, 3)
    assert type(w) is cp.ndarray and w.shape == (3, 3)
    s = cp.lib.stride_tricks.as_strided(a, (2, 2), (8, 8))
    assert s.tolist() == [[0.0, 1.0], [1.0, 2.0]] and cp.shares_memory(s, a)
    c = cp.ascontiguousarray(a[::2])
    assert c.flags.c_contiguous and c.tolist() == [0.0, 2.0, 4.0]


def test_namespace_types_are_numpys():
    assert cp.float32 is np.float32 and cp.dtype is np.dtype and cp.newaxis is None
    assert cp.pi == np.pi and cp.zeros(2, cp.int64).dtype == np.int64
    assert cp.get_array_module(cp.ones(1)) is cp and cp.get_array_module(np.ones(1)) is np
    assert cp.linalg.LinAlgError is np.linalg.LinAlgError


def test_linalg_does_not_raise_unless_asked():
    singular = cp.zeros((2, 2))
    assert bool(cp.isnan(cp.linalg.inv(singular)).all())
    with cp.cupyx.errstate(linalg="raise"), pytest.raises(np.linalg.LinAlgError):
        cp.linalg.inv(singular)
    assert cp.linalg.solve(cp.eye(2) * 2, cp.ones(2)).tolist() == [0.5, 0.5]


def test_random():
    g = cp.random.default_rng(0)
    assert type(g.standard_normal(3)) is cp.ndarray and g.integers(0, 5, 4).shape == (4,)
    x, y = cp.random.default_rng(1).random(3), cp.random.default_rng(1).random(3)
    assert (x == y).all()
    cp.random.seed(2)
    assert cp.random.randn(2, 2).shape == (2, 2) and type(cp.random.rand()) is cp.ndarray


def test_cuda_api():
    cuda = cp.cuda
    assert cuda.is_available() and cuda.runtime.getDeviceCount() == 1
    props = cuda.runtime.getDeviceProperties(0)
    assert props["name"] == b"FakeGPU" and (props["major"], props["minor"]) == (9, 0)
    with cuda.Device(0) as dev:
        assert dev.id == 0 and dev.compute_capability == "90"
        dev.synchronize()
    free, total = cuda.Device().mem_info
    assert 0 < free <= total
    stream = cuda.Stream(non_blocking=True)
    with stream:
        assert cuda.get_current_stream() is stream
    assert cuda.get_current_stream() is cuda.Stream.null
    start, end = cuda.Event(), stream.record()
    start.record()
    end.record()
    assert cuda.get_elapsed_time(start, end) >= 0 and end.query()
    pool = cp.get_default_memory_pool()
    pool.free_all_blocks()
    assert pool.used_bytes() == 0


def test_no_kernels(monkeypatch):
    """ReductionKernel and fuse never build; ElementwiseKernel, RawKernel and RawModule run
    on the CPU emulator (tests/cuda_emu.py), and raise as the others where it cannot run
    (EMBER_CUDA_EMU=0, or no g++), so that callers take their fallbacks."""
    for make in (cp.ReductionKernel, cp.fuse):
        with pytest.raises(NotImplementedError, match="fakecupy: no kernels"):
            make("x", "y", "z")
    monkeypatch.setenv("EMBER_CUDA_EMU", "0")
    for make in (cp.ElementwiseKernel, cp.RawKernel):
        with pytest.raises(NotImplementedError, match="fakecupy: no kernels"):
            make("T x", "T y", "y = x;")
    with pytest.raises(NotImplementedError, match="fakecupy: no kernels"):
        cp.RawModule(code="", name_expressions=["f<float>"])


def test_kernels_on_the_emulator():
    """A kernel launch takes fakes (never host arrays) and is no host sync."""
    from tests import cuda_emu
    if not cuda_emu.available():
        pytest.skip("tests/cuda_emu.py needs g++")
    double = cp.ElementwiseKernel("T x", "T y", "y = 2 * x;", "double_it")
    x = cp.arange(5, dtype=np.float32)
    out = cp.empty(5, dtype=np.float32)
    before = cp.host_syncs()
    assert double(x, out) is out and type(double(x)) is cp.ndarray
    fill = cp.RawKernel(r'''extern "C" __global__ void fill(float* y, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) y[i] = (float)i;
    }''', "fill")
    fill((2,), (4,), (out, np.int32(5)))
    assert cp.host_syncs() == before
    assert out.get().tolist() == [0, 1, 2, 3, 4] and double(x).get().tolist() == [0, 2, 4, 6, 8]
    with pytest.raises(TypeError):
        double(np.arange(5, dtype=np.float32))
    with pytest.raises(TypeError):
        fill((2,), (4,), (np.zeros(5, np.float32), np.int32(5)))


def test_new_memory_is_garbage(monkeypatch):
    """empty, empty_like (CuPy's and NumPy's on a fake), ndarray() and the outputs a kernel
    allocates hold NaN or 0x5A5A... (never NumPy's zeros), so that a read of memory nobody
    wrote fails every time; EMBER_FAKE_CUDA_POISON=0 turns it off."""
    from tests import cuda_emu
    big = {np.dtype(t): int.from_bytes(b"\x5a" * np.dtype(t).itemsize, "little")
           for t in (np.int32, np.int64, np.uint8)}
    for dt in (np.float32, np.float64, np.complex64, np.int32, np.int64, np.uint8, np.bool_):
        like = cp.zeros((2, 3), dtype=dt)
        for a in (cp.empty((2, 3), dtype=dt), cp.empty_like(like), np.empty_like(like),
                  cp.empty_like(np.zeros(3, dt)), cp.ndarray((4,), dt),
                  cp.empty((3, 2), dtype=dt, order="F")):
            assert type(a) is cp.ndarray and a.dtype == dt
            v = a.get()
            if v.dtype.kind in "fc":
                assert np.isnan(v).all()
            elif v.dtype.kind == "b":
                assert v.all()
            else:
                assert (v == big[v.dtype]).all()
    assert np.isnan(cp.cupyx.empty_pinned(3)).all()
    if cuda_emu.available():
        keep = cp.ElementwiseKernel("T x", "T y", "if (x > 0) y = x;", "keep_positive")
        assert np.isnan(keep(cp.asarray([1.0, -1.0])).get()[1])
    monkeypatch.setenv("EMBER_FAKE_CUDA_POISON", "0")
    assert cuda_emu.garbage(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_special_functions():
    sp = cp.cupyx.scipy.special
    x = cp.asarray([0.1, 0.5, 0.9], dtype=np.float32)
    assert sp.erf(x).dtype == np.float32
    np.testing.assert_allclose(sp.erf(sp.erfinv(x)).get(), x.get(), rtol=1e-6)
    np.testing.assert_allclose(sp.ndtr(sp.ndtri(cp.asarray([1e-20, 0.3]))).get(), [1e-20, 0.3])
    np.testing.assert_allclose(sp.digamma(cp.asarray([1.0])).get(), [-0.5772156649015329])
    np.testing.assert_allclose(sp.polygamma(1, cp.asarray([1.0])).get(), [np.pi**2 / 6])
    assert sp.gammaln(cp.asarray([0.0])).item() == np.inf
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        sp.erf(np.ones(2))
