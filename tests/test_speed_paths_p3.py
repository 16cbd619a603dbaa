"""The elementwise thread pool (ember/_backend/parallel.py) and the ops that use it: results
against torch on both sides of the size threshold, for broadcast, non-contiguous, in-place
and out= forms and the dtypes; one thread and two giving the same bits, values, dtypes and
strides; errors, the floating-point error state and fork seen as a whole call sees them."""
import os
import sys

import numpy as np
import pytest

import ember
from ember import _threads
from ember._backend import parallel

from tests.pool_splits import counted_splits  # noqa: E402

torch = pytest.importorskip("torch")

# the tests lower the pool's threshold (1M element-passes) to keep their arrays small;
# test_real_threshold checks the real one
BIG = 1 << 16
REAL_MIN_WORK = parallel.MIN_WORK
rng = np.random.default_rng(3)


@pytest.fixture
def jobs(monkeypatch):
    """The number of splits handed to the pool (a list, one entry per split), with two
    threads allowed and the threshold at BIG; the thread setting and BLAS's one thread (the
    conftest's) restored."""
    yield from counted_splits(monkeypatch, BIG)


def _both(fn, seen=None):
    """fn() with one thread, then with two: both results (the second must have split when
    `seen` is given)."""
    parallel.SETTING[0] = 1
    n = len(seen) if seen is not None else 0
    one = fn()
    if seen is not None:
        assert len(seen) == n, "one thread must not split"
    parallel.SETTING[0] = 2
    two = fn()
    return one, two


def _same(a, b):
    """Same dtype, shape, strides and bits."""
    assert a.dtype == b.dtype and a.shape == b.shape and a.stride() == b.stride()
    x, y = a.detach().numpy(), b.detach().numpy()
    assert x.tobytes() == y.tobytes()


def _vs_torch(e, t, exact=True):
    assert str(e.dtype).replace("ember", "torch") == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape) and e.stride() == t.stride()
    ev = e.detach().float().numpy() if e.dtype == ember.bfloat16 else e.detach().numpy()
    tv = t.detach().float().numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()
    if exact:
        np.testing.assert_array_equal(ev, tv)
    else:   # float32 sums over ~1e5 terms: a few 1e-5 of the largest value apart
        np.testing.assert_allclose(ev, tv, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(tv).max()))


def _pair(shape, dtype="float32", lo=-2.0, hi=2.0):
    a = rng.uniform(lo, hi, shape)
    if dtype == "bool":
        a = a > 0
    elif dtype.startswith("complex"):
        a = a + 1j * rng.uniform(lo, hi, shape)
    elif dtype.startswith("int"):
        a = np.round(a * 50)
    t = torch.from_numpy(np.ascontiguousarray(a)).to(getattr(torch, dtype))
    return ember.from_numpy(t.float().numpy() if dtype == "bfloat16" else t.numpy()).to(
        getattr(ember, dtype)), t


# ---------------------------------------------------------------------------- the pool

def test_split_runs_every_piece_once_and_raises_a_pieces_error(jobs):
    n = 4 * BIG + 17
    hits = np.zeros(n, np.int64)

    def run(lo, hi):
        hits[lo:hi] += 1
    parallel.split(n, run)
    assert len(jobs) == 1 and (hits == 1).all()

    def bad(lo, hi):
        if hi == n:
            raise ValueError(f"piece {lo}:{hi}")
    with pytest.raises(ValueError, match="piece"):
        parallel.split(n, bad)
    parallel.split(10, run)   # small: runs whole here, nothing handed over
    assert len(jobs) == 2


def test_split_below_threshold_and_nested_run_whole(jobs):
    calls = []
    parallel.split(BIG - 1, lambda lo, hi: calls.append((lo, hi)))
    assert calls == [(0, BIG - 1)] and not jobs

    inner = []

    def outer(lo, hi):   # a split inside a split runs whole on its own thread
        parallel.split(BIG, lambda a, b: inner.append((a, b)))
    parallel.split(4 * BIG, outer)
    assert all(p == (0, BIG) for p in inner) and len(jobs) == 1


