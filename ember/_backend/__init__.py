"""Array namespaces per device type: NumPy for 'cpu', CuPy for 'cuda', and for 'meta'
NumPy running on data-free arrays (meta_backend.MetaArray).

Op code calls ``xp.exp`` on whatever namespace serves its tensors; the few
kernels that differ between NumPy and CuPy live in the backend modules.
"""
# [True] once the dispatcher must look at the devices of operands: from the first CUDA or
# meta array on (meta_backend sets it), so that CPU-only programs pay nothing for it
DEVICE_CHECKS = [False]

from . import numpy_backend, meta_backend   # noqa: E402 (meta_backend reads DEVICE_CHECKS)
from . import parallel   # noqa: E402
from .. import _dtype   # noqa: E402
# a complex32/float8 tensor's ops go through the dispatcher's narrow-dtype policy, which it
# reaches beside its device checks
_dtype.ON_NARROW.append(lambda: DEVICE_CHECKS.__setitem__(0, True))
from .meta_backend import MetaArray   # noqa: E402

_CUDA = None
# [True] once the CUDA backend is loaded: the dispatcher checks devices only from then on,
# so CPU-only programs pay nothing for it
CUDA_ON = [False]
# the array types of the loaded backends (NumPy's, then CuPy's once loaded)
ARRAY_TYPES = [numpy_backend.xp.ndarray]
# [True] once the CUDA backend is loaded on a machine with more than one GPU: only then can
# two CuPy operands live on different devices, so only then does the dispatcher compare
# their device ids (reading `a.device` builds a Device object per array)
MULTI_GPU = [False]


def get(dev):
    if dev.type == "cpu":
        return numpy_backend
    if dev.type == "cuda":
        return cuda_backend()
    if dev.type == "meta":
        return meta_backend
    raise RuntimeError(f"no backend for device type '{dev.type}'")


def cuda_backend():
    global _CUDA
    if _CUDA is None:
        from . import cupy_backend
        cupy_backend.check_available()
        _CUDA = cupy_backend
        ARRAY_TYPES.append(cupy_backend.xp.ndarray)
        MULTI_GPU[0] = cupy_backend.xp.cuda.runtime.getDeviceCount() > 1
        CUDA_ON[0] = True
        DEVICE_CHECKS[0] = True
    return _CUDA


def array_namespace(arr):
    """The namespace (numpy, cupy, or meta_backend's NumPy of no data) that owns `arr`."""
    if type(arr) is MetaArray:
        return meta_backend.xp
    if type(arr).__module__.startswith("cupy"):
        return cuda_backend().xp
    return numpy_backend.xp


def as_array(x, dtype=None):
    """`x` as an array: arrays of either backend pass through (cast to `dtype` if given);
    anything else (a NumPy scalar, a list) becomes a NumPy array, as np.asarray makes it."""
    t = type(x)
    if t is numpy_backend.xp.ndarray or t in ARRAY_TYPES or t is MetaArray or \
            t is BATCHED_ARRAY[0]:
        return x if dtype is None else x.astype(dtype, copy=False)
    return numpy_backend.xp.asarray(x, dtype=dtype)


# ember.func._batching.BatchedArray once loaded: vmap's batched arrays pass through as_array
BATCHED_ARRAY = [None]


def like(arr, ref):
    """NumPy array (or scalar) `arr` on the device of array `ref` (a copy to the GPU when
    `ref` is a CuPy array; an array of no data when `ref` is a meta array)."""
    t = type(ref)
    if t is numpy_backend.xp.ndarray:
        return arr
    if t is MetaArray:
        return arr if type(arr) is MetaArray else meta_backend.like(arr)
    if not CUDA_ON[0] or t is not ARRAY_TYPES[1]:
        return arr
    xp = _CUDA.xp
    if type(arr) is xp.ndarray and not MULTI_GPU[0]:
        return arr          # already on the only device
    with xp.cuda.Device(ref.device.id):
        return xp.asarray(arr)


def strided_view(x, shape, strides, writeable=None):
    """A view of array `x` with the given shape and byte strides, in x's own namespace;
    writable when x is, unless `writeable` is False (CuPy views are always writable)."""
    if type(x) is numpy_backend.xp.ndarray:
        if x.dtype.kind == "f" and x.dtype.itemsize == 1:   # float8_e5m2: as_strided cannot
            return strided_view(x.view("u1"), shape, strides, writeable).view(x.dtype)  # '<f1'
        return numpy_backend.xp.lib.stride_tricks.as_strided(
            x, shape, strides, writeable=x.flags.writeable if writeable is None else writeable)
    if type(x) is MetaArray:   # no data to lay out: any strides over its one element are 0
        return meta_backend.empty(shape, x.dtype)
    return _CUDA.xp.lib.stride_tricks.as_strided(x, shape, strides)


_SCATTER = {"add": "scatter_add", "maximum": "scatter_max", "minimum": "scatter_min"}


