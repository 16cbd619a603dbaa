"""A root gradient of another dtype is cast to its output's dtype before backward runs,
as PyTorch's engine does (a float32 seed for a float64 conv gave float32-precise grads)."""
import numpy as np
import pytest
import torch

import ember


@pytest.mark.parametrize("out_dt,seed_dt", [("float64", "float32"), ("float32", "float64"),
                                            ("float64", "float16")])
@pytest.mark.parametrize("use_grad", [False, True])
def test_root_gradient_cast_to_output_dtype(out_dt, seed_dt, use_grad):
    rng = np.random.default_rng(0)
    xa, wa = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    ga = rng.standard_normal((1, 3, 3, 3))
    got = []
    for L in (torch, ember):
        x = L.tensor(xa, dtype=getattr(L, out_dt), requires_grad=True)
        w = L.tensor(wa, dtype=getattr(L, out_dt), requires_grad=True)
        y = L.nn.functional.conv2d(x, w)
        seed = L.tensor(ga, dtype=getattr(L, seed_dt))
        if use_grad:
            gx, gw = L.autograd.grad(y, (x, w), seed)
        else:
            y.backward(seed)
            gx, gw = x.grad, w.grad
        assert str(gx.dtype).split(".")[1] == out_dt and str(gw.dtype).split(".")[1] == out_dt
        got.append((np.array(gx.tolist()), np.array(gw.tolist())))
    tol = 1e-12 if out_dt == "float64" else 1e-5
    for a, b in zip(*got):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
