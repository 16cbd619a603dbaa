"""cuDNN's convolutions for CuPy arrays, through ctypes (CuPy 14 has no cuDNN module).

PyTorch runs its CUDA convolutions through cuDNN; ember's own path is im2col + cuBLAS,
which writes and reads a patch matrix prod(k) times the input's size. Where a cuDNN 9
library loads, this module runs the forward pass and both gradients through cuDNN's
convolution API (algorithms from cuDNN's heuristics, or with
ember.backends.cudnn.benchmark from cuDNN timing them all, as PyTorch), and callers use
the im2col path wherever a function here returns None: no library, no GPU,
ember.backends.cudnn.enabled False, a dtype or configuration cuDNN is not asked to handle
(empty tensors, asymmetric padding, more than 3 spatial dims, sizes past int32).

The library is looked for (unless EMBER_CUDNN=0), in order: $EMBER_CUDNN_LIB (a path;
the tests' CPU fake, tests/fake_cudnn.c, comes this way), libcudnn.so.9 on the loader's
path, and the `nvidia-cudnn-cu12`/`-cu13` wheels' lib directories on sys.path (pip
install 'ember[cudnn13]'; PyTorch's CUDA wheels bring it along). Under the CPU fake of CuPy
(tests/fakecupy.py) only $EMBER_CUDNN_LIB is tried: its "device" pointers are host memory.

Arrays are C-contiguous NCHW (N, C, *spatial); 1-D convolutions run as 2-D of height 1.
TF32 follows ember.backends.cudnn.allow_tf32 (PyTorch's default: allowed), deterministic
algorithms ember.backends.cudnn.deterministic or ember.use_deterministic_algorithms."""
import ctypes
import os
import sys

import numpy as np

from . import cupy_kernels

# set by ember.backends.cudnn (enabled, deterministic, benchmark) and
# ember.use_deterministic_algorithms
FLAGS = {"enabled": True, "deterministic": False, "global_deterministic": False,
         "benchmark": False}

# cudnnDataType_t, cudnnMathType_t, cudnnConvolutionMode_t, cudnnTensorFormat_t,
# cudnnDeterminism_t (cudnn_graph_v9.h, cudnn_ops_v9.h, cudnn_cnn_v9.h)
_DATA_FLOAT, _DATA_DOUBLE, _DATA_HALF, _DATA_BFLOAT16 = 0, 1, 2, 9
_DEFAULT_MATH, _TENSOR_OP_MATH, _FMA_MATH = 0, 1, 3
_CROSS_CORRELATION = 1
_TENSOR_NCHW = 0
_DETERMINISTIC = 1
_MAX_ALGOS = 8
_MAX_CACHED = 512


class _Perf(ctypes.Structure):
    """cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: all three share this layout."""
    _fields_ = [("algo", ctypes.c_int), ("status", ctypes.c_int), ("time", ctypes.c_float),
                ("memory", ctypes.c_size_t), ("determinism", ctypes.c_int),
                ("mathType", ctypes.c_int), ("reserved", ctypes.c_int * 3)]


