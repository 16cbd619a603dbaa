"""Calling a module with other tensors in place of its parameters and buffers
(``torch.nn.utils.stateless``).

``functional_call(module, {"fc.weight": w, ...}, args)`` runs ``module(*args)`` as if
``module.fc.weight`` were ``w``: the tensors are swapped into the module's slots for the
call and the originals put back afterwards, also when forward raises. The module is
thus a pure function of (parameters, buffers, inputs), which ember.func's transforms
(grad, vmap) need. ``ember.func.functional_call`` is the public entry point; the
function here is its deprecated alias, as in PyTorch.
"""
import contextlib
import warnings

from ..._tensor import Tensor

__all__ = ["functional_call"]

# marks a name that had no attribute before the swap (restoring it deletes the attribute)
_MISSING = object()


def _owner(module, name):
    """(submodule, attribute) of a dotted name: "layer1.0.weight" -> (layer1[0], "weight")."""
    path, _, attr = name.rpartition(".")
    owner = module
    if path:
        for part in path.split("."):
            try:
                owner = getattr(owner, part)
            except AttributeError:
                raise AttributeError(f"{owner._get_name()} has no attribute `{part}`") from None
    return owner, attr


def _swap(module, name, value):
    """Put `value` (a Tensor, None or _MISSING) in the slot `name` of `module`; returns what
    was there. Parameters and buffers are replaced in their dicts directly: a plain tensor
    may stand in for a Parameter, which `setattr` would refuse."""
    owner, attr = _owner(module, name)
    for store in (owner._parameters, owner._buffers):
        if attr in store:
            old = store[attr]
            if value is _MISSING:
                del store[attr]
            else:
                store[attr] = value
            return old
    old = getattr(owner, attr, _MISSING)
    if old is not _MISSING and old is not None and not isinstance(old, Tensor):
        raise TypeError(f"attribute `{attr}`: {old} is not an instance of torch.Tensor")
    if value is not _MISSING:
        setattr(owner, attr, value)
    elif old is not _MISSING:
        delattr(owner, attr)
    return old


def _named_tensors(module):
    """Every parameter and buffer name of `module`, tied names included, with its tensor."""
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untie(module, values):
    """`values` extended to every name tied to a given one (two names of one Parameter get
    the same replacement). Different values for names of one tied tensor are an error."""
    names_of = {}
    for name, t in _named_tensors(module).items():
        names_of.setdefault(id(t), set()).add(name)
    untied = dict(values)
    for tied in names_of.values():
        given = tied.intersection(values)
        if len(tied) < 2 or not given:
            continue
        if len({id(values[n]) for n in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(tied)}, "
                             f"which are tied. Consider using tie_weights=False")
        value = values[next(iter(given))]
        for n in tied:
            untied[n] = value
    return untied


def _check_keys(module, values):
    """strict=True: the names given must be exactly the module's parameters and buffers."""
    valid = set(_named_tensors(module))
    missing = sorted(valid - set(values))
    unexpected = sorted(set(values) - valid)
    msgs = []
    if unexpected:
        msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if msgs:
        raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t"
                           + "\n\t".join(msgs))


@contextlib.contextmanager
def _reparametrize_module(module, parameters_and_buffers, tie_weights=False, strict=False):
    """Within the block, `module`'s slots hold the given tensors. On exit the originals come
    back; a slot the forward pass reassigned (``self.steps = self.steps + 1``) hands its new
    value to `parameters_and_buffers`, so state updates reach the caller's dict."""
    values = _untie(module, parameters_and_buffers) if tie_weights else parameters_and_buffers
    if strict:
        _check_keys(module, values)
    originals = {}
    try:
        for name, value in values.items():
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{value} is not an instance of torch.Tensor")
            originals[name] = _swap(module, name, value)
        yield
    finally:
        current = {}
        for name in reversed(list(originals)):
            current[name] = _swap(module, name, originals[name])
        parameters_and_buffers.update({k: current[k] for k in parameters_and_buffers
                                       if k in current and current[k] is not _MISSING})


def _functional_call(module, parameters_and_buffers, args=None, kwargs=None, *,
                     tie_weights=True, strict=False):
    """module(*args, **kwargs) with `parameters_and_buffers` (name -> Tensor) in place of
    the module's own tensors; a non-tuple `args` is the single positional argument."""
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights,
                               strict=strict):
        return module(*args, **kwargs)


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """Deprecated alias of :func:`ember.func.functional_call` (one dict of tensors)."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs,
                            tie_weights=tie_weights, strict=strict)
