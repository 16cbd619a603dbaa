"""Property tests: binary-op type promotion and broadcasting against PyTorch.

Random pairs of dtypes (bool, uint8, int8, int16, int32, int64, float16, bfloat16,
float32, float64), 0-dim vs n-dim tensors vs Python scalars, random broadcastable (or
not) shapes: the result dtype and values must equal torch's, and incompatible shapes
must raise RuntimeError as in torch."""
import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64"]
OPS = {
    "add": lambda L, a, b: a + b,
    "mul": lambda L, a, b: a * b,
    "sub": lambda L, a, b: a - b,
    "div": lambda L, a, b: a / b,
    "maximum": lambda L, a, b: L.maximum(a, b),
    "eq": lambda L, a, b: a == b,
    "lt": lambda L, a, b: a < b,
    "where": lambda L, a, b: L.where(a > 0 if a.dtype != L.bool else a, a, b),
    "atan2": lambda L, a, b: L.atan2(a, b),
    "copysign": lambda L, a, b: L.copysign(a, b),
}
SCALAR_OPS = {
    "add": lambda L, a, s: a + s, "radd": lambda L, a, s: s + a, "mul": lambda L, a, s: a * s,
    "div": lambda L, a, s: a / s, "rdiv": lambda L, a, s: s / a, "sub": lambda L, a, s: a - s,
    "eq": lambda L, a, s: a == s, "ge": lambda L, a, s: a >= s, "pow": lambda L, a, s: a ** s,
}


def _array(data, dtype, shape):
    return np.asarray(_values(data, dtype, shape))


def _values(data, dtype, shape):
    values = np.asarray(data.draw(st.lists(st.integers(-4, 4), min_size=int(np.prod(shape)),
                                           max_size=int(np.prod(shape)))), dtype=np.float64)
    values = values.reshape(shape)
    if dtype == "bool":
        return values > 0
    if dtype == "uint8":
        return np.abs(values).astype(np.uint8)
    if dtype == "bfloat16":
        return (values / 2).astype(ml_dtypes.bfloat16)
    if dtype.startswith("float"):
        return (values / 2).astype(dtype)
    return values.astype(dtype)


def _tensor(lib, arr):
    if lib is torch:
        if arr.dtype == ml_dtypes.bfloat16:
            return torch.from_numpy(arr.astype(np.float32)).to(torch.bfloat16)
        return torch.from_numpy(arr.copy())
    return ember.from_numpy(arr.copy())


def _numpy(t):
    if isinstance(t, torch.Tensor):
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    a = t.numpy()
    return a.astype(np.float32) if a.dtype == ml_dtypes.bfloat16 else a


def _compare(fn, a, b):
    try:
        expected = fn(torch, *[_tensor(torch, x) if isinstance(x, np.ndarray) else x
                               for x in (a, b)])
    except Exception as error:  # torch refuses: ember must refuse alike
        with pytest.raises(type(error)):
            fn(ember, *[_tensor(ember, x) if isinstance(x, np.ndarray) else x for x in (a, b)])
        return
    got = fn(ember, *[_tensor(ember, x) if isinstance(x, np.ndarray) else x for x in (a, b)])
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    assert tuple(got.shape) == tuple(expected.shape)
    tol = 1e-2 if expected.dtype in (torch.float16, torch.bfloat16) else 1e-6
    np.testing.assert_allclose(_numpy(got), _numpy(expected), rtol=tol, atol=tol, equal_nan=True)


shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast (most of the time) or clash (sometimes)."""
    base = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    a = [draw(st.sampled_from([n, 1])) for n in base]
    b = [draw(st.sampled_from([n, 1])) for n in base]
    b = b[draw(st.integers(0, len(b))):]
    if draw(st.booleans()) and draw(st.booleans()) and base:
        a[-1] = 2 if a[-1] != 2 else 3
        b = b or [3]
        b[-1] = 4
    return tuple(a), tuple(b)


@given(st.data(), st.sampled_from(DTYPES), st.sampled_from(DTYPES), broadcast_pair(),
       st.sampled_from(sorted(OPS)))
def test_tensor_tensor(data, da, db, shapes, op):
    a = _array(data, da, shapes[0])
    b = _array(data, db, shapes[1])
    _compare(OPS[op], a, b)


@given(st.data(), st.sampled_from(DTYPES), st.sampled_from(DTYPES), shapes,
       st.sampled_from(sorted(OPS)), st.booleans())
def test_zero_dim_vs_dimensioned(data, da, db, shape, op, swap):
    a = _array(data, da, tuple(shape) or (2,))
    b = _array(data, db, ())
    if swap:
        a, b = b, a
    _compare(OPS[op], a, b)


scalars = st.one_of(st.booleans(), st.integers(-3, 300), st.sampled_from([0.5, -1.25, 2.0, 1e-3]))


@given(st.data(), st.sampled_from(DTYPES), shapes, scalars, st.sampled_from(sorted(SCALAR_OPS)))
def test_tensor_scalar(data, da, shape, scalar, op):
    a = _array(data, da, tuple(shape))
    _compare(SCALAR_OPS[op], a, scalar)


@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES))
def test_promote_types_and_result_type(da, db):
    ta, tb = getattr(torch, da), getattr(torch, db)
    ea, eb = getattr(ember, da), getattr(ember, db)
    assert str(ember.promote_types(ea, eb)) == str(torch.promote_types(ta, tb)).replace("torch", "ember")
    t = torch.result_type(torch.zeros(2, dtype=ta), torch.zeros((), dtype=tb))
    e = ember.result_type(ember.zeros(2, dtype=ea), ember.zeros((), dtype=eb))
    assert str(e).split(".")[-1] == str(t).split(".")[-1]
