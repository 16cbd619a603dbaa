"""repr(tensor) must be PyTorch's repr, character for character, with `ember.` for `torch.`.

Every case builds the same tensor in both libraries from one NumPy array and compares
the two reprs: a hand-picked table (layout rules one by one), hypothesis-generated arrays
for every dtype (shapes with 0-sized and 0-dim cases, magnitudes 1e-10..1e10, nan/inf,
negative zero, integer-valued floats), summarized tensors above the threshold, every
print option, and a changed default dtype.
"""
import math

import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import ember
from ember._printing import tensor_repr

INT_DTYPES = ["uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64"]
FLOAT_DTYPES = ["float16", "bfloat16", "float32", "float64"]
COMPLEX_DTYPES = ["complex64", "complex128"]
ALL_DTYPES = ["bool"] + INT_DTYPES + FLOAT_DTYPES + COMPLEX_DTYPES


def np_dtype(name):
    return ml_dtypes.bfloat16 if name == "bfloat16" else np.dtype(name)


def to_torch(arr, requires_grad=False):
    if arr.dtype == ml_dtypes.bfloat16:
        t = torch.from_numpy(arr.astype(np.float32)).to(torch.bfloat16)
    else:
        t = torch.from_numpy(arr.copy())
    return t.requires_grad_(requires_grad)


def to_ember(arr, requires_grad=False):
    return ember.from_numpy(arr.copy()).requires_grad_(requires_grad)


def torch_text(text):
    """torch's repr as ember writes it."""
    return text.replace("torch.", "ember.")


def assert_same_repr(arr, requires_grad=False):
    expected = torch_text(repr(to_torch(arr, requires_grad)))
    got = repr(to_ember(arr, requires_grad))
    assert got == expected, f"\nember:\n{got}\ntorch:\n{expected}"
    assert str(to_ember(arr, requires_grad)) == got


@pytest.fixture(autouse=True)
def default_options():
    """Every test starts and ends with default print options and default dtype."""
    yield
    for lib in (torch, ember):
        lib.set_printoptions(profile="default")
        lib.set_default_dtype(lib.float32)


# ---------------------------------------------------------------- hand-picked table
def a(values, dtype="float32"):
    return np.array(values, dtype=np_dtype(dtype))


