"""One outer autograd node for a vectorized vmap whose inputs require grad (a model
ensemble's stacked parameters: ``vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)``).

While `f` runs on batched tensors, each batched input that requires grad is replaced by a
batched leaf of its own, and the ops record a graph over the batch (see _batching.py).
That graph cannot leave vmap (its tensors hold BatchedArrays), so vmap's outputs get one
node, `VmapBackward`, whose edges are those of the inputs (and of any tensor from outside
that the graph reaches, e.g. a weight `f` closes over). Its backward runs the inner graph's
backward once, vectorized, on the batched cotangents:

    d out_k / d x  for every slice at once  =  inner backward(cotangents batched at dim 0)

then moves each input's batch dim back to its in_dim; a tensor from outside the batch gets
its gradient summed over the batch. Where that backward cannot run batched (an op whose
backward reads values, a double backward: create_graph) it runs `f` again slice by slice
and differentiates each slice (the gradients are the same, only slower).
"""

from .._tensor import Tensor
from .._ops._base import Op, VMAP as _VMAP_HOOK
from ..autograd import grad_mode
from ..autograd.graph import AccumulateGrad, accumulator_of, FREED_GRAPH
from ..autograd.engine import run_backward
from .. import _backend
from . import _batching

_make = Tensor._make


def grad_stand_ins(flat_in_dims, flat_args):
    """The batched tensors f sees: a batched leaf of its own for each input that requires
    grad (its gradient comes back through the outer node), else the batched view."""
    leaves = []
    for d, arg in zip(flat_in_dims, flat_args):
        if d is None:
            leaves.append(arg)
            continue
        b = _batching.batched(arg, d)
        if arg._requires_grad:
            b._requires_grad = True
        leaves.append(b)
    return leaves


class VmapBackward(Op):
    """The node of a vectorized vmap's outputs (see the module docstring)."""
    _name = "ember::VmapBackward"

    @staticmethod
    def backward(ctx, *grads):
        if ctx.__dict__.get("_freed"):
            raise RuntimeError(FREED_GRAPH)
        if grad_mode.GRAD_ENABLED[0]:
            return _grads_by_slices(ctx, grads)
        try:
            return _grads_vectorized(ctx, grads)
        except (_batching.Unbatchable, Exception):
            # as vmap's forward does on an abort: by slices (an error of the op itself is
            # raised there again)
            if _batching.STRICT[0]:
                raise
            _batching.STATS["aborts"] += 1
            return _grads_by_slices(ctx, grads)

    def _release(self):
        # the inner graph goes with it (a slice-by-slice rerun would still work, but
        # PyTorch's graph is freed: a second backward raises)
        self.__dict__.pop("inner_roots", None)
        self.__dict__.pop("call", None)
        self._freed = True


def _batched_cotangent(g, out_dim):
    data = g._data
    if out_dim:
        data = _backend.array_namespace(data).moveaxis(data, out_dim, 0)
    return _make(_batching.BatchedArray(data))


def _grads_vectorized(ctx, grads):
    roots = ctx.inner_roots
    root_grads = [_batched_cotangent(g, d) for g, d in zip(grads, ctx.out_dims)]
    capture = [(_edge_of_inner(t)) for t in ctx.inner_inputs]
    outer = _VMAP_HOOK[0], grad_mode.VMAP_VECTORIZING[0]
    _VMAP_HOOK[0] = _batching.handle
    grad_mode.VMAP_VECTORIZING[0] = True
    try:
        found = run_backward(roots, root_grads, True, False, capture=capture, accumulate=False)
    finally:
        _VMAP_HOOK[0], grad_mode.VMAP_VECTORIZING[0] = outer
    result = []
    for g, d in zip(found, ctx.in_dims):
        if g is None:
            result.append(None)
            continue
        data = g._data
        if type(data) is _batching.BatchedArray:
            phys = data.phys
            xp = _backend.array_namespace(phys)
            # an input mapped over dim d gets its batch back at d; one from outside the
            # batch gets the sum of every slice's gradient
            data = xp.moveaxis(phys, 0, d) if d is not None else phys.sum(0)
        elif d is not None:   # the same gradient for every slice
            xp = _backend.array_namespace(data)
            data = xp.moveaxis(xp.broadcast_to(data, (ctx.batch_size,) + data.shape), 0, d)
        result.append(_make(data))
    return tuple(result)


def _edge_of_inner(t):
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    return (t._accumulator or accumulator_of(t), 0)


