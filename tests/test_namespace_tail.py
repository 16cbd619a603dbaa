"""The long tail of the torch namespace (constants, layouts, torch-level in-place
functions, ATen's torch-level nn functions, math odds and ends, small utilities) agrees
with PyTorch's: values, dtypes, shapes, gradients and exception types."""
import math

import numpy as np
import pytest
import torch

import ember
from tests.oracle.harness import Grad, check, assert_same

rng = np.random.default_rng(7)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def f64(*s):
    return rng.standard_normal(s)


def pos(*s):
    return (rng.random(s) + 0.1).astype(np.float32)


# ---------------------------------------------------------------------------- constants

def test_constants_and_layouts():
    for name in ("pi", "e", "inf"):
        assert getattr(ember, name) == getattr(torch, name)
    assert math.isnan(ember.nan)
    assert ember.newaxis is None and torch.newaxis is None
    for name in ("strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc",
                 "jagged"):
        obj = getattr(ember, name)
        assert isinstance(obj, ember.layout) and not isinstance(obj, ember.memory_format)
        assert repr(obj) == repr(getattr(torch, name)).replace("torch.", "ember.")
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        obj = getattr(ember, name)
        assert isinstance(obj, ember.memory_format) and not isinstance(obj, ember.layout)
        assert repr(obj) == repr(getattr(torch, name)).replace("torch.", "ember.")


def test_channels_last_3d():
    check(lambda L, x: x.contiguous(memory_format=L.channels_last_3d).stride(), f32(2, 3, 2, 2, 2))
    check(lambda L, x: x.contiguous(memory_format=L.channels_last_3d).is_contiguous(
        memory_format=L.channels_last_3d), f32(2, 3, 2, 2, 2))
    check(lambda L, x: x.contiguous(memory_format=L.channels_last_3d), f32(2, 3))


# ---------------------------------------------------------------------------- in-place functions

INPLACE = [
    ("abs_", (), f32(3, 4)), ("sin_", (), f32(3, 4)), ("sigmoid_", (), f32(5)),
    ("log_", (), pos(3)), ("sqrt_", (), pos(3)), ("clamp_", (-0.5, 0.5), f32(3, 4)),
    ("clip_", (None, 0.2), f32(4)), ("clamp_min_", (0.1,), f32(4)), ("round_", (), f32(4)),
    ("xlogy_", (2.0,), pos(4)), ("ldexp_", (None,), f32(3)), ("nan_to_num_", (), f32(3)),
    ("logit_", (0.1,), pos(3) / 2), ("square_", (), f32(3)), ("trunc_", (), f32(3)),
    ("exp2_", (), f32(3)), ("neg_", (), f32(3)), ("deg2rad_", (), f32(3)),
]


@pytest.mark.parametrize("name,args,x", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_function(name, args, x):
    def fn(L, x):
        a = [L.tensor([1.0, 2.0, 3.0]) if v is None and name == "ldexp_" else v for v in args]
        y = x.clone()
        out = getattr(L, name)(y, *a)
        assert out is y
        return y
    check(fn, Grad(x))


def test_inplace_function_generated_list():
    names = [n for n in dir(torch) if n.endswith("_") and not n.startswith("_")
             and hasattr(ember.Tensor, n)]
    missing = [n for n in names if not hasattr(ember, n)]
    assert missing == []


def test_inplace_function_errors():
    for name in ("abs_", "clamp_", "addmv_"):
        with pytest.raises(TypeError):
            getattr(torch, name)(3)
        with pytest.raises(TypeError, match="must be Tensor"):
            getattr(ember, name)(3)
    check(lambda L, x: L.sqrt_(x), np.arange(3))  # int tensor: result type can't be cast
    check(lambda L, x, m, v: L.addmv_(x, m, v, beta=0.5, alpha=2), f32(3), f32(3, 4), f32(4))
    check(lambda L, x: L.as_strided_(x, (2, 2), (1, 2)), f32(6))
