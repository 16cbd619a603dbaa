"""The TCP backend ('gloo' without MPI): programs run with mp.spawn on 2 (and 3) ranks,
compared with torch's gloo running the same programs; DDP equals one process trained on
the whole batches; bad arguments and dead or stalled peers raise instead of hanging."""
import datetime
import json
import os
import socket

import numpy as np
import pytest

import ember
import ember.distributed as dist
import ember.multiprocessing as mp

from . import tcp_programs

torch = pytest.importorskip("torch")


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _run(program, lib, out_dir, nprocs=2, *extra):
    """Each rank's results of program(rank, nprocs, lib, port, out_dir, *extra)."""
    os.makedirs(out_dir, exist_ok=True)
    if lib == "torch":
        import torch.multiprocessing as spawner
    else:
        spawner = mp
    spawner.spawn(program, args=(nprocs, lib, _free_port(), str(out_dir)) + extra,
                  nprocs=nprocs)
    results = []
    for rank in range(nprocs):
        path = os.path.join(out_dir, f"{lib}_{rank}.json")
        if not os.path.exists(path):    # the fault programs' rank 1 exits without one
            results.append(None)
            continue
        with open(path) as f:
            results.append(json.load(f))
    return results


@pytest.fixture(scope="module")
def collectives(tmp_path_factory):
    out = tmp_path_factory.mktemp("tcp_collectives")
    return _run(tcp_programs.collectives, "ember", out), \
        _run(tcp_programs.collectives, "torch", out)


CASES = ["sum_f32", "sum_f64", "sum_i64", "sum_i8_wraps", "prod_f32", "min_i32", "max_f32",
         "avg_f32", "band_i32", "bor_i64", "bxor_u8", "sum_bool", "min_bool", "sum_f16",
         "sum_bf16", "sum_c64", "async_wait", "reduce_dst1",
         "broadcast_src1", "broadcast_bf16", "all_gather", "all_gather_into_tensor",
         "gather", "scatter", "reduce_scatter", "reduce_scatter_tensor", "all_to_all",
         "all_to_all_single", "recv_any_source", "recv_any", "recv", "irecv_tags",
         "broadcast_object_list", "all_gather_object", "gather_object",
         "scatter_object_list", "group_all_reduce", "solo_group", "rank_size_backend"]


@pytest.mark.parametrize("name", CASES)
def test_collectives_match_torch_gloo(collectives, name):
    ours, theirs = collectives
    for rank in range(2):
        assert (name in ours[rank]) == (name in theirs[rank])
        assert ours[rank].get(name) == theirs[rank].get(name), f"rank {rank}"
    assert any(name in r for r in ours)


def test_non_contiguous_all_reduce_writes_the_view(collectives):
    """torch's gloo reduces a non-contiguous tensor's storage as if it were contiguous
    (garbage); ember reduces the view's elements and writes them back in place."""
    ours, _ = collectives
    for rank in range(2):
        expected = np.arange(12.0).reshape(3, 4) * (rank + 1)
        expected[:, 1::2] = np.arange(12.0).reshape(3, 4)[:, 1::2] * 3
        assert ours[rank]["sum_noncontiguous"]["values"] == expected.tolist()


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    out = tmp_path_factory.mktemp("tcp_three")
    return _run(tcp_programs.three_ranks, "ember", out, 3), \
        _run(tcp_programs.three_ranks, "torch", out, 3)


@pytest.mark.parametrize("name", ["all_reduce", "all_to_all", "ends", "reduce_dst2"])
def test_three_ranks_tcp_init_method_match_torch_gloo(three, name):
    ours, theirs = three
    assert [r[name] for r in ours] == [r[name] for r in theirs]


def test_file_init_method_and_polled_irecv(tmp_path):
    # ember only: torch's gloo hangs on this program (file:// with no backend named)
    ours = _run(tcp_programs.file_init, "ember", tmp_path)
    assert [r["backend"] for r in ours] == ["gloo", "gloo"]
    assert ours[0]["irecv"] == {"dtype": "float64", "shape": [2], "values": [0.25, -8.0]}
    assert [r["all_reduce"]["values"] for r in ours] == [[2.0], [2.0]]


def test_ddp_equals_single_process(tmp_path):
    steps = 3
    ranks = _run(tcp_programs.ddp, "ember", tmp_path, 2, steps)
    single = tcp_programs.train_single("ember", steps)
    assert ranks[0].keys() == single.keys()
    for key, value in single.items():
        np.testing.assert_allclose(ranks[0][key], ranks[1][key], rtol=0, atol=0)
        np.testing.assert_allclose(ranks[0][key], value, rtol=1e-5, atol=1e-6)
    # training moved the weights away from rank 0's initial ones
    ember.manual_seed(0)
    initial = tcp_programs._net(ember).state_dict()
    assert not np.allclose(initial["0.weight"].tolist(), single["0.weight"])


def test_peer_death_raises_runtime_error(tmp_path):
    r0 = _run(tcp_programs.peer_dies, "ember", tmp_path)[0]
    assert r0["raised"] is not None and r0["is_runtime_error"], r0
    assert r0["seconds"] < 10, r0     # at once, not after the 20 s timeout
    assert "rank 1" in r0["message"]


def test_stalled_peer_times_out(tmp_path):
    r0 = _run(tcp_programs.peer_stalls, "ember", tmp_path)[0]
    assert r0["raised"] is not None and r0["is_runtime_error"], r0
    assert 0.9 < r0["seconds"] < 2.5, r0
    assert "timed out" in r0["message"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(rank=2, world_size=2), "rank 2 is out of range"),
    (dict(rank=-1, world_size=0), "world_size must be positive"),
    (dict(rank=-1, world_size=-1), "RANK expected"),
])
def test_bad_rank_or_world_size_raise(monkeypatch, kwargs, match):
    monkeypatch.setenv("MASTER_ADDR", "localhost")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ValueError, match=match):
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=5), **kwargs)
    assert not dist.is_initialized()


def test_single_rank_world(monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "localhost")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        t = ember.tensor([1.5, 2.0])
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        assert t.tolist() == [1.5, 2.0]
        assert dist.get_world_size() == 1 and dist.get_backend() == "gloo"
        assert dist.is_gloo_available() and dist.is_backend_available("gloo")
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


def test_mpi_backend_without_rank_keeps_mpi(monkeypatch):
    """'mpi' with MASTER_ADDR/MASTER_PORT but no rank or world size anywhere is not a TCP
    rendezvous (a lone process keeps MPI's singleton world); 'gloo' is, and asks for RANK
    as torch's env:// does."""
    from ember.distributed import process_group as pg
    monkeypatch.setenv("MASTER_ADDR", "localhost")
    monkeypatch.setenv("MASTER_PORT", "1")
    for var in ("RANK", "WORLD_SIZE") + pg._MPI_LAUNCHED_VARS:
        monkeypatch.delenv(var, raising=False)
    assert not pg._tcp_rendezvous("mpi", None, None, -1, -1)
    assert pg._tcp_rendezvous("mpi", None, None, 0, 1)
    assert pg._tcp_rendezvous("gloo", None, None, -1, -1)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")   # under mpirun: MPI, as before
    assert not pg._tcp_rendezvous("gloo", None, None, 0, 2)
