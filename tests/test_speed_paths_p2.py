"""Fast paths added for CPU speed, each against torch on both sides of its condition.

GELU (approximate="none") of float32 arrays runs in float32 arithmetic in blocks, cut over
two threads for large arrays (ember/_ops/_gelu_float32.py); float64 keeps the float64 erf.
"""
import ml_dtypes
import numpy as np
import pytest

import ember
from ember._ops import _gelu_float32

torch = pytest.importorskip("torch")

rng = np.random.default_rng(2)


def _gelu_pair(x, grad=None, transform=lambda t: t, approximate="none"):
    """Forward value and input gradient of gelu(transform(x)) in ember and in torch."""
    out = []
    for lib in (ember, torch):
        if x.dtype == ml_dtypes.bfloat16:
            t = lib.from_numpy(x.astype(np.float32)).to(lib.bfloat16)
        else:
            t = lib.from_numpy(x.copy())
        t.requires_grad_(True)
        y = lib.nn.functional.gelu(transform(t), approximate=approximate)
        g = lib.from_numpy(grad.copy()).to(y.dtype) if grad is not None else lib.ones_like(y)
        y.backward(g)
        out.append((y.detach().float().numpy(), t.grad.float().numpy(), y.dtype, y.stride()))
    return out


def _close(a, b, rtol=1.3e-6, atol=1e-5):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


