"""``ember.ops`` (``torch.ops``): ``ember.ops.<namespace>.<name>.<overload>``, the
OpOverload and OpOverloadPacket objects that call an operator defined with ember.library."""
from .. import _torch_function
from .._ops import aten as _aten
from ._dispatch import _dispatch
from ._registry import _defined, _split_name, parse_namespace


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
            from .._ops.quantized_torch_ops import quantized
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
