"""ember.library (``torch.library``): new operators from Python.

Two front ends build the same thing, an operator (``ember.ops.<ns>.<name>.<overload>``)
with a schema and kernels registered under PyTorch's dispatch keys:

    lib = ember.library.Library("mylib", "FRAGMENT")      # the low-level API
    lib.define("foo(Tensor x, int n, *, float alpha=1.0) -> Tensor")
    lib.impl("foo", foo_cpu, "CPU")
    ember.ops.mylib.foo(x, 2, alpha=0.5)

    @ember.library.custom_op("mylib::crop", mutates_args=())   # the high-level API
    def crop(pic: Tensor, box: Sequence[int]) -> Tensor: ...
    crop.register_fake(fn); crop.register_autograd(backward, setup_context=...)

ember has no C++ dispatcher; calling an operator walks PyTorch's order of keys in Python
(`_dispatch`):

1. a ``__torch_dispatch__`` mode that is active, or a tensor subclass argument with a
   handler, gets the call (a rule registered with `register_torch_dispatch` first);
2. autocast: a rule from `register_autocast` casts floating inputs while autocast is on;
3. autograd, when grad mode is on and a tensor argument requires grad: the kernel at
   ``AutogradCPU``/``AutogradCUDA``/``Autograd`` (`register_autograd` puts one there that
   runs an autograd.Function whose backward is the registered formula), else a
   ``CompositeImplicitAutograd`` kernel, whose own ops record the graph; else the backend
   kernel runs with grad mode on (PyTorch's "warn" fallback: its ops record the graph);
4. the backend kernel: ``CPU``/``CUDA``/``Meta`` by the tensors' device (``Meta`` falls
   back to the fake kernel of `register_fake`), then ``CompositeExplicitAutograd``, then
   ``CompositeImplicitAutograd``.

Arguments are checked against the schema and reach a kernel as PyTorch passes them:
positional as given (trailing defaults not filled in), keyword-only as keywords.
`custom_op` infers the schema from the annotations, registers its function for the
device types given (all when None), and an autograd kernel whose backward raises until
`register_autograd` gives a formula; its kernels see detached inputs under no_grad, and
the tensors named in `mutates_args` get their version bumped after the call.

Not built (ember has no dispatcher to serve them): overriding the kernels of ember's
built-in operators (``Library("aten", "IMPL").impl(...)``), ``Library.fallback``,
``with_keyset=True`` kernels; `register_vmap` rules are kept but ember's vmap runs a
custom operator slice by slice; `triton_op`/`wrap_triton` raise (no Triton); `opcheck`
replaces ``test_aot_dispatch_*`` (which need torch.compile) by running the operator and
its backward eagerly.
"""
import contextlib
import functools
import sys
import weakref

from . import autograd, _torch_function
from ._tensor import Tensor
from .autograd import grad_mode
from ._library_schema import FunctionSchema, parse_schema, infer_schema
from ._ops import aten as _aten

__all__ = ["Library", "define", "impl", "fallthrough_kernel", "custom_op", "CustomOpDef",
           "register_fake", "register_autograd", "register_kernel", "register_autocast",
           "register_torch_dispatch", "register_vmap", "impl_abstract", "get_ctx",
           "get_kernel", "infer_schema", "opcheck", "OpCheckError", "triton_op",
           "wrap_triton"]

_reserved_namespaces = ["prim"]

# the dispatch keys a kernel may be registered at (PyTorch parses these names)
_DISPATCH_KEYS = frozenset((
    "CPU", "CUDA", "Meta", "XLA", "MPS", "XPU", "HPU", "IPU", "MTIA", "Lazy", "PrivateUse1",
    "QuantizedCPU", "QuantizedCUDA", "SparseCPU", "SparseCUDA", "SparseCsrCPU",
    "SparseCsrCUDA", "NestedTensorCPU", "NestedTensorCUDA",
    "CompositeImplicitAutograd", "CompositeExplicitAutograd",
    "CompositeExplicitAutogradNonFunctional", "CompositeImplicitAutogradNestedTensor",
    "Autograd", "AutogradCPU", "AutogradCUDA", "AutogradXLA", "AutogradMPS", "AutogradXPU",
    "AutogradMeta", "AutogradOther", "AutogradNestedTensor", "AutogradPrivateUse1",
    "AutocastCPU", "AutocastCUDA", "AutocastXPU", "AutocastMPS", "BackendSelect",
    "ADInplaceOrView", "Functionalize", "FuncTorchBatched", "FuncTorchDynamicLayerFrontMode",
    "Python", "PythonTLSSnapshot", "Conjugate", "Negative", "ZeroTensor", "FPGA", "MAIA",
    "Undefined"))

_DEVICE_KEYS = {"cpu": "CPU", "cuda": "CUDA", "meta": "Meta", "xla": "XLA", "mps": "MPS",
                "xpu": "XPU", "hpu": "HPU", "ipu": "IPU", "mtia": "MTIA", "lazy": "Lazy",
                "privateuseone": "PrivateUse1", "default": "CompositeExplicitAutograd"}


