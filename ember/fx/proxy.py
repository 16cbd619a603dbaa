"""torch.fx.proxy: the stand-in values symbolic tracing runs a program on.

A Proxy holds a Node. Everything the program does with it becomes a new Node with a new
Proxy: Python operators (``p + 1`` records ``operator.add``), attribute reads and method
calls (``p.view(-1)`` records ``call_method view``), and ember functions (``ember.relu(p)``,
``F.relu(p)``), which reach the Proxy through ember's ``__torch_function__`` protocol
(ember/_torch_function.py): Proxy defines ``__torch_function__``, so ember's dispatchers
hand it every public function and Tensor method call that has a Proxy argument.

What a Proxy cannot stand for is a concrete value: ``bool(p)`` (an ``if`` on a traced
value) raises TraceError, ``len(p)`` RuntimeError, as torch.fx does.
"""
import collections
import dis
import inspect
import operator

from .graph import MAGIC_METHODS, REFLECTABLE_MAGIC_METHODS
from .node import Node, map_aggregate

__all__ = ["TraceError", "TracerBase", "GraphAppendingTracer", "Proxy", "Attribute",
           "ParameterProxy", "Scope", "ScopeContextManager"]


class TraceError(ValueError):
    """A traced program used a Proxy where a concrete value is needed."""


class Scope:
    """The module a node is recorded in: its qualified path and type."""

    def __init__(self, module_path, module_type):
        self.module_path = module_path
        self.module_type = module_type


class ScopeContextManager:
    """Sets a tracer's current Scope for the duration of a module call."""

    def __init__(self, scope, current_scope):
        self._prev = Scope(scope.module_path, scope.module_type)
        self._scope = scope
        scope.module_path = current_scope.module_path
        scope.module_type = current_scope.module_type

    def __enter__(self):
        return self._scope

    def __exit__(self, *args):
        self._scope.module_path = self._prev.module_path
        self._scope.module_type = self._prev.module_type


def _base_types():
    import ember
    return (str, int, float, bool, complex, type(None), type(...), ember.dtype, ember.Tensor,
            ember.device, ember.memory_format, ember.layout)


class TracerBase:
    """What makes Nodes from the operations on Proxies: ``create_proxy`` turns an
    operation's arguments into graph arguments (``create_arg``), records a Node and wraps
    it in a Proxy."""

    graph = None
    record_stack_traces = False
    check_mutable_operations = False
    trace_asserts = False
    proxy_buffer_attributes = False
    traced_func_name = "forward"

    def __init__(self):
        self.scope = Scope("", None)
        self.module_stack = collections.OrderedDict()
        self.node_name_to_scope = {}

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        """Record a Node (with the module stack it was made in, as ``meta['nn_module_stack']``)."""
        node = self.graph.create_node(kind, target, args, kwargs, name, type_expr)
        if self.module_stack:
            node.meta["nn_module_stack"] = collections.OrderedDict(self.module_stack)
        self.node_name_to_scope[node.name] = (self.scope.module_path, self.scope.module_type)
        return node

    def proxy(self, node):
        return Proxy(node, self)

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None,
                     proxy_factory_fn=None):
        """Record the operation (kind, target, args, kwargs) and give its Proxy."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        if not isinstance(args_, tuple) or not isinstance(kwargs_, dict):
            raise AssertionError("create_arg must map args to a tuple and kwargs to a dict")
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return self.proxy(node) if proxy_factory_fn is None else proxy_factory_fn(node)

    def create_arg(self, a):
        """An operation argument as a graph argument: Proxies become their Nodes,
        containers are mapped item by item, plain values stay (NotImplementedError for
        other types, as torch.fx)."""
        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return type(a)(*(self.create_arg(e) for e in a))
        if isinstance(a, (tuple, list)):
            return type(a)(self.create_arg(e) for e in a)
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                k = self.create_arg(k)
                if isinstance(k, Node):
                    raise RuntimeError(f"Keys for dictionaries used as an argument cannot "
                                       f"contain a Node. Got key: {k}")
                out[k] = self.create_arg(v)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop),
                         self.create_arg(a.step))
        if isinstance(a, range):
            return range(self.create_arg(a.start), self.create_arg(a.stop),
                         self.create_arg(a.step))
        if isinstance(a, Node) or isinstance(a, _base_types()):
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj):
        """bool() of a Proxy: refused (control flow cannot be traced)."""
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj):
        """iter() of a Proxy outside tuple unpacking: refused."""
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the Proxy "
                         "is used in a loop or as a *args or **kwargs function argument. See "
                         "the torch.fx docs on pytorch.org for a more detailed explanation of "
                         "what types of control flow can be traced, and check out the Proxy "
                         "docstring for help troubleshooting Proxy iteration errors")

    def keys(self, obj):
        """``**p``: recorded as a call of ``p.keys()``."""
        return Attribute(obj, "keys")()


class GraphAppendingTracer(TracerBase):
    """The tracer of Proxies made directly on a Graph's nodes (``Proxy(node)``): appends
    to that graph."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        self.scope = Scope("", None)
        self.module_stack = collections.OrderedDict()
        self.node_name_to_scope = {}