_P = ctypes.c_void_p
_I = ctypes.c_int
_IA = ctypes.POINTER(ctypes.c_int)
_SIG = {   # entry point -> argument types (all return cudnnStatus_t, an int)
    "cudnnCreate": [ctypes.POINTER(_P)],
    "cudnnSetStream": [_P, _P],
    "cudnnCreateTensorDescriptor": [ctypes.POINTER(_P)],
    "cudnnSetTensorNdDescriptor": [_P, _I, _I, _IA, _IA],
    "cudnnCreateFilterDescriptor": [ctypes.POINTER(_P)],
    "cudnnSetFilterNdDescriptor": [_P, _I, _I, _I, _IA],
    "cudnnCreateConvolutionDescriptor": [ctypes.POINTER(_P)],
    "cudnnSetConvolutionNdDescriptor": [_P, _I, _IA, _IA, _IA, _I, _I],
    "cudnnSetConvolutionGroupCount": [_P, _I],
    "cudnnSetConvolutionMathType": [_P, _I],
    "cudnnGetConvolutionNdForwardOutputDim": [_P, _P, _P, _I, _IA],
    "cudnnDestroyTensorDescriptor": [_P],
    "cudnnDestroyFilterDescriptor": [_P],
    "cudnnDestroyConvolutionDescriptor": [_P],
    # handle, three descriptors in the direction's order, conv descriptor at [3] for the
    # backward ones ([3] for forward too), requested count, returned count, perf results
    "cudnnGetConvolutionForwardAlgorithm_v7": [_P, _P, _P, _P, _P, _I, _IA,
                                               ctypes.POINTER(_Perf)],
    "cudnnGetConvolutionBackwardDataAlgorithm_v7": [_P, _P, _P, _P, _P, _I, _IA,
                                                    ctypes.POINTER(_Perf)],
    "cudnnGetConvolutionBackwardFilterAlgorithm_v7": [_P, _P, _P, _P, _P, _I, _IA,
                                                      ctypes.POINTER(_Perf)],
    # the same with cuDNN timing every algorithm (ember.backends.cudnn.benchmark)
    "cudnnFindConvolutionForwardAlgorithm": [_P, _P, _P, _P, _P, _I, _IA, ctypes.POINTER(_Perf)],
    "cudnnFindConvolutionBackwardDataAlgorithm": [_P, _P, _P, _P, _P, _I, _IA,
                                                  ctypes.POINTER(_Perf)],
    "cudnnFindConvolutionBackwardFilterAlgorithm": [_P, _P, _P, _P, _P, _I, _IA,
                                                    ctypes.POINTER(_Perf)],
    "cudnnGetConvolutionForwardWorkspaceSize": [_P, _P, _P, _P, _P, _I,
                                                ctypes.POINTER(ctypes.c_size_t)],
    "cudnnGetConvolutionBackwardDataWorkspaceSize": [_P, _P, _P, _P, _P, _I,
                                                     ctypes.POINTER(ctypes.c_size_t)],
    "cudnnGetConvolutionBackwardFilterWorkspaceSize": [_P, _P, _P, _P, _P, _I,
                                                       ctypes.POINTER(ctypes.c_size_t)],
    # handle, alpha, desc a, a, desc b, b, conv, algo, workspace, size, beta, desc out, out
    "cudnnConvolutionForward": [_P, _P, _P, _P, _P, _P, _P, _I, _P, ctypes.c_size_t, _P,
                                _P, _P],
    "cudnnConvolutionBackwardData": [_P, _P, _P, _P, _P, _P, _P, _I, _P, ctypes.c_size_t,
                                     _P, _P, _P],
    "cudnnConvolutionBackwardFilter": [_P, _P, _P, _P, _P, _P, _P, _I, _P, ctypes.c_size_t,
                                       _P, _P, _P],
    "cudnnConvolutionBackwardBias": [_P, _P, _P, _P, _P, _P, _P],
    "cudnnAddTensor": [_P, _P, _P, _P, _P, _P, _P],
}
_STATE = {"lib": False, "stream": {}}   # lib: False until tried, then the CDLL or None
_HANDLES = {}   # device id -> cudnnHandle_t
_PLANS = {}     # configuration -> _Plan
_BIAS = {}      # (dtype code, dy shape) -> (dy descriptor, db descriptor)


class CudnnError(RuntimeError):
    """A cuDNN call failed where it should not have (PyTorch: 'cuDNN error: ...')."""


def _candidates():
    if os.environ.get("EMBER_CUDNN") == "0":
        return []
    env = os.environ.get("EMBER_CUDNN_LIB")
    if env:
        return [env]
    import cupy
    if getattr(cupy, "__fake__", False):
        return []
    paths = ["libcudnn.so.9"]
    for root in sys.path:
        for sub in ("nvidia/cudnn/lib", "nvidia/cu13/lib", "nvidia/cu12/lib"):
            p = os.path.join(root or ".", sub, "libcudnn.so.9")
            if os.path.exists(p):
                paths.append(p)
    return paths


