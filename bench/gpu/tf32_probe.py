"""Does CuPy let a caller switch float32 matmuls to TF32 tensor cores, and what does it buy?"""
import time

import cupy as cp
from cupy._core import _routines_linalg as L

print([n for n in dir(L) if "compute" in n.lower() or "TF32" in n])
a = cp.random.rand(576, 131072, dtype=cp.float32)
w = cp.random.rand(64, 576, dtype=cp.float32)


def t(f, n=20):
    f()
    cp.cuda.Device().synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        f()
    cp.cuda.Device().synchronize()
    return (time.perf_counter() - t0) / n * 1e3


print("fp32 conv-shaped GEMM", t(lambda: w @ a), "ms")
try:
    ct = L.get_compute_type(cp.float32)
    L.set_compute_type(cp.float32, L.COMPUTE_TYPE_TF32)
    print("tf32 conv-shaped GEMM", t(lambda: w @ a), "ms")
    L.set_compute_type(cp.float32, ct)
    print("back", t(lambda: w @ a), "ms")
except Exception as e:
    print("tf32 switch failed", type(e).__name__, e)
