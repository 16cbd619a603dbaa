"""nn.functional calls that ember.jit.save writes as several TorchScript statements.

Some functions of ``torch.nn.functional`` have no ATen op of their own: ``lp_pool1d/2d/3d``,
``local_response_norm`` and ``gaussian_nll_loss`` are Python over other ops, with checks
on the input's shape (``embedding_bag`` and ``fractional_max_pool2d/3d`` check and prepare
their inputs in Python around their ATen op) (torch.jit.script inlines them as calls of scripted helpers). Their
bodies do not trace with ember.fx (they test shapes and values in Python), so the graph
keeps the call, and the writer (_codegen._Writer.functional) emits its statements here:
the layer templates of _codegen_layers.py where the function has a layer (LPPool,
LocalResponseNorm), with the call's constant settings, and for gaussian_nll_loss its own
lines. ``inline`` renames a template's local names per call, so one forward can call a
function many times.
"""
import re
import types

from ._codegen_layers import LAYERS
from ._codegen_literal import literal

__all__ = ["INLINED", "inline_call"]

_ASSIGNED = re.compile(r"^\s*([A-Za-z_]\w*)\s*=[^=]")


def inline(lines, inputs, prefix):
    """(statements, result name) of a template's `lines` (a forward body ending in one
    top-level ``return``) with its arguments bound to `inputs` ({template name: source})
    and every local name given `prefix`."""
    local = {m.group(1) for line in lines for m in [_ASSIGNED.match(line)] if m}
    local |= {name for line in lines for name in re.findall(r"for (\w+) in", line)}
    renames = {name: f"{prefix}{name}" for name in local | set(inputs)}
    pattern = re.compile(r"(?<![.\w])(" + "|".join(map(re.escape, sorted(renames))) + r")\b")

    def rename(line):
        parts = line.split('"')   # only outside string literals (the odd parts)
        parts[::2] = [pattern.sub(lambda m: renames[m.group(1)], p) for p in parts[::2]]
        return '"'.join(parts)
    out = [f"{renames[name]} = {source}" for name, source in inputs.items()]
    result = f"{prefix}result"
    for i, line in enumerate(lines):
        if line.startswith("return "):
            if i != len(lines) - 1:
                raise NotImplementedError("ember.jit.save: a template returning early")
            out.append(f"{result} = {rename(line[len('return '):])}")
        elif line.lstrip().startswith("return "):
            raise NotImplementedError("ember.jit.save: a template returning inside a block")
        else:
            out.append(rename(line))
    return out, result


def _constant(name, values, *keys):
    from ..fx.node import Node
    for key in keys:
        if isinstance(values[key], Node):
            raise NotImplementedError(f"ember.jit.save: F.{name} with a traced {key}")


def _lp_pool(n):
    def lines(writer, name, values):
        _constant(name, values, "norm_type", "kernel_size", "stride", "ceil_mode")
        layer = types.SimpleNamespace(norm_type=values["norm_type"],
                                      kernel_size=values["kernel_size"],
                                      stride=values["stride"], ceil_mode=values["ceil_mode"])
        return LAYERS[f"LPPool{n}d"](layer), {"input": writer.arg(values["input"])}
    return lines


def _local_response_norm(writer, name, values):
    _constant(name, values, "size", "alpha", "beta", "k")
    layer = types.SimpleNamespace(size=values["size"], alpha=values["alpha"],
                                  beta=values["beta"], k=values["k"])
    return LAYERS["LocalResponseNorm"](layer), {"input": writer.arg(values["input"])}


_INCORRECT = 'ops.prim.RaiseException("var is of incorrect size", "builtins.ValueError")'


