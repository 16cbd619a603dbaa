"""Which recorded dims follow a dynamic dim: found by running the graph at other sizes.

The trace names a value's dim by a symbol when its size equals the symbol's example size
(duck sizing), so ``nn.Linear(3, 3)`` on an input of example batch 3 records its output as
(s0, s0). After the trace, the graph is run once more on inputs whose dynamic dims have
new sizes (the example's rows repeated, so values stay in range: index tensors stay
valid): a dim whose size did not move is static, whatever its example size; one that
moved as a symbol did (example size -> new size) is that symbol. Other moving dims (2 *
s0) keep what the trace recorded and are listed in ``node.meta["moving_dims"]``. Parameters and buffers are read, never written (buffers run on
copies) and the random generator's state is restored. If the run fails (a program that only runs at its example sizes), the recorded
dims stay as they were. refine_dims answers False then, and also when a dim the trace took
for a symbol did not move with it (a size that only equalled the example's, whose reads
during the trace followed the symbol): the exporter traces again at the other sizes
(ember/export/_export.py).
"""
import numpy as np

from .._tensor import Tensor

__all__ = ["refine_dims", "resized_example", "at_example_sizes"]


def refine_dims(graph, tr, rename, ranges, mod_state):
    """Correct ``node.meta["val"]`` shapes of `graph` in place. `tr`: the TraceResult,
    `rename`: trace symbol -> program symbol, `ranges`: program symbol -> (min, max),
    `mod_state`: {placeholder node: (tensor, is_parameter)} of parameters, buffers and
    constants."""
    from ._trace import TensorMeta
    symbols = {}                    # program symbol -> (example size, new size)
    for symbol, (_, _, example) in tr.symbols.items():
        name = rename.get(symbol, symbol)
        if name not in symbols:
            symbols[name] = (example, _new_size(example, ranges.get(name), symbols))
    if not symbols or any(new is None for _, new in symbols.values()):
        return None
    inputs = []
    for i, leaf in enumerate(tr.input_leaves):
        node = tr.node_map[tr.user_inputs[i]]
        inputs.append(_resized(leaf, node.meta.get("val"), symbols)
                      if isinstance(leaf, Tensor) else leaf)
    shapes = _run(graph, tr, mod_state, inputs)
    if shapes is None:   # a program bound to its example sizes: keep
        return False
    by_change = {}
    for name, change in symbols.items():
        by_change.setdefault(change, name)
    clean = True
    for node, new in shapes.items():
        meta = node.meta.get("val")
        if isinstance(meta, TensorMeta) and isinstance(new, tuple):
            clean &= not _collided(meta, new, symbols)
            node.meta["val"], moving = _refined(meta, new, symbols, by_change)
            if moving:
                node.meta["moving_dims"] = moving
        elif isinstance(meta, tuple) and isinstance(new, list) and len(meta) == len(new):
            clean &= not any(_collided(m, s, symbols) for m, s in zip(meta, new)
                             if isinstance(m, TensorMeta) and isinstance(s, tuple))
            node.meta["val"] = tuple(
                _refined(m, s, symbols, by_change)[0] if isinstance(m, TensorMeta) and
                isinstance(s, tuple) else m for m, s in zip(meta, new))
    return clean


def _run(graph, tr, mod_state, inputs):
    """{node: the shape(s) of its value} from running `graph` on `inputs` (the user
    input leaves), or None when it fails."""
    written = {n.args[0] for n in graph.nodes if n.op == "call_function" and n.args
               and _mutates(n)}
    env = {}
    for node, (value, is_parameter) in mod_state.items():
        env[node] = value if is_parameter and node not in written else value.detach().clone()
    for i, leaf in enumerate(inputs):
        env[tr.node_map[tr.user_inputs[i]]] = leaf
    import ember
    from .._random import get_rng_state, set_rng_state
    shapes = {}
    rng = get_rng_state()       # (random ops in the graph: the caller's stream is kept)
    try:
        with ember.no_grad():
            for node in graph.nodes:
                if node.op == "placeholder":
                    continue
                if node.op == "output":
                    break
                args = _fetch(node.args, env)
                kwargs = _fetch(node.kwargs, env)
                out = node.target(*args, **kwargs)
                if out is None and _mutates(node):
                    out = args[0]
                env[node] = out
                shapes[node] = _shapes(out)
    except Exception:   # noqa: BLE001 -- the caller keeps what it has
        return None
    finally:
        set_rng_state(rng)
    return shapes