def _tensor_method_name(func):
    """The name of `func` when it is a Tensor method (as the dispatcher reports it)."""
    from .._tensor import Tensor
    from .node import _callable_name
    name = _callable_name(func)
    if isinstance(name, str) and getattr(func, "__qualname__", None) == f"Tensor.{name}":
        attr = Tensor.__dict__.get(name)
        if attr is func or getattr(attr, "_ember_undispatched", None) is func:
            return name
    return None


class Proxy:
    """A traced value: stands for the Node ``self.node`` of the tracer's graph."""

    def __init__(self, node, tracer=None):
        from .. import _torch_function
        if not _torch_function.ACTIVE[0]:
            _torch_function.activate()   # ember's functions hand Proxies to __torch_function__
        if tracer is None:
            tracer = GraphAppendingTracer(node.graph)
        self.tracer = tracer
        self.node = node

    def __repr__(self):
        return f"Proxy({self.node.name})"

    def __getattr__(self, k):
        if k.startswith("__") and k.endswith("__"):   # copy, pickle, numpy probes
            raise AttributeError(k)
        return Attribute(self, k)

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", "__call__", (self,) + args, kwargs)

    def __iter__(self):
        # `a, b = proxy` unpacks into getitem nodes (the caller's bytecode says how many)
        frame = inspect.currentframe().f_back
        for inst in dis.get_instructions(frame.f_code):
            if inst.offset == frame.f_lasti:
                if inst.opname == "UNPACK_SEQUENCE":
                    return (self[i] for i in range(inst.argval))
                break
        return self.tracer.iter(self)

    def __abs__(self):
        return self.tracer.create_proxy("call_function", operator.abs, (self,), {})

    def __bool__(self):
        return self.tracer.to_bool(self)

    def keys(self):
        return self.tracer.keys(self)

    def __len__(self):
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want "
                           "this call to be recorded, please call torch.fx.wrap('len') at "
                           "module scope")

    __hash__ = object.__hash__

    def __index__(self):
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    @classmethod
    def __torch_function__(cls, orig_method, types, args=(), kwargs=None):
        """An ember function or Tensor method called with Proxy arguments: recorded as
        call_method (Tensor methods) or call_function."""
        args = tuple(args) if args else ()
        kwargs = dict(kwargs) if kwargs else {}
        tracers = {}

        def find_tracer(a):
            if isinstance(a, cls):
                tracers[a.tracer] = None
            return a

        map_aggregate((args, kwargs), find_tracer)
        if len(tracers) > 1:
            raise RuntimeError(f"Found multiple different tracers {list(tracers)} while trying "
                               f"to trace operations {orig_method}")
        tracer = next(iter(tracers))
        method = _tensor_method_name(orig_method)
        if method is not None:
            return tracer.create_proxy("call_method", method, args, kwargs)
        from ._functional_calls import as_recorded
        kind, target, args, kwargs = as_recorded(orig_method, args, kwargs)
        return tracer.create_proxy(kind, target, args, kwargs)


class Attribute(Proxy):
    """``proxy.name``: recorded as ``getattr`` only when the value is used, as a
    ``call_method`` when it is called."""

    def __init__(self, root, attr):
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node = None

    @property
    def node(self):
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", getattr,
                                                  (self.root, self.attr), {}).node
        return self._node

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", self.attr, (self.root,) + args, kwargs)


class ParameterProxy(Proxy):
    """A Proxy for a parameter read (get_attr), answering shape/size/dim from the real
    parameter so code that inspects a weight's shape traces."""

    def __init__(self, tracer, node, name, param):
        super().__init__(node, tracer)
        self.param = param
        self.name = name

    def __repr__(self):
        return f"ParameterProxy({self.name})"

    @property
    def shape(self):
        return self.param.shape

    def size(self, dim=None):
        return self.param.size() if dim is None else self.param.size(dim)

    def dim(self):
        return self.param.dim()

    @property
    def ndim(self):
        return self.param.ndim

    def numel(self):
        return self.param.numel()

    def nelement(self):
        return self.param.nelement()


def _define_magic(method):
    def impl(*args, **kwargs):
        return args[0].tracer.create_proxy("call_function", getattr(operator, method), args,
                                           kwargs)

    impl.__name__ = method
    setattr(Proxy, f"__{method.strip('_')}__", impl)


def _define_reflectable(method):
    def impl(self, rhs):
        return self.tracer.create_proxy("call_function", getattr(operator, method),
                                        (rhs, self), {})

    impl.__name__ = f"__r{method.strip('_')}__"
    setattr(Proxy, impl.__name__, impl)


for _m in MAGIC_METHODS:
    _define_magic(_m)
for _m in REFLECTABLE_MAGIC_METHODS:
    _define_reflectable(_m)
del _m
Proxy.__hash__ = object.__hash__   # __eq__ above is traced; identity hashing stays
