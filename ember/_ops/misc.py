"""The rest of the torch namespace: diff, index generators, integration, scatter-into-copy
ops, integer math, in-place shape changes, and the small Tensor methods programs call
(fill_, zero_, get_device ...). Statistics live in statistics.py, windows in windows.py.

Most ops here are compositions of differentiable primitives (STYLE 3): their gradients
come from the primitives, so they need no backward of their own. The few that are not
differentiable (gcd, frexp's exponent) compute on arrays and return tensors
without history.
"""
import builtins
import itertools
import math
import numbers
import sys

import numpy as np

from ..autograd.graph import rename as rename_node
from .._backend import as_array, array_namespace, like
from .._device import factory_device
from .. import _dtype
from .._tensor import Tensor, Size
from ..autograd import grad_mode, forward_ad
from ._base import Op, apply
from .cumulative import logcumsumexp   # (a scan: it lives with the scans)
from ._util import wrap_dim, dtype_name, shape_str, check_tensor, ignore_fp_errors, writes_out, \
    with_out as _with_out, check_tensor as _require_tensor, \
    restore_fp_errors
from .conversion import commit_inplace, inplace_source, check_inplace
from .rearrange import tril, triu
from . import complex_ops as _complex_ops
from .reduction import _return_type
from .finite_differences import diff

__all__ = ["isin", "tril_indices",
           "triu_indices", "unravel_index", "block_diag", "cartesian_prod", "combinations",
           "trapezoid", "trapz", "cumulative_trapezoid", "vander",
           "renorm", "ravel", "select", "select_scatter",
           "slice_scatter", "diagonal_scatter", "narrow_copy",
           "gcd", "lcm", "ldexp", "frexp",
           "nextafter", "logcumsumexp", "is_same_size", "is_signed", "fill", "fill_", "zero_",
           "split_with_sizes", "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes",
           "is_inference", "get_device", "resize_as_", "detach", "detach_"]

_frexp_type = _return_type("frexp", ["mantissa", "exponent"])


def _E():
    """The ember namespace (imported late: this module is loaded while it is built)."""
    import ember
    return ember


# ---------------------------------------------------------------------------- index generators

def _index_pair(rows, cols, dtype, fname):
    if dtype is None:
        dtype = _dtype.int64
    if dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"\"{fname}\" not implemented for '{dtype_name(dtype)}'")
    return np.stack([rows, cols]).astype(dtype.np).reshape(2, -1)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Coordinates (2 x N) of the lower triangle of a row x col matrix, row-major."""
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else
                           f"col must be non-negative, got{col}")
    r, c = np.tril_indices(row, offset, col)
    return _to(_index_pair(r, c, dtype, "tril_indices"), factory_device(device))


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Coordinates (2 x N) of the upper triangle of a row x col matrix, row-major."""
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else
                           f"col must be non-negative, got{col}")
    r, c = np.triu_indices(row, offset, col)
    return _to(_index_pair(r, c, dtype, "triu_indices"), factory_device(device))


def _to(arr, device):
    """NumPy array `arr` as a tensor on `device` (None: the CPU)."""
    t = Tensor._make(arr)
    if device is not None and device.type != "cpu":
        t = t.to(device)
    return t


def unravel_index(indices, shape):
    """The coordinates in `shape` of flat `indices`: a tuple of int64 tensors."""
    E = _E()
    if not isinstance(indices, Tensor):
        indices = E.tensor(indices)
    if indices.is_floating_point() or indices.is_complex() or indices.dtype is _dtype.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(shape)))
    flat = indices._cpu_array().astype(np.int64)
    size = int(np.prod(shape))
    if flat.size and (flat.min() < -size or flat.max() >= size):
        raise ValueError("'indices' must be in range [-{}, {})".format(size, size))
    flat = np.where(flat < 0, flat + size, flat)
    coords = np.unravel_index(flat, shape) if shape else ()
    return tuple(Tensor._make(like(as_array(c, dtype=np.int64), indices._data)) for c in coords)


def block_diag(*tensors):
    """A block-diagonal matrix of the inputs (0-d and 1-d inputs count as 1 x n)."""
    E = _E()
    mats = []
    for k, t in enumerate(tensors):
        _require_tensor(t, "block_diag", f"tensors", k + 1)
        if t.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {k} has {t.dim()} dimensions")
        mats.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if not mats:
        return E.empty(1, 0)
    dt = mats[0].dtype
    for m in mats[1:]:
        dt = _dtype.promote_types(dt, m.dtype)
    rows = builtins.sum(m.shape[0] for m in mats)
    cols = builtins.sum(m.shape[1] for m in mats)
    out = E.zeros(rows, cols, dtype=dt, device=mats[0].device)
    r = c = 0
    for m in mats:
        h, w = m.shape
        out[r:r + h, c:c + w] = m.to(dt)
        r, c = r + h, c + w
    return out


