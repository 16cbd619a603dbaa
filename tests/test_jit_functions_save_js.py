"""ember.jit.save of a function (what torch.jit.script of a function is in PyTorch: saved
as a module whose forward calls it), and of F.interpolate / nn.Upsample with antialias
or recompute_scale_factor; each archive runs in real torch.jit.load with ember's outputs
and in ember.jit.load."""
import io
from typing import Optional

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from tests.jit_roundtrip import save_and_load, to_torch  # noqa: E402

nn = ember.nn
F = ember.nn.functional


def check(obj, *args, rtol=1e-5, atol=1e-6):
    theirs, back = save_and_load(obj)
    want = obj(*args)
    want = want if isinstance(want, tuple) else (want,)
    got = theirs(*[to_torch(a) for a in args])
    got = got if isinstance(got, tuple) else (got,)
    again = back(*args)
    again = again if isinstance(again, tuple) else (again,)
    assert len(got) == len(want) == len(again)
    for w, g, a in zip(want, got, again):
        assert tuple(g.shape) == tuple(w.shape)
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=atol)
        np.testing.assert_allclose(a.detach().numpy(), w.detach().numpy(), rtol=1e-6,
                                   atol=1e-7)
    return theirs


@ember.jit.script
def scaled_relu(x, y: float):
    return ember.relu(x) * y + x.sum(0)


def two_outputs(a, b):
    return ember.matmul(a, b.t()), (a - b).abs().max()


def test_scripted_function_saves_as_torch_saves_one():
    x = ember.randn(3, 2)
    theirs = check(scaled_relu, x, 2.5)
    assert "y: float" in theirs.code   # the annotation types the argument
    assert type(theirs).__name__ == "RecursiveScriptModule"


def test_plain_function_with_two_outputs():
    check(two_outputs, ember.randn(3, 4), ember.randn(3, 4))


def test_function_with_a_number_default():
    def with_default(x, k: int = 2, shift=0.5):
        return x * k + shift
    theirs, back = save_and_load(with_default)
    assert "k: int=2" in theirs.code and "shift: float=0.5" in theirs.code
    x = ember.randn(3)
    for args in [(), (3,), (3, -1.0)]:
        want = with_default(x, *args).numpy()
        np.testing.assert_allclose(theirs(to_torch(x), *args).numpy(), want, rtol=1e-6)
        np.testing.assert_allclose(back(x, *args).numpy(), want, rtol=1e-6)


# (a branch on a number argument: tests/test_jit_branches_save_js21.py)


def test_variadic_function_is_refused():
    def variadic(*xs):
        return xs[0]
    with pytest.raises(NotImplementedError, match=r"\*args"):
        ember.jit.save(variadic, io.BytesIO())


def test_other_objects_are_refused():
    with pytest.raises(NotImplementedError, match="only modules and functions"):
        ember.jit.save(3, io.BytesIO())


class Resize(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.kw = kw

    def forward(self, x):
        return F.interpolate(x, **self.kw)


@pytest.mark.parametrize("kw", [
    {"scale_factor": 0.5, "mode": "bilinear", "antialias": True},
    {"size": (5, 3), "mode": "bicubic", "antialias": True, "align_corners": True},
    {"scale_factor": 1.7, "mode": "bilinear", "recompute_scale_factor": True},
    {"scale_factor": (1.3, 0.6), "mode": "nearest", "recompute_scale_factor": True},
    {"scale_factor": 2.5, "recompute_scale_factor": True},
    {"scale_factor": 0.45, "mode": "bicubic", "antialias": True,
     "recompute_scale_factor": True},
])
def test_interpolate_antialias_and_recompute(kw):
    ember.manual_seed(0)
    check(Resize(**kw).eval(), ember.randn(1, 2, 7, 9), rtol=1e-4, atol=1e-5)


def test_interpolate_antialias_with_another_mode_raises_as_torch():
    with pytest.raises(ValueError, match="Anti-alias option is restricted"):
        ember.jit.save(Resize(scale_factor=2, mode="nearest", antialias=True), io.BytesIO())
    with pytest.raises(ValueError, match="Anti-alias option is restricted"):
        torch.nn.functional.interpolate(torch.ones(1, 1, 2, 2), scale_factor=2, antialias=True)


@pytest.mark.parametrize("kw,shape", [
    ({"scale_factor": 1.5, "mode": "bilinear", "recompute_scale_factor": True}, (1, 3, 5, 5)),
    ({"scale_factor": 1.7, "recompute_scale_factor": True}, (1, 2, 5)),
    ({"scale_factor": (1.5, 2.2, 1.2), "mode": "trilinear", "recompute_scale_factor": True},
     (1, 1, 3, 4, 3)),
])
def test_upsample_recompute_scale_factor(kw, shape):
    check(nn.Upsample(**kw), ember.randn(*shape), rtol=1e-5, atol=1e-6)


class OptionalArguments(nn.Module):
    """forward arguments defaulting to None, which the forward branches on."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x, mask=None, scale: Optional[float] = None):
        y = self.linear(x)
        if mask is not None:
            y = y.masked_fill(mask, 0.0)
        if scale is not None:
            y = y * scale
        return y


@pytest.mark.parametrize("given", [(), ("mask",), ("scale",), ("mask", "scale")])
def test_arguments_defaulting_to_none_are_traced_both_ways(given):
    ember.manual_seed(0)
    model = OptionalArguments().eval()
    theirs, back = save_and_load(model)
    assert "mask: Optional[Tensor]=None" in theirs.code
    assert "scale: Optional[float]=None" in theirs.code
    x = ember.randn(2, 4)
    kwargs = {}
    if "mask" in given:
        kwargs["mask"] = ember.tensor([[True, False, False, True]] * 2)
    if "scale" in given:
        kwargs["scale"] = 2.5
    want = model(x, **kwargs).detach().numpy()
    got = theirs(to_torch(x), **{k: to_torch(v) for k, v in kwargs.items()})
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back(x, **kwargs).detach().numpy(), want, rtol=1e-6)


def test_more_than_three_none_defaults_are_refused():
    class Many(nn.Module):
        def forward(self, x, a=None, b=None, c=None, d=None):
            return x
    with pytest.raises(NotImplementedError, match="4 arguments defaulting to None"):
        ember.jit.save(Many(), io.BytesIO())
