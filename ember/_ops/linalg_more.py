"""More linear algebra: triangular solves, LU (factor, unpack, solve), the matrix
exponential, and the small functions composed from other ops (vander, tensorinv,
tensorsolve, diagonal).

Two ops carry their own backward (written with ember ops, so double backward works);
everything else is composed from them and from existing ops:

    solve_triangular  X = A^-1 B, A triangular     dB = A^-H g (the other triangle),
                                                   dA = -dB X^H kept on A's triangle
    lu_factor         A = P L U (partial pivoting)  see _lu_backward
    matrix_exp        E = exp(A)                    dA = upper-right block of
                                                         exp([[A^H, g], [0, A^H]])

Pivots follow LAPACK's getrf: row j was swapped with row pivots[j] (1-based, int32),
the pivot being the first entry of largest magnitude (|re| + |im| for complex, as
LAPACK's izamax) in the column below the diagonal.
"""
import math

import numpy as np

from .._backend import array_namespace, like, to_host
from .. import _dtype
from .._tensor import Tensor
from .._autocast import cast_before_checks
from ._base import Op, apply
from ._layout import col_major
from .relayout import lapack_layout
from ._util import (check_same_device, check_tensor as _require_tensor, dtype_name,
                    with_out as _with_out)
from .linalg import mH
from .linalg_solvers import _check_matrix, _batch_prefix, _return_type, _eye_like, inv, solve

__all__ = ["triangular_solve", "cholesky_solve", "cholesky_inverse", "lu", "lu_unpack",
           "lu_solve", "matrix_exp"]

_TriangularSolveResult = _return_type("triangular_solve", ["solution", "cloned_coefficient"])
_LuFactorResult = _return_type("linalg_lu_factor", ["LU", "pivots"])
_LuFactorExResult = _return_type("linalg_lu_factor_ex", ["LU", "pivots", "info"])
_LuResult = _return_type("linalg_lu", ["P", "L", "U"])
_LuUnpackResult = _return_type("lu_unpack", ["P", "L", "U"])
_LuWithInfoResult = _return_type("_lu_with_info", ["LU", "pivots", "info"])


def _same_dtype(fname, A, B, a_name="A", b_name="B"):
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{fname}: Expected {a_name} and {b_name} to have the same dtype, but "
                           f"found {a_name} of type {dtype_name(A.dtype)} and {b_name} of type "
                           f"{dtype_name(B.dtype)} instead")


def _broadcast_batches(A, B, fname):
    """A (..., n, n) and B (..., n, k) expanded to one batch shape."""
    try:
        batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation AX = B "
                           f"({'x'.join(map(str, A.shape))} and "
                           f"{'x'.join(map(str, B.shape))})") from None
    if tuple(A.shape[:-2]) != batch:
        A = A.expand(batch + tuple(A.shape[-2:]))
    if tuple(B.shape[:-2]) != batch:
        B = B.expand(batch + tuple(B.shape[-2:]))
    return A, B


def _triangle(M, upper, strict=False):
    """M's upper (or lower) triangle, without the diagonal when strict."""
    if upper:
        return M.triu(1 if strict else 0)
    return M.tril(-1 if strict else 0)


# ---------------------------------------------------------------------------- triangular solve

def _substitute(xp, a, b, upper, unit):
    """X with A X = B by forward (lower) or back (upper) substitution, reading only A's
    triangle (and not its diagonal when unit). Row i of X is
    (B_i - sum_{j done} A_ij X_j) / A_ii, vectorized over the batch and B's columns.
    A zero diagonal gives inf/nan, as LAPACK's trsm does (no error)."""
    n = a.shape[-1]
    x = b.astype(np.result_type(a.dtype, b.dtype), copy=True)
    rows = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in rows:
            done = slice(i + 1, n) if upper else slice(0, i)
            s = x[..., i, :] - xp.matmul(a[..., i:i + 1, done], x[..., done, :])[..., 0, :]
            if not unit:
                s = s / a[..., i, i, None]
            x[..., i, :] = s
    return x


