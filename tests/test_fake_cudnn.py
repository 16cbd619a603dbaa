"""The CPU fake of libcudnn (tests/fake_cudnn.c) against NumPy references: the three
convolution directions, cudnnAddTensor, cudnnConvolutionBackwardBias and batch
normalization (forward training and inference, backward; running statistics also against
torch) in float32, float64, half and bfloat16 with any strides; the algorithm lists and
workspaces; the validation; the test helpers. Two local checks compare it with the real
cuDNN 9 headers and library where they lie in /tmp/cudnn_dl (not in CI)."""
import ctypes
import itertools
import shutil
import subprocess
import zlib
from pathlib import Path

import ml_dtypes
import numpy
import pytest

from . import fake_cudnn

SUCCESS, BAD_PARAM, NOT_SUPPORTED = 0, 2000, 3000
FLOAT, DOUBLE, HALF, INT8, INT32, UINT8, BFLOAT16 = 0, 1, 2, 3, 4, 6, 9
NCHW, NHWC, NCHW_VECT_C = 0, 1, 2
CONVOLUTION, CROSS_CORRELATION = 0, 1
DEFAULT_MATH, TENSOR_OP_MATH, FMA_MATH = 0, 1, 3
NON_DETERMINISTIC, DETERMINISTIC = 0, 1
PER_ACTIVATION, SPATIAL, SPATIAL_PERSISTENT = 0, 1, 2

DTYPES = {"float32": (numpy.float32, FLOAT), "float64": (numpy.float64, DOUBLE),
          "float16": (numpy.float16, HALF), "bfloat16": (ml_dtypes.bfloat16, BFLOAT16)}

REAL_CUDNN = Path("/tmp/cudnn_dl/x/nvidia/cudnn")

P, INT, SIZE, DOUBLE_ARG = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t, ctypes.c_double
INTS = ctypes.POINTER(ctypes.c_int)
_SIGNATURES = {
    "cudnnCreate": [P], "cudnnDestroy": [P], "cudnnSetStream": [P, P],
    "cudnnGetStream": [P, P],
    "cudnnCreateTensorDescriptor": [P], "cudnnDestroyTensorDescriptor": [P],
    "cudnnSetTensorNdDescriptor": [P, INT, INT, INTS, INTS],
    "cudnnGetTensorNdDescriptor": [P, INT, P, P, INTS, INTS],
    "cudnnCreateFilterDescriptor": [P], "cudnnDestroyFilterDescriptor": [P],
    "cudnnSetFilterNdDescriptor": [P, INT, INT, INT, INTS],
    "cudnnCreateConvolutionDescriptor": [P], "cudnnDestroyConvolutionDescriptor": [P],
    "cudnnSetConvolutionNdDescriptor": [P, INT, INTS, INTS, INTS, INT, INT],
    "cudnnSetConvolutionGroupCount": [P, INT], "cudnnSetConvolutionMathType": [P, INT],
    "cudnnGetConvolutionNdForwardOutputDim": [P, P, P, INT, INTS],
    "cudnnGetConvolutionForwardAlgorithm_v7": [P, P, P, P, P, INT, INTS, P],
    "cudnnGetConvolutionBackwardDataAlgorithm_v7": [P, P, P, P, P, INT, INTS, P],
    "cudnnGetConvolutionBackwardFilterAlgorithm_v7": [P, P, P, P, P, INT, INTS, P],
    "cudnnGetConvolutionForwardWorkspaceSize": [P, P, P, P, P, INT, P],
    "cudnnGetConvolutionBackwardDataWorkspaceSize": [P, P, P, P, P, INT, P],
    "cudnnGetConvolutionBackwardFilterWorkspaceSize": [P, P, P, P, P, INT, P],
    "cudnnConvolutionForward": [P, P, P, P, P, P, P, INT, P, SIZE, P, P, P],
    "cudnnConvolutionBackwardData": [P, P, P, P, P, P, P, INT, P, SIZE, P, P, P],
    "cudnnConvolutionBackwardFilter": [P, P, P, P, P, P, P, INT, P, SIZE, P, P, P],
    "cudnnAddTensor": [P, P, P, P, P, P, P],
    "cudnnConvolutionBackwardBias": [P, P, P, P, P, P, P],
    "cudnnDeriveBNTensorDescriptor": [P, P, INT],
    "cudnnBatchNormalizationForwardTraining":
        [P, INT, P, P, P, P, P, P, P, P, P, DOUBLE_ARG, P, P, DOUBLE_ARG, P, P],
    "cudnnBatchNormalizationForwardInference":
        [P, INT, P, P, P, P, P, P, P, P, P, P, P, DOUBLE_ARG],
    "cudnnBatchNormalizationBackward":
        [P, INT, P, P, P, P, P, P, P, P, P, P, P, P, P, P, DOUBLE_ARG, P, P],
}


class Perf(ctypes.Structure):
    """cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t"""
    _fields_ = [("algo", ctypes.c_int), ("status", ctypes.c_int), ("time", ctypes.c_float),
                ("memory", ctypes.c_size_t), ("determinism", ctypes.c_int),
                ("mathType", ctypes.c_int), ("reserved", ctypes.c_int * 3)]


def load(lib_path):
    lib = ctypes.CDLL(lib_path)
    for name, argtypes in _SIGNATURES.items():
        getattr(lib, name).argtypes = argtypes
        getattr(lib, name).restype = ctypes.c_int
    lib.cudnnGetVersion.restype = ctypes.c_size_t
    lib.cudnnGetErrorString.argtypes = [ctypes.c_int]
    lib.cudnnGetErrorString.restype = ctypes.c_char_p
    return lib


def ints(values):
    return (ctypes.c_int * max(1, len(values)))(*values)


@pytest.fixture(scope="module")
def lib():
    lib_path = fake_cudnn.path()
    if lib_path is None:
        pytest.skip("gcc not found: the fake libcudnn cannot be built")
    return load(lib_path)


@pytest.fixture(scope="module")
def helpers(lib):
    return fake_cudnn.helpers()


class Session:
    """A handle and the descriptors a test makes, destroyed at its end."""

    def __init__(self, lib):
        self.lib = lib
        self.handle = self._create("cudnnCreate")
        self.made = [("cudnnDestroy", self.handle)]

    def _create(self, fn):
        p = ctypes.c_void_p()
        assert getattr(self.lib, fn)(ctypes.byref(p)) == SUCCESS
        return p

    def _keep(self, create, destroy):
        p = self._create(create)
        self.made.append((destroy, p))
        return p

    def tensor(self, a, code=None, dims=None, strides=None):
        """A tensor descriptor of array `a` (its dims and strides, in elements)."""
        t = self._keep("cudnnCreateTensorDescriptor", "cudnnDestroyTensorDescriptor")
        dims = a.shape if dims is None else dims
        strides = [s // a.itemsize for s in a.strides] if strides is None else strides
        code = DTYPES[a.dtype.name][1] if code is None else code
        status = self.lib.cudnnSetTensorNdDescriptor(t, code, len(dims), ints(dims),
                                                      ints(strides))
        assert status == SUCCESS
        return t

    def filter(self, w, code=None):
        f = self._keep("cudnnCreateFilterDescriptor", "cudnnDestroyFilterDescriptor")
        assert w.flags.c_contiguous
        code = DTYPES[w.dtype.name][1] if code is None else code
        assert self.lib.cudnnSetFilterNdDescriptor(f, code, NCHW, w.ndim, ints(w.shape)) == 0
        return f

    def conv(self, pad, stride, dilation, mode=CROSS_CORRELATION, compute=FLOAT, groups=1,
             math=DEFAULT_MATH):
        c = self._keep("cudnnCreateConvolutionDescriptor", "cudnnDestroyConvolutionDescriptor")
        status = self.lib.cudnnSetConvolutionNdDescriptor(
            c, len(pad), ints(pad), ints(stride), ints(dilation), mode, compute)
        assert status == SUCCESS
        assert self.lib.cudnnSetConvolutionGroupCount(c, groups) == SUCCESS
        assert self.lib.cudnnSetConvolutionMathType(c, math) == SUCCESS
        return c

    def derived(self, x_desc, mode):
        """The batch normalization parameters' descriptor for x and `mode`."""
        t = self._keep("cudnnCreateTensorDescriptor", "cudnnDestroyTensorDescriptor")
        assert self.lib.cudnnDeriveBNTensorDescriptor(t, x_desc, mode) == SUCCESS
        return t

    def close(self):
        for destroy, p in reversed(self.made):
            assert getattr(self.lib, destroy)(p) == SUCCESS


@pytest.fixture
def session(lib, helpers):
    before = helpers.live_objects()
    s = Session(lib)
    yield s
    s.close()
    assert helpers.live_objects() == before


def ptr(a):
    return a.ctypes.data   # the address of element [0, 0, ...], whatever the strides


def scalar(value, np_dtype):
    """alpha or beta: double for double data, float otherwise."""
    if numpy.dtype(np_dtype) == numpy.float64:
        return ctypes.byref(ctypes.c_double(value))
    return ctypes.byref(ctypes.c_float(value))


# ------------------------------------------------------------------ NumPy references

def _windows(w_spatial, stride, dilation, out):
    """For each filter position: the slices of the padded input it meets, one per output."""
    for pos in numpy.ndindex(*w_spatial):
        yield pos, (slice(None), slice(None)) + tuple(
            slice(p * d, p * d + s * (o - 1) + 1, s)
            for p, d, s, o in zip(pos, dilation, stride, out))


def _flip(w):
    """The filter flipped along its spatial axes: CUDNN_CONVOLUTION is cross-correlation
    with the filter flipped."""
    return w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)]


def _padded(a, pad):
    return numpy.pad(a, [(0, 0), (0, 0)] + [(p, p) for p in pad])


