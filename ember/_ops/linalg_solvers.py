"""Linear algebra on (batches of) matrices: inverse, determinants, solve, the
factorizations (Cholesky, QR, SVD, symmetric eigendecomposition, eig), pinv, lstsq and
the functions built from them (matrix_power, matrix_rank, cond, norm).

Every function takes a tensor of shape (..., m, n) and works matrix by matrix over the
leading batch dims, as PyTorch does. Backward formulas are written with ember ops (so
double backward works) and follow PyTorch's (tools/autograd/FunctionsManual.cpp):
with g the gradient of the output and A^H the conjugate transpose,

    inv       X = A^-1            dA = -X^H g X^H
    det       d = det A           dA = g d A^-H
    slogdet   (s, l = log|det A|) dA = (g_l + i Im(g_s conj s)) A^-H   (g_s: complex A only)
    solve     X = A^-1 B          dB = A^-H g,   dA = -dB X^H
    cholesky  A = L L^H           dA = L^-H Phi(L^H g) L^-1   (Murray, 2016)
    qr        A = Q R             dA = (g_Q + Q copyltu(M)) R^-H,  M = R g_R^H - g_Q^H Q
    svd       A = U S V^H         the usual F-matrix formula (distinct singular values)
    eigh      A = V diag(w) V^H   dA = V (diag(g_w) + skew(V^H g_V) / E) V^H,  E_ij = w_j - w_i
    eig       A = V diag(L) V^-1  dA = V^-H (diag(g_L) + (W - V^H V diag(Re diag W)) / conj(E)) V^H,
                                  W = V^H g_V,  E_ij = L_j - L_i   (see Eig)
"""
import numbers

import numpy as np

from .._backend import as_array, like, linalg_checks, to_host
from .. import _dtype
from .._tensor import Tensor
from .._autocast import cast_before_checks
from ._base import Op, apply
from ._layout import col_major
from ._util import check_same_device, dtype_name, writes_out
from .linalg import conj, finish, mH, matmul
from .reduction import _return_type as make_return_type, return_types

# the torch-level functions; ember.linalg re-exports the linalg_* ones under linalg names
__all__ = ["inverse", "det", "logdet", "slogdet", "cholesky", "svd", "pinverse", "matrix_power",
           "qr"]


class _LinAlgError(RuntimeError):
    """A matrix the operation needs to be invertible / positive-definite is not, or LAPACK
    could not decompose it. PyTorch's class is torch._C._LinAlgError (a RuntimeError),
    exposed as torch.linalg.LinAlgError; tracebacks print its name, so ember's has it."""


_LinAlgError.__module__ = "ember._C"   # (ember._C hands it out, for pickling)
LinAlgError = _LinAlgError


def svd_arrays(xp, a, fname="linalg.svd", **kwargs):
    """xp.linalg.svd(a, **kwargs), with PyTorch's error where LAPACK fails to converge (a
    NaN entry: NumPy raised its own LinAlgError, "SVD did not converge")."""
    try:
        return xp.linalg.svd(a, **kwargs)
    except np.linalg.LinAlgError:
        host = to_host(a)
        index = _first_failure(host, lambda m: not np.isfinite(m).all())
        raise LinAlgError(f"{fname}: {_batch_prefix(index, host.shape[:-2])}The algorithm "
                          f"failed to converge because the input matrix contained non-finite "
                          f"values.") from None


def _return_type(name, fields):
    """A torch.return_types named tuple, also registered as ember.return_types.<name>."""
    cls = make_return_type(name, fields)
    setattr(return_types, name, cls)
    return cls


_SlogdetResult = _return_type("linalg_slogdet", ["sign", "logabsdet"])
_TorchSlogdetResult = _return_type("slogdet", ["sign", "logabsdet"])
_QrResult = _return_type("linalg_qr", ["Q", "R"])
_TorchQrResult = _return_type("qr", ["Q", "R"])
_SvdResult = _return_type("linalg_svd", ["U", "S", "Vh"])
_TorchSvdResult = _return_type("svd", ["U", "S", "V"])
_EighResult = _return_type("linalg_eigh", ["eigenvalues", "eigenvectors"])
_EigResult = _return_type("linalg_eig", ["eigenvalues", "eigenvectors"])
_LstsqResult = _return_type("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
_InvExResult = _return_type("linalg_inv_ex", ["inverse", "info"])
_CholeskyExResult = _return_type("linalg_cholesky_ex", ["L", "info"])
_SolveExResult = _return_type("linalg_solve_ex", ["result", "info"])


# ---------------------------------------------------------------------------- helpers

def _check_matrix(A, fname, square=True, floating=True):
    if not isinstance(A, Tensor):
        raise TypeError(f"{fname.split('.')[-1]}(): argument 'A' (position 1) must be Tensor, not "
                        f"{type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError(f"{fname}: The input tensor A must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fname}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    dt = A.dtype
    if floating and not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{fname}: Expected a floating point or complex tensor as input. Got "
                           f"{dtype_name(dt)}")
    if floating and dt in (_dtype.float16, _dtype.bfloat16):
        raise RuntimeError(f"{fname}: Low precision dtypes not supported. Got {dtype_name(dt)}")


def _zeros_like_batch(A, dtype):
    """Zeros of A's batch shape on A's device (the info tensors of the *_ex functions)."""
    return Tensor._make(like(np.zeros(A.shape[:-2], dtype=dtype), A._data))


def _batch_prefix(index, batch_shape):
    if not batch_shape:
        return ""
    flat = int(np.ravel_multi_index(index, batch_shape)) if index else 0
    return f"(Batch element {flat}): "


def _first_failure(A, fails):
    """The batch index of the first matrix of A for which fails(matrix) is true."""
    for index in np.ndindex(A.shape[:-2]):
        if fails(A[index]):
            return index
    return ()


