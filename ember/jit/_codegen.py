"""TorchScript code for a plain ember module, written from its ``ember.fx`` trace.

``ember.jit.save`` of a module that did not come from an archive needs TorchScript source
for it. ``script_module(m)`` traces `m` symbolically with ember.fx, as torch.jit.trace
records a run: the root class gets a ``forward`` whose statements are the graph's nodes,
each written as the ATen call TorchScript's own printer writes (``torch.linear(input,
weight, bias)``, ``torch.view(x, [n, -1])``); each leaf module (Linear, Conv2d,
BatchNorm2d, ReLU, ...) gets a class whose ``forward`` is written from a template of its
type and settings; containers between them get classes with attributes only. The result
is a RecursiveScriptModule over the same Parameter and buffer objects, which
_archive.save pickles; torch.jit.load compiles the code, ember.jit.load interprets it.

Anything outside the tables (a leaf module type, a function, a method) raises
NotImplementedError naming it: the trace is then saved only with its weights.
"""
import inspect
import itertools
import math
import operator

from .. import _dtype
from .._tensor import Tensor
from ..nn import functional as F
from ._code import CodeUnit
from ._codegen_layers import LAYERS as _MORE_LAYERS, SIGNATURES as _MORE_SIGNATURES
from ._codegen_literal import literal, n_list as _n, opt as _opt
from ._codegen_ops import (CAST_METHODS as _CAST_METHODS, FUNCTIONAL as _FUNCTIONAL,
                           KEYWORD_ONLY as _KEYWORD_ONLY, LOSSES as _LOSSES,
                           METHODS as _METHODS,
                           NORMS_WITH_FLAG as _NORMS_WITH_FLAG, OPERATORS as _OPERATORS,
                           POOL_LISTS as _POOL_LISTS, REDUCTIONS as _REDUCTIONS,
                           SIZE_FUNCTIONS as _SIZE_FUNCTIONS, SIZE_METHODS as _SIZE_METHODS,
                           TORCH_FUNCTIONS as _TORCH_FUNCTIONS)
from ._codegen_transformer import padded_rows_source, traceable_forward, zero_padded_rows
from ._interp import Interpreter
from ._script_module import RecursiveScriptModule, ScriptObject

_PACKAGE = "__torch__.ember_export"


# ----------------------------------------------------------------------------- leaf modules

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


_SIGNATURES = {"MultiheadAttention": _MHA_SIGNATURE,
               "LSTMCell": ["input: Tensor", "hx: Optional[Tuple[Tensor, Tensor]]=None"],
               "GRUCell": ["input: Tensor", "hx: Optional[Tensor]=None"],
               "RNNCell": ["input: Tensor", "hx: Optional[Tensor]=None"],
               "LSTM": ["input: Tensor", "hx: Optional[Tuple[Tensor, Tensor]]=None"],
               "GRU": ["input: Tensor", "hx: Optional[Tensor]=None"],
               "RNN": ["input: Tensor", "hx: Optional[Tensor]=None"], **_MORE_SIGNATURES}

