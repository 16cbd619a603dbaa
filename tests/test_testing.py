"""ember.testing against torch.testing: assert_close passes and fails on the same inputs,
with the same exception type and message (ember's dtype names in place of torch's);
make_tensor's ranges, dtypes, shapes, layout and errors."""
import collections
import re
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.testing import assert_close, make_tensor

nan, inf = float("nan"), float("inf")


def T(lib, data, dtype=None, **kw):
    return lib.tensor(data, dtype=getattr(lib, dtype) if dtype else None, **kw)


# each case: lib -> (actual, expected, kwargs)
CASES = {
    "float_close": lambda L: (T(L, [1., 2., 3.]), T(L, [1., 2. + 1e-6, 3.]), {}),
    "float_mismatch": lambda L: (T(L, [1., 2., 3.]), T(L, [1., 2.5, 3.]), {}),
    "float_two_mismatches": lambda L: (T(L, [1., 4., 5.]), T(L, [1., 2., 3.]), {}),
    "float_2d": lambda L: (T(L, [[1., 2.], [3., 4.]]), T(L, [[1., 2.], [3., 5.]]), {}),
    "float_3d": lambda L: (T(L, np.arange(24.).reshape(2, 3, 4)),
                           T(L, np.arange(24.).reshape(2, 3, 4) * 1.01), {}),
    "float64_tight": lambda L: (T(L, [1.0], "float64"), T(L, [1.0 + 1e-6], "float64"), {}),
    "float16": lambda L: (L.zeros(3, dtype=L.float16), L.full((3,), 1e-3, dtype=L.float16), {}),
    "bfloat16_close": lambda L: (T(L, [1.0, 2.0], "bfloat16"), T(L, [1.0, 2.0078125], "bfloat16"),
                                 {}),
    "int_mismatch": lambda L: (T(L, [1, 2, 3]), T(L, [1, 4, 3]), {}),
    "int_rel_third": lambda L: (T(L, [1, 2, 3]), T(L, [1, 2, 6]), {}),
    "int_with_atol": lambda L: (T(L, [1, 2]), T(L, [1, 3]), dict(rtol=0, atol=2)),
    "uint8": lambda L: (T(L, [1, 200], "uint8"), T(L, [1, 100], "uint8"), {}),
    "bool_tensors": lambda L: (T(L, [True, False]), T(L, [True, True]), {}),
    "scalar_tensor": lambda L: (T(L, 1.), T(L, 2.), {}),
    "scalar_tensor_f32_value": lambda L: (T(L, 0.1), T(L, 0.3), {}),
    "dtype_mismatch": lambda L: (T(L, [1.]), T(L, [1.], "float64"), {}),
    "dtype_unchecked": lambda L: (T(L, [1.]), T(L, [1.], "float64"), dict(check_dtype=False)),
    "dtype_unchecked_int_float": lambda L: (T(L, [1, 2]), T(L, [1., 2.5]),
                                            dict(check_dtype=False)),
    "shape_mismatch": lambda L: (T(L, [1.]), T(L, [1., 2.]), {}),
    "stride_mismatch": lambda L: (L.ones(2, 3).t(), L.ones(3, 2), dict(check_stride=True)),
    "stride_unchecked": lambda L: (L.ones(2, 3).t(), L.ones(3, 2), {}),
    "nan_default": lambda L: (T(L, [nan]), T(L, [nan]), {}),
    "nan_equal": lambda L: (T(L, [1., nan]), T(L, [1., nan]), dict(equal_nan=True)),
    "inf_equal": lambda L: (T(L, [inf, -inf]), T(L, [inf, -inf]), {}),
    "inf_vs_finite": lambda L: (T(L, [1., inf]), T(L, [1., 2.]), {}),
    "zero_expected": lambda L: (T(L, [0., 1.]), T(L, [1e-4, 1.]), {}),
    "near_zero_close": lambda L: (T(L, [0., 1.]), T(L, [1e-6, 1.]), {}),
    "complex": lambda L: (T(L, [1 + 1j]), T(L, [1 + 2j]), {}),
    "only_rtol": lambda L: (T(L, [1.]), T(L, [1.]), dict(rtol=1e-3)),
    "only_atol": lambda L: (T(L, [1.]), T(L, [1.]), dict(atol=1e-3)),
    "loose_tolerances": lambda L: (T(L, [1., 2.]), T(L, [1.05, 2.]), dict(rtol=0.1, atol=0)),
    "msg_string": lambda L: (T(L, [1., 2., 3.]), T(L, [1., 2.5, 3.]), dict(msg="custom")),
    "msg_callable": lambda L: (T(L, [1., 2., 3.]), T(L, [1., 2.5, 3.]),
                               dict(msg=lambda m: "Header\n\n" + m + "\n\nFooter")),
    "msg_ignored_for_structure": lambda L: ([1, 2], [1, 2, 3], dict(msg="custom")),
    "float_scalars_close": lambda L: (1.0, 1.0 + 1e-9, {}),
    "float_scalars": lambda L: (1.0, 1.1, {}),
    "int_scalars": lambda L: (1, 2, {}),
    "int_float_scalars": lambda L: (1, 1.0, {}),
    "int_float_unchecked": lambda L: (1, 1.0, dict(check_dtype=False)),
    "complex_scalars": lambda L: (1 + 1j, 1 + 1.5j, {}),
    "scalar_nan": lambda L: (nan, nan, {}),
    "scalar_nan_equal": lambda L: (nan, nan, dict(equal_nan=True)),
    "numpy_scalars": lambda L: (np.float32(1.0), np.float32(1.5), {}),
    "bools": lambda L: (True, False, {}),
    "numpy_bool": lambda L: (np.bool_(True), True, {}),
    "none_none": lambda L: (None, None, {}),
    "none_one": lambda L: (None, 1, {}),
    "strings": lambda L: ("a", "b", {}),
    "tensor_vs_list": lambda L: (T(L, [1.]), [1.], {}),
    "numpy_arrays": lambda L: (np.array([1., 2.]), np.array([1., 3.]), {}),
    "numpy_vs_tensor": lambda L: (np.array([1.]), T(L, [1.]), {}),
    "list_item": lambda L: ([T(L, 1.), T(L, 2.)], [T(L, 1.), T(L, 3.)], {}),
    "tuple_vs_list": lambda L: ((1, 2), [1, 2], {}),
    "nested": lambda L: ([{"a": T(L, [1., 2.]), "b": [3, (4.0, T(L, 5))]}],
                         [{"a": T(L, [1., 2.]), "b": [3, (4.0, T(L, 6))]}], {}),
    "dict_item": lambda L: ({"a": T(L, 1.)}, {"a": T(L, 3.)}, {}),
    "dict_keys": lambda L: ({"a": T(L, 1.), "c": 1}, {"b": T(L, 3.), "c": 1}, {}),
    "ordered_vs_dict": lambda L: (collections.OrderedDict(x=T(L, [1.]), y=2.0),
                                  {"y": 2.0, "x": T(L, [1.])}, {}),
    "seq_length": lambda L: ([1, 2], [1, 2, 3], {}),
    "parameter_vs_tensor": lambda L: (L.nn.Parameter(T(L, [1., 2.])), T(L, [1., 2.]), {}),
    "parameter_strict": lambda L: (L.nn.Parameter(T(L, [1., 2.])), T(L, [1., 2.]),
                                   dict(allow_subclasses=False)),
    "requires_grad_ignored": lambda L: (T(L, [1., 2.], requires_grad=True), T(L, [1., 2.]), {}),
    "empty": lambda L: (L.ones(0, 3), L.ones(0, 3), {}),
    "first_failure_reported": lambda L: ([T(L, [1.]), T(L, [2.])], [T(L, [5.]), T(L, [7.])], {}),
}


