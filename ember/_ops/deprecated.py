"""Names torch keeps for old code: ATen's deprecated norms, which still compute (and warn),
and the functions removed in PyTorch 1.9 (``torch.solve``, ``lstsq``, ``symeig``, ``eig``,
``matrix_rank``), which raise PyTorch's RuntimeError naming their replacement."""
import warnings

from .._tensor import Tensor
from ._util import check_tensor
from .vector_norms import vector_norm, matrix_norm

__all__ = ["frobenius_norm", "nuclear_norm", "solve", "lstsq", "symeig", "eig", "matrix_rank"]


def frobenius_norm(input, dim, keepdim=False):
    """sqrt(sum |x|^2) over the (at most two) dims in `dim`; an empty `dim` means all."""
    check_tensor(input, "frobenius_norm")
    warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. "
                  "It will be removed in a future PyTorch release. Please use "
                  "`linalg.vector_norm(A, 2., dim, keepdim)` instead", UserWarning, stacklevel=2)
    dim = [dim] if isinstance(dim, int) else list(dim)
    if len(dim) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dim)} dimensions "
                           f"instead.")
    return vector_norm(input, 2, dim or None, keepdim)


def nuclear_norm(input, dim=None, keepdim=False):
    """The sum of the singular values of the matrices over `dim` (default the last two)."""
    check_tensor(input, "nuclear_norm")
    warnings.warn("at::nuclear_norm is deprecated and it is just left for JIT compatibility. It "
                  "will be removed in a future PyTorch release. Please use "
                  "`linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead", UserWarning,
                  stacklevel=2)
    if isinstance(dim, bool):       # nuclear_norm(input, keepdim): PyTorch's first overload
        dim, keepdim = None, dim
    if dim is None:
        dim = (-2, -1)
    dim = [dim] if isinstance(dim, int) else list(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                           f"{' '.join(str(d) for d in dim)}")
    return matrix_norm(input, "nuc", tuple(dim), keepdim)


_REMOVED = "This function was deprecated since version 1.9 and is now removed. "

_SOLVE = (_REMOVED + "`torch.solve` is deprecated in favor of `torch.linalg.solve`. "
          "`torch.linalg.solve` has its arguments reversed and does not return the LU "
          "factorization.\n\nTo get the LU factorization see `torch.lu`, which can be used with "
          "`torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, A).solution should be "
          "replaced with:\nX = torch.linalg.solve(A, B)")
_LSTSQ = (_REMOVED + "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n"
          "`torch.linalg.lstsq` has reversed arguments and does not return the QR decomposition "
          "in the returned tuple (although it returns other information about the problem).\n\n"
          "To get the QR decomposition consider using `torch.linalg.qr`.\n\nThe returned "
          "solution in `torch.lstsq` stored the residuals of the solution in the last m - n "
          "columns of the returned value whenever m > n. In torch.linalg.lstsq, the residuals "
          "are in the field 'residuals' of the returned named tuple.\n\nThe unpacking of the "
          "solution, as in\nX, _ = torch.lstsq(B, A).solution[:A.size(1)]\nshould be replaced "
          "with:\nX = torch.linalg.lstsq(A, B).solution")
_SYMEIG = (_REMOVED + "The default behavior has changed from using the upper triangular portion "
           "of the matrix by default to using the lower triangular portion.\n\nL, _ = "
           "torch.symeig(A, upper=upper) should be replaced with:\nL = torch.linalg.eigvalsh(A, "
           "UPLO='U' if upper else 'L')\n\nand\n\nL, V = torch.symeig(A, eigenvectors=True) "
           "should be replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')")
_EIG = (_REMOVED + "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` "
        "rather than real tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be "
        "replaced with:\nL_complex = torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, "
        "eigenvectors=True) should be replaced with:\nL_complex, V_complex = "
        "torch.linalg.eig(A)")
_MATRIX_RANK = (_REMOVED.rstrip() + "\nPlease use the `torch.linalg.matrix_rank` function "
                "instead. The parameter 'symmetric' was renamed in `torch.linalg.matrix_rank()` to "
                "'hermitian'.")


def solve(input, A, *, out=None):
    raise RuntimeError(_SOLVE)


def lstsq(input, A, *, out=None):
    raise RuntimeError(_LSTSQ)


def symeig(input, eigenvectors=False, upper=True, *, out=None):
    raise RuntimeError(_SYMEIG)


def eig(input, eigenvectors=False, *, e=None, v=None):
    raise RuntimeError(_EIG)


def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    raise RuntimeError(_MATRIX_RANK)


# the removed Tensor methods raise alike (Tensor.solve(A), A.symeig() ...)
def _solve_method(self, other):
    raise RuntimeError(_SOLVE)


def _lstsq_method(self, other):
    raise RuntimeError(_LSTSQ)


Tensor.solve = _solve_method
Tensor.lstsq = _lstsq_method
Tensor.symeig = symeig
Tensor.eig = eig
