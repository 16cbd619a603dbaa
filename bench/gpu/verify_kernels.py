"""Checks on a real GPU of what the emulator alone had checked: cross_entropy's and nll_loss's
deferred device checks, the multi-tensor optimizer steps (bitwise against the per-parameter kernels),
attention's exp_rows kernel (against the op-by-op path) and the cuDNN convolutions
(ember/_backend/cudnn.py, against the im2col path; tested here only on a CPU fake).

    python bench/gpu/verify_kernels.py

On the CPU, through the fake CuPy and the fake cuDNN (the script's own checks, not the GPU's):
    EMBER_CUDNN_LIB=$(python -c "from tests import fake_cudnn; print(fake_cudnn.path())") \
    python -c "from tests import fakecupy; fakecupy.install(force=True); import runpy; \
    runpy.run_path('bench/gpu/verify_kernels.py')"
"""
import numpy as np, ember
from ember._backend import cupy_multi_tensor as mt, cupy_kernels as ck
ok = True
def report(name, cond, extra=""):
    global ok
    ok &= bool(cond)
    print(("PASS " if cond else "FAIL ") + name, extra)

# 1. cross_entropy's deferred device check
x = ember.randn(3, 4, device="cuda", requires_grad=True)
t = ember.tensor([0, 4, -2], device="cuda")
out = ember.nn.functional.cross_entropy(x, t); out.backward()
try:
    out.item(); report("CE bad target raises at read", False)
except RuntimeError as e:
    report("CE bad target raises at read", "device-side assert triggered" in str(e), str(e)[:120])
report("CE reported once, NaN after", np.isnan(out.item()))
ember.nn.functional.cross_entropy(x, t)
try:
    ember.cuda.synchronize(); report("CE bad target raises at synchronize", False)
except RuntimeError as e:
    report("CE bad target raises at synchronize", "device-side assert" in str(e))
v = ember.nn.functional.cross_entropy(x, ember.tensor([0, 3, 1], device="cuda")).item()
report("CE good target after", np.isfinite(v))
ember.nn.functional.nll_loss(x, t)
try:
    ember.cuda.synchronize(); report("nll_loss bad target raises at synchronize", False)
except RuntimeError as e:
    report("nll_loss bad target raises at synchronize", "nll_loss: Target" in str(e))

# 2. multi-tensor optimizer steps == per-parameter kernels, bitwise
def run(opt_fn, multi, dtype):
    rng = np.random.default_rng(0)
    shapes = [(0,), (1,), (5, 3), (300,), (64, 64), (7,)] * 4
    ps = [ember.tensor(rng.standard_normal(s), dtype=dtype, device="cuda", requires_grad=True) for s in shapes]
    opt = opt_fn(ps)
    orig = mt.launch
    taken = []
    mt.launch = (lambda *a, **k: taken.append(orig(*a, **k)) or taken[-1]) if multi else \
        (lambda *a, **k: False)
    try:
        for i in range(4):
            for j, p in enumerate(ps):
                p.grad = None if (i == 2 and j == 3) else ember.tensor(rng.standard_normal(p.shape), dtype=dtype, device="cuda")
            opt.step()
    finally:
        mt.launch = orig
    if multi:
        report(f"  multi-tensor launches taken", any(taken), f"{sum(taken)} of {len(taken)}")
    return [p.detach().cpu().numpy() for p in ps]
for name, fn in [("SGD", lambda p: ember.optim.SGD(p, lr=0.1, weight_decay=0.01)),
                 ("SGD momentum nesterov", lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
                 ("Adam", lambda p: ember.optim.Adam(p, lr=1e-2, weight_decay=0.1)),
                 ("AdamW amsgrad", lambda p: ember.optim.AdamW(p, lr=1e-2, amsgrad=True))]:
    for dt in (ember.float32, ember.float64):
        a, b = run(fn, True, dt), run(fn, False, dt)
        report(f"multi-tensor {name} {dt} bitwise", all(np.array_equal(u, w) for u, w in zip(a, b)))

# 3. exp_rows against the op-by-op path
q, k, v = (ember.randn(4, 2, 37, 16, device="cuda") for _ in range(3))
mask = ember.rand(37, 37, device="cuda") > 0.3
mask[5] = False
F = ember.nn.functional
a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).cpu().numpy()
orig = ck.exp_rows
ck.exp_rows = lambda s, r: False
try:
    b = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).cpu().numpy()
