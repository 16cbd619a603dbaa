"""Discrete Fourier transforms (torch.fft) on NumPy's pocketfft, with backward.

Three primitives carry the gradients; every public transform is built from them:

    FFTC2C   complex -> complex over `dims` (forward or inverse)
    FFTR2C   real -> the n//2 + 1 non-negative frequencies along one dim (rfft)
    FFTC2R   those frequencies -> a real signal of length n along one dim (irfft)

`norm` scales the forward transform by 1 ("backward"), 1/n ("forward") or 1/sqrt(n)
("ortho"), and the inverse by the reciprocal choice. The adjoint of a transform with
norm m is the opposite-direction transform with the swapped norm (backward <-> forward,
ortho <-> ortho), which gives the backward formulas:

    FFTC2C:  dx = c2c(grad, opposite direction, swapped norm)
    FFTR2C:  dx = Re(ifft(grad zero-padded to n, swapped norm))
    FFTC2R:  dX = rfft(grad, swapped norm) with the bins 1 .. ceil(n/2) - 1 doubled
             (each of them stands for itself and its mirror image)

Signals are cut or zero-padded to the requested sizes `n`/`s` before a primitive runs,
by differentiable ops, so the primitives see exact sizes.
"""
import numbers

import numpy as np

from .. import _dtype
from .._backend import like
from .._device import factory_device
from .._tensor import Tensor
from ._base import Op, apply
from ._util import wrap_dim, dtype_name

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}
_COMPLEX_OF = {"float16": _dtype.complex64, "bfloat16": _dtype.complex64,
               "float32": _dtype.complex64, "float64": _dtype.complex128}


def _E():
    import ember
    return ember


def _norm(norm, fname):
    if norm is None:
        return "backward"
    if norm not in _SWAP:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def _complex_input(x, fname):
    """x as a complex tensor (real and integer inputs are promoted, as PyTorch)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if x.is_complex():
        return x
    dt = x.dtype if x.is_floating_point() else _dtype.get_default_dtype()
    if dt in (_dtype.float16, _dtype.bfloat16):
        raise RuntimeError(f"Unsupported dtype {dtype_name(dt)}")
    E = _E()
    x = x.to(dt)
    return E.complex(x, x.new_zeros(()).expand(x.shape))


def _real_input(x, fname):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if x.is_complex():
        raise RuntimeError(f"{fname} expects a real input tensor, but got "
                           f"{dtype_name(x.dtype)}")
    if x.is_floating_point():
        if x.dtype in (_dtype.float16, _dtype.bfloat16):
            raise RuntimeError(f"Unsupported dtype {dtype_name(x.dtype)}")
        return x
    return x.to(_dtype.get_default_dtype())


def _resize(x, dim, n):
    """x cut or zero-padded to length n along dim (differentiable)."""
    size = x.shape[dim]
    if n == size:
        return x
    if n < size:
        return x.narrow(dim, 0, n)
    E = _E()
    pad_shape = list(x.shape)
    pad_shape[dim] = n - size
    return E.cat([x, E.zeros(pad_shape, dtype=x.dtype, device=x.device)], dim)


class FFTC2C(Op):
    """out = fftn / ifftn of a complex array over dims;  dx = the adjoint transform."""
    _name = "FftC2CBackward0"

    @staticmethod
    def forward(ctx, z, dims, forward, norm):
        ctx.args = (dims, forward, norm)
        if not dims:
            return z.copy()
        fn = np.fft.fftn if forward else np.fft.ifftn
        return fn(z, axes=dims, norm=norm).astype(z.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        dims, forward, norm = ctx.args
        return _c2c(grad, dims, not forward, _SWAP[norm])


def _c2c(z, dims, forward, norm):
    return apply(FFTC2C, (z,), (z._data,), tuple(dims), forward, norm)


class FFTR2C(Op):
    """out = rfft(x) along dim;  dx = Re(ifft(grad padded to n, swapped norm))."""
    _name = "FftR2CBackward0"

    @staticmethod
    def forward(ctx, x, dim, norm):
        ctx.args = (dim, norm, x.shape[dim])
        dt = np.complex64 if x.dtype == np.float32 else np.complex128
        return np.fft.rfft(x, axis=dim, norm=norm).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        dim, norm, n = ctx.args
        full = _resize(grad, dim, n)
        return _c2c(full, (dim,), False, _SWAP[norm]).real


class FFTC2R(Op):
    """out = irfft(X, n) along dim;  dX = rfft(grad, swapped norm), middle bins doubled."""
    _name = "FftC2RBackward0"

    @staticmethod
    def forward(ctx, z, dim, n, norm):
        ctx.args = (dim, n, norm, z.shape[dim])
        dt = np.float32 if z.dtype == np.complex64 else np.float64
        return np.fft.irfft(z, n=n, axis=dim, norm=norm).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        dim, n, norm, m = ctx.args
        g = apply(FFTR2C, (grad,), (grad._data,), dim, _SWAP[norm])
        weights = np.full(g.shape[dim], 2.0, dtype=grad._data.dtype)
        weights[0] = 1.0
        if n % 2 == 0:
            weights[-1] = 1.0
        shape = [1] * g.dim()
        shape[dim] = -1
        g = g * Tensor._make(like(weights.reshape(shape), grad._data))
        return _resize(g, dim, m)


def _wrap(dim, ndim):
    """wrap_dim without its scalar allowance: PyTorch's FFTs refuse a dim of a 0-dim tensor."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(dim, ndim)