def cartesian_prod(*tensors):
    """All tuples (a, b, ...) of elements of the 1-D inputs, one per row (itertools.product
    order); one input is returned as is."""
    E = _E()
    for k, t in enumerate(tensors):
        _require_tensor(t, "cartesian_prod", "tensors", k + 1)
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = E.meshgrid(*tensors, indexing="ij")
    return E.stack([g.reshape(-1) for g in grids], dim=1)


def combinations(input, r=2, with_replacement=False):
    """All length-r combinations of the elements of a 1-D tensor, one per row
    (itertools.combinations order)."""
    E = _E()
    _require_tensor(input, "combinations")
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return E.empty(0, dtype=input.dtype)
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    # no combinations: still gathered from input, so the empty result stays in the graph
    cols = [input[Tensor._make(idx[:, k].copy())] for k in range(r)]
    return E.stack(cols, dim=1)


# ---------------------------------------------------------------------------- integration

def _trapezoid_args(y, x, dx, dim, fname):
    _require_tensor(y, fname, "y")
    if y.dim() == 0:
        raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got "
                         f"{dim})")
    d = wrap_dim(dim, y.dim())
    if x is not None and dx is not None:
        raise TypeError(f"{fname}() received an invalid combination of arguments")
    return d


def _spacing(y, x, d):
    """The widths x[i + 1] - x[i] broadcast against y along dim d (or None for scalar dx)."""
    n = y.shape[d]
    if x.dim() == 1:
        if x.shape[0] != n:
            raise RuntimeError(f"trapezoid: There must be one `x` value for each sample point")
        widths = x[1:] - x[:-1]
        shape = [1] * y.dim()
        shape[d] = n - 1 if n > 0 else 0
        return widths.reshape(shape)
    return diff(x, dim=d)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """Trapezoid rule along dim: sum of (y[i] + y[i + 1]) / 2 * width_i."""
    if not isinstance(x, Tensor) and x is not None and dx is None:
        dx, x = x, None
    d = _trapezoid_args(y, x, dx, dim, "trapezoid")
    n = y.shape[d]
    if n == 0:
        return y.sum(d) * 0
    pair = y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)
    if x is not None:
        return (pair * _spacing(y, x, d)).sum(d) / 2
    step = 1 if dx is None else dx
    return pair.sum(d) * (step / 2)


def trapz(y, x=None, *, dx=None, dim=-1):
    """Alias of trapezoid."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """Running trapezoid rule along dim (one element shorter than y along dim)."""
    if not isinstance(x, Tensor) and x is not None and dx is None:
        dx, x = x, None
    d = _trapezoid_args(y, x, dx, dim, "cumulative_trapezoid")
    n = y.shape[d]
    if n == 0:
        return y.narrow(d, 0, 0) * 1
    pair = y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)
    if x is not None:
        return (pair * _spacing(y, x, d) / 2).cumsum(d)
    step = 1 if dx is None else dx
    return (pair * (step / 2)).cumsum(d)


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: column j is x ** j (increasing) or x ** (N - 1 - j);
    integer and bool inputs give int64, as PyTorch."""
    E = _E()
    _require_tensor(x, "vander", "x")
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is None:
        N = x.shape[0]
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    dt = x.dtype if (x.is_floating_point() or x.is_complex()) else _dtype.int64
    xs = x.to(dt)
    ones = E.ones(x.shape[0], 1, dtype=dt, device=x.device)
    if N == 0:
        out = E.empty(x.shape[0], 0, dtype=dt)
    elif N == 1:
        out = ones
    else:
        powers = xs.unsqueeze(1).expand(x.shape[0], N - 1).cumprod(1)
        out = E.cat([ones, powers], 1)
    return out if increasing else out.flip(1)


# ---------------------------------------------------------------------------- norms

def renorm(input, p, dim, maxnorm):
    """Rescale each slice along `dim` whose p-norm exceeds maxnorm to norm maxnorm:
    out = x * where(||x_i|| > maxnorm, maxnorm / (||x_i|| + 1e-7), 1)."""
    E = _E()
    _require_tensor(input, "renorm")
    if not isinstance(p, numbers.Real) or p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.dim() <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.dim()} "
                           f"dimensions")
    d = wrap_dim(dim, input.dim())
    others = tuple(k for k in range(input.dim()) if k != d)
    norms = E.linalg.vector_norm(input, ord=p, dim=others, keepdim=True)
    factor = E.where(norms > maxnorm, maxnorm / (norms + 1e-7), norms.new_ones(()))
    return input * factor


# ---------------------------------------------------------------------------- select / scatter

def ravel(input):
    """The elements of input as a 1-D tensor (a view when input is contiguous)."""
    return input.reshape(-1)


def select(input, dim, index):
    """The slice input[..., index, ...] at `dim` (a view with that dim removed)."""
    _require_tensor(input, "select")
    if input.dim() == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.dim())
    size = input.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    return input[(slice(None),) * d + (index,)]


