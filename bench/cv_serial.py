"""How much of an ember training step runs on two threads, measured in CPU time so that
other processes on the machine barely move it: this thread's CPU time outside the two-
thread splits (serial), and the CPU time of both threads inside them (ember._threads.run_pair:
convolutions, pooling, optimizers; ember._backend.parallel.split: elementwise and norm
passes), per step at two threads.

    python -m bench.cv_serial resnet_train [--steps 10] [--threads 2]

Prints wall and CPU times per step and an estimate of the step on two free cores:
serial + (split work) / 2. On a loaded machine the wall time says little, the estimate
more: work that OpenBLAS's own threads do outside the splits shows as serial time (and
their spinning for a busy core as extra CPU time). A development tool for the conv path
(bench/RESULTS.md's figures come from `python -m bench`).
"""
import argparse
import collections
import os
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    sys.path.insert(0, os.getcwd())
    import numpy  # noqa: F401  (threadpoolctl limits only libraries already loaded)
    from threadpoolctl import threadpool_limits
    import ember
    from ember import _threads
    from ember._backend import parallel
    from bench.workloads import WORKLOADS
    threadpool_limits(a.threads)
    ember.set_num_threads(a.threads)
    acc = collections.Counter()
    cpu = time.thread_time

    real_pair, real_split, real_worker = (_threads.run_pair, parallel.split,
                                          parallel._Job.work_as_worker)

    def run_pair(first, second):
        helper = [0.0]

        def timed_first():
            t = cpu()
            try:
                return first()
            finally:
                helper[0] = cpu() - t
        t = cpu()
        out = real_pair(timed_first, second)
        acc["pair main"] += cpu() - t
        acc["pair helper"] += helper[0]
        return out

    def split(*args, **kwargs):
        t = cpu()
        real_split(*args, **kwargs)
        acc["split main"] += cpu() - t

    def work_as_worker(job):
        t = cpu()
        real_worker(job)
        acc["split workers"] += cpu() - t

    _threads.run_pair, parallel.split = run_pair, split
    parallel._Job.work_as_worker = work_as_worker
    try:
        step = WORKLOADS[a.workload].setup(ember)
        for _ in range(3):
            step()
        acc.clear()
        t0, c0, w0 = cpu(), time.process_time(), time.perf_counter()
        for _ in range(a.steps):
            step()
        main_cpu = cpu() - t0
        proc, wall = time.process_time() - c0, time.perf_counter() - w0
    finally:
        _threads.run_pair, parallel.split = real_pair, real_split
        parallel._Job.work_as_worker = real_worker
    ms = {k: v / a.steps * 1e3 for k, v in acc.items()}
    serial = main_cpu / a.steps * 1e3 - ms.get("pair main", 0) - ms.get("split main", 0)
    work = sum(ms.get(k, 0) for k in ("pair main", "pair helper", "split main",
                                      "split workers"))
    print(f"{a.workload} at {a.threads} threads, per step: wall {wall / a.steps * 1e3:.1f} ms, "
          f"process CPU {proc / a.steps * 1e3:.1f} ms, load {os.getloadavg()[0]:.2f}")
    print(f"  serial (this thread outside splits) {serial:8.1f} ms CPU")
    for k in ("pair main", "pair helper", "split main", "split workers"):
        print(f"  {k:34s} {ms.get(k, 0):8.1f} ms CPU")
    print(f"  estimate on {a.threads} free cores: serial + split work / {a.threads} = "
          f"{serial + work / a.threads:.1f} ms")


if __name__ == "__main__":
    main()
