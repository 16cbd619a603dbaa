"""Running an optimizer's per-parameter update over a parameter list, fast on the CPU.

A NumPy expression such as ``x - lr * g`` allocates a temporary array per operation; for
the ~100K-value parameters of a network each temporary is a fresh block of memory whose
pages are faulted in again at every step, which cost more than the arithmetic. Updates here
write their intermediate results into `scratch` buffers (``out=``) that each thread keeps
from step to step, so a step allocates nothing. `for_each` then runs the update of every
parameter, splitting the list over two threads when there is enough work: NumPy releases
the GIL inside its loops, so the halves run at the same time on two cores.

On the GPU the cost is the host's, a kernel launch per parameter: `multi_tensor` updates
the parameters that its kernels take (ember/_backend/cupy_multi_tensor.py) a launch for
many at a time, and leaves the others to the per-parameter update.
"""
import threading

import numpy as np

from .. import _threads
from .._backend import array_namespace, blas_threads, cupy_multi_tensor
from ._fma import axpy_

# buffers larger than this are allocated per call instead of kept (a model's few huge
# embedding matrices would otherwise pin copies of themselves)
_KEEP_BYTES = 1 << 24
# below this many values in all, a step runs on the calling thread alone: handing half the
# list to another thread costs ~150 us
_PARALLEL_MIN = 1 << 20

_local = threading.local()
_num_threads = _threads.intra_op_threads


def scratch(x, count):
    """`count` arrays of x's shape and dtype with undefined contents. For NumPy arrays they
    are views of buffers this thread keeps between calls (the same buffers on every call:
    a caller must be done with them before it calls again); CuPy's memory pool serves the
    GPU."""
    if type(x) is not np.ndarray:
        xp = array_namespace(x)
        return [xp.empty_like(x) for _ in range(count)]
    n = x.size
    if n * x.itemsize > _KEEP_BYTES:
        return [np.empty(x.shape, x.dtype) for _ in range(count)]
    views = getattr(_local, "views", None)
    if views is None:
        views = _local.views = {}
        _local.buffers = {}
    key = (x.dtype, x.shape, count)
    got = views.get(key)
    if got is None:
        got = _views(x.dtype, x.shape, n, count)
        _local.views[key] = got
    return got


def _views(dtype, shape, n, count):
    """`count` views of shape `shape` on this thread's buffers of `dtype`, grown as needed
    (forgetting the views made on the old ones)."""
    bufs = _local.buffers.get(dtype)
    if bufs is None or len(bufs) < count or bufs[0].size < n:
        size = max(n, bufs[0].size if bufs else 0)
        bufs = _local.buffers[dtype] = [np.empty(size, dtype)
                                        for _ in range(max(count, len(bufs) if bufs else 0))]
        for key in [k for k in _local.views if k[0] == dtype]:
            del _local.views[key]
    return [b[:n].reshape(shape) for b in bufs[:count]]


def for_each(update, items, arrays, threads=None):
    """Call ``update(item)`` for every item; ``arrays[i]`` is the parameter array item i
    updates. When all are NumPy arrays with at least _PARALLEL_MIN values in all, and
    `threads` (default: two if ember.get_num_threads() allows) is 2, a worker thread takes
    the second half of the list, by values, while this thread runs the first. `update` must
    touch only its own item's arrays (and `scratch`).

    Either way the updates run with NumPy's OpenBLAS at one thread (ember._threads.run_pair,
    ember._backend.blas_threads.at_one_thread; one switch per call, ~10 us): the exact
    in-place updates (_fma.axpy_) call OpenBLAS's axpy, which splits an array of more than
    10,000 values over OpenBLAS's own threads; under ember's two update threads that made
    four threads on two cores, and a step waited for the late ones (SGD with momentum at
    two threads took 8.3-8.8 ms a step against 6.1-7.5 before axpy_ was used, and ~8x
    longer than that on a machine loaded with other processes)."""
    if threads is None:
        threads = 2 if len(items) > 1 and _num_threads() > 1 else 1
    sizes = [a.size for a in arrays] if threads > 1 else ()
    if threads < 2 or sum(sizes) < _PARALLEL_MIN or \
            any(type(a) is not np.ndarray for a in arrays):
        if arrays and type(arrays[0]) is np.ndarray:
            blas_threads.at_one_thread(_run, update, items)
        else:
            _run(update, items)
        return
    half, acc, cut = sum(sizes) / 2, 0, len(items) - 1
    for i, size in enumerate(sizes):
        acc += size
        if acc >= half:
            cut = min(i + 1, len(items) - 1)
            break
    if _threads.run_pair(lambda: _run(update, items[cut:]),
                         lambda: _run(update, items[:cut])) is None:
        # (no split to be had: another is under way, or no BLAS control)
        blas_threads.at_one_thread(_run, update, items)


