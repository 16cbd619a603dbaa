"""Time the parts of ember's convolution (and a few other training-step ops) on the GPU,
next to torch's: which kernel makes ember's ResNet step slow?

    python bench/gpu/conv_parts.py
"""
import time

import numpy as np


def bench(fn, n=20):
    import cupy
    fn()
    cupy.cuda.Device().synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    cupy.cuda.Device().synchronize()
    return (time.perf_counter() - t0) / n * 1e3


def main():
    import cupy as cp
    import torch
    import ember
    from ember._ops import conv as C
    N, Ch, H = 128, 64, 32
    rng = np.random.default_rng(0)
    x = ember.from_numpy(rng.standard_normal((N, Ch, H, H), dtype=np.float32)).cuda()
    w = ember.from_numpy(rng.standard_normal((Ch, Ch, 3, 3), dtype=np.float32)).cuda()
    g = ember.from_numpy(rng.standard_normal((N, Ch, H, H), dtype=np.float32)).cuda()
    xa, wa = x._data, w._data
    s, p, d = (1, 1), (1, 1), (1, 1)
    rows = {}
    for dnn in (True, False):   # through cuDNN (where it loads), then ember's im2col
        ember.backends.cudnn.enabled = dnn
        tag = " (cuDNN)" if dnn and ember.backends.cudnn.is_available() else \
            " (im2col)" if not dnn else " (im2col: no cuDNN)"
        rows["conv forward (ember op)" + tag] = bench(
            lambda: ember.nn.functional.conv2d(x, w, padding=1))
        rows["conv input grad" + tag] = bench(
            lambda: C.conv_input_grad(g, w, x.shape, s, p, d, 1))
        rows["conv weight grad" + tag] = bench(
            lambda: C.conv_weight_grad(x, g, w.shape, s, p, d, 1))
    ember.backends.cudnn.enabled = True
    try:
        from cupy._core import _routines_linalg as RL
        old = RL.get_compute_type(cp.float32)
        RL.set_compute_type(cp.float32, RL.COMPUTE_TYPE_TF32)
        rows["conv forward TF32"] = bench(lambda: ember.nn.functional.conv2d(x, w, padding=1))
        RL.set_compute_type(cp.float32, old)
    except Exception as e:  # noqa: BLE001
        rows[f"TF32 toggle failed: {type(e).__name__}: {e}"] = 0.0
    bn = ember.nn.BatchNorm2d(Ch).cuda()
    xr = x.detach().requires_grad_()
    rows["batchnorm fwd+bwd"] = bench(lambda: bn(xr).sum().backward())
    rows["relu fwd"] = bench(lambda: ember.relu(x))
    rows["add"] = bench(lambda: x + g)
    tx = torch.from_numpy(xa.get()).cuda()
    tw = torch.from_numpy(wa.get()).cuda()
    tg = torch.from_numpy(g._data.get()).cuda()
    txr = tx.clone().requires_grad_()
    twr = tw.clone().requires_grad_()

    def tsync(fn):
        def f():
            fn()
            torch.cuda.synchronize()
        return f
    rows["torch conv forward"] = bench(tsync(lambda: torch.nn.functional.conv2d(tx, tw, padding=1)))
    rows["torch conv fwd+bwd"] = bench(tsync(lambda: torch.nn.functional.conv2d(
        txr, twr, padding=1).backward(tg)))
    torch.backends.cudnn.allow_tf32 = False
    rows["torch conv fwd+bwd, no TF32"] = bench(tsync(lambda: torch.nn.functional.conv2d(
        txr, twr, padding=1).backward(tg)))
    for k, v in rows.items():
        print(f"{k:40s} {v:8.3f} ms")


if __name__ == "__main__":
    main()
