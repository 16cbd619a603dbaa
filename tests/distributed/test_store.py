"""Stores (HashStore, TCPStore, FileStore, PrefixStore) against torch's, call by call, and
shared by three processes."""
import datetime
import gc
import json
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import ember.distributed as edist
from .launch import ROOT, WORKERS, launch

torch = pytest.importorskip("torch")
import torch.distributed as tdist  # noqa: E402

SHORT = datetime.timedelta(seconds=0.2)
KINDS = ["hash", "tcp", "file"]


def make(lib, kind, tmp_path):
    """A fresh store of the given kind from ember.distributed or torch.distributed."""
    if kind == "hash":
        store = lib.HashStore()
    elif kind == "tcp":
        store = lib.TCPStore("127.0.0.1", 0, 1, True, datetime.timedelta(seconds=5))
    else:
        store = lib.FileStore(str(tmp_path / f"{lib.__name__}.store"), 1)
    store.set_timeout(SHORT)
    return store


@pytest.fixture(params=KINDS)
def pair(request, tmp_path):
    return request.param, make(tdist, request.param, tmp_path), make(edist, request.param,
                                                                     tmp_path)


def outcome(fn, store):
    """("ok", result) or ("raises", exception class name)."""
    try:
        return ("ok", fn(store))
    except Exception as e:  # noqa: BLE001  the type is what we compare
        return ("raises", type(e).__name__)


def _set_get(key, value):
    return lambda s: (s.set(key, value), s.get(key))


# Run in this order on one store of each library; every step's outcome must match, but
# for the store kinds named third.
SCRIPT = [
    ("num_keys at start", lambda s: s.num_keys()),
    ("set str, get", _set_get("a", "x")),
    ("set bytes, get", _set_get("b", b"\x00\xff")),
    ("bytes key, bytearray value", lambda s: (s.set(b"bk", bytearray(b"v")), s.get("bk"))),
    ("unicode value", _set_get("u", "\u00e9")),
    ("empty key and value", _set_get("", "")),
    ("add creates", lambda s: s.add("c", 3)),
    ("add negative", lambda s: s.add("c", -5)),
    ("counter holds ASCII", lambda s: s.get("c")),
    ("add bool and numpy amount", lambda s: (s.add("c", True), s.add("c", np.int64(4)))),
    ("add zero creates the key", lambda s: (s.add("z", 0), s.check(["z"]))),
    ("add parses like strtoll", lambda s: (s.set("n", " +41x"), s.add("n", 1))),
    ("add wraps at int64", lambda s: (s.add("w", 2 ** 62), s.add("w", 2 ** 62))),
    ("compare_set missing key", lambda s: (s.compare_set("k", "x", "y"), s.check(["k"]))),
    ("compare_set missing, empty expected", lambda s: (s.compare_set("k2", "", "y"),
                                                       s.get("k2"))),
    ("compare_set match", lambda s: (s.compare_set("a", "x", "y2"), s.get("a"))),
    ("compare_set mismatch", lambda s: (s.compare_set("a", "q", "y3"), s.get("a"))),
    ("compare_set present, empty expected", lambda s: (s.compare_set("a", "", "y4"),
                                                       s.get("a"))),
    ("check", lambda s: (s.check(["a", "b"]), s.check(("a", "nope")), s.check([]))),
    ("wait on present keys", lambda s: (s.wait(["a"]), s.wait(["a", "b"],
                                                              datetime.timedelta(seconds=1)))),
    ("append", lambda s: (s.append("ap", "po"), s.append("ap", b"tato"), s.append("ap", ""),
                          s.get("ap"))),
    ("multi_set, multi_get", lambda s: (s.multi_set(["m1", "m2"], ["1", b"2"]),
                                        s.multi_get(("m1", "m2")), s.multi_get([]))),
    ("delete_key", lambda s: (s.delete_key("b"), s.check(["b"]))),
    ("delete_key again", lambda s: s.delete_key("b")),
    ("num_keys", lambda s: s.num_keys()),
    ("has_extended_api", lambda s: s.has_extended_api()),
    # torch's FileStore lists its reference-count key, mangled
    ("list_keys", lambda s: sorted(s.list_keys()), {"file"}),
    ("barrier of one", lambda s: s.barrier("bar", 1)),
    ("queue push, len, pop", lambda s: (s.queue_push("q", "v1"), s.queue_push("q", b"v2"),
                                        s.queue_len("q"), s.queue_pop("q"),
                                        s.queue_pop("q", False), s.queue_len("q"))),
    ("queue_pop on empty, not blocking", lambda s: s.queue_pop("q", False)),
    ("timeout", lambda s: s.timeout),
    ("set_timeout with float seconds", lambda s: (s.set_timeout(0.25), s.timeout)),
]


