"""ember.nn.attention.bias (``torch.nn.attention.bias``): causal masks as attention biases.

``causal_upper_left(L, S)`` and ``causal_lower_right(L, S)`` make a CausalBias, a Tensor
holding the (L, S) bool mask of allowed positions, which F.scaled_dot_product_attention
takes as its attn_mask:

    upper left   position i may attend j <= i              (is_causal=True's mask)
    lower right  position i may attend j <= i + (S - L)    (the last query sees every key)

The two differ only when L != S, as in decoding, where the queries are the last L of the
S positions. The attention call hands itself to CausalBias._dispatch (see
_ops/attention.py), which runs it as is_causal=True where that is the same mask and with
the materialized mask otherwise, as PyTorch's does on the CPU.
"""
import warnings
from enum import IntEnum

import numpy as np

from ..._tensor import Tensor
from ..._torch_function import _disabled_torch_function_impl

__all__ = ["CausalVariant", "CausalBias", "causal_upper_left", "causal_lower_right"]


class CausalVariant(IntEnum):
    """Which corner of the (L, S) score matrix the causal triangle is aligned to."""
    UPPER_LEFT = 1
    LOWER_RIGHT = 2


class CausalBias(Tensor):
    """A causal attention bias of `variant` for `seq_len_q` queries and `seq_len_kv` keys;
    as a Tensor, its (seq_len_q, seq_len_kv) bool mask, which it prints as."""
    __torch_function__ = _disabled_torch_function_impl

    def __new__(cls, variant, seq_len_q, seq_len_kv):
        if variant == CausalVariant.LOWER_RIGHT and seq_len_q > seq_len_kv:
            warnings.warn("Lower right causal bias will produce NaNs in the output when "
                          "seq_len_q > seq_len_kv!", UserWarning, stacklevel=3)
        bias = cls._make(_mask(variant, seq_len_q, seq_len_kv))
        bias.variant, bias.seq_len_q, bias.seq_len_kv = variant, seq_len_q, seq_len_kv
        return bias

    def __init__(self, variant, seq_len_q, seq_len_kv):
        pass   # (set up by __new__)

    def _upper_left(self, device):
        return Tensor._make(_mask(CausalVariant.UPPER_LEFT, self.seq_len_q,
                                  self.seq_len_kv)).to(device)

    def _lower_right(self, device):
        return Tensor._make(_mask(CausalVariant.LOWER_RIGHT, self.seq_len_q,
                                  self.seq_len_kv)).to(device)

    def _materialize(self, device=None):
        """The bool mask as a plain Tensor (on `device`, the CPU by default)."""
        if device is None:
            device = "cpu"
        if self.variant == CausalVariant.UPPER_LEFT:
            return self._upper_left(device)
        return self._lower_right(device)

    @staticmethod
    def _dispatch(query, key, value, attn_mask, dropout_p=0.0, is_causal=False, scale=None,
                  enable_gqa=False):
        """scaled_dot_product_attention with this bias as attn_mask."""
        from ..._ops.attention import scaled_dot_product_attention as sdpa
        if is_causal:
            raise ValueError("CausalBias should not be used with causal=True")
        if attn_mask.seq_len_q == attn_mask.seq_len_kv \
                or attn_mask.variant == CausalVariant.UPPER_LEFT:
            return sdpa(query, key, value, None, dropout_p, True, scale, enable_gqa)
        if attn_mask.variant == CausalVariant.LOWER_RIGHT:
            return sdpa(query, key, value, attn_mask._materialize(query.device), dropout_p,
                        False, scale, enable_gqa)
        raise ValueError(f"CausalBias.variant must be a CausalVariant type, but found: "
                         f"{attn_mask.variant}")

    def __repr__(self):
        return self._materialize().__repr__()


def _mask(variant, seq_len_q, seq_len_kv):
    offset = seq_len_kv - seq_len_q if variant == CausalVariant.LOWER_RIGHT else 0
    return np.tril(np.ones((seq_len_q, seq_len_kv), dtype=bool), k=offset)


def causal_upper_left(*size):
    """The upper-left causal bias of size (seq_len_q, seq_len_kv)."""
    if len(size) != 2:
        raise AssertionError("causal_upper_left only supports 2D tensors")
    seq_len_q, seq_len_kv = size
    return CausalBias(CausalVariant.UPPER_LEFT, seq_len_q, seq_len_kv)


def causal_lower_right(*size):
    """The lower-right causal bias of size (seq_len_q, seq_len_kv)."""
    if len(size) != 2:
        raise AssertionError("causal_lower_right only supports 2D tensors")
    seq_len_q, seq_len_kv = size
    return CausalBias(CausalVariant.LOWER_RIGHT, seq_len_q, seq_len_kv)
