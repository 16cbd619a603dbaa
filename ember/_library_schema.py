"""Operator schemas for ember.library: parsing, printing and argument binding.

A schema is PyTorch's signature language for operators::

    mylib::foo.overload(Tensor(a!) x, int[] dims, *, float alpha=1.0, Tensor? w=None)
        -> (Tensor, Tensor)

- a type is a base name (``Tensor``, ``int``, ``SymInt``, ``float``, ``bool``, ``str``,
  ``Scalar``, ``ScalarType``, ``Device``, ``Layout``, ``MemoryFormat``, ``Generator``...)
  with suffixes: ``?`` (optional), ``[]``/``[N]`` (a list; ``int[2]`` also takes one int,
  repeated), and an alias annotation ``(a)`` (a view of set ``a``) or ``(a!)`` (written);
- arguments after ``*`` are keyword-only;
- returns are one type, ``()`` for none, or a parenthesised list (optionally named).

`FunctionSchema.bind` checks a call's arguments against the schema and normalizes them
(defaults filled in) the way PyTorch's dispatcher does before a kernel runs, with
PyTorch's error texts. The schema of a type-annotated function (``infer_schema``) is
ember/library/_infer_schema.py's.
"""
import re

__all__ = ["FunctionSchema", "Argument", "Return", "parse_schema"]

# the base types PyTorch's schema parser knows (ATen's README lists them)
_BASE_TYPES = ("Tensor", "int", "SymInt", "float", "bool", "str", "Scalar", "ScalarType",
               "Device", "Layout", "MemoryFormat", "Generator", "Dimname", "Storage",
               "Stream", "complex", "QScheme", "Any", "t", "SymBool", "DeviceIndex",
               "AnyEnumType")

# how PyTorch's Argument.type prints each base type (the JIT type behind it)
_JIT_NAME = {"SymInt": "int", "Scalar": "number", "ScalarType": "int", "Layout": "int",
             "MemoryFormat": "int", "QScheme": "int", "SymBool": "bool",
             "DeviceIndex": "int"}

# PyTorch's ScalarType numbers, for a ScalarType default written by name
_SCALAR_TYPE_NUMBERS = {"uint8": 0, "int8": 1, "int16": 2, "short": 2, "int32": 3, "int": 3,
                        "int64": 4, "long": 4, "float16": 5, "half": 5, "float32": 6,
                        "float": 6, "float64": 7, "double": 7, "complex32": 8,
                        "complex64": 9, "cfloat": 9, "complex128": 10, "cdouble": 10,
                        "bool": 11, "bfloat16": 15}


class AliasInfo:
    """An alias annotation: the alias sets the value belongs to, and whether it is
    written (``Tensor(a!)``)."""

    def __init__(self, sets, is_write):
        self.before_set = set(sets)
        self.after_set = set(sets)
        self.is_write = is_write

    def __str__(self):
        return "(" + "|".join(sorted(self.before_set)) + ("!" if self.is_write else "") + ")"


class SchemaType:
    """A schema type: `base` with `optional`/`list` wrappers (outermost last in `wraps`)."""

    def __init__(self, base, wraps, alias, spelled):
        self.base = base
        self.wraps = wraps          # e.g. ["list", "optional"] for int[]?
        self.alias = alias
        self.spelled = spelled      # as written, for str(schema)

    @property
    def optional(self):
        return bool(self.wraps) and self.wraps[-1] == "optional"

    def inner(self):
        """The type one wrapper in (an Optional's value type, a list's element type)."""
        return SchemaType(self.base, self.wraps[:-1], None, None)

    def list_size(self):
        for w in self.wraps:
            if isinstance(w, tuple):
                return w[1]
        return None

    def is_tensor_like(self):
        return self.base == "Tensor"

    def __str__(self):
        # PyTorch's Argument.type printing: Optional[...], List[...], JIT names
        text = _JIT_NAME.get(self.base, self.base)
        for w in self.wraps:
            text = f"Optional[{text}]" if w == "optional" else f"List[{text}]"
        return text

    __repr__ = __str__


class Argument:
    """One schema argument: name, type, default (``has_default``), keyword-only."""

    def __init__(self, name, type, default_text=None, kwarg_only=False):
        self.name = name
        self.type = type
        self.kwarg_only = kwarg_only
        self.has_default = default_text is not None
        self._default_text = default_text
        self.default_value = _default_value(type, default_text) if self.has_default else None
        self.alias_info = type.alias
        self.is_out = False
        self.is_write = bool(type.alias and type.alias.is_write)

    def __str__(self):
        text = f"{self.type.spelled} {self.name}"
        if self.has_default:
            text += "=" + _default_spelling(self.type, self.default_value, self._default_text)
        return text

    __repr__ = __str__


