"""ember.nested (``torch.nested``): nested tensors, a batch of tensors of different lengths.

A nested tensor holds B tensors that differ in the size of one dimension (variable-length
sequences without padding), packed in one dense ``values`` tensor with ``offsets`` (see
_nested_tensor.py for the representation and _ops.py, _padded.py, _attention.py and
_components.py for the ops on it). Both of PyTorch's
layouts are offered: ``layout=ember.jagged`` (the one PyTorch recommends) and the older
``ember.strided``, which ember stores the same way when the components differ in one dim,
and as a list of components (ops run component by component) when they differ in more
(see _components.py).
"""
import warnings

import numpy as np

from .._tensor import Tensor
from ._nested_tensor import NestedTensor, make_nested, _check_activated
from . import _padded
from ._components import from_components

# a program that uses torch.nested pays for the __torch_function__ dispatch from here on
# (ember's functions fetched before this import stay undispatched)
_check_activated()

__all__ = ["nested_tensor", "as_nested_tensor", "to_padded_tensor", "narrow",
           "nested_tensor_from_jagged", "masked_select"]


def _ember():
    import ember
    return ember


def _offsets_from_lengths(lengths, device):
    e = _ember()
    return e.as_tensor(np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
                       device=device)


def _layout(layout):
    e = _ember()
    if layout is None:
        return e.strided
    if layout not in (e.strided, e.jagged):
        raise RuntimeError(f"Specified layout is unsupported for nested tensors: {layout}")
    return layout


_WARNED = [False]


def _warn_strided(layout):
    """PyTorch's warning at the first strided nested tensor built from a list (once per
    process, as PyTorch's)."""
    if layout is _ember().strided and not _WARNED[0]:
        _WARNED[0] = True
        warnings.warn(
            "The PyTorch API of nested tensors is in prototype stage and will change in the "
            "near future. We recommend specifying layout=torch.jagged when constructing a "
            "nested tensor, as this layout receives active development, has better operator "
            "coverage, and works with torch.compile.", UserWarning, stacklevel=3)


def _pack(tensors, layout):
    """The values of components packed along their first dimension, and the offsets."""
    _pack_check(tensors, layout)
    lengths = [t.shape[0] for t in tensors]
    return _ember().cat(list(tensors), 0), _offsets_from_lengths(lengths, tensors[0].device)


def _pack_check(tensors, layout):
    """PyTorch's errors for lists of components it cannot represent."""
    e = _ember()
    if len(tensors) == 0:
        raise RuntimeError("Cannot construct a nested tensor from an empty tensor list")
    if any(t.dim() == 0 for t in tensors):
        raise RuntimeError("Cannot construct a nested tensor from a list of zero-dim tensors")
    if len({t.dim() for t in tensors}) > 1:
        raise RuntimeError("When constructing a nested tensor, all tensors in list must have "
                           "the same dim")
    if len({tuple(t.shape[1:]) for t in tensors}) > 1 and layout is e.jagged:
        raise RuntimeError(
            "Cannot represent given tensor list as a nested tensor with the jagged "
            "layout. Note that the jagged layout only allows for a single ragged "
            "dimension. For example: (B, *, D_0, D_1, ..., D_N), with ragged * dim.")


