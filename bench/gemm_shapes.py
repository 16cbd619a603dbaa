"""GFLOP/s of the GEMMs of the suite's training workloads, one framework per process.

    python bench/gemm_shapes.py numpy      # run with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset
    python bench/gemm_shapes.py torch

For each (M, K, N): the forward x w^T, the input gradient g w and the weight gradient
g^T x, as the linear layers issue them (ember through ndarray.dot), median of 7 x 20 calls.
A probe for judging how far a step's time is GEMM time, not part of the suite.
"""
import statistics
import sys
import time

import numpy as np

SHAPES = [(1024, 128, 384), (1024, 128, 128), (1024, 128, 512), (1024, 512, 128),   # transformer
          (128, 784, 512), (128, 512, 512), (256, 784, 512)]                         # MLP


def main(framework):
    if framework == "torch":
        import torch

        def make(shape):
            return torch.randn(*shape)
        ops = (lambda x, w: x.mm(w.t()), lambda g, w: g.mm(w), lambda g, x: g.t().mm(x))
    else:
        rng = np.random.default_rng(0)

        def make(shape):
            return rng.standard_normal(shape, dtype=np.float32)
        ops = (lambda x, w: x.dot(w.T), lambda g, w: g.dot(w), lambda g, x: g.T.dot(x))
    for M, K, N in SHAPES:
        x, w, g = make((M, K)), make((N, K)), make((M, N))
        rates = []
        for op, a, b in zip(ops, (x, g, g), (w, w, x)):
            for _ in range(3):
                op(a, b)
            times = []
            for _ in range(7):
                t = time.perf_counter()
                for _ in range(20):
                    op(a, b)
                times.append((time.perf_counter() - t) / 20)
            rates.append(2 * M * K * N / statistics.median(times) / 1e9)
        print(f"{framework} {(M, K, N)} " + " ".join(f"{r:6.1f}" for r in rates)
              + " GFLOP/s (forward, input grad, weight grad)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "numpy")
