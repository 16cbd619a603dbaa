"""torch.utils._pytree: nests of containers ("pytrees") flattened to their leaves and a
TreeSpec that rebuilds the nest around new leaves.

The container types are registered: tuple, list, dict, namedtuples, OrderedDict,
defaultdict, deque and the structseqs of ``ember.return_types``, plus whatever
``register_pytree_node`` adds. A node's type must be registered exactly (a subclass of
dict that is not registered is a leaf); everything else is a leaf, None included. Dicts
flatten in insertion order. ember.func's transforms take and return pytrees.
"""
import collections
import dataclasses
from collections import OrderedDict, defaultdict, deque

__all__ = ["TreeSpec", "LeafSpec", "register_pytree_node", "tree_flatten", "tree_unflatten",
           "tree_iter", "tree_leaves", "tree_structure", "tree_map", "tree_map_",
           "tree_map_only", "tree_map_only_", "tree_all", "tree_any", "tree_all_only",
           "tree_any_only", "tree_is_leaf", "treespec_pprint", "tree_flatten_with_path",
           "tree_leaves_with_path", "tree_map_with_path", "keystr", "key_get", "MappingKey",
           "SequenceKey", "GetAttrKey", "is_namedtuple", "is_namedtuple_class",
           "is_namedtuple_instance", "is_structseq", "is_structseq_class",
           "is_structseq_instance", "SUPPORTED_NODES"]


# --- key paths (tree_flatten_with_path) ------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SequenceKey:
    idx: int

    def __str__(self):
        return f"[{self.idx!r}]"

    def get(self, sequence):
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True)
class MappingKey:
    key: object

    def __str__(self):
        return f"[{self.key!r}]"

    def get(self, mapping):
        return mapping[self.key]


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    name: str

    def __str__(self):
        return f".{self.name}"

    def get(self, obj):
        return getattr(obj, self.name)


def keystr(kp):
    """A key path as source text: ``['a'][1]``."""
    return "".join(str(k) for k in kp)


def key_get(obj, kp):
    """The element of `obj` that key path `kp` leads to."""
    for k in kp:
        obj = k.get(obj)
    return obj


# --- node types -------------------------------------------------------------------------

@dataclasses.dataclass
class NodeDef:
    type: type
    flatten_fn: object
    unflatten_fn: object
    flatten_with_keys_fn: object = None


SUPPORTED_NODES = {}


