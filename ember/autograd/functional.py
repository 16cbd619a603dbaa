"""Higher-level differentiation of a function f: jacobian, hessian, vjp, jvp, hvp, vhp
(``torch.autograd.functional``).

For f with inputs x (a Tensor or a tuple of Tensors) and outputs y:

    vjp(f, x, v)  = (f(x), v^T J)                 one backward pass
    jvp(f, x, v)  = (f(x), J v)                   two backward passes (the "double vjp" trick:
                                                  J v = d/du (u^T J v) with u a dummy cotangent)
    jacobian(f, x) = J, one backward per output element, shaped y.shape + x.shape
    hessian(f, x)  = jacobian of the gradient, for f with a single-element output
    vhp(f, x, v)  = (f(x), v^T H),  hvp(f, x, v) = (f(x), H v)

Results have f's output structure (Tensor or tuple) on one side and the input's on the
other, as in PyTorch. Without create_graph the results are detached; with strict=True,
an output independent of an input raises instead of giving zeros. `vectorize` is
accepted and ignored (ember has no vmap; the rows are computed one by one).
"""
from . import grad as _autograd_grad, grad_mode

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _is_tensor(x):
    from .._tensor import Tensor
    return isinstance(x, Tensor)


def _as_tuple(x, arg_name, fn_name):
    """(was_tuple, tuple of Tensors); TypeError names what is wrong."""
    if _is_tensor(x):
        return False, (x,)
    if not isinstance(x, tuple):
        raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                        f"Tensors but the given {arg_name} has type {type(x)}.")
    for i, el in enumerate(x):
        if not _is_tensor(el):
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple "
                            f"of Tensors but the value at index {i} has type {type(el)}.")
    return True, x


def _shape_like(was_tuple, values):
    """Undo _as_tuple: a tuple when the original was one, else its single element."""
    return values if was_tuple else values[0]


def _prepare_inputs(inputs, create_graph):
    """Fresh graph leaves standing for `inputs` (kept attached when create_graph, so the
    results can be differentiated with respect to the originals)."""
    res = []
    for x in inputs:
        if create_graph and x.requires_grad:
            res.append(x.view_as(x))
        else:
            res.append(x.detach().requires_grad_(True))
    return tuple(res)


def _finish(values, create_graph):
    """Detach results unless the caller wants a graph through them."""
    if create_graph:
        return values
    return tuple(v.detach() if _is_tensor(v) else v for v in values)


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad tolerant of outputs that do not require grad (they contribute
    nothing) and of unused inputs (None)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, gos = zip(*pairs)
    return _autograd_grad(outs, inputs, gos, retain_graph=retain_graph,
                          create_graph=create_graph, allow_unused=True)


def _fill_zeros(grads, refs, strict, create_graph, stage):
    """Replace None gradients by zeros; in strict mode a None (or, with create_graph, a
    gradient with no graph to the input) is an error."""
    from .._ops.creation import zeros_like
    res = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                if stage == "back":
                    raise RuntimeError(f"The output of the user-provided function is independent "
                                       f"of input {i}. This is not allowed in strict mode.")
                if stage == "back_trick":
                    raise RuntimeError(f"The gradient with respect to the input is independent of "
                                       f"entry {i} in the grad_outputs when using the double "
                                       f"backward trick to compute forward mode gradients. This "
                                       f"is not allowed in strict mode.")
                if stage == "double_back":
                    raise RuntimeError(f"The jacobian of the user-provided function is independent "
                                       f"of input {i}. This is not allowed in strict mode.")
                raise RuntimeError(f"The hessian of the user-provided function is independent of "
                                   f"entry {i} in the grad_jacobian. This is not allowed in strict "
                                   f"mode as it prevents from using the double backward trick to "
                                   f"replace forward mode AD.")
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            if stage == "double_back":
                raise RuntimeError(f"The jacobian of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode when "
                                   f"create_graph=True.")
            raise RuntimeError(f"The output of the user-provided function is independent of input "
                               f"{i}. This is not allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def _check_requires_grad(outputs, kind, strict):
    if not strict:
        return
    for i, o in enumerate(outputs):
        if o is None:
            continue
        if not o.requires_grad:
            if kind == "jacobian":
                raise RuntimeError(f"While computing the hessian, found that the jacobian of the "
                                   f"user-provided function with respect to input {i} is "
                                   f"independent of the input. This is not allowed in strict "
                                   f"mode. You should ensure that your function is twice "
                                   f"differentiable and that the jacobian depends on the inputs "
                                   f"(this would be violated by a linear function for example).")
            raise RuntimeError(f"Output {i} of the user-provided function does not require "
                               f"gradients. The outputs must be computed in a differentiable "
                               f"manner from the input when running in strict mode.")


def _validate_v(v, refs):
    for i, (vi, r) in enumerate(zip(v, refs)):
        if tuple(vi.shape) != tuple(r.shape):
            where = "" if len(refs) == 1 else f"Entry {i} in "
            raise RuntimeError(f"{where}v has invalid size: should be {r.shape} but got "
                               f"{vi.shape}.")


def _call(func, inputs, fn_name):
    return _as_tuple_output(func(*inputs), fn_name)


def _as_tuple_output(out, fn_name):
    if _is_tensor(out):
        return False, (out,)
    if not isinstance(out, tuple) or not all(_is_tensor(o) for o in out):
        bad = out if not isinstance(out, tuple) else next(o for o in out if not _is_tensor(o))
        where = ("the given outputs of the user-provided function has type"
                 if not isinstance(out, tuple) else
                 f"the value at index {out.index(bad)} has type")
        raise TypeError(f"The outputs of the user-provided function given to {fn_name} must be "
                        f"either a Tensor or a tuple of Tensors but {where} {type(bad)}.")
    return True, out


def _single_element(outputs, fn_name):
    if len(outputs) != 1:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           f"contain a single element")