def fallthrough_kernel():
    """A dummy kernel: registered at a key, it makes the op skip that key (``Library.impl``
    with it leaves the key without a kernel)."""
    raise NotImplementedError("fallthrough_kernel() should never be called.")


# ------------------------------------------------------------------------------ registry

class _OpDef:
    """One operator overload: its schema, kernels by dispatch key (a stack of
    (library id, fn) per key: the newest registration wins, destroying its library
    uncovers the one before) and the rules of the other registration APIs."""

    def __init__(self, qualname, overload):
        self.qualname = qualname
        self.overload = overload
        self.schema = None
        self.tags = ()
        self.kernels = {}          # key -> [(lib id, fn)]
        self.fake = None           # (lib id, fn)
        self.dispatch_rules = {}   # torch_dispatch class -> fn
        self.autocast = {}         # device type -> dtype
        self.vmap = None
        self.custom = None         # the CustomOpDef, for ops made by custom_op

    def kernel(self, key):
        stack = self.kernels.get(key)
        return stack[-1][1] if stack else None

    def has_kernel(self, key):
        return bool(self.kernels.get(key))

    @property
    def name(self):
        return self.qualname + ("" if self.overload == "default" else "." + self.overload)


# "ns::name" -> {overload name: _OpDef}; an entry exists as soon as a kernel is registered
# (PyTorch allows impl before define), is callable once defined
_OPDEFS = {}
_DEF_LIBRARIES = {}   # namespace -> weakref to its live "DEF" Library
_KEEP_ALIVE = []      # the FRAGMENT libraries of the module-level functions


def _split_name(name):
    """"foo.out" -> ("foo", "out"); "foo" -> ("foo", "default")."""
    base, _, overload = name.partition(".")
    return base, overload or "default"


def _opdef(qualname, overload, create=False):
    table = _OPDEFS.get(qualname)
    if table is None:
        if not create:
            return None
        table = _OPDEFS[qualname] = {}
    entry = table.get(overload)
    if entry is None and create:
        entry = table[overload] = _OpDef(qualname, overload)
    return entry


def _defined(qualname):
    """The defined overloads of `qualname` (name -> _OpDef), in definition order."""
    table = _OPDEFS.get(qualname, {})
    return {k: v for k, v in table.items() if v.schema is not None}


def parse_namespace(qualname):
    """"ns::name" -> ("ns", "name"), with PyTorch's ValueError for anything else."""
    namespace, sep, name = qualname.partition("::") if isinstance(qualname, str) else \
        ("", "", "")
    if not sep or not namespace or not name or "::" in name:
        raise ValueError(f'Expected `qualname` to be of the form "namespace::name", but got '
                         f"{qualname}. The qualname passed to the torch.library APIs must "
                         f"consist of a namespace and a name, e.g. aten::sin")
    return namespace, name


