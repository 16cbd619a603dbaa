"""torch.fx._symbolic_trace: recording a module's forward as a Graph.

``Tracer.trace(root)`` calls ``root.forward`` once with a Proxy for each input. While it
runs, ember's Module.__call__ and Module.__getattr__ are swapped for recording versions:
a call of a leaf module (ember.nn's own modules, by default) becomes one ``call_module``
node and other modules are traced through; reading a parameter becomes a ``get_attr``
node. Functions registered with ``wrap`` and the functions of ``math`` called on Proxies
are recorded as ``call_function`` instead of being run. Everything is put back when the
trace ends, whatever happens.
"""
import builtins
import collections
import functools
import inspect
import math
import types

from .graph import Graph
from .proxy import ParameterProxy, Proxy, Scope, ScopeContextManager, TracerBase

__all__ = ["Tracer", "symbolic_trace", "wrap", "PH", "PHBase"]

from .._fx_wrap import WRAPPED as _WRAPPED, wrap  # noqa: E402,F401  (torch.fx.wrap)


class PHBase:
    """The placeholder marker of ``concrete_args``: an input that stays traced."""

    def __repr__(self):
        return "PH"


PH = PHBase()


def _assert_is_none(value, msg):
    if value is not None:
        raise AssertionError(msg)


from .node import has_side_effect  # noqa: E402
has_side_effect(_assert_is_none)


def _find_proxy(*objects):
    found = []

    def visit(a):
        if isinstance(a, Proxy):
            found.append(a)
        elif isinstance(a, (tuple, list)):
            for b in a:
                visit(b)
        elif isinstance(a, dict):
            for b in a.values():
                visit(b)

    for o in objects:
        visit(o)
    return found[0] if found else None


def _recording(orig_fn, mark_wrapped):
    """`orig_fn` recorded as a call_function node when any argument is a Proxy."""
    @functools.wraps(orig_fn)
    def wrapped(*args, **kwargs):
        proxy = _find_proxy(args, kwargs)
        if proxy is None:
            return orig_fn(*args, **kwargs)
        out = proxy.tracer.create_proxy("call_function", orig_fn, args, kwargs)
        if mark_wrapped:
            out.node.meta["is_wrapped"] = True
        return out
    wrapped._fx_original = orig_fn
    return wrapped


class _Patcher:
    """Attribute swaps undone in reverse order at exit."""

    def __init__(self):
        self._undo = []
        self._patched_globals = set()

    def setattr(self, obj, name, value):
        self._undo.append((obj, name, obj.__dict__.get(name, _MISSING)
                           if isinstance(obj, type) else getattr(obj, name, _MISSING)))
        setattr(obj, name, value)

    def setitem(self, d, name, value):
        self._undo.append((d, name, d.get(name, _MISSING)))
        d[name] = value

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        while self._undo:
            where, name, old = self._undo.pop()
            if isinstance(where, dict):
                if old is _MISSING:
                    where.pop(name, None)
                else:
                    where[name] = old
            elif old is _MISSING:
                delattr(where, name)
            else:
                setattr(where, name, old)
        return False


_MISSING = object()