def reference_forward(x, w, pad, stride, dilation, groups, mode):
    x, w = numpy.asarray(x, numpy.float64), numpy.asarray(w, numpy.float64)
    w = _flip(w) if mode == CONVOLUTION else w
    xp = _padded(x, pad)
    (n, c), k = x.shape[:2], w.shape[0]
    cg, kg = c // groups, k // groups
    out = conv_output_shape(x.shape, w.shape, pad, stride, dilation)[2:]
    y = numpy.zeros((n, k, *out))
    for pos, window in _windows(w.shape[2:], stride, dilation, out):
        patch = xp[window]
        for g in range(groups):
            y[:, g * kg:(g + 1) * kg] += numpy.einsum(
                "nc...,kc->nk...", patch[:, g * cg:(g + 1) * cg], w[g * kg:(g + 1) * kg, :, *pos])
    return y


def reference_data(dy, w, x_shape, pad, stride, dilation, groups, mode):
    dy, w = numpy.asarray(dy, numpy.float64), numpy.asarray(w, numpy.float64)
    w = _flip(w) if mode == CONVOLUTION else w
    dxp = _padded(numpy.zeros(x_shape), pad)
    cg, kg = x_shape[1] // groups, w.shape[0] // groups
    for pos, window in _windows(w.shape[2:], stride, dilation, dy.shape[2:]):
        for g in range(groups):
            dxp[window][:, g * cg:(g + 1) * cg] += numpy.einsum(
                "nk...,kc->nc...", dy[:, g * kg:(g + 1) * kg], w[g * kg:(g + 1) * kg, :, *pos])
    return dxp[(slice(None), slice(None)) + tuple(slice(p, p + s)
                                                  for p, s in zip(pad, x_shape[2:]))]


def reference_filter(x, dy, w_shape, pad, stride, dilation, groups, mode):
    x, dy = numpy.asarray(x, numpy.float64), numpy.asarray(dy, numpy.float64)
    xp = _padded(x, pad)
    cg, kg = w_shape[1], w_shape[0] // groups
    dw = numpy.zeros(w_shape)
    for pos, window in _windows(w_shape[2:], stride, dilation, dy.shape[2:]):
        patch = xp[window]
        for g in range(groups):
            xs = patch[:, g * cg:(g + 1) * cg].reshape(len(x), cg, -1)
            dys = dy[:, g * kg:(g + 1) * kg].reshape(len(x), kg, -1)
            dw[g * kg:(g + 1) * kg, :, *pos] = numpy.einsum("ncs,nks->kc", xs, dys)
    return _flip(dw) if mode == CONVOLUTION else dw


# ------------------------------------------------------------------ convolutions

# (x shape, w shape, pad, stride, dilation, groups, mode)
CASES = {
    "2d": ((2, 3, 6, 5), (4, 3, 3, 2), (1, 0), (1, 1), (1, 1), 1, CROSS_CORRELATION),
    "2d-stride-dilation-conv": ((2, 3, 9, 8), (2, 3, 3, 2), (2, 1), (2, 3), (2, 1), 1,
                                CONVOLUTION),
    "2d-groups": ((1, 6, 5, 5), (6, 2, 3, 3), (1, 1), (2, 1), (1, 2), 3, CROSS_CORRELATION),
    "1d-as-4d": ((2, 4, 1, 11), (6, 2, 1, 3), (0, 2), (1, 2), (1, 3), 2, CROSS_CORRELATION),
    "1d-as-3d": ((2, 2, 7), (3, 2, 2), (1,), (2,), (1,), 1, CONVOLUTION),
    "3d": ((1, 2, 4, 5, 3), (2, 1, 2, 3, 2), (1, 0, 1), (1, 2, 1), (2, 1, 1), 2,
           CONVOLUTION),
    "depthwise": ((2, 3, 4, 4), (3, 1, 3, 3), (1, 1), (1, 1), (1, 1), 3, CROSS_CORRELATION),
}

TOLERANCE = {"float32": 2e-6, "float64": 1e-13, "float16": 2 ** -9, "bfloat16": 2 ** -6}


def strided(shape, dtype, rng, layout):
    """Random values of `shape` in memory laid out as `layout` says: 'c' (C order),
    'channels_last', 'reversed' (the last axis's stride negative) or 'gaps' (a strided
    slice of a larger array)."""
    values = rng.standard_normal(shape).astype(dtype)
    if layout == "c":
        return numpy.ascontiguousarray(values)
    if layout == "channels_last":
        order = (0, *range(2, len(shape)), 1)
        base = numpy.empty([shape[i] for i in order], dtype)
        out = base.transpose(numpy.argsort(order))
    elif layout == "reversed":
        out = numpy.empty(shape, dtype)[..., ::-1]
    else:   # gaps
        base = numpy.empty([2 * s + 1 for s in shape], dtype)
        out = base[tuple(slice(1, None, 2) for _ in shape)]
    out[...] = values
    assert out.shape == tuple(shape)
    return out


def conv_output_shape(x_shape, w_shape, pad, stride, dilation):
    return (x_shape[0], w_shape[0]) + tuple(
        (i + 2 * p - (f - 1) * d - 1) // s + 1
        for i, f, p, s, d in zip(x_shape[2:], w_shape[2:], pad, stride, dilation))


def run_direction(lib, s, direction, case, dtype_name, layout, alpha, beta, rng):
    """Runs one convolution direction into a (garbage- or value-filled) output and returns
    (result, expected)."""
    x_shape, w_shape, pad, stride, dilation, groups, mode = case
    np_dtype, _ = DTYPES[dtype_name]
    y_shape = conv_output_shape(x_shape, w_shape, pad, stride, dilation)
    x = strided(x_shape, np_dtype, rng, layout)
    w = numpy.ascontiguousarray(rng.standard_normal(w_shape).astype(np_dtype))
    dy = strided(y_shape, np_dtype, rng, "channels_last" if layout == "c" else "c")
    compute = DOUBLE if dtype_name == "float64" else FLOAT
    conv = s.conv(pad, stride, dilation, mode, compute, groups)
    if direction == "forward":
        out, old = strided(y_shape, np_dtype, rng, layout), None
        exact = reference_forward(x, w, pad, stride, dilation, groups, mode)
    elif direction == "data":
        out = strided(x_shape, np_dtype, rng, "gaps" if layout == "c" else "c")
        exact = reference_data(dy, w, x_shape, pad, stride, dilation, groups, mode)
    else:
        out = numpy.ascontiguousarray(rng.standard_normal(w_shape).astype(np_dtype))
        exact = reference_filter(x, dy, w_shape, pad, stride, dilation, groups, mode)
    if beta == 0:
        out[...] = numpy.nan   # cuDNN overwrites: garbage must not leak in
    old = numpy.asarray(out, numpy.float64)
    expected = alpha * exact + (beta * old if beta else 0)
    a, b = scalar(alpha, np_dtype), scalar(beta, np_dtype)
    if direction == "forward":
        status = lib.cudnnConvolutionForward(
            s.handle, a, s.tensor(x), ptr(x), s.filter(w), ptr(w), conv, 0, None, 0, b,
            s.tensor(out), ptr(out))
    elif direction == "data":
        status = lib.cudnnConvolutionBackwardData(
            s.handle, a, s.filter(w), ptr(w), s.tensor(dy), ptr(dy), conv, 1, None, 0, b,
            s.tensor(out), ptr(out))
    else:
        status = lib.cudnnConvolutionBackwardFilter(
            s.handle, a, s.tensor(x), ptr(x), s.tensor(dy), ptr(dy), conv, 1, None, 0, b,
            s.filter(out), ptr(out))
    assert status == SUCCESS
    return numpy.asarray(out, numpy.float64), expected


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("direction", ["forward", "data", "filter"])
def test_convolution(lib, session, direction, case, dtype_name):
    rng = numpy.random.default_rng(zlib.crc32(f"{direction} {case} {dtype_name}".encode()))
    for layout, alpha, beta in (("c", 1.0, 0.0), ("channels_last", 0.5, 0.25),
                                ("reversed", -2.0, 0.0), ("gaps", 1.5, -1.0)):
        got, expected = run_direction(lib, session, direction, CASES[case], dtype_name,
                                      layout, alpha, beta, rng)
        tol = TOLERANCE[dtype_name]
        numpy.testing.assert_allclose(got, expected, rtol=tol, atol=tol * 4,
                                      err_msg=f"{layout} alpha={alpha} beta={beta}")


def test_convolution_mode_flips_the_filter(lib, session):
    """A one-dimensional check written out: CUDNN_CONVOLUTION is a true convolution,
    CUDNN_CROSS_CORRELATION (PyTorch's conv) slides the filter as it is."""
    x = numpy.array([[[1, 2, 3, 4]]], numpy.float64)
    w = numpy.array([[[1, 10]]], numpy.float64)
    results = {}
    for mode in (CONVOLUTION, CROSS_CORRELATION):
        y = numpy.full((1, 1, 3), numpy.nan)
        status = session.lib.cudnnConvolutionForward(
            session.handle, scalar(1.0, numpy.float64), session.tensor(x), ptr(x),
            session.filter(w), ptr(w), session.conv((0,), (1,), (1,), mode, DOUBLE), 0, None,
            0, scalar(0.0, numpy.float64), session.tensor(y), ptr(y))
        assert status == SUCCESS
        results[mode] = y.ravel().tolist()
    assert results[CROSS_CORRELATION] == [21, 32, 43]
    assert results[CONVOLUTION] == [12, 23, 34]


# ------------------------------------------------------------------ cudnnAddTensor