class Library:
    """A set of registrations in namespace `ns` (``torch.library.Library``).

    kind "DEF" defines the namespace (one live DEF library per namespace), "FRAGMENT"
    adds operators to it (any number), "IMPL" only registers kernels. `dispatch_key` is
    the key `impl` uses when given none. Everything a Library registered is removed
    when it is garbage-collected (or `_destroy`-ed), as PyTorch's is."""

    def __init__(self, ns, kind, dispatch_key=""):
        if kind not in ("IMPL", "DEF", "FRAGMENT"):
            raise ValueError(f"Unsupported kind: {kind}")
        if ns in _reserved_namespaces and kind in ("DEF", "FRAGMENT"):
            raise ValueError(f"{ns} is a reserved namespace. Please try creating a library "
                             f"with another name.")
        if kind == "DEF":
            live = _DEF_LIBRARIES.get(ns)
            if live is not None and live() is not None:
                raise RuntimeError(
                    f"Only a single TORCH_LIBRARY can be used to register the namespace {ns}; "
                    f"please put all of your definitions in a single TORCH_LIBRARY block.  If "
                    f"you were trying to specify implementations, consider using "
                    f"TORCH_LIBRARY_IMPL (which can be duplicated).  If you really intended "
                    f"to define operators for a single namespace in a distributed way, you "
                    f"can use TORCH_LIBRARY_FRAGMENT to explicitly indicate this.")
            _DEF_LIBRARIES[ns] = weakref.ref(self)
        if dispatch_key and dispatch_key not in _DISPATCH_KEYS:
            raise RuntimeError(f"could not parse dispatch key: {dispatch_key}")
        self.ns = ns
        self.kind = kind
        self.dispatch_key = dispatch_key
        self._op_defs = set()
        self._op_impls = set()
        self._registrations = []   # what _destroy undoes: (kind, _OpDef, key or None)
        self._destroyed = False
        self._finalizer = weakref.finalize(self, _undo, id(self), self._registrations,
                                           ns if kind == "DEF" else None)

    def __repr__(self):
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"

    @property
    def m(self):
        """PyTorch's handle to the C++ library: None once the library is destroyed."""
        return None if self._destroyed else self

    def _check_alive(self):
        if self._destroyed:
            raise AssertionError("Library object has been destroyed")

    def define(self, schema, alias_analysis="", *, tags=()):
        """Define the operator `schema` ("name.overload(args) -> returns") in this
        namespace; returns its name."""
        if alias_analysis not in ("", "FROM_SCHEMA", "CONSERVATIVE"):
            raise RuntimeError(f"Invalid alias_analysis type {alias_analysis}")
        self._check_alive()
        if self.kind == "IMPL":
            raise RuntimeError(f"Cannot define an operator inside of a TORCH_LIBRARY_IMPL "
                               f"block.  All def() calls should be placed inside of a "
                               f"TORCH_LIBRARY block.  (Error occurred at schema {schema})")
        if isinstance(tags, Tag):
            tags = (tags,)
        parsed = parse_schema(schema, namespace=self.ns)
        if parsed.name.split("::")[0] != self.ns:
            raise RuntimeError(f"Explicitly provided namespace ({parsed.name.split('::')[0]}) "
                               f"in schema string does not match namespace of enclosing "
                               f"TORCH_LIBRARY block ({self.ns}).")
        overload = parsed.overload_name or "default"
        entry = _opdef(parsed.name, overload, create=True)
        if entry.schema is not None:
            raise RuntimeError(
                f"Tried to register an operator ({parsed}) with the same name and overload "
                f"name multiple times. Each overload's schema should only be registered with "
                f"a single call to def(). Duplicate registration: registered by "
                f"ember.library.Library.define. Original registration: registered by "
                f"ember.library.Library.define")
        if Tag.out in tags:
            _validate_out_schema(parsed)
        entry.schema = parsed
        entry.tags = tuple(tags)
        self._registrations.append(("def", entry, None))
        self._op_defs.add(parsed.name)
        return parsed.name.split("::")[1]

    def _resolve(self, op_name):
        if isinstance(op_name, _aten.OpOverload):
            op_name = op_name._name
        if isinstance(op_name, str):
            if "::" in op_name:
                namespace, op_name = parse_namespace(op_name)
            return _split_name(op_name)
        raise ValueError(f"impl should be passed either a name or an OpOverload object as the "
                         f"first argument, got {op_name!r}")

    def impl(self, op_name, fn, dispatch_key="", *, with_keyset=False, allow_override=True):
        """Register `fn` as the kernel of `op_name` ("name" or "name.overload") at
        `dispatch_key` (the library's key by default, else CompositeImplicitAutograd)."""
        if not callable(fn):
            raise TypeError(f"Input function is required to be a callable but found type "
                            f"{type(fn)}")
        self._check_alive()
        if dispatch_key == "":
            dispatch_key = self.dispatch_key or "CompositeImplicitAutograd"
        if dispatch_key not in _DISPATCH_KEYS:
            raise RuntimeError(f"could not parse dispatch key: {dispatch_key}")
        if with_keyset:
            raise NotImplementedError("ember.library: kernels taking a dispatch key set "
                                      "(with_keyset=True) are not supported: ember has no "
                                      "dispatcher to redispatch to")
        name, overload = self._resolve(op_name)
        qualname = f"{self.ns}::{name}"
        if self.ns in ("aten", "prim", "prims", "quantized"):
            raise NotImplementedError(f"ember.library: overriding the kernels of ember's "
                                      f"built-in operator {qualname} is not supported")
        entry = _opdef(qualname, overload, create=True)
        if not allow_override and entry.has_kernel(dispatch_key):
            raise RuntimeError(
                f"This is not allowed since there's already a kernel registered from python "
                f"overriding {name}'s behavior for {dispatch_key} dispatch key and {self.ns} "
                f"namespace.")
        if fn is fallthrough_kernel:
            fn = None
        if dispatch_key == "Meta" and entry.has_kernel("CompositeImplicitAutograd"):
            raise RuntimeError(
                f"We should not register a meta kernel directly to the operator '{name}', "
                f"because it has a CompositeImplicitAutograd kernel in core. Instead we should "
                f"let the operator decompose, and ensure that we have meta kernels for the "
                f"base ops that it decomposes into.")
        entry.kernels.setdefault(dispatch_key, []).append((id(self), fn))
        self._registrations.append(("impl", entry, dispatch_key))
        self._op_impls.add(f"{self.ns}/{name}/{dispatch_key}")

    def _register_fake(self, op_name, fn, _stacklevel=1, *, allow_override=True):
        self._check_alive()
        name, overload = self._resolve(op_name)
        entry = _opdef(f"{self.ns}::{name}", overload, create=True)
        if entry.fake is not None and not allow_override:
            raise RuntimeError(f"register_fake(...): the operator {entry.name} already has "
                               f"a fake impl registered.")
        previous = entry.fake
        entry.fake = (id(self), fn)
        self._registrations.append(("fake", entry, previous))

    def _register_torch_dispatch_rule(self, op_name, torch_dispatch_class, fn):
        self._check_alive()
        name, overload = self._resolve(op_name)
        entry = _opdef(f"{self.ns}::{name}", overload, create=True)
        entry.dispatch_rules[torch_dispatch_class] = fn
        self._registrations.append(("dispatch", entry, torch_dispatch_class))

    def fallback(self, fn, dispatch_key="", *, with_keyset=False):
        raise NotImplementedError("ember.library: Library.fallback (a kernel for every "
                                  "operator at a dispatch key) is not supported: ember has "
                                  "no dispatcher")

    def _destroy(self):
        if self._finalizer.alive:
            self._finalizer()
        self._destroyed = True


