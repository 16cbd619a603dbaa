"""The masks of FlexAttention (``torch.nn.attention.flex_attention``'s BlockMask side).

A *mask_mod* ``mask_mod(b, h, q_idx, kv_idx) -> bool`` says whether query position
``q_idx`` of batch ``b``, head ``h`` may attend to key position ``kv_idx``; a *score_mod*
``score_mod(score, b, h, q_idx, kv_idx) -> score`` rewrites one attention score. PyTorch
calls them on 0-d index tensors under four nested ``vmap``s; ember first calls them once on
broadcast index tensors b (B,1,1,1), h (1,H,1,1), q_idx (1,1,L,1), kv_idx (1,1,1,S), which
gives the same values for the elementwise functions people write (comparisons,
arithmetic, ``torch.where``, indexing a table by the indices) at the cost of one call, and
falls back to ember.vmap when that call fails, returns a shape that cannot be the
(B, H, L, S) grid (a function written for scalars, e.g. ``table[h][q_idx]``), or differs
from vmap's values at the grid's corners (a reduction, e.g. ``w[h].sum()``; checked once
per function).

A BlockMask stores a boolean (L, S) mask of each (batch, head) by blocks of
Q_BLOCK_SIZE x KV_BLOCK_SIZE positions, in PyTorch's layout: for each row of query blocks,
``kv_num_blocks`` counts the key blocks that hold some allowed position and
``kv_indices`` lists them first (then the other blocks, ascending); ``full_kv_*`` does the
same for the blocks where every position is allowed (those are then not in ``kv_*``), and
``q_*``/``full_q_*`` are the transposes (rows of key blocks). All int32, values equal to
PyTorch's. Attention itself reads only the mask_mod (as PyTorch's eager implementation
does); the block lists are what compiled kernels skip work with.
"""
import enum
import functools
import inspect
import itertools
import operator
import warnings
import weakref
from typing import Callable

import numpy as np

import ember
from ..._tensor import Tensor

_score_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]
_mask_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]

_DEFAULT_SPARSE_BLOCK_SIZE = 128
# the block size of the default "no mask" BlockMask: one block covering everything
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30


class _ModificationType(enum.Enum):
    """A function of 5 positional arguments is a score_mod, of 4 a mask_mod."""
    SCORE_MOD = 1
    MASK_MOD = 2
    UNKNOWN = 3


def _get_mod_type(fn):
    """SCORE_MOD or MASK_MOD from the number of positional arguments without defaults
    (AssertionError for any other number, as PyTorch)."""
    code = getattr(fn, "__code__", None)
    if code is not None:
        n = code.co_argcount - len(getattr(fn, "__defaults__", None) or ())
    else:
        n = sum(1 for p in inspect.signature(fn).parameters.values()
                if p.default is inspect.Parameter.empty)
    if n not in (4, 5):
        raise AssertionError(f"Expected 4 or 5 positional args, got {n}")
    return _ModificationType.SCORE_MOD if n == 5 else _ModificationType.MASK_MOD


def _identity(score, batch, head, token_q, token_kv):
    """The score_mod that changes nothing."""
    return score


def noop_mask(batch, head, token_q, token_kv):
    """The mask_mod that allows every position."""
    return batch.new_ones(size=(), dtype=ember.bool, device=batch.device)


def _sliced_mask_mod_error(batch, head, token_q, token_kv):
    """The mask_mod of a sliced BlockMask: slicing forgets the mask_mod (PyTorch's error)."""
    raise RuntimeError(
        "Cannot use mask_mod from a sliced BlockMask. When you slice a BlockMask using [], "
        "the mask_mod attribute is reset. You must set it from the original BlockMask's "
        "mask_mod.\n\nIncorrect usage:\n  base_mask = create_block_mask(my_mask_fn, ...)\n"
        "  sliced_mask = base_mask[:, :, block_idx]\n"
        "  sliced_mask.mask_mod = apply_offset(sliced_mask.mask_mod, offset)  # WRONG!\n\n"
        "Correct usage:\n  base_mask = create_block_mask(my_mask_fn, ...)\n"
        "  sliced_mask = base_mask[:, :, block_idx]\n"
        "  sliced_mask.mask_mod = apply_offset(base_mask.mask_mod, offset)  # Use base_mask!")


