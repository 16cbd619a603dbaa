"""ember.jit.save of functions registered with torch.fx.wrap that take or return tuples
(an RNN-style (h, c) state, a (tensor, size) pair): each is saved as a TorchScript function
with Tuple[...] parameters (the type of another saved function's result read from what
that function returns), called from the forward, instead of being refused; torch.jit.load
and ember.jit.load give the eager model's outputs at every rank its branches handle."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
import ember.fx  # noqa: E402
from tests.jit_roundtrip import save_and_load, to_torch  # noqa: E402

nn = ember.nn


def step(x, state, scale: float):
    h, c = state
    if x.dim() == 2:
        return (h + x * scale, c * x)
    return (h - x, c + scale)


def combine(pair):
    return pair[0] * pair[1]


def flat(x):
    return x.flatten(1), x.size(0)


def spread(pair):
    y, n = pair
    return y.sum(1) / n


ember.fx.wrap("step")
ember.fx.wrap("combine")
ember.fx.wrap("flat")
ember.fx.wrap("spread")


class Chained(nn.Module):
    def forward(self, x):
        s = step(x, (x, x * 2), 0.5)   # a tuple of traced values in
        s = step(x, s, 0.5)            # another saved function's tuple in
        s = step(x, s, 2.0)            # (other constants: a function of its own)
        return combine(s), s[1]


class Sized(nn.Module):
    def forward(self, x):
        return spread(flat(x))         # a (tensor, int) pair between two functions


def check(model, theirs, back, x):
    ours = model(x)
    ours = ours if isinstance(ours, tuple) else (ours,)
    got = theirs(to_torch(x))
    got = got if isinstance(got, tuple) else (got,)
    again = back(x)
    again = again if isinstance(again, tuple) else (again,)
    for o, g, a in zip(ours, got, again):
        np.testing.assert_allclose(g.numpy(), o.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(a.numpy(), o.numpy(), rtol=1e-6, atol=1e-7)


def test_tuple_arguments_and_results_between_saved_functions():
    model = Chained()
    theirs, back = save_and_load(model)
    for x in (ember.randn(2, 3), ember.randn(4), ember.randn(1, 5)):
        check(model, theirs, back, x)
    code = back.code
    assert "functions.step_0(x, (x, " in code and "functions.combine_" in code
    source = "".join(back._interp.unit.files.values())
    assert "state: Tuple[Tensor, Tensor]" in source
    assert source.count("def step_") == 3


def test_a_tensor_and_size_pair():
    model = Sized()
    theirs, back = save_and_load(model)
    for x in (ember.randn(2, 3, 4), ember.randn(5, 2)):
        check(model, theirs, back, x)
    source = "".join(back._interp.unit.files.values())
    assert "pair: Tuple[Tensor, int]" in source