def _undo(lib_id, registrations, def_namespace):
    """Remove what one Library registered (its finalizer)."""
    for kind, entry, extra in reversed(registrations):
        if kind == "def":
            entry.schema = None
            table = _OPDEFS.get(entry.qualname, {})
            if not entry.kernels and table.get(entry.overload) is entry:
                del table[entry.overload]
        elif kind == "impl":
            stack = entry.kernels.get(extra, [])
            stack[:] = [(i, f) for i, f in stack if i != lib_id]
            if not stack:
                entry.kernels.pop(extra, None)
        elif kind == "fake":
            if entry.fake is not None and entry.fake[0] == lib_id:
                entry.fake = extra
        elif kind == "dispatch":
            entry.dispatch_rules.pop(extra, None)
    registrations.clear()
    if def_namespace is not None:
        ref = _DEF_LIBRARIES.get(def_namespace)
        if ref is not None and (ref() is None or id(ref()) == lib_id):
            del _DEF_LIBRARIES[def_namespace]


@contextlib.contextmanager
def _scoped_library(*args, **kwargs):
    lib = Library(*args, **kwargs)
    try:
        yield lib
    finally:
        lib._destroy()


def _validate_out_schema(schema):
    outs = [a for a in schema.arguments if a.kwarg_only and a.is_write]
    if not outs:
        raise RuntimeError(f"Schema {schema} is tagged as out but has no mutable kwarg-only "
                           f"(out) arguments")


def _fragment(namespace, lib):
    if lib is not None:
        return lib
    lib = Library(namespace, "FRAGMENT")
    _KEEP_ALIVE.append(lib)
    return lib


# ------------------------------------------------------------------------------ tags

class Tag:
    """``torch.Tag``: the tags an operator may carry (PyTorch's enum, its numbering)."""
    _names = ("core", "cudagraph_unsafe", "data_dependent_output", "dynamic_output_shape",
              "flexible_layout", "generated", "inplace", "inplace_view",
              "maybe_aliasing_or_mutating", "needs_contiguous_strides", "needs_exact_strides",
              "needs_fixed_stride_order", "nondeterministic_bitwise",
              "nondeterministic_seeded", "out", "out_variant", "pointwise",
              "pt2_compliant_tag", "reduction", "view_copy")

    def __init__(self, name, value):
        self.name = name
        self.value = value

    def __repr__(self):
        return f"<Tag.{self.name}: {self.value}>"

    def __str__(self):
        return f"Tag.{self.name}"

    def __int__(self):
        return self.value

    __index__ = __int__

    def __hash__(self):
        return hash(self.value)

    def __eq__(self, other):
        return isinstance(other, Tag) and other.value == self.value

    def __reduce__(self):
        return getattr, (Tag, self.name)


Tag.__members__ = {}
for _i, _n in enumerate(Tag._names):
    Tag.__members__[_n] = Tag(_n, _i)
    setattr(Tag, _n, Tag.__members__[_n])
Tag.__module__ = "ember"


# ------------------------------------------------------------------------------ ops

def _overridden(args, kwargs):
    """Whether the __torch_function__ protocol takes the call (a mode is on, or an
    argument that is no plain tensor defines __torch_function__)."""
    tf = _torch_function
    return (tf._MODES_LIVE[0] or tf._any_overriding(args, kwargs)) and tf._wanted(args, kwargs)


class OpOverload(_aten.OpOverload):
    """One overload of a Python-defined operator: ``ember.ops.mylib.foo.default``."""

    def __init__(self, packet, overload, entry):
        super().__init__(packet, overload)
        self._entry = entry
        self._schema = entry.schema
        self._name = entry.name
        self.__module__ = f"ember._ops.{packet.namespace}"

    def name(self):
        return self._entry.name

    @property
    def tags(self):
        return list(self._entry.tags)

    @property
    def _defined_in_python(self):
        return True

    def has_kernel_for_dispatch_key(self, key):
        return self._entry.has_kernel(str(key))

    def __call__(self, *args, **kwargs):
        if _overridden(args, kwargs):   # a Proxy (ember.fx), a TorchFunctionMode ...
            return _torch_function.handle_torch_function(
                self, args + tuple(kwargs.values()), *args, **kwargs)
        return _dispatch(self, args, kwargs)

    def redispatch(self, *args, **kwargs):
        raise NotImplementedError("ember.library: OpOverload.redispatch (calling a kernel "
                                  "below a dispatch key) is not supported")

    def __reduce__(self):
        return _overload_named, (self.namespace, self.overloadpacket.__name__,
                                 self._overloadname)

    def __hash__(self):
        return id(self)