class SolveTriangular(Op):
    """X = A^-1 B with A triangular (A, B of one batch shape, B (..., n, k)).

    dB = A^-H g (A^H is triangular the other way), dA = -dB X^H restricted to the
    triangle A's values were read from (strictly, when A's diagonal is taken as ones)."""
    _name = "LinalgSolveTriangularBackward0"
    save_inputs = (0,)
    save_output = True

    @staticmethod
    def forward(ctx, a, b, upper, unit):
        ctx.upper, ctx.unit = upper, unit
        return col_major(_substitute(ctx.xp, a, b, upper, unit))   # as LAPACK's (trsm)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        gb = _solve_tri(mH(a), grad, not ctx.upper, ctx.unit)
        ga = None
        if ctx.needs_input_grad[0]:
            ga = _triangle(-gb.matmul(mH(x)), ctx.upper, strict=ctx.unit)
        return ga, gb


def _solve_tri(A, B, upper, unit=False):
    """A X = B for A, B of one batch shape (the differentiable core)."""
    return apply(SolveTriangular, (A, B), (A._data, B._data), upper, unit)


def _solve_tri_right(A, B, upper, unit=False):
    """X A = B, as A^T X^T = B^T (A^T is triangular the other way)."""
    return _solve_tri(A.mT, B.mT, not upper, unit).mT


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with A X = B (left) or X A = B (not left), A (..., n, n) upper or lower
    triangular (only that triangle is read; its diagonal is taken as ones when
    unitriangular); B (..., n, k) or (..., k, n); batch dims broadcast."""
    fname = "linalg.solve_triangular"
    _require_tensor(A, "linalg_solve_triangular", "input", 1)
    _require_tensor(B, "linalg_solve_triangular", "B", 2)
    if B.dim() < 2:
        raise RuntimeError(f"{fname}: The input tensor B must have at least 2 dimensions.")
    _check_matrix(A, fname, floating=False)
    check_same_device(A, B)
    if not (A.dtype.is_floating_point or A.dtype.is_complex) or \
            A.dtype in (_dtype.float16, _dtype.bfloat16):
        raise NotImplementedError(f"\"triangular_solve_cpu\" not implemented for "
                                  f"'{dtype_name(A.dtype)}'")
    if B.dtype is not A.dtype:  # PyTorch computes in A's dtype
        B = B.to(A.dtype)
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    A, B = _broadcast_batches(A, B, fname)
    if left:
        return _with_out(_solve_tri(A, B, upper, unitriangular), out)
    # X A = B solved as A^T X^T = B^T: X is a transposed view, laid out column-major anew
    return _with_out(lapack_layout(_solve_tri_right(A, B, upper, unitriangular),
                                   "LinalgSolveTriangularBackward0"), out)


@cast_before_checks("triangular_solve")
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """torch.triangular_solve (deprecated): (X, A.clone()) with op(A) X = input,
    op(A) = A^T when transpose."""
    _require_tensor(input, "triangular_solve", "input", 1)
    _require_tensor(A, "triangular_solve", "A", 2)
    if input.dim() < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected b to have at least 2 dimensions, "
                           f"but it has {input.dim()} dimensions instead")
    if A.dim() < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected A to have at least 2 dimensions, "
                           f"but it has {A.dim()} dimensions instead")
    coefficient = A.mT if transpose else A
    X = solve_triangular(coefficient, input, upper=upper != transpose,
                         unitriangular=unitriangular)
    return _with_out(_TriangularSolveResult(X, A.clone()), out)


def _cholesky_factor_checks(fname, B, L):
    if B.dim() < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.dim()} dimensions "
                           f"instead")
    if L.dim() < 2:
        raise RuntimeError(f"u should have at least 2 dimensions, but has {L.dim()} dimensions "
                           f"instead")
    _check_matrix(L, fname.split(".")[-1], floating=False)
    if B.dtype is not L.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{dtype_name(B.dtype)} and A of type {dtype_name(L.dtype)} instead.")
    if not (L.dtype.is_floating_point or L.dtype.is_complex) or \
            L.dtype in (_dtype.float16, _dtype.bfloat16):
        raise NotImplementedError(f"\"{fname}_cpu\" not implemented for "
                                  f"'{dtype_name(L.dtype)}'")


@cast_before_checks("cholesky_solve")
def cholesky_solve(input, input2, upper=False, *, out=None):
    """X with A X = input, given A's Cholesky factor input2 (A = L L^H, or A = U^H U
    when upper): two triangular solves, L^-H (L^-1 B)."""
    _require_tensor(input, "cholesky_solve", "input", 1)
    _require_tensor(input2, "cholesky_solve", "input2", 2)
    B, L = input, input2
    _cholesky_factor_checks("cholesky_solve", B, L)
    n = L.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {n} "
                           f"by {n} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    L, B = _broadcast_batches(L, B, "cholesky_solve")
    return _with_out(apply(CholeskySolve, (B, L), (B._data, L._data), upper), out)


class CholeskySolve(Op):
    """X = A^-1 B with A = L L^H (or U^H U), read from the factor's triangle.

    dB = A^-1 g; the factor's gradient is PyTorch's, that of the full (unmasked) factor
    in A = L L^H: dL = -(dB X^H + X dB^H) L, or dU = -U (dB X^H + X dB^H)."""
    _name = "CholeskySolveBackward0"
    save_inputs = (1,)
    save_output = True

    @staticmethod
    def forward(ctx, b, factor, upper):
        ctx.upper = upper
        xp = ctx.xp
        lower = xp.conj(xp.swapaxes(factor, -1, -2)) if upper else factor
        y = _substitute(xp, lower, b, upper=False, unit=False)
        return col_major(_substitute(xp, xp.conj(xp.swapaxes(lower, -1, -2)), y, upper=True,
                                     unit=False))   # as LAPACK's (potrs)

    @staticmethod
    def backward(ctx, grad):
        factor, x = ctx.saved_tensors
        gb = apply(CholeskySolve, (grad, factor), (grad._data, factor._data), ctx.upper)
        gfactor = None
        if ctx.needs_input_grad[1]:
            common = gb.matmul(mH(x)) + x.matmul(mH(gb))
            gfactor = -factor.matmul(common) if ctx.upper else -common.matmul(factor)
        return gb, gfactor


def _check_factor_diagonal(factor, fname):
    """PyTorch's LinAlgError for a triangular factor with a zero on its diagonal (the
    inverse does not exist): the first such matrix and diagonal element, 1-based."""
    diag = to_host(factor._data).diagonal(0, -2, -1)
    zero = diag == 0
    if not zero.any():
        return
    from .linalg_solvers import LinAlgError
    index = next(i for i in np.ndindex(diag.shape[:-1]) if zero[i].any())
    k = int(np.argmax(zero[index])) + 1
    raise LinAlgError(f"{fname}: {_batch_prefix(index, diag.shape[:-1])}The diagonal element "
                      f"{k} is zero, the inversion could not be completed because the input "
                      f"matrix is singular.")


@cast_before_checks("cholesky_inverse")
def cholesky_inverse(input, upper=False, *, out=None):
    """A^-1 from A's Cholesky factor (A = L L^H, or U^H U when upper)."""
    _require_tensor(input, "cholesky_inverse", "input", 1)
    if input.dim() < 2:
        raise RuntimeError("cholesky_inverse: The input tensor A must have at least 2 "
                           "dimensions.")
    _check_matrix(input, "cholesky_inverse")
    _check_factor_diagonal(input, "cholesky_inverse")
    return _with_out(cholesky_solve(_eye_like(input).expand(input.shape), input, upper), out)