def _load():
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            for name, args in _SIG.items():
                fn = getattr(lib, name)
                fn.argtypes, fn.restype = args, ctypes.c_int
            lib.cudnnGetErrorString.argtypes = [ctypes.c_int]
            lib.cudnnGetErrorString.restype = ctypes.c_char_p
            lib.cudnnGetVersion.restype = ctypes.c_size_t
            if lib.cudnnGetVersion() < 90000:
                continue
            return lib
        except (OSError, AttributeError):
            continue
    return None


def library():
    """The loaded cuDNN (a ctypes.CDLL), or None."""
    if _STATE["lib"] is False:
        _STATE["lib"] = _load()
    return _STATE["lib"]


def version():
    """cuDNN's version as an int (90801 for 9.8.1), or None."""
    lib = library()
    return None if lib is None else int(lib.cudnnGetVersion())


def _handle(lib):
    """This device's handle, bound to CuPy's current stream; None where none can be made."""
    import cupy
    dev = cupy.cuda.Device().id
    h = _HANDLES.get(dev)
    if h is None:
        h = _P()
        if lib.cudnnCreate(ctypes.byref(h)) != 0:
            _STATE["lib"] = None   # no usable device: every later call takes im2col
            return None
        _HANDLES[dev] = h
    stream = cupy.cuda.get_current_stream().ptr
    if _STATE["stream"].get(dev) != stream:
        _check(lib, lib.cudnnSetStream(h, _P(stream)), "cudnnSetStream")
        _STATE["stream"][dev] = stream
    return h


def _check(lib, status, what):
    if status != 0:
        raise CudnnError(f"cuDNN error: {lib.cudnnGetErrorString(status).decode()} ({what})")


def _ints(values):
    return (ctypes.c_int * len(values))(*values)


def _tensor(lib, dtype, shape):
    d = _P()
    _check(lib, lib.cudnnCreateTensorDescriptor(ctypes.byref(d)), "create tensor")
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    if lib.cudnnSetTensorNdDescriptor(d, dtype, len(shape), _ints(shape), _ints(strides)):
        lib.cudnnDestroyTensorDescriptor(d)
        return None
    return d


def _filter(lib, dtype, shape):
    d = _P()
    _check(lib, lib.cudnnCreateFilterDescriptor(ctypes.byref(d)), "create filter")
    if lib.cudnnSetFilterNdDescriptor(d, dtype, _TENSOR_NCHW, len(shape), _ints(shape)):
        lib.cudnnDestroyFilterDescriptor(d)
        return None
    return d