def _gaussian_nll_loss(writer, name, values):
    """0.5 (log v + (input - target)^2 / v) [+ 0.5 log(2 pi)], v = var clamped at eps
    without a gradient (a clone clamped in place through a detached alias, as
    PyTorch's no_grad clamp_: the gradient passes to var unclamped); var of input's
    shape without its last dim is unsqueezed there, and of input's rank may differ from
    it in one dim (of size 1), as PyTorch's checks."""
    from ..fx.node import Node
    from .._tensor import Tensor
    _constant(name, values, "full", "eps", "reduction")
    if not isinstance(values["var"], (Node, Tensor)):
        raise NotImplementedError("ember.jit.save: F.gaussian_nll_loss with a number var")
    import math
    eps = literal(float(values["eps"]))
    lines = [
        "if bool(torch.any(torch.lt(var, 0))):",
        '  ops.prim.RaiseException("var has negative entry/entries", "builtins.ValueError")',
        "else:",
        "  pass",
        "if torch.ne(torch.size(var), torch.size(input)):",
        "  if torch.eq(torch.slice(torch.size(input), None, -1), torch.size(var)):",
        "    var1 = torch.unsqueeze(var, -1)",
        "  else:",
        "    a = torch.size(input)",
        "    b = torch.size(var)",
        "    if torch.ne(torch.len(a), torch.len(b)):",
        f"      {_INCORRECT}",
        "    else:",
        "      pass",
        "    total = 0",
        "    for i in range(torch.len(a)):",
        "      if torch.ne(a[i], b[i]):",
        "        total0 = torch.add(total, b[i])",
        "      else:",
        "        total0 = total",
        "      total = total0",
        "    if torch.ne(total, 1):",
        f"      {_INCORRECT}",
        "    else:",
        "      pass",
        "    var1 = var",
        "  var0 = var1",
        "else:",
        "  var0 = var",
        "v = torch.clone(var0)",
        f"_ = torch.clamp_(torch.detach(v), {eps})",
        "loss = torch.mul(torch.add(torch.log(v), torch.div(torch.pow(torch.sub(input, "
        "target), 2), v)), 0.5)",
    ]
    if values["full"]:
        lines.append(f"loss = torch.add(loss, {literal(0.5 * math.log(2 * math.pi))})")
    reduction = values["reduction"]   # (ATen's Reduction number by now)
    lines.append("return " + {0: "loss", 1: "torch.mean(loss)", 2: "torch.sum(loss)"}[reduction])
    inputs = {k: writer.arg(values[k]) for k in ("input", "target", "var")}
    return lines, inputs


def _fractional_max_pool(n, indices=False):
    """F.fractional_max_pool{n}d (and its _with_indices form): the FractionalMaxPool{n}d
    template with the call's settings; given _random_samples are read from the call,
    else drawn per call."""
    def lines(writer, name, values):
        if indices:
            values = dict(values, return_indices=True)
        _constant(name, values, "kernel_size", "output_size", "output_ratio")
        if values["output_size"] is None and values["output_ratio"] is None:
            raise ValueError(f"fractional_max_pool{n}d requires specifying either an "
                             f"output_size or an output_ratio")
        ratio = values["output_ratio"]
        if ratio is not None and not isinstance(ratio, (list, tuple)):
            ratio = (ratio,) * n
        samples = values["_random_samples"]
        layer = types.SimpleNamespace(kernel_size=values["kernel_size"],
                                      output_size=values["output_size"], output_ratio=ratio,
                                      return_indices=values["return_indices"],
                                      _random_samples=samples)
        template = [line.replace("self._random_samples", "random_samples")
                    for line in LAYERS[f"FractionalMaxPool{n}d"](layer)]
        inputs = {"input": writer.arg(values["input"])}
        if samples is not None:
            inputs["random_samples"] = writer.arg(samples)
        return template, inputs
    return lines


_BAG_MODES = {"sum": 0, "mean": 1, "max": 2}
_NOT_1D = ('ops.prim.RaiseException(torch.format("input has to be 1D or 2D Tensor, but got '
           'Tensor of dimension {}", torch.dim(input)), "builtins.ValueError")')


