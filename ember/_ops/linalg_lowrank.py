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


def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None,
           method=None, tracker=None, ortho_iparams=None, ortho_fparams=None,
           ortho_bparams=None):
    """The k largest (or, with largest=False, smallest) eigenpairs (E, X) of the symmetric
    generalized problem A x = lambda B x (B = I by default), by LOBPCG: each step solves
    the Rayleigh-Ritz problem on span[X, W, P], W = iK (A X - B X diag(E)) the
    (preconditioned) residuals and P the previous search directions, until every
    residual norm is below tol * ||A|| (tol defaults to sqrt(eps) of the dtype) or niter
    steps (default 1000) have run.

    The converged pairs are then differentiated as an eigen-decomposition of A:
    dE_i = x_i^T dA x_i (B fixed and not differentiated, as PyTorch's dense backward
    requires B to be None)."""
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
            blocks = [Xc, W] + ([P] if P is not None else [])
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
        # E_i = x_i^T A x_i at the converged x_i: its gradient in A is x_i x_i^T
        E = (Xc * A.to(dt).matmul(Xc)).sum(0)
        Xc = apply(_LobpcgVectors, (A,), (Xc._data,))
    return E, Xc


class _LobpcgVectors(Op):
    """lobpcg's eigenvectors in A's graph: their derivative is not built."""
    _name = "LOBPCGAutogradFunctionBackward"   # PyTorch's node (a Python autograd.Function)

    @staticmethod
    def forward(ctx, vectors):
        return vectors

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("lobpcg: the gradient through the eigenvectors is not "
                                  "implemented in ember (the eigenvalues' is)")