def _zero_pivot(a):
    """1-based index of the first exactly zero pivot of LU with partial pivoting, as
    LAPACK's getrf reports it (0 when there is none)."""
    a = np.array(a, dtype=np.complex128 if a.dtype.kind == "c" else np.float64)
    n = a.shape[0]
    first = 0
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            first = first or k + 1
            continue
        a[[k, p]] = a[[p, k]]
        a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return first


def _raise_singular(A, fname):
    def singular(m):
        return _zero_pivot(m) > 0
    index = _first_failure(A, singular)
    k = _zero_pivot(A[index]) if A.shape[-1] else 1
    if fname == "linalg.solve":
        raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is "
                          "singular.")
    raise LinAlgError(f"{fname}: {_batch_prefix(index, A.shape[:-2])}The diagonal element {k} is "
                      f"zero, the inversion could not be completed because the input matrix is "
                      f"singular.")


def _eye_like(t, n=None):
    n = t.shape[-1] if n is None else n
    return Tensor._make(like(np.eye(n, dtype=t._data.dtype), t._data))


def _diag_embed(v):
    """(..., n) -> (..., n, n) with v on the diagonal."""
    return v.unsqueeze(-1) * _eye_like(v)


def _tril(M, k=0):
    mask = np.tril(np.ones(M.shape[-2:], dtype=M._data.dtype), k)
    return M * Tensor._make(like(mask, M._data))


def _inverse_gaps(x):
    """F_ij = 1 / (x_j - x_i) off the diagonal, 0 on it (differentiable in x)."""
    eye = _eye_like(x)
    return (1 - eye) / (x.unsqueeze(-2) - x.unsqueeze(-1) + eye)


def _as_matrix_grad(g):
    """The gradient of a scalar-per-matrix output as (..., 1, 1), to scale a matrix."""
    return g.unsqueeze(-1).unsqueeze(-1)


# ---------------------------------------------------------------------------- inv / det

class Inv(Op):
    """X = A^-1; dA = -X^H g X^H."""
    _name = "LinalgInvExBackward0"
    save_output = True

    @staticmethod
    def forward(ctx, a, fname):
        try:
            with linalg_checks(ctx.xp):
                # inv(A) = inv(A^T)^T: the transposed view is column-major, as PyTorch's
                # (LAPACK's) inverse, at no cost
                return ctx.xp.linalg.inv(a.swapaxes(-1, -2)).swapaxes(-1, -2)
        except np.linalg.LinAlgError:
            _raise_singular(to_host(a), fname)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        xh = mH(x)
        return -(xh.matmul(grad).matmul(xh))


@writes_out("linalg.inv")
@cast_before_checks("linalg_inv")
def inv(A, *, out=None):
    """The inverse of each square matrix of A; raises LinAlgError for a singular one."""
    _check_matrix(A, "linalg.inv")
    return apply(Inv, (A,), (A._data,), "linalg.inv")


@writes_out("inverse")
@cast_before_checks("inverse")
def inverse(input, *, out=None):
    """torch.inverse: the same as linalg.inv."""
    return inv(input)


@writes_out("linalg.inv_ex")
@cast_before_checks("linalg_inv_ex")
def inv_ex(A, *, check_errors=False, out=None):
    """inv returning (inverse, info): info is 0 where the matrix was invertible, else
    LAPACK's index of the first zero pivot, whose inverse is what LU with that pivot gives
    (infinities, as PyTorch returns). check_errors raises instead."""
    _check_matrix(A, "linalg.inv_ex")
    try:
        return _InvExResult(apply(Inv, (A,), (A._data,), "linalg.inv_ex"),
                            _zeros_like_batch(A, np.int32))
    except LinAlgError:
        if check_errors:
            raise
    LU, pivots, info = _singular_lu(A)
    eye = _eye_like(A).expand(tuple(A.shape))
    return _InvExResult(_lu_solve(LU, pivots, eye), info)


class Det(Op):
    """d = det A; dA = g d A^-H (= g times the conjugate cofactor matrix of A).

    A singular A (d == 0) has no inverse. Like PyTorch, a first-order backward gives it a
    zero gradient (its inverse is replaced by the identity, which d = 0 then cancels);
    with create_graph, where the gradient will be differentiated (a Hessian-vector product,
    forward over reverse), the cofactor matrix comes from the SVD A = U S V^H instead:

        dA = g conj(det U det V^H) U diag(prod_{j != i} S_j) V^H,

    which holds at every A and whose own derivative is then right there too."""
    _name = "LinalgDetBackward0"
    save_inputs = (0,)
    save_output = True

    @staticmethod
    def forward(ctx, a):
        return finish(ctx.xp.linalg.det(a), a.dtype)

    @staticmethod
    def backward(ctx, grad):
        from .pointwise import where
        from ..autograd import grad_mode
        a, d = ctx.saved_tensors
        singular = Tensor._make((d._data == 0)[..., None, None])
        safe = where(singular, _eye_like(a), a)
        ga = _as_matrix_grad(grad * conj(d)) * mH(inv(safe))
        if grad_mode.is_grad_enabled() and bool(singular._data.any()):
            ga = where(singular, _det_grad_by_svd(a, grad), ga)
        return ga

    @staticmethod
    def jvp(ctx, inputs, outputs, tangents):
        """J t = d tr(A^-1 t), with PyTorch's 0 for a singular A (A^-1 replaced by the
        identity, as in backward; the derivative of the create_graph backward would give
        the cofactor's true tr(adj(A) t) there, which PyTorch's forward mode does not)."""
        from .pointwise import where
        (a,), (t,), d = inputs, tangents, outputs[0]
        singular = Tensor._make((d._data == 0)[..., None, None])
        safe = where(singular, _eye_like(a), a)
        return d * inv(safe).matmul(t).diagonal(0, -2, -1).sum(-1)


