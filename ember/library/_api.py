"""The module-level registration functions of ``torch.library`` (define, impl,
register_kernel/fake/autograd/torch_dispatch/vmap/autocast, get_kernel ...): each takes an
operator by name, OpOverload or CustomOpDef and registers through a Library."""
import functools

from ._autograd import _autograd_kernel
from ._custom_ops import _CUSTOM_OPS, CustomOpDef
from ._dispatch import _backend_kernel
from ._libraries import Library, _fragment
from ._operators import OpOverload, _lookup
from ._registry import (_DEVICE_KEYS, _DISPATCH_KEYS, _check_autocast_device, _defined,
                        _split_name, parse_namespace)
from ._tags import Tag


def _resolve_op(op, api):
    """A CustomOpDef, or the _OpDef of an "ns::name[.overload]" / OpOverload."""
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, OpOverload):
        op = op._entry.name
    if not isinstance(op, str):
        raise ValueError(f"{api}({op}): got unexpected type for op: {type(op)}")
    if op in _CUSTOM_OPS and _CUSTOM_OPS[op]._entry.schema is not None:
        return _CUSTOM_OPS[op]
    return op


def _resolve_entry(qualname, api):
    namespace, name = parse_namespace(qualname)
    base, overload = _split_name(name)
    entry = _defined(f"{namespace}::{base}").get(overload)
    if entry is None:
        raise ValueError(f"{api}({qualname}): could not find the operator {qualname}; did you "
                         f"define it (ember.library.define or Library.define)?")
    return entry


def define(qualname, schema, *, lib=None, tags=()):
    """Define the operator `qualname` ("ns::name") with `schema` ("(Tensor x) -> Tensor").

    The old form ``define(lib, schema, alias_analysis="")`` is a decorator defining the
    operator and registering the decorated function as its kernel."""
    if isinstance(qualname, Library):
        library, text = qualname, schema

        def wrap(f):
            name = library.define(text, tags if isinstance(tags, str) and tags else "")
            library.impl(name, f)
            return f
        return wrap
    if not isinstance(qualname, str):
        raise ValueError(f"define(qualname, schema): expected qualname to be instance of "
                         f"str, got {type(qualname)}")
    namespace, name = parse_namespace(qualname)
    lib = _fragment(namespace, lib)
    if not (isinstance(schema, str) and schema.lstrip().startswith("(") and "->" in schema):
        raise ValueError(f'define(qualname, schema, ...): expected schema to look like e.g. '
                         f'"(Tensor x) -> Tensor" but got "{schema}"')
    lib.define(name + schema, alias_analysis="", tags=tags)


def impl(qualname, types, func=None, *, lib=None):
    """Register `func` as the kernel of `qualname` for the device types `types` ("cpu",
    "cuda", "default": all) or dispatch keys; a decorator when func is not given.

    The old form ``impl(lib, name, dispatch_key="")`` is a decorator too."""
    if isinstance(qualname, Library):
        library, name, key = qualname, types, func if isinstance(func, str) else ""

        def wrap_lib(f):
            library.impl(name, f, key)
            return f
        return wrap_lib
    return _impl(qualname, types, func, lib=lib)


def _impl(qualname, types, func=None, *, lib=None):
    if isinstance(types, str):
        types = (types,)
    keys = []
    for typ in types:
        if typ in _DISPATCH_KEYS:
            keys.append(typ)
        elif typ in _DEVICE_KEYS:
            keys.append(_DEVICE_KEYS[typ])
        else:
            raise RuntimeError(f"Expected one of cpu, cuda, xpu, mtia, xla, meta, mps, hpu, "
                               f"... device type at start of device string: {typ}")

    def register(f):
        namespace, _ = parse_namespace(qualname)
        use = _fragment(namespace, lib)
        for key in keys:
            use.impl(qualname, f, key)
        return None
    if func is None:
        return register
    register(func)
    return None


def register_kernel(op, device_types, func=None, /, *, lib=None):
    """Register `func` as the kernel of `op` for `device_types` (None: every device)."""
    op = _resolve_op(op, "register_kernel")
    if isinstance(op, CustomOpDef):
        return op.register_kernel(device_types, func)
    if device_types is None:
        device_types = "CompositeExplicitAutograd"
    return _impl(op, device_types, func, lib=lib)


def register_fake(op, func=None, /, *, lib=None, _stacklevel=1, allow_override=True):
    """Register the fake kernel of `op`: given inputs without data (meta tensors), it
    returns outputs of the right shape, dtype and device."""
    op = _resolve_op(op, "register_fake")
    if isinstance(op, CustomOpDef):
        return op.register_fake if func is None else op.register_fake(func)

    def register(f):
        namespace, name = parse_namespace(op)
        _fragment(namespace, lib)._register_fake(name, f, allow_override=allow_override)
        return f
    return register if func is None else register(func)


def impl_abstract(qualname, func=None, *, lib=None, _stacklevel=1):
    """The old name of `register_fake`."""
    import warnings
    warnings.warn("`torch.library.impl_abstract` was renamed to `torch.library.register_fake`. "
                  "Please use that instead; we will remove `torch.library.impl_abstract` in a "
                  "future version of PyTorch.", FutureWarning, stacklevel=2)
    return register_fake(qualname, func, lib=lib)


