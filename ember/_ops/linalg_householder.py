"""Householder reflectors in LAPACK's compact form: geqrf's (a, tau), the product
Q = H_1 ... H_k they stand for (householder_product / orgqr) and its application to
another matrix (ormqr), with H_i = I - tau_i v_i v_i^H and v_i the i-th column of `a`
below the diagonal with a one on it.

geqrf computes on arrays and, like PyTorch's, has no derivative; householder_product and
ormqr are composed of ember ops, so their gradients (to any order) come for free.
"""
import numpy as np

from .. import _dtype
from .._tensor import Tensor
from .._autocast import cast_before_checks
from ._base import Op, apply
from ._composite_node import CompositeNode
from .relayout import lapack_layout
from ._layout import col_major
from ._util import check_same_device, dtype_name
from .linalg import mH
from .linalg_solvers import _return_type, _eye_like
from .linalg_more import _require_tensor, _with_out

__all__ = ["geqrf", "orgqr", "ormqr"]


_GeqrfResult = _return_type("geqrf", ["a", "tau"])


def _geqrf_arrays(xp, a):
    """LAPACK geqrf: R on and above the diagonal, the Householder vectors v_i (v_i[i] = 1
    implied) below it, and tau, so that A = H_1 ... H_k R with H_i = I - tau_i v_i v_i^H.
    Each reflector is LAPACK's larfg: beta = -sign(Re alpha) ||(alpha, x)||,
    tau = (beta - alpha) / beta, v = x / (alpha - beta); tau = 0 when x = 0 and alpha
    is real."""
    m, n = a.shape[-2:]
    k = min(m, n)
    qr = a.swapaxes(-1, -2).copy().swapaxes(-1, -2)   # column-major, as LAPACK's result
    tau = xp.zeros(a.shape[:-2] + (k,), dtype=a.dtype)
    real_dtype = np.float32 if a.dtype in (np.float32, np.complex64) else np.float64
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(k):
            alpha = qr[..., i, i]
            x = qr[..., i + 1:, i]
            xnorm = xp.sqrt((xp.abs(x) ** 2).sum(axis=-1)).astype(real_dtype)
            identity = (xnorm == 0) & (xp.imag(alpha) == 0)
            norm = xp.sqrt(xp.abs(alpha) ** 2 + xnorm ** 2)
            beta = xp.where(xp.real(alpha) >= 0, -norm, norm)
            beta = xp.where(identity, xp.real(alpha), beta)
            t = xp.where(identity, 0, (beta - alpha) / xp.where(identity, 1, beta))
            scale = xp.where(identity, 1, 1 / xp.where(identity, 1, alpha - beta))
            qr[..., i + 1:, i] = x * scale[..., None]
            qr[..., i, i] = beta
            tau[..., i] = t
            # apply H_i^H = I - conj(tau) v v^H to the columns on the right
            v = xp.concatenate([xp.ones(a.shape[:-2] + (1,), dtype=a.dtype), qr[..., i + 1:, i]],
                               axis=-1)
            rest = qr[..., i:, i + 1:]
            w = xp.matmul(xp.conj(v)[..., None, :], rest)  # v^H rest, (..., 1, n - i - 1)
            qr[..., i:, i + 1:] = rest - xp.conj(t)[..., None, None] * v[..., :, None] * w
    return qr, tau


class Geqrf(Op):
    """(a, tau) of LAPACK's geqrf; like PyTorch, it has no derivative."""
    _name = "GeqrfBackward0"

    @staticmethod
    def forward(ctx, a):
        qr, tau = _geqrf_arrays(ctx.xp, a)
        return col_major(qr), tau   # as LAPACK's

    @staticmethod
    def backward(ctx, ga, gtau):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


@cast_before_checks("geqrf")
def geqrf(input, *, out=None):
    """The QR factorization in LAPACK's compact form (a, tau); see householder_product
    to build Q from it."""
    _require_tensor(input, "geqrf", "input", 1)
    if input.dim() < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    if not (input.dtype.is_floating_point or input.dtype.is_complex) or \
            input.dtype in (_dtype.float16, _dtype.bfloat16):
        raise NotImplementedError(f"\"geqrf_cpu\" not implemented for "
                                  f"'{dtype_name(input.dtype)}'")
    return _with_out(_GeqrfResult(*apply(Geqrf, (input,), (input._data,))), out)


def _reflectors(A, k):
    """V (..., m, k): A's Householder vectors (strict lower part, unit diagonal)."""
    m = A.shape[-2]
    return A[..., :, :k].tril(-1) + _eye_like(A, m)[:, :k]


def _householder_checks(fname, A, tau, tau_bound=True):
    """`tau_bound`: check tau.shape[-1] <= input.shape[-1] here (ormqr checks tau's length
    against other's shape instead, later)."""
    _require_tensor(A, fname.split(".")[-1], "input", 1)
    _require_tensor(tau, fname.split(".")[-1], "tau", 2)
    if A.dim() < 2:
        raise RuntimeError(f"{fname}: input must have at least 2 dimensions.")
    if tau.dim() != A.dim() - 1:
        raise RuntimeError(f"{fname}: Expected tau to have one dimension less than input, but "
                           f"got tau.ndim equal to {tau.dim()} and input.ndim is equal to "
                           f"{A.dim()}")
    if tau_bound and tau.shape[-1] > A.shape[-1]:
        raise RuntimeError(f"{fname}: input.shape[-1] must be greater than or equal to "
                           f"tau.shape[-1]")
    if tau.dtype is not A.dtype:
        raise RuntimeError(f"{fname}: tau dtype {dtype_name(tau.dtype)} does not match input "
                           f"dtype {dtype_name(A.dtype)}")
    check_same_device(A, tau)