def or_masks(*mask_mods):
    """The mask_mod allowing a position when any of `mask_mods` allows it."""
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b, h, q_idx, kv_idx):
        result = b.new_zeros((), dtype=ember.bool)
        for mask in mask_mods:
            result = result | mask(b, h, q_idx, kv_idx)
        return result
    return or_mask


def and_masks(*mask_mods):
    """The mask_mod allowing a position when all of `mask_mods` allow it."""
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b, h, q_idx, kv_idx):
        result = b.new_ones((), dtype=ember.bool)
        for mask in mask_mods:
            result = result & mask(b, h, q_idx, kv_idx)
        return result
    return and_mask


# ---------------------------------------------------------------------------------------
# evaluating a mod on the (B, H, L, S) grid

def _vmap_for_bhqkv(fn, prefix, suffix=(), out_dims=0, group_dim=False):
    """`fn` vmapped over the b, h, q_idx, kv_idx arguments (innermost kv_idx first), as
    PyTorch evaluates mods: `prefix` gives the in_dims of the arguments before them (0 for
    a score), `suffix` of those after (None for captured buffers). group_dim adds a map
    over a grouped-head dim (b, hkv, g, q_idx, kv_idx)."""
    dims = [(None, None, None, 0), (None, None, 0, None), (None, 0, None, None)]
    if group_dim:
        dims.append((None, 0, None, None))
    dims.append((0, None, None, None))
    for d in dims:
        fn = ember.vmap(fn, in_dims=tuple(prefix) + d + tuple(suffix), out_dims=out_dims)
    return fn


def _index_grid(B, H, L, S, device):
    """int64 index tensors b, h, q_idx, kv_idx (1-D, as PyTorch passes them to vmap)."""
    return tuple(ember.arange(0, n, device=device) for n in (B, H, L, S))


def _evaluate_mod(fn, idx, score=None):
    """fn(score, b, h, q_idx, kv_idx) (score_mod) or fn(b, h, q_idx, kv_idx) (mask_mod,
    score None) at every point of the grid of the 1-D index tensors `idx`; the result
    broadcasts to (B, H, L, S) (it may be smaller: a mask_mod of q_idx and kv_idx alone
    gives (1, 1, L, S)). Broadcast index tensors first, vmap when that fails (see the
    module docstring)."""
    full = tuple(len(i) for i in idx)
    grid = tuple(i.view(tuple(-1 if d == k else 1 for d in range(4))) for k, i in enumerate(idx))
    args = grid if score is None else (score,) + grid
    try:
        out = fn(*args)
        if isinstance(out, Tensor) and out.dim() <= 4 and \
                tuple(np.broadcast_shapes(tuple(out.shape), full)) == full and \
                _broadcast_agrees(fn, idx, score, out):
            return out
    except Exception:   # a function written for scalar indices: PyTorch's vmap below
        pass
    return _vmapped(fn, score)(*_with_score(score, idx))


def _vmapped(fn, score):
    return _vmap_for_bhqkv(fn, prefix=() if score is None else (0,))


def _with_score(score, idx):
    return tuple(idx) if score is None else (score,) + tuple(idx)


# fn -> whether its broadcast evaluation gives what vmap gives (checked once per function)
_BROADCAST_VERDICTS = weakref.WeakKeyDictionary()


def _broadcast_agrees(fn, idx, score, out):
    """Whether `out`, fn's value on broadcast indices, equals fn under vmap at the corners
    of the grid (the first and last index of each dim). A function can run on broadcast
    indices and still mean something else there, e.g. a reduction (``w[h].sum()`` sums
    every head's row at once); the corners catch such functions, which then go through
    vmap. A function vmap cannot run keeps its broadcast value."""
    try:
        verdict = _BROADCAST_VERDICTS.get(fn)
    except TypeError:   # not weakly referable: checked each time
        verdict = None
    if verdict is not None:
        return verdict
    full = tuple(len(i) for i in idx)
    if 0 in full:
        return True
    corners = [ember.tensor(sorted({0, n - 1}), device=out.device) for n in full]
    with ember.no_grad():
        got = out.expand(full)
        picked = score.expand(full) if score is not None else None
        for d, c in enumerate(corners):
            got = got.index_select(d, c)
            picked = picked.index_select(d, c) if picked is not None else None
        try:
            expected = _vmapped(fn, picked)(*_with_score(picked, tuple(
                i.index_select(0, c) for i, c in zip(idx, corners))))
        except Exception:
            expected = None
        verdict = expected is None or (
            isinstance(expected, Tensor) and expected.dtype == got.dtype and
            tuple(expected.shape) == tuple(got.shape) and
            bool(ember.allclose(expected.double(), got.double(), rtol=1e-6, atol=1e-7,
                                equal_nan=True)))
    try:
        _BROADCAST_VERDICTS[fn] = verdict
    except TypeError:
        pass
    return verdict


