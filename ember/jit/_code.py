"""The ``code/`` part of a TorchScript archive: classes and functions, parsed, never run.

Each file ``code/__torch__/a/b.py`` holds the TorchScript source of the classes and free
functions of the Python module ``__torch__.a.b``. ``CodeUnit`` parses every file with
``ast.parse`` (nothing is compiled or executed) and keeps, per qualified name
(``__torch__.a.b.Linear``), a ``ScriptClass`` (its kind, ``__parameters__``,
``__buffers__``, ``Final`` constants and method definitions) or a free function's
``ast.FunctionDef``. The interpreter (_interp.py) runs those definitions.
"""
import ast
import collections

_QUALNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def check_qualname(name):
    """`name` if it is a dotted Python identifier under ``__torch__``, else ValueError."""
    if not isinstance(name, str) or not name.startswith("__torch__") or \
            not set(name) <= _QUALNAME_CHARS or any(not p for p in name.split(".")):
        raise ValueError(f"TorchScript archive names an invalid class {name!r}")
    return name


def literal(node):
    """The value of a constant expression in a class body or a default argument:
    numbers, strings, None/True/False, negated numbers, tuples and lists of them."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -literal(node.operand)
    if isinstance(node, ast.Tuple):
        return tuple(literal(e) for e in node.elts)
    if isinstance(node, ast.List):
        return [literal(e) for e in node.elts]
    if isinstance(node, ast.Name) and node.id in ("inf", "nan"):
        return float(node.id)
    raise NotImplementedError(f"TorchScript constant {ast.dump(node)} is not supported by "
                              f"ember.jit")


class ScriptClass:
    """One class of an archive: `kind` is "module" (an nn.Module), "namedtuple" or
    "class" (a TorchScript class); `methods` maps names to their FunctionDefs."""

    def __init__(self, qualname, node, source):
        self.qualname = qualname
        self.name = node.name
        self.source = source
        self.parameters, self.buffers = [], []
        self.constants = {}
        self.attributes = []   # annotated attribute names, in order
        self.methods = {}
        bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
        if "Module" in bases:
            self.kind = "module"
        elif "NamedTuple" in bases:
            self.kind = "namedtuple"
        elif bases in ([], ["object"]):
            self.kind = "class"
        else:
            raise NotImplementedError(f"TorchScript class {qualname} with bases {bases} is not "
                                      f"supported by ember.jit")
        for st in node.body:
            self._body_statement(st)
        if self.kind == "namedtuple":
            self.tuple_type = collections.namedtuple(self.name, self.attributes)

    def _body_statement(self, st):
        if isinstance(st, ast.FunctionDef):
            self.methods[st.name] = st
        elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
            name = st.target.id
            if st.value is not None:   # `in_channels : Final[int] = 3`
                self.constants[name] = literal(st.value)
            else:
                self.attributes.append(name)
        elif isinstance(st, ast.Assign) and len(st.targets) == 1:
            target = st.targets[0]
            if isinstance(target, ast.Name) and target.id in ("__parameters__", "__buffers__"):
                names = literal(st.value)
                if not all(isinstance(n, str) for n in names):
                    raise ValueError(f"{self.qualname}: {target.id} must list strings")
                setattr(self, target.id.strip("_"), list(names))
            elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and \
                    target.value.id == "__annotations__":
                self.attributes.append(literal(target.slice))   # `__annotations__["0"] = T`
            elif isinstance(target, ast.Name):
                self.constants[target.id] = literal(st.value)
            else:
                raise NotImplementedError(f"{self.qualname}: class statement "
                                          f"{ast.dump(st)[:80]} is not supported by ember.jit")
        elif not isinstance(st, (ast.Pass, ast.Expr)):
            raise NotImplementedError(f"{self.qualname}: class statement {type(st).__name__} "
                                      f"is not supported by ember.jit")

    def method_source(self, name):
        """A method's source as ``.code`` shows it: the signature as written (``self``
        without its annotation), the body one level (2 spaces) less indented."""
        node = self.methods[name]
        lines = (ast.get_source_segment(self.source, node) or "").splitlines()
        n_head = node.body[0].lineno - node.lineno
        body = [line[2:] if line.startswith("  ") else line for line in lines[n_head:]]
        head = lines[:n_head]
        if head and head[0].startswith(f"def {name}(self:"):
            rest = head[0][len(f"def {name}(self:"):]
            cut = rest.find(",")
            head[0] = f"def {name}(self" + (rest[cut:] if cut >= 0 else rest[rest.find(")"):])
        return "\n".join(head + body) + "\n"


class CodeUnit:
    """Every class and free function of an archive's code/, by qualified name."""

    def __init__(self, files):
        """`files`: {archive path below code/ (``__torch__/a/b.py``): source text}."""
        self.classes = {}
        self.functions = {}
        self.files = dict(files)
        for path, source in files.items():
            module = check_qualname(path[:-len(".py")].replace("/", "."))
            tree = ast.parse(source, filename=path)
            for st in tree.body:
                if isinstance(st, ast.ClassDef):
                    qual = f"{module}.{st.name}"
                    self.classes[qual] = ScriptClass(qual, st, source)
                elif isinstance(st, ast.FunctionDef):
                    self.functions[f"{module}.{st.name}"] = st
                elif isinstance(st, ast.Assign) and all(
                        isinstance(t, ast.Name) and t.id == "op_version_set"
                        for t in st.targets):
                    continue   # old archives' header line
                else:
                    raise NotImplementedError(f"{path}: top-level statement "
                                              f"{type(st).__name__} is not supported by "
                                              f"ember.jit")

    def script_class(self, qualname):
        try:
            return self.classes[qualname]
        except KeyError:
            raise RuntimeError(f"TorchScript archive has no code for class {qualname}") from None
