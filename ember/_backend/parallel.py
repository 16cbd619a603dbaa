"""Elementwise work on NumPy arrays split over a small persistent thread pool.

PyTorch runs its CPU elementwise kernels (add, mul, relu and its backward, batchnorm's
elementwise parts ...) on all cores, in pieces of at least 32K elements. NumPy runs a ufunc
on one thread, but it releases the GIL inside its loops, so a large array cut into pieces
can be worked on by several Python threads at once (from MIN_WORK element-passes on: a
Python thread's hand-off costs far more than an OpenMP one's). `split(n, run)` does that:
run(lo, hi)
over [0, n), the calling thread and the pool's workers claiming pieces from one shared
counter until none are left. The caller never waits for a piece nobody has started: on a
busy machine where a worker does not get a core in time, the caller simply does all the
pieces itself; and when a split takes as long as the caller's own pace says one thread
would, the next splits run whole for a while (`_judge`), so a loaded machine (a CI run, other
processes on the cores) pays for a probe now and then, not for every split.

Elementwise results do not depend on how the range is cut, so they are bit-identical to
one whole call: by the IEEE standard for the EXACT ufuncs (add, mul, div, sqrt, compares,
bit operations ...); for the others (exp, log, tanh, power ...) only where piecewise()
measured NumPy's loops on this machine to give every run of an array the whole call's
bits (ufunc(), runs() and the kernels that use them check it). Reductions are not cut here (their summation order would change); the
callers that split a reduction split it along its kept dims only, where each output is
still summed in one piece.

Only one split runs at a time in a process (`BUSY`; ember._threads.run_pair holds it as
well): a split asked for while another is under way, or from inside one, runs whole on its
own thread, so threads never multiply beyond the pool.

The number of threads is ember.set_num_threads's setting, else OMP_NUM_THREADS when set (as
PyTorch reads it), else the CPUs this process may run on.
"""
import itertools
import os
import queue
import threading
import time

import numpy as np

try:   # NumPy 2 keeps its floating-point error state in a context variable
    from numpy._core._ufunc_config import _extobj_contextvar
except ImportError:  # pragma: no cover - depends on the NumPy version
    _extobj_contextvar = None

# below this much work (elements times passes over them) an op runs whole on its own
# thread. Python threads sleep in the kernel between jobs (PyTorch's OpenMP threads spin):
# a round trip to another Python thread was measured at 156-185 us on the 2-core benchmark
# machine (bench/RESULTS.md), while one float32 pass over 2M elements takes ~300-450 us
# on one core there. (Under a load of 8 on its 2 cores, splits of 128K-2M elements took
# 1.5-2.5x the one-thread time: no core was free; _judge backs off then.)
MIN_WORK = 1 << 21
# the smallest piece worth a hand-off, in elements (PyTorch's grain is 32K)
MIN_PIECE = 1 << 15
# pieces per thread: more than one, so that a worker that starts late still finds work and
# one that is slowed by another process leaves less for the others to wait on
PIECES_PER_THREAD = 4

# [n]: ember.set_num_threads's setting, None for the default (OMP_NUM_THREADS or the CPUs)
SETTING = [None]
BUSY = threading.Lock()
# [splits left to run whole, the current back-off length] (see _judge)
_BACKOFF = [0, 0]
_clock = time.perf_counter
_DEFAULT = []
_POOL = []        # [(queue, [threads])] once started in this process


def threads():
    """How many threads a split may use (1: none besides the caller)."""
    n = SETTING[0]
    if n is not None:
        return n
    if not _DEFAULT:
        _DEFAULT.append(_default_threads())
    return _DEFAULT[0]


def _default_threads():
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def set_threads(n):
    """Record ember.set_num_threads's setting (the pool grows on its next use when larger;
    extra workers of a shrunk pool stay idle)."""
    SETTING[0] = n


