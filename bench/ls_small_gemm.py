"""Small GEMMs at one BLAS thread (ember/_backend/blas_threads.py), A/B against torch.

    python -m bench.ls_small_gemm [--rounds 7] [--steps 3]     # the lstm_train step
    python -m bench.ls_small_gemm --gemm [--rounds 7]          # single float32 products

The step mode times bench.workloads' lstm_train step (LSTM 32->128, batch 32, 35 steps,
linear head, MSELoss, Adam) in four setups per library, alternating within each round:
BLAS at one thread, and at two threads with ember's switch on (as shipped) and off
(SMALL_FLOPS = 0: every product at the process's count). torch runs at
torch.set_num_threads(n). The GEMM mode times NumPy products m x k @ k x n at one and
two OpenBLAS threads, alternating, to place SMALL_FLOPS. Every line carries the 1-minute
load average at the time (uptime): the machine's two cores are shared, and with the load
above ~2 two-thread numbers measure the other processes as much as the code.
"""
import argparse
import os
import statistics
import time


def load():
    return os.getloadavg()[0]


def timed(fn, steps):
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def step_mode(rounds, steps):
    import torch
    import ember
    from ember._backend import blas_threads
    from bench.workloads import lstm_train

    shipped = blas_threads.SMALL_FLOPS
    e_step, t_step = lstm_train(ember), lstm_train(torch)
    e_step(), t_step()   # warm up

    def ember_at(n, switch):
        def run():
            blas_threads.set_num_threads(n)
            blas_threads.SMALL_FLOPS = shipped if switch else 0
            try:
                return timed(e_step, steps)
            finally:
                blas_threads.SMALL_FLOPS = shipped
        return run

    def torch_at(n):
        def run():
            torch.set_num_threads(n)
            return timed(t_step, steps)
        return run

    setups = {"ember 1 thread": ember_at(1, True), "torch 1 thread": torch_at(1),
              "ember 2 threads, switch on": ember_at(2, True),
              "ember 2 threads, switch off": ember_at(2, False),
              "torch 2 threads": torch_at(2)}
    times = {name: [] for name in setups}
    loads = []
    for _ in range(rounds):
        for name, run in setups.items():
            times[name].append(run())
        loads.append(load())
    blas_threads.set_num_threads(2)
    med = {name: statistics.median(v) * 1e3 for name, v in times.items()}
    print(f"lstm_train step, median of {rounds} alternating rounds x {steps} steps; "
          f"load (1 min) {min(loads):.2f}..{max(loads):.2f}")
    for name, ms in med.items():
        print(f"  {name:30s} {ms:9.1f} ms")
    for n, on in (("1 thread", "ember 1 thread"), ("2 threads", "ember 2 threads, switch on")):
        print(f"  ember/torch at {n}: {med[on] / med['torch ' + n]:.2f}")
    print(f"  ember/torch at 2 threads, switch off: "
          f"{med['ember 2 threads, switch off'] / med['torch 2 threads']:.2f}")


def gemm_mode(rounds):
    import numpy as np
    from ember._backend import blas_threads

    rng = np.random.default_rng(0)
    shapes = [(32, 128, 512), (64, 128, 512), (32, 256, 1024), (128, 256, 1024),
              (256, 256, 1024), (1120, 32, 512), (512, 512, 2048)]
    print(f"float32 m x k @ k x n, median of {rounds} alternating rounds")
    for m, k, n in shapes:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        out = np.empty((m, n), np.float32)
        reps = max(3, int(2e8 / (2 * m * k * n)))
        res = {1: [], 2: []}
        loads = []
        for _ in range(rounds):
            for t in (1, 2):
                blas_threads.set_num_threads(t)
                res[t].append(timed(lambda: np.matmul(a, b, out=out), reps))
            loads.append(load())
        blas_threads.set_num_threads(2)
        one, two = (statistics.median(res[t]) * 1e6 for t in (1, 2))
        print(f"  {m:5d}x{k:4d}@{k:4d}x{n:5d} {2 * m * k * n / 1e6:8.1f} MFLOP: "
              f"1 thread {one:9.1f} us, 2 threads {two:9.1f} us, 2/1 {two / one:5.2f}  "
              f"load {min(loads):.2f}..{max(loads):.2f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gemm", action="store_true")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args()
    if args.gemm:
        gemm_mode(args.rounds)
    else:
        step_mode(args.rounds, args.steps)


if __name__ == "__main__":
    main()