# ---------------------------------------------------------------------------- 1-D

def _one_dim(x, n, dim, fname):
    d = _wrap(dim, x.dim())
    if n is not None and n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return d, (x.shape[d] if n is None else n)


def fft(input, n=None, dim=-1, norm=None):
    """One-dimensional discrete Fourier transform: X_k = sum_t x_t exp(-2 pi i k t / n)."""
    z = _complex_input(input, "fft_fft")
    d, size = _one_dim(z, n, dim, "fft")
    return _c2c(_resize(z, d, size), (d,), True, _norm(norm, "fft"))


def ifft(input, n=None, dim=-1, norm=None):
    """Inverse of fft: x_t = 1/n sum_k X_k exp(2 pi i k t / n)."""
    z = _complex_input(input, "fft_ifft")
    d, size = _one_dim(z, n, dim, "ifft")
    return _c2c(_resize(z, d, size), (d,), False, _norm(norm, "ifft"))


def rfft(input, n=None, dim=-1, norm=None):
    """fft of a real signal, keeping the n // 2 + 1 non-negative frequencies."""
    x = _real_input(input, "rfft")
    d, size = _one_dim(x, n, dim, "rfft")
    x = _resize(x, d, size)
    return apply(FFTR2C, (x,), (x._data,), d, _norm(norm, "rfft"))


