"""Pointwise ops silence NumPy's floating-point warnings (as PyTorch, which never warns),
without changing NumPy's own error state around them."""
import threading
import warnings

import numpy as np
import pytest
import torch

import ember
from ember._ops._util import quiet_run, quietly


def _ops(lib, a, b):
    return [a - b, a / b, a * b, b.exp(), a.log(), lib.ones(2, dtype=lib.float16) * 70000.0]


def test_no_warning_and_torch_values():
    a = [float("inf"), 0.0]
    b = [float("inf"), 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _ops(ember, ember.tensor(a), ember.tensor(b))
    want = _ops(torch, torch.tensor(a), torch.tensor(b))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy().astype(np.float64), w.numpy().astype(np.float64))


def test_numpy_state_outside_is_kept():
    ember.tensor([1.0]) / ember.tensor([0.0])
    with pytest.warns(RuntimeWarning):
        np.ones(1) / np.zeros(1)
    assert np.geterr()["divide"] == "warn"


def test_nested_and_other_threads_fall_back():
    """The quiet context is entered by one caller at a time: a caller that finds it
    entered (a nested call, another thread) still gets a quiet, correct result."""
    x = ember.tensor([float("inf"), 1.0])

    def inner():
        return quietly(lambda: (x - x).numpy())

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(quiet_run(inner), [np.nan, 0.0])
        results = []
        start = threading.Barrier(2)

        def worker():
            start.wait()
            for _ in range(2000):
                results.append((x - x).numpy())

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 4000
    for r in results:
        np.testing.assert_array_equal(r, [np.nan, 0.0])


def test_error_raised_inside_propagates():
    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        quietly(fail)


def test_an_error_of_the_work_itself_runs_it_once():
    calls = []

    def work():
        calls.append(1)
        raise RuntimeError("the work's own error")
    with pytest.raises(RuntimeError, match="own error"):
        quietly(work)
    assert calls == [1]
