"""A small interpreter of TorchScript's Python subset, over the syntax trees of an archive.

TorchScript code (what ``torch.jit.save`` writes into ``code/``) is straight-line Python:
assignments, tuple unpacking, calls, attribute access on the module tree, ``if``/``else``,
``for`` over ranges and lists, ``while``, ``return``, comparisons and arithmetic. This
interpreter walks the ``ast`` of a method and evaluates a fixed set of node types; any
other node raises NotImplementedError. It never compiles or executes the file's text, and
names resolve only to: the function's locals, a fixed table of builtins (``annotate``,
``unchecked_cast``, ``int``, ``range``, ...), the archive's own classes and functions
(``__torch__.*``), its constants (``CONSTANTS.c0``) and the operator tables of _ops.py
(``torch.*``, ``ops.aten.*``, ``ops.prim.*``). Attributes are read only from the archive's
modules and objects, so no Python object outside them is reachable.
"""
import ast
import builtins
import math
import operator

from .._tensor import Tensor
from . import _ops
from ._error import raise_exception

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
           ast.BitXor: operator.xor, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
           ast.MatMult: operator.matmul}
_CMPOPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_,
           ast.IsNot: operator.is_not, ast.In: lambda a, b: a in b,
           ast.NotIn: lambda a, b: a not in b}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_,
          ast.Invert: operator.invert}

# the namespaces a dotted name may start from (unless a local variable shadows them)
_ROOTS = ("torch", "ops", "__torch__", "CONSTANTS", "math")
_MATH = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan, "tau": math.tau,
         "sqrt": math.sqrt, "log": math.log, "exp": math.exp, "floor": math.floor,
         "ceil": math.ceil, "isnan": math.isnan, "isinf": math.isinf, "fabs": math.fabs,
         "pow": math.pow, "log10": math.log10, "log1p": math.log1p, "cos": math.cos,
         "sin": math.sin, "tanh": math.tanh, "erf": math.erf, "gcd": math.gcd}


def _to_number(kind):
    def convert(x):
        if isinstance(x, Tensor):
            return kind(x.item())
        if isinstance(x, (int, float, bool)) or (kind is not bool and isinstance(x, str)):
            return kind(x)
        raise RuntimeError(f"{kind.__name__}() of a {type(x).__name__} in TorchScript code")
    return convert


def _print(*args):
    print(*(_ops._str(a) for a in args))


class _Signal:
    """break / continue / return leaving a block."""
    __slots__ = ("kind", "value")

    def __init__(self, kind, value=None):
        self.kind, self.value = kind, value


_BREAK, _CONTINUE = _Signal("break"), _Signal("continue")


class BoundMethod:
    """A method of an archive object, bound to it: calling it runs the interpreter."""

    def __init__(self, interp, obj, fndef):
        self.interp, self.obj, self.fndef = interp, obj, fndef

    def __call__(self, *args, **kwargs):
        return self.interp.call(self.fndef, (self.obj,) + args, kwargs)


class UnitFunction:
    """A free function of the archive (``__torch__.torch.nn.functional.relu``)."""

    def __init__(self, interp, fndef):
        self.interp, self.fndef = interp, fndef

    def __call__(self, *args, **kwargs):
        return self.interp.call(self.fndef, args, kwargs)


