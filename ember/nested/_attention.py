"""Attention on nested tensors: scaled_dot_product_attention on (B, H, j, D) inputs and
nn.MultiheadAttention's nested inputs."""
import numpy as np

from ._padded import _ember, _F, _is_nt, to_padded, from_padded


def _sdpa(func, name, args, kwargs):
    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
             "enable_gqa")
    defaults = (None, None, None, None, 0.0, False, None, False)
    a = dict(zip(names, defaults))
    a.update(zip(names, args))
    a.update(kwargs)
    q, k, v = a["query"], a["key"], a["value"]
    if not (_is_nt(q) and _is_nt(k) and _is_nt(v)):
        raise ValueError(f"Expected query, key, and value to be nested tensors, but got "
                         f"query.is_nested: {_is_nt(q)}, key.is_nested: {_is_nt(k)}, and "
                         f"value.is_nested: {_is_nt(v)} instead.")
    if a["attn_mask"] is not None:
        raise ValueError("Masks are not yet supported!")
    if any(t.dim() != 4 or t._ragged_idx != 2 for t in (q, k, v)) or \
            not len(q) == len(k) == len(v) or \
            not np.array_equal(k._lengths_array(), v._lengths_array()):
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found.")
    e = _ember()
    qp, kp, vp = (to_padded(t, 0.0) for t in (q, k, v))   # (B, H, L, D)
    Lq, Lk = qp.shape[2], kp.shape[2]
    klens = e.as_tensor(k._lengths_array(), device=kp.device)
    mask = (e.arange(Lk, device=kp.device)[None, :] < klens[:, None])[:, None, None, :]
    if a["is_causal"]:
        # each sequence's own causal mask (top-left aligned, as in dense attention)
        mask = mask & e.ones(Lq, Lk, dtype=e.bool, device=kp.device).tril()
    out = _F().scaled_dot_product_attention(qp, kp, vp, attn_mask=mask,
                                            dropout_p=a["dropout_p"], scale=a["scale"],
                                            enable_gqa=a["enable_gqa"])
    return from_padded(out, q)


def multihead_attention(module, query, key, value, key_padding_mask=None, need_weights=True,
                        attn_mask=None, average_attn_weights=True):
    """nn.MultiheadAttention with nested inputs. PyTorch takes them only on its inference
    fast path (eval mode, no grad, batch_first, strided layout, self-attention, no masks):
    there each component attends on its own, as a batch of one (the weights padded with
    zeros to the longest component). Elsewhere its AssertionError names why the fast path
    was not hit."""
    from ..autograd import grad_mode
    why = None
    params = (module.in_proj_weight, module.in_proj_bias, module.out_proj.weight,
              module.out_proj.bias)
    if module.training:
        why = "training is enabled"
    elif any(_is_nt(t) and not t._is_strided() for t in (query, key, value)):
        why = "some Tensor argument has_torch_function"
    elif not module.batch_first:
        why = "batch_first was not True"
    elif grad_mode.is_grad_enabled() and any(p is not None and p.requires_grad
                                             for p in params):
        why = ("grad is enabled and at least one of query or the input/output projection "
               "weights or biases requires_grad")
    elif key_padding_mask is not None or attn_mask is not None:
        why = ("supplying both src_key_padding_mask and src_mask at the same time "
               "                                 is not supported with NestedTensor input")
    if why is not None:
        raise AssertionError(f"MultiheadAttention does not support NestedTensor outside of "
                             f"its fast path. The fast path was not hit because {why}")
    if not (query is key and key is value):
        raise NotImplementedError("ember.nn.MultiheadAttention: nested inputs are taken for "
                                  "self-attention only (query is key is value)")
    e = _ember()
    from ._components import components, from_components
    outs, weights = [], []
    for c in components(query):
        x = c.unsqueeze(0)
        o, w = module(x, x, x, need_weights=need_weights,
                      average_attn_weights=average_attn_weights)
        outs.append(o[0])
        weights.append(None if w is None else w[0])
    out = from_components(outs, query._nested_layout)
    if not need_weights:
        return out, None
    L = max(w.shape[-1] for w in weights)
    F = _F()
    padded = [F.pad(w, [0, L - w.shape[-1], 0, L - w.shape[-2]]) for w in weights]
    return out, e.stack(padded)
