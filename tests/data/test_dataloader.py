"""utils.data against torch.utils.data: batches, order, len, collation; workers; faults."""
import collections
import os
import signal
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata

from tests.oracle.harness import assert_same


class Squares:
    """A map-style dataset defined the same way for both libraries."""

    def __init__(self, lib, n=23):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.lib.tensor([float(i), float(i * i)]), i


def make_map(lib, data_mod):
    class DS(data_mod.Dataset):
        def __init__(self):
            self.inner = Squares(lib)

        def __len__(self):
            return len(self.inner)

        def __getitem__(self, i):
            return self.inner[i]
    return DS()


def make_iterable(lib, data_mod, n=17):
    class It(data_mod.IterableDataset):
        def __iter__(self):
            info = data_mod.get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            for i in range(start, n, step):
                yield lib.tensor([float(i)]), {"id": i, "name": f"s{i}"}

        def __len__(self):
            return n
    return It()


@pytest.mark.parametrize("batch_size", [None, 1, 4, 5, 23, 30])
@pytest.mark.parametrize("drop_last", [False, True])
def test_map_sequential_matches_torch(batch_size, drop_last):
    if batch_size is None and drop_last:
        for lib, mod in ((torch, tdata), (ember, edata)):
            with pytest.raises(ValueError):
                mod.DataLoader(make_map(lib, mod), batch_size=None, drop_last=True)
        return
    tl = tdata.DataLoader(make_map(torch, tdata), batch_size=batch_size, drop_last=drop_last)
    el = edata.DataLoader(make_map(ember, edata), batch_size=batch_size, drop_last=drop_last)
    assert len(el) == len(tl)
    tb, eb = list(tl), list(el)
    assert len(eb) == len(tb)
    for a, b in zip(eb, tb):
        assert_same(a, b)


@pytest.mark.parametrize("batch_size", [1, 4, 6])
@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_matches_torch(batch_size, drop_last):
    tl = tdata.DataLoader(make_iterable(torch, tdata), batch_size=batch_size, drop_last=drop_last)
    el = edata.DataLoader(make_iterable(ember, edata), batch_size=batch_size, drop_last=drop_last)
    assert len(el) == len(tl)
    for a, b in zip(list(el), list(tl)):
        assert_same(a, b)


def test_shuffle_is_a_permutation_and_reproducible():
    ds = make_map(ember, edata)
    g = ember.Generator().manual_seed(3)
    a = [b[1].tolist() for b in edata.DataLoader(ds, batch_size=5, shuffle=True, generator=g)]
    g = ember.Generator().manual_seed(3)
    b = [b[1].tolist() for b in edata.DataLoader(ds, batch_size=5, shuffle=True, generator=g)]
    assert a == b
    flat = sorted(i for batch in a for i in batch)
    assert flat == list(range(23)) and [i for batch in a for i in batch] != list(range(23))
    ember.manual_seed(0)
    e1 = [i for batch in edata.DataLoader(ds, batch_size=5, shuffle=True) for i in batch[1].tolist()]
    e2 = [i for batch in edata.DataLoader(ds, batch_size=5, shuffle=True) for i in batch[1].tolist()]
    assert e1 != e2  # a new order each epoch


def test_collate_nested_matches_torch():
    Point = collections.namedtuple("Point", "x y")

    def sample(lib, i):
        return {"a": lib.tensor([i, i + 1]), "b": (float(i), i, True, f"s{i}"),
                "c": [np.full((2,), i, dtype=np.float32)], "p": Point(i, float(i)),
                "n": np.int32(i), "f": np.float64(i) / 2}
    tb = tdata.default_collate([sample(torch, i) for i in range(3)])
    eb = edata.default_collate([sample(ember, i) for i in range(3)])
    assert set(tb) == set(eb)
    for k in tb:
        assert type(eb[k]).__name__ == type(tb[k]).__name__, k
        assert_same(eb[k], tb[k], what=k)


def test_collate_errors_like_torch():
    for lib, mod in ((torch, tdata), (ember, edata)):
        with pytest.raises(RuntimeError):
            mod.default_collate([lib.zeros(3), lib.zeros(4)])
        with pytest.raises(RuntimeError):
            mod.default_collate([[1, 2], [1, 2, 3]])
        with pytest.raises(TypeError):
            mod.default_collate([object(), object()])
    assert edata.default_convert({"a": np.ones(2)})["a"].dtype is ember.float64


def test_seed_snippet_list_of_pairs():
    x_train, y_train = ember.randn(30, 10), ember.randint(0, 2, (30,))
    batches = list(edata.DataLoader(list(zip(x_train, y_train)), batch_size=10, shuffle=True))
    assert len(batches) == 3
    assert batches[0][0].shape == (10, 10) and batches[0][1].shape == (10,)