def _scatter_copy(input, src, region, fname):
    """A copy of input with region(copy) overwritten by src; gradients: grad outside the
    region to input, grad inside it to src (through the in-place copy's CopySlices)."""
    _require_tensor(input, fname)
    _require_tensor(src, fname, "src", 2)
    out = input.clone()
    view = region(out)
    if tuple(view.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(view.shape)}")
    with grad_mode.set_grad_enabled(grad_mode.is_grad_enabled()):
        view.copy_(src)
    return out


def select_scatter(input, src, dim, index):
    """input with input.select(dim, index) replaced by src."""
    return _scatter_copy(input, src, lambda t: select(t, dim, index), "select_scatter")


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """input with input[..., start:end:step, ...] (at dim) replaced by src."""
    d = wrap_dim(dim, input.dim())
    key = (slice(None),) * d + (slice(start, end, step),)
    return _scatter_copy(input, src, lambda t: t[key], "slice_scatter")


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """input with its diagonal (offset, dim1, dim2) replaced by src."""
    return _scatter_copy(input, src, lambda t: t.diagonal(offset, dim1, dim2), "diagonal_scatter")


def narrow_copy(input, dim, start, length):
    """input.narrow(dim, start, length) as a new tensor (not a view). PyTorch checks its
    arguments with narrow_copy's own wording, which differs from narrow's."""
    if getattr(input, "layout", None) is not None and input.is_sparse:
        return input.narrow_copy(dim, start, length)   # a sparse COO tensor's own
    if input.dim() == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if isinstance(dim, numbers.Integral) and dim >= input.dim():
        raise RuntimeError("Expected dim < static_cast<int64_t>(self_sizes.size()) to be true, "
                           "but got false.")
    d = wrap_dim(dim, input.dim())
    size = input.shape[d]
    if isinstance(start, numbers.Integral) and isinstance(length, numbers.Integral):
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}],"
                             f" but got {start})")
        start = start + size if start < 0 else start
        if length < 0 or start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                               f"({size}).")
    from .. import contiguous_format   # a new row-major tensor, as PyTorch's
    return input.narrow(d, start, length).clone(memory_format=contiguous_format)


def split_with_sizes(input, split_sizes, dim=0):
    """Split into pieces of the given sizes along dim (they must sum to the size)."""
    d = wrap_dim(dim, input.dim())
    if builtins.sum(split_sizes) != input.shape[d]:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                           f"{input.shape[d]} (input tensor's size at dimension {dim}), but got "
                           f"split_sizes={list(split_sizes)}")
    return input.split(list(split_sizes), dim)


def unsafe_split(input, split_size, dim=0):
    return input.split(split_size, dim)


def unsafe_chunk(input, chunks, dim=0):
    return input.chunk(chunks, dim)


def unsafe_split_with_sizes(input, split_sizes, dim=0):
    return split_with_sizes(input, split_sizes, dim)


def _copy_variant(name, view_fn):
    # the copies are new row-major tensors, as PyTorch's (not laid out like the view)
    def fn(input, *args, out=None, **kwargs):
        from .. import contiguous_format
        result = view_fn(input, *args, **kwargs)
        if isinstance(result, (tuple, list)):
            result = type(result)(r.clone(memory_format=contiguous_format) for r in result)
        else:
            result = result.clone(memory_format=contiguous_format)
        return _with_out(result, out, name)
    fn.__name__ = name
    fn.__doc__ = f"A copy (not a view) of the result of {name[:-5]}."
    return fn


# view_copy, t_copy ...: the view op followed by a copy
_COPY_VARIANTS = {
    "view_copy": lambda x, *shape: x.reshape(*shape),   # any strides: the result is a copy
    "t_copy": lambda x: x.t(),
    "transpose_copy": lambda x, d0, d1: x.transpose(d0, d1),
    "permute_copy": lambda x, dims: x.permute(*dims),
    "expand_copy": lambda x, size, *, implicit=False: x.expand(*size),
    "diagonal_copy": lambda x, offset=0, dim1=0, dim2=1: x.diagonal(offset, dim1, dim2),
    "select_copy": lambda x, dim, index: select(x, dim, index),
    "slice_copy": lambda x, dim=0, start=None, end=None, step=1: x[
        (slice(None),) * wrap_dim(dim, x.dim()) + (slice(start, end, step),)],
    "squeeze_copy": lambda x, dim=None: x.squeeze() if dim is None else x.squeeze(dim),
    "unsqueeze_copy": lambda x, dim: x.unsqueeze(dim),
    "unbind_copy": lambda x, dim=0: x.unbind(dim),
    "split_copy": lambda x, split_size, dim=0: x.split(split_size, dim),
    "split_with_sizes_copy": lambda x, sizes, dim=0: split_with_sizes(x, sizes, dim),
    "unfold_copy": lambda x, dimension, size, step: x.unfold(dimension, size, step),
    "alias_copy": lambda x: x.view(x.shape),
    "as_strided_copy": lambda x, size, stride, storage_offset=None: x.as_strided(
        size, stride, storage_offset),
    "view_as_real_copy": lambda x: _complex_ops.view_as_real(x),
}
for _name, _view in _COPY_VARIANTS.items():
    globals()[_name] = _copy_variant(_name, _view)
    __all__.append(_name)


