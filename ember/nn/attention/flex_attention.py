r"""FlexAttention (``torch.nn.attention.flex_attention``): attention whose scores a
Python function rewrites.

    s      = Q K^T * scale                          (B, Hq, L, S), scale = 1/sqrt(E)
    s'     = score_mod(s, b, h, q_idx, kv_idx)      at every position
    s''    = s'  where mask_mod(b, h, q_idx, kv_idx) else -inf
    out    = softmax(s'') V                         (B, Hq, L, Ev); a row masked
                                                    everywhere gives 0
    lse    = log sum_j exp(s''_j)                   (B, Hq, L); -inf for such a row

This is the computation PyTorch runs without torch.compile (its eager "math"
implementation), written with differentiable ember ops, so it runs on every device and
autograd reaches q, k, v and any tensor the score_mod captures (a learnable bias table)
— PyTorch's CPU kernel refuses inputs that require grad (NotImplementedError); ember
gives them the gradients PyTorch's own eager backward computes. Scores, score_mod,
softmax and lse work in float32 (float64 for float64 queries), the output in the query's
dtype. As PyTorch's eager implementation, only the BlockMask's mask_mod decides what is
masked: its block lists (what compiled kernels skip) are not read. The masks, BlockMask
and create_block_mask live in _flex_masks.py.
"""
import math
import typing
import warnings
from typing import NamedTuple, TypedDict

import ember
from ..._autocast import _eligible as _autocast_eligible
from ..._tensor import Tensor
from ._flex_masks import (  # noqa: F401  (PyTorch's module exposes these names)
    BlockMask, _DEFAULT_SPARSE_BLOCK_SIZE, _LARGE_SPARSE_BLOCK_SIZE, _ModificationType,
    _create_empty_block_mask, _dense_to_ordered, _get_mod_type, _identity,
    _mask_mod_signature, _ordered_to_dense, _score_mod_signature, _sliced_mask_mod_error,
    _transpose_ordered, _vmap_for_bhqkv, _evaluate_mod, _index_grid, and_masks,
    create_block_mask, create_mask, noop_mask, or_masks)

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions",
           "create_block_mask", "create_mask", "or_masks", "and_masks", "noop_mask"]

# PyTorch's switch for running mods uncompiled (to debug them); ember never compiles
_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = False

_Backend = typing.Literal["AUTO", "TRITON", "FLASH", "TRITON_DECODE"]


class FlexKernelOptions(TypedDict, total=False):
    """Tuning options of PyTorch's fused kernels (BLOCK_M, BLOCK_N, num_warps,
    num_stages, PRESCALE_QK, ROWS_GUARANTEED_SAFE, BACKEND, ...). ember checks BACKEND as
    PyTorch does and otherwise ignores them: it has one implementation."""
    num_warps: int
    num_stages: int
    BLOCK_M: int
    BLOCK_N: int
    BLOCK_M1: int
    BLOCK_N1: int
    BLOCK_M2: int
    BLOCK_N2: int
    PRESCALE_QK: bool
    ROWS_GUARANTEED_SAFE: bool
    BLOCKS_ARE_CONTIGUOUS: bool
    WRITE_DQ: bool
    FORCE_USE_FLEX_ATTENTION: bool
    USE_TMA: bool
    kpack: int
    matrix_instr_nonkdim: int
    waves_per_eu: int
    BACKEND: _Backend


class AuxRequest(NamedTuple):
    """Which auxiliary outputs flex_attention returns (return_aux=)."""
    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """The auxiliary outputs asked for (None where not asked)."""
    lse: typing.Optional[Tensor] = None
    max_scores: typing.Optional[Tensor] = None


_WARNINGS_SHOWN = set()


def _warn_once(warning_id, message, category=UserWarning):
    if warning_id not in _WARNINGS_SHOWN:
        warnings.warn(message, category, stacklevel=3)
        _WARNINGS_SHOWN.add(warning_id)


def _check_inputs(query, key, value, block_mask, enable_gqa):
    """PyTorch's checks of flex_attention's arguments, in its order and words."""
    for t in (query, key, value):
        if getattr(t, "is_nested", False):
            raise NotImplementedError(
                "flex_attention does not support NestedTensor inputs, including "
                "torch.compile(flex_attention) with jagged NestedTensor inputs. "
                "Convert inputs to dense tensors before calling flex_attention.")
    if query.device != key.device or query.device != value.device:
        raise ValueError(f"Expected query, key, and value to have the same device type, but got "
                         f"query.device: {query.device}, key.device: {key.device}, and "
                         f"value.device: {value.device} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise ValueError(f"Expected query, key, and value to all be  at least 2 dimensional, but "
                         f"got query.dim: {query.dim()}, key.dim: {key.dim()} and value.dim: "
                         f"{value.dim()} instead.")
    if query.size(-1) != key.size(-1):
        raise ValueError(f"Expect query and key/value to have the same embedding dimension but "
                         f"got E={query.size(-1)} and E={key.size(-1)}.")
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")
    if not enable_gqa and query.size(-3) != key.size(-3):
        raise ValueError(f"Expect query and key/value to have the same number of heads but got "
                         f"Hq={query.size(-3)} and Hkv={key.size(-3)}. Try setting "
                         f"enable_gqa=True for GQA.")
    if enable_gqa and query.size(1) % key.size(1) != 0:
        raise ValueError(f"Expect number of query heads to be a multiple of kv heads for GQA but "
                         f"got Hq={query.size(1)} and Hkv={key.size(1)}.")
    if query.size(0) != key.size(0):
        if block_mask is None:
            raise ValueError(f"Expect query and key/value to have the same batch size, or "
                             f"non-none block_mask, but got block_mask=None, "
                             f"Bq={query.size(0)}, and Bkv={key.size(0)}.")
        if block_mask.kv_num_blocks.size(0) != query.size(0):
            raise ValueError(f"Expect query and key/value to have the same batch size, or "
                             f"block_mask and query to have the same batch size, but got "
                             f"Bq={query.size(0)}, Bkv={key.size(0)}, "
                             f"B_block_mask={block_mask.kv_num_blocks.size(0)}.")


