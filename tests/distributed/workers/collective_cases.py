"""The collective op table: every case runs on every rank and checks its result against a
NumPy expectation computed from all ranks' (deterministic) inputs.

Run by tests/distributed/test_collectives.py under the launcher:
``python -m ember.distributed.run --nproc-per-node N collective_cases.py out.json [names]``;
rank 0 writes {case name: "ok" or the failure on each rank} to out.json.
"""
import json
import sys
import traceback

import ml_dtypes
import numpy as np

DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "uint8", "int32", "int64", "bool",
          "complex64"]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]


def np_dtype(name):
    return ml_dtypes.bfloat16 if name == "bfloat16" else np.dtype(name)


def inp(rank, shape, dtype, salt=0):
    """Rank `rank`'s input: small values (products of a few ranks stay exact)."""
    rng = np.random.default_rng(1000 * rank + salt)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in ("int8", "uint8", "int32", "int64"):
        return rng.integers(1, 4, shape).astype(dtype)
    if dtype == "complex64":
        return (rng.uniform(0.5, 2, shape) + 1j * rng.uniform(0.5, 2, shape)).astype(dtype)
    return rng.uniform(0.5, 2, shape).astype(np_dtype(dtype))


def valid(dtype, op):
    """Whether ember (like torch's NCCL/MPI) supports op on dtype; else RuntimeError."""
    if op in ("BAND", "BOR", "BXOR"):
        return dtype in ("int8", "uint8", "int32", "int64", "bool")
    if op == "AVG":
        return dtype not in ("int8", "uint8", "int32", "int64", "bool")
    if op in ("MIN", "MAX"):
        return dtype != "complex64"
    return True


def expected_reduce(arrays, dtype, op):
    stack = np.stack([a.astype(np.float64) if dtype in ("float16", "bfloat16") else a
                      for a in arrays])
    if dtype == "bool":
        result = {"SUM": np.any, "MAX": np.any, "BOR": np.any, "PRODUCT": np.all,
                  "MIN": np.all, "BAND": np.all}.get(op)
        if op == "BXOR":
            return np.logical_xor.reduce(stack, axis=0)
        return result(stack, axis=0)
    fns = {"SUM": lambda s: s.sum(0), "AVG": lambda s: s.mean(0), "PRODUCT": lambda s: s.prod(0),
           "MIN": lambda s: s.min(0), "MAX": lambda s: s.max(0),
           "BAND": np.bitwise_and.reduce, "BOR": np.bitwise_or.reduce,
           "BXOR": np.bitwise_xor.reduce}
    return fns[op](stack).astype(np_dtype(dtype))


def tol(dtype):
    return {"float16": 2e-3, "bfloat16": 1e-2, "float32": 1e-6, "complex64": 1e-6,
            "float64": 1e-12}.get(dtype, 0)


def check(got, want, dtype=None):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"dtype {got.dtype} != {want.dtype}"
    rtol = tol(dtype or str(want.dtype))
    if rtol:
        np.testing.assert_allclose(got.astype(np.complex128 if got.dtype.kind == "c"
                                              else np.float64),
                                   want.astype(np.complex128 if want.dtype.kind == "c"
                                               else np.float64), rtol=rtol)
    else:
        np.testing.assert_array_equal(got, want)


def raises(exc, fn):
    try:
        fn()
    except exc:
        return
    except Exception as e:
        raise AssertionError(f"expected {exc.__name__}, got {type(e).__name__}: {e}")
    raise AssertionError(f"expected {exc.__name__}, nothing raised")


# ---------------------------------------------------------------------------- the cases
CASES = {}


def case(name):
    def register(fn):
        CASES[name] = fn
        return fn
    return register


def _all_reduce_case(dtype, op, shape, layout="contiguous", async_op=False):
    def run(torch, dist, rank, world):
        x = inp(rank, shape, dtype)
        t = torch.from_numpy(x.T.copy().T if layout == "transposed" else x.copy())
        if layout == "transposed":
            t = torch.from_numpy(np.ascontiguousarray(x.T)).t()
        reduce_op = getattr(dist.ReduceOp, op)
        if not valid(dtype, op):
            raises(RuntimeError, lambda: dist.all_reduce(t, op=reduce_op))
            return
        work = dist.all_reduce(t, op=reduce_op, async_op=async_op)
        if async_op:
            assert work.wait() is True and work.is_completed()
        else:
            assert work is None
        check(t.numpy(), expected_reduce([inp(r, shape, dtype) for r in range(world)], dtype, op),
              dtype)
    return run