def create_mask(mod_fn, B, H, Q_LEN, KV_LEN, device=None):
    """The dense (B, H, Q_LEN, KV_LEN) bool mask of a mask_mod (True: may attend), or of a
    score_mod (True where it leaves the score of 0 finite). B or H None means 1. device
    defaults to the current accelerator, else the CPU."""
    device = _default_device(device)
    B = 1 if B is None else B
    H = 1 if H is None else H
    idx = _index_grid(B, H, Q_LEN, KV_LEN, device)
    if _get_mod_type(mod_fn) == _ModificationType.SCORE_MOD:
        out = _evaluate_mod(mod_fn, idx, ember.zeros(B, H, Q_LEN, KV_LEN, device=device))
        out = out.expand(B, H, Q_LEN, KV_LEN)
        return ember.where(ember.isneginf(out), False, True)
    mask = _evaluate_mod(mod_fn, idx)
    return mask.expand(B, H, Q_LEN, KV_LEN).clone()


def _default_device(device):
    if device is None:
        device = ember.accelerator.current_accelerator() or "cpu"
    return device


# ---------------------------------------------------------------------------------------
# block layouts

def _ordered_to_dense(num_blocks_in_row, col_indices, num_cols):
    """The 0/1 int32 (..., rows, num_cols) matrix whose row r has ones at the first
    num_blocks_in_row[r] entries of col_indices[r]."""
    max_entries = col_indices.shape[-1]
    valid = ember.arange(max_entries, device=col_indices.device) < num_blocks_in_row.unsqueeze(-1)
    # entries past the count go to one extra column, dropped at the end
    cols = ember.where(valid, col_indices.long(), num_cols)
    dense = ember.zeros(tuple(col_indices.shape[:-1]) + (num_cols + 1,), dtype=ember.int32,
                        device=col_indices.device)
    dense.scatter_(-1, cols, 1)
    return dense[..., :num_cols].contiguous()


def _dense_to_ordered(dense_mask):
    """(counts, indices) of a 0/1 matrix's rows: the count of ones, and the column indices
    with the ones first (ascending), then the zeros (ascending); both int32."""
    dense_mask = dense_mask.to(dtype=ember.int32)
    num_blocks_in_row = dense_mask.sum(dim=-1)
    col_indices = ember.argsort(dense_mask, dim=-1, descending=True, stable=True)
    return (num_blocks_in_row.to(ember.int32).contiguous(),
            col_indices.to(ember.int32).contiguous())


def _transpose_ordered(num_blocks_in_row, col_indices):
    """The (counts, indices) of the transposed block matrix (rows of key blocks)."""
    dense = _ordered_to_dense(num_blocks_in_row, col_indices, col_indices.shape[-1])
    return _dense_to_ordered(dense.transpose(-2, -1))


def _adjust_num_blocks_and_indices(num_blocks, indices, new_num_rows, new_num_cols):
    """Crop a (counts, indices) pair to the first rows and columns: the counts become
    the number of kept indices below each old count."""
    indices = indices[:, :, :new_num_rows, :new_num_cols]
    num_blocks = num_blocks[:, :, :new_num_rows]
    num_blocks = ember.where(num_blocks < new_num_cols, num_blocks, new_num_cols)
    num_blocks = ember.sum(indices < num_blocks[:, :, :, None], dim=-1).to(ember.int32)
    return num_blocks, indices


def _round_up_to_multiple(x, multiple):
    return (x + multiple - 1) // multiple * multiple


