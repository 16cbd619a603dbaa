"""ember.signal.windows: the window functions of torch.signal.windows.

Each window w[n], n = 0 .. M-1, is the symmetric window of M points (sym=True, for filter
design) or the periodic one (sym=False, for spectral analysis: the symmetric window of
M + 1 points without its last point). Values are computed in float64 on the host and
rounded once to `dtype` (float32 or float64). M = 0 gives an empty window, M = 1 a one.
"""
import math
import numbers

import numpy as np

from .. import _dtype
from .._device import factory_device
from .._tensor import Tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]

_NUTTALL = (0.3635819, 0.4891775, 0.1365995, 0.0106411)


def _make(name, M, sym, dtype, layout, device, requires_grad, values, direct=False):
    """The window tensor: PyTorch's checks (ValueError), then values(N) -> the float64
    symmetric window of N points, cut for a periodic window (direct: values(M) is the
    window itself, for every M > 0)."""
    from .. import strided
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    dt = _dtype.get_default_dtype() if dtype is None else dtype
    if dt not in (_dtype.float32, _dtype.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dt}")
    if not isinstance(M, numbers.Integral):
        raise TypeError(f"{name}(): argument 'M' must be int, not {type(M).__name__}")
    if M == 0:
        arr = np.empty(0)
    elif direct:
        arr = values(M)
    elif M == 1:
        arr = np.ones(1)
    else:
        arr = values(M if sym else M + 1)[:M]
    t = Tensor._make(np.ascontiguousarray(arr, dtype=dt.np))
    device = factory_device(device)
    if device.type != "cpu":
        t = t.to(device)
    return t.requires_grad_(True) if requires_grad else t


def _general_cosine_values(coefficients):
    """w[n] = sum_i (-1)^i a_i cos(2 pi i n / (N - 1))."""
    def values(n):
        phase = 2 * math.pi * np.arange(n) / (n - 1)
        return sum((-1) ** i * a * np.cos(i * phase) for i, a in enumerate(coefficients))
    return values


def general_cosine(M, *, a, sym=True, dtype=None, layout=None, device=None,
                   requires_grad=False):
    """Generalised cosine window: w[n] = sum_i (-1)^i a_i cos(2 pi i n / (M - 1))."""
    from .. import strided
    if not isinstance(a, (list, tuple)):
        if isinstance(a, Tensor):
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    return _make("general_cosine", M, sym, dtype, strided if layout is None else layout,
                 device, requires_grad, _general_cosine_values(tuple(float(c) for c in a)))


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=None, device=None,
                    requires_grad=False):
    """Generalised Hamming window: w[n] = alpha - (1 - alpha) cos(2 pi n / (M - 1))."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def hann(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """Hann window: w[n] = 1/2 (1 - cos(2 pi n / (M - 1))) = sin^2(pi n / (M - 1))."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """Hamming window: w[n] = 0.54 - 0.46 cos(2 pi n / (M - 1))."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """Nuttall window: the 4-term general cosine window with
    a = (0.3635819, 0.4891775, 0.1365995, 0.0106411)."""
    return general_cosine(M, a=list(_NUTTALL), sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def _window(name, values):
    """A window function of the common signature from values(N)."""
    def window(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
        from .. import strided
        return _make(name, M, sym, dtype, strided if layout is None else layout, device,
                     requires_grad, values)
    window.__name__ = name
    return window


blackman = _window("blackman", _general_cosine_values((0.42, 0.5, 0.08)))
blackman.__doc__ = ("Blackman window: w[n] = 0.42 - 0.5 cos(2 pi n / (M - 1)) "
                    "+ 0.08 cos(4 pi n / (M - 1)).")
bartlett = _window("bartlett", lambda n: 1 - np.abs(2 * np.arange(n) / (n - 1) - 1))
bartlett.__doc__ = "Bartlett (triangular) window: w[n] = 1 - |2n / (M - 1) - 1|."
cosine = _window("cosine", lambda n: np.sin(math.pi * (np.arange(n) + 0.5) / n))
cosine.__doc__ = "Cosine (sine) window: w[n] = sin(pi (n + 1/2) / M)."


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=None, device=None,
                requires_grad=False):
    """Exponential (Poisson) window: w[n] = exp(-|n - c| / tau), c = `center`, by default
    the middle: (M - 1) / 2 (symmetric) or M / 2 (periodic)."""
    from .. import strided
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")

    def values(n):
        c = center
        if c is None:   # the middle of the symmetric window of n (or n + 1) points
            c = (n if not sym and n > 1 else n - 1) / 2
        return np.exp(-np.abs(np.arange(n) - c) / tau)
    return _make("exponential", M, sym, dtype, strided if layout is None else layout, device,
                 requires_grad, values, direct=True)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=None, device=None,
             requires_grad=False):
    """Gaussian window: w[n] = exp(-(n - c)^2 / (2 std^2)), c the middle of the window."""
    from .. import strided
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")

    def values(n):
        offset = np.arange(n) - (n - 1) / 2
        return np.exp(-0.5 * (offset / std) ** 2)
    return _make("gaussian", M, sym, dtype, strided if layout is None else layout, device,
                 requires_grad, values)


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=None, device=None,
           requires_grad=False):
    """Kaiser window: w[n] = I0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) / I0(beta)."""
    from .. import strided
    from .._ops.special import _i0_kernel
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")

    def values(n):
        ratio = 2 * np.arange(n) / (n - 1) - 1
        return _i0_kernel(beta * np.sqrt(np.clip(1 - ratio * ratio, 0, None))) / \
            _i0_kernel(np.float64(beta))
    return _make("kaiser", M, sym, dtype, strided if layout is None else layout, device,
                 requires_grad, values)
