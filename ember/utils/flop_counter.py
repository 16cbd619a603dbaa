"""ember.utils.flop_counter (``torch.utils.flop_counter``): count a program's FLOPs.

    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    counter.get_total_flops()        # forward and backward
    counter.get_flop_counts()        # {"Global": {aten.mm: n, ...}, "Net.fc1": {...}, ...}

A TorchDispatchMode sees every op (ember/utils/_python_dispatch.py); the matrix products
and convolutions are counted by PyTorch's formulas, attributed to "Global" and to every
module running at the time (utils/module_tracker.py), in forward and in backward. A
product C = A B with contracted size K counts 2 K per element of C (one multiply, one add;
biases and scalings are not counted):

    mm, addmm:      2 m n k                   bmm, baddbmm:  2 b m n k
    convolution:    2 N C_out (C_in/groups) prod(kernel) prod(out spatial)
                    (a transposed one: prod(input spatial) in place of the output's)
    convolution_backward: the input gradient as the transposed convolution of the output
                    gradient, the weight gradient as a convolution of the input with it
    sdpa (efficient/flash/cudnn): 2 b h s_q s_k (d_q + d_v); its backward
                    2 b h s_q s_k (3 d_q + 2 d_v) (the scores recomputed, then dV, dP, dQ, dK)

The formulas read PyTorch's operands (``addmm(bias, x, W^T)``): `_aten_arguments` puts
ember's op operands in that order (F.linear's op holds W, not W^T; ember's conv backward
is two ops, ``convolution_backward`` with output_mask [True, False, False] for the input
gradient and [False, True, False] for the weight's; a two-operand einsum is the bmm PyTorch
folds it into, with its backward's two bmm; einsums of three and more operands are not
counted, where PyTorch counts the pairwise bmm it runs). As in PyTorch on the CPU, attention
(``_scaled_dot_product_flash_attention_for_cpu`` and its backward) has no formula and
counts 0; the ops of its backward are not counted either.

The table printed on exit (display=True) is laid out as PyTorch's (which uses the
tabulate package; ember formats it itself).
"""
import math
from collections import defaultdict

from .._tensor import Tensor
from .._ops.aten import aten, OpOverload
from . import _python_dispatch
from ._python_dispatch import TorchDispatchMode
from .module_tracker import ModuleTracker

__all__ = ["FlopCounterMode", "register_flop_formula"]

flop_registry = {}


def _shape(value):
    return tuple(value.shape) if isinstance(value, Tensor) else value


def shape_wrapper(f):
    """A formula of shapes called with tensors: every tensor argument (and the output
    `out_val`) replaced by its shape."""
    def wrapped(*args, out_val=None, **kwargs):
        shapes = [_shape(a) for a in args]
        out_shape = tuple(_shape(o) for o in out_val) if isinstance(out_val, (tuple, list)) \
            else _shape(out_val)
        return f(*shapes, out_shape=out_shape, **kwargs)
    return wrapped


def _packet(target):
    """The packet of an overload (formulas are kept per packet)."""
    return target.overloadpacket if isinstance(target, OpOverload) else target


def register_flop_formula(targets, get_raw=False):
    """Decorator: `f` counts the FLOPs of the packets or overloads `targets`. f takes the
    operands' shapes (and out_shape=), or the operands themselves with get_raw=True."""
    def register(f):
        formula = f if get_raw else shape_wrapper(f)
        for target in (targets if isinstance(targets, (list, tuple)) else [targets]):
            packet = _packet(target)
            if packet in flop_registry:
                raise RuntimeError(f"duplicate registrations for {packet}")
            flop_registry[packet] = formula
        return f
    return register


@register_flop_formula(aten.mm)
def mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs):
    """(m, k) @ (k, n): 2 m n k."""
    m, k = a_shape
    k2, n = b_shape
    if k != k2:
        raise AssertionError(f"mm: inner dimensions differ: {a_shape} @ {b_shape}")
    return 2 * m * n * k


@register_flop_formula(aten.addmm)
def addmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs):
    """c + a @ b: the product's (the addition is not counted)."""
    return mm_flop(a_shape, b_shape)


@register_flop_formula(aten.bmm)
def bmm_flop(a_shape, b_shape, out_shape=None, **kwargs):
    """(b, m, k) @ (b, k, n): 2 b m n k."""
    b, m, k = a_shape
    b2, k2, n = b_shape
    if b != b2 or k != k2:
        raise AssertionError(f"bmm: shapes do not match: {a_shape} @ {b_shape}")
    return 2 * b * m * n * k


