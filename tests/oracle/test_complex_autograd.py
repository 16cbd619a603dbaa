"""Complex autograd against PyTorch: values and gradients of the differentiable pointwise,
reduction and cumulative ops on complex64/complex128 inputs.

PyTorch's convention: the gradient of a real loss L with respect to z = x + iy is
dL/dx + i dL/dy, so a holomorphic op passes grad * conj(f'(z)) back. Every case returns
real tensors (the real and imaginary parts of a complex result, or the real result
of abs/norm/var), so the harness' real loss sum(out * w) checks the full vector-Jacobian
product, real and imaginary parts alike. The torch-independent check here is a
finite-difference one (`_numeric_gradient`); gradcheck of complex functions is tested in
tests/test_complex_grads.py.
"""
import warnings

import numpy as np
import pytest

import ember

from .harness import Grad, check

_RNG = np.random.default_rng(7)


def cplx(*shape, dtype=np.complex128, scale=1.0, shift=0.0):
    """A complex array with random real and imaginary parts (away from 0 by `shift`)."""
    re = _RNG.standard_normal(shape) * scale + shift
    im = _RNG.standard_normal(shape) * scale
    return (re + 1j * im).astype(dtype)


def real_view(lib, out):
    """A complex output as its real and imaginary parts, two real tensors the harness can
    weigh (a real output passes through)."""
    return (out.real, out.imag) if out.is_complex() else out


def unary(name, **kwargs):
    """fn(lib, x) -> real view of lib.<name>(x, **kwargs)."""
    def fn(lib, x):
        return real_view(lib, getattr(lib, name)(x, **kwargs))
    return fn


def method(name, *args, **kwargs):
    def fn(lib, x):
        return real_view(lib, getattr(x, name)(*args, **kwargs))
    return fn


def binary(fn2):
    def fn(lib, x, y):
        return real_view(lib, fn2(lib, x, y))
    return fn


C64, C128 = np.complex64, np.complex128
Z = cplx(3, 4)                                     # complex128, 2-D
Z64 = cplx(3, 4, dtype=C64)
Z0 = np.asarray(0.7 - 1.3j)                         # 0-dim
ZE = np.zeros((0, 3), dtype=C128)                   # empty
ZT = cplx(4, 3).T                                   # non-contiguous (transposed)
ZPOS = cplx(3, 4, shift=2.0)                        # away from 0 and branch cuts
ZSMALL = cplx(3, 4, scale=0.3)                      # inside the unit disk (asin, atanh ...)
ZWITH0 = np.array([1 + 2j, 0j, -0.5 + 0.25j, 3 - 1j], dtype=C128)  # an exact zero

UNARY_OPS = [  # name, public function, input domain
    ("neg", "neg", Z), ("exp", "exp", Z), ("exp2", "exp2", Z), ("expm1", "expm1", Z),
    ("log", "log", ZPOS), ("log2", "log2", ZPOS), ("log10", "log10", ZPOS),
    ("log1p", "log1p", ZPOS), ("sqrt", "sqrt", ZPOS), ("rsqrt", "rsqrt", ZPOS),
    ("reciprocal", "reciprocal", ZPOS), ("square", "square", Z),
    ("sin", "sin", Z), ("cos", "cos", Z), ("tan", "tan", ZSMALL),
    ("asin", "asin", ZSMALL), ("acos", "acos", ZSMALL), ("atan", "atan", ZSMALL),
    ("sinh", "sinh", Z), ("cosh", "cosh", Z), ("tanh", "tanh", ZSMALL),
    ("asinh", "asinh", ZSMALL), ("acosh", "acosh", ZPOS), ("atanh", "atanh", ZSMALL),
    ("sigmoid", "sigmoid", ZSMALL), ("abs", "abs", Z), ("abs_zero", "abs", ZWITH0),
    ("sgn", "sgn", Z), ("sgn_zero", "sgn", ZWITH0), ("angle", "angle", Z),
    ("real", "real", Z), ("imag", "imag", Z), ("conj", "conj", Z),
    ("conj_physical", "conj_physical", Z),
]

