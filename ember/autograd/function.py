"""autograd.Function: user-defined ops with a hand-written backward.

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):            # Tensors in, Tensors out; runs under no_grad
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):        # one gradient (or None) per forward argument
            y, = ctx.saved_tensors
            return grad * y

    y = Exp.apply(x)                    # y.grad_fn is an ExpBackward node

A Function is recorded exactly like a built-in op: `ctx` is an instance of a Node
subclass made once per Function class (`ExpBackward`), so hooks, retain_graph, saved
tensor version checks, anomaly mode and create_graph (a backward written with ember
ops is itself differentiable) behave the same. The PyTorch 2 style, where `forward`
takes no ctx and a `setup_context(ctx, inputs, output)` staticmethod fills ctx, is
supported too.
"""
import functools
import inspect

import numpy as np

from . import anomaly, forward_ad, grad_mode
from .graph import Node, save_tensor, accumulator_of, current, _seq

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable", "InplaceFunction",
           "NestedIOFunction"]


def _is_tensor(x):
    from .._tensor import Tensor
    return isinstance(x, Tensor)


def _edge(t):
    current(t)
    if not t._requires_grad:
        return (None, 0)
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    return (accumulator_of(t), 0)


class FunctionCtx:
    """The ctx API forward/setup_context use to hand state to backward."""

    def save_for_backward(self, *tensors):
        """Save tensors (or None) for backward; read them back with `ctx.saved_tensors`,
        which raises if any of them was modified in place in between."""
        for i, t in enumerate(tensors):
            if t is not None and not _is_tensor(t):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is "
                                f"of type {type(t).__name__}")
        self.to_save = tensors

    def save_for_forward(self, *tensors):
        self.saved_for_forward = tensors

    def mark_dirty(self, *tensors):
        """Declare inputs that forward modified in place (and returns)."""
        self.dirty_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that have no gradient (indices, masks): they do not require grad,
        and backward receives zeros for them."""
        self.non_differentiable = tensors

    def set_materialize_grads(self, value):
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = value


class BackwardCFunction(FunctionCtx, Node):
    """The graph node of one Function call; `<Name>Backward` subclasses are made per
    Function class. Its backward calls the user's and maps the gradients returned for
    every forward argument onto the node's tensor inputs."""
    _forward_cls = None
    needs_input_grad = ()  # set per call (shadows Node's property, which reads the edges)

    def name(self):
        return type(self).__name__

    # shown as Python shows a class made here (PyTorch's nodes of Functions are such
    # classes): <torch.autograd.function.MulAddBackward object at 0x...>
    __repr__ = object.__repr__

    @staticmethod
    def backward(ctx, *grads):
        fcls = ctx._forward_cls
        result = fcls.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n_args = len(ctx._arg_is_tensor)
        if len(result) != n_args:
            if len(result) > n_args and all(g is None for g in result[n_args:]):
                result = result[:n_args]
            else:
                raise RuntimeError(f"function {ctx.name()} returned an incorrect number of "
                                   f"gradients (expected {n_args}, got {len(result)})")
        picked = []
        for g, is_tensor, meta in zip(result, ctx._arg_is_tensor, ctx._all_meta):
            if not is_tensor:
                continue
            if g is not None:
                _check_grad(ctx, len(picked), g, meta[0])
            picked.append(g)
        return tuple(picked)

    def apply(self, *grads):
        return self.backward(self, *grads)

    @property
    def saved_tensors(self):
        # inside jvp, the tensors saved for forward-mode AD (ctx.save_for_forward)
        if self.__dict__.get("_in_jvp"):
            return tuple(self.__dict__.get("saved_for_forward", ()))
        return Node.saved_tensors.fget(self)


def _check_grad(ctx, index, g, shape):
    if not _is_tensor(g):
        raise TypeError(f"function {ctx.name()} returned a gradient different than None at "
                        f"position {index + 1}, but the corresponding forward input was not a "
                        f"Variable")
    gs = tuple(g.shape)
    try:
        ok = np.broadcast_shapes(tuple(shape), gs) == gs
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"Function {ctx.name()} returned an invalid gradient at index {index} - "
                           f"got {list(gs)} but expected shape compatible with {list(shape)}")


