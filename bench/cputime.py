"""CPU time per step of one workload, one thread, ember and torch side by side.

    python -m bench.cputime mlp_train [--rounds 3] [--only ember|torch]

A development tool for speed work on a shared machine: wall time there swings with other
processes, CPU time of a single-threaded run far less. Each framework runs in its own
process with BLAS (threadpoolctl) and torch's intra-op pool limited to one thread; after
warm-up steps each process reports the median `time.process_time` per step; processes
alternate ember, torch, ember, torch ... and the figure is the median over rounds.
It is not the suite's figure (`python -m bench` times wall clock with both cores); use it to
see what a change buys before confirming with the suite on a quiet machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

_DROP = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _worker(framework, name, steps):
    if framework == "ember":
        import ember as lib
    else:
        import torch as lib
    import numpy  # noqa: F401  (threadpoolctl limits only libraries already loaded)
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    lib.set_num_threads(1)
    from bench.workloads import WORKLOADS
    step = WORKLOADS[name].setup(lib)
    for _ in range(3):
        step()
    times = []
    for _ in range(steps):
        t0 = time.process_time()
        step()
        times.append(time.process_time() - t0)
    print(json.dumps({"seconds": statistics.median(times)}))


def _run(framework, name, steps):
    env = dict(os.environ)
    if framework == "ember":
        for key in _DROP:
            env.pop(key, None)
    proc = subprocess.run([sys.executable, "-m", "bench.cputime", "--worker", framework,
                           name, "--steps", str(steps)], env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{framework} worker failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]


def _fmt(s):
    return f"{s * 1e3:.3f} ms" if s >= 1e-4 else f"{s * 1e6:.2f} us"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=9)
    p.add_argument("--only", choices=["ember", "torch"])
    p.add_argument("--worker", metavar="FRAMEWORK", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        return _worker(a.worker, a.name, a.steps)
    frameworks = [a.only] if a.only else ["ember", "torch"]
    got = {f: [] for f in frameworks}
    for _ in range(a.rounds):
        for f in frameworks:
            got[f].append(_run(f, a.name, a.steps))
    med = {f: statistics.median(v) for f, v in got.items()}
    line = "  ".join(f"{f} {_fmt(med[f])}" for f in frameworks)
    if len(frameworks) == 2:
        line += f"  ember/torch {med['ember'] / med['torch']:.2f}"
    print(f"{a.name} (CPU time per step, 1 thread): {line}")


if __name__ == "__main__":
    main()
