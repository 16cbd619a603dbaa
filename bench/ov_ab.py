"""A/B of tiny-op overhead between ember trees (and torch), alternating fresh processes.

    python -m bench.ov_ab [--tree NAME=PATH ...] [--only add_4x4,reshape_nc_grad] \
        [--pairs 7] [--torch]

Each round starts one process per contestant (this tree as 'new', each --tree by
PYTHONPATH, torch with --torch), the order reversed every other round. A process builds
each workload of bench/po_overhead.py (plus the ones below), warms it, and times batches
of ~20 ms with the thread's CPU clock at one BLAS thread, reporting the median batch's
time per call. Prints the median over rounds per contestant, and each tree's ratio to
'new' (median of per-round ratios: a round's processes ran at nearly the same moment).
"""
import argparse
import os
import statistics
import subprocess
import sys

_CHILD = r"""
import sys, time, statistics, importlib.util
sys.path.insert(0, {root!r})
from threadpoolctl import threadpool_limits
threadpool_limits(1)
import {lib} as lib
lib.set_num_threads(1)
spec = importlib.util.spec_from_file_location("ov_po", {po!r})
po = importlib.util.module_from_spec(spec)
spec.loader.exec_module(po)
spec = importlib.util.spec_from_file_location("ov_ab", {me!r})
me = importlib.util.module_from_spec(spec)
spec.loader.exec_module(me)
work = dict(po.WORKLOADS)
work.update(me.EXTRA)
clock = time.thread_time
for name in {names!r}:
    lib.manual_seed(0)
    fn = work[name](lib)
    for _ in range(20):
        fn()
    n = po._batch_size(fn, clock)
    got = [po._time(fn, n, clock) for _ in range(7)]
    print(name, statistics.median(got))
"""


def _reshape_nc_grad(lib):
    """A recorded reshape of a non-contiguous tensor: a copy, recorded as PyTorch's
    _unsafe_view(clone(x)) (UnsafeViewBackward0 over CloneBackward0)."""
    x = lib.randn(4, 4, requires_grad=True).t()
    return lambda: x.reshape(16)


def _add_backward(lib):
    a = lib.randn(4, 4, requires_grad=True)
    b = lib.randn(4, 4, requires_grad=True)

    def step():
        a.grad = b.grad = None
        (a + b).sum().backward()
    return step


def _add_grad_kept(lib):
    """add_4x4_grad while one graph holds the leaves' AccumulateGrad nodes (a graph that
    dies frees them, as PyTorch's: add_4x4_grad makes two each call)."""
    a = lib.randn(4, 4, requires_grad=True)
    b = lib.randn(4, 4, requires_grad=True)
    keep = a + b
    return lambda: (keep, a + b)


EXTRA = {
    "add_4x4_grad_kept": _add_grad_kept,
    "reshape_nc_grad": _reshape_nc_grad,
    "add_sum_backward": _add_backward,
}


def _run(root, lib, names):
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
              "OPENBLAS_NUM_THREADS"):
        env.pop(k, None)
    if lib == "ember":
        env["PYTHONPATH"] = root
    code = _CHILD.format(root=root if lib == "ember" else "", lib=lib, names=names,
                         po=os.path.join(here, "po_overhead.py"),
                         me=os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd="/")
    if out.returncode:
        raise RuntimeError(f"{lib} at {root} failed:\n{out.stderr[-2000:]}")
    return {ln.split()[0]: float(ln.split()[1]) for ln in out.stdout.splitlines()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="add_4x4,add_4x4_grad,add_sum_backward,reshape_nc_grad")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--new", help="the tree timed as 'new' (default: this one)")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--torch", action="store_true")
    a = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    who = [("new", "ember", os.path.abspath(a.new or here))]
    who += [(t.split("=", 1)[0], "ember", os.path.abspath(t.split("=", 1)[1]))
            for t in a.tree]
    if a.torch:
        who.append(("torch", "torch", ""))
    names = a.only.split(",")
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    got = {w[0]: [] for w in who}
    for r in range(a.pairs):
        for w in (who if r % 2 == 0 else who[::-1]):
            got[w[0]].append(_run(w[2], w[1], names))
    for name in names:
        cells = []
        for w in who:
            med = statistics.median(g[name] for g in got[w[0]])
            cell = f"{w[0]} {med * 1e6:8.2f} us"
            if w[0] != "new":
                rat = statistics.median(g[name] / n[name]
                                        for g, n in zip(got[w[0]], got["new"]))
                cell += f" ({rat:.2f}x new)"
            cells.append(cell)
        print(f"{name:18s} " + " | ".join(cells))
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