def test_datasets_and_samplers():
    t = edata.TensorDataset(ember.arange(10), ember.arange(10) * 2)
    assert len(t) == 10 and t[3][1].item() == 6
    c = edata.ConcatDataset([t, t])
    assert len(c) == 20 and c[12][0].item() == 2 and c[-1][0].item() == 9
    s = edata.Subset(t, [1, 3])
    assert [x[0].item() for x in s] == [1, 3]
    parts = edata.random_split(t, [0.7, 0.3], generator=ember.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(i for p in parts for i in p.indices) == list(range(10))
    with pytest.raises(ValueError):
        edata.random_split(t, [5, 6])
    st = edata.StackDataset(a=t, b=t)
    assert set(st[0]) == {"a", "b"}
    bs = list(edata.BatchSampler(edata.SequentialSampler(range(10)), 4, drop_last=False))
    assert bs == list(tdata.BatchSampler(tdata.SequentialSampler(range(10)), 4, False))
    w = list(edata.WeightedRandomSampler([0.0, 1.0, 0.0], 5))
    assert w == [1] * 5
    r = list(edata.RandomSampler(range(5), replacement=True, num_samples=12))
    assert len(r) == 12 and all(0 <= i < 5 for i in r)
    for rank in range(3):
        e = list(edata.DistributedSampler(range(10), num_replicas=3, rank=rank, shuffle=False))
        tt = list(tdata.DistributedSampler(range(10), num_replicas=3, rank=rank, shuffle=False))
        assert e == tt
    shards = [set(edata.DistributedSampler(range(12), 3, r, seed=1)) for r in range(3)]
    assert set().union(*shards) == set(range(12))


def test_argument_errors_like_torch():
    for lib, mod in ((torch, tdata), (ember, edata)):
        ds = make_map(lib, mod)
        for kwargs in [dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
                       dict(persistent_workers=True), dict(shuffle=True, sampler=[0, 1]),
                       dict(batch_sampler=[[0]], batch_size=2)]:
            with pytest.raises(ValueError):
                mod.DataLoader(ds, **kwargs)
        with pytest.raises(ValueError):
            mod.DataLoader(make_iterable(lib, mod), shuffle=True)


# ------------------------------------------------------------------------ workers

def _children():
    import multiprocessing
    return [p for p in multiprocessing.active_children()]


def _shm_left():
    return [n for n in os.listdir("/dev/shm") if n.startswith(f"ember_dl_{os.getpid()}_")]


@pytest.mark.parametrize("num_workers", [1, 2])
def test_workers_same_batches_in_order(num_workers):
    ds = edata.TensorDataset(ember.randn(200, 300), ember.arange(200))  # large: shared memory
    ref = list(edata.DataLoader(ds, batch_size=16))
    got = list(edata.DataLoader(ds, batch_size=16, num_workers=num_workers))
    assert len(got) == len(ref)
    for (a, b), (c, d) in zip(got, ref):
        assert np.array_equal(a.numpy(), c.numpy()) and np.array_equal(b.numpy(), d.numpy())
    assert _children() == [] and _shm_left() == []


class SeedReport(edata.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = edata.get_worker_info()
        return ember.tensor([info.id, info.seed % 100000, float(ember.rand(1).item())])


def test_worker_seeds_differ_and_are_reproducible():
    g = ember.Generator().manual_seed(7)
    a = ember.cat(list(edata.DataLoader(SeedReport(), batch_size=2, num_workers=2, generator=g)))
    g = ember.Generator().manual_seed(7)
    b = ember.cat(list(edata.DataLoader(SeedReport(), batch_size=2, num_workers=2, generator=g)))
    assert np.array_equal(a.numpy(), b.numpy())
    ids = a[:, 0].numpy()
    assert set(ids) == {0, 1}
    assert len(set(a[:, 1].numpy().tolist())) == 2  # one seed per worker
    assert len(set(a[:, 2].numpy().tolist())) == 8  # random draws differ


def test_iterable_sharding_with_workers():
    ds = make_iterable(ember, edata, n=20)
    got = list(edata.DataLoader(ds, batch_size=3, num_workers=2))
    ids = sorted(int(i) for b in got for i in b[1]["id"])
    assert ids == list(range(20))


class Failing(edata.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 5:
            raise ValueError("bad sample 5")
        return i


def test_worker_exception_reraised_with_traceback():
    it = iter(edata.DataLoader(Failing(), batch_size=2, num_workers=2))
    with pytest.raises(ValueError) as ei:
        for _ in it:
            pass
    msg = str(ei.value)
    assert "in DataLoader worker process" in msg and "bad sample 5" in msg
    assert "Traceback" in msg
    assert _children() == []


class Killer(edata.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 4:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


def test_killed_worker_raises_not_hangs():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        for _ in edata.DataLoader(Killer(), batch_size=2, num_workers=2):
            pass
    assert time.monotonic() - start < 20
    assert _children() == [] and _shm_left() == []


class Slow(edata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(5)
        return i


def test_timeout_raises():
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        next(iter(edata.DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.5)))
    assert _children() == []


def test_break_out_of_loop_cleans_up():
    ds = edata.TensorDataset(ember.randn(400, 300))
    for i, _ in enumerate(edata.DataLoader(ds, batch_size=8, num_workers=2)):
        if i == 2:
            break
    import gc
    gc.collect()
    deadline = time.monotonic() + 5
    while _children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _children() == [] and _shm_left() == []


def test_persistent_workers_two_epochs():
    ds = edata.TensorDataset(ember.arange(30))
    dl = edata.DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=True)
    e1 = [b[0].tolist() for b in dl]
    e2 = [b[0].tolist() for b in dl]
    assert e1 == e2 == [b[0].tolist() for b in edata.DataLoader(ds, batch_size=4)]
    dl._iterator._shutdown_workers()
    assert _children() == []
