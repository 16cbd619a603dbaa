"""Programs that test_tcp_backend.py runs on several ranks with mp.spawn.

Each program takes the library to run on (``"ember"`` or ``"torch"``, whose gloo backend
is the oracle), so the same code runs on both, and writes what each rank saw to
``<out_dir>/<lib>_<rank>.json``.
"""
import datetime
import importlib
import json
import os
import time


def _lib(name):
    torch = importlib.import_module(name)
    return torch, importlib.import_module(name + ".distributed")


def _encode(t):
    """A tensor as JSON: its dtype (without the module prefix), shape and values."""
    dtype = str(t.dtype).split(".")[-1]
    if t.is_complex():
        values = [t.real.tolist(), t.imag.tolist()]
    else:
        values = t.float().tolist() if dtype in ("float16", "bfloat16") else t.tolist()
    return {"dtype": dtype, "shape": list(t.shape), "values": values}


def _write(out_dir, lib, rank, results):
    with open(os.path.join(out_dir, f"{lib}_{rank}.json"), "w") as f:
        json.dump(results, f)


def _init_env(dist, rank, world_size, port, **kwargs):
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world_size, **kwargs)


# ---------------------------------------------------------------------------- collectives
def collectives(rank, world_size, lib, port, out_dir):
    """Every collective on 2 ranks, on values that depend on the rank; the ranks meet in a
    TCPStore the program creates (store=)."""
    torch, dist = _lib(lib)
    store = dist.TCPStore("localhost", port, world_size, rank == 0,
                          timeout=datetime.timedelta(seconds=30))
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size)
    r = {}
    r0 = float(rank + 1)
    RO = dist.ReduceOp

    def reduce_case(name, t, op=RO.SUM):
        dist.all_reduce(t, op=op)
        r[name] = _encode(t)

    reduce_case("sum_f32", torch.tensor([r0, 2.0 * r0, -r0]))
    reduce_case("sum_f64", torch.tensor([[r0, 0.5], [1.5, -r0]], dtype=torch.float64))
    reduce_case("sum_i64", torch.tensor([rank + 3, -7, 2 ** 40]))
    reduce_case("sum_i8_wraps", torch.tensor([100, -100], dtype=torch.int8))
    reduce_case("prod_f32", torch.tensor([r0 + 1, -r0, 0.5]), RO.PRODUCT)
    reduce_case("min_i32", torch.tensor([rank, 5 - rank, 3], dtype=torch.int32), RO.MIN)
    reduce_case("max_f32", torch.tensor([r0, 5 - r0, float("-inf")]), RO.MAX)
    reduce_case("avg_f32", torch.tensor([r0, 3.0 * r0]), RO.AVG)
    reduce_case("band_i32", torch.tensor([6 + rank, 12], dtype=torch.int32), RO.BAND)
    reduce_case("bor_i64", torch.tensor([1 << rank, 8]), RO.BOR)
    reduce_case("bxor_u8", torch.tensor([5 + rank, 255], dtype=torch.uint8), RO.BXOR)
    reduce_case("sum_bool", torch.tensor([rank == 0, False, True]))
    reduce_case("min_bool", torch.tensor([rank == 0, True]), RO.MIN)
    reduce_case("sum_f16", torch.tensor([r0 * 0.1, 1000.0], dtype=torch.float16))
    reduce_case("sum_bf16", torch.tensor([r0 * 0.1, 3.0], dtype=torch.bfloat16))
    reduce_case("sum_c64", torch.tensor([complex(r0, -1.0), 2j]))
    # a non-contiguous tensor gets the result in its own memory
    base = torch.arange(12.0).reshape(3, 4) * r0
    dist.all_reduce(base[:, 1::2])
    r["sum_noncontiguous"] = _encode(base)
    work = dist.all_reduce(torch.ones(2) * r0, async_op=True)
    r["async_wait"] = bool(work.wait())

    t = torch.tensor([r0, 10.0 * r0])
    dist.reduce(t, dst=1, op=RO.MAX)
    if rank == 1:    # what other ranks hold afterwards is unspecified (gloo changes it)
        r["reduce_dst1"] = _encode(t)
    t = torch.arange(4, dtype=torch.int32) * (rank + 1)
    dist.broadcast(t, src=1)
    r["broadcast_src1"] = _encode(t)
    t = torch.tensor([1.5, -2.25], dtype=torch.bfloat16) * r0
    dist.broadcast(t, src=0)
    r["broadcast_bf16"] = _encode(t)

    gathered = [torch.zeros(2, 2, dtype=torch.int32) for _ in range(world_size)]
    dist.all_gather(gathered, torch.full((2, 2), rank + 7, dtype=torch.int32))
    r["all_gather"] = [_encode(g) for g in gathered]
    out = torch.zeros(2 * world_size, 3)
    dist.all_gather_into_tensor(out, torch.full((2, 3), r0))
    r["all_gather_into_tensor"] = _encode(out)
    gather_list = [torch.zeros(3) for _ in range(world_size)] if rank == 0 else None
    dist.gather(torch.arange(3.0) + r0, gather_list, dst=0)
    r["gather"] = [_encode(g) for g in gather_list] if rank == 0 else None
    t = torch.zeros(2, dtype=torch.int64)
    chunks = [torch.tensor([10 * i, 10 * i + 1]) for i in range(world_size)] if rank == 1 \
        else None
    dist.scatter(t, chunks, src=1)
    r["scatter"] = _encode(t)
    out = torch.zeros(2)
    dist.reduce_scatter(out, [torch.tensor([r0, 2.0]) * (i + 1) for i in range(world_size)])
    r["reduce_scatter"] = _encode(out)
    out = torch.zeros(3)
    dist.reduce_scatter_tensor(out, torch.arange(3.0 * world_size) * r0)
    r["reduce_scatter_tensor"] = _encode(out)
    outs = [torch.zeros(2, dtype=torch.int64) for i in range(world_size)]
    ins = [torch.tensor([100 * rank + i, -i]) for i in range(world_size)]
    dist.all_to_all(outs, ins)
    r["all_to_all"] = [_encode(o) for o in outs]
    out = torch.zeros(4)
    dist.all_to_all_single(out, torch.arange(4.0) + 10 * rank)
    r["all_to_all_single"] = _encode(out)

    # point to point: a blocking pair, tagged async pairs (received in the other order)
    if rank == 0:
        dist.send(torch.tensor([1.0, 2.0, 3.0]), dst=1)
        dist.isend(torch.tensor([7]), dst=1, tag=7).wait()
        dist.isend(torch.tensor([5]), dst=1, tag=5).wait()
        t = torch.zeros(2)
        r["recv_any_source"] = dist.recv(t)
        r["recv_any"] = _encode(t)
    else:
        t = torch.zeros(3)
        dist.recv(t, src=0)
        r["recv"] = _encode(t)
        a, b = torch.zeros(1, dtype=torch.int64), torch.zeros(1, dtype=torch.int64)
        wa = dist.irecv(a, src=0, tag=5)
        wb = dist.irecv(b, src=0, tag=7)
        wa.wait()
        wb.wait()
        r["irecv_tags"] = [_encode(a), _encode(b)]
        dist.send(torch.tensor([-1.0, 4.0]), dst=0)
    dist.barrier()

    objs = [{"rank": rank}, "x" * rank, None] if rank == 1 else [None, None, None]
    dist.broadcast_object_list(objs, src=1)
    r["broadcast_object_list"] = objs
    gathered = [None] * world_size
    dist.all_gather_object(gathered, ("obj", rank, [rank] * rank))
    r["all_gather_object"] = [list(g) for g in gathered]
    gathered = [None] * world_size if rank == 1 else None
    dist.gather_object({"r": rank}, gathered, dst=1)
    r["gather_object"] = gathered
    received = [None]
    dist.scatter_object_list(received, [f"to {i}" for i in range(world_size)] if rank == 0
                             else None, src=0)
    r["scatter_object_list"] = received

    # sub-groups: the whole world again, and a group of rank 1 alone
    both = dist.new_group([0, 1])
    t = torch.tensor([r0])
    dist.all_reduce(t, group=both)
    r["group_all_reduce"] = _encode(t)
    alone = dist.new_group([1])
    t = torch.tensor([r0])
    if rank == 1:
        dist.all_reduce(t, group=alone)
    r["solo_group"] = [_encode(t), dist.get_rank(alone), dist.get_world_size(alone)]
    r["rank_size_backend"] = [dist.get_rank(), dist.get_world_size(), str(dist.get_backend())]
    dist.barrier()
    dist.destroy_process_group()
    _write(out_dir, lib, rank, r)


