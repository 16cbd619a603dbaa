"""``Library``: a set of registrations (definitions, kernels, fake kernels, dispatch rules)
in one namespace, undone when the Library is destroyed."""
import contextlib
import weakref

from .._library_schema import parse_schema
from .._ops import aten as _aten
from ._registry import (_DISPATCH_KEYS, _DEF_LIBRARIES, _KEEP_ALIVE, _OPDEFS, _opdef,
                        _split_name, fallthrough_kernel, parse_namespace)
from ._tags import Tag

_reserved_namespaces = ["prim"]


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