def outcome(lib, name):
    actual, expected, kwargs = CASES[name](lib)
    check = torch.testing.assert_close if lib is torch else assert_close
    try:
        check(actual, expected, **kwargs)
    except Exception as e:  # noqa: BLE001  (the type and message are compared)
        return type(e), str(e)
    return None


@pytest.mark.parametrize("name", list(CASES))
def test_assert_close_agrees_with_torch(name):
    want = outcome(torch, name)
    got = outcome(ember, name)
    if want is None:
        assert got is None, got
        return
    assert got is not None, f"torch raised {want}, ember passed"
    assert got[0] is want[0]
    torch_msg = want[1].replace("torch.", "ember.")
    torch_msg = re.sub(r"<class 'ember\.nn\.parameter\.Parameter'>",
                       "<class 'ember.nn.parameter.Parameter'>", torch_msg)
    assert got[1] == torch_msg


def test_message_format_spelled_out():
    with pytest.raises(AssertionError) as e:
        assert_close(ember.tensor([1., 2., 3.]), ember.tensor([1., 2.5, 3.]))
    assert str(e.value) == (
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 3 (33.3%)\n"
        "Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 "
        "allowed)")


def test_random_float_pairs_agree_with_torch():
    rng = np.random.default_rng(0)
    for trial in range(40):
        shape = tuple(rng.integers(1, 4, size=rng.integers(1, 3)))
        a = rng.standard_normal(shape).astype(np.float32)
        b = a + (rng.standard_normal(shape) * 10.0 ** rng.integers(-8, -3)).astype(np.float32)
        results = []
        for lib, check in ((torch, torch.testing.assert_close), (ember, assert_close)):
            try:
                check(lib.tensor(a), lib.tensor(b))
                results.append(None)
            except AssertionError as err:
                results.append(str(err))
        assert results[0] == results[1], trial


