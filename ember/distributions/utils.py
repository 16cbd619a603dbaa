"""Helpers shared by the distributions (torch.distributions.utils).

broadcast_all turns numbers into tensors and broadcasts everything to one shape;
logits_to_probs / probs_to_logits move between the two parametrisations of discrete
distributions; lazy_property computes a derived parameter the first time it is read.
"""
import numbers
from functools import update_wrapper

import ember

__all__ = ["broadcast_all", "logits_to_probs", "probs_to_logits", "clamp_probs",
           "lazy_property", "tril_matrix_to_vec", "vec_to_tril_matrix", "euler_constant"]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def broadcast_all(*values):
    """Broadcast tensors and numbers to one shape.

    Numbers become tensors of the first tensor argument's dtype and device (the default
    dtype when every argument is a number). Raises ValueError for anything else.
    """
    if not all(isinstance(v, (ember.Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    dtype, device = ember.get_default_dtype(), None
    for v in values:
        if isinstance(v, ember.Tensor):
            dtype, device = v.dtype, v.device
            break
    tensors = [v if isinstance(v, ember.Tensor) else ember.tensor(v, dtype=dtype, device=device)
               for v in values]
    return ember.broadcast_tensors(*tensors)


class ProbsOrLogits:
    """Shared by the distributions parametrised by `probs` or `logits` (exactly one is
    given): the parameter kept under its name and as `_param`, its expansion, `_new`."""

    def _set_param(self, probs, logits, *leading):
        """Store probs or logits broadcast with the `leading` parameters (broadcast first,
        as PyTorch does, so they set the dtype of numbers); returns the broadcast leading
        values and whether the parameter was a Python number."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, value = ("probs", probs) if probs is not None else ("logits", logits)
        is_number = isinstance(value, numbers.Number)
        *leading, value = broadcast_all(*leading, value)
        setattr(self, name, value)
        self._param = value
        return leading, is_number

    def _expand_param(self, new, batch_shape):
        """Give `new` this distribution's probs and/or logits (whichever are computed)
        expanded to batch_shape."""
        for name in ("probs", "logits"):
            if name in self.__dict__:
                value = getattr(self, name).expand(batch_shape)
                setattr(new, name, value)
                new._param = value

    def _new(self, *args, **kwargs):
        return self._param.new(*args, **kwargs)


def _standard_normal(shape, dtype, device):
    """N(0, 1) noise of the given shape (the eps of the reparameterization trick)."""
    return ember.randn(shape, dtype=dtype, device=device)


def _sum_rightmost(value, dim):
    """Sum out the `dim` rightmost dimensions of `value` (no-op for dim == 0)."""
    if dim == 0:
        return value
    return value.reshape(value.shape[:value.dim() - dim] + (-1,)).sum(-1)


def clamp_probs(probs):
    """Clamp probabilities into [eps, 1 - eps] so their logs stay finite."""
    eps = ember.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary=False):
    """sigmoid(logits) for binary variables, softmax(logits, -1) for categorical ones."""
    if is_binary:
        return ember.sigmoid(logits)
    return ember.softmax(logits, dim=-1)


def probs_to_logits(probs, is_binary=False):
    """log(p) - log(1 - p) for binary variables, log(p) for categorical ones (p clamped
    away from 0 and 1 first)."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ember.log(ps_clamped) - ember.log1p(-ps_clamped)
    return ember.log(ps_clamped)


class lazy_property:
    """A property computed on first access and then stored on the instance, so that a
    distribution given `probs` builds `logits` only when asked (and vice versa). The value
    is computed with grad enabled: it is part of the parameters' graph."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with ember.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    """What a lazy_property looks like on the class: both a lazy_property (so argument
    validation can skip it) and a property (so documentation tools list it)."""

    def __init__(self, wrapped):
        property.__init__(self, wrapped)


def tril_matrix_to_vec(mat, diag=0):
    """The lower triangle (offset `diag`) of the last two dims, read row by row."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    rows, cols = ember.tril_indices(n, n, offset=diag, device=mat.device)
    return mat[..., rows, cols]


def vec_to_tril_matrix(vec, diag=0):
    """Inverse of tril_matrix_to_vec: a square matrix whose lower triangle is `vec`."""
    m = vec.shape[-1]
    n = 0
    while _tril_count(n, diag) < m:
        n += 1
    if _tril_count(n, diag) != m:
        raise ValueError(f"Incorrect size of vec: {m} entries fill no lower triangle with "
                         f"diag {diag}")
    mat = vec.new_zeros(vec.shape[:-1] + (n, n))
    rows, cols = ember.tril_indices(n, n, offset=diag, device=vec.device)
    mat[..., rows, cols] = vec
    return mat


def _tril_count(n, diag):
    """How many entries the lower triangle (offset diag) of an n x n matrix has."""
    return sum(min(max(i + diag + 1, 0), n) for i in range(n))