def test_back_off_after_splits_that_do_not_pay(monkeypatch):
    """A split as slow as one thread makes the next 1, 2, 4 ... (up to 64) run whole; one
    that pays ends the back-off."""
    monkeypatch.setattr(parallel, "_BACKOFF", [0, 0])
    monkeypatch.setattr(parallel, "MIN_WORK", BIG)
    parallel._judge(1.0, 1.0)
    assert parallel._BACKOFF == [1, 1]
    parallel._judge(1.0, None)   # the caller did no piece: no pace to judge by
    assert parallel._BACKOFF == [2, 2]
    for _ in range(10):
        parallel._judge(2.0, 1.0)
    assert parallel._BACKOFF == [64, 64]
    parallel._judge(0.5, 1.0)
    assert parallel._BACKOFF[1] == 0
    # while backing off, a split runs whole on the caller's thread
    monkeypatch.setattr(parallel, "_BACKOFF", [1, 1])
    monkeypatch.setitem(_threads._STATE, "num_threads", None)
    setting = parallel.SETTING[0]
    parallel.SETTING[0] = 2
    try:
        calls = []
        parallel.split(4 * BIG, lambda lo, hi: calls.append((lo, hi)))
        assert calls == [(0, 4 * BIG)] and parallel._BACKOFF[0] == 0
    finally:
        parallel.SETTING[0] = setting


def test_workers_keep_the_callers_floating_point_error_state(jobs):
    x = np.ones(4 * BIG, np.float32)
    z = np.zeros(4 * BIG, np.float32)
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            parallel.ufunc(np.divide, x, z)
    with np.errstate(divide="ignore"):
        got = parallel.ufunc(np.divide, x, z)
    assert np.isinf(got).all() and len(jobs) == 2


def test_pool_in_a_forked_child(jobs):
    x = ember.ones(4 * BIG)
    assert ((x + x) == 2).all()   # the parent's pool is started
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    pid = os.fork()
    if pid == 0:   # the child: its pool starts anew (the parent's threads are not here)
        code = 0
        try:
            code = 0 if bool(((x * 3) == 3).all()) else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_set_num_threads_and_omp_num_threads():
    import subprocess
    code = ("import ember; from ember._backend import parallel; a = parallel.threads(); "
            "ember.set_num_threads(3); print(a, parallel.threads(), "
            "ember._threads.intra_op_threads())")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["1", "3", "3"]


# ---------------------------------------------------------------------------- binary ops

def test_real_threshold(jobs):
    from ember._ops import pointwise_arrays
    seen = jobs
    n = parallel.MIN_WORK = pointwise_arrays.SPLIT_MIN = REAL_MIN_WORK   # the fixture restores BIG
    (ea, ta), (eb, tb) = _pair((n - 1,)), _pair((n - 1,))
    _vs_torch(ea + eb, ta + tb)
    assert not seen
    (ea, ta), (eb, tb) = _pair((n,)), _pair((n,))
    _vs_torch(ea + eb, ta + tb)
    assert len(seen) == 1


@pytest.mark.parametrize("n", [BIG - 1, BIG, 2 * BIG + 3])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16", "bfloat16",
                                   "complex64", "bool"])
