"""Tensor.share_memory_ / Module.share_memory: tensors in shared memory are seen by the
processes they are sent to, both ways, as in PyTorch; tensors not shared are copied."""
import gc
import multiprocessing
import os
import pickle

import numpy as np
import pytest
import torch

import ember
import ember.multiprocessing as emp
from ember import _shared_memory
from tests import mp_workers


def _run_workers(lib, method):
    ctx = multiprocessing.get_context(method)
    t = lib.zeros(4)
    before = t.is_shared()
    t.share_memory_()
    model = lib.nn.Linear(2, 2)
    with lib.no_grad():
        model.weight.zero_()
    model.share_memory()
    queue = ctx.Queue()
    procs = [ctx.Process(target=mp_workers.add_to_shared, args=(t, model.weight, r, queue))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    seen = sorted(queue.get(timeout=10) for _ in procs)
    return (before, t.is_shared(), model.weight.is_shared(), model.bias.is_shared(),
            t.tolist(), model.weight.tolist(), seen, [p.exitcode for p in procs])


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_children_write_into_shared_tensors_as_torch(method):
    expected = _run_workers(torch, method)
    assert _run_workers(ember, method) == expected
    assert expected[4] == [10.0, 11.0, 0.0, 0.0]


def test_spawn_shares_arguments():
    t = ember.zeros(3).share_memory_()
    emp.spawn(mp_workers.spawn_add, args=(t,), nprocs=3)
    assert t.tolist() == [1.0, 1.0, 1.0]


def test_tensors_not_shared_are_copied():
    ctx = multiprocessing.get_context("spawn")
    t = ember.zeros(4)
    w = ember.nn.Parameter(ember.zeros(2, 2))
    queue = ctx.Queue()
    p = ctx.Process(target=mp_workers.add_to_shared, args=(t, w, 0, queue))
    p.start()
    p.join(60)
    assert queue.get(timeout=10) == (0, False, "Parameter", True)
    assert t.tolist() == [0.0] * 4 and w.tolist() == [[0.0, 0.0]] * 2


def test_share_memory_keeps_values_dtype_and_views_of_the_result():
    a = ember.arange(12, dtype=ember.float64).reshape(3, 4)[:, 1:]   # non-contiguous
    b = a.share_memory_()
    assert b is a and a.is_shared() and a.dtype is ember.float64
    assert a.tolist() == [[1.0, 2.0, 3.0], [5.0, 6.0, 7.0], [9.0, 10.0, 11.0]]
    v = a[1]
    assert v.is_shared()      # a view of shared memory is shared
    v[0] = -1.0
    assert a[1, 0].item() == -1.0
    assert a.share_memory_() is a          # a second call changes nothing
    assert not ember.ones(2).is_shared()


def test_plain_pickle_and_save_still_store_values(tmp_path):
    t = ember.arange(3.0).share_memory_()
    back = pickle.loads(pickle.dumps(t))
    assert not back.is_shared() and back.tolist() == [0.0, 1.0, 2.0]
    ember.save({"t": t}, tmp_path / "t.pt")
    assert ember.load(tmp_path / "t.pt")["t"].tolist() == [0.0, 1.0, 2.0]


def test_shared_file_removed_when_the_tensor_is_freed():
    t = ember.ones(5).share_memory_()
    name, _ = _shared_memory._segment_of(t._data)
    path = os.path.join(_shared_memory._DIR, name)
    assert os.path.exists(path)
    del t
    gc.collect()
    assert not os.path.exists(path)
    assert name not in _shared_memory._MAPPED


def test_module_share_memory_returns_module_and_shares_buffers():
    for lib in (torch, ember):
        m = lib.nn.BatchNorm1d(3)
        assert m.share_memory() is m
        assert m.running_mean.is_shared() and m.weight.is_shared()
        assert np.array_equal(np.asarray(m.running_var.tolist()), np.ones(3))
