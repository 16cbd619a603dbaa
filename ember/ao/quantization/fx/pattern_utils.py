"""Matching a BackendConfig's patterns against graph nodes.

A pattern is one op (a module class, a function or a method name) or a tuple of ops in
the order they run: ``(nn.Conv2d, nn.BatchNorm2d, nn.ReLU)`` matches a chain of nodes
where each one feeds the next as its first argument and has no other user."""
from ember.fx import Node

__all__ = []


def canonical(fn):
    """The function under its wrappers. ember puts fronts before its public functions
    (the NumPy-name front at import, the __torch_function__ dispatcher when something is
    first traced, the quantized-tensor hooks when the first quantized tensor is made), so
    ``ember.flatten`` is not always the same object; each front keeps ``__wrapped__``."""
    seen = 0
    while callable(fn) and not isinstance(fn, type) and hasattr(fn, "__wrapped__") and \
            seen < 32:
        fn = fn.__wrapped__
        seen += 1
    return fn


def same_op(a, b):
    return a is b or (callable(a) and callable(b) and canonical(a) is canonical(b))


def op_in(target, ops):
    """Whether `target` is one of `ops` (functions compared under their wrappers)."""
    if isinstance(target, (str, type)):
        return target in ops
    base = canonical(target)
    return any(base is canonical(op) for op in ops if not isinstance(op, (str, type)))


def node_matches_op(node, op, modules):
    """Whether `node` is a call of `op` (a module class, a function, a method name)."""
    if isinstance(op, str):
        return node.op == "call_method" and node.target == op
    if isinstance(op, type):
        return (node.op == "call_module" and node.target in modules
                and type(modules[node.target]) is op)
    return node.op == "call_function" and same_op(node.target, op)


def match_chain(node, pattern, modules):
    """The nodes (first to last) of `pattern` ending at `node`, or None."""
    ops = pattern if isinstance(pattern, tuple) else (pattern,)
    chain = [node]
    current = node
    for i, op in enumerate(reversed(ops)):
        if not node_matches_op(current, op, modules):
            return None
        if i == len(ops) - 1:
            break
        if not current.args or not isinstance(current.args[0], Node):
            return None
        previous = current.args[0]
        if len(previous.users) != 1:
            return None
        chain.append(previous)
        current = previous
    return list(reversed(chain))


def sorted_patterns(configs):
    """Pattern configs, longest patterns first (so conv-bn-relu wins over conv-bn)."""
    def length(config):
        return len(config.pattern) if isinstance(config.pattern, tuple) else 1
    return sorted(configs, key=length, reverse=True)