CASES = []
for _name, _fn, _x in UNARY_OPS:
    CASES.append((f"{_name}-c128", unary(_fn), (Grad(_x),)))
    CASES.append((f"{_name}-c64", unary(_fn), (Grad(_x.astype(C64)),)))
for _name, _fn in (("exp", "exp"), ("sin", "sin"), ("abs", "abs"), ("sgn", "sgn"),
                   ("sqrt", "sqrt")):
    CASES.append((f"{_name}-0dim", unary(_fn), (Grad(Z0),)))
    CASES.append((f"{_name}-empty", unary(_fn), (Grad(ZE),)))
    CASES.append((f"{_name}-transposed", unary(_fn), (Grad(ZT),)))

CASES += [
    # the reported bug: d|a*a| / da = 2a for a = 1+2j (torch gives 2a, as conj-Wirtinger)
    ("abs-of-square", lambda lib, a: (a * a).abs(), (Grad(np.asarray(1 + 2j, dtype=C64)),)),
    ("abs-of-square-c128", lambda lib, a: (a * a).abs(), (Grad(np.asarray(1 + 2j)),)),
    # binary arithmetic, tensor-tensor, broadcast and scalars
    ("add", binary(lambda lib, x, y: x + y), (Grad(Z), Grad(cplx(4)))),
    ("add-alpha", binary(lambda lib, x, y: lib.add(x, y, alpha=2 - 1j)), (Grad(Z), Grad(Z))),
    ("sub", binary(lambda lib, x, y: x - y), (Grad(Z), Grad(cplx(3, 1)))),
    ("sub-alpha", binary(lambda lib, x, y: lib.sub(x, y, alpha=0.5 + 2j)), (Grad(Z), Grad(Z))),
    ("rsub-scalar", unary("rsub", other=1 + 1j), (Grad(Z),)),
    ("rsub-alpha", lambda lib, x: real_view(lib, lib.rsub(x, 2.0, alpha=1j)), (Grad(Z),)),
    ("mul", binary(lambda lib, x, y: x * y), (Grad(Z), Grad(cplx(4)))),
    ("mul-c64", binary(lambda lib, x, y: x * y), (Grad(Z64), Grad(cplx(4, dtype=C64)))),
    ("mul-0dim", binary(lambda lib, x, y: x * y), (Grad(Z0), Grad(ZT))),
    ("mul-scalar", lambda lib, x: real_view(lib, x * (2 - 3j)), (Grad(Z),)),
    ("rmul-scalar", lambda lib, x: real_view(lib, (0.5 + 1j) * x), (Grad(Z),)),
    ("mul-real-tensor", binary(lambda lib, x, y: x * y), (Grad(Z), Grad(_RNG.standard_normal(4)))),
    ("mul-real-tensor-c64", binary(lambda lib, x, y: x * y),
     (Grad(Z64), Grad(_RNG.standard_normal(4).astype(np.float32)))),
    ("div", binary(lambda lib, x, y: x / y), (Grad(Z), Grad(cplx(4, shift=2.0)))),
    ("div-c64", binary(lambda lib, x, y: x / y), (Grad(Z64), Grad(cplx(3, 4, dtype=C64, shift=2)))),
    ("div-scalar", lambda lib, x: real_view(lib, x / (2 - 1j)), (Grad(Z),)),
    ("rdiv-scalar", lambda lib, x: real_view(lib, (1 + 2j) / x), (Grad(ZPOS),)),
    ("div-real-tensor", binary(lambda lib, x, y: x / y),
     (Grad(Z), Grad(_RNG.standard_normal(4) + 3))),
    ("pow-tensor", binary(lambda lib, x, y: x ** y), (Grad(ZPOS), Grad(cplx(3, 4, scale=0.5)))),
    ("pow-int", lambda lib, x: real_view(lib, x ** 3), (Grad(Z),)),
    ("pow-float", lambda lib, x: real_view(lib, x ** 2.5), (Grad(ZPOS),)),
    ("pow-complex", lambda lib, x: real_view(lib, x ** (0.5 + 1j)), (Grad(ZPOS),)),
    ("pow-scalar-base", lambda lib, x: real_view(lib, (2 + 1j) ** x), (Grad(ZSMALL),)),
    ("pow-real-base", lambda lib, x: real_view(lib, 2.0 ** x), (Grad(ZSMALL),)),
    ("float_power", lambda lib, x: real_view(lib, x.float_power(2)), (Grad(Z64),)),
    ("where", binary(lambda lib, x, y: lib.where(x.real > 0, x, y)), (Grad(Z), Grad(cplx(4)))),
    ("lerp-scalar", binary(lambda lib, x, y: lib.lerp(x, y, 0.3)), (Grad(Z), Grad(Z))),
    ("lerp-tensor", lambda lib, x, y, w: real_view(lib, lib.lerp(x, y, w)),
     (Grad(Z), Grad(cplx(3, 4)), Grad(cplx(3, 4, scale=0.3)))),
    ("addcmul", lambda lib, x, y, w: real_view(lib, lib.addcmul(x, y, w, value=2 - 1j)),
     (Grad(Z), Grad(cplx(3, 4)), Grad(cplx(4)))),
    ("addcdiv", lambda lib, x, y, w: real_view(lib, lib.addcdiv(x, y, w, value=0.5j)),
     (Grad(Z), Grad(cplx(3, 4)), Grad(cplx(4, shift=2.0)))),
    ("logaddexp", binary(lambda lib, x, y: lib.logaddexp(x, y)),
     (Grad(ZSMALL), Grad(cplx(3, 4, scale=0.3)))),
    # reductions
    ("sum", lambda lib, x: real_view(lib, x.sum()), (Grad(Z),)),
    ("sum-dim", lambda lib, x: real_view(lib, x.sum(-1, keepdim=True)), (Grad(ZT),)),
    ("sum-empty", lambda lib, x: real_view(lib, x.sum(0)), (Grad(ZE),)),
    ("sum_to_size", lambda lib, x: real_view(lib, x.sum_to_size(1, 4)), (Grad(Z),)),
    ("mean", lambda lib, x: real_view(lib, x.mean()), (Grad(Z64),)),
    ("mean-dim", lambda lib, x: real_view(lib, x.mean(0)), (Grad(Z),)),
    ("prod", lambda lib, x: real_view(lib, x.prod()), (Grad(cplx(5)),)),
    ("prod-dim", lambda lib, x: real_view(lib, x.prod(1)), (Grad(Z),)),
    ("prod-zero", lambda lib, x: real_view(lib, x.prod()), (Grad(ZWITH0),)),
    ("prod-dim-zero", lambda lib, x: real_view(lib, x.prod(0)), (Grad(ZWITH0.reshape(2, 2)),)),
    ("cumsum", lambda lib, x: real_view(lib, x.cumsum(1)), (Grad(Z),)),
    ("cumprod", lambda lib, x: real_view(lib, x.cumprod(-1)), (Grad(Z),)),
    ("cumprod-zero", lambda lib, x: real_view(lib, x.cumprod(0)), (Grad(ZWITH0),)),
    ("logsumexp", lambda lib, x: real_view(lib, lib.logsumexp(x, 1)), (Grad(ZSMALL),)),
    ("var", lambda lib, x: x.var(), (Grad(Z),)),
    ("var-dim", lambda lib, x: x.var(0, correction=0), (Grad(Z64),)),
    ("std", lambda lib, x: x.std(1), (Grad(Z),)),
    ("std_mean", lambda lib, x: lib.std_mean(x, 1)[0], (Grad(Z),)),
    ("var_mean", lambda lib, x: lib.var_mean(x, 0)[0], (Grad(Z),)),
    ("norm", lambda lib, x: x.norm(), (Grad(Z),)),
    ("norm-zero", lambda lib, x: x.norm(), (Grad(np.zeros(3, dtype=C128)),)),
    ("norm-p1", lambda lib, x: x.norm(p=1), (Grad(Z),)),
    ("norm-p3-dim", lambda lib, x: x.norm(p=3, dim=1), (Grad(Z),)),
    ("norm-inf", lambda lib, x: x.norm(p=float("inf")), (Grad(Z),)),
    ("vector_norm", lambda lib, x: lib.linalg.vector_norm(x, dim=-1), (Grad(Z64),)),
    ("linalg.norm", lambda lib, x: lib.linalg.norm(x), (Grad(Z),)),
    ("dist", binary(lambda lib, x, y: lib.dist(x, y)), (Grad(Z), Grad(cplx(3, 4)))),
    # linear algebra (already conj-aware)
    ("matmul", binary(lambda lib, x, y: x @ y), (Grad(Z), Grad(cplx(4, 2)))),
    ("dot", binary(lambda lib, x, y: lib.dot(x, y)), (Grad(cplx(3)), Grad(cplx(3)))),
    ("vdot", binary(lambda lib, x, y: lib.vdot(x, y)), (Grad(cplx(3)), Grad(cplx(3)))),
    # linear shape ops in a chain
    ("cat-stack-reshape",
     binary(lambda lib, x, y: (lib.stack([x, y]).reshape(-1) * lib.cat([x, y]).reshape(-1)).exp()),
     (Grad(cplx(2, 2, scale=0.3)), Grad(cplx(2, 2, scale=0.3)))),
    # a longer chain through several ops
    ("chain", lambda lib, x: (x.sin() * x.conj() / (x.abs() + 1)).sum().abs(), (Grad(Z),)),
    # ops torch refuses on complex inputs: ember must raise the same exception type
    ("sign-error", unary("sign"), (Grad(Z),)),
    ("clamp-error", lambda lib, x: x.clamp(0, 1), (Grad(Z),)),
    ("relu-error", unary("relu"), (Grad(Z),)),
    ("floor-error", unary("floor"), (Grad(Z),)),
    ("maximum-error", binary(lambda lib, x, y: lib.maximum(x, y)), (Grad(Z), Grad(Z))),
    ("amax-error", lambda lib, x: x.amax(), (Grad(Z),)),
    ("cummax-error", lambda lib, x: x.cummax(0), (Grad(Z),)),
    ("erf-error", unary("erf"), (Grad(Z),)),
    ("logit-error", unary("logit"), (Grad(Z),)),
    ("nansum-error", lambda lib, x: x.nansum(), (Grad(Z),)),
    ("nanmean-error", lambda lib, x: x.nanmean(), (Grad(Z),)),
    ("signbit-error", lambda lib, x: x.signbit(), (Z,)),
    ("isposinf-error", lambda lib, x: lib.isposinf(x), (Z,)),
    ("nan_to_num-grad-error", unary("nan_to_num"), (Grad(Z),)),
    ("atan2-error", binary(lambda lib, x, y: lib.atan2(x, y)), (Grad(Z), Grad(Z))),
    ("remainder-error", lambda lib, x: x % 2, (Grad(Z),)),
    # not differentiable on complex, but the values must match
    ("nan_to_num", unary("nan_to_num", posinf=7.0),
     (np.array([complex(np.nan, 1), complex(np.inf, -np.inf), 1 + 1j], dtype=C64),)),
    ("isinf", lambda lib, x: lib.isinf(x), (np.array([complex(np.inf, 0), 1j], dtype=C128),)),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_complex_autograd_matches_torch(name, fn, inputs):
    check(fn, *inputs)


def test_reported_abs_of_square():
    """The reported bug: the gradient of |a*a| at a = 1+2j is 2a, not -4.4-0.8j."""
    a = ember.tensor(1 + 2j, requires_grad=True)
    (a * a).abs().backward()
    assert a.grad.dtype is ember.complex64
    np.testing.assert_allclose(a.grad.cpu().numpy(), 2 + 4j, rtol=1e-6)


def test_real_input_gradients_stay_real():
    """A real tensor mixed with a complex one receives a real gradient (the real part)."""
    x = ember.tensor([1.0, -2.0], dtype=ember.float64, requires_grad=True)
    z = ember.tensor([1 + 1j, 2 - 1j], dtype=ember.complex128)
    ember.view_as_real(x * z).sum().backward()
    assert x.grad.dtype is ember.float64
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 1.0])


