"""VonMises(loc, concentration): the circular normal distribution on angles,
density exp(k cos(x - loc)) / (2 pi I0(k)), with I0 the modified Bessel function."""
import math

import ember
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
        """Best and Fisher's rejection method (1979), in float64 and drawn as PyTorch draws:
        every round draws three uniforms per value, u1 proposes f = (1 + r z) / (r + z)
        with z = cos(pi u1), u2 accepts it, u3 picks the sign of arccos f; a value is
        (re)written in every round that accepts it, until each has been accepted once.
        The angle is wrapped into [-pi, pi) around loc."""
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            loc = self.loc.to(ember.float64)
            kappa = self.concentration.to(ember.float64)
            tau = 1 + (1 + 4 * kappa ** 2).sqrt()
            rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
            # r, with its second-order expansion 1/k + k for tiny concentrations
            r = ember.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))
            x = ember.zeros(shape, dtype=ember.float64, device=self.loc.device)
            done = ember.zeros(shape, dtype=ember.bool, device=self.loc.device)
            while not done.all():
                u1, u2, u3 = ember.rand((3,) + tuple(shape), dtype=ember.float64,
                                        device=self.loc.device).unbind()
                z = ember.cos(math.pi * u1)
                f = (1 + r * z) / (r + z)
                c = kappa * (r - f)
                accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
                if accept.any():
                    x = ember.where(accept, (u3 - 0.5).sign() * f.acos(), x)
                    done = done | accept
            return ((x + math.pi + loc) % (2 * math.pi) - math.pi).to(self.loc.dtype)

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