def one_blas_thread(update):
    """`update` (an optimizer's step, its parameters one after another on this thread, with
    exact in-place updates that call OpenBLAS's axpy) as a function that runs it with
    NumPy's OpenBLAS at one thread, as for_each runs its updates: the axpy's own thread
    split costs a wake-up of the other thread per large parameter, and on a busy machine
    a wait for a core."""
    return lambda: blas_threads.at_one_thread(update)


def _run(update, items):
    for item in items:
        update(item)


def decayed_grad(xp, x, g, maximize, weight_decay, s0, s1):
    """The gradient an update step uses: -g when maximizing, plus weight_decay * x (L2
    decay), written into scratch buffer s0 (s1 is overwritten); g itself when neither
    applies. The decay rounds once, as torch's ``grad.add(param, alpha=weight_decay)``."""
    if maximize:
        g = xp.negative(g, out=s0)
    if weight_decay != 0:
        if g is not s0:
            s0[...] = g
        g = axpy_(s0, weight_decay, x)
    return g


def fusable(x, g, maximize):
    """Whether the fused CUDA optimizer kernels (per parameter or multi-tensor) take
    parameter array x with gradient g: float32/64 on the GPU, g of x's dtype, descending
    (the kernels subtract the update)."""
    return type(x) is not np.ndarray and x.dtype.char in "fd" and g.dtype == x.dtype and \
        not maximize


def multi_tensor(name, work, scalars):
    """Update CUDA parameters with the multi-tensor kernel `name`
    (ember/_backend/cupy_multi_tensor.py): one launch per device, dtype and `key`, and per
    slots of parameters, instead of one per parameter. `work`: (item, x, arrays, key) per
    parameter x, arrays as the kernel takes them (gradient, x, state; float32/64 of one
    dtype) or None where the kernel does not apply, key what the scalars depend on besides
    the dtype (Adam's step count); scalars(key, t) gives the kernel's scalars as type t.
    Returns, in order, the items left to the caller to run after the launches: those
    without arrays or whose arrays do not fit a slot, and any later item of their
    parameters (a parameter listed twice is updated twice, in order); all where there are
    no kernels. Empty parameters need nothing."""
    rest, buckets, left = [], {}, set()
    for item, x, arrays, key in work:
        if arrays is not None and x.size == 0:
            continue
        if arrays is None or id(x) in left or not cupy_multi_tensor.fits(x, *arrays):
            rest.append(item)
        else:
            bucket = buckets.get((x.data.device_id, x.dtype, key))
            if bucket is None:
                bucket = buckets[(x.data.device_id, x.dtype, key)] = ([], [])
            bucket[0].append(item)
            bucket[1].append(arrays)
        left.add(id(x))   # a later update of x follows this one (never races it in a launch)
    for (device, dtype, key), (items, params) in buckets.items():
        if not cupy_multi_tensor.launch(name, params, scalars(key, dtype.type), device):
            # no kernels (built for both dtypes at once: the first launch tells), nothing ran
            return [item for item, *_ in work]
    return rest
