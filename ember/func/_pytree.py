"""A small pytree: nested tuples, lists, dicts and namedtuples with arbitrary leaves.

The transforms of ember.func take and return such nests ("pytrees") of tensors:
`grad` of a function of a dict of parameters returns a dict of gradients, `vmap` maps
over every tensor of a tuple of inputs. Flattening gives the leaves in a fixed order
(dicts in insertion order) and a spec that rebuilds the same nest around new leaves.
Everything that is not a tuple, list or dict is a leaf (None included, as in
torch.utils._pytree).
"""

__all__ = ["TreeSpec", "tree_flatten", "tree_unflatten", "tree_map", "broadcast_prefix"]


class TreeSpec:
    """The shape of a nest: `kind` is None for a leaf, else the container type;
    `keys` are a dict's keys; `children` the specs of the elements."""

    __slots__ = ("kind", "keys", "children", "num_leaves")

    def __init__(self, kind=None, keys=None, children=()):
        self.kind = kind
        self.keys = keys
        self.children = children
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in children)

    def is_leaf(self):
        return self.kind is None

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.kind is other.kind
                and self.keys == other.keys and self.children == other.children)

    def __repr__(self):
        if self.kind is None:
            return "*"
        if self.keys is not None:
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.keys, self.children))
            return f"{self.kind.__name__}({{{inner}}})"
        inner = ", ".join(repr(c) for c in self.children)
        return f"{self.kind.__name__}([{inner}])"


_LEAF = TreeSpec()


def tree_flatten(tree):
    """(leaves, spec): the leaves of `tree` in order and the spec that rebuilds it."""
    leaves = []
    return leaves, _flatten_into(tree, leaves)


def _flatten_into(tree, leaves):
    if isinstance(tree, dict):
        keys = list(tree)
        children = tuple(_flatten_into(tree[k], leaves) for k in keys)
        return TreeSpec(type(tree), keys, children)
    if isinstance(tree, (tuple, list)):
        children = tuple(_flatten_into(x, leaves) for x in tree)
        return TreeSpec(type(tree), None, children)
    leaves.append(tree)
    return _LEAF


def tree_unflatten(leaves, spec):
    """The nest of shape `spec` holding `leaves` (in flattening order)."""
    it = iter(leaves)
    tree = _build(it, spec)
    rest = sum(1 for _ in it)
    if rest:
        raise ValueError(f"tree_unflatten: {spec.num_leaves + rest} leaves given for a spec "
                         f"with {spec.num_leaves}")
    return tree


def _build(it, spec):
    if spec.kind is None:
        try:
            return next(it)
        except StopIteration:
            raise ValueError("tree_unflatten: too few leaves for the spec") from None
    values = [_build(it, c) for c in spec.children]
    if spec.keys is not None:
        return spec.kind(zip(spec.keys, values))
    if issubclass(spec.kind, tuple) and hasattr(spec.kind, "_fields"):
        return spec.kind(*values)
    return spec.kind(values)


def tree_map(fn, tree):
    """`tree` with every leaf replaced by fn(leaf)."""
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, spec):
    """Flatten `prefix` against the nest described by `spec`, repeating each leaf of
    `prefix` over the whole subtree it stands for: (0, None) against ((a, b), c) gives
    [0, 0, None]. None when `prefix` is not a prefix of the nest."""
    out = []
    return out if _broadcast_into(prefix, spec, out) else None


def _broadcast_into(prefix, spec, out):
    if not isinstance(prefix, (tuple, list, dict)):
        out.extend([prefix] * spec.num_leaves)
        return True
    if spec.kind is None:
        return False
    # a namedtuple prefix may describe a plain tuple and vice versa; tuple vs list may not
    if isinstance(prefix, dict) != (spec.keys is not None):
        return False
    if isinstance(prefix, dict):
        if set(prefix) != set(spec.keys):
            return False
        return all(_broadcast_into(prefix[k], c, out) for k, c in zip(spec.keys, spec.children))
    if isinstance(prefix, tuple) != issubclass(spec.kind, tuple):
        return False
    if len(prefix) != len(spec.children):
        return False
    return all(_broadcast_into(p, c, out) for p, c in zip(prefix, spec.children))