@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("a_shape, c_shape", [
    ((1, 3, 1, 1), (2, 3, 4, 5)),          # a bias
    ((2, 3, 4, 5), (2, 3, 4, 5)),
    ((1, 1, 4, 1), (2, 3, 4, 5)),
    ((1, 2, 1, 1, 1), (2, 2, 3, 2, 2)),    # 5-D
    ((1, 4, 1), (3, 4, 5)),
])
def test_add_tensor(lib, session, dtype_name, a_shape, c_shape):
    np_dtype = DTYPES[dtype_name][0]
    rng = numpy.random.default_rng(len(a_shape) + sum(a_shape))
    for layout, alpha, beta in (("c", 1.0, 0.0), ("channels_last", 0.5, 2.0),
                                ("reversed", -1.0, 1.0), ("gaps", 3.0, 0.0)):
        a = strided(a_shape, np_dtype, rng, "gaps" if layout == "c" else "c")
        c = strided(c_shape, np_dtype, rng, layout)
        if beta == 0:
            c[...] = numpy.nan
        expected = alpha * numpy.asarray(a, numpy.float64) + (
            beta * numpy.asarray(c, numpy.float64) if beta else numpy.zeros(c_shape))
        status = lib.cudnnAddTensor(session.handle, scalar(alpha, np_dtype), session.tensor(a),
                                    ptr(a), scalar(beta, np_dtype), session.tensor(c), ptr(c))
        assert status == SUCCESS
        tol = TOLERANCE[dtype_name]
        numpy.testing.assert_allclose(numpy.asarray(c, numpy.float64), expected, rtol=tol,
                                      atol=tol, err_msg=layout)


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("dy_shape", [(2, 3, 4, 5), (3, 4, 5), (2, 2, 3, 2, 2)])
def test_backward_bias(lib, session, dtype_name, dy_shape):
    np_dtype = DTYPES[dtype_name][0]
    rng = numpy.random.default_rng(len(dy_shape))
    db_shape = tuple(s if i == 1 else 1 for i, s in enumerate(dy_shape))
    for layout, alpha, beta in (("c", 1.0, 0.0), ("channels_last", 0.5, 2.0),
                                ("reversed", -1.0, 1.0), ("gaps", 3.0, 0.0)):
        dy = strided(dy_shape, np_dtype, rng, layout)
        db = strided(db_shape, np_dtype, rng, "gaps" if layout == "c" else "c")
        if beta == 0:
            db[...] = numpy.nan
        sums = numpy.asarray(dy, numpy.float64).sum(
            axis=tuple(i for i in range(len(dy_shape)) if i != 1), keepdims=True)
        expected = alpha * sums + (beta * numpy.asarray(db, numpy.float64) if beta else 0)
        status = lib.cudnnConvolutionBackwardBias(
            session.handle, scalar(alpha, np_dtype), session.tensor(dy), ptr(dy),
            scalar(beta, np_dtype), session.tensor(db), ptr(db))
        assert status == SUCCESS
        tol = TOLERANCE[dtype_name]
        numpy.testing.assert_allclose(numpy.asarray(db, numpy.float64), expected, rtol=tol,
                                      atol=tol * 4, err_msg=layout)


def _rounding_inputs(np_dtype, rng, n=4000):
    """Values whose sums and scalings land on every kind of rounding case: ties, carries
    into the exponent, subnormals, overflow, zeros of both signs, infinities, NaN."""
    info = ml_dtypes.finfo(np_dtype)
    mantissa = rng.integers(0, 2 ** (info.nmant + 1), n)
    exponent = rng.integers(int(info.minexp) - info.nmant, 6, n)
    values = numpy.ldexp(mantissa * rng.choice([-1.0, 1.0], n), exponent - info.nmant)
    big = float(info.max)
    special = [0.0, -0.0, numpy.inf, -numpy.inf, numpy.nan, big, -big, float(info.tiny),
               float(info.smallest_subnormal), 1.0, 1.0 + float(info.eps)]
    return numpy.concatenate([values, special]).astype(np_dtype)


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_stores_round_to_nearest_even(lib, session, dtype_name):
    """Half and bfloat16 results round to nearest even from the float the double result
    rounds to (as a GPU stores float accumulators), as NumPy's float32 -> float16 and
    ml_dtypes' float32 -> bfloat16 casts do: checked bit for bit through cudnnAddTensor
    (C = alpha * A + beta * C), which reads the inputs back too."""
    np_dtype = DTYPES[dtype_name][0]
    rng = numpy.random.default_rng(7)
    a = _rounding_inputs(np_dtype, rng)
    c_start = _rounding_inputs(np_dtype, rng)[rng.permutation(a.size)]
    a = a.reshape(1, 1, 1, -1)
    for alpha, beta in ((1.0, 1.0), (0.5, 0.0), (0.3, 0.0), (1.0, -0.75), (1e4, 1.0)):
        c = c_start.reshape(1, 1, 1, -1).copy()
        with numpy.errstate(all="ignore"):   # infinities, NaN and overflow are the point
            exact = numpy.float64(numpy.float32(alpha)) * a.astype(numpy.float64)
            if beta != 0:
                exact = exact + numpy.float64(numpy.float32(beta)) * c.astype(numpy.float64)
            expected = exact.astype(numpy.float32).astype(np_dtype)
        status = lib.cudnnAddTensor(session.handle, scalar(alpha, np_dtype), session.tensor(a),
                                    ptr(a), scalar(beta, np_dtype), session.tensor(c), ptr(c))
        assert status == SUCCESS
        nan = numpy.isnan(expected)
        numpy.testing.assert_array_equal(numpy.isnan(c), nan)
        got_bits, want_bits = c.view(numpy.uint16)[~nan], expected.view(numpy.uint16)[~nan]
        bad = numpy.flatnonzero(got_bits != want_bits)
        assert bad.size == 0, (alpha, beta, exact[~nan][bad[:5]], c[~nan][bad[:5]],
                               expected[~nan][bad[:5]])


# ------------------------------------------------------------------ batch normalization

def get_tensor(lib, desc, requested=8):
    """cudnnGetTensorNdDescriptor: status, data type, nbDims, and 9 entries of the dims and
    strides arrays (-7 where nothing was written)."""
    data_type, nb = ctypes.c_int(-1), ctypes.c_int(-1)
    dims, strides = ints([-7] * 9), ints([-7] * 9)
    status = lib.cudnnGetTensorNdDescriptor(desc, requested, ctypes.byref(data_type),
                                            ctypes.byref(nb), dims, strides)
    return status, data_type.value, nb.value, list(dims), list(strides)


def bn_param_shape(shape, mode):
    """(1, C, 1, ...) in the spatial modes, (1, C, spatial...) per activation."""
    return tuple(n if i == 1 or (i > 1 and mode == PER_ACTIVATION) else 1
                 for i, n in enumerate(shape))


def bn_param_dtype(np_dtype):
    """The parameters' dtype: float64 for float64 data, float32 otherwise."""
    return numpy.float64 if numpy.dtype(np_dtype) == numpy.float64 else numpy.float32


def bn_axes(ndim, mode):
    return (0,) if mode == PER_ACTIVATION else (0, *range(2, ndim))


def bn_moments(x, mode):
    """x as float64, its mean and its biased variance per parameter (in the parameters'
    shape)."""
    x = numpy.asarray(x, numpy.float64)
    axes = bn_axes(x.ndim, mode)
    return x, x.mean(axes, keepdims=True), x.var(axes, keepdims=True)


def bn_backward_reference(x, dy, scale, mean, invstd, mode):
    """dx, dscale, dbias of y = scale * (x - mean) * invstd + bias, the statistics the
    batch's own."""
    x, dy = numpy.asarray(x, numpy.float64), numpy.asarray(dy, numpy.float64)
    scale, mean, invstd = (numpy.asarray(a, numpy.float64) for a in (scale, mean, invstd))
    axes = bn_axes(x.ndim, mode)
    xhat = (x - mean) * invstd
    dscale, dbias = (dy * xhat).sum(axes, keepdims=True), dy.sum(axes, keepdims=True)
    m = x.size // mean.size
    return invstd * scale * (dy - dbias / m - xhat * dscale / m), dscale, dbias


def as64(a):
    """A float64 copy (never a view: the fake writes into its outputs in place)."""
    return numpy.array(a, numpy.float64)