finally:
    ck.exp_rows = orig
report("exp_rows == op-by-op attention", np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True), f"max diff {np.nanmax(np.abs(a - b)):.2e}")

# 4. cuDNN convolutions against the im2col path (float64: both exact to rounding)
from ember._backend import cudnn
report("cuDNN loaded", ember.backends.cudnn.is_available(),
       f"version {ember.backends.cudnn.version()}")


def conv_grads(fn, shapes, kw, dtype):
    rng = np.random.default_rng(0)
    ts = [ember.tensor(rng.standard_normal(s), dtype=dtype, device="cuda", requires_grad=True)
          for s in shapes]
    y = fn(*ts, **kw)
    (y * y).sum().backward()
    return [y.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in ts]


CASES = [("conv1d", F.conv1d, [(4, 6, 33), (8, 3, 5), (8,)], dict(stride=2, padding=2, groups=2)),
         ("conv2d", F.conv2d, [(8, 16, 17, 17), (32, 16, 3, 3), (32,)], dict(padding=1)),
         ("conv2d s2 d2", F.conv2d, [(4, 8, 15, 16), (8, 4, 3, 3)], dict(stride=2, dilation=2, groups=2)),
         ("conv3d", F.conv3d, [(2, 4, 7, 8, 9), (6, 4, 3, 3, 3), (6,)], dict(padding=1)),
         ("conv_transpose2d", F.conv_transpose2d, [(4, 8, 9, 9), (8, 6, 3, 3), (6,)],
          dict(stride=2, padding=1, output_padding=1))]


def counted_run(name, fn, *args):
    """(fn(*args), how many times it called cudnn.`name`)."""
    calls = {"n": 0}
    orig = getattr(cudnn, name)

    def counted(*a, **k):
        calls["n"] += 1
        return orig(*a, **k)
    setattr(cudnn, name, counted)
    try:
        return fn(*args), calls["n"]
    finally:
        setattr(cudnn, name, orig)


for name, fn, shapes, kw in CASES:
    a, n_calls = counted_run("_run_into", conv_grads, fn, shapes, kw, ember.float64)
    ember.backends.cudnn.enabled = False
    try:
        b = conv_grads(fn, shapes, kw, ember.float64)
    finally:
        ember.backends.cudnn.enabled = True
    worst = max(float(np.max(np.abs(u - v) / (1 + np.abs(v)))) for u, v in zip(a, b))
    report(f"cuDNN {name} == im2col (float64)", n_calls >= 3 and worst < 1e-10,
           f"{n_calls} cuDNN calls, worst rel diff {worst:.1e}")
ember.backends.cudnn.deterministic = True
try:
    runs = [conv_grads(F.conv2d, [(16, 32, 20, 20), (32, 32, 3, 3)], dict(padding=1),
                       ember.float32) for _ in range(2)]
finally:
    ember.backends.cudnn.deterministic = False
report("cuDNN deterministic: same bits twice", all(np.array_equal(u, v) for u, v in zip(*runs)))


def bn_run(shape, dtype):
    rng = np.random.default_rng(1)
    m = ember.nn.BatchNorm2d(shape[1]) if len(shape) == 4 else ember.nn.BatchNorm1d(shape[1])
    m = m.to(device="cuda", dtype=dtype)
    x = ember.tensor(rng.standard_normal(shape) * 3 + 1, dtype=dtype, device="cuda",
                     requires_grad=True)
    y = m(x)
    (y * y).sum().backward()
    return [a.detach().cpu().numpy() for a in (y, x.grad, m.weight.grad, m.bias.grad,
                                                m.running_mean, m.running_var)]


for shape in [(8, 16, 9, 9), (32, 12), (4, 6, 20)]:
    a, n_calls = counted_run("batch_norm_train", bn_run, shape, ember.float64)
    ember.backends.cudnn.enabled = False
    try:
        b = bn_run(shape, ember.float64)
    finally:
        ember.backends.cudnn.enabled = True
    worst = max(float(np.max(np.abs(u - v) / (1 + np.abs(v)))) for u, v in zip(a, b))
    report(f"cuDNN batch norm {shape} == ember's kernels (float64, running stats too)",
           n_calls == 1 and worst < 1e-10, f"{n_calls} calls, worst {worst:.1e}")
print("ALL OK" if ok else "SOME FAILED")
