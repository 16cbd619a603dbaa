"""The LDL^T (LDL^H) factorization of symmetric (Hermitian) matrices with Bunch-Kaufman
pivoting and the solve built on it, in LAPACK's compact form (sytrf/hetrf, sytrs/hetrs,
lower triangle): D has 1x1 and 2x2 diagonal blocks; a 1x1 block at k has pivot k + 1 (row
k swapped with it, 1-based), a 2x2 block at (k, k+1) has -(kp + 1) twice (row k+1
swapped with kp). Computed on the host, matrix by matrix; like PyTorch's, no derivative.
"""
import math

import numpy as np

from .. import _dtype
from .._backend import like, to_host
from .._tensor import Tensor
from ._util import dtype_name
from .linalg_solvers import _check_matrix, _batch_prefix, _return_type, LinAlgError
from .linalg_more import _require_tensor, _with_out

__all__ = []


_LdlFactorResult = _return_type("linalg_ldl_factor", ["LD", "pivots"])
_LdlFactorExResult = _return_type("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
_BUNCH_KAUFMAN_ALPHA = (1 + math.sqrt(17)) / 8


def _magnitude(z):
    """LAPACK's cabs1 (|re| + |im|), |z| for real z: the size pivots are chosen by."""
    return np.abs(z.real) + np.abs(z.imag) if np.iscomplexobj(z) else np.abs(z)


def _ldl_one(a, hermitian):
    """LAPACK sytf2 / hetf2 (lower): A = P L D L^T P^T (L^H for hermitian) with
    Bunch-Kaufman pivoting, D made of 1x1 and 2x2 blocks (a real diagonal when
    hermitian). Returns (LD, pivots, info): L's multipliers below D's blocks, pivots k+1
    for a 1x1 block whose row was swapped with k (1-based), -(kp+1) twice for a 2x2 block
    whose second row was swapped with kp; info: first zero pivot (1-based)."""
    a = a.copy()
    n = a.shape[-1]
    herm = hermitian and np.iscomplexobj(a)
    c = np.conj if herm else (lambda z: z)
    diag = (lambda z: z.real) if herm else (lambda z: z)   # the size of a diagonal entry
    pivots = np.zeros(n, dtype=np.int32)
    info = 0
    alpha = _BUNCH_KAUFMAN_ALPHA
    k = 0
    while k < n:
        step = 1
        absakk = _magnitude(diag(a[k, k]))
        imax, colmax = k, 0.0
        if k < n - 1:
            imax = k + 1 + int(np.argmax(_magnitude(a[k + 1:, k])))
            colmax = _magnitude(a[imax, k])
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            info = info or k + 1
            a[k, k] = diag(a[k, k])
            pivots[k] = k + 1
            k += 1
            continue
        kp = k
        if absakk < alpha * colmax:
            rowmax = _magnitude(a[imax, k:imax]).max()
            if imax < n - 1:
                rowmax = max(rowmax, _magnitude(a[imax + 1:, imax]).max())
            if absakk >= alpha * colmax * (colmax / rowmax):
                kp = k
            elif _magnitude(diag(a[imax, imax])) >= alpha * rowmax:
                kp = imax
            else:
                kp, step = imax, 2
        kk = k + step - 1
        if kp != kk:  # swap rows and columns kk and kp of the trailing lower triangle
            a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
            between = np.arange(kk + 1, kp)
            a[between, kk], a[kp, between] = c(a[kp, between]), c(a[between, kk])
            a[kp, kk] = c(a[kp, kk])
            a[kk, kk], a[kp, kp] = diag(a[kp, kp]), diag(a[kk, kk])
            if step == 2:
                a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
        a[k, k] = diag(a[k, k])
        if step == 2:
            a[k + 1, k + 1] = diag(a[k + 1, k + 1])
        if step == 1:
            d11 = 1 / a[k, k]
            x = a[k + 1:, k].copy()
            a[k + 1:, k + 1:] -= d11 * np.outer(x, c(x))
            a[k + 1:, k] = x * d11
            pivots[k] = kp + 1
        else:
            if k < n - 2:
                # D = [[a_kk, conj(d21)], [d21, a_k+1k+1]] scaled by |d21| (d21 itself when
                # symmetric): W = [col0 col1] D^-1, then the trailing update -= W [col0 col1]^H
                d21 = a[k + 1, k]
                scale = np.abs(d21) if herm else d21
                unit = d21 / scale
                d11 = a[k + 1, k + 1] / scale
                d22 = a[k, k] / scale
                t = 1 / (d11 * d22 - 1) / scale
                col0, col1 = a[k + 2:, k].copy(), a[k + 2:, k + 1].copy()
                wk = t * (d11 * col0 - unit * col1)
                wkp1 = t * (d22 * col1 - c(unit) * col0)
                a[k + 2:, k + 2:] -= np.outer(col0, c(wk)) + np.outer(col1, c(wkp1))
                a[k + 2:, k], a[k + 2:, k + 1] = wk, wkp1
                idx = np.arange(k + 2, n)
                a[idx, idx] = diag(a[idx, idx])
            pivots[k] = pivots[k + 1] = -(kp + 1)
        k += step
    return np.tril(a), pivots, info


def _ldl_checks(A, fname):
    _require_tensor(A, fname.split(".")[-1], "A", 1)
    _check_matrix(A, fname)


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    """(LD, pivots, info): the LDL^T factorization with Bunch-Kaufman pivoting (LAPACK
    sytrf, lower triangle of A). Like PyTorch it has no derivative."""
    fname = "torch.linalg.ldl_factor_ex"
    _ldl_checks(A, fname)
    host = to_host(A._data)
    n = host.shape[-1]
    # column-major, as LAPACK's sytrf leaves it (PyTorch's layout)
    LD = np.zeros(host.shape[:-2] + (n, n), dtype=host.dtype).swapaxes(-1, -2)
    pivots = np.zeros(host.shape[:-1], dtype=np.int32)
    info = np.zeros(host.shape[:-2], dtype=np.int32)
    for index in np.ndindex(host.shape[:-2]):
        LD[index], pivots[index], info[index] = _ldl_one(host[index].reshape(n, n), hermitian)
    result = _LdlFactorExResult(*(Tensor._make(like(x, A._data)) for x in (LD, pivots, info)))
    if check_errors:
        _raise_ldl_info(info, fname)
    return _with_out(result, out)


def _raise_ldl_info(info, fname):
    failed = np.argwhere(info.reshape(-1) > 0)
    if failed.size:
        flat = int(failed[0, 0])
        index = np.unravel_index(flat, info.shape) if info.shape else ()
        k = int(info.reshape(-1)[flat])
        raise LinAlgError(f"{fname}: {_batch_prefix(index, info.shape)}The factorization could "
                          f"not be completed because the input is singular (D[{k}] is zero).")


def ldl_factor(A, *, hermitian=False, out=None):
    """(LD, pivots) of ldl_factor_ex; a zero pivot raises LinAlgError."""
    fname = "torch.linalg.ldl_factor"
    LD, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    _raise_ldl_info(to_host(info._data), fname)
    return _with_out(_LdlFactorResult(LD, pivots), out)


def _ldl_solve_one(ld, pivots, b, hermitian):
    """LAPACK sytrs / hetrs (lower): X with A X = B from (LD, pivots)."""
    n = ld.shape[-1]
    herm = hermitian and np.iscomplexobj(ld)
    c = np.conj if herm else (lambda z: z)
    b = b.copy()
    k = 0
    while k < n:  # L D Y = P^T B
        if pivots[k] > 0:
            kp = pivots[k] - 1
            b[[k, kp]] = b[[kp, k]]
            b[k + 1:] -= np.outer(ld[k + 1:, k], b[k])
            b[k] = b[k] / ld[k, k]
            k += 1
        else:
            kp = -pivots[k] - 1
            b[[k + 1, kp]] = b[[kp, k + 1]]
            b[k + 2:] -= np.outer(ld[k + 2:, k], b[k]) + np.outer(ld[k + 2:, k + 1], b[k + 1])
            akm1k = ld[k + 1, k]
            akm1 = ld[k, k] / c(akm1k)
            ak = ld[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1
            bkm1, bk = b[k] / c(akm1k), b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T P^T X = Y (L^H when hermitian)
        if pivots[k] > 0:
            b[k] -= c(ld[k + 1:, k]) @ b[k + 1:]
            kp = pivots[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 1
        else:
            b[k] -= c(ld[k + 1:, k]) @ b[k + 1:]
            b[k - 1] -= c(ld[k + 1:, k - 1]) @ b[k + 1:]
            kp = -pivots[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 2
    return b


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    """X with A X = B from ldl_factor's (LD, pivots) (LAPACK sytrs); no derivative."""
    fname = "torch.linalg.ldl_solve"
    _ldl_checks(LD, fname)
    _require_tensor(pivots, "ldl_solve", "pivots", 2)
    _require_tensor(B, "ldl_solve", "B", 3)
    if B.dim() < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(B.dim(), 1)}, {max(B.dim(), 1) - 1}], but got -2)")
    if LD.dtype is not B.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{dtype_name(B.dtype)} and A of type {dtype_name(LD.dtype)} instead.")
    if pivots.dtype is not _dtype.int32:
        raise RuntimeError(f"{fname}: Expected pivots to be integers. Got "
                           f"{dtype_name(pivots.dtype)}")
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {fname}: each A matrix is {n} by {n} "
                           f"but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    batch = np.broadcast_shapes(tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    ld = np.broadcast_to(to_host(LD._data), batch + (n, n))
    piv = np.broadcast_to(to_host(pivots._data), batch + (n,))
    b = np.broadcast_to(to_host(B._data), batch + tuple(B.shape[-2:]))
    X = np.empty(b.shape, dtype=b.dtype)
    for index in np.ndindex(batch):
        X[index] = _ldl_solve_one(ld[index], piv[index], b[index], hermitian)
    return _with_out(Tensor._make(like(X, B._data)), out)
