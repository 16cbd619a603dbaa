"""Statistics and distances: cov, corrcoef, cdist, pdist, dist, quantile/nanquantile,
histogram/histogramdd. Compositions of differentiable primitives (no backward of
their own), except where noted."""
import builtins
import itertools
import math
import numbers

import numpy as np

from ..autograd.graph import rename as rename_node
from .. import _dtype
from .._backend import like
from .._tensor import Tensor, Size
from ..autograd import grad_mode
from ._base import Op, apply
from ._util import wrap_dim, dtype_name, shape_str, check_tensor, ignore_fp_errors, writes_out, \
    restore_fp_errors
from .pointwise import opmath
from .reduction import _return_type
from .misc import _E, _require_tensor, _with_out
from ._composite_node import CompositeNode

__all__ = ['cov', 'corrcoef', 'cdist', 'pdist', 'dist', 'quantile', 'nanquantile', 'histogram', 'histogramdd']

_histogram_type = _return_type("histogram", ["hist", "bin_edges"])
_histogramdd_type = _return_type("histogramdd", ["hist", "bin_edges"])


# ---------------------------------------------------------------------------- statistics

def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows (variables) of `input` over its columns (observations).

    With weights w = fweights * aweights:  mean = sum(w x) / sum(w),
    cov = (x - mean) w (x - mean)^H / (sum(w) - correction * sum(w aweights) / sum(w))
    (correction * 1 without aweights)."""
    E = _E()
    _require_tensor(input, "cov")
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.dim()} dimensions")
    x = input if input.dim() == 2 else input.view(1, -1)
    num_obs = x.shape[1]
    w = None
    if fweights is not None:
        if fweights.dim() > 1:
            raise RuntimeError(f"cov(): expected fweights to have one or fewer dimensions but got "
                               f"fweights with {fweights.dim()} dimensions")
        if fweights.is_floating_point() or fweights.is_complex():
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights "
                               f"with {dtype_name(fweights.dtype)} dtype")
        if fweights.numel() != num_obs:
            raise RuntimeError(f"cov(): expected fweights to have the same numel as there are "
                               f"observations in the input but got {fweights.numel()} != "
                               f"{num_obs}")
        if bool((fweights < 0).any()):
            raise RuntimeError("cov(): fweights cannot be negative")
        w = fweights
    if aweights is not None:
        if aweights.dim() > 1:
            raise RuntimeError(f"cov(): expected aweights to have one or fewer dimensions but got "
                               f"aweights with {aweights.dim()} dimensions")
        if not aweights.is_floating_point():
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got "
                               f"aweights with {dtype_name(aweights.dtype)} dtype")
        if aweights.numel() != num_obs:
            raise RuntimeError(f"cov(): expected aweights to have the same numel as there are "
                               f"observations in the input but got {aweights.numel()} != "
                               f"{num_obs}")
        if bool((aweights < 0).any()):
            raise RuntimeError("cov(): aweights cannot be negative")
        w = aweights if w is None else w * aweights
    if not (x.is_floating_point() or x.is_complex()):
        x = x.to(_dtype.get_default_dtype())
    if w is None:
        w_sum = E.tensor(num_obs, dtype=_dtype.int64)
        avg = x.mean(1)
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
    if w is None or correction == 0:
        norm_factor = w_sum - correction
    elif aweights is None:
        norm_factor = w_sum - correction
    else:
        norm_factor = w_sum - correction * (w * aweights).sum() / w_sum
    norm_factor = E.clamp(norm_factor, min=0) if not norm_factor.is_complex() else norm_factor
    xm = x - avg.unsqueeze(1)
    xw = xm if w is None else xm * w
    c = E.mm(xw, xm.t().conj() if xm.is_complex() else xm.t())
    return (c / norm_factor).squeeze()


def corrcoef(input):
    """Pearson correlation coefficients: cov / sqrt(diag(cov) diag(cov)^T), clipped to
    [-1, 1] for real inputs."""
    E = _E()
    _require_tensor(input, "corrcoef")
    if input.dim() > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got "
                           f"an input with {input.dim()} dimensions")
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = E.diagonal(c)
    stddev = d.real.sqrt() if d.is_complex() else d.sqrt()
    c = c / stddev.unsqueeze(1)
    c = c / stddev.unsqueeze(0)
    if c.is_complex():
        return c
    return c.clamp(-1, 1)


def _pairwise_norm(delta, p):
    E = _E()
    return E.linalg.vector_norm(delta, ord=p, dim=-1)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Batched p-norm distance between each row of x1 (B x P x M) and of x2 (B x R x M):
    out[b, i, j] = ||x1[b, i] - x2[b, j]||_p."""
    _require_tensor(x1, "cdist", "x1")
    _require_tensor(x2, "cdist", "x2", 2)
    if x1.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D")
    if x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {x2.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if not x1.is_floating_point() or not x2.is_floating_point():
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: "
                           f"{dtype_name(x1.dtype)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    delta = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return _pairwise_norm(delta, p)


def pdist(input, p=2):
    """Distances between all pairs of rows i < j of the N x M `input`, in row-major order
    of the upper triangle: a vector of N (N - 1) / 2 values."""
    _require_tensor(input, "pdist")
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    rows_i = input[Tensor._make(like(i.astype(np.int64), input._data))]
    rows_j = input[Tensor._make(like(j.astype(np.int64), input._data))]
    delta = rows_i - rows_j
    out = _pairwise_norm(delta, p)
    if p == 0 and delta.requires_grad:
        # the count of nonzero differences is piecewise constant: PyTorch's gradient is
        # zeros (not None), which a where() that never picks `delta` gives
        from .pointwise import where
        out = where(Tensor._make(like(np.zeros(out.shape, dtype=bool), input._data)),
                    delta.sum(-1), out.detach())
    return out


def dist(input, other, p=2):
    """||input - other||_p over all elements (broadcast)."""
    E = _E()
    _require_tensor(input, "dist")
    _require_tensor(other, "dist", "other", 2)
    return apply(_Dist, (input, other), (input._data, other._data), p)


def _dist(input, other, p):
    return _E().linalg.vector_norm(input - other, ord=p)


class _Dist(CompositeNode):
    """dist by one node with an edge to each operand, as PyTorch's DistBackward0 (the norm
    of the difference, recomputed in backward)."""
    _name = "DistBackward0"
    save_inputs = (0, 1)
    compute = staticmethod(_dist)


def _quantile_ranks(q, fname):
    E = _E()
    if isinstance(q, Tensor):
        if q.dim() > 1:
            raise RuntimeError(f"{fname}() q must be a scalar or 1D tensor")
        if not q.is_floating_point():
            raise RuntimeError(f"{fname}() q tensor must be of float dtype")
        values = q._cpu_array().astype(np.float64).reshape(-1)
        scalar = q.dim() == 0
    else:
        if not isinstance(q, numbers.Real):
            raise TypeError(f"{fname}(): argument 'q' must be Tensor or float, not "
                            f"{type(q).__name__}")
        values = np.array([float(q)])
        scalar = True
    if np.any((values < 0) | (values > 1)):
        raise RuntimeError(f"{fname}() q values must be in the range [0, 1]")
    return values, scalar, E


def _quantile(fname, input, q, dim, keepdim, interpolation, ignore_nan):
    """Shared body of quantile / nanquantile.

    Sort along dim (nan sorts last); for each q the rank is q (n - 1), n the number of
    non-nan values (nanquantile) or of all values (quantile, whose rows holding a nan get
    the rank of the last, nan, element). The result interpolates between the values at
    floor(rank) and ceil(rank); the gradient flows through sort and lerp."""
    _require_tensor(input, fname)
    if not input.is_floating_point():
        raise RuntimeError(f"{fname}() input tensor must be either float or double dtype")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(f"{fname}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    values, scalar_q, E = _quantile_ranks(q, fname)
    if isinstance(q, Tensor) and q.dtype is not input.dtype:
        raise RuntimeError(f"{fname}() q tensor must be same dtype as the input tensor")
    if input.numel() == 0:
        raise RuntimeError(f"{fname}() input tensor must be non-empty")
    if dim is None:
        x = input.reshape(-1)
        d = 0
    else:
        d = wrap_dim(dim, input.dim())
        x = input if input.dim() > 0 else input.reshape(1)
    x = x.movedim(d, -1)
    if x.shape[-1] == 0:
        raise RuntimeError(f"{fname}() input tensor must be non-empty")
    sorted_x = E.sort(x, dim=-1).values
    arr = sorted_x._data
    values = like(values, arr)
    n_total = arr.shape[-1]
    nan_count = np.isnan(arr).sum(-1, keepdims=True)
    if ignore_nan:
        n_valid = n_total - nan_count
        ranks = values * np.maximum(n_valid - 1, 0)
    else:
        ranks = values * (n_total - 1) * np.ones_like(nan_count, dtype=np.float64)
        ranks = np.where(nan_count > 0, n_total - 1, ranks)
    if interpolation == "lower":
        ranks = np.floor(ranks)
    elif interpolation == "higher":
        ranks = np.ceil(ranks)
    elif interpolation == "nearest":
        ranks = np.round(ranks)  # half to even, as PyTorch
    lo = np.floor(ranks).astype(np.int64)
    hi = np.ceil(ranks).astype(np.int64)
    lo_vals = E.gather(sorted_x, -1, Tensor._make(lo))
    hi_vals = E.gather(sorted_x, -1, Tensor._make(hi))
    if interpolation == "midpoint":
        weight = np.where(hi > lo, 0.5, 0.0)
    else:
        weight = ranks - lo
    result = E.lerp(lo_vals, hi_vals, Tensor._make(weight.astype(arr.dtype)))
    if ignore_nan:
        all_nan = Tensor._make(np.broadcast_to(nan_count == n_total, tuple(result.shape)).copy())
        result = E.where(all_nan, float("nan"), result)
    result = result.movedim(-1, 0)  # q first: (len(q), *reduced shape)
    if dim is None:
        if keepdim:
            result = result.reshape((len(values),) + (1,) * input.dim())
    elif keepdim:
        result = result.unsqueeze(d + 1) if input.dim() > 0 else result
    elif input.dim() == 0:
        result = result.reshape(len(values))
    if scalar_q:
        result = result.squeeze(0)
    return result


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The q-th quantiles of input along dim (all elements when dim is None)."""
    return _with_out(_quantile("quantile", input, q, dim, keepdim, interpolation, False), out)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """quantile ignoring nan values (nan where a row holds only nan)."""
    return _with_out(_quantile("nanquantile", input, q, dim, keepdim, interpolation, True), out)


def _histogram_edges(input, bins, range_, fname):
    """The bin edges as a NumPy array (histograms are counted on the host)."""
    E = _E()
    if isinstance(bins, Tensor):
        if bins.dim() != 1:
            raise RuntimeError(f"{fname}(): bins tensor should have one dimension, but got "
                               f"{bins.dim()} dimensions in the bins tensor")
        return bins._cpu_array().astype(input._data.dtype)
    if not isinstance(bins, numbers.Integral) or bins <= 0:
        raise RuntimeError(f"{fname}(): bins must be > 0, but got {bins} for dimension 0")
    if range_ is not None:
        lo, hi = float(range_[0]), float(range_[1])
    elif input.numel() > 0:
        lo, hi = float(np.min(input._data)), float(np.max(input._data))
    else:
        lo, hi = 0.0, 0.0
    if lo > hi:
        raise RuntimeError(f"{fname}(): max must be larger than min")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"{fname}(): range of [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return E.linspace(lo, hi, bins + 1, dtype=input.dtype, device="cpu")._data


@writes_out("histogram")
def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """Histogram of the values of a float tensor: (hist, bin_edges). `bins` is a count
    (equal-width bins over `range`, default [min, max]) or a 1-D tensor of edges; the
    last bin includes its right edge. Not differentiable. Counted on the host (NumPy's
    histogram; PyTorch has no CUDA kernel for it), results on input's device."""
    _require_tensor(input, "histogram")
    if not input.is_floating_point():
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same "
                           f"dtype, but got input {dtype_name(input.dtype)} and bins "
                           f"{dtype_name(input.dtype)}")
    edges = _histogram_edges(input, bins, range, "histogram")
    x = input._cpu_array().reshape(-1)
    w = None if weight is None else weight._cpu_array().reshape(-1)
    if w is not None and weight.shape != input.shape:
        raise RuntimeError("histogram(): if weight tensor is provided it should have the same "
                           "shape as the input tensor")
    hist, _ = np.histogram(x, bins=edges.astype(np.float64), weights=w)
    hist = hist.astype(input._data.dtype)
    if density:
        widths = np.diff(edges)
        total = hist.sum()
        hist = (hist / (widths * total)).astype(input._data.dtype)
    dev = input._data
    return _histogram_type(Tensor._make(like(hist, dev)), Tensor._make(like(edges.copy(), dev)))


def _upper_bound(edges, values):
    """For each value, the first i with value < edges[i], found by the binary search that
    PyTorch's histogram kernel runs (C++'s upper_bound): on unsorted edges its answer
    depends on the probe order, which this repeats, vectorized over the values."""
    first = np.zeros(values.shape, np.int64)
    count = np.full(values.shape, len(edges), np.int64)
    while count.any():
        half = count // 2
        mid = np.minimum(first + half, len(edges) - 1)
        right = (count > 0) & ~(values < edges[mid])
        first = np.where(right, mid + 1, first)
        count = np.where(right, count - half - 1, half)
    return first


def _histogramdd_by_search(x, edges, weight, density):
    """histogramdd as PyTorch bins with edges not in order: a row counts when each
    coordinate lies within [first edge, last edge] of its dim, in the bin its binary
    search gives (the last edge closing the last bin)."""
    inside = np.ones(len(x), bool)
    pos = []
    for k, e in enumerate(edges):
        v = x[:, k]
        inside &= (v >= e[0]) & (v <= e[-1])
        pos.append(np.clip(_upper_bound(e, v) - 1, 0, len(e) - 2))
    shape = tuple(len(e) - 1 for e in edges)
    flat = np.ravel_multi_index([p[inside] for p in pos], shape) if len(shape) else None
    w = None if weight is None else weight[inside]
    hist = np.bincount(flat, weights=w, minlength=int(np.prod(shape))).reshape(shape)
    if density:
        widths = np.ones(shape)
        for k, e in enumerate(edges):
            d = np.diff(e.astype(np.float64)).reshape([-1 if i == k else 1
                                                       for i in builtins.range(len(shape))])
            widths = widths * d
        hist = hist / hist.sum() / widths
    return hist


def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """Histogram of the rows of an (N, D) float tensor over D dims: (hist, (edges per dim))."""
    _require_tensor(input, "histogramdd")
    if not input.is_floating_point():
        raise RuntimeError("torch.histogramdd: input tensor should be of floating dtype")
    x = input._cpu_array().reshape(-1, input.shape[-1])
    d = x.shape[1]
    if isinstance(bins, numbers.Integral):
        bins = [bins] * d
    if len(bins) != d:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost "
                           "dimension of the input.")
    edges = []
    for k in builtins.range(d):
        column = Tensor._make(np.ascontiguousarray(x[:, k]))
        b = bins[k]
        r = None if range is None else (range[2 * k], range[2 * k + 1])
        edges.append(_histogram_edges(column, b, r, "histogramdd"))
    w = None if weight is None else weight._cpu_array().reshape(-1)
    with np.errstate(all="ignore"):   # empty or zero-width bins: nan/inf, silently as torch
        if all((np.diff(e) >= 0).all() for e in edges):
            hist, _ = np.histogramdd(x, bins=[e.astype(np.float64) for e in edges], weights=w,
                                     density=density)
        else:   # PyTorch takes unsorted edges too, binning by its binary search
            hist = _histogramdd_by_search(x, edges, w, density)
    dev = input._data
    return _histogramdd_type(Tensor._make(like(hist.astype(x.dtype), dev)),
                             tuple(Tensor._make(like(e.copy(), dev)) for e in edges))


Tensor.cov = lambda self, *, correction=1, fweights=None, aweights=None: cov(
    self, correction=correction, fweights=fweights, aweights=aweights)
Tensor.corrcoef = corrcoef
Tensor.dist = dist
Tensor.histogram = histogram
Tensor.quantile = quantile
Tensor.nanquantile = nanquantile
