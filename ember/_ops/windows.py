"""Window functions (hann, hamming, blackman, bartlett, kaiser) as torch defines them."""
import builtins
import itertools
import math
import numbers

import numpy as np

from .. import _dtype
from .._device import factory_device
from .._tensor import Tensor, Size
from ..autograd import grad_mode
from ._base import Op, apply
from ._util import wrap_dim, dtype_name, shape_str, check_tensor, ignore_fp_errors, \
    restore_fp_errors
from .pointwise import opmath
from .misc import _E, _require_tensor, _with_out
from .creation import pin_memory_arg, pinned

__all__ = ['hann_window', 'hamming_window', 'blackman_window', 'bartlett_window', 'kaiser_window']


# ---------------------------------------------------------------------------- windows

def _window(name, window_length, periodic, dtype, device, requires_grad, values,
            pin_memory=False):
    """A window of `window_length` points; periodic windows are the symmetric window of
    length + 1 without its last point. values(N) computes the symmetric window of N
    points as float64."""
    E = _E()
    pin = pin_memory_arg(name, pin_memory)
    if not isinstance(window_length, numbers.Integral) or window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    dt = dtype if dtype is not None else _dtype.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if window_length == 0:
        arr = np.empty(0)
    elif window_length == 1:
        arr = np.ones(1)
    else:
        n = window_length + 1 if periodic else window_length
        arr = values(n)[:window_length]
    t = pinned(Tensor._make(arr.astype(dt.np)), pin)
    device = factory_device(device)  # computed on the host, moved to the device
    if device.type != "cpu":
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _cosine_sum(coefficients):
    """The generalized cosine window sum_k (-1)^k a_k cos(2 pi k n / (N - 1))."""
    def values(n):
        k = np.arange(n) * (2 * math.pi / (n - 1))
        return builtins.sum(((-1) ** j) * a * np.cos(j * k) for j, a in enumerate(coefficients))
    return values


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                pin_memory=False, requires_grad=False):
    """w[n] = 0.5 - 0.5 cos(2 pi n / (N - 1))."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum((0.5, 0.5)), pin_memory)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, pin_memory=False, requires_grad=False):
    """w[n] = alpha - beta cos(2 pi n / (N - 1))."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum((alpha, beta)), pin_memory)


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """w[n] = 0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum((0.42, 0.5, 0.08)), pin_memory)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """w[n] = 1 - |2 n / (N - 1) - 1|."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n: 1 - np.abs(2 * np.arange(n) / (n - 1) - 1), pin_memory)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, pin_memory=False, requires_grad=False):
    """w[n] = I0(beta sqrt(1 - (2 n / (N - 1) - 1)^2)) / I0(beta)."""
    def values(n):
        ratio = 2 * np.arange(n) / (n - 1) - 1
        return np.i0(beta * np.sqrt(np.clip(1 - ratio * ratio, 0, None))) / np.i0(beta)
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   values, pin_memory)
