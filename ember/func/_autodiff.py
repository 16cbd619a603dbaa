"""Function transforms for derivatives: grad, grad_and_value, vjp, jacrev, hessian,
jvp, jacfwd (``torch.func``).

They are built on ember's reverse-mode autograd. A transform makes fresh graph inputs
for the arguments it differentiates, runs the function under grad mode, and calls
``autograd.grad``:

    grad(f)(x)       = df/dx                       f(x) a scalar
    vjp(f, x)        = (f(x), v -> v^T J)          one backward pass per call of vjp_fn
    jacrev(f)(x)     = J, one vjp per output element, shaped f(x).shape + x.shape
    hessian(f)(x)    = the Jacobian of the gradient

jacrev and jacfwd take all the rows (columns) of one Jacobian block at once, by vmap
over unit cotangents (tangents); see _vmap.py for when vmap vectorizes.

Nesting (grad(grad(f)), jacrev(jacrev(f)), a transform of a function that closes over
an outer transform's input) works by the rule torch.func's levels implement: the
backward pass records a graph (create_graph) only when the function's output depends on
a tensor requiring grad *outside* this transform, i.e. on an enclosing transform's input
or on a tensor the caller tracks with ordinary autograd. A result is handed back with its
graph only when it depends on such a tensor; otherwise it is detached, so top-level
results have ``requires_grad=False`` and no graph is built for them. An input that
already requires grad is differentiated through a fresh view of it, so the inner
transform's gradient is taken with respect to that view alone (no "perturbation
confusion" between the levels). Like torch.func, the transforms run the function with
grad mode on even under an outer ``no_grad``.

jvp and jacfwd use forward-mode AD (ember.autograd.forward_ad); it has one dual level, so
they nest with the reverse-mode transforms (hessian = jacfwd(jacrev(f)), jvp(grad(f)))
directly, and a jvp inside another (jacfwd(jacfwd(f))) takes its product in reverse mode
(_jvp_by_double_vjp). Tangents survive the reverse-mode transforms: a fresh input made
from a dual tensor is itself dual, and so are results handed back.
"""
import functools

from .. import autograd
from .._tensor import Tensor
from .._ops.creation import eye, zeros, zeros_like
from .._ops.joining import stack
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..autograd import forward_ad
from ..autograd.function import func_transform
from ..autograd.graph import AccumulateGrad
from ._pytree import tree_flatten, tree_map, tree_unflatten
from ._vmap import vmap

__all__ = ["grad", "grad_and_value", "vjp", "jacrev", "hessian", "jvp", "jacfwd", "linearize"]


# ------------------------------------------------------------------ levels