class _Job:
    """One split: pieces [i * piece, (i + 1) * piece) of [0, n), claimed from `claims`;
    `left` counts finished pieces down; the last to finish releases `finished`."""
    __slots__ = ("run", "n", "piece", "count", "claims", "done", "finished", "error",
                 "errstate")

    def __init__(self, run, n, piece):
        self.run, self.n, self.piece = run, n, piece
        self.count = -(-n // piece)
        self.claims = itertools.count()   # next() on it is atomic under the GIL
        self.done = itertools.count(1)
        self.finished = threading.Lock()
        self.finished.acquire()
        self.error = None
        # NumPy's floating-point error state is per context: workers take the caller's
        self.errstate = _extobj_contextvar.get() if _extobj_contextvar is not None \
            else np.geterr()

    def work_timed(self):
        """work() on the caller's thread; returns (seconds in its pieces, elements done)."""
        count, piece, n = self.count, self.piece, self.n
        spent = done = 0
        while True:
            i = next(self.claims)
            if i >= count:
                return spent, done
            lo = i * piece
            hi = min(lo + piece, n)
            t = _clock()
            try:
                self.run(lo, hi)
            except BaseException as e:
                if self.error is None:
                    self.error = e
            spent += _clock() - t
            done += hi - lo
            if next(self.done) == count:
                self.finished.release()

    def work(self):
        count, piece, n = self.count, self.piece, self.n
        while True:
            i = next(self.claims)
            if i >= count:
                return
            lo = i * piece
            try:
                self.run(lo, min(lo + piece, n))
            except BaseException as e:   # raised again on the caller's thread
                if self.error is None:
                    self.error = e
            if next(self.done) == count:
                self.finished.release()

    def work_as_worker(self):
        if _extobj_contextvar is not None:
            token = _extobj_contextvar.set(self.errstate)
            try:
                self.work()
            finally:
                _extobj_contextvar.reset(token)
        else:  # pragma: no cover
            with np.errstate(**self.errstate):
                self.work()


def _worker(jobs):
    while True:
        job = jobs.get()
        job.work_as_worker()
        del job   # let the arrays go before waiting for the next job


def _workers(count):
    """The pool's job queue, with at least `count` worker threads started."""
    if not _POOL:
        _POOL.append((queue.SimpleQueue(), []))
    jobs, started = _POOL[0]
    while len(started) < count:
        t = threading.Thread(target=_worker, args=(jobs,), daemon=True,
                             name=f"ember-elementwise-{len(started)}")
        t.start()
        started.append(t)
    return jobs


def _forget_pool():
    """In a forked child the parent's worker threads do not exist: start anew."""
    _POOL.clear()
    if BUSY.locked():   # forked in the middle of a split
        BUSY.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def worth(elements, passes=1):
    """Whether work of `passes` passes over `elements` elements is worth a split (the
    caller's cheap test before it prepares one)."""
    return elements * passes >= MIN_WORK and threads() > 1


def split(n, run, grain=1, passes=1):
    """run(lo, hi) over [0, n) in pieces on this thread and the pool's; run(0, n) here
    when the work is below MIN_WORK, one thread is allowed or another split is under way.
    `grain`: how many elements one unit of the range holds (a range of rows: the row
    length); `passes`: how many passes run makes over them (the work counted is n * grain
    * passes). run must only write its own part of the outputs. Returns when every piece
    is done; an exception of a piece is raised here."""
    workers = threads() - 1
    if n * grain * passes < MIN_WORK or workers < 1 or n < 2 or \
            not BUSY.acquire(blocking=False):
        run(0, n)
        return
    try:
        want = (workers + 1) * PIECES_PER_THREAD
        piece = max(-(-n // want), -(-MIN_PIECE // grain))
        job = _Job(run, n, piece)
        if job.count < 2:
            run(0, n)
            return
        if _BACKOFF[0] > 0:   # recent splits bought nothing: the machine is busy
            _BACKOFF[0] -= 1
            run(0, n)
            return
        jobs = _workers(workers)
        start = _clock()
        for _ in range(min(workers, job.count - 1)):
            jobs.put(job)
        spent, done = job.work_timed()
        job.finished.acquire()   # the pieces the workers took are done
        if job.error is not None:
            raise job.error
        _judge(_clock() - start, spent * n / done if done else None)
    finally:
        BUSY.release()


def _judge(took, alone):
    """Back off after a split that took 90% or more of the time the caller's own pace
    (`alone`: its seconds per element times all of them) says one thread would have
    taken: on a machine whose other cores are busy the workers start late or are
    preempted while they hold the GIL, and a split costs more than it saves. The next
    1, 2, 4 ... 64 splits then run whole; one that pays resets the back-off."""
    if alone is not None and took < 0.9 * alone:
        _BACKOFF[1] = 0
        return
    _BACKOFF[1] = min(max(1, 2 * _BACKOFF[1]), 64)
    _BACKOFF[0] = _BACKOFF[1]


# ---------------------------------------------------------------------------- ufuncs

_ndarray = np.ndarray


def large(*args):
    """Whether any NumPy array among args has MIN_WORK elements or more (the cheap test a
    caller makes before ufunc())."""
    for a in args:
        if type(a) is _ndarray and a.size >= MIN_WORK:
            return True
    return False


def ufunc(f, *args, out=None):
    """f(*args, out=out) for a one-output NumPy ufunc `f`, split over the pool when its
    operands allow: NumPy arrays (or scalars), every full-size array and `out` C-contiguous,
    the others broadcast along leading dims or C-contiguous themselves. The pieces are runs
    of the flattened arrays when all have the full shape, else runs of rows (the first
    dim). A ufunc outside EXACT (exp, tanh, power ...) splits only with all its operands
    full-size arrays of one dtype on which it is piecewise(); its work counts WEIGHT passes.
    Anything else runs whole, so the result (values, dtype, layout) is always f's own."""
    plan = _plan(f, args, out)
    if plan is None:
        return f(*args) if out is None else f(*args, out=out)
    shape, flat, res = plan
    if out is None:
        out = np.empty(shape, res.dtype)
    n = out.size if flat else shape[0]
    views = [(a.reshape(-1) if flat else a) if _sliced(a, shape, flat) else None
             for a in args]
    target = out.reshape(-1) if flat else out

    def run(lo, hi):
        f(*[a if v is None else v[lo:hi] for a, v in zip(args, views)], out=target[lo:hi])
    split(n, run, 1 if flat else out.size // shape[0], WEIGHT.get(f, 1))
    return out


def _sliced(a, shape, flat):
    """Whether operand a is cut with the output (a full-size array; rows: an array whose
    first dim is the output's first one); others are passed whole to every piece."""
    if type(a) is not _ndarray or a.ndim == 0:
        return False
    if flat:
        return True
    return a.ndim == len(shape) and a.shape[0] == shape[0]


def _plan(f, args, out):
    """(shape, flat, result of f on an empty piece) when ufunc() may split, else None."""
    if type(f) is not np.ufunc or f.nout != 1 or threads() < 2 or BUSY.locked():
        return None
    arrays = [a for a in args if type(a) is _ndarray]
    if not arrays:
        return None
    for a in arrays:
        if a.dtype.hasobject or not a.flags.c_contiguous:
            return None
    if f not in EXACT:   # a loop that may treat a run's ends apart: only where probed
        if len(arrays) != len(args) or len({a.shape for a in arrays}) != 1 or \
                len({a.dtype for a in arrays}) != 1 or not piecewise(f, arrays[0].dtype):
            return None
    shape = arrays[0].shape if len(arrays) == 1 else np.broadcast_shapes(
        *(a.shape for a in arrays))
    size = 1
    for d in shape:
        size *= d
    if size * WEIGHT.get(f, 1) < MIN_WORK:
        return None
    if out is not None:
        if type(out) is not _ndarray or out.shape != shape or not out.flags.c_contiguous:
            return None
        for a in arrays:   # in place on an operand is fine; any other overlap is not
            if a is not out and np.may_share_memory(a, out) and not _same_memory(a, out):
                return None
    # flat: every array has the full shape (a 0-dim one goes whole to every piece)
    flat = all(a.shape == shape or a.ndim == 0 for a in arrays)
    if not flat and (len(shape) < 2 or shape[0] < 2):
        return None
    # f on an empty piece: its result dtype, and its errors (casting, types) raised here
    # before any thread starts
    empty = [a[:0] if _sliced(a, shape, flat) else a for a in args]
    res = f(*empty) if out is None else f(*empty, out=out[:0])
    if type(res) is not _ndarray:
        return None
    return shape, flat, res


def _same_memory(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.shape == b.shape and a.strides == b.strides)


# ---------------------------------------------------------------------------- piecewise

# ufuncs whose every element is one IEEE operation (correctly rounded, or exact), or a
# comparison, selection or bit operation: each output element depends on its inputs alone
# by the standard, whatever loop NumPy picks for a run of the array
EXACT = frozenset(getattr(np, n) for n in (
    "add", "subtract", "multiply", "divide", "true_divide", "negative", "positive",
    "absolute", "sqrt", "square", "reciprocal", "maximum", "minimum", "fmax", "fmin",
    "copysign", "floor", "ceil", "trunc", "rint", "sign", "signbit", "isnan", "isinf",
    "isfinite", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
    "bitwise_xor", "invert", "left_shift", "right_shift") if hasattr(np, n))

_PIECEWISE = {}    # (ufunc, dtype) -> whether runs of an array give the whole call's bits
_PROBE_EDGE = 17   # run starts and ends probed: every offset up to 64 bytes of float32


def piecewise(f, dtype):
    """Whether ufunc `f` (one or two inputs of `dtype`, one output) gives every element the
    bits a call over the whole array gives it, whatever run of the array a call covers.

    The transcendental loops (exp, log, tanh, sin ...) are not correctly rounded, and NumPy
    picks them by the CPU (AVX-512, AVX2, baseline): a loop that treated a run's unaligned
    head or its tail apart (a scalar loop for the leftovers, say) would give a split result
    other bits than one whole call. So this is measured, once per (ufunc, dtype) in the
    process, on this machine's loops (a few ms): an array of special values (signed zeros,
    infinities, NaN, subnormals, the overflow and underflow edges) and random ones over many
    scales, cut at every start offset up to _PROBE_EDGE elements with every run length
    modulo 16, and into short runs, each run written into an output at the same offset (as
    ufunc() and the kernels write their pieces), and compared byte for byte with the whole
    call's result."""
    key = (f, dtype)
    ok = _PIECEWISE.get(key)
    if ok is None:
        ok = _PIECEWISE[key] = _probe(f, np.dtype(dtype))
    return ok


def _probe_values(dtype, n, seed):
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        if dtype.kind == "f":
            info = np.finfo(dtype)
            special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, np.inf, -np.inf, np.nan,
                                float(info.tiny), -float(info.tiny), float(info.smallest_subnormal),
                                -float(info.smallest_subnormal), float(info.max), -float(info.max),
                                88.72, 88.73, -87.34, -103.98, 709.79, -745.2, 20.0, -20.0,
                                9.0, 1e4, -1e4, 1e-7, np.pi, np.pi / 2, 1e30, -1e30])
            scales = 10.0 ** rng.integers(-8, 9, n)
            v = np.concatenate([special, rng.standard_normal(n) * scales])[:n]
            v = v.astype(dtype)
            v[len(special):] = v[len(special):][rng.permutation(n - len(special))]
        elif dtype.kind == "c":
            part = _probe_values(np.dtype(dtype.char.lower()), n, seed)
            v = (part + 1j * part[::-1]).astype(dtype)
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            v = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
            v[:4] = (0, 1, info.min, info.max)
        else:
            v = rng.random(n) < 0.5
    return v


def _probe(f, dtype):
    if f.nout != 1 or f.nin not in (1, 2):
        return False
    n = 4 * _PROBE_EDGE + 160
    args = [_probe_values(dtype, n, s) for s in range(f.nin)]
    try:
        with np.errstate(all="ignore"):
            whole = f(*args)
            if type(whole) is not _ndarray or whole.shape != (n,):
                return False
            out = np.empty_like(whole)
            # every start offset, with ends that give every run length modulo 16; and
            # short runs (a masked or scalar tail alone) from starts of each alignment class
            runs = [(lo, n - e) for lo in range(_PROBE_EDGE) for e in range(0, _PROBE_EDGE, 4)]
            runs += [(lo, lo + k) for lo in (0, 1, 2, 3, 5, 8) for k in range(1, 2 * _PROBE_EDGE)]
            expect = whole.view(np.uint8).reshape(n, -1)
            for lo, hi in runs:
                out[lo:hi] = 0
                f(*(a[lo:hi] for a in args), out=out[lo:hi])
                if not np.array_equal(out.view(np.uint8).reshape(n, -1)[lo:hi], expect[lo:hi]):
                    return False
    except (TypeError, ValueError, ArithmeticError):   # no loop for the dtype
        return False
    return True


# a pass of these ufuncs costs about this many passes of an add on float32 (one thread,
# 64K elements in the L2 cache: add ~5 us, exp ~30, tanh ~24, log/log1p ~50): their work
# reaches the pool's threshold at that many times fewer elements
WEIGHT = {getattr(np, n): w for n, w in (
    ("exp", 5), ("exp2", 5), ("expm1", 6), ("log", 6), ("log1p", 6), ("log2", 6),
    ("log10", 6), ("sin", 6), ("cos", 6), ("tan", 8), ("tanh", 5), ("sinh", 8), ("cosh", 8),
    ("arcsin", 8), ("arccos", 8), ("arctan", 8), ("arcsinh", 8), ("arccosh", 8),
    ("arctanh", 8), ("cbrt", 6)) if hasattr(np, n)}


# a multi-pass kernel runs over blocks of this many bytes per operand, so that its passes
# read and write the L2 cache rather than memory (a 4M float32 sigmoid: 4 passes over 16 MB
# arrays took 6.3x one pass; blocked ~4x)
BLOCK_BYTES = 1 << 18


def unary(kernel, x, passes, uses=(), blocked=False):
    """kernel(x_run, out_run) over runs of x on the pool, into a fresh C-contiguous array of
    x's shape and dtype (kernel writes out_run and may use it as scratch); None where runs()
    does not apply."""
    return runs(kernel, (x,), passes, uses, blocked)


def runs(kernel, arrays, passes, uses=(), blocked=False):
    """kernel(*array_runs, out_run) over runs of the flattened `arrays` (NumPy arrays of one
    shape and one 4- or 8-byte float dtype, all C-contiguous), into a fresh C-contiguous
    array of their shape and dtype (kernel writes out_run and may use it as scratch): split
    over the pool when the work (`passes` add-passes per element) is worth it, else whole on
    this thread; `blocked`: each run in blocks of BLOCK_BYTES per operand. None, for the
    caller's own whole-array code, when the operands are not like that or a ufunc in `uses`
    (the ufuncs kernel calls besides the EXACT ones) is not piecewise on their dtype."""
    x = arrays[0]
    if type(x) is not _ndarray or x.dtype.kind != "f" or x.itemsize < 4:
        return None
    for a in arrays:
        if type(a) is not _ndarray or a.dtype != x.dtype or a.shape != x.shape or \
                not a.flags.c_contiguous:
            return None
    for f in uses:
        if not piecewise(f, x.dtype):
            return None
    out = np.empty(x.shape, x.dtype)
    flat = [a.reshape(-1) for a in arrays]
    flat.append(out.reshape(-1))
    block = BLOCK_BYTES // x.itemsize if blocked else out.size

    def run(lo, hi):
        for start in range(lo, hi, block):
            end = min(start + block, hi)
            kernel(*[a[start:end] for a in flat])
    split(out.size, run, passes=passes)
    return out
