"""The parts of a ResNet-style training step one at a time, ember beside torch: CPU time
(time.process_time) of each part, one thread (BLAS and the elementwise pool), the two
frameworks alternating, the median of the repeats and the ratio ember / torch.

    python -m bench.cv_parts [--repeats 15] [--only conv,bn,interp] [--threads 2]

(--threads N other than 1: both frameworks on N threads, wall time instead of CPU time.)

Parts (the shapes of bench/workloads.py's resnet_train, batch 32, 64 channels on 32x32):
conv forward, input gradient and weight gradient of the 3x3 convolution (stride 1 and 2,
and a 1x1), batch norm forward and backward (training mode), and F.interpolate bilinear and
nearest, forward and backward. A development tool for the conv/norm/interpolate paths.
"""
import argparse
import statistics
import time


def _conv_parts(L, ember, N=32, C=64, O=64, H=32, k=3, s=1, p=1):
    import numpy as np
    rng = np.random.default_rng(0)
    x = L.tensor(rng.standard_normal((N, C, H, H), dtype=np.float32))
    w = L.tensor(rng.standard_normal((O, C, k, k), dtype=np.float32) * 0.05)
    Ho = (H + 2 * p - k) // s + 1
    g = L.tensor(rng.standard_normal((N, O, Ho, Ho), dtype=np.float32))
    if ember:
        from ember._ops import conv
        st, pd, dl = (s, s), (p, p), (1, 1)
        return {
            "fwd": lambda: conv.conv_nd(x, w, None, st, pd, dl, 1),
            "dx": lambda: conv.conv_input_grad(g, w, tuple(x.shape), st, pd, dl, 1),
            "dw": lambda: conv.conv_weight_grad(x, g, tuple(w.shape), st, pd, dl, 1),
        }
    aten = L.ops.aten
    cb = aten.convolution_backward.default

    def back(mask):
        return lambda: cb(g, x, w, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask)
    return {
        "fwd": lambda: aten.convolution.default(x, w, None, [s, s], [p, p], [1, 1], False,
                                                [0, 0], 1),
        "dx": back([True, False, False]),
        "dw": back([False, True, False]),
    }


def _bn_parts(L, ember, N=32, C=64, H=32):
    import numpy as np
    rng = np.random.default_rng(0)
    x = L.tensor(rng.standard_normal((N, C, H, H), dtype=np.float32) * 2 + 1,
                 requires_grad=True)
    bn = L.nn.BatchNorm2d(C)
    g = L.tensor(rng.standard_normal((N, C, H, H), dtype=np.float32))
    out = {}

    def fwd():
        with L.no_grad():
            bn(x)

    def fwd_bwd():
        y = bn(x)
        y.backward(g)
    return {"fwd": fwd, "fwd+bwd": fwd_bwd}


def _interp_parts(L, ember, N=32, C=64, H=16, scale=2):
    import numpy as np
    rng = np.random.default_rng(0)
    x = L.tensor(rng.standard_normal((N, C, H, H), dtype=np.float32), requires_grad=True)
    g = L.tensor(rng.standard_normal((N, C, H * scale, H * scale), dtype=np.float32))
    F = L.nn.functional
    parts = {}
    for mode, kw in (("bilinear", {"align_corners": False}), ("nearest", {})):
        def fwd(mode=mode, kw=kw):
            with L.no_grad():
                F.interpolate(x, scale_factor=scale, mode=mode, **kw)

        def fwd_bwd(mode=mode, kw=kw):
            F.interpolate(x, scale_factor=scale, mode=mode, **kw).backward(g)
        parts[f"{mode} fwd"] = fwd
        parts[f"{mode} fwd+bwd"] = fwd_bwd
    return parts


GROUPS = {
    "conv": lambda L, e: {f"conv3x3 {k}": v for k, v in _conv_parts(L, e).items()},
    "conv_s2": lambda L, e: {f"conv3x3 s2 {k}": v
                             for k, v in _conv_parts(L, e, s=2, O=128).items()},
    "conv1x1": lambda L, e: {f"conv1x1 s2 {k}": v
                             for k, v in _conv_parts(L, e, k=1, s=2, p=0, O=128).items()},
    "conv_in": lambda L, e: {f"conv 3->64 {k}": v
                             for k, v in _conv_parts(L, e, C=3).items() if k != "dx"},
    "bn": lambda L, e: {f"batchnorm {k}": v for k, v in _bn_parts(L, e).items()},
    "interp": lambda L, e: {f"interpolate {k}": v for k, v in _interp_parts(L, e).items()},
}


def _time(fn, reps=3, clock=time.process_time):
    t0 = clock()
    for _ in range(reps):
        fn()
    return (clock() - t0) / reps * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--only", default=",".join(GROUPS))
    ap.add_argument("--stat", choices=["median", "min"], default="median",
                    help="min: the fastest repeat (on a loaded machine, the least disturbed)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads of both frameworks (then wall time, not CPU time)")
    a = ap.parse_args(argv)
    clock = time.process_time if a.threads == 1 else time.perf_counter
    import numpy  # noqa: F401  (threadpoolctl limits only libraries already loaded)
    import torch
    import ember
    from threadpoolctl import threadpool_limits
    threadpool_limits(a.threads)
    torch.set_num_threads(a.threads)
    ember.set_num_threads(a.threads)
    for name in a.only.split(","):
        e, t = GROUPS[name](ember, True), GROUPS[name](torch, False)
        for label in e:
            e[label](), t[label]()   # warm-up
            te, tt = [], []
            for _ in range(a.repeats):
                te.append(_time(e[label], clock=clock))
                tt.append(_time(t[label], clock=clock))
            stat = statistics.median if a.stat == "median" else min
            me, mt = stat(te), stat(tt)
            print(f"{label:32s} ember {me:8.2f} ms  torch {mt:8.2f} ms  ratio {me / mt:5.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
