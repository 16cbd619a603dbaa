"""Small GEMMs at one BLAS thread, when that is faster.

OpenBLAS splits even a 32x128 @ 128x512 product over its threads: each call wakes the
other thread, and when the other core is busy (another process, ember's own helper
thread) the call waits for it. A recurrent layer makes one such product per time step, so
on a loaded two-core machine an LSTM training step at two BLAS threads ran ~15 times
slower than with the layer at one thread (bench/ls_small_gemm.py); on a free core two
threads win by up to ~1.5x. `at_one_thread(fn, *args, flops=..., key=...)` runs fn with
NumPy's OpenBLAS at one thread, or at the process's count where recent calls of the same
`key` ran faster so, when its per-step products are below `SMALL_FLOPS`; it restores the
count it found after. It only ever lowers the count: a user's limit (ember.set_num_threads,
threadpoolctl, OMP_NUM_THREADS) is never raised.

The count is process-wide, so a switch must not interleave with another thread's
save-set-restore (the second restore would leave the first's lowered count behind).
The switch takes the lock ember's other BLAS-count changer holds
(ember._backend.parallel.BUSY, taken by ember._threads.run_pair); when it is held, fn
runs at whatever count is set. The lock also makes elementwise ops inside fn run whole
(they are small when the products are). The library is NumPy's own OpenBLAS, found as
ember._backend.cpu_blas finds it, called through ctypes (~1 us a call; threadpoolctl's
limit costs ~18 us). EMBER_BLAS_SWITCH=0 turns the switch off. A count set directly
through OpenBLAS by another thread while fn runs is overwritten by the restore.
"""
import ctypes
import os
import time

from . import cpu_blas, parallel

__all__ = ["SMALL_FLOPS", "at_faster_count", "at_one_thread", "num_threads",
           "set_num_threads"]

# Per-step products of fewer floating-point operations than this are candidates for one
# thread. Measured (python -m bench.ls_small_gemm --gemm, float32, two cores, load ~2.2):
# two threads / one thread took 4.2x at 2*m*k*n = 4.2 MFLOP (32x128 @ 128x512), 2.5x at
# 8.4, 1.4x at 16.8 and 0.53x from 37 MFLOP up; at a quiet moment 0.6x at 4.2 MFLOP.
SMALL_FLOPS = 32e6

_FNS = []   # [(get, set)] once looked up, [None] when no OpenBLAS control is found


def _load():
    if os.environ.get("EMBER_BLAS_SWITCH") == "0":
        return None
    for path in cpu_blas._candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""),
                               ("openblas", "64_"), ("openblas", "")):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                get.argtypes, get.restype = [], ctypes.c_int
                put.argtypes, put.restype = [ctypes.c_int], None
                return get, put
    return None


def _controls():
    if not _FNS:
        _FNS.append(_load())
    return _FNS[0]


def num_threads():
    """NumPy's OpenBLAS thread count, or None where it cannot be read."""
    ctl = _controls()
    return None if ctl is None else ctl[0]()


def set_num_threads(n):
    """Set NumPy's OpenBLAS thread count (no effect where it cannot be controlled)."""
    ctl = _controls()
    if ctl is not None:
        ctl[1](int(n))


def at_one_thread(fn, *args, flops=0, key=None):
    """fn(*args), with BLAS at one thread when `flops` (the largest product fn makes, in
    floating-point operations) is below SMALL_FLOPS, the count is above one and it can be
    switched safely; the count found is restored after (also when fn raises).

    With a `key` (calls of one kind of work, e.g. the loop of one layer shape), the choice
    is timed instead: one thread wins by far when another process holds the other core,
    the process's count by ~20% when the core is free, and the machine's load changes by
    the second. Each call runs the faster of the two recent paces (an average over the
    last few calls of each), and every EXPLORE-th call the other, so a change is seen."""
    ctl = None if flops >= SMALL_FLOPS else _controls()
    if ctl is None:
        return fn(*args)
    return _paced(ctl, fn, args, key)


def at_faster_count(fn, *args, key):
    """fn(*args) at one BLAS thread or at the process's count, whichever the recent calls
    of `key` ran faster (as at_one_thread with a key, for products of any size). For large
    single products (linear's 9216 -> 128 at batch 64, ~150 MFLOP): OpenBLAS's two threads
    take half the time on a free pair of cores, but while another process holds the other
    core its worker waits for a time slice and the call waits with it (cnn_train at load
    ~3.7: its two linear forwards took 32-323 ms a step at two threads, 2-3 ms at one)."""
    ctl = _controls()
    return fn(*args) if ctl is None else _paced(ctl, fn, args, key, EXPLORE_LARGE)


def _paced(ctl, fn, args, key, explore=None):
    get, put = ctl
    if get() <= 1:
        return fn(*args)
    if key is not None and key not in _PACE and len(_PACE) >= 256:
        _PACE.clear()   # many shapes (packed batches): forget the old ones
    pace = None if key is None else _PACE.setdefault(key, [None, None, 0])
    one = True if pace is None else _choose(pace, explore or EXPLORE)
    if one and not parallel.BUSY.acquire(blocking=False):
        return fn(*args)
    start = _clock()
    try:
        if one:
            n = get()   # read again under the lock: a run_pair may have just restored it
            if n <= 1:
                return fn(*args)
            put(1)
            try:
                return fn(*args)
            finally:
                put(n)
        return fn(*args)
    finally:
        if one:
            parallel.BUSY.release()
        if pace is not None:
            i = 0 if one else 1
            took = _clock() - start
            pace[i] = took if pace[i] is None else 0.7 * pace[i] + 0.3 * took


EXPLORE = 8
# at_faster_count's products are large: each call at the slower count costs ~1 ms on a free
# pair of cores (mlp_train's 100 MFLOP products at one thread instead of two) or a stall
# of up to tens of ms under load, so the other count is tried more rarely
EXPLORE_LARGE = 32
_PACE = {}   # key -> [pace at one thread, pace at the process's count, calls]


def _choose(pace, explore=EXPLORE):
    """Whether this call of `pace`'s work runs at one thread (every `explore`-th call the
    slower way)."""
    pace[2] += 1
    if pace[0] is None or pace[1] is None:
        return pace[0] is None
    best = pace[0] <= pace[1]
    return best != (pace[2] % explore == 0)


def _clock():
    return time.perf_counter()