# ------------------------------------------------------------------------------- the API

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, v shaped like the outputs."""
    with grad_mode.enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare_inputs(inputs, create_graph)
        out_tuple, outputs = _call(func, inputs, "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _prepare_inputs(v, create_graph)
            _validate_v(v, outputs)
        else:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function "
                                   "returns a single Tensor with a single element.")
        enable = grad_mode.STATE.grad if create_graph else False
        with grad_mode.set_grad_enabled(enable):
            grads = _grad(outputs, inputs, v, create_graph=create_graph)
            res = _fill_zeros(grads, inputs, strict, create_graph, "back")
    return (_shape_like(out_tuple, _finish(outputs, create_graph)),
            _shape_like(in_tuple, _finish(res, create_graph)))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, v shaped like the inputs, by the
    double-backward trick: g(u) = u^T J is linear in u, and J v = d(g(u) . v)/du."""
    from .._ops.creation import zeros_like
    with grad_mode.enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare_inputs(inputs, create_graph)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = _prepare_inputs(v, create_graph)
            _validate_v(v, inputs)
        else:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the "
                                   "user-provided function is a single Tensor with a single "
                                   "element.")
        out_tuple, outputs = _call(func, inputs, "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        dummy = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
        grads = _grad(outputs, inputs, dummy, create_graph=True)
        _fill_zeros(grads, inputs, strict, create_graph, "back")
        enable = grad_mode.STATE.grad if create_graph else False
        with grad_mode.set_grad_enabled(enable):
            gv = _grad(grads, dummy, v, create_graph=create_graph)
            res = _fill_zeros(gv, outputs, strict, create_graph, "back_trick")
    return (_shape_like(out_tuple, _finish(outputs, create_graph)),
            _shape_like(out_tuple, _finish(res, create_graph)))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of func at inputs: for output i and input j a Tensor shaped
    outputs[i].shape + inputs[j].shape; one backward pass per output element."""
    from .._ops.creation import zeros
    from .._ops.joining import stack
    if strategy not in ("reverse-mode", "forward-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, "forward-mode" '
                             'tends to be more performant. Otherwise, prefer to use '
                             '"reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). '
                                      'Please either set `create_graph=False` or '
                                      '`strategy="reverse-mode"`.')
        return _jacobian_forward(func, inputs, strict, vectorize)
    with grad_mode.enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare_inputs(inputs, create_graph)
        out_tuple, outputs = _call(func, inputs, "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        jac = []
        for i, out in enumerate(outputs):
            flat = out.reshape(-1)
            rows = [[] for _ in inputs]
            for k in range(flat.numel()):
                grads = _grad((flat[k],), inputs, retain_graph=True, create_graph=create_graph)
                for j, (g, x) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {j}. This is not allowed "
                                               f"in strict mode.")
                        g = zeros(x.shape, dtype=x.dtype)
                    rows[j].append(g)
            blocks = []
            for j, x in enumerate(inputs):
                if rows[j]:
                    block = stack(rows[j]).reshape(tuple(out.shape) + tuple(x.shape))
                else:
                    block = zeros(tuple(out.shape) + tuple(x.shape), dtype=x.dtype)
                blocks.append(block)
            jac.append(_shape_like(in_tuple, _finish(tuple(blocks), create_graph)))
    return _shape_like(out_tuple, tuple(jac))


def _jacobian_forward(func, inputs, strict, vectorize):
    """jacobian(strategy="forward-mode"): column by column, one forward-mode pass per input
    element with that element's unit tangent (PyTorch maps the passes over the basis with
    vmap, which ember does not have; the numbers are the same)."""
    from . import forward_ad
    from .._ops.creation import zeros, zeros_like
    from .._ops.joining import stack
    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and '
                           '`strategy="forward-mode"` are not supported together (yet). Please '
                           'either set `strict=False` or `strategy="reverse-mode"`.')
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    if not vectorize:
        # (PyTorch's message, missing space included)
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian isonly implemented for `vectorize=True`.")
    columns = None        # columns[i][j]: the tangents of output i for input j's basis
    out_tuple = outputs = None
    for j, x in enumerate(inputs):
        for k in range(x.numel()):
            with forward_ad.dual_level():
                duals = []
                for jj, xx in enumerate(inputs):
                    tangent = zeros_like(xx)
                    if jj == j:
                        tangent.view(-1)[k] = 1
                    duals.append(forward_ad.make_dual(xx, tangent))
                out_tuple, outs = _as_tuple_output(func(*duals), "jacobian")
                if columns is None:
                    columns = [[[] for _ in inputs] for _ in outs]
                    outputs = [forward_ad.unpack_dual(o).primal for o in outs]
                for i, o in enumerate(outs):
                    tangent = forward_ad.unpack_dual(o).tangent
                    columns[i][j].append(zeros_like(o) if tangent is None else tangent)
    if columns is None:   # every input is empty: func is still called once, for its outputs
        out_tuple, outputs = _as_tuple_output(func(*inputs), "jacobian")
        columns = [[[] for _ in inputs] for _ in outputs]
    jac = []
    for i, out in enumerate(outputs):
        blocks = []
        for j, x in enumerate(inputs):
            shape = tuple(out.shape) + tuple(x.shape)
            if columns[i][j]:
                # stacked along a last dimension: the input's elements vary fastest
                block = stack(columns[i][j], -1).reshape(shape)
            else:
                block = zeros(shape, dtype=out.dtype)
            blocks.append(block.detach())
        jac.append(_shape_like(in_tuple, tuple(blocks)))
    return _shape_like(out_tuple, tuple(jac))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a function with a single-element output: the Jacobian of its
    gradient; for inputs i and j a Tensor shaped inputs[i].shape + inputs[j].shape."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def gradient(*xs):
        with grad_mode.enable_grad():
            if outer_jacobian_strategy == "forward-mode":
                # forward over reverse: the dual inputs are the leaves of the gradient
                xs = tuple(x.requires_grad_(True) for x in xs)
            _, outs = _as_tuple_output(func(*xs), "hessian")
            _single_element(outs, "hessian")
            _check_requires_grad(outs, "outputs", strict)
            grads = _fill_zeros(_grad(outs, xs, create_graph=True), xs, False, True, "back")
            _check_requires_grad(grads, "jacobian", strict)
            return grads

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                      vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _shape_like(in_tuple, tuple(_shape_like(in_tuple, r) for r in result))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a function with a single-element output."""
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a function with a single-element output (H is symmetric
    for twice continuously differentiable f, so this equals v^T H; it is computed with the
    double-backward trick so that it is H v in any case)."""
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)


def _hessian_product(fn_name, func, inputs, v, create_graph, strict):
    from .._ops.creation import zeros_like
    with grad_mode.enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
        inputs = _prepare_inputs(inputs, create_graph)
        if v is not None:
            _, v = _as_tuple(v, "v", fn_name)
            v = _prepare_inputs(v, create_graph)
            _validate_v(v, inputs)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        _, outputs = _call(func, inputs, fn_name)
        _single_element(outputs, fn_name)
        _check_requires_grad(outputs, "outputs", strict)
        jac = _grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        enable = grad_mode.STATE.grad if create_graph else False
        if fn_name == "vhp":
            with grad_mode.set_grad_enabled(enable):
                grads = _grad(jac, inputs, v, create_graph=create_graph)
                res = _fill_zeros(grads, inputs, strict, create_graph, "double_back")
        else:
            dummy = tuple(zeros_like(x).requires_grad_(True) for x in inputs)
            grad_jac = _grad(jac, inputs, dummy, create_graph=True)
            _fill_zeros(grad_jac, inputs, strict, create_graph, "double_back")
            with grad_mode.set_grad_enabled(enable):
                grads = _grad(grad_jac, dummy, v, create_graph=create_graph)
                res = _fill_zeros(grads, inputs, strict, create_graph, "double_back_trick")
    return (_finish(outputs, create_graph)[0], _shape_like(in_tuple, _finish(res, create_graph)))
