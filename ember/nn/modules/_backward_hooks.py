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
