"""Where a convolution network's training step spends its CPU time, op by op, in ember and
in torch: CPU time (time.process_time) per step of each kind of op, one BLAS thread.

    python -m bench.cv_ops resnet_train [--steps 5]      (or cnn_train)

torch: every aten op timed through a TorchDispatchMode (forward and backward kernels).
ember: cProfile with a CPU-time clock, each row the inclusive time of the function that
does that op's work on arrays (the functions named in EMBER_ROWS), per step. Each
framework runs in its own process after three warm-up steps. A development tool for the
conv/pool/norm path (bench/RESULTS.md's figures come from `python -m bench`).
"""
import argparse
import collections
import json
import subprocess
import sys
import time

# row label -> (file suffix, function name) of the function doing that op in ember
EMBER_ROWS = {
    "conv forward": ("_ops/conv.py", "_conv"),
    "conv input grad": ("_ops/conv.py", "_input_grad"),
    "conv weight grad": ("_ops/conv.py", "forward@ConvWeightGrad"),
    "batch norm forward": ("_ops/norm.py", "batch_norm"),
    "batch norm backward": ("_ops/norm.py", "_normalize_backward_fused"),
    "relu forward": ("_ops/pointwise.py", "_relu_array"),
    "relu backward": ("_ops/pointwise.py", "_relu_backward"),
    "max pool forward": ("_ops/pooling.py", "_max_pool"),
    "max pool backward": ("_ops/pooling.py", "_scatter"),
    "optimizer step (SGD)": ("optim/sgd.py", "step"),
    "optimizer step (Adam)": ("optim/adam.py", "step"),
}
TORCH_ROWS = {
    "conv forward": ("aten.convolution.default",),
    "conv backward (input + weight)": ("aten.convolution_backward.default",),
    "batch norm forward": ("aten.native_batch_norm.default",),
    "batch norm backward": ("aten.native_batch_norm_backward.default",),
    "relu forward": ("aten.relu.default", "aten.relu_.default"),
    "relu backward": ("aten.threshold_backward.default",),
    "max pool forward": ("aten.max_pool2d_with_indices.default",),
    "max pool backward": ("aten.max_pool2d_with_indices_backward.default",),
    "add (residual)": ("aten.add.Tensor",),
    "in-place updates (optimizer ...)": ("aten.add_.Tensor", "aten._foreach_add_.List",
                                         "aten.addcdiv_.default", "aten.addcmul_.default",
                                         "aten.lerp_.Scalar", "aten.mul_.Tensor",
                                         "aten.sqrt.default", "aten.div.Tensor"),
}


def _setup(framework, name):
    lib = __import__("ember" if framework == "ember" else "torch")
    import numpy  # noqa: F401  (threadpoolctl limits only libraries already loaded)
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    lib.set_num_threads(1)
    from bench.workloads import WORKLOADS
    step = WORKLOADS[name].setup(lib)
    for _ in range(3):
        step()
    return step


def _ember(name, steps):
    import cProfile
    import pstats
    step = _setup("ember", name)
    prof = cProfile.Profile(time.process_time)
    t0 = time.process_time()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    total = time.process_time() - t0
    stats = pstats.Stats(prof).stats
    rows = {}
    for label, (path, func) in EMBER_ROWS.items():
        want = func.split("@")[0]
        hits = [v for (f, _, fn), v in stats.items() if f.endswith(path) and fn == want]
        if "@" in func:   # a method: tell it from others of that name by its line's class
            hits = [v for (f, line, fn), v in stats.items() if f.endswith(path) and fn == want
                    and _in_class(f, line, func.split("@")[1])]
        if hits:
            rows[label] = sum(v[3] for v in hits) / steps * 1e3   # cumulative time
    return rows, total / steps * 1e3


def _in_class(path, line, cls):
    with open(path) as fh:
        lines = fh.read().splitlines()[:line]
    for text in reversed(lines):
        if text.startswith("class "):
            return text[6:].split("(")[0].split(":")[0] == cls
    return False


def _torch(name, steps):
    from torch.utils._python_dispatch import TorchDispatchMode
    step = _setup("torch", name)
    acc = collections.Counter()

    class Timer(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            t0 = time.process_time()
            out = func(*args, **(kwargs or {}))
            acc[str(func)] += time.process_time() - t0
            return out
    t0 = time.process_time()
    with Timer():
        for _ in range(steps):
            step()
    total = time.process_time() - t0
    rows = {label: sum(acc[k] for k in keys) / steps * 1e3 for label, keys in TORCH_ROWS.items()
            if any(acc[k] for k in keys)}
    return rows, total / steps * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--worker", choices=["ember", "torch"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        rows, total = (_ember if a.worker == "ember" else _torch)(a.workload, a.steps)
        print(json.dumps({"rows": rows, "total": total}))
        return
    for fw in ("ember", "torch"):
        out = subprocess.run([sys.executable, "-m", "bench.cv_ops", a.workload, "--steps",
                              str(a.steps), "--worker", fw], capture_output=True, text=True,
                             check=True).stdout
        res = json.loads(out.strip().splitlines()[-1])
        print(f"{fw} {a.workload}: CPU ms per step, one thread (profiled total "
              f"{res['total']:.1f} ms)")
        for label, ms in sorted(res["rows"].items(), key=lambda kv: -kv[1]):
            print(f"  {label:34s} {ms:8.2f}")


if __name__ == "__main__":
    main()
