"""Randomized low-rank decompositions: svd_lowrank and pca_lowrank (Halko, Martinsson and
Tropp 2009, algorithms 4.4 and 5.1), and lobpcg, the locally optimal block preconditioned
conjugate gradient method for a few extreme eigenpairs (Knyazev 2001).

The decompositions are composed of differentiable ops (matmul, QR, SVD), so their
gradients come from those. Their random test matrices come from ember's generator, so
results equal PyTorch's up to that randomness: exactly, for matrices of rank <= q.
"""
from .. import _dtype
from ..autograd import grad_mode
from ._base import Op, apply
from ._util import check_tensor

__all__ = ["svd_lowrank", "pca_lowrank", "lobpcg"]


def _floating(A):
    """PyTorch's working dtype: A's own when floating (or complex), else float32."""
    dt = A.dtype
    if dt in (_dtype.float16, _dtype.float32, _dtype.float64) or dt.is_complex:
        return dt
    return _dtype.float32


def _approximate_basis(A, q, niter, M=None):
    """Q (m, q) with orthonormal columns whose span nearly holds A's range: Q = orth(A R)
    for a Gaussian R (n, q), refined by `niter` power iterations Q <- orth(A orth(A^H Q))
    (each sharpens the spectrum's decay). A - M stands for A when M is given."""
    from .creation import randn
    from .. import linalg
    R = randn(A.shape[-1], q, dtype=_floating(A), device=A.device)

    def times(X, H=False):
        left = A.mH if H else A
        out = left.matmul(X)
        return out if M is None else out - (M.mH if H else M).matmul(X)

    Q = linalg.qr(times(R)).Q
    for _ in range(niter):
        Q = linalg.qr(times(Q, H=True)).Q
        Q = linalg.qr(times(Q)).Q
    return Q


def _svd_lowrank(A, q, niter, M):
    from .. import linalg
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    wide = m < n
    if wide:   # work on the tall A^H: A = U S V^H <=> A^H = V S U^H
        A = A.mH
        M = M.mH if M is not None else None
    Q = _approximate_basis(A, q, niter, M)
    B = Q.mH.matmul(A)
    if M is not None:
        B = B - Q.mH.matmul(M)
    U, S, Vh = linalg.svd(B, full_matrices=False)
    V = Vh.mH
    U = Q.matmul(U)
    return (V, S, U) if wide else (U, S, V)


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) with A - M ~= U diag(S) V^H, of rank at most q: the SVD of the small
    matrix Q^H (A - M), Q an approximate basis of the range of A - M (see
    _approximate_basis). Batched over leading dims; q defaults to 6, niter to 2."""
    check_tensor(A, "svd_lowrank", "A")
    return _svd_lowrank(A, 6 if q is None else q, 2 if niter is None else niter, M)


def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V) of the rank-q approximation of A with its column means removed (when
    center): the principal directions are V's columns, S**2 / (m - 1) the variances
    along them. q defaults to min(6, m, n)."""
    check_tensor(A, "pca_lowrank", "A")
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, "
                         f"n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if center:
        A = A - A.mean(dim=(-2,), keepdim=True)
    return _svd_lowrank(A, q, niter, None)


# ---------------------------------------------------------------------------- lobpcg

def _b_orthonormalize(X, B):
    """Columns of X made B-orthonormal (X^T B X = I) through the Cholesky factor of the
    Gram matrix; columns that are (nearly) dependent are dropped via an eigen-split."""
    from .. import linalg
    BX = X if B is None else B.matmul(X)
    G = X.mT.matmul(BX)
    G = (G + G.mT) / 2
    w, V = linalg.eigh(G)
    keep = w > w.max() * 1e-12 * G.shape[0]
    V, w = V[:, keep], w[keep]
    return X.matmul(V / w.sqrt())


def _unit_columns(Y):
    norms = Y.norm(dim=0)
    return Y / norms.masked_fill(norms == 0, 1.0)


