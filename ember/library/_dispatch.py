"""Calling an operator: the walk over PyTorch's dispatch keys that ember does in Python
(the order is described in ember/library/__init__.py): __torch_dispatch__ handlers,
autocast, autograd kernels, then the backend kernel of the tensors' device."""
import sys

from .._tensor import Tensor
from ..autograd import grad_mode
from ._fake import _with_fake_ctx
from ._registry import _DEVICE_KEYS


def _tensors(values):
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tensors(v)


def _device_types(tensors):
    types = {t.device.type for t in tensors}
    for dt in ("meta", "cuda", "cpu"):
        if dt in types:
            return dt
    return next(iter(types), "cpu")


def _trim(entry, pos, kw):
    """The arguments a Python kernel receives: positional ones without trailing defaults,
    keyword-only ones that differ from their defaults (PyTorch's conversion back to
    Python)."""
    positional = [a for a in entry.schema.arguments if not a.kwarg_only]
    n = len(pos)
    while n and positional[n - 1].has_default and _same(pos[n - 1],
                                                         positional[n - 1].default_value):
        n -= 1
    keywords = {a.name: kw[a.name] for a in entry.schema.arguments if a.kwarg_only
                and not (a.has_default and _same(kw[a.name], a.default_value))}
    return list(pos[:n]), keywords


def _same(a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return False
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _dispatch(op, args, kwargs):
    entry = op._entry
    if entry.schema is None:
        raise RuntimeError(f"{entry.name}: the operator is not defined")
    pos, kw = entry.schema.bind(args, kwargs)
    tensors = list(_tensors(pos + list(kw.values())))
    handled, out = _try_torch_dispatch(op, entry, tensors, pos, kw)
    if handled:
        return out
    device_type = _device_types(tensors)
    if entry.autocast and device_type in entry.autocast:
        from .. import _autocast
        if _autocast.is_autocast_enabled(device_type):
            return _run_autocast(op, entry, device_type, pos, kw)
    if grad_mode.is_grad_enabled() and any(t.requires_grad for t in tensors):
        for key in (f"Autograd{_DEVICE_KEYS.get(device_type, '')}", "Autograd"):
            fn = entry.kernel(key)
            if fn is not None:
                return _call_kernel(entry, fn, pos, kw)
    return _backend(entry, device_type, pos, kw)


def _backend_kernel(entry, device_type):
    """The kernel for tensors of `device_type`: its key's, then (meta tensors) the fake
    kernel, which PyTorch registers at the Meta key, then the composite ones."""
    key = _DEVICE_KEYS.get(device_type, device_type)
    fn = entry.kernel(key)
    if fn is not None:
        return fn
    if device_type == "meta" and entry.fake is not None:
        return _with_fake_ctx(entry.fake[1])
    for k in ("CompositeExplicitAutograd", "CompositeImplicitAutograd"):
        fn = entry.kernel(k)
        if fn is not None:
            return fn
    return None


def _backend(entry, device_type, pos, kw):
    fn = _backend_kernel(entry, device_type)
    if fn is None:
        if device_type == "meta":
            raise NotImplementedError(
                f"{entry.qualname}: attempted to run this operator with Meta tensors, but "
                f"there was no fake impl or Meta kernel registered. You may have run into "
                f"this message while using an operator with PT2 compilation APIs "
                f"(torch.compile/torch.export); in order to use this operator with those APIs "
                f"you'll need to add a fake impl. Please see the following for next steps:  "
                f"https://pytorch.org/tutorials/advanced/custom_ops_landing_page.html")
        raise NotImplementedError(
            f"Could not run '{entry.qualname}' with arguments from the "
            f"'{_DEVICE_KEYS.get(device_type, device_type)}' backend. This could be because "
            f"the operator doesn't exist for this backend (registered keys: "
            f"{sorted(entry.kernels)}).")
    return _call_kernel(entry, fn, pos, kw)


def _call_kernel(entry, fn, pos, kw):
    args, kwargs = _trim(entry, pos, kw)
    out = fn(*args, **kwargs)
    if not entry.schema.returns and out is not None:
        raise RuntimeError(f"Expected PythonKernelHolder for {entry.qualname} to return None "
                           f"but it returned something else instead.")
    return out


def _try_torch_dispatch(op, entry, tensors, pos, kw):
    """(True, result) when a __torch_dispatch__ mode or subclass handles the call. An op
    that runs a CompositeImplicitAutograd kernel decomposes first, as in PyTorch: the
    handlers see the ops of its kernel instead."""
    pd = sys.modules.get("ember.utils._python_dispatch")
    if pd is None or pd._DISABLED[0]:
        return False, None
    if _decomposes(entry, _device_types(tensors)):
        return False, None
    args, kwargs = tuple(pos), dict(kw)
    types = tuple({type(t): None for t in tensors if type(t) is not Tensor})
    if pd._MODES:
        mode = pd._MODES[-1]
        with pd._pop_mode_temporarily():
            rule = entry.dispatch_rules.get(type(mode))
            if rule is not None:
                return True, rule(mode, op, types, args, kwargs)
            out = mode.__torch_dispatch__(op, types, args, kwargs)
        if out is not NotImplemented:
            return True, out
    for cls in types:
        rule = entry.dispatch_rules.get(cls)
        if rule is not None:
            return True, rule(cls, op, types, args, kwargs)
        if pd._overrides_dispatch(cls):
            out = cls.__torch_dispatch__(op, types, args, kwargs)
            if out is not NotImplemented:
                return True, out
    return False, None


def _decomposes(entry, device_type):
    """Whether the call runs the CompositeImplicitAutograd kernel (no other applies)."""
    implicit = entry.kernel("CompositeImplicitAutograd")
    if implicit is None:
        return False
    keys = (_DEVICE_KEYS.get(device_type, device_type), "CompositeExplicitAutograd",
            "Autograd", f"Autograd{_DEVICE_KEYS.get(device_type, '')}")
    return not any(entry.has_kernel(k) for k in keys)


def _run_autocast(op, entry, device_type, pos, kw):
    """Floating-point tensors cast to the registered dtype; the op then runs with
    autocast off (``register_autocast``)."""
    from ..amp import autocast
    dtype = entry.autocast[device_type]

    def cast(v):
        if isinstance(v, Tensor) and v.dtype.is_floating_point and v.device.type == device_type:
            return v.to(dtype)
        if isinstance(v, (list, tuple)):
            return type(v)(cast(e) for e in v)
        return v
    with autocast(device_type, enabled=False):
        return op(*[cast(v) for v in pos], **{k: cast(v) for k, v in kw.items()})