_LEAVES = {
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


def _leaf_template(m):
    cls = type(m)
    if cls.__name__ in _LEAVES and cls.__module__.startswith(_EMBER_NN_PREFIX):
        return _LEAVES[cls.__name__]
    return None


# ----------------------------------------------------------------------------- graph nodes

def _ember():
    import ember
    return ember


def _is(namespace, name, fn):
    """`fn` is `namespace.name`, looking through wrappers (a function another part of the
    program wrapped with functools.wraps is still that function)."""
    current = getattr(namespace, name, None)
    return current is fn or current is not None and inspect.unwrap(current) is \
        inspect.unwrap(fn)


def _is_node(a):
    from ..fx.node import Node
    return isinstance(a, Node)


# Tensor attributes read in a forward -> TorchScript ({} is the tensor)
_ATTRIBUTES = {"shape": "torch.size({})", "T": "torch.numpy_T({})", "mT": "torch.mT({})",
               "mH": "torch.mH({})", "H": "torch.numpy_T(torch.conj({}))",
               "dtype": "ops.prim.dtype({})", "device": "ops.prim.device({})",
               "ndim": "torch.dim({})", "is_cuda": "ops.prim.is_cuda({})",
               "requires_grad": "ops.prim.requires_grad({})", "data": "ops.prim.data({})"}


def _same_default(value, default):
    """Whether a bound argument is its parameter's default (no graph node is)."""
    from ..fx.node import Node
    if isinstance(value, Node) or isinstance(default, Node):
        return False
    try:
        return bool(value == default) and type(value) is type(default)
    except Exception:
        return False


# F functions whose extra arguments the writer handles itself
_SPECIAL_FUNCTIONAL = {"embedding": {"max_norm", "norm_type"}}


class _Source(str):
    """TorchScript source the writer puts into a call as it is."""


def recomputed_sizes(input_source, scales):
    """Source of the output size F.interpolate computes with recompute_scale_factor:
    floor(input size * scale) per spatial dimension, in double precision."""
    return "[" + ", ".join(f"int(torch.floor(torch.mul(float(torch.size({input_source}, "
                           f"{i + 2})), {literal(f)})))" for i, f in enumerate(scales)) + "]"


class _Writer:
    """Writes the root forward from the fx graph, node by node."""

    def __init__(self, root, gm, constants, prefix="", optional=()):
        self.root, self.gm = root, gm
        self.constants = constants    # tensors that are neither parameters nor buffers
        self.lines = []
        self.names = {}
        self.prefix = prefix          # of the value names (one per branch of the code)
        self.optional = set(optional)   # arguments defaulting to None (branched on)
        self.defaults = {}              # arguments defaulting to a number, bool or str

    def arg(self, a):
        from ..fx.node import Node
        if isinstance(a, _Source):
            return str(a)
        if isinstance(a, Node):
            return self.names[a]
        if isinstance(a, (list, tuple)) and any(isinstance(x, Node) for x in a):
            return "[" + ", ".join(self.arg(x) for x in a) + "]"
        if isinstance(a, Tensor):
            self.constants.append(a)
            return f"CONSTANTS.c{len(self.constants) - 1}"
        return literal(a)

    def index(self, idx):
        """A subscript as source: ints, slices, None, Ellipsis and nodes."""
        if isinstance(idx, tuple):
            return ", ".join(self.index(i) for i in idx) if idx else "()"
        if isinstance(idx, slice):
            parts = ["" if p is None else self.arg(p) for p in (idx.start, idx.stop)]
            text = ":".join(parts)
            return text + (f":{self.arg(idx.step)}" if idx.step is not None else "")
        if idx is Ellipsis:
            return "..."
        return self.arg(idx)

    def module_path(self, target):
        expr = "self"
        for part in target.split("."):
            expr = f"{expr}.{part}" if part.isidentifier() else f'getattr({expr}, "{part}")'
        return expr

    def node(self, node):
        name = f"_{self.prefix}{len(self.names)}"
        op = node.op
        if op == "placeholder":
            base = node.target[:-2] if node.target.endswith("_1") else node.target
            if base in self.optional:   # this branch's trace had it None or a tensor
                self.names[node] = base
                return
            default = node.args[0] if node.args else None
            if type(default) in _DEFAULT_TYPES and node.target.isidentifier():
                # a number/bool/str default: traced as a value (a branch on it would have
                # stopped the trace), so the code holds for any value passed
                self.names[node] = node.target
                self.defaults[node.target] = default
                return
            if node.args or node.target.startswith("*"):
                # fx traced the body for one value of the argument (a default None took
                # `if mask is not None` one way): the code would be wrong for others
                raise NotImplementedError(f"ember.jit.save: forward argument "
                                          f"'{node.target}' has a default or is variadic")
            name = node.target if node.target.isidentifier() else name
            self.names[node] = name
            return
        if op == "output":
            self.lines.append(f"return {self.output(node.args[0])}")
            return
        self.names[node] = name
        if op == "call_function" and getattr(node.target, "__name__", "") == "_assert_is_none":
            self.names[node] = "None"   # (the branch's condition: the argument is None)
            return
        if op == "call_function" and getattr(node.target, "__name__", "") == "_assert" and \
                (getattr(node.target, "__module__", "") or "").startswith("ember"):
            # torch._assert(condition, message): TorchScript's assert statement
            cond = self.arg(node.args[0])
            msg = self.arg(node.args[1]) if len(node.args) > 1 else '""'
            self.lines.append(f"assert {cond}, {msg}")
            self.names[node] = "None"
            return
        self.lines.append(f"{name} = {self.expression(node)}")

    def output(self, value):
        from ..fx.node import Node
        if isinstance(value, (tuple, list)) and not isinstance(value, Node):
            inner = ", ".join(self.output(v) for v in value)
            return f"({inner}{',' if len(value) == 1 else ''})"
        return self.arg(value)

    def expression(self, node):
        op, target, args, kwargs = node.op, node.target, node.args, node.kwargs
        if op == "call_module":
            sub = self.gm.get_submodule(target)
            if _leaf_template(sub) is None:
                raise NotImplementedError(f"ember.jit.save: no TorchScript template for the "
                                          f"module {type(sub).__name__} ('{target}')")
            # (a tuple argument, an LSTM's (h, c), is a TorchScript tuple, not a list)
            parts = [self.output(a) if isinstance(a, tuple) else self.arg(a) for a in args]
            if kwargs:
                known = [p.split(":")[0] for p in _SIGNATURES.get(type(sub).__name__, ())]
                unknown = sorted(set(kwargs) - set(known))
                if unknown:
                    raise NotImplementedError(f"ember.jit.save: module '{target}' called with "
                                              f"keyword arguments {unknown}")
                parts += [f"{k}={self.output(v) if isinstance(v, tuple) else self.arg(v)}"
                          for k, v in kwargs.items()]
            return f"({self.module_path(target)}).forward({', '.join(parts)}, )"
        if op == "get_attr":
            value = self.root
            for part in target.split("."):
                value = getattr(value, part)
            owner_path, _, leaf = target.rpartition(".")
            owner = self.root.get_submodule(owner_path) if owner_path else self.root
            if leaf in owner._parameters or leaf in owner._buffers:
                return self.module_path(target)
            if isinstance(value, Tensor):
                return self.arg(value)
            return literal(value)
        if op == "call_method":
            return self.method(target, args, kwargs)
        if op == "call_function":
            return self.function(target, args, kwargs)
        raise NotImplementedError(f"ember.jit.save: fx node kind {op}")

    def method(self, name, args, kwargs):
        self_arg, rest = self.arg(args[0]), args[1:]
        if name == "size":
            if kwargs:
                rest = (kwargs["dim"],)
            return f"torch.size({self_arg}{''.join(', ' + self.arg(a) for a in rest)})"
        if name in _SIZE_METHODS:
            return self.call(f"torch.{name}", [args[0], self.sizes(rest)], kwargs)
        if name in _CAST_METHODS and not rest and not kwargs:
            return f"torch.to({self_arg}, {_CAST_METHODS[name]}, False, False, None)"
        if name in ("to", "type"):
            return self.to(args[0], rest, kwargs)
        if name == "where":   # x.where(condition, y) is torch.where(condition, x, y)
            return self.call("torch.where", [rest[0], args[0]] + list(rest[1:]), kwargs)
        if name == "norm":
            return self.norm(args[0], rest, kwargs)
        if name == "new_full":
            return self.call("torch.new_full", [args[0], self.sizes(rest[:1]), *rest[1:]],
                             kwargs)
        if name == "contiguous" and not rest:
            return f"torch.contiguous({self_arg})"
        if name in _METHODS:
            return self.call(f"torch.{name}", (args[0],) + tuple(rest), kwargs)
        raise NotImplementedError(f"ember.jit.save: no TorchScript form for Tensor.{name}")

    def sizes(self, rest):
        """A size given as *args or as one list/tuple/Size (or a traced shape) as the
        single int[] argument ATen takes."""
        from ..fx.node import Node
        if len(rest) == 1 and isinstance(rest[0], (list, tuple, Node)):
            return rest[0] if isinstance(rest[0], Node) else list(rest[0])
        return list(rest)

    def to(self, x, rest, kwargs):
        """Tensor.to / Tensor.type: a dtype, a device, or another tensor's both."""
        from ..fx.node import Node
        kwargs = dict(kwargs)
        extra = set(kwargs) - {"dtype", "device", "non_blocking", "copy", "memory_format"}
        if extra or len(rest) > 1 or kwargs.get("memory_format") is not None:
            raise NotImplementedError(f"ember.jit.save: Tensor.to with {sorted(extra) or rest}")
        first = rest[0] if rest else None
        flags = f"{literal(bool(kwargs.get('non_blocking', False)))}, " \
                f"{literal(bool(kwargs.get('copy', False)))}"
        device = kwargs.get("device")
        dtype = kwargs.get("dtype")
        if isinstance(first, Node) and first.op == "call_function" and \
                first.target is getattr and first.args[1] == "dtype":
            dtype = first
        elif isinstance(first, Node):
            return f"torch.to({self.arg(x)}, {self.arg(first)}, {flags}, None)"
        elif isinstance(first, _dtype.dtype):
            dtype = first
        elif first is not None:
            device = first
        if device is not None:
            dev = self.arg(device) if isinstance(device, Node) else \
                f'torch.device("{device}")'
            dt = "None" if dtype is None else self.arg(dtype)
            return f"torch.to({self.arg(x)}, {dev}, {dt}, {flags})"
        if dtype is None:
            return self.arg(x)
        return f"torch.to({self.arg(x)}, {self.arg(dtype)}, {flags}, None)"

    def norm(self, x, rest, kwargs):
        """Tensor.norm / torch.norm of a number p (2 by default, "fro" alike) over dims:
        torch.linalg_vector_norm, which ATen's norm overloads compute."""
        names = ("p", "dim", "keepdim", "dtype")
        values = dict(zip(names, rest), **kwargs)
        p = values.get("p", "fro")
        if p in ("fro", None):
            p = 2
        if isinstance(p, str):
            raise NotImplementedError(f"ember.jit.save: norm with p={p!r}")
        dim = values.get("dim")
        dim = [dim] if isinstance(dim, int) else (None if dim is None else list(dim))
        return self.call("torch.linalg_vector_norm",
                         [x, float(p), dim, bool(values.get("keepdim", False))],
                         {"dtype": values.get("dtype")})

    def function(self, fn, args, kwargs):
        if fn is operator.truediv and not isinstance(args[0], Tensor) and \
                not _is_node(args[0]) and _is_node(args[1]):
            # a number over a tensor: TorchScript has no div(Scalar, Tensor)
            return f"torch.mul(torch.reciprocal({self.arg(args[1])}), {self.arg(args[0])})"
        if fn in _OPERATORS:
            return self.call(f"torch.{_OPERATORS[fn]}", args, kwargs)
        if fn is getattr and args[1] in _ATTRIBUTES:
            return _ATTRIBUTES[args[1]].format(self.arg(args[0]))
        if fn is operator.getitem:
            return f"{self.arg(args[0])}[{self.index(args[1])}]"
        if fn is zero_padded_rows:
            return padded_rows_source(self, args)
        module = getattr(fn, "__module__", "") or ""
        name = getattr(fn, "__name__", "")
        if module.startswith("ember") and name in _FUNCTIONAL and _is(F, name, fn):
            return self.functional(name, args, kwargs)
        if module.startswith("ember") and name in _SIZE_FUNCTIONS and _is(_ember(), name, fn):
            kwargs = dict(kwargs)
            size_args = args if name != "full" else args[:-1] if len(args) > 1 else args
            rest = [] if name != "full" or len(args) < 2 else [args[-1]]
            return self.call(f"torch.{name}", [self.sizes(tuple(size_args))] + rest, kwargs)
        if module.startswith("ember") and name == "einsum" and _is(_ember(), name, fn):
            operands = args[1][0] if len(args) == 2 and isinstance(args[1], (list, tuple)) \
                else list(args[1:])
            return self.call("torch.einsum", [args[0], list(operands)], {})
        if module.startswith("ember") and name == "norm" and _is(_ember(), name, fn):
            return self.norm(args[0], args[1:], kwargs)
        if module.startswith("ember.linalg") and name in ("norm", "vector_norm") and \
                _is(_ember().linalg, name, fn):
            return self.call(f"torch.linalg_{name}", args, kwargs)
        if module.startswith("ember") and name in _TORCH_FUNCTIONS and _is(_ember(), name, fn):
            return self.call(f"torch.{name}", args, kwargs)
        raise NotImplementedError(f"ember.jit.save: no TorchScript form for the function "
                                  f"{module}.{name}")

    def functional(self, name, args, kwargs):
        """F.<name>(...) as its ATen call: the call bound to F's own signature (defaults
        filled in), then ATen's arguments picked by name (_codegen_ops.FUNCTIONAL); an
        argument ATen lacks must keep F's default, except the few written otherwise
        (inplace, return_indices)."""
        aten, params, defaults = _FUNCTIONAL[name]
        values, given = self.bind_functional(name, args, kwargs, defaults)
        for key, value in defaults.items():
            if values.get(key, inspect.Parameter.empty) is inspect.Parameter.empty:
                values[key] = value
        indices = bool(values.pop("return_indices", False))
        known = set(params) | {"inplace", "return_indices", "_stacklevel"}
        extra = sorted(k for k in given if k not in known)
        if name in _SPECIAL_FUNCTIONAL:
            known |= _SPECIAL_FUNCTIONAL[name]
            extra = sorted(k for k in given if k not in known)
        if extra:
            raise NotImplementedError(f"ember.jit.save: F.{name} with {extra}")
        if values.pop("inplace", False):
            aten += "_"
        params = [p for p in params if p != "inplace"]
        if "stride" in values and values["stride"] is None and "kernel_size" in values \
                and "pool" in name:
            values["stride"] = values["kernel_size"]
        rank = int(name[-2]) if name[-2:-1].isdigit() and name.endswith("d") else 2
        for key in _POOL_LISTS.get(name, ()):
            if not isinstance(values[key], str):
                values[key] = _n(values[key], rank)
        if name in _LOSSES:
            reduction = values["reduction"]
            if reduction not in _REDUCTIONS:
                raise NotImplementedError(f"ember.jit.save: F.{name} with reduction="
                                          f"{reduction!r}")
            values["reduction"] = _REDUCTIONS[reduction]
        if name == "gelu":
            approximate = values["approximate"]
            return self.call("torch.gelu", [values["input"]],
                             {} if approximate == "none" else {"approximate": approximate})
        if name == "interpolate":
            return self.interpolate(values)
        if name == "pad":
            values["pad"] = list(values["pad"])
            if values["value"] is not None:
                values["value"] = float(values["value"])
        if name == "embedding":
            if values["padding_idx"] is None:
                values["padding_idx"] = -1
            if values.get("max_norm") is not None:
                self.lines.append(self.call("_ = torch.embedding_renorm_", [
                    _Source(f"torch.detach({self.arg(values['weight'])})"), values["input"],
                    float(values["max_norm"]), float(values["norm_type"])], {}))
        if name == "layer_norm":
            values["normalized_shape"] = list(values["normalized_shape"])
        if name == "softsign":
            x = self.arg(values["input"])
            return f"torch.div({x}, torch.add(torch.abs({x}), 1))"
        if name == "tanhshrink":
            x = self.arg(values["input"])
            return f"torch.sub({x}, torch.tanh({x}))"
        if name == "normalize":   # x / max(||x||_p over dim, eps), broadcast back
            norm = self.call("torch.linalg_vector_norm", [values["input"], float(values["p"]),
                                                          [values["dim"]], True], {})
            return (f"torch.div({self.arg(values['input'])}, torch.expand_as(torch.clamp_min("
                    f"{norm}, {literal(float(values['eps']))}), {self.arg(values['input'])}))")
        if name in ("softmax", "log_softmax", "softmin") and values["dim"] is None:
            x = self.arg(values["input"])   # PyTorch's implicit dim, from the input's rank
            values["dim"] = _Source(f"(0 if torch.__contains__([0, 1, 3], torch.dim({x})) "
                                    f"else 1)")
        if name == "softmin":
            values["input"] = _Source(f"torch.neg({self.arg(values['input'])})")
        keyword = {k: values[k] for k in _KEYWORD_ONLY.get(name, ())}
        flag = [True] if name in _NORMS_WITH_FLAG else []
        if name.startswith("max_pool") and indices:
            aten += "_with_indices"
        call = self.call(f"torch.{aten}", [values[p] for p in params if p not in keyword]
                         + flag, keyword)
        if name.startswith("adaptive_max_pool") and not indices:
            return f"({call})[0]"
        return call

    def bind_functional(self, name, args, kwargs, defaults):
        """({parameter: value} of F.<name>'s signature for this call, the names given or
        defaulted to something other than F's default)."""
        fn = getattr(F, name)
        try:
            sig = inspect.signature(fn)
            bound = sig.bind(*args, **kwargs)
        except (TypeError, ValueError) as e:
            raise NotImplementedError(f"ember.jit.save: F.{name} called as ({e})") from None
        values = dict(bound.arguments)
        for p in sig.parameters.values():
            if p.name not in values and p.default is not inspect.Parameter.empty:
                values[p.name] = p.default
        given = [k for k in bound.arguments
                 if sig.parameters[k].default is inspect.Parameter.empty
                 or not _same_default(bound.arguments[k], sig.parameters[k].default)]
        return values, given

    def interpolate(self, v):
        """F.interpolate as the ATen upsample op of its mode: the input's rank, which the
        op's name holds, comes from the mode or from the length of size/scale_factor."""
        from ..fx.node import Node
        mode = v["mode"]
        fixed = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
        if mode == "area":
            return self.area(v)
        if mode not in fixed and mode not in ("nearest", "nearest-exact"):
            raise NotImplementedError(f"ember.jit.save: F.interpolate with mode={mode!r}")
        antialias = bool(v["antialias"])
        if antialias and mode not in ("bilinear", "bicubic"):
            raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and "
                             "requires a 4-D tensor as input")
        size, scale = v["size"], v["scale_factor"]
        if (size is None) == (scale is None):
            raise NotImplementedError("ember.jit.save: F.interpolate needs exactly one of "
                                      "size and scale_factor")
        given = size if size is not None else scale
        if isinstance(given, (list, tuple)):
            ranks = [len(given)]
        elif mode in fixed:
            ranks = [fixed[mode]]
        else:   # nearest with one number or a traced size: a branch per input rank
            ranks = [1, 2, 3]

        def one(k):
            if size is not None:
                sizes = size if isinstance(size, (list, tuple, Node)) else [int(size)] * k
                scales = None
            else:
                sizes = None
                scales = [float(f) for f in scale] if isinstance(scale, (list, tuple)) \
                    else [float(scale)] * k
                if v["recompute_scale_factor"]:   # the size the scales give, scales dropped
                    sizes, scales = _Source(recomputed_sizes(self.arg(v["input"]), scales)), None
            if mode in fixed:
                op = {"linear": "upsample_linear1d", "bilinear": "upsample_bilinear2d",
                      "bicubic": "upsample_bicubic2d", "trilinear": "upsample_trilinear3d"}[mode]
                if antialias:
                    op = f"_{op}_aa"
                return self.call(f"torch.{op}", [v["input"], sizes, bool(v["align_corners"]),
                                                 scales], {})
            op = f"upsample_nearest{k}d" if mode == "nearest" else f"_upsample_nearest_exact{k}d"
            return self.call(f"torch.{op}", [v["input"], sizes, scales], {})

        if len(ranks) == 1:
            return one(ranks[0])
        dim = f"torch.dim({self.arg(v['input'])})"
        return (f"({one(1)} if torch.eq({dim}, 3) else ({one(2)} if torch.eq({dim}, 4) "
                f"else {one(3)}))")

    def area(self, v):
        """F.interpolate(mode="area"): adaptive average pooling to the output size (the
        given size, or floor(input size * scale) per spatial dimension)."""
        size, scale = v["size"], v["scale_factor"]
        if (size is None) == (scale is None):
            raise NotImplementedError("ember.jit.save: F.interpolate needs exactly one of "
                                      "size and scale_factor")
        given = size if size is not None else scale

        def one(k):
            if size is not None:
                sizes = list(size) if isinstance(size, (list, tuple)) else [int(size)] * k
            else:
                scales = [float(f) for f in scale] if isinstance(scale, (list, tuple)) \
                    else [float(scale)] * k
                sizes = _Source(recomputed_sizes(self.arg(v["input"]), scales))
            return self.call(f"torch.adaptive_avg_pool{k}d", [v["input"], sizes], {})
        if isinstance(given, (list, tuple)):
            return one(len(given))
        dim = f"torch.dim({self.arg(v['input'])})"   # one number: a branch per input rank
        return (f"({one(1)} if torch.eq({dim}, 3) else ({one(2)} if torch.eq({dim}, 4) "
                f"else {one(3)}))")

    def call(self, fn, args, kwargs):
        parts = [self.arg(a) for a in args]
        parts += [f"{k}={self.arg(v)}" for k, v in kwargs.items()]
        return f"{fn}({', '.join(parts)})"