def _det_grad_by_svd(a, grad):
    """Det's gradient g conj(det U det V^H) U diag(prod_{j != i} S_j) V^H, valid for
    singular A too (see Det)."""
    from .reduction import _prod_of_others
    u, s, vh = linalg_svd(a, full_matrices=False)
    phase = conj(det(u) * det(vh))
    weights = _prod_of_others(s, s.ndim - 1) * (grad * phase).unsqueeze(-1)
    return (u * weights.unsqueeze(-2)).matmul(vh)


@writes_out("linalg.det")
def det(A, *, out=None):
    """Determinant of each square matrix of A."""
    if isinstance(A, Tensor) and A.dtype in (_dtype.float16, _dtype.bfloat16):
        # PyTorch's det runs an LU first, which has no half kernel
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{dtype_name(A.dtype)}'")
    _check_matrix(A, "linalg.det")
    return apply(Det, (A,), (A._data,))


class Slogdet(Op):
    """(sign, log|det A|) with sign = det A / |det A|.

    With t = tr(A^-1 dA): d log|det A| = Re t, and for complex A d sign = i sign Im t. A
    real loss then changes by Re(conj(c) t) with c = g_l + i Im(g_s conj(sign)), so

        dA = c A^-H.

    For real A the sign is piecewise constant: recorded, as PyTorch does, but its gradient
    is zero and c = g_l."""
    _name = "LinalgSlogdetBackward0"
    save_inputs = (0,)
    save_output = (0,)

    @staticmethod
    def forward(ctx, a):
        sign, logabs = ctx.xp.linalg.slogdet(a)
        real = np.empty(0, dtype=a.dtype).real.dtype
        return finish(sign, a.dtype), finish(logabs, real)

    @staticmethod
    def backward(ctx, grad_sign, grad_logabs):
        a, sign = ctx.saved_tensors
        c = grad_logabs
        if a.dtype.is_complex:
            c = c + 1j * (grad_sign * conj(sign)).imag
        return _as_matrix_grad(c) * mH(inv(a))


@writes_out("linalg.slogdet")
def linalg_slogdet(A, *, out=None):
    """(sign, logabsdet) of the determinant of each square matrix of A."""
    _check_matrix(A, "linalg.slogdet")
    return _SlogdetResult(*apply(Slogdet, (A,), (A._data,)))


@writes_out("slogdet")
def slogdet(input, *, out=None):
    """torch.slogdet: linalg.slogdet with torch.return_types.slogdet."""
    return _TorchSlogdetResult(*linalg_slogdet(input))


def logdet(input):
    """log det A: NaN where the determinant is negative, -inf where it is zero. For complex
    A the principal logarithm, log|det A| + i arg(det A)."""
    from .pointwise import where
    _check_matrix(input, "logdet")
    sign, logabs = linalg_slogdet(input)
    if input.dtype.is_complex:
        # a singular A has no argument: -inf + nan i, as PyTorch's
        from .complex_ops import complex as make_complex
        nan = Tensor._make(as_array(np.nan, dtype=logabs._data.dtype))
        return make_complex(logabs, where(sign == 0, nan, sign.angle()))
    nan = Tensor._make(as_array(np.nan, dtype=logabs._data.dtype))
    return where(sign < 0, nan, logabs)


# ---------------------------------------------------------------------------- solve

class Solve(Op):
    """X = A^-1 B (both with the same batch shape, B of shape (..., n, k));
    dB = A^-H g, dA = -dB X^H."""
    _name = "LinalgSolveExBackward0"
    save_inputs = (0,)
    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        try:
            with linalg_checks(ctx.xp):
                return col_major(ctx.xp.linalg.solve(a, b))   # PyTorch's (LAPACK's) layout
        except np.linalg.LinAlgError:
            _raise_singular(to_host(a), "linalg.solve")

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        gb = _solve_matrix(mH(a), grad)
        ga = -gb.matmul(mH(x)) if ctx.needs_input_grad[0] else None
        return ga, gb


def _solve_matrix(A, B):
    batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    a = A.expand(batch + tuple(A.shape[-2:])) if tuple(A.shape[:-2]) != batch else A
    b = B.expand(batch + tuple(B.shape[-2:])) if tuple(B.shape[:-2]) != batch else B
    return apply(Solve, (a, b), (a._data, b._data))


@writes_out("linalg.solve")
@cast_before_checks("linalg_solve")
def solve(A, B, *, left=True, out=None):
    """X with A X = B (left=True) or X A = B (left=False); B may be a vector (..., n)."""
    _check_matrix(A, "linalg.solve")
    if not isinstance(B, Tensor):
        raise TypeError(f"solve(): argument 'B' (position 2) must be Tensor, not "
                        f"{type(B).__name__}")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of "
                           f"type {dtype_name(A.dtype)} and B of type {dtype_name(B.dtype)} "
                           f"instead")
    check_same_device(A, B)
    vector = B.dim() == 1 or (B.dim() == A.dim() - 1 and B.shape == A.shape[:-1])
    Bm = B.unsqueeze(-1) if vector else B
    n = A.shape[-1]
    rows = Bm.shape[-2] if left else Bm.shape[-1]
    if rows != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and "
                           f"{Bm.shape[-2]}x{Bm.shape[-1]})")
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({'x'.join(map(str, A.shape))} and "
                           f"{'x'.join(map(str, Bm.shape))})") from None
    if left:
        X = _solve_matrix(A, Bm)
    else:
        X = _solve_matrix(A.mT, Bm.mT).mT
    return X.squeeze(-1) if vector else X