for _dtype in DTYPES:
    for _op in OPS:
        if _op in ("BAND", "BOR", "BXOR") and _dtype not in ("int32", "bool", "float32"):
            continue
        case(f"all_reduce-{_op}-{_dtype}")(_all_reduce_case(_dtype, _op, (3, 4)))
case("all_reduce-SUM-float32-0dim")(_all_reduce_case("float32", "SUM", ()))
case("all_reduce-MAX-int64-empty")(_all_reduce_case("int64", "MAX", (0, 3)))
case("all_reduce-SUM-float64-transposed")(_all_reduce_case("float64", "SUM", (3, 5), "transposed"))
case("all_reduce-AVG-bfloat16-transposed")(_all_reduce_case("bfloat16", "AVG", (4, 2),
                                                            "transposed"))
case("all_reduce-PRODUCT-float32-async")(_all_reduce_case("float32", "PRODUCT", (5,),
                                                          async_op=True))
case("all_reduce-AVG-float16-async")(_all_reduce_case("float16", "AVG", (2, 3), async_op=True))


def _reduce_case(dtype, op):
    def run(torch, dist, rank, world):
        dst = world - 1
        x = inp(rank, (2, 3), dtype)
        t = torch.from_numpy(x.copy())
        dist.reduce(t, dst=dst, op=getattr(dist.ReduceOp, op))
        if rank == dst:
            check(t.numpy(), expected_reduce([inp(r, (2, 3), dtype) for r in range(world)],
                                             dtype, op), dtype)
        else:
            check(t.numpy(), x, dtype)
    return run


for _dtype, _op in [("float32", "SUM"), ("int64", "MAX"), ("bfloat16", "SUM"), ("float64", "AVG"),
                    ("int32", "PRODUCT"), ("bool", "MIN")]:
    case(f"reduce-{_op}-{_dtype}")(_reduce_case(_dtype, _op))


def _broadcast_case(dtype, async_op=False):
    def run(torch, dist, rank, world):
        src = world - 1
        t = torch.from_numpy(inp(rank, (3, 2), dtype))
        work = dist.broadcast(t, src=src, async_op=async_op)
        if async_op:
            work.wait()
        check(t.numpy(), inp(src, (3, 2), dtype), dtype)
    return run


for _dtype in DTYPES:
    case(f"broadcast-{_dtype}")(_broadcast_case(_dtype))
case("broadcast-float32-async")(_broadcast_case("float32", async_op=True))


def _all_gather_case(dtype):
    def run(torch, dist, rank, world):
        outs = [torch.from_numpy(np.zeros((2, 3), np_dtype(dtype))) for _ in range(world)]
        dist.all_gather(outs, torch.from_numpy(inp(rank, (2, 3), dtype)))
        for r, o in enumerate(outs):
            check(o.numpy(), inp(r, (2, 3), dtype), dtype)
    return run


for _dtype in ("float32", "bfloat16", "int64", "bool", "complex64"):
    case(f"all_gather-{_dtype}")(_all_gather_case(_dtype))


@case("all_gather_into_tensor-concat-and-stack")
def _all_gather_into_tensor(torch, dist, rank, world):
    x = torch.from_numpy(inp(rank, (2, 3), "float64"))
    concat = torch.zeros(2 * world, 3, dtype=torch.float64)
    stacked = torch.zeros(world, 2, 3, dtype=torch.float64)
    dist.all_gather_into_tensor(concat, x)
    dist.all_gather_into_tensor(stacked, x)
    want = np.stack([inp(r, (2, 3), "float64") for r in range(world)])
    check(concat.numpy(), want.reshape(2 * world, 3))
    check(stacked.numpy(), want)
    raises(RuntimeError, lambda: dist.all_gather_into_tensor(concat.float(), x))
    raises(ValueError, lambda: dist.all_gather_into_tensor(torch.zeros(3, dtype=torch.float64),
                                                           x))


@case("gather-and-scatter")
def _gather_scatter(torch, dist, rank, world):
    dst = world - 1
    x = torch.from_numpy(inp(rank, (4,), "int32"))
    outs = [torch.zeros(4, dtype=torch.int32) for _ in range(world)] if rank == dst else None
    dist.gather(x, outs, dst=dst)
    if rank == dst:
        for r, o in enumerate(outs):
            check(o.numpy(), inp(r, (4,), "int32"))
    pieces = [torch.full((2,), float(10 * r)) for r in range(world)] if rank == dst else None
    got = torch.zeros(2)
    dist.scatter(got, pieces, src=dst)
    check(got.numpy(), np.full(2, 10.0 * rank, np.float32))
    if rank == dst:
        raises(ValueError, lambda: dist.gather(x, None, dst=dst))


