"""gradcheck / gradgradcheck: they pass on correct gradients, fail (like torch's) on wrong ones."""

import numpy as np
import pytest
import torch

import ember
from ember.autograd.gradcheck import GradcheckError


def _pair(lib, arrays):
    return tuple(lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays)


def _wrong_exp(lib):
    class WrongExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.exp()

        @staticmethod
        def backward(ctx, g):
            return g * 1.1
    return WrongExp


X = np.array([0.3, -0.2, 1.5])
Y = np.array([[0.3, -0.2], [1.5, 2.0]])

CASES = [
    ("exp_square", lambda lib, a, b: (a * a).exp(), (X, Y)),
    ("broadcast_transpose", lambda lib, a, b: (a[:2] * b.t()).sum(0), (X, Y)),
    ("two_outputs", lambda lib, a, b: (a * 2, b.exp()), (X, Y)),
    ("cubic", lambda lib, a, b: (a[:2] * b.t() * b).sum(), (X, Y)),
    ("zero_dim", lambda lib, a, b: a.sum() * b[0, 0], (X, Y)),
]


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_agrees_with_torch(name, fn, arrays, fast):
    for lib in (torch, ember):
        ins = _pair(lib, arrays)
        assert lib.autograd.gradcheck(lambda *a: fn(lib, *a), ins, fast_mode=fast) is True
        assert lib.autograd.gradgradcheck(lambda *a: fn(lib, *a), ins, fast_mode=fast) is True


@pytest.mark.parametrize("fast", [False, True])
def test_wrong_gradient_raises(fast):
    x = ember.tensor(X, dtype=ember.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        ember.autograd.gradcheck(_wrong_exp(ember).apply, (x,), fast_mode=fast)
    assert ember.autograd.gradcheck(_wrong_exp(ember).apply, (x,), fast_mode=fast,
                                    raise_exception=False) is False
    assert issubclass(GradcheckError, RuntimeError)


def test_wrong_second_derivative_raises():
    class BadSquare(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 2 * x.detach()  # detached: the second derivative is lost
    x = ember.tensor(X, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(BadSquare.apply, (x,))
    with pytest.raises(GradcheckError):
        ember.autograd.gradgradcheck(BadSquare.apply, (x,))


def test_no_input_requires_grad():
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
            lib.autograd.gradcheck(lambda a: a.exp(), (lib.tensor([1.0], dtype=lib.float64),))


def test_float32_warns():
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.warns(UserWarning, match="not a double precision"):
            lib.autograd.gradcheck(lambda a: a * 2, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)


def test_non_differentiable_output():
    for lib in (torch, ember):
        x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradcheck(lambda a: (a > 0).double(), (x,))
        assert lib.autograd.gradcheck(lambda a: (a * 3, (a > 0).double()), (x,))


def test_non_tensor_inputs_pass_through():
    x = ember.tensor(X, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, k: a * k, (x, 3.0))


def test_unsupported_flags_raise():
    x = ember.tensor(X, dtype=ember.float64, requires_grad=True)
    with pytest.raises(NotImplementedError, match="forward-mode AD"):
        ember.autograd.gradcheck(lambda a: a, (x,), check_forward_ad=True)


def test_inputs_restored():
    x = ember.tensor(X, dtype=ember.float64, requires_grad=True)
    ember.autograd.gradcheck(lambda a: a.exp(), (x,))
    ember.autograd.gradcheck(lambda a: a.exp(), (x,), fast_mode=True)
    np.testing.assert_array_equal(x.detach().numpy(), X)
