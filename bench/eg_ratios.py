"""The elementwise cases of the erf/GELU/half-precision work, ember beside torch, one thread,
the calling thread's CPU time (a loaded machine disturbs it less than wall time).

    python -m bench.eg_ratios [--tree /tmp/t0_21] [--repeats 15] [--sizes 1e4,1e6]
                              [--only fma]   (fma: the lerp/linspace/logspace rows)

Each case alternates ember and torch call by call in one process (the order flips every
repeat; bench.ew_transcendental's and bench.ew_half's loops) and prints the median time of
each and the ratio ember / torch. `--tree DIR` imports ember from another checkout (the
session's start tree, say) with this checkout's benchmark code, for before/after tables
taken in turn under the same load. Report `uptime` with the numbers.
"""
import argparse
import os
import sys
import time

from bench import ew_half, ew_transcendental

FLOAT32 = (("erf", "fwd"), ("erf", "bwd"), ("gelu", "fwd"), ("gelu", "bwd"))
HALF = (("float16", ("add", "mul", "exp", "relu", "tanh", "sqrt")),
        ("bfloat16", ("add", "mul", "exp", "relu")))


def _fma_cases(lib, n):
    """The fused-multiply-add rows (session 22): name -> call on library `lib`."""
    import numpy as np
    rng = np.random.default_rng(0)
    a, b, w = (lib.from_numpy(rng.standard_normal(n)) for _ in range(3))
    a32, b32 = a.float(), b.float()
    f64 = lib.float64
    return {"lerp float64 w=0.3": lambda: lib.lerp(a, b, 0.3),
            "lerp float64 tensor w": lambda: lib.lerp(a, b, w),
            "lerp float32 w=0.3": lambda: lib.lerp(a32, b32, 0.3),
            "linspace float64": lambda: lib.linspace(-3.0, 7.5, n, dtype=f64),
            "linspace float32": lambda: lib.linspace(-3.0, 7.5, n),
            "logspace float64": lambda: lib.logspace(-3.0, 7.5, n, dtype=f64)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tree", default=None, help="import ember from this checkout")
    p.add_argument("--sizes", default="1e4,1e6")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--only", default=None, help="fma: only the lerp/linspace/logspace rows")
    args = p.parse_args()
    if args.tree:
        sys.path.insert(0, os.path.abspath(args.tree))
    import ember
    import torch
    ember.set_num_threads(1)
    torch.set_num_threads(1)
    ew_transcendental._clock = time.thread_time
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(f"ember from {os.path.dirname(ember.__file__)}; one thread, CPU time, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'case':<24} {'n':>8} {'ember ms':>9} {'torch ms':>9} {'ratio':>6}")
    for n in sizes:
        cases = [_fma_cases(lib, n) for lib in (ember, torch)]
        for name in cases[0]:
            calls = [c[name] for c in cases]
            for c in calls:
                c()
            e, t = ew_half._median_pair(calls, args.repeats, max(1, int(1e5 // n)),
                                        time.thread_time)
            print(f"{name:<24} {n:8d} {e * 1e3:9.3f} {t * 1e3:9.3f} {e / t:6.2f}", flush=True)
    if args.only == "fma":
        return
    for op, passname in FLOAT32:
        for n in sizes:
            e, t = ew_transcendental._case((ember, torch), op, n, passname, args.repeats)
            print(f"{op + ' float32 ' + passname:<24} {n:8d} {e * 1e3:9.3f} {t * 1e3:9.3f} "
                  f"{e / t:6.2f}", flush=True)
    for dtype, ops in HALF:
        for n in sizes:
            inputs = [ew_half._inputs(lib, n, dtype) for lib in (ember, torch)]
            for op in ops:
                calls = [lambda f=ew_half._ops(lib)[op], ab=ab: f(*ab)
                         for lib, ab in zip((ember, torch), inputs)]
                for c in calls:
                    c()
                e, t = ew_half._median_pair(calls, args.repeats, max(1, int(1e6 // n)),
                                            time.thread_time)
                print(f"{op + ' ' + dtype:<24} {n:8d} {e * 1e3:9.3f} {t * 1e3:9.3f} "
                      f"{e / t:6.2f}", flush=True)


if __name__ == "__main__":
    main()