def ufunc_at(ufunc, out, key, values):
    """`ufunc.at(out, key, values)` (unbuffered in-place add/maximum/minimum at `key`) in
    out's namespace. CuPy's ufunc.at refuses tuple keys: its cupyx.scatter_* take them.
    Dtypes CuPy's atomics lack (bfloat16, complex, bool ...) run on the host and are
    copied back."""
    np_ = numpy_backend.xp
    if type(out) is np_.ndarray:
        ufunc.at(out, key, values)
        return
    if type(out) is MetaArray:   # no data to scatter into
        return
    import cupyx
    name = _SCATTER.get(ufunc.__name__)
    # dtypes by CuPy's atomics: add has float64/int64 ones; for max/min only the 32-bit and
    # uint64 ones are used (float64 max gave a wrong scatter_reduce(amax) gradcheck on the
    # H100; that case now takes the host path, not yet re-run on a GPU)
    ok = ("float16", "float32", "float64", "int32", "uint32", "uint64", "int64") \
        if name == "scatter_add" else ("float32", "int32", "uint32", "uint64")
    if name is not None and out.dtype.name in ok:
        try:
            getattr(cupyx, name)(out, key, values)
            return
        except (TypeError, NotImplementedError):
            pass
    host = out.get()
    ufunc.at(host, to_host(key), to_host(values))
    out[...] = _CUDA.xp.asarray(host)


def to_host(x):
    """`x` (an array, or a tuple of arrays and other keys) with CuPy arrays copied to NumPy
    ones: for the few algorithms that run on the host."""
    if type(x) is tuple:
        return tuple(to_host(v) for v in x)
    if CUDA_ON[0] and type(x) is ARRAY_TYPES[1]:
        return x.get()
    return x


def is_array(x):
    """Whether `x` is an array of a loaded backend (NumPy's or CuPy's), not a scalar."""
    return type(x) is numpy_backend.xp.ndarray or type(x) in ARRAY_TYPES or type(x) is MetaArray


def has_half_kernel(x, kernel):
    """Whether the backend holding array `x` runs PyTorch's kernel `kernel` in float16 and
    bfloat16 (the CPU backend lacks a few, as PyTorch's CPU build does)."""
    return not (type(x) is numpy_backend.xp.ndarray and kernel in
                numpy_backend.FULL_PRECISION_KERNELS)


def gpu_special():
    """cupyx.scipy.special: special-function kernels for CuPy arrays (imported on first
    use, on the CUDA path only)."""
    import cupyx.scipy.special
    return cupyx.scipy.special


def linalg_checks(xp):
    """A context in which namespace `xp`'s inv/solve/cholesky raise LinAlgError on singular
    or indefinite input. NumPy always does; CuPy returns NaNs unless asked to check
    cuSOLVER's info (which waits for the GPU, as PyTorch's own check does)."""
    if xp is numpy_backend.xp:
        import contextlib
        return contextlib.nullcontext()
    import cupyx
    return cupyx.errstate(linalg="raise")


def accumulate(ufunc, x, axis):
    """`ufunc.accumulate(x, axis=axis)` in x's namespace. CuPy accumulates add and
    multiply only: other ufuncs (maximum, minimum, logaddexp) scan in log2(n) steps on
    the device (each step combines every element with the one `step` places before)."""
    np_ = numpy_backend.xp
    if type(x) is np_.ndarray or type(x) is MetaArray:
        return ufunc.accumulate(x, axis=axis)
    xp = _CUDA.xp
    if ufunc is np_.add:
        return xp.cumsum(x, axis=axis, dtype=x.dtype)
    if ufunc is np_.multiply:
        return xp.cumprod(x, axis=axis, dtype=x.dtype)
    out = xp.moveaxis(x, axis, -1).copy()
    n, step = out.shape[-1], 1
    while step < n:
        out[..., step:] = ufunc(out[..., step:], out[..., :-step])
        step *= 2
    return xp.moveaxis(out, -1, axis)


