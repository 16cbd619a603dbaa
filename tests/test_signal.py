"""ember.signal.windows against torch.signal.windows: values for symmetric and periodic
windows of several lengths, dtypes, requires_grad, and PyTorch's errors."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

NAMES = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
         "general_hamming", "hamming", "hann", "kaiser", "nuttall"]
PARAMS = {"general_cosine": [dict(a=[0.4, 0.3, 0.3]), dict(a=(0.5, 0.5))],
          "general_hamming": [{}, dict(alpha=0.3)],
          "exponential": [{}, dict(tau=2.5), dict(center=1.3, sym=False)],
          "gaussian": [{}, dict(std=0.7)],
          "kaiser": [{}, dict(beta=3.0), dict(beta=0.0)]}


CASES = [(name, extra) for name in NAMES for extra in PARAMS.get(name, [{}])]


def _both(name, *args, **kwargs):
    """(ember result or exception type, torch result or exception type)."""
    out = []
    for lib in (ember, torch):
        kw = {k: (getattr(lib, v) if k == "dtype" else v) for k, v in kwargs.items()}
        try:
            out.append(getattr(lib.signal.windows, name)(*args, **kw))
        except Exception as e:  # noqa: BLE001 - compared below
            out.append(type(e))
    return out


@pytest.mark.parametrize("name,extra", CASES, ids=[f"{n}-{e}" for n, e in CASES])
def test_window_values(name, extra):
    for M in (0, 1, 2, 5, 8):
        for sym in (True, False):
            if extra.get("sym", sym) != sym:
                continue
            for dtype in ("float64", "float32"):
                e, t = _both(name, M, dtype=dtype, **dict(extra, sym=sym))
                what = f"{name}(M={M}, sym={sym}, dtype={dtype}, {extra})"
                assert str(e.dtype).split(".")[-1] == dtype, what
                assert tuple(e.shape) == tuple(t.shape), what
                assert e.requires_grad is False, what
                tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else \
                    dict(rtol=1e-6, atol=1e-6)
                np.testing.assert_allclose(e.numpy(), t.numpy(), err_msg=what, **tol)


@pytest.mark.parametrize("name", NAMES)
def test_window_defaults_and_requires_grad(name):
    kw = PARAMS.get(name, [{}])[0]
    e, t = _both(name, 6, requires_grad=True, **kw)
    assert e.dtype == ember.float32 and t.dtype == torch.float32
    assert e.requires_grad and t.requires_grad
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-6)
    ember.set_default_dtype(ember.float64)
    try:
        assert getattr(ember.signal.windows, name)(3, **kw).dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)


ERRORS = [(name, (-1,), dict(PARAMS.get(name, [{}])[0])) for name in NAMES] + \
    [(name, (4,), dict(PARAMS.get(name, [{}])[0], dtype=dt)) for name in NAMES
     for dt in ("int64", "float16")] + [
    ("exponential", (4,), dict(center=1.0)),           # center with a symmetric window
    ("exponential", (4,), dict(tau=0.0)),
    ("gaussian", (4,), dict(std=-1.0)),
    ("kaiser", (4,), dict(beta=-1.0)),
    ("general_cosine", (4,), dict(a=3)),
    ("general_cosine", (4,), dict(a=[])),
    ("general_cosine", (4,), {}),                        # a is required
    ("hann", (None,), {}),
]


@pytest.mark.parametrize("name,args,kw", ERRORS, ids=[f"{n}-{a}-{k}" for n, a, k in ERRORS])
def test_window_errors(name, args, kw):
    e, t = _both(name, *args, **kw)
    assert isinstance(t, type), "torch accepted the input"
    assert e is t


def test_window_errors_name_the_function():
    with pytest.raises(ValueError, match="general_cosine requires non-negative window length, "
                                         "got M=-2"):
        ember.signal.windows.hann(-2)
    with pytest.raises(ValueError, match="kaiser expects float32 or float64 dtypes"):
        ember.signal.windows.kaiser(3, dtype=ember.int32)
    with pytest.raises(ValueError, match="implemented for strided tensors only"):
        ember.signal.windows.cosine(3, layout=ember.sparse_coo)


def test_windows_in_stft():
    """A window from ember.signal.windows serves stft as torch's does."""
    x = np.random.default_rng(3).standard_normal(32)
    e = ember.stft(ember.from_numpy(x), 8, window=ember.signal.windows.hann(8, sym=False,
                                                                          dtype=ember.float64),
                   return_complex=True)
    t = torch.stft(torch.from_numpy(x), 8, window=torch.signal.windows.hann(8, sym=False,
                                                                          dtype=torch.float64),
                   return_complex=True)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)