def nested_tensor(tensor_list, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    """A nested tensor holding copies of the tensors (or nested lists of numbers) in
    tensor_list; a leaf of autograd (``requires_grad``), not connected to the inputs."""
    e = _ember()
    layout = _layout(layout)
    ts = []
    for t in tensor_list:
        if isinstance(t, Tensor):
            t = t.detach()
        else:
            t = e.tensor(t)
        ts.append(t.to(dtype=dtype or t.dtype, device=device or t.device))
    _pack_check(ts, layout)
    _warn_strided(layout)
    if requires_grad and not (ts[0].dtype.is_floating_point or ts[0].dtype.is_complex):
        raise RuntimeError("only Tensors of floating point dtype can require gradients")
    if layout is e.strided and len({tuple(t.shape[1:]) for t in ts}) > 1:
        return from_components(ts, layout, leaf_requires_grad=requires_grad)
    values, offsets = _pack(ts, layout)
    values = values.detach().clone()
    if requires_grad:
        values.requires_grad_()
    return make_nested(values, offsets, None, 1, layout)


def as_nested_tensor(ts, dtype=None, device=None, layout=None):
    """A nested tensor of the tensors in `ts` (a list, or a dense tensor whose first
    dimension is the batch) that stays connected to them by autograd."""
    e = _ember()
    layout = _layout(layout)
    if isinstance(ts, NestedTensor):
        if ts.layout is not layout:
            raise RuntimeError("as_nested_tensor(): converting between nested layouts is not "
                               "supported")
        return ts.to(dtype=dtype or ts.dtype, device=device or ts.device)
    if isinstance(ts, Tensor):
        if ts.dim() < 2:
            raise RuntimeError("as_nested_tensor(): Expected tensor argument to have dim > 1")
        B, L = ts.shape[0], ts.shape[1]
        values = ts.to(dtype=dtype or ts.dtype, device=device or ts.device).flatten(0, 1)
        return make_nested(values, _offsets_from_lengths([L] * B, values.device), None, 1,
                           layout)
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError("as_nested_tensor(): Expected first argument to be a tensor or a list "
                        "/ tuple of tensors ")
    ts = [t.to(dtype=dtype or t.dtype, device=device or t.device) for t in ts]
    _pack_check(ts, layout)
    if layout is e.strided and len({tuple(t.shape[1:]) for t in ts}) > 1:
        return from_components(ts, layout)
    values, offsets = _pack(ts, layout)
    return make_nested(values, offsets, None, 1, layout)


def nested_tensor_from_jagged(values, offsets=None, lengths=None, jagged_dim=None,
                              min_seqlen=None, max_seqlen=None):
    """A jagged nested tensor viewing `values`, split along dimension jagged_dim - 1 by
    `offsets` (B + 1 boundaries) or by `lengths` (then offsets are their cumulative sum);
    with both, component i is values[offsets[i]:offsets[i] + lengths[i]]."""
    e = _ember()
    if offsets is None:
        if lengths is None:
            raise RuntimeError("nested_tensor_from_jagged(): At least one of offsets or "
                               "lengths is required.")
        offsets = _offsets_from_lengths(np.asarray(lengths.cpu().numpy()), values.device)
        lengths = None
    if jagged_dim is None:
        jagged_dim = 1
    if jagged_dim < 1 or jagged_dim > values.dim():
        raise RuntimeError(f"nested_tensor_from_jagged(): jagged_dim {jagged_dim} is out of "
                           f"range for values of dim {values.dim()}")
    return make_nested(values, offsets, lengths, jagged_dim, e.jagged)


def to_padded_tensor(input, padding, output_size=None, out=None):
    """The dense tensor of the components, each padded with `padding` to the largest
    length (or to output_size)."""
    if out is not None:
        raise NotImplementedError("ember.nested.to_padded_tensor: out= is not supported")
    return _padded.to_padded_tensor(input, padding, output_size)


def narrow(tensor, dim, start, length, layout=None):
    """Components tensor[i].narrow(dim - 1, start[i], length[i]) of a dense tensor: for the
    jagged layout a view with holes (``lengths()`` is set), for the strided layout a copy
    (only dim=0, as PyTorch)."""
    e = _ember()
    layout = _layout(layout)
    if not isinstance(start, (int, Tensor)):
        raise RuntimeError("start must be an integer or a tensor")
    if not isinstance(length, (int, Tensor)):
        raise RuntimeError("length must be an integer or a tensor")
    if layout is e.strided:
        if isinstance(start, Tensor) or isinstance(length, Tensor):
            raise RuntimeError("start and length must be integers for the strided layout NT "
                               "impl")
        if dim != 0:
            raise RuntimeError(f"narrow(): only dim=0 supported for nested tensors, but got: "
                               f"{dim}")
        return as_nested_tensor(list(tensor.unbind(0))[start:start + length], layout=layout)
    if dim != 1:
        raise RuntimeError("jagged layout only supports dim=1")
    B, L = tensor.shape[0], tensor.shape[1]
    starts = np.broadcast_to(np.asarray(start.cpu().numpy() if isinstance(start, Tensor)
                                        else start, dtype=np.int64), (B,))
    lens = np.broadcast_to(np.asarray(length.cpu().numpy() if isinstance(length, Tensor)
                                      else length, dtype=np.int64), (B,))
    offs = np.arange(B, dtype=np.int64) * L + starts
    offs = np.concatenate((offs, offs[-1:] + lens[-1:]))
    values = tensor.flatten(0, 1)
    return make_nested(values, e.as_tensor(offs, device=tensor.device),
                       e.as_tensor(np.ascontiguousarray(lens), device=tensor.device), 1,
                       e.jagged)


def masked_select(tensor, mask):
    """The elements of `tensor` where `mask` is True, as a jagged nested tensor with one
    component per row of the last dimension."""
    e = _ember()
    if isinstance(tensor, NestedTensor):
        raise RuntimeError(f"torch.nested.masked_select requires a strided tensor, given "
                           f"{tensor.layout}")
    if isinstance(mask, NestedTensor):
        raise RuntimeError(f"torch.nested.masked_select requires a strided mask, given: "
                           f"{mask.layout}")
    values = tensor.masked_select(mask)
    lengths = mask.expand(tensor.shape).sum(dim=tensor.dim() - 1).reshape(-1)
    offsets = _offsets_from_lengths(np.asarray(lengths.cpu().numpy()), tensor.device)
    return make_nested(values, offsets, None, 1, e.jagged)
