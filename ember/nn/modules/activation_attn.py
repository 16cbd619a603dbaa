"""MultiheadAttention (torch.nn.MultiheadAttention), with PyTorch's parameter names."""
from ..._ops.creation import empty
from ..._ops.attention import (multi_head_attention_forward, canonical_mask,
                               self_attention_batch_first)
from .. import init
from ..parameter import Parameter
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under another name: MultiheadAttention.out_proj (PyTorch's repr shows it)."""


class MultiheadAttention(Module):
    r"""MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,
    head_i = softmax(Q W_i^Q (K W_i^K)^T / sqrt(d)) V W_i^V.

    Shapes: query (L, N, E) (or (N, L, E) with batch_first, or unbatched (L, E)), key
    (S, N, kdim), value (S, N, vdim) -> output (L, N, E) and weights (N, L, S).
    Parameters: in_proj_weight (3E, E) when kdim == vdim == E, else q_proj_weight (E, E),
    k_proj_weight (E, kdim), v_proj_weight (E, vdim); in_proj_bias (3E,); out_proj (Linear);
    bias_k, bias_v (1, 1, E) with add_bias_kv. Init: xavier_uniform_ projections, zero
    biases, xavier_normal_ bias_k/bias_v.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        factory = {"device": device, "dtype": dtype}
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty((3 * embed_dim, embed_dim), **factory))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(empty((embed_dim, embed_dim), **factory))
            self.k_proj_weight = Parameter(empty((embed_dim, self.kdim), **factory))
            self.v_proj_weight = Parameter(empty((embed_dim, self.vdim), **factory))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        **factory)
        if add_bias_kv:
            self.bias_k = Parameter(empty((1, 1, embed_dim), **factory))
            self.bias_v = Parameter(empty((1, 1, embed_dim), **factory))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        if query.is_nested or key.is_nested or value.is_nested:
            from ...nested._attention import multihead_attention
            return multihead_attention(self, query, key, value, key_padding_mask, need_weights,
                                       attn_mask, average_attn_weights)
        is_batched = query.dim() == 3
        float_mask = any(m is not None and m.is_floating_point()
                         for m in (attn_mask, key_padding_mask))
        key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask",
                                          attn_mask.dtype if attn_mask is not None else None,
                                          "attn_mask", query.dtype)
        attn_mask = canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, False)
        if (self.batch_first and is_batched and query is key is value and not need_weights
                and attn_mask is None and key_padding_mask is None and not is_causal
                and self._qkv_same_embed_dim and self.bias_k is None and not self.add_zero_attn
                and query.shape[-1] == self.embed_dim):
            # the common self-attention layer, kept batch-first (no transposed copies)
            out = self_attention_batch_first(
                query, self.num_heads, self.in_proj_weight, self.in_proj_bias,
                self.out_proj.weight, self.out_proj.bias, self.dropout if self.training else 0.0)
            return out, None
        if self.batch_first and is_batched:
            # keep self-attention's operands one tensor: the in-projection is then one GEMM
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = (x.transpose(1, 0) for x in (query, key))
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and is_batched:
            out = out.transpose(1, 0)
            if (attn_mask is not None or key_padding_mask is not None) and not float_mask \
                    and self._fast_path(query, key, value):
                out = nan_where_all_masked(out, attn_mask, key_padding_mask, self.num_heads)
        return out, weights

    def _fast_path(self, query, key, value):
        """Whether PyTorch would run this call through its fused inference kernel
        (torch._native_multi_head_attention): its conditions, given a batched batch-first
        call without floating-point masks."""
        from ...backends import mha
        if not mha.get_fastpath_enabled() or not (query is key is value):
            return False
        if self.in_proj_bias is None or self.in_proj_weight is None or self.training:
            return False
        if query.dtype != self.in_proj_bias.dtype or query.dtype != self.in_proj_weight.dtype:
            return False
        if self.num_heads % 2 or self.bias_k is not None or self.bias_v is not None \
                or self.add_zero_attn or not self._qkv_same_embed_dim:
            return False
        return fused_inference_allowed((query, self.in_proj_weight, self.in_proj_bias,
                                        self.out_proj.weight, self.out_proj.bias))


def fused_inference_allowed(tensors):
    """The conditions on the operands that PyTorch's fused attention/encoder kernels share
    (the first of `tensors` is the input): no autocast, CPU or CUDA tensors, and no
    gradient to record."""
    from ... import _autocast
    from ...autograd import grad_mode
    if _autocast.is_autocast_enabled(tensors[0].device.type):
        return False
    if any(t.device.type not in ("cpu", "cuda") for t in tensors):
        return False
    return not (grad_mode.is_grad_enabled() and any(t.requires_grad for t in tensors))


def nan_where_all_masked(out, attn_mask, key_padding_mask, num_heads):
    """PyTorch's fused attention kernel gives NaN for a query whose every key is masked
    (the slow path's attention gives 0 there, so its output is out_proj's bias): the rows
    of batch-first `out` (N, L, E) where, in some head, the merged masks (canonical: -inf
    where barred) bar every key become NaN."""
    from ..._ops.pointwise import where
    N, L = out.shape[0], out.shape[1]
    barred = None
    if attn_mask is not None:           # (L, S) or (N * H, L, S) -> (1 or N, 1 or H, L, S)
        S = attn_mask.shape[-1]
        shape = (1, 1, L, S) if attn_mask.dim() == 2 else (N, num_heads, L, S)
        barred = (attn_mask == float("-inf")).reshape(shape)
    if key_padding_mask is not None:    # (N, S) -> (N, 1, 1, S)
        padded = (key_padding_mask == float("-inf")).reshape(N, 1, 1, -1)
        barred = padded if barred is None else barred | padded
    rows = barred.all(-1).any(1).expand(N, L)
    if not bool(rows.any()):
        return out
    return where(rows.unsqueeze(-1), float("nan"), out)
