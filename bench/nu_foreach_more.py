"""_foreach_* ops outside fe_foreach's set, ember against torch side by side (one thread,
alternating, median of CPU time per call): zero_, copy_, clamp_min_ (number), maximum_
(list), mul_ (.Tensor: a 0-dim tensor), pow (a number), on 10 and 100 float32 tensors of 1K values.

    python -m bench.nu_foreach_more [--repeats 9]
"""
import argparse
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

CASES = {
    "zero_": lambda L, a, b: L._foreach_zero_(a),
    "copy_": lambda L, a, b: L._foreach_copy_(a, b),
    "clamp_min_": lambda L, a, b: L._foreach_clamp_min_(a, 0.1),
    "maximum_": lambda L, a, b: L._foreach_maximum_(a, b),
    "mul_tensor": lambda L, a, b: L._foreach_mul_(a, L.ones(()) * 0.999),
    "pow_2": lambda L, a, b: L._foreach_pow(a, 2.0),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    import torch
    import ember
    threadpool_limits(1)
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f}; one thread; median of {args.repeats} "
          f"alternating repeats; CPU time per call")
    print(f"{'op':11s} {'list':>9s} {'ember us':>10s} {'torch us':>10s} {'ratio':>6s}")
    for name, case in CASES.items():
        for count in (10, 100):
            rng = np.random.default_rng(0)
            libs = {"ember": ember, "torch": torch}
            data = {k: [[lib.from_numpy(rng.standard_normal(1000).astype(np.float32))
                         for _ in range(count)] for _ in range(2)] for k, lib in libs.items()}
            number = 4000 // count
            took = {k: [] for k in libs}
            for r in range(args.repeats):
                for k in (list(libs) if r % 2 == 0 else list(libs)[::-1]):
                    lib, (a, b) = libs[k], data[k]
                    t = time.process_time()
                    for _ in range(number):
                        case(lib, a, b)
                    took[k].append((time.process_time() - t) / number)
            e, t = (statistics.median(took[k]) * 1e6 for k in ("ember", "torch"))
            print(f"{name:11s} {count:>4d}x1000 {e:10.1f} {t:10.1f} {e / t:6.2f}")


if __name__ == "__main__":
    main()