class OpOverloadPacket(_aten.OpOverloadPacket):
    """All overloads of a Python-defined operator: ``ember.ops.mylib.foo``."""

    def __init__(self, namespace, name):
        super().__init__(namespace, name)
        self.__module__ = f"ember._ops.{namespace}"

    def __getattr__(self, overload):
        if overload.startswith("__"):
            raise AttributeError(overload)
        entry = _defined(self._qualified_op_name).get(overload)
        if entry is None:
            raise AttributeError(f"The underlying op of '{self}' has no overload name "
                                 f"'{overload}'")
        op = self._overloads.get(overload)
        if op is None or op._entry is not entry:
            op = self._overloads[overload] = OpOverload(self, overload, entry)
        return op

    def overloads(self):
        return list(_defined(self._qualified_op_name))

    @property
    def _schema(self):
        return getattr(self, self.overloads()[0])._schema

    def __call__(self, *args, **kwargs):
        if _overridden(args, kwargs):
            return _torch_function.handle_torch_function(
                self, args + tuple(kwargs.values()), *args, **kwargs)
        names = self.overloads()
        if len(names) == 1:
            return getattr(self, names[0])(*args, **kwargs)
        errors = []
        for name in names:
            op = getattr(self, name)
            try:
                op._entry.schema.bind(args, kwargs)
            except RuntimeError as e:
                errors.append(str(e))
                continue
            return op(*args, **kwargs)
        raise RuntimeError("Overloaded torch operator invoked from Python failed to match any "
                           "schema:\n" + "\n\n".join(errors))

    def __reduce__(self):
        return _packet_named, (self.namespace, self.__name__)


class _OpNamespace:
    """``ember.ops.<namespace>``: its operators' packets."""

    def __init__(self, name):
        self.name = self._name = name
        self._packets = {}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        qualname = f"{self._name}::{name}"
        if not _defined(qualname):
            raise AttributeError(f"'_OpNamespace' '{self._name}' object has no attribute "
                                 f"'{name}'")
        packet = self._packets.get(name)
        if packet is None:
            packet = self._packets[name] = OpOverloadPacket(self._name, name)
        return packet

    def __repr__(self):
        return f"<module 'torch.ops.{self._name}' from 'torch.ops'>"


_NAMESPACES = {}


class _Ops:
    """ember.ops (``torch.ops``): ``ember.ops.<namespace>.<name>.<overload>``; ``aten`` is
    ember's built-in operators (ember/_ops/aten.py)."""

    def __getattr__(self, namespace):
        if namespace.startswith("__"):
            raise AttributeError(namespace)
        if namespace == "aten":
            return _aten.aten
        if namespace == "quantized":   # the quantized kernels (ember/_ops/quantized_torch_ops)
            from ._ops.quantized_torch_ops import quantized
            return quantized
        ns = _NAMESPACES.get(namespace)
        if ns is None:
            ns = _NAMESPACES[namespace] = _OpNamespace(namespace)
        return ns

    def load_library(self, path):
        raise NotImplementedError("ember.ops.load_library: ember cannot load compiled C++ "
                                  "operator libraries")


ops = _Ops()


def _packet_named(namespace, name):
    return getattr(getattr(ops, namespace), name)


def _overload_named(namespace, name, overload):
    return getattr(_packet_named(namespace, name), overload)


def _lookup(qualname):
    """The OpOverload named "ns::name" or "ns::name.overload"."""
    namespace, name = parse_namespace(qualname)
    base, overload = _split_name(name)
    return _overload_named(namespace, base, overload)


# ------------------------------------------------------------------------------ dispatch

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
        from . import _autocast
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
    from .amp import autocast
    dtype = entry.autocast[device_type]

    def cast(v):
        if isinstance(v, Tensor) and v.dtype.is_floating_point and v.device.type == device_type:
            return v.to(dtype)
        if isinstance(v, (list, tuple)):
            return type(v)(cast(e) for e in v)
        return v
    with autocast(device_type, enabled=False):
        return op(*[cast(v) for v in pos], **{k: cast(v) for k, v in kw.items()})


# ------------------------------------------------------------------------------ fake ctx

class _DynamicSize(int):
    """A size a fake kernel made with ``ctx.new_dynamic_size()`` (data-dependent)."""


class FakeImplCtx:
    """What ``get_ctx()`` returns inside a fake kernel."""

    def new_dynamic_size(self, *, min=0, max=None):
        """A size known only once the real kernel runs (e.g. nonzero's count). ember's
        fake kernels run on meta tensors, so this is a stand-in value (`min`, at least 2);
        opcheck compares only the number of dims of such outputs."""
        if min < 0 or (max is not None and max < min):
            raise ValueError(f"ctx.new_dynamic_size(min={min}, max={max}): expected min to "
                             f"be greater than or equal to 0 and max to be greater than or "
                             f"equal to min")
        _DYNAMIC_SIZES[0] += 1
        stand_in = 2 if min <= 2 else min        # (min and max name the bounds here)
        if max is not None and stand_in > max:
            stand_in = max
        return _DynamicSize(stand_in)

    new_dynamic_size_int = new_dynamic_size


_FAKE_CTX = []
_DYNAMIC_SIZES = [0]   # how many data-dependent sizes fake kernels made (opcheck reads it)


def get_ctx():
    """The current FakeImplCtx inside a fake kernel (``torch.library.get_ctx``); None
    elsewhere."""
    return _FAKE_CTX[-1] if _FAKE_CTX else None


