"""The padded dense form of a nested tensor, and back.

Ops that mix the rows of one component (attention, softmax or a reduction over the ragged
dim) run on the dense (B, ..., max length, ...) tensor whose padding they mask or that
drops out of them (zeros for sums, -inf for softmax and maxima), and the rows that belong
to components are gathered back. Both directions are one index_select, so autograd
reaches the values through them.
"""
import numpy as np

from ._nested_tensor import NestedTensor, make_nested
from ._components import to_padded_list


def _ember():
    import ember
    return ember


def _F():
    from ..nn import functional
    return functional


def _is_nt(x):
    return isinstance(x, NestedTensor)


def _rows(nt):
    """For the rows of the components laid end to end: each row's component b and its
    position t in it (NumPy arrays), and the lengths and offsets."""
    lens = nt._lengths_array()
    offs = nt._offsets_array()[:-1]
    bids = np.repeat(np.arange(len(lens)), lens)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64)
    pos = np.arange(int(lens.sum())) - np.repeat(starts, lens)
    return bids, pos, lens, offs


def _index(arr, like):
    e = _ember()
    return e.as_tensor(np.ascontiguousarray(arr, dtype=np.int64), device=like.device)


def to_padded_tensor(nt, padding, output_size=None):
    """The public to_padded_tensor: to_padded with the strided layout's refusal."""
    if _is_nt(nt) and nt._is_strided() and not nt.is_contiguous():
        raise RuntimeError("for now to_padded_tensor only supports contiguous nested tensor")
    return to_padded(nt, padding, output_size)


def to_padded(nt, padding, output_size=None):
    """The dense (B, ..., max length, ...) tensor holding each component, the rest filled
    with `padding`; differentiable (one index_select of the values)."""
    e = _ember()
    if not _is_nt(nt):
        raise NotImplementedError(
            "Could not run 'aten::to_padded_tensor' with arguments from the 'CPU' backend.")
    if nt._comps is not None:
        return to_padded_list(nt, padding, output_size)
    if nt._lengths is not None:
        raise RuntimeError("to_padded_tensor(): not supported for nested tensors with holes")
    r = nt._ragged_idx
    vals = nt._values.movedim(r - 1, 0)   # (S, rest...)
    lens = nt._lengths_array()
    offs = nt._offsets_array()[:-1]
    B = len(lens)
    L = int(lens.max()) if B else 0
    if output_size is not None:
        # PyTorch's jagged kernel reads only the ragged dim's entry: the padded length (the
        # components are cut to it when it is shorter); the other entries are ignored (the
        # strided kernel pads the other dims too, below)
        if len(output_size) != nt.dim():
            raise RuntimeError("Length of output_size does not match NestedTensor dims. "
                               "Broadcasting is not supported.")
        L = int(output_size[r])
    S = vals.shape[0]
    pos = np.arange(L)
    idx = np.where(pos[None, :] < lens[:, None], offs[:, None] + pos[None, :], S)
    pad_row = e.full((1,) + tuple(vals.shape[1:]), padding, dtype=vals.dtype,
                     device=vals.device)
    ext = e.cat([vals, pad_row], 0)
    out = ext.index_select(0, _index(idx.reshape(-1), vals))
    out = out.reshape((B, L) + tuple(vals.shape[1:])).movedim(1, r)
    if output_size is not None and nt._is_strided():
        # the strided kernel pads every dim to output_size
        spec = []
        for have, want in zip(reversed(out.shape), reversed(tuple(output_size))):
            if want < have:
                raise RuntimeError("Value in output_size is less than NestedTensor padded "
                                   "size. Truncation is not supported.")
            spec += [0, want - have]
        if any(spec):
            out = _F().pad(out, spec, value=padding)
    return out


def from_padded(padded, like):
    """The values of a nested tensor shaped as `like` from a padded dense tensor (the
    inverse of to_padded, made contiguous): a nested tensor with like's offsets."""
    r = like._ragged_idx
    bids, pos, lens, _ = _rows(like)
    p = padded.movedim(r, 1)   # (B, L, rest...)
    B, L = p.shape[0], p.shape[1]
    flat = p.reshape((B * L,) + tuple(p.shape[2:]))
    vals = flat.index_select(0, _index(bids * L + pos, flat)).movedim(0, r - 1)
    offsets = like._offsets
    if like._lengths is not None:   # the gathered values have no holes
        e = _ember()
        offsets = e.as_tensor(np.concatenate(([0], np.cumsum(lens))), device=vals.device)
    return make_nested(vals, offsets, None, r, like._nested_layout)
