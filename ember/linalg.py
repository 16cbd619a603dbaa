"""ember.linalg: PyTorch's torch.linalg namespace (the code lives in ember._ops)."""
from ._ops.linalg import (matmul, multi_dot, linalg_cross as cross)  # noqa: F401
from ._ops.vector_norms import vector_norm, matrix_norm  # noqa: F401
from ._ops.linalg_solvers import (  # noqa: F401
    LinAlgError, inv, inv_ex, det, linalg_slogdet as slogdet, solve, solve_ex,
    linalg_cholesky as cholesky, cholesky_ex, linalg_qr as qr, linalg_svd as svd, svdvals,
    eigh, eigvalsh, eig, eigvals, pinv, lstsq, matrix_power, matrix_rank, norm, cond, vecdot)
from ._ops.linalg_more import (  # noqa: F401
    solve_triangular, lu_factor, lu_factor_ex, linalg_lu as lu, linalg_lu_solve as lu_solve,
    matrix_exp, vander, tensorinv, tensorsolve, diagonal)
from ._ops.linalg_householder import householder_product  # noqa: F401
from ._ops.linalg_ldl import ldl_factor, ldl_factor_ex, ldl_solve  # noqa: F401

__all__ = ["LinAlgError", "matmul", "multi_dot", "cross", "inv", "inv_ex", "det", "slogdet",
           "solve", "solve_ex", "cholesky", "cholesky_ex", "qr", "svd", "svdvals", "eigh",
           "eigvalsh", "eig", "eigvals", "pinv", "lstsq", "matrix_power", "matrix_rank", "norm",
           "cond", "vecdot", "vector_norm", "matrix_norm", "solve_triangular", "lu_factor",
           "lu_factor_ex", "lu", "lu_solve", "matrix_exp", "vander", "tensorinv", "tensorsolve",
           "diagonal", "householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve"]

