"""Half-precision elementwise ops, ember beside torch (float16, bfloat16).

    python -m bench.ew_half [--sizes 1e4,1e6] [--ops add,mul,...] [--dtypes float16,bfloat16]
                            [--threads 1] [--repeats 21]

Per (op, dtype, size) the two libraries alternate call by call in one process (the order
flips every repeat); the table gives each one's median time per call and the ratio
ember / torch (below 1: ember is faster). Threads: ember.set_num_threads and
torch.set_num_threads (1 by default: the machine is shared). `--cpu` times the calling
thread's CPU time instead of wall time (one thread only), which a loaded machine disturbs
less. Report `uptime` with the numbers.
"""
import argparse
import os
import statistics
import time


def _ops(lib):
    return {
        "add": lambda a, b: a + a,
        "add_scalar": lambda a, b: a + 0.3,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "sub": lambda a, b: a - b,
        "exp": lambda a, b: lib.exp(a),
        "relu": lambda a, b: lib.relu(a),
        "sqrt": lambda a, b: lib.sqrt(b),
        "tanh": lambda a, b: lib.tanh(a),
        "expm1": lambda a, b: lib.expm1(a),
        "atan": lambda a, b: lib.atan(a),
        "log2": lambda a, b: lib.log2(b),
    }


def _inputs(lib, n, dtype, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n, dtype=np.float32)
    b = np.abs(rng.standard_normal(n, dtype=np.float32)) + np.float32(0.5)
    dt = getattr(lib, dtype)
    return lib.from_numpy(a).to(dt), lib.from_numpy(b).to(dt)


def _median_pair(calls, repeats, inner, clock):
    times = [[], []]
    for r in range(repeats):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for i in order:
            t = clock()
            for _ in range(inner):
                calls[i]()
            times[i].append((clock() - t) / inner)
    return [statistics.median(t) for t in times]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1e4,1e6")
    p.add_argument("--ops", default=",".join(_ops(None)))
    p.add_argument("--dtypes", default="float16,bfloat16")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument("--cpu", action="store_true", help="the thread's CPU time (one thread)")
    args = p.parse_args()
    clock = time.thread_time if args.cpu else time.perf_counter

    import torch
    import ember
    for lib in (torch, ember):
        lib.set_num_threads(args.threads)
    print(f"threads {args.threads}, {'CPU' if args.cpu else 'wall'} time, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'op':<11} {'dtype':<9} {'n':>9} {'ember ms':>9} {'torch ms':>9} {'ratio':>7}")
    for dtype in args.dtypes.split(","):
        for n in (int(float(s)) for s in args.sizes.split(",")):
            inputs = [_inputs(lib, n, dtype) for lib in (ember, torch)]
            for op in args.ops.split(","):
                calls = [lambda f=_ops(lib)[op], ab=ab: f(*ab)
                         for lib, ab in zip((ember, torch), inputs)]
                for c in calls:
                    c()
                inner = max(1, int(1e6 // n))
                e, t = _median_pair(calls, args.repeats, inner, clock)
                print(f"{op:<11} {dtype:<9} {n:>9} {e * 1e3:>9.3f} {t * 1e3:>9.3f} {e / t:>7.2f}")


if __name__ == "__main__":
    main()