# sizes: one block, a block and a half (a short last block), and above the two-thread split
@pytest.mark.parametrize("n", [1, 1000, _gelu_float32._BLOCK * 3 // 2, _gelu_float32._SPLIT + 5])
def test_gelu_float32_blocks_and_threads(n):
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    grad = rng.standard_normal(n).astype(np.float32)
    (ye, ge, de, _), (yt, gt, dt, _) = _gelu_pair(x, grad)
    assert str(de) == str(dt).replace("torch", "ember")
    _close(ye, yt)
    _close(ge, gt)


def test_gelu_float32_tails_and_specials():
    """The whole line: erf rounds to +-1 beyond |x| = 5.5 (the fit ends at |x/sqrt 2| = 4 and
    is extrapolated), huge values (x^2 overflows), NaN and -inf (NaN in both)."""
    x = np.concatenate([np.linspace(-30, 30, 6001), [-1e30, 1e30, -3e19, 3e19, 1e-30, -1e-30,
                                                      0.0, -0.0, np.nan, -np.inf]]).astype(np.float32)
    (ye, ge, _, _), (yt, gt, _, _) = _gelu_pair(x)
    _close(ye, yt)
    _close(ge, gt)
    zero = yt == 0
    assert np.array_equal(np.signbit(ye[zero]), np.signbit(yt[zero]))   # -0.0 for x << 0


def test_gelu_float32_close_to_torch_in_ulps():
    """Values within torch's float32 rtol of torch's, relative to the result (away from the
    left tail, where both round 1 + erf(x / sqrt 2) ~ 0, each with its own erf)."""
    x = np.linspace(-1.5, 8, 95001).astype(np.float32)
    (ye, ge, _, _), (yt, gt, _, _) = _gelu_pair(x)
    _close(ye, yt, rtol=1.3e-6, atol=1e-8)   # each within ~7e-7 of the exact value
    _close(ge, gt, rtol=1.3e-6, atol=3e-7)    # the derivative crosses 0 at x = -0.75


def test_gelu_float64_keeps_its_exact_path():
    x = rng.standard_normal(3000) * 4
    (ye, ge, de, _), (yt, gt, dt, _) = _gelu_pair(x)
    assert de == ember.float64
    _close(ye, yt, rtol=1e-14, atol=1e-15)
    _close(ge, gt, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
def test_gelu_half_dtypes_through_float32(dtype):
    x = (rng.standard_normal(2000) * 3).astype(dtype)
    (ye, ge, de, _), (yt, gt, dt, _) = _gelu_pair(x)
    assert str(de) == str(dt).replace("torch", "ember")
    eps = float(ml_dtypes.finfo(dtype).eps)   # one unit in the last place at 1
    _close(ye, yt, rtol=eps, atol=eps)
    _close(ge, gt, rtol=2 * eps, atol=2 * eps)


def test_gelu_float32_layouts():
    """A transposed input: the result laid out as torch's; an expanded output gradient (from
    a sum) and a strided one."""
    x = (rng.standard_normal((6, 5, 40)) * 2).astype(np.float32)
    (ye, ge, _, se), (yt, gt, _, st) = _gelu_pair(x, transform=lambda t: t.transpose(0, 2))
    assert se == st
    _close(ye, yt)
    _close(ge, gt)
    grads = []
    for lib in (ember, torch):
        t = lib.from_numpy(x.copy()).requires_grad_(True)
        (lib.nn.functional.gelu(t[:, ::2]).sum() * 2).backward()
        grads.append(t.grad.numpy())
    _close(*grads)


def test_gelu_zero_dim_and_empty():
    for x in (np.float32(-0.7), np.zeros((0, 3), np.float32)):
        (ye, ge, _, _), (yt, gt, _, _) = _gelu_pair(np.asarray(x))
        assert ye.shape == yt.shape
        _close(ye, yt, rtol=2e-7, atol=1e-12)
        _close(ge, gt)


def test_gelu_float32_double_backward():
    """create_graph=True takes the composed formulas (the fast path is the array kernel)."""
    x = (rng.standard_normal(50) * 2).astype(np.float32)
    res = []
    for lib in (ember, torch):
        t = lib.from_numpy(x.copy()).requires_grad_(True)
        (g,) = lib.autograd.grad(lib.nn.functional.gelu(t).sum(), t, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), t)
        res.append((g.detach().numpy(), gg.numpy()))
    _close(res[0][0], res[1][0])
    _close(res[0][1], res[1][1])


# ---------------------------------------------------------------------------- sum / mean
# The node class of a reduction is chosen before the op runs (SumBackward0 without dims,
# SumBackward1 with dims or keepdim) instead of being switched in forward.

REDUCTIONS = {
    "all": lambda x: x.sum(),
    "dim0": lambda x: x.sum(0),
    "dim_neg_keepdim": lambda x: x.sum(-1, keepdim=True),
    "all_dims_listed": lambda x: x.sum((0, 1)),
    "empty_dim_list": lambda x: x.sum([]),
    "keepdim_no_dim": lambda x: x.sum(None, True),
    "dtype": lambda x: x.sum(dtype=x.new_ones(()).double().dtype),
    "mean_all": lambda x: x.mean(),
    "mean_dim1": lambda x: x.mean(1),
    "mean_all_dims_listed": lambda x: x.mean((0, 1)),
    "mean_keepdim": lambda x: x.mean((1,), keepdim=True),
}


# (the dims 0, 1 and -1 exist from rank 2; a 1-dim and a 0-dim input take the others)
REDUCTION_CASES = [(n, (3, 4)) for n in REDUCTIONS] + [
    (n, s) for s in ((5,), ()) for n in ("all", "dim0", "dim_neg_keepdim", "empty_dim_list",
                                         "keepdim_no_dim", "dtype", "mean_all")]


@pytest.mark.parametrize("name,shape", REDUCTION_CASES)
def test_reduction_node_names_values_grads(name, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    res = []
    for lib in (ember, torch):
        t = lib.from_numpy(x.copy()).requires_grad_(True)
        y = REDUCTIONS[name](t)
        y.backward(lib.ones_like(y))
        res.append((type(y.grad_fn).__name__, y.detach().numpy(), t.grad.numpy(), y.shape))
    (ne, ye, ge, se), (nt, yt, gt, st) = res
    assert ne == nt
    assert tuple(se) == tuple(st)
    _close(ye, yt)
    _close(ge, gt)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_mean_dtypes_and_silent_edges(dtype, recwarn):
    """mean computes float16/bfloat16 in float32; an empty mean is NaN and an overflowing one
    inf, without a NumPy warning (as torch)."""
    x = (rng.standard_normal((4, 6)) * 3).astype(np.float32)
    big = np.full((2, 3), 6e4 if dtype == "float16" else 3e38, np.float32)
    got = []
    for lib in (ember, torch):
        dt = getattr(lib, dtype)
        t = lib.from_numpy(x.copy()).to(dt)
        b = lib.from_numpy(big.copy()).to(dt)
        got.append([t.mean(1), t.mean(), lib.zeros(0, 3, dtype=dt).mean(0), b.mean(0), b.sum(0)])
    for e, t in zip(*got):
        assert str(e.dtype) == str(t.dtype).replace("torch", "ember")
        _close(e.double().numpy(), t.double().numpy(), rtol=2e-3, atol=2e-3)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# ---------------------------------------------------------------------------- dilated conv
# Kernel taps that read only the zero padding (a dilation wider than the image: DeepLabV3's
# ASPP) are dropped from the forward, the input gradient and the weight gradient
# (ember/_ops/conv.py, _taps_inside); the rest keep the full kernel.

CONV_CASES = {
    # name: (input shape, conv kwargs); the kernel's size comes from "k"
    "aspp_rate36_4x4": ((2, 6, 4, 4), dict(k=3, padding=36, dilation=36)),
    "aspp_rate12_4x4": ((2, 6, 4, 4), dict(k=3, padding=12, dilation=12, bias=False)),
    "one_dim_pruned": ((2, 3, 5, 9), dict(k=3, padding=(6, 1), dilation=(6, 1))),
    "strided_pruned": ((1, 4, 7, 7), dict(k=3, padding=9, dilation=9, stride=2)),
    "padding_between": ((2, 3, 5, 5), dict(k=(3, 2), padding=(4, 3), dilation=(4, 5))),
    "grouped_pruned": ((2, 4, 4, 4), dict(k=3, padding=24, dilation=24, groups=2)),
    "not_pruned": ((2, 3, 8, 8), dict(k=3, padding=2, dilation=2)),
    "conv1d_pruned": ((2, 3, 5), dict(k=3, padding=10, dilation=10)),
    "conv3d_pruned": ((1, 2, 3, 3, 3), dict(k=3, padding=5, dilation=5)),
}


def _conv_pair(shape, kw, transposed=False, create_graph=False):
    x = rng.standard_normal(shape).astype(np.float32)
    nd = len(shape) - 2
    k = kw["k"] if isinstance(kw["k"], tuple) else (kw["k"],) * nd
    groups = kw.get("groups", 1)
    cin = shape[1]
    w_shape = (cin, 4 // groups) + k if transposed else (4, cin // groups) + k
    w = rng.standard_normal(w_shape).astype(np.float32) * 0.3
    b = rng.standard_normal(4).astype(np.float32) if kw.get("bias", True) else None
    args = {n: kw[n] for n in ("padding", "dilation", "stride", "groups") if n in kw}
    res = []
    for lib in (ember, torch):
        tx, tw = (lib.from_numpy(a.copy()).requires_grad_(True) for a in (x, w))
        tb = None if b is None else lib.from_numpy(b.copy()).requires_grad_(True)
        f = getattr(lib.nn.functional, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")
        y = f(tx, tw, tb, **args)
        gy = lib.from_numpy(np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(y.shape))
        grads = lib.autograd.grad(y, [tx, tw] + ([tb] if tb is not None else []), gy,
                                  create_graph=create_graph)
        if create_graph:   # second order: the gradient of sum(dx^2) + sum(dw^2)
            grads = lib.autograd.grad((grads[0] ** 2).sum() + (grads[1] ** 2).sum(), [tx, tw])
        res.append([y.detach().numpy()] + [g.detach().numpy() for g in grads])
    return res


@pytest.mark.parametrize("name", list(CONV_CASES))
def test_dilated_conv_forward_and_gradients(name):
    shape, kw = CONV_CASES[name]
    e, t = _conv_pair(shape, kw)
    assert len(e) == len(t)
    for a, b in zip(e, t):
        assert a.shape == b.shape
        _close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["aspp_rate36_4x4", "one_dim_pruned", "strided_pruned"])
def test_dilated_conv_double_backward(name):
    shape, kw = CONV_CASES[name]
    e, t = _conv_pair(shape, kw, create_graph=True)
    for a, b in zip(e, t):
        _close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["aspp_rate36_4x4", "conv1d_pruned", "not_pruned"])
def test_dilated_conv_transpose(name):
    """conv_transpose's forward is the input gradient of a convolution."""
    shape, kw = CONV_CASES[name]
    e, t = _conv_pair(shape, {**kw, "padding": kw["padding"]}, transposed=True)
    for a, b in zip(e, t):
        assert a.shape == b.shape
        _close(a, b, rtol=1e-4, atol=1e-4)


def test_taps_inside_ranges():
    """The taps kept are exactly those whose positions meet the image."""
    from ember._ops.conv import _taps_inside
    assert _taps_inside((4, 4), (3, 3), (1, 1), [(36, 36)] * 2, (36, 36), (4, 4)) == \
        ([slice(1, 2)] * 2, [(0, 0)] * 2)
    assert _taps_inside((8, 8), (3, 3), (1, 1), [(2, 2)] * 2, (2, 2), (8, 8)) is None
    for n, k, s, p, d in [(5, 3, 1, 6, 6), (7, 3, 2, 9, 9), (9, 5, 3, 7, 4), (5, 2, 1, 3, 5)]:
        out = (n + 2 * p - d * (k - 1) - 1) // s + 1
        reads = [t for t in range(k) if any(0 <= t * d - p + s * o < n for o in range(out))]
        got = _taps_inside((n,), (k,), (s,), [(p, p)], (d,), (out,))
        kept = list(range(k)) if got is None else list(range(got[0][0].start, got[0][0].stop))
        assert kept == reads


# ---------------------------------------------------------------------------- quiet NumPy
# Comparisons, max()/min() and cross_entropy's mean silence NumPy's floating-point
# warnings through a cheap context (np.errstate cost ~1.3 us a call): NaN is compared,
# reduced and divided without a warning, as in torch.

def _quiet_cases(lib):
    x = lib.tensor([[1.0, float("nan"), -2.0], [0.5, 3.0, float("inf")]])
    logits = lib.tensor([[0.1, 0.7, -0.3], [1.2, -0.4, 0.0]])
    ignored = lib.tensor([-100, -100])
    return [x > 0, x <= 0.5, x == x, x != 1, x.max(), x.min(), x.amax((0, 1)),
            lib.nn.functional.cross_entropy(logits, ignored),      # 0 / 0: nan
            lib.nn.functional.cross_entropy(logits, lib.tensor([2, 0])),
            lib.tensor([1.0, 2.0]) < lib.tensor([2.0, 1.0])]


def test_quiet_paths_against_torch(recwarn):
    for e, t in zip(_quiet_cases(ember), _quiet_cases(torch)):
        assert str(e.dtype) == str(t.dtype).replace("torch", "ember")
        np.testing.assert_allclose(e.double().numpy(), t.double().numpy(), rtol=1e-6,
                                   equal_nan=True)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("target,exc", [([0, 3], IndexError), ([0, 1, 2], ValueError),
                                        ([[0], [1]], RuntimeError)])
def test_cross_entropy_target_checks_kept(target, exc):
    """The class-target checks run once now (they ran twice on the fused path)."""
    for lib in (ember, torch):
        with pytest.raises(exc):
            lib.nn.functional.cross_entropy(lib.zeros(2, 3), lib.tensor(target))


# ---------------------------------------------------------------------------- pow's node
# pow() picks its node class (PowBackward0 for a scalar exponent, PowBackward2 for a scalar
# base, PowBackward1 otherwise) before the op runs.

POWS = {
    "scalar_exponent": lambda L, a: a ** 2,
    "float_exponent_method": lambda L, a: a.pow(2.5),
    "scalar_base": lambda L, a: 2 ** a,
    "scalar_base_function": lambda L, a: L.pow(1.5, a),
    "tensor_tensor": lambda L, a: a ** (a * 0.5),
    "zero_dim_exponent": lambda L, a: a ** L.tensor(3.0),
}


@pytest.mark.parametrize("name", list(POWS))
def test_pow_node_names_values_grads(name):
    x = (rng.random(5) + 0.5).astype(np.float32)
    res = []
    for lib in (ember, torch):
        t = lib.from_numpy(x.copy()).requires_grad_(True)
        y = POWS[name](lib, t)
        y.sum().backward()
        fn = y.grad_fn
        res.append((type(fn).__name__, [None if f is None else type(f).__name__
                                        for f, _ in fn.next_functions],
                    y.detach().numpy(), t.grad.numpy()))
    (ne, ee, ye, ge), (nt, et, yt, gt) = res
    assert (ne, ee) == (nt, et)
    _close(ye, yt)
    _close(ge, gt)


def test_pow_under_vmap_and_forward_ad():
    x = (rng.random((3, 4)) + 0.5).astype(np.float32)
    e = ember.func.vmap(lambda r: r ** 2 + 2 ** r)(ember.from_numpy(x))
    t = torch.func.vmap(lambda r: r ** 2 + 2 ** r)(torch.from_numpy(x))
    _close(e.numpy(), t.numpy())
    tangent = np.ones_like(x)
    e = ember.func.jvp(lambda r: r ** 3, (ember.from_numpy(x),), (ember.from_numpy(tangent),))
    t = torch.func.jvp(lambda r: r ** 3, (torch.from_numpy(x),), (torch.from_numpy(tangent),))
    _close(e[1].numpy(), t[1].numpy())