class Interpreter:
    """Runs the functions of one CodeUnit. `constants` is the archive's constants.pkl
    tuple; `make_object(script_class)` builds an instance of a TorchScript class."""

    def __init__(self, unit, constants, make_object):
        self.unit = unit
        self.constants = tuple(constants)
        self.make_object = make_object
        self.builtins = {
            "int": _to_number(int), "float": _to_number(float), "bool": _to_number(bool),
            "str": _ops._str, "len": _ops._len, "range": builtins.range, "print": _print,
            "getattr": self._getattr_builtin, "hasattr": self._hasattr_builtin,
            "inf": math.inf, "nan": math.nan, "list": _ops._list, "min": builtins.min,
            "max": builtins.max, "abs": builtins.abs, "sorted": builtins.sorted,
            "fork": _fork,
        }

    # ---------------------------------------------------------------- functions
    def call(self, fndef, args, kwargs):
        env = self._bind(fndef, args, kwargs)
        signal = self._block(fndef.body, env)
        if signal is not None and signal.kind == "return":
            return signal.value
        return None

    def _bind(self, fndef, args, kwargs):
        spec = fndef.args
        if spec.vararg or spec.kwarg or spec.posonlyargs:
            raise NotImplementedError(f"TorchScript function {fndef.name} with *args/**kwargs")
        names = [a.arg for a in spec.args + spec.kwonlyargs]
        defaults = dict(zip([a.arg for a in spec.args][len(spec.args) - len(spec.defaults):],
                            spec.defaults))
        defaults.update({a.arg: d for a, d in zip(spec.kwonlyargs, spec.kw_defaults)
                         if d is not None})
        if len(args) > len(spec.args):
            bound = 1 if self._is_method(fndef) else 0   # self is not counted, as torch's
            raise RuntimeError(f"{fndef.name}() expected at most {len(spec.args) - bound} "
                               f"argument(s) but received {len(args) - bound} argument(s)")
        env = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise RuntimeError(f"{fndef.name}() got an unexpected keyword argument '{k}'")
            if k in env:
                raise RuntimeError(f"{fndef.name}() got multiple values for argument '{k}'")
            env[k] = v
        for name in names:
            if name not in env:
                if name not in defaults:
                    raise RuntimeError(f"{fndef.name}() is missing value for argument "
                                       f"'{name}'")
                env[name] = self._expr(defaults[name], {})
        return env

    @staticmethod
    def _is_method(fndef):
        """A method's first parameter is annotated with its class (``self: __torch__.M``)."""
        return bool(fndef.args.args) and isinstance(fndef.args.args[0].annotation,
                                                    ast.Attribute)

    # ---------------------------------------------------------------- statements
    def _block(self, body, env):
        for st in body:
            signal = self._stmt(st, env)
            if signal is not None:
                return signal
        return None

    def _stmt(self, st, env):
        kind = type(st)
        if kind is ast.Assign:
            value = self._expr(st.value, env)
            for target in st.targets:
                self._assign(target, value, env)
            return None
        if kind is ast.Expr:
            self._expr(st.value, env)
            return None
        if kind is ast.Return:
            return _Signal("return", None if st.value is None else self._expr(st.value, env))
        if kind is ast.If:
            branch = st.body if self._truth(self._expr(st.test, env)) else st.orelse
            return self._block(branch, env)
        if kind is ast.For:
            return self._for(st, env)
        if kind is ast.While:
            while self._truth(self._expr(st.test, env)):
                signal = self._block(st.body, env)
                if signal is _BREAK:
                    break
                if signal is not None and signal is not _CONTINUE:
                    return signal
            return None
        if kind is ast.Pass:
            return None
        if kind is ast.Break:
            return _BREAK
        if kind is ast.Continue:
            return _CONTINUE
        if kind is ast.AugAssign:
            op = _BINOPS.get(type(st.op))
            if op is None or not isinstance(st.target, ast.Name):
                raise NotImplementedError("TorchScript augmented assignment of this form is "
                                          "not supported by ember.jit")
            env[st.target.id] = op(self._expr(st.target, env), self._expr(st.value, env))
            return None
        if kind is ast.AnnAssign and st.value is not None:
            self._assign(st.target, self._expr(st.value, env), env)
            return None
        if kind is ast.With:
            return self._with(st, env)
        if kind is ast.FunctionDef:   # a closure (what torch.jit.fork's function becomes)
            env[st.name] = _Closure(self, st, env)
            return None
        if kind is ast.Assert:
            if not self._truth(self._expr(st.test, env)):
                msg = "" if st.msg is None else self._expr(st.msg, env)
                raise_exception(msg, "builtins.AssertionError")
            return None
        raise NotImplementedError(f"TorchScript statement {kind.__name__} (line "
                                  f"{getattr(st, 'lineno', '?')}) is not supported by ember.jit")

    def _with(self, st, env):
        """``with obj:``: obj's __enter__ (bound to the optional name), the body, then
        __exit__(None, None, None) also when the body raises (TorchScript writes
        ``with torch.no_grad():`` as an object of the archive's no_grad class)."""
        entered = []
        try:
            for item in st.items:
                manager = self._expr(item.context_expr, env)
                value = self._getattr(manager, "__enter__")()
                entered.append(manager)
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, value, env)
            return self._block(st.body, env)
        finally:
            for manager in reversed(entered):
                self._getattr(manager, "__exit__")(None, None, None)

    def _for(self, st, env):
        iterable = self._expr(st.iter, env)
        if isinstance(iterable, Tensor):
            iterable = list(iterable.unbind(0))
        elif isinstance(iterable, dict):
            iterable = list(iterable.keys())
        elif not isinstance(iterable, (range, list, tuple, str)):
            raise NotImplementedError(f"TorchScript for-loop over {type(iterable).__name__}")
        for item in iterable:
            self._assign(st.target, item, env)
            signal = self._block(st.body, env)
            if signal is _BREAK:
                break
            if signal is not None and signal is not _CONTINUE:
                return signal
        else:
            return self._block(st.orelse, env) if st.orelse else None
        return None

    def _assign(self, target, value, env):
        kind = type(target)
        if kind is ast.Name:
            env[target.id] = value
        elif kind in (ast.Tuple, ast.List):
            values = list(value.unbind(0)) if isinstance(value, Tensor) else list(value)
            if len(values) != len(target.elts):
                raise RuntimeError(f"cannot unpack {len(values)} values into "
                                   f"{len(target.elts)} names")
            for t, v in zip(target.elts, values):
                self._assign(t, v, env)
        elif kind is ast.Attribute:
            obj = self._expr(target.value, env)
            self._setattr(obj, target.attr, value)
        elif kind is ast.Subscript:
            container = self._expr(target.value, env)
            if not isinstance(container, (list, dict, Tensor)):
                raise NotImplementedError(f"TorchScript item assignment into "
                                          f"{type(container).__name__}")
            container[self._index(target.slice, env)] = value
        else:
            raise NotImplementedError(f"TorchScript assignment to {kind.__name__}")

    @staticmethod
    def _truth(v):
        if isinstance(v, Tensor):
            return bool(v.item())
        return bool(v)

    # ---------------------------------------------------------------- expressions
    def _expr(self, node, env):
        kind = type(node)
        if kind is ast.Name:
            return self._name(node.id, env)
        if kind is ast.Constant:
            return node.value
        if kind is ast.Call:
            return self._call(node, env)
        if kind is ast.Attribute:
            dotted = self._dotted(node, env)
            if dotted is not None:
                return self._resolve(dotted)
            return self._getattr(self._expr(node.value, env), node.attr)
        if kind is ast.Tuple:
            return tuple(self._expr(e, env) for e in node.elts)
        if kind is ast.List:
            return [self._expr(e, env) for e in node.elts]
        if kind is ast.Dict:
            if any(k is None for k in node.keys):
                raise NotImplementedError("TorchScript dict unpacking (**)")
            return {self._expr(k, env): self._expr(v, env) for k, v in zip(node.keys, node.values)}
        if kind is ast.Subscript:
            container = self._expr(node.value, env)
            if not isinstance(container, (list, tuple, dict, str, Tensor)):
                raise NotImplementedError(f"TorchScript subscript of {type(container).__name__}")
            return container[self._index(node.slice, env)]
        if kind is ast.BinOp:
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise NotImplementedError(f"TorchScript operator {type(node.op).__name__}")
            return op(self._expr(node.left, env), self._expr(node.right, env))
        if kind is ast.UnaryOp:
            return _UNARY[type(node.op)](self._expr(node.operand, env))
        if kind is ast.BoolOp:
            is_and = isinstance(node.op, ast.And)
            value = None
            for e in node.values:
                value = self._expr(e, env)
                if self._truth(value) != is_and:
                    return value
            return value
        if kind is ast.Compare:
            left = self._expr(node.left, env)
            for op, comp in zip(node.ops, node.comparators):
                right = self._expr(comp, env)
                result = _CMPOPS[type(op)](left, right)
                if not self._truth(result):
                    return result if len(node.ops) == 1 else False
                left = right
            return result
        if kind is ast.IfExp:
            chosen = node.body if self._truth(self._expr(node.test, env)) else node.orelse
            return self._expr(chosen, env)
        raise NotImplementedError(f"TorchScript expression {kind.__name__} (line "
                                  f"{getattr(node, 'lineno', '?')}) is not supported by ember.jit")

    def _index(self, node, env):
        if isinstance(node, ast.Slice):
            def part(n):
                return None if n is None else self._expr(n, env)
            return builtins.slice(part(node.lower), part(node.upper), part(node.step))
        if isinstance(node, ast.Tuple):
            return tuple(self._index(e, env) for e in node.elts)
        return self._expr(node, env)

    def _name(self, name, env):
        if name in env:
            return env[name]
        if name in self.builtins:
            return self.builtins[name]
        if name in _ROOTS:
            return self._resolve(name)
        raise NotImplementedError(f"TorchScript name {name!r} is not supported by ember.jit "
                                  f"(it is not a local variable, a TorchScript builtin or an op)")

    def _dotted(self, node, env):
        """'a.b.c' when `node` is a dotted name rooted at an op namespace (torch, ops,
        __torch__, CONSTANTS, math) that no local variable shadows, else None."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in _ROOTS or node.id in env:
            return None
        parts.append(node.id)
        return ".".join(reversed(parts))

    def _resolve(self, dotted):
        root, _, rest = dotted.partition(".")
        if root == "torch" and rest:
            if "." in rest:
                raise NotImplementedError(f"TorchScript name {dotted} is not supported by "
                                          f"ember.jit")
            return self._torch_attr(rest)
        if root == "ops":
            ns, _, name = rest.partition(".")
            if not name or "." in name:
                raise NotImplementedError(f"TorchScript name {dotted} is not supported")
            return _ops.lookup(ns, name)
        if root == "CONSTANTS":
            if rest.startswith("c") and rest[1:].isdigit() and int(rest[1:]) < len(self.constants):
                return self.constants[int(rest[1:])]
            raise RuntimeError(f"TorchScript archive has no constant {dotted}")
        if root == "math" and rest in _MATH:
            return _MATH[rest]
        if root == "__torch__":
            owner, _, last = dotted.rpartition(".")
            if last == "__new__" and owner in self.unit.classes:
                # `__torch__.Acc.__new__(__torch__.Acc)`: an empty object; its __init__
                # is called next as a method
                cls = self.unit.classes[owner]
                return lambda *_: self.make_object(cls, {})
            if dotted in self.unit.functions:
                return UnitFunction(self, self.unit.functions[dotted])
            if dotted in self.unit.classes:
                return self._class_constructor(self.unit.classes[dotted])
            return _Namespace(dotted)   # a package prefix: more attributes follow
        raise NotImplementedError(f"TorchScript name {dotted} is not supported by ember.jit")

    def _torch_attr(self, name):
        from .. import _dtype
        if name in _dtype._BY_NAME:
            return _dtype._BY_NAME[name]
        return _ops.lookup("aten", name)

    def _class_constructor(self, cls):
        if cls.kind == "namedtuple":
            return cls.tuple_type
        if cls.kind == "class":
            def construct(*args, **kwargs):
                obj = self.make_object(cls, {})
                if "__init__" in cls.methods:
                    self.call(cls.methods["__init__"], (obj,) + args, kwargs)
                return obj
            return construct
        raise NotImplementedError(f"TorchScript code constructing module class {cls.qualname}")

    def _call(self, node, env):
        func = node.func
        if isinstance(func, ast.Name) and func.id not in env:
            special = func.id
            if special in ("annotate", "unchecked_cast"):   # (type, value): the value
                return self._expr(node.args[1], env)
            if special == "uninitialized":
                return None
            if special == "isinstance":
                return _isinstance(self._expr(node.args[0], env), node.args[1])
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise NotImplementedError("TorchScript call with *args")
        fn = self._expr(func, env)
        args = [self._expr(a, env) for a in node.args]
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise NotImplementedError("TorchScript call with **kwargs")
            kwargs[kw.arg] = self._expr(kw.value, env)
        if isinstance(fn, _Namespace):
            raise RuntimeError(f"TorchScript archive has no function or class {fn.name}")
        if not callable(fn):
            raise RuntimeError(f"TorchScript code calls a {type(fn).__name__}, not a function")
        return fn(*args, **kwargs)

    # ---------------------------------------------------------------- attributes
    def _getattr(self, obj, name):
        if isinstance(obj, _Namespace):
            return self._resolve(f"{obj.name}.{name}")
        getter = getattr(type(obj), "_script_getattr", None)
        if getter is not None:
            return getter(obj, name, self)
        if isinstance(obj, tuple) and hasattr(type(obj), "_fields") and name in obj._fields:
            return getattr(obj, name)   # a NamedTuple's field
        raise NotImplementedError(f"TorchScript attribute {name!r} of a {type(obj).__name__} "
                                  f"is not supported by ember.jit")

    def _setattr(self, obj, name, value):
        setter = getattr(type(obj), "_script_setattr", None)
        if setter is None:
            raise NotImplementedError(f"TorchScript attribute assignment on a "
                                      f"{type(obj).__name__}")
        setter(obj, name, value)

    def _getattr_builtin(self, obj, name, *default):
        try:
            return self._getattr(obj, name)
        except (AttributeError, NotImplementedError):
            if default:
                return default[0]
            raise

    def _hasattr_builtin(self, obj, name):
        try:
            self._getattr(obj, name)
            return True
        except (AttributeError, NotImplementedError):
            return False


class _Closure:
    """A function defined inside a function: its body runs with the enclosing function's
    variables (as they are when it is called) and its own arguments."""

    def __init__(self, interp, fndef, env):
        self.interp, self.fndef, self.env = interp, fndef, env

    def __call__(self, *args, **kwargs):
        local = dict(self.env)
        local.update(self.interp._bind(self.fndef, args, kwargs))
        signal = self.interp._block(self.fndef.body, local)
        return signal.value if signal is not None and signal.kind == "return" else None


class Future:
    """What ``fork`` returns: the function has already run (ember runs forks at once, as
    ember.jit.fork does); ``torch.wait`` gives its value."""

    def __init__(self, value):
        self.value = value

    def wait(self):
        return self.value


def _fork(fn, *args, **kwargs):
    return Future(fn(*args, **kwargs))


class _Namespace:
    """A prefix of a qualified name (``__torch__.torch.nn``), resolved attribute by attribute."""

    def __init__(self, name):
        self.name = name


_TYPE_CHECKS = {"Tensor": lambda v: isinstance(v, Tensor),
                "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "float": lambda v: isinstance(v, float), "bool": lambda v: isinstance(v, bool),
                "str": lambda v: isinstance(v, str), "NoneType": lambda v: v is None,
                "List": lambda v: isinstance(v, list), "list": lambda v: isinstance(v, list),
                "Tuple": lambda v: isinstance(v, tuple), "tuple": lambda v: isinstance(v, tuple),
                "Dict": lambda v: isinstance(v, dict), "dict": lambda v: isinstance(v, dict)}


def _isinstance(value, type_node):
    """isinstance against a TorchScript type expression (Tensor, List[int], (int, float))."""
    if isinstance(type_node, ast.Tuple):
        return any(_isinstance(value, e) for e in type_node.elts)
    if isinstance(type_node, ast.Subscript):
        type_node = type_node.value
    if isinstance(type_node, ast.Name) and type_node.id in _TYPE_CHECKS:
        return _TYPE_CHECKS[type_node.id](value)
    if isinstance(type_node, ast.Constant) and type_node.value is None:
        return value is None
    raise NotImplementedError(f"TorchScript isinstance check against {ast.dump(type_node)}")
