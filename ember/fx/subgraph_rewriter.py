"""torch.fx.subgraph_rewriter: find a pattern of operations in a graph and replace it.

``replace_pattern(gm, pattern, replacement)`` traces both functions (or takes their
GraphModules), finds every non-overlapping occurrence of the pattern's graph in gm's graph
and splices the replacement's graph in its place. A pattern placeholder matches any value
(the same one wherever it appears); other pattern nodes match nodes with the same op,
target and arguments, and the inner nodes of a match may not be read outside it. The
matches (Match: anchor and nodes_map) are returned; gm is recompiled.
"""
from typing import NamedTuple

from .graph_module import GraphModule
from .node import Node

__all__ = ["Match", "replace_pattern"]


class Match(NamedTuple):
    anchor: Node          # the gm node the pattern's output matched
    nodes_map: dict       # pattern node -> gm node


def _as_graph(obj):
    from ._symbolic_trace import symbolic_trace
    if isinstance(obj, GraphModule):
        return obj.graph
    from .graph import Graph
    if isinstance(obj, Graph):
        return obj
    return symbolic_trace(obj).graph


class _Matcher:
    def __init__(self, pattern):
        self.pattern = pattern
        self.placeholders = [n for n in pattern.nodes if n.op == "placeholder"]
        outputs = [n for n in pattern.nodes if n.op == "output"]
        if len(outputs) != 1:
            raise AssertionError("the pattern must have one output")
        out = outputs[0].args[0]
        self.returns = list(out) if isinstance(out, (tuple, list)) else [out]

    def match_at(self, anchors):
        """nodes_map when the pattern's returned nodes match `anchors`, else None."""
        nodes_map = {}
        if not all(self._match(p, g, nodes_map) for p, g in zip(self.returns, anchors)):
            return None
        inner = {p: g for p, g in nodes_map.items() if isinstance(g, Node) and
                 p.op != "placeholder"}
        matched = set(inner.values())
        returned = set(anchors)
        for p, g in inner.items():
            if g in returned:
                continue
            if any(u not in matched for u in g.users):
                return None   # an inner value read outside the match
        return nodes_map

    def _match(self, p, g, nodes_map):
        if isinstance(p, Node):
            if p in nodes_map:
                return nodes_map[p] is g
            if p.op == "placeholder":
                if g in nodes_map.values() and not isinstance(g, (int, float, str, bool)):
                    # a value bound to another placeholder is not a fresh input
                    if any(q.op == "placeholder" and v is g for q, v in nodes_map.items()):
                        return False
                nodes_map[p] = g
                return True
            if not isinstance(g, Node) or p.op != g.op or len(p.args) != len(g.args) or \
                    set(p.kwargs) != set(g.kwargs):
                return False
            if p.op == "get_attr":
                ok = p.target == g.target
            else:
                ok = p.target == g.target
            if not ok:
                return False
            nodes_map[p] = g
            if not all(self._match(a, b, nodes_map) for a, b in zip(p.args, g.args)):
                del nodes_map[p]
                return False
            if not all(self._match(p.kwargs[k], g.kwargs[k], nodes_map) for k in p.kwargs):
                del nodes_map[p]
                return False
            return True
        if isinstance(p, (tuple, list)):
            return isinstance(g, (tuple, list)) and len(p) == len(g) and \
                all(self._match(a, b, nodes_map) for a, b in zip(p, g))
        if isinstance(p, dict):
            return isinstance(g, dict) and set(p) == set(g) and \
                all(self._match(p[k], g[k], nodes_map) for k in p)
        return not isinstance(g, Node) and type(p) is type(g) and p == g


def replace_pattern(gm, pattern, replacement):
    """Replace every occurrence of `pattern` in gm's graph by `replacement` (see the
    module docstring); the list of Matches."""
    original = gm.graph
    pattern_graph = _as_graph(pattern)
    replacement_graph = _as_graph(replacement)
    matcher = _Matcher(pattern_graph)
    n_returns = len(matcher.returns)
    matches = []
    taken = set()
    for node in list(original.nodes):
        if node.op in ("placeholder", "output") or node in taken:
            continue
        if n_returns != 1:
            continue
        nodes_map = matcher.match_at([node])
        if nodes_map is None:
            continue
        inner = {g for p, g in nodes_map.items() if p.op != "placeholder"}
        if inner & taken:
            continue
        taken |= inner
        matches.append(Match(anchor=matcher.returns[0], nodes_map=nodes_map))

    repl_placeholders = [n for n in replacement_graph.nodes if n.op == "placeholder"]
    if len(repl_placeholders) != len(matcher.placeholders):
        raise AssertionError("the pattern and the replacement must take the same inputs")
    replaced = {}   # anchors of earlier matches -> what replaced them
    for match in matches:
        val_map = {}
        for rp, pp in zip(repl_placeholders, matcher.placeholders):
            value = match.nodes_map[pp]
            while isinstance(value, Node) and value in replaced:
                value = replaced[value]
            val_map[rp] = value
        anchor = match.nodes_map[match.anchor]
        # the replacement goes before the first reader of the matched value (or after the
        # match when nothing reads it)
        readers = set(anchor.users)
        insert_point = next((n for n in original.nodes if n in readers), anchor.next)
        with original.inserting_before(insert_point):
            out = original.graph_copy(replacement_graph, val_map)
        if isinstance(out, (tuple, list)) and len(out) == 1:
            out = out[0]
        anchor.replace_all_uses_with(out)
        replaced[anchor] = out
        # erase the matched nodes, users first
        inner = [g for p, g in match.nodes_map.items() if p.op != "placeholder"]
        for g in sorted(inner, key=_position(original), reverse=True):
            if not g.users:
                original.erase_node(g)
    # copy get_attr targets the replacement reads from its own module
    if isinstance(replacement, GraphModule):
        for n in replacement.graph.nodes:
            if n.op in ("get_attr", "call_module") and not _has_attr(gm, n.target):
                from .graph_module import _copy_attr
                _copy_attr(replacement, gm, n.target)
    gm.recompile()
    return matches


def _position(graph):
    order = {n: i for i, n in enumerate(graph.nodes)}
    return lambda n: order.get(n, -1)


def _has_attr(mod, target):
    for atom in target.split("."):
        if not hasattr(mod, atom):
            return False
        mod = getattr(mod, atom)
    return True