class Return:
    def __init__(self, name, type):
        self.name = name or ""
        self.type = type
        self.alias_info = type.alias

    def __str__(self):
        return self.type.spelled + (f" {self.name}" if self.name else "")

    __repr__ = __str__


class FunctionSchema:
    """A parsed schema (``torch._C.FunctionSchema``): ``name`` (``ns::op``),
    ``overload_name``, ``arguments``, ``returns``; ``str()`` prints it as PyTorch does."""

    def __init__(self, name, overload_name, arguments, returns, returns_parenthesised=True):
        self.name = name
        self.overload_name = overload_name
        self.arguments = arguments
        self.returns = returns
        self._returns_parenthesised = returns_parenthesised

    @property
    def is_mutable(self):
        return any(a.is_write for a in self.arguments)

    def _args_text(self):
        parts, star = [], False
        for a in self.arguments:
            if a.kwarg_only and not star:
                parts.append("*")
                star = True
            parts.append(str(a))
        return "(" + ", ".join(parts) + ")"

    def _returns_text(self):
        if len(self.returns) == 1 and not self._returns_parenthesised:
            return str(self.returns[0])
        return "(" + ", ".join(map(str, self.returns)) + ")"

    def __str__(self):
        name = self.name + (f".{self.overload_name}" if self.overload_name else "")
        return f"{name}{self._args_text()} -> {self._returns_text()}"

    __repr__ = __str__

    # ---------------------------------------------------------------- calling

    def bind(self, args, kwargs):
        """(positional, keyword) arguments as a kernel receives them: every positional
        argument given or defaulted, keyword-only ones as keywords. Raises PyTorch's
        RuntimeError texts for a call that does not fit."""
        positional = [a for a in self.arguments if not a.kwarg_only]
        if len(args) > len(positional):
            raise RuntimeError(f"{self.name}() takes {len(positional)} positional argument(s) "
                               f"but {len(args)} was/were given.  Declaration: {self}")
        known = {a.name for a in self.arguments}
        for key in kwargs:
            if key not in known:
                raise RuntimeError(f"Unknown keyword argument '{key}' for operator "
                                   f"'{self.name}'. Schema: {self}")
        pos_out, kw_out = [], {}
        for i, a in enumerate(self.arguments):
            if i < len(args):
                if a.name in kwargs:
                    raise RuntimeError(f"{self.name}() got multiple values for argument "
                                       f"'{a.name}'. Declaration: {self}")
                value = args[i]
            elif a.name in kwargs:
                value = kwargs[a.name]
            elif a.has_default:
                value = a.default_value
                if isinstance(value, list):
                    value = list(value)
            elif a.type.optional:
                value = None
            else:
                raise RuntimeError(f"{self.name}() is missing value for argument '{a.name}'. "
                                   f"Declaration: {self}")
            value = _check_value(self, a, i, value)
            if a.kwarg_only:
                kw_out[a.name] = value
            else:
                pos_out.append(value)
        return pos_out, kw_out


# --------------------------------------------------------------------------- values

def _type_error(schema, arg, position, value, expected=None):
    return RuntimeError(
        f"{schema.name}() Expected a value of type '{expected or arg.type}' for argument "
        f"'{arg.name}' but instead found type '{type(value).__name__}'.\nPosition: {position}"
        f"\nValue: {value!r}\nDeclaration: {schema}")


def _is_int(v):
    import numpy as np
    from ._sym import SymInt
    return (isinstance(v, (int, np.integer, SymInt)) and not isinstance(v, (bool, np.bool_)))


def _is_float(v):
    import numpy as np
    return isinstance(v, (float, np.floating)) or _is_int(v)


