"""Traceable forms of nn.Transformer, its encoder, decoder and encoder layer for the code
ember.jit.save writes (_codegen.py traces a module with ember.fx).

Their own forwards branch on the masks' dtypes and on the input's rank, to choose
PyTorch's fused and nested-tensor inference paths: branches fx cannot trace. Here the
layers run in turn, each as its attention and feed-forward blocks, with the masks handed
to the MultiheadAttention template (which takes bool and float masks alike at run time).
PyTorch's encoder, in eval mode with a key padding mask and no gradient to record, runs
its layers on a nested tensor and pads the result with zeros: ``zero_padded_rows`` marks
that step in the graph, and the writer spells it as a run-time test of those conditions
(``padded_rows_source``), so the archive does what PyTorch's scripted encoder does.

A token whose every key is masked gets PyTorch's values on both of its paths: zero
attention on the op-by-op path, the fused kernels' NaN where PyTorch's MultiheadAttention
would take its fast path (the attention template tests PyTorch's conditions at run time).
A transformer module saved on its own is traced in its traceable form too.
"""

__all__ = ["traceable_forward", "zero_padded_rows", "padded_rows_source"]


def zero_padded_rows(output, src, padding_mask, encoder):
    """A marker in the traced graph (never run): the encoder at path `encoder` zeroes the
    padded positions of `output` when PyTorch would take its nested-tensor path."""
    raise RuntimeError("zero_padded_rows is a marker of ember.jit.save's trace")


def traceable_forward(mod, forward, args, kwargs, tracer):
    """The forward to trace for `mod`: its own, or for a TransformerEncoder / layer the
    traceable form described in the module docstring."""
    from .. import nn
    if isinstance(mod, nn.TransformerEncoder):
        return _encoder(mod, forward, args, kwargs, tracer)
    if isinstance(mod, nn.TransformerDecoder):
        return _decoder(mod)
    if isinstance(mod, nn.Transformer):
        return _transformer(mod)
    if isinstance(mod, nn.TransformerEncoderLayer) and (
            any(kwargs.get(k) is not None for k in ("src_mask", "src_key_padding_mask"))
            or len(args) > 1):
        return _layer(mod)
    return forward


def _encoder(mod, forward, args, kwargs, tracer):
    if set(kwargs) - {"mask", "src_key_padding_mask", "is_causal"} or len(args) > 4:
        return forward

    def layers_in_turn(src, mask=None, src_key_padding_mask=None, is_causal=None):
        output = src
        for layer in mod.layers:
            if mask is None and src_key_padding_mask is None:
                output = layer(output)
            else:
                output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask)
        if src_key_padding_mask is not None and mask is None and mod.use_nested_tensor:
            output = tracer.create_proxy("call_function", zero_padded_rows,
                                         (output, src, src_key_padding_mask,
                                          tracer.path_of_module(mod)), {})
        return output if mod.norm is None else mod.norm(output)
    return layers_in_turn


def _decoder(mod):
    """TransformerDecoder: its layers in turn (its forward's causal-mask detection is a
    hint the attention template does not need), then the norm."""
    def layers_in_turn(tgt, memory, tgt_mask=None, memory_mask=None,
                       tgt_key_padding_mask=None, memory_key_padding_mask=None,
                       tgt_is_causal=None, memory_is_causal=False):
        output = tgt
        for layer in mod.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask)
        return output if mod.norm is None else mod.norm(output)
    return layers_in_turn


def _transformer(mod):
    """nn.Transformer: the encoder on src, the decoder on tgt and the encoder's output
    (its forward's batch and width checks branch on shapes; the attention templates'
    own shape errors remain)."""
    def encode_decode(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                      src_key_padding_mask=None, tgt_key_padding_mask=None,
                      memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                      memory_is_causal=False):
        memory = mod.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask)
        return mod.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask)
    return encode_decode


def _layer(mod):
    def blocks(src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        def attention(x):
            out = mod.self_attn(x, x, x, attn_mask=src_mask, key_padding_mask=src_key_padding_mask,
                                need_weights=False)[0]
            return mod.dropout1(out)

        def feed_forward(x):
            return mod.dropout2(mod.linear2(mod.dropout(mod.activation(mod.linear1(x)))))
        x = src
        if mod.norm_first:
            x = x + attention(mod.norm1(x))
            return x + feed_forward(mod.norm2(x))
        x = mod.norm1(x + attention(x))
        return mod.norm2(x + feed_forward(x))
    return blocks


def padded_rows_source(writer, args):
    """TorchScript for a zero_padded_rows node: PyTorch's conditions for its nested path
    (the first layer in eval mode, a 3-D input, a left-aligned padding mask when the
    encoder checks masks, no gradient to record), then torch.where over the padded rows."""
    output, src, pad = (writer.arg(a) for a in args[:3])
    path = args[3]
    encoder = writer.root.get_submodule(path)
    first = f"{path}.layers.0" if path else "layers.0"
    layer = encoder.layers[0]
    attn = layer.self_attn
    tensors = [("self_attn.in_proj_weight", attn.in_proj_weight),
               ("self_attn.in_proj_bias", attn.in_proj_bias),
               ("self_attn.out_proj.weight", attn.out_proj.weight),
               ("self_attn.out_proj.bias", attn.out_proj.bias)]
    for sub in ("norm1", "norm2", "linear1", "linear2"):
        for kind in ("weight", "bias"):
            tensors.append((f"{sub}.{kind}", getattr(getattr(layer, sub), kind, None)))
    grads = [f"ops.prim.requires_grad({src})"] + [
        f"ops.prim.requires_grad({writer.module_path(f'{first}.{name}')})"
        for name, t in tensors if t is not None]
    tests = [f"torch.__not__({writer.module_path(first)}.training)",
             f"torch.eq(torch.dim({src}), 3)"]
    if encoder.mask_check:
        keep = f"torch.eq({pad}, 0)"
        tests.append(f"torch.eq(torch.dim({pad}), 2)")
        tests.append(f"bool(torch.all(torch.le(torch.slice({keep}, 1, 1, None, 1), "
                     f"torch.slice({keep}, 1, 0, -1, 1))))")
    tests.append(f"torch.__not__(torch.is_grad_enabled() and ({' or '.join(grads)}))")
    zeroed = f"torch.where(torch.unsqueeze(torch.ne({pad}, 0), -1), 0., {output})"
    return f"({zeroed} if {' and '.join(tests)} else {output})"