def test_assert_allclose_deprecated():
    with pytest.warns(FutureWarning, match="assert_allclose\\(\\)` is deprecated"):
        ember.testing.assert_allclose(ember.tensor([1., 2.]), [1.00001, 2.])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AssertionError):
            ember.testing.assert_allclose(ember.tensor([1., 2.]), [1.1, 2.])
        with pytest.raises(AssertionError):
            torch.testing.assert_allclose(torch.tensor([1., 2.]), [1.1, 2.])


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64", "complex64", "complex128"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_make_tensor_default_ranges(dtype):
    t = make_tensor(200, dtype=getattr(ember, dtype), device="cpu")
    ref = torch.testing.make_tensor(200, dtype=getattr(torch, dtype), device="cpu")
    assert str(t.dtype) == str(ref.dtype).replace("torch.", "ember.")
    assert t.shape == (200,)
    parts = [t.real, t.imag] if t.is_complex() else [t]
    for p in parts:
        v = p.to(ember.float64).numpy() if dtype != "bool" else p.numpy()
        if dtype == "bool":
            assert set(v.tolist()) == {False, True}
        elif dtype == "uint8":
            assert v.min() >= 0 and v.max() <= 9
        elif dtype.startswith("int"):
            assert v.min() >= -9 and v.max() <= 9 and v.min() < 0
        else:
            assert v.min() >= -9 and v.max() <= 9 and v.min() < -4 and v.max() > 4


def test_make_tensor_options():
    t = make_tensor((3, 4), dtype=ember.float32, device="cpu", low=-1, high=1,
                    requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.shape == (3, 4)
    assert float(t.min()) >= -1 and float(t.max()) < 1
    n = make_tensor(3, 4, dtype=ember.int64, device="cpu", noncontiguous=True)
    assert not n.is_contiguous() and n.shape == (3, 4)
    assert make_tensor(1, dtype=ember.float32, device="cpu", noncontiguous=True).is_contiguous()
    z = make_tensor(500, dtype=ember.int8, device="cpu", low=-1, high=2, exclude_zero=True)
    assert (z != 0).all()
    assert set(z.tolist()) <= {-1, 1}
    f = make_tensor(2, 3, 4, 5, dtype=ember.float32, device="cpu",
                    memory_format=ember.channels_last)
    assert f.stride() == torch.empty(2, 3, 4, 5).to(memory_format=torch.channels_last).stride()
    big = make_tensor(50, dtype=ember.float32, device="cpu", low=-1e39, high=1e39)
    assert ember.isfinite(big).all()
    clamped = make_tensor(100, dtype=ember.uint8, device="cpu", low=-5, high=3)
    assert clamped.min() >= 0 and clamped.max() <= 2


@pytest.mark.parametrize("kwargs", [
    dict(dtype="float32", low=2, high=1),
    dict(dtype="int64", low=1, high=1),
    dict(dtype="float32", low=nan),
    dict(dtype="int64", requires_grad=True),
    dict(dtype="float32", noncontiguous=True, memory_format="channels_last"),
    dict(dtype="uint8", low=300, high=400),
])
def test_make_tensor_errors_as_torch(kwargs):
    def call(lib, fn):
        kw = dict(kwargs)
        kw["dtype"] = getattr(lib, kw["dtype"])
        if "memory_format" in kw:
            kw["memory_format"] = getattr(lib, kw["memory_format"])
        with pytest.raises(Exception) as e:
            fn(2, 3, device="cpu", **kw)
        return e
    te = call(torch, torch.testing.make_tensor)
    ee = call(ember, make_tensor)
    assert ee.type is te.type
    assert str(ee.value) == str(te.value).replace("torch.", "ember.")


def test_make_tensor_low_equals_high_warns():
    with pytest.warns(FutureWarning, match="low==high"):
        t = make_tensor(3, dtype=ember.float32, device="cpu", low=2, high=2)
    assert (t == 2).all()


def test_reachable_as_attribute_after_import_ember():
    import subprocess
    import sys
    code = "import ember; ember.testing.assert_close(ember.ones(2), ember.ones(2)); print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