def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None,
           method=None, tracker=None, ortho_iparams=None, ortho_fparams=None,
           ortho_bparams=None):
    """The k largest (or, with largest=False, smallest) eigenpairs (E, X) of the symmetric
    generalized problem A x = lambda B x (B = I by default), by LOBPCG: each step solves
    the Rayleigh-Ritz problem on span[X, W, P], W = iK (A X - B X diag(E)) the
    (preconditioned) residuals and P the previous search directions, until every
    residual norm is below tol * ||A|| (tol defaults to sqrt(eps) of the dtype) or niter
    steps (default 1000) have run.

    The converged pairs are differentiated as a partial eigen-decomposition of A (see
    Lobpcg); with B given there is no backward, as in PyTorch."""
    from .. import linalg
    from .creation import randn
    check_tensor(A, "lobpcg", "A")
    if A.dim() != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {list(A.shape)}"
                         if A.dim() == 2 else "lobpcg: batches of matrices are not supported")
    if method not in (None, "ortho", "basic"):
        raise ValueError(f"lobpcg: method must be 'ortho' or 'basic', got {method!r}")
    if tracker is not None:
        raise NotImplementedError("lobpcg: ember does not support a tracker")
    N = A.shape[0]
    if X is not None:
        k = X.shape[-1] if k is None else k
        n = X.shape[-1] if n is None else n
    k = 1 if k is None else k
    n = k if n is None else n
    if N < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={N})"
                         f" is smaller than 3 x the number of requested eigenpairs (={n})")
    largest = True if largest is None else largest
    dt = _floating(A)
    tol = (_dtype.finfo(dt).eps ** 0.5) if tol is None else tol
    niter = 1000 if niter is None else niter
    if niter < 0:
        niter = float("inf")
    with grad_mode.no_grad():
        Ad = A.detach().to(dt)
        Bd = None if B is None else B.detach().to(dt)
        Xc = (X.detach().to(dt) if X is not None
              else randn(N, n, dtype=dt, device=A.device))
        Xc = _b_orthonormalize(Xc, Bd)
        P = None
        norm_A = linalg.matrix_norm(Ad, 2)
        sign = 1.0 if largest else -1.0
        step = 0
        while True:
            AX = Ad.matmul(Xc)
            BX = Xc if Bd is None else Bd.matmul(Xc)
            E = (Xc * AX).sum(0)
            R = AX - BX * E
            if bool((R.norm(dim=0)[:k] < tol * norm_A).all()) or step >= niter:
                break
            W = R if iK is None else iK.detach().to(dt).matmul(R)
            # unit columns: near convergence W and P are tiny, and the Gram matrix's
            # relative cut-off in _b_orthonormalize must not take them for dependent
            blocks = [Xc] + [_unit_columns(Y) for Y in ((W, P) if P is not None else (W,))]
            from .joining import cat
            S = _b_orthonormalize(cat(blocks, 1), Bd)
            T = S.mT.matmul(Ad.matmul(S))
            T = (T + T.mT) / 2
            w, C = linalg.eigh(sign * T)
            C = C[:, w.argsort(descending=True)[:n]]
            X_new = S.matmul(C)
            P = X_new - Xc.matmul(Xc.mT.matmul(X_new if Bd is None else Bd.matmul(X_new)))
            # Ritz vectors: already B-orthonormal, and they must stay unrotated, so that
            # E below is their Ritz values and R their residuals
            Xc = X_new
            step += 1
        order = E.argsort(descending=largest)[:k]
        E, Xc = E[order], Xc[:, order]
    if A.requires_grad and grad_mode.is_grad_enabled():
        return apply(Lobpcg, (A,), (A._data, E._data.astype(A._data.dtype),
                                    Xc._data.astype(A._data.dtype)), B is not None)
    return E, Xc


class Lobpcg(Op):
    """The converged eigenpairs (E, U) of symmetric A, differentiated as a partial
    eigen-decomposition A U = U diag(E):

        dE_i = u_i^T dA u_i,    du_i = -(A - E_i I)^+ dA u_i

    with the pseudo-inverse taken on the complement of u_i (from a full eigh of A in
    backward). So grad_A = sym(U diag(gE) U^T - sum_i (A - E_i I)^+ gU_i u_i^T), the
    symmetric part, as PyTorch's. The generalized problem (B given) has no backward, as
    in PyTorch."""
    _name = "LOBPCGAutogradFunctionBackward"   # PyTorch's node (a Python autograd.Function)
    save_inputs = (0,)
    save_output = (0, 1)

    @staticmethod
    def forward(ctx, a, e, u, generalized):
        ctx.generalized = generalized
        return e, u

    @staticmethod
    def backward(ctx, gE, gU):
        from .. import linalg
        if ctx.generalized:
            raise ValueError("lobpcg.backward does not support backward with B != I yet.")
        A, E, U = ctx.saved_tensors
        grad = None
        if gE is not None:
            grad = (U * gE).matmul(U.mT)
        if gU is not None:
            w, V = linalg.eigh(A)
            gap = w.unsqueeze(1) - E.unsqueeze(0)               # (n, k): w_j - E_i
            own = (gap.abs() == gap.abs().amin(0, keepdim=True))  # u_i's own eigenvalue
            inv = (1 / gap.masked_fill(own, 1.0)).masked_fill(own, 0.0)
            M = V.matmul(inv * V.mT.matmul(gU))                 # (A - E_i)^+ gU_i, column i
            term = -M.matmul(U.mT)
            grad = term if grad is None else grad + term
        return (grad + grad.mT) / 2