def _weighted_loss(lib, out, seed=3):
    """sum(w1 * Re(out) + w2 * Im(out)) with fixed random weights: a real loss."""
    rng = np.random.default_rng(seed)
    parts = real_view(lib, out)
    parts = parts if isinstance(parts, tuple) else (parts,)
    total = 0
    for p in parts:
        w = rng.standard_normal(tuple(p.shape)).astype(np.float64)
        total = total + (p * lib.from_numpy(w).to(p.device, p.dtype)).sum()
    return total


DOUBLE_BACKWARD = [  # name, f(lib, z), input
    ("mul", lambda lib, z: z * z.exp(), Z), ("div", lambda lib, z: z / (z * z + 3), Z),
    ("abs", lambda lib, z: (z * z).abs(), Z), ("sgn", lambda lib, z: (z * z).sgn(), Z),
    ("exp", lambda lib, z: z.exp(), Z), ("log", lambda lib, z: z.log(), ZPOS),
    ("sqrt", lambda lib, z: z.sqrt(), ZPOS), ("reciprocal", lambda lib, z: z.reciprocal(), ZPOS),
    ("sin", lambda lib, z: z.sin(), Z), ("tanh", lambda lib, z: z.tanh(), ZSMALL),
    ("sigmoid", lambda lib, z: z.sigmoid(), ZSMALL),
    ("pow", lambda lib, z: z ** (1.5 - 0.5j), ZPOS),
    ("pow-tensor", lambda lib, z: z ** z, ZPOS), ("prod", lambda lib, z: z.prod(1), Z),
    ("cumprod", lambda lib, z: z.cumprod(0), Z),
    ("logsumexp", lambda lib, z: lib.logsumexp(z, 1), ZSMALL),
    ("norm", lambda lib, z: z.norm(dim=1), Z), ("norm-p3", lambda lib, z: z.norm(p=3), Z),
    ("addcdiv", lambda lib, z: lib.addcdiv(z, z, z + 3, value=1j), ZPOS),
]