# ---------------------------------------------------------------------------- integer / float bits

def _integer_binary(name, ufunc):
    def fn(input, other, *, out=None):
        E = _E()
        _require_tensor(input, name)
        if not isinstance(other, Tensor):
            _require_tensor(other, name, "other", 2)
        dt = _dtype.result_dtype(input, other)
        if dt.is_floating_point or dt.is_complex or dt is _dtype.bool:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{dtype_name(dt)}'")
        result = Tensor._make(as_array(ufunc(input._data.astype(dt.np),
                                               other._data.astype(dt.np))))
        return _with_out(result, out)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} of two integer tensors (not differentiable)."
    return fn


gcd = _integer_binary("gcd", np.gcd)
lcm = _integer_binary("lcm", np.lcm)


def ldexp(input, other, *, out=None):
    """input * 2 ** other (a float result)."""
    E = _E()
    _require_tensor(input, "ldexp")
    return _with_out(E.mul(input, E.pow(2.0, other)), out)


class Frexp(Op):
    """(m, e) with input = m * 2**e, |m| in [0.5, 1) and e an int32 exponent.

    The exponent is piecewise constant, so dx = grad_m * 2**-e (the exponent has no
    gradient)."""
    _name = "FrexpBackward0"
    nondiff_outputs = (1,)

    @staticmethod
    def forward(ctx, arr):
        xp = ctx.xp
        compute = arr.astype(np.float32) if arr.dtype == _dtype.bfloat16.np else arr
        m, e = np.frexp(compute)
        one = xp.ones((), np.float32 if arr.dtype == _dtype.bfloat16.np else arr.dtype)
        with np.errstate(over="ignore"):   # 2**-e of a denormal may overflow: inf, as PyTorch
            ctx.scale = xp.ldexp(one, -e)
        return xp.asarray(m).astype(arr.dtype), xp.asarray(e).astype(np.int32)

    @staticmethod
    def backward(ctx, grad_m, grad_e):
        return grad_m * Tensor._make(ctx.scale).to(grad_m.dtype)


def frexp(input, *, out=None):
    """Mantissa in [0.5, 1) (sign of input) and int32 exponent: input = m * 2 ** e."""
    _require_tensor(input, "frexp")
    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = apply(Frexp, (input,), (input._data,))
    return _with_out(_frexp_type(m, e), out, "frexp")


class Nextafter(Op):
    """out = the floating-point number next to x in the direction of y (y itself where
    x == y). out differs from x by one ulp at most, so PyTorch differentiates it as the
    identity in x where x != y: dx = grad * (x != y), dy = 0."""
    _name = "NextafterBackward0"
    save_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, y):
        return as_array(np.nextafter(x, y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * (x != y).to(grad.dtype), grad.new_zeros(grad.shape)


def nextafter(input, other, *, out=None):
    """The next floating-point value after input towards other."""
    _require_tensor(input, "nextafter")
    _require_tensor(other, "nextafter", "other", 2)
    dt = _dtype.result_dtype(input, other)
    if not dt.is_floating_point:   # float16 and bfloat16 too (NumPy and ml_dtypes step them)
        raise NotImplementedError(f"\"nextafter_cpu\" not implemented for '{dtype_name(dt)}'")
    result = apply(Nextafter, (input, other),
                   (input._data.astype(dt.np), other._data.astype(dt.np)))
    return _with_out(result, out)


# ---------------------------------------------------------------------------- predicates

def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input):
    """False only for unsigned integer and bool tensors."""
    dt = input.dtype
    return not (dt is _dtype.bool or dt.name.startswith("uint"))


def is_nonzero(input):
    """The truth value of a one-element tensor."""
    if input.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input._data.reshape(-1)[0])


def is_inference(input):
    """Whether `input` was made while inference_mode was on (or is a view of such a
    tensor)."""
    return input._inference


def get_device(input):
    """The CUDA device index of a CUDA tensor, else -1 (CPU and meta tensors)."""
    dev = input.device
    return dev.index if dev.type == "cuda" else -1


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """A bool tensor: whether each element of `elements` is in `test_elements`
    (either may be a scalar)."""
    E = _E()
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__})")
    a = elements._cpu_array() if isinstance(elements, Tensor) else as_array(elements)
    b = test_elements._cpu_array() if isinstance(test_elements, Tensor) else \
        as_array(test_elements)
    shape = a.shape
    result = np.isin(a.reshape(-1), b.reshape(-1), invert=invert).reshape(shape)
    dev = elements.device if isinstance(elements, Tensor) else test_elements.device
    return _to(as_array(result), dev if dev.type != "cpu" else None)