def _grads_by_slices(ctx, grads):
    """The gradients by running f on each slice again (differentiable, for create_graph)."""
    from ..autograd import grad as _grad
    func, args_spec, kwargs, flat_in_dims, flat_args = ctx.call
    wrt = ctx.outer_inputs
    per_input = [[] for _ in wrt]
    from ._pytree import tree_unflatten, tree_flatten
    for i in range(ctx.batch_size):
        with grad_mode.enable_grad():   # (backward runs with grad mode off)
            sliced = [arg if d is None else arg.select(d, i)
                      for d, arg in zip(flat_in_dims, flat_args)]
            outs = tree_flatten(func(*tree_unflatten(sliced, args_spec), **kwargs))[0]
        outs = [o for o in outs if isinstance(o, Tensor) and o._requires_grad]
        cots = [None if g is None else g.select(d, i) for g, d in zip(grads, ctx.out_dims)]
        pairs = [(o, c) for o, c in zip(outs, cots) if c is not None]
        found = _grad([o for o, _ in pairs], wrt, [c for _, c in pairs], allow_unused=True,
                      create_graph=grad_mode.GRAD_ENABLED[0], retain_graph=True)
        for k, g in enumerate(found):
            per_input[k].append(g)
    result = []
    for gs in per_input:
        # each slice's gradient has the input's full shape (zero outside its slice), or
        # is the slice's share of an outside tensor's: the total is their sum
        total = None
        for g in gs:
            if g is not None:
                total = g if total is None else total + g
        result.append(total)
    return tuple(result)


def _outside_edges(roots, start_seq, stand_ins):
    """The tensors' edges into the graph from outside the vmap call that the inner graph
    reaches: (node, output_nr) pairs, nodes recorded before `start_seq` or leaves'
    AccumulateGrad (the stand-ins' excluded)."""
    own = {id(t._accumulator) for t in stand_ins if t._accumulator is not None}
    found, seen = [], set()
    stack = [r.grad_fn for r in roots if r.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for fn, nr in node.next_functions:
            if fn is None or id(fn) in own:
                continue
            if type(fn) is AccumulateGrad or fn._seq < start_seq:
                if (id(fn), nr) not in {(id(f), n) for f, n in found}:
                    found.append((fn, nr))
            else:
                stack.append(fn)
    return found


def attach(outputs, flat_out_dims, inner, stand_ins, start_seq, batch_size, call):
    """Give vmap's unbatched `outputs` (those whose inner tensors `inner` require grad) one
    VmapBackward node over the inputs that require grad and the outside tensors the inner
    graph reaches."""
    func, args_spec, kwargs, flat_in_dims, flat_args = call
    node = object.__new__(VmapBackward)
    edges, in_dims, inner_inputs, outer_inputs = [], [], [], []
    for t, d, arg in zip(stand_ins, flat_in_dims, flat_args):
        if d is not None and t._requires_grad:
            edges.append((arg.grad_fn, arg._output_nr) if arg.grad_fn is not None else
                         (accumulator_of(arg), 0))
            in_dims.append(d)
            inner_inputs.append(t)
            outer_inputs.append(arg)
    for fn, nr in _outside_edges(inner, start_seq, stand_ins):
        edges.append((fn, nr))
        in_dims.append(None)
        inner_inputs.append(_Edge(fn, nr))
        outer_inputs.append(fn.variable if type(fn) is AccumulateGrad else None)
    if any(t is None for t in outer_inputs):
        raise _batching.Unbatchable("a graph from outside vmap reached through a non-leaf")
    node.next_functions = tuple(edges)
    node._input_meta = [(a._data.shape, a._data.dtype) for a in outer_inputs]
    node._seq = next(_seq_counter())
    node.inner_roots = list(inner)
    node.inner_inputs = inner_inputs
    node.outer_inputs = outer_inputs
    node.in_dims = in_dims
    node.out_dims = [d for d in flat_out_dims]
    node.batch_size = batch_size
    node.call = call
    node._num_outputs = len(outputs)
    node._output_meta = [(o.shape, o.dtype, o.device) for o in outputs]
    for k, o in enumerate(outputs):
        o._requires_grad = True
        o.grad_fn = node
        o._output_nr = k
    return outputs


class _Edge:
    """An outside tensor's place in the inner graph, for the capture (see _edge_of_inner)."""
    __slots__ = ("grad_fn", "_output_nr", "_accumulator")

    def __init__(self, fn, nr):
        self.grad_fn, self._output_nr, self._accumulator = fn, nr, None
        if type(fn) is AccumulateGrad:
            self.grad_fn, self._accumulator = None, fn


def _seq_counter():
    from ..autograd import graph
    return graph._seq