class Tracer(TracerBase):
    """Symbolic tracer (torch.fx.Tracer). Subclass it to change what is a leaf
    (``is_leaf_module``) or how arguments are recorded (``create_arg``)."""

    def __init__(self, autowrap_modules=(math,), autowrap_functions=(),
                 param_shapes_constant=False):
        super().__init__()
        self._autowrap_function_ids = {
            id(value) for module in autowrap_modules for name, value in module.__dict__.items()
            if not name.startswith("_") and callable(value)}
        self._autowrap_function_ids.update(id(f) for f in autowrap_functions)
        self._autowrap_search = list(autowrap_modules)
        self.param_shapes_constant = param_shapes_constant
        self.submodule_paths = None
        self.root_module_name = ""
        self.scope = Scope("", None)
        self.module_stack = collections.OrderedDict()
        self.num_calls = {}
        self.node_name_to_scope = {}
        self.tensor_attrs = {}

    # ---- arguments ----
    def get_fresh_qualname(self, prefix):
        i = 0
        while hasattr(self.root, f"{prefix}{i}"):
            i += 1
        return f"{prefix}{i}"

    def create_arg(self, a):
        """Parameters, buffers and submodules of the root become get_attr nodes, other
        tensors are stored on the root as ``_tensor_constantN`` and read back the same
        way; named tuples become a call of their class."""
        from .. import nn
        from .._tensor import Tensor
        if isinstance(a, nn.Parameter):
            for n, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", n, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, Tensor):
            for n, b in self.root.named_buffers():
                if a is b:
                    return self.create_node("get_attr", n, (), {})
        elif isinstance(a, nn.Module):
            for n, m in self.root.named_modules():
                if a is m:
                    return self.create_node("get_attr", n, (), {})
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            args = tuple(self.create_arg(e) for e in a)
            return self.create_node("call_function", a.__class__, args, {})
        if isinstance(a, Tensor):
            entry = self.tensor_attrs.get(id(a))
            if entry is None:
                qualname = self.get_fresh_qualname("_tensor_constant")
                self.tensor_attrs[id(a)] = (qualname, a)
                setattr(self.root, qualname, a)
            else:
                qualname = entry[0]
            return self.create_node("get_attr", qualname, (), {})
        return super().create_arg(a)

    # ---- modules ----
    def is_leaf_module(self, m, module_qualified_name):
        """ember.nn's own modules (not Sequential) are leaves: called as one node; the
        program's own modules are traced through."""
        from .. import nn
        module = type(m).__module__ or ""
        return (module.startswith("ember.nn") or module.startswith("ember.ao.nn")) and \
            not isinstance(m, nn.Sequential)

    def path_of_module(self, mod):
        """The qualified name of submodule `mod` in the root ('layer1.0.conv1')."""
        if self.submodule_paths:
            path = self.submodule_paths.get(id(mod))
            if path is None:
                raise NameError("module is not installed as a submodule")
            return path
        for n, p in self.root.named_modules():
            if mod is p:
                return n
        raise NameError("module is not installed as a submodule")

    def call_module(self, m, forward, args, kwargs):
        """A module call met while tracing: one call_module node for a leaf, else its
        forward traced inline (the module stack notes where each node came from)."""
        qualname = self.path_of_module(m)
        with ScopeContextManager(self.scope, Scope(qualname, type(m))) as scope:
            calls = self.num_calls.get(qualname, 0)
            key = f"{scope.module_path}@{calls}" if calls > 0 else scope.module_path
            self.module_stack[key] = (qualname, scope.module_type)
            self.num_calls[qualname] = calls + 1
            try:
                if not self.is_leaf_module(m, qualname):
                    return forward(*args, **kwargs)
                return self.create_proxy("call_module", qualname, args, kwargs)
            finally:
                self.module_stack.pop(key, None)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        """A module attribute read while tracing: parameters (and buffers, with
        proxy_buffer_attributes) as get_attr Proxies, one per name."""
        from .. import nn
        from .._tensor import Tensor

        def lookup(collection):
            for n, p in collection:
                if attr_val is p:
                    if n not in parameter_proxy_cache:
                        # (param_shapes_constant: a proxy answering shape reads itself)
                        factory = (lambda node, n=n, p=p: ParameterProxy(self, node, n, p)) \
                            if self.param_shapes_constant and isinstance(p, nn.Parameter) \
                            else None
                        parameter_proxy_cache[n] = self.create_proxy(
                            "get_attr", n, (), {}, proxy_factory_fn=factory)
                    return parameter_proxy_cache[n]
            return None

        if isinstance(attr_val, nn.Parameter):
            found = lookup(self.root.named_parameters())
            if found is not None:
                return found
        if self.proxy_buffer_attributes and isinstance(attr_val, Tensor):
            found = lookup(self.root.named_buffers())
            if found is not None:
                return found
        return attr_val

    # ---- the trace ----
    def create_args_for_root(self, root_fn, is_module, concrete_args=None):
        """The function to call and its Proxy arguments: one placeholder per parameter of
        `root_fn` (``*args``/``**kwargs`` as '*args'/'**kwargs' placeholders passed as
        plain parameters), `concrete_args` fixed instead."""
        fn_for_analysis = inspect.unwrap(root_fn)
        co = fn_for_analysis.__code__
        total = co.co_argcount + co.co_kwonlyargcount
        names = list(co.co_varnames)
        skip = 1 if is_module else 0
        arg_names = names[skip:total]
        sig = inspect.signature(fn_for_analysis)
        if isinstance(concrete_args, tuple):
            if len(arg_names) != len(concrete_args):
                raise RuntimeError(f"Tracing expected {len(arg_names)} arguments but got "
                                   f"{len(concrete_args)} concrete arguments")
            concrete_args = dict(zip(arg_names, concrete_args))
        args = [self.root] if is_module else []
        args += [self._proxy_placeholder(name, concrete_args, sig, fn_for_analysis)
                 for name in arg_names]
        extra = total
        has_var = co.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
        if co.co_flags & inspect.CO_VARARGS:
            args.append(self._proxy_placeholder("*" + names[extra], None, sig, fn_for_analysis))
            extra += 1
        if co.co_flags & inspect.CO_VARKEYWORDS:
            args.append(self._proxy_placeholder("**" + names[extra], None, sig,
                                                fn_for_analysis))
        if co.co_kwonlyargcount or has_var:
            # the same body with every parameter positional, so the Proxies of *args and
            # **kwargs arrive as they are (torch.fx does the same)
            code = co.replace(co_argcount=len(args), co_kwonlyargcount=0,
                              co_flags=co.co_flags & ~(inspect.CO_VARARGS |
                                                       inspect.CO_VARKEYWORDS))
            root_fn = types.FunctionType(code, fn_for_analysis.__globals__,
                                         fn_for_analysis.__name__, None,
                                         fn_for_analysis.__closure__)
        return root_fn, args

    def _proxy_placeholder(self, name, concrete_args, sig, fn_for_analysis):
        if concrete_args is not None and name in concrete_args:
            value = concrete_args[name]
            param = sig.parameters[name]
            default = () if param.default is inspect.Parameter.empty else (param.default,)
            out = self.create_proxy("placeholder", f"{name}_1", default, {})
            if isinstance(value, PHBase):
                return out
            if type(value) in (bool, int, float, str, complex):
                # the check a specialised input records: the traced program only runs with
                # the value it was traced with
                from .._fx_assert import _assert
                self.create_proxy("call_function", _assert,
                                  (out == value, f"{name} has been specialized to have value "
                                                 f"{value} but got another value"), {})
            elif value is None:
                self.create_proxy("call_function", _assert_is_none,
                                  (out, f"{name} has been specialized to have value None but "
                                        "got another value"), {})
            return value
        if name[0] == "*":
            default = ()
        else:
            param = sig.parameters[name]
            default = () if param.default is inspect.Parameter.empty else (param.default,)
        return self.create_proxy("placeholder", name, default, {},
                                 type_expr=fn_for_analysis.__annotations__.get(name, None))

    def _collect_tensor_attrs(self, m, prefix):
        from .._tensor import Tensor
        for k, v in m.__dict__.items():
            if isinstance(v, Tensor):
                self.tensor_attrs[id(v)] = (".".join(prefix + [k]), v)
        for k, child in m.named_children():
            self._collect_tensor_attrs(child, prefix + [k])

    def _patch_globals(self, patcher, fn_globals):
        """Swap, in `fn_globals`, the autowrapped functions (math's) for recording ones."""
        key = id(fn_globals)
        if key in patcher._patched_globals:
            return
        patcher._patched_globals.add(key)
        for name, value in list(fn_globals.items()):
            if not name.startswith("_") and callable(value) and \
                    id(value) in self._autowrap_function_ids:
                patcher.setitem(fn_globals, name, _recording(value, True))

    def trace(self, root, concrete_args=None):
        """Run `root` (a Module or a function) on Proxies and return the Graph."""
        from .. import _torch_function
        from ..nn import Module
        _torch_function.activate()
        if isinstance(root, Module):
            self.root = root
            fn = type(root).forward
            self.submodule_paths = {id(mod): name for name, mod in root.named_modules()}
        else:
            self.root = Module()
            fn = root
        tracer_cls = getattr(self, "__class__", None)
        self.graph = Graph(tracer_cls=tracer_cls)
        if hasattr(fn, "__code__"):
            self.graph._co_fields = {"co_name": fn.__code__.co_name,
                                     "co_filename": fn.__code__.co_filename,
                                     "co_firstlineno": fn.__code__.co_firstlineno}
        self.tensor_attrs = {}
        self._collect_tensor_attrs(self.root, [])
        fn_globals = getattr(inspect.unwrap(fn), "__globals__", {})
        fn, args = self.create_args_for_root(fn, isinstance(root, Module), concrete_args)
        parameter_proxy_cache = {}
        orig_getattr = Module.__getattr__
        orig_call = Module.__call__
        tracer = self

        def module_getattr_wrapper(mod, attr):
            value = orig_getattr(mod, attr)
            return tracer.getattr(attr, value, parameter_proxy_cache)

        def module_call_wrapper(mod, *args, **kwargs):
            def forward(*args, **kwargs):
                return orig_call(mod, *args, **kwargs)
            fwd_globals = getattr(getattr(type(mod), "forward", None), "__globals__", None)
            if fwd_globals is not None:
                tracer._patch_globals(patcher, fwd_globals)
            return tracer.call_module(mod, forward, args, kwargs)

        with _Patcher() as patcher:
            patcher.setattr(Module, "__getattr__", module_getattr_wrapper)
            patcher.setattr(Module, "__call__", module_call_wrapper)
            for globals_, name in _WRAPPED:
                value = globals_.get(name)
                if value is not None and not hasattr(value, "_fx_original"):
                    patcher.setitem(globals_, name, _recording(value, True))
                elif value is None and hasattr(builtins, name):
                    patcher.setitem(globals_, name, _recording(getattr(builtins, name), True))
            self._patch_globals(patcher, fn_globals)
            if isinstance(root, Module):
                _front_held_functions(patcher, root)
            for module in self._autowrap_search:
                for name, value in list(module.__dict__.items()):
                    if not name.startswith("_") and callable(value) and \
                            id(value) in self._autowrap_function_ids:
                        patcher.setattr(module, name, _recording(value, True))
            result = fn(*args)
            self.create_node("output", "output", (self.create_arg(result),), {},
                             type_expr=getattr(fn, "__annotations__", {}).get("return", None))
        self.submodule_paths = None
        return self.graph

    def __deepcopy__(self, memo):
        import copy
        new = Tracer.__new__(type(self))
        for k, v in self.__dict__.items():
            new.__dict__[k] = v if k == "_autowrap_search" else copy.deepcopy(v, memo)
        return new


def _front_held_functions(patcher, root):
    """While tracing, the functions root's modules hold as attributes (bound before the
    __torch_function__ protocol was active: TransformerEncoderLayer(activation="gelu")
    keeps F.gelu) get the protocol's wrapper, so that they record a node on Proxies as
    torch's functions, which always take part in the protocol, do."""
    from .. import _torch_function
    for mod in root.modules():
        for key, value in list(vars(mod).items()):
            front = _torch_function.front_of(value)
            if front is not None and front is not value:
                patcher.setitem(mod.__dict__, key, front)


def symbolic_trace(root, concrete_args=None):
    """Trace `root` (a Module or a function) into a GraphModule."""
    from .graph_module import GraphModule
    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = root.__class__.__name__ if isinstance(root, _module_type()) else root.__name__
    return GraphModule(tracer.root, graph, name)


def _module_type():
    from ..nn import Module
    return Module

