"""Defects found by running torch's OpInfo *reference* inputs (extremal values, Python
scalars, broadcasting, empty tensors) through ember and torch
(bench/opinfo_reference_sweep.py); each case is the same program on both, compared:
values with NaN equal to NaN and the sign of zeros, dtypes, shapes, exception types, and
float64 gradients."""
import math

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run  # noqa: E402

INF, NAN = math.inf, math.nan
# the extremal values torch's reference generators use
EXTREMES = [-INF, INF, NAN, -0.0, 0.0, -1e300, 1e300, -1.5, 2.5, 1e-310]
# without -0.0, for ops whose sign of zero ember does not follow: PyTorch's differs between
# its vectorized and scalar loops (softshrink), or comes from a tie of -0.0 and 0.0 that
# NumPy's maximum resolves otherwise (relu6)
SOME_EXTREMES = [v for v in EXTREMES if not (v == 0 and math.copysign(1, v) < 0)]


def _same_values(a, b):
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        # part by part: NumPy's isclose takes inf + nan i and nan + nan i for equal NaNs
        a, b = np.asarray(a, dtype=complex), np.asarray(b, dtype=complex)
        return _same_values(a.real, b.real) and _same_values(a.imag, b.imag)
    if not np.allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True):
        return False
    if a.dtype.kind == "f" and a.size:
        # where torch's result is -0.0 ember's is too
        neg_zero = (a == 0) & np.signbit(a)
        return not np.any(neg_zero & ~np.signbit(b))
    return True


def _same(a, b):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, tuple) and a and a[0] == "T":
        return isinstance(b, tuple) and a[:3] == b[:3] and _same_values(a[3], b[3])
    return a == b


def _with_grads(fn, values, dtype="float64"):
    """A program: fn on a tensor of `values` that requires grad; returns the result and
    the gradient of its sum."""
    def program(m):
        x = m.tensor(values, dtype=getattr(m, dtype), requires_grad=True)
        out = fn(m, x)
        grad, = m.autograd.grad(out.sum(), x)
        return [out, grad]
    return program


def _binary_grads(m, fn, a, b, dtype="float64"):
    """fn(a, b) on float64 tensors that require grad, and the gradients of its sum."""
    x = m.tensor(a, dtype=getattr(m, dtype), requires_grad=True)
    y = m.tensor(b, dtype=getattr(m, dtype), requires_grad=True)
    out = fn(x, y)
    return [out, *m.autograd.grad(out.sum(), (x, y))]


def _real_pairs(m, values):
    """Two float64 tensors holding every pair of `values`."""
    x = m.tensor([a for a in values for b in values], dtype=m.float64)
    y = m.tensor([b for a in values for b in values], dtype=m.float64)
    return x, y


def _complex_pairs(m, parts):
    """Two complex128 tensors holding every pair of the complex numbers made of `parts`."""
    values = [complex(re, im) for re in parts for im in parts]
    x = m.tensor([a for a in values for b in values], dtype=m.complex128)
    y = m.tensor([b for a in values for b in values], dtype=m.complex128)
    return x, y


