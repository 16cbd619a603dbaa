"""Oracle table for ember.fft: every transform, norm modes, sizes, dims, gradients."""
import numpy as np
import pytest

import ember

from .harness import Grad, check

rng = np.random.default_rng(3)


def f64(*s):
    return rng.standard_normal(s)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def c128(*s):
    return rng.standard_normal(s) + 1j * rng.standard_normal(s)


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
    ("fft_real", lambda L, x: L.fft.fft(x), [Grad(f64(3, 8))]),
    ("fft_complex", lambda L, z: L.fft.fft(z), [Grad(c128(5))]),
    ("fft_f32", lambda L, x: L.fft.fft(x), [Grad(f32(6))]),
    ("fft_int", lambda L, x: L.fft.fft(x), [np.arange(5)]),
    ("fft_n_pad", lambda L, x: L.fft.fft(x, n=8, dim=0), [Grad(f64(5, 2))]),
    ("fft_n_trunc", lambda L, z: L.fft.fft(z, n=3), [Grad(c128(2, 6))]),
    ("fft_ortho", lambda L, z: L.fft.fft(z, norm="ortho"), [Grad(c128(7))]),
    ("fft_forward", lambda L, z: L.fft.fft(z, norm="forward"), [Grad(c128(4))]),
    ("fft_norm_error", lambda L, z: L.fft.fft(z, norm="bad"), [c128(4)]),
    ("fft_n_error", lambda L, z: L.fft.fft(z, n=0), [c128(4)]),
    ("fft_dim_error", lambda L, z: L.fft.fft(z, dim=2), [c128(4)]),
    ("ifft", lambda L, z: L.fft.ifft(z, dim=0), [Grad(c128(4, 3))]),
    ("ifft_ortho_n", lambda L, z: L.fft.ifft(z, n=6, norm="ortho"), [Grad(c128(4))]),
    ("rfft", lambda L, x: L.fft.rfft(x), [Grad(f64(3, 8))]),
    ("rfft_odd", lambda L, x: L.fft.rfft(x, dim=0), [Grad(f64(7, 2))]),
    ("rfft_n_forward", lambda L, x: L.fft.rfft(x, n=10, norm="forward"), [Grad(f32(6))]),
    ("rfft_complex_error", lambda L, z: L.fft.rfft(z), [c128(4)]),
    ("irfft", lambda L, z: L.fft.irfft(z), [Grad(c128(2, 5))]),
    ("irfft_n_odd", lambda L, z: L.fft.irfft(z, n=7), [Grad(c128(4))]),
    ("irfft_n_small", lambda L, z: L.fft.irfft(z, n=4, norm="ortho"), [Grad(c128(6))]),
    ("irfft_real_input", lambda L, x: L.fft.irfft(x), [Grad(f64(5))]),
    # complex built from real leaves: torch's gradient of a complex leaf through hfft carries
    # a lazy conjugation bit that .numpy() refuses
    ("hfft", lambda L, a, b: L.fft.hfft(L.complex(a, b)), [Grad(f64(5)), Grad(f64(5))]),
    ("hfft_n", lambda L, a, b: L.fft.hfft(L.complex(a, b), n=7, norm="ortho"),
     [Grad(f64(4)), Grad(f64(4))]),
    ("hfft_values", lambda L, z: L.fft.hfft(z, n=6), [c128(4)]),
    ("ihfft", lambda L, x: L.fft.ihfft(x), [Grad(f64(6))]),
    ("fft2", lambda L, z: L.fft.fft2(z), [Grad(c128(2, 3, 4))]),
    ("ifft2_s", lambda L, z: L.fft.ifft2(z, s=(4, 2)), [Grad(c128(3, 3))]),
    ("fftn", lambda L, x: L.fft.fftn(x), [Grad(f64(2, 3, 4))]),
    ("fftn_dim", lambda L, z: L.fft.fftn(z, dim=(0, -1), norm="ortho"), [Grad(c128(3, 2, 4))]),
    ("fftn_s", lambda L, z: L.fft.fftn(z, s=(2, 5)), [Grad(c128(3, 3, 3))]),
    ("ifftn", lambda L, z: L.fft.ifftn(z, norm="forward"), [Grad(c128(3, 4))]),
    ("rfft2", lambda L, x: L.fft.rfft2(x), [Grad(f64(4, 6))]),
    ("rfftn", lambda L, x: L.fft.rfftn(x, dim=(0, 2)), [Grad(f64(3, 2, 5))]),
    ("irfft2", lambda L, z: L.fft.irfft2(z), [Grad(c128(4, 3))]),
    ("irfftn_s", lambda L, z: L.fft.irfftn(z, s=(3, 6)), [Grad(c128(4, 4))]),
    ("hfftn", lambda L, z: L.fft.hfftn(z), [Grad(c128(3, 4))]),
    ("ihfftn", lambda L, x: L.fft.ihfftn(x), [Grad(f64(3, 4))]),
    ("fftfreq", lambda L: L.fft.fftfreq(7, d=0.5), []),
    ("fftfreq_even", lambda L: L.fft.fftfreq(8, dtype=L.float64), []),
    ("rfftfreq", lambda L: L.fft.rfftfreq(9), []),
    ("fftshift", lambda L, x: L.fft.fftshift(x), [Grad(f64(5, 4))]),
    ("fftshift_dim", lambda L, x: L.fft.fftshift(x, dim=-1), [Grad(f64(3, 5))]),
    ("ifftshift", lambda L, x: L.fft.ifftshift(x, dim=(0,)), [Grad(f64(5, 4))]),
    ("roundtrip", lambda L, x: L.fft.irfft(L.fft.rfft(x), n=7), [Grad(f64(7))]),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_fft_oracle(name, fn, inputs):
    check(_real_outputs(fn), *inputs)


def test_fft_gradcheck():
    from ember.autograd import gradcheck, gradgradcheck
    x = ember.tensor(f64(6), requires_grad=True)
    for fn in (lambda t: ember.view_as_real(ember.fft.rfft(t)),
               lambda t: ember.fft.irfft(ember.fft.rfft(t) * 2.0, n=6),
               lambda t: ember.view_as_real(ember.fft.fft(t, norm="ortho")),
               lambda t: ember.fft.hfft(ember.fft.ihfft(t), n=6)):
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))
