"""The elementwise thread pool (ember/_backend/parallel.py) on and off, A/B in one process.

    python -m bench.elementwise_threads resnet_train [--rounds 12] [--steps 2]

Rounds alternate the pool on (its threshold as shipped) and off (no split), on one workload
built once; each round times `--steps` steps. Per mode it prints the medians of wall time,
of the calling thread's CPU time (what the step waits for when the other cores are free)
and of the process's CPU time, and how many splits ran and how many the back-off ran whole
(ember._backend.parallel._judge: many back-offs mean the other cores were busy, and the
wall times say little). Run it on a quiet machine: on a busy one no core is free for the
pool's worker, and wall time measures the other processes.
"""
import argparse
import statistics
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("workload")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--steps", type=int, default=2)
    args = p.parse_args()

    import ember
    from ember._backend import parallel
    from ember._ops import pointwise_arrays
    from bench.workloads import WORKLOADS

    shipped = parallel.MIN_WORK
    counts = {"splits": 0, "backed off": 0}
    judge = parallel._judge

    def counting_judge(took, alone):
        counts["splits"] += 1
        judge(took, alone)
        if parallel._BACKOFF[0]:
            counts["backed off"] += 1
    parallel._judge = counting_judge

    def use(threshold):
        parallel.MIN_WORK = pointwise_arrays.SPLIT_MIN = threshold

    step = WORKLOADS[args.workload].setup(ember)
    for _ in range(3):
        step()
    modes = {"pool on": shipped, "pool off": 1 << 62}
    times = {m: ([], [], []) for m in modes}
    for r in range(args.rounds):
        order = list(modes.items())
        for mode, threshold in (order if r % 2 == 0 else order[::-1]):
            use(threshold)
            t0, c0, w0 = time.thread_time(), time.process_time(), time.perf_counter()
            for _ in range(args.steps):
                step()
            per = args.steps
            times[mode][0].append((time.perf_counter() - w0) / per)
            times[mode][1].append((time.thread_time() - t0) / per)
            times[mode][2].append((time.process_time() - c0) / per)
    use(shipped)
    for mode, (wall, thread, proc) in times.items():
        print(f"{args.workload} {mode}: wall {statistics.median(wall) * 1e3:.2f} ms, calling "
              f"thread CPU {statistics.median(thread) * 1e3:.2f} ms, process CPU "
              f"{statistics.median(proc) * 1e3:.2f} ms")
    print(f"splits judged: {counts['splits']}, followed by a back-off: {counts['backed off']}")


if __name__ == "__main__":
    main()
