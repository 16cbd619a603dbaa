"""Defects found by bench/opinfo_dtype_sweep.py (torch's OpInfo samples in float16, bfloat16,
the small integer dtypes, uint8 and complex64, float32 gradients, and the ops the OpInfo
table names through a lambda); each case runs the same program on ember and on torch and
compares dtype, shape, values (at the dtype's tolerance) or the exception type."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run  # noqa: E402

# torch.testing's default tolerances, by dtype name
_TOL = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
        "complex64": (1.3e-6, 1e-5)}


def _same(a, b):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, tuple) and a and a[0] == "T":
        if not (isinstance(b, tuple) and a[:3] == b[:3]):
            return False
        if a[3].dtype.kind in "fc":
            rtol, atol = _TOL.get(a[1], (1e-7, 1e-7))
            return np.allclose(a[3], b[3], rtol=rtol, atol=atol, equal_nan=True)
        return np.array_equal(a[3], b[3])
    return a == b


def check(program):
    """Run program(torch) and program(ember) and assert they agree."""
    t, e = _run(program, torch), _run(program, ember)
    assert _same(t, e), f"torch {t}\nember {e}"


def check_grad(fn, *values, dtype="float32"):
    """Gradients of sum(fn(m, *xs) * w) agree at rtol 1e-4 (and their dtypes exactly)."""
    grads = []
    for m in (torch, ember):
        xs = [m.tensor(v, dtype=getattr(m, dtype), requires_grad=True) for v in values]
        out = fn(m, *xs)
        w = m.linspace(-1, 1, out.numel()).reshape(out.shape).to(out.dtype)
        gs = m.autograd.grad((out * w).sum(), xs, allow_unused=True)
        grads.append([None if g is None else (str(g.dtype).split(".")[1],
                                              np.asarray(g.tolist())) for g in gs])
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            assert a[0] == b[0]
            np.testing.assert_allclose(b[1], a[1], rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- einsum

@pytest.mark.parametrize("dtype", ["int8", "int32", "uint8", "bool", "float16"])
@pytest.mark.parametrize("equation, shapes", [
    ("ij->", [(2, 3)]), ("ii", [(3, 3)]), ("ij->ji", [(2, 3)]), ("i,j->", [(2,), (3,)]),
    ("ij,j->", [(2, 3), (3,)]), ("j,ij->", [(3,), (2, 3)]), ("ij,jk,k->i", [(2, 3), (3, 2), (2,)]),
    ("ij,jk,kl->i", [(2, 3), (3, 2), (2, 2)]), ("ij,k->jk", [(2, 3), (2,)]),
    ("i,j->ij", [(2,), (3,)]), ("ij,jk", [(2, 3), (3, 2)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)])])
def test_einsum_integer_sums_promote_like_torch(dtype, equation, shapes):
    # PyTorch sums out the labels only one operand carries before contracting, and that sum
    # promotes integers (and bool) to int64; a later contraction with an unpromoted side raises
    def program(m):
        ops = [m.arange(int(np.prod(s))).reshape(s).remainder(5).to(getattr(m, dtype))
               for s in shapes]
        return m.einsum(equation, *ops)
    check(program)


# ----------------------------------------------------------------------------- half precision
# PyTorch computes these in float32 and rounds once; ember rounded after every step

def _half(m, dtype, *shape, scale=1.0, seed=0):
    values = np.random.default_rng(seed).uniform(-scale, scale, shape)
    return m.tensor(values.tolist(), dtype=getattr(m, dtype))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_half_rounds_once(dtype, approximate):
    check(lambda m: m.nn.functional.gelu(_half(m, dtype, 10, 10, scale=3), approximate=approximate))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_linear_half_adds_bias_before_rounding(dtype):
    check(lambda m: m.nn.functional.linear(_half(m, dtype, 8, 3, scale=2), _half(m, dtype, 4, 3, seed=1),
                                           _half(m, dtype, 4, scale=2, seed=2)))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_addr_addbmm_half_round_once(dtype):
    check(lambda m: m.addr(_half(m, dtype, 5, 10), _half(m, dtype, 5, seed=1),
                           _half(m, dtype, 10, seed=2), beta=0.6, alpha=0.2))
    check(lambda m: m.addbmm(_half(m, dtype, 5, 10), _half(m, dtype, 5, 5, 5, seed=1),
                             _half(m, dtype, 5, 5, 10, seed=2)))
    check(lambda m: m.Tensor.addr_(_half(m, dtype, 5, 10), _half(m, dtype, 5, seed=1),
                                   _half(m, dtype, 10, seed=2), beta=0.6, alpha=0.2))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_half_in_float32(dtype, causal):
    check(lambda m: m.nn.functional.scaled_dot_product_attention(
        _half(m, dtype, 2, 3, 6, scale=9), _half(m, dtype, 2, 3, 6, scale=9, seed=1),
        _half(m, dtype, 2, 3, 6, scale=9, seed=2), is_causal=causal))


def test_half_precision_gradients_keep_the_input_dtype():
    def program(m):
        x = _half(m, "float16", 4, 3).requires_grad_()
        w = _half(m, "float16", 2, 3, seed=1).requires_grad_()
        y = m.nn.functional.linear(x, w, _half(m, "float16", 2, seed=2))
        gx, gw = m.autograd.grad(y.float().sum(), (x, w))
        return y, gx, gw
    check(program)


# ----------------------------------------------------------------------------- integer wraparound
# PyTorch converts a negative Python int down to -max into an unsigned dtype by wrapping
# around; beyond that (or beyond a signed dtype's range) it raises. NumPy refused them all.

@pytest.mark.parametrize("expr", [
    "m.tensor(-1, dtype=m.uint8)", "m.tensor([-1, -200, 7], dtype=m.uint8)",
    "m.tensor([-1, 300], dtype=m.uint8)", "m.tensor([-1], dtype=m.int16)",
    "m.full((2,), -1, dtype=m.uint8)", "m.full((2,), -300, dtype=m.uint8)",
    "m.full((2,), 200, dtype=m.int8)", "m.scalar_tensor(-255, dtype=m.uint8)",
    "m.scalar_tensor(-256, dtype=m.uint8)", "m.ones(2, dtype=m.uint8).fill_(-3)",
    "m.ones(2, dtype=m.uint8).fill_(300)", "m.zeros(2, dtype=m.int8).fill_(-128)",
    "m.ones(2, dtype=m.uint8).add(1, alpha=-1)",
    "m.ones(2, dtype=m.uint8).add(m.ones(2, dtype=m.uint8) * 3, alpha=-1)",
    "m.ones(2, dtype=m.uint8).sub(m.ones(2, dtype=m.uint8) * 3, alpha=-1)",
    "m.rsub(m.ones(2, dtype=m.uint8), 5, alpha=-2)",
    "m.zeros(1, dtype=m.uint8).add(m.ones(1, dtype=m.uint8), alpha=-300)",
    "m.zeros(1, dtype=m.int8).add(m.ones(1, dtype=m.int8), alpha=200)",
    "m.ones(2, dtype=m.int64).add(m.ones(2, dtype=m.uint8), alpha=-1)",
    "m.ones(3, dtype=m.uint8).index_add(0, m.tensor([0, 2]), m.tensor([1, 9], dtype=m.uint8), alpha=-1)",
])
def test_unsigned_wraparound_and_overflow(expr):
    check(lambda m: eval(expr))


@pytest.mark.parametrize("dtype", ["int8", "int32", "uint8", "bool", "float16"])
def test_sum_to_size_of_empty_size_sums_like_sum(dtype):
    # a 0-dim input summed to size (): PyTorch's sum, so integers become int64
    check(lambda m: m.tensor(3).to(getattr(m, dtype)).sum_to_size(()))
    check(lambda m: m.ones(2, 3, dtype=getattr(m, dtype)).sum_to_size(()))
    check(lambda m: m.ones(2, 3, dtype=getattr(m, dtype)).sum_to_size(2, 3))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("loss", ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_pointwise_loss_half_reduces_in_float32(dtype, loss, reduction):
    check(lambda m: getattr(m.nn.functional, loss)(
        _half(m, dtype, 5, 5, 5, scale=9), _half(m, dtype, 5, 5, 5, scale=9, seed=1),
        reduction=reduction))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_rms_norm_half_does_not_overflow(dtype):
    # x * x overflows float16 beyond 256: PyTorch normalises in float32
    check(lambda m: m.nn.functional.rms_norm(_half(m, dtype, 1, 2, 3, scale=700), (1, 2, 3),
                                             _half(m, dtype, 1, 2, 3, scale=700, seed=1), eps=0.5))
    check(lambda m: m.nn.functional.rms_norm(_half(m, dtype, 4, 5, scale=3), (5,)))
    check(lambda m: m.nn.functional.rms_norm(_half(m, dtype, 4, 5, scale=3), (5,),
                                             _half(m, "float32", 5, seed=1)))


def test_rms_norm_half_gradient_keeps_dtype():
    # (with autograd PyTorch's forward takes another path, 1 ulp apart: dtypes and shapes)
    def program(m):
        x = _half(m, "float16", 3, 4, scale=3).requires_grad_()
        y = m.nn.functional.rms_norm(x, (4,))
        g = m.autograd.grad(y.float().sum(), x)[0]
        return str(y.dtype).split(".")[1], str(g.dtype).split(".")[1], tuple(g.shape)
    check(program)


# ----------------------------------------------------------------------------- refusals
# where PyTorch has no kernel for a dtype, ember raises its exception type

@pytest.mark.parametrize("expr", [
    "a < a", "a.lt(1)", "m.le(a, 1j)", "a > 0", "m.ge(m.ones(2, 3), a)", "m.greater(a, 0)",
    "a == 1j", "a != a",
    "a.max()", "a.max(0)", "a.min(1)", "a.argmax()", "a.argmax(0)", "a.argmin()",
    "a.amax()", "a.amin(0)", "m.ones(2, dtype=m.bool).argmax()",
])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_orderings_raise_like_torch(expr, dtype):
    def program(m):
        a = m.ones(2, 3, dtype=getattr(m, dtype))
        return eval(expr)
    check(program)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int32"])
def test_nextafter_half_precision(dtype):
    # PyTorch steps float16/bfloat16 too (ember refused them); integers are refused by both
    check(lambda m: m.nextafter(m.tensor([1.0, 2.0, 0.0, -1.0]).to(getattr(m, dtype)),
                                m.tensor([3.0, 0.0, 1.0, -1.0]).to(getattr(m, dtype))))


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "bool", "int32", "float16"])
def test_arange_refuses_complex_and_bool(dtype):
    check(lambda m: m.arange(3, dtype=getattr(m, dtype)))
    if dtype != "int32":   # (an integer arange with a fractional step is not covered here)
        check(lambda m: m.arange(1, 3, 0.5, dtype=getattr(m, dtype)))
