"""Tensor creation against real PyTorch: values, dtypes, shapes and error types.

Random functions cannot match torch's streams; they are compared on shape, dtype and
errors here (the values are tested statistically in tests/test_random.py).
"""
import numpy as np
import pytest
import torch

import ember

from . import harness
from .harness import Grad, assert_same, check

rng = np.random.default_rng(0)
f32 = rng.standard_normal((3, 4)).astype(np.float32)
f64 = rng.standard_normal((2, 3)).astype(np.float64)
i64 = rng.integers(-5, 5, (2, 3)).astype(np.int64)
i32 = rng.integers(-5, 5, (4,)).astype(np.int32)
u8 = rng.integers(0, 9, (3,)).astype(np.uint8)
b = np.array([True, False, True])
empty = np.zeros((0, 3), np.float32)
zero_dim = np.array(1.5, np.float32)


def _name(t):
    return str(t.dtype).split(".")[-1]


def _shape_dtype(fn):
    """Wrap a random creation fn: compare only shape and dtype (values cannot match)."""
    def wrapped(L, *a):
        r = fn(L, *a)
        return (list(r.shape), _name(r), r.requires_grad)
    return wrapped


CASES = [
    # ---- tensor(): data and dtype inference
    ("tensor_int", lambda L: L.tensor(1), ()),
    ("tensor_float", lambda L: L.tensor(2.0), ()),
    ("tensor_bool", lambda L: L.tensor(True), ()),
    ("tensor_complex", lambda L: L.tensor(1 + 2j), ()),
    ("tensor_nested", lambda L: L.tensor([[1, 2], [3, 4]]), ()),
    ("tensor_mixed_int_float", lambda L: L.tensor([1, 2.5, 3]), ()),
    ("tensor_mixed_bool_int", lambda L: L.tensor([True, 2]), ()),
    ("tensor_bools", lambda L: L.tensor([True, False]), ()),
    ("tensor_empty_list", lambda L: L.tensor([]), ()),
    ("tensor_empty_nested", lambda L: L.tensor([[], []]), ()),
    ("tensor_tuple", lambda L: L.tensor(((1.0, 2.0), (3.0, 4.0))), ()),
    ("tensor_np_f64", lambda L: L.tensor(f64), ()),
    ("tensor_np_i32", lambda L: L.tensor(i32), ()),
    ("tensor_np_u8", lambda L: L.tensor(u8), ()),
    ("tensor_np_bool", lambda L: L.tensor(b), ()),
    ("tensor_np_transposed", lambda L: L.tensor(f32.T), ()),
    ("tensor_np_scalar_f64", lambda L: L.tensor(np.float64(2.5)), ()),
    ("tensor_np_scalar_i32", lambda L: L.tensor(np.int32(7)), ()),
    ("tensor_list_of_np_scalars", lambda L: L.tensor([np.float64(1.0), np.float64(2.0)]), ()),
    ("tensor_list_of_tensors", lambda L: L.tensor([L.tensor(1.0), L.tensor(2.0)]), ()),
    ("tensor_list_of_1d_tensors", lambda L: L.tensor([L.tensor([1, 2]), L.tensor([3, 4])]), ()),
    ("tensor_dtype", lambda L: L.tensor([1, 2], dtype=L.float64), ()),
    ("tensor_dtype_bf16", lambda L: L.tensor([1.5, 2.25], dtype=L.bfloat16), ()),
    ("tensor_dtype_half", lambda L: L.tensor([1.5, 2.25], dtype=L.half), ()),
    ("tensor_float_to_int", lambda L: L.tensor([1.7, -2.7], dtype=L.int64), ()),
    ("tensor_requires_grad", lambda L: L.tensor([1.0, 2.0], requires_grad=True).requires_grad, ()),
    ("tensor_device_cpu", lambda L: str(L.tensor([1.0], device="cpu").device), ()),
    ("tensor_big_int", lambda L: L.tensor(2 ** 40), ()),
    ("tensor_inf_nan", lambda L: L.tensor([float("inf"), float("nan")]), ()),
    ("tensor_of_tensor", lambda L, x: L.tensor(x), (f32,)),
    ("tensor_of_tensor_dtype", lambda L, x: L.tensor(x, dtype=L.float64), (f32,)),
    # ---- tensor(): errors
    ("err_ragged", lambda L: L.tensor([[1, 2], [3]]), ()),
    ("err_ragged_deep", lambda L: L.tensor([[1, 2], 3]), ()),
    ("err_str", lambda L: L.tensor("abc"), ()),
    ("err_str_in_list", lambda L: L.tensor([1, "a"]), ()),
    ("err_none", lambda L: L.tensor(None), ()),
    ("err_dict", lambda L: L.tensor({1: 2}), ()),
    ("err_int_requires_grad", lambda L: L.tensor([1, 2], requires_grad=True), ()),
    ("err_overflow", lambda L: L.tensor(2 ** 70), ()),
    ("err_overflow_in_list", lambda L: L.tensor([1, 2 ** 63]), ()),
    ("err_overflow_uint8", lambda L: L.tensor([300, 1], dtype=L.uint8), ()),
    ("tensor_min_int64", lambda L: L.tensor(-2 ** 63), ()),
    ("tensor_float_overflow_f32", lambda L: L.tensor([1e300], dtype=L.float32), ()),
    ("tensor_range", lambda L: L.tensor(range(3)), ()),
    ("tensor_np_scalar_mix", lambda L: L.tensor([1.0, np.float32(2.0)]), ()),
    ("tensor_np_scalar_mix_int", lambda L: L.tensor([np.int32(1), np.int16(2)]), ()),
    ("tensor_np_f16_int", lambda L: L.tensor([np.float16(1), np.int64(2)]), ()),
    ("tensor_list_0d_tensor_float", lambda L: L.tensor([L.tensor(1), 2.5]), ()),
    ("tensor_list_of_np_arrays", lambda L: L.tensor([np.array([1, 2]), np.array([3, 4])]), ()),
    ("tensor_one_elem_tensor_in_list", lambda L: L.tensor([L.tensor([1.0])]), ()),
    ("tensor_dtype_python_float", lambda L: L.tensor([1], dtype=float), ()),
    ("tensor_dtype_python_int", lambda L: L.tensor([1.5], dtype=int), ()),
    ("err_ragged_deep2", lambda L: L.tensor([[[1, 2], [3, 4]], [[1, 2], [3]]]), ()),
    ("err_scalar_then_list", lambda L: L.tensor([1, [2, 3]]), ()),
    ("err_object", lambda L: L.tensor([object()]), ()),
    ("err_none_in_list", lambda L: L.tensor([1, None]), ()),
    ("err_dtype_str", lambda L: L.tensor([1], dtype="float32"), ()),
    # ---- legacy constructors
    ("Tensor_list", lambda L: L.Tensor([1, 2, 3]), ()),
    ("Tensor_sizes", lambda L: list(L.Tensor(2, 3).shape), ()),
    ("Tensor_size_obj", lambda L: list(L.Tensor(L.Size([2, 3])).shape), ()),
    ("Tensor_empty", lambda L: L.Tensor().shape, ()),
    ("FloatTensor_list", lambda L: L.FloatTensor([32]), ()),
    ("FloatTensor_type_int", lambda L: L.FloatTensor([32.7]).type(L.int), ()),
    ("LongTensor_list", lambda L: L.LongTensor([1, 2]), ()),
    ("LongTensor_size", lambda L: (list(L.LongTensor(3).shape), _name(L.LongTensor(3))), ()),
    ("DoubleTensor", lambda L: L.DoubleTensor([[1, 2]]), ()),
    ("IntTensor", lambda L: L.IntTensor([1, 2]), ()),
    ("ByteTensor", lambda L: L.ByteTensor([1, 2]), ()),
    ("BoolTensor", lambda L: L.BoolTensor([1, 0]), ()),
    ("HalfTensor", lambda L: L.HalfTensor([1.5]), ()),
    # on CPU: a CUDA tensor is no FloatTensor (tests/test_legacy_cuda_types.py)
    ("isinstance_FloatTensor", lambda L: isinstance(L.zeros(2, device="cpu"), L.FloatTensor), ()),
    ("isinstance_LongTensor", lambda L: isinstance(L.zeros(2, device="cpu"), L.LongTensor), ()),
    ("err_Tensor_str", lambda L: L.Tensor("a"), ()),
    # ---- as_tensor / asarray / from_numpy
    ("as_tensor_list", lambda L: L.as_tensor([1, 2, 3]), ()),
    ("as_tensor_np", lambda L: L.as_tensor(f64), ()),
    ("as_tensor_np_dtype", lambda L: L.as_tensor(f64, dtype=L.float32), ()),
    ("as_tensor_tensor", lambda L, x: L.as_tensor(x, dtype=L.float64), (f32,)),
    ("asarray_list", lambda L: L.asarray([1.0, 2.0]), ()),
    ("asarray_np", lambda L: L.asarray(i32), ()),
    ("asarray_copy", lambda L: L.asarray(i32, copy=True), ()),
    ("asarray_dtype", lambda L: L.asarray([1, 2], dtype=L.float16), ()),
    ("from_numpy", lambda L: L.from_numpy(f32.copy()), ()),
    ("from_numpy_0d", lambda L: L.from_numpy(np.array(3, np.int16)), ()),
    ("err_from_numpy_list", lambda L: L.from_numpy([1, 2]), ()),
    ("err_from_numpy_object", lambda L: L.from_numpy(np.array([1, None])), ()),
    # ---- filled tensors: sizes as varargs, tuple, list, Size, empty and 0-dim
    ("zeros_varargs", lambda L: L.zeros(2, 3), ()),
    ("zeros_tuple", lambda L: L.zeros((2, 3)), ()),
    ("zeros_list", lambda L: L.zeros([2, 3]), ()),
    ("zeros_size", lambda L: L.zeros(L.Size([2, 3])), ()),
    ("zeros_0d", lambda L: L.zeros(()), ()),
    ("zeros_empty", lambda L: L.zeros(0, 3), ()),
    ("zeros_int", lambda L: L.zeros(2, dtype=L.int32), ()),
    ("zeros_bool", lambda L: L.zeros(2, dtype=L.bool), ()),
    ("zeros_rg", lambda L: L.zeros(2, requires_grad=True).requires_grad, ()),
    ("ones", lambda L: L.ones(2, 2, dtype=L.float64), ()),
    ("ones_bf16", lambda L: L.ones(3, dtype=L.bfloat16), ()),
    ("ones_complex", lambda L: L.ones(2, dtype=L.complex64), ()),
    ("full_int", lambda L: L.full((2, 2), 7), ()),
    ("full_float", lambda L: L.full((2, 2), 7.5), ()),
    ("full_bool", lambda L: L.full((2,), True), ()),
    ("full_complex", lambda L: L.full((2,), 1j), ()),
    ("full_dtype", lambda L: L.full([3], 2, dtype=L.float16), ()),
    ("full_list_size", lambda L: L.full([1, 2], -1.0), ()),
    ("full_tensor_fill", lambda L: L.full((2,), L.tensor(3.0)), ()),
    ("empty_shape", lambda L: (list(L.empty(2, 3).shape), _name(L.empty(2, 3))), ()),
    ("empty_dtype", lambda L: _name(L.empty((2,), dtype=L.int8)), ()),
    ("empty_out", lambda L: L.zeros(2, 3, out=L.empty(5, dtype=L.float64)), ()),
    ("arange_out", lambda L: L.arange(4, out=L.empty(4)), ()),
    ("err_zeros_negative", lambda L: L.zeros(-1), ()),
    ("err_zeros_float", lambda L: L.zeros(2.5), ()),
    ("err_ones_str", lambda L: L.ones("a"), ()),
    ("err_full_int_rg", lambda L: L.full((2,), 1, requires_grad=True), ()),
    ("err_zeros_int_rg", lambda L: L.zeros(2, dtype=L.int64, requires_grad=True), ()),
    ("eye", lambda L: L.eye(3), ()),
    ("eye_rect", lambda L: L.eye(2, 4, dtype=L.int64), ()),
    ("eye_zero", lambda L: L.eye(0), ()),
    ("err_eye_negative", lambda L: L.eye(-1), ()),
    # ---- ranges
    ("arange_int", lambda L: L.arange(5), ()),
    ("arange_start_end", lambda L: L.arange(2, 9, 3), ()),
    ("arange_negative_step", lambda L: L.arange(5, -3, -2), ()),
    ("arange_float", lambda L: L.arange(0, 1, 0.1), ()),
    ("arange_float_end", lambda L: L.arange(2.5), ()),
    ("arange_float_step", lambda L: L.arange(1, 2.5, 0.5), ()),
    ("arange_01_03", lambda L: L.arange(-1, 1, 0.3), ()),
    ("arange_dtype", lambda L: L.arange(4, dtype=L.float64), ()),
    ("arange_int_dtype_float_step", lambda L: L.arange(0, 2, 0.5, dtype=L.int64), ()),
    ("arange_empty", lambda L: L.arange(0), ()),
    ("arange_tensor_args", lambda L: L.arange(L.tensor(3)), ()),
    ("err_arange_zero_step", lambda L: L.arange(0, 5, 0), ()),
    ("err_arange_wrong_sign", lambda L: L.arange(0, 5, -1), ()),
    ("linspace", lambda L: L.linspace(0, 1, 5), ()),
    ("linspace_one", lambda L: L.linspace(2, 3, 1), ()),
    ("linspace_zero", lambda L: L.linspace(2, 3, 0), ()),
    ("linspace_long", lambda L: L.linspace(-3.3, 7.1, 101), ()),
    ("linspace_int", lambda L: L.linspace(0, 10, 4, dtype=L.int64), ()),
    ("linspace_f64", lambda L: L.linspace(0, 1, 7, dtype=L.float64), ()),
    ("err_linspace_negative", lambda L: L.linspace(0, 1, -1), ()),
    ("logspace", lambda L: L.logspace(0, 2, 3), ()),
    ("logspace_base2", lambda L: L.logspace(0, 3, 4, base=2), ()),
    # ---- *_like
    ("zeros_like", lambda L, x: L.zeros_like(x), (f32,)),
    ("zeros_like_dtype", lambda L, x: L.zeros_like(x, dtype=L.int32), (f32,)),
    ("ones_like_int", lambda L, x: L.ones_like(x), (i64,)),
    ("ones_like_transposed", lambda L, x: L.ones_like(x.t()), (f32,)),
    ("ones_like_0d", lambda L, x: L.ones_like(x), (zero_dim,)),
    ("ones_like_empty", lambda L, x: L.ones_like(x), (empty,)),
    ("full_like", lambda L, x: L.full_like(x, 3.5), (f32,)),
    ("full_like_int", lambda L, x: L.full_like(x, 3.7), (i64,)),
    ("empty_like", lambda L, x: (list(L.empty_like(x).shape), _name(L.empty_like(x))), (i32,)),
    ("like_requires_grad", lambda L, x: L.zeros_like(x, requires_grad=True).requires_grad, (f32,)),
    ("like_not_grad", lambda L, x: L.zeros_like(x).requires_grad, (Grad(f32),)),
    ("err_zeros_like_list", lambda L: L.zeros_like([1, 2]), ()),
    # ---- random creation: shapes, dtypes, errors
    ("rand", _shape_dtype(lambda L: L.rand(2, 3)), ()),
    ("rand_tuple", _shape_dtype(lambda L: L.rand((4,), dtype=L.float64)), ()),
    ("rand_0d", _shape_dtype(lambda L: L.rand(())), ()),
    ("rand_rg", _shape_dtype(lambda L: L.rand(2, requires_grad=True)), ()),
    ("randn", _shape_dtype(lambda L: L.randn(3, 1)), ()),
    ("randn_half", _shape_dtype(lambda L: L.randn(3, dtype=L.float16)), ()),
    ("randn_complex", _shape_dtype(lambda L: L.randn(3, dtype=L.complex64)), ()),
    ("randint", _shape_dtype(lambda L: L.randint(0, 5, (3, 2))), ()),
    ("randint_high_only", _shape_dtype(lambda L: L.randint(5, (3,))), ()),
    ("randint_dtype", _shape_dtype(lambda L: L.randint(0, 5, (3,), dtype=L.float32)), ()),
    ("randperm", _shape_dtype(lambda L: L.randperm(7)), ()),
    ("randperm_dtype", _shape_dtype(lambda L: L.randperm(7, dtype=L.int32)), ()),
    ("rand_like", _shape_dtype(lambda L, x: L.rand_like(x)), (f64,)),
    ("randn_like", _shape_dtype(lambda L, x: L.randn_like(x)), (f32,)),
    ("randint_like", _shape_dtype(lambda L, x: L.randint_like(x, 10)), (i32,)),
    ("randint_like_low_high", _shape_dtype(lambda L, x: L.randint_like(x, 3, 10)), (f32,)),
    ("normal_scalars", _shape_dtype(lambda L: L.normal(0.0, 1.0, (2, 3))), ()),
    ("normal_tensor_mean", _shape_dtype(lambda L, m: L.normal(m, 1.0)), (f64,)),
    ("normal_tensor_std", _shape_dtype(lambda L, s: L.normal(0.0, s.abs())), (f32,)),
    ("normal_both", _shape_dtype(lambda L, m, s: L.normal(m, s.abs())), (f32, f32)),
    ("bernoulli", _shape_dtype(lambda L, p: L.bernoulli(p.abs() / 10)), (f32,)),
    ("bernoulli_p", _shape_dtype(lambda L, x: L.bernoulli(x, 0.3)), (f64,)),
    ("multinomial", _shape_dtype(lambda L, p: L.multinomial(p.abs(), 2)), (f32,)),
    ("multinomial_1d", _shape_dtype(lambda L, p: L.multinomial(p.abs(), 5, True)), (f64[0],)),
    ("err_rand_int", lambda L: L.rand(2, dtype=L.int64), ()),
    ("err_randn_int", lambda L: L.randn(2, dtype=L.int32), ()),
    ("err_randint_bounds", lambda L: L.randint(5, 2, (3,)), ()),
    ("err_randint_no_size", lambda L: L.randint(5), ()),
    ("err_randperm_negative", lambda L: L.randperm(-1), ()),
    ("err_normal_negative_std", lambda L: L.normal(0.0, -1.0, (2,)), ()),
    ("err_normal_tensor_negative_std", lambda L, s: L.normal(0.0, s - 10), (f32,)),
    ("err_bernoulli_range", lambda L, p: L.bernoulli(p + 5), (f32,)),
    ("err_multinomial_3d", lambda L: L.multinomial(L.ones(2, 2, 2), 1), ()),
    ("err_multinomial_too_many", lambda L: L.multinomial(L.ones(3), 4), ()),
    ("err_multinomial_negative", lambda L: L.multinomial(L.tensor([1.0, -1.0]), 1), ()),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_creation(name, fn, inputs):
    if name.startswith("from_numpy") and harness.DEVICE[0] != "cpu":
        # from_numpy ignores the default device (PyTorch's too): the result stays on the CPU
        inputs = [fn] + list(inputs)
        fn = lambda L, f, *args: f(L, *args).to(harness.DEVICE[0]) if L is ember else f(L, *args)
    check(fn, *inputs, exc_message=False)


def test_from_numpy_stays_on_cpu():
    assert ember.from_numpy(np.zeros(2)).device.type == "cpu"


def test_from_numpy_shares_memory_both_ways():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = ember.from_numpy(a)
    a[0, 0] = 100.0
    assert t[0, 0].item() == 100.0
    t.add_(1)
    assert a[0, 1] == 2.0 and a[0, 0] == 101.0
    t.copy_(ember.full((2, 3), -7.0))
    assert a[1, 2] == -7.0
    n = t.numpy()
    n[0, 2] = 55.0
    assert a[0, 2] == 55.0


def test_as_tensor_shares_memory():
    a = np.zeros(3)
    t = ember.as_tensor(a)
    a[1] = 4
    # on the CPU it shares a's memory; a CUDA default device makes a copy, as in PyTorch
    assert t[1].item() == (4.0 if t.device.type == "cpu" else 0.0)
    assert t.device == ember.get_default_device()
    x = ember.ones(2)
    assert ember.as_tensor(x) is x


def test_tensor_copies():
    a = np.zeros(3, np.float32)
    t = ember.tensor(a)
    a[0] = 1
    assert t[0].item() == 0.0


def test_tensor_of_tensor_warns():
    with pytest.warns(UserWarning):
        ember.tensor(ember.ones(2))


def test_arange_float_counts_match_torch():
    for start, end, step in [(0, 1, 0.1), (0, 1, 0.2), (-1, 1, 0.3), (0.1, 0.7, 0.2),
                             (0, 10, 0.7), (1, 0, -0.1), (0, 2.2, 1.1)]:
        assert_same(ember.arange(start, end, step), torch.arange(start, end, step),
                    what=f"arange({start}, {end}, {step})")


@pytest.mark.parametrize("dt", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16",
                                "bfloat16", "float32", "float64", "complex64", "complex128"])
def test_filled_all_dtypes(dt):
    check(lambda L: (L.zeros(2, dtype=getattr(L, dt)), L.ones(2, dtype=getattr(L, dt)),
                     L.full((2,), 1, dtype=getattr(L, dt)), L.eye(2, dtype=getattr(L, dt))))


@pytest.mark.parametrize("size,stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2, 0), (5, 1)),
                                         ((), ()), ((2, 2), (0, 1)), ((2, 3), (1,)),
                                         ((2, 3), (-1, 2))])
def test_empty_strided_layout(size, stride):
    """empty_strided honours the strides (its values are uninitialised: not compared)."""
    def run(lib):
        try:
            t = lib.empty_strided(size, stride, dtype=lib.float64)
        except RuntimeError as e:
            return type(e).__name__, str(e)
        t.fill_(2.0)
        return tuple(t.shape), t.stride(), t.is_contiguous(), t.sum().item()
    assert run(ember) == run(torch)
