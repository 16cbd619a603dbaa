"""``custom_op``: an operator made from a type-annotated Python function
(``CustomOpDef``), with its kernels by device type and its ``register_*`` methods."""
import contextlib

from .._tensor import Tensor
from ..autograd import grad_mode
from ._autograd import _autograd_kernel
from ._dispatch import _device_types, _tensors
from ._fake import _with_fake_ctx
from ._infer_schema import infer_schema
from ._libraries import Library
from ._operators import _lookup
from ._registry import _DEVICE_KEYS, _check_autocast_device, _opdef, parse_namespace
from ._tags import Tag


class CustomOpDef:
    """An operator made by `custom_op`: callable like its function; ``register_*`` add
    kernels and rules (``torch._library.custom_ops.CustomOpDef``)."""

    def __init__(self, namespace, name, schema, fn, mutates_args):
        self._namespace = namespace
        self._name = name
        self._qualname = f"{namespace}::{name}"
        self._schema = schema
        self._init_fn = fn
        self._mutates = mutates_args
        self._backend_fns = {}    # device type (None: every device) -> fn
        self._abstract_fn = None
        self._backward_fn = self._setup_context_fn = None
        self._vmap_fn = None
        self._autocast = {}
        self._disabled_kernel = set()
        # a fresh FRAGMENT library owns the definition: making the op again replaces it
        old = _CUSTOM_OPS.get(self._qualname)
        if old is not None:
            old._lib._destroy()
        self._lib = Library(namespace, "FRAGMENT")
        self._lib.define(name + schema, tags=())
        self._entry = _opdef(self._qualname, "default")
        self._entry.custom = self
        self._lib.impl(name, self._backend_kernel, "CompositeExplicitAutograd")
        if not self._entry.schema.is_mutable:   # (a mutating op's kernel runs as is)
            self._lib.impl(name, _autograd_kernel(self._entry, None, None, custom=self),
                           "Autograd")
        self.__name__ = name
        self.__doc__ = fn.__doc__
        self.__module__ = getattr(fn, "__module__", None)
        _CUSTOM_OPS[self._qualname] = self

    def __repr__(self):
        return f"<CustomOpDef({self._qualname})>"

    @property
    def _opoverload(self):
        return _lookup(self._qualname)

    def __call__(self, *args, **kwargs):
        return self._opoverload(*args, **kwargs)

    # ------------------------------------------------------------- registrations

    def register_kernel(self, device_types, fn=None, /):
        """`fn` runs the op for inputs on `device_types` ("cpu", "cuda", a list; None:
        every device)."""
        def register(kernel):
            types = [device_types] if device_types is None or isinstance(device_types, str) \
                else list(device_types)
            for dt in types:
                if dt is not None and dt not in _DEVICE_KEYS:
                    raise RuntimeError(f"register_kernel: unknown device type {dt!r}")
                self._backend_fns[dt] = kernel
            return kernel
        return register if fn is None else register(fn)

    def register_fake(self, fn=None, /):
        """fn(*args, **kwargs) returns outputs of the right shape/dtype/device, reading no
        data (it runs on meta tensors)."""
        def register(fake):
            self._abstract_fn = fake
            previous = self._entry.fake
            self._entry.fake = (id(self._lib), fake)
            self._lib._registrations.append(("fake", self._entry, previous))
            return fake
        return register if fn is None else register(fn)

    def register_autograd(self, backward, /, *, setup_context=None):
        """backward(ctx, *grads) -> one gradient (or None) per positional input;
        setup_context(ctx, inputs, output) (with keyword_only_inputs before output when
        the op has keyword-only arguments) saves what backward needs."""
        if self._entry.schema.is_mutable:
            raise RuntimeError(f"Cannot register autograd formula for non-functional operator "
                               f"{self} with schema {self._entry.schema}. Please create a "
                               f"functional operator and register an autograd formula for "
                               f"that.")
        self._backward_fn, self._setup_context_fn = backward, setup_context
        self._lib.impl(self._name, _autograd_kernel(self._entry, backward, setup_context,
                                                    custom=self), "Autograd")

    def register_torch_dispatch(self, torch_dispatch_class, fn=None, /):
        def register(rule):
            self._lib._register_torch_dispatch_rule(self._name, torch_dispatch_class, rule)
            return rule
        return register if fn is None else register(fn)

    def register_vmap(self, fn=None, /):
        """Kept for PyTorch programs; ember's vmap runs the op slice by slice."""
        def register(rule):
            self._vmap_fn = self._entry.vmap = rule
            return rule
        return register if fn is None else register(fn)

    def register_autocast(self, device_type, cast_inputs):
        _check_autocast_device(device_type)
        self._entry.autocast[device_type] = cast_inputs

    @contextlib.contextmanager
    def set_kernel_enabled(self, device_type, enabled=True):
        """Within the block, the kernel of `device_type` is (not) used."""
        was = device_type not in self._disabled_kernel
        if enabled:
            self._disabled_kernel.discard(device_type)
        else:
            self._disabled_kernel.add(device_type)
        try:
            yield
        finally:
            if was:
                self._disabled_kernel.discard(device_type)
            else:
                self._disabled_kernel.add(device_type)

    # ------------------------------------------------------------- running

    def _backend_kernel(self, *args, **kwargs):
        pos, kw = self._entry.schema.bind(args, kwargs)
        return self._run_backend(pos, kw)

    def _run_backend(self, pos, kw):
        """The kernel for the inputs' device, on detached inputs with grad mode off; the
        versions of the mutated tensors bumped; outputs checked not to alias inputs."""
        tensors = list(_tensors(pos + list(kw.values())))
        device_type = _device_types(tensors)
        if device_type == "meta":
            if self._abstract_fn is None:
                return _backend_missing_fake(self)
            fn = _with_fake_ctx(self._abstract_fn)
        else:
            fn = self._backend_fns.get(device_type)
            if device_type in self._disabled_kernel:
                fn = None
            if fn is None:
                fn = self._backend_fns.get(None)
            if fn is None:
                raise NotImplementedError(
                    f"{self._qualname}: when calling this custom op with a tensor on device "
                    f"'{device_type}', there was no implementation registered for that "
                    f"device type (registered: {sorted(k for k in self._backend_fns if k)}). "
                    f"Please use register_kernel to add one.")

        originals = {}   # id(detached input) -> the input (an in-place op returns it)

        def plain(v):
            if isinstance(v, Tensor):
                d = v.detach()
                originals[id(d)] = v
                return d
            if isinstance(v, (list, tuple)):
                return type(v)(plain(e) for e in v)
            return v
        with grad_mode.no_grad():
            out = fn(*[plain(v) for v in pos], **{k: plain(v) for k, v in kw.items()})
        if isinstance(out, Tensor) and id(out) in originals:
            out = originals[id(out)]
        elif isinstance(out, tuple) and any(id(o) in originals for o in out):
            out = tuple(originals.get(id(o), o) for o in out)
        if device_type == "meta":
            return out
        for a, v in zip(self._entry.schema.arguments, pos + [kw[k] for k in kw]):
            if a.is_write:
                for t in _tensors([v]):
                    t._bump_version()
        if not any(r.alias_info is not None for r in self._entry.schema.returns):
            _check_no_alias(self, tensors, out)
        return out


