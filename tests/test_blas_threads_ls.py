"""ember._backend.blas_threads: small GEMMs at one BLAS thread around the fused LSTM, GRU
and RNN layers.

The count is restored, never raised above the user's setting, the switch and the timed
choice give bit-identical results to a run at one thread, and concurrent switches leave
the count as they found it."""
import threading

import numpy as np
import pytest

import ember
from ember._backend import blas_threads, parallel
from ember._ops import rnn

pytestmark = pytest.mark.skipif(blas_threads.num_threads() is None,
                                reason="NumPy's OpenBLAS thread count cannot be controlled here")


@pytest.fixture
def two_threads():
    before = blas_threads.num_threads()
    blas_threads.set_num_threads(2)
    saved = dict(blas_threads._PACE)
    blas_threads._PACE.clear()
    yield
    blas_threads._PACE.clear()
    blas_threads._PACE.update(saved)
    blas_threads.set_num_threads(before)


def _seen():
    return blas_threads.num_threads()


def test_small_work_runs_at_one_thread_and_restores(two_threads):
    assert blas_threads.at_one_thread(_seen, flops=1e6) == 1
    assert blas_threads.num_threads() == 2
    assert blas_threads.at_one_thread(_seen, flops=blas_threads.SMALL_FLOPS) == 2
    assert blas_threads.num_threads() == 2


def test_restored_when_fn_raises(two_threads):
    def boom():
        assert blas_threads.num_threads() == 1
        raise ValueError("inside")
    with pytest.raises(ValueError, match="inside"):
        blas_threads.at_one_thread(boom, flops=1e6)
    assert blas_threads.num_threads() == 2
    assert not parallel.BUSY.locked()


def test_user_limit_is_never_raised(two_threads, monkeypatch):
    from ember import _threads
    monkeypatch.setitem(_threads._STATE, "num_threads", _threads._STATE["num_threads"])
    monkeypatch.setattr(parallel, "SETTING", list(parallel.SETTING))
    ember.set_num_threads(1)
    assert blas_threads.num_threads() == 1
    for _ in range(2 * blas_threads.EXPLORE):   # both timed paths, explored ones too
        assert blas_threads.at_one_thread(_seen, flops=1e6, key="k") == 1
        assert blas_threads.at_one_thread(_seen, flops=1e12) == 1
    _lstm_step(ember, 3)
    assert blas_threads.num_threads() == 1
    blas_threads.set_num_threads(2)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert blas_threads.at_one_thread(_seen, flops=1e6, key="k") == 1
        assert blas_threads.num_threads() == 1
    assert blas_threads.num_threads() == 2


def test_busy_lock_held_elsewhere_runs_at_the_count_found(two_threads):
    assert parallel.BUSY.acquire(blocking=False)
    try:
        assert blas_threads.at_one_thread(_seen, flops=1e6) == 2
    finally:
        parallel.BUSY.release()
    assert blas_threads.num_threads() == 2


def test_timed_choice_takes_the_faster_and_explores(two_threads, monkeypatch):
    """A fake clock: one thread takes 1 s, two threads 3 s; after one try of each the
    one-thread path runs, except every EXPLORE-th call."""
    now = [0.0]
    monkeypatch.setattr(blas_threads, "_clock", lambda: now[0])

    def work():
        now[0] += 1.0 if blas_threads.num_threads() == 1 else 3.0
        return blas_threads.num_threads()
    counts = [blas_threads.at_one_thread(work, flops=1e6, key="w") for _ in range(24)]
    assert counts[:2] == [1, 2]
    explored = [i for i, n in enumerate(counts[2:], 2) if n == 2]
    assert explored == [i for i in range(2, 24) if (i + 1) % blas_threads.EXPLORE == 0]
    assert blas_threads.num_threads() == 2

    now[0] = 0.0   # the load changes: now two threads are faster; the choice follows
    monkeypatch.setattr(blas_threads, "_clock", lambda: now[0])

    def work2():
        now[0] += 5.0 if blas_threads.num_threads() == 1 else 1.0
        return blas_threads.num_threads()
    late = [blas_threads.at_one_thread(work2, flops=1e6, key="w") for _ in range(40)]
    assert late[-10:].count(2) >= 8