# ----------------------------------------------------------------------------- classes

_ARG_TYPES = {int: "int", float: "float", bool: "bool", str: "str"}


def _arg_type(m, name):
    """The TorchScript type of forward's argument `name`: its annotation when that is a
    Python scalar type, else Tensor (TorchScript's default)."""
    try:
        annotation = inspect.signature(m.forward).parameters[name].annotation
    except (KeyError, TypeError, ValueError):
        return "Tensor"
    return _ARG_TYPES.get(annotation, "Tensor")


def _class_source(qualname, cls_name, m, forward_lines, forward_args, child_types):
    params = [n for n, p in m._parameters.items() if p is not None]
    buffers = [n for n, b in m._buffers.items() if b is not None]
    lines = [f"class {cls_name}(Module):",
             "  __parameters__ = [" + "".join(f'"{n}", ' for n in params) + "]",
             "  __buffers__ = [" + "".join(f'"{n}", ' for n in buffers) + "]"]
    for n in params + buffers:
        lines.append(f"  {n} : Tensor")
    lines.append("  training : bool")
    for n, child_q in child_types.items():
        if n.isidentifier():
            lines.append(f"  {n} : {child_q}")
        else:
            lines.append(f'  __annotations__["{n}"] = {child_q}')
    if forward_lines is not None:
        params = [a if ":" in a else f"{a}: {_arg_type(m, a)}" for a in forward_args]
        sig = ",\n    ".join([f"self: {qualname}"] + params)
        lines.append(f"  def forward({sig}):")
        lines += [f"    {line}" for line in forward_lines]
    return "\n".join(lines) + "\n"


