"""Transcendental elementwise ops, ember beside torch: forward and backward, one and two
threads, float32.

    python -m bench.ew_transcendental [--sizes 1e4,1e6,4e6] [--ops exp,gelu,...]
                                      [--threads 1,2] [--repeats 15]

Per (op, size, threads, pass) the two libraries alternate call by call in one process
(ember, torch, ember, torch ...; the order flips every repeat), and the table gives the
median time of each and the ratio ember / torch (below 1: ember is faster). "fwd" times
the op on a tensor that does not require grad; "bwd" times `y.backward(g)` alone, on a
graph built just before (the forward is not timed). Threads: ember.set_num_threads and
torch.set_num_threads (the BLAS pool, ember's elementwise pool, torch's intra-op pool).

Report the machine's load with the numbers (`uptime`): on a loaded machine the second
core is not free, and two-thread numbers measure the other processes. `--cpu` times the
calling thread's CPU time instead of wall time (one thread only: it does not count the
pool's workers), which a busy machine disturbs less.
"""
import argparse
import os
import statistics
import time


def _ops(lib):
    F = lib.nn.functional
    return {
        "exp": lambda x: lib.exp(x),
        "log": lambda x: lib.log(x),
        "tanh": lambda x: lib.tanh(x),
        "sigmoid": lambda x: lib.sigmoid(x),
        "erf": lambda x: lib.erf(x),
        "sin": lambda x: lib.sin(x),
        "gelu": lambda x: F.gelu(x),
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "silu": lambda x: F.silu(x),
        "softplus": lambda x: F.softplus(x),
        "where": lambda x: lib.where(x > 0, x, x * 0.5),
    }


def _inputs(lib, n, op, seed=0):
    import numpy as np
    x = np.random.default_rng(seed).standard_normal(n, dtype=np.float32) * np.float32(3)
    if op == "log":
        x = np.abs(x) + np.float32(1e-3)
    return lib.from_numpy(x.copy())


_clock = time.perf_counter


def _time(fn, repeats_inner):
    t = _clock()
    for _ in range(repeats_inner):
        fn()
    return (_clock() - t) / repeats_inner


def _case(libs, op, n, passname, repeats):
    """Median seconds per call of each library's `op` on n elements."""
    prepared = []
    for lib in libs:
        f = _ops(lib)[op]
        x = _inputs(lib, n, op)
        if passname == "fwd":
            prepared.append(lambda f=f, x=x: f(x))
        else:
            xg = x.clone().requires_grad_(True)
            g = lib.ones(n)

            def bwd(f=f, xg=xg, g=g):
                y = f(xg)
                t = _clock()
                y.backward(g)
                dt = _clock() - t
                xg.grad = None
                return dt
            prepared.append(bwd)
    inner = max(1, int(2e6 // max(n, 1)))   # ~2M elements per sample
    times = [[] for _ in libs]
    for fn in prepared:   # warm up
        fn()
    for r in range(repeats):
        order = range(len(libs)) if r % 2 == 0 else reversed(range(len(libs)))
        for i in order:
            fn = prepared[i]
            if passname == "fwd":
                times[i].append(_time(fn, inner))
            else:
                times[i].append(sum(fn() for _ in range(inner)) / inner)
    return [statistics.median(t) for t in times]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1e4,1e6,4e6")
    p.add_argument("--ops", default="exp,tanh,sigmoid,erf,gelu,gelu_tanh,silu,softplus,where")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--passes", default="fwd,bwd")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--cpu", action="store_true", help="the calling thread's CPU time")
    args = p.parse_args()
    global _clock
    if args.cpu:
        if args.threads != "1":
            p.error("--cpu measures one thread: give --threads 1")
        _clock = time.thread_time

    import ember
    import torch
    libs = (ember, torch)
    print(f"load average {os.getloadavg()[0]:.2f}, {'CPU' if args.cpu else 'wall'} time  "
          f"(ember / torch: below 1 ember is faster)")
    print(f"{'op':10s} {'n':>8s} {'thr':>3s} {'pass':4s} {'ember ms':>9s} {'torch ms':>9s} "
          f"{'ratio':>6s}")
    for threads in (int(t) for t in args.threads.split(",")):
        ember.set_num_threads(threads)
        torch.set_num_threads(threads)
        for op in args.ops.split(","):
            for n in (int(float(s)) for s in args.sizes.split(",")):
                for passname in args.passes.split(","):
                    e, t = _case(libs, op, n, passname, args.repeats)
                    print(f"{op:10s} {n:8d} {threads:3d} {passname:4s} {e * 1e3:9.3f} "
                          f"{t * 1e3:9.3f} {e / t:6.2f}", flush=True)


if __name__ == "__main__":
    main()
