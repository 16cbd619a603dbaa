"""softmax / log_softmax against torch: the fused array kernels of forward and of the
backward without create_graph (dims first, middle and last, strided input, float64, a
half-precision input computed in float32, empty), and double backward through the
composed formulas."""
import ml_dtypes
import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from tests.oracle.harness import Grad, check

rng = np.random.default_rng(8)


def f32(*s):
    return (rng.standard_normal(s) * 3).astype(np.float32)


def sm(name, dim):
    return lambda L, x: getattr(L.nn.functional, name)(x, dim)


CASES = []
for fn in ("softmax", "log_softmax"):
    CASES += [
        (f"{fn}-last", sm(fn, -1), [Grad(f32(4, 3, 7))]),
        (f"{fn}-first", sm(fn, 0), [Grad(f32(4, 3, 7))]),
        (f"{fn}-middle", sm(fn, 1), [Grad(f32(4, 3, 7))]),
        (f"{fn}-strided", lambda L, x, fn=fn: getattr(L.nn.functional, fn)(
            x.transpose(0, 2), -1), [Grad(f32(5, 3, 6))]),
        (f"{fn}-large", sm(fn, -1), [Grad(f32(3, 8) * 40 + 500)]),
        (f"{fn}-float64", sm(fn, 1), [Grad(rng.standard_normal((3, 5)))]),
        (f"{fn}-bf16-to-f32", lambda L, x, fn=fn: getattr(L.nn.functional, fn)(
            x, -1, dtype=L.float32), [f32(3, 5).astype(ml_dtypes.bfloat16)]),
        (f"{fn}-empty", sm(fn, -1), [Grad(f32(0, 4))]),
        (f"{fn}-0d", sm(fn, 0), [Grad(np.float32(1.5))]),
    ]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_softmax_fused_against_torch(name, fn, inputs):
    check(fn, *inputs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_double_backward(name):
    x = ember.tensor(rng.standard_normal((3, 4))).requires_grad_()
    f = lambda x: getattr(ember.nn.functional, name)(x, 1)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


GELU = [
    ("gelu", lambda L, x: L.nn.functional.gelu(x), [Grad(f32(5, 7))]),
    ("gelu-tanh", lambda L, x: L.nn.functional.gelu(x, approximate="tanh"), [Grad(f32(5, 7))]),
    ("gelu-wide", lambda L, x: L.nn.functional.gelu(x), [Grad(f32(4, 9) * 4)]),
    ("gelu-tanh-wide", lambda L, x: L.nn.functional.gelu(x, approximate="tanh"),
     [Grad(f32(4, 9) * 4)]),
    ("gelu-float64", lambda L, x: L.nn.functional.gelu(x), [Grad(rng.standard_normal((3, 4)))]),
    ("gelu-tanh-float64", lambda L, x: L.nn.functional.gelu(x, approximate="tanh"),
     [Grad(rng.standard_normal((3, 4)))]),
    ("gelu-0d", lambda L, x: L.nn.functional.gelu(x), [Grad(np.float32(0.7))]),
    ("gelu-tanh-0d", lambda L, x: L.nn.functional.gelu(x, approximate="tanh"),
     [Grad(np.float32(-0.7))]),
]


@pytest.mark.parametrize("name,fn,inputs", GELU, ids=[c[0] for c in GELU])
def test_gelu_fused_against_torch(name, fn, inputs):
    check(fn, *inputs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_double_backward(approximate):
    x = ember.tensor(rng.standard_normal((3, 4))).requires_grad_()
    f = lambda x: ember.nn.functional.gelu(x, approximate=approximate)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def _relu_rows(dtype):
    x = (rng.standard_normal((3, 2, 70)) * 3).astype(dtype)
    x[0, 0, :4] = [np.nan, -np.inf, np.inf, 0.0]
    return x


RELU = [   # rows of 64+ values take NumPy's array-array maximum (a row of zeros)
    ("relu-rows-f32", lambda L, x: L.relu(x), [Grad(_relu_rows(np.float32))]),
    ("relu-rows-f64", lambda L, x: L.nn.functional.relu(x), [Grad(_relu_rows(np.float64))]),
    ("relu-rows-strided", lambda L, x: L.relu(x.transpose(0, 2)), [Grad(_relu_rows(np.float32))]),
    ("relu-rows-bf16", lambda L, x: L.relu(x), [_relu_rows(np.float32).astype(ml_dtypes.bfloat16)]),
    ("relu-short-rows", lambda L, x: L.relu(x), [Grad(f32(4, 9))]),
]


@pytest.mark.parametrize("name,fn,inputs", RELU, ids=[c[0] for c in RELU])
def test_relu_against_torch(name, fn, inputs):
    check(fn, *inputs, rtol=0, atol=0)
