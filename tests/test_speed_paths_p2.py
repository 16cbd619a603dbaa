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
    _close(ye, yt, rtol=1e-2, atol=1e-2)
    _close(ge, gt, rtol=2e-2, atol=2e-2)


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
