"""Batch norm backward alone (training mode, the input, weight and bias gradients of a
retained graph), ember beside torch, alternating, median of the repeats.

    python -m bench.cv_bn [--repeats 21] [--threads 1] [--shape 32,64,32,32]

One thread (BLAS, the elementwise pool and torch's intra-op threads): CPU time
(time.process_time); more: wall time. The default shape is resnet_train's BatchNorm2d
input (batch 32, 64 channels on 32x32). A development tool for ember/_ops/norm.py.
"""
import argparse
import statistics
import time


def _setup(L, shape, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = L.tensor(rng.standard_normal(shape, dtype=np.float32) * 2 + 1, requires_grad=True)
    bn = L.nn.BatchNorm2d(shape[1]) if len(shape) == 4 else L.nn.BatchNorm1d(shape[1])
    g = L.tensor(rng.standard_normal(shape, dtype=np.float32))
    y = bn(x)
    inputs = [x, bn.weight, bn.bias]
    return lambda: L.autograd.grad(y, inputs, g, retain_graph=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shape", default="32,64,32,32")
    a = ap.parse_args(argv)
    shape = tuple(int(s) for s in a.shape.split(","))
    clock = time.process_time if a.threads == 1 else time.perf_counter
    import numpy  # noqa: F401  (threadpoolctl limits only libraries already loaded)
    import torch
    import ember
    from threadpoolctl import threadpool_limits
    threadpool_limits(a.threads)
    torch.set_num_threads(a.threads)
    ember.set_num_threads(a.threads)
    fns = {"ember": _setup(ember, shape), "torch": _setup(torch, shape)}
    times = {k: [] for k in fns}
    for f in fns.values():
        f()
    for _ in range(a.repeats):
        for k, f in fns.items():
            t = clock()
            for _ in range(3):
                f()
            times[k].append((clock() - t) / 3 * 1e3)
    me, mt = statistics.median(times["ember"]), statistics.median(times["torch"])
    print(f"batch norm backward {shape} at {a.threads} thread(s): ember {me:.2f} ms  "
          f"torch {mt:.2f} ms  ratio {me / mt:.2f}", flush=True)


if __name__ == "__main__":
    main()