CASES = {
    # the ELU family at the extremes: -0.0 kept, finite gradients where x is large or inf
    # (the exponential of the branch not taken made them NaN), NaN takes the x branch
    "elu_extremes": _with_grads(lambda m, x: m.nn.functional.elu(x, 2.0), EXTREMES),
    "celu_extremes": _with_grads(lambda m, x: m.nn.functional.celu(x, 0.5), EXTREMES),
    "selu_extremes": _with_grads(lambda m, x: m.nn.functional.selu(x), EXTREMES),
    "elu_float32_extremes": _with_grads(lambda m, x: m.nn.functional.elu(x), EXTREMES,
                                        "float32"),
    # add/sub/mul/div/floor_divide of two Python numbers give a 0-dim tensor (they raised)
    "add_two_numbers": lambda m: [m.add(2, 3.5), m.add(2.0, 3.0), m.add(True, False),
                                  m.add(2, 3, alpha=2), m.add(1j, 2)],
    "sub_two_numbers": lambda m: [m.sub(2.0, 3.0), m.sub(2, 3), m.subtract(2, 3.5)],
    "sub_two_bools": lambda m: m.sub(True, False),
    "mul_two_numbers": lambda m: [m.mul(2, 3.5), m.mul(True, False), m.multiply(2, 3)],
    "div_two_numbers": lambda m: [m.div(2, 3), m.true_divide(True, False), m.divide(2.0, 3),
                                  m.div(7, 2, rounding_mode="floor"),
                                  m.div(-7, 2, rounding_mode="trunc")],
    "floor_divide_two_numbers": lambda m: [m.floor_divide(7, 2), m.floor_divide(7.5, 2)],
    "floor_divide_two_bools": lambda m: m.floor_divide(True, False),
    "atan2_two_numbers": lambda m: m.atan2(1.0, 2.0),
    # atan2's gradient at the origin is 0 (it was 0 / 0 = NaN)
    "atan2_grad_origin": lambda m: _binary_grads(m, m.atan2, [0.0, -0.0, 1.0, 0.0, 1e200],
                                                 [0.0, 0.0, 0.0, 2.0, 1e200]),
    # native_group_norm of an empty batch: empty (N, group) statistics (reshape raised)
    "native_group_norm_empty_batch": lambda m: m.native_group_norm(
        m.zeros(0, 6, 3, dtype=m.float64, requires_grad=True), m.ones(6, dtype=m.float64),
        m.zeros(6, dtype=m.float64), 0, 6, 3, 2, 1e-5),
    # a zero remainder keeps the sign of the dividend, as C's fmod (NumPy gives +0.0)
    "remainder_signed_zeros": lambda m: [
        m.remainder(m.tensor(EXTREMES + [3.0, -3.0], dtype=m.float64), d)
        for d in (1.0, -1.0, 1.5, m.tensor(-0.5, dtype=m.float64))],
    "remainder_scalar_dividend": lambda m: m.remainder(
        2.0, m.tensor([1.0, -1.0, 2.0, -2.0, INF], dtype=m.float32)),
    # complex logaddexp at infinities and NaNs: y when both real parts are -inf, NaN + NaN i
    # with any NaN, inf + i arg at +inf (it gave NaN or the other operand)
    "logaddexp_complex_extremes": lambda m: m.logaddexp(
        *_complex_pairs(m, [INF, -INF, NAN, 0.0, 1.0, -1e300])),
    # log(1 + exp(i pi)) is log(1.2e-16 i), not log(0): 1 + z computed exactly near z = -1
    "logaddexp_complex_cancelling": lambda m: m.logaddexp(
        m.tensor([0j, -0j, 1e-20 + 1e-20j, -3 + 0.5j], dtype=m.complex128),
        m.tensor([math.pi * 1j, -math.pi * 1j, -50 + 0j, -3 - 0.5j], dtype=m.complex128)),
    "logcumsumexp_complex_cancelling": lambda m: m.logcumsumexp(
        m.tensor([0j, math.pi * 1j, 1 + 1j, -2j], dtype=m.complex128), 0),
    # nextafter is differentiable as PyTorch's: the identity in x, 0 for y (no grad_fn)
    "nextafter_grads": lambda m: _binary_grads(m, m.nextafter,
                                               [1.0, 2.0, -0.0, INF, 1.0, 0.0, NAN],
                                               [3.0, 0.0, 1.0, 0.0, 1.0, -0.0, 1.0]),
    "nextafter_grad_fn": lambda m: m.nextafter(
        m.ones(2, requires_grad=True), m.zeros(2)).grad_fn.name(),
    # softplus/logsigmoid gradients at NaN are NaN (clamp_max made them 0)
    "softplus_extremes": _with_grads(lambda m, x: m.nn.functional.softplus(x), EXTREMES),
    "softplus_beta_extremes": _with_grads(lambda m, x: m.nn.functional.softplus(x, 2, 5),
                                          EXTREMES),
    "logsigmoid_extremes": _with_grads(lambda m, x: m.nn.functional.logsigmoid(x),
                                       EXTREMES),
    # threshold keeps NaN (x <= threshold is False there; it gave the value)
    "threshold_extremes": _with_grads(lambda m, x: m.nn.functional.threshold(x, 1.0, -9.0),
                                      EXTREMES),
    "threshold_inplace_nan": lambda m: m.nn.functional.threshold_(
        m.tensor([NAN, 1.0, 30.0]), 1.0, -9.0),
    # hardtanh/relu6 keep NaN with gradient 0 there (it was 1); hardshrink/softshrink keep
    # NaN (they gave 0) and refuse integer, bool and complex inputs as PyTorch
    "hardtanh_extremes": _with_grads(lambda m, x: m.nn.functional.hardtanh(x, -0.5, 0.5),
                                     EXTREMES + [0.5, -0.5, 0.2]),
    "relu6_extremes": _with_grads(lambda m, x: m.nn.functional.relu6(x),
                                  SOME_EXTREMES + [6.0, 0.0, 3.0]),
    "hardtanh_int": lambda m: m.nn.functional.hardtanh(m.tensor([-3, 0, 4, 9]), -2.5, 5.5),
    "hardshrink_extremes": _with_grads(lambda m, x: m.nn.functional.hardshrink(x),
                                       EXTREMES + [0.5, -0.5, 0.2]),
    "softshrink_extremes": _with_grads(lambda m, x: m.nn.functional.softshrink(x),
                                       SOME_EXTREMES + [0.5, 0.2, -0.7]),
    "hardshrink_int": lambda m: m.nn.functional.hardshrink(m.tensor([-3, 0, 4])),
    "hardshrink_complex": lambda m: m.nn.functional.hardshrink(m.tensor([1 + 1j])),
    "softshrink_bool": lambda m: m.nn.functional.softshrink(m.tensor([True])),
    "softshrink_int": lambda m: m.nn.functional.softshrink(m.tensor([-3, 0, 4]), 1.0),
    # igamma/igammac at the edges: a = 0 (all mass at 0), a = inf, a = x = 0 and
    # a = x = inf undefined (they gave 0/1 or NaN the other way round)
    "igamma_edges": lambda m: m.igamma(*_real_pairs(m, [0.0, -0.0, INF, NAN, 1.0, -1.0,
                                                        1e-300, 2.5])),
    "igammac_edges": lambda m: m.igammac(*_real_pairs(m, [0.0, -0.0, INF, NAN, 1.0, -1.0,
                                                          2.5, 30.5])),
    # d xlogy / dx is log(y) at x = 0 too (0 only where y <= 0); likewise xlog1py
    "xlogy_grads_at_zero": lambda m: _binary_grads(
        m, m.xlogy, [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 2.0, -0.0],
        [0.25, 0.0, NAN, -1.0, 0.0, INF, -1.0, 3.0]),
    "xlog1py_grads_at_zero": lambda m: _binary_grads(
        m, m.special.xlog1py, [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 2.0, -0.0],
        [0.25, 0.0, NAN, -1.0, 0.0, INF, -1.0, 3.0]),
    # a bool scalar of a float op is a float (NumPy's log1p(True) is float16: 0.6934)
    "xlog1py_bool_scalar": lambda m: [m.special.xlog1py(m.tensor(True), True),
                                      m.special.xlog1py(m.tensor([True, False]), True),
                                      m.special.zeta(m.tensor([3]), True)],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_case(name):
    program = CASES[name]
    expected, got = _run(program, torch), _run(program, ember)
    assert _same(expected, got), f"{name}: torch {expected} vs ember {got}"
