"""A first handful of oracle comparisons; each op family has its own table file."""
import numpy as np
import pytest

from .harness import Grad, check

rng = np.random.default_rng(0)
f32 = lambda *s: rng.standard_normal(s).astype(np.float32)


@pytest.mark.parametrize("fn", [
    lambda L, a, b: a + b,
    lambda L, a, b: a * b,
    lambda L, a, b: a / b,
    lambda L, a, b: (a - b).exp(),
    lambda L, a, b: L.matmul(a, b.transpose(0, 1)),
])
def test_binary_basic(fn):
    check(fn, Grad(f32(3, 4)), Grad(f32(3, 4)))


def test_broadcast_grad():
    check(lambda L, a, b: a * b + a, Grad(f32(2, 3, 4)), Grad(f32(4)))


def test_mm_error():
    check(lambda L, a, b: L.mm(a, b), f32(2, 3), f32(4, 5), exc_message=True)