def irfft(input, n=None, dim=-1, norm=None):
    """Inverse of rfft: a real signal of length n (default 2 (m - 1) for m input bins)."""
    z = _complex_input(input, "irfft")
    d = _wrap(dim, z.dim())
    size = 2 * (z.shape[d] - 1) if n is None else n
    if size < 1:
        raise RuntimeError(f"Invalid number of data points ({size}) specified")
    z = _resize(z, d, size // 2 + 1)
    return apply(FFTC2R, (z,), (z._data,), d, size, _norm(norm, "irfft"))


def hfft(input, n=None, dim=-1, norm=None):
    """fft of a Hermitian-symmetric signal given by its first half: a real spectrum,
    hfft(x, n, norm) = irfft(conj(x), n, swapped norm)."""
    z = _complex_input(input, "hfft")
    return irfft(z.conj(), n, dim, _SWAP[_norm(norm, "hfft")])


def ihfft(input, n=None, dim=-1, norm=None):
    """Inverse of hfft: conj(rfft(x, n, swapped norm))."""
    return rfft(input, n, dim, _SWAP[_norm(norm, "ihfft")]).conj()


# ---------------------------------------------------------------------------- n-D

def _nd_args(x, s, dim, fname, default_all=True):
    """Normalise (s, dim) as PyTorch: dim defaults to the last len(s) dims, or to all."""
    if s is not None and isinstance(s, numbers.Integral):
        s = (s,)
    if dim is not None and isinstance(dim, numbers.Integral):
        dim = (dim,)
    if dim is None:
        if s is None:
            dims = tuple(range(x.dim()))
        else:
            dims = tuple(range(x.dim() - len(s), x.dim()))
    else:
        dims = tuple(_wrap(d, x.dim()) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{fname} dims must be unique")
    if s is not None and len(s) != len(dims):
        raise RuntimeError(f"When given, dim and shape arguments must have the same length")
    sizes = tuple(x.shape[d] for d in dims) if s is None else tuple(
        x.shape[d] if v == -1 else v for d, v in zip(dims, s))
    for v in sizes:
        if v < 1:
            raise RuntimeError(f"Invalid number of data points ({v}) specified")
    return dims, sizes


def _c2c_nd(input, s, dim, norm, forward, fname):
    z = _complex_input(input, fname)
    dims, sizes = _nd_args(z, s, dim, fname)
    for d, v in zip(dims, sizes):
        z = _resize(z, d, v)
    return _c2c(z, dims, forward, _norm(norm, fname))


def fftn(input, s=None, dim=None, norm=None):
    """N-dimensional fft over `dim` (all dims by default), signal sizes `s`."""
    return _c2c_nd(input, s, dim, norm, True, "fftn")


def ifftn(input, s=None, dim=None, norm=None):
    """N-dimensional inverse fft."""
    return _c2c_nd(input, s, dim, norm, False, "ifftn")


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """fft over the last two dims."""
    return fftn(input, s, dim, norm)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """ifft over the last two dims."""
    return ifftn(input, s, dim, norm)


def rfftn(input, s=None, dim=None, norm=None):
    """N-dimensional fft of a real signal: rfft over the last of `dim`, then fft over
    the others."""
    x = _real_input(input, "rfftn")
    dims, sizes = _nd_args(x, s, dim, "rfftn")
    if not dims:
        raise RuntimeError("rfftn must transform at least one axis")
    half = rfft(x, sizes[-1], dims[-1], norm)
    return fftn(half, sizes[:-1], dims[:-1], norm) if len(dims) > 1 else half


def irfftn(input, s=None, dim=None, norm=None):
    """Inverse of rfftn: ifft over all of `dim` but the last, then irfft over the last
    (its output size defaults to 2 (m - 1))."""
    z = _complex_input(input, "irfftn")
    if s is not None and isinstance(s, numbers.Integral):
        s = (s,)
    if dim is not None and isinstance(dim, numbers.Integral):
        dim = (dim,)
    if dim is None:
        dims = tuple(range(z.dim())) if s is None else tuple(range(z.dim() - len(s), z.dim()))
    else:
        dims = tuple(_wrap(d, z.dim()) for d in dim)
    if not dims:
        raise RuntimeError("irfftn must transform at least one axis")
    if s is not None and len(s) != len(dims):
        raise RuntimeError("When given, dim and shape arguments must have the same length")
    last = 2 * (z.shape[dims[-1]] - 1) if s is None or s[-1] == -1 else s[-1]
    lead = None if s is None else tuple(s[:-1])
    if len(dims) > 1:
        z = ifftn(z, lead, dims[:-1], norm)
    return irfft(z, last, dims[-1], norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    return rfftn(input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    return irfftn(input, s, dim, norm)


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    return hfftn(input, s, dim, norm)


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    return ihfftn(input, s, dim, norm)


def hfftn(input, s=None, dim=None, norm=None):
    """N-dimensional hfft: irfftn(conj(x)) with the swapped norm."""
    z = _complex_input(input, "hfftn")
    return irfftn(z.conj(), s, dim, _SWAP[_norm(norm, "hfftn")])


def ihfftn(input, s=None, dim=None, norm=None):
    """N-dimensional ihfft: conj(rfftn(x)) with the swapped norm."""
    return rfftn(input, s, dim, _SWAP[_norm(norm, "ihfftn")]).conj()


# ---------------------------------------------------------------------------- helpers

def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """Sample frequencies [0, 1, ..., n/2 - 1, -n/2, ..., -1] / (d n)."""
    n, d = _freq_args("fft_fftfreq", n, d)
    return _freq(np.fft.fftfreq(n, d) if n else np.empty(0), dtype, device, requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """Sample frequencies [0, 1, ..., n/2] / (d n) of rfft."""
    n, d = _freq_args("fft_rfftfreq", n, d)
    # (n = 0: PyTorch's one value 0 * 1 / (0 * d), a NaN)
    return _freq(np.fft.rfftfreq(n, d) if n else np.array([np.nan]), dtype, device,
                 requires_grad)


def _freq_args(fname, n, d):
    """n and d checked as PyTorch's argument parser checks them (an int n: a float n / 2
    is a TypeError, not NumPy's ValueError; a negative n: the factories' RuntimeError)."""
    if isinstance(n, Tensor) and n.dim() == 0 and not n.dtype.is_floating_point:
        n = n.item()
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{fname}(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if isinstance(d, Tensor) and d.dim() == 0:
        d = d.item()
    if isinstance(d, bool) or not isinstance(d, numbers.Real):
        raise TypeError(f"{fname}(): argument 'd' must be float, not {type(d).__name__}")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    return int(n), float(d)


def _freq(values, dtype, device, requires_grad):
    dt = dtype or _dtype.get_default_dtype()
    t = Tensor._make(values.astype(dt.np))
    device = factory_device(device)
    if device.type != "cpu":
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shift_dims(x, dim):
    if dim is None:
        return tuple(range(x.dim()))
    if isinstance(dim, numbers.Integral):
        return (_wrap(dim, x.dim()),)
    return tuple(_wrap(d, x.dim()) for d in dim)


def fftshift(input, dim=None):
    """Move the zero frequency to the centre: roll by n // 2 along each dim."""
    dims = _shift_dims(input, dim)
    # (no dims, as for a 0-dim input: roll refuses empty shifts, as PyTorch's)
    return input.roll(tuple(input.shape[d] // 2 for d in dims), dims)


def ifftshift(input, dim=None):
    """Inverse of fftshift: roll by -(n // 2) along each dim."""
    dims = _shift_dims(input, dim)
    # (no dims, as for a 0-dim input: roll refuses empty shifts, as PyTorch's)
    return input.roll(tuple(-(input.shape[d] // 2) for d in dims), dims)
