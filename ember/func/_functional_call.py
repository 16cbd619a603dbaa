"""functional_call and stack_module_state: a module as a pure function of its tensors.

With ``functional_call(model, params, x)`` a model's output becomes a function of a
dict of tensors, so ``grad`` can differentiate it with respect to that dict and ``vmap``
can map it over stacked copies of it (model ensembling: ``stack_module_state`` stacks
the parameters of several models of one architecture along a new leading dimension).
"""
from collections.abc import Sequence

from .._ops.joining import stack
from ..nn.utils.stateless import _functional_call

__all__ = ["functional_call", "stack_module_state"]


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with the module's parameters and buffers replaced by the
    tensors given, by dotted name (``{"0.weight": w}``), for the duration of the call.

    `parameter_and_buffer_dicts` is one dict or a sequence of dicts (e.g. ``(params,
    buffers)``) whose keys must not repeat. Names not given keep the module's own tensors
    (unless `strict`, which requires exactly the module's names). With `tie_weights`, a
    value given for one name of a tied tensor (two attributes holding one Parameter) is
    used for all its names. The module's own tensors come back afterwards, also when
    forward raises; a slot that forward reassigns passes its new value into the dict.
    A non-tuple `args` is the single positional argument.
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        merged = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        counts = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             f"functional call is ambiguous")
        merged = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts)}")
    return _functional_call(module, merged, args, kwargs, tie_weights=tie_weights, strict=strict)


def stack_module_state(models):
    """(params, buffers): for each name, the tensors of all `models` stacked along a new
    dimension 0. Stacked parameters are new leaves that require grad when the models'
    parameters do; the models must share class and training mode."""
    models = list(models)
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    params = {k: _stacked_leaf([p[k] for p in all_params], k) for k in all_params[0]}
    buffers = {k: _stacked_leaf([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers


def _stacked_leaf(tensors, name):
    flags = {t.requires_grad for t in tensors}
    if len(flags) != 1:
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    result = stack(tensors)
    if flags == {True}:
        result = result.detach().requires_grad_()
    return result