class _Plan:
    """The descriptors of one convolution configuration and, per direction, the chosen
    algorithm and its workspace size (found on first use)."""

    def __init__(self, lib, dtype, x_shape, w_shape, y_shape, stride, padding, dilation,
                 groups, math):
        self.lib = lib
        self.dtype = dtype
        self.one, self.zero = ((ctypes.c_double(1.0), ctypes.c_double(0.0))
                               if dtype == _DATA_DOUBLE else
                               (ctypes.c_float(1.0), ctypes.c_float(0.0)))
        self.x = _tensor(lib, dtype, x_shape)
        self.w = _filter(lib, dtype, w_shape)
        self.y = _tensor(lib, dtype, y_shape)
        self.b = _tensor(lib, dtype, (1, y_shape[1]) + (1,) * (len(y_shape) - 2))
        self.conv = _P()
        _check(lib, lib.cudnnCreateConvolutionDescriptor(ctypes.byref(self.conv)),
               "create convolution")
        nd = len(stride)
        compute = _DATA_DOUBLE if dtype == _DATA_DOUBLE else _DATA_FLOAT
        self.ok = None not in (self.x, self.w, self.y, self.b) and not (
            lib.cudnnSetConvolutionNdDescriptor(self.conv, nd, _ints(padding), _ints(stride),
                                                _ints(dilation), _CROSS_CORRELATION, compute)
            or lib.cudnnSetConvolutionGroupCount(self.conv, groups)
            or lib.cudnnSetConvolutionMathType(self.conv, math))
        self.math = self.base_math = math   # the math type set on self.conv, the asked one
        if self.ok:   # cuDNN's own output size must be the one the caller computed
            dims = (ctypes.c_int * len(y_shape))()
            self.ok = lib.cudnnGetConvolutionNdForwardOutputDim(
                self.conv, self.x, self.w, len(y_shape), dims) == 0 and \
                tuple(dims) == tuple(y_shape)
        self.algos = {}

    def algo(self, direction, handle, deterministic, benchmark=False):
        """(algo, workspace bytes, math type) for 'fwd', 'data' or 'filter': the first of
        cuDNN's heuristics' list that it supports here (deterministic where asked), or with
        `benchmark` of its timings' list (fastest first, each configuration timed once, as
        PyTorch's cudnn.benchmark); None where it offers none."""
        key = (direction, deterministic, benchmark)
        if key not in self.algos:
            lib = self.lib
            name = {"fwd": "Forward", "data": "BackwardData", "filter": "BackwardFilter"}[
                direction]
            get = getattr(lib, f"cudnnFindConvolution{name}Algorithm" if benchmark else
                          f"cudnnGetConvolution{name}Algorithm_v7")
            descs = {"fwd": (self.x, self.w, self.conv, self.y),
                     "data": (self.w, self.y, self.conv, self.x),
                     "filter": (self.x, self.y, self.conv, self.w)}[direction]
            perf = (_Perf * _MAX_ALGOS)()
            n = ctypes.c_int(0)
            ok = get(handle, *descs, _MAX_ALGOS, ctypes.byref(n), perf) == 0
            self.algos[key] = [(p.algo, p.memory, p.mathType) for p in perf[:n.value if ok else 0]
                               if p.status == 0 and (not deterministic or
                                                     p.determinism == _DETERMINISTIC)]
        choices = self.algos[key]
        return choices[0] if choices else None

    def drop(self, direction, deterministic, benchmark=False):
        """Forget the algorithm algo() gave (its workspace did not fit, or it failed)."""
        del self.algos[(direction, deterministic, benchmark)][0]

    def close(self):
        lib = self.lib
        for d in (self.x, self.y, self.b):
            if d is not None:
                lib.cudnnDestroyTensorDescriptor(d)
        if self.w is not None:
            lib.cudnnDestroyFilterDescriptor(self.w)
        lib.cudnnDestroyConvolutionDescriptor(self.conv)


def _dtype_code(dtype):
    if dtype == np.float32:
        return _DATA_FLOAT
    if dtype == np.float64:
        return _DATA_DOUBLE
    if dtype == np.float16:
        return _DATA_HALF
    if dtype.kind == "V" and dtype.itemsize == 2:   # ml_dtypes' bfloat16
        return _DATA_BFLOAT16
    return None


def _plan(dtype, x_shape, w_shape, y_shape, stride, padding, dilation, groups):
    """(lib, handle, plan) for this configuration, or None where cuDNN is not to be used."""
    if not FLAGS["enabled"]:
        return None
    code = _dtype_code(dtype)
    nd = len(stride)
    if code is None or not 1 <= nd <= 3 or 0 in x_shape or 0 in w_shape or 0 in y_shape \
            or max(np.prod(x_shape), np.prod(w_shape), np.prod(y_shape)) >= 2 ** 31:
        return None
    lib = library()
    if lib is None:
        return None
    handle = _handle(lib)
    if handle is None:
        return None
    if nd == 1:   # cuDNN's convolutions start at 2-D: height 1
        x_shape, w_shape, y_shape = (x_shape[:2] + (1,) + x_shape[2:],
                                     w_shape[:2] + (1,) + w_shape[2:],
                                     y_shape[:2] + (1,) + y_shape[2:])
        stride, padding, dilation = (1,) + stride, (0,) + padding, (1,) + dilation
    if code == _DATA_FLOAT:
        math = _DEFAULT_MATH if cupy_kernels.TF32["conv"] else _FMA_MATH
    else:
        math = _TENSOR_OP_MATH if code in (_DATA_HALF, _DATA_BFLOAT16) else _DEFAULT_MATH
    key = (code, x_shape, w_shape, y_shape, stride, padding, dilation, groups, math)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _MAX_CACHED:
            for p in _PLANS.values():
                p.close()
            _PLANS.clear()
        plan = _PLANS[key] = _Plan(lib, code, x_shape, w_shape, y_shape, stride, padding,
                                   dilation, groups, math)
    return (lib, handle, plan) if plan.ok else None