def _check_block_mask(block_mask, query, key):
    """The BlockMask was made for these lengths (PyTorch's errors otherwise)."""
    if getattr(block_mask, "mask_mod", None) is _sliced_mask_mod_error:
        raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")
    if block_mask.BLOCK_SIZE[0] == _LARGE_SPARSE_BLOCK_SIZE and \
            block_mask.BLOCK_SIZE[1] == _LARGE_SPARSE_BLOCK_SIZE:
        return   # the "no mask" BlockMask fits every length
    q_len, kv_len = block_mask.shape[-2], block_mask.shape[-1]
    L, S = query.size(-2), key.size(-2)
    if L > q_len or S > kv_len:
        raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got "
                         f"q_len={L} and kv_len={S}. As the block mask was created for a smaller "
                         f"length than you're using it for, you likely need to create a new "
                         f"block mask.")
    if (L < q_len and S <= kv_len) or (L <= q_len and S < kv_len):
        raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got "
                         f"q_len={L} and kv_len={S}. As the block mask was created for a larger "
                         f"length than you're using it for, you can either 1. create a new block "
                         f"mask with the correct length, or 2. 'adjust' the existing block mask "
                         f"to the correct length by calling block_mask._adjust(q_len, kv_len). "
                         f"This essentially 'crops' the block mask to the upper left corner, "
                         f"which does not work for all mask_mods!")
    if query.device != block_mask.kv_num_blocks.device:
        raise RuntimeError(f"Expect q/k/v and block_mask to be on the same device but got "
                           f"{query.device} and {block_mask.kv_num_blocks.device}.")


def _check_kernel_options(kernel_options, return_aux):
    """PyTorch's checks of kernel_options (the options themselves change nothing here)."""
    options = {} if kernel_options is None else dict(kernel_options)
    if "BACKEND" in options and options.get("FORCE_USE_FLEX_ATTENTION", False):
        raise RuntimeError("BACKEND cannot be combined with legacy FORCE_USE_FLEX_ATTENTION. "
                           "BACKEND supersedes the legacy knob; please drop "
                           "FORCE_USE_FLEX_ATTENTION and only specify the desired BACKEND.")
    if "BACKEND" in options and options["BACKEND"] not in typing.get_args(_Backend):
        raise ValueError(f"Invalid BACKEND value '{options['BACKEND']}'. Must be one of "
                         f"{typing.get_args(_Backend)}")
    if "OUTPUT_LOGSUMEXP" in options:
        raise AssertionError("OUTPUT_LOGSUMEXP must not be in kernel_options")
    if "OUTPUT_MAX" in options:
        raise AssertionError("OUTPUT_MAX must not be in kernel_options")
    if options.get("BACKEND") == "FLASH" and return_aux is not None and return_aux.max_scores:
        raise NotImplementedError("Returning max scores is not supported with BACKEND='FLASH'. "
                                  "Use return_aux=AuxRequest(lse=True) or omit max_scores.")


def _query_layout(out, query):
    """`out` laid out in memory as the query is (PyTorch's eager implementation copies its
    result into the query's stride order, the last dim kept innermost), so that views of
    the output that work in PyTorch (heads transposed back and merged) work here."""
    strides = query.stride()
    # dims from innermost to outermost; equal strides: the inner dim first
    fill = sorted(range(4), key=lambda d: (strides[d], -d))
    if fill[0] != 3:
        fill.remove(3)
        fill = [3] + fill
    outer_to_inner = fill[::-1]
    if outer_to_inner == [0, 1, 2, 3]:
        return out
    inverse = [outer_to_inner.index(d) for d in range(4)]
    return out.permute(outer_to_inner).contiguous().permute(inverse)