# ---------------------------------------------------------------------------- fill / zero

class Fill(Op):
    """out = value everywhere (input's shape and dtype);  dinput = 0, dvalue = sum(grad).
    PyTorch's nodes: FillBackward0 (fill with a number), 1 (with a tensor), 2 and 3 (fill_),
    ZeroBackward0 (zero_)."""
    _name = "FillBackward0"
    # a number value is a Scalar argument: no edge for it
    edge_operands = {"FillBackward0": (0,), "FillBackward2": (0,), "ZeroBackward0": (0,)}

    @staticmethod
    def forward(ctx, x, value):
        return _dtype.filled(ctx.xp, x.shape, value, x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0, grad.sum()


def _fill_value(value):
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.dim()} dimensions.")
        return value, value._data
    return None, value


def fill(input, value):
    """A tensor like input filled with value (a number or a 0-dim tensor)."""
    _require_tensor(input, "fill")
    value_tensor, v = _fill_value(value)
    out = apply(Fill, (input, value_tensor), (input._data, v))
    if value_tensor is not None and out.grad_fn is not None:
        rename_node(out.grad_fn, "FillBackward1")
    return out


def fill_(input, value, _node_names=("FillBackward2", "FillBackward3")):
    """Fill input with value in place."""
    _require_tensor(input, "fill_")
    _fill_value(value)
    filled = fill(inplace_source(input, (value,)), value)
    if filled.grad_fn is not None:
        rename_node(filled.grad_fn, _node_names[isinstance(value, Tensor)])
    # one value written everywhere: an expanded input is allowed, as in PyTorch
    return commit_inplace(input, filled, overlap_ok=True)


def zero_(input):
    """Set every element to zero in place."""
    return fill_(input, 0, ("ZeroBackward0", None))


def _fill_diagonal_(self, fill_value, wrap=False):
    """Write fill_value on the main diagonal (all dims equal for more than 2 dims; a tall
    matrix restarts the diagonal every ncols + 1 rows when wrap)."""
    if self.dim() < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.dim() > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    n = builtins.min(self.shape)
    if self.dim() == 2:
        rows, cols = self.shape
        step = cols + 1
        flat_len = rows * cols
        if not wrap:
            flat_len = builtins.min(flat_len, cols * cols)
        positions = np.arange(0, flat_len, step)
        idx = np.unravel_index(positions, self.shape)
    else:
        idx = tuple(np.arange(n) for _ in range(self.dim()))
    mask = np.zeros(self.shape, dtype=bool)
    mask[idx] = True
    return self.masked_fill_(Tensor._make(like(mask, self._data)), fill_value)


def resize_(self, *sizes, size=None, memory_format=None):
    """Change the shape in place; the first elements keep their values (row-major), new
    ones are zero. Not allowed on tensors that require grad or carry a forward-AD tangent."""
    if size is not None:   # x.resize_(size=(2, 3))
        sizes = (size,)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size)):
        sizes = tuple(sizes[0])
    for s in sizes:
        if not isinstance(s, numbers.Integral) or s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(sizes)}")
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    if self._fw_tangent is not None:   # (the tangent would no longer fit the values)
        raise RuntimeError("cannot resize variables that has a forward grad")
    if tuple(sizes) == tuple(self._data.shape):
        return self
    numel = math.prod(sizes)
    if numel <= self._data.size and self._data.flags.c_contiguous:
        # PyTorch keeps the storage when it is large enough: the tensor becomes a view of
        # its first `numel` elements, so writes still reach the memory other tensors share
        # (the old dcgan's input.data.resize_(size).copy_(batch) on a Variable's storage)
        self._data = self._data.reshape(-1)[:numel].reshape(sizes)
        self._bump_version()
        return self
    if self.device.type == "meta" or self.is_quantized:   # the elements, copied
        new = array_namespace(self._data).zeros(sizes, dtype=self._data.dtype)
        flat_old = self._data.reshape(-1)
        count = builtins.min(flat_old.size, new.size)
        new.reshape(-1)[:count] = flat_old[:count]
        self._data = new
        self._bump_version()
        return self
    data = self._data
    if type(data) is np.ndarray and data.base is None and data.flags.c_contiguous and \
            sys.getrefcount(data) <= 3:
        # memory this tensor alone holds (the local name, the slot and getrefcount's
        # argument refer to it): nothing else can follow a storage resize, so new memory
        # with the old elements first, without the walk over every object that a shared
        # storage's resize takes (an observer resizing its buffers in every conversion)
        new = np.zeros(numel, dtype=data.dtype)
        new[:data.size] = data.reshape(-1)
        self._data = new.reshape(sizes)
        self._bump_version()
        return self
    del data
    # PyTorch lays the new shape out contiguously from the storage offset over the whole
    # storage (not over this tensor's elements): what lies there keeps its values, a view
    # of another tensor's storage reads that tensor's later elements
    from .creation import empty
    offset = self.storage_offset()
    storage = self.untyped_storage()
    need = (offset + numel) * self._data.itemsize
    if need > storage.nbytes():   # grown: the tensors on the storage follow it, as PyTorch's
        storage.resize_(need)
    flat = empty(0, dtype=self.dtype, device=self.device).set_(storage)._data.reshape(-1)
    self._data = flat[offset:offset + numel].reshape(sizes)
    self._bump_version()
    return self


