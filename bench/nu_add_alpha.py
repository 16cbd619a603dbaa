"""Tensor.add / sub with alpha, ember against torch side by side (one thread, alternating,
median): float32 and float64, 16 and 1M values, out of place and in place.

    python -m bench.nu_add_alpha [--repeats 15] [--wall]

Times are the process's CPU time per call (time.process_time; both libraries at one
thread), which a machine shared with other jobs inflates less than wall time.
"""
import argparse
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

CASES = {
    "add(alpha)": lambda a, b: a.add(b, alpha=0.3),
    "sub_(alpha)": lambda a, b: a.sub_(b, alpha=1e-6),
}


def _time(clock, fn, number):
    t = clock()
    for _ in range(number):
        fn()
    return (clock() - t) / number


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    args = ap.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    import torch
    import ember
    threadpool_limits(1)
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f}; one thread; median of {args.repeats} "
          f"alternating repeats; {'wall' if args.wall else 'CPU'} time per call")
    print(f"{'op':12s} {'dtype':8s} {'size':>8s} {'ember us':>10s} {'torch us':>10s} {'ratio':>6s}")
    for name, case in CASES.items():
        for dtype in ("float32", "float64"):
            for size in (16, 1 << 20):
                rng = np.random.default_rng(0)
                x, y = rng.standard_normal((2, size)).astype(dtype)
                libs = {"ember": ember, "torch": torch}
                data = {k: (lib.from_numpy(x.copy()), lib.from_numpy(y.copy()))
                        for k, lib in libs.items()}
                number = 2000 if size == 16 else 10
                took = {k: [] for k in libs}
                for r in range(args.repeats):
                    for k in (list(libs) if r % 2 == 0 else list(libs)[::-1]):
                        a, b = data[k]
                        took[k].append(_time(clock, lambda: case(a, b), number))
                e, t = (statistics.median(took[k]) * 1e6 for k in ("ember", "torch"))
                print(f"{name:12s} {dtype:8s} {size:>8d} {e:10.1f} {t:10.1f} {e / t:6.2f}")


if __name__ == "__main__":
    main()
