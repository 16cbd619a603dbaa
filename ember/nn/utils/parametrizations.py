"""orthogonal, weight_norm and spectral_norm as parametrizations
(torch.nn.utils.parametrizations)."""
from enum import Enum, auto

import numpy as np

from ..._backend import array_namespace, like
from ..._tensor import Tensor
from ...autograd import grad_mode
from .. import functional as F
from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module
from . import parametrize

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _matrix_exp(A):
    r"""exp(A) for a batch of square matrices, composed of matmuls (so differentiable to any
    order): scaling and squaring, exp(A) = (T_12(A / 2^s))^(2^s) with the degree-12 Taylor
    polynomial T_12 and s chosen so that ||A / 2^s||_1 <= 1/2 (truncation error < 1e-15)."""
    from ..._ops.creation import eye
    norm = float(A.detach().abs().sum(-2).max()) if A.numel() else 0.0
    s = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0.5 else 0
    B = A / (2 ** s)
    n = A.shape[-1]
    identity = eye(n, dtype=A.dtype, device=A.device)
    # Horner: I + B (I + B/2 (I + B/3 (... (I + B/12))))
    result = identity + B / 12
    for k in range(11, 0, -1):
        result = identity + (B @ result) / k
    for _ in range(s):
        result = result @ result
    return result


def _householder_product(A, tau):
    r"""The first k columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i the i-th column
    of the unit lower trapezoid of A (n x k) (torch.linalg.householder_product), composed of
    differentiable ops."""
    from ..._ops.creation import eye
    n, k = A.shape[-2], A.shape[-1]
    V = A.tril(diagonal=-1) + eye(n, k, dtype=A.dtype, device=A.device)
    Q = eye(n, k, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], n, k)
    for i in range(k - 1, -1, -1):
        v = V[..., :, i:i + 1]
        Q = Q - tau[..., i:i + 1].unsqueeze(-1) * (v @ (v.mT @ Q))
    return Q


def _geqrf(A):
    """LAPACK geqrf of a batch of tall matrices as (reflectors and R in one matrix, tau),
    through NumPy's raw QR (which returns the transposed factor), computed on the host."""
    a = A.detach()._cpu_array()
    h, tau = np.linalg.qr(a, mode="raw")
    h = np.ascontiguousarray(np.swapaxes(h, -1, -2)).astype(a.dtype)
    ref = A._data
    return (Tensor._make(like(h, ref)),
            Tensor._make(like(np.ascontiguousarray(tau).astype(a.dtype), ref)))


def _is_orthogonal(Q):
    """Q^H Q == I up to 10 n eps."""
    from ..._ops.creation import eye
    n, k = Q.shape[-2], Q.shape[-1]
    eps = 10.0 * n * float(np.finfo(Q.dtype.np).eps)
    return bool((Q.mH @ Q).allclose(eye(k, dtype=Q.dtype, device=Q.device), atol=eps))


def _make_orthogonal(A):
    """The Q of A = QR (A tall) with diag(R) >= 0."""
    q, r = np.linalg.qr(A.detach()._data)
    signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    signs = np.where(signs == 0, 1, signs)
    q = array_namespace(q).ascontiguousarray(q * signs[..., None, :])
    return Tensor._make(q.astype(q.dtype))


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    r"""Q(X): an orthogonal (n x k, columns orthonormal) matrix from an unconstrained X.

    matrix_exp / cayley: A = L - L^H with L the lower triangle of X (padded to n x n),
    Q = exp(A) or (I - A/2)^{-1} (I + A/2), first k columns. householder: Q = the product
    of the reflectors stored below the diagonal of X, tau = 2 / (1 + ||v||^2), columns
    signed by diag(X). With use_trivialization, Q = base @ Q(X) where the buffer base is
    set by right_inverse (and X starts at -I), as in torch."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex "
                             "tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        from ..._ops.creation import eye
        from ..._ops.joining import cat
        from ...linalg import solve
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:
                X = cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = _matrix_exp(A)
            else:
                identity = eye(n, dtype=A.dtype, device=A.device)
                Q = solve(identity - 0.5 * A, identity + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            # the signs on the diagonal of X flip columns; no gradient flows through them
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q):
        with grad_mode.no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q):
        from ..._ops.creation import randn, zeros_like
        from ..._ops.joining import cat
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        Q_init = Q
        n, k = Q.shape[-2], Q.shape[-1]
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError("It is not possible to assign to the matrix "
                                          "exponential or the Cayley parametrizations when "
                                          "use_trivialization=False.")
            # X = the reflectors of Q = QR with the signs of diag(R) on the diagonal (a
            # reflector LAPACK skipped, tau == 0, flips the sign)
            A, tau = _geqrf(Q)
            diag = A.diagonal(dim1=-2, dim2=-1)
            diag.sign_()
            diag.mul_(Tensor._make(np.where(tau._data == 0, -1, 1).astype(tau._data.dtype)))
            return A.mT if transpose else A
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:
            # complete Q to an n x n orthogonal matrix
            extra = randn(*(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(cat([Q, extra], dim=-1))
        self.base = Q
        # X = -I makes the householder map give the identity, so Q(X) = base
        neg_id = zeros_like(Q_init)
        neg_id.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_id


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    r"""Constrain module.<name> (a matrix or batch of matrices) to be orthogonal: Q^T Q = I
    (tall) or Q Q^T = I (wide). orthogonal_map: "matrix_exp" (default for square or
    complex), "cayley" or "householder" (default otherwise); use_trivialization keeps the
    last assigned orthogonal matrix in the buffer base and parametrizes base @ Q(X)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.dim()} dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


def norm_except_dim(v, pow=2, dim=0):
    """||v||_pow over every dim but `dim`, shaped (1, .., v.shape[dim], .., 1); dim=-1: the
    norm of the whole tensor (0-dim)."""
    from ..._ops.vector_norms import vector_norm
    if dim == -1:
        return vector_norm(v, pow)
    dims = tuple(d for d in range(v.dim()) if d != dim)
    return vector_norm(v, pow, dim=dims, keepdim=True)


def _weight_norm(v, g, dim=0):
    """w = g * v / ||v|| (norm over all dims but dim)."""
    return v * (g / norm_except_dim(v, 2, dim))


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    r"""Reparametrize module.<name> as w = g v / ||v||: originals original0 = g (the norm,
    shaped like w with 1s except along dim) and original1 = v (the direction)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _compat_hook(state_dict, prefix, local_metadata, strict, missing_keys,
                     unexpected_keys, error_msgs):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(_compat_hook)
    return module


class _SpectralNorm(Module):
    r"""w / sigma(w), sigma the largest singular value of w as a matrix (dim first, the rest
    flattened), estimated by power iteration on the buffers _u, _v (one step per training
    forward)."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            with grad_mode.no_grad():
                u = F.normalize(mat.new_empty(h).normal_(0, 1), dim=0, eps=eps)
                v = F.normalize(mat.new_empty(w).normal_(0, 1), dim=0, eps=eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, mat, n_iterations):
        """u <- normalize(W v), v <- normalize(W^T u), in place, without a graph."""
        with grad_mode.no_grad():
            for _ in range(n_iterations):
                self._u.copy_(F.normalize(mat.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(mat.t().mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight):
        if weight.dim() == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = u.dot(mat.mv(v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize module.<name> as w / sigma(w) (largest singular value)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name,
                                         _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
