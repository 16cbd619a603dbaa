"""ember.distributions: probability distributions with sampling, log-densities and
closed-form KL divergences (torch.distributions).

Every distribution is built from ember ops, so gradients flow through ``log_prob``,
``entropy``, ``kl_divergence`` and ``rsample`` (the reparameterization trick).
"""
from . import constraints  # noqa: F401
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "ExponentialFamily", "Independent",
           "MultivariateNormal", "Normal", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Uniform", "kl_divergence", "register_kl"]