# x shape, mode, x's layout (the outputs take another)
BN_CASES = {
    "4d-spatial": ((3, 4, 5, 6), SPATIAL, "c"),
    "4d-persistent-channels-last": ((3, 4, 5, 6), SPATIAL_PERSISTENT, "channels_last"),
    "5d-spatial-gaps": ((2, 3, 2, 3, 4), SPATIAL, "gaps"),
    "4d-per-activation-reversed": ((5, 3, 2, 4), PER_ACTIVATION, "reversed"),
    "5d-per-activation": ((4, 2, 2, 3, 2), PER_ACTIVATION, "c"),
}
OTHER_LAYOUT = {"c": "gaps", "channels_last": "c", "gaps": "reversed",
                "reversed": "channels_last"}


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("case", BN_CASES)
def test_batch_norm_training(lib, session, case, dtype_name):
    """y and the running and saved statistics: with beta 0 over NaN garbage in y and all
    four statistics given, then blending into y with none of them (NULL pointers)."""
    shape, mode, layout = BN_CASES[case]
    np_dtype = DTYPES[dtype_name][0]
    p_dtype = bn_param_dtype(np_dtype)
    rng = numpy.random.default_rng(sum(shape) + mode)
    s = session
    x = strided(shape, np_dtype, rng, layout)
    x64, mean, var = bn_moments(x, mode)
    scale, bias = (rng.standard_normal(mean.shape).astype(p_dtype) for _ in range(2))
    xd = s.tensor(x)
    pd = s.derived(xd, mode)
    eps, factor, n = 1e-3, 0.25, x.size // mean.size
    invstd = 1 / numpy.sqrt(var + eps)
    normalized = as64(scale) * (x64 - mean) * invstd + as64(bias)
    tol, p_tol = TOLERANCE[dtype_name], TOLERANCE[numpy.dtype(p_dtype).name]
    for alpha, beta, statistics in ((1.0, 0.0, True), (0.5, -1.5, False)):
        y = strided(shape, np_dtype, rng, OTHER_LAYOUT[layout])
        if beta == 0:
            y[...] = numpy.nan   # cuDNN overwrites: garbage must not leak in
        old = as64(y)
        running = [rng.random(mean.shape).astype(p_dtype) for _ in range(2)]
        start = [as64(a) for a in running]
        saved = [numpy.full(mean.shape, numpy.nan, p_dtype) for _ in range(2)]
        pointers = [ptr(a) if statistics else None for a in running + saved]
        status = lib.cudnnBatchNormalizationForwardTraining(
            s.handle, mode, scalar(alpha, np_dtype), scalar(beta, np_dtype), xd, ptr(x),
            s.tensor(y), ptr(y), pd, ptr(scale), ptr(bias), factor, pointers[0], pointers[1],
            eps, pointers[2], pointers[3])
        assert status == SUCCESS
        expected = alpha * normalized + (beta * old if beta else 0)
        numpy.testing.assert_allclose(as64(y), expected, rtol=tol, atol=tol * 4)
        if statistics:
            unbiased = var * n / (n - 1)
            for got, want in ((running[0], (1 - factor) * start[0] + factor * mean),
                              (running[1], (1 - factor) * start[1] + factor * unbiased),
                              (saved[0], mean), (saved[1], invstd)):
                numpy.testing.assert_allclose(as64(got), want, rtol=p_tol, atol=p_tol)
        else:
            assert all((as64(a) == b).all() for a, b in zip(running, start))


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("case", ["4d-persistent-channels-last", "5d-spatial-gaps",
                                  "4d-per-activation-reversed"])
def test_batch_norm_inference(lib, session, case, dtype_name):
    """y from the given mean and variance; the parameters' descriptor made by hand (the
    derived one's shape and type) serves as well as a derived one."""
    shape, mode, layout = BN_CASES[case]
    np_dtype = DTYPES[dtype_name][0]
    p_dtype = bn_param_dtype(np_dtype)
    rng = numpy.random.default_rng(len(case))
    s = session
    x = strided(shape, np_dtype, rng, layout)
    p_shape = bn_param_shape(shape, mode)
    scale, bias, mean = (rng.standard_normal(p_shape).astype(p_dtype) for _ in range(3))
    var = rng.random(p_shape).astype(p_dtype) + 0.5
    eps = 0.0   # CUDNN_BN_MIN_EPSILON: cuDNN 9 takes it
    normalized = as64(scale) * (as64(x) - as64(mean)) / numpy.sqrt(as64(var)) + as64(bias)
    for alpha, beta in ((1.0, 0.0), (2.0, 0.5)):
        y = strided(shape, np_dtype, rng, OTHER_LAYOUT[layout])
        if beta == 0:
            y[...] = numpy.nan
        old = as64(y)
        status = lib.cudnnBatchNormalizationForwardInference(
            s.handle, mode, scalar(alpha, np_dtype), scalar(beta, np_dtype), s.tensor(x),
            ptr(x), s.tensor(y), ptr(y), s.tensor(scale), ptr(scale), ptr(bias), ptr(mean),
            ptr(var), eps)
        assert status == SUCCESS
        tol = TOLERANCE[dtype_name]
        numpy.testing.assert_allclose(as64(y), alpha * normalized + (beta * old if beta else 0),
                                      rtol=tol, atol=tol * 4)


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("case", BN_CASES)
def test_batch_norm_backward(lib, session, case, dtype_name):
    """dx, dscale and dbias: from the saved statistics with beta 0 over NaN garbage, then
    with none saved (NULL: recomputed from x), blending into the old values."""
    shape, mode, layout = BN_CASES[case]
    np_dtype = DTYPES[dtype_name][0]
    p_dtype = bn_param_dtype(np_dtype)
    rng = numpy.random.default_rng(sum(shape) * 3 + mode)
    s = session
    x = strided(shape, np_dtype, rng, layout)
    dy = strided(shape, np_dtype, rng, OTHER_LAYOUT[layout])
    _, mean, var = bn_moments(x, mode)
    eps = 1e-4
    invstd = 1 / numpy.sqrt(var + eps)
    saved_mean, saved_invstd = mean.astype(p_dtype), invstd.astype(p_dtype)
    scale = rng.standard_normal(mean.shape).astype(p_dtype)
    xd = s.tensor(x)
    pd = s.derived(xd, mode)
    tol, p_tol = TOLERANCE[dtype_name], TOLERANCE[numpy.dtype(p_dtype).name]
    for alphas, betas, use_saved in (((1.0, 1.0), (0.0, 0.0), True),
                                     ((0.5, -1.0), (2.0, 0.5), False)):
        dx = strided(shape, np_dtype, rng, "c" if layout != "c" else "channels_last")
        dscale, dbias = (rng.standard_normal(mean.shape).astype(p_dtype) for _ in range(2))
        if betas[0] == 0:
            dx[...] = numpy.nan
        if betas[1] == 0:
            dscale[...] = dbias[...] = numpy.nan
        olds = [as64(a) for a in (dx, dscale, dbias)]
        statistics = (saved_mean, saved_invstd) if use_saved else (mean, invstd)
        exact = bn_backward_reference(x, dy, scale, *statistics, mode)
        saved = (ptr(saved_mean), ptr(saved_invstd)) if use_saved else (None, None)
        status = lib.cudnnBatchNormalizationBackward(
            s.handle, mode, scalar(alphas[0], np_dtype), scalar(betas[0], np_dtype),
            scalar(alphas[1], np_dtype), scalar(betas[1], np_dtype), xd, ptr(x), s.tensor(dy),
            ptr(dy), s.tensor(dx), ptr(dx), pd, ptr(scale), ptr(dscale), ptr(dbias), eps,
            *saved)
        assert status == SUCCESS
        for got, want, old, alpha, beta, t in (
                (dx, exact[0], olds[0], alphas[0], betas[0], tol),
                (dscale, exact[1], olds[1], alphas[1], betas[1], p_tol),
                (dbias, exact[2], olds[2], alphas[1], betas[1], p_tol)):
            expected = alpha * want + (beta * old if beta else 0)
            numpy.testing.assert_allclose(as64(got), expected, rtol=t, atol=t * 8)


