"""Optimizer step time, ember (this tree or another checkout) against torch, one thread.

    python -m bench.op_step [--old PATH] [--pairs N]

Runs the bench/workloads.py optimizer steps (adam_step, sgd_momentum_step: 200 float32
tensors, ~9.9M values) in fresh subprocesses, alternating: ember from this tree, ember
from PATH (an older checkout's root, if given) and torch; each subprocess times 5 steps
after 2 warm-up steps in process CPU time (less sensitive to a loaded machine than wall
time), with BLAS and ember at one thread. Prints each median in ms and the ratios.
"""
import argparse
import os
import statistics
import subprocess
import sys

_CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
from threadpoolctl import threadpool_limits
threadpool_limits(1)
import {lib} as lib
if {lib!r} == "torch":
    lib.set_num_threads(1)
else:
    lib.set_num_threads(1)
from bench.workloads import {name}
step = {name}(lib)
for _ in range(2):
    step()
t = time.process_time()
for _ in range(5):
    step()
print((time.process_time() - t) / 5 * 1e3)
"""


def _once(root, lib, name):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if lib == "ember":
        env["PYTHONPATH"] = root
    out = subprocess.run([sys.executable, "-c", _CHILD.format(root=root, lib=lib, name=name)],
                         capture_output=True, text=True, env=env, cwd=root, check=True)
    return float(out.stdout.split()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", help="root of another checkout to time as 'old'")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--only", default="adam_step,sgd_momentum_step")
    args = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name in args.only.split(","):
        runs = {"new": [], "old": [], "torch": []}
        for _ in range(args.pairs):
            runs["new"].append(_once(here, "ember", name))
            if args.old:
                runs["old"].append(_once(os.path.abspath(args.old), "ember", name))
            runs["torch"].append(_once(here, "torch", name))
        med = {k: statistics.median(v) for k, v in runs.items() if v}
        line = " ".join(f"{k} {v:.1f} ms" for k, v in med.items())
        ratios = f"ember/torch {med['new'] / med['torch']:.2f}"
        if "old" in med:
            ratios += f", new/old {med['new'] / med['old']:.2f}"
        print(f"{name}: {line} ({ratios}; medians of {args.pairs}, CPU time, one thread)")


if __name__ == "__main__":
    main()
