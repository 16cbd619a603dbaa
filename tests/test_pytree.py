"""ember.utils._pytree against torch.utils._pytree: the same program on both, every
result (leaves, specs and their reprs, maps, key paths, errors) compared as text."""
from collections import OrderedDict, defaultdict, deque, namedtuple

import pytest

import ember.utils._pytree as ember_pytree

torch = pytest.importorskip("torch")
import torch.utils._pytree as torch_pytree  # noqa: E402

P = namedtuple("P", "a b")


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __repr__(self):
        return f"Point({self.x}, {self.y})"


class MyDict(dict):
    pass


def program(p):
    out = []
    tree = {"x": (1, [2, 3]), "y": P(4, None), "z": OrderedDict(b=5),
            "d": defaultdict(list, {"k": 6}), "q": deque([7, 8], maxlen=3)}
    leaves, spec = p.tree_flatten(tree)
    out += [leaves, repr(spec), (spec.num_leaves, spec.num_nodes, spec.num_children),
            spec.type, spec.context]
    out.append(p.tree_unflatten([x * 2 if isinstance(x, int) else x for x in leaves], spec))
    out += [repr(p.tree_flatten(5)[1]), p.tree_flatten(5)[1].is_leaf(),
            p.tree_flatten((5,))[1].is_leaf()]
    out.append(p.tree_map_only(int, lambda x: x * 10, (1, "a", 2.0)))
    out.append(p.tree_map(lambda a, b: a + b, (1, [2]), (10, [20])))
    out += [p.tree_leaves([1, [2]]), repr(p.tree_structure([1, [2]]))]
    out.append(p.treespec_pprint(spec))
    with_path = p.tree_flatten_with_path({"a": [1, 2], "b": P(3, 4)})
    out += [with_path[0], repr(with_path[1]), [p.keystr(k) for k, _ in with_path[0]]]
    out.append(p.key_get({"a": [1, 2]}, with_path[0][1][0]))
    out += [p.tree_all(lambda x: x > 0, [1, (2,)]), p.tree_any_only(str, lambda x: x == "a",
                                                                   [1, "a"])]
    out.append(p.tree_map_with_path(lambda k, x: p.keystr(k) + str(x), {"a": [1, 2]}))
    out += [p.tree_leaves(MyDict(a=1)), p.tree_leaves([None, 1])]
    out.append(p.tree_flatten([1, [2]], is_leaf=lambda x: isinstance(x, list) and len(x) == 1))
    out.append(p.tree_structure([1, 2]).flatten_up_to([[1, 2], (3,)]))
    seen = []
    out.append(p.tree_map_(seen.append, {"a": (1, 2)}))
    out.append(seen)
    for bad in (lambda: p.tree_unflatten([1, 2], spec),
                lambda: p.tree_map(lambda a, b: a, (1, 2), [1, 2]),
                lambda: p.tree_unflatten([1], 3),
                lambda: p.register_pytree_node(list, None, None)):
        try:
            bad()
            out.append("no error")
        except Exception as e:  # noqa: BLE001 - the type and message are compared
            out.append((type(e).__name__, str(e)))
    if Point not in p.SUPPORTED_NODES:
        p.register_pytree_node(Point, lambda q: ([q.x, q.y], None), lambda v, c: Point(*v))
    out.append(p.tree_map(lambda x: x + 1, [Point(1, 2)]))
    return [repr(o).replace("torch.utils._pytree", "PYTREE").replace(
        "ember.utils._pytree", "PYTREE") for o in out]


def test_same_results_as_torch():
    got, want = program(ember_pytree), program(torch_pytree)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"item {i}"


def test_func_transforms_take_registered_nodes():
    import ember
    from ember.func import grad
    params = OrderedDict(w=ember.tensor([1.0, 2.0]), b=ember.tensor(3.0))
    g = grad(lambda p: (p["w"] ** 2).sum() + p["b"])(params)
    assert type(g) is OrderedDict and list(g) == ["w", "b"]
    assert g["w"].tolist() == [2.0, 4.0] and g["b"].item() == 1.0
