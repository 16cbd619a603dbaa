"""The quantizable MultiheadAttention (torch.ao.nn.quantizable.MultiheadAttention):
nn.MultiheadAttention with its input projections as three Linear layers (linear_Q, linear_K,
linear_V) and out_proj a plain Linear, so that eager ``prepare`` observes them and
``convert`` quantizes them.

    q, k, v = linear_Q(query) * head_dim**-0.5, linear_K(key), linear_V(value)
              (the scaling through the FloatFunctional q_scaling_product)
    -- dequant_q/k/v: the attention itself runs in float --
    weights = softmax(q k^T + masks);  out = weights v      (per head)
    -- quant_attn_output / quant_attn_output_weights: back to quantized --
    out_proj(out), weights averaged over the heads when asked

Static (precomputed) keys and values and ``is_causal`` are not supported (as PyTorch).
Module names and state_dict keys are PyTorch's; the inherited in_proj_weight / in_proj_bias
stay registered but unused (the quantized module drops them).
"""
import warnings

import ember
from ember import nn
from ember.nn import functional as F

__all__ = ["MultiheadAttention"]


class MultiheadAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention's arguments and call; see the module docstring."""

    _FLOAT_MODULE = nn.MultiheadAttention
    __constants__ = ["batch_first"]

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        # Imported here: ember.ao.quantization imports ember.ao.nn while it loads.
        from ember.ao.nn.quantized.modules.functional_modules import FloatFunctional
        from ember.ao.quantization.stubs import DeQuantStub, QuantStub
        factory = {"device": device, "dtype": dtype}
        super().__init__(embed_dim, num_heads, dropout, bias, add_bias_kv, add_zero_attn,
                         kdim, vdim, batch_first, **factory)
        self.linear_Q = nn.Linear(self.embed_dim, self.embed_dim, bias=bias, **factory)
        self.linear_K = nn.Linear(self.kdim, self.embed_dim, bias=bias, **factory)
        self.linear_V = nn.Linear(self.vdim, self.embed_dim, bias=bias, **factory)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=bias, **factory)
        self.q_scaling_product = FloatFunctional()
        self.quant_attn_output = QuantStub()
        self.quant_attn_output_weights = QuantStub()
        self.dequant_q = DeQuantStub()
        self.dequant_k = DeQuantStub()
        self.dequant_v = DeQuantStub()

    def _get_name(self):
        return "QuantizableMultiheadAttention"

    @classmethod
    def from_float(cls, other):
        """The quantizable twin of nn.MultiheadAttention ``other`` (its weights, bias_k/v
        and qconfig), prepared in eval mode."""
        from ember.ao.quantization.quantize import prepare
        if type(other) is not cls._FLOAT_MODULE:
            raise AssertionError(f"Expected type {cls._FLOAT_MODULE}, got {type(other)}")
        if not hasattr(other, "qconfig"):
            raise AssertionError("The float module must have 'qconfig'")
        observed = cls(other.embed_dim, other.num_heads, other.dropout,
                       other.in_proj_bias is not None, other.bias_k is not None,
                       other.add_zero_attn, other.kdim, other.vdim, other.batch_first)
        observed.bias_k = other.bias_k
        observed.bias_v = other.bias_v
        observed.qconfig = other.qconfig
        observed.out_proj.weight = other.out_proj.weight
        observed.out_proj.bias = other.out_proj.bias
        E = other.embed_dim
        rows = (slice(0, E), slice(E, 2 * E), slice(2 * E, None))
        linears = (observed.linear_Q, observed.linear_K, observed.linear_V)
        if other._qkv_same_embed_dim:
            weights = [other.in_proj_weight[r, :] for r in rows]
        else:
            weights = [other.q_proj_weight, other.k_proj_weight, other.v_proj_weight]
        same = other._qkv_same_embed_dim
        for linear, weight, r in zip(linears, weights, rows):
            # PyTorch keeps requires_grad only for slices of in_proj_weight
            linear.weight = nn.Parameter(weight, weight.requires_grad if same else True)
            bias = other.in_proj_bias
            linear.bias = None if bias is None else nn.Parameter(
                bias[r], bias.requires_grad if same else True)
        observed.eval()
        return prepare(observed, inplace=True)

    def dequantize(self):
        """A float copy of this (quantized) module, of class ``_FLOAT_MODULE`` (as PyTorch):
        weights dequantized, the Q/K/V projections written back into in_proj_weight /
        in_proj_bias. Those writes are in-place writes into leaf parameters that require
        grad, so with a bias or equal q/k/v dims this raises RuntimeError, as in PyTorch."""
        fp = self._FLOAT_MODULE(self.embed_dim, self.num_heads, self.dropout,
                                self.linear_Q._weight_bias()[1] is not None,
                                self.bias_k is not None, self.add_zero_attn, self.kdim,
                                self.vdim, self.batch_first)
        if fp._qkv_same_embed_dim != self._qkv_same_embed_dim:
            raise AssertionError(f"_qkv_same_embed_dim mismatch: {fp._qkv_same_embed_dim} != "
                                 f"{self._qkv_same_embed_dim}")
        if self.bias_k is not None:
            fp.bias_k = nn.Parameter(self.bias_k.dequantize())
        if self.bias_v is not None:
            fp.bias_v = nn.Parameter(self.bias_v.dequantize())
        w, b = self.out_proj._weight_bias()
        fp.out_proj.weight = nn.Parameter(w.dequantize())
        if b is not None:
            fp.out_proj.bias = nn.Parameter(b)
        parts = [lin._weight_bias() for lin in (self.linear_Q, self.linear_K, self.linear_V)]
        weights = [w.dequantize() for w, _ in parts]
        biases = [b for _, b in parts]
        E = fp.embed_dim
        rows = (slice(0, E), slice(E, 2 * E), slice(2 * E, None))
        if fp._qkv_same_embed_dim:
            for name, weight, bias, r in zip("QKV", weights, biases, rows):
                fp.in_proj_weight[r, :] = weight
                if fp.in_proj_bias is not None:
                    # PyTorch asserts the projections' biases are zero here
                    if not all(bias == 0):
                        raise AssertionError(f"Expected all b{name} elements to be 0")
                    fp.in_proj_bias[r] = bias
        else:
            fp.q_proj_weight = nn.Parameter(weights[0])
            fp.k_proj_weight = nn.Parameter(weights[1])
            fp.v_proj_weight = nn.Parameter(weights[2])
            if fp.in_proj_bias is None:
                self.linear_Q.bias = self.linear_K.bias = self.linear_V.bias = None
            else:
                for bias, r in zip(biases, rows):
                    fp.in_proj_bias[r] = bias
        return fp

    @classmethod
    def from_observed(cls, other):
        raise NotImplementedError("It looks like you are trying to prepare an MHA module. "
                                  "Please, see the examples on quantizable MHAs.")

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """(attn_output, attn_output_weights or None), shapes as nn.MultiheadAttention
        (batched inputs only)."""
        return self._forward_impl(query, key, value, key_padding_mask, need_weights,
                                  attn_mask, average_attn_weights, is_causal)

    def _forward_impl(self, query, key, value, key_padding_mask=None, need_weights=True,
                      attn_mask=None, average_attn_weights=True, is_causal=False):
        if attn_mask is not None and is_causal:
            raise AssertionError("Only allow causal mask or attn_mask")
        if is_causal:
            raise AssertionError("causal mask not supported by AO MHA module")
        if self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        tgt_len, bsz, embed_dim = query.size()
        if self.embed_dim != embed_dim:
            raise AssertionError(f"embed_dim mismatch: {self.embed_dim} != {embed_dim}")
        if key.size(0) != value.size(0) or key.size(1) != value.size(1):
            raise AssertionError(f"key and value size mismatch: key.size()={key.size()}, "
                                 f"value.size()={value.size()}")
        heads = self.num_heads
        head_dim = self.embed_dim // heads
        if head_dim * heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")

        q = self.q_scaling_product.mul_scalar(self.linear_Q(query), float(head_dim) ** -0.5)
        k = self.linear_K(key)
        v = self.linear_V(value)

        attn_mask = self._checked_attn_mask(attn_mask, query.size(0), key.size(0), bsz)
        if key_padding_mask is not None and key_padding_mask.dtype == ember.uint8:
            warnings.warn("Byte tensor for `key_padding_mask` in `nn.MultiheadAttention` is "
                          "deprecated. Use bool tensor instead.", stacklevel=3)
            key_padding_mask = key_padding_mask.to(ember.bool)
        if (self.bias_k is None) != (self.bias_v is None):
            raise AssertionError("self.bias_k must be None when self.bias_v is None"
                                 if self.bias_v is None else
                                 "self.bias_v must be None when self.bias_k is None")
        if self.bias_k is not None:
            # a quantized cat keeps k's / v's parameters
            k = ember.cat([k, self.bias_k.repeat(1, bsz, 1)])
            v = ember.cat([v, self.bias_v.repeat(1, bsz, 1)])
            attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
            key_padding_mask = (None if key_padding_mask is None
                                else F.pad(key_padding_mask, (0, 1)))

        q = q.contiguous().view(tgt_len, bsz * heads, head_dim).transpose(0, 1)
        k = k.contiguous().view(-1, bsz * heads, head_dim).transpose(0, 1)
        v = v.contiguous().view(-1, bsz * heads, head_dim).transpose(0, 1)
        src_len = k.size(1)
        if key_padding_mask is not None:
            if key_padding_mask.size(0) != bsz:
                raise AssertionError(f"key_padding_mask.size(0) must be {bsz}, got "
                                     f"{key_padding_mask.size(0)}")
            if key_padding_mask.size(1) != src_len:
                raise AssertionError(f"key_padding_mask.size(1) must be {src_len}, got "
                                     f"{key_padding_mask.size(1)}")
        if self.add_zero_attn:
            src_len += 1
            k = ember.cat([k, self._zeros_like_step(k)], dim=1)
            v = ember.cat([v, self._zeros_like_step(v, k.size()[2:])], dim=1)
            attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
            key_padding_mask = (None if key_padding_mask is None
                                else F.pad(key_padding_mask, (0, 1)))

        # the attention runs in float
        q, k, v = self.dequant_q(q), self.dequant_k(k), self.dequant_v(v)
        weights = ember.bmm(q, k.transpose(1, 2))
        expected = [bsz * heads, tgt_len, src_len]
        if list(weights.size()) != expected:
            raise AssertionError(f"attn_output_weights size mismatch: expected {expected}, "
                                 f"got {list(weights.size())}")
        if attn_mask is not None:
            if attn_mask.dtype == ember.bool:
                weights.masked_fill_(attn_mask, float("-inf"))
            else:
                weights += attn_mask
        if key_padding_mask is not None:
            weights = weights.view(bsz, heads, tgt_len, src_len).masked_fill(
                key_padding_mask.unsqueeze(1).unsqueeze(2), float("-inf"))
            weights = weights.view(bsz * heads, tgt_len, src_len)
        weights = F.softmax(weights, dim=-1)
        weights = F.dropout(weights, p=self.dropout, training=self.training)
        out = ember.bmm(weights, v)
        expected = [bsz * heads, tgt_len, head_dim]
        if list(out.size()) != expected:
            raise AssertionError(f"attn_output size mismatch: expected {expected}, got "
                                 f"{list(out.size())}")
        if self.batch_first:
            out = out.view(bsz, tgt_len, self.embed_dim)
        else:
            out = out.transpose(0, 1).contiguous().view(tgt_len, bsz, self.embed_dim)

        out = self.out_proj(self.quant_attn_output(out))
        weights = self.quant_attn_output_weights(weights)
        if not need_weights:
            return out, None
        weights = weights.view(bsz, heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, weights

    def _checked_attn_mask(self, attn_mask, tgt_len, src_len, bsz):
        """attn_mask as a 3-d bool or float mask (a 2-d one gets a leading 1)."""
        if attn_mask is None:
            return None
        if attn_mask.dtype == ember.uint8:
            warnings.warn("Byte tensor for `attn_mask` in `nn.MultiheadAttention` is "
                          "deprecated. Use bool tensor instead.", stacklevel=4)
            attn_mask = attn_mask.to(ember.bool)
        if not attn_mask.is_floating_point() and attn_mask.dtype != ember.bool:
            raise AssertionError(f"Only float and bool types are supported for attn_mask, "
                                 f"not {attn_mask.dtype}")
        if attn_mask.dim() == 2:
            attn_mask = attn_mask.unsqueeze(0)
            if list(attn_mask.size()) != [1, tgt_len, src_len]:
                raise RuntimeError("The size of the 2D attn_mask is not correct.")
        elif attn_mask.dim() == 3:
            if list(attn_mask.size()) != [bsz * self.num_heads, tgt_len, src_len]:
                raise RuntimeError("The size of the 3D attn_mask is not correct.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
        return attn_mask

    @staticmethod
    def _zeros_like_step(t, tail=None):
        """One zero step (t.size(0), 1, *tail) to append on dim 1, quantized with t's
        parameters when t is quantized."""
        tail = t.size()[2:] if tail is None else tail
        zeros = ember.zeros((t.size(0), 1) + tuple(tail))
        if t.is_quantized:
            zeros = ember.quantize_per_tensor(zeros, t.q_scale(), t.q_zero_point(), t.dtype)
        return zeros