# ---------------------------------------------------------------------------- LU

def _lu_arrays(xp, a):
    """(LU, pivots, info) of each matrix of a (..., m, n) by Gaussian elimination with
    partial pivoting, LAPACK getrf's conventions. info is the 1-based index of the first
    zero pivot (0 when none); a zero column is left unscaled, as LAPACK does."""
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    lu = a.reshape((-1, m, n)).copy()
    count = lu.shape[0]
    rows = xp.arange(count)
    pivots = xp.empty((count, k), dtype=np.int32)
    info = xp.zeros(count, dtype=np.int32)
    complex_ = lu.dtype.kind == "c"
    for j in range(k):
        col = lu[:, j:, j]
        size = xp.abs(col.real) + xp.abs(col.imag) if complex_ else xp.abs(col)
        p = j + xp.argmax(size, axis=1)
        pivots[:, j] = p + 1
        row_j = lu[:, j].copy()
        lu[:, j] = lu[rows, p]
        lu[rows, p] = row_j
        pivot = lu[:, j, j]
        zero = pivot == 0
        info = xp.where((info == 0) & zero, j + 1, info).astype(np.int32)
        # LAPACK scales by the reciprocal of the pivot
        lu[:, j + 1:, j] *= (1 / xp.where(zero, 1, pivot))[:, None]
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return (lu.reshape(batch + (m, n)), pivots.reshape(batch + (k,)),
            info.reshape(batch))


