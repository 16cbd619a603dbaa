"""ember.jit.save of forwards that branch on traced values (``if x.sum() > 0``, ``if
x.dim() == 3``, ``raise`` on a bad input), of forwards with *args or many arguments
defaulting to None after ember.jit.trace: the archive loads in real torch.jit.load and
gives ember's outputs (and raises where ember raises), and ember.jit.load runs it too."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from tests.jit_roundtrip import save_and_load, to_torch  # noqa: E402

nn = ember.nn


def check(model, theirs, back, *xs):
    ours = model(*xs).detach().numpy()
    got = theirs(*[to_torch(x) for x in xs]).detach().numpy()
    again = back(*xs).detach().numpy()
    assert got.shape == ours.shape == again.shape
    np.testing.assert_allclose(got, ours, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(again, ours, rtol=1e-6, atol=1e-7)


class OnValue(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        y = self.lin(x)
        if y.sum() > 0:
            return y * 2
        return y - 1


class OnRank(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        if x.dim() == 3:
            x = x.mean(0)
        elif x.dim() == 1 and x.shape[0] == 3:
            x = x.unsqueeze(0)
        y = self.lin(x)
        return -y if (y > 0).all() else y.abs()


class Nested(nn.Module):
    def forward(self, x, y):
        if x.max() > y.max():
            out = x - y
            if out.mean() < 0.5:
                out = out * 3
        else:
            out = y.relu() if y.min() < 0 else y.exp()
        return out + 1


class Ternary(nn.Module):
    def forward(self, x):
        s = x.sum()
        scale = 2.0 if s > 0 and x.size(0) > 1 else 0.5
        return x * scale


def test_branch_on_a_tensor_value():
    model = OnValue().eval()
    theirs, back = save_and_load(model)
    assert "if bool(" in theirs.code or "if " in theirs.code
    for sign in (1.0, -1.0):
        with ember.no_grad():   # both sides of the branch
            model.lin.weight.copy_(ember.eye(3) * sign)
            model.lin.bias.zero_()
        theirs, back = save_and_load(model)
        check(model, theirs, back, ember.rand(4, 3) + 0.1)


def test_branch_on_rank_and_size():
    model = OnRank().eval()
    theirs, back = save_and_load(model)
    for shape in [(2, 3), (5, 2, 3), (3,), (4, 3)]:
        for _ in range(3):
            check(model, theirs, back, ember.randn(*shape))


def test_nested_branches_and_two_inputs():
    model = Nested()
    theirs, back = save_and_load(model)
    cases = [(ember.rand(3) + 2, ember.rand(3)), (ember.rand(3) + 0.1, ember.rand(3) * 0.1),
             (ember.rand(3), ember.rand(3) + 2), (ember.rand(3) - 5, ember.rand(3) - 0.5)]
    for x, y in cases:
        check(model, theirs, back, x, y)


def test_conditional_expression_with_and():
    model = Ternary()
    theirs, back = save_and_load(model)
    for x in (ember.rand(3), -ember.rand(3), ember.rand(1)):
        check(model, theirs, back, x)


def test_a_branch_on_a_number_argument():
    class Branchy(nn.Module):
        def forward(self, x, flag: bool = False):
            return -x if flag else x
    model = Branchy()
    theirs, back = save_and_load(model)
    x = ember.randn(3)
    for flag in (False, True):
        want = model(x, flag).numpy()
        np.testing.assert_allclose(theirs(to_torch(x), flag).numpy(), want)
        np.testing.assert_allclose(back(x, flag).numpy(), want)
    np.testing.assert_allclose(theirs(to_torch(x)).numpy(), x.numpy())


class Checked(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        if x.dim() != 2:
            raise ValueError("Checked expects a 2-D input,\n\"batch, features\"")
        return self.lin(x)


def test_a_raise_on_a_bad_input_is_kept():
    model = Checked().eval()
    theirs, back = save_and_load(model)
    check(model, theirs, back, ember.randn(4, 3))
    with pytest.raises(ValueError, match="2-D input"):
        model(ember.randn(1, 4, 3))
    with pytest.raises(torch.jit.Error, match="ValueError: Checked expects a 2-D input"):
        theirs(torch.randn(1, 4, 3))
    with pytest.raises(ember.jit.Error, match="Checked expects a 2-D input"):
        back(ember.randn(1, 4, 3))


def test_a_loop_on_a_value_is_refused():
    class Halving(nn.Module):
        def forward(self, x):
            while True:   # (a while on the value itself saves: test_jit_loops_save_js23.py)
                if x.abs().max() <= 1:
                    break
                x = x / 2
            return x
    with pytest.raises(NotImplementedError,
                       match=r"loops on a traced value at .*if x.abs\(\).max\(\) <= 1:"):
        ember.jit.save(Halving(), io.BytesIO())


def test_an_error_of_the_trace_itself_is_not_kept_as_a_raise():
    class Counted(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                x = x * len(x)   # len() of a traced value: untraceable
            return x
    with pytest.raises(NotImplementedError, match="cannot be traced by ember.fx"):
        ember.jit.save(Counted(), io.BytesIO())


class Variadic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x, *rest):
        y = self.lin(x)
        for r in rest:
            y = y * r
        return y


def test_variadic_forward_after_trace_takes_the_examples_arguments():
    xs = (ember.randn(2, 3), ember.randn(2, 3), ember.randn(1, 3))
    model = ember.jit.trace(Variadic().eval(), xs)
    theirs, back = save_and_load(model)
    assert [a.name for a in theirs.forward.schema.arguments][1:] == ["x", "rest_0", "rest_1"]
    check(model, theirs, back, *xs)
    again = (ember.randn(5, 3), ember.randn(5, 3), ember.randn(5, 3))
    check(model, theirs, back, *again)


def test_variadic_forward_without_trace_is_refused():
    with pytest.raises(NotImplementedError, match="variadic"):
        ember.jit.save(Variadic(), io.BytesIO())


class ManyOptional(nn.Module):
    def forward(self, x, a=None, b=None, c=None, d=None):
        if a is not None:
            x = x + a
        if b is not None:
            x = x * b
        if d is not None:
            x = x - d
        return x


def test_many_none_defaults_after_trace_keep_the_examples_arguments():
    x, a = ember.randn(3), ember.randn(3)
    model = ember.jit.trace(ManyOptional(), (x, a))
    theirs, back = save_and_load(model)
    assert [arg.name for arg in theirs.forward.schema.arguments][1:] == ["x", "a"]
    check(model, theirs, back, x, a)
    np.testing.assert_allclose(theirs(to_torch(x)).numpy(), x.numpy())


def test_many_none_defaults_without_trace_are_refused():
    with pytest.raises(NotImplementedError, match="at most 3"):
        ember.jit.save(ManyOptional(), io.BytesIO())


class MaskedThenBranch(nn.Module):
    def forward(self, x, mask=None, scale: float = 2.0):
        if mask is not None:   # traced both ways (None / a tensor)
            x = x.masked_fill(mask, 0.0)
        if x.sum() > 0:        # and within each, both sides of the value branch
            return x * scale
        return x - scale


def test_value_branch_inside_each_none_default_combination():
    model = MaskedThenBranch()
    theirs, back = save_and_load(model)
    for x in (ember.rand(3), -ember.rand(3)):
        for mask in (None, ember.tensor([True, False, False])):
            for scale in (2.0, 0.5):
                want = model(x, mask, scale).numpy()
                tm = None if mask is None else to_torch(mask)
                np.testing.assert_allclose(theirs(to_torch(x), tm, scale).numpy(), want,
                                           rtol=1e-6)
                np.testing.assert_allclose(back(x, mask, scale).numpy(), want, rtol=1e-6)