def test_arithmetic_both_sides_of_the_threshold(jobs, n, dtype):
    (ea, ta), (eb, tb) = _pair((n,), dtype), _pair((n,), dtype, 0.5, 2.0)
    ops = [(lambda m, a, b: m.add(a, b)), (lambda m, a, b: m.mul(a, b))]
    if dtype != "bool":
        ops += [(lambda m, a, b: m.sub(a, b)), (lambda m, a, b: a * 2.5)]
    if dtype not in ("bool", "int64"):
        ops.append(lambda m, a, b: m.div(a, b))
    for op in ops:
        before = len(jobs)
        one, two = _both(lambda: op(ember, ea, eb))
        _same(one, two)
        _vs_torch(two, op(torch, ta, tb), exact=dtype not in ("complex64",))
        # the pool is used for large 4- and 8-byte operands (half precision is computed in
        # float32 on its own path; float16's block path counts ~8 passes an element, so it
        # may split below BIG elements)
        if n >= BIG and dtype in ("float32", "float64", "int64", "complex64", "float16"):
            assert len(jobs) > before
        if n < BIG and dtype != "float16":
            assert len(jobs) == before


@pytest.mark.parametrize("shapes", [((8, 16, 32, 40), (1, 16, 1, 1)), ((512, 300), (300,)),
                                    ((300, 512), (300, 1)), ((4, 65536), ()),
                                    ((2, BIG), (1, BIG))])
def test_broadcast_operands(jobs, shapes):
    (ea, ta), (eb, tb) = _pair(shapes[0]), _pair(shapes[1])
    for op in (lambda m, a, b: a + b, lambda m, a, b: b * a, lambda m, a, b: m.maximum(a, b),
               lambda m, a, b: m.where(a > 0, a, b)):
        one, two = _both(lambda: op(ember, ea, eb))
        _same(one, two)
        _vs_torch(two, op(torch, ta, tb))


def test_non_contiguous_operands_keep_their_layout(jobs):
    (ea, ta), (eb, tb) = _pair((600, 700)), _pair((700, 600))
    for op in (lambda a, b: a.t() + b, lambda a, b: a.t() * b.t().t(),
               lambda a, b: a[:, ::2] - b.t()[:, ::2], lambda a, b: a.t().relu()):
        one, two = _both(lambda: op(ea, eb))
        _same(one, two)
        _vs_torch(two, op(ta, tb))


def test_in_place_and_out_forms(jobs):
    (ea, ta), (eb, tb) = _pair((700, 600)), _pair((700, 600))

    def run(m, a, b):
        a, b = a.clone(), b.clone()
        a.add_(b)
        a.mul_(b)
        a.sub_(b, alpha=2)
        out = m.empty(700, 600, dtype=a.dtype)
        m.add(a, b, out=out)
        m.mul(out, 3, out=out)
        strided = m.empty(600, 700).t()   # a transposed out: written as it is laid out
        m.div(a, b, out=strided)
        return a, out, strided
    ones, twos = _both(lambda: run(ember, ea, eb), jobs)
    for one, two, t in zip(ones, twos, run(torch, ta, tb)):
        _same(one, two)
        _vs_torch(two, t)


def test_overlapping_in_place_write(jobs):
    """x[1:] += x[:-1] reads what it writes: PyTorch refuses it (a partial overlap), with
    one thread or two, before writing anything."""
    e, t = _pair((4 * BIG,), "float64")
    with pytest.raises(RuntimeError) as t_err:
        _shifted_add(t.clone())

    def refused():
        x = e.clone()
        with pytest.raises(RuntimeError) as e_err:
            _shifted_add(x)
        assert str(e_err.value) == str(t_err.value)
        return x
    one, two = _both(refused)
    _same(one, two)
    _same(two, e)


def _shifted_add(x):
    x[1:] += x[:-1]
    return x


def test_errors_are_the_whole_calls(jobs):
    a = ember.ones(2 * BIG, dtype=ember.int8)
    t = torch.ones(2 * BIG, dtype=torch.int8)
    out = ember.empty(2 * BIG, dtype=ember.int8)
    with pytest.raises(RuntimeError) as e_err:
        ember.add(a, 0.5, out=out)
    with pytest.raises(RuntimeError) as t_err:
        torch.add(t, 0.5, out=torch.empty(2 * BIG, dtype=torch.int8))
    assert "can't be cast" in str(e_err.value) and "can't be cast" in str(t_err.value)
    with pytest.raises(RuntimeError, match="size of tensor a"):
        ember.ones(BIG, 2) + ember.ones(BIG, 3)