def _reduce_scatter_case(dtype, op, tensor_form):
    def run(torch, dist, rank, world):
        full = [inp(r, (world, 3), dtype) for r in range(world)]
        out = torch.from_numpy(np.zeros(3, np_dtype(dtype)))
        reduce_op = getattr(dist.ReduceOp, op)
        if tensor_form:
            dist.reduce_scatter_tensor(out, torch.from_numpy(full[rank].reshape(-1).copy()),
                                       op=reduce_op)
        else:
            dist.reduce_scatter(out, [torch.from_numpy(row.copy()) for row in full[rank]],
                                op=reduce_op)
        want = expected_reduce([f[rank] for f in full], dtype, op)
        check(out.numpy(), want, dtype)
    return run


for _dtype, _op in [("float32", "SUM"), ("float64", "AVG"), ("int64", "MAX"), ("bfloat16", "SUM"),
                    ("int32", "MIN")]:
    case(f"reduce_scatter_tensor-{_op}-{_dtype}")(_reduce_scatter_case(_dtype, _op, True))
    case(f"reduce_scatter-{_op}-{_dtype}")(_reduce_scatter_case(_dtype, _op, False))


@case("all_to_all-uneven")
def _all_to_all(torch, dist, rank, world):
    # rank r sends (r + i + 1) values r*100 + i to rank i
    inputs = [torch.full((rank + i + 1,), rank * 100 + i, dtype=torch.int64) for i in range(world)]
    outputs = [torch.zeros(r + rank + 1, dtype=torch.int64) for r in range(world)]
    dist.all_to_all(outputs, inputs)
    for r, o in enumerate(outputs):
        check(o.numpy(), np.full(r + rank + 1, r * 100 + rank, np.int64))


@case("all_to_all_single")
def _all_to_all_single(torch, dist, rank, world):
    x = torch.arange(2 * world, dtype=torch.float32) + 100 * rank
    out = torch.zeros(2 * world)
    dist.all_to_all_single(out, x)
    want = np.concatenate([np.arange(2 * rank, 2 * rank + 2) + 100 * r for r in range(world)])
    check(out.numpy(), want.astype(np.float32))


@case("send-recv-ring")
def _send_recv(torch, dist, rank, world):
    right, left = (rank + 1) % world, (rank - 1) % world
    got = torch.zeros(3, dtype=torch.bfloat16)
    payload = torch.from_numpy(inp(rank, (3,), "bfloat16"))
    if rank % 2 == 0:
        dist.send(payload, right)
        source = dist.recv(got, left)
    else:
        source = dist.recv(got, left)
        dist.send(payload, right)
    assert source == left, source
    check(got.numpy(), inp(left, (3,), "bfloat16"), "bfloat16")


@case("isend-irecv-any-source")
def _isend_irecv(torch, dist, rank, world):
    if rank == 0:
        bufs = [torch.zeros(2, 2) for _ in range(world - 1)]
        works = [dist.irecv(b) for b in bufs]
        for w in works:
            w.wait()
        got = sorted(float(b[0, 0]) for b in bufs)
        assert got == [float(r) for r in range(1, world)], got
    else:
        work = dist.isend(torch.full((2, 2), float(rank)), 0)
        work.wait()
        assert work.is_completed()


@case("objects")
def _objects(torch, dist, rank, world):
    objs = [{"rank": rank}, [rank] * 2] if rank == 0 else [None, None]
    dist.broadcast_object_list(objs, src=0)
    assert objs == [{"rank": 0}, [0, 0]], objs
    gathered = [None] * world
    dist.all_gather_object(gathered, ("r", rank))
    assert gathered == [("r", r) for r in range(world)], gathered
    out = [None] * world if rank == 0 else None
    dist.gather_object(rank * 3, out, dst=0)
    if rank == 0:
        assert out == [r * 3 for r in range(world)], out
    got = [None]
    dist.scatter_object_list(got, [f"to {r}" for r in range(world)] if rank == 0 else None, src=0)
    assert got == [f"to {rank}"], got


@case("new_group-and-barrier")
def _groups(torch, dist, rank, world):
    members = [0, world - 1]
    g = dist.new_group(members)
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t, group=g)
    if rank in members:
        assert dist.get_rank(g) == members.index(rank)
        assert dist.get_world_size(g) == 2
        check(t.numpy(), np.array([1.0 + world], np.float32))
        # src/dst are global ranks: broadcast from global rank world-1
        b = torch.tensor([float(rank)])
        dist.broadcast(b, src=world - 1, group=g)
        check(b.numpy(), np.array([world - 1.0], np.float32))
    else:
        assert dist.get_rank(g) == -1
        check(t.numpy(), np.array([rank + 1.0], np.float32))
    dist.barrier()
    work = dist.barrier(async_op=True)
    work.wait()
    assert dist.get_process_group_ranks(g) == members
    dist.destroy_process_group(g)