def sum_over(x, axes, dtype=None, keepdims=False):
    """x summed over `axes` (a tuple). On CuPy, a reduction over several axes runs as one
    reduction per run of adjacent axes (merged by a reshape when x is contiguous), last
    first: CuPy's single multi-axis kernel gives each of few outputs (a BatchNorm's
    channels) one thread block and took ~1 ms per reduction on the H100
    (bench/gpu/conv_parts.py); the staged form is two passes with many outputs."""
    np_ = numpy_backend.xp
    if type(x) is not np_.ndarray and type(x) is not MetaArray:
        out = _gemv_sum(x, axes, dtype)
        if out is not None:
            return out.reshape(tuple(1 if i in axes else n for i, n in enumerate(x.shape))
                               if keepdims else tuple(n for i, n in enumerate(x.shape)
                                                      if i not in axes))
    if type(x) is np_.ndarray or len(axes) < 2:
        return np_.add.reduce(x, axis=axes, dtype=dtype, keepdims=keepdims)
    shape, runs, i = [], [], 0
    while i < x.ndim:
        if i in axes:
            n = 1
            while i < x.ndim and i in axes:
                n *= x.shape[i]
                i += 1
            runs.append(len(shape))
            shape.append(n)
        else:
            shape.append(x.shape[i])
            i += 1
    out = x.reshape(shape) if x.flags.c_contiguous else x
    for ax in reversed(runs if x.flags.c_contiguous else sorted(axes)):
        out = out.sum(axis=ax, dtype=dtype, keepdims=True)
    if keepdims:
        return out.reshape(tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


_ONES = {}   # (device, dtype char, n) -> a CuPy vector of n ones


def _gemv_sum(x, axes, dtype):
    """On CuPy, the sum of contiguous float32/64 x over its leading or its trailing dims
    as one matrix-vector product with a vector of ones (cuBLAS; CuPy's reduction over the
    leading dims of a (rows, columns) array, a bias gradient, took ~100 us on the H100);
    None for any other case."""
    nd, axes = x.ndim, tuple(sorted(axes))
    if not axes or x.dtype.char not in "fd" or (dtype is not None and dtype != x.dtype) or \
            not x.flags.c_contiguous or x.size == 0:
        return None
    k = len(axes)
    if axes == tuple(range(k)):
        lead = True
    elif axes == tuple(range(nd - k, nd)):
        lead = False
    else:
        return None
    n = 1
    for a in axes:
        n *= x.shape[a]
    if n == x.size:
        return None   # a full reduction: CuPy's own is one pass
    key = (x.data.device_id, x.dtype.char, n)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:
            _ONES.clear()
        with _CUDA.xp.cuda.Device(key[0]):   # on x's device, not the current one
            ones = _ONES[key] = _CUDA.xp.ones(n, dtype=x.dtype)
    return ones @ x.reshape(n, -1) if lead else x.reshape(-1, n) @ ones


def sum_keep(a, axes):
    """a summed over `axes` (a tuple), dims kept. NumPy: einsum, which reduces over several
    or strided axes at memory speed (np.sum over a BatchNorm's (0, 2, 3) is ~3x slower);
    CuPy: sum_over's staged reductions."""
    if type(a) is not numpy_backend.xp.ndarray:
        return sum_over(a, axes, keepdims=True)
    return _einsum_keep(a.shape, axes, a)


def dot_keep(a, b, axes):
    """sum(a * b) over `axes`, dims kept; on NumPy without the product's temporary."""
    if type(a) is not numpy_backend.xp.ndarray:
        return sum_over(a * b, axes, keepdims=True)
    return _einsum_keep(a.shape, axes, a, b)


def _einsum_keep(shape, axes, *operands):
    spec = _EINSUM_SPECS.get((len(shape), axes, len(operands)))
    if spec is None:
        spec = _einsum_spec(len(shape), axes, len(operands))
    a = operands[0]
    if parallel.worth(a.size, len(operands)):
        out = _einsum_split(spec, shape, operands)
    else:
        out = _c_einsum(spec[0], *operands)
    return out.reshape(tuple(n if k else 1 for n, k in zip(shape, spec[1])))


def _einsum_split(spec, shape, operands):
    """The einsum of _einsum_keep with its first kept dim cut into runs over the thread
    pool (ember._backend.parallel), each run's outputs reduced whole by one einsum, as the
    whole call reduces them: the same sums in the same order, bit for bit (BatchNorm's
    per-channel sums, cut by channel; LayerNorm's per-row ones, cut by row). Operands of
    one dtype and shape, C-contiguous (else one call)."""
    a = operands[0]
    kept = [i for i, k in enumerate(spec[1]) if k]
    if not kept or any(type(o) is not numpy_backend.xp.ndarray or o.dtype != a.dtype or
                       o.shape != a.shape or not o.flags.c_contiguous for o in operands):
        return _c_einsum(spec[0], *operands)
    dim = kept[0]
    out = numpy_backend.xp.empty(tuple(shape[i] for i in kept),
                                 _c_einsum(spec[0], *(o[:0] for o in operands)).dtype)
    lead = (slice(None),) * dim

    def run(lo, hi):
        part = lead + (slice(lo, hi),)
        _c_einsum(spec[0], *(o[part] for o in operands), out=out[lo:hi])
    parallel.split(shape[dim], run, a.size // shape[dim], len(operands))
    return out


def _einsum_spec(ndim, axes, n_operands):
    """(subscripts, kept mask) of _einsum_keep's sum over `axes`: built once per rank, axes
    and operand count (building the string cost ~10 us a call)."""
    letters = "abcdefghijklmnopqrstuvwxyz"[:ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in axes)
    spec = (",".join([letters] * n_operands) + "->" + kept,
            tuple(i not in axes for i in range(ndim)))
    if len(_EINSUM_SPECS) < 256:
        _EINSUM_SPECS[(ndim, tuple(axes), n_operands)] = spec
    return spec


_EINSUM_SPECS = {}
# NumPy's C einsum without np.einsum's Python wrapper (which only forwards to it when no
# optimize= is given); the wrapper where a NumPy build lacks it
_c_einsum = getattr(getattr(getattr(numpy_backend.xp, "_core", None), "multiarray", None),
                    "c_einsum", None) or numpy_backend.xp.einsum
