"""Masked reductions and normalizations (``torch.masked``).

Each function takes the ordinary op's arguments plus ``mask``, a boolean tensor
broadcastable to the input: only the elements where the mask is True take part. A masked-out
element is replaced by the operation's identity before the ordinary op runs (0 for sums and
norms, 1 for products, -inf / the dtype's lowest value for maxima, +inf / the highest for
minima, -inf for logsumexp and the softmax family), so gradients reach only the elements
the mask keeps. Where every element of a reduced slice is masked out the result is the
identity for sum, prod, amax, amin, logsumexp and norm, and NaN for mean, median, var and
std (0 / 0), as PyTorch's. ``mask=None`` keeps every element.

The prototype ``MaskedTensor`` class (``masked_tensor``, ``as_masked_tensor``) is not
built: those raise NotImplementedError.
"""
import math

from .._tensor import Tensor
from .._ops._util import wrap_dims
from .. import _dtype

__all__ = ["sum", "prod", "cumsum", "cumprod", "amax", "amin", "argmax", "argmin", "mean",
           "median", "logsumexp", "logaddexp", "norm", "var", "std", "softmax", "log_softmax",
           "softmin", "normalize", "MaskedTensor", "masked_tensor", "as_masked_tensor",
           "is_masked_tensor"]


def _ember():
    import ember
    return ember


def _dims(input, dim):
    """`dim` (None, an int or a sequence) as a sorted tuple of dims of `input` (None: all),
    with PyTorch's IndexError for a dim out of range."""
    return wrap_dims(dim, input.dim())


def _filled(input, mask, identity, dtype=None):
    """input (cast to `dtype`) with the masked-out elements replaced by `identity`."""
    e = _ember()
    if dtype is not None:
        input = input.to(dtype)
    if mask is None:
        return input
    return e.where(_bool(mask), input, e.tensor(identity, dtype=input.dtype,
                                                 device=input.device))


def _bool(mask):
    """The mask as booleans: a nonzero element keeps, as PyTorch reads other dtypes."""
    if not isinstance(mask, Tensor):
        raise AttributeError(f"'{type(mask).__name__}' object has no attribute 'shape'")
    return mask if mask.dtype is _dtype.bool else mask != 0


def _lowest(dt):
    return -math.inf if dt.is_floating_point else _ember().iinfo(dt).min


def _highest(dt):
    return math.inf if dt.is_floating_point else _ember().iinfo(dt).max


def _count(input, mask, dims, keepdim):
    """How many elements of each reduced slice the mask keeps (in input's dtype)."""
    e = _ember()
    if mask is None:
        n = 1
        for d in dims:
            n *= input.shape[d]
        return n
    keep = e.broadcast_to(_bool(mask), input.shape).to(input.dtype)
    return keep.sum(dims, keepdim=keepdim)


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Sum of the elements the mask keeps (0 where it keeps none)."""
    x = _filled(input, mask, 0, dtype)
    return x.sum(_dims(x, dim), keepdim=keepdim)


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Product of the elements the mask keeps (1 where it keeps none)."""
    x = _filled(input, mask, 1, dtype)
    if x.dim() == 0 and dim is not None and dim != ():
        # a dim of a 0-dim input reduces it all the same (PyTorch's prod(0) on it: a node)
        dims = wrap_dims(dim, 1)
    else:
        dims = _dims(x, dim)
    for d in sorted(dims, reverse=True):
        x = x.prod(d, keepdim=keepdim) if keepdim else x.prod(d)
    return x


def cumsum(input, dim, *, dtype=None, mask=None):
    """Running sum along `dim` over the elements the mask keeps."""
    return _filled(input, mask, 0, dtype).cumsum(dim)