@case("send_object_list-recv_object_list")
def _p2p_objects(torch, dist, rank, world):
    right, left = (rank + 1) % world, (rank - 1) % world
    payload = [{"from": rank}, "x" * (rank + 1), torch.tensor([float(rank)])]
    got = [None, None, None]
    if rank % 2 == 0:
        dist.send_object_list(payload, dst=right)
        sender = dist.recv_object_list(got, src=left)
    else:
        sender = dist.recv_object_list(got)   # from any rank
        dist.send_object_list(payload, dst=right)
    assert sender == left, sender
    assert got[:2] == [{"from": left}, "x" * (left + 1)], got
    assert got[2].tolist() == [float(left)], got
    raises(ValueError, lambda: dist.send_object_list([1], dst=rank))


@case("batch_isend_irecv-ring")
def _batch_p2p(torch, dist, rank, world):
    right, left = (rank + 1) % world, (rank - 1) % world
    send = torch.full((4,), float(rank))
    recv = torch.zeros(4)
    ops = [dist.P2POp(dist.isend, send, right), dist.P2POp(dist.irecv, recv, left)]
    for work in dist.batch_isend_irecv(ops):
        work.wait()
    assert recv.tolist() == [float(left)] * 4, recv
    raises(ValueError, lambda: dist.P2POp(dist.all_reduce, send, right))
    raises(ValueError, lambda: dist.batch_isend_irecv([]))
    raises(ValueError, lambda: dist.batch_isend_irecv([send]))


@case("new_subgroups")
def _subgroups(torch, dist, rank, world):
    mine, groups = dist.new_subgroups(group_size=world // 2 if world > 2 else 1)
    size = world // 2 if world > 2 else 1
    assert len(groups) == world // size
    assert dist.get_process_group_ranks(mine) == list(range(rank - rank % size,
                                                            rank - rank % size + size))
    t = torch.tensor([1.0])
    dist.all_reduce(t, group=mine)
    assert t.item() == float(size), t
    raises(ValueError, lambda: dist.new_subgroups(group_size=0))
    if world > 2:
        raises(ValueError, lambda: dist.new_subgroups(group_size=world - 1))
    mine2, groups2 = dist.new_subgroups_by_enumeration([[0], list(range(1, world))])
    assert dist.get_process_group_ranks(mine2) == ([0] if rank == 0 else list(range(1, world)))
    raises(ValueError, lambda: dist.new_subgroups_by_enumeration([]))
    raises(ValueError, lambda: dist.new_subgroups_by_enumeration([[0, 1], [1]]))
    for g in groups + groups2:
        dist.destroy_process_group(g)
    assert dist.get_backend_config() == "cpu:mpi"
    assert dist.get_pg_count() == 1
    assert dist.is_backend_available("mpi") and not dist.is_backend_available("ucc")


@case("errors")
def _errors(torch, dist, rank, world):
    raises(TypeError, lambda: dist.all_reduce([1, 2]))
    raises(TypeError, lambda: dist.all_reduce(torch.ones(2), op="sum"))
    raises(RuntimeError, lambda: dist.broadcast(torch.ones(2), src=world + 3))
    raises(RuntimeError, lambda: dist.all_gather([torch.ones(2)] * (world + 1), torch.ones(2)))
    raises(RuntimeError, lambda: dist.all_gather([torch.ones(3)] * world, torch.ones(2)))
    raises(RuntimeError, lambda: dist.all_reduce(torch.ones(2, dtype=torch.int64),
                                                 op=dist.ReduceOp.AVG))
    raises(ValueError, lambda: dist.init_process_group("mpi"))
    assert dist.is_initialized() and dist.get_backend() == "mpi"


# ---------------------------------------------------------------------------- runner
def main(out_path, names):
    import ember as torch
    import ember.distributed as dist
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    results = {}
    for name in names or CASES:
        try:
            CASES[name](torch, dist, rank, world)
            results[name] = "ok"
        except Exception:
            results[name] = f"rank {rank}: {traceback.format_exc(limit=3)}"
        dist.barrier()
    everyone = [None] * world
    dist.all_gather_object(everyone, results)
    if rank == 0:
        merged = {name: "ok" if all(r[name] == "ok" for r in everyone) else
                  "\n".join(r[name] for r in everyone if r[name] != "ok") for name in results}
        with open(out_path, "w") as f:
            json.dump(merged, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