def _permutation(xp, pivots, m, dtype):
    """P (..., m, m) with A = P L U from LAPACK pivots (..., k): the row swaps applied in
    order to the identity give perm with (P^T A)_i = A_perm[i], so P[perm[i], i] = 1."""
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    piv = pivots.reshape((-1, k)).astype(np.int64) - 1
    count = piv.shape[0]
    rows = xp.arange(count)
    perm = xp.broadcast_to(xp.arange(m), (count, m)).copy()
    for i in range(k):
        swap = piv[:, i]
        held = perm[:, i].copy()
        perm[:, i] = perm[rows, swap]
        perm[rows, swap] = held
    P = (xp.arange(m)[None, :, None] == perm[:, None, :]).astype(dtype)
    return P.reshape(batch + (m, m))


def _unpack(LU):
    """L (..., m, k) unit lower and U (..., k, n) upper from the packed factor."""
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + _eye_like(LU, m)[:, :k]
    U = LU[..., :k, :].triu()
    return L, U


class LuFactor(Op):
    """(LU, pivots) with A = P L U: L unit lower (strict part stored below LU's
    diagonal), U upper; the gradient reaches A through L and U (see _lu_backward)."""
    _name = "LinalgLuFactorExBackward0"
    save_output = (0,)
    nondiff_outputs = (1, 2)

    @staticmethod
    def forward(ctx, a):
        lu, pivots, info = _lu_arrays(ctx.xp, a)
        ctx.P = _permutation(ctx.xp, pivots, a.shape[-2], a.dtype)
        return col_major(lu), pivots, info   # as LAPACK's (getrf)

    @staticmethod
    def backward(ctx, grad, _pivots, _info):
        LU, = ctx.saved_tensors
        L, U = _unpack(LU)
        k = L.shape[-1]
        gL = grad[..., :, :k].tril(-1)
        gU = grad[..., :k, :].triu()
        return _lu_backward(Tensor._make(ctx.P), L, U, gL, gU)


def _lu_backward(P, L, U, gL, gU):
    """dA of A = P L U given the gradients of L (m, k) and U (k, n).

    With dL = L tril(M, -1), dU = triu(M) U on the square part, the adjoint of M is
    phi = tril(L^H gL, -1) + triu(gU U^H); for a wide A (m < n) the extra columns U2 of U
    add -tril(gU2 U2^H, -1) and pass gU2 through, for a tall A the extra rows L2 of L add
    -triu(L2^H gL2) and pass gL2 through:

        m <= n:  dA = P L^-H [phi U1^-H, gU2]
        m >  n:  dA = P [L1^-H phi; gL2] U^-H
    """
    m, n = L.shape[-2], U.shape[-1]
    if m <= n:
        U1, U2 = U[..., :, :m], U[..., :, m:]
        gU1, gU2 = gU[..., :, :m], gU[..., :, m:]
        phi = (mH(L).matmul(gL) - gU2.matmul(mH(U2))).tril(-1) + gU1.matmul(mH(U1)).triu()
        gC1 = _solve_tri_right(mH(U1), phi, upper=False)
        gC = gC1 if m == n else _cat_last(gC1, gU2, -1)
        return P.matmul(_solve_tri(mH(L), gC, upper=True, unit=True))
    L1, L2 = L[..., :n, :], L[..., n:, :]
    gL1, gL2 = gL[..., :n, :], gL[..., n:, :]
    phi = mH(L1).matmul(gL1).tril(-1) + gU.matmul(mH(U)).triu() - mH(L2).matmul(gL2).triu()
    gD1 = _solve_tri(mH(L1), phi, upper=True, unit=True)
    gD = _cat_last(gD1, gL2, -2)
    return P.matmul(_solve_tri_right(mH(U), gD, upper=False))