def _optional_arguments(m):
    """forward's positional parameters whose default is None."""
    try:
        params = list(inspect.signature(type(m).forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is None]


_OPTIONAL_TYPES = {int: "int", float: "float", bool: "bool", str: "str"}
_DEFAULT_TYPES = _OPTIONAL_TYPES


def _optional_type(m, name):
    """`Optional[T]` for argument `name` defaulting to None: T from an ``Optional[...]``
    annotation of a Python scalar type, else Tensor."""
    import typing
    try:
        annotation = inspect.signature(type(m).forward).parameters[name].annotation
    except (KeyError, TypeError, ValueError):
        annotation = None
    inner = [a for a in typing.get_args(annotation) if a is not type(None)]
    kind = _OPTIONAL_TYPES.get(inner[0], "Tensor") if len(inner) == 1 else "Tensor"
    return f"Optional[{kind}]"


class _Traced:
    """A trace's graph with its root's submodules (what the writer reads of a
    GraphModule; no Python code is generated from the graph)."""

    def __init__(self, root, graph):
        self.graph = graph
        self.get_submodule = root.get_submodule


def _trace_once(m, tracer_cls, concrete):
    tracer = tracer_cls()
    try:
        graph = tracer.trace(m, concrete_args=concrete or None)
        return _Traced(tracer.root, graph)
    except Exception as e:
        where = type(m).__name__
        if tracer.failed is not None:
            where = f"{tracer.failed[1]} ('{tracer.failed[0]}', which has no template)"
        raise NotImplementedError(f"ember.jit.save: {where} cannot be traced by ember.fx "
                                  f"({type(e).__name__}: {e}), so ember cannot write "
                                  f"TorchScript code for it") from e


_MAX_OPTIONAL = 3   # arguments defaulting to None branched on (2 ** 3 traces)


def _trace_root(m, tracer_cls, constants):
    """(forward lines, forward argument names, call_module targets) of the root `m`
    traced by `tracer_cls`; tensor constants the code reads are appended to
    `constants`.

    An argument defaulting to None (``mask=None``) makes the forward branch on it, which
    one trace cannot record: the root is traced once per combination of such arguments
    being None or a tensor, and the code branches on ``mask is None`` to each trace's
    body (TorchScript refines the argument to a Tensor in the other branch)."""
    optional = _optional_arguments(m)
    if len(optional) > _MAX_OPTIONAL:
        raise NotImplementedError(f"ember.jit.save: forward has {len(optional)} arguments "
                                  f"defaulting to None ({optional}); at most "
                                  f"{_MAX_OPTIONAL} are traced both ways")
    bodies, used, forward_args = {}, set(), None
    for i, combo in enumerate(itertools.product((True, False), repeat=len(optional))):
        concrete = {name: None for name, none in zip(optional, combo) if none}
        gm = _trace_once(m, tracer_cls, concrete)
        writer = _Writer(m, gm, constants, prefix=f"b{i}_" if optional else "",
                         optional=optional)
        for node in gm.graph.nodes:
            writer.node(node)
        bodies[combo] = writer.lines
        used |= {n.target for n in gm.graph.nodes if n.op == "call_module"}
        if not any(combo):   # every argument a tensor: the signature's names
            forward_args = [writer.names[n] for n in gm.graph.nodes if n.op == "placeholder"]
            defaults = writer.defaults
    forward_args = [f"{a}: {_optional_type(m, a)}=None" if a in optional else
                    f"{a}: {_DEFAULT_TYPES[type(defaults[a])]}={literal(defaults[a])}"
                    if a in defaults else a for a in forward_args]

    def nest(level, combo):
        if level == len(optional):
            return bodies[combo]
        name = optional[level]
        return ([f"if {name} is None:"] + ["  " + x for x in nest(level + 1, combo + (True,))]
                + ["else:"] + ["  " + x for x in nest(level + 1, combo + (False,))])
    return nest(0, ()), forward_args, used


def script_module(m, example_args=None):
    """`m` (a plain ember module) as a RecursiveScriptModule sharing its parameters and
    buffers, with TorchScript code written from its fx trace (see the module docstring)."""
    from .. import fx

    class TemplateTracer(fx.Tracer):
        """Layers with a template are leaves; every other module, ember.nn's included,
        is traced through into the calls it makes."""

        failed = None   # the innermost module whose forward the trace could not run

        def is_leaf_module(self, mod, qualified_name):
            return _leaf_template(mod) is not None

        def call_module(self, mod, forward, args, kwargs):
            forward = traceable_forward(mod, forward, args, kwargs, self)
            try:
                return super().call_module(mod, forward, args, kwargs)
            except Exception:
                if self.failed is None:
                    self.failed = (self.path_of_module(mod), type(mod).__name__)
                raise
    constants = []
    if _leaf_template(m) is not None:   # a layer saved on its own: its template is forward
        root_lines = _leaf_template(m)(m)
        forward_args = _SIGNATURES.get(type(m).__name__, ["input: Tensor"])
        used = set()
    else:
        root_lines, forward_args, used = _trace_root(m, TemplateTracer, constants)

    # one class per module instance (each has its own constants baked into its code)
    paths = {mod: path for path, mod in m.named_modules(remove_duplicate=True)}
    qualnames = {}
    for i, (mod, path) in enumerate(paths.items()):
        qualnames[mod] = f"{_PACKAGE}.m{i}.{type(mod).__name__}"
    files = {}
    for mod, path in paths.items():
        qual = qualnames[mod]
        module_name, _, cls_name = qual.rpartition(".")
        if mod is m:
            body, args = root_lines, forward_args
        elif path in used:
            body = _leaf_template(mod)(mod)
            args = _SIGNATURES.get(type(mod).__name__, ["input: Tensor"])
        else:
            body, args = None, []
        children = {n: qualnames[c] for n, c in mod._modules.items() if c is not None}
        source = _class_source(qual, cls_name, mod, body, args, children)
        files[module_name.replace(".", "/") + ".py"] = source
    unit = CodeUnit(files)
    interp = Interpreter(unit, tuple(constants),
                         lambda cls, state: ScriptObject(cls, interp, state))
    built = {}

    def build(mod):
        if mod in built:
            return built[mod]
        out = RecursiveScriptModule(unit.script_class(qualnames[mod]), interp)
        built[mod] = out
        state = {"training": mod.training}
        state.update({n: p for n, p in mod._parameters.items() if p is not None})
        state.update({n: b for n, b in mod._buffers.items() if b is not None})
        state.update({n: build(c) for n, c in mod._modules.items() if c is not None})
        out._init_state(state, lambda t, role: t)
        object.__setattr__(out, "_state_order", list(state))
        return out
    return build(m)



def function_module(fn):
    """A module whose forward calls the function `fn` with its arguments, named as
    PyTorch names the module it saves for a scripted function (``PlaceholderModule``);
    forward has `fn`'s parameters and annotations, so the code types them alike."""
    from ..nn import Module
    params = list(inspect.signature(fn).parameters.values())
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        raise NotImplementedError(f"ember.jit.save: the function {fn.__name__} takes *args, "
                                  f"**kwargs or keyword-only arguments")
    names = [p.name for p in params]
    if any(not n.isidentifier() or n == "self" for n in names):
        raise NotImplementedError(f"ember.jit.save: the function {fn.__name__}'s arguments "
                                  f"{names}")
    scope = {"_fn": fn}
    exec(f"def forward(self, {', '.join(names)}):\n"
         f"    return _fn({', '.join(names)})\n", scope)
    forward = scope["forward"]
    forward.__annotations__ = {k: v for k, v in getattr(fn, "__annotations__", {}).items()
                               if k in names}
    for p in params:
        if p.default is not p.empty:
            forward.__defaults__ = (forward.__defaults__ or ()) + (p.default,)
    return type("PlaceholderModule", (Module,), {"forward": forward})()