@pytest.mark.parametrize("name,f,z", DOUBLE_BACKWARD, ids=[c[0] for c in DOUBLE_BACKWARD])
def test_complex_double_backward_matches_torch(name, f, z):
    """The first-order gradient built with create_graph=True, and its own gradient."""
    def first_grad(lib, x):
        g, = lib.autograd.grad(_weighted_loss(lib, f(lib, x)), x, create_graph=True)
        return real_view(lib, g)
    check(first_grad, Grad(z))


def _numeric_gradient(f, z, eps=1e-6):
    """dL/dRe(z) + i dL/dIm(z) of L = _weighted_loss(f(z)) by central differences."""
    def loss(arr):
        with ember.no_grad():
            return _weighted_loss(ember, f(ember, ember.from_numpy(arr))).item()
    grad = np.zeros(z.shape, dtype=np.complex128)
    for idx in np.ndindex(z.shape):
        for step, unit in ((eps, 1.0), (eps * 1j, 1j)):
            hi, lo = z.copy(), z.copy()
            hi[idx] += step
            lo[idx] -= step
            grad[idx] += unit * (loss(hi) - loss(lo)) / (2 * eps)
    return grad


@pytest.mark.parametrize("name,f,z", DOUBLE_BACKWARD, ids=[c[0] for c in DOUBLE_BACKWARD])
def test_complex_gradient_matches_finite_differences(name, f, z):
    """Independent of torch: ember's complex128 gradient equals dL/dx + i dL/dy."""
    x = ember.from_numpy(z.copy()).requires_grad_(True)
    g, = ember.autograd.grad(_weighted_loss(ember, f(ember, x)), x)
    np.testing.assert_allclose(g.cpu().numpy(), _numeric_gradient(f, z), rtol=1e-5, atol=1e-6)


def test_real_leaf_of_complex_graph_gets_no_warning():
    """A real input in a complex graph takes the real part of its gradient silently."""
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    z = ember.tensor([1 + 1j, 2j])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x * z).abs().sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [np.sqrt(2), 2.0], rtol=1e-6)