def _with_fake_ctx(fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        _FAKE_CTX.append(FakeImplCtx())
        try:
            return fn(*args, **kwargs)
        finally:
            _FAKE_CTX.pop()
    return run


# ------------------------------------------------------------------------------ autograd

def _autograd_kernel(entry, backward, setup_context, custom=None):
    """The Autograd kernel of `register_autograd`: an autograd.Function named as PyTorch's
    node (``GeneratedBackwardFor_<ns>_<name>_<overload>Backward``) whose forward runs the
    backend kernel and whose backward is the registered formula (None: backward raises).

    The Function takes the tensors of list arguments (``Tensor[]``) one by one, so each
    gets its gradient: the formula returns a list of gradients for such an argument."""
    schema = entry.schema
    kwonly = [a.name for a in schema.arguments if a.kwarg_only]
    display = f"{entry.qualname.replace('::', '.')}.{entry.overload}"

    def unflatten(flat, layout):
        """The positional arguments from the Function's inputs (see kernel)."""
        pos, i = [], 0
        for kind, n in layout:
            if kind == "list":
                pos.append(list(flat[i:i + n]))
                i += n
            else:
                pos.append(flat[i])
                i += 1
        return pos

    def forward(*inputs):
        layout, kw = inputs[-1]
        pos = unflatten(inputs[:-1], layout)
        if custom is not None:
            return custom._run_backend(pos, kw)
        return _backend(entry, _device_types(list(_tensors(pos + list(kw.values())))), pos, kw)

    def setup(ctx, inputs, output):
        layout, kw = inputs[-1]
        ctx._ember_layout = layout
        if setup_context is None:
            return
        pos = tuple(unflatten(inputs[:-1], layout))
        if kwonly:
            setup_context(ctx, pos, dict(kw), output)
        else:
            setup_context(ctx, pos, output)

    def backward_(ctx, *grads):
        if backward is None:
            raise RuntimeError(f"Trying to backward through {display} but no autograd "
                               f"formula was registered. Please use register_autograd to add "
                               f"one.")
        result = backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        layout = ctx._ember_layout
        if len(result) != len(layout):
            raise RuntimeError(f"{display}: expected the backward to return {len(layout)} "
                               f"gradient(s) (one per positional input) but got "
                               f"{len(result)}")
        flat = []
        for (kind, n), g in zip(layout, result):
            if kind == "list":
                flat.extend([None] * n if g is None else list(g))
            else:
                flat.append(g)
        return tuple(flat) + (None,)

    name = f"GeneratedBackwardFor_{entry.qualname.replace('::', '_')}_{entry.overload}"
    function = type(name, (autograd.Function,), {
        "forward": staticmethod(forward), "setup_context": staticmethod(setup),
        "backward": staticmethod(backward_), "__module__": "ember.autograd.function"})

    def kernel(*args, **kwargs):
        pos, kw = schema.bind(args, kwargs)
        flat, layout = [], []
        for v in pos:
            if isinstance(v, list) and any(isinstance(e, Tensor) for e in v):
                flat.extend(v)
                layout.append(("list", len(v)))
            else:
                flat.append(v)
                layout.append(("value", 1))
        out = function.apply(*flat, (tuple(layout), kw))
        if isinstance(out, tuple) and len(schema.returns) > 1:
            # outputs that cannot have gradients (integer, bool) carry no graph
            return tuple(o.detach() if isinstance(o, Tensor) and not _differentiable(o)
                         else o for o in out)
        return out
    return kernel


def _differentiable(t):
    return t.dtype.is_floating_point or t.dtype.is_complex


# ------------------------------------------------------------------------------ custom_op

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


def _check_autocast_device(device_type):
    if device_type not in _DEVICE_KEYS or device_type == "default":
        raise RuntimeError(f"Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, "
                           f"ideep, hip, ve, fpga, maia, xla, lazy, vulkan, mps, meta, hpu, "
                           f"mtia, privateuseone device type at start of device string: "
                           f"{device_type}")
    if device_type not in ("cpu", "cuda", "xpu", "mps", "hpu", "mtia", "xla"):
        raise ValueError(f"Device type '{device_type}' does not support autocast.")


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


# ------------------------------------------------------------------------------ opcheck

class OpCheckError(Exception):
    """An opcheck test failed (``torch.testing._internal.optests.OpCheckError``)."""


class UnsupportedOperatorException(RuntimeError):
    """The operator has no fake kernel (``torch._subclasses.fake_tensor``'s exception)."""


class MetadataMismatchError(Exception):
    """A fake kernel's output differs from the real one's in shape, dtype or device."""


_DEFAULT_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor",
                  "test_aot_dispatch_dynamic")
_ALL_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor",
              "test_aot_dispatch_static", "test_aot_dispatch_dynamic")


def _clone_args(values):
    def clone(v):
        if isinstance(v, Tensor):
            c = v.detach().clone()
            return c.requires_grad_(v.requires_grad) if v.requires_grad else c
        if isinstance(v, (list, tuple)):
            return type(v)(clone(e) for e in v)
        if isinstance(v, dict):
            return {k: clone(e) for k, e in v.items()}
        return v
    return clone(values)


