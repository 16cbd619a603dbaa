"""rearrange (``torch.func.rearrange``): einops' reordering of axes by a pattern.

    rearrange(images, "b (h1 h) (w1 w) c -> (b h1 w1) h w c", h1=2, w1=2)

Each side of ``->`` lists the tensor's axes: a name is one axis, a parenthesised group
of names is one axis that is their product (split on the left, merged on the right),
``1`` or ``()`` an axis of size 1, and ``...`` the axes not named. The work is three
views: split the input's axes into the elementary ones the left side names (sizes from
the input and the keyword lengths, one unknown per group), permute those into the right
side's order, and merge them into the right side's groups. A list of tensors is stacked
along a new first axis first.
"""
import keyword
import math

__all__ = ["rearrange"]


class DimensionBindError(Exception):
    """The sizes of a group's axes cannot be inferred (two or more are unknown)."""


_ELLIPSIS = "…"


def _parse_side(text):
    """The axis groups of one side: a list of lists of names, with the group [_ELLIPSIS]
    for '...'; names that repeat raise ValueError."""
    groups, current, seen = [], None, set()
    tokens = text.replace("(", " ( ").replace(")", " ) ").split()
    for tok in tokens:
        if tok == "(":
            if current is not None:
                raise ValueError(f"Nested parentheses are not allowed in '{text}'")
            current = []
        elif tok == ")":
            if current is None:
                raise ValueError(f"Unbalanced parentheses in '{text}'")
            groups.append(current)
            current = None
        else:
            if tok == "...":
                name = _ELLIPSIS
            elif tok == "1":
                if current is None:
                    groups.append([])
                continue
            elif tok.isidentifier() and not keyword.iskeyword(tok):
                name = tok
            else:
                raise ValueError(f"Invalid axis identifier: {tok}")
            if name in seen:
                raise ValueError(f"Indexing expression contains duplicate dimension '{tok}'")
            seen.add(name)
            if current is None:
                groups.append([name])
            else:
                current.append(name)
    if current is not None:
        raise ValueError(f"Unbalanced parentheses in '{text}'")
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """Reorder, split and merge the axes of `tensor` as `pattern` says (see the module
    docstring); `axes_lengths` give the sizes of split axes."""
    from .. import stack
    if isinstance(tensor, (list, tuple)):
        tensor = stack(list(tensor))
    if "->" not in pattern:
        raise ValueError(f"Pattern must contain '->': {pattern}")
    left_text, right_text = pattern.split("->", 1)
    left, right = _parse_side(left_text), _parse_side(right_text)
    left_names = {n for g in left for n in g}
    right_names = {n for g in right for n in g}
    if left_names != right_names:
        only = (left_names ^ right_names) - {_ELLIPSIS}
        raise ValueError(f"Identifiers only on one side of rearrange expression (should be on "
                         f"both): {only}")
    unknown = set(axes_lengths) - left_names
    if unknown:
        raise ValueError(f"Identifiers not found in rearrange expression: {unknown}")

    # '...' stands for the axes the other groups leave over, one name each
    ndim = tensor.dim()
    if [_ELLIPSIS] in left:
        extra = ndim - (len(left) - 1)
        if extra < 0:
            raise ValueError(f"Number of dimensions in pattern ({len(left) - 1}) must be at most "
                             f"the number of dimensions in the tensor ({ndim})")
        names = [f"{_ELLIPSIS}{i}" for i in range(extra)]
        k = left.index([_ELLIPSIS])
        left = left[:k] + [[n] for n in names] + left[k + 1:]
        k = right.index([_ELLIPSIS])
        right = right[:k] + [[n] for n in names] + right[k + 1:]
    elif len(left) != ndim:
        raise ValueError(f"Number of dimensions in pattern ({len(left)}) must be equal to the "
                         f"number of dimensions in the tensor ({ndim})")

    sizes = dict(axes_lengths)
    for group, n in zip(left, tensor.shape):
        free = [a for a in group if a not in sizes]
        known = math.prod(sizes[a] for a in group if a in sizes)
        if len(free) > 1:
            raise DimensionBindError(f"cannot infer the sizes of two dimensions at once "
                                     f"{free[0]} and {free[1]}")
        if free:
            if known == 0 or n % known:
                raise DimensionBindError(f"inferred dimension does not evenly fit into larger "
                                         f"dimension: {n} vs ('?', {known})")
            sizes[free[0]] = n // known
        elif known != n:
            raise DimensionBindError(f"Dimension sizes do not match ({n} != {known}) when "
                                     f"matching dimension pack {tuple(group) or '1'}")

    order = [a for g in left for a in g]
    x = tensor.reshape([sizes[a] for a in order])
    target = [a for g in right for a in g]
    x = x.permute([order.index(a) for a in target])
    return x.reshape([math.prod(sizes[a] for a in g) for g in right])