def register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
                         to_dumpable_context=None, from_dumpable_context=None,
                         flatten_with_keys_fn=None):
    """Make `cls` a container: ``flatten_fn(node) -> (children, context)`` and
    ``unflatten_fn(children, context) -> node``."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)


class _NamedTupleMarker:
    """The node type of every namedtuple (its context is the namedtuple's class)."""


class _StructSeqMarker:
    """The node type of ember.return_types' tuples (context: the class)."""


_NamedTupleMarker.__name__ = "namedtuple"
_StructSeqMarker.__name__ = "structseq"


def is_namedtuple_class(cls):
    return isinstance(cls, type) and issubclass(cls, tuple) and isinstance(
        getattr(cls, "_fields", None), tuple) and all(isinstance(f, str) for f in cls._fields)


def is_namedtuple(obj):
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def is_namedtuple_instance(obj):
    return is_namedtuple_class(type(obj))


def is_structseq_class(cls):
    return (isinstance(cls, type) and issubclass(cls, tuple)
            and cls.__module__.endswith("return_types") and not is_namedtuple_class(cls))


def is_structseq(obj):
    return is_structseq_class(obj if isinstance(obj, type) else type(obj))


def is_structseq_instance(obj):
    return is_structseq_class(type(obj))


def _seq_keys(children):
    return [SequenceKey(i) for i in range(len(children))]


register_pytree_node(tuple, lambda t: (list(t), None), lambda v, c: tuple(v),
                     flatten_with_keys_fn=lambda t: (list(zip(_seq_keys(t), t)), None))
register_pytree_node(list, lambda t: (list(t), None), lambda v, c: list(v),
                     flatten_with_keys_fn=lambda t: (list(zip(_seq_keys(t), t)), None))
register_pytree_node(dict, lambda d: (list(d.values()), list(d)),
                     lambda v, keys: dict(zip(keys, v)),
                     flatten_with_keys_fn=lambda d: ([(MappingKey(k), x) for k, x in d.items()],
                                                     list(d)))
register_pytree_node(OrderedDict, lambda d: (list(d.values()), list(d)),
                     lambda v, keys: OrderedDict(zip(keys, v)),
                     flatten_with_keys_fn=lambda d: ([(MappingKey(k), x) for k, x in d.items()],
                                                     list(d)))
register_pytree_node(defaultdict, lambda d: (list(d.values()), [d.default_factory, list(d)]),
                     lambda v, c: defaultdict(c[0], zip(c[1], v)),
                     flatten_with_keys_fn=lambda d: ([(MappingKey(k), x) for k, x in d.items()],
                                                     [d.default_factory, list(d)]))
register_pytree_node(deque, lambda d: (list(d), d.maxlen), lambda v, c: deque(v, maxlen=c),
                     flatten_with_keys_fn=lambda d: (list(zip(_seq_keys(d), d)), d.maxlen))
register_pytree_node(_NamedTupleMarker, lambda t: (list(t), type(t)), lambda v, c: c(*v),
                     flatten_with_keys_fn=lambda t: ([(GetAttrKey(f), x) for f, x in
                                                      zip(t._fields, t)], type(t)))
register_pytree_node(_StructSeqMarker, lambda t: (list(t), type(t)), lambda v, c: c(v),
                     flatten_with_keys_fn=lambda t: (list(zip(_seq_keys(t), t)), type(t)))


def _node_type(tree):
    t = type(tree)
    if t in SUPPORTED_NODES:
        return t
    if is_namedtuple_class(t):
        return _NamedTupleMarker
    if is_structseq_class(t):
        return _StructSeqMarker
    return None


def tree_is_leaf(tree, is_leaf=None):
    """Whether `tree` is a leaf: not a registered container (or `is_leaf` says so)."""
    if is_leaf is not None and is_leaf(tree):
        return True
    return _node_type(tree) is None


# --- TreeSpec ---------------------------------------------------------------------------

class TreeSpec:
    """The shape of a nest: the node's `type` (None for a leaf), its `context` (a dict's
    keys, a namedtuple's class ...) and `children_specs`."""

    def __init__(self, type, context, children_specs):
        self.type = type
        self.context = context
        self.children_specs = list(children_specs)
        self.num_nodes = 1 + sum(c.num_nodes for c in self.children_specs)
        self.num_leaves = sum(c.num_leaves for c in self.children_specs)
        self.num_children = len(self.children_specs)

    def is_leaf(self):
        return self.num_nodes == 1 and self.num_leaves == 1

    def __eq__(self, other):
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (self.type is other.type and self.context == other.context
                and self.children_specs == other.children_specs)

    def __hash__(self):
        return hash((self.type, self.num_nodes, self.num_leaves))

    def __repr__(self, indent=0):
        text = f"TreeSpec({self.type.__name__}, {self.context}, ["
        if self.children_specs:
            inner = indent + 2
            text += self.children_specs[0].__repr__(inner)
            if self.num_children > 1:
                text += "," + ",".join("\n" + " " * inner + c.__repr__(inner)
                                       for c in self.children_specs[1:])
        return text + "])"

    def unflatten(self, leaves):
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but "
                             f"the spec refers to a pytree that holds {self.num_leaves} items "
                             f"({self}).")
        it = iter(leaves)
        return self._build(it)

    def _build(self, it):
        if self.is_leaf():
            return next(it)
        children = [c._build(it) for c in self.children_specs]
        return SUPPORTED_NODES[self.type].unflatten_fn(children, self.context)

    def flatten_up_to(self, tree):
        """The subtrees of `tree` standing where this spec has its leaves."""
        out = []
        self._flatten_up_to(tree, out)
        return out

    def _flatten_up_to(self, tree, out):
        if self.is_leaf():
            out.append(tree)
            return
        node_type = _node_type(tree)
        if node_type is not self.type:
            raise ValueError(f"Node type mismatch; expected {self.type!r}, but got {type(tree)!r}.")
        children, context = SUPPORTED_NODES[node_type].flatten_fn(tree)
        if len(children) != self.num_children:
            raise ValueError(f"Node arity mismatch; expected {self.num_children}, but got "
                             f"{len(children)}.")
        if context != self.context:
            raise ValueError(f"Node context mismatch for custom node type {self.type!r}.")
        for child, spec in zip(children, self.children_specs):
            spec._flatten_up_to(child, out)