@register_flop_formula(aten.baddbmm)
def baddbmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs):
    return bmm_flop(a_shape, b_shape)


def conv_flop_count(x_shape, w_shape, out_shape, transposed=False):
    """2 N C_out C_in' prod(kernel) prod(spatial), with w = (C_out, C_in', *kernel) and the
    output's spatial size (the input's for a transposed convolution, whose every input
    point meets the whole kernel). Padding and bias are not accounted for."""
    batch = x_shape[0]
    spatial = (x_shape if transposed else out_shape)[2:]
    c_out, c_in, *kernel = w_shape
    return 2 * batch * c_out * c_in * math.prod(kernel) * math.prod(spatial)


@register_flop_formula([aten.convolution, aten._convolution])
def conv_flop(x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed, *args,
              out_shape=None, **kwargs):
    return conv_flop_count(x_shape, w_shape, out_shape, transposed=transposed)


@register_flop_formula(aten.convolution_backward)
def conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation,
                       transposed, _output_padding, _groups, output_mask, out_shape, **kwargs):
    """The input gradient is the transposed convolution (a convolution, for a transposed
    one) of the output gradient with the weight; the weight gradient a convolution of the
    input, channels and batch swapped, with the output gradient."""
    def swap(shape):
        return [shape[1], shape[0]] + list(shape[2:])
    total = 0
    if output_mask[0]:
        total += conv_flop_count(grad_out_shape, w_shape, out_shape[0], not transposed)
    if output_mask[1]:
        gw_shape = out_shape[1]
        if transposed:
            total += conv_flop_count(swap(grad_out_shape), swap(x_shape), swap(gw_shape))
        else:
            total += conv_flop_count(swap(x_shape), swap(grad_out_shape), swap(gw_shape))
    return total


def sdpa_flop_count(query_shape, key_shape, value_shape):
    """Q K^T and P V: two batched products over b * h_q."""
    b, h, s_q, d_q = query_shape
    s_k = key_shape[2]
    d_v = value_shape[3]
    return bmm_flop((b * h, s_q, d_q), (b * h, d_q, s_k)) + \
        bmm_flop((b * h, s_q, s_k), (b * h, s_k, d_v))


@register_flop_formula([aten._scaled_dot_product_efficient_attention,
                        aten._scaled_dot_product_flash_attention,
                        aten._scaled_dot_product_cudnn_attention])
def sdpa_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape):
    """The scores recomputed (Q K^T), then dV = P^T dO, dP = dO V^T, dQ = dS K,
    dK = dS^T Q: five batched products."""
    b, h, s_q, d_q = query_shape
    s_k = key_shape[2]
    d_v = value_shape[3]
    bh = b * h
    return (bmm_flop((bh, s_q, d_q), (bh, d_q, s_k)) + bmm_flop((bh, s_q, d_v), (bh, d_v, s_k))
            + bmm_flop((bh, s_k, s_q), (bh, s_q, d_v)) + bmm_flop((bh, s_q, s_k), (bh, s_k, d_q))
            + bmm_flop((bh, d_q, s_q), (bh, s_q, s_k)))


@register_flop_formula([aten._scaled_dot_product_efficient_attention_backward,
                        aten._scaled_dot_product_flash_attention_backward,
                        aten._scaled_dot_product_cudnn_attention_backward])
def sdpa_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args,
                       out_shape=None, **kwargs):
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


# --------------------------------------------------------------------------------------
# ember's operands in PyTorch's order


def _rows(shape):
    return math.prod(shape[:-1])


def _matmul_arguments(packet, a, b):
    """torch.matmul reaches mm with the leading dims of a folded into rows (in backward, a
    product over the batch folded into the contracted dim), bmm with the batch dims
    broadcast and folded, mv / dot as they are."""
    if packet is aten.mm:
        if len(a) >= 3 and len(b) >= 3:
            # the batched gradient product of a folded matmul: the batch is contracted
            k = a[-1] * math.prod(a[:-2])
            return ((a[-2], k), (k, b[-1]))
        a_shape = (1, a[0]) if len(a) == 1 else (_rows(a), a[-1])
        return (a_shape, tuple(b))
    if packet is aten.bmm:
        import numpy as np
        batch = np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
        m = 1 if len(a) == 1 else a[-2]
        n = 1 if len(b) == 1 else b[-1]
        k = a[-1]
        return ((math.prod(batch), m, k), (math.prod(batch), k, n))
    return (a, b)