def three_ranks(rank, world_size, lib, port, out_dir):
    """3 ranks meeting through a tcp:// init_method: every pair of the mesh carries data,
    and a group of ranks 0 and 2 reduces without rank 1."""
    torch, dist = _lib(lib)
    dist.init_process_group("gloo", init_method=f"tcp://localhost:{port}", rank=rank,
                            world_size=world_size)
    r = {}
    t = torch.tensor([float(rank + 1), 10.0 ** rank])
    dist.all_reduce(t)
    r["all_reduce"] = _encode(t)
    outs = [torch.zeros(2, dtype=torch.int64) for _ in range(world_size)]
    dist.all_to_all(outs, [torch.tensor([rank, i]) for i in range(world_size)])
    r["all_to_all"] = [_encode(o) for o in outs]
    ends = dist.new_group([0, 2])
    t = torch.tensor([float(rank + 1)])
    if rank != 1:
        dist.all_reduce(t, group=ends)
        dist.broadcast(t, src=2, group=ends)
    r["ends"] = _encode(t)
    t = torch.tensor([float(rank)])
    dist.reduce(t, dst=2)
    r["reduce_dst2"] = _encode(t) if rank == 2 else None
    dist.barrier()
    dist.destroy_process_group()
    _write(out_dir, lib, rank, r)