def test_store_ops_match_torch(pair):
    kind, theirs, ours = pair
    for name, step, *unlike in SCRIPT:
        if not unlike or kind not in unlike[0]:
            assert outcome(step, ours) == outcome(step, theirs), f"{kind}: {name}"


def test_get_and_wait_time_out_as_torch(pair):
    kind, theirs, ours = pair
    missing = [lambda s: s.get("missing"),
               lambda s: s.wait(["missing"], datetime.timedelta(seconds=0.1)),
               lambda s: (s.set("here", "1"), s.multi_get(["here", "missing"]))]
    if kind == "file":   # torch's FileStore polls once a second: two calls are enough
        missing = missing[:2]
    for call in missing:
        t0 = time.monotonic()
        got = outcome(call, ours)
        elapsed = time.monotonic() - t0
        assert got == outcome(call, theirs)
        assert got[0] == "raises" and 0.09 < elapsed < 2.0, (kind, got, elapsed)
    # torch's FileStore raises a plain RuntimeError; the others DistStoreError
    assert issubclass(edist.DistStoreError, RuntimeError)
    assert [c.__name__ for c in edist.QueueEmptyError.__mro__[:4]] == \
        [c.__name__ for c in tdist.QueueEmptyError.__mro__[:4]]


def test_get_waits_for_a_key_set_later(pair):
    kind, _, ours = pair
    ours.set_timeout(datetime.timedelta(seconds=5))
    writer = ours.clone()
    timer = threading.Timer(0.2, lambda: writer.set("late", "here"))
    timer.start()
    t0 = time.monotonic()
    assert ours.get("late") == b"here"
    assert 0.1 < time.monotonic() - t0 < 3
    timer.join()


BAD_CALLS = [
    lambda s: s.set(1, "x"),
    lambda s: s.set("x", 1),
    lambda s: s.set("x", None),
    lambda s: s.set("x", memoryview(b"a")),
    lambda s: s.get(1),
    lambda s: s.add("c", 1.5),
    lambda s: s.add("c", "1"),
    lambda s: s.add("c", 2 ** 63),
    lambda s: s.wait("a"),
    lambda s: s.wait(["a"], 1),
    lambda s: s.check("a"),
    lambda s: s.set_timeout(1),
    lambda s: s.multi_set(["a"], "b"),
    lambda s: s.multi_get("ab"),
    lambda s: s.compare_set("a", 1, "b"),
    lambda s: s.append("a", 1),
    lambda s: s.delete_key(None),
    lambda s: (s.set("word", "abc"), s.add("word", 1)),
]


@pytest.mark.parametrize("call", BAD_CALLS)
def test_bad_arguments_raise_as_torch(call):
    theirs, ours = tdist.HashStore(), edist.HashStore()
    expected = outcome(call, theirs)
    assert expected[0] == "raises"
    assert outcome(call, ours) == expected


def test_tcp_add_on_a_non_integer_raises_and_the_store_still_works():
    # torch's TCPStore server drops the connection on these; ember answers as torch's
    # HashStore and FileStore do (an empty value counts as 0)
    store = edist.TCPStore("127.0.0.1", 0, 1, True, datetime.timedelta(seconds=5))
    hashed = tdist.HashStore()
    for s in (store, hashed):
        s.set("word", "abc")
        s.set("empty", "")
    with pytest.raises(ValueError, match="word"):
        store.add("word", 1)
    assert store.add("empty", 2) == hashed.add("empty", 2) == 2
    assert store.add("n", 2) == 2


