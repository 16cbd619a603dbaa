"""VonMises(loc, concentration): the circular normal distribution on angles,
density exp(k cos(x - loc)) / (2 pi I0(k)), with I0 the modified Bessel function."""
import math

import numpy as np

import ember
from ember._random import gen_of
from ember._tensor import Size

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["VonMises"]


def _log_i0(k):
    """log I0(k) = log(i0e(k)) + k, stable for large k."""
    return ember.log(ember.special.i0e(k)) + k


class VonMises(Distribution):
    """Angles around `loc` with concentration k (k = 0 is uniform on the circle, large k
    approaches Normal(loc, 1/sqrt(k))). Samples lie in [-pi, pi); not reparameterized."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        batch_shape = self.loc.shape
        event_shape = Size()
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMises, _instance)
        batch_shape = Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        super(VonMises, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        """k cos(x - loc) - log(2 pi) - log I0(k)."""
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * ember.cos(value - self.loc)
        return log_prob - math.log(2 * math.pi) - _log_i0(self.concentration)

    def sample(self, sample_shape=Size()):
        """NumPy's von Mises sampler (Best and Fisher's rejection method), wrapped into
        [-pi, pi)."""
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            mu = self.loc.expand(shape).detach().cpu().numpy().astype(np.float64)
            kappa = self.concentration.expand(shape).detach().cpu().numpy().astype(np.float64)
            draws = gen_of(None)._numpy().vonmises(mu, kappa)
            draws = np.mod(draws + math.pi, 2 * math.pi) - math.pi
            return ember.tensor(draws, dtype=self.loc.dtype, device=self.loc.device)

    @property
    def mean(self):
        """The circular mean: loc."""
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """The circular variance 1 - I1(k) / I0(k)."""
        return 1 - ember.special.i1e(self.concentration) / ember.special.i0e(self.concentration)