# ---------------------------------------------------------------------------- relu, norms

@pytest.mark.parametrize("shape", [(4, 8, 63, 65), (32, 64, 8, 8), (64, 32, 26, 26),
                                   (BIG + 1,)])
def test_relu_forward_backward(jobs, shape):
    ea, ta = _pair(shape)
    eg, tg = _pair(shape)

    def run(m, x, g):
        x = x.clone().requires_grad_()
        y = m.nn.functional.relu(x)
        y.backward(g)
        return y, x.grad
    ones, twos = _both(lambda: run(ember, ea, eg))
    for one, two, t in zip(ones, twos, run(torch, ta, tg)):
        _same(one, two)
        _vs_torch(two, t)


def test_relu_backward_of_a_transposed_gradient(jobs):
    ea, ta = _pair((800, 400))
    eg, tg = _pair((400, 800))

    def run(m, x, g):
        x = x.clone().requires_grad_()
        m.relu(x).backward(g.t())
        return x.grad
    one, two = _both(lambda: run(ember, ea, eg))
    _same(one, two)
    _vs_torch(two, run(torch, ta, tg))


@pytest.mark.parametrize("shape", [(32, 64, 8, 8), (4, 16, 10, 10), (2, 8, 128, 129)])
def test_batch_norm_training_step(jobs, shape):
    ea, ta = _pair(shape)
    eg, tg = _pair(shape)
    c = shape[1]
    w, b = rng.uniform(0.5, 1.5, c).astype(np.float32), rng.uniform(-1, 1, c).astype(np.float32)

    def run(m, x, g):
        bn = m.nn.BatchNorm2d(c)
        with m.no_grad():
            bn.weight.copy_(m.from_numpy(w))
            bn.bias.copy_(m.from_numpy(b))
        x = x.clone().requires_grad_()
        y = bn(x)
        y.backward(g)
        return y, x.grad, bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var
    ones, twos = _both(lambda: run(ember, ea, eg), jobs if np.prod(shape) >= BIG else None)
    for one, two, t in zip(ones, twos, run(torch, ta, tg)):
        _same(one, two)
        _vs_torch(two, t, exact=False)


def test_layer_norm_training_step(jobs):
    ea, ta = _pair((16, 64, 256))
    eg, tg = _pair((16, 64, 256))

    def run(m, x, g):
        ln = m.nn.LayerNorm(256)
        x = x.clone().requires_grad_()
        y = ln(x)
        y.backward(g)
        return y, x.grad, ln.weight.grad, ln.bias.grad
    ones, twos = _both(lambda: run(ember, ea, eg), jobs)
    for one, two, t in zip(ones, twos, run(torch, ta, tg)):
        _same(one, two)
        _vs_torch(two, t, exact=False)


def test_batch_norm_channels_last_input(jobs):
    ea, ta = _pair((32, 64, 8, 8))
    ea = ea.contiguous(memory_format=ember.channels_last)
    ta = ta.contiguous(memory_format=torch.channels_last)

    def run(m, x):
        bn = m.nn.BatchNorm2d(64)
        x = x.clone().requires_grad_()
        y = bn(x)
        y.sum().backward()
        return y, x.grad
    ones, twos = _both(lambda: run(ember, ea))
    for one, two, t in zip(ones, twos, run(torch, ta)):
        _same(one, two)
        _vs_torch(two, t, exact=False)


def test_ops_from_two_python_threads_at_once(jobs):
    """Two user threads on large ops: one split at a time, the other's ops run whole; every
    result is right."""
    import threading
    (ea, ta), (eb, tb) = _pair((4 * BIG,)), _pair((4 * BIG,))
    want = (ta + tb).numpy()
    bad = []

    def work():
        for _ in range(20):
            if not np.array_equal((ea + eb).numpy(), want):
                bad.append(1)
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad and jobs