@writes_out("linalg.solve_ex")
def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """solve returning (result, info), info as for inv_ex."""
    try:
        return _SolveExResult(solve(A, B, left=left), _zeros_like_batch(A, np.int32))
    except LinAlgError:
        if check_errors:
            raise
    vector = B.dim() == 1 or (B.dim() == A.dim() - 1 and B.shape == A.shape[:-1])
    Bm = B.unsqueeze(-1) if vector else B
    if left:
        LU, pivots, info = _singular_lu(A)
        X = _lu_solve(LU, pivots, Bm)
    else:   # X A = B as A^T X^T = B^T, as PyTorch solves it
        LU, pivots, info = _singular_lu(A.mT)
        X = _lu_solve(LU, pivots, Bm.mT).mT
    return _SolveExResult(X.squeeze(-1) if vector else X, info)


def _singular_lu(A):
    """(LU, pivots, info) of a batch holding a singular matrix: LAPACK's factorization,
    whose zero pivots make the *_ex results infinite where PyTorch's are."""
    from .linalg_more import lu_factor_ex
    return lu_factor_ex(A)


def _lu_solve(LU, pivots, B):
    from .linalg_more import linalg_lu_solve
    return linalg_lu_solve(LU, pivots, B)


# ---------------------------------------------------------------------------- cholesky

class Cholesky(Op):
    """A = L L^H, L lower triangular (read from A's lower triangle).

    dA = L^-H Phi L^-1 with Phi = sym(tril(L^H g_L)) keeping half the diagonal
    (Murray, "Differentiation of the Cholesky decomposition", 2016).
    """
    _name = "LinalgCholeskyExBackward0"
    save_output = True

    @staticmethod
    def forward(ctx, a, fname, upper=False):
        """upper: L is returned for U = L^H, which is then column-major (as PyTorch's
        factors are), so L itself is row-major."""
        try:
            with linalg_checks(ctx.xp):
                L = ctx.xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            _raise_not_pd(to_host(a), fname)
        return L if upper else col_major(L)

    @staticmethod
    def backward(ctx, grad):
        L, = ctx.saved_tensors
        phi = _tril(mH(L).matmul(grad))
        phi = 0.5 * (phi + mH(_tril(phi, -1)))
        y = _solve_matrix(mH(L), phi)              # L^-H Phi
        return mH(_solve_matrix(mH(L), mH(y)))      # (L^-H (L^-H Phi)^H)^H = L^-H Phi L^-1


def _raise_not_pd(a, fname):
    def not_pd(m):
        try:
            np.linalg.cholesky(m)
            return False
        except np.linalg.LinAlgError:
            return True
    index = _first_failure(a, not_pd)
    m = a[index]
    order = next(k for k in range(1, m.shape[-1] + 1) if not_pd(m[:k, :k]))
    raise LinAlgError(f"{fname}: {_batch_prefix(index, a.shape[:-2])}The factorization could not "
                      f"be completed because the input is not positive-definite (the leading minor "
                      f"of order {order} is not positive-definite).")


@writes_out("linalg.cholesky")
@cast_before_checks("linalg_cholesky")
def linalg_cholesky(A, *, upper=False, out=None):
    """L with A = L L^H (or U = L^H with A = U^H U when upper=True)."""
    return _cholesky(A, upper, "linalg.cholesky")


def _cholesky(A, upper, fname):
    _check_matrix(A, fname)
    if upper:  # the upper triangle of A is the lower triangle of A^H
        a = mH(A)
        return mH(apply(Cholesky, (a,), (a._data,), fname, True))
    return apply(Cholesky, (A,), (A._data,), fname)


class CholeskyEx(Cholesky):
    """linalg.cholesky_ex: Cholesky's factor and gradient, plus `info` (per matrix, 0 or
    the order of the first leading minor that is not positive-definite). A matrix that is
    not positive-definite gets LAPACK's unblocked (potf2) partial factor, as PyTorch
    returns it: columns before the failing one factored, the failing pivot's value
    A[j, j] - |L[j, :j]|^2 on the diagonal, the rest of A's lower triangle untouched."""
    save_output = (0,)
    nondiff_outputs = (1,)

    @staticmethod
    def forward(ctx, a, fname, upper=False):
        info = np.zeros(a.shape[:-2], dtype=np.int32)
        lay = (lambda L: L) if upper else col_major   # as Cholesky's
        try:
            with linalg_checks(ctx.xp):
                return lay(ctx.xp.linalg.cholesky(a)), like(info, a)
        except np.linalg.LinAlgError:
            pass
        host = to_host(a)
        L = np.zeros_like(host)
        for index in np.ndindex(host.shape[:-2]):
            L[index], info[index] = _partial_cholesky(host[index])
        return lay(like(L, a)), like(info, a)

    @staticmethod
    def backward(ctx, grad, _):
        return Cholesky.backward(ctx, grad)


def _partial_cholesky(m):
    """(L, info) of one matrix by the column-by-column algorithm, stopping at the first
    pivot that is not positive (info: its 1-based order; 0 when there is none)."""
    n = m.shape[-1]
    L = np.tril(m)
    for j in range(n):
        row = L[j, :j]
        pivot = (m[j, j] - np.vdot(row, row)).real
        if not pivot > 0:   # also NaN
            L[j, j] = pivot
            return L, j + 1
        L[j, j] = np.sqrt(pivot)
        L[j + 1:, j] = (m[j + 1:, j] - L[j + 1:, :j] @ row.conj()) / L[j, j]
    return L, 0


@writes_out("linalg.cholesky_ex")
@cast_before_checks("linalg_cholesky_ex")
def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """(L, info): linalg.cholesky that reports a matrix that is not positive-definite in
    `info` instead of raising (unless check_errors)."""
    _check_matrix(A, "linalg.cholesky_ex")
    a = mH(A) if upper else A
    if check_errors:
        L = apply(Cholesky, (a,), (a._data,), "linalg.cholesky_ex", upper)
        info = _zeros_like_batch(A, np.int32)
    else:
        L, info = apply(CholeskyEx, (a,), (a._data,), "linalg.cholesky_ex", upper)
    return _CholeskyExResult(mH(L) if upper else L, info)


