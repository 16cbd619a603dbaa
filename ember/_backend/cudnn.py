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
import math
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
_D = ctypes.c_double
_BN_SIG = {   # batch normalization (cudnn_ops_v9.h): used where the library has them
    # handle, mode, alpha, beta, x desc, x, y desc, y, parameter desc, scale, bias,
    # exponential average factor, running mean, running var, epsilon, save mean, save invstd
    "cudnnBatchNormalizationForwardTraining": [_P, _I, _P, _P, _P, _P, _P, _P, _P, _P, _P, _D,
                                               _P, _P, _D, _P, _P],
    # handle, mode, alpha/beta data, alpha/beta params, x desc, x, dy desc, dy, dx desc, dx,
    # parameter desc, scale, dscale, dbias, epsilon, saved mean, saved invstd
    "cudnnBatchNormalizationBackward": [_P, _I, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P,
                                        _P, _P, _P, _D, _P, _P],
}
_BN_SPATIAL = 1   # cudnnBatchNormMode_t: statistics per channel over N and the spatial dims
_STATE = {"lib": False, "stream": {}}   # lib: False until tried, then the CDLL or None
_HANDLES = {}   # device id -> cudnnHandle_t
_PLANS = {}     # configuration -> _Plan
_CHANNEL = {}   # (dtype code, shape as 4-D/5-D) -> (its descriptor, (1, C, 1..)'s): _per_channel
_CONSTANT = {}  # (device, C, dtype, value) -> a C-long array of `value` (BN without affine)


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
            lib.has_batch_norm = True
            for name, args in _BN_SIG.items():
                fn = getattr(lib, name, None)
                if fn is None:
                    lib.has_batch_norm = False
                else:
                    fn.argtypes, fn.restype = args, ctypes.c_int
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


def _ptr(a):
    """A CuPy array's device pointer for ctypes (None: NULL)."""
    return None if a is None else _P(a.data.ptr)


def _ints(values):
    return (ctypes.c_int * len(values))(*values)


def _scalars(code):
    """(1, 0) as the alpha/beta scaling factors cuDNN reads for data of type `code`:
    doubles for double data, floats for the rest."""
    if code == _DATA_DOUBLE:
        return ctypes.c_double(1.0), ctypes.c_double(0.0)
    return ctypes.c_float(1.0), ctypes.c_float(0.0)


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
                 groups, math_type):
        self.lib = lib
        self.dtype = dtype
        self.one, self.zero = _scalars(dtype)
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
            or lib.cudnnSetConvolutionMathType(self.conv, math_type))
        self.math = self.base_math = math_type   # the math type set on self.conv, the asked one
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
            or max(math.prod(x_shape), math.prod(w_shape), math.prod(y_shape)) >= 2 ** 31:
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
        math_type = _DEFAULT_MATH if cupy_kernels.TF32["conv"] else _FMA_MATH
    else:
        math_type = _TENSOR_OP_MATH if code in (_DATA_HALF, _DATA_BFLOAT16) else _DEFAULT_MATH
    key = (code, x_shape, w_shape, y_shape, stride, padding, dilation, groups, math_type)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _MAX_CACHED:
            for p in _PLANS.values():
                p.close()
            _PLANS.clear()
        plan = _PLANS[key] = _Plan(lib, code, x_shape, w_shape, y_shape, stride, padding,
                                   dilation, groups, math_type)
    return (lib, handle, plan) if plan.ok else None


