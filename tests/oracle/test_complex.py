"""Oracle table for complex ops (ember/_ops/complex_ops.py)."""
import numpy as np
import pytest

import ember

from .harness import Grad, check

rng = np.random.default_rng(2)


def c64(*s):
    return (rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex64)


def c128(*s):
    return rng.standard_normal(s) + 1j * rng.standard_normal(s)


def f64(*s):
    return rng.standard_normal(s)


def _real_outputs(fn):
    """fn with complex results seen through view_as_real: the harness's gradient check
    needs real outputs (a complex output's loss would be complex)."""
    def wrapped(L, *args):
        out = fn(L, *args)
        if isinstance(out, (L.Tensor,)) and out.is_complex():
            return L.view_as_real(out.resolve_conj())
        return out
    return wrapped


CASES = [
    ("real", lambda L, z: L.real(z) * 2, [Grad(c128(3, 4))]),
    ("imag", lambda L, z: z.imag * 3, [Grad(c64(2, 3))]),
    ("real_of_real", lambda L, x: L.real(x), [Grad(f64(3))]),
    ("imag_of_real_error", lambda L, x: L.imag(x), [f64(3)]),
    ("real_t", lambda L, z: z.t().real, [Grad(c128(2, 3))]),
    ("conj_values", lambda L, z: L.conj(z).resolve_conj(), [c128(3)]),
    ("conj_real", lambda L, x: L.conj(x), [Grad(f64(3))]),
    ("conj_physical", lambda L, z: L.conj_physical(z) * 2, [Grad(c128(2, 2))]),
    # complex built from real leaves: torch's gradient of a complex leaf here carries a lazy
    # negation bit that .numpy() refuses
    ("conj_then_imag", lambda L, a, b: L.conj(L.complex(a, b)).imag, [Grad(f64(3)), Grad(f64(3))]),
    ("angle_complex", lambda L, z: L.angle(z), [Grad(c128(3, 2))]),
    ("angle_real", lambda L, x: L.angle(x), [np.array([-1.0, 0.0, 2.0, np.nan])]),
    ("angle_int", lambda L, x: L.angle(x), [np.array([-1, 0, 2])]),
    ("angle_real_grad", lambda L, x: x.angle(), [Grad(f64(4))]),
    ("complex", lambda L, a, b: L.complex(a, b), [Grad(f64(3)), Grad(f64(2, 3))]),
    ("complex_f32", lambda L, a, b: L.complex(a, b).abs(), [Grad(f64(3).astype(np.float32)),
                                                         Grad(f64(3).astype(np.float32))]),
    ("complex_dtype_error", lambda L, a, b: L.complex(a, b), [f64(3), f64(3).astype(np.float32)]),
    ("complex_int_error", lambda L, a, b: L.complex(a, b), [np.arange(3), np.arange(3)]),
    ("polar", lambda L, r, t: L.polar(r, t), [Grad(np.abs(f64(4))), Grad(f64(4))]),
    ("view_as_real", lambda L, z: L.view_as_real(z) * 2, [Grad(c128(3, 2))]),
    ("view_as_real_0d", lambda L, z: L.view_as_real(z), [np.complex128(1 + 2j)]),
    ("view_as_real_error", lambda L, x: L.view_as_real(x), [f64(3)]),
    ("view_as_complex", lambda L, x: L.view_as_complex(x) * 2, [Grad(f64(3, 2))]),
    ("view_as_complex_error", lambda L, x: L.view_as_complex(x), [f64(3, 3)]),
    ("view_as_complex_stride_error", lambda L, x: L.view_as_complex(x.t()), [f64(2, 3)]),
    ("roundtrip", lambda L, x: L.view_as_real(L.view_as_complex(x)), [Grad(f64(2, 2))]),
    ("is_conj", lambda L, z: (z.is_neg(), L.is_neg(z), L.is_conj(z)), [c128(2)]),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_complex_oracle(name, fn, inputs):
    check(_real_outputs(fn), *inputs)


def test_real_imag_are_views():
    z = ember.tensor([1 + 2j, 3 - 4j])
    z.real.mul_(10)
    z.imag[0] = 7.0
    np.testing.assert_allclose(z.cpu().numpy(), [10 + 7j, 30 - 4j])
    r = ember.view_as_real(z)
    r[1, 1] = 0.5
    assert z[1].item() == 30 + 0.5j
    z.real = ember.tensor([0.0, 0.0])
    np.testing.assert_allclose(z.cpu().numpy().real, [0.0, 0.0])


def test_complex_gradcheck_real_inputs():
    from ember.autograd import gradcheck, gradgradcheck
    r = ember.tensor(np.abs(f64(3)) + 0.5, requires_grad=True)
    t = ember.tensor(f64(3), requires_grad=True)
    assert gradcheck(lambda a, b: ember.view_as_real(ember.polar(a, b)), (r, t))
    assert gradgradcheck(lambda a, b: ember.view_as_real(ember.polar(a, b)), (r, t))
