"""Distributed speed (issue 10): all-reduce bandwidth of a 40 MB float32 buffer with 2
ranks, ember on MPI beside torch on gloo, and DDP throughput (samples/s) of the MLP
784-512-512-10 (batch 128 per rank, SGD) with 1 and 2 ranks on ember.

    python -m bench.distributed

Each measurement runs in fresh processes started by the framework's own launcher
(`python -m ember.distributed.run`, `python -m torch.distributed.run`); a figure is the
median of the timed repetitions on rank 0. Bandwidth counts the buffer's bytes once per
all-reduce (the "algorithm bandwidth").
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKER = r'''
import json, statistics, sys, time
import numpy as np
fw, what, out = sys.argv[1], sys.argv[2], sys.argv[3]
if fw == "ember":
    import ember as torch
    import ember.distributed as dist
    from ember.nn.parallel import DistributedDataParallel as DDP
    dist.init_process_group("mpi")
else:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
res = {}
if what == "allreduce":
    buf = torch.ones(10 * 2 ** 20)                     # 40 MiB of float32
    for _ in range(3):
        dist.all_reduce(buf)
    times = []
    for _ in range(15):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(buf)
        times.append(time.perf_counter() - t0)
    res["seconds"] = statistics.median(times)
    res["gb_per_s"] = buf.numel() * 4 / res["seconds"] / 1e9
else:
    nn = torch.nn
    torch.manual_seed(0)
    model = DDP(nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                              nn.Linear(512, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(rank)
    x = torch.from_numpy(rng.standard_normal((128, 784), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 10, 128))
    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for _ in range(3):
        step()
    times = []
    for _ in range(5):
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(10):
            step()
        times.append((time.perf_counter() - t0) / 10)
    res["samples_per_s"] = 128 * world / statistics.median(times)
if rank == 0:
    with open(out, "w") as f:
        json.dump(res, f)
dist.destroy_process_group()
'''


def run(fw, what, nproc):
    with tempfile.TemporaryDirectory() as d:
        script, out = os.path.join(d, "w.py"), os.path.join(d, "out.json")
        with open(script, "w") as f:
            f.write(WORKER)
        launcher = "ember.distributed.run" if fw == "ember" else "torch.distributed.run"
        env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
        if fw == "ember":
            for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
                env.pop(key, None)
        cmd = [sys.executable, "-m", launcher, "--nproc-per-node", str(nproc), script, fw, what,
               out]
        subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, timeout=600)
        with open(out) as f:
            return json.load(f)


def main():
    rows = []
    for fw in ("ember", "torch"):
        r = run(fw, "allreduce", 2)
        rows.append(f"| all_reduce 40 MiB float32, 2 ranks | {fw} ({'mpi' if fw == 'ember' else 'gloo'}) "
                    f"| {r['seconds'] * 1e3:.1f} ms | {r['gb_per_s']:.2f} GB/s |")
    for n in (1, 2):
        r = run("ember", "ddp", n)
        rows.append(f"| DDP MLP training, {n} rank{'s' if n > 1 else ''} | ember (mpi) | - | "
                    f"{r['samples_per_s']:.0f} samples/s |")
    print("| measurement | framework | time | rate |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