def _einsum_arguments(a_shape, b_shape, a_labels, b_labels, out_labels):
    """The (batch, m, k) and (batch, k, n) operands of the bmm PyTorch's einsum folds a
    two-operand contraction into: batch labels in both operands and the output, m / n in
    one operand and the output, k in both and not the output (a label in one operand only
    and not the output is summed out first, without a product)."""
    sizes = dict(zip(a_labels, a_shape))
    sizes.update(zip(b_labels, b_shape))
    a, b, out = set(a_labels), set(b_labels), set(out_labels)

    def size(labels):
        return math.prod(sizes[c] for c in labels)
    batch = size(a & b & out)
    m, n, k = size((a - b) & out), size((b - a) & out), size((a & b) - out)
    return ((batch, m, k), (batch, k, n))


def _aten_arguments(name, packet, args, out):
    """(operands in PyTorch's order for `packet`, output) for ember op class `name`'s
    handler arguments `args` and result `out`; None when ember's order already is
    PyTorch's."""
    if name in ("Linear", "LinearBias") and isinstance(args[-1], Tensor) and \
            "_linear_weight" in args[-1].__dict__:
        return None   # (a matrix input's W^T, as PyTorch's: _dispatch_schema_nn's linear)
    if name == "Linear":          # mm(x, W^T)
        x, w = _shape(args[0]), _shape(args[1])
        return ((_rows(x), x[-1]), (w[1], w[0])), out
    if name == "LinearBias":      # addmm(b, x, W^T), or mm(x, W^T) and an add
        b, x, w = (_shape(a) for a in args[:3])
        if packet is aten.mm:
            return ((_rows(x), x[-1]), (w[1], w[0])), out
        return (b, (_rows(x), x[-1]), (w[1], w[0])), out
    if name in ("Addmm", "Baddbmm"):   # (input, a, b, beta, alpha): keyword-only in torch
        return tuple(args[:3]), out
    if name == "Einsum" and packet is aten.bmm:
        node = _python_dispatch.running_backward_node()
        if node is not None and type(node)._op.__qualname__ == "Einsum":
            # a gradient of a two-operand einsum: PyTorch's bmm backward, one bmm of the
            # forward's size per gradient
            (a, b), out_labels = node.in_labels, node.out_labels
            shapes = [tuple(node.sizes[c] for c in labels) for labels in (a, b)]
            return _einsum_arguments(shapes[0], shapes[1], a, b, out_labels), out
        in_labels, out_labels = args[-2], args[-1]
        return _einsum_arguments(_shape(args[0]), _shape(args[1]), in_labels[0], in_labels[1],
                                 out_labels), out
    if name == "Matmul":
        return _matmul_arguments(packet, _shape(args[0]), _shape(args[1])), out
    if name in ("Conv", "ConvInputGrad") and packet is aten.convolution:
        return None   # (a handler sees a convolution's arguments in PyTorch's order)
    if name == "Conv":            # a transposed convolution's input gradient
        x, w, b, stride, padding, dilation, groups = args[:7]
        zeros = [0] * (len(_shape(w)) - 2)
        return (x, _shape(out), w, None, stride, padding, dilation, True, zeros, groups,
                [True, False, False]), (out, None, None)
    if name == "ConvInputGrad":
        g, w, x_shape, stride, padding, dilation, groups = args[:7]
        zeros = [0] * (len(_shape(w)) - 2)
        return (g, tuple(x_shape), w, None, stride, padding, dilation, False, zeros, groups,
                [True, False, False]), (out, None, None)
    if name == "ConvWeightGrad":
        x, g, w_shape, stride, padding, dilation, groups = args[:7]
        zeros = [0] * (len(w_shape) - 2)
        return (g, x, tuple(w_shape), None, stride, padding, dilation, False, zeros, groups,
                [False, True, False]), (None, out, None)
    return None


# --------------------------------------------------------------------------------------
# the counter


_SUFFIXES = ["", "K", "M", "B", "T"]