HAND_PICKED = [
    ("0-dim float", a(3.5)),
    ("0-dim whole float", a(2.0)),
    ("0-dim int", a(7, "int64")),
    ("0-dim bool", a(True, "bool")),
    ("0-dim negative zero", a(-0.0)),
    ("0-dim nan", a(float("nan"))),
    ("0-dim -inf float64", a(-math.inf, "float64")),
    ("0-dim complex", a(1 - 2j, "complex64")),
    ("0-dim sci", a(1e-7)),
    ("whole floats", a([1.0, 2.0, -3.0])),
    ("fixed", a([0.1, 0.25, -1.5])),
    ("precision rounding", a([0.12345, 1.00005, 2.99996])),
    ("ratio above 1000 -> sci", a([1.0, 1001.0])),
    ("ratio exactly 1000", a([1.0, 1000.0])),
    ("1e10", a([1e10, 1.0])),
    ("above 1e8", a([1.5e8])),
    ("below 1e-4", a([5e-5, 1e-4])),
    ("tiny float64", a([1e-10, 2e-10], "float64")),
    ("nan inf mixed", a([math.nan, math.inf, -math.inf, 1.5])),
    ("only nonfinite", a([math.nan, math.inf, -math.inf])),
    ("zeros", a([0.0, -0.0, 0.0])),
    ("negative zero fixed", a([-0.0, 0.5])),
    ("whole with inf", a([1.0, math.inf, -2.0])),
    ("sci with nan", a([1e-9, math.nan, 3.0])),
    ("ints", a([1, -20, 300], "int64")),
    ("int32", a([[1, 2], [3, 4]], "int32")),
    ("uint8", a([0, 255], "uint8")),
    ("bool", a([True, False, True], "bool")),
    ("bool matrix", a([[True], [False]], "bool")),
    ("float16", a([0.1, 65504.0, -2.0], "float16")),
    ("bfloat16", a([0.1, 3.0, -1e20], "bfloat16")),
    ("float64", a([0.1, 0.2], "float64")),
    ("complex64", a([1 + 1j, -2.5 - 0.5j, 3j], "complex64")),
    ("complex128", a([[1e-5 + 2j, 3 - 4e3j]], "complex128")),
    ("complex negative zero imag", a([complex(1.0, -0.0), complex(-0.0, 0.0)], "complex64")),
    ("complex nan", a([complex(math.nan, 1.0), complex(2.0, math.inf)], "complex128")),
    ("empty 1d", a([])),
    ("empty int", np.zeros((0,), np.int64)),
    ("empty 2d", np.zeros((0, 3), np.float32)),
    ("empty 3d float64", np.zeros((2, 0, 3), np.float64)),
    ("empty bool", np.zeros((3, 0), np.bool_)),
    ("empty complex", np.zeros((0,), np.complex64)),
    ("matrix", np.arange(12, dtype=np.float32).reshape(3, 4) / 7),
    ("3d", np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 11.5),
    ("4d", np.arange(16, dtype=np.int64).reshape(2, 2, 2, 2)),
    ("single element nested", np.ones((1, 1, 1), np.float32)),
    ("transposed (non-contiguous)", (np.arange(6, dtype=np.float64).reshape(2, 3) / 3).T),
    ("strided slice", np.arange(20, dtype=np.float32)[::3]),
    ("wraps at 80 columns", np.linspace(-1, 1, 40).astype(np.float32)),
    ("wraps long ints", np.arange(100, dtype=np.int64) * 1000003),
    ("wraps complex", (np.arange(20) + 1j * np.arange(20)[::-1]).astype(np.complex64) / 3),
    ("wraps nested rows", np.linspace(-5, 5, 60).astype(np.float32).reshape(3, 20)),
    ("1001 elements", np.arange(1001, dtype=np.float32)),
    ("exactly 1000 elements", np.arange(1000, dtype=np.int64)),
    ("summarized matrix", np.arange(2000, dtype=np.float32).reshape(40, 50) / 3),
    ("summarized 3d", np.arange(3000, dtype=np.int64).reshape(10, 10, 30)),
    ("summarized short dims", np.arange(1200, dtype=np.float32).reshape(2, 600)),
    ("summarized sci", np.logspace(-6, 6, 1500).astype(np.float64)),
    ("summarized bool", np.arange(1500).reshape(30, 50) % 3 == 0),
    ("summarized complex", (np.arange(1100) * (1 + 1j)).astype(np.complex64)),
    ("summary edges decide format", np.concatenate([np.ones(3), np.full(1000, 0.123),
                                                    np.ones(3)]).astype(np.float32)),
]


@pytest.mark.parametrize("name, arr", HAND_PICKED, ids=[c[0] for c in HAND_PICKED])
def test_hand_picked(name, arr):
    assert_same_repr(arr)


@pytest.mark.parametrize("name, arr", [c for c in HAND_PICKED if c[1].dtype.kind in "fc"],
                         ids=[c[0] for c in HAND_PICKED if c[1].dtype.kind in "fc"])
def test_hand_picked_requires_grad(name, arr):
    assert_same_repr(arr, requires_grad=True)


# ---------------------------------------------------------------- autograd suffixes
GRAD_FN_CASES = [
    ("mul", lambda lib, x: x * 2),
    ("add", lambda lib, x: x + x),
    ("neg", lambda lib, x: -x),
    ("sum", lambda lib, x: x.sum()),
    ("mean", lambda lib, x: x.mean()),
    ("exp", lambda lib, x: x.exp()),
    ("view", lambda lib, x: x.view(-1)),
    ("transpose", lambda lib, x: x.t()),
    ("detach", lambda lib, x: (x * 2).detach()),
    ("float64 mul", lambda lib, x: x.double() * 3),
    ("int result, no grad", lambda lib, x: (x > 0)),
    ("no_grad", lambda lib, x: _no_grad(lib, x)),
    ("in-place on a view", lambda lib, x: _scaled_row(x)),
]


def _scaled_row(x):
    y = x * 1
    y[0].mul_(2)
    return y   # grad_fn=<CopySlices>, an engine node named torch::autograd::CopySlices


def _no_grad(lib, x):
    with lib.no_grad():
        return x * 2