def _backend_missing_fake(op):
    raise RuntimeError(f"There was no fake impl registered for {op}. This is necessary for "
                       f"torch.compile/export/fx tracing to work. Please use "
                       f"`{op._init_fn.__name__}.register_fake` to add an fake impl.")


def _check_no_alias(op, inputs, out):
    outs = list(_tensors(out if isinstance(out, (list, tuple)) else [out]))
    seen = []
    for o in outs:
        if any(_shares(o, t) for t in list(inputs) + seen):
            raise RuntimeError(
                f"{op._name} (with implementation in {op._init_fn.__module__}): The output "
                f"of this custom operator (1) must not also be an input to this custom "
                f"operator and (2) may not alias any inputs to this custom operator or other "
                f"returns. The most common way to trigger this error is if we have y = "
                f"custom_op(x) and y and x are the same Tensor. Please instead return a "
                f"clone of the offending output tensor(s) (e.g. return x.clone()) or refactor "
                f"the custom operator to not return y.")
        seen.append(o)


def _shares(a, b):
    if a is b:
        return True
    try:
        import numpy as np
        da, db = a._data, b._data
        if isinstance(da, np.ndarray) and isinstance(db, np.ndarray):
            return da.size > 0 and db.size > 0 and np.may_share_memory(da, db)
    except Exception:
        return False
    return False


