"""_foreach_* ops, ember against torch side by side (one thread, alternating, median).

    python -m bench.fe_foreach [--repeats 15] [--only add_,mul_,...]

Lists of 10 and 100 float32 tensors of 1K and 100K values; each case times one call of
_foreach_add_ (scalar and list with alpha), _foreach_mul_ (scalar), _foreach_addcmul_
(scalar value), _foreach_lerp_ (scalar weight), _foreach_sqrt (out of place) and
_foreach_norm, the libraries in turn within each repeat (the order reversed every other
repeat), and prints the median time per call of each and the ratio ember / torch.
Times are the process's CPU time (time.process_time; both libraries at one thread), which
a machine shared with other jobs inflates less than wall time; --wall for wall time.
"""
import argparse
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

CASES = {
    "add_": lambda L, a, b, c: L._foreach_add_(a, 0.5),
    "add_list": lambda L, a, b, c: L._foreach_add_(a, b, alpha=-0.01),
    "mul_": lambda L, a, b, c: L._foreach_mul_(a, 0.999),
    "addcmul_": lambda L, a, b, c: L._foreach_addcmul_(a, b, c, value=0.001),
    "lerp_": lambda L, a, b, c: L._foreach_lerp_(a, b, 0.1),
    "sqrt": lambda L, a, b, c: L._foreach_sqrt(a),
    "norm": lambda L, a, b, c: L._foreach_norm(a),
}


def _lists(lib, count, size, rng):
    def one(scale):
        return [lib.from_numpy((rng.standard_normal(size) * scale).astype(np.float32) + 2)
                for _ in range(count)]
    return one(1.0), one(1.0), one(0.1)


_CLOCK = [time.process_time]


def _time(fn, number):
    clock = _CLOCK[0]
    t = clock()
    for _ in range(number):
        fn()
    return (clock() - t) / number


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    args = ap.parse_args()
    if args.wall:
        _CLOCK[0] = time.perf_counter
    import torch
    import ember
    threadpool_limits(1)
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f}; one thread; median of {args.repeats} "
          f"alternating repeats; {'wall' if args.wall else 'CPU'} time per call")
    print(f"{'op':10s} {'list':>10s} {'ember us':>10s} {'torch us':>10s} {'ratio':>6s}")
    for name in args.only.split(","):
        case = CASES[name]
        for count, size in ((10, 1000), (100, 1000), (10, 100_000), (100, 100_000)):
            rng = np.random.default_rng(0)
            libs = {"ember": ember, "torch": torch}
            data = {k: _lists(lib, count, size, rng) for k, lib in libs.items()}
            number = max(2, int(4_000_000 // (count * size)))
            took = {k: [] for k in libs}
            for r in range(args.repeats):
                order = list(libs) if r % 2 == 0 else list(libs)[::-1]
                for k in order:
                    lib, (a, b, c) = libs[k], data[k]
                    took[k].append(_time(lambda: case(lib, a, b, c), number))
            e, t = (statistics.median(took[k]) * 1e6 for k in ("ember", "torch"))
            print(f"{name:10s} {count:>4d}x{size:<6d}{e:10.1f} {t:10.1f} {e / t:6.2f}")


if __name__ == "__main__":
    main()
