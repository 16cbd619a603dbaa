"""Packed sequences in a forward that ember.jit.save writes as TorchScript.

``nn.utils.rnn.pack_padded_sequence(x, lengths, ...)`` fed to an LSTM/GRU/RNN and
``pad_packed_sequence`` of its output: torch.jit.script keeps the calls of the scripted
``torch.nn.utils.rnn`` functions and a PackedSequence NamedTuple. Here a packed batch is
the tuple ``(data, batch_sizes, sorted_indices, unsorted_indices)`` (the NamedTuple's
fields, in its order): the two functions are written as statements per call (ATen's
``_pack_padded_sequence`` / ``_pad_packed_sequence`` with the sorting and unsorting of
the batch around them, as PyTorch's Python does), and the recurrent layer's class gets a
``forward_packed`` method (ATen's packed ``lstm``/``gru``/``rnn_*`` overload, the initial
state permuted into the sorted order and the final state back). A packed value's
``.data`` / ``.batch_sizes`` / ... are its tuple's items.
"""
import inspect

from ._codegen_literal import literal

__all__ = ["PACKED", "packed_function", "is_packed", "packed_method", "PACKED_TYPE",
           "FIELDS"]

PACKED_TYPE = "Tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor]]"
FIELDS = ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
_RECURRENT = ("LSTM", "GRU", "RNN")


def _rnn_utils():
    from ..nn.utils import rnn
    return rnn


def packed_function(fn):
    """'pack' / 'pad' when `fn` is ember's pack_padded_sequence / pad_packed_sequence."""
    module = getattr(fn, "__module__", "") or ""
    if not module.startswith("ember"):
        return None
    rnn = _rnn_utils()
    for kind, name in (("pack", "pack_padded_sequence"), ("pad", "pad_packed_sequence")):
        current = getattr(rnn, name)
        if fn is current or inspect.unwrap(fn) is inspect.unwrap(current):
            return kind
    return None


def is_packed(node, gm):
    """Whether the traced value `node` is a packed batch: a pack_padded_sequence call, or
    the first output of a recurrent layer called on one."""
    import operator
    from ..fx.node import Node
    if not isinstance(node, Node) or node.op not in ("call_function", "call_module"):
        return False
    if node.op == "call_function" and packed_function(node.target) == "pack":
        return True
    if node.op == "call_function" and node.target is operator.getitem and \
            node.args[1] == 0 and isinstance(node.args[0], Node) and \
            node.args[0].op == "call_module":
        call = node.args[0]
        return recurrent(gm.get_submodule(call.target)) and bool(call.args) and \
            is_packed(call.args[0], gm)
    return False


def recurrent(m):
    from .. import nn
    return type(m).__name__ in _RECURRENT and isinstance(m, nn.modules.rnn.RNNBase)


def _bind(fn, args, kwargs):
    sig = inspect.signature(fn)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _pack(writer, values):
    from ..fx.node import Node
    batch_first, enforce = values["batch_first"], values["enforce_sorted"]
    if isinstance(batch_first, Node) or isinstance(enforce, Node):
        raise NotImplementedError("ember.jit.save: pack_padded_sequence with a traced "
                                  "batch_first or enforce_sorted")
    lengths = values["lengths"]
    inputs = {"input": writer.arg(values["input"])}
    if isinstance(lengths, Node):
        inputs["lengths"] = writer.arg(lengths)
        lines = ["lengths0 = torch.to(lengths, 4, False, False, None)"]
    else:
        lines = [f"lengths0 = torch.tensor({literal([int(n) for n in lengths])}, dtype=4, "
                 f"device=None, requires_grad=False)"]
    first = literal(bool(batch_first))
    if enforce:
        lines += [f"packed = torch._pack_padded_sequence(input, lengths0, {first})",
                  "return ((packed)[0], (packed)[1], annotate(Optional[Tensor], None), "
                  "annotate(Optional[Tensor], None))"]
        return lines, inputs
    lines += ["sorting = torch.sort(lengths0, -1, True)",
              "order = (sorting)[1]",
              f"input0 = torch.index_select(input, {0 if batch_first else 1}, order)",
              f"packed = torch._pack_padded_sequence(input0, (sorting)[0], {first})",
              "steps = torch.arange(0, torch.numel(order), dtype=None, layout=None, "
              "device=ops.prim.device(order))",
              "inverse = torch.scatter(torch.zeros_like(order), 0, order, steps)",
              "return ((packed)[0], (packed)[1], annotate(Optional[Tensor], order), "
              "annotate(Optional[Tensor], inverse))"]
    return lines, inputs


_TOO_SHORT = ("Expected total_length to be at least the length of the longest sequence in "
              "input, but got total_length={} and max sequence length being {}")