def at_example_sizes(graph, tr, mod_state, leaves):
    """The static dims of `graph`'s shapes (traced at other sizes) set to those the
    program's own example `leaves` give; False when the graph fails on them."""
    from ._trace import TensorMeta
    shapes = _run(graph, tr, mod_state, leaves)
    if shapes is None:
        return False

    def fix(meta, new):
        if not isinstance(meta, TensorMeta) or not isinstance(new, tuple) or \
                len(new) != len(meta.shape):
            return meta
        return TensorMeta([d if isinstance(d, str) else size for d, size in
                           zip(meta.shape, new)], meta.dtype, meta.device)
    for node, new in shapes.items():
        meta = node.meta.get("val")
        if isinstance(meta, TensorMeta):
            node.meta["val"] = fix(meta, new)
        elif isinstance(meta, tuple) and isinstance(new, list) and len(meta) == len(new):
            node.meta["val"] = tuple(fix(m, s_) for m, s_ in zip(meta, new))
    for i, leaf in enumerate(leaves):
        node = tr.node_map[tr.user_inputs[i]]
        if isinstance(leaf, Tensor):
            node.meta["val"] = fix(node.meta.get("val"), tuple(int(d) for d in leaf.shape))
    return True


def _collided(meta, new, symbols):
    """Whether a dim the trace took for a symbol kept its size when the symbol moved: a
    size that only equalled the example's (its reads during the trace were wrong)."""
    return len(new) == len(meta.shape) and any(
        isinstance(d, str) and d in symbols and size == symbols[d][0] != symbols[d][1]
        for d, size in zip(meta.shape, new))


def resized_example(args, kwargs, dynamic):
    """(args, kwargs) with each dynamic dim at another size (`_new_size`; one size per
    Dim name), the example's entries repeated; None when some dim has no other size."""
    from ..utils import _pytree
    leaves, spec = _pytree.tree_flatten((tuple(args), dict(kwargs)))
    by_name, pairs = {}, {}
    out = list(leaves)
    for i, dims in dynamic.items():
        t = leaves[i]
        if not isinstance(t, Tensor):
            continue
        array = t.detach().cpu().numpy()
        for d, (lo, hi, name) in sorted(dims.items()):
            example = array.shape[d]
            key = name if name is not None else (i, d)
            if key not in by_name:
                by_name[key] = _new_size(example, (lo, hi), pairs)
                pairs[key] = (example, by_name[key])
            new = by_name[key]
            if new is None:
                return None
            array = np.take(array, np.arange(new) % example, axis=d)
        import ember
        out[i] = ember.tensor(np.ascontiguousarray(array), dtype=t.dtype, device=t.device) \
            .requires_grad_(t.requires_grad)
    new_args, new_kwargs = _pytree.tree_unflatten(out, spec)
    return tuple(new_args), dict(new_kwargs)


def _new_size(example, bounds, taken):
    """A size for the rerun: near the example, inside the dim's range, and not another
    symbol's (example, new) pair."""
    lo, hi = bounds if bounds is not None else (2, None)
    lo = 2 if lo is None else max(lo, 2)
    used = set(taken.values())
    for step in (3, 5, 7, 11, 1, -1, -2):
        size = example + step
        if size >= lo and (hi is None or size <= hi) and (example, size) not in used:
            return size
    return None


def _resized(t, meta, symbols):
    """`t` with its dynamic dims at their new sizes: its entries repeated cyclically."""
    array = t.detach().cpu().numpy()
    for d, s in enumerate(getattr(meta, "shape", ())):
        if isinstance(s, str) and s in symbols:
            new = symbols[s][1]
            array = np.take(array, np.arange(new) % array.shape[d], axis=d)
    import ember
    return ember.tensor(np.ascontiguousarray(array), dtype=t.dtype, device=t.device)


def _fetch(obj, env):
    from ..fx.node import Node
    if isinstance(obj, Node):
        return env[obj]
    if isinstance(obj, (list, tuple)):
        return type(obj)(_fetch(o, env) for o in obj)
    if isinstance(obj, dict):
        return {k: _fetch(v, env) for k, v in obj.items()}
    if isinstance(obj, slice):
        return slice(_fetch(obj.start, env), _fetch(obj.stop, env), _fetch(obj.step, env))
    return obj


def _mutates(node):
    name = getattr(node.target, "aten_name", "") or ""
    op = name.split(".")[1] if name.startswith("aten.") else name
    return op.endswith("_") and not op.startswith("_")


def _shapes(out):
    if isinstance(out, Tensor):
        return tuple(int(d) for d in out.shape)
    if isinstance(out, (tuple, list)):
        return [_shapes(o) for o in out]
    return None


def _refined(meta, new, symbols, by_change):
    """The corrected TensorMeta, and the dims that moved unlike any symbol (2 * s0, a
    mask's count): their example size is kept, ``meta["moving_dims"]`` lists them."""
    from ._trace import TensorMeta
    if len(new) != len(meta.shape):
        return meta, ()
    dims, moving = [], []
    for j, (recorded, size) in enumerate(zip(meta.shape, new)):
        example = symbols[recorded][0] if isinstance(recorded, str) and recorded in symbols \
            else recorded
        if not isinstance(example, int):
            dims.append(recorded)
        elif size == example:
            dims.append(example)                    # did not move: static
        elif (example, size) in by_change:
            dims.append(by_change[(example, size)])
        else:
            dims.append(recorded)
            moving.append(j)
    return TensorMeta(dims, meta.dtype, meta.device), tuple(moving)