@cast_before_checks("linalg_householder_product")
def householder_product(A, tau, *, out=None):
    """The first n columns of Q = H_1 ... H_k, H_i = I - tau_i v_i v_i^H, v_i the i-th
    column of A below the diagonal with a one on it (A (..., m, n), m >= n, tau (..., k)).
    Composed of ember ops: the gradient reaches A's strict lower triangle and tau."""
    fname = "torch.linalg.householder_product"
    _householder_checks(fname, A, tau)
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"{fname}: input.shape[-2] must be greater than or equal to "
                           f"input.shape[-1]")
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise NotImplementedError(f"\"orgqr_cpu\" not implemented for '{dtype_name(A.dtype)}'")
    if tau.shape[-1] == 0:   # no reflector: the identity's columns, still in the graph
        Q = _householder(A.detach(), tau.detach())
        Q = apply(_NoReflectors, (A, tau), (A._data, tau._data), Q._data)
    else:
        Q = apply(_HouseholderProduct, (A, tau), (A._data, tau._data))
    return _with_out(Q, out)


def _householder(A, tau):
    """householder_product composed of ember ops (the gradient reaches A's strict lower
    triangle and tau), column-major as LAPACK's orgqr leaves it."""
    m, n, k = A.shape[-2], A.shape[-1], tau.shape[-1]
    V = _reflectors(A, k)
    Q = _eye_like(A, m)[:, :n].expand(tuple(A.shape[:-2]) + (m, n))
    for i in reversed(range(k)):  # Q <- H_i Q
        v = V[..., :, i:i + 1]
        Q = Q - (tau[..., i, None, None] * v).matmul(mH(v).matmul(Q))
    return lapack_layout(Q, "LinalgHouseholderProductBackward0")


class _HouseholderProduct(CompositeNode):
    """householder_product by one node with edges to A and tau, as PyTorch's."""
    _name = "LinalgHouseholderProductBackward0"
    save_inputs = (0, 1)
    compute = staticmethod(_householder)


class _NoReflectors(Op):
    """householder_product with no reflector (tau empty): the identity's columns, which
    PyTorch keeps in the graph of A and tau with undefined (None) gradients."""
    _name = "LinalgHouseholderProductBackward0"

    @staticmethod
    def forward(ctx, a, tau, q):
        return q

    @staticmethod
    def backward(ctx, grad):
        return None, None


@cast_before_checks("orgqr")
def orgqr(input, tau):
    """torch.orgqr: householder_product."""
    return householder_product(input, tau)


@cast_before_checks("ormqr")
def ormqr(input, tau, other, left=True, transpose=False, *, out=None):
    """Q C, Q^H C (transpose), C Q or C Q^H (not left) with Q = H_1 ... H_k the full
    (m x m) product of geqrf's reflectors, applied one reflector at a time."""
    fname = "torch.ormqr"
    _householder_checks(fname, input, tau, tau_bound=False)
    _require_tensor(other, "ormqr", "other", 3)
    if other.dim() < 2:
        raise RuntimeError(f"{fname}: other must have at least 2 dimensions.")
    if other.dtype is not input.dtype:
        raise RuntimeError(f"{fname}: Expected input and other to have the same dtype, but "
                           f"input has dtype {dtype_name(input.dtype)} and other has dtype "
                           f"{dtype_name(other.dtype)}")
    dim = -2 if left else -1
    if other.shape[dim] != input.shape[-2]:
        raise RuntimeError(f"{fname}: other.shape[{dim}] must be equal to input.shape[-2]")
    if tau.shape[-1] != min(other.shape[dim], input.shape[-1]):
        raise RuntimeError(f"{fname}: tau.shape[-1] must be equal to min(other.shape[{dim}], "
                           f"input.shape[-1])")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise NotImplementedError(f"\"ormqr_cpu\" not implemented for "
                                  f"'{dtype_name(input.dtype)}'")
    return _with_out(apply(_Ormqr, (input, tau, other), (input._data, tau._data, other._data),
                           left, transpose), out)


def _ormqr(input, tau, other, left, transpose):
    """ormqr composed of ember ops, one reflector at a time."""
    k = tau.shape[-1]
    V = _reflectors(input, k)
    C = other
    # Q = H_1 ... H_k; Q^H = H_k^H ... H_1^H with H_i^H = I - conj(tau_i) v_i v_i^H
    forward = left == transpose   # left Q^H C and right C Q take H_1 first
    for i in (range(k) if forward else reversed(range(k))):
        v = V[..., :, i:i + 1]
        t = tau[..., i, None, None]
        t = t.conj() if transpose and t.dtype.is_complex else t
        if left:
            C = C - (t * v).matmul(mH(v).matmul(C))
        else:
            C = C - C.matmul(v).matmul(t * mH(v))
    return lapack_layout(C, "OrmqrBackward0")   # column-major, as LAPACK's ormqr


class _Ormqr(CompositeNode):
    """ormqr by one node with edges to input, tau and other, as PyTorch's OrmqrBackward0."""
    _name = "OrmqrBackward0"
    save_inputs = (0, 1, 2)
    compute = staticmethod(_ormqr)


Tensor.geqrf = geqrf
Tensor.orgqr = orgqr
Tensor.ormqr = ormqr
