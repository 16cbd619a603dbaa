"""Wishart(df, covariance_matrix | precision_matrix | scale_tril): the distribution of
sum_{k=1..df} x_k x_k^T for x_k ~ N(0, S) (S the scale matrix, "covariance_matrix"):
    log p(X) = (df - p - 1)/2 log|X| - tr(S^-1 X)/2 - df p/2 log 2 - df/2 log|S|
               - log Gamma_p(df/2),
for positive-definite p x p matrices X, with Gamma_p the multivariate gamma function.
"""
import math
import numbers
import warnings

import ember
from ember._tensor import Size

from . import constraints
from .chi2 import Chi2
from .distribution import Distribution
from .multivariate_normal import _precision_to_scale_tril, _solve_lower
from .utils import lazy_property

__all__ = ["Wishart"]


def _mvdigamma(x, p):
    """psi_p(x) = sum_{i=0..p-1} psi(x - i/2), the derivative of log Gamma_p."""
    i = ember.arange(p, dtype=x.dtype, device=x.device)
    return ember.digamma(x.unsqueeze(-1) - i / 2).sum(-1)


class Wishart(Distribution):
    """Random positive-definite matrices with mean df S. rsample uses the Bartlett
    decomposition X = (L A)(L A)^T, S = L L^T, with A lower-triangular: A_ii^2 ~
    Chi2(df - i), A_ij ~ N(0, 1) below the diagonal (reparameterized through the Chi2)."""

    support = constraints.positive_definite
    has_rsample = True

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if (covariance_matrix is not None) + (scale_tril is not None) + \
                (precision_matrix is not None) != 1:
            # PyTorch checks this with an assert
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or "
                                 "scale_tril may be specified.")
        param = next(p for p in (covariance_matrix, precision_matrix, scale_tril)
                     if p is not None)
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if isinstance(df, numbers.Number):
            batch_shape = param.shape[:-2]
            self.df = ember.tensor(df, dtype=param.dtype, device=param.device)
        else:
            batch_shape = ember.broadcast_shapes(param.shape[:-2], df.shape)
            self.df = df.expand(batch_shape)
        event_shape = param.shape[-2:]
        p = event_shape[-1]
        if bool(self.df.le(p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if scale_tril is not None:
            self.scale_tril = param.expand(batch_shape + (-1, -1))
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(batch_shape + (-1, -1))
        else:
            self.precision_matrix = param.expand(batch_shape + (-1, -1))
        if bool(self.df.lt(p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur "
                          "for ndim - 1 < df < ndim.")
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = ember.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)
        # Bartlett diagonal: A_ii^2 ~ Chi2(df - i)
        i = ember.arange(p, dtype=self.df.dtype, device=self.df.device)
        self._dist_chi2 = Chi2(df=self.df.unsqueeze(-1) - i.expand(batch_shape + (-1,)))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = Size(batch_shape)
        cov_shape = batch_shape + self.event_shape
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        new._dist_chi2 = self._dist_chi2.expand(batch_shape + self.event_shape[-1:])
        super(Wishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return ember.matmul(L, L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        eye = ember.eye(self._event_shape[-1], dtype=L.dtype, device=L.device)
        L_inv = _solve_lower(L, eye)
        return ember.matmul(L_inv.mT, L_inv).expand(self._matrix_shape())

    @property
    def mean(self):
        return self.df.view(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def mode(self):
        """(df - p - 1) S for df > p + 1; NaN otherwise (no interior mode)."""
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = ember.where(factor <= 0, ember.full_like(factor, math.nan), factor)
        return factor.view(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        """Var(X_ij) = df (S_ij^2 + S_ii S_jj)."""
        V = self.covariance_matrix
        diag_V = V.diagonal(dim1=-2, dim2=-1)
        return self.df.view(self._batch_shape + (1, 1)) * (
            V.pow(2) + diag_V.unsqueeze(-1) * diag_V.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape=Size()):
        """L A A^T L^T with A lower triangular, A_ii = sqrt(Chi2(df - i)) (at least eps) and
        standard normals below the diagonal, drawn in PyTorch's order (the chi-squares, then
        p(p-1)/2 normals per matrix), so a seeded program gets torch's matrices."""
        p = self._event_shape[-1]
        diag = self._dist_chi2.rsample(sample_shape).sqrt()
        A = diag.clamp(min=ember.finfo(diag.dtype).eps).diag_embed(dim1=-2, dim2=-1)
        i, j = ember.tril_indices(p, p, offset=-1)
        A[..., i, j] = ember.randn(Size(sample_shape) + self._batch_shape + (p * (p - 1) // 2,),
                                   dtype=A.dtype, device=A.device)
        LA = ember.matmul(self._unbroadcasted_scale_tril, A)
        return ember.matmul(LA, LA.mT)

    def rsample(self, sample_shape=Size(), max_try_correction=None):
        """A Bartlett draw, then PyTorch 2.x's correction pass as it runs: its check marks the
        samples that ARE positive definite (the constraint's check, not its negation) and
        draws those again, with its warning 'Singular sample detected.'; the redraws are
        checked the right way round. Replayed as written so that a seeded program draws the
        same stream and gets torch's samples (the distribution is the same either way)."""
        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = Size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        batch_dims = tuple(-(k + 1) for k in range(len(self._batch_shape)))
        redraw = self.support.check(sample)
        if self._batch_shape:
            redraw = redraw.amax(batch_dims)
        if redraw.any():
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                sample_new = self._bartlett_sampling(redraw[redraw].shape)
                sample[redraw] = sample_new
                still = ~self.support.check(sample_new)
                if self._batch_shape:
                    still = still.amax(batch_dims)
                redraw[redraw.clone()] = still
                if not redraw.any():
                    break
        return sample

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        eye = ember.eye(p, dtype=L.dtype, device=L.device)
        # S^-1 = L^-T L^-1 with L inverted as a full matrix: PyTorch's cholesky_inverse
        # gives the upper entries of a scale_tril parameter this (full-matrix) gradient too
        L_inv = ember.linalg.solve(L, eye.expand(L.shape))
        # tr(S^-1 X) = sum_ij (S^-1)_ij X_ij (both symmetric)
        trace = (ember.matmul(L_inv.mT, L_inv) * value).sum((-2, -1))
        log_det_value = ember.linalg.slogdet(value)[1]
        half_log_det_scale = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return (-nu * (p * math.log(2) / 2 + half_log_det_scale)
                - ember.mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * log_det_value
                - trace / 2)

    def entropy(self):
        """(p+1)/2 log|S| + p(p+1)/2 log 2 + log Gamma_p(df/2) - (df-p-1)/2 psi_p(df/2)
        + df p / 2."""
        nu = self.df
        p = self._event_shape[-1]
        half_log_det_scale = self._unbroadcasted_scale_tril.diagonal(
            dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * half_log_det_scale + p * (p + 1) * math.log(2) / 2
                + ember.mvlgamma(nu / 2, p) - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p)
                + nu * p / 2)
