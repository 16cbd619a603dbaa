"""dtypes against real PyTorch: names, aliases, properties, promotion and casting for
every pair, finfo/iinfo, the default dtype."""
import itertools
import pickle

import pytest
import torch

import ember

NAMES = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
         "float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
ALIASES = ["half", "float", "double", "short", "int", "long", "cfloat", "cdouble"]
PAIRS = list(itertools.product(NAMES, NAMES))


def _torch_result(fn):
    """(value, None) or (None, exception type) of a torch call."""
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return None, type(e)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_properties(name):
    e, t = getattr(ember, name), getattr(torch, name)
    assert repr(e) == f"ember.{name}"
    assert str(e) == f"ember.{name}"
    assert e.itemsize == t.itemsize
    assert e.is_floating_point == t.is_floating_point
    assert e.is_complex == t.is_complex
    assert e.is_signed == t.is_signed
    assert pickle.loads(pickle.dumps(e)) is e


@pytest.mark.parametrize("alias", ALIASES)
def test_aliases(alias):
    assert getattr(ember, alias).name == str(getattr(torch, alias)).split(".")[-1]


@pytest.mark.parametrize("a,b", PAIRS)
def test_promote_types_all_pairs(a, b):
    want, exc = _torch_result(lambda: torch.promote_types(getattr(torch, a), getattr(torch, b)))
    if exc is not None:
        with pytest.raises(exc):
            ember.promote_types(getattr(ember, a), getattr(ember, b))
        return
    got = ember.promote_types(getattr(ember, a), getattr(ember, b))
    assert got.name == str(want).split(".")[-1]


@pytest.mark.parametrize("a,b", PAIRS)
def test_can_cast_all_pairs(a, b):
    want = torch.can_cast(getattr(torch, a), getattr(torch, b))
    assert ember.can_cast(getattr(ember, a), getattr(ember, b)) == want


# result_type over tensors of several ranks and Python scalars
_SCALARS = [True, 3, 2.5, 1 + 2j]
_TENSOR_DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "bfloat16", "float32",
                  "float64", "complex64"]


def _operand(lib, spec):
    kind, val = spec
    if kind == "scalar":
        return val
    dt = getattr(lib, val)
    return lib.zeros((2,) if kind == "dim" else (), dtype=dt)


_SPECS = ([("dim", d) for d in _TENSOR_DTYPES] + [("zero", d) for d in _TENSOR_DTYPES]
          + [("scalar", s) for s in _SCALARS])


@pytest.mark.parametrize("x,y", [(x, y) for x in _SPECS for y in _SPECS
                                 if not (x[0] == "scalar" and y[0] == "scalar")])
def test_result_type(x, y):
    want = str(torch.result_type(_operand(torch, x), _operand(torch, y))).split(".")[-1]
    got = ember.result_type(_operand(ember, x), _operand(ember, y))
    # ember has no complex32 (NumPy has no complex half): float16 with complex gives complex64
    assert got.name == ("complex64" if want == "complex32" else want)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "complex64",
                                  "complex128"])
def test_finfo(name):
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(e, field) == getattr(t, field), field
    assert e.dtype == t.dtype


def test_finfo_default_and_errors():
    assert ember.finfo().eps == torch.finfo().eps
    with pytest.raises(TypeError):
        ember.finfo(ember.int32)
    with pytest.raises(TypeError):
        ember.iinfo(ember.float32)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64", "bool"])
def test_iinfo(name):
    want, exc = _torch_result(lambda: torch.iinfo(getattr(torch, name)))
    if exc is not None:
        with pytest.raises(exc):
            ember.iinfo(getattr(ember, name))
        return
    got = ember.iinfo(getattr(ember, name))
    for field in ("bits", "max", "min"):
        assert getattr(got, field) == getattr(want, field), field
    assert got.dtype == want.dtype


def test_default_dtype():
    assert ember.get_default_dtype() is ember.float32
    try:
        ember.set_default_dtype(ember.float64)
        assert ember.tensor(2.0).dtype is ember.float64
        assert ember.zeros(2).dtype is ember.float64
        assert ember.tensor(1 + 1j).dtype is ember.complex128
        assert (ember.tensor([1, 2]) / 2).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    assert ember.tensor(2.0).dtype is ember.float32
    assert ember.tensor(1 + 1j).dtype is ember.complex64
    with pytest.raises(TypeError):
        ember.set_default_dtype(ember.int64)