def cumprod(input, dim, *, dtype=None, mask=None):
    """Running product along `dim` over the elements the mask keeps."""
    return _filled(input, mask, 1, dtype).cumprod(dim)


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Largest element the mask keeps (-inf, or the dtype's lowest, where it keeps none)."""
    dt = dtype or input.dtype
    x = _filled(input, mask, _lowest(dt), dtype)
    return x.amax(_dims(x, dim), keepdim=keepdim)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Smallest element the mask keeps (+inf, or the dtype's highest, where it keeps none)."""
    dt = dtype or input.dtype
    x = _filled(input, mask, _highest(dt), dtype)
    return x.amin(_dims(x, dim), keepdim=keepdim)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Index of the largest element the mask keeps, in the input's dtype (as PyTorch's)."""
    dt = dtype or input.dtype
    x = _filled(input, mask, _lowest(dt), dtype)
    return x.argmax(dim, keepdim=keepdim).to(dt)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Index of the smallest element the mask keeps, in the input's dtype (as PyTorch's)."""
    dt = dtype or input.dtype
    x = _filled(input, mask, _highest(dt), dtype)
    return x.argmin(dim, keepdim=keepdim).to(dt)


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mean of the elements the mask keeps (NaN where it keeps none)."""
    x = _filled(input, mask, 0, dtype)
    dims = _dims(x, dim)
    return x.sum(dims, keepdim=keepdim) / _count(x, mask, dims, keepdim)


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    """Median (the lower of the two middle values) of the elements the mask keeps along
    `dim` (NaN where it keeps none)."""
    x = _filled(input, mask, math.nan)   # PyTorch's masked median ignores dtype
    return x.nanmedian(dim, keepdim=keepdim).values


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """log(sum(exp(x))) over the elements the mask keeps (-inf where it keeps none)."""
    x = _filled(input, mask, -math.inf, dtype)
    return x.logsumexp(_dims(x, dim), keepdim=keepdim)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    """log(exp(input) + exp(other)), each operand's masked-out elements left out."""
    return _ember().logaddexp(_filled(input, input_mask, -math.inf, dtype),
                              _filled(other, other_mask, -math.inf, dtype))


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Vector norm of order `ord` of the elements the mask keeps (0 where it keeps none)."""
    e = _ember()
    x = _filled(input, mask, 0, dtype)
    if ord == -math.inf:   # the smallest magnitude: masked-out elements must not be it
        x = _filled(x.abs(), mask, math.inf)
        return x.amin(_dims(x, dim), keepdim=keepdim)
    return e.linalg.vector_norm(x, ord, _dims(x, dim), keepdim=keepdim)


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """Variance of the elements the mask keeps: sum((x - mean)^2) / (n - correction),
    correction 1 unless `unbiased` is False or `correction` says otherwise (NaN where the
    mask keeps too few)."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    x = _filled(input, mask, 0, dtype)
    dims = _dims(x, dim)
    n = _count(x, mask, dims, True)
    centered = _filled(x - x.sum(dims, keepdim=True) / n, mask, 0)
    total = (centered * centered.conj()).real.sum(dims, keepdim=keepdim) \
        if centered.is_complex() else (centered * centered).sum(dims, keepdim=keepdim)
    n = n if keepdim else n.reshape(total.shape) if isinstance(n, Tensor) else n
    dof = n - correction
    if isinstance(dof, Tensor):
        dof = dof.clamp(min=0)
    return total / dof


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """Square root of `var`."""
    return var(input, dim, unbiased, correction=correction, keepdim=keepdim, dtype=dtype,
               mask=mask).sqrt()


def softmax(input, dim, *, dtype=None, mask=None):
    """Softmax along `dim` over the elements the mask keeps (0 at the others; NaN where it
    keeps none)."""
    return _filled(input, mask, -math.inf, dtype).softmax(dim)


def log_softmax(input, dim, *, dtype=None, mask=None):
    """log of `softmax` (-inf at the masked-out elements)."""
    return _filled(input, mask, -math.inf, dtype).log_softmax(dim)


def softmin(input, dim, *, dtype=None, mask=None):
    """Softmax of -input along `dim` over the elements the mask keeps."""
    x = input.to(dtype) if dtype is not None else input
    return _filled(-x, mask, -math.inf).softmax(dim)


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    """input / max(norm(input), eps) along `dim`, the norm over the elements the mask keeps
    (masked-out elements give 0)."""
    x = _filled(input, mask, 0, dtype)
    n = norm(x, ord, dim, keepdim=True, mask=mask)
    return x / n.clamp(min=eps)


class MaskedTensor:
    """PyTorch's prototype MaskedTensor is not built in ember."""

    def __new__(cls, *args, **kwargs):
        raise NotImplementedError("ember.masked.MaskedTensor (PyTorch's prototype masked tensor "
                                  "class) is not built; use the masked functions "
                                  "(ember.masked.sum(x, dim, mask=m) ...) instead")


def masked_tensor(data, mask, requires_grad=False):
    return MaskedTensor(data, mask, requires_grad)


def as_masked_tensor(data, mask):
    return MaskedTensor(data, mask)


def is_masked_tensor(obj):
    """False: ember has no MaskedTensor objects."""
    return False


# torch.masked._ops, the module PyTorch defines these in (its docstrings call them there)
_ops = __import__("sys").modules[__name__]