def _pad(writer, values):
    from ..fx.node import Node
    if not is_packed(values["sequence"], writer.gm):
        raise NotImplementedError("ember.jit.save: pad_packed_sequence of a value that is no "
                                  "pack_padded_sequence or recurrent layer output")
    for key in ("batch_first", "padding_value"):
        if isinstance(values[key], Node):
            raise NotImplementedError(f"ember.jit.save: pad_packed_sequence with a traced "
                                      f"{key}")
    batch_first = bool(values["batch_first"])
    total = values["total_length"]
    lines = ["longest = torch.size((sequence)[1], 0)"]
    if total is None:
        lines.append("steps = longest")
    else:
        total = writer.arg(total) if isinstance(total, Node) else str(int(total))
        lines += [f"steps = {total}",
                  "if torch.lt(steps, longest):",
                  f"  ops.prim.RaiseException(torch.format({literal(_TOO_SHORT)}, "
                  f"steps, longest), \"builtins.ValueError\")",
                  "else:",
                  "  pass"]
    dim = 0 if batch_first else 1
    lines += [f"padded = torch._pad_packed_sequence((sequence)[0], (sequence)[1], "
              f"{literal(batch_first)}, {literal(float(values['padding_value']))}, steps)",
              "unsorted = (sequence)[3]",
              "if torch.__isnot__(unsorted, None):",
              "  back = unchecked_cast(Tensor, unsorted)",
              f"  result = (torch.index_select((padded)[0], {dim}, back), "
              f"torch.index_select((padded)[1], 0, back))",
              "else:",
              "  result = ((padded)[0], (padded)[1])",
              "return result"]
    return lines, {"sequence": writer.arg(values["sequence"])}


def write_call(writer, kind, fn, args, kwargs):
    """The source of a pack_padded_sequence / pad_packed_sequence call, its statements
    appended to the writer's lines."""
    from ._codegen_inline import inline
    try:
        values = _bind(fn, args, kwargs)
    except TypeError as e:
        raise NotImplementedError(f"ember.jit.save: {fn.__name__} called as ({e})") from None
    template, inputs = (_pack if kind == "pack" else _pad)(writer, values)
    writer.inlined = getattr(writer, "inlined", 0) + 1
    lines, result = inline(template, inputs, f"_{writer.prefix}p{writer.inlined}_")
    writer.lines += lines
    return result


def packed_method(m, qualname):
    """The lines of a recurrent layer's ``forward_packed`` (a class member, indented)."""
    kind = type(m).__name__
    op = {"LSTM": "lstm", "GRU": "gru"}.get(kind) or \
        ("rnn_relu" if m.nonlinearity == "relu" else "rnn_tanh")
    lstm = op == "lstm"
    states = m.num_layers * (2 if m.bidirectional else 1)
    weights = "[" + ", ".join(f"self.{n}" for n in m._flat_weights_names) + "]"
    settings = (f"{literal(bool(m.bias))}, {m.num_layers}, {literal(float(m.dropout))}, "
                f"self.training, {literal(bool(m.bidirectional))}")
    h_size = getattr(m, "proj_size", 0) or m.hidden_size
    state_type = "Tuple[Tensor, Tensor]" if lstm else "Tensor"

    def zeros(size):
        return (f"torch.zeros([{states}, max_batch_size, {size}], dtype=ops.prim.dtype(data), "
                f"layout=None, device=ops.prim.device(data))")
    body = ["data, batch_sizes, sorted_indices, unsorted_indices, = input",
            "max_batch_size = int(torch.select(batch_sizes, 0, 0))",
            "if torch.__is__(hx, None):"]
    if lstm:
        body += [f"  h0 = {zeros(h_size)}", f"  c0 = {zeros(m.hidden_size)}",
                 "else:",
                 "  h1, c1, = unchecked_cast(Tuple[Tensor, Tensor], hx)",
                 "  if torch.__isnot__(sorted_indices, None):",
                 "    order = unchecked_cast(Tensor, sorted_indices)",
                 "    h0, c0 = torch.index_select(h1, 1, order), torch.index_select(c1, 1, "
                 "order)",
                 "  else:",
                 "    h0, c0 = h1, c1",
                 f"out, hn, cn = torch.lstm(data, batch_sizes, [h0, c0], {weights}, "
                 f"{settings})",
                 "if torch.__isnot__(unsorted_indices, None):",
                 "  back = unchecked_cast(Tensor, unsorted_indices)",
                 "  hidden = (torch.index_select(hn, 1, back), torch.index_select(cn, 1, back))",
                 "else:",
                 "  hidden = (hn, cn)"]
    else:
        body += [f"  h0 = {zeros(m.hidden_size)}",
                 "else:",
                 "  h1 = unchecked_cast(Tensor, hx)",
                 "  if torch.__isnot__(sorted_indices, None):",
                 "    h0 = torch.index_select(h1, 1, unchecked_cast(Tensor, sorted_indices))",
                 "  else:",
                 "    h0 = h1",
                 f"out, hn = torch.{op}(data, batch_sizes, h0, {weights}, {settings})",
                 "if torch.__isnot__(unsorted_indices, None):",
                 "  hidden = torch.index_select(hn, 1, unchecked_cast(Tensor, "
                 "unsorted_indices))",
                 "else:",
                 "  hidden = hn"]
    body.append("return ((out, batch_sizes, sorted_indices, unsorted_indices), hidden)")
    head = (f"  def forward_packed(self: {qualname},\n    input: {PACKED_TYPE},\n"
            f"    hx: Optional[{state_type}]=None) -> Tuple[{PACKED_TYPE}, {state_type}]:")
    return [head] + [f"    {line}" for line in body]


PACKED = {"pack": _pack, "pad": _pad}
