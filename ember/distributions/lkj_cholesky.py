"""LKJCholesky(dim, concentration): the distribution of the lower Cholesky factor L of a
dim x dim correlation matrix drawn from the LKJ distribution (Lewandowski, Kurowicka and
Joe, 2009), whose density over correlation matrices is proportional to det(C)^(eta - 1).
Over the factor, p(L) is proportional to prod_{i=2..D} L_ii^(D - i + 2 eta - 2)."""
import math

import ember
from ember._tensor import Size

from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """Cholesky factors of LKJ(eta = concentration) correlation matrices; eta = 1 is
    uniform over correlation matrices, larger eta concentrates near the identity.
    Sampled by the onion method: row k (k = 1 .. D-1) is sqrt(y) u on its first k
    entries and sqrt(1 - y) on the diagonal, with y ~ Beta(k/2, eta + (D - 1 - k)/2)
    and u uniform on the unit sphere."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = Size((dim, dim))
        # the Beta of each row (row 0 is fixed at e_0: its Beta is a placeholder)
        k = ember.arange(dim, dtype=self.concentration.dtype, device=self.concentration.device)
        k = k.clamp(min=1)
        beta_conc1 = k / 2
        beta_conc0 = self.concentration.unsqueeze(-1) + (dim - 1 - k) / 2
        self._beta = Beta(beta_conc1, beta_conc0)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=Size()):
        with ember.no_grad():
            shape = self._extended_shape(sample_shape)
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            # directions: normal vectors over the strictly lower part of each row, normalised
            u = ember.randn(shape, dtype=y.dtype, device=y.device).tril(-1)
            norms = u.norm(dim=-1, keepdim=True)
            u = u / ember.where(norms > 0, norms, ember.ones_like(norms))
            w = ember.sqrt(y) * u  # row 0 is all zeros: u vanishes there
            tiny = ember.finfo(w.dtype).tiny
            diag = ember.clamp(1 - ember.sum(w ** 2, dim=-1), min=tiny).sqrt()
            return w + ember.diag_embed(diag)

    def log_prob(self, value):
        """sum_{i>=2} (D - i + 2 eta - 2) log L_ii minus the log normalizer
        (D-1)/2 log(pi) + mvlgamma(eta + (D-2)/2, D-1) - (D-1) lgamma(eta + (D-1)/2)."""
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        i = ember.arange(2, self.dim + 1, dtype=self.concentration.dtype,
                         device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - i
        unnormalized_log_pdf = ember.sum(order * ember.log(diag_elems), dim=-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = ember.lgamma(alpha) * dm1
        numerator = ember.mvlgamma(alpha - 0.5, dm1)
        # the mvlgamma includes a (D-1)(D-2)/4 log(pi) term; with this one the total is
        # the volume of the correlation matrices
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        normalize_term = pi_constant + numerator - denominator
        return unnormalized_log_pdf - normalize_term