@pytest.mark.parametrize("name, fn", GRAD_FN_CASES, ids=[c[0] for c in GRAD_FN_CASES])
def test_grad_fn_suffix(name, fn):
    arr = np.array([[1.0, -2.5], [0.125, 4.0]], np.float32)
    expected = torch_text(repr(fn(torch, to_torch(arr, True))))
    assert repr(fn(ember, to_ember(arr, True))) == expected


def test_suffix_wraps_to_new_line():
    arr = np.linspace(-1, 1, 9).astype(np.float64)  # one line, near 80 columns with suffixes
    for cols in (9, 10, 11, 12):
        arr = np.linspace(-1, 1, cols).astype(np.float64)
        expected = torch_text(repr(to_torch(arr, True) * 2))
        assert repr(to_ember(arr, True) * 2) == expected


def test_device_suffix(monkeypatch):
    """A CUDA tensor prints device='cuda:0' first (no GPU needed: the device is faked)."""
    monkeypatch.setattr(ember.Tensor, "device", property(lambda self: ember.device("cuda", 0)))
    t = ember.tensor([1.0, 2.0], requires_grad=True)
    assert repr(t) == "tensor([1., 2.], device='cuda:0', requires_grad=True)"
    assert repr(ember.tensor([1, 2], dtype=ember.int32)) == \
        "tensor([1, 2], device='cuda:0', dtype=ember.int32)"
    assert repr(to_ember(np.zeros((0, 2), np.float32))) == "tensor([], device='cuda:0', size=(0, 2))"


def test_parameter_header():
    arr = np.array([[1.0, 2.0]], np.float32)
    expected = torch_text(repr(torch.nn.Parameter(to_torch(arr))))
    got = tensor_repr(to_ember(arr, True), header="Parameter containing:\n")
    assert got == expected


def test_subclass_prints_class_name():
    class MyTensor(torch.Tensor):
        pass

    class MyEmberTensor(ember.Tensor):
        pass

    MyEmberTensor.__name__ = "MyTensor"
    expected = repr(torch.Tensor._make_subclass(MyTensor, torch.ones(2, 2)))
    got = repr(MyEmberTensor._make(np.ones((2, 2), np.float32)))
    assert got == expected


def test_tensor_contents():
    arr = np.ones(2, np.float64)
    t, e = to_torch(arr), to_ember(arr)
    expected = torch_text(t.__repr__(tensor_contents="[...]"))
    assert e.__repr__(tensor_contents="[...]") == expected


# ---------------------------------------------------------------- generated arrays
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


@st.composite
def arrays(draw, dtype_name):
    """An array of `dtype_name` with a drawn shape, magnitude and special values."""
    shape = draw(SHAPES)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype_name == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype_name in INT_DTYPES:
        info = np.iinfo(dtype_name)
        bound = draw(st.sampled_from([10, 1000, 2**31]))
        low, high = max(info.min, -bound), min(info.max, bound)
        return np.asarray(rng.integers(low, high, size=shape, endpoint=True), dtype_name)
    scale = 10.0 ** draw(st.integers(-10, 10))
    spread = draw(st.sampled_from([1.0, 100.0, 1e6]))  # ratio between largest and smallest
    values = np.asarray(rng.standard_normal(shape) * scale * spread ** rng.random(shape))
    if dtype_name in COMPLEX_DTYPES:
        values = np.asarray(values + 1j * rng.standard_normal(shape) * scale)
    if draw(st.booleans()):
        values = np.asarray(np.round(values))
    flat = values.reshape(-1)
    if flat.size:
        specials = draw(st.lists(st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0]),
                                 max_size=3))
        for special in specials:
            flat[rng.integers(flat.size)] = special
    with np.errstate(over="ignore"):  # float16 overflows to inf, as it should
        return values.astype(np_dtype(dtype_name))


@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
@given(data=st.data())
def test_generated(dtype_name, data):
    arr = data.draw(arrays(dtype_name))
    requires_grad = dtype_name in FLOAT_DTYPES + COMPLEX_DTYPES and data.draw(st.booleans())
    if data.draw(st.booleans()) and arr.ndim >= 2:
        arr = np.swapaxes(arr, 0, -1)  # non-contiguous
    assert_same_repr(arr, requires_grad)