@pytest.mark.parametrize("mode", [SPATIAL, PER_ACTIVATION])
def test_batch_norm_matches_torch(lib, session, mode):
    """Forward training and backward against torch.nn.functional.batch_norm and its
    autograd: y, the running statistics (momentum = exponentialAverageFactor, the running
    variance unbiased), dx, dweight, dbias; per activation is torch's batch norm of the
    (N, C * spatial) view."""
    torch = pytest.importorskip("torch")
    s = session
    rng = numpy.random.default_rng(mode)
    shape = (4, 3, 2, 3, 2) if mode == SPATIAL else (6, 2, 3, 2)
    for np_dtype, tol in ((numpy.float64, 1e-12), (numpy.float32, 2e-6)):
        x = rng.standard_normal(shape).astype(np_dtype) * 3 + 1
        dy = rng.standard_normal(shape).astype(np_dtype)
        p_shape = bn_param_shape(shape, mode)
        scale, bias, run_mean = (rng.standard_normal(p_shape).astype(np_dtype)
                                 for _ in range(3))
        run_var = rng.random(p_shape).astype(np_dtype) + 0.5
        momentum, eps = 0.3, 1e-3

        torch_in = [torch.tensor(a.reshape(-1)) for a in (scale, bias, run_mean, run_var)]
        weight, torch_bias = (t.requires_grad_() for t in torch_in[:2])
        xt = torch.tensor(x, requires_grad=True)
        view = xt if mode == SPATIAL else xt.reshape(shape[0], -1)
        yt = torch.nn.functional.batch_norm(view, torch_in[2], torch_in[3], weight, torch_bias,
                                            training=True, momentum=momentum, eps=eps)
        yt.backward(torch.tensor(dy).reshape(yt.shape))

        y, dx = numpy.empty_like(x), numpy.empty_like(x)
        saved_mean, saved_invstd, dscale, dbias = (numpy.empty(p_shape, np_dtype)
                                                   for _ in range(4))
        one, zero = scalar(1.0, np_dtype), scalar(0.0, np_dtype)
        xd = s.tensor(x)
        pd = s.derived(xd, mode)
        assert lib.cudnnBatchNormalizationForwardTraining(
            s.handle, mode, one, zero, xd, ptr(x), xd, ptr(y), pd, ptr(scale), ptr(bias),
            momentum, ptr(run_mean), ptr(run_var), eps, ptr(saved_mean),
            ptr(saved_invstd)) == SUCCESS
        assert lib.cudnnBatchNormalizationBackward(
            s.handle, mode, one, zero, one, zero, xd, ptr(x), xd, ptr(dy), xd, ptr(dx), pd,
            ptr(scale), ptr(dscale), ptr(dbias), eps, ptr(saved_mean),
            ptr(saved_invstd)) == SUCCESS
        for got, want in ((y, yt), (run_mean, torch_in[2]), (run_var, torch_in[3]),
                          (dx, xt.grad), (dscale, weight.grad), (dbias, torch_bias.grad)):
            numpy.testing.assert_allclose(got.reshape(-1), want.detach().numpy().reshape(-1),
                                          rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_derive_bn_descriptor(lib, session, dtype_name):
    """(1, C, 1, ...) or (1, C, spatial...), contiguous, float (double for double x), for
    x of any strides and dimensions (the compute calls take 4-D and 5-D only)."""
    np_dtype, code = DTYPES[dtype_name]
    want_type = DOUBLE if code == DOUBLE else FLOAT
    rng = numpy.random.default_rng(0)
    for shape, layout in (((2, 3, 4, 5), "channels_last"), ((2, 3, 4, 5, 6), "reversed"),
                          ((2, 3, 4), "gaps"), ((2, 3), "c")):
        xd = session.tensor(strided(shape, np_dtype, rng, layout))
        for mode in (PER_ACTIVATION, SPATIAL, SPATIAL_PERSISTENT):
            dims = bn_param_shape(shape, mode)
            strides = [int(numpy.prod(dims[i + 1:])) for i in range(len(dims))]
            got = get_tensor(lib, session.derived(xd, mode))
            pad = [-7] * (9 - len(shape))
            assert got == (SUCCESS, want_type, len(shape), [*dims, *pad], [*strides, *pad])


def test_get_tensor_descriptor(lib, session):
    """The first min(requested, nbDims) dims and strides; a descriptor never set: 0 dims."""
    x = numpy.zeros((2, 3, 4, 5), numpy.float16)[:, :, ::-1, ::2]
    t = session.tensor(x)
    pad = [-7] * 5
    assert get_tensor(lib, t) == (SUCCESS, HALF, 4, [2, 3, 4, 3, *pad],
                                  [60, 20, -5, 2, *pad])
    assert get_tensor(lib, t, 2) == (SUCCESS, HALF, 4, [2, 3] + [-7] * 7,
                                     [60, 20] + [-7] * 7)
    assert get_tensor(lib, t, 0)[2:] == get_tensor(lib, t, -1)[2:] == (4, [-7] * 9, [-7] * 9)
    unset = session._keep("cudnnCreateTensorDescriptor", "cudnnDestroyTensorDescriptor")
    assert get_tensor(lib, unset) == (SUCCESS, FLOAT, 0, [-7] * 9, [-7] * 9)
    data_type = ctypes.c_int()
    assert lib.cudnnGetTensorNdDescriptor(t, 4, ctypes.byref(data_type), None,
                                          ints([0] * 4), ints([0] * 4)) == BAD_PARAM
    assert lib.cudnnGetTensorNdDescriptor(None, 4, ctypes.byref(data_type),
                                          ctypes.byref(ctypes.c_int()), ints([0] * 4),
                                          ints([0] * 4)) == BAD_PARAM


def test_batch_norm_bad_parameters(lib, session, helpers):
    """Each of these returns an error status (and does not crash); failed calls count."""
    s = session
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5)).astype(numpy.float32)
    y = numpy.zeros_like(x)
    xd, yd = s.tensor(x), s.tensor(y)
    pd = s.derived(xd, SPATIAL)
    params = [numpy.ones((1, 3, 1, 1), numpy.float32) for _ in range(6)]
    one, zero = scalar(1.0, numpy.float32), scalar(0.0, numpy.float32)
    made_up = ctypes.c_void_p(ptr(x))                                   # never created
    unset = s._keep("cudnnCreateTensorDescriptor", "cudnnDestroyTensorDescriptor")
    helpers.reset()

    def train(mode=SPATIAL, handle=None, x_desc=xd, y_desc=yd, p_desc=pd, eps=1e-5,
              null=(), alpha=one, x_ptr=ptr(x)):
        """scale, bias, running mean, running variance, save mean, save inverse std:
        those whose index is in `null` are NULL."""
        p = [None if i in null else ptr(a) for i, a in enumerate(params)]
        return lib.cudnnBatchNormalizationForwardTraining(
            s.handle if handle is None else handle, mode, alpha, zero, x_desc, x_ptr, y_desc,
            ptr(y), p_desc, p[0], p[1], 0.1, p[2], p[3], eps, p[4], p[5])

    assert train() == SUCCESS
    assert train(null=(2, 3, 4, 5)) == SUCCESS                    # no statistics at all
    assert train(eps=0.0) == SUCCESS                              # cuDNN 9's minimum
    bad_calls = [
        train(eps=-1e-7), train(eps=float("nan")),
        train(mode=3), train(mode=-1), train(handle=made_up), train(x_desc=made_up),
        train(x_desc=unset), train(p_desc=unset), train(alpha=None), train(x_ptr=None),
        train(null=(0,)), train(null=(1,)),
        train(null=(2,)), train(null=(3,)), train(null=(4,)), train(null=(5,)),   # pairs
        train(mode=PER_ACTIVATION),                                # spatial parameters
        train(p_desc=s.derived(xd, PER_ACTIVATION)),
        train(p_desc=s.tensor(params[0].astype(numpy.float64))),  # double parameters
        train(p_desc=s.tensor(params[0].reshape(1, 3, 1))),
        train(y_desc=s.tensor(numpy.zeros((2, 3, 4, 6), numpy.float32))),
        train(y_desc=s.tensor(numpy.zeros((2, 3, 4, 5)))),         # double y
    ]
    assert bad_calls == [BAD_PARAM] * len(bad_calls)

    x3 = numpy.zeros((2, 3, 20), numpy.float32)                    # derives, but 3-D
    x3d = s.tensor(x3)
    assert train(x_desc=x3d, y_desc=x3d, p_desc=s.derived(x3d, SPATIAL)) == BAD_PARAM
    x6 = numpy.zeros((2, 3, 1, 1, 1, 2), numpy.float32)
    x6d = s.tensor(x6)
    assert train(x_desc=x6d, y_desc=x6d, p_desc=s.derived(x6d, SPATIAL)) == BAD_PARAM
    half = s.tensor(x.astype(numpy.float16))
    assert train(x_desc=half, y_desc=half, p_desc=s.derived(half, SPATIAL)) == SUCCESS
    assert train(x_desc=half, y_desc=half,
                 p_desc=s.tensor(params[0].astype(numpy.float16))) == BAD_PARAM
    int8 = s.tensor(numpy.zeros((2, 3, 4, 5), numpy.int8), INT8)
    int8_params = s.derived(int8, SPATIAL)                          # float, as the real one
    assert get_tensor(lib, int8_params)[1] == FLOAT
    assert train(x_desc=int8, y_desc=int8, p_desc=int8_params) == NOT_SUPPORTED
    assert helpers.calls("cudnnBatchNormalizationForwardTraining") == 3 + len(bad_calls) + 5

    def infer(eps=1e-5, null=(), p_desc=pd):
        p = [None if i in null else ptr(a) for i, a in enumerate(params)]
        return lib.cudnnBatchNormalizationForwardInference(
            s.handle, SPATIAL, one, zero, xd, ptr(x), yd, ptr(y), p_desc, *p[:4], eps)

    assert infer() == SUCCESS
    assert [infer(eps=-1.0), infer(null=(2,)), infer(null=(3,)), infer(null=(0,)),
            infer(p_desc=s.derived(xd, PER_ACTIVATION))] == [BAD_PARAM] * 5

    def backward(dy_desc=xd, dx_desc=yd, eps=1e-5, null=(), alphas=(one, one)):
        """scale, dscale, dbias, saved mean, saved inverse std: NULL where in `null`"""
        p = [None if i in null else ptr(a) for i, a in enumerate(params[:5])]
        return lib.cudnnBatchNormalizationBackward(
            s.handle, SPATIAL, alphas[0], zero, alphas[1], zero, xd, ptr(x), dy_desc, ptr(x),
            dx_desc, ptr(y), pd, p[0], p[1], p[2], eps, p[3], p[4])

    assert backward() == SUCCESS
    assert backward(null=(3, 4)) == SUCCESS                         # recomputed from x
    bad_calls = [
        backward(eps=-1e-3), backward(null=(3,)), backward(null=(4,)), backward(null=(0,)),
        backward(null=(1,)), backward(null=(2,)), backward(alphas=(None, one)),
        backward(alphas=(one, None)),
        backward(dx_desc=s.tensor(numpy.zeros((2, 3, 5, 4), numpy.float32))),
        backward(dy_desc=s.tensor(numpy.zeros((2, 3, 4, 5), numpy.float16))),
        backward(dx_desc=unset),
    ]
    assert bad_calls == [BAD_PARAM] * len(bad_calls)
    assert helpers.calls("cudnnBatchNormalizationBackward") == 2 + len(bad_calls)

    derive = lib.cudnnDeriveBNTensorDescriptor
    out = s._keep("cudnnCreateTensorDescriptor", "cudnnDestroyTensorDescriptor")
    assert [derive(out, xd, 3), derive(out, unset, SPATIAL), derive(made_up, xd, SPATIAL),
            derive(None, xd, SPATIAL), derive(out, None, SPATIAL)] == [BAD_PARAM] * 5
    assert derive(xd, xd, SPATIAL) == SUCCESS                       # in place, as the real one
    assert get_tensor(lib, xd)[3][:4] == [1, 3, 1, 1]


# ------------------------------------------------------------------ algorithms, workspaces

ALGO_CALLS = {   # direction -> (_v7, workspace size, run, the fake's three algorithms)
    "forward": ("cudnnGetConvolutionForwardAlgorithm_v7",
                "cudnnGetConvolutionForwardWorkspaceSize", "cudnnConvolutionForward",
                (6, 4, 0), 8),
    "data": ("cudnnGetConvolutionBackwardDataAlgorithm_v7",
             "cudnnGetConvolutionBackwardDataWorkspaceSize", "cudnnConvolutionBackwardData",
             (4, 0, 1), 6),
    "filter": ("cudnnGetConvolutionBackwardFilterAlgorithm_v7",
               "cudnnGetConvolutionBackwardFilterWorkspaceSize",
               "cudnnConvolutionBackwardFilter", (4, 0, 1), 7),
}