def register_autograd(op, backward, /, *, setup_context=None, lib=None):
    """Register the backward formula of `op`: ``backward(ctx, *grads)`` returns one
    gradient per positional input; ``setup_context(ctx, inputs, output)`` saves what it
    needs."""
    op = _resolve_op(op, "register_autograd")
    if isinstance(op, CustomOpDef):
        op.register_autograd(backward, setup_context=setup_context)
        return
    entry = _resolve_entry(op, "register_autograd")
    schema = entry.schema
    if Tag.out in entry.tags:
        raise RuntimeError(f"Cannot register autograd formula for operator tagged with "
                           f"torch.Tag.out: {_lookup(op)}. Out variants do not support "
                           f"autograd.")
    if schema.is_mutable or any(r.alias_info is not None for r in schema.returns):
        raise RuntimeError(f"Cannot register autograd formula for non-functional operator "
                           f"{_lookup(op)} with schema {schema}. Please create a functional "
                           f"operator and register an autograd formula for that.")
    if any(a.kwarg_only and a.type.is_tensor_like() for a in schema.arguments):
        raise NotImplementedError(f"register_autograd with kwarg-only Tensor args. In the "
                                  f"original definition of the op, please make your tensors "
                                  f"not kwarg-only. Got: {schema}")
    namespace, name = parse_namespace(op)
    _fragment(namespace, lib).impl(name, _autograd_kernel(entry, backward, setup_context),
                                   "Autograd")


def register_torch_dispatch(op, torch_dispatch_class, func=None, /, *, lib=None):
    """Register how `torch_dispatch_class` (a TorchDispatchMode or a tensor subclass with
    __torch_dispatch__) runs `op`: ``func(mode_or_cls, func, types, args, kwargs)``."""
    op = _resolve_op(op, "register_torch_dispatch")
    if isinstance(op, CustomOpDef):
        return op.register_torch_dispatch(torch_dispatch_class, func)

    def register(f):
        namespace, name = parse_namespace(op)
        _fragment(namespace, lib)._register_torch_dispatch_rule(name, torch_dispatch_class, f)
        return f
    return register if func is None else register(func)


def register_vmap(op, func=None, /, *, lib=None):
    """Register `op`'s batching rule ``func(info, in_dims, *args)``. ember keeps it, but
    its vmap runs a custom operator slice by slice (the results agree with the rule's)."""
    op = _resolve_op(op, "register_vmap")
    if isinstance(op, CustomOpDef):
        return op.register_vmap(func)
    entry = _resolve_entry(op, "register_vmap")
    if any(a.kwarg_only and a.type.is_tensor_like() for a in entry.schema.arguments):
        raise NotImplementedError(f"register_vmap with kwarg-only Tensor args. In the original "
                                  f"definition of the op, please make your tensors not "
                                  f"kwarg-only. Got: {entry.schema}")

    def register(f):
        entry.vmap = f
        return f
    return register if func is None else register(func)


def register_autocast(op, device_type, cast_inputs, /, *, lib=None):
    """While autocast is on for `device_type`, `op` casts its floating-point tensor
    inputs to `cast_inputs` and runs with autocast off."""
    op = _resolve_op(op, "register_autocast")
    _check_autocast_device(device_type)
    if isinstance(op, CustomOpDef):
        return op.register_autocast(device_type, cast_inputs)
    _resolve_entry(op, "register_autocast").autocast[device_type] = cast_inputs


def triton_op(name, fn=None, /, *, mutates_args, schema=None):
    """PyTorch's custom operator made of Triton kernels: ember has no Triton."""
    raise NotImplementedError("ember.library.triton_op: ember cannot run Triton kernels; "
                              "write the operator with custom_op and ember's ops instead")


def wrap_triton(triton_kernel, /):
    """PyTorch's handle for calling a Triton kernel inside triton_op: ember has no Triton."""
    raise NotImplementedError("ember.library.wrap_triton: ember cannot run Triton kernels")


def get_kernel(op, dispatch_key):
    """The kernel registered for `op` at `dispatch_key` (a callable running it)."""
    if isinstance(op, CustomOpDef):
        op = op._opoverload
    if isinstance(op, str):
        op = _lookup(op)
    if not isinstance(op, OpOverload):
        raise ValueError(f"get_kernel: expected an OpOverload or a qualified name, got {op!r}")
    key = str(dispatch_key).split(".")[-1]
    entry = op._entry
    fn = entry.kernel(key)
    if fn is None and key in ("CPU", "CUDA", "Meta"):
        fn = _backend_kernel(entry, key.lower())
    if fn is None:
        raise RuntimeError(f"{entry.name} has kernels for {sorted(entry.kernels)} but not for "
                           f"{key}")
    if entry.custom is not None and fn is entry.custom._backend_kernel:
        return fn
    return functools.partial(lambda f, *a, **k: f(*a, **k), fn)
