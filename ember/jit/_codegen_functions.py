"""Wrapped leaf functions of a traced forward, saved as TorchScript functions.

A function registered with ``torch.fx.wrap`` (torchvision's and ember's Swin Transformer
register ``shifted_window_attention``, ``_patch_merging_pad`` ...) is one whose body
branches on its input's shape. Traced into at every call, its branches multiply across the
blocks that call it (two per block of swin_t: thousands of paths through the forward).
torch.jit.script keeps such a function once, as a free function of the archive's code
with its ``if``s inside, which each block calls. Here likewise: each call of a wrapped
function records a call of a TorchScript function ``__torch__.ember_export.functions.<name>_<k>``
whose parameters are the call's traced values; its Python constants (window and shift
sizes, head counts, flags) are part of the function, one function per distinct set of them.
The functions are traced after the forward, each path through their branches once
(_codegen_branches.py), and written into one code file.

A call with an argument that is neither traced nor a constant the code can write (a list
holding traced values, a tensor that is no module attribute) is traced into as before.
"""
import inspect
import operator

from .._tensor import Tensor
from ._codegen_literal import literal

__all__ = ["Subfunctions", "SubCall", "MODULE", "item_assigning_proxy"]

MODULE = "__torch__.ember_export.functions"


class SubCall:
    """The target of a graph node calling the TorchScript function `qualname`."""

    def __init__(self, qualname):
        self.qualname = qualname
        self.__name__ = qualname.rpartition(".")[2]   # (what the graph names its node by)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("SubCall is a marker of ember.jit.save's trace")

    def __repr__(self):
        return f"SubCall({self.qualname})"


def item_assigning_proxy(node, tracer):
    """A Proxy on which ``proxy[index] = value`` records an ``operator.setitem`` node (the
    wrapped functions build masks so: Swin's ``region[h0:h1, w0:w1] = count``), which the
    writer writes as TorchScript's subscript assignment."""
    global _ItemAssigningProxy
    if _ItemAssigningProxy is None:
        from ..fx.proxy import Proxy

        class ItemAssigningProxy(Proxy):
            def __setitem__(self, index, value):
                self.tracer.create_proxy("call_function", operator.setitem,
                                         (self, index, value), {})
        _ItemAssigningProxy = ItemAssigningProxy
    return _ItemAssigningProxy(node, tracer)


_ItemAssigningProxy = None


def _wrapped(target):
    """Whether `target` is a function registered with torch.fx.wrap (ember.fx.wrap)."""
    from .._fx_wrap import WRAPPED
    for globals_, name in WRAPPED:
        value = globals_.get(name)
        if value is not None and getattr(value, "_fx_original", value) is target:
            return True
    return False


def _is_proxy(a):
    from ..fx.proxy import Proxy
    return isinstance(a, Proxy)


def _holds_proxy(a):
    if isinstance(a, (list, tuple)):
        return any(_holds_proxy(x) for x in a)
    if isinstance(a, dict):
        return any(_holds_proxy(x) for x in a.values())
    return _is_proxy(a)


_INT_METHODS = {"size", "dim", "numel"}


def _value_type(node):
    """"int" for a traced value that is a size, a rank or a count; else "Tensor"."""
    import operator
    if node.op == "call_method" and node.target in _INT_METHODS:
        return "int" if node.target != "size" or len(node.args) > 1 or node.kwargs else None
    if node.op == "call_function" and node.target is getattr and node.args[1] == "ndim":
        return "int"
    if node.op == "call_function" and node.target is getattr and node.args[1] == "shape":
        return None
    if node.op == "call_function" and node.target is operator.getitem:
        source = node.args[0]
        if hasattr(source, "op") and _value_type(source) is None:
            return "int" if isinstance(node.args[1], int) else None
    return "Tensor"


class _Result:
    """The type of what the saved function `marker` returns (item `index` of it)."""

    def __init__(self, marker, index):
        self.marker, self.index = marker, index

    def __repr__(self):
        return f"_Result({self.marker.qualname}, {self.index})"


def _returned_type(value):
    """("Tuple", [types]) for a function's traced output that is a tuple, else Tensor (or
    int for a size)."""
    if isinstance(value, (tuple, list)):
        return ("Tuple", [_returned_type(v) for v in value])
    if hasattr(value, "op"):
        return _value_type(value) or "Tensor"
    return "Tensor"