def _convert_mask_to_block_mask(mask, Q_BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE,
                                KV_BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE,
                                separate_full_blocks=False):
    """A dense bool mask (.., Q, KV) -> int8 (B, H, Q/QB, KV/KVB) block matrices: with
    separate_full_blocks, (partial, full) (partial: some but not all positions allowed),
    else (any allowed, None). The mask is padded with False to whole blocks."""
    if mask.dtype != ember.bool:
        raise AssertionError(f"mask.dtype must be {ember.bool}, got {mask.dtype}")
    while mask.dim() < 4:
        mask = mask.unsqueeze(0)
    pad_kv = _round_up_to_multiple(mask.shape[-1], KV_BLOCK_SIZE) - mask.shape[-1]
    pad_q = _round_up_to_multiple(mask.shape[-2], Q_BLOCK_SIZE) - mask.shape[-2]
    mask = ember.nn.functional.pad(mask, (0, pad_kv, 0, pad_q))
    B, H, Q, KV = mask.shape
    mask = mask.view(B, H, Q // Q_BLOCK_SIZE, Q_BLOCK_SIZE, KV // KV_BLOCK_SIZE, KV_BLOCK_SIZE)
    counts = mask.permute(0, 1, 2, 4, 3, 5).sum(dim=[-2, -1])
    if separate_full_blocks:
        whole = Q_BLOCK_SIZE * KV_BLOCK_SIZE
        full = counts == whole
        partial = (counts > 0) & (counts < whole)
        return partial.to(dtype=ember.int8), full.to(dtype=ember.int8)
    return (counts > 0).to(dtype=ember.int8), None


# ---------------------------------------------------------------------------------------

class BlockMask:
    r"""A block-sparse attention mask (see the module docstring for the layout).

    Fields: ``seq_lengths`` (Q_LEN, KV_LEN); ``kv_num_blocks`` (B, H, Q_BLOCKS) and
    ``kv_indices`` (B, H, Q_BLOCKS, KV_BLOCKS) for the partly allowed blocks;
    ``full_kv_num_blocks``/``full_kv_indices`` (or None) for the wholly allowed ones;
    ``q_num_blocks``/``q_indices``/``full_q_*``: the same by key-block rows;
    ``BLOCK_SIZE`` (Q_BLOCK_SIZE, KV_BLOCK_SIZE); ``mask_mod``. ``dq_write_order``,
    ``dq_write_order_full``, ``dq_kv_order``, ``dq_kv_order_spt`` (metadata of PyTorch's
    deterministic flash backward) are carried as given, never computed.
    """

    _TENSOR_ATTRS = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices",
                     "q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices",
                     "dq_write_order", "dq_write_order_full", "dq_kv_order"]
    _CONTEXT_ATTRS = ["seq_lengths", "BLOCK_SIZE", "mask_mod", "dq_kv_order_spt"]

    def __init__(self, seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks,
                 full_kv_indices, q_num_blocks, q_indices, full_q_num_blocks, full_q_indices,
                 BLOCK_SIZE=(_DEFAULT_SPARSE_BLOCK_SIZE, _DEFAULT_SPARSE_BLOCK_SIZE),
                 mask_mod=noop_mask, *, dq_write_order=None, dq_write_order_full=None,
                 dq_kv_order=None, dq_kv_order_spt=None):
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if kv_num_blocks is None:
            raise AssertionError("kv_num_blocks must be provided")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided "
                                 "or omitted")
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError("full_q_num_blocks and full_q_indices must be both provided "
                                 "or omitted")
        if dq_write_order_full is not None and dq_write_order is None:
            raise ValueError("dq_write_order_full requires dq_write_order")
        self.seq_lengths = seq_lengths
        self.kv_num_blocks = kv_num_blocks
        self.kv_indices = kv_indices
        self.full_kv_num_blocks = full_kv_num_blocks
        self.full_kv_indices = full_kv_indices
        self.q_num_blocks = q_num_blocks
        self.q_indices = q_indices
        self.full_q_num_blocks = full_q_num_blocks
        self.full_q_indices = full_q_indices
        self.dq_write_order = dq_write_order
        self.dq_write_order_full = dq_write_order_full
        self.dq_kv_order = dq_kv_order
        self.dq_kv_order_spt = dq_kv_order_spt
        self.BLOCK_SIZE = BLOCK_SIZE
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks, kv_indices, full_kv_num_blocks=None,
                       full_kv_indices=None, BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE,
                       mask_mod=None, seq_lengths=None, compute_q_blocks=True, *,
                       dq_write_order=None, dq_write_order_full=None, dq_kv_order=None):
        """A BlockMask from its key-block lists; the query-block lists are their
        transposes (when compute_q_blocks). BLOCK_SIZE an int means square blocks;
        seq_lengths defaults to the block counts times the block sizes."""
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided "
                                 "or omitted")
        q_num_blocks = q_indices = full_q_num_blocks = full_q_indices = None
        if compute_q_blocks:
            q_num_blocks, q_indices = _transpose_ordered(kv_num_blocks, kv_indices)
            if full_kv_num_blocks is not None:
                full_q_num_blocks, full_q_indices = _transpose_ordered(full_kv_num_blocks,
                                                                       full_kv_indices)
        if isinstance(BLOCK_SIZE, int):
            BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE)
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * BLOCK_SIZE[0],
                           kv_indices.shape[-1] * BLOCK_SIZE[1])
        if dq_kv_order is not None and not isinstance(dq_kv_order, (bool, Tensor)):
            raise ValueError("dq_kv_order must be a bool, Tensor, or None")
        return cls(seq_lengths=seq_lengths, kv_num_blocks=kv_num_blocks, kv_indices=kv_indices,
                   full_kv_num_blocks=full_kv_num_blocks, full_kv_indices=full_kv_indices,
                   q_num_blocks=q_num_blocks, q_indices=q_indices,
                   full_q_num_blocks=full_q_num_blocks, full_q_indices=full_q_indices,
                   BLOCK_SIZE=BLOCK_SIZE, mask_mod=noop_mask if mask_mod is None else mask_mod,
                   dq_write_order=dq_write_order, dq_write_order_full=dq_write_order_full,
                   dq_kv_order=dq_kv_order if isinstance(dq_kv_order, Tensor) else None,
                   dq_kv_order_spt=dq_kv_order if isinstance(dq_kv_order, bool) else None)

    def as_tuple(self, flatten=True):
        """The fields as one tuple (PyTorch's order); flatten splits seq_lengths and
        BLOCK_SIZE into their two ints."""
        if flatten:
            seq, block = tuple(self.seq_lengths), tuple(self.BLOCK_SIZE)
        else:
            seq, block = (self.seq_lengths,), (self.BLOCK_SIZE,)
        return (*seq, self.kv_num_blocks, self.kv_indices, self.full_kv_num_blocks,
                self.full_kv_indices, self.q_num_blocks, self.q_indices,
                self.full_q_num_blocks, self.full_q_indices, self.dq_write_order,
                self.dq_write_order_full, self.dq_kv_order, self.dq_kv_order_spt, *block,
                self.mask_mod)

    @property
    def shape(self):
        """(batch dims..., Q_LEN, KV_LEN), a tuple."""
        return tuple(self.kv_indices.shape[:-2]) + tuple(self.seq_lengths)

    def __str__(self):
        return (f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n"
                f"{self.to_string().strip()}\n)")

    def __repr__(self):
        def shape_or_none(x):
            return None if x is None else x.shape
        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return (f"BlockMask(\n"
                f"    kv_num_blocks={self.kv_num_blocks.shape},\n"
                f"    kv_indices={self.kv_indices.shape},\n"
                f"    full_kv_num_blocks={shape_or_none(self.full_kv_num_blocks)},\n"
                f"    full_kv_indices={shape_or_none(self.full_kv_indices)},\n"
                f"    q_num_blocks={shape_or_none(self.q_num_blocks)},\n"
                f"    q_indices={shape_or_none(self.q_indices)},\n"
                f"    full_q_num_blocks={shape_or_none(self.full_q_num_blocks)},\n"
                f"    full_q_indices={shape_or_none(self.full_q_indices)},\n"
                f"    BLOCK_SIZE={self.BLOCK_SIZE},\n"
                f"    shape={self.shape},\n"
                f"    sparsity={self.sparsity():.2f}%,\n"
                f"    mask_mod={name}\n"
                f")")

    def __getitem__(self, index):
        """The BlockMask of some batches, heads and query-block rows: `index` applies to
        the first three dims of the block lists. An int keeps its dim (a slice of one),
        as PyTorch; the result's mask_mod raises when called (slicing cannot know it)."""
        if self.dq_kv_order is not None:
            raise NotImplementedError("Slicing BlockMask with tensor dq_kv_order is not "
                                      "supported yet. Construct a new BlockMask with matching "
                                      "precomputed dq_write_order metadata.")
        if self.dq_write_order is not None:
            raise NotImplementedError("slicing a BlockMask with dq_write_order metadata: ember "
                                      "does not compute dq write orders")
        index = index if isinstance(index, tuple) else (index,)
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        sizes = self.kv_num_blocks.shape[:3]
        if len(sizes) != len(padded):
            raise ValueError(f"zip() argument 2 is shorter than argument 1: a BlockMask of "
                             f"{len(sizes)} block dims cannot take 3 indices")
        index = tuple(_int_as_slice(i, n) for i, n in zip(padded, sizes))
        full = (None, None) if self.full_kv_num_blocks is None else \
            (self.full_kv_num_blocks[index], self.full_kv_indices[index])
        sliced = BlockMask.from_kv_blocks(
            self.kv_num_blocks[index], self.kv_indices[index], *full,
            BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=_sliced_mask_mod_error,
            seq_lengths=self.seq_lengths, compute_q_blocks=self.q_indices is not None)
        sliced.dq_kv_order_spt = self.dq_kv_order_spt
        return sliced

    def _adjust(self, new_q_len, new_kv_len):
        """The mask cropped (or kept) to new lengths: the upper-left corner of the block
        lists, with the same mask_mod."""
        if self.dq_kv_order is not None:
            raise NotImplementedError("Adjusting BlockMask with tensor dq_kv_order is not "
                                      "supported yet. Construct a new BlockMask with matching "
                                      "precomputed dq_write_order metadata.")
        rows = (new_q_len + self.BLOCK_SIZE[0] - 1) // self.BLOCK_SIZE[0]
        cols = (new_kv_len + self.BLOCK_SIZE[1] - 1) // self.BLOCK_SIZE[1]
        kv = _adjust_num_blocks_and_indices(self.kv_num_blocks, self.kv_indices, rows, cols)
        full = (None, None) if self.full_kv_num_blocks is None else \
            _adjust_num_blocks_and_indices(self.full_kv_num_blocks, self.full_kv_indices,
                                           rows, cols)
        return self.from_kv_blocks(*kv, *full, BLOCK_SIZE=self.BLOCK_SIZE,
                                   mask_mod=self.mask_mod, seq_lengths=(new_q_len, new_kv_len),
                                   compute_q_blocks=self.q_indices is not None)

    def numel(self):
        """The number of positions of the mask (not counting sparsity)."""
        return functools.reduce(operator.mul, self.shape, 1)

    def sparsity(self):
        """The percentage of positions in blocks that are skipped (neither partial nor
        full): 100 * (1 - blocks * block area / numel)."""
        computed = self.kv_num_blocks.sum()
        if self.full_kv_num_blocks is not None:
            computed = computed + self.full_kv_num_blocks.sum()
        computed_size = computed.item() * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1]
        return 100 * (1 - computed_size / self.numel())

    def to_dense(self):
        """The int32 (..., Q_BLOCKS, KV_BLOCKS) 0/1 matrix of the blocks computed
        (partial or full)."""
        dense = _ordered_to_dense(self.kv_num_blocks, self.kv_indices, self.kv_indices.shape[-1])
        if self.full_kv_num_blocks is not None:
            return dense | _ordered_to_dense(self.full_kv_num_blocks, self.full_kv_indices,
                                             self.full_kv_indices.shape[-1])
        return dense

    def to_string(self, grid_size=(20, 20), limit=4):
        """A picture of the block matrix of each (batch, head), at most `limit` of them:
        each cell (a group of blocks when there are more than grid_size) is two
        characters, '█' all computed, ' ' none, '░' some. grid_size -1: one cell per block."""
        dense = self.to_dense().cpu().numpy()
        *batch_dims, num_rows, num_cols = dense.shape
        if isinstance(grid_size, int) and grid_size != -1:
            max_rows = max_cols = grid_size
        elif grid_size == -1:
            max_rows, max_cols = num_rows, num_cols
        else:
            max_rows, max_cols = grid_size
        row_step = max(1, -(-num_rows // max_rows))
        col_step = max(1, -(-num_cols // max_cols))

        def picture(batch_idx):
            vis = f"{batch_idx}\n"
            grid = dense[batch_idx]
            for r in range(0, num_rows, row_step):
                for c in range(0, num_cols, col_step):
                    share = grid[r:r + row_step, c:c + col_step].astype(np.float32).mean()
                    vis += ("█" if share == 1 else " " if share == 0 else "░") * 2
                vis += "\n"
            return vis

        parts = []
        for n, batch_idx in enumerate(itertools.product(*[range(i) for i in batch_dims])):
            if n == limit:
                parts += ["...", "To print out more, set BlockMask.to_string(limit=N)",
                          "You can also index (BlockMask[batch, head]) to choose a specific "
                          "batch or head"]
                break
            parts.append(picture(batch_idx))
        return "\n".join(parts)

    def to(self, device):
        """A new BlockMask with every block list moved to `device`."""
        moved = {a: None if getattr(self, a) is None else getattr(self, a).to(device)
                 for a in self._TENSOR_ATTRS}
        return BlockMask(seq_lengths=self.seq_lengths, **moved, BLOCK_SIZE=self.BLOCK_SIZE,
                         mask_mod=self.mask_mod, dq_kv_order_spt=self.dq_kv_order_spt)


def _int_as_slice(i, n):
    """An int index as the slice of length one at it (negative counted from n)."""
    if isinstance(i, int) and not isinstance(i, bool):
        return slice(i + n, i + n + 1) if -n <= i < 0 else slice(i, i + 1)
    return i


def _create_sparse_block_from_block_mask(block_mask, mask_mod, seq_lengths,
                                         Q_BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE,
                                         KV_BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE):
    """A BlockMask from (partial, full-or-None) 0/1 block matrices."""
    partial, full = block_mask
    full_lists = (None, None) if full is None else _dense_to_ordered(full)
    return BlockMask.from_kv_blocks(*_dense_to_ordered(partial), *full_lists,
                                    BLOCK_SIZE=(Q_BLOCK_SIZE, KV_BLOCK_SIZE),
                                    mask_mod=mask_mod, seq_lengths=seq_lengths)


def create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN, device=None,
                      BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE, _compile=False,
                      separate_full_blocks=True, compute_dq_write_order=False,
                      dq_kv_order=True):
    r"""The BlockMask of `mask_mod` over (B, H, Q_LEN, KV_LEN) (B or H None: 1, broadcast
    over every batch/head): the dense mask from create_mask, cut into BLOCK_SIZE blocks
    (an int, or (Q_BLOCK_SIZE, KV_BLOCK_SIZE)); with separate_full_blocks, the wholly
    allowed blocks go to full_kv_* and only the partly allowed ones to kv_*. device
    defaults to the current accelerator, else the CPU. `_compile` is deprecated (a
    DeprecationWarning; nothing is compiled in ember). compute_dq_write_order=True
    (metadata for PyTorch's deterministic flash backward) raises NotImplementedError."""
    device = _default_device(device)
    if _get_mod_type(mask_mod) != _ModificationType.MASK_MOD:
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    B = 1 if B is None else B
    H = 1 if H is None else H
    if isinstance(BLOCK_SIZE, int):
        q_block = kv_block = BLOCK_SIZE
    else:
        q_block, kv_block = BLOCK_SIZE
    if _compile:
        warnings.warn("_compile flag on create_block_mask was originally added to work around a "
                      "torch.compile limitation. That limitation has since been addressed. So, "
                      "to compile create_block_mask, we suggest doing "
                      "torch.compile(create_block_mask). This still works for now, but will be "
                      "removed in the future.", DeprecationWarning, stacklevel=2)
    if not isinstance(dq_kv_order, bool):
        raise ValueError("dq_kv_order must be a bool when using create_block_mask")
    if compute_dq_write_order:
        raise NotImplementedError("create_block_mask(compute_dq_write_order=True): the dq write "
                                  "order of PyTorch's deterministic flash backward is not "
                                  "computed by ember (its attention needs none)")
    mask = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)
    blocks = _convert_mask_to_block_mask(mask, Q_BLOCK_SIZE=q_block, KV_BLOCK_SIZE=kv_block,
                                         separate_full_blocks=separate_full_blocks)
    return _create_sparse_block_from_block_mask(blocks, mask_mod, (Q_LEN, KV_LEN),
                                                q_block, kv_block)


def _create_empty_block_mask(query, key):
    """The BlockMask flex_attention uses when given none: one block covering everything."""
    device = query.device
    return BlockMask.from_kv_blocks(
        kv_num_blocks=ember.ones([1, 1, 1], dtype=ember.int32, device=device),
        kv_indices=ember.zeros([1, 1, 1, 1], dtype=ember.int32, device=device),
        BLOCK_SIZE=_LARGE_SPARSE_BLOCK_SIZE, seq_lengths=(1, 1))