class Problem:
    """A 2-D convolution's arrays and descriptors, and its calls in each direction with the
    descriptors in the order each entry point takes them."""

    def __init__(self, s, dtype_name="float32", math=DEFAULT_MATH):
        np_dtype = DTYPES[dtype_name][0]
        rng = numpy.random.default_rng(0)
        self.s, self.np_dtype = s, np_dtype
        self.x = rng.standard_normal((2, 4, 6, 6)).astype(np_dtype)
        self.w = rng.standard_normal((6, 2, 3, 3)).astype(np_dtype)
        self.y = numpy.full((2, 6, 6, 6), numpy.nan, np_dtype)
        self.xd, self.wd, self.yd = s.tensor(self.x), s.filter(self.w), s.tensor(self.y)
        compute = DOUBLE if dtype_name == "float64" else FLOAT
        self.conv = s.conv((1, 1), (1, 1), (1, 1), compute=compute, groups=2, math=math)

    def descriptors(self, direction):
        return {"forward": (self.xd, self.wd, self.conv, self.yd),
                "data": (self.wd, self.yd, self.conv, self.xd),
                "filter": (self.xd, self.yd, self.conv, self.wd)}[direction]

    def heuristics(self, direction, requested=8):
        perf = (Perf * 8)()
        returned = ctypes.c_int(-1)
        fn = getattr(self.s.lib, ALGO_CALLS[direction][0])
        status = fn(self.s.handle, *self.descriptors(direction), requested, returned, perf)
        return status, list(perf[:returned.value])

    def workspace_size(self, direction, algo):
        size = ctypes.c_size_t(12345)
        fn = getattr(self.s.lib, ALGO_CALLS[direction][1])
        status = fn(self.s.handle, *self.descriptors(direction), algo, ctypes.byref(size))
        return status, size.value

    def run(self, direction, algo, workspace=None, size=0):
        one, zero = scalar(1.0, self.np_dtype), scalar(0.0, self.np_dtype)
        fn = getattr(self.s.lib, ALGO_CALLS[direction][2])
        ws = None if workspace is None else ptr(workspace)
        arrays = {"forward": (self.x, self.w, self.y), "data": (self.w, self.y, self.x),
                  "filter": (self.x, self.y, self.w)}[direction]
        d = self.descriptors(direction)
        return fn(self.s.handle, one, d[0], ptr(arrays[0]), d[1], ptr(arrays[1]), d[2], algo,
                  ws, size, zero, d[3], ptr(arrays[2]))


def test_perf_struct_layout():
    assert ctypes.sizeof(Perf) == 48 and Perf.memory.offset == 16