class Subfunctions:
    """The TorchScript functions one save needs, by (function, constants)."""

    def __init__(self):
        self.entries = {}   # key -> [marker, body, constants, traced names, types, source]
        self.order = []
        self.returns = {}   # qualname -> the type its function returns (once written)

    def request(self, tracer, target, args, kwargs):
        """A Proxy of the call of `target` as a call of its TorchScript function, or None
        where the call cannot be one (the caller traces into it then)."""
        if not _wrapped(target):
            return None
        body = inspect.unwrap(target)
        try:
            bound = inspect.signature(body).bind(*args, **kwargs)
        except (TypeError, ValueError):
            return None
        bound.apply_defaults()
        params = inspect.signature(body).parameters
        if any(p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               for p in params.values()):
            return None
        constants, traced, types, key = {}, [], [], [body]
        for name, value in bound.arguments.items():
            if _is_proxy(value) or type(value) is tuple and value and \
                    all(_is_proxy(v) for v in value):
                kind = self._type(value)
                if kind is None:
                    return None
                traced.append(name)
                types.append(kind)
                key.append((name, repr(kind)))
                continue
            if _holds_proxy(value) or isinstance(value, Tensor):
                return None
            try:
                text = literal(value)
            except Exception:
                return None
            constants[name] = value
            key.append((name, type(value).__name__, text))
        key = tuple(key)
        if key not in self.entries:
            qualname = f"{MODULE}.{body.__name__}_{len(self.order)}"
            self.entries[key] = [SubCall(qualname), body, constants, traced, types, None]
            self.order.append(key)
        marker = self.entries[key][0]
        return tracer.create_proxy("call_function", marker,
                                   tuple(bound.arguments[n] for n in traced), {})

    def _type(self, value):
        """The TorchScript type of a traced argument: a tuple of traced values is a
        Tuple; the result of another saved function is typed by what it returns
        (a _Result, resolved when that function is written)."""
        if type(value) is tuple:
            kinds = [self._type(v) for v in value]
            return None if None in kinds else ("Tuple", kinds)
        node = value.node
        if node.op == "call_function" and isinstance(node.target, SubCall):
            return _Result(node.target, None)
        if node.op == "call_function" and node.target is operator.getitem and \
                isinstance(node.args[1], int) and hasattr(node.args[0], "op") and \
                isinstance(node.args[0].target, SubCall):
            return _Result(node.args[0].target, node.args[1])
        return _value_type(node)

    def _render(self, kind):
        if isinstance(kind, str):
            return kind
        if isinstance(kind, _Result):
            returned = self.returns.get(kind.marker.qualname, "Tensor")
            if kind.index is None:
                return self._render(returned)
            if isinstance(returned, tuple):
                return self._render(returned[1][kind.index])
            return "Tensor"
        if isinstance(kind, tuple):
            return "Tuple[" + ", ".join(self._render(k) for k in kind[1]) + "]"
        return kind

    def pending(self):
        return [k for k in self.order if self.entries[k][5] is None]

    def write(self, trace_lines):
        """The code file of the functions: ``trace_lines(fn)`` gives the TorchScript
        lines of the body of the Python function `fn` traced along each path. Functions
        requested while tracing others are written too."""
        while self.pending():
            for key in self.pending():
                entry = self.entries[key]
                marker, body, constants, traced, types, _ = entry
                scope = {"_body": body, "_constants": constants}
                exec(f"def root({', '.join(traced)}):\n"
                     f"    return _body(**_constants, "
                     f"{', '.join(f'{n}={n}' for n in traced)})\n", scope)
                try:
                    lines, returned = trace_lines(scope["root"])
                except NotImplementedError as e:
                    detail = str(e).removeprefix("ember.jit.save: ")
                    raise NotImplementedError(f"ember.jit.save: the wrapped function "
                                              f"{body.__module__}.{body.__name__}: "
                                              f"{detail}") from e
                self.returns[marker.qualname] = _returned_type(returned)
                short = marker.qualname.rpartition(".")[2]
                head = ",\n    ".join(f"{n}: {self._render(t)}" for n, t in zip(traced, types))
                entry[5] = (f"def {short}({head}):\n" + "".join(f"  {line}\n" for line in lines))
        return "".join(self.entries[k][5] for k in self.order)
