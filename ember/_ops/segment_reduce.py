"""torch.segment_reduce: reductions over consecutive segments of one axis.

With lengths (l_0, ..., l_{S-1}) along `axis`, segment s is data[o_s : o_s + l_s] where
o_s = l_0 + ... + l_{s-1}, and

    out[s] = reduce(data[o_s : o_s + l_s])       (sum, mean, max, min, prod)

An empty segment gives the reduction's identity (0, nan for mean, -inf, inf, 1), or
`initial` when given; `initial` otherwise joins every segment (for mean it counts as one
more summand, but not one more element: (initial + sum) / length).

Built on scatter_reduce, whose gradients are PyTorch's segment_reduce gradients (ties of
max/min share the gradient equally).
"""
import numpy as np

from .._tensor import Tensor
from ._util import check_tensor, dtype_name, wrap_dim
from .scatter_gather import scatter_reduce
from .pointwise import where

__all__ = ["segment_reduce"]

_SCATTER = {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin", "prod": "prod"}
_EMPTY = {"sum": 0.0, "mean": float("nan"), "max": -float("inf"), "min": float("inf"),
          "prod": 1.0}


def _segment_lengths(data, axis, lengths, offsets, unsafe):
    """The lengths as an int64 array of shape data.shape[:axis] + (S,), checked."""
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    given = lengths if lengths is not None else offsets
    if given.dtype.is_floating_point or given.dtype.is_complex:
        kernel = "lengths" if lengths is not None else "offsets"
        raise NotImplementedError(f"\"_segment_reduce_{kernel}_cpu_kernel1\" not implemented "
                                  f"for '{dtype_name(given.dtype)}'")
    arr = given._cpu_array().astype(np.int64)
    if lengths is None:
        arr = np.diff(arr, axis=-1)
    if arr.ndim - 1 != axis:
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of "
                           f"lengths but got {axis}.")
    if tuple(arr.shape[:-1]) != tuple(data.shape[:axis]):
        raise RuntimeError(f"segment_reduce(): Expected lengths to have the shape of data up to "
                           f"axis plus one dim, got lengths {list(arr.shape)} for data "
                           f"{list(data.shape)}")
    if not unsafe:
        if (arr < 0).any():
            raise RuntimeError("lengths contains negative value!")
        if (arr.sum(-1) != data.shape[axis]).any():
            raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum "
                               "to data.size(lengths.dim()-1) when !unsafe.")
    return arr


def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0,
                   unsafe=False, initial=None):
    """Reduce (sum, mean, max, min, prod) each segment of `data` along `axis`, segments
    given by `lengths` or by `offsets` (lengths = offsets[..., 1:] - offsets[..., :-1])."""
    check_tensor(data, "segment_reduce", "data")
    if reduce not in _SCATTER:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if not data.dtype.is_floating_point:
        raise NotImplementedError(f"\"_segment_reduce_cpu\" not implemented for "
                                  f"'{dtype_name(data.dtype)}'")
    axis = wrap_dim(axis, data.dim())
    lens = _segment_lengths(data, axis, lengths, offsets, unsafe)
    nseg = lens.shape[-1]
    # segment id of every position along axis, per row of the leading dims
    rows = lens.reshape(-1, nseg)
    ids = np.stack([np.repeat(np.arange(nseg), r) for r in rows]).reshape(
        data.shape[:axis + 1])
    index = np.broadcast_to(ids.reshape(ids.shape + (1,) * (data.dim() - axis - 1)),
                            tuple(data.shape))
    index = Tensor._make(np.ascontiguousarray(index))
    if data.device.type != "cpu":
        index = index.to(data.device)
    out_shape = tuple(data.shape[:axis]) + (nseg,) + tuple(data.shape[axis + 1:])
    fill = data.new_full(out_shape, _EMPTY[reduce] if reduce != "mean" or initial is None
                         else 0.0)
    how = "sum" if reduce == "mean" and initial is not None else _SCATTER[reduce]
    out = scatter_reduce(fill, axis, index, data, how, include_self=False)
    if initial is None:
        return out
    if reduce == "sum":
        return out + initial
    if reduce == "prod":
        return out * initial
    if reduce == "mean":
        count = Tensor._make(lens.reshape(lens.shape + (1,) * (data.dim() - axis - 1)))
        count = count.to(data.device, data.dtype).clamp(min=1)
        return (out + initial) / count
    # max/min: initial wins unless a segment reaches it; a tie leaves the gradient to the
    # segment's elements, as PyTorch's
    init = data.new_full((), initial)
    return where(out >= init, out, init) if reduce == "max" else where(out <= init, out, init)