class LeafSpec(TreeSpec):
    def __init__(self):
        super().__init__(None, None, [])
        self.num_nodes = 1
        self.num_leaves = 1

    def __repr__(self, indent=0):
        return "*"


_LEAF = LeafSpec()


# --- flattening and mapping -------------------------------------------------------------

def tree_flatten(tree, is_leaf=None):
    """(leaves, spec): the leaves of `tree` in order and the spec that rebuilds it."""
    leaves = []
    return leaves, _flatten(tree, is_leaf, leaves)


def _flatten(tree, is_leaf, leaves):
    if tree_is_leaf(tree, is_leaf):
        leaves.append(tree)
        return _LEAF
    node_type = _node_type(tree)
    children, context = SUPPORTED_NODES[node_type].flatten_fn(tree)
    return TreeSpec(node_type, context, [_flatten(c, is_leaf, leaves) for c in children])


def tree_unflatten(leaves, treespec):
    """The nest of shape `treespec` holding `leaves` (in flattening order)."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"Expected `treespec` to be an instance of PyTreeSpec but got item of "
                        f"type {type(treespec)}.")
    return treespec.unflatten(leaves)


def tree_iter(tree, is_leaf=None):
    """The leaves of `tree`, one by one."""
    if tree_is_leaf(tree, is_leaf):
        yield tree
        return
    children, _ = SUPPORTED_NODES[_node_type(tree)].flatten_fn(tree)
    for child in children:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree, is_leaf=None):
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func, tree, *rests, is_leaf=None):
    """`tree` with every leaf x replaced by func(x, *the leaves at x's place in rests)."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(func(*xs) for xs in zip(leaves, *others))


def tree_map_(func, tree, *rests, is_leaf=None):
    """Call func on every leaf (and the matching leaves of rests) for its effect; returns
    `tree`."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    collections.deque(map(func, leaves, *others), maxlen=0)
    return tree


def _only(type_or_types, func):
    def wrapped(x):
        return func(x) if isinstance(x, type_or_types) else x
    return wrapped


def tree_map_only(type_or_types, func, tree, is_leaf=None):
    """tree_map applied only to leaves of the given type(s); the rest stay as they are."""
    return tree_map(_only(type_or_types, func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types, func, tree, is_leaf=None):
    return tree_map_(_only(type_or_types, func), tree, is_leaf=is_leaf)


def tree_all(pred, tree, is_leaf=None):
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred, tree, is_leaf=None):
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types, pred, tree, is_leaf=None):
    return all(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(type_or_types, pred, tree, is_leaf=None):
    return any(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


# --- key paths --------------------------------------------------------------------------

def tree_flatten_with_path(tree, is_leaf=None):
    """([(key path, leaf) ...], spec)."""
    return list(_with_path((), tree, is_leaf)), tree_structure(tree, is_leaf)


def _with_path(path, tree, is_leaf):
    if tree_is_leaf(tree, is_leaf):
        yield path, tree
        return
    node = SUPPORTED_NODES[_node_type(tree)]
    if node.flatten_with_keys_fn is None:
        raise ValueError(f"Did not find a flatten_with_keys_fn for type: {node.type}. Please "
                         f"pass a flatten_with_keys_fn argument to register_pytree_node.")
    keyed, _ = node.flatten_with_keys_fn(tree)
    for key, child in keyed:
        yield from _with_path(path + (key,), child, is_leaf)


def tree_leaves_with_path(tree, is_leaf=None):
    return list(_with_path((), tree, is_leaf))


def tree_map_with_path(func, tree, *rests, is_leaf=None):
    """tree_map with func(key path, leaf, *rest leaves)."""
    pairs, spec = tree_flatten_with_path(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(func(kp, x, *xs) for (kp, x), *xs in zip(pairs, *others))


def treespec_pprint(treespec):
    """The spec drawn as the nest it describes, leaves as ``*``."""
    return repr(_draw(treespec))


class _Star:
    def __repr__(self):
        return "*"


def _draw(spec):
    if spec.is_leaf():
        return _Star()
    return SUPPORTED_NODES[spec.type].unflatten_fn([_draw(c) for c in spec.children_specs],
                                                   spec.context)
