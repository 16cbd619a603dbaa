"""ATen's fused transformer kernels that scripted ``nn.MultiheadAttention`` and
``nn.TransformerEncoderLayer`` call on their inference fast path, composed from ember ops.

``torch._native_multi_head_attention`` and ``torch._transformer_encoder_layer_fwd`` run
in one kernel what the modules' slow path runs op by op; here they are written as that
slow path (batch-first inputs, eval mode: no dropout), so the results agree to rounding.

A scripted ``nn.TransformerEncoder`` in eval mode with a key padding mask and no gradient
to record runs its layers on a nested tensor (``torch._nested_tensor_from_mask``) and pads
the result back (``torch.to_padded_tensor``): the fused layer takes ember's nested tensor
and runs on its padded rows with the padding masked out of attention.
"""
import math


def _F():
    from ..nn import functional
    return functional


def native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight, qkv_bias,
                                proj_weight, proj_bias, mask=None, need_weights=True,
                                average_attn_weights=True, mask_type=None):
    """softmax(Q K^T / sqrt(d) + mask) V per head, then the output projection.

    query (B, L, E), key/value (B, S, E); qkv_weight (3E, E) stacks W_q, W_k, W_v.
    mask_type 0: `mask` is an (L, S) attention mask, 1: a (B, S) key padding mask,
    2: already (B, H, L, S)-broadcastable; a bool mask is True where attention is barred.
    Returns (output (B, L, E), weights (B, L, S) averaged over heads, or (B, H, L, S),
    or None when not `need_weights`).
    """
    F = _F()
    B, L, E = query.shape
    S = key.shape[1]
    H, D = num_head, embed_dim // num_head
    w_q, w_k, w_v = qkv_weight[:E], qkv_weight[E:2 * E], qkv_weight[2 * E:]
    b_q = b_k = b_v = None
    if qkv_bias is not None:
        b_q, b_k, b_v = qkv_bias[:E], qkv_bias[E:2 * E], qkv_bias[2 * E:]
    q = F.linear(query, w_q, b_q).view(B, L, H, D).transpose(1, 2)
    k = F.linear(key, w_k, b_k).view(B, S, H, D).transpose(1, 2)
    v = F.linear(value, w_v, b_v).view(B, S, H, D).transpose(1, 2)
    scores = q.matmul(k.transpose(-2, -1)) / math.sqrt(D)
    if mask is not None:
        if mask_type == 1:
            mask = mask.view(B, 1, 1, S)
        elif mask_type == 0 and mask.dim() == 2:
            mask = mask.view(1, 1, L, S)
        if mask.dtype.is_floating_point:
            scores = scores + mask
        else:
            scores = scores.masked_fill(mask, float("-inf"))
    attn = scores.softmax(-1)
    out = attn.matmul(v).transpose(1, 2).reshape(B, L, E)
    out = F.linear(out, proj_weight, proj_bias)
    if not need_weights:
        return out, None
    return out, attn.mean(1) if average_attn_weights else attn


def transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight,
                                  proj_bias, use_gelu, norm_first, eps, norm_weight_1,
                                  norm_bias_1, norm_weight_2, norm_bias_2, ffn_weight_1,
                                  ffn_bias_1, ffn_weight_2, ffn_bias_2, mask=None,
                                  mask_type=None):
    """One TransformerEncoderLayer in eval mode: x + SelfAttention(x) and x + FFN(x), each
    with LayerNorm before (`norm_first`) or after; FFN = W2 act(W1 x + b1) + b2 with act
    GELU (`use_gelu`) or ReLU."""
    F = _F()

    def self_attention(x):
        return native_multi_head_attention(x, x, x, embed_dim, num_heads, qkv_weight, qkv_bias,
                                           proj_weight, proj_bias, mask, False, True,
                                           mask_type)[0]

    def feed_forward(x):
        h = F.linear(x, ffn_weight_1, ffn_bias_1)
        h = F.gelu(h) if use_gelu else F.relu(h)
        return F.linear(h, ffn_weight_2, ffn_bias_2)

    if getattr(src, "is_nested", False):
        # the nested input of PyTorch's encoder (see nested_from_mask): the layer runs on
        # the padded rows with the padding masked out of attention, the rows cut back
        dense, pad, lengths = _padded_with_mask(src)
        out = transformer_encoder_layer_fwd(
            dense, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, use_gelu,
            norm_first, eps, norm_weight_1, norm_bias_1, norm_weight_2, norm_bias_2,
            ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2, pad, 1)
        return _nested().as_nested_tensor([out[b, :n] for b, n in enumerate(lengths)])
    shape = (embed_dim,)
    if norm_first:
        x = src + self_attention(F.layer_norm(src, shape, norm_weight_1, norm_bias_1, eps))
        return x + feed_forward(F.layer_norm(x, shape, norm_weight_2, norm_bias_2, eps))
    x = F.layer_norm(src + self_attention(src), shape, norm_weight_1, norm_bias_1, eps)
    return F.layer_norm(x + feed_forward(x), shape, norm_weight_2, norm_bias_2, eps)


# ------------------------------------------------------------------ the encoder's nested path

def _nested():
    from .. import nested
    return nested


def _row_lengths(keep):
    """The number of True entries of each row of a (B, S) bool mask."""
    return [int(n) for n in keep.sum(1).tolist()]


def nested_left_aligned(src, keep):
    """aten::_nested_tensor_from_mask_left_aligned: whether each row of `keep` (True for
    a token) is a run of Trues followed by Falses."""
    k = keep.bool()
    return bool((k[:, 1:] <= k[:, :-1]).all()) if k.dim() == 2 else False


def nested_from_mask(src, keep, mask_check=True):
    """aten::_nested_tensor_from_mask: the nested tensor of each row's first tokens, as
    many as the row of `keep` holds (a left-aligned mask)."""
    if mask_check and not nested_left_aligned(src, keep):
        raise RuntimeError("Mask Check: Mask is not left aligned")
    rows = [src[b, :n] for b, n in enumerate(_row_lengths(keep.bool()))]
    return _nested().as_nested_tensor(rows)


def _padded_with_mask(nt):
    """(the padded dense tensor, its (B, S) padding mask, the row lengths) of a nested
    tensor of (length, E) rows."""
    import ember
    rows = nt.unbind()
    lengths = [r.shape[0] for r in rows]
    dense = _nested().to_padded_tensor(nt, 0.0)
    positions = ember.arange(dense.shape[1], device=dense.device)
    pad = positions.unsqueeze(0) >= ember.tensor(lengths, device=dense.device).unsqueeze(1)
    return dense, pad, lengths


def to_padded_tensor(nt, padding, output_size=None):
    """aten::to_padded_tensor."""
    return _nested().to_padded_tensor(nt, padding, output_size)
