"""A/B of two ember trees (and torch), alternating fresh processes, wall time per step.

    python -m bench.sp_ab --only sgd_momentum_step,resnet_train [--new PATH] \
        [--old /tmp/t0_20] [--also NAME=PATH ...] [--threads 1,2] [--pairs 9] [--steps 5]
        [--torch] [--cpu]

For each workload of bench/workloads.py (this tree's file, whichever ember runs it) and
each thread count, runs `--pairs` rounds; a round starts one process per contestant in
turn (this tree's ember or --new's, the --old and --also trees' ember by PYTHONPATH,
torch with --torch), the order reversed every other round, each timing `--steps` steps
after two warm-up steps (time.perf_counter, or with --cpu the process's CPU time over all
its threads; the median step of the process). At one thread BLAS (threadpoolctl) and the
library are limited to one thread; at two, the library gets set_num_threads(2) and BLAS
is left as it starts. Prints the medians over rounds, the ratios (also the median of the
per-round ratios: a round's processes ran at nearly the same moment) and the load average,
so a regression can be told from the machine's noise.
"""
import argparse
import os
import statistics
import subprocess
import sys

_CHILD = r"""
import importlib.util, statistics, sys, time
sys.path.insert(0, {root!r})
threads = {threads}
import numpy
from threadpoolctl import threadpool_limits
if threads == 1:
    threadpool_limits(1)
import {lib} as lib
lib.set_num_threads(threads)
spec = importlib.util.spec_from_file_location("sp_workloads", {workloads!r})
w = sys.modules["sp_workloads"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(w)
step = getattr(w, {name!r})(lib)
for _ in range(2):
    step()
took = []
clock = time.process_time if {cpu} else time.perf_counter
for _ in range({steps}):
    t = clock()
    step()
    took.append(clock() - t)
print(statistics.median(took) * 1e3)
"""


def _once(root, lib, name, threads, steps, workloads, cpu):
    env = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
              "OPENBLAS_NUM_THREADS"):
        env.pop(k, None)
    if lib == "ember":
        env["PYTHONPATH"] = root
    code = _CHILD.format(root=root, lib=lib, name=name, threads=threads, steps=steps,
                         workloads=workloads, cpu=cpu)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd="/")
    if out.returncode:
        raise RuntimeError(f"{lib} at {root} failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.split()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="sgd_momentum_step")
    ap.add_argument("--old", help="root of another checkout to time as 'old'")
    ap.add_argument("--new", help="root of the tree timed as 'new' (default: this one)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--torch", action="store_true")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=PATH",
                    help="a further ember tree to time (repeatable), compared with 'new'")
    ap.add_argument("--cpu", action="store_true",
                    help="process CPU time (all threads) instead of wall time")
    args = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    new = os.path.abspath(args.new or here)
    workloads = os.path.join(here, "bench", "workloads.py")
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    for name in args.only.split(","):
        for threads in [int(t) for t in args.threads.split(",")]:
            who = [("new", new, "ember")]
            if args.old:
                who.append(("old", os.path.abspath(args.old), "ember"))
            for spec in args.also:
                key, path = spec.split("=", 1)
                who.append((key, os.path.abspath(path), "ember"))
            if args.torch:
                who.append(("torch", here, "torch"))
            runs = {k: [] for k, _, _ in who}
            for i in range(args.pairs):
                order = who if i % 2 == 0 else who[::-1]
                for key, root, lib in order:
                    runs[key].append(_once(root, lib, name, threads, args.steps, workloads,
                                             args.cpu))
            med = {k: statistics.median(v) for k, v in runs.items()}
            line = " ".join(f"{k} {v:.2f} ms" for k, v in med.items())
            ratios = []
            if "old" in med:
                ratios.append(f"new/old {med['new'] / med['old']:.3f}")
                # per round ratio: both ran at nearly the same moment
                per = [a / b for a, b in zip(runs["new"], runs["old"])]
                ratios.append(f"median of round ratios {statistics.median(per):.3f}")
            for spec in args.also:
                key = spec.split("=", 1)[0]
                per = [a / b for a, b in zip(runs["new"], runs[key])]
                ratios.append(f"new/{key} {med['new'] / med[key]:.3f} (rounds "
                              f"{statistics.median(per):.3f})")
            if "torch" in med:
                ratios.append(f"new/torch {med['new'] / med['torch']:.3f}")
                for key in med:
                    if key not in ("new", "torch"):
                        ratios.append(f"{key}/torch {med[key] / med['torch']:.3f}")
            clock = "CPU time" if args.cpu else "wall time"
            print(f"{name} @{threads}t: {line} ({'; '.join(ratios)}; {args.pairs} rounds, "
                  f"{clock}, "
                  f"load {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