@pytest.mark.parametrize("direction", ALGO_CALLS)
def test_heuristics_and_workspaces(lib, session, helpers, direction):
    problem = Problem(session)
    status, perf = problem.heuristics(direction)
    assert status == SUCCESS
    unsupported, with_workspace, without = ALGO_CALLS[direction][3]
    assert [p.algo for p in perf] == [unsupported, with_workspace, without]
    assert [p.status for p in perf] == [NOT_SUPPORTED, SUCCESS, SUCCESS]
    assert [p.determinism for p in perf[1:]] == [NON_DETERMINISTIC, DETERMINISTIC]
    # one group's im2col matrix of one image: 2 channels * 9 taps * 36 outputs * 4 bytes
    assert perf[1].memory == -(-2 * 9 * 36 * 4 // 256) * 256 and perf[2].memory == 0
    assert all(p.mathType == TENSOR_OP_MATH for p in perf)
    status, first = problem.heuristics(direction, requested=1)
    assert status == SUCCESS and [p.algo for p in first] == [unsupported]
    assert problem.heuristics(direction, requested=0)[0] == BAD_PARAM

    for p in perf[1:]:
        assert problem.workspace_size(direction, p.algo) == (SUCCESS, p.memory)
    assert problem.workspace_size(direction, unsupported)[0] == NOT_SUPPORTED
    assert problem.workspace_size(direction, 99)[0] == BAD_PARAM

    helpers.reset()
    needed = perf[1].memory
    assert problem.run(direction, with_workspace) == BAD_PARAM   # no workspace
    small = numpy.zeros(needed - 1, numpy.uint8)
    assert problem.run(direction, with_workspace, small, small.size) == BAD_PARAM
    workspace = numpy.zeros(needed + 8, numpy.uint8)
    assert problem.run(direction, with_workspace, workspace, workspace.size) == SUCCESS
    assert workspace[:needed].any() and not workspace[needed:].any()   # scratch, within size
    assert helpers.last_algo(ALGO_CALLS[direction][2]) == with_workspace
    assert problem.run(direction, without) == SUCCESS
    assert helpers.last_algo(ALGO_CALLS[direction][2]) == without
    assert problem.run(direction, unsupported) == NOT_SUPPORTED
    assert problem.run(direction, ALGO_CALLS[direction][4]) == BAD_PARAM   # ..._ALGO_COUNT
    assert problem.run(direction, -1) == BAD_PARAM
    unlisted = min(set(range(ALGO_CALLS[direction][4])) - set(ALGO_CALLS[direction][3]))
    assert problem.run(direction, unlisted) == NOT_SUPPORTED
    assert helpers.last_algo(ALGO_CALLS[direction][2]) == without   # failures not recorded
    assert helpers.calls(ALGO_CALLS[direction][2]) == 8


@pytest.mark.parametrize("dtype_name, math, expected", [
    ("float32", DEFAULT_MATH, TENSOR_OP_MATH), ("float32", FMA_MATH, FMA_MATH),
    ("float16", TENSOR_OP_MATH, TENSOR_OP_MATH), ("bfloat16", FMA_MATH, FMA_MATH),
    ("float64", DEFAULT_MATH, FMA_MATH), ("float64", TENSOR_OP_MATH, FMA_MATH),
])
def test_heuristics_math_type(session, dtype_name, math, expected):
    status, perf = Problem(session, dtype_name, math).heuristics("forward")
    assert status == SUCCESS and {p.mathType for p in perf} == {expected}


# ------------------------------------------------------------------ validation

def test_bad_parameters(lib, session):
    """Each of these returns an error status (and does not crash)."""
    s, problem = session, Problem(session)
    one = scalar(1.0, numpy.float32)

    def forward(x=None, w=None, conv=None, y=None, handle=None, alpha=one, data=True):
        xd, wd, cd, yd = problem.descriptors("forward")
        arrays = (ptr(problem.x), ptr(problem.w), ptr(problem.y)) if data else (None,) * 3
        pick = lambda given, default: default if given is None else given  # noqa: E731
        return lib.cudnnConvolutionForward(
            pick(handle, s.handle), alpha, pick(x, xd), arrays[0], pick(w, wd), arrays[1],
            pick(conv, cd), 0, None, 0, one, pick(y, yd), arrays[2])

    def new(create):
        p = ctypes.c_void_p()
        assert getattr(lib, create)(ctypes.byref(p)) == SUCCESS
        return p

    assert forward() == SUCCESS
    dead = new("cudnnCreate")
    assert lib.cudnnDestroy(dead) == SUCCESS
    assert forward(handle=dead) == BAD_PARAM
    assert lib.cudnnDestroy(dead) == BAD_PARAM                       # destroyed twice
    made_up = ctypes.c_void_p(ptr(problem.x))                        # never created
    assert forward(handle=made_up) == BAD_PARAM
    assert forward(x=made_up) == BAD_PARAM
    assert lib.cudnnSetStream(made_up, None) == BAD_PARAM
    unset = s._keep("cudnnCreateTensorDescriptor", "cudnnDestroyTensorDescriptor")
    assert forward(x=unset) == BAD_PARAM
    assert forward(alpha=None) == BAD_PARAM
    assert forward(data=False) == BAD_PARAM
    assert forward(conv=s.conv((1, 1), (1, 1), (1, 1), groups=1)) == BAD_PARAM   # 4 != 2 * 1
    assert forward(conv=s.conv((1, 1), (1, 1), (1, 1), groups=4)) == BAD_PARAM   # K 6 % 4
    assert forward(conv=s.conv((1,), (1,), (1,))) == BAD_PARAM                   # 1-D conv
    assert forward(conv=s.conv((0, 1), (1, 1), (1, 1), groups=2)) == BAD_PARAM   # y dims
    assert forward(y=s.tensor(numpy.zeros((2, 6, 6, 7), numpy.float32))) == BAD_PARAM
    assert forward(y=s.tensor(numpy.zeros((2, 6, 6, 6)))) == BAD_PARAM           # double y
    assert forward(conv=s.conv((1, 1), (1, 1), (1, 1), compute=DOUBLE, groups=2)) == \
        NOT_SUPPORTED                                                            # compute
    int8 = numpy.zeros((2, 4, 6, 6), numpy.int8), numpy.zeros((6, 2, 3, 3), numpy.int8)
    y8 = numpy.zeros((2, 6, 6, 6), numpy.int8)
    assert forward(x=s.tensor(int8[0], INT8), w=s.filter(int8[1], INT8),
                   y=s.tensor(y8, INT8), data=False) in (BAD_PARAM, NOT_SUPPORTED)

    t, f, c = (new(n) for n in ("cudnnCreateTensorDescriptor", "cudnnCreateFilterDescriptor",
                                "cudnnCreateConvolutionDescriptor"))
    dims = ints([2, 3, 4, 5])
    assert lib.cudnnSetTensorNdDescriptor(t, FLOAT, 1, dims, ints([1])) == BAD_PARAM
    assert lib.cudnnSetTensorNdDescriptor(t, FLOAT, 9, ints([1] * 9), ints([1] * 9)) == \
        NOT_SUPPORTED
    assert lib.cudnnSetTensorNdDescriptor(t, FLOAT, 4, ints([2, 0, 4, 5]), dims) == BAD_PARAM
    assert lib.cudnnSetTensorNdDescriptor(t, FLOAT, 4, dims, ints([60, 20, 0, 1])) == BAD_PARAM
    assert lib.cudnnSetTensorNdDescriptor(t, 99, 4, dims, ints([60, 20, 5, 1])) == BAD_PARAM
    assert lib.cudnnSetTensorNdDescriptor(t, 10, 4, dims, ints([60, 20, 5, 1])) == BAD_PARAM
    assert lib.cudnnSetFilterNdDescriptor(f, INT32, NCHW, 4, dims) == BAD_PARAM
    assert lib.cudnnSetTensorNdDescriptor(t, FLOAT, 4, None, None) == BAD_PARAM
    assert lib.cudnnSetFilterNdDescriptor(f, FLOAT, NHWC, 4, dims) == NOT_SUPPORTED
    assert lib.cudnnSetFilterNdDescriptor(f, FLOAT, NCHW_VECT_C, 4, dims) == BAD_PARAM
    assert lib.cudnnSetFilterNdDescriptor(f, FLOAT, NCHW, 2, dims) == BAD_PARAM
    one_two = ints([1, 1]), ints([1, 1])
    assert lib.cudnnSetConvolutionNdDescriptor(c, 2, ints([-1, 0]), *one_two, 1, FLOAT) == \
        BAD_PARAM
    assert lib.cudnnSetConvolutionNdDescriptor(c, 2, ints([0, 0]), ints([1, 0]), ints([1, 1]),
                                               1, FLOAT) == BAD_PARAM
    assert lib.cudnnSetConvolutionNdDescriptor(c, 2, ints([0, 0]), ints([1, 1]), ints([0, 1]),
                                               1, FLOAT) == BAD_PARAM
    assert lib.cudnnSetConvolutionNdDescriptor(c, 2, ints([0, 0]), *one_two, 2, FLOAT) == \
        BAD_PARAM
    for compute in (INT8, UINT8, BFLOAT16, 10):
        assert lib.cudnnSetConvolutionNdDescriptor(c, 2, ints([0, 0]), *one_two, 1,
                                                   compute) == BAD_PARAM
    assert lib.cudnnSetConvolutionNdDescriptor(c, 7, *(ints([1] * 7),) * 3, 1, FLOAT) == \
        NOT_SUPPORTED
    assert lib.cudnnSetConvolutionGroupCount(c, 0) == BAD_PARAM
    assert lib.cudnnSetConvolutionMathType(c, 4) == BAD_PARAM
    out = ints([0] * 8)
    assert lib.cudnnGetConvolutionNdForwardOutputDim(c, t, f, 4, out) == BAD_PARAM   # unset
    xd, wd, cd, _ = problem.descriptors("forward")
    assert lib.cudnnGetConvolutionNdForwardOutputDim(cd, xd, wd, 5, out) == BAD_PARAM
    assert lib.cudnnGetConvolutionNdForwardOutputDim(cd, xd, wd, 4, out) == SUCCESS
    assert list(out[:4]) == [2, 6, 6, 6]
    for destroy, p in (("cudnnDestroyTensorDescriptor", t), ("cudnnDestroyFilterDescriptor", f),
                       ("cudnnDestroyConvolutionDescriptor", c)):
        assert getattr(lib, destroy)(p) == SUCCESS
        assert getattr(lib, destroy)(p) == BAD_PARAM
    assert lib.cudnnCreate(None) == BAD_PARAM

    a = s.tensor(numpy.zeros((1, 3, 1, 1), numpy.float32))
    bad_c = numpy.zeros((2, 4, 2, 2), numpy.float32)
    add = lib.cudnnAddTensor
    assert add(s.handle, one, a, ptr(bad_c), one, s.tensor(bad_c), ptr(bad_c)) == BAD_PARAM
    c3 = numpy.zeros((1, 3, 2), numpy.float32)
    assert add(s.handle, one, a, ptr(c3), one, s.tensor(c3), ptr(c3)) == BAD_PARAM
    c64 = numpy.zeros((2, 3, 2, 2))
    assert add(s.handle, one, a, ptr(c64), one, s.tensor(c64), ptr(c64)) == BAD_PARAM
    bias = lib.cudnnConvolutionBackwardBias
    dy = numpy.zeros((2, 3, 2, 2), numpy.float32)
    for bad_shape, bad_dtype in (((1, 4, 1, 1), numpy.float32), ((2, 3, 1, 1), numpy.float32),
                                 ((1, 3, 1), numpy.float32), ((1, 3, 1, 1), numpy.float64)):
        bad_db = numpy.zeros(bad_shape, bad_dtype)
        assert bias(s.handle, one, s.tensor(dy), ptr(dy), one, s.tensor(bad_db),
                    ptr(bad_db)) == BAD_PARAM
    c6 = numpy.zeros((1,) * 6, numpy.float32)
    assert add(s.handle, one, s.tensor(c6), ptr(c6), one, s.tensor(c6), ptr(c6)) == \
        NOT_SUPPORTED


# ------------------------------------------------------------------ library, helpers

def test_version_and_error_strings(lib):
    assert lib.cudnnGetVersion() == 92801
    assert lib.cudnnGetErrorString(SUCCESS) == b"CUDNN_STATUS_SUCCESS"
    assert lib.cudnnGetErrorString(BAD_PARAM) == b"CUDNN_STATUS_BAD_PARAM"
    assert lib.cudnnGetErrorString(NOT_SUPPORTED) == b"CUDNN_STATUS_NOT_SUPPORTED"
    assert lib.cudnnGetErrorString(4003) == b"CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED"
    assert lib.cudnnGetErrorString(7) == b"CUDNN_UNKNOWN_STATUS"


def test_streams_calls_and_live_objects(lib, helpers):
    helpers.reset()
    live = helpers.live_objects()
    handle = ctypes.c_void_p()
    assert lib.cudnnCreate(ctypes.byref(handle)) == SUCCESS
    assert helpers.live_objects() == live + 1
    assert helpers.stream(handle) == 0
    assert lib.cudnnSetStream(handle, 0x1234) == SUCCESS
    assert helpers.stream(handle) == 0x1234
    got = ctypes.c_void_p()
    assert lib.cudnnGetStream(handle, ctypes.byref(got)) == SUCCESS and got.value == 0x1234
    assert lib.cudnnDestroy(handle) == SUCCESS
    assert lib.cudnnSetStream(handle, 0x99) == BAD_PARAM
    assert helpers.stream(handle) == 0 and helpers.live_objects() == live
    assert helpers.calls("cudnnSetStream") == 2 and helpers.calls("cudnnCreate") == 1
    assert helpers.calls() == 5 and helpers.calls("cudnnAddTensor") == 0
    helpers.reset()
    assert helpers.calls() == 0


def test_the_cache_builds_once(lib):
    assert fake_cudnn.path() == fake_cudnn.path() == lib._name
    assert Path(fake_cudnn.path()).is_file()


# ------------------------------------------------------------------ local checks: real cuDNN

_NO_HEADERS = ("local check: the real cuDNN 9 headers are not at "
               f"{REAL_CUDNN / 'include'} (CI has no cuDNN headers)")
_NO_LIBRARY = ("local check: the real libcudnn.so.9 is not at "
               f"{REAL_CUDNN / 'lib'} (CI has no cuDNN library)")


def _compile_against_headers(source, tmp_path):
    """gcc's verdict on `source` compiled after the real cudnn.h, warnings as errors."""
    include = tmp_path / "include"
    include.mkdir(exist_ok=True)
    cuda = Path("/usr/local/cuda/include")
    if not (cuda / "cuda_runtime_api.h").exists():
        # what cudnn.h takes from the CUDA runtime's headers
        (include / "cuda_runtime_api.h").write_text(
            "typedef struct CUstream_st *cudaStream_t;\n"
            "typedef enum libraryPropertyType_t {\n"
            "    MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL } libraryPropertyType;\n")
        cuda = include
    c_file = tmp_path / "fake_cudnn.c"
    c_file.write_text(source)
    cmd = ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wmissing-prototypes", "-c",
           "-include", "cudnn.h", f"-I{REAL_CUDNN / 'include'}", f"-I{cuda}", str(c_file),
           "-o", str(tmp_path / "fake_cudnn.o")]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.mark.skipif(not (REAL_CUDNN / "include" / "cudnn.h").exists(), reason=_NO_HEADERS)
@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not found")
def test_matches_the_real_headers(tmp_path):
    """Compiled after the real cudnn.h, every prototype must match its declaration (a
    mismatch is a conflicting-types error, a misspelled name a missing prototype), every
    enum value equal (static assertions) and the perf structs laid out alike."""
    source = fake_cudnn.SOURCE.read_text()
    proc = _compile_against_headers(source, tmp_path)
    assert proc.returncode == 0, proc.stderr
    # and the check can fail: a wrong enum value, a wrong prototype
    wrong_enum = source.replace("X(CUDNN_DATA_BFLOAT16, 9)", "X(CUDNN_DATA_BFLOAT16, 8)")
    wrong_prototype = source.replace("cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t"
                                     " convDesc,\n                                            int",
                                     "cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t"
                                     " convDesc,\n                                            long")
    for wrong in (wrong_enum, wrong_prototype):
        assert wrong != source
        assert _compile_against_headers(wrong, tmp_path).returncode != 0


