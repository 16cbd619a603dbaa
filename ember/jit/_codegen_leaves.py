"""TorchScript templates of ember.nn's leaf layers, for the code ember.jit.save writes
(_codegen.py): each template returns the lines of the layer's ``forward`` body, written
with the ATen calls real ``torch.jit.load`` compiles (``torch.linear(input, self.weight,
self.bias)``) and ember's interpreter runs, from the layer's type and settings. The less
common layers' templates are in _codegen_layers.py; ``leaf_template(m)`` finds either.
"""
import math

from ._codegen_layers import LAYERS as _MORE_LAYERS, SIGNATURES as _MORE_SIGNATURES
from ._codegen_literal import literal, n_list as _n, opt as _opt, recomputed_sizes

__all__ = ["LEAVES", "SIGNATURES", "leaf_template"]


def _linear(m):
    return [f"return torch.linear(input, self.weight, {_opt(m, 'bias')})"]


def _conv(n):
    def code(m):
        pad = m.padding if isinstance(m.padding, str) else _n(m.padding, n)
        source = "input"
        if m.padding_mode != "zeros":   # the input padded first, the conv unpadded
            if m.padding == "valid":
                twice = [0] * (2 * n)
            elif m.padding == "same":   # d (k - 1) in all, the extra one after
                twice = []
                for d, k in reversed(list(zip(_n(m.dilation, n), _n(m.kernel_size, n)))):
                    total = d * (k - 1)
                    twice += [total // 2, total - total // 2]
            else:
                twice = [p for k in reversed(pad) for p in (k, k)]
            source = f"torch.pad(input, {literal(twice)}, {literal(m.padding_mode)}, None)"
            pad = [0] * n
        return [f"return torch.conv{n}d({source}, self.weight, {_opt(m, 'bias')}, "
                f"{literal(_n(m.stride, n))}, {literal(pad)}, {literal(_n(m.dilation, n))}, "
                f"{m.groups})"]
    return code


def _conv_transpose(n):
    def code(m):
        return [f"return torch.conv_transpose{n}d(input, self.weight, {_opt(m, 'bias')}, "
                f"{literal(_n(m.stride, n))}, {literal(_n(m.padding, n))}, "
                f"{literal(_n(m.output_padding, n))}, {m.groups}, "
                f"{literal(_n(m.dilation, n))})"]
    return code


def _batch_norm(m):
    if m.momentum is None and m.track_running_stats:   # a cumulative average: 1/batches
        return ["training = self.training",
                "if training:",
                "  _0 = torch.add_(self.num_batches_tracked, 1)",
                "  factor = torch.div(1., float(self.num_batches_tracked))",
                "else:",
                "  factor = 0.",
                f"return torch.batch_norm(input, {_opt(m, 'weight')}, {_opt(m, 'bias')}, "
                f"self.running_mean, self.running_var, training, factor, "
                f"{literal(float(m.eps))}, True)"]
    if not m.track_running_stats:
        momentum = 0.0 if m.momentum is None else float(m.momentum)
        return [f"return torch.batch_norm(input, {_opt(m, 'weight')}, {_opt(m, 'bias')}, "
                f"None, None, True, {literal(momentum)}, {literal(float(m.eps))}, "
                f"True)"]
    return ["training = self.training",
            "if training:",
            "  _0 = torch.add_(self.num_batches_tracked, 1)",
            "else:",
            "  pass",
            f"return torch.batch_norm(input, {_opt(m, 'weight')}, {_opt(m, 'bias')}, "
            f"self.running_mean, self.running_var, training, {literal(float(m.momentum))}, "
            f"{literal(float(m.eps))}, True)"]


def _layer_norm(m):
    return [f"return torch.layer_norm(input, {literal(list(m.normalized_shape))}, "
            f"{_opt(m, 'weight')}, {_opt(m, 'bias')}, {literal(float(m.eps))}, True)"]


def _group_norm(m):
    return [f"return torch.group_norm(input, {m.num_groups}, {_opt(m, 'weight')}, "
            f"{_opt(m, 'bias')}, {literal(float(m.eps))}, True)"]


def _max_pool(n):
    def code(m):
        stride = m.stride if m.stride is not None else m.kernel_size
        op = f"max_pool{n}d_with_indices" if m.return_indices else f"max_pool{n}d"
        return [f"return torch.{op}(input, {literal(_n(m.kernel_size, n))}, "
                f"{literal(_n(stride, n))}, {literal(_n(m.padding, n))}, "
                f"{literal(_n(m.dilation, n))}, {literal(bool(m.ceil_mode))})"]
    return code


def _avg_pool(n):
    def code(m):
        stride = m.stride if m.stride is not None else m.kernel_size
        args = (f"input, {literal(_n(m.kernel_size, n))}, {literal(_n(stride, n))}, "
                f"{literal(_n(m.padding, n))}, {literal(bool(m.ceil_mode))}, "
                f"{literal(bool(m.count_include_pad))}")
        if n > 1:
            args += f", {literal(m.divisor_override)}"
        return [f"return torch.avg_pool{n}d({args})"]
    return code


def _adaptive_avg_pool(n):
    def code(m):
        return [f"return torch.adaptive_avg_pool{n}d(input, {_adaptive_size(m, n)})"]
    return code


def _adaptive_size(m, n):
    """An adaptive pool's output size as source: None keeps the input's size there."""
    size = _n(m.output_size, n)
    return "[" + ", ".join(f"torch.size(input, {i - n})" if s is None else str(int(s))
                           for i, s in enumerate(size)) + "]"


def _dropout(m):
    fn = "dropout_" if m.inplace else "dropout"
    return [f"return torch.{fn}(input, {literal(float(m.p))}, self.training)"]


def _activation(template):
    """A one-line forward from `template`: {m} is the module, {inplace} "_" when the
    module works in place (torch.relu_)."""
    def code(m):
        inplace = "_" if getattr(m, "inplace", False) else ""
        return [f"return {template.format(m=m, inplace=inplace)}"]
    return code


def _gelu(m):
    # torch's compiler matches torch.gelu(x, approximate="none") to no overload: the
    # exact GELU is written as TorchScript's printer writes it, without the argument
    if m.approximate == "none":
        return ["return torch.gelu(input)"]
    return [f"return torch.gelu(input, approximate={literal(m.approximate)})"]


def _embedding(m):
    pad = -1 if m.padding_idx is None else m.padding_idx
    lines = []
    if m.max_norm is not None:   # the looked-up rows renormed in place, outside autograd
        lines.append(f"_0 = torch.embedding_renorm_(torch.detach(self.weight), input, "
                     f"{literal(float(m.max_norm))}, {literal(float(m.norm_type))})")
    return lines + [f"return torch.embedding(self.weight, input, {pad}, "
                    f"{literal(bool(m.scale_grad_by_freq))}, {literal(bool(m.sparse))})"]


_IMPLICIT_DIM = "(0 if torch.__contains__([0, 1, 3], torch.dim(input)) else 1)"


def _softmax(name):
    def code(m):
        dim = _IMPLICIT_DIM if m.dim is None else m.dim   # PyTorch's dim for the rank
        return [f"return torch.{name}(input, {dim}, None)"]
    return code


def _instance_norm(n):
    """InstanceNorm{n}d: batch statistics unless it tracks running statistics and is in
    eval mode; an unbatched input gets a batch dimension around the call."""
    def code(m):
        # input statistics unless running ones are kept and it is in eval mode; PyTorch's
        # InstanceNorm passes momentum=None on as 0 (running statistics never move)
        stats = "self.training" if m.track_running_stats else "True"
        momentum = 0.0 if m.momentum is None else float(m.momentum)
        call = (f"torch.instance_norm({{x}}, {_opt(m, 'weight')}, {_opt(m, 'bias')}, "
                f"{_opt(m, 'running_mean')}, {_opt(m, 'running_var')}, {stats}, "
                f"{literal(momentum)}, {literal(float(m.eps))}, True)")
        return [f"if torch.eq(torch.dim(input), {n + 1}):",
                f"  _0 = torch.squeeze({call.format(x='torch.unsqueeze(input, 0)')}, 0)",
                "else:",
                f"  _0 = {call.format(x='input')}",
                "return _0"]
    return code


def _padding(mode):
    """The padding layers (ReflectionPad/ReplicationPad/CircularPad/ZeroPad/ConstantPad):
    one ``torch.pad`` call."""
    def code(m):
        value = literal(float(m.value)) if mode == "constant" else "None"
        return [f"return torch.pad(input, {literal(list(m.padding))}, {literal(mode)}, "
                f"{value})"]
    return code


def _upsample(m):
    """nn.Upsample: the ATen upsample op of its mode and the input's rank, by output size
    or by scale factors (a branch per rank the mode takes)."""
    ops = {"nearest": "upsample_nearest{k}d", "nearest-exact": "_upsample_nearest_exact{k}d",
           "linear": "upsample_linear1d", "bilinear": "upsample_bilinear2d",
           "bicubic": "upsample_bicubic2d", "trilinear": "upsample_trilinear3d"}
    if m.mode not in ops:
        raise NotImplementedError(f"ember.jit.save: Upsample with mode={m.mode!r}")
    ranks = {"linear": [1], "bilinear": [2], "bicubic": [2], "trilinear": [3]}.get(m.mode,
                                                                                    [1, 2, 3])

    def args(k):
        if m.size is not None:
            size = list(m.size) if isinstance(m.size, (tuple, list)) else [int(m.size)] * k
            return literal(size), "None"
        f = m.scale_factor
        scales = [float(x) for x in f] if isinstance(f, (tuple, list)) else [float(f)] * k
        if getattr(m, "recompute_scale_factor", None):
            return recomputed_sizes("input", scales), "None"
        return "None", literal(scales)

    lines = ["n = torch.sub(torch.dim(input), 2)"]
    for i, k in enumerate(ranks):
        size, scales = args(k)
        op = ops[m.mode].format(k=k)
        if m.mode in ("nearest", "nearest-exact"):
            call = f"torch.{op}(input, {size}, {scales})"
        else:
            call = f"torch.{op}(input, {size}, {literal(bool(m.align_corners))}, {scales})"
        lines += [f"{'if' if i == 0 else 'elif'} torch.eq(n, {k}):", f"  _0 = {call}"]
    lines += ["else:",
              f"  ops.prim.RaiseException(\"Upsample ({m.mode}): unexpected input rank\", "
              f"\"builtins.NotImplementedError\")",
              "  _0 = input",
              "return _0"]
    return lines


def _adaptive_max_pool(n):
    def code(m):
        call = f"torch.adaptive_max_pool{n}d(input, {_adaptive_size(m, n)})"
        return [f"return {call}" if m.return_indices else f"return ({call})[0]"]
    return code


def _softmin(m):
    dim = _IMPLICIT_DIM if m.dim is None else m.dim
    return [f"return torch.softmax(torch.neg(input), {dim}, None)"]


_MHA_SIGNATURE = ["query: Tensor", "key: Tensor", "value: Tensor",
                  "key_padding_mask: Optional[Tensor]=None", "need_weights: bool=True",
                  "attn_mask: Optional[Tensor]=None", "average_attn_weights: bool=True",
                  "is_causal: bool=False"]


def _mha_fast_path(m):
    """TorchScript for the test PyTorch's MultiheadAttention.forward makes before it runs
    the fused _native_multi_head_attention kernel: the module's settings (packed
    projection with a bias, an even head count, batch_first, no bias_k/add_zero_attn),
    then at run time eval mode, self-attention (query is key is value) and no gradient
    to record."""
    if not (m._qkv_same_embed_dim and m.in_proj_bias is not None and m.num_heads % 2 == 0
            and m.batch_first and m.bias_k is None and not m.add_zero_attn):
        return "False"
    tensors = ["query", "self.in_proj_weight", "self.in_proj_bias", "self.out_proj.weight"]
    if m.out_proj.bias is not None:
        tensors.append("self.out_proj.bias")
    grads = " or ".join(f"ops.prim.requires_grad({t})" for t in tensors)
    return ("torch.__not__(self.training) and torch.__is__(query, key) and "
            f"torch.__is__(key, value) and torch.__not__(torch.is_grad_enabled() and "
            f"({grads}))")


def _multihead_attention(m):
    """nn.MultiheadAttention (packed in-projection, or separate q/k/v weights when kdim or
    vdim differ): softmax(Q K^T / sqrt(d) + masks) V per head, written with ATen calls on
    (L, N, E). bias_k/bias_v append a learnt key and value, add_zero_attn a zero one, the
    masks a column that lets each through."""
    E, H, D = m.embed_dim, m.num_heads, m.head_dim

    def linear(x, i):
        bias = "None" if m.in_proj_bias is None else \
            f"torch.slice(self.in_proj_bias, 0, {i * E}, {(i + 1) * E})"
        w = f"torch.slice(self.in_proj_weight, 0, {i * E}, {(i + 1) * E})"
        if not m._qkv_same_embed_dim:
            w = f"self.{('q', 'k', 'v')[i]}_proj_weight"
        return f"torch.linear({x}, {w}, {bias})"

    def heads(x, length):
        return f"torch.transpose(torch.reshape({x}, [{length}, torch.mul(bsz, {H}), {D}]), 0, 1)"

    def proj(x, i, length):
        return heads(linear(x, i), length)
    extra = (m.bias_k is not None) + bool(m.add_zero_attn)   # key columns appended
    if m.batch_first:
        lines = ["q = torch.transpose(query, 0, 1)", "k = torch.transpose(key, 0, 1)",
                 "v = torch.transpose(value, 0, 1)"]
    else:
        lines = ["q = query", "k = key", "v = value"]
    lines += [
        "assert torch.eq(torch.dim(q), 3), \"MultiheadAttention: batched inputs only\"",
        "tgt_len = torch.size(q, 0)",
        "bsz = torch.size(q, 1)",
        "src_len = torch.size(k, 0)",
        f"qh = {proj('q', 0, 'tgt_len')}"]
    if m.bias_k is None:
        lines += [f"kh = {proj('k', 1, 'src_len')}", f"vh = {proj('v', 2, 'src_len')}"]
    else:
        lines += [f"kl = torch.cat([{linear('k', 1)}, torch.repeat(self.bias_k, [1, bsz, 1])])",
                  f"vl = torch.cat([{linear('v', 2)}, torch.repeat(self.bias_v, [1, bsz, 1])])",
                  "src_len = torch.size(kl, 0)",
                  f"kh = {heads('kl', 'src_len')}", f"vh = {heads('vl', 'src_len')}"]
    if m.add_zero_attn:
        zeros = (f"torch.zeros([torch.mul(bsz, {H}), 1, {D}], dtype=ops.prim.dtype(kh), "
                 f"layout=None, device=ops.prim.device(kh))")
        lines += [f"kh = torch.cat([kh, {zeros}], 1)", f"vh = torch.cat([vh, {zeros}], 1)",
                  "src_len = torch.size(kh, 1)"]
    if extra:
        for name in ("attn_mask", "key_padding_mask"):
            lines += [f"if torch.__isnot__({name}, None):",
                      f"  {name} = torch.constant_pad_nd(unchecked_cast(Tensor, {name}), "
                      f"[0, {extra}], 0)",
                      "else:",
                      "  pass"]
    lines += [
        f"scores = torch.div(torch.bmm(qh, torch.transpose(kh, 1, 2)), {literal(math.sqrt(D))})",
        "if torch.__isnot__(attn_mask, None):",
        "  mask = unchecked_cast(Tensor, attn_mask)",
        "  if torch.eq(torch.dim(mask), 2):",
        "    mask0 = torch.unsqueeze(mask, 0)",
        "  else:",
        "    mask0 = mask",
        "  if torch.eq(ops.prim.dtype(mask0), 11):",
        "    scores = torch.masked_fill(scores, mask0, -inf)",
        "  else:",
        "    scores = torch.add(scores, mask0)",
        "else:",
        "  pass",
        "if torch.__isnot__(key_padding_mask, None):",
        "  pad = torch.view(unchecked_cast(Tensor, key_padding_mask), [bsz, 1, 1, src_len])",
        f"  scores4 = torch.view(scores, [bsz, {H}, tgt_len, src_len])",
        "  if torch.eq(ops.prim.dtype(pad), 11):",
        "    scores4 = torch.masked_fill(scores4, pad, -inf)",
        "  else:",
        "    scores4 = torch.add(scores4, pad)",
        f"  scores = torch.view(scores4, [torch.mul(bsz, {H}), tgt_len, src_len])",
        "else:",
        "  pass",
        "attn = torch.softmax(scores, -1)",
        f"if torch.__not__(need_weights) and torch.__not__({_mha_fast_path(m)}):",
        # PyTorch's scaled_dot_product_attention: a query whose every key is barred
        # attends to nothing (its fused fast path leaves the softmax's NaN)
        "  barred = torch.all(torch.eq(scores, -inf), -1, True)",
        "  attn = torch.masked_fill(attn, barred, 0.)",
        "else:",
        "  pass",
        f"attn0 = torch.dropout(attn, {literal(float(m.dropout))}, self.training)",
        "out = torch.transpose(torch.bmm(attn0, vh), 0, 1)",
        f"out0 = torch.reshape(out, [torch.mul(tgt_len, bsz), {E}])",
        "out_proj = self.out_proj",
        f"out1 = torch.view(torch.linear(out0, out_proj.weight, "
        f"{'None' if m.out_proj.bias is None else 'out_proj.bias'}), [tgt_len, bsz, {E}])",
    ]
    lines.append("out2 = torch.transpose(out1, 0, 1)" if m.batch_first else "out2 = out1")
    lines += [
        "if need_weights:",
        f"  weights = torch.view(attn, [bsz, {H}, tgt_len, src_len])",
        "  if average_attn_weights:",
        "    weights0 = torch.mean(weights, [1])",
        "  else:",
        "    weights0 = weights",
        "  _0 = (out2, weights0)",
        "else:",
        "  _0 = (out2, None)",
        "return _0",
    ]
    return lines


def _recurrent(aten):
    """nn.LSTM / nn.GRU / nn.RNN: one ``torch.lstm``/``gru``/``rnn_tanh``/``rnn_relu``
    call over the layer's flat weights (an LSTM's projections among them), batched (3-D)
    or unbatched (2-D) input, zero initial state when ``hx`` is None, as the code
    PyTorch's compiler writes for them (packed sequences are not taken)."""
    def code(m):
        op = aten
        if aten == "rnn":
            op = "rnn_relu" if m.nonlinearity == "relu" else "rnn_tanh"
        lstm = op == "lstm"
        batch = 0 if m.batch_first else 1
        states = m.num_layers * (2 if m.bidirectional else 1)
        weights = "[" + ", ".join(f"self.{n}" for n in m._flat_weights_names) + "]"
        settings = (f"{literal(bool(m.bias))}, {m.num_layers}, {literal(float(m.dropout))}, "
                    f"self.training, {literal(bool(m.bidirectional))}, "
                    f"{literal(bool(m.batch_first))}")
        def zeros(size):
            return (f"torch.zeros([{states}, max_batch_size, {size}], dtype=ops.prim.dtype("
                    f"input0), layout=None, device=ops.prim.device(input0))")
        # an LSTM with proj_size keeps h projected (proj_size wide), c hidden_size wide;
        # torch.lstm tells the two apart by those widths
        h_size = getattr(m, "proj_size", 0) or m.hidden_size
        lines = ["is_batched = torch.eq(torch.dim(input), 3)",
                 "if torch.__not__(is_batched):",
                 f"  input0 = torch.unsqueeze(input, {batch})",
                 "else:",
                 "  input0 = input",
                 f"max_batch_size = torch.size(input0, {batch})",
                 "if torch.__is__(hx, None):"]
        if lstm:
            lines += [f"  h_zeros = {zeros(h_size)}", f"  c_zeros = {zeros(m.hidden_size)}",
                      "  hx0 = (h_zeros, c_zeros)",
                      "else:",
                      "  hx1 = unchecked_cast(Tuple[Tensor, Tensor], hx)",
                      "  if is_batched:",
                      "    hx0 = hx1",
                      "  else:",
                      "    hx0 = (torch.unsqueeze((hx1)[0], 1), torch.unsqueeze((hx1)[1], 1))",
                      "h0, c0, = hx0",
                      f"out, hn, cn = torch.lstm(input0, [h0, c0], {weights}, {settings})",
                      "if torch.__not__(is_batched):",
                      f"  _0 = (torch.squeeze(out, {batch}), (torch.squeeze(hn, 1), "
                      f"torch.squeeze(cn, 1)))",
                      "else:",
                      "  _0 = (out, (hn, cn))",
                      "return _0"]
        else:
            lines += [f"  hx0 = {zeros(m.hidden_size)}",
                      "else:",
                      "  hx1 = unchecked_cast(Tensor, hx)",
                      "  if is_batched:",
                      "    hx0 = hx1",
                      "  else:",
                      "    hx0 = torch.unsqueeze(hx1, 1)",
                      f"out, hn = torch.{op}(input0, hx0, {weights}, {settings})",
                      "if torch.__not__(is_batched):",
                      f"  _0 = (torch.squeeze(out, {batch}), torch.squeeze(hn, 1))",
                      "else:",
                      "  _0 = (out, hn)",
                      "return _0"]
        return lines
    return code


def _cell(kind):
    """nn.LSTMCell / GRUCell / RNNCell: one ``torch.lstm_cell``/``gru_cell``/
    ``rnn_tanh_cell``/``rnn_relu_cell`` call, batched (2-D) or unbatched (1-D) input,
    zero state when ``hx`` is None."""
    def code(m):
        op = f"{kind}_cell"
        if kind == "rnn":
            op = "rnn_relu_cell" if m.nonlinearity == "relu" else "rnn_tanh_cell"
        biases = f"{_opt(m, 'bias_ih')}, {_opt(m, 'bias_hh')}"
        zeros = (f"torch.zeros([torch.size(input0, 0), {m.hidden_size}], "
                 f"dtype=ops.prim.dtype(input0), layout=None, device=ops.prim.device(input0))")
        lines = ["is_batched = torch.eq(torch.dim(input), 2)",
                 "if torch.__not__(is_batched):",
                 "  input0 = torch.unsqueeze(input, 0)",
                 "else:",
                 "  input0 = input",
                 "if torch.__is__(hx, None):"]
        if kind == "lstm":
            lines += [f"  h0 = {zeros}", f"  c0 = {zeros}",
                      "else:",
                      "  hx1 = unchecked_cast(Tuple[Tensor, Tensor], hx)",
                      "  if is_batched:",
                      "    h0, c0 = (hx1)[0], (hx1)[1]",
                      "  else:",
                      "    h0, c0 = torch.unsqueeze((hx1)[0], 0), torch.unsqueeze((hx1)[1], 0)",
                      f"hn, cn = torch.lstm_cell(input0, [h0, c0], self.weight_ih, "
                      f"self.weight_hh, {biases})",
                      "if torch.__not__(is_batched):",
                      "  _0 = (torch.squeeze(hn, 0), torch.squeeze(cn, 0))",
                      "else:",
                      "  _0 = (hn, cn)",
                      "return _0"]
        else:
            lines += [f"  h0 = {zeros}",
                      "else:",
                      "  hx1 = unchecked_cast(Tensor, hx)",
                      "  if is_batched:",
                      "    h0 = hx1",
                      "  else:",
                      "    h0 = torch.unsqueeze(hx1, 0)",
                      f"hn = torch.{op}(input0, h0, self.weight_ih, self.weight_hh, {biases})",
                      "if torch.__not__(is_batched):",
                      "  _0 = torch.squeeze(hn, 0)",
                      "else:",
                      "  _0 = hn",
                      "return _0"]
        return lines
    return code


SIGNATURES = {"MultiheadAttention": _MHA_SIGNATURE,
               "LSTMCell": ["input: Tensor", "hx: Optional[Tuple[Tensor, Tensor]]=None"],
               "GRUCell": ["input: Tensor", "hx: Optional[Tensor]=None"],
               "RNNCell": ["input: Tensor", "hx: Optional[Tensor]=None"],
               "LSTM": ["input: Tensor", "hx: Optional[Tuple[Tensor, Tensor]]=None"],
               "GRU": ["input: Tensor", "hx: Optional[Tensor]=None"],
               "RNN": ["input: Tensor", "hx: Optional[Tensor]=None"], **_MORE_SIGNATURES}

LEAVES = {
    "MultiheadAttention": _multihead_attention,
    "LSTM": _recurrent("lstm"), "GRU": _recurrent("gru"), "RNN": _recurrent("rnn"),
    "LSTMCell": _cell("lstm"), "GRUCell": _cell("gru"), "RNNCell": _cell("rnn"),
    "Linear": _linear, "Conv1d": _conv(1), "Conv2d": _conv(2), "Conv3d": _conv(3),
    "ConvTranspose1d": _conv_transpose(1), "ConvTranspose2d": _conv_transpose(2),
    "ConvTranspose3d": _conv_transpose(3),
    "BatchNorm1d": _batch_norm, "BatchNorm2d": _batch_norm, "BatchNorm3d": _batch_norm,
    "LayerNorm": _layer_norm, "GroupNorm": _group_norm,
    "MaxPool1d": _max_pool(1), "MaxPool2d": _max_pool(2), "MaxPool3d": _max_pool(3),
    "AvgPool1d": _avg_pool(1), "AvgPool2d": _avg_pool(2), "AvgPool3d": _avg_pool(3),
    "AdaptiveAvgPool1d": _adaptive_avg_pool(1), "AdaptiveAvgPool2d": _adaptive_avg_pool(2),
    "AdaptiveAvgPool3d": _adaptive_avg_pool(3),
    "Dropout": _dropout,
    "Dropout1d": _activation("torch.feature_dropout{inplace}(input, {m.p!r}, self.training)"),
    "Dropout2d": _activation("torch.feature_dropout{inplace}(input, {m.p!r}, self.training)"),
    "Dropout3d": _activation("torch.feature_dropout{inplace}(input, {m.p!r}, self.training)"),
    "AlphaDropout": _activation("torch.alpha_dropout{inplace}(input, {m.p!r}, self.training)"),
    "FeatureAlphaDropout": _activation("torch.feature_alpha_dropout{inplace}(input, {m.p!r}, "
                                       "self.training)"),
    "InstanceNorm1d": _instance_norm(1), "InstanceNorm2d": _instance_norm(2),
    "InstanceNorm3d": _instance_norm(3),
    "ReflectionPad1d": _padding("reflect"), "ReflectionPad2d": _padding("reflect"),
    "ReflectionPad3d": _padding("reflect"), "ReplicationPad1d": _padding("replicate"),
    "ReplicationPad2d": _padding("replicate"), "ReplicationPad3d": _padding("replicate"),
    "CircularPad1d": _padding("circular"), "CircularPad2d": _padding("circular"),
    "CircularPad3d": _padding("circular"), "ZeroPad1d": _padding("constant"),
    "ZeroPad2d": _padding("constant"), "ZeroPad3d": _padding("constant"),
    "ConstantPad1d": _padding("constant"), "ConstantPad2d": _padding("constant"),
    "ConstantPad3d": _padding("constant"),
    "Upsample": _upsample,
    "AdaptiveMaxPool1d": _adaptive_max_pool(1), "AdaptiveMaxPool2d": _adaptive_max_pool(2),
    "AdaptiveMaxPool3d": _adaptive_max_pool(3),
    "PixelShuffle": _activation("torch.pixel_shuffle(input, {m.upscale_factor})"),
    "PixelUnshuffle": _activation("torch.pixel_unshuffle(input, {m.downscale_factor})"),
    "LogSigmoid": _activation("torch.log_sigmoid(input)"),
    "Unflatten": _activation("torch.unflatten(input, {m.dim}, {m.unflattened_size!r})"),
    "GLU": _activation("torch.glu(input, {m.dim})"),
    "Hardshrink": _activation("torch.hardshrink(input, {m.lambd!r})"),
    "Softshrink": _activation("torch.softshrink(input, {m.lambd!r})"),
    "Tanhshrink": _activation("torch.sub(input, torch.tanh(input))"),
    "Softsign": _activation("torch.div(input, torch.add(torch.abs(input), 1))"),
    "Softmin": _softmin,
    "SELU": _activation("torch.selu{inplace}(input)"),
    "CELU": _activation("torch.celu{inplace}(input, {m.alpha!r})"),
    "Threshold": _activation("torch.threshold{inplace}(input, {m.threshold!r}, {m.value!r})"),
    "Embedding": _embedding,
    "ReLU": _activation("torch.relu{inplace}(input)"),
    "ReLU6": _activation("torch.hardtanh{inplace}(input, 0., 6.)"),
    "Sigmoid": _activation("torch.sigmoid(input)"),
    "Tanh": _activation("torch.tanh(input)"),
    "GELU": _gelu,
    "SiLU": _activation("torch.silu{inplace}(input)"),
    "Hardswish": _activation("torch.hardswish{inplace}(input)"),
    "Hardsigmoid": _activation("torch.hardsigmoid{inplace}(input)"),
    "LeakyReLU": _activation("torch.leaky_relu{inplace}(input, {m.negative_slope!r})"),
    "ELU": _activation("torch.elu{inplace}(input, {m.alpha!r}, 1, 1)"),
    "Hardtanh": _activation("torch.hardtanh{inplace}(input, {m.min_val!r}, {m.max_val!r})"),
    "Softplus": _activation("torch.softplus(input, {m.beta!r}, {m.threshold!r})"),
    "Mish": _activation("torch.mish(input)"),
    "Flatten": _activation("torch.flatten(input, {m.start_dim}, {m.end_dim})"),
    "Identity": _activation("input"),
    "Softmax": _softmax("softmax"), "LogSoftmax": _softmax("log_softmax"),
    **_MORE_LAYERS,
}
# the same Python classes in ember.nn under these names only
_EMBER_NN_PREFIX = "ember.nn."


def leaf_template(m):
    """The template of `m`'s layer type (ember.nn's classes only), or None."""
    cls = type(m)
    if cls.__name__ in LEAVES and cls.__module__.startswith(_EMBER_NN_PREFIX):
        return LEAVES[cls.__name__]
    return None