def resize_as_(self, the_template, memory_format=None):
    return resize_(self, tuple(the_template.shape))


def _resize(self, *sizes):
    """Tensor.resize (deprecated): a resized copy."""
    return resize_(self.detach().clone(), *sizes)


def _share_memory_(self):
    """Move the values into shared memory, so that processes this tensor is sent to see
    its writes and it theirs (see ember/_shared_memory.py)."""
    from .. import _shared_memory
    return _shared_memory.share_memory_(self)


def _is_shared(self):
    from .. import _shared_memory
    return _shared_memory.is_shared(self)


def detach(input):
    return input.detach()


def detach_(input):
    return input.detach_()


# ---------------------------------------------------------------------------- in-place shape ops

def _shape_inplace(name, view_op):
    """self.<name>_(...): self takes the shape of view_op(self, ...) in place.

    The data becomes the view's array (same memory); when autograd records the op, self
    takes the view's place in the graph (TBackward0, SqueezeBackward1 ...)."""
    def method(self, *args, **kwargs):
        check_inplace(self)
        result = view_op(self, *args, **kwargs)
        self._data = result._data
        self._bump_version()   # (as PyTorch's: a metadata change counts as a write)
        if result._requires_grad and grad_mode.is_grad_enabled():
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        if result._fw_tangent is not None:   # forward AD: the tangent takes the new shape too
            forward_ad.set_tangent(self, result._fw_tangent)
        return self
    method.__name__ = name
    method.__doc__ = f"In-place {name[:-1]}: changes self's shape, keeps its memory."
    return method


# ---------------------------------------------------------------------------- CPU-only helpers

