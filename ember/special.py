"""ember.special: the torch.special namespace (special functions), a thin re-export of
ember._ops.special, special_bessel, special_polynomials and of the pointwise ops
torch.special repeats under other names."""
from ._ops.special import (lgamma as gammaln, digamma, digamma as psi, polygamma,
                           mvlgamma as multigammaln, i0, i0e, i1, i1e, sinc, entr, erfcx, ndtr,
                           ndtri, log_ndtr, xlog1py, zeta, igamma as gammainc,
                           igammac as gammaincc)
from ._ops.special_bessel import (airy_ai, bessel_j0, bessel_j1, bessel_y0, bessel_y1,
                                  modified_bessel_i0, modified_bessel_i1, modified_bessel_k0,
                                  modified_bessel_k1, scaled_modified_bessel_k0,
                                  scaled_modified_bessel_k1, spherical_bessel_j0)
from ._ops.special_polynomials import (
    chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v,
    chebyshev_polynomial_w, shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v, shifted_chebyshev_polynomial_w, hermite_polynomial_h,
    hermite_polynomial_he, laguerre_polynomial_l, legendre_polynomial_p)
from ._ops.pointwise import (erf, erfc, erfinv, exp2, expm1, log1p, sigmoid as expit, logit,
                             round, xlogy)
from ._ops.reduction import logsumexp

__all__ = ["gammaln", "digamma", "psi", "polygamma", "multigammaln", "i0", "i0e", "i1", "i1e",
           "modified_bessel_i0", "modified_bessel_i1", "sinc", "entr", "erfcx", "ndtr", "ndtri",
           "log_ndtr", "xlog1py", "xlogy", "zeta", "gammainc", "gammaincc", "erf", "erfc",
           "erfinv", "exp2", "expm1", "log1p", "expit", "logit", "round", "logsumexp",
           "softmax", "log_softmax", "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0",
           "bessel_y1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
           "scaled_modified_bessel_k1", "spherical_bessel_j0", "chebyshev_polynomial_t",
           "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
           "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w",
           "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
           "legendre_polynomial_p"]


def softmax(input, dim, *, dtype=None):
    """exp(x) / sum(exp(x)) along dim (optionally computed in `dtype`)."""
    return input.softmax(dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """x - logsumexp(x) along dim (optionally computed in `dtype`)."""
    return input.log_softmax(dim, dtype=dtype)
