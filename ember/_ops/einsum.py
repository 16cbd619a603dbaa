"""einsum: Einstein summation over labelled dims (``einsum("ij,jk->ik", a, b)`` is a @ b),
with the equation parser (ellipsis, implicit output, the sublist form) and the dtype
PyTorch's pairwise contraction gives integer and bool operands. One node, EinsumBackward0,
whose input gradients are einsums themselves."""
import string

import numpy as np

from .._backend import like
from .. import _dtype
from .._tensor import Tensor
from .._autocast import AUTOCAST as _AUTOCAST, autocast_args
from ._base import Op, apply
from ._util import check_same_device, dtype_name
from .linalg import compute_array, finish

__all__ = ["einsum"]

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


class Einsum(Op):
    """out = einsum(equation, *operands) with explicit labels (no ellipsis) of consistent sizes.

    The gradient of operand k is itself an einsum: the output gradient contracted with
    the other operands (their conjugates, when complex) onto operand k's labels. A label operand k repeats (a diagonal)
    gets a fresh label tied to the first by an identity matrix; a label that appears
    nowhere else (summed out of operand k alone) is supplied by a vector of ones.
    """
    _name = "EinsumBackward0"

    @staticmethod
    def forward(ctx, *arrays_and_params):
        *arrays, in_labels, out_labels = arrays_and_params
        ctx.in_labels, ctx.out_labels = in_labels, out_labels
        ctx.save_inputs = tuple(range(len(arrays)))
        ctx.sizes = {}
        for labels, a in zip(in_labels, arrays):
            ctx.sizes.update(zip(labels, a.shape))
        dt = arrays[0].dtype
        equation = ",".join(in_labels) + "->" + out_labels
        out = ctx.xp.einsum(equation, *[compute_array(a) for a in arrays], optimize=True)
        return finish(out, dt)

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        grads = []
        for k, labels in enumerate(ctx.in_labels):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            grads.append(_einsum_grad(ctx, k, grad, operands))
        return tuple(grads)


def _einsum_grad(ctx, k, grad, operands):
    # (complex operands: the gradient of a product is the output gradient times the
    # conjugates of the other factors, as for a * b)
    terms = [(ctx.out_labels, grad)]
    terms += [(lab, t.conj() if t.is_complex() else t)
              for j, (lab, t) in enumerate(zip(ctx.in_labels, operands)) if j != k]
    used = set("".join(ctx.in_labels) + ctx.out_labels)
    fresh = [c for c in _LETTERS if c not in used]
    available = set("".join(lab for lab, _ in terms))
    xp_dt = grad._data.dtype
    target, seen = [], set()
    for label in ctx.in_labels[k]:
        n = ctx.sizes[label]
        if label in seen:
            f = fresh.pop()
            terms.append((label + f, Tensor._make(like(np.eye(n, dtype=xp_dt), grad._data))))
            target.append(f)
            continue
        seen.add(label)
        target.append(label)
        if label not in available:
            terms.append((label, Tensor._make(like(np.ones(n, dtype=xp_dt), grad._data))))
    equation = ",".join(lab for lab, _ in terms) + "->" + "".join(target)
    return einsum(equation, *[t for _, t in terms])