def flex_attention(query, key, value, score_mod=None, block_mask=None, scale=None,
                   enable_gqa=False, return_lse=False, kernel_options=None, *, return_aux=None):
    r"""Scaled dot-product attention with the scores rewritten by `score_mod` and masked
    by `block_mask`'s mask_mod (see the module docstring for the math).

    query (B, Hq, L, E), key (B, Hkv, S, E), value (B, Hkv, S, Ev) -> (B, Hq, L, Ev) in the
    query's dtype (key and value may be of lower precision). score_mod(score, b, h, q_idx,
    kv_idx) gets int64 indices, h the query head; enable_gqa shares each key/value head
    among Hq/Hkv query heads. A key/value batch of 1 serves a larger query batch when a
    block_mask of the query's batch is given. scale defaults to 1/sqrt(E).

    Returns out; (out, lse) with the deprecated return_lse=True; (out, AuxOutput) with
    return_aux=AuxRequest(lse=..., max_scores=...): lse (B, Hq, L) the natural-log
    log-sum-exp of each row of masked scores, max_scores its maximum (both float32, float64
    for float64 queries; -inf for a row masked everywhere). kernel_options are checked
    and otherwise ignored.
    """
    _check_inputs(query, key, value, block_mask, enable_gqa)
    if score_mod is None:
        score_mod = _identity
    if block_mask is None:
        block_mask = _create_empty_block_mask(query, key)
    _check_block_mask(block_mask, query, key)
    if scale is None:
        scale = 1.0 / math.sqrt(query.size(-1))
    if return_lse and return_aux is not None:
        raise ValueError("Cannot specify both return_lse and return_aux. return_lse is "
                         "deprecated, please use return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        _warn_once("deprecated_return_lse", "return_lse is deprecated and will be removed in "
                   "v2.10. Please use return_aux=AuxRequest(lse=True) instead.", FutureWarning)
    _check_kernel_options(kernel_options, return_aux)
    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    want_max = return_aux is not None and return_aux.max_scores

    device_type = query.device.type
    if ember.is_autocast_enabled(device_type):
        # as PyTorch's operator under autocast: q, k, v in the autocast dtype, then the
        # same math (float32 scores) with autocast off
        low = ember.get_autocast_dtype(device_type)
        query, key, value = (t.to(low) if _autocast_eligible(t, device_type) else t
                             for t in (query, key, value))
        with ember.autocast(device_type, enabled=False):
            out, lse, max_scores = _flex_math(query, key, value, score_mod,
                                              block_mask.mask_mod, scale, want_lse, want_max)
    else:
        out, lse, max_scores = _flex_math(query, key, value, score_mod, block_mask.mask_mod,
                                          scale, want_lse, want_max)
    out = _query_layout(out, query)
    # PyTorch's implementation returns the statistics in base 2 and its front end
    # multiplies them back by ln 2: the same two roundings here, for the same bits
    ln2 = math.log(2.0)
    lse = lse / ln2 * ln2 if lse is not None and lse.numel() > 0 else None
    max_scores = max_scores / ln2 * ln2 if max_scores is not None and max_scores.numel() > 0 \
        else None
    if return_aux is not None:
        return out, AuxOutput(lse=lse, max_scores=max_scores)
    if return_lse:
        return out, lse
    return out


def _flex_math(query, key, value, score_mod, mask_mod, scale, want_lse, want_max):
    """out, lse (or None), max_scores (or None) of flex attention, with differentiable ops."""
    working = ember.float64 if query.dtype == ember.float64 else ember.float32
    groups = query.size(1) // key.size(1)
    if groups > 1:
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    Bq, Bkv = query.size(0), key.size(0)
    if not (Bq == Bkv or (Bq > 1 and Bkv == 1)):
        raise RuntimeError(f"Bq and Bkv must broadcast. Got Bq={Bq} and Bkv={Bkv}")
    key = key.expand((Bq, *key.shape[1:]))
    value = value.expand((Bq, *value.shape[1:]))

    if key.size(-2) == 0:   # PyTorch's max over each (empty) row of scores
        raise IndexError("max(): Expected reduction dim 3 to have non-zero size.")
    scores = query.to(working) @ key.to(working).transpose(-2, -1)
    scores = (scores * scale).to(working)
    grid = tuple(scores.shape)
    idx = _index_grid(*grid, scores.device)
    post = scores if score_mod is _identity else _evaluate_mod(score_mod, idx, scores)
    if mask_mod is not noop_mask:
        mask = _evaluate_mod(mask_mod, idx)
        post = ember.where(mask, post, ember.tensor(-math.inf, dtype=working,
                                                    device=scores.device))
    if tuple(post.shape) != grid:   # a mod that ignores the score (and some index)
        post = post.expand(grid)

    dead = (post == -math.inf).all(dim=-1, keepdim=True)   # rows masked everywhere
    lse = max_scores = None
    if want_lse:
        lse = ember.where(dead.squeeze(-1), -math.inf, post.logsumexp(dim=-1))
    if want_max:
        with ember.no_grad():   # PyTorch marks it non-differentiable
            max_scores = post.amax(dim=-1)
    # such a row's softmax would be NaN (and its gradient too): 0 there, as PyTorch
    weights = ember.where(dead, 0.0, ember.softmax(ember.where(dead, 0.0, post), dim=-1))
    out = weights.to(query.dtype) @ value.to(query.dtype)
    return out, lse, max_scores
