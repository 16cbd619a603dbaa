"""The pytrees ember.func's transforms take and return (ember.utils._pytree, torch's
rules), and broadcast_prefix for vmap's in_dims/out_dims.

`grad` of a function of a dict of parameters returns a dict of gradients, `vmap` maps
over every tensor of a tuple of inputs.
"""
from collections import OrderedDict, defaultdict

from ..utils._pytree import (TreeSpec, tree_flatten, tree_map, tree_unflatten,  # noqa: F401
                             _NamedTupleMarker, _StructSeqMarker)

__all__ = ["TreeSpec", "tree_flatten", "tree_unflatten", "tree_map", "broadcast_prefix"]


def broadcast_prefix(prefix, spec):
    """Flatten `prefix` against the nest described by `spec`, repeating each leaf of
    `prefix` over the whole subtree it stands for: (0, None) against ((a, b), c) gives
    [0, 0, None]. None when `prefix` is not a prefix of the nest."""
    out = []
    return out if _broadcast_into(prefix, spec, out) else None


def _dict_keys(spec):
    if spec.type in (dict, OrderedDict):
        return spec.context
    if spec.type is defaultdict:
        return spec.context[1]
    return None


def _broadcast_into(prefix, spec, out):
    if not isinstance(prefix, (tuple, list, dict)):
        out.extend([prefix] * spec.num_leaves)
        return True
    if spec.is_leaf():
        return False
    keys = _dict_keys(spec)
    # a namedtuple prefix may describe a plain tuple and vice versa; tuple vs list may not
    if isinstance(prefix, dict) != (keys is not None):
        return False
    children = spec.children_specs
    if isinstance(prefix, dict):
        if set(prefix) != set(keys):
            return False
        return all(_broadcast_into(prefix[k], c, out) for k, c in zip(keys, children))
    if isinstance(prefix, tuple) != (spec.type in (tuple, _NamedTupleMarker, _StructSeqMarker)):
        return False
    if len(prefix) != len(children):
        return False
    return all(_broadcast_into(p, c, out) for p, c in zip(prefix, children))