class FunctionMeta(type):
    """Makes the `<Name>Backward` node class of every Function subclass."""

    def __init__(cls, name, bases, attrs):
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,),
                                 {"_forward_cls": cls, "__module__": __name__})
        super().__init__(name, bases, attrs)


class Function(metaclass=FunctionMeta):
    """Base class of user-defined differentiable ops (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        import warnings
        warnings.warn(f"{type(self)} should not be instantiated. Methods on autograd functions "
                      "are all static, so you should invoke them on the class itself. "
                      "Instantiating an autograd function will raise an error in a future "
                      "version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static forward "
                           "method. (Example: https://pytorch.org/docs/stable/autograd.html"
                           "#torch.autograd.Function)")

    @staticmethod
    def forward(*args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """Forward-mode AD: one tangent per forward argument in (zeros for a tensor argument
        without one, None for a non-tensor), one tangent per output out. Inside it,
        ``ctx.saved_tensors`` are the tensors given to ``ctx.save_for_forward``."""
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    # under ember.func.vmap a Function runs once per slice, as every function does; PyTorch
    # asks for a batching rule (this staticmethod, or generate_vmap_rule = True) and ember
    # checks for one, so that programs stay portable (_check_vmap_support)
    generate_vmap_rule = False

    @staticmethod
    def vmap(info, in_dims, *args):
        raise NotImplementedError("To use autograd.Function with vmap, you must either override "
                                  "the vmap staticmethod or set generate_vmap_rule=True.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward under no_grad and, when an input requires grad, record a
        `<Name>Backward` node for the outputs."""
        setup_style = cls.setup_context is not Function.setup_context
        if kwargs or (setup_style and _has_defaults(cls.forward)):
            # setup_context sees every forward argument, defaults included (PyTorch binds them)
            args = _bind(cls.forward, args, kwargs, skip_ctx=not setup_style)
        if TRANSFORM_LEVEL[0]:
            _check_transform_support(cls)
        ctx = cls._backward_cls.__new__(cls._backward_cls)
        record = grad_mode.STATE.grad and any(
            _is_tensor(a) and a._requires_grad for a in args)
        ctx._arg_is_tensor = tuple(_is_tensor(a) for a in args)
        ctx.needs_input_grad = tuple(record and _is_tensor(a) and a._requires_grad for a in args)
        dual = forward_ad.ACTIVE[0] and any(_is_tensor(a) and a._fw_tangent is not None
                                             for a in args)
        if dual:
            if cls.jvp is Function.jvp:
                Function.jvp(ctx)   # raises PyTorch's NotImplementedError
            forward_ad.ACTIVE[0] = False   # the ops inside forward give no tangents: jvp does
        try:
            with grad_mode.no_grad():
                if setup_style:
                    output = cls.forward(*args)
                    cls.setup_context(ctx, args, output)
                else:
                    output = cls.forward(ctx, *args)
        finally:
            if dual:
                forward_ad.ACTIVE[0] = True
        if record:
            output = _record(ctx, args, output)
        if dual:
            # after the outputs got their history, as PyTorch: a tangent jvp computes from an
            # output it kept (ctx.result = result) is differentiable through the Function
            tangents = _run_jvp(cls, ctx, args, output)
            _set_tangents(ctx, args, output, tangents)
        return output


def _run_jvp(cls, ctx, args, output):
    """The output tangents from the Function's jvp, given one tangent per forward argument
    (zeros for a tensor argument without one, as PyTorch gives)."""
    from .._ops.creation import zeros_like
    tangents = []
    for a in args:
        if not _is_tensor(a):
            tangents.append(None)
        else:
            tangents.append(a._fw_tangent if a._fw_tangent is not None else zeros_like(a))
    ctx._in_jvp = True
    try:
        result = cls.jvp(ctx, *tangents)
    finally:
        ctx._in_jvp = False
    n_out = len(output) if isinstance(output, tuple) else 1
    if not isinstance(result, tuple):
        result = (result,)
    if len(result) != n_out:
        raise RuntimeError(f"jvp of {cls.__name__} returned an incorrect number of tangents "
                           f"(expected {n_out}, got {len(result)})")
    return result