def _cat_last(a, b, dim):
    from .joining import cat
    return cat([a, b], dim)


def _lu_checks(A, fname):
    _require_tensor(A, fname.split(".")[-1], "A", 1)
    if A.dim() < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(A.shape)} instead")
    if not (A.dtype.is_floating_point or A.dtype.is_complex) or \
            A.dtype in (_dtype.float16, _dtype.bfloat16):
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{dtype_name(A.dtype)}'")
    _check_matrix(A, fname, square=False)


def _lu_factor_op(A, fname, pivot):
    _lu_checks(A, fname)
    if not pivot:
        # PyTorch names lu_factor whichever LU function was called
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    return apply(LuFactor, (A,), (A._data,))


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """(LU, pivots, info): the packed LU factorization with partial pivoting; info holds
    the 1-based index of the first zero pivot per matrix (0 when none)."""
    LU, pivots, info = _lu_factor_op(A, "linalg.lu_factor_ex", pivot)
    if check_errors:
        _raise_zero_pivot(info, "torch.linalg.lu_factor_ex")
    return _with_out(_LuFactorExResult(LU, pivots, info), out)


def _raise_zero_pivot(info, fname):
    host = to_host(info._data)
    failed = np.argwhere(host.reshape(-1) > 0)
    if failed.size:
        flat = int(failed[0, 0])
        index = np.unravel_index(flat, host.shape) if host.shape else ()
        k = int(host.reshape(-1)[flat])
        raise RuntimeError(f"{fname}: {_batch_prefix(index, host.shape)}U[{k},{k}] is zero and "
                           f"using it on lu_solve would result in a division by zero. If you "
                           f"still want to perform the factorization, consider calling "
                           f"linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def lu_factor(A, *, pivot=True, out=None):
    """(LU, pivots) with A = P L U; raises when a pivot is exactly zero (lu_factor_ex
    reports it instead)."""
    LU, pivots, info = _lu_factor_op(A, "linalg.lu_factor", pivot)
    _raise_zero_pivot(info, "torch.linalg.lu_factor")
    return _with_out(_LuFactorResult(LU, pivots), out)


def linalg_lu(A, *, pivot=True, out=None):
    """(P, L, U) with A = P L U: P a permutation, L (m, k) unit lower, U (k, n) upper,
    k = min(m, n). A zero pivot is not an error."""
    LU, pivots, _ = _lu_factor_op(A, "linalg.lu", pivot)
    return _with_out(_LuResult(*lu_unpack(LU, pivots)), out)


def lu(A, pivot=True, get_infos=False, out=None):
    """torch.lu (deprecated): (LU, pivots), plus info when get_infos (else a zero pivot
    raises)."""
    LU, pivots, info = _lu_factor_op(A, "torch.lu", pivot)
    if get_infos:
        return _with_out(_LuWithInfoResult(LU, pivots, info), out)
    _raise_zero_pivot(info, "torch.linalg.lu_factor")
    return _with_out((LU, pivots), out)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """(P, L, U) from lu_factor's packed result; the parts not asked for are empty."""
    _require_tensor(LU_data, "lu_unpack", "LU_data", 1)
    _require_tensor(LU_pivots, "lu_unpack", "LU_pivots", 2)
    if LU_data.dim() < 2:
        raise RuntimeError(f"torch.lu_unpack: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(LU_data.shape)} instead")
    if LU_pivots.dtype is not _dtype.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor "
                           "of torch.int32 dtype.\nNote: this function is intended to be used "
                           "with the output produced by torch.linalg.lu_factor")
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    if tuple(LU_pivots.shape) != tuple(LU_data.shape[:-2]) + (k,):
        raise RuntimeError(f"torch.lu_unpack: Expected LU_pivots of shape "
                           f"{list(LU_data.shape[:-2]) + [k]}, but got {list(LU_pivots.shape)}")
    empty = Tensor._make(like(np.zeros(0, dtype=LU_data._data.dtype), LU_data._data))
    if unpack_data:
        L, U = _unpack(LU_data)
    else:
        L = U = empty
    if not unpack_pivots:
        return _with_out(_LuUnpackResult(empty, L, U), out)
    host = to_host(LU_pivots._data)
    if host.size and (host.min() < 1 or host.max() > m):
        raise RuntimeError("pivots passed to lu_unpack must be between 1 and LU.size(-2) "
                           "inclusive.Did you properly pass the result of lu_factor?")
    P = _permutation(array_namespace(LU_data._data), LU_pivots._data, m, LU_data._data.dtype)
    return _with_out(_LuUnpackResult(Tensor._make(P), L, U), out)