@writes_out("cholesky")
@cast_before_checks("cholesky")
def cholesky(input, upper=False, *, out=None):
    """torch.cholesky (deprecated): the same factor as linalg.cholesky (its errors say
    "cholesky:")."""
    return _cholesky(input, upper, "cholesky")


# ---------------------------------------------------------------------------- qr

class Qr(Op):
    """A = Q R. For m >= n (or a square complete Q):
    dA = (g_Q + Q copyltu(M)) R^-H with M = R g_R^H - g_Q^H Q and copyltu(M) the
    symmetric matrix built from M's lower triangle. For m < n, A = [X | Y] with X square:
    X gets that formula with g_Q + Y g_V^H (V: the last n - m columns of R), Y gets Q g_V.
    """
    _name = "LinalgQrBackward0"
    save_output = (0, 1)

    @staticmethod
    def forward(ctx, a, mode):
        ctx.mode = mode
        if mode == "r":
            return ctx.xp.empty(0, dtype=a.dtype), col_major(ctx.xp.linalg.qr(a, mode="r"))
        return tuple(col_major(f) for f in ctx.xp.linalg.qr(a, mode=mode))   # as LAPACK's

    @staticmethod
    def backward(ctx, gq, gr):
        q, r = ctx.saved_tensors
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you are "
                               "going to differentiate through linalg.qr.")
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                               "nrows > ncols.")
        if m >= n:
            return _qr_grad_tall(q, r, gq, gr)
        from .joining import cat
        x_r, v, gv = r[..., :, :m], r[..., :, m:], gr[..., :, m:]
        gx = _qr_grad_tall(q, x_r, gq + q.matmul(v).matmul(mH(gv)), gr[..., :, :m])
        return cat([gx, q.matmul(gv)], -1)


def _qr_grad_tall(q, r, gq, gr):
    m_ = r.matmul(mH(gr)) - mH(gq).matmul(q)
    copyltu = _tril(m_) + mH(_tril(m_, -1))
    b = gq + q.matmul(copyltu)
    return mH(_solve_matrix(r, mH(b)))  # b R^-H = (R^-1 b^H)^H