_CUSTOM_OPS = {}   # "ns::name" -> CustomOpDef


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None, tags=None):
    """Wrap `fn` into the operator `name` ("namespace::name"); a decorator when fn is not
    given. `mutates_args`: the names of the tensor arguments fn writes in place, or
    "unknown". The schema is inferred from fn's annotations unless given."""
    namespace, opname = parse_namespace(name)

    all_tags = (tags,) if isinstance(tags, Tag) else tuple(tags or ())

    def wrap(func):
        if schema is None:
            text = infer_schema(func, mutates_args=mutates_args)
            if Tag.inplace in all_tags:
                text = _inplace_schema(func, text, mutates_args)
            elif Tag.out in all_tags:
                text = _out_schema(func, text, mutates_args)
        else:
            text = schema
        op = CustomOpDef(namespace, opname, text, func, mutates_args)
        op.register_kernel(device_types)(func)
        op._entry.tags = (Tag.pt2_compliant_tag,) + tuple(
            t for t in all_tags if t != Tag.pt2_compliant_tag)
        return op
    return wrap if fn is None else wrap(fn)


def _inplace_schema(func, text, mutates_args):
    """An in-place op (Tag.inplace) returns its first argument, which it writes: the
    return is annotated as that argument's alias (``-> Tensor(a0!)``)."""
    import inspect
    params = list(inspect.signature(func).parameters)
    if not params or isinstance(mutates_args, str) or set(mutates_args) != {params[0]}:
        raise ValueError(f"infer_schema(func): torch.Tag.inplace requires mutates_args to "
                         f"contain exactly the first positional argument, got "
                         f"{tuple(mutates_args)}. Got func with signature "
                         f"{inspect.signature(func)})")
    head, arrow, ret = text.rpartition(" -> ")
    if ret != "Tensor":
        raise ValueError(f"infer_schema(func): torch.Tag.inplace requires the op to return "
                         f"one Tensor (its first argument), got {ret}")
    return head + arrow + "Tensor(a0!)"


def _out_schema(func, text, mutates_args):
    """An out= op (Tag.out) returns its keyword-only out tensors, which it writes: each
    return is annotated as the alias of the matching one (``-> Tensor(a1!)``)."""
    import inspect
    params = inspect.signature(func).parameters
    outs = [(i, name) for i, (name, p) in enumerate(params.items())
            if p.kind == p.KEYWORD_ONLY and name in set(mutates_args)]
    head, arrow, ret = text.rpartition(" -> ")
    rets = ret[1:-1].split(", ") if ret.startswith("(") else [ret]
    if not outs or len(outs) != len(rets) or any(r != "Tensor" for r in rets):
        raise ValueError(f"infer_schema(func): torch.Tag.out requires the op to return its "
                         f"keyword-only mutated (out) arguments, one Tensor each. Got func "
                         f"with signature {inspect.signature(func)})")
    annotated = [f"Tensor(a{i}!)" for i, _ in outs]
    return head + arrow + (annotated[0] if len(annotated) == 1 and not ret.startswith("(")
                           else "(" + ", ".join(annotated) + ")")