def _shapes(x_shape, w_shape, stride, padding, dilation):
    """The output shape of the convolution, with the caller's checks already done."""
    out = tuple((x_shape[2 + i] + 2 * padding[i] - dilation[i] * (w_shape[2 + i] - 1) - 1)
                // stride[i] + 1 for i in range(len(stride)))
    return (x_shape[0], w_shape[0]) + out


def _convolve(direction, first, second, x_shape, w_shape, y_shape, conv):
    """One cuDNN convolution call into a new array: 'fwd' (x, w) -> y, 'data' (w, dy) -> dx,
    'filter' (x, dy) -> dw, conv = (stride, padding, dilation, groups); (out, (lib, handle,
    plan)), or None where cuDNN does not take it (also where x_shape's convolution does not
    give y_shape: a transposed convolution's output_padding past the stride)."""
    if isinstance(first, np.ndarray):   # host (or meta) arrays: NumPy's path
        return None
    stride, padding, dilation, groups = conv
    stride, padding, dilation = tuple(stride), tuple(padding), tuple(dilation)
    x_shape, w_shape, y_shape = tuple(x_shape), tuple(w_shape), tuple(y_shape)
    if first.dtype != second.dtype or \
            _shapes(x_shape, w_shape, stride, padding, dilation) != y_shape:
        return None
    found = _plan(first.dtype, x_shape, w_shape, y_shape, stride, padding, dilation, groups)
    if found is None:
        return None
    import cupy
    first, second = cupy.ascontiguousarray(first), cupy.ascontiguousarray(second)
    lib, _, plan = found
    name, out_shape, descs = {"fwd": ("Forward", y_shape, (plan.x, plan.w)),
                              "data": ("BackwardData", x_shape, (plan.w, plan.y)),
                              "filter": ("BackwardFilter", w_shape, (plan.x, plan.y))}[direction]
    out = cupy.empty(out_shape, dtype=first.dtype)
    if not _run_into(found, direction, getattr(lib, "cudnnConvolution" + name), descs[0],
                     first, descs[1], second, _P(out.data.ptr)):
        return None
    return out, found


def conv_forward(x, w, bias, stride, padding, dilation, groups):
    """y = conv(x, w) (+ bias) for CuPy arrays of one float dtype (float16 and bfloat16
    accumulate in float32, as PyTorch's cuDNN convolutions), or None."""
    if bias is not None and bias.dtype != x.dtype:
        return None
    done = _convolve("fwd", x, w, x.shape, w.shape,
                     _shapes(x.shape, w.shape, stride, padding, dilation),
                     (stride, padding, dilation, groups))
    if done is None:
        return None
    y, (lib, handle, plan) = done
    if bias is not None:
        import cupy
        bias = cupy.ascontiguousarray(bias)
        _check(lib, lib.cudnnAddTensor(handle, ctypes.byref(plan.one), plan.b,
                                       _P(bias.data.ptr), ctypes.byref(plan.one), plan.y,
                                       _P(y.data.ptr)), "cudnnAddTensor")
    return y


def conv_backward_data(g, w, x_shape, stride, padding, dilation, groups):
    """dx of y = conv(x, w) given dy = g, or None."""
    done = _convolve("data", w, g, x_shape, w.shape, g.shape,
                     (stride, padding, dilation, groups))
    return None if done is None else done[0]


def conv_backward_filter(x, g, w_shape, stride, padding, dilation, groups):
    """dw of y = conv(x, w) given dy = g, or None."""
    done = _convolve("filter", x, g, x.shape, w_shape, g.shape,
                     (stride, padding, dilation, groups))
    return None if done is None else done[0]


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
        algo, ws_size, math_type = choice
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
            math_type = _FMA_MATH
        if plan.math != math_type:
            _check(lib, lib.cudnnSetConvolutionMathType(plan.conv, math_type), "set math type")
            plan.math = math_type
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


def _per_channel(lib, a):
    """((a's descriptor, a (1, C, 1, ...) descriptor), one, zero) for contiguous CuPy array a
    (N, C, *spatial) of 2 to 5 dims, seen as 4-D where it has fewer (cuDNN's minimum):
    the operands of the bias gradient and of batch normalization."""
    code = _dtype_code(a.dtype)
    shape = tuple(a.shape) + (1,) * (4 - a.ndim)
    descs = _CHANNEL.get((code, shape))
    if descs is None:
        if len(_CHANNEL) >= _MAX_CACHED:
            for d in (d for pair in _CHANNEL.values() for d in pair):
                lib.cudnnDestroyTensorDescriptor(d)
            _CHANNEL.clear()
        descs = _CHANNEL[(code, shape)] = (
            _tensor(lib, code, shape), _tensor(lib, code, (1, shape[1]) + (1,) * (len(shape) - 2)))
    return (descs,) + _scalars(code)


def conv_backward_bias(g):
    """The bias gradient of a convolution, g summed over all dims but 1, or None."""
    if isinstance(g, np.ndarray) or not FLAGS["enabled"] or _dtype_code(g.dtype) is None or \
            not 3 <= g.ndim <= 5 or 0 in g.shape or g.size >= 2 ** 31:
        return None
    lib = library()
    handle = None if lib is None else _handle(lib)
    if handle is None:
        return None
    import cupy
    g = cupy.ascontiguousarray(g)
    (gd, bd), one, zero = _per_channel(lib, g)
    if gd is None or bd is None:
        return None
    db = cupy.empty((g.shape[1],), dtype=g.dtype)
    _check(lib, lib.cudnnConvolutionBackwardBias(handle, ctypes.byref(one), gd, _ptr(g),
                                                 ctypes.byref(zero), bd, _ptr(db)),
           "cudnnConvolutionBackwardBias")
    return db


def available():
    """Whether convolutions on the current device can go to cuDNN (enabled, loaded, and a
    handle made); a configuration cuDNN declines still takes the im2col path."""
    if not FLAGS["enabled"]:
        return False
    lib = library()
    return lib is not None and _handle(lib) is not None


# ------------------------------------------------------------------ batch normalization

def batch_norm_supported(x, w, b, running, eps):
    """Whether batch_norm_train takes BatchNorm of x (N, C, *spatial) in training mode:
    x a CuPy array (NumPy ones: no), float32/float64, contiguous, 2 to 5 dims; w, b
    (C-long or None) and the running (mean, var) pair (both arrays or both None) of x's
    dtype; cuDNN loaded with its batch normalization."""
    if type(x) is np.ndarray or not FLAGS["enabled"] or \
            x.dtype not in (np.float32, np.float64) or \
            not 2 <= x.ndim <= 5 or not 0 < x.size < 2 ** 31 or not eps >= 0 or \
            not x.flags.c_contiguous or (running[0] is None) != (running[1] is None):
        return False
    for a in (w, b) + tuple(running):
        if a is not None and (a.dtype != x.dtype or not a.flags.c_contiguous
                              or a.shape != (x.shape[1],)):
            return False
    return available() and library().has_batch_norm


def _constant(x, value):
    import cupy
    key = (x.device.id, x.shape[1], x.dtype, value)
    a = _CONSTANT.get(key)
    if a is None:
        a = _CONSTANT[key] = cupy.full(x.shape[1], value, dtype=x.dtype)
    return a


def batch_norm_train(x, w, b, running, momentum, eps):
    """BatchNorm in training mode in one cuDNN call (batch_norm_supported says where):
    (y, (mean, invstd)), mean and 1/sqrt(biased var + eps) per channel for the backward;
    the running (mean, var) pair, unless None, moves by `momentum` (var: the unbiased
    variance, as PyTorch's)."""
    import cupy
    lib = library()
    handle = _handle(lib)
    (xd, pd), one, zero = _per_channel(lib, x)
    C = x.shape[1]
    y = cupy.empty_like(x)
    mean, invstd = cupy.empty(C, dtype=x.dtype), cupy.empty(C, dtype=x.dtype)
    w = _constant(x, 1.0) if w is None else w
    b = _constant(x, 0.0) if b is None else b
    _check(lib, lib.cudnnBatchNormalizationForwardTraining(
        handle, _BN_SPATIAL, ctypes.byref(one), ctypes.byref(zero), xd, _ptr(x), xd, _ptr(y),
        pd, _ptr(w), _ptr(b), float(momentum), _ptr(running[0]), _ptr(running[1]),
        float(eps), _ptr(mean), _ptr(invstd)), "cudnnBatchNormalizationForwardTraining")
    return y, (mean, invstd)


def batch_norm_backward(g, x, w, saved, eps):
    """(dx, dw, db) of batch_norm_train's y given its gradient g, from the saved (mean,
    invstd); dw and db C-long arrays of their own."""
    import cupy
    lib = library()
    handle = _handle(lib)
    (xd, pd), one, zero = _per_channel(lib, x)
    C = x.shape[1]
    g = cupy.ascontiguousarray(g)
    dx = cupy.empty_like(x)
    dw, db = cupy.empty(C, dtype=x.dtype), cupy.empty(C, dtype=x.dtype)
    w = _constant(x, 1.0) if w is None else w
    _check(lib, lib.cudnnBatchNormalizationBackward(
        handle, _BN_SPATIAL, ctypes.byref(one), ctypes.byref(zero), ctypes.byref(one),
        ctypes.byref(zero), xd, _ptr(x), xd, _ptr(g), xd, _ptr(dx), pd, _ptr(w), _ptr(dw),
        _ptr(db), float(eps), _ptr(saved[0]), _ptr(saved[1])), "cudnnBatchNormalizationBackward")
    return dx, dw, db