def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """X with A X = B (left) or X A = B, or with A^H in place of A (adjoint), for
    A = P L U given as lu_factor's (LU, pivots): X = U^-1 L^-1 P^T B, composed of
    triangular solves (differentiable in LU and B)."""
    fname = "linalg.lu_solve"
    _require_tensor(LU, "linalg_lu_solve", "LU", 1)
    _require_tensor(pivots, "linalg_lu_solve", "pivots", 2)
    _require_tensor(B, "linalg_lu_solve", "B", 3)
    if B.dim() < 2:
        raise RuntimeError(f"{fname}: The input tensor B must have at least 2 dimensions.")
    _check_matrix(LU, fname)
    _same_dtype(fname, LU, B, "LU", "B")
    check_same_device(LU, B)
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    if pivots.dtype is not _dtype.int32:
        raise RuntimeError(f"{fname}: Expected pivots to be of type int32, but got "
                           f"{dtype_name(pivots.dtype)}")
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError(f"{fname}: Expected LU.shape[:-1] and pivots.shape to be the same, "
                           f"but got pivots with shape {list(pivots.shape)} instead")
    if not left:  # X A = B  <=>  A^H X^H = B^H
        X = mH(linalg_lu_solve(LU, pivots, mH(B), left=True, adjoint=not adjoint))
        return _with_out(X, out)
    P, L, U = lu_unpack(LU, pivots)
    if adjoint:  # U^H L^H P^T X = B
        Y = solve_triangular(mH(U), B, upper=False)
        Z = solve_triangular(mH(L), Y, upper=True, unitriangular=True)
        return _with_out(P.matmul(Z), out)
    Y = solve_triangular(L, mH(P).matmul(B), upper=False, unitriangular=True)
    return _with_out(solve_triangular(U, Y, upper=True), out)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """torch.lu_solve (deprecated): linalg.lu_solve(LU_data, LU_pivots, b)."""
    return linalg_lu_solve(LU_data, LU_pivots, b, out=out)


# ---------------------------------------------------------------------------- matrix_exp

# Padé [13/13] coefficients and the 1-norm up to which it is accurate to double
# precision without scaling (Higham, "The scaling and squaring method for the matrix
# exponential revisited", 2005, table 2.3)
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def _expm_arrays(xp, a):
    """exp of each matrix of a: scale by 2^-s so that the 1-norm is at most theta13,
    take the Padé [13/13] approximant r = (V - U)^-1 (V + U), square s times (s per
    matrix). Computed in double precision (complex128 for complex)."""
    n = a.shape[-1]
    if n == 0 or a.size == 0:
        return a.copy()
    work = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    norm = xp.abs(work).sum(axis=-2).max(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = xp.ceil(xp.log2(norm / _THETA13))
    s = xp.where(xp.isfinite(s) & (s > 0), s, 0).astype(np.int64)
    x = work / (2.0 ** s)[..., None, None]
    b = _PADE13
    eye = xp.eye(n, dtype=work.dtype)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2)
             + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * eye)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 \
        + b[0] * eye
    r = xp.linalg.solve(v - u, v + u)
    top = int(to_host(s.max())) if s.size else 0
    for step in range(top):
        r = xp.where((step < s)[..., None, None], r @ r, r)
    return r.astype(a.dtype)