def file_init(rank, world_size, lib, port, out_dir):
    """A file:// rendezvous with no backend named (torch picks gloo for the CPU), and an
    irecv polled with is_completed until the data is there."""
    torch, dist = _lib(lib)
    dist.init_process_group(init_method="file://" + os.path.join(out_dir, "rendezvous"),
                            rank=rank, world_size=world_size)
    r = {"backend": str(dist.get_backend())}
    if rank == 0:
        t = torch.zeros(2, dtype=torch.float64)
        work = dist.irecv(t, src=1, tag=3)
        dist.barrier()      # rank 1 sends before it reaches the barrier
        while not work.is_completed():
            time.sleep(0.01)
        r["irecv"] = _encode(t)
    else:
        dist.send(torch.tensor([0.25, -8.0], dtype=torch.float64), dst=0, tag=3)
        dist.barrier()
    t = torch.tensor([rank + 1.0])
    dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
    r["all_reduce"] = _encode(t)
    dist.barrier()
    dist.destroy_process_group()
    _write(out_dir, lib, rank, r)


# ---------------------------------------------------------------------------- DDP
def _net(torch):
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def _batches(torch, steps):
    g = torch.Generator().manual_seed(1234)
    return [(torch.randn(8, 5, generator=g), torch.randint(0, 3, (8,), generator=g))
            for _ in range(steps)]


def train_single(lib, steps):
    """The parameters of one process trained on the whole batches (rank 0's initial
    weights: seed 0)."""
    torch, _ = _lib(lib)
    torch.manual_seed(0)
    model = _net(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in _batches(torch, steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return {k: v.tolist() for k, v in model.state_dict().items()}


def ddp(rank, world_size, lib, port, out_dir, steps):
    """The DDP tutorial's pattern: env:// rendezvous, DDP(model), each rank on its share of
    every batch, different initial weights on each rank (DDP broadcasts rank 0's)."""
    torch, dist = _lib(lib)
    from importlib import import_module
    DDP = import_module(lib + ".nn.parallel").DistributedDataParallel
    _init_env(dist, rank, world_size, port)
    torch.manual_seed(rank)
    model = DDP(_net(torch))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    share = 8 // world_size
    for x, y in _batches(torch, steps):
        opt.zero_grad()
        lo = rank * share
        torch.nn.functional.cross_entropy(model(x[lo:lo + share]), y[lo:lo + share]).backward()
        opt.step()
    state = {k: v.tolist() for k, v in model.module.state_dict().items()}
    dist.destroy_process_group()
    _write(out_dir, lib, rank, state)


# ---------------------------------------------------------------------------- faults
def peer_dies(rank, world_size, lib, port, out_dir):
    """Rank 1 exits right after joining; rank 0's all_reduce must raise, not hang."""
    torch, dist = _lib(lib)
    _init_env(dist, rank, world_size, port, timeout=datetime.timedelta(seconds=20))
    if rank == 1:
        os._exit(0)
    start = time.monotonic()
    try:
        dist.all_reduce(torch.ones(3))
        result = {"raised": None}
    except Exception as e:  # noqa: BLE001  the test checks the type
        result = {"raised": type(e).__name__, "is_runtime_error": isinstance(e, RuntimeError),
                  "message": str(e)}
    result["seconds"] = time.monotonic() - start
    _write(out_dir, lib, rank, result)
    os._exit(0)   # the group's peer is gone: skip the clean shutdown


def peer_stalls(rank, world_size, lib, port, out_dir):
    """Rank 1 is alive but does not call the collective: rank 0 times out (1 s). The ranks
    meet in a store with a long timeout (a loaded machine may start rank 0 more than a
    second after rank 1); the group's own timeout, 1 s, is the collectives'."""
    torch, dist = _lib(lib)
    store = dist.TCPStore("localhost", port, world_size, rank == 0,
                          timeout=datetime.timedelta(seconds=60))
    dist.init_process_group("gloo", rank=rank, world_size=world_size, store=store,
                            timeout=datetime.timedelta(seconds=1))
    if rank == 1:
        time.sleep(2.5)
        os._exit(0)
    start = time.monotonic()
    try:
        dist.broadcast(torch.ones(3), src=1)
        result = {"raised": None}
    except Exception as e:  # noqa: BLE001  the test checks the type
        result = {"raised": type(e).__name__, "is_runtime_error": isinstance(e, RuntimeError),
                  "message": str(e)}
    result["seconds"] = time.monotonic() - start
    _write(out_dir, lib, rank, result)
    os._exit(0)
