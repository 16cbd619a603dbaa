"""Reset the `.grad` of parameters: the one body of `Module.zero_grad` and `Optimizer.zero_grad`."""


def zero_grads(params, set_to_none=True):
    """Drop (``set_to_none``) or zero in place each parameter's gradient, as PyTorch's.

    A gradient that is itself part of a graph (``create_graph=True``) is detached
    first, so zeroing it does not write into a tensor autograd still holds.
    """
    for p in params:
        grad = p._grad
        if grad is None:
            continue
        if set_to_none:
            p._grad = None
            continue
        if grad.grad_fn is not None:
            grad = p._grad = grad.detach()
        grad._data[...] = 0