def _lstm_step(lib, seed, proj=0, packed=False, kind="LSTM"):
    lib.manual_seed(seed)
    lstm = lib.nn.LSTM(8, 16, batch_first=True, proj_size=proj) if kind == "LSTM" else \
        getattr(lib.nn, kind)(8, 16, batch_first=True)
    rng = np.random.default_rng(seed)
    x = lib.from_numpy(rng.standard_normal((4, 6, 8), dtype=np.float32)).requires_grad_()
    inp = lib.nn.utils.rnn.pack_padded_sequence(x, [6, 5, 3, 2], batch_first=True) \
        if packed else x
    out, state = lstm(inp)
    h, c = state if kind == "LSTM" else (state, state)
    if packed:
        out = out.data
    (out.sum() + (h * 2).sum() + (c * 3).sum()).backward()
    return [t.detach().numpy().copy() for t in
            (out, h, c, x.grad, *(p.grad for p in lstm.parameters()))]


@pytest.mark.parametrize("proj,packed,kind", [(0, False, "LSTM"), (4, False, "LSTM"),
                                               (0, True, "LSTM"), (0, False, "GRU"),
                                               (0, True, "RNN")])
def test_bit_identical_to_one_thread(two_threads, proj, packed, kind):
    blas_threads.set_num_threads(1)
    want = _lstm_step(ember, 0, proj, packed, kind)
    blas_threads.set_num_threads(2)
    for _ in range(3):   # the timed choice tries both paths
        got = _lstm_step(ember, 0, proj, packed, kind)
        assert blas_threads.num_threads() == 2
        for w, g in zip(want, got):
            assert np.array_equal(w, g)


def test_lstm_matches_torch_with_the_switch(two_threads):
    torch = pytest.importorskip("torch")
    got, want = _lstm_step(ember, 1), _lstm_step(torch, 1)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_layers_record_their_choice(two_threads):
    for kind in ("LSTM", "GRU", "RNN"):
        _lstm_step(ember, 2, kind=kind)
    keys = list(blas_threads._PACE)
    for name in ("lstm", "_gru_recurrence", "_rnn_recurrence"):
        assert any(k[0] == name and k[-1] != "backward" for k in keys)
        assert any(k[0] == name and k[-1] == "backward" for k in keys)
    assert blas_threads.num_threads() == 2


def test_concurrent_switches_restore_the_count(two_threads):
    """LSTM forwards on two threads at once, with run_pair's BLAS switch on a third: the count
    ends as it began (a switch that skipped the lock would leave 1 behind)."""
    errors = []

    ember.manual_seed(3)
    lstm = ember.nn.LSTM(8, 16)
    x = ember.randn(6, 4, 8)

    def lstm_loop():
        # forward only: ember's grad mode is process-wide, not per thread as PyTorch's,
        # so one thread's backward (run under no-grad) would stop another's recording
        try:
            for _ in range(10):
                with ember.no_grad():
                    lstm(x)
        except Exception as e:   # pragma: no cover - reported below
            errors.append(e)

    def pair_loop():
        from ember import _threads
        try:
            for _ in range(30):
                _threads.run_pair(lambda: np.ones((64, 64)) @ np.ones((64, 64)),
                                  lambda: np.ones((64, 64)) @ np.ones((64, 64)))
        except Exception as e:   # pragma: no cover
            errors.append(e)
    threads = [threading.Thread(target=f) for f in (lstm_loop, lstm_loop, pair_loop)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert blas_threads.num_threads() == 2
    assert not parallel.BUSY.locked()


def test_a_split_started_during_the_switch_cannot_outlive_it(two_threads):
    """A run_pair (it also saves, lowers and restores the count) begun on another thread
    while the switch is on: had it run, it would save the switch's 1 and restore it after
    the switch restored 2, leaving 1 behind. The shared lock makes it run whole instead."""
    from ember import _threads
    entered, go, done = threading.Event(), threading.Event(), []

    def first():
        entered.set()
        go.wait(5)

    def other():
        done.append(_threads.run_pair(first, lambda: None))

    def inside():
        t = threading.Thread(target=other)
        t.start()
        for _ in range(500):   # until the split has begun or has declined
            if entered.is_set() or done:
                break
            threading.Event().wait(0.01)
        return t
    t = blas_threads.at_one_thread(inside, flops=1e6)
    go.set()
    t.join()
    assert done == [None]
    assert blas_threads.num_threads() == 2