def _shapes(x_shape, w_shape, stride, padding, dilation):
    """The output shape of the convolution, with the caller's checks already done."""
    out = tuple((x_shape[2 + i] + 2 * padding[i] - dilation[i] * (w_shape[2 + i] - 1) - 1)
                // stride[i] + 1 for i in range(len(stride)))
    return (x_shape[0], w_shape[0]) + out


def conv_forward(x, w, bias, stride, padding, dilation, groups):
    """y = conv(x, w) (+ bias) for CuPy arrays of one float dtype (float16 and bfloat16
    accumulate in float32, as PyTorch's cuDNN convolutions), or None."""
    stride, padding, dilation = tuple(stride), tuple(padding), tuple(dilation)
    if w.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
        return None
    y_shape = _shapes(x.shape, w.shape, stride, padding, dilation)
    found = _plan(x.dtype, x.shape, w.shape, y_shape, stride, padding, dilation, groups)
    if found is None:
        return None
    import cupy
    x, w = cupy.ascontiguousarray(x), cupy.ascontiguousarray(w)
    y = cupy.empty(y_shape, dtype=x.dtype)
    lib, handle, plan = found
    out_ptr = _P(y.data.ptr)
    if not _run_into(found, "fwd", lib.cudnnConvolutionForward, plan.x, x, plan.w, w, out_ptr):
        return None
    if bias is not None:
        bias = cupy.ascontiguousarray(bias)
        _check(lib, lib.cudnnAddTensor(handle, ctypes.byref(plan.one), plan.b,
                                       _P(bias.data.ptr), ctypes.byref(plan.one), plan.y,
                                       out_ptr), "cudnnAddTensor")
    return y


def _run_into(found, direction, call, desc_a, a, desc_b, b, out_ptr):
    """One convolution call of `direction` writing to out_ptr; False where cuDNN has no
    algorithm for it. An algorithm whose workspace does not fit in memory gives way to the
    next (as in PyTorch), and so does one whose call fails (with a warning: a library
    that lacks one of its engines' dependencies fails that way); CudnnError when all
    have failed."""
    import cupy
    lib, handle, plan = found
    how = (FLAGS["deterministic"] or FLAGS["global_deterministic"], FLAGS["benchmark"])
    out_desc = {"fwd": plan.y, "data": plan.x, "filter": plan.w}[direction]
    failed = None
    while True:
        choice = plan.algo(direction, handle, *how)
        if choice is None:
            if failed is not None:
                _check(lib, failed, call.__name__)
            return False
        algo, ws_size, math = choice
        ws = None   # no workspace: a NULL pointer
        try:
            if ws_size:
                ws = cupy.empty((ws_size,), dtype=np.uint8)
        except Exception as e:   # cupy.cuda.memory.OutOfMemoryError
            if type(e).__name__ != "OutOfMemoryError":
                raise
            plan.drop(direction, *how)
            continue
        if plan.base_math == _FMA_MATH:   # float32 without TF32: never tensor-op math
            math = _FMA_MATH
        if plan.math != math:
            _check(lib, lib.cudnnSetConvolutionMathType(plan.conv, math), "set math type")
            plan.math = math
        status = call(handle, ctypes.byref(plan.one), desc_a, _P(a.data.ptr), desc_b,
                      _P(b.data.ptr), plan.conv, algo, None if ws is None else _P(ws.data.ptr),
                      ws_size, ctypes.byref(plan.zero), out_desc, out_ptr)
        if status == 0:
            return True
        import warnings
        warnings.warn(f"cuDNN: {call.__name__} with algorithm {algo} failed "
                      f"({lib.cudnnGetErrorString(status).decode()}); trying the next one")
        failed = status
        plan.drop(direction, *how)


def conv_backward_data(g, w, x_shape, stride, padding, dilation, groups):
    """dx of y = conv(x, w) given dy = g, or None (also where x_shape's convolution does
    not give g's shape: a transposed convolution's output_padding past the stride)."""
    stride, padding, dilation, x_shape = tuple(stride), tuple(padding), tuple(dilation), \
        tuple(x_shape)
    if w.dtype != g.dtype or _shapes(x_shape, w.shape, stride, padding, dilation) != \
            tuple(g.shape):
        return None
    found = _plan(g.dtype, x_shape, w.shape, tuple(g.shape), stride, padding, dilation, groups)
    if found is None:
        return None
    import cupy
    g, w = cupy.ascontiguousarray(g), cupy.ascontiguousarray(w)
    dx = cupy.empty(x_shape, dtype=g.dtype)
    lib, _, plan = found
    ok = _run_into(found, "data", lib.cudnnConvolutionBackwardData, plan.w, w, plan.y, g,
                   _P(dx.data.ptr))
    return dx if ok else None


def conv_backward_filter(x, g, w_shape, stride, padding, dilation, groups):
    """dw of y = conv(x, w) given dy = g, or None."""
    stride, padding, dilation, w_shape = tuple(stride), tuple(padding), tuple(dilation), \
        tuple(w_shape)
    if g.dtype != x.dtype or _shapes(x.shape, w_shape, stride, padding, dilation) != \
            tuple(g.shape):
        return None
    found = _plan(x.dtype, tuple(x.shape), w_shape, tuple(g.shape), stride, padding,
                  dilation, groups)
    if found is None:
        return None
    import cupy
    x, g = cupy.ascontiguousarray(x), cupy.ascontiguousarray(g)
    dw = cupy.empty(w_shape, dtype=x.dtype)
    lib, _, plan = found
    ok = _run_into(found, "filter", lib.cudnnConvolutionBackwardFilter, plan.x, x, plan.y, g,
                   _P(dw.data.ptr))
    return dw if ok else None


def conv_backward_bias(g):
    """The bias gradient of a convolution, g summed over all dims but 1, or None."""
    code = _dtype_code(g.dtype)
    if not FLAGS["enabled"] or code is None or not 3 <= g.ndim <= 5 or 0 in g.shape \
            or g.size >= 2 ** 31:
        return None
    lib = library()
    handle = None if lib is None else _handle(lib)
    if handle is None:
        return None
    shape = tuple(g.shape) if g.ndim > 3 else g.shape[:2] + (1,) + g.shape[2:]
    key = (code, shape)
    descs = _BIAS.get(key)
    if descs is None:
        if len(_BIAS) >= _MAX_CACHED:
            for d in (d for pair in _BIAS.values() for d in pair):
                lib.cudnnDestroyTensorDescriptor(d)
            _BIAS.clear()
        descs = _BIAS[key] = (_tensor(lib, code, shape),
                              _tensor(lib, code, (1, shape[1]) + (1,) * (len(shape) - 2)))
    if None in descs:
        return None
    import cupy
    g = cupy.ascontiguousarray(g)
    db = cupy.empty((g.shape[1],), dtype=g.dtype)
    one, zero = ((ctypes.c_double(1.0), ctypes.c_double(0.0)) if code == _DATA_DOUBLE else
                 (ctypes.c_float(1.0), ctypes.c_float(0.0)))
    _check(lib, lib.cudnnConvolutionBackwardBias(handle, ctypes.byref(one), descs[0],
                                                 _P(g.data.ptr), ctypes.byref(zero), descs[1],
                                                 _P(db.data.ptr)), "cudnnConvolutionBackwardBias")
    return db


def available():
    """Whether convolutions on the current device can go to cuDNN (enabled, loaded, and a
    handle made); a configuration cuDNN declines still takes the im2col path."""
    if not FLAGS["enabled"]:
        return False
    lib = library()
    return lib is not None and _handle(lib) is not None