class MatrixExp(Op):
    """E = exp(A) = sum_k A^k / k!; dA = the upper-right block of
    exp([[A^H, g], [0, A^H]]) (the Fréchet derivative of exp at A^H applied to g)."""
    _name = "LinalgMatrixExpBackward0"
    save_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return _expm_arrays(ctx.xp, a)

    @staticmethod
    def backward(ctx, grad):
        from .joining import cat
        a, = ctx.saved_tensors
        n = a.shape[-1]
        ah = mH(a)
        block = cat([cat([ah, grad], -1), cat([grad * 0, ah], -1)], -2)
        return matrix_exp(block)[..., :n, n:]


def matrix_exp(A):
    """exp(A) of each square matrix of A (..., n, n)."""
    _require_tensor(A, "linalg_matrix_exp", "input", 1)
    _check_matrix(A, "linalg.matrix_exp")
    return apply(MatrixExp, (A,), (A._data,))


# ---------------------------------------------------------------------------- composed

def vander(x, *, N=None):
    """The Vandermonde matrix (..., n, N) of x (..., n): column j is x^j, j < N
    (N = n by default), as a cumulative product so that x = 0 has finite gradients."""
    from .joining import cat
    _require_tensor(x, "linalg_vander", "x", 1)
    if x.dim() < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    N = x.shape[-1] if N is None else N
    if N <= 1:
        raise RuntimeError("N must be greater than 1.")
    if x.dtype is _dtype.bool:
        raise RuntimeError("linalg.vander: x must not be bool")
    column = x.unsqueeze(-1)
    ones = (column * 0 + 1)
    return cat([ones, column.expand(tuple(x.shape) + (N - 1,))], -1).cumprod(-1)


def _prod(shape):
    return int(math.prod(shape))


@cast_before_checks("linalg_tensorinv")
def tensorinv(A, ind=2, *, out=None):
    """The inverse of A seen as a matrix prod(shape[:ind]) x prod(shape[ind:]), shaped
    shape[ind:] + shape[:ind]."""
    _require_tensor(A, "linalg_tensorinv", "input", 1)
    if not isinstance(ind, int) or ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if _prod(rows) != _prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {_prod(cols)} != {_prod(rows)}")
    M = A.reshape(_prod(rows), _prod(cols))
    return _with_out(inv(M).reshape(cols + rows), out)


@cast_before_checks("linalg_tensorsolve")
def tensorsolve(A, B, dims=None, *, out=None):
    """X with tensordot(A, X, X.ndim) = B: A (moved dims last) seen as a matrix
    prod(B.shape) x prod(rest)."""
    _require_tensor(A, "linalg_tensorsolve", "input", 1)
    _require_tensor(B, "linalg_tensorsolve", "other", 2)
    if dims is not None:
        dims = [d % A.dim() for d in dims]
        keep = [d for d in range(A.dim()) if d not in dims]
        A = A.permute(keep + dims)
    rest = tuple(A.shape[B.dim():])
    if _prod(rest) != B.numel():
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape["
                           f"other.ndim:]) == prod(self.shape[:other.ndim]), but got "
                           f"{_prod(rest)} != {B.numel()}")
    X = solve(A.reshape(B.numel(), _prod(rest)), B.reshape(B.numel()))
    return _with_out(X.reshape(rest), out)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """linalg.diagonal: torch.diagonal with matrix-friendly defaults (the last two dims)."""
    _require_tensor(A, "linalg_diagonal", "A", 1)
    return A.diagonal(offset=offset, dim1=dim1, dim2=dim2)


Tensor.triangular_solve = triangular_solve
Tensor.cholesky_solve = cholesky_solve
Tensor.cholesky_inverse = cholesky_inverse
Tensor.lu = lu
Tensor.lu_solve = lu_solve
Tensor.matrix_exp = matrix_exp
