"""PackedSequence and the pad/pack helpers (torch.nn.utils.rnn)."""
import functools
import math
from collections import namedtuple

import numpy as np

from ..._backend import array_namespace, as_array, like
from ..._tensor import Tensor
from ... import _torch_function as _tf

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"]


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                                   "unsorted_indices"])):
    """Sequences of different lengths packed time-major: at step t, the first
    batch_sizes[t] sequences (sorted by decreasing length) contribute a row of `data`."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, self.batch_sizes,
                                                         self.sorted_indices,
                                                         self.unsorted_indices)

    @property
    def is_cuda(self):
        return self.data.is_cuda


def _offered(fn):
    """`fn` offered first to the TorchFunctionModes and the overriding arguments."""
    @functools.wraps(fn)
    def public(*args, **kwargs):
        if (_tf._MODES_LIVE[0] or _tf._any_overriding(args, kwargs)) and \
                _tf._wanted(args, kwargs):
            return _tf.handle_torch_function(public, args + tuple(kwargs.values()), *args,
                                             **kwargs)
        return fn(*args, **kwargs)
    return public


def invert_permutation(perm):
    """The inverse of the 1-D permutation `perm` (None stays None): inv[perm[i]] = i."""
    if perm is None:
        return None
    inv = np.empty_like(perm._data)
    inv[perm._data] = array_namespace(perm._data).arange(perm._data.size)
    return Tensor._make(inv)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack the padded (T, B, *) (or (B, T, *)) `input` whose sequences have `lengths`.

    As PyTorch's: enforce_sorted=False first sorts the lengths and selects the batch in that
    order (index_select, so there too only the lengths given count); the packing then
    checks the lengths (1-D, one a sequence, positive, decreasing) and takes each step's
    rows up to the input's length -- a length past it is not refused: its batch_sizes
    entries stay, with no rows for them in `data` (PyTorch reads no further either)."""
    from ..._ops.joining import cat
    from ..._ops.creation import as_tensor
    from ..._ops.sorting import sort
    from ... import _dtype
    if not isinstance(lengths, Tensor):
        lengths = as_tensor(lengths, dtype=_dtype.int64)
    if enforce_sorted:
        sorted_indices = None
    else:
        lengths, sorted_indices = sort(lengths, descending=True)
        # on the input's device, as torch's (batch_sizes stays on the CPU)
        sorted_indices = Tensor._make(like(sorted_indices._data, input._data))
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if lengths.dim() != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lengths.dim()}D {lengths.device.type} "
                           f"{_dtype_word(lengths.dtype)} tensor")
    x = input.transpose(0, 1) if batch_first else input   # (T, B, *)
    batch_size = x.shape[1] if x.dim() > 1 else x.size(1)
    if x.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    lengths_np = np.asarray(lengths.tolist(), dtype=np.int64)
    if lengths_np.shape[0] != batch_size:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths_np.shape[0]} (batch_size={batch_size})")
    if lengths_np[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if np.any(np.diff(lengths_np) > 0):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                           "to pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    batch_sizes = np.array([(lengths_np > t).sum() for t in range(int(lengths_np[0]))],
                           dtype=np.int64)
    data = cat([x[t, :int(batch_sizes[t])] for t in range(min(len(batch_sizes), x.shape[0]))],
               0)
    return PackedSequence(data, Tensor._make(batch_sizes), sorted_indices)


def check_packed_rows(data, batch_sizes, reader):
    """PyTorch's refusal of a PackedSequence with fewer rows of data than its batch_sizes
    count (what pack_padded_sequence gives for lengths past the input's): as its unpacking
    (`reader` "pad": a run of steps of one batch size viewed) or its RNNs (one step's rows
    narrowed) meet it."""
    rows = data.shape[0]
    sizes = [int(b) for b in batch_sizes]
    if sum(sizes) <= rows:
        return
    offset, t = 0, 0
    while t < len(sizes):
        bs = sizes[t]
        n = 1
        if reader == "pad":
            while t + n < len(sizes) and sizes[t + n] == bs:
                n += 1
        if offset + n * bs > rows:
            if reader != "pad":
                raise RuntimeError(f"start ({offset}) + length ({bs}) exceeds dimension size "
                                   f"({rows}).")
            have = max(0, rows - offset) * math.prod(data.shape[1:])
            raise RuntimeError(f"shape '{[n, bs] + list(data.shape[1:])}' is invalid for input "
                               f"of size {have}")
        offset += n * bs
        t += n


def _dtype_word(dt):
    """A dtype as PyTorch's C++ checks name it (Long, Float ...)."""
    from ..._ops._util import dtype_name
    return dtype_name(dt)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    from ..._ops.joining import stack, cat
    from ..._ops.creation import full
    data, batch_sizes = sequence.data, sequence.batch_sizes._data
    B = int(batch_sizes[0])
    T = len(batch_sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {T}")
    steps, offset = [], 0
    tail = data.shape[1:]
    check_packed_rows(data, batch_sizes, "pad")
    for t in range(T):
        bs = int(batch_sizes[t])
        row = data[offset:offset + bs]
        if bs < B:
            row = cat([row, full((B - bs,) + tuple(tail), padding_value, dtype=data.dtype,
                                 device=data.device)], 0)
        steps.append(row)
        offset += bs
    for _ in range(T, total_length or T):
        steps.append(full((B,) + tuple(tail), padding_value, dtype=data.dtype,
                          device=data.device))
    out = stack(steps, 0)
    lengths = np.array([(batch_sizes > b).sum() for b in range(B)], dtype=np.int64)
    if sequence.unsorted_indices is not None:
        out = out[:, sequence.unsorted_indices]
        lengths = lengths[sequence.unsorted_indices._cpu_array()]  # lengths stay on the CPU
    if batch_first:
        out = out.transpose(0, 1)
    return out, Tensor._make(lengths)


# PyTorch runs both as operators (aten::_pack_padded_sequence, _pad_packed_sequence):
# a TorchFunctionMode (ember.export's trace) and tensor-like arguments see each call
# whole, so an export records one node that reads the lengths' values when it runs
pack_padded_sequence = _offered(pack_padded_sequence)
pad_packed_sequence = _offered(pad_packed_sequence)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack variable-length sequences (L_i, *) into (T, B, *) (or (B, T, *)), padded with
    `padding_value` on the right (or left). As PyTorch's, the result has the first
    sequence's dtype and trailing shape; each sequence is copied into its slot (so it
    broadcasts to that shape, and the graph holds CopySlices nodes)."""
    from ..._ops.creation import full
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    first = sequences[0]
    if first.dim() == 0:
        raise RuntimeError("ArrayRef: invalid slice, N = 1; size = 0")
    T = max(s.shape[0] for s in sequences)
    B = len(sequences)
    shape = (B, T) if batch_first else (T, B)
    out = full(shape + tuple(first.shape[1:]), padding_value, dtype=first.dtype,
               device=first.device)
    for i, s in enumerate(sequences):
        n = s.shape[0]
        start = 0 if padding_side == "right" else T - n
        slot = out.select(0, i).narrow(0, start, n) if batch_first else \
            out.narrow(0, start, n).select(1, i)
        slot.copy_(s)
    return out


def pack_sequence(sequences, enforce_sorted=True):
    from ..._ops.creation import tensor
    lengths = tensor([s.shape[0] for s in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(lengths.tolist())]


def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
