"""add/sub with alpha round once as torch's CPU kernels (a fused multiply-add) on float32 and
float64 tensors: same shapes, broadcast, 0-dim, non-contiguous, in place, a number operand,
integer and special alphas; the values are compared bit for bit with torch's (but where
torch's kernel for a 0-dim or number `other` rounds its scalar tail twice: within 1 ulp)."""
import numpy as np
import pytest
import torch

import ember

SHAPES = [((1000,), (1000,)), ((37, 5), (37, 5)), ((4, 1, 3), (5, 3)), ((), ()),
          ((6,), ()), ((), (6,)), ((3, 8), (8,))]


def _pair(lib, a, b):
    return lib.from_numpy(a.copy()), lib.from_numpy(b.copy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shapes", SHAPES, ids=[str(s) for s in SHAPES])
@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("alpha", [0.3, -1e-3, 3, 1e10])
def test_add_sub_alpha_bits_like_torch(op, shapes, dtype, alpha):
    rng = np.random.default_rng(0)
    a = np.asarray(rng.standard_normal(shapes[0]), dtype=dtype)
    b = np.array(rng.standard_normal(shapes[1]) * 1e-3, dtype=dtype)
    ta, tb = _pair(torch, a, b)
    ea, eb = _pair(ember, a, b)
    want = getattr(torch, op)(ta, tb, alpha=alpha).numpy()
    got = getattr(ember, op)(ea, eb, alpha=alpha)
    assert got.dtype == getattr(ember, np.dtype(dtype).name)
    assert got.shape == want.shape
    if shapes[1] == () and shapes[0] != ():
        # a 0-dim other: torch's vector lanes fuse, its scalar tail (the last n mod 16
        # float32 / 8 float64 values with AVX-512) rounds alpha * other first; ember fuses all
        np.testing.assert_allclose(got.numpy(), want, rtol=2 * np.finfo(dtype).eps, atol=0)
    else:
        assert got.numpy().tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_inplace_noncontiguous_and_number_like_torch(dtype):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 8)).astype(dtype)
    b = rng.standard_normal((8, 6)).astype(dtype)
    results = []
    for lib in (torch, ember):
        x, y = _pair(lib, a, b)
        x.add_(y.t(), alpha=-0.7)                     # non-contiguous operand, in place
        z = x[:, ::2].sub(y.t()[:, 1::2], alpha=1.3)  # strided views
        w = lib.add(y, 2.5, alpha=0.1)                # a number operand
        v = lib.tensor(1.7, dtype=x.dtype).add(y, alpha=0.9)   # 0-dim plus a matrix
        results.append([r.numpy().tobytes() for r in (x, z, w, v)])
    assert results[0] == results[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_special_values_like_torch(dtype):
    a = np.array([np.inf, -np.inf, np.nan, 1.0, 0.0, -0.0, 1e308 if dtype == np.float64
                  else 3e38], dtype=dtype)
    b = np.array([1.0, np.inf, 2.0, np.inf, -0.0, -0.0, 1e308 if dtype == np.float64
                  else 3e38], dtype=dtype)
    for alpha in (0.0, -0.0, 2.0, -1.5):
        want = torch.add(*_pair(torch, a, b), alpha=alpha).numpy()
        got = ember.add(*_pair(ember, a, b), alpha=alpha).numpy()
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))


def test_alpha_gradients_unchanged():
    for dtype in (np.float32, np.float64):
        a = np.linspace(-1, 1, 7).astype(dtype)
        grads = []
        for lib in (torch, ember):
            x, y = _pair(lib, a, a[::-1])
            x.requires_grad_(True)
            y.requires_grad_(True)
            lib.sub(x, y, alpha=0.25).pow(2).sum().backward()
            grads.append((x.grad.numpy(), y.grad.numpy()))
        np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-6)
        np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-6)
