"""Oracle tests for ember.stft / ember.istft (ember/_ops/spectral.py): values at float64
rtol 1e-10, gradients to the signal and the window, dtypes, shapes, warnings and errors."""
import warnings

import numpy as np
import pytest

import ember

from .harness import Grad, check

torch = pytest.importorskip("torch")

rng = np.random.default_rng(11)
F64 = dict(rtol=1e-10, atol=1e-12)
SIGNAL = rng.standard_normal((2, 40))
WINDOW = np.hanning(10) + 0.1
HANN12 = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(12) / 12)   # periodic Hann, NOLA at hop 3


def _as_real(L, t):
    """A complex result as (..., 2) reals (the harness's gradient check needs a real loss)."""
    return L.view_as_real(t) if t.is_complex() else t


def _stft(**kw):
    def fn(L, x, w=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _as_real(L, L.stft(x, window=w, **kw))
    return fn


STFT_CASES = [
    ("basic", dict(n_fft=10, return_complex=True), SIGNAL, WINDOW),
    ("one_signal", dict(n_fft=10, hop_length=4, return_complex=True), SIGNAL[0], WINDOW),
    ("short_window", dict(n_fft=12, win_length=10, hop_length=3, return_complex=True),
     SIGNAL, WINDOW),
    ("no_center", dict(n_fft=12, win_length=10, hop_length=3, center=False,
                       return_complex=True), SIGNAL, WINDOW),
    ("align_to_window", dict(n_fft=12, win_length=10, hop_length=3, center=False,
                             align_to_window=True, return_complex=True), SIGNAL, WINDOW),
    ("two_sided_normalized", dict(n_fft=10, normalized=True, onesided=False,
                                  return_complex=True), SIGNAL, WINDOW),
    ("constant_pad", dict(n_fft=10, pad_mode="constant", return_complex=True), SIGNAL, WINDOW),
    ("circular_pad", dict(n_fft=10, pad_mode="circular", return_complex=True), SIGNAL, WINDOW),
    ("replicate_pad", dict(n_fft=10, pad_mode="replicate", return_complex=True), SIGNAL,
     WINDOW),
    ("complex_signal", dict(n_fft=10, return_complex=True),
     SIGNAL + 1j * SIGNAL[:, ::-1], WINDOW),
    ("complex_window", dict(n_fft=10, hop_length=5), SIGNAL, WINDOW * (1 + 0.5j)),
    ("real_output", dict(n_fft=10, return_complex=False), SIGNAL, WINDOW),
    ("no_window", dict(n_fft=12, win_length=7, return_complex=True), SIGNAL, None),
    ("no_window_full", dict(n_fft=8, return_complex=True), SIGNAL, None),
]


@pytest.mark.parametrize("name,kw,x,w", STFT_CASES, ids=[c[0] for c in STFT_CASES])
def test_stft_values_and_grads(name, kw, x, w):
    inputs = [Grad(x)] + ([] if w is None else [Grad(w)])
    check(_stft(**kw), *inputs, **F64)


def test_stft_dtypes():
    x32 = SIGNAL.astype(np.float32)
    check(_stft(n_fft=10, return_complex=True), Grad(x32), WINDOW.astype(np.float32))
    check(_stft(n_fft=10, return_complex=True), x32, WINDOW)          # promotes to complex128
    check(_stft(n_fft=10, return_complex=True), (SIGNAL + 0j).astype(np.complex64))
    check(lambda L, x: _as_real(L, x.stft(8, hop_length=3, return_complex=True,
                                          window=L.hann_window(8, dtype=L.float64))),
          Grad(SIGNAL), **F64)


STFT_ERRORS = [
    ("no_return_complex", dict(n_fft=10), SIGNAL),
    ("complex_onesided", dict(n_fft=10, onesided=True, return_complex=True), SIGNAL + 1j),
    ("n_fft_too_big_centered", dict(n_fft=64, return_complex=True), SIGNAL[:, :20]),
    ("n_fft_too_big", dict(n_fft=64, center=False, return_complex=True), SIGNAL),
    ("n_fft_zero", dict(n_fft=0, return_complex=True), SIGNAL),
    ("hop_zero", dict(n_fft=8, hop_length=0, return_complex=True), SIGNAL),
    ("win_too_long", dict(n_fft=8, win_length=9, return_complex=True), SIGNAL),
    ("win_zero", dict(n_fft=8, win_length=0, return_complex=True), SIGNAL),
    ("three_dims", dict(n_fft=4, return_complex=True), SIGNAL.reshape(2, 2, 20)),
    ("integer", dict(n_fft=4, return_complex=True), np.arange(20)),
    ("bad_pad_mode", dict(n_fft=8, pad_mode="foo", return_complex=True), SIGNAL),
    ("align_with_center", dict(n_fft=8, align_to_window=True, return_complex=True), SIGNAL),
]


@pytest.mark.parametrize("name,kw,x", STFT_ERRORS, ids=[c[0] for c in STFT_ERRORS])
def test_stft_errors(name, kw, x):
    check(_stft(**kw), x)


def test_stft_window_shape_errors():
    check(_stft(n_fft=8, return_complex=True), SIGNAL, np.ones(5))
    check(_stft(n_fft=8, return_complex=True), SIGNAL, np.ones((2, 4)))


def test_stft_warnings():
    x = ember.tensor(SIGNAL)
    for kw, text in ((dict(n_fft=8, return_complex=True), "A window was not provided"),
                     (dict(n_fft=8, window=ember.ones(8, dtype=ember.float64),
                           return_complex=False), "return_complex=False is deprecated")):
        with pytest.warns(UserWarning, match=text):
            ember.stft(x, **kw)


# ---------------------------------------------------------------------------- istft

def _spectrum(x=SIGNAL, n_fft=12, hop=3, window=HANN12, **kw):
    return torch.stft(torch.from_numpy(x), n_fft, hop, window=torch.from_numpy(window),
                      return_complex=True, **kw).numpy()


def _istft(**kw):
    def fn(L, s, w=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _as_real(L, L.istft(s, window=w, **kw))
    return fn


ISTFT_CASES = [
    ("basic", dict(n_fft=12, hop_length=3), _spectrum(), HANN12),
    ("one_signal", dict(n_fft=12, hop_length=3), _spectrum(SIGNAL[0]), HANN12),
    ("length_short", dict(n_fft=12, hop_length=3, length=25), _spectrum(), HANN12),
    ("length_long", dict(n_fft=12, hop_length=3, length=47), _spectrum(), HANN12),
    ("normalized", dict(n_fft=12, hop_length=3, normalized=True),
     _spectrum(normalized=True), HANN12),
    ("two_sided_real", dict(n_fft=12, hop_length=3), _spectrum(onesided=False), HANN12),
    ("two_sided_complex", dict(n_fft=12, hop_length=3, return_complex=True),
     _spectrum(SIGNAL + 1j * SIGNAL[::-1]), HANN12),
    ("short_window", dict(n_fft=12, hop_length=2, win_length=8),
     _spectrum(window=np.pad(np.hanning(8) + 0.2, 2), hop=2), np.hanning(8) + 0.2),
    ("no_center", dict(n_fft=12, hop_length=3, center=False),
     _spectrum(window=HANN12 + 0.1, center=False), HANN12 + 0.1),
    ("no_window", dict(n_fft=8, hop_length=2), _spectrum(n_fft=8, hop=2, window=np.ones(8)),
     None),
]


@pytest.mark.parametrize("name,kw,s,w", ISTFT_CASES, ids=[c[0] for c in ISTFT_CASES])
def test_istft_values_and_grads(name, kw, s, w):
    inputs = [Grad(s)] + ([] if w is None else [Grad(w)])
    check(_istft(**kw), *inputs, **F64)


def test_istft_round_trip():
    x = ember.from_numpy(SIGNAL)
    w = ember.from_numpy(HANN12)
    back = ember.istft(ember.stft(x, 12, 3, window=w, return_complex=True), 12, 3, window=w,
                       length=40)
    np.testing.assert_allclose(back.numpy(), SIGNAL, rtol=1e-12, atol=1e-12)


def test_istft_dtypes():
    s = _spectrum()
    check(_istft(n_fft=12, hop_length=3), s.astype(np.complex64), HANN12)     # -> float64
    check(_istft(n_fft=12, hop_length=3), Grad(s.astype(np.complex64)),
          HANN12.astype(np.float32))


ISTFT_ERRORS = [
    ("real_input", dict(n_fft=12, hop_length=3), _spectrum().real.copy(), HANN12),
    ("nola_zero_window", dict(n_fft=12, hop_length=3), _spectrum(), np.zeros(12)),
    ("nola_hann_no_center", dict(n_fft=12, hop_length=3, center=False), _spectrum(), HANN12),
    ("onesided_mismatch", dict(n_fft=14, hop_length=3), _spectrum(), np.ones(14)),
    ("two_sided_mismatch", dict(n_fft=12, hop_length=3, onesided=False), _spectrum(), HANN12),
    ("onesided_complex_output", dict(n_fft=12, hop_length=3, return_complex=True),
     _spectrum(), HANN12),
    ("four_dims", dict(n_fft=12, hop_length=3), _spectrum()[None], HANN12),
    ("hop_too_big", dict(n_fft=12, hop_length=13), _spectrum(), HANN12),
    ("window_length", dict(n_fft=12, hop_length=3, win_length=6), _spectrum(), HANN12),
    ("complex_window_real_output", dict(n_fft=12, hop_length=3), _spectrum(), HANN12 + 1j),
]


@pytest.mark.parametrize("name,kw,s,w", ISTFT_ERRORS, ids=[c[0] for c in ISTFT_ERRORS])
def test_istft_errors(name, kw, s, w):
    check(_istft(**kw), s, w)


def test_istft_warnings():
    s = ember.from_numpy(_spectrum())
    with pytest.warns(UserWarning, match="A window was not provided"):
        ember.istft(s, 12, 3, window=None, center=True)
    with pytest.warns(UserWarning, match="padded with zeros in the tail"):
        ember.istft(s, 12, 3, window=ember.from_numpy(HANN12), length=50)


def test_stft_istft_second_order():
    """stft and istft are built from differentiable ops: a gradient of a gradient agrees
    with PyTorch's (through |stft|^2, and through istft's division by the envelope)."""
    def second(lib, x, w):
        spec = lib.stft(x, 12, 3, window=w, return_complex=True)
        power = (spec.abs() ** 2).sum()
        gx, = lib.autograd.grad(power, x, create_graph=True)
        back = lib.istft(spec, 12, 3, window=w, length=40)
        return lib.autograd.grad((gx * gx).sum() + (back ** 3).sum(), (x, w))
    results = []
    for lib in (ember, torch):
        x = lib.from_numpy(SIGNAL.copy()).requires_grad_(True)
        w = lib.from_numpy(HANN12.copy() + 0.1).requires_grad_(True)
        results.append([g.detach().numpy() for g in second(lib, x, w)])
    for e, t in zip(*results):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-10)