def _embedding_bag(writer, name, values):
    """F.embedding_bag as ATen's embedding_bag (its first output) after F's checks of
    the input's rank against the offsets given or not (ValueError as PyTorch's), a 2-D
    input flattened into bags of equal length, rows renormed first with max_norm and a
    negative padding_idx counted from the end."""
    _constant(name, values, "max_norm", "norm_type", "scale_grad_by_freq", "mode", "sparse",
              "include_last_offset", "padding_idx")
    mode = values["mode"]
    if mode not in _BAG_MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    offsets, weights = values["offsets"], values["per_sample_weights"]
    if weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    inputs = {"input": writer.arg(values["input"]), "weight": writer.arg(values["weight"])}
    if offsets is None:
        lines = ["if torch.ne(torch.dim(input), 2):",
                 "  if torch.eq(torch.dim(input), 1):",
                 '    ops.prim.RaiseException("offsets has to be a 1D Tensor but got None", '
                 '"builtins.ValueError")',
                 "  else:",
                 f"    {_NOT_1D}",
                 "else:",
                 "  pass",
                 "offsets0 = torch.arange(0, torch.numel(input), torch.size(input, 1), "
                 "dtype=ops.prim.dtype(input), layout=None, device=ops.prim.device(input))",
                 "input0 = torch.reshape(input, [-1])"]
        if weights is not None:
            lines.append("weights0 = torch.reshape(per_sample_weights, [-1])")
    else:
        inputs["offsets"] = writer.arg(offsets)
        lines = ["if torch.eq(torch.dim(input), 2):",
                 '  ops.prim.RaiseException("if input is 2D, then offsets has to be None, as '
                 'input is treated is a mini-batch of fixed length sequences. However, found '
                 "offsets of type <class 'torch.Tensor'>\", \"builtins.ValueError\")",
                 "else:",
                 "  if torch.ne(torch.dim(input), 1):",
                 f"    {_NOT_1D}",
                 "  else:",
                 "    pass",
                 "if torch.ne(torch.dim(offsets), 1):",
                 '  ops.prim.RaiseException("offsets has to be a 1D Tensor", '
                 '"builtins.ValueError")',
                 "else:",
                 "  pass",
                 "offsets0 = offsets",
                 "input0 = input"]
        if weights is not None:
            lines.append("weights0 = per_sample_weights")
    if weights is not None:
        inputs["per_sample_weights"] = writer.arg(weights)
    else:
        lines.append("weights0 = None")
    if values["max_norm"] is not None:   # (no gradient recorded, as F's no_grad renorm)
        lines.append(f"renormed = torch.embedding_renorm_(torch.detach(weight), input0, "
                     f"{literal(float(values['max_norm']))}, "
                     f"{literal(float(values['norm_type']))})")
    pad = values["padding_idx"]
    pad = "None" if pad is None else str(int(pad)) if pad >= 0 else \
        f"torch.add(torch.size(weight, 0), {int(pad)})"
    lines += [f"bag = torch.embedding_bag(weight, input0, offsets0, "
              f"{literal(bool(values['scale_grad_by_freq']))}, {_BAG_MODES[mode]}, "
              f"{literal(bool(values['sparse']))}, weights0, "
              f"{literal(bool(values['include_last_offset']))}, {pad})",
              "return (bag)[0]"]
    return lines, inputs


# F.<name> -> lines(writer, name, bound values) -> (template lines, {name: source})
INLINED = {"lp_pool1d": _lp_pool(1), "lp_pool2d": _lp_pool(2), "lp_pool3d": _lp_pool(3),
           "local_response_norm": _local_response_norm,
           "gaussian_nll_loss": _gaussian_nll_loss,
           "fractional_max_pool2d": _fractional_max_pool(2),
           "fractional_max_pool3d": _fractional_max_pool(3),
           "fractional_max_pool2d_with_indices": _fractional_max_pool(2, True),
           "fractional_max_pool3d_with_indices": _fractional_max_pool(3, True),
           "embedding_bag": _embedding_bag}


def inline_call(writer, name, values):
    """The source of F.<name>'s result, its statements appended to the writer's lines."""
    writer.inlined = getattr(writer, "inlined", 0) + 1
    template, inputs = INLINED[name](writer, name, values)
    lines, result = inline(template, inputs, f"_{writer.prefix}i{writer.inlined}_")
    writer.lines += lines
    return result