def _set_tangents(ctx, args, output, tangents):
    """Give the Function's floating outputs the tangents its jvp returned."""
    outs = output if isinstance(output, tuple) else (output,)
    arg_ids = {id(a) for a in args if _is_tensor(a)}
    nondiff = {id(t) for t in ctx.__dict__.get("non_differentiable", ())}
    for i, (o, tangent) in enumerate(zip(outs, tangents)):
        if not _is_tensor(o) or tangent is None:
            continue
        if id(o) in nondiff or not (o.dtype.is_floating_point or o.dtype.is_complex):
            raise RuntimeError(f"Function's jvp returned a gradient at position {i}, but  the "
                               f"corresponding forward output is not a differentiable Tensor."
                               f"You should return None at that position instead.")
        if not _is_tensor(tangent):
            raise TypeError(f"jvp must return Tensors or None as tangents, got "
                            f"{type(tangent).__name__}")
        if tangent.shape != o.shape:
            raise RuntimeError(f"Trying to set a forward gradient that has a different size than "
                               f"that of the original Tensor, this is not supported. Tensor is of "
                               f"size {list(o.shape)} while the given forward gradient is of size "
                               f"{list(tangent.shape)}.")
        if id(o) in arg_ids:
            continue   # an input returned as is (not recorded): it keeps its own tangent
        forward_ad.set_tangent(o, tangent)


# how many ember.func transforms (grad, vjp, jvp, vmap ...) are running, and how many of
# them are vmap (ember/func keeps the counts, see func_transform)
TRANSFORM_LEVEL = [0]
VMAP_LEVEL = [0]


class func_transform:
    """Context of one ember.func transform calling the user's function (vmap=True for
    vmap): autograd.Functions applied inside check that PyTorch's transforms accept them."""

    def __init__(self, vmap=False):
        self.vmap = vmap

    def __enter__(self):
        TRANSFORM_LEVEL[0] += 1
        VMAP_LEVEL[0] += self.vmap

    def __exit__(self, *exc):
        TRANSFORM_LEVEL[0] -= 1
        VMAP_LEVEL[0] -= self.vmap
        return False


def _check_transform_support(cls):
    """PyTorch's refusals of a Function called under a torch.func transform: it must use the
    setup_context style, and under vmap have a vmap staticmethod or generate_vmap_rule=True
    (not both). ember's transforms would run it either way (vmap one slice at a time); the
    checks keep programs portable. ember's own Functions (the Gamma sampler ...) stand for
    PyTorch's built-in ops, which every transform accepts: they are not checked."""
    if cls.__module__.startswith("ember."):
        return
    if cls.setup_context is Function.setup_context:
        raise RuntimeError("In order to use an autograd.Function with functorch transforms "
                           "(vmap, grad, jvp, jacrev, ...), it must override the setup_context "
                           "staticmethod. For more details, please see "
                           "https://pytorch.org/docs/main/notes/extending.func.html")
    if not VMAP_LEVEL[0]:
        return
    has_rule = cls.vmap is not Function.vmap
    if getattr(cls, "generate_vmap_rule", False):
        if has_rule:
            raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it has both "
                               f"generate_vmap_rule=True and an overriden vmap staticmethod. "
                               f"Please set generate_vmap_rule=False or delete the overriden "
                               f"vmap staticmethod to avoid ambiguity. For more details, please "
                               f"see https://pytorch.org/docs/main/notes/extending.func.html")
    elif not has_rule:
        raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it does not have vmap "
                           f"support. Please override and implement the vmap staticmethod or "
                           f"set generate_vmap_rule=True. For more details, please see "
                           f"https://pytorch.org/docs/main/notes/extending.func.html")


_DEFAULTS = {}   # forward function -> whether a parameter has a default


def _has_defaults(forward):
    has = _DEFAULTS.get(forward)
    if has is None:
        has = _DEFAULTS[forward] = any(
            p.default is not inspect.Parameter.empty
            for p in inspect.signature(forward).parameters.values())
    return has


def _bind(forward, args, kwargs, skip_ctx):
    """Positional arguments for forward from args + kwargs (defaults filled in)."""
    sig = inspect.signature(forward)
    if skip_ctx:
        params = list(sig.parameters.values())[1:]
        sig = sig.replace(parameters=params)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.args