def get_suffix_str(number):
    """The unit the table prints `number` in: one more digit before moving up
    (1.01B prints as 1001M)."""
    index = max(0, min(len(_SUFFIXES) - 1, (len(str(number)) - 2) // 3))
    return _SUFFIXES[index]


def convert_num_with_suffix(number, suffix):
    index = _SUFFIXES.index(suffix)
    return f"{number / 1000 ** index:.3f}" + suffix


def convert_to_percent_str(num, denom):
    if denom == 0:
        return "0%"
    return f"{num / denom:.2%}"


# (PyTorch's attention nodes' backwards are single kernels no formula counts on the CPU)
_UNCOUNTED_BACKWARDS = ("Attention", "PackedAttention")


class FlopCounterMode:
    """Context manager counting the FLOPs of the ops run inside it (forward and backward),
    per module (``torch.utils.flop_counter.FlopCounterMode``).

    `depth`: the module depth the printed table goes to; `display`: print the table on
    exit; `custom_mapping`: {packet: formula of shapes} added to (or replacing) the
    built-in formulas. `mods` is accepted and ignored, as PyTorch (deprecated there)."""

    def __init__(self, mods=None, depth=2, display=True, custom_mapping=None):
        self.flop_counts = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        self.mode = None
        if mods is not None:
            import warnings
            warnings.warn("mods argument is not needed anymore, you can stop passing it",
                          stacklevel=2)
        self.flop_registry = dict(flop_registry)
        for key, formula in (custom_mapping or {}).items():
            packet = _packet(key)
            self.flop_registry[packet] = formula if getattr(formula, "_get_raw", False) \
                else shape_wrapper(formula)
        self.mod_tracker = ModuleTracker()

    def get_total_flops(self):
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self):
        """{module name: {packet: FLOPs}}, "Global" holding the whole program's."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth=None):
        """The counts per module down to `depth` (and per op), as text."""
        if depth is None:
            depth = self.depth
        if depth is None:
            depth = 999999
        total = self.get_total_flops()
        suffix = get_suffix_str(total)
        global_subsumed = False

        def rows_of(name, level):
            nonlocal global_subsumed
            flops = sum(self.flop_counts[name].values())
            global_subsumed |= flops >= total
            pad = " " * level
            rows = [[pad + name, convert_num_with_suffix(flops, suffix),
                     convert_to_percent_str(flops, total)]]
            for op, n in self.flop_counts[name].items():
                rows.append([pad + " - " + str(op), convert_num_with_suffix(n, suffix),
                             convert_to_percent_str(n, total)])
            return rows

        rows = []
        for name in sorted(self.flop_counts):
            if name == "Global":
                continue
            level = name.count(".") + 1
            if level > depth:
                continue
            rows.extend(rows_of(name, level - 1))
        # "Global" is listed only when some FLOPs ran outside every module
        if "Global" in self.flop_counts and not global_subsumed:
            for row in rows:
                row[0] = " " + row[0]
            rows = rows_of("Global", 0) + rows
        if not rows:
            rows = [["Global", "0", "0%"]]
        return _format_table(["Module", "FLOP", "% Total"], rows)

    def __enter__(self):
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        self.mode = _FlopCounterMode(self)
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        self.mode.__exit__(*exc)
        self.mode = None
        self.mod_tracker.__exit__()
        if self.display:
            print(self.get_table(self.depth))
        return False

    def _count_flops(self, packet, out, args, kwargs):
        formula = self.flop_registry.get(packet)
        if formula is not None:
            count = formula(*args, **kwargs, out_val=out)
            for parent in set(self.mod_tracker.parents):
                self.flop_counts[parent][packet] += count
        return out


def _format_table(header, rows):
    """tabulate's "simple" layout: the first column left-aligned, the others right."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        parts = [str(cells[0]).ljust(widths[0])] + \
            [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join(parts)
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule] + [line(r) for r in rows])


class _FlopCounterMode(TorchDispatchMode):
    """The dispatch mode FlopCounterMode enters: runs each op and counts it."""

    def __init__(self, counter):
        super().__init__()
        self.counter = counter

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if _python_dispatch.backward_node_named(_UNCOUNTED_BACKWARDS):
            return out
        packet = func.overloadpacket
        if packet not in self.counter.flop_registry:
            return out
        name = _python_dispatch.dispatched_op_name(func)
        converted = _aten_arguments(name, packet, args, out) if name else None
        if converted is not None:
            self.counter._count_flops(packet, converted[1], converted[0], kwargs)
        else:
            self.counter._count_flops(packet, out, args, kwargs)
        return out
