"""The Autograd kernel ``register_autograd`` installs: an autograd.Function running the
backend kernel forward and the registered formula backward."""
from .. import autograd
from .._tensor import Tensor
from ._dispatch import _backend, _device_types, _tensors


def _autograd_kernel(entry, backward, setup_context, custom=None):
    """The Autograd kernel of `register_autograd`: an autograd.Function named as PyTorch's
    node (``GeneratedBackwardFor_<ns>_<name>_<overload>Backward``) whose forward runs the
    backend kernel and whose backward is the registered formula (None: backward raises).

    The Function takes the tensors of list arguments (``Tensor[]``) one by one, so each
    gets its gradient: the formula returns a list of gradients for such an argument."""
    schema = entry.schema
    kwonly = [a.name for a in schema.arguments if a.kwarg_only]
    display = f"{entry.qualname.replace('::', '.')}.{entry.overload}"

    def unflatten(flat, layout):
        """The positional arguments from the Function's inputs (see kernel)."""
        pos, i = [], 0
        for kind, n in layout:
            if kind == "list":
                pos.append(list(flat[i:i + n]))
                i += n
            else:
                pos.append(flat[i])
                i += 1
        return pos

    def forward(*inputs):
        layout, kw = inputs[-1]
        pos = unflatten(inputs[:-1], layout)
        if custom is not None:
            return custom._run_backend(pos, kw)
        return _backend(entry, _device_types(list(_tensors(pos + list(kw.values())))), pos, kw)

    def setup(ctx, inputs, output):
        layout, kw = inputs[-1]
        ctx._ember_layout = layout
        if setup_context is None:
            return
        pos = tuple(unflatten(inputs[:-1], layout))
        if kwonly:
            setup_context(ctx, pos, dict(kw), output)
        else:
            setup_context(ctx, pos, output)

    def backward_(ctx, *grads):
        if backward is None:
            raise RuntimeError(f"Trying to backward through {display} but no autograd "
                               f"formula was registered. Please use register_autograd to add "
                               f"one.")
        result = backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        layout = ctx._ember_layout
        if len(result) != len(layout):
            raise RuntimeError(f"{display}: expected the backward to return {len(layout)} "
                               f"gradient(s) (one per positional input) but got "
                               f"{len(result)}")
        flat = []
        for (kind, n), g in zip(layout, result):
            if kind == "list":
                flat.extend([None] * n if g is None else list(g))
            else:
                flat.append(g)
        return tuple(flat) + (None,)

    name = f"GeneratedBackwardFor_{entry.qualname.replace('::', '_')}_{entry.overload}"
    function = type(name, (autograd.Function,), {
        "forward": staticmethod(forward), "setup_context": staticmethod(setup),
        "backward": staticmethod(backward_), "__module__": "ember.autograd.function"})

    def kernel(*args, **kwargs):
        pos, kw = schema.bind(args, kwargs)
        flat, layout = [], []
        for v in pos:
            if isinstance(v, list) and any(isinstance(e, Tensor) for e in v):
                flat.extend(v)
                layout.append(("list", len(v)))
            else:
                flat.append(v)
                layout.append(("value", 1))
        out = function.apply(*flat, (tuple(layout), kw))
        if isinstance(out, tuple) and len(schema.returns) > 1:
            # outputs that cannot have gradients (integer, bool) carry no graph
            return tuple(o.detach() if isinstance(o, Tensor) and not _differentiable(o)
                         else o for o in out)
        return out
    return kernel


def _differentiable(t):
    return t.dtype.is_floating_point or t.dtype.is_complex