class _Level:
    """One application of a transform: the fresh inputs it differentiates with respect
    to, and whether the caller had grad mode on (results may then carry a graph)."""

    def __init__(self):
        self.outer_grad = is_grad_enabled()
        self.own = set()   # ids of the fresh leaves made here

    def differentiable(self, x):
        """A fresh graph input standing for `x`: a new leaf, or, when `x` is tracked by an
        outer level, a view of it (gradients then flow on to the outer level)."""
        if not isinstance(x, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
        if x.requires_grad:
            return x.view_as(x)   # a view keeps x's forward-AD tangent
        fresh = x.detach().requires_grad_(True)
        self.own.add(id(fresh))
        return _with_tangent(fresh, x._fw_tangent)

    def reaches_outside(self, t):
        """Whether tensor `t` depends on a tensor requiring grad that this level did not
        create: then its derivatives matter to an enclosing level or to the caller."""
        if not isinstance(t, Tensor) or not t.requires_grad:
            return False
        if t.grad_fn is None:
            return id(t) not in self.own
        seen = {t.grad_fn}
        todo = [t.grad_fn]
        while todo:
            node = todo.pop()
            if isinstance(node, AccumulateGrad):
                v = node.variable
                if v is None or id(v) not in self.own:
                    return True
                continue
            for fn, _ in node.next_functions:
                if fn is not None and fn not in seen:
                    seen.add(fn)
                    todo.append(fn)
        return False

    def keep_graph(self, tensors):
        """Whether the backward pass must record a graph: for an enclosing level or the
        caller. (An open forward-AD level, jacfwd(jacrev(f)), needs none: the backward
        formulas carry tangents without one, see grad_mode.backward_on_tensors.)"""
        return self.outer_grad and any(self.reaches_outside(t) for t in tensors)

    def lift(self, tree):
        """Results as the caller sees them: detached unless they depend on the outside.
        Like torch.func, a transform returns only tensors (aux outputs included)."""
        def one(x):
            if not isinstance(x, Tensor):
                raise RuntimeError(f"Expected tensors, got unsupported type {type(x)}")
            if self.outer_grad and self.reaches_outside(x):
                return x
            tangent = x._fw_tangent
            if tangent is not None and not (self.outer_grad and self.reaches_outside(tangent)):
                tangent = tangent.detach()   # computed with create_graph: drop our graph
            return _with_tangent(x.detach(), tangent)
        return tree_map(one, tree)


def _with_tangent(detached, tangent):
    """`detached` (made by detach(), which drops forward-AD tangents) given back the tangent
    of the tensor it came from, if any: jacfwd(jacrev(f)) pushes tangents through jacrev's
    graph inputs and results."""
    if tangent is None:
        return detached
    return forward_ad.make_dual(detached, tangent)


def _grads(level, outputs, inputs, cotangents, create_graph, retain_graph=None):
    """d(sum_i <outputs_i, cotangents_i>)/d(inputs), zeros for inputs the outputs do not
    use; outputs that do not require grad contribute nothing."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if pairs:
        outs, cts = zip(*pairs)
        result = autograd.grad(outs, inputs, cts, retain_graph=retain_graph,
                               create_graph=create_graph, allow_unused=True)
    else:
        result = (None,) * len(inputs)
    return [zeros_like(x) if g is None else g for x, g in zip(inputs, result)]


# ------------------------------------------------------------------ argnums

def _wrap_argnum(argnum, num_args):
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if -num_args <= argnum < num_args:
        return argnum % num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _normalize_argnums(argnums, num_args):
    """argnums as non-negative positions (an int stays an int, a tuple a tuple)."""
    if isinstance(argnums, int):
        return _wrap_argnum(argnums, num_args)
    if not isinstance(argnums, tuple):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if len(argnums) == 0:
        raise RuntimeError("argnums must be non-empty")
    wrapped = tuple(_wrap_argnum(a, num_args) for a in argnums)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return wrapped


def _select(args, argnums):
    """The differentiated arguments: one argument for an int argnums, a tuple for a tuple."""
    if isinstance(argnums, int):
        return args[argnums]
    return tuple(args[i] for i in argnums)


def _replace(args, argnums, new):
    args = list(args)
    if isinstance(argnums, int):
        args[argnums] = new
    else:
        for i, value in zip(argnums, new):
            args[i] = value
    return tuple(args)


# ------------------------------------------------------------------ grad

def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of `func` with respect to the arguments at
    `argnums`, value of `func`); with `has_aux`, `func` returns (scalar, aux) and the
    wrapper (gradient, (value, aux)). `func` must return a 0-dim Tensor. The gradient has
    the structure of the differentiated argument (a dict of parameters gives a dict), a
    tuple of them for a tuple `argnums`; unused inputs get zeros."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        level = _Level()
        with enable_grad():
            argnums_ = _normalize_argnums(argnums, len(args))
            diff = tree_map(level.differentiable, _select(args, argnums_))
            with func_transform():
                output = func(*_replace(args, argnums_, diff), **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(output, tuple) and len(output) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should "
                                       "be a tuple: (output, aux) if has_aux is True")
                output, aux = output
            if not isinstance(output, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(output)}")
            if output.dim() != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got tensor with {output.dim()} dims. Maybe "
                                   f"you wanted to use the vjp or jacrev APIs instead?")
            flat_diff, spec = tree_flatten(diff)
            grads = _grads(level, [output], flat_diff, [None],
                           create_graph=level.keep_graph([output]))
        result = level.lift(tree_unflatten(grads, spec))
        if has_aux:
            return result, (level.lift(output), level.lift(aux))
        return result, level.lift(output)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar function: ``grad(f)(x) = df/dx`` (see grad_and_value).
    With `has_aux`, returns (gradient, aux)."""
    g_and_v = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradient, value = g_and_v(*args, **kwargs)
        if has_aux:
            return gradient, value[1]
        return gradient
    return wrapper


# ------------------------------------------------------------------ vjp, jacrev

def _call_recorded(level, func, primals, has_aux, api):
    """func run, as a transform, on `level`'s differentiable stand-ins of `primals` (the
    caller has grad mode on): (stand-ins, output, aux, flat output, output spec). Checks that
    func returns (output, aux) when `has_aux` and only tensors; `api` names the transform
    in the errors."""
    diff = tree_map(level.differentiable, primals)
    with func_transform():
        output = func(*diff)
    aux = None
    if has_aux:
        if not (isinstance(output, tuple) and len(output) == 2):
            raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) "
                               f"if has_aux is True")
        output, aux = output
    flat_out, out_spec = tree_flatten(output)
    for o in flat_out:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {type(o)}")
    return diff, output, aux, flat_out, out_spec


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]) where ``vjp_fn(v)`` is the vector-Jacobian product
    ``v^T J`` for cotangents `v` shaped like the output, returned as a tuple with one entry
    per primal. vjp_fn may be called many times (the graph is kept)."""
    level = _Level()
    with enable_grad():
        diff, output, aux, flat_out, out_spec = _call_recorded(level, func, primals, has_aux,
                                                               "vjp(f, *primals)")
        for o in flat_out:
            if not (o.dtype.is_floating_point or o.dtype.is_complex):
                raise RuntimeError(f"vjp(f, ...): All outputs of f must be floating-point or "
                                   f"complex Tensors, got Tensor with dtype {o.dtype}")
    flat_diff, primal_spec = tree_flatten(diff)
    # whether the outputs depend on tensors tracked outside (walked once, not per call)
    outputs_reach_outside = any(level.reaches_outside(o) for o in flat_out)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        flat_ct, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as "
                               f"pytree structure of outputs to the function. cotangents: "
                               f"{ct_spec}, primal output: {out_spec}")
        call = _Level()
        call.own = level.own
        with enable_grad():
            if create_graph is None:
                create_graph = call.outer_grad and (
                    outputs_reach_outside or any(isinstance(c, Tensor) and c.requires_grad
                                                     for c in flat_ct))
            grads = _grads(call, flat_out, flat_diff, flat_ct, create_graph, retain_graph)
        return call.lift(tree_unflatten(grads, primal_spec))

    if has_aux:
        return level.lift(output), vjp_fn, level.lift(aux)
    return level.lift(output), vjp_fn


def _check_real(api, tensors, what):
    for i, t in enumerate(tensors):
        if isinstance(t, Tensor) and t.dtype.is_complex:
            raise RuntimeError(f"{api}: Expected all {what}s to be real but received complex "
                               f"tensor at flattened {what} idx: {i}")


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian of `func` with respect to the arguments at `argnums`, by reverse mode:
    one vector-Jacobian product per output element (rows of J). For an output of shape
    O and an input of shape I the block has shape O + I; pytrees of outputs and inputs
    give the nest output structure -> input structure (a tuple of inputs for a tuple
    `argnums`). With `has_aux`, returns (jacobian, aux). The rows of one output are
    computed together, by vmap over its unit cotangents (one batched backward pass where
    vmap vectorizes). `chunk_size` is checked and otherwise has no effect."""
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args):
        _check_real("jacrev", tree_flatten(args)[0], "input")
        argnums_ = _normalize_argnums(argnums, len(args))
        primals = _select(args, argnums_)
        primals = primals if isinstance(argnums_, tuple) else (primals,)

        def restricted(*diff):
            new = diff if isinstance(argnums_, tuple) else diff[0]
            return func(*_replace(args, argnums_, new))

        result = vjp(restricted, *primals, has_aux=has_aux)
        output, vjp_fn = result[0], result[1]
        flat_out, out_spec = tree_flatten(output)
        _check_real("jacrev", flat_out, "output")
        flat_primals, primal_spec = tree_flatten(primals)
        zero_cts = [zeros_like(o) for o in flat_out]
        blocks_per_output = []
        for i, o in enumerate(flat_out):
            def row(basis, i=i, o=o):
                # one vector-Jacobian product: the cotangent `basis` on output i, zeros on
                # the others
                cts = list(zero_cts)
                cts[i] = basis.reshape(o.shape)
                return tuple(tree_flatten(vjp_fn(tree_unflatten(cts, out_spec)))[0])

            n = o.numel()
            # all rows at once: vmap over the unit cotangents (vectorized: one backward pass)
            rows = vmap(row)(eye(n, dtype=o.dtype, device=o.device)) if n else None
            blocks = []
            for j, p in enumerate(flat_primals):
                shape = tuple(o.shape) + tuple(p.shape)
                if rows is not None:
                    blocks.append(rows[j].reshape(shape))
                else:
                    blocks.append(zeros(shape, dtype=p.dtype, device=p.device))
            per_input = tree_unflatten(blocks, primal_spec)
            blocks_per_output.append(per_input if isinstance(argnums_, tuple) else per_input[0])
        jac = tree_unflatten(blocks_per_output, out_spec)
        if has_aux:
            return jac, result[2]
        return jac
    return wrapper