def _parse_einsum(equation, operands):
    """Labels per operand and of the output, with each ellipsis replaced by fresh labels
    (right-aligned, shared by all operands), as two lists of strings."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for c in eq:
        if c not in _LETTERS and c not in ",.->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(c)} in the "
                               f"equation string, subscripts must be in [a-zA-Z]")
    used = set(c for c in eq if c in _LETTERS)
    spare = [c for c in reversed(_LETTERS) if c not in used]
    ell_dims = 0
    for term, op in zip(terms, operands):
        if "..." in term:
            ell_dims = max(ell_dims, op.dim() - (len(term) - 3))
    ell = "".join(spare[:ell_dims][::-1])
    in_labels = []
    for i, (term, op) in enumerate(zip(terms, operands)):
        if "..." in term:
            n = op.dim() - (len(term) - 3)
            if n < 0 or term.count("...") > 1 or "." in term.replace("...", "", 1):
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({len(term) - 3}) is more than the number of dimensions "
                                   f"({op.dim()}) for operand {i}")
            term = term.replace("...", ell[ell_dims - n:])
        elif "." in term:
            raise RuntimeError(f"einsum(): found '.' for operand {i} that is not part of any "
                               "ellipsis")
        elif len(term) != op.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) "
                               f"does not match the number of dimensions ({op.dim()}) for "
                               f"operand {i} and no ellipsis was given")
        in_labels.append(term)
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   f"the output")
            if c not in "".join(in_labels):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   f"equation for any input operand")
    else:
        counts = {}
        for c in "".join(t.replace("...", "") for t in terms):
            counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    return in_labels, out


def einsum(equation, *operands):
    """Einstein summation: einsum("ij,jk->ik", a, b) is a @ b.

    Labels are letters; '...' stands for broadcast leading dims; without '->' the
    output holds the labels that appear once, in alphabetical order, after the ellipsis
    dims. A size-1 dim broadcasts against the same label's size in other operands.
    The sublist form einsum(op0, [0, 1], op1, [1, 2], [0, 2]) is accepted too.
    """
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, op in enumerate(operands):
        if not isinstance(op, Tensor):
            raise TypeError(f"einsum(): argument 'operands' must be tuple of Tensors, but found "
                            f"element of type {type(op).__name__} at pos {i}")
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    if _AUTOCAST[0] and len(operands) > 1:  # PyTorch contracts two or more operands with bmm
        operands = autocast_args("einsum", *operands)
    in_labels, out_labels = _parse_einsum(equation, operands)
    sizes = {}
    for i, (labels, op) in enumerate(zip(in_labels, operands)):
        for d, (label, n) in enumerate(zip(labels, op.shape)):
            seen = sizes.get(label)
            if seen is not None and n != seen and n != 1 and seen != 1 and \
                    label not in equation:   # a dim under '...': PyTorch's words (sic)
                raise RuntimeError(f"einsum(): dimension {d} covered by ellipsis in operand "
                                   f"{i}has size {n} which does not broadcast with previously "
                                   f"seen ellipsis with size {seen} for the respective "
                                   f"dimension")
            if seen is not None and n != seen and n != 1 and seen != 1:
                raise RuntimeError(f"einsum(): subscript {label} has size {n} for operand {i} which "
                                   f"does not broadcast with previously seen size {seen}")
            if seen is None or seen == 1:
                sizes[label] = n
    dt = operands[0].dtype
    for op in operands[1:]:
        if op.dtype is not dt:
            raise RuntimeError(f"expected scalar type {dtype_name(dt)} but found "
                               f"{dtype_name(op.dtype)}")
    check_same_device(*operands)
    promoted = _einsum_early_sum_dtype(in_labels, out_labels, dt)
    if promoted is not dt:
        operands = tuple(op.to(promoted) for op in operands)
    expanded = []
    for labels, op in zip(in_labels, operands):
        target = tuple(sizes[c] for c in labels)
        expanded.append(op.expand(target) if tuple(op.shape) != target else op)
    return apply(Einsum, tuple(expanded), tuple(t._data for t in expanded), tuple(in_labels),
                 out_labels)


def _einsum_early_sum_dtype(in_labels, out_labels, dt):
    """The dtype einsum computes in, as PyTorch's integer and bool einsum gives it.

    PyTorch contracts operands left to right. Before each pairwise step it sums out the
    labels only one side carries (in no later operand, not in the output), and that sum
    promotes bool and integers to int64, as torch.sum does. A step that contracts labels is a
    bmm (no bool kernel; both sides must have one dtype); one that contracts none is a
    broadcast multiply (dtypes promote). So an integer "ij->" is int64, "ij,k->jk" int64, and
    "ij,j->" (only the first side summed) raises PyTorch's dtype mismatch. Floating and
    complex dtypes never change."""
    if dt.is_floating_point or dt.is_complex:
        return dt
    out = set(out_labels)
    if len(in_labels) == 1:
        return _dtype.int64 if set(in_labels[0]) - out else dt
    left, left_dt = set(in_labels[0]), dt
    for i in range(1, len(in_labels)):
        right, right_dt = set(in_labels[i]), dt
        later = out.union(*[set(lab) for lab in in_labels[i + 1:]])
        if left - later - right:
            left_dt = _dtype.int64
        if right - later - left:
            right_dt = _dtype.int64
        if (left & right) - later:
            if left_dt is _dtype.bool:
                raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
            if left_dt is not right_dt:
                raise RuntimeError(f"expected scalar type {dtype_name(left_dt)} but found "
                                   f"{dtype_name(right_dt)}")
        else:
            left_dt = _dtype.promote_types(left_dt, right_dt)
        left = (left | right) & later
    return left_dt


def _sublist_equation(args):
    """(equation, operands) from the sublist form op0, sub0, op1, sub1, ..., [out]."""
    args = list(args)
    operands, terms = [], []
    while len(args) >= 2 and isinstance(args[0], Tensor):
        operands.append(args.pop(0))
        terms.append(_sublist_term(args.pop(0)))
    eq = ",".join(terms)
    if args:
        eq += "->" + _sublist_term(args.pop(0))
    return eq, tuple(operands)


def _sublist_term(sub):
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
        elif 0 <= s < 52:
            out.append(_LETTERS[s])
        else:
            raise RuntimeError(f"einsum(): expected subscript to be within the range [0, 52), but "
                               f"got {s}")
    return "".join(out)
