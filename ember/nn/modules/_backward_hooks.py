"""Full backward hooks for Modules: identity nodes around a module's inputs and outputs
catch grad_output (at the outputs) and grad_input (at the inputs) and call the hooks."""
from ..._tensor import Tensor
from ...autograd import grad_mode
from ..._ops._base import Op, apply


class _HookIdentity(Op):
    _name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, *args):
        *arrays, callback = args
        ctx.callback = callback
        return tuple(arrays) if len(arrays) > 1 else arrays[0]

    @staticmethod
    def backward(ctx, *grads):
        return ctx.callback(grads)


def _wrap(tensors, callback):
    res = apply(_HookIdentity, tuple(tensors), tuple(t._data for t in tensors), callback)
    return res if isinstance(res, tuple) else (res,)


class BackwardHookState:
    def __init__(self, module):
        self.module = module
        self.grad_outputs = None
        self.inputs_wrapped = False
        self.n_inputs = 0

    def wrap_inputs(self, args):
        if not grad_mode.GRAD_ENABLED[0]:
            return args
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a._requires_grad]
        self.n_inputs = sum(isinstance(a, Tensor) for a in args)
        if not idx:
            return args
        self.inputs_wrapped = True
        new = list(args)
        for i, t in zip(idx, _wrap([args[i] for i in idx], self._on_input_grads)):
            new[i] = t
        return tuple(new)

    def wrap_outputs(self, result):
        if not grad_mode.GRAD_ENABLED[0]:
            return result
        single = isinstance(result, Tensor)
        outs = (result,) if single else tuple(result) if isinstance(result, (tuple, list)) else ()
        idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o._requires_grad]
        if not idx:
            return result
        wrapped = _wrap([outs[i] for i in idx], self._on_output_grads)
        new = list(outs)
        for i, t in zip(idx, wrapped):
            new[i] = t
        return new[0] if single else type(result)(new)

    def _on_output_grads(self, grads):
        for hook in self.module._backward_pre_hooks.values():
            r = hook(self.module, grads)
            if r is not None:
                grads = tuple(r)
        self.grad_outputs = grads
        if not self.inputs_wrapped:
            for hook in self.module._backward_hooks.values():
                hook(self.module, (None,) * max(self.n_inputs, 1), grads)
        return grads

    def _on_input_grads(self, grads):
        for hook in self.module._backward_hooks.values():
            r = hook(self.module, grads, self.grad_outputs)
            if r is not None:
                grads = tuple(r)
        return grads


# ---------------------------------------------------------------- non-full (legacy) hooks

_MIXED = ("Cannot use both regular backward hooks and full backward hooks on a single Module. "
          "Please use only one of them.")


def attach_node_hooks(module, args, result):
    """Module.register_backward_hook's (deprecated) hooks, as PyTorch runs them: on the
    autograd node that made the module's first output tensor, called as
    hook(module, grad_input, grad_output) with that node's input gradients (a convolution's
    (input, weight, bias), not the module's inputs) and output gradients; PyTorch's
    FutureWarning when those are not the module's."""
    var = result
    while not isinstance(var, Tensor):
        if isinstance(var, dict):
            var = next(v for v in var.values() if isinstance(v, Tensor))
        else:
            var = var[0]
    grad_fn = var.grad_fn
    if grad_fn is None:
        return
    for hook in module._backward_hooks.values():
        grad_fn.register_hook(_node_hook(hook, module, grad_fn))
    _maybe_warn(args, result, grad_fn)


def _node_hook(hook, module, node):
    """The node hook calling `hook`; an input PyTorch's node holds transposed (linear's
    weight: torch's addmm takes W^T) has its gradient shown transposed, and a replacement
    the hook returns is transposed back."""
    flip = getattr(node, "transposed_input", None)

    def transposed(grads):
        grads = list(grads)
        if flip is not None and flip < len(grads) and grads[flip] is not None:
            grads[flip] = grads[flip].t()
        return tuple(grads)

    def call(grad_inputs, grad_outputs):
        r = hook(module, transposed(grad_inputs), tuple(grad_outputs))
        return None if r is None else transposed(r)
    return call


def _warn(text):
    import warnings
    warnings.warn(text, FutureWarning, stacklevel=4)


def _maybe_warn(inputs, result, grad_fn):
    """PyTorch's warnings for the cases a node hook cannot see the module's gradients."""
    if not isinstance(result, Tensor):
        if not (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result)):
            _warn("Using non-full backward hooks on a Module that does not return a single Tensor "
                  "or a tuple of Tensors is deprecated and will be removed in future versions. "
                  "This hook will be missing some of the grad_output. Please use "
                  "register_full_backward_hook to get the documented behavior.")
            return
    else:
        result = (result,)
    if not isinstance(inputs, Tensor):
        if not (isinstance(inputs, tuple) and all(isinstance(i, Tensor) for i in inputs)):
            _warn("Using non-full backward hooks on a Module that does not take as input a single "
                  "Tensor or a tuple of Tensors is deprecated and will be removed in future "
                  "versions. This hook will be missing some of the grad_input. Please use "
                  "register_full_backward_hook to get the documented behavior.")
            return
    else:
        inputs = (inputs,)
    out_grad_fn = {r.grad_fn for r in result if r.grad_fn is not None}
    if len(out_grad_fn) == 0 or (len(out_grad_fn) == 1 and grad_fn not in out_grad_fn):
        _warn("Using a non-full backward hook when outputs are nested in python data structure is "
              "deprecated and will be removed in future versions. This hook will be missing some "
              "grad_output.")
    elif len(out_grad_fn) > 1:
        _warn("Using a non-full backward hook when outputs are generated by different autograd "
              "Nodes is deprecated and will be removed in future versions. This hook will be "
              "missing some grad_output. Please use register_full_backward_hook to get the "
              "documented behavior.")
    else:
        inputs_grad_fn = {i.grad_fn for i in inputs if i.grad_fn is not None}
        next_functions = {n[0] for n in grad_fn.next_functions}
        if inputs_grad_fn != next_functions:
            _warn("Using a non-full backward hook when the forward contains multiple autograd "
                  "Nodes is deprecated and will be removed in future versions. This hook will be "
                  "missing some grad_input. Please use register_full_backward_hook to get the "
                  "documented behavior.")