# ------------------------------------------------------------------ forward mode

# how many ember.func.jvp calls are running the user's function inside the dual level
# they opened (a jvp nested in one of them takes the reverse-mode path)
_JVP_DEPTH = [0]


def _jvp_by_double_vjp(func, primals, tangents, has_aux, api):
    """jvp for a forward level nested in an open one (jacfwd(jacfwd(f)), func.jvp inside
    forward_ad.dual_level()): ember's forward-mode AD has a single dual level, which the
    outer transform holds, so the inner product is taken in reverse mode. g(u) = J^T u is
    linear in u, hence J t = d<g(u), t>/du: two backward passes, the first recording its
    graph (u is any value; zeros here). The outer level's tangents flow through both
    passes as through any op."""
    level = _Level()
    with enable_grad():
        diff, output, aux, flat_out, out_spec = _call_recorded(level, func, primals, has_aux,
                                                               api)
        flat_diff = tree_flatten(diff)[0]
        u = [level.differentiable(zeros_like(o)) for o in flat_out]
        transposed = _grads(level, flat_out, flat_diff, u, create_graph=True)
        flat_tangents = tree_flatten(tangents)[0]
        out_tangents = _grads(level, transposed, u, flat_tangents,
                              create_graph=level.keep_graph(transposed + flat_tangents))
    result = (level.lift(output), level.lift(tree_unflatten(out_tangents, out_spec)))
    return result + (level.lift(aux),) if has_aux else result


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), J @ tangents): the Jacobian-vector product by forward-mode AD
    (ember.autograd.forward_ad). `primals` is a tuple of (pytrees of) tensors, `tangents`
    a tuple of the same structure and shapes; the output tangent has the output's
    structure (zeros where the output does not depend on the primals). With `has_aux`,
    `func` returns (output, aux) and jvp (output, tangent, aux)."""
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid to "
                           f"call f(*primals).")
    flat_primals, primal_spec = tree_flatten(primals)
    flat_tangents, tangent_spec = tree_flatten(tangents)
    if primal_spec != tangent_spec:
        raise RuntimeError(f"{api}: Expected primals and tangents to have the same python "
                           f"structure. For example, if primals is a tuple of 3 tensors, "
                           f"tangents also must be. Got primals with structure {primal_spec} "
                           f"and tangents with structure {tangent_spec}")
    if not flat_primals:
        raise RuntimeError(f"{api}: Expected primals to contain at least one Tensor.")
    for name, flat in (("primals", flat_primals), ("tangents", flat_tangents)):
        for x in flat:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"{api}: Expected {name} to only contain Tensors, got "
                                   f"{type(x)}")
    if forward_ad._LEVEL[0] >= 0:
        if not _JVP_DEPTH[0]:   # the level is the caller's own forward_ad.dual_level()
            raise RuntimeError("Nested forward mode AD is not supported at the moment")
        return _jvp_by_double_vjp(func, primals, tangents, has_aux, api)
    with forward_ad.dual_level():
        duals = [forward_ad.make_dual(p, t) for p, t in zip(flat_primals, flat_tangents)]
        _JVP_DEPTH[0] += 1
        try:
            with func_transform():
                output = func(*tree_unflatten(duals, primal_spec))
        finally:
            _JVP_DEPTH[0] -= 1
        aux = None
        if has_aux:
            if not (isinstance(output, tuple) and len(output) == 2):
                raise RuntimeError(f"{api}: output of function f should be a tuple: (output, "
                                   f"aux) if has_aux is True")
            output, aux = output
        flat_out, out_spec = tree_flatten(output)
        values, out_tangents = [], []
        for o in flat_out:
            if not isinstance(o, Tensor):
                raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                                   f"unsupported type {type(o)}")
            value, tangent = forward_ad.unpack_dual(o)
            values.append(value)
            out_tangents.append(zeros_like(value) if tangent is None else tangent)
        if has_aux:
            aux = tree_map(lambda a: forward_ad.unpack_dual(a)[0] if isinstance(a, Tensor)
                           else a, aux)
    result = (tree_unflatten(values, out_spec), tree_unflatten(out_tangents, out_spec))
    return result + (aux,) if has_aux else result


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of `func` with respect to the arguments at `argnums`, by forward mode:
    one jvp per input element (columns of J), so it suits functions with few inputs and
    many outputs; shapes and structure as jacrev's. With randomness="error" the columns
    of one input are computed together, by vmap over its unit tangents. `randomness` is vmap's: "error"
    raises when `func` draws random numbers, "same" gives every column the same draws,
    "different" lets each draw its own."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")

    @functools.wraps(func)
    def wrapper(*args):
        from ._vmap import _Randomness
        argnums_ = _normalize_argnums(argnums, len(args))
        primals = _select(args, argnums_)
        primals = primals if isinstance(argnums_, tuple) else (primals,)
        flat_primals, primal_spec = tree_flatten(primals)
        for x in flat_primals:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"jvp(f, primals, tangents): Expected primals to only "
                                   f"contain Tensors, got {type(x)}")
        _check_real("jacfwd", flat_primals, "input")

        def restricted(*diff):
            new = diff if isinstance(argnums_, tuple) else diff[0]
            return func(*_replace(args, argnums_, new))

        zero_tangents = [zeros_like(p) for p in flat_primals]
        if randomness == "error":
            return _jacfwd_vmapped(restricted, primals, flat_primals, primal_spec, zero_tangents,
                                   argnums_, has_aux)
        columns = [[] for _ in flat_primals]   # per input: the output tangents per element
        first = None
        with _Randomness(randomness) as rng:
            n = 0
            for j, p in enumerate(flat_primals):
                for k in range(p.numel()):
                    rng.start_slice(n)
                    n += 1
                    basis = zeros(p.numel(), dtype=p.dtype, device=p.device)
                    basis[k] = 1
                    tangents = list(zero_tangents)
                    tangents[j] = basis.reshape(p.shape)
                    res = jvp(restricted, primals, tree_unflatten(tangents, primal_spec),
                              has_aux=has_aux)
                    if first is None:
                        first = res
                    columns[j].append(tree_flatten(res[1])[0])
            if first is None:   # no input elements: one call for the outputs' shapes
                first = jvp(restricted, primals, tree_unflatten(zero_tangents, primal_spec),
                            has_aux=has_aux)
        flat_out, out_spec = tree_flatten(first[0])
        _check_real("jacfwd", flat_out, "output")
        per_output = []
        for i, o in enumerate(flat_out):
            blocks = []
            for j, p in enumerate(flat_primals):
                shape = tuple(o.shape) + tuple(p.shape)
                if columns[j]:
                    cols = [c[i].reshape(-1) for c in columns[j]]
                    blocks.append(stack(cols, dim=1).reshape(shape))
                else:
                    blocks.append(zeros(shape, dtype=o.dtype, device=o.device))
            per_input = tree_unflatten(blocks, primal_spec)
            per_output.append(per_input if isinstance(argnums_, tuple) else per_input[0])
        jac = tree_unflatten(per_output, out_spec)
        return (jac, first[2]) if has_aux else jac
    return wrapper


def _jacfwd_vmapped(restricted, primals, flat_primals, primal_spec, zero_tangents, argnums,
                    has_aux):
    """jacfwd's columns for each input at once: vmap over its unit tangents (vectorized, a
    single forward pass per input when every op has a batching rule). randomness="error"
    only: for "same" and "different", jacfwd's loop replays or advances the generators
    across the inputs' columns."""
    per_primal = []     # per input: the flat output tangents, batched over its elements
    first = None
    for j, p in enumerate(flat_primals):
        n = p.numel()
        if not n:
            per_primal.append(None)
            continue

        def column(basis, j=j, p=p):
            tangents = list(zero_tangents)
            tangents[j] = basis.reshape(p.shape)
            res = jvp(restricted, primals, tree_unflatten(tangents, primal_spec),
                      has_aux=has_aux)
            return (res[0], tuple(tree_flatten(res[1])[0])) + tuple(res[2:])

        # the value (and aux) is the same for every column: batched along dim 0 too (a
        # broadcast view when vectorized), column 0 kept; out_dims=None would compare the
        # columns' values where vmap runs by slices
        res = vmap(column)(eye(n, dtype=p.dtype, device=p.device))
        if first is None:
            first = tree_map(lambda t: t[0] if isinstance(t, Tensor) else t,
                             (res[0],) + tuple(res[2:]))
            first = (first[0], None) + tuple(first[1:])
        per_primal.append(res[1])
    if first is None:   # no input elements: one call for the outputs' shapes
        first = jvp(restricted, primals, tree_unflatten(zero_tangents, primal_spec),
                    has_aux=has_aux)
    flat_out, out_spec = tree_flatten(first[0])
    _check_real("jacfwd", flat_out, "output")
    per_output = []
    for i, o in enumerate(flat_out):
        blocks = []
        for j, p in enumerate(flat_primals):
            shape = tuple(o.shape) + tuple(p.shape)
            cols = per_primal[j]
            if cols is not None:
                # cols[i]: (p.numel(),) + o.shape, one output tangent per input element
                by_output = cols[i].reshape(p.numel(), o.numel()).transpose(0, 1)
                blocks.append(by_output.reshape(shape))
            else:
                blocks.append(zeros(shape, dtype=o.dtype, device=o.device))
        per_input = tree_unflatten(blocks, primal_spec)
        per_output.append(per_input if isinstance(argnums, tuple) else per_input[0])
    jac = tree_unflatten(per_output, out_spec)
    return (jac, first[2]) if has_aux else jac


def linearize(func, *primals):
    """(func(*primals), jvp_fn) with ``jvp_fn(*tangents)`` the Jacobian-vector product at
    `primals` (each call runs `func` again under forward-mode AD)."""
    output = func(*primals)

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]
    return tree_map(lambda t: t.detach() if isinstance(t, Tensor) else t, output), jvp_fn


def hessian(func, argnums=0):
    """The Hessian of a scalar `func`: the Jacobian of its gradient, shaped x.shape + x.shape,
    computed forward-over-reverse as jacfwd(jacrev(func)), as PyTorch does."""
    return jacfwd(jacrev(func, argnums), argnums)