def test_multi_set_length_mismatch(tmp_path):
    # torch's HashStore raises MemoryError here, and its FileStore hangs when closed after
    # it; its TCPStore's DistStoreError is the answer ember gives for every store
    call = lambda s: s.multi_set(["a", "b"], ["1"])  # noqa: E731
    assert outcome(call, make(tdist, "tcp", tmp_path)) == ("raises", "DistStoreError")
    for kind in KINDS:
        assert outcome(call, make(edist, kind, tmp_path)) == ("raises", "DistStoreError")


def test_prefix_store_matches_torch():
    results = []
    for lib in (tdist, edist):
        base = lib.HashStore()
        prefixed = lib.PrefixStore("p", base)
        prefixed.set("a", "1")
        prefixed.add("n", 2)
        nested = lib.PrefixStore("q", prefixed)
        nested.set("b", "2")
        base.set_timeout(SHORT)
        results.append((base.check(["p/a", "p/n", "p/q/b"]), prefixed.get("a"),
                        sorted(prefixed.list_keys()), sorted(base.list_keys()),
                        prefixed.num_keys(), prefixed.has_extended_api(), prefixed.timeout,
                        nested.underlying_store is prefixed, outcome(lambda s: s.get("zz"),
                                                                     prefixed)))
        for bad in (lambda: lib.PrefixStore(1, base), lambda: lib.PrefixStore("p", 1)):
            with pytest.raises(TypeError):
                bad()
    assert results[0] == results[1]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args, kwargs", [
    (("127.0.0.1", -1, 1, True), {}),
    (("127.0.0.1", 70000, 1, True), {}),
    (("127.0.0.1", "0", 1, True), {}),
    ((1, 0, 1, True), {}),
    (("127.0.0.1", 0, 0, True), {}),
    (("127.0.0.1", 0, 1, True), {"timeout": 1}),
])
def test_tcp_store_bad_arguments(args, kwargs):
    assert outcome(lambda lib: lib.TCPStore(*args, **kwargs), edist) == \
        outcome(lambda lib: lib.TCPStore(*args, **kwargs), tdist)


def test_tcp_store_connection_and_worker_timeouts():
    timeout = datetime.timedelta(seconds=0.3)
    port = _free_port()
    nobody = lambda lib: lib.TCPStore("127.0.0.1", port, timeout=timeout)  # noqa: E731
    assert outcome(nobody, edist) == outcome(nobody, tdist) == ("raises", "DistNetworkError")
    alone = lambda lib: lib.TCPStore("127.0.0.1", 0, 2, True, timeout)  # noqa: E731
    assert outcome(alone, tdist) == ("raises", "DistStoreError")
    with pytest.raises(edist.DistStoreError, match="1/2 clients joined"):
        alone(edist)
    # without waiting for workers the master returns at once; a client then joins
    master = edist.TCPStore("127.0.0.1", 0, 2, True, timeout, wait_for_workers=False)
    client = edist.TCPStore("127.0.0.1", master.port, 2, False, timeout)
    client.set("k", "v")
    assert master.get("k") == b"v" and master.port > 0 and master.host == "127.0.0.1"
    # a master on a fixed port waits for the client that a thread starts later
    port = _free_port()
    clients = []
    joiner = threading.Timer(0.1, lambda: clients.append(
        edist.TCPStore("127.0.0.1", port, 2, False, datetime.timedelta(seconds=5))))
    joiner.start()
    master = edist.TCPStore("127.0.0.1", port, 2, True, datetime.timedelta(seconds=5))
    joiner.join()
    clients[0].set("joined", "yes")
    assert master.get("joined") == b"yes" and master.num_keys() == 2


def test_tcp_store_multi_tenant_and_server_stop():
    master = edist.TCPStore("127.0.0.1", 0, None, True, SHORT, multi_tenant=True)
    tenant = edist.TCPStore("127.0.0.1", master.port, None, True, SHORT, multi_tenant=True)
    tenant.set("shared", "yes")
    assert master.get("shared") == b"yes"
    clone = master.clone()
    del master, tenant
    gc.collect()   # the last master store gone: the server stops
    with pytest.raises(edist.DistNetworkError):
        clone.get("shared")