def _fits(base, v):
    """Whether `v` is a value of base type `base` (PyTorch's Python-to-schema casts)."""
    from ._tensor import Tensor
    from . import _dtype, _device
    import numpy as np
    if base == "Tensor":
        return isinstance(v, Tensor)
    if base in ("int", "SymInt", "DeviceIndex"):
        return _is_int(v) or (isinstance(v, Tensor) and v.ndim == 0
                              and not v.dtype.is_floating_point and not v.dtype.is_complex)
    if base == "float":
        return _is_float(v) or (isinstance(v, Tensor) and v.ndim == 0)
    if base in ("bool", "SymBool"):
        return isinstance(v, (bool, np.bool_))
    if base == "str":
        return isinstance(v, str)
    if base == "Scalar":
        return isinstance(v, (bool, int, float, complex, np.number, np.bool_)) or (
            isinstance(v, Tensor) and v.ndim == 0)
    if base == "complex":
        return isinstance(v, (complex, float, int, np.number))
    if base == "ScalarType":
        return isinstance(v, _dtype.dtype)
    if base == "Device":
        return isinstance(v, (_device.device, str, int))
    if base == "Layout":
        import ember
        return isinstance(v, ember.layout)
    if base == "MemoryFormat":
        import ember
        return isinstance(v, ember.memory_format)
    if base == "Generator":
        from ._random import Generator
        return isinstance(v, Generator)
    return True   # Any, t, Storage, Stream...: not checked


def _check_value(schema, arg, position, value):
    """`value` checked against `arg`'s type; int[N] given one int becomes N copies."""
    def check(t, v):
        if not t.wraps:
            return v if _fits(t.base, v) else _FAIL
        outer = t.wraps[-1]
        inner = t.inner()
        if outer == "optional":
            return None if v is None else check(inner, v)
        if _fits(inner.base, v) and not inner.wraps and t.list_size() is not None \
                and inner.base in ("int", "SymInt", "bool"):
            return [v] * t.list_size()   # int[2] given one int
        if not isinstance(v, (list, tuple)):
            return _FAIL
        out = [check(inner, e) for e in v]
        return _FAIL if any(e is _FAIL for e in out) else out
    checked = check(arg.type, value)
    if checked is _FAIL:
        raise _type_error(schema, arg, position, value)
    return checked


_FAIL = object()


def _default_value(type, text):
    """The Python value of a schema default written as `text`."""
    text = text.strip()
    if text == "None":
        return None
    if text in ("True", "False"):
        return text == "True"
    if text.startswith("[") and text.endswith("]"):
        body = text[1:-1].strip()
        inner = SchemaType(type.base, [], None, None)
        return [] if not body else [_default_value(inner, p) for p in body.split(",")]
    if text[0] in "'\"":
        return text[1:-1]
    if type.base == "ScalarType" and text in _SCALAR_TYPE_NUMBERS:
        return _SCALAR_TYPE_NUMBERS[text]
    if type.base in ("Layout", "MemoryFormat", "Device"):
        return text   # a name (strided, contiguous_format, "cpu"): kept as written
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return text
    if type.base == "float" and not type.wraps:
        return float(value)
    if type.base == "float" and isinstance(value, int):
        return float(value)
    return value


def _float_spelling(v):
    """A float as PyTorch's schema printer writes it: 17 significant digits, a trailing
    dot for a whole number (``2.``, ``10000000000.``)."""
    text = "%.17g" % v
    if not any(c in text for c in ".en"):
        text += "."
    return text


def _default_spelling(type, value, text):
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"' if text[0] in "'\"" else value
    if isinstance(value, float):
        return _float_spelling(value)
    if isinstance(value, list):
        return "[" + ", ".join(_default_spelling(type, v, repr(v)) for v in value) + "]"
    return str(value)


# --------------------------------------------------------------------------- parsing

_TOKEN = re.compile(r"\s*(?:(?P<arrow>->)|(?P<scope>::)|(?P<num>-?\d+\.?\d*(?:[eE][-+]?\d+)?|-?\.\d+)"
                    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<str>'[^']*'|\"[^\"]*\")"
                    r"|(?P<punct>[()\[\],*=?!.|]))")


