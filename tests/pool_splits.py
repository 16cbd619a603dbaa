"""A fixture body shared by the thread-pool tests (ember/_backend/parallel.py): two threads
allowed, the pool's threshold lowered, no back-off, and the splits handed to the pool
counted; the thread settings and BLAS's one thread (the conftest's) restored after."""
from ember import _threads
from ember._backend import parallel


def counted_splits(monkeypatch, big, min_piece=None):
    """Yields the list of splits (one entry, the worker count, per split) while the pool's
    threshold is `big` element-passes (and pieces of at least `min_piece` elements)."""
    from ember._ops import pointwise_arrays
    monkeypatch.setattr(parallel, "MIN_WORK", big)
    if min_piece is not None:
        monkeypatch.setattr(parallel, "MIN_PIECE", min_piece)
    monkeypatch.setattr(pointwise_arrays, "SPLIT_MIN", big)
    # every split goes to the pool: no back-off on this busy machine
    monkeypatch.setattr(parallel, "_judge", lambda took, alone: None)
    monkeypatch.setattr(parallel, "_BACKOFF", [0, 0])
    state, setting = _threads._STATE["num_threads"], parallel.SETTING[0]
    seen = []
    start = parallel._workers

    def counting(count):
        seen.append(count)
        return start(count)
    monkeypatch.setattr(parallel, "_workers", counting)
    parallel.SETTING[0] = 2
    yield seen
    _threads._STATE["num_threads"], parallel.SETTING[0] = state, setting
    from threadpoolctl import threadpool_limits
    # BLAS only: not torch's OpenMP threads, whose count picks some of torch's kernels
    threadpool_limits(1, user_api="blas")
