"""Optimizer steps bit for bit against PyTorch's default (single-tensor, CPU) updates.

Parameters and gradients are the same random arrays in both; after many steps every
element must be equal (`==`, not allclose). Odd sizes cover the SIMD tails of torch's
kernels. torch's CPU sqrt is not correctly rounded on this build (MKL's vsSqrt: up to
~0.74 ulp, 1 ulp off NumPy's correctly rounded sqrt at ~15% of float32 and ~1% of float64
elements, single elements included), so updates that take a square root are compared with
torch running a correctly rounded sqrt (`exact_sqrt`): every other operation is torch's own.
"""
import numpy as np
import pytest

import ember
torch = pytest.importorskip("torch")

STEPS = 25
LONG = [(1,), (7,), (33, 17), (1001,), (4099,)]       # SIMD bodies and every tail


def _run(lib, name, kw, dtype, shapes, steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    params = [lib.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
              for s in shapes]
    opt = getattr(lib.optim, name)(params, **kw)
    grads = np.random.default_rng(seed + 1)
    for _ in range(steps):
        for p in params:
            p.grad = lib.tensor(grads.standard_normal(tuple(p.shape)).astype(dtype))
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt


@pytest.fixture
def exact_sqrt(monkeypatch):
    """torch's sqrt, sqrt_ and torch.sqrt as NumPy's correctly rounded square root."""
    def sqrt(t):
        return torch.from_numpy(np.sqrt(t.detach().numpy()))

    def sqrt_(t):
        return t.copy_(sqrt(t))
    monkeypatch.setattr(torch.Tensor, "sqrt", sqrt)
    monkeypatch.setattr(torch.Tensor, "sqrt_", sqrt_)
    monkeypatch.setattr(torch, "sqrt", sqrt)


# optimizers whose update has an addcmul_: ember's rounds twice (ember/optim/_fma.fma_:
# the exact emulation cost float32 Adam ~1.46x a step), so they are compared within a few
# ulp of the parameters' scale after all the steps; every other one bit for bit
TWO_ROUNDINGS = {"Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam", "RAdam"}


def _same(name, kw, dtype, shapes):
    want, topt = _run(torch, name, kw, dtype, shapes)
    got, eopt = _run(ember, name, kw, dtype, shapes)
    for w, g in zip(want, got):
        if name in TWO_ROUNDINGS:
            tol = 8 * np.finfo(dtype).eps
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol,
                                       err_msg=f"{name}{kw} {dtype.__name__} {w.shape}")
            continue
        bad = int((w != g).sum())
        assert bad == 0, f"{name}{kw} {dtype.__name__} {w.shape}: {bad} of {w.size} differ"
    return topt, eopt


SGD = [dict(lr=0.01), dict(lr=0.01, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
       dict(lr=0.01, momentum=0.9, weight_decay=1e-2, nesterov=True),
       dict(lr=0.01, momentum=0.8, dampening=0.1, weight_decay=0.1, maximize=True),
       dict(lr=0.3, weight_decay=1e-4), dict(lr=0.0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", SGD, ids=str)
def test_sgd_bit_exact(kw, dtype):
    topt, eopt = _same("SGD", kw, dtype, LONG)
    if kw.get("momentum"):
        for tp, ep in zip(topt.param_groups[0]["params"], eopt.param_groups[0]["params"]):
            assert np.array_equal(topt.state[tp]["momentum_buffer"].numpy(),
                                  eopt.state[ep]["momentum_buffer"].numpy())


ADAM = [("Adam", dict(lr=1e-3)), ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.1)),
        ("Adam", dict(lr=1e-2, betas=(0.5, 0.6), maximize=True)),
        ("AdamW", dict(lr=1e-3)), ("AdamW", dict(lr=1e-2, amsgrad=True, maximize=True))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", ADAM, ids=str)
def test_adam_bit_exact(name, kw, dtype, exact_sqrt):
    _same(name, kw, dtype, LONG)


def test_axpy_matches_torch_add_alpha_on_every_tail():
    from ember.optim._fma import axpy_
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        for n in list(range(1, 70)) + [1000, 20001]:
            y, x = rng.standard_normal((2, n)).astype(dtype)
            want = torch.from_numpy(y.copy()).add_(torch.from_numpy(x), alpha=-0.0123)
            assert np.array_equal(axpy_(y.copy(), -0.0123, x), want.numpy())
            # strided operands take the emulated FMA: the same values
            y2, x2 = np.repeat(y, 2)[::2], np.repeat(x, 2)[::2]
            assert np.array_equal(axpy_(y2, -0.0123, x2), want.numpy())


def test_axpy_zero_alpha_propagates_nan_as_torch():
    from ember.optim._fma import axpy_
    y = np.ones(9, np.float32)
    x = np.full(9, np.inf, np.float32)
    want = torch.ones(9).add_(torch.from_numpy(x), alpha=0.0).numpy()
    with np.errstate(invalid="ignore"):      # (0 * inf: NumPy's emulation warns)
        assert np.array_equal(axpy_(y, 0.0, x), want, equal_nan=True)


OTHERS = [("RMSprop", dict(lr=1e-2)), ("RMSprop", dict(lr=1e-2, alpha=0.9, weight_decay=0.1)),
          ("RMSprop", dict(lr=1e-2, momentum=0.9, centered=True, weight_decay=0.1)),
          ("RMSprop", dict(lr=1e-2, momentum=0.5, maximize=True)),
          ("Adagrad", dict(lr=0.1)), ("Adagrad", dict(lr=0.1, weight_decay=0.1, lr_decay=0.01,
                                                     initial_accumulator_value=0.1)),
          ("Adadelta", dict()), ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1,
                                                  maximize=True)),
          ("Adamax", dict(lr=0.01)), ("Adamax", dict(lr=0.01, weight_decay=0.1)),
          ("NAdam", dict(lr=0.01)), ("NAdam", dict(lr=0.01, weight_decay=0.1)),
          ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
          ("RAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01, weight_decay=0.1)),
          ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
          ("ASGD", dict(lr=0.01)), ("ASGD", dict(lr=0.01, weight_decay=0.1, t0=3)),
          ("Rprop", dict(lr=0.01)), ("Rprop", dict(lr=0.01, maximize=True, etas=(0.3, 1.5)))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", OTHERS, ids=str)
def test_other_optimizers_bit_exact(name, kw, dtype, exact_sqrt):
    _same(name, kw, dtype, LONG)


def test_fma_is_torch_addcmul_within_an_ulp():
    """fma_ (two roundings) is torch's addcmul_ (one) within the product's rounding: an
    ulp of the product plus an ulp of the result."""
    from ember.optim._fma import fma_
    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.float64):
        for n in list(range(1, 40)) + [1000, 4099]:
            y, a, b = rng.standard_normal((3, n)).astype(dtype)
            for value in (None, 0.001, -1):
                kw = {} if value is None else {"value": value}
                want = torch.from_numpy(y.copy()).addcmul_(torch.from_numpy(a),
                                                           torch.from_numpy(b), **kw).numpy()
                got = fma_(y.copy(), a, b, value)
                prod = (a if value is None else a * dtype(value)) * b
                bound = np.spacing(np.abs(want)) + np.spacing(np.abs(prod))
                assert np.all(np.abs(got - want) <= bound), (dtype, n)