# (x dims, x strides or None, filter dims, filter format, pads, strides, dilations, groups)
REAL_CASES = [
    ((2, 3, 7, 9), None, (4, 3, 3, 2), NCHW, (1, 0), (2, 1), (1, 2), 1),
    ((2, 6, 7, 9), None, (4, 3, 3, 2), NCHW, (1, 0), (2, 1), (1, 2), 2),
    ((2, 6, 7, 9), None, (4, 3, 3, 2), NCHW, (1, 0), (2, 1), (1, 2), 1),       # channels
    ((2, 6, 7, 9), None, (5, 3, 3, 2), NCHW, (1, 0), (2, 1), (1, 2), 2),       # K % groups
    ((2, 3, 7), None, (4, 3, 3), NCHW, (1,), (2,), (1,), 1),
    ((2, 3, 5, 6, 7), None, (4, 3, 3, 2, 1), NCHW, (1, 0, 2), (2, 1, 3), (1, 2, 1), 1),
    ((2, 3, 2, 2), None, (4, 3, 3, 3), NCHW, (0, 0), (1, 1), (1, 1), 1),       # output 0
    ((2, 3, 3, 3), None, (4, 3, 3, 3), NCHW, (0, 0), (1, 1), (1, 1), 1),
    ((2, 3, 7, 9), None, (4, 3, 3, 2), NCHW, (5, 0), (2, 1), (1, 2), 1),       # pad > filter
    ((2, 3, 7, 9), (1, 2, 6, 54), (4, 3, 3, 2), NCHW, (1, 0), (2, 1), (1, 2), 1),
    ((2, 3, 7, 9), (189, 63, -9, 1), (4, 3, 3, 2), NCHW, (1, 0), (2, 1), (1, 2), 1),
    ((2, 3, 7, 9), (189, 63, 0, 1), (4, 3, 3, 2), NCHW, (1, 0), (2, 1), (1, 2), 1),
    ((2, 0, 7, 9), None, (4, 3, 3, 2), NCHW, (1, 0), (2, 1), (1, 2), 1),
    ((2, 3, 7, 9), None, (4, 3, 3, 2), NCHW_VECT_C, (1, 0), (2, 1), (1, 2), 1),
    ((2, 3, 7, 9), None, (4, 3, 3, 2), NCHW, (-1, 0), (2, 1), (1, 2), 1),
    ((2, 3, 7, 9), None, (4, 3, 3, 2), NCHW, (1, 0), (0, 1), (1, 2), 1),
    ((2, 3, 7, 9), None, (4, 3, 3, 2), NCHW, (1, 0), (2, 1), (1, 2), 0),
    ((2, 3, 7, 9), None, (4, 3, 3), NCHW, (1, 0), (2, 1), (1, 2), 1),          # filter dims
    ((2, 3), None, (4, 3, 3), NCHW, (1,), (1,), (1,), 1),                       # 2-D tensor
    ((7,), None, (4, 3, 3), NCHW, (1,), (1,), (1,), 1),                         # 1-D tensor
    ((1,) * 9, None, (1,) * 9, NCHW, (0,) * 7, (1,) * 7, (1,) * 7, 1),          # 9-D
    ((1,) * 8, None, (1,) * 8, NCHW, (0,) * 6, (1,) * 6, (1,) * 6, 1),          # 8-D
]


def _descriptor_calls(lib, case):
    """The statuses of the descriptor calls for `case`, then the output dims' status and
    dims for nbDims = the tensor's, one less and one more."""
    x_dims, x_strides, w_dims, w_format, pads, strides, dilations, groups = case
    if x_strides is None:
        x_strides = [int(numpy.prod(x_dims[i + 1:])) for i in range(len(x_dims))]
    t, f, c = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    lib.cudnnCreateTensorDescriptor(ctypes.byref(t))
    lib.cudnnCreateFilterDescriptor(ctypes.byref(f))
    lib.cudnnCreateConvolutionDescriptor(ctypes.byref(c))
    results = [
        lib.cudnnSetTensorNdDescriptor(t, FLOAT, len(x_dims), ints(x_dims), ints(x_strides)),
        lib.cudnnSetFilterNdDescriptor(f, FLOAT, w_format, len(w_dims), ints(w_dims)),
        lib.cudnnSetConvolutionNdDescriptor(c, len(pads), ints(pads), ints(strides),
                                            ints(dilations), CROSS_CORRELATION, FLOAT),
        lib.cudnnSetConvolutionGroupCount(c, groups),
    ]
    if all(r == SUCCESS for r in results):
        for nb in (len(x_dims), len(x_dims) - 1, len(x_dims) + 1):
            out = ints([-7] * 9)
            status = lib.cudnnGetConvolutionNdForwardOutputDim(c, t, f, nb, out)
            results.append((nb, status, list(out[:nb]) if status == SUCCESS else None))
    lib.cudnnDestroyTensorDescriptor(t)
    lib.cudnnDestroyFilterDescriptor(f)
    lib.cudnnDestroyConvolutionDescriptor(c)
    return results


def _type_statuses(lib, code):
    """The statuses of a 4-D tensor, a 4-D NCHW filter and a 2-D convolution descriptor set
    with data (compute) type `code`."""
    t, f, c = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    lib.cudnnCreateTensorDescriptor(ctypes.byref(t))
    lib.cudnnCreateFilterDescriptor(ctypes.byref(f))
    lib.cudnnCreateConvolutionDescriptor(ctypes.byref(c))
    dims = ints([4, 3, 3, 3])
    statuses = (lib.cudnnSetTensorNdDescriptor(t, code, 4, dims, ints([27, 9, 3, 1])),
                lib.cudnnSetFilterNdDescriptor(f, code, NCHW, 4, dims),
                lib.cudnnSetConvolutionNdDescriptor(c, 2, ints([0, 0]), ints([1, 1]),
                                                    ints([1, 1]), CROSS_CORRELATION, code))
    lib.cudnnDestroyTensorDescriptor(t)
    lib.cudnnDestroyFilterDescriptor(f)
    lib.cudnnDestroyConvolutionDescriptor(c)
    return statuses


@pytest.mark.skipif(not (REAL_CUDNN / "lib" / "libcudnn.so.9").exists(), reason=_NO_LIBRARY)
def test_descriptors_match_the_real_library(lib):
    """The real library's host-only calls (it needs no GPU for descriptors; cudnnCreate
    fails without one) give the statuses and output dims the fake gives."""
    real = load(str(REAL_CUDNN / "lib" / "libcudnn.so.9"))
    for case in REAL_CASES:
        assert _descriptor_calls(lib, case) == _descriptor_calls(real, case), case
    for code in range(-1, 26):   # the data types each descriptor takes
        assert _type_statuses(lib, code) == _type_statuses(real, code), code
    for code in itertools.chain([0, 7, 9999], range(1000, 1010), range(2000, 2014),
                                range(3000, 3016), range(4000, 4008), range(5000, 5006)):
        assert lib.cudnnGetErrorString(code) == real.cudnnGetErrorString(code), code
    assert lib.cudnnGetVersion() == real.cudnnGetVersion()


# (x dims or None: never set, x strides or None: contiguous, data type, mode)
BN_REAL_CASES = [
    ((2, 3, 4, 5), None, FLOAT, SPATIAL),
    ((2, 3, 4, 5), None, FLOAT, PER_ACTIVATION),
    ((2, 3, 4, 5), None, DOUBLE, SPATIAL_PERSISTENT),
    ((2, 3, 4, 5), (60, 1, 15, 3), HALF, PER_ACTIVATION),      # channels last
    ((2, 3, 4, 5), (60, 20, -5, 1), BFLOAT16, SPATIAL),
    ((2, 3, 4, 5, 6), None, HALF, SPATIAL),
    ((2, 3, 4, 5, 6), None, DOUBLE, PER_ACTIVATION),
    ((2, 3, 4), None, FLOAT, PER_ACTIVATION),                   # 3-D: derived all the same
    ((2, 3), None, DOUBLE, SPATIAL),
    ((1, 2, 1, 1, 1, 1, 1, 3), None, FLOAT, PER_ACTIVATION),
    ((2, 3, 4, 5), None, INT8, SPATIAL),                        # float parameters
    ((2, 3, 4, 5), None, INT32, SPATIAL),                       # x's own type
    ((2, 3, 4, 5), None, UINT8, PER_ACTIVATION),
    ((2, 3, 4, 5), None, FLOAT, 3),                             # no such mode
    ((2, 3, 4, 5), None, FLOAT, -1),
    (None, None, FLOAT, SPATIAL),
]


def _bn_descriptor_calls(lib, case):
    """The status of setting x, of deriving the parameters' descriptor from it, and that
    descriptor as cudnnGetTensorNdDescriptor reads it with 8, 2 and 0 dimensions asked
    for; then x read back (a descriptor never set reads as 0 dimensions)."""
    x_dims, x_strides, data_type, mode = case
    x, derived = ctypes.c_void_p(), ctypes.c_void_p()
    lib.cudnnCreateTensorDescriptor(ctypes.byref(x))
    lib.cudnnCreateTensorDescriptor(ctypes.byref(derived))
    results = []
    if x_dims is not None:
        if x_strides is None:
            x_strides = [int(numpy.prod(x_dims[i + 1:])) for i in range(len(x_dims))]
        results.append(lib.cudnnSetTensorNdDescriptor(x, data_type, len(x_dims), ints(x_dims),
                                                      ints(x_strides)))
    results.append(lib.cudnnDeriveBNTensorDescriptor(derived, x, mode))
    if results[-1] == SUCCESS:
        results += [get_tensor(lib, derived, n) for n in (8, 2, 0)]
    results.append(get_tensor(lib, x))
    lib.cudnnDestroyTensorDescriptor(x)
    lib.cudnnDestroyTensorDescriptor(derived)
    return results


@pytest.mark.skipif(not (REAL_CUDNN / "lib" / "libcudnn.so.9").exists(), reason=_NO_LIBRARY)
def test_bn_descriptors_match_the_real_library(lib):
    """cudnnDeriveBNTensorDescriptor and cudnnGetTensorNdDescriptor (host-only calls) give
    the real library's statuses, dims, strides and data types."""
    real = load(str(REAL_CUDNN / "lib" / "libcudnn.so.9"))
    for case in BN_REAL_CASES:
        assert _bn_descriptor_calls(lib, case) == _bn_descriptor_calls(real, case), case