@pytest.mark.parametrize("dtype_name", ["int64", "float32", "float64", "complex64"])
@given(data=st.data())
def test_generated_summarized(dtype_name, data):
    """Above the 1000-element threshold, with the dims' lengths around 2 * edgeitems."""
    shape = data.draw(st.sampled_from([(1001,), (6, 200), (7, 150), (200, 6), (3, 3, 112),
                                       (11, 10, 10), (2, 2, 2, 130)]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** data.draw(st.integers(-6, 9))
    arr = rng.standard_normal(shape) * scale
    if dtype_name == "complex64":
        arr = arr + 1j * rng.standard_normal(shape)
    if dtype_name == "int64":
        arr = np.round(arr).clip(-2**62, 2**62)
    assert_same_repr(arr.astype(dtype_name))


# ---------------------------------------------------------------- print options
OPTION_SETS = [
    dict(precision=2),
    dict(precision=0),
    dict(precision=8),
    dict(threshold=5),
    dict(threshold=5, edgeitems=1),
    dict(threshold=5, edgeitems=0),
    dict(edgeitems=5),
    dict(linewidth=30),
    dict(linewidth=200),
    dict(linewidth=5),
    dict(sci_mode=True),
    dict(sci_mode=False),
    dict(sci_mode=True, precision=1),
    dict(profile="short"),
    dict(profile="full"),
    dict(profile="full", precision=6),
]

OPTION_ARRAYS = [
    np.arange(20, dtype=np.float32) / 3,
    np.array([1e10, 1e-10, 1.0], np.float64),
    np.array([1.0, 2.0, math.nan], np.float32),
    np.array([[1.0, -20.0], [300.0, 0.0]], np.float64),
    np.arange(30, dtype=np.int64).reshape(5, 6),
    np.arange(1200, dtype=np.float32).reshape(30, 40) * 1.5,
    (np.arange(12) * (1 - 1j)).astype(np.complex64).reshape(3, 4),
    np.array(0.123456789, np.float64),
    np.zeros((0, 4), np.float32),
    np.array([True, False] * 6).reshape(2, 2, 3),
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=[str(o) for o in OPTION_SETS])
def test_print_options(options):
    torch.set_printoptions(**options)
    ember.set_printoptions(**options)
    assert ember.get_printoptions() == torch._tensor_str.get_printoptions()
    for arr in OPTION_ARRAYS:
        assert_same_repr(arr)
        assert_same_repr(arr, requires_grad=arr.dtype.kind in "fc")


def test_profile_default_restores():
    ember.set_printoptions(precision=1, threshold=3, edgeitems=1, linewidth=10, sci_mode=True)
    ember.set_printoptions(profile="default")
    assert ember.get_printoptions() == dict(precision=4, threshold=1000, edgeitems=3,
                                            linewidth=80, sci_mode=None)


def test_printoptions_context_manager():
    from ember._printing import printoptions
    with printoptions(precision=1):
        assert repr(ember.tensor([0.25, 1.0 / 3])) == "tensor([0.2, 0.3])"
    assert repr(ember.tensor([1.0 / 3])) == "tensor([0.3333])"


# ---------------------------------------------------------------- default dtype
DEFAULT_DTYPE_ARRAYS = [
    np.array([1.5, 2.0], np.float32),
    np.array([1.5, 2.0], np.float64),
    np.array([1.0, 2.0], np.float16),
    np.array(3.0, np.float64),
    np.array([1, 2], np.int64),
    np.array([1, 2], np.int32),
    np.array([True]),
    np.zeros((0,), np.float32),
    np.zeros((0,), np.float64),
    np.zeros((0, 2), np.int64),
]


@pytest.mark.parametrize("default", ["float64", "float16"])
def test_default_dtype(default):
    torch.set_default_dtype(getattr(torch, default))
    ember.set_default_dtype(getattr(ember, default))
    for arr in DEFAULT_DTYPE_ARRAYS:
        assert_same_repr(arr)
    if default == "float64":  # torch's complex default for float16 is complex32, not in ember
        for arr in (np.array([1j], np.complex64), np.array([1j], np.complex128)):
            assert_same_repr(arr)
