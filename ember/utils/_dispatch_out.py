"""PyTorch's ``out=`` overloads: the operator a ``__torch_dispatch__`` handler sees for a
call with an ``out=`` tensor (``torch.add(x, y, out=o)`` is ``aten.add.out``,
``torch.sum(x, 0, out=o)`` ``aten.sum.IntList_out``, ``torch.matmul(a, b, out=o)`` of
two matrices ``aten.mm.out``).

`out_overload` names it from the public function called and its arguments: the packet is
the function's ATen operator (aliases as the operator they stand for, ``linalg.X`` as
``linalg_X``); the overload is ``out`` unless PyTorch's out-of-place overload carries a
qualifier that its out variant keeps (the rules below, checked against PyTorch in
tests/test_dispatch_fx20.py). ember has no schema registry: a function outside these rules
is named ``<operator>.out``.
"""
from .._tensor import Tensor

# public names -> the ATen operator they are an alias of
_ALIASES = {
    "true_divide": "div", "divide": "div", "multiply": "mul", "subtract": "sub",
    "absolute": "abs", "negative": "neg", "clip": "clamp", "greater": "gt",
    "greater_equal": "ge", "less": "lt", "less_equal": "le", "not_equal": "ne",
    "arccos": "acos", "arcsin": "asin", "arctan": "atan", "arctan2": "atan2",
    "arccosh": "acosh", "arcsinh": "asinh", "arctanh": "atanh", "fix": "trunc",
    "concat": "cat", "concatenate": "cat", "special_erf": "erf", "special_erfc": "erfc",
    "special_expit": "sigmoid", "special_exp2": "exp2", "special_expm1": "expm1",
    "special_log1p": "log1p", "special_round": "round", "special_sinc": "sinc",
    "special_logit": "logit", "special_erfinv": "erfinv", "special_logsumexp": "logsumexp",
    "special_psi": "digamma", "special_digamma": "digamma", "special_gammaln": "lgamma",
    "special_ndtri": "special_ndtri", "special_xlogy": "xlogy",
}
_COMPARISONS = frozenset(("eq", "ne", "lt", "le", "gt", "ge"))
# the out overloads of reductions over dims, of ops returning (values, indices) ...
_FIXED = {"sum": "IntList_out", "prod": "int_out", "std": "correction_out",
          "var": "correction_out", "where": "self_out", "sort": "values", "topk": "values",
          "kthvalue": "values", "mode": "values", "cummax": "out", "cummin": "out",
          "frexp": "Tensor_out"}
_DIM_VALUES = frozenset(("max", "min", "median", "nanmedian"))


def _is_tensor(value):
    return isinstance(value, Tensor)


def _operand(args, kwargs, index, name):
    if len(args) > index:
        return args[index]
    return kwargs.get(name)


def _matmul_packet(args, kwargs):
    """The operator matmul runs for these operands (PyTorch's matmul decomposes)."""
    a, b = _operand(args, kwargs, 0, "input"), _operand(args, kwargs, 1, "other")
    if not (_is_tensor(a) and _is_tensor(b)):
        return "matmul"
    return {(2, 2): "mm", (2, 1): "mv", (1, 1): "dot", (3, 3): "bmm"}.get(
        (a.dim(), b.dim()), "matmul")


def out_overload(name, args, kwargs):
    """(packet, overload) of the out= variant of public function `name` (``linalg.X``,
    ``special.X``, ``fft.X`` for the submodules' functions) called with these arguments."""
    space, _, base = name.rpartition(".")
    packet = f"{space}_{base}" if space else base
    packet = _ALIASES.get(packet, packet)
    if packet == "matmul":
        return _matmul_packet(args, kwargs), "out"
    if packet in _COMPARISONS:
        other = _operand(args, kwargs, 1, "other")
        return packet, "Tensor_out" if _is_tensor(other) else "Scalar_out"
    if packet == "pow":
        base_, exponent = _operand(args, kwargs, 0, "input"), _operand(args, kwargs, 1,
                                                                        "exponent")
        if not _is_tensor(base_):
            return packet, "Scalar_out"
        return packet, "Tensor_Tensor_out" if _is_tensor(exponent) else "Tensor_Scalar_out"
    if packet == "div":
        return packet, "out_mode" if kwargs.get("rounding_mode") is not None else "out"
    if packet == "clamp":
        bounds = [_operand(args, kwargs, 1, "min"), _operand(args, kwargs, 2, "max")]
        return packet, "Tensor_out" if any(_is_tensor(b) for b in bounds) else "out"
    if packet == "arange":
        count = len(args) + sum(k in kwargs for k in ("start", "step"))
        return packet, "out" if count <= 1 else "start_out"
    if packet in _DIM_VALUES:
        has_dim = len(args) > 1 and not _is_tensor(args[1]) or "dim" in kwargs
        if has_dim:
            return packet, f"dim_{packet}" if packet in ("max", "min") else "dim_values"
        return packet, "out" if packet not in ("max", "min") else "unary_out"
    return packet, _FIXED.get(packet, "out")


# the keywords PyTorch's out overloads of two results take their out tensors by
_OUT_NAMES = {"dim_max": ("max", "max_values"), "dim_min": ("min", "min_indices"),
              "values": ("values", "indices"), "dim_values": ("values", "indices")}


# ... and of operators whose out overload is named otherwise
_PACKET_OUT_NAMES = {"frexp": ("mantissa", "exponent"), "aminmax": ("min", "max"),
                     "cummax": ("values", "indices"), "cummin": ("values", "indices")}


def out_names(overload, count, packet=None):
    """The keywords of the out tensors of an overload returning `count` results, or None
    (one ``out``)."""
    names = _PACKET_OUT_NAMES.get(packet) or _OUT_NAMES.get(overload)
    return names if names is not None and len(names) == count else None