@writes_out("linalg.qr")
@cast_before_checks("linalg_qr")
def linalg_qr(A, mode="reduced", *, out=None):
    """(Q, R) with A = Q R; mode 'reduced' (Q: m x k), 'complete' (Q: m x m) or 'r' (Q empty)."""
    _check_matrix(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    return _QrResult(*apply(Qr, (A,), (A._data,), mode))


@writes_out("qr")
@cast_before_checks("qr")
def qr(input, some=True, *, out=None):
    """torch.qr (deprecated): some=True is mode 'reduced', False 'complete'."""
    return _TorchQrResult(*linalg_qr(input, "reduced" if some else "complete"))


# ---------------------------------------------------------------------------- svd

class Svd(Op):
    """A = U diag(S) V^H (reduced: k = min(m, n) columns).

    With F_ij = 1 / (s_j^2 - s_i^2) (i != j), J = F o (U^H g_U), K = F o (V^H g_V):
    dA = U [(J + J^H) S + S (K + K^H) + diag(g_S)] V^H
         + (I - U U^H) g_U S^-1 V^H + U S^-1 g_V^H (I - V V^H)
    which needs distinct, nonzero singular values when g_U or g_V is used (a missing
    output gradient stays None, not zeros, so S alone takes repeated singular values).
    """
    _name = "LinalgSvdBackward0"
    save_output = (0, 1, 2)
    materialize_grads = False

    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = svd_arrays(ctx.xp, a, full_matrices=full_matrices)
        return col_major(u), s, col_major(vh)   # U and V^H column-major, as LAPACK's

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        return _svd_grad(u, s, vh, gu, gs, gvh)


def _svd_grad(u, s, vh, gu, gs, gvh):
    k = s.shape[-1]
    m, n = u.shape[-2], vh.shape[-1]
    u, vh = u[..., :, :k], vh[..., :k, :]
    gu = gu[..., :, :k] if gu is not None else None
    gvh = gvh[..., :k, :] if gvh is not None else None
    v = mH(vh)
    core = _diag_embed(gs) if gs is not None else None
    if gu is None and gvh is None:
        return u.matmul(core).matmul(vh)
    s2 = s * s
    f = _inverse_gaps(s2)                                  # f_ij = 1 / (s_j^2 - s_i^2)
    s_col, s_row = s.unsqueeze(-1), s.unsqueeze(-2)
    term = None
    if gu is not None:
        j = f * mH(u).matmul(gu)
        term = (j + mH(j)) * s_row
    if gvh is not None:
        kk = f * mH(v).matmul(mH(gvh))
        t2 = s_col * (kk + mH(kk))
        term = t2 if term is None else term + t2
    core = term if core is None else core + term
    ga = u.matmul(core).matmul(vh)
    if gu is not None and m > k:
        proj = gu - u.matmul(mH(u).matmul(gu))
        ga = ga + (proj / s_row).matmul(vh)
    if gvh is not None and n > k:
        gv = mH(gvh)
        proj = gv - v.matmul(mH(v).matmul(gv))
        ga = ga + (u / s_row).matmul(mH(proj))
    return ga


@writes_out("linalg.svd")
@cast_before_checks("linalg_svd")
def linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    """(U, S, Vh) with A = U diag(S) Vh, singular values in descending order."""
    _check_matrix(A, "linalg.svd", square=False)
    return _SvdResult(*apply(Svd, (A,), (A._data,), full_matrices))


class Svdvals(Op):
    """The singular values; dA = U diag(g_S) V^H with U, V recomputed differentiably."""
    _name = "LinalgSvdBackward0"
    save_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        s = svd_arrays(ctx.xp, a, compute_uv=False)
        return finish(s, s.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        u, _, vh = linalg_svd(a, full_matrices=False)
        return (u * grad.unsqueeze(-2)).matmul(vh)


@writes_out("linalg.svdvals")
@cast_before_checks("linalg_svdvals")
def svdvals(A, *, driver=None, out=None):
    _check_matrix(A, "linalg.svdvals", square=False)
    return apply(Svdvals, (A,), (A._data,))


@writes_out("svd")
@cast_before_checks("svd")
def svd(input, some=True, compute_uv=True, *, out=None):
    """torch.svd (deprecated): returns V, not V^H; zero U and V when compute_uv=False."""
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    if not compute_uv:
        return _TorchSvdResult(U.detach() * 0, S, Vh.detach().mT * 0)
    return _TorchSvdResult(U, S, Vh.mT)


# ---------------------------------------------------------------------------- eigh / eig

class Eigh(Op):
    """A = V diag(w) V^H for Hermitian A (read from the UPLO triangle), w ascending.

    dA = V (diag(g_w) + skew(V^H g_V) / E) V^H with skew(X) = (X - X^H) / 2 and
    E_ij = w_j - w_i (needs distinct eigenvalues when g_V is used; a missing output
    gradient stays None, not zeros, so w alone takes repeated eigenvalues).
    """
    _name = "LinalgEighBackward0"
    save_output = (0, 1)
    materialize_grads = False

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = ctx.xp.linalg.eigh(a, UPLO=uplo)
        return w, col_major(v)   # the eigenvectors column-major, as LAPACK's

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        return _eigh_grad(w, v, gw, gv)


def _eigh_grad(w, v, gw, gv):
    core = _diag_embed(gw) if gw is not None else None
    if gv is not None:
        vhgv = mH(v).matmul(gv)
        skew = 0.5 * (vhgv - mH(vhgv))
        term = skew * _inverse_gaps(w)
        core = term if core is None else core + term
    return v.matmul(core).matmul(mH(v))


@writes_out("linalg.eigh")
@cast_before_checks("linalg_eigh")
def eigh(A, UPLO="L", *, out=None):
    """(eigenvalues, eigenvectors) of Hermitian matrices, eigenvalues ascending."""
    _check_matrix(A, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _EighResult(*apply(Eigh, (A,), (A._data,), UPLO))


class Eigvalsh(Op):
    """Eigenvalues of a Hermitian matrix; dA = V diag(g_w) V^H, V recomputed differentiably."""
    _name = "LinalgEighBackward0"
    save_inputs = (0,)

    @staticmethod
    def forward(ctx, a, uplo):
        ctx.uplo = uplo
        return ctx.xp.linalg.eigvalsh(a, UPLO=uplo)

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        _, v = eigh(a, ctx.uplo)
        return (v * grad.unsqueeze(-2)).matmul(mH(v))


@writes_out("linalg.eigvalsh")
@cast_before_checks("linalg_eigvalsh")
def eigvalsh(A, UPLO="L", *, out=None):
    _check_matrix(A, "linalg.eigvalsh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return apply(Eigvalsh, (A,), (A._data,), UPLO)


class Eig(Op):
    """A = V diag(L) V^-1 for a general square A: complex L and V, each column of V of unit
    norm with its largest component real (LAPACK's normalization; the phase of a column
    is otherwise arbitrary).

    With W = V^H g_V and F_ij = 1 / (L_j - L_i) off the diagonal (0 on it),

        dA = V^-H (diag(g_L) + conj(F) * (W - V^H V diag(Re diag W))) V^H

    and its real part for real A. The projection drops the part of g_V that would change a
    column's norm. A loss that depends on the columns' phases has Im diag W != 0: it has no
    gradient, and backward raises as PyTorch's does. Needs distinct eigenvalues where g_V
    is used; without g_V (eigvals) repeated eigenvalues are fine, so a missing output
    gradient stays None rather than zeros (0 / 0 would give NaN)."""
    _name = "LinalgEigBackward0"
    save_output = (0, 1)
    materialize_grads = False

    @staticmethod
    def forward(ctx, a):
        ctx.real_input = a.dtype.kind != "c"
        if ctx.xp is np or hasattr(ctx.xp.linalg, "eig"):
            w, v = ctx.xp.linalg.eig(a)
        else:  # CuPy before 14 has no general eig: compute it on the host
            w, v = np.linalg.eig(to_host(a))
            w, v = like(w, a), like(v, a)
        cdt = np.result_type(a.dtype, np.complex64)
        return w.astype(cdt), col_major(v.astype(cdt))   # V column-major, as LAPACK's

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        vh = mH(v)
        core = _diag_embed(gw) if gw is not None else None
        if gv is not None:
            vhgv = vh.matmul(gv)
            diag = vhgv.diagonal(0, -2, -1)
            # PyTorch's tolerance for "the loss ignores the phases": allclose(Im, 0, 1e-2, 1e-2)
            if diag.numel() and float(to_host(diag.imag.abs().max()._data)) > 1e-2:
                raise RuntimeError("linalg_eig_backward: The eigenvectors in the complex case "
                                   "are specified up to multiplication by e^{i phi}. The "
                                   "specified loss function depends on this quantity, so it "
                                   "is ill-defined.")
            projected = vhgv - vh.matmul(v * diag.real.unsqueeze(-2))
            term = conj(_inverse_gaps(w)) * projected
            core = term if core is None else core + term
        if core is None:
            return None
        ga = _solve_matrix(vh, core.matmul(vh))
        return ga.real if ctx.real_input else ga


def _eigvals_of_finite(A):
    """eigvals of A without a graph, NaN for each matrix with a NaN or infinite entry (as
    PyTorch's LAPACK call gives for most; it refuses none)."""
    host = to_host(A._data)
    finite = np.isfinite(host).all(axis=(-2, -1))
    safe = Tensor._make(like(np.where(finite[..., None, None], host, 0), A._data))
    w = apply(Eig, (safe,), (safe._data,))[0]
    w._data[~like(finite, w._data)] = complex("nan+nanj")
    return w


@writes_out("linalg.eig")
@cast_before_checks("linalg_eig")
def eig(A, *, out=None):
    """(eigenvalues, eigenvectors), complex, of general square matrices."""
    _check_matrix(A, "linalg.eig")
    if A.numel() and not bool(np.isfinite(to_host(A._data)).all()):
        raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
    return _EigResult(*apply(Eig, (A,), (A._data,)))


@writes_out("linalg.eigvals")
@cast_before_checks("linalg_eigvals")
def eigvals(A, *, out=None):
    from ..autograd import grad_mode
    if (A.numel() and not (A.requires_grad and grad_mode.is_grad_enabled())
            and not bool(np.isfinite(to_host(A._data)).all())):
        _check_matrix(A, "linalg.eigvals")
        return _eigvals_of_finite(A)
    return eig(A)[0]


# ---------------------------------------------------------------------------- pinv / lstsq

def _pinv_grad(grad, pinv_a, a):
    """PyTorch's pinv_backward: the gradient of A^+ for A of locally constant rank."""
    m, n = a.shape[-2], a.shape[-1]
    pinv_ah = mH(pinv_a)
    gradh = mH(grad)
    if m <= n:
        k = gradh.matmul(pinv_a)
        k_pinv_ah = k.matmul(pinv_ah)
        return (-mH(pinv_a.matmul(k)) + k_pinv_ah - a.matmul(pinv_a).matmul(k_pinv_ah)
                + pinv_ah.matmul(pinv_a).matmul(gradh - k.matmul(a)))
    k = pinv_a.matmul(gradh)
    pinv_ah_k = pinv_ah.matmul(k)
    return (-mH(k.matmul(pinv_a)) + (gradh - a.matmul(k)).matmul(pinv_a).matmul(pinv_ah)
            + pinv_ah_k - pinv_ah_k.matmul(pinv_a).matmul(a))


class Pinv(Op):
    """A^+ from the SVD, singular values below max(atol, rtol * s_max) dropped."""
    _name = "LinalgPinvBackward0"
    save_inputs = (0,)
    save_output = True

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        return _pinv_array(a, atol, rtol, hermitian)

    @staticmethod
    def backward(ctx, grad):
        a, p = ctx.saved_tensors
        return _pinv_grad(grad, p, a)


def _pinv_array(a, atol, rtol, hermitian):
    if a.size == 0:
        return like(np.zeros(a.shape[:-2] + (a.shape[-1], a.shape[-2]), dtype=a.dtype), a)
    if hermitian:
        w, v = np.linalg.eigh(a)
        s = np.abs(w)
    else:
        u, s, vh = svd_arrays(np, a, full_matrices=False)
    smax = s.max(axis=-1, keepdims=True)
    tol = np.maximum(atol, rtol * smax)
    keep = s > tol
    inv_s = np.where(keep, 1 / np.where(keep, s, 1), 0).astype(s.dtype)
    if hermitian:
        wi = np.where(keep, 1 / np.where(keep, w, 1), 0).astype(w.dtype)
        return (v * wi[..., None, :]) @ np.swapaxes(v.conj(), -1, -2)
    return (np.swapaxes(vh.conj(), -1, -2) * inv_s[..., None, :]) @ np.swapaxes(u.conj(), -1, -2)


def _tolerances(A, atol, rtol):
    eps = np.finfo(np.empty(0, dtype=A._data.dtype).real.dtype).eps
    atol = 0.0 if atol is None else _as_float(atol)
    if rtol is None:
        rtol = eps * max(A.shape[-2], A.shape[-1]) if atol == 0.0 else 0.0
    return atol, _as_float(rtol)


def _as_float(x):
    return float(x.item()) if isinstance(x, Tensor) else float(x)


@writes_out("linalg.pinv")
def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The Moore-Penrose pseudo-inverse."""
    _check_matrix(A, "linalg.pinv", square=False)
    atol, rtol = _tolerances(A, atol, rtol)
    return apply(Pinv, (A,), (A._data,), atol, rtol, hermitian)


@cast_before_checks("pinverse")
def pinverse(input, rcond=1e-15):
    """torch.pinverse: pinv with rtol = rcond."""
    return pinv(input, rtol=rcond)


class Lstsq(Op):
    """The least-squares solution X = A^+ B; its gradient goes through pinv."""
    _name = "LinalgLstsqBackward0"
    save_inputs = (0, 1)

    @staticmethod
    def forward(ctx, a, b, rcond):
        ctx.rcond = rcond
        # laid out as LAPACK's gels leaves it in PyTorch: the first n rows of a
        # column-major (max(m, n), k) buffer per matrix
        rows = max(a.shape[-2], a.shape[-1])
        x = ctx.xp.empty(a.shape[:-2] + (b.shape[-1], rows), dtype=a.dtype).swapaxes(-1, -2)
        x = x[..., :a.shape[-1], :]
        for index in np.ndindex(a.shape[:-2]):
            x[index] = ctx.xp.linalg.lstsq(a[index], b[index], rcond=rcond)[0]
        return x

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        p = pinv(a, rtol=ctx.rcond)
        ga = _pinv_grad(grad.matmul(mH(b)), p, a) if ctx.needs_input_grad[0] else None
        gb = mH(p).matmul(grad) if ctx.needs_input_grad[1] else None
        return ga, gb


@cast_before_checks("linalg_lstsq")
def lstsq(A, B, rcond=None, *, driver=None):
    """(solution, residuals, rank, singular_values) of min ||A X - B||.

    As PyTorch's CPU default driver 'gelsy': residuals and singular_values are empty;
    'gelsd' / 'gelss' compute singular values, and 'gels', 'gelsd', 'gelss' the residuals
    (for m > n and full rank, which 'gels' assumes)."""
    _check_matrix(A, "linalg.lstsq", square=False)
    if A.dtype is not B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, "
                           f"but got input's dtype {A.dtype} and other's dtype {B.dtype}")
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    if A.dim() < B.dim() or A.dim() - B.dim() > 1:
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to "
                           "other.dim() and (input.dim() - other.dim()) <= 1")
    vector = B.dim() == A.dim() - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2]))
    a = A.expand(batch + tuple(A.shape[-2:]))
    b = Bm.expand(batch + tuple(Bm.shape[-2:]))
    eps = np.finfo(np.empty(0, dtype=A._data.dtype).real.dtype).eps
    rc = eps * max(A.shape[-2], A.shape[-1]) if rcond is None else rcond
    if not (bool(np.isfinite(to_host(A._data)).all()) and
            bool(np.isfinite(to_host(B._data)).all())):
        # (PyTorch's gelsy fails an internal assert on NaN; NumPy's gelsd raised its own
        # LinAlgError after LAPACK printed to stderr)
        raise RuntimeError("torch.linalg.lstsq: the input contains non-finite values (NaN "
                           "or infinity): the least-squares solution is not defined")
    x = apply(Lstsq, (a, b), (a._data, b._data), rc)
    # rank and singular values are A's own, over A's batch (not the one broadcast with B's)
    if A.numel():
        s = svd_arrays(np, A._data, compute_uv=False)
    else:
        s = like(np.zeros(tuple(A.shape[:-2]) + (0,)), a._data)
    rank = ((s > rc * s.max(axis=-1, keepdims=True)).sum(-1) if s.shape[-1]
            else np.zeros(tuple(A.shape[:-2])))
    rank = like(rank, a._data)
    real = np.empty(0, dtype=a._data.dtype).real.dtype
    # residuals are a function of the solution (PyTorch records them in the graph too);
    # when not computed they are an empty slice of it
    residuals = x.reshape(-1)[:0].abs()
    m, n = A.shape[-2], A.shape[-1]
    # 'gels' assumes full rank (LAPACK's QR; it fails only on an exactly zero pivot, which
    # ember's solver does not reproduce), 'gelsd' / 'gelss' check it
    full_rank = driver == "gels" or bool((rank == min(m, n)).all())
    if driver in ("gels", "gelsd", "gelss") and m > n and full_rank:
        residuals = ((a.matmul(x) - b).abs() ** 2).sum(-2)
    if driver in ("gelsd", "gelss"):
        sv = Tensor._make(s.astype(real))
    else:
        sv = Tensor._make(like(np.empty(0, dtype=real), a._data))
    if driver == "gels":
        rank_t = Tensor._make(like(np.empty(0, dtype=np.int64), a._data))
    else:
        rank_t = Tensor._make(as_array(rank, dtype=np.int64))
    return _LstsqResult(x.squeeze(-1) if vector else x, residuals, rank_t, sv)


# ---------------------------------------------------------------------------- composed

def matrix_power(A, n):
    """A^n by repeated squaring; n < 0 uses inv(A)^|n|; n = 0 the identity."""
    _check_matrix(A, "linalg.matrix_power", floating=False)
    if not isinstance(n, numbers.Integral):
        raise TypeError(f"matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    if n == 0:
        eye = np.broadcast_to(np.eye(A.shape[-1], dtype=A._data.dtype), A.shape).copy()
        eye = Tensor._make(like(eye, A._data))
        # in the graph of A (with a zero gradient), as PyTorch's result is
        return A * 0 + eye if A.requires_grad else eye
    if n < 0:
        A = inv(A)
        n = -n
    if n == 1:
        return A.clone()
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


@writes_out("linalg.matrix_rank")
@cast_before_checks("linalg_matrix_rank")
def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """The number of singular values above max(atol, rtol * s_max)."""
    _check_matrix(A, "linalg.matrix_rank", square=False)
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = _tolerances(A, atol, rtol)
    a = A._data
    if a.size == 0:
        return Tensor._make(like(np.zeros(a.shape[:-2], dtype=np.int64), a))
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else svd_arrays(np, a, compute_uv=False)
    threshold = np.maximum(atol, rtol * s.max(axis=-1, keepdims=True))
    return Tensor._make(as_array((s > threshold).sum(-1), dtype=np.int64))


@writes_out("linalg.norm")
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """linalg.norm: a vector norm (1-D input, or an int dim, or ord=None with dim=None)
    or a matrix norm (2-D input with a matrix ord, or a pair of dims)."""
    from .vector_norms import vector_norm, matrix_norm
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is None and ord is not None and A.dim() == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if dim is None and ord is not None and A.dim() != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.dim()}D.")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


@writes_out("linalg.cond")
@cast_before_checks("linalg_cond")
def cond(A, p=None, *, out=None):
    """The condition number: s_max / s_min for p in (None, 2), s_min / s_max for -2,
    otherwise norm(A, p) * norm(inv(A), p)."""
    _check_matrix(A, "linalg.cond", square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    from .vector_norms import matrix_norm
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


@writes_out("linalg.vecdot")
def vecdot(x, y, *, dim=-1, out=None):
    """sum over dim of conj(x) * y (broadcast)."""
    return (conj(x) * y).sum(dim)


# ---------------------------------------------------------------------------- methods

Tensor.inverse = inverse
Tensor.det = det
Tensor.logdet = logdet
Tensor.slogdet = slogdet
Tensor.cholesky = cholesky
Tensor.qr = qr
Tensor.svd = svd
Tensor.pinverse = pinverse
Tensor.matrix_power = matrix_power