def _check_schema(op, args, kwargs, rtol, atol):
    """Run the op on copies; a tensor argument the schema does not mark written must keep
    its values, an output must not alias an argument the schema does not alias."""
    args, kwargs = _clone_args((args, kwargs))
    pos, kw = op._entry.schema.bind(args, kwargs)
    before = [[t.detach().clone() for t in _tensors([v])] for v in pos + list(kw.values())]
    out = op(*args, **kwargs)
    names = [a for a in op._entry.schema.arguments]
    for a, v, saved in zip(names, pos + list(kw.values()), before):
        for t, old in zip(_tensors([v]), saved):
            if a.is_write:
                continue
            if t.shape != old.shape or not bool((t.detach() == old).all()) and not \
                    bool((t.detach().isnan() & old.isnan()).any()):
                raise RuntimeError(f"Argument {a.name} is not defined as mutable but was "
                                   f"mutated")
    outs = list(_tensors(out if isinstance(out, (list, tuple)) else [out]))
    for a, v in zip(names, pos + list(kw.values())):
        if a.alias_info is not None:
            continue
        for t in _tensors([v]):
            if any(_shares(o, t) for o in outs):
                raise RuntimeError(f"Argument {a.name} is not defined to alias output but "
                                   f"was aliasing")
    for i, o in enumerate(outs):
        for j in range(i + 1, len(outs)):
            if _shares(o, outs[j]):
                raise RuntimeError(f"Outputs {i} and {j} alias unexpectedly")


def _check_autograd_registration(op, args, kwargs, rtol, atol):
    """PyTorch's autograd_registration_check: with inputs that require grad, an operator
    needs an autograd kernel (or a CompositeImplicitAutograd one) for its outputs' graph
    to be right."""
    args, kwargs = _clone_args((args, kwargs))
    tensors = list(_tensors(list(args) + list(kwargs.values())))
    if not any(t.requires_grad for t in tensors):
        return
    entry = op._entry
    key = "AutogradCUDA" if any(t.device.type == "cuda" for t in tensors) else "AutogradCPU"
    for k in (key, "Autograd", "CompositeImplicitAutograd"):
        if entry.has_kernel(k):
            return
    with grad_mode.enable_grad():
        fn = _backend_kernel(entry, _device_types(tensors))
        pos, kw = entry.schema.bind(args, kwargs)
        out = _call_kernel(entry, fn, pos, kw) if fn is not None else None
    ids = {id(t) for t in tensors}
    outs = _tensors(out if isinstance(out, (list, tuple)) else [out])
    if any(o.requires_grad and id(o) not in ids for o in outs):
        raise AssertionError(
            f"{entry.name}: at least one output of this operator has requires_grad=True but "
            f"the operator does not have an autograd kernel defined at an autograd key (e.g. "
            f"DispatchKey::Autograd). This could mean that you have incorrectly registered an "
            f"autograd kernel to a non-Autograd DispatchKey, which may lead to silently "
            f"incorrect results. If your operator consists of regular PyTorch operations, "
            f"consider not using an operator at all or registering your operator as "
            f"CompositeImplicitAutograd. If you have an autograd.Function registered to a "
            f"backend (CPU/CUDA/XPU) key, the correct location for it is the Autograd key.")


def _to_meta(v):
    if isinstance(v, Tensor):
        from ._ops.creation import empty_strided
        return empty_strided(tuple(v.shape), tuple(v.stride()), dtype=v.dtype, device="meta")
    if isinstance(v, (list, tuple)):
        return type(v)(_to_meta(e) for e in v)
    return v


def _check_fake(op, args, kwargs, rtol, atol):
    """The fake kernel's outputs (on meta copies of the inputs) against the real ones:
    same number, shapes (number of dims only for data-dependent sizes) and dtypes.
    PyTorch compares strides too; ember's meta tensors keep no strides, so it cannot."""
    entry = op._entry
    args, kwargs = _clone_args((args, kwargs))
    if entry.custom is not None:
        if entry.custom._abstract_fn is None:
            _backend_missing_fake(entry.custom)
    elif entry.fake is None and not entry.has_kernel("Meta") and not \
            entry.has_kernel("CompositeImplicitAutograd") and not \
            entry.has_kernel("CompositeExplicitAutograd"):
        raise UnsupportedOperatorException(entry.name)
    with grad_mode.no_grad():
        real = op(*args, **kwargs)
        made = _DYNAMIC_SIZES[0]
        fake = op(*_to_meta(list(args)), **{k: _to_meta(v) for k, v in kwargs.items()})
    dynamic = _DYNAMIC_SIZES[0] != made
    reals = real if isinstance(real, (list, tuple)) else [real]
    fakes = fake if isinstance(fake, (list, tuple)) else [fake]
    if len(reals) != len(fakes):
        raise MetadataMismatchError(f"When comparing the output of {op} on FakeTensor and "
                                    f"concrete Tensors, found {len(fakes)} fake output(s) and "
                                    f"{len(reals)} real output(s)")
    for r, f in zip(reals, fakes):
        if isinstance(r, Tensor) != isinstance(f, Tensor):
            raise MetadataMismatchError(f"When comparing the output of {op} on FakeTensor and "
                                        f"concrete Tensors, found a tensor and a non-tensor")
        if not isinstance(r, Tensor):
            continue
        prefix = (f"When comparing the output of {op} on FakeTensor and concrete Tensors, "
                  f"found mismatched tensor metadata: ")
        if dynamic:
            if r.ndim != f.ndim:
                raise MetadataMismatchError(prefix + f"Number of dimensions {r.ndim} and "
                                            f"{f.ndim} are not equal!")
        elif tuple(r.shape) != tuple(f.shape):
            raise MetadataMismatchError(prefix + f"Shapes {_size(r)} and {_size(f)} are not "
                                        f"equal!")
        if r.dtype != f.dtype:
            raise MetadataMismatchError(prefix + f"Dtypes {_dtype_name(r.dtype)} and "
                                        f"{_dtype_name(f.dtype)} are not equal!")


