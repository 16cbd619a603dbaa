"""Where does an ember GPU training step spend its time: host (Python + launches) or GPU?

    python bench/gpu/host_probe.py OUTDIR

For each GPU training workload, ember and torch: the per-step time with a synchronize,
the host-only time of the step (the synchronize outside the timing), and a cProfile of
ember's steps dumped to OUTDIR/<name>.prof for offline reading. Then the host cost of
single calls: a CuPy ufunc, ElementwiseKernel, RawKernel, reduction, small matmul, ember's
and torch's add. Finally ember's GPU kernel time per step through torch.profiler (CUPTI
records every kernel of the process, CuPy's too), where that works.
"""
import cProfile
import os
import sys
import time

from bench import workloads as W

MODELS = {
    "mlp": (W.mlp_model, lambda L, m: L.optim.SGD(m.parameters(), lr=0.01, momentum=0.9),
            lambda L: L.nn.CrossEntropyLoss(), (1024, 784), 10),
    "cnn": (W.cnn_model, lambda L, m: L.optim.Adam(m.parameters(), lr=1e-3),
            lambda L: L.nn.CrossEntropyLoss(), (256, 1, 28, 28), 10),
    "resnet": (W.resnet_model, lambda L, m: L.optim.SGD(m.parameters(), lr=0.01),
               lambda L: L.nn.CrossEntropyLoss(), (128, 3, 32, 32), 10),
    "transformer": (W.transformer_model, lambda L, m: L.optim.Adam(m.parameters(), lr=1e-3),
                    lambda L: L.nn.MSELoss(), (64, 128, 128), None),
}


def build(lib, name):
    make_model, make_opt, make_loss, xshape, classes = MODELS[name]
    model = make_model(lib).to("cuda")
    opt = make_opt(lib, model)
    x = W._data(lib, *xshape).to("cuda")
    y = (W._labels(lib, xshape[0], classes) if classes else W._data(lib, *xshape, seed=2)).to("cuda")
    return W._train_step(lib, model, opt, make_loss(lib), x, y)


def timings(lib, step, n=20):
    for _ in range(3):
        step()
    lib.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
        lib.cuda.synchronize()
    synced = (time.perf_counter() - t0) / n
    host = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        host.append(time.perf_counter() - t0)
        lib.cuda.synchronize()
    host.sort()
    return synced, host[n // 2]


def per_call(fn, n=3000):
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def calls(ember, torch):
    import cupy as cp
    a = cp.ones(1024, cp.float32)
    b = cp.ones(1024, cp.float32)
    m = cp.ones((64, 64), cp.float32)
    ek = cp.ElementwiseKernel("T x, T y", "T z", "z = x + y", "probe_add")
    rk = cp.RawKernel(r'''extern "C" __global__ void radd(const float* x, const float* y,
        float* z, int n) { int i = blockDim.x * blockIdx.x + threadIdx.x; if (i < n) z[i] = x[i] + y[i]; }''',
                      "radd")
    out = cp.empty_like(a)
    ea = ember.ones(1024, device="cuda")
    eg = ember.ones(1024, device="cuda", requires_grad=True)
    ta = torch.ones(1024, device="cuda")
    tg = torch.ones(1024, device="cuda", requires_grad=True)
    rows = {
        "cupy a+b": lambda: a + b,
        "cupy add(out=)": lambda: cp.add(a, b, out=out),
        "cupy ElementwiseKernel": lambda: ek(a, b),
        "cupy ElementwiseKernel out": lambda: ek(a, b, out),
        "cupy RawKernel": lambda: rk((4,), (256,), (a, b, out, cp.int32(1024))),
        "cupy a.sum()": lambda: a.sum(),
        "cupy m.sum(0)": lambda: m.sum(0),
        "cupy m@m": lambda: m @ m,
        "cupy empty": lambda: cp.empty(1024, cp.float32),
        "cupy zeros": lambda: cp.zeros(1024, cp.float32),
        "cupy a.reshape": lambda: a.reshape(32, 32),
        "cupy m.T copy": lambda: cp.ascontiguousarray(m.T),
        "ember a+b": lambda: ea + ea,
        "ember a+b grad": lambda: eg + eg,
        "ember relu": lambda: ember.relu(ea),
        "ember a.sum()": lambda: ea.sum(),
        "torch a+b": lambda: ta + ta,
        "torch a+b grad": lambda: tg + tg,
        "torch a.sum()": lambda: ta.sum(),
    }
    for k, f in rows.items():
        print(f"  {k:28s} {per_call(f):7.2f} us/call")
        cp.cuda.Device().synchronize()
        torch.cuda.synchronize()


def gpu_kernel_time(torch, step, lib, label):
    try:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                step()
            lib.cuda.synchronize()
        evs = prof.key_averages()
        tot = sum(e.self_device_time_total for e in evs) / 5 / 1e3
        n = sum(e.count for e in evs if e.self_device_time_total > 0) / 5
        print(f"  {label}: GPU kernel time {tot:.2f} ms/step over {n:.0f} kernels/step")
        top = sorted(evs, key=lambda e: -e.self_device_time_total)[:12]
        for e in top:
            print(f"     {e.self_device_time_total / 5 / 1e3:7.3f} ms {e.count // 5:4d}x {e.key[:90]}")
    except Exception as e:  # pragma: no cover - diagnostic
        print("  profiler failed:", type(e).__name__, e)


def profile(lib, step, n):
    """A cProfile.Profile of n steps and the synchronize after them."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        step()
    lib.cuda.synchronize()
    prof.disable()
    return prof


def main(out):
    import ember
    import torch
    names = sys.argv[2:] or list(MODELS)
    for name in names:
        es, ts = build(ember, name), build(torch, name)
        (e_sync, e_host), (t_sync, t_host) = timings(ember, es), timings(torch, ts)
        print(f"== {name}: synced ember {e_sync * 1e3:.2f} ms torch {t_sync * 1e3:.2f} ms "
              f"(ratio {e_sync / t_sync:.2f}); host-only ember {e_host * 1e3:.2f} ms "
              f"torch {t_host * 1e3:.2f} ms")
        profile(ember, es, 10).dump_stats(os.path.join(out, f"{name}.prof"))
        gpu_kernel_time(torch, es, ember, "ember")
        gpu_kernel_time(torch, ts, torch, "torch")
    print("== host cost per call")
    calls(ember, torch)


if __name__ == "__main__":
    main(sys.argv[1])