def _apply_(self, callable):
    """Apply a Python function to every element in place (CPU, no autograd)."""
    if not self.is_cpu:
        raise TypeError("apply_ is only implemented on CPU tensors")
    check_inplace(self)
    values = [callable(v) for v in self._data.reshape(-1).tolist()]
    self._data[...] = as_array(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._bump_version()
    return self


def _map_(self, tensor, callable):
    """self[i] = callable(self[i], tensor[i]) in place (tensor broadcast to self)."""
    if not self.is_cpu:
        raise TypeError("map_ is only implemented on CPU tensors")
    other = np.broadcast_to(tensor._data, self._data.shape)
    values = [callable(a, b) for a, b in zip(self._data.reshape(-1).tolist(),
                                             other.reshape(-1).tolist())]
    self._data[...] = as_array(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._bump_version()
    return self


def _map2_(self, x, y, callable):
    """self[i] = callable(self[i], x[i], y[i]) in place."""
    if not self.is_cpu:
        raise TypeError("map2_ is only implemented on CPU tensors")
    xa = np.broadcast_to(x._data, self._data.shape).reshape(-1).tolist()
    ya = np.broadcast_to(y._data, self._data.shape).reshape(-1).tolist()
    values = [callable(a, b, c) for a, b, c in zip(self._data.reshape(-1).tolist(), xa, ya)]
    self._data[...] = as_array(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._bump_version()
    return self


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False,
                       layout=None, pin_memory=False):
    E = _E()
    from .creation import pin_memory_arg
    pin_memory_arg("new_empty_strided", pin_memory)
    return E.empty_strided(size, stride, dtype=dtype or self.dtype, device=device or self.device,
                           requires_grad=requires_grad, pin_memory=pin_memory)


def _as_subclass(self, cls):
    """self's data and autograd history as an instance of the Tensor subclass cls."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass(): argument 'cls' must be a subclass of Tensor, not "
                        f"{cls!r}")
    t = cls._make(self._data, self._requires_grad)
    t.grad_fn, t._output_nr = self.grad_fn, self._output_nr
    if self._vc is None:
        self._vc = [0]
    t._vc = self._vc
    if self.grad_fn is None and self._requires_grad:
        from .shape import view
        t._base = self  # a leaf: gradients reach the original through the view machinery
        t._view_fn = lambda b: view(b, b.shape)
        t._gfv = self._vc[0]
        alias = view(self, self.shape)
        t.grad_fn, t._output_nr = alias.grad_fn, alias._output_nr
    return t


def _new(self, *args, **kwargs):
    """Legacy Tensor.new: a tensor of self's dtype and device (data or a size)."""
    E = _E()
    dtype = kwargs.pop("dtype", self.dtype)
    device = kwargs.pop("device", self.device)
    if not args:
        return E.empty(0, dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0]
    if len(args) == 1 and not isinstance(args[0], (numbers.Integral, Size)):
        return E.tensor(args[0], dtype=dtype, device=device)
    return E.empty(*args, dtype=dtype, device=device)


def _inplace(fn, overlap_ok=False):
    """The in-place method of `fn`; `overlap_ok`: PyTorch lets it write into an expanded
    tensor (tril_/triu_)."""
    def method(self, *args, **kwargs):
        return commit_inplace(self, fn(inplace_source(self, args), *args, **kwargs),
                              overlap_ok)
    method.__name__ = fn.__name__ + "_"
    return method


def _attach_methods():
    Tensor.renorm = renorm
    Tensor.renorm_ = _inplace(renorm)
    Tensor.ravel = ravel
    Tensor.select = select
    Tensor.select_scatter = select_scatter
    Tensor.slice_scatter = slice_scatter
    Tensor.diagonal_scatter = diagonal_scatter
    Tensor.narrow_copy = narrow_copy
    Tensor.split_with_sizes = split_with_sizes
    Tensor.unsafe_split = unsafe_split
    Tensor.unsafe_chunk = unsafe_chunk
    Tensor.unsafe_split_with_sizes = unsafe_split_with_sizes
    Tensor.gcd = gcd
    Tensor.lcm = lcm
    Tensor.gcd_ = _inplace(gcd)
    Tensor.lcm_ = _inplace(lcm)
    Tensor.ldexp = ldexp
    Tensor.ldexp_ = _inplace(ldexp)
    Tensor.frexp = frexp
    Tensor.nextafter = nextafter
    Tensor.nextafter_ = _inplace(nextafter)
    Tensor.logcumsumexp = logcumsumexp
    Tensor.is_same_size = is_same_size
    Tensor.is_signed = is_signed
    Tensor.is_inference = is_inference
    Tensor.get_device = get_device
    Tensor.is_nonzero = is_nonzero
    Tensor.fill_ = fill_
    Tensor.zero_ = zero_
    Tensor.fill_diagonal_ = _fill_diagonal_
    Tensor.resize_ = resize_
    Tensor.resize_as_ = resize_as_
    Tensor.resize = _resize
    Tensor.resize_as = lambda self, other: _resize(self, tuple(other.shape))
    Tensor.apply_ = _apply_
    Tensor.map_ = _map_
    Tensor.map2_ = _map2_
    Tensor.new_empty_strided = _new_empty_strided
    Tensor.as_subclass = _as_subclass
    Tensor.new = _new
    Tensor.share_memory_ = _share_memory_
    Tensor.is_shared = _is_shared
    Tensor.tril_ = _inplace(tril, overlap_ok=True)
    Tensor.triu_ = _inplace(triu, overlap_ok=True)
    Tensor.squeeze_ = _shape_inplace("squeeze_", lambda self, dim=None: self.squeeze()
                                     if dim is None else self.squeeze(dim))
    Tensor.unsqueeze_ = _shape_inplace("unsqueeze_", lambda self, dim: self.unsqueeze(dim))
    Tensor.t_ = _shape_inplace("t_", lambda self: self.t())
    Tensor.transpose_ = _shape_inplace("transpose_", lambda self, d0, d1: self.transpose(d0, d1))
    Tensor.swapaxes_ = _shape_inplace("swapaxes_", lambda self, d0, d1: self.transpose(d0, d1))
    Tensor.swapdims_ = Tensor.swapaxes_
    Tensor.as_strided_ = _shape_inplace("as_strided_", lambda self, size, stride,
                                        storage_offset=None: self.as_strided(size, stride,
                                                                             storage_offset))


_attach_methods()


class DetachCopy(Op):
    """A copy of x cut from x's history. PyTorch records it with a node whose backward
    raises (its output still requires grad); so does ember."""
    _name = "NotImplemented"

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::detach_copy is not implemented")


def view_as_complex_copy(input):
    """A copy of view_as_complex(input). PyTorch defines no gradient for it (complex
    output): recording it raises, as there."""
    check_tensor(input, "view_as_complex_copy")
    if input.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError("view_as_complex_copy does not support automatic differentiation "
                           "for outputs with complex dtype.")
    return _complex_ops.view_as_complex(input).clone()


def detach_copy(input):
    """A copy (not a view) of input.detach()."""
    check_tensor(input, "detach_copy")
    return apply(DetachCopy, (input,), (input._data,))


# ---------------------------------------------------------------------------- slice_inverse / hash_tensor

def slice_inverse(input, src, dim=0, start=None, end=None, step=1):
    """The inverse of slicing, for functionalization: a view of input's memory with src's
    size, stride and storage offset (the tensor input was sliced out of). dim, start, end
    and step name that slice; the geometry comes from src alone, as in PyTorch."""
    check_tensor(input, "slice_inverse")
    check_tensor(src, "slice_inverse", "src", 2)
    return input.as_strided(tuple(src.shape), src.stride(), src.storage_offset())


_HASH_AS = {True: np.float64, False: np.int64}


def hash_tensor(input, dim=(), *, keepdim=False, mode=0):
    """XOR of input's elements over `dim` (default all), each first widened to 64 bits
    (floats to float64, integers and bools to int64) and read as uint64 (mode 0, the only
    mode). Returns uint64, outside autograd."""
    check_tensor(input, "hash_tensor")
    if mode != 0:
        raise RuntimeError(f"Unknown hash_tensor mode: {mode}")
    if input.dtype.is_complex:
        raise NotImplementedError(f"\"xor_sum_cpu\" not implemented for "
                                  f"'{dtype_name(input.dtype)}'")
    a = input._data
    dims = [dim] if isinstance(dim, int) else list(dim)
    axes = tuple(wrap_dim(d, a.ndim) for d in dims) if dims else tuple(builtins.range(a.ndim))
    if a.ndim == 0:
        axes = ()   # dim 0 / -1 of a 0-dim tensor: the element itself (wrap_dim checked it)
    if not dims and a.size == 0:
        raise RuntimeError("hash_tensor: Expected reduction dim to be specified for "
                           "input.numel() == 0. Specify the reduction dim with the 'dim' "
                           "argument.")
    for ax in axes:
        if a.shape[ax] == 0:
            raise IndexError(f"hash_tensor: Expected reduction dim {ax} to have non-zero size.")
    bits = a.astype(_HASH_AS[bool(input.dtype.is_floating_point)]).view(np.uint64)
    xp = array_namespace(a)
    out = xp.bitwise_xor.reduce(bits, axis=axes, keepdims=keepdim) if axes else bits.copy()
    return Tensor._make(xp.asarray(out))


__all__ += ["detach_copy", "view_as_complex_copy", "slice_inverse", "hash_tensor"]


# ---------------------------------------------------------------------------- norm_except_dim / as_strided_scatter

def norm_except_dim(v, pow=2, dim=0):
    """The p-norm of v over every dim but `dim`, kept as size-1 dims (weight norm's
    ||v||); dim=-1 gives the norm of all of v."""
    check_tensor(v, "norm_except_dim", "v")
    if dim == -1:
        return v.norm(pow)
    d = wrap_dim(dim, v.dim())
    others = [i for i in builtins.range(v.dim()) if i != d]
    return v.norm(pow, others, keepdim=True) if others else v.abs()


class AsStridedScatter(Op):
    """out = a row-major copy of x with src written into its window
    out.as_strided(size, stride, offset);

        grad_x = grad with the window zeroed,   grad_src = grad's window
    """
    _name = "AsStridedScatterBackward0"

    @staticmethod
    def forward(ctx, x, src, size, stride, offset):
        ctx.geometry = size, stride, offset
        out = ctx.xp.ascontiguousarray(x).copy()
        _strided_window(out, size, stride, offset)[...] = src
        return out

    @staticmethod
    def backward(ctx, grad):
        size, stride, offset = ctx.geometry
        g = grad.contiguous()
        gx = gs = None
        if ctx.needs_input_grad[0]:
            gx = as_strided_scatter(g, g.new_zeros(size), size, stride, offset)
        if ctx.needs_input_grad[1]:
            gs = g.as_strided(size, stride, offset)
        return gx, gs


def _strided_window(a, size, stride, offset):
    """The view of row-major array `a` at (size, stride, offset), in elements."""
    from .._backend import strided_view
    return strided_view(a.reshape(-1)[offset:], size, tuple(s * a.itemsize for s in stride))


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """A copy of input with src written where input.as_strided(size, stride,
    storage_offset) looks (input taken row-major). Gradients: src gets grad's strided
    window, input the rest of grad."""
    check_tensor(input, "as_strided_scatter")
    check_tensor(src, "as_strided_scatter", "src", 2)
    size, stride = tuple(size), tuple(stride)
    offset = 0 if storage_offset is None else storage_offset
    if tuple(src.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(size)}")
    extent = offset + sum((n - 1) * st for n, st in zip(size, stride)) + 1
    if 0 not in size and extent > input.numel():
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {input.element_size()} requiring a "
                           f"storage size of {extent * input.element_size()} are out of bounds "
                           f"for storage of size {input.numel() * input.element_size()}")
    src = src.to(input.dtype)
    return apply(AsStridedScatter, (input, src), (input._data, src._data), size, stride, offset)


__all__ += ["norm_except_dim", "as_strided_scatter"]
Tensor.as_strided_scatter = as_strided_scatter
Tensor.hash_tensor = hash_tensor
