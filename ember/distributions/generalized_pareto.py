"""GeneralizedPareto(loc, scale, concentration): with z = (x - loc) / scale and shape
c = concentration, the density (1/scale) (1 + c z)^(-1/c - 1) (the exponential
e^(-z) / scale at c = 0), on x >= loc, and x <= loc - scale / c when c < 0. The limit
distribution of threshold exceedances (peaks over threshold)."""
import math

import ember
from ember._tensor import Size

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """Generalized Pareto; rsample is the inverse cdf at u ~ U(0, 1)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        batch_shape = self.loc.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(GeneralizedPareto, batch_shape, _instance,
                              expand=("loc", "scale", "concentration"))

    def _is_exponential(self):
        """Where |c| <= 1e-8 the c = 0 (exponential) formulas are used, as PyTorch's
        isclose(c, 0) test does."""
        return self.concentration.abs() <= 1e-8

    def _safe_concentration(self):
        """c with its (near) zeros replaced by 1, so the c != 0 formulas stay finite where
        the c = 0 limit is selected instead."""
        c = self.concentration
        return ember.where(self._is_exponential(), ember.ones_like(c), c)

    @property
    def _upper_bound(self):
        c = self._safe_concentration()
        return ember.where(self.concentration < 0, self.loc - self.scale / c,
                           ember.full_like(self.loc, math.inf))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.loc, self._upper_bound)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        u = ember.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value):
        """-log scale - (1/c + 1) log(1 + c z); -log scale - z at c = 0."""
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        c = self._safe_concentration()
        general = -(1 / c + 1) * ember.log1p(c * z)
        exponential = -z
        return -self.scale.log() + ember.where(self._is_exponential(), exponential, general)

    def cdf(self, value):
        """1 - (1 + c z)^(-1/c); 1 - e^(-z) at c = 0."""
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        c = self._safe_concentration()
        general = -ember.expm1(-ember.log1p(c * z) / c)
        exponential = -ember.expm1(-z)
        return ember.where(self._is_exponential(), exponential, general)

    def icdf(self, value):
        """loc + scale ((1 - p)^(-c) - 1) / c; loc - scale log(1 - p) at c = 0."""
        c = self._safe_concentration()
        log1m = ember.log1p(-value)
        general = ember.expm1(-c * log1m) / c
        exponential = -log1m
        return self.loc + self.scale * ember.where(self._is_exponential(), exponential, general)

    @property
    def mean(self):
        """loc + scale / (1 - c) for c < 1; NaN otherwise (as PyTorch: the mean diverges)."""
        c = self.concentration
        finite = self.loc + self.scale / (1 - ember.where(c < 1, c, ember.zeros_like(c)))
        return ember.where(c < 1, finite, ember.full_like(finite, math.nan))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """scale^2 / ((1 - c)^2 (1 - 2c)) for c < 1/2; NaN otherwise (as PyTorch)."""
        c = self.concentration
        c_ok = ember.where(c < 0.5, c, ember.zeros_like(c))
        finite = self.scale.pow(2) / ((1 - c_ok).pow(2) * (1 - 2 * c_ok))
        return ember.where(c < 0.5, finite, ember.full_like(finite, math.nan))

    def entropy(self):
        """log scale + c + 1."""
        return self.scale.log() + self.concentration + 1