def _record(ctx, args, output):
    """Link ctx into the graph and give the outputs their history."""
    from .._tensor import Tensor
    tensors = [a for a in args if _is_tensor(a)]
    ctx.next_functions = tuple(_edge(t) for t in tensors)
    ctx._all_meta = tuple((a.shape, a.dtype) if _is_tensor(a) else None for a in args)
    ctx._input_meta = tuple((t.shape, t.dtype) for t in tensors)
    ctx._seq = next(_seq)
    if anomaly._ENABLED[0]:
        anomaly.record_trace(ctx)
    multi = isinstance(output, tuple)
    outs = output if multi else (output,)
    dirty = {id(t) for t in ctx.__dict__.get("dirty_tensors", ())}
    nondiff = {id(t) for t in ctx.__dict__.get("non_differentiable", ())}
    inputs = {id(t) for t in tensors}
    results = []
    for i, o in enumerate(outs):
        if not _is_tensor(o):
            results.append(o)
            continue
        if id(o) in dirty:
            _check_dirty(o)
            o._bump_version()
            t = o
        elif id(o) in inputs:
            # an input returned unchanged: a new tensor sharing its memory carries the history
            t = Tensor._make(o._data)
            if o._vc is None:
                o._vc = [0]
            t._vc, t._base = o._vc, o
        else:
            t = o
        diff = id(o) not in nondiff and (o.dtype.is_floating_point or o.dtype.is_complex)
        if diff and id(o) in dirty and o._base is not None:
            _rebase_view(o, ctx, i)
        elif diff:
            _set_history(t, ctx, i)
        else:
            t._requires_grad = False
        results.append(t)
    ctx._num_outputs = len(outs)
    # non-tensor outputs get None (never materialized zeros) as their gradient
    ctx._output_meta = [(r.shape, r.dtype, r.device) if _is_tensor(r) else None for r in results]
    _save(ctx, results)
    return tuple(results) if multi else results[0]


def _check_dirty(t):
    if t._requires_grad and t.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place "
                           "operation.")
    base = t._base
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")


def _rebase_view(view, ctx, output_nr):
    """A view the Function modified in place (mark_dirty): as for a built-in in-place op on
    a view, the base's history becomes "old base with the view's region replaced by the
    Function's output" (CopySlices), and the view is the base viewed again."""
    from .._tensor import Tensor
    from .._ops.conversion import _rebase
    result = Tensor._make(view._data)
    _set_history(result, ctx, output_nr)
    _rebase(view, result)


def _set_history(t, ctx, output_nr):
    t._requires_grad = True
    t.grad_fn = ctx
    t._output_nr = output_nr


def _save(ctx, results):
    to_save = ctx.__dict__.pop("to_save", None)
    if not to_save:
        return
    by_id = {id(r): r for r in results if _is_tensor(r)}
    saved = []
    for t in to_save:
        if t is None:
            saved.append(None)
        elif id(t) in by_id and t.grad_fn is ctx:
            saved.append(save_tensor(t, is_output=True))
        else:
            saved.append(save_tensor(t))
    ctx._saved = saved


def once_differentiable(fn):
    """Decorate a Function's backward that is not itself differentiable: it runs under
    no_grad, and differentiating its result (create_graph) raises."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with grad_mode.no_grad():
            outputs = fn(ctx, *args)
        if not grad_mode.STATE.grad:
            return outputs
        requiring = tuple(a for a in args if _is_tensor(a) and a._requires_grad)
        if not requiring:
            return outputs
        single = not isinstance(outputs, tuple)
        wrapped = tuple(_delayed_error(o, requiring) if _is_tensor(o) else o
                        for o in ((outputs,) if single else outputs))
        return wrapped[0] if single else wrapped
    return wrapper


class DelayedError(Node):
    """Stands for the gradient of a once_differentiable backward: differentiating it raises."""
    _name = "torch::autograd::Error"  # PyTorch's name for this node

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")


def _delayed_error(t, requiring):
    from .._tensor import Tensor
    if not (t.dtype.is_floating_point or t.dtype.is_complex):
        return t
    node = DelayedError()
    node.next_functions = tuple(_edge(r) for r in requiring)
    node._seq = next(_seq)
    out = Tensor._make(t._data, True)
    out.grad_fn = node
    return out


class InplaceFunction(Function):
    """Function with an `inplace` flag (kept for old code)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace


class NestedIOFunction(Function):
    """Legacy; not supported."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("NestedIOFunction is a legacy API that ember does not support")
