"""One node for an op composed of ember ops, where PyTorch has a kernel of its own
(DistBackward0, OrmqrBackward0 ...): the graph shows that node with one edge per tensor
operand, as PyTorch's, instead of the composite's last step.

A subclass names the node (`_name`), lists the operands it saves (`save_inputs`: all of
them, backward recomputes from them) and gives `compute(*tensors, *params)`, the
composite written with ember ops. Forward runs it without recording; backward runs it
again on the saved operands with grad mode on and takes the vector-Jacobian product of
that small graph (autograd.grad), with create_graph when backward itself is recorded, so
that double backward and forward-mode AD (which is derived from backward) work. The cost:
the composite's forward once more in backward, for ops that are rarely hot.
"""
from ..autograd import grad_mode
from .._tensor import Tensor
from ._base import Op

__all__ = []


class CompositeNode(Op):
    _name = None   # (each subclass names its node)
    # compute(*tensors, *params) -> Tensor or tuple of Tensors (ember ops)
    compute = None

    @staticmethod
    def forward(ctx, *args):
        n = len(ctx.save_inputs)
        arrays, params = args[:n], args[n:]
        ctx.params = params
        with grad_mode.no_grad():
            out = type(ctx).compute(*(Tensor._make(a) for a in arrays), *params)
        if type(out) is tuple:
            return tuple(o._data for o in out)
        return out._data

    @staticmethod
    def backward(ctx, *grads):
        from ..autograd import grad as vjp
        saved = ctx.saved_tensors
        need = ctx.needs_input_grad
        graph = grad_mode.is_grad_enabled()   # backward is recorded (create_graph)
        with grad_mode.enable_grad():
            if graph:
                # a fresh alias of each operand (the same tensor given twice gets one
                # gradient per edge), linked to its history for the gradients' graph
                xs = [s.view_as(s) if n else s.detach() for s, n in zip(saved, need)]
            else:
                xs = [s.detach().requires_grad_(bool(n)) for s, n in zip(saved, need)]
            out = type(ctx).compute(*xs, *ctx.params)
            outs = out if type(out) is tuple else (out,)
            pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
            wrt = [x for x, n in zip(xs, need) if n]
            if not pairs or not wrt:
                return tuple(None for _ in need) if len(need) > 1 else None
            found = list(vjp([o for o, _ in pairs], wrt, [g for _, g in pairs],
                             allow_unused=True, create_graph=graph))
        result = tuple(found.pop(0) if n else None for n in need)
        return result if len(result) > 1 else result[0]
