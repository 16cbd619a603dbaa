"""Host cost of single CuPy calls, each timed alone after a synchronize (an empty launch
queue, so nothing blocks), next to the same calls inside ember's training steps (cProfile
put CuPy's matmul at 70-120 us per call inside a step, against ~33 us for a small one
alone): is a GEMM launch slow by itself, or only in a step? And does Python's cyclic GC
weigh on a step? Runs in a process without torch.

    python bench/gpu/launch_cost.py
"""
import gc
import statistics
import time

import numpy as np


def host_us(fn, n=40):
    """Median host time of fn() in microseconds, each call after a device synchronize."""
    import cupy as cp
    dev = cp.cuda.Device()
    fn()
    dev.synchronize()
    times = []
    for _ in range(n):
        dev.synchronize()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    dev.synchronize()
    return statistics.median(times) * 1e6


def gemm_rows():
    import cupy as cp
    from cupy._core import _routines_linalg as RL
    rng = np.random.default_rng(0)

    def arr(*shape):
        return cp.asarray(rng.standard_normal(shape, dtype=np.float32))

    small = arr(64, 64)
    x, w = arr(8192, 128), arr(128, 128)        # a transformer linear
    g = arr(8192, 128)
    ones = cp.ones(8192, cp.float32)
    wc, cols = arr(64, 576), arr(576, 128 * 1024)   # a ResNet conv GEMM
    yc = cp.empty((64, 128 * 1024), cp.float32)
    q = arr(64, 128, 128)
    rows = {
        "m@m 64x64": lambda: small @ small,
        "x.dot(w.T) 8192x128x128": lambda: x.dot(w.T),
        "matmul(x, w.T)": lambda: cp.matmul(x, w.T),
        "g.T.dot(x) (weight grad)": lambda: g.T.dot(x),
        "ones @ g (bias grad gemv)": lambda: ones @ g,
        "batched q @ q^T 64x128x128": lambda: cp.matmul(q, q.swapaxes(1, 2)),
        "conv GEMM fp32 out=": lambda: cp.matmul(wc, cols, out=yc),
    }
    out = {}
    for k, f in rows.items():
        out[k] = host_us(f)
    old = RL.get_compute_type(cp.float32)
    RL.set_compute_type(cp.float32, RL.COMPUTE_TYPE_TF32)
    out["conv GEMM tf32 out="] = host_us(lambda: cp.matmul(wc, cols, out=yc))
    out["x.dot(w.T) tf32"] = host_us(lambda: x.dot(w.T))
    RL.set_compute_type(cp.float32, old)

    def toggled():
        RL.set_compute_type(cp.float32, RL.COMPUTE_TYPE_TF32)
        cp.matmul(wc, cols, out=yc)
        RL.set_compute_type(cp.float32, old)
    out["conv GEMM tf32 set+reset"] = host_us(toggled)
    a = arr(1 << 20)
    out["a + b (1M)"] = host_us(lambda: a + a)
    out["empty (1M)"] = host_us(lambda: cp.empty(1 << 20, cp.float32))
    ek = cp.ElementwiseKernel("T g, T a, T b, T c, T d, T e, T f, T h", "T x, T m, T v",
                              "m = a * m + b * g; v = c * v + d * g * g; "
                              "x -= e * m / (sqrt(v) / f + h);", "probe_adam")
    p, m_, v_ = arr(1 << 16), arr(1 << 16), cp.abs(arr(1 << 16))
    t = np.float32
    out["ElementwiseKernel 11 args"] = host_us(
        lambda: ek(p, t(0.9), t(0.1), t(0.99), t(0.01), t(1e-3), t(1.0), t(1e-8), p, m_, v_))
    return out


def step_rows():
    """Per-step host time (no synchronize inside the timing) of ember's GPU workloads, with
    the cyclic GC on and off, and the time of the GEMM calls inside a step (cProfile)."""
    import pstats
    import ember
    from bench import workloads as W
    from bench.gpu import host_probe
    out = {}
    for name, make in (("mlp", W.mlp_train_cuda), ("cnn", W.cnn_train_cuda),
                       ("resnet", W.resnet_train_cuda),
                       ("transformer", W.transformer_train_cuda)):
        step = make(ember)
        for _ in range(3):
            step()
        ember.cuda.synchronize()
        for label, gc_on in (("gc on", True), ("gc off", False), ("gc on ", True)):
            (gc.enable if gc_on else gc.disable)()
            out[f"{name} step host ms, {label}"] = host_probe.timings(ember, step, n=15)[1] * 1e3
        gc.enable()
        st = pstats.Stats(host_probe.profile(ember, step, 5)).stats
        for (f, _, fn), (_, nc, tt, _, _) in st.items():
            if fn in ("<built-in method cupy._core._routines_linalg.matmul>",
                      "<method 'dot' of 'cupy._core.core._ndarray_base' objects>") and nc:
                out[f"{name} in-step {fn.split()[-1][:40]} us/call ({nc // 5}/step)"] = \
                    tt / nc * 1e6
    return out


def main():
    for k, v in gemm_rows().items():
        print(f"  {k:48s} {v:8.1f} us")
    for k, v in step_rows().items():
        print(f"  {k:48s} {v:8.2f}")


if __name__ == "__main__":
    main()