def _size(t):
    return f"torch.Size({list(t.shape)})"


def _dtype_name(d):
    return "torch." + str(d).split(".")[-1]


def _check_eager(op, args, kwargs, rtol, atol):
    """In place of PyTorch's torch.compile comparison (ember has no compiler): the op runs
    on copies, twice with equal results, and, where an input requires grad, its backward
    runs."""
    from .testing import assert_close
    entry = op._entry
    if entry.custom is None and entry.fake is None and not any(entry.has_kernel(k) for k in (
            "Meta", "CompositeImplicitAutograd", "CompositeExplicitAutograd")):
        raise UnsupportedOperatorException(entry.name)   # (tracing needs the fake kernel)
    a1, k1 = _clone_args((args, kwargs))
    a2, k2 = _clone_args((args, kwargs))
    out1 = op(*a1, **k1)
    out2 = op(*a2, **k2)
    close = functools.partial(assert_close, rtol=rtol, atol=atol) if rtol is not None else \
        assert_close
    if not op._entry.schema.is_mutable:
        close(out2, out1, equal_nan=True)
    outs = [o for o in _tensors(out1 if isinstance(out1, (list, tuple)) else [out1])
            if o.requires_grad]
    if outs:
        from .autograd import grad as _grad
        inputs = [t for t in _tensors(list(a1) + list(k1.values())) if t.requires_grad]
        _grad(outs, inputs, [o.new_ones(o.shape) for o in outs], allow_unused=True)


_TESTERS = {"test_schema": _check_schema,
            "test_autograd_registration": _check_autograd_registration,
            "test_faketensor": _check_fake,
            "test_aot_dispatch_static": _check_eager,
            "test_aot_dispatch_dynamic": _check_eager}


def opcheck(op, args, kwargs=None, *, test_utils=_DEFAULT_UTILS, raise_exception=True,
            atol=None, rtol=None):
    """Check `op`'s registrations on sample inputs (``torch.library.opcheck``):

    - test_schema: arguments the schema does not mark written keep their values, outputs
      do not alias arguments the schema does not alias;
    - test_autograd_registration: with inputs that require grad, an autograd kernel exists
      (register_autograd or an Autograd key), or the op is CompositeImplicitAutograd;
    - test_faketensor: a fake kernel exists and its outputs on meta copies of the inputs
      have the real outputs' shapes and dtypes;
    - test_aot_dispatch_dynamic/static: PyTorch compares torch.compile with eager; ember
      has no compiler, so this runs the op eagerly (twice, equal results) and its backward.

    Returns {test: "SUCCESS" or the exception}; the first failure raises OpCheckError
    when `raise_exception`."""
    if (rtol is None) != (atol is None):
        raise ValueError("opcheck(op, ...): if you specify one of rtol/atol, you must specify "
                         "both")
    kwargs = {} if kwargs is None else kwargs
    if isinstance(op, CustomOpDef):
        op = op._opoverload
    if isinstance(op, OpOverloadPacket):
        names = op.overloads()
        if len(names) != 1:
            raise RuntimeError(f"opcheck(op, ...): {op} has multiple overloads ({names}); "
                               f"please pass one OpOverload (e.g. {op}.{names[0]})")
        op = getattr(op, names[0])
    if not isinstance(op, OpOverload):
        raise ValueError(f"opcheck(op, ...): op must be instance of torch._ops.OpOverload, "
                         f"e.g. torch.ops.aten.sin.default, got {type(op)}")
    if test_utils == "ALL":
        test_utils = _ALL_UTILS
    if isinstance(test_utils, str):
        test_utils = (test_utils,)
    if not isinstance(test_utils, (tuple, list)) or not set(test_utils) <= set(_ALL_UTILS):
        raise ValueError(f"opcheck(op, ..., test_utils={test_utils}), expected test_utils to "
                         f"be subset of {_ALL_UTILS} but it was not")
    results = {}
    for name in test_utils:
        try:
            _TESTERS[name](op, args, kwargs, rtol, atol)
            results[name] = "SUCCESS"
        except Exception as ex:
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {ex} (scroll up for "
                                   f"stack trace)") from ex
            results[name] = ex
    return results
