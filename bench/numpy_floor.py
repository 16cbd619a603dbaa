"""How fast could any NumPy-based framework be? The GEMM-bound MLP workloads written
directly in NumPy, with no framework at all, timed against torch.

    python -m bench.numpy_floor [--rounds 5]

Issue 8 asks for ember/torch <= 0.8 on the MLP training step and on batch-256 MLP
inference, on the premise that NumPy's OpenBLAS multiplies float32 matrices about twice
as fast as PyTorch's CPU build. That holds on a processor where OpenBLAS picks its
AVX-512 kernel; where it picks the Haswell (AVX2) kernel the two GEMMs are about equally
fast, and then even this hand-written NumPy step -- the same arithmetic as the workloads
in bench/workloads.py, every temporary reused, nothing recorded, no checks -- is a floor
ember cannot go below. Its ratio to torch is the best ratio ember could reach.

Processes alternate numpy, torch, numpy, torch ... (each after waiting for a quiet
machine, as bench.compare does); the NumPy process runs with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed, as the suite's ember process does, and imports ember first
(unused) so that it has ember's process settings: OpenBLAS's thread timeout and glibc
malloc keeping freed memory (without them the same NumPy code runs ~1.5x slower here). The table gives the median
over rounds of each process's median time per step.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import numpy as np

from .compare import _EMBER_ENV_DROP, _ROOT, _blas_info, _time_workload, _wait_quiet

_SIZES = [(512, 784), (512, 512), (10, 512)]     # the workloads' MLP 784-512-512-10


def _mlp_params(rng):
    ws = [rng.standard_normal(s, dtype=np.float32) * np.float32(s[1] ** -0.5) for s in _SIZES]
    bs = [np.zeros(s[0], np.float32) for s in _SIZES]
    return ws, bs


def _forward(x, ws, bs):
    """The MLP's layer outputs [x, relu(x W1^T + b1), relu(. W2^T + b2), logits]."""
    hs = [x]
    for n, (w, b) in enumerate(zip(ws, bs)):
        h = hs[-1].dot(w.T)
        h += b
        if n < 2:
            np.maximum(h, 0, out=h)
        hs.append(h)
    return hs


def numpy_mlp_train(ws=None, bs=None, x=None, y=None):
    """One SGD-momentum step (lr 0.01, momentum 0.9) of the MLP on a batch of 128 with
    mean cross-entropy, in NumPy: forward, loss gradient, backward, update in place (of
    `ws`, `bs`: the layers' weights and biases, random by default)."""
    rng = np.random.default_rng(0)
    if ws is None:
        ws, bs = _mlp_params(rng)
    if x is None:
        x = rng.standard_normal((128, 784), dtype=np.float32)
        y = rng.integers(0, 10, 128)
    params = ws + bs
    bufs = [None] * len(params)          # momentum buffers: the first step's gradient
    scratch = [np.empty_like(p) for p in params]
    rows = np.arange(len(x))

    def step():
        hs = _forward(x, ws, bs)
        h = hs[-1]
        p = h - h.max(1, keepdims=True)          # softmax of the logits
        np.exp(p, out=p)
        p /= p.sum(1, keepdims=True)
        p[rows, y] -= 1                          # d(mean cross-entropy)/d(logits)
        g = p
        g /= len(x)
        gws, gbs = [None] * 3, [None] * 3
        for n in (2, 1, 0):
            gws[n] = g.T.dot(hs[n])
            gbs[n] = g.sum(0)
            if n > 0:
                g = g.dot(ws[n])
                g *= hs[n] > 0                   # ReLU's gradient
        for n, (prm, grad, s) in enumerate(zip(params, gws + gbs, scratch)):
            buf = bufs[n]
            if buf is None:
                buf = bufs[n] = grad.copy()
            else:
                buf *= 0.9
                buf += grad
            np.multiply(buf, 0.01, out=s)
            prm -= s
    return step


def numpy_mlp_infer_b256():
    """The MLP's forward on a batch of 256, in NumPy."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 784), dtype=np.float32)
    ws, bs = _mlp_params(rng)

    def step():
        _forward(x, ws, bs)
    return step


_NUMPY = {"mlp_train": numpy_mlp_train, "mlp_infer_b256": numpy_mlp_infer_b256}


def worker(framework, name):
    from .workloads import WORKLOADS
    w = WORKLOADS[name]
    if framework == "numpy":
        import ember  # noqa: F401  (malloc settings; the step is NumPy alone)
        step = _NUMPY[name]()
    else:
        import torch
        step = w.setup(torch)
    seconds = _time_workload(step, w.min_time, w.repeats)
    print(json.dumps({"seconds": seconds, "blas": _blas_info()}))


def _run(framework, name):
    env = dict(os.environ)
    if framework == "numpy":
        for key in _EMBER_ENV_DROP:
            env.pop(key, None)
        # what `import ember` sets, but NumPy is loaded first here (by this module)
        env.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")
    cmd = [sys.executable, "-m", "bench.numpy_floor", "--worker", framework, "--name", name]
    out = subprocess.run(cmd, env=env, cwd=_ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{framework} worker for {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--worker", choices=("numpy", "torch"))
    ap.add_argument("--name", choices=sorted(_NUMPY))
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.name)
    print("| workload | NumPy alone | torch | NumPy/torch | issue's target for ember |")
    print("|---|---|---|---|---|")
    for name in sorted(_NUMPY):
        times = {"numpy": [], "torch": []}
        for _ in range(args.rounds):
            _wait_quiet(0.2, 10)
            for fw in times:
                times[fw].append(_run(fw, name)["seconds"])
        a, b = statistics.median(times["numpy"]), statistics.median(times["torch"])
        rounds = " ".join(f"{x / y:.2f}" for x, y in zip(times["numpy"], times["torch"]))
        print(f"| {name} | {a * 1e3:.2f} ms | {b * 1e3:.2f} ms | {a / b:.2f} "
              f"(rounds: {rounds}) | <= 0.8 |", flush=True)


if __name__ == "__main__":
    main()