def test_hash_store_is_thread_safe():
    store = edist.HashStore()
    workers = [threading.Thread(target=lambda: [store.add("n", 1) for _ in range(200)])
               for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert store.get("n") == b"800"


def test_store_base_and_user_subclass():
    for lib in (tdist, edist):
        with pytest.raises(RuntimeError):
            lib.Store().set("a", "b")

    class DictStore(edist.Store):   # a Python store that overrides the public methods
        def __init__(self):
            super().__init__()
            self.data = {}

        def set(self, key, value):
            self.data[key] = value.encode() if isinstance(value, str) else value

        def get(self, key):
            return self.data[key]

    inner = DictStore()
    edist.PrefixStore("p", inner).set("a", "1")
    assert inner.data == {"p/a": b"1"}


def test_file_store_is_deleted_by_its_last_user(tmp_path):
    path = str(tmp_path / "store")
    for lib in (tdist, edist):
        first, second = lib.FileStore(path, 2), lib.FileStore(path, 2)
        first.set("k", "v")
        assert second.get("k") == b"v" and second.num_keys() == 2
        del first   # no gc.collect(): dropping the last reference closes a store, as torch
        assert os.path.exists(path)
        del second
        assert not os.path.exists(path)
    kept = edist.FileStore(path)   # world_size=-1: the file stays
    del kept
    assert os.path.exists(path)


def _worker(rank, *args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, os.path.join(WORKERS, "store_worker.py"),
                             str(rank), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def test_three_processes_share_a_tcp_store_and_a_file_store(tmp_path):
    path = str(tmp_path / "shared.store")
    procs = [_worker(rank, path) for rank in range(3)]
    master = procs[0]
    outputs = {}
    for p in procs[1:] + [master]:   # the master's server outlives the others' last call
        outputs[p] = p.communicate("exit\n" if p is master else None, timeout=60)
        assert p.returncode == 0, outputs[p][1][-3000:]
    results = [json.loads(outputs[p][0].strip().splitlines()[-1]) for p in procs]
    for kind in ("tcp", "file"):
        got = [r[kind] for r in results]
        assert sorted(r["arrival"] for r in got) == [1, 2, 3]
        assert all(r["values"] == ["0", "10", "20"] for r in got)
        assert len({r["leader"] for r in got}) == 1
        assert all(r["count"] == 150 and r["log"] == ["0", "1", "2"] for r in got)
    # world_size=3: the last of the three processes deletes the file
    assert not os.path.exists(path)


def test_init_process_group_store_argument_errors():
    store = edist.HashStore()
    with pytest.raises(AssertionError, match="both init_method and store"):
        edist.init_process_group("gloo", init_method="env://", store=store, rank=0,
                                 world_size=1)
    with pytest.raises(AssertionError, match="world_size must be positive"):
        edist.init_process_group("gloo", store=store, rank=0)
    with pytest.raises(AssertionError, match="rank must be non-negative"):
        edist.init_process_group("gloo", store=store, world_size=1)
    with pytest.raises(TypeError, match="Store"):
        edist.init_process_group("gloo", store={}, rank=0, world_size=1)
    assert not edist.is_initialized()


def test_init_process_group_with_a_file_store(tmp_path):
    code, output = launch("store_pg_worker.py", tmp_path / "pg.store", nproc=2)
    assert code == 0, output[-4000:]
    lines = sorted(line.split()[1:] for line in output.splitlines()
                   if line.startswith("store-pg"))
    assert lines == [["0", "2", "3.0", "b'2'"], ["1", "2", "3.0", "b'2'"]]


def test_second_server_on_a_port_raises_dist_network_error_as_torch():
    """Two TCPStore servers on one port (two rank 0s, a stale run): PyTorch's
    DistNetworkError and message, not a raw OSError."""
    messages = []
    for lib in (tdist, edist):
        with socket.socket() as s:
            s.bind(("", 0))
            port = s.getsockname()[1]
        first = lib.TCPStore("127.0.0.1", port, 1, True, timeout=datetime.timedelta(seconds=5))
        with pytest.raises(lib.DistNetworkError) as err:
            lib.TCPStore("127.0.0.1", port, 1, True, timeout=datetime.timedelta(seconds=5))
        messages.append(str(err.value).replace(str(port), "PORT"))
        del first
    assert messages[1] == messages[0]
