"""``infer_schema``: the operator schema of a type-annotated Python function (what
``custom_op`` defines its operator with), as ``torch.library.infer_schema`` writes it."""
import inspect
import typing
from collections.abc import Sequence as _AbcSequence


def _annotation_table():
    """Python annotation -> schema type, as torch.library.infer_schema maps them."""
    from .._tensor import Tensor
    from .. import _dtype, _device
    Opt = typing.Optional
    table = {}

    def add(py, schema, list_too=True, optional_too=True):
        table[py] = schema
        if optional_too:
            table[Opt[py]] = schema + "?"
        if list_too:
            for seq in (typing.Sequence[py], typing.List[py], _AbcSequence[py], list[py]):
                table[seq] = schema + "[]"
                if optional_too:
                    table[Opt[seq]] = schema + "[]?"
    add(Tensor, "Tensor")
    for seq in (typing.Sequence[Opt[Tensor]], typing.List[Opt[Tensor]],
                _AbcSequence[Opt[Tensor]], list[Opt[Tensor]]):
        table[seq] = "Tensor?[]"
    add(int, "SymInt")
    add(float, "float")
    add(bool, "bool")
    add(str, "str", list_too=False)
    add(_dtype.dtype, "ScalarType", list_too=False)
    add(_device.device, "Device", list_too=False)
    import numbers
    add(numbers.Number, "Scalar", list_too=False)
    add(typing.Union[int, float, bool], "Scalar", list_too=False)
    return table


def _return_table():
    from .._tensor import Tensor
    table = {type(None): "()", None: "()", Tensor: "Tensor", typing.List[Tensor]: "Tensor[]",
             list[Tensor]: "Tensor[]", int: "SymInt", float: "float", bool: "bool"}
    return table


def _default_schema_text(param, schema_type):
    v = param.default
    if v is None:
        return "None"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, (int, float)):
        return repr(v)
    from .. import _dtype
    if isinstance(v, _dtype.dtype):
        return str(v).split(".")[-1]
    return _UNSUPPORTED


_UNSUPPORTED = object()


def infer_schema(prototype_function, /, *, mutates_args, op_name=None):
    """The schema of a type-annotated Python function (``torch.library.infer_schema``):
    ``"(Tensor x, SymInt n, *, float alpha=1.0) -> Tensor"``, with the name in front when
    `op_name` is given. `mutates_args` ("unknown" or the names of the written arguments)
    marks those arguments ``Tensor(aN!)``."""
    sig = inspect.signature(prototype_function)

    def fail(what):
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    hints = {}
    try:
        hints = typing.get_type_hints(prototype_function)
    except Exception:
        hints = {}
    table = _annotation_table()
    params, seen_kwonly = [], False
    for idx, (name, p) in enumerate(sig.parameters.items()):
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY):
            fail("We don't support varargs or varkwargs.")
        if p.annotation is inspect.Parameter.empty:
            fail(f"Parameter {name} must have a type annotation.")
        ann = hints.get(name, p.annotation)
        schema_type = table.get(ann) if _hashable(ann) else None
        if schema_type is None:
            fail(f"Parameter {name} has unsupported type {_type_repr(ann)}. The valid types "
                 f"are: {_valid_types_text(table)}.")
        mutated = mutates_args == "unknown" or (not isinstance(mutates_args, str)
                                               and name in mutates_args)
        if mutated and schema_type.startswith("Tensor"):
            head, rest = "Tensor", schema_type[len("Tensor"):]
            schema_type = f"{head}(a{idx}!){rest}"
        elif mutated and mutates_args != "unknown":
            fail(f"Parameter {name} is in mutable_args but only Tensors or collections of "
                 f"Tensors can be mutated")
        text = f"{schema_type} {name}"
        if p.default is not inspect.Parameter.empty:
            default = _default_schema_text(p, schema_type)
            if default is _UNSUPPORTED:
                fail(f"Parameter {name} has an unsupported default value type "
                     f"{type(p.default)}. Please file an issue on GitHub so we can "
                     f"prioritize this.")
            text += f"={default}"
        if p.kind == p.KEYWORD_ONLY and not seen_kwonly:
            params.append("*")
            seen_kwonly = True
        params.append(text)
    if mutates_args != "unknown":
        if isinstance(mutates_args, str) or not hasattr(mutates_args, "__iter__"):
            raise ValueError("mutates_args must either be a sequence of the names of the "
                             "arguments that are mutated or the string 'unknown'. ")
        missing = set(mutates_args) - set(sig.parameters)
        if missing:
            fail(f"{missing} in mutates_args were not found in the custom op's signature. "
                 f"mutates_args should contain the names of all args that the custom op "
                 f"mutates, or just the string 'unknown' if you don't know.")
    if sig.return_annotation is inspect.Signature.empty:
        fail("No return type annotation was provided. Please add one.")
    ret = _return_text(hints.get("return", sig.return_annotation), fail)
    text = f"({', '.join(params)}) -> {ret}"
    return text if op_name is None else op_name + text


def _hashable(x):
    try:
        hash(x)
        return True
    except TypeError:
        return False


def _type_repr(ann):
    return repr(ann) if not isinstance(ann, type) else str(ann)


def _valid_types_text(table):
    return "dict_keys([" + ", ".join(_type_repr(k) for k in table) + "])"


def _return_text(ann, fail):
    table = _return_table()
    if _hashable(ann) and ann in table:
        return table[ann]
    origin = typing.get_origin(ann)
    if origin is tuple:
        items = typing.get_args(ann)
        texts = []
        for item in items:
            if not _hashable(item) or item not in table or item in (None, type(None)):
                fail(f"Return has unsupported type {_type_repr(ann)}.")
            texts.append(table[item])
        return "(" + ", ".join(texts) + ")"
    fail(f"Return has unsupported type {_type_repr(ann)}. The valid types are: "
         f"{', '.join(map(_type_repr, table))}.")