class _Parser:
    """A recursive-descent parser over the schema's tokens; errors point at the token."""

    def __init__(self, text):
        self.text = text
        self.tokens = []   # (kind, value, start, end)
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                self.tokens.append(("bad", text[pos], pos, pos + 1))
                pos += 1
                continue
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind), m.start(kind), m.end()))
            pos = m.end()
        self.i = 0

    def peek(self, k=0):
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else ("eof", "", len(self.text),
                                                           len(self.text))

    def error(self, message, token=None, here=" here:"):
        kind, value, start, end = token or self.peek()
        caret = " " * start + "~" * max(1, end - start)
        return RuntimeError(f"{message}{here}\n{self.text}\n{caret} <--- HERE\n")

    def _describe(self, token):
        kind, value = token[0], token[1]
        if kind == "arrow":
            return "'arrow'"
        if kind == "eof":
            return "'eof'"
        return f"'{value}'"

    def expect(self, value=None, kind=None):
        tok = self.peek()
        if (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind) \
                or tok[0] in ("eof", "bad") and value is None:
            want = value if value is not None else ("ident" if kind == "ident" else kind)
            raise self.error(f"expected {want} but found {self._describe(tok)}")
        self.i += 1
        return tok

    def accept(self, value):
        if self.peek()[1] == value and self.peek()[0] != "str":
            self.i += 1
            return True
        return False

    # schema := name ['.' overload] '(' args ')' '->' returns
    def schema(self, require_name=True):
        name = overload = ""
        if require_name:
            name = self.expect(kind="ident")[1]
            if self.accept("::"):
                name += "::" + self.expect(kind="ident")[1]
            if self.accept("."):
                overload = self.expect(kind="ident")[1]
        args = self.arguments()
        self.expect("->")
        returns, parenthesised = self.returns()
        if self.peek()[0] != "eof":
            raise self.error(f"expected eof but found {self._describe(self.peek())}")
        return name, overload, args, returns, parenthesised

    def arguments(self):
        self.expect("(")
        args, kwarg_only = [], False
        if self.accept(")"):
            return args
        while True:
            if self.accept("*"):
                kwarg_only = True
            else:
                typ = self.type()
                name = self.expect(kind="ident")[1]
                default = None
                if self.accept("="):
                    default = self.default_text()
                args.append(Argument(name, typ, default, kwarg_only))
            if not self.accept(","):
                self.expect(")")
                return args

    def default_text(self):
        tok = self.peek()
        if tok[1] == "[":
            start = tok[2]
            depth = 0
            while True:
                tok = self.peek()
                if tok[0] == "eof":
                    raise self.error("expected ] but found 'eof'")
                self.i += 1
                depth += tok[1] == "["
                depth -= tok[1] == "]"
                if depth == 0:
                    return self.text[start:tok[3]]
        if tok[0] in ("num", "ident", "str"):
            self.i += 1
            return tok[1]
        raise self.error(f"expected a default value but found {self._describe(tok)}")

    def type(self):
        start_tok = self.peek()
        if start_tok[0] != "ident":
            raise self.error(f"expected ident but found {self._describe(start_tok)}")
        if start_tok[1] not in _BASE_TYPES:
            raise self.error("\nunknown type specifier. Common valid schema types include "
                             "Tensor, SymInt, int, float, bool, Scalar; for a full list, "
                             "please see https://github.com/pytorch/pytorch/blob/main/aten/"
                             "src/ATen/native/README.md#func :", start_tok, here="")
        self.i += 1
        wraps, alias = [], None
        while True:
            if self.peek()[1] == "(" and self.peek(1)[0] == "ident" and \
                    self.peek(2)[1] in (")", "!", "|"):
                alias = self.alias()
            elif self.accept("?"):
                wraps.append("optional")
            elif self.peek()[1] == "[":
                self.i += 1
                size = None
                if self.peek()[0] == "num":
                    size = int(self.expect(kind="num")[1])
                self.expect("]")
                wraps.append(("list", size))
            else:
                break
        spelled = self.text[start_tok[2]:self.tokens[self.i - 1][3]]
        return SchemaType(start_tok[1], [w if w == "optional" else w for w in wraps], alias,
                          spelled)

    def alias(self):
        self.expect("(")
        sets = [self.expect(kind="ident")[1]]
        while self.accept("|"):
            sets.append(self.expect(kind="ident")[1])
        is_write = self.accept("!")
        self.expect(")")
        return AliasInfo(sets, is_write)

    def returns(self):
        if self.peek()[1] == "(":
            self.i += 1
            rets = []
            if self.accept(")"):
                return rets, True
            while True:
                typ = self.type()
                name = self.expect(kind="ident")[1] if self.peek()[0] == "ident" else ""
                rets.append(Return(name, typ))
                if self.accept(")"):
                    return rets, True
                self.expect(",")
        typ = self.type()
        name = self.expect(kind="ident")[1] if self.peek()[0] == "ident" else ""
        return [Return(name, typ)], False


def parse_schema(text, namespace=None):
    """The FunctionSchema of `text` ("name(args) -> returns"; `namespace` is put in front
    of a name that has none)."""
    name, overload, args, returns, parenthesised = _Parser(text).schema()
    if namespace is not None and "::" not in name:
        name = f"{namespace}::{name}"
    seen = set()
    for a in args:
        if a.name in seen:
            raise RuntimeError(f"Duplicate argument name '{a.name}' in schema {text}")
        seen.add(a.name)
    return FunctionSchema(name, overload, args, returns, parenthesised)

