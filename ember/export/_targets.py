"""The call targets of exported graphs: ember functions under PyTorch's ATen names.

An exported graph calls ember's public functions (``ember.nn.functional.linear``,
``ember.Tensor.view``), each wrapped in an `ExportOp` that prints as the ATen overload
PyTorch's export records for the same call (``torch.ops.aten.linear.default``). The ATen
name is chosen from the function's name and its arguments (``sum`` over dims is
``sum.dim_IntList``, ``x + 1`` is ``add.Tensor``); ember runs the function itself, so a
replayed graph computes exactly what the eager program computed.

`resolve` is the only way a saved program's targets come back: a name is looked up in the
public namespaces below and must be a function of ember's op modules (no file, process or
global-state function can be named), or one of the few helpers in `_HELPERS`.
"""
import importlib
import operator

from .._ops.aten import _DEFAULT_OVERLOAD

__all__ = ["ExportOp", "op_for", "resolve", "target_path"]


def _sym_size(x, dim):
    """``aten.sym_size.int``: the size of a (dynamic) dimension, read when the graph runs."""
    return x.size(dim)


_TENSOR_PROPERTIES = ("T", "mT", "H", "mH", "real", "imag", "data")


def _tensor_property(x, name):
    """A tensor-valued property read in a graph (``x.T``); only these names."""
    if name not in _TENSOR_PROPERTIES:
        raise ValueError(f"not a tensor property: {name!r}")
    return getattr(x, name)


def _setitem(x, key, value):
    """``x[key] = value`` (``aten.index_put_``) as a graph value: writes into x, returns x
    (later nodes read the written x from this node)."""
    x[key] = value
    return x


# helpers a graph may call that are not ember public functions: saved name -> function
_HELPERS = {
    "aten.sym_size.int": _sym_size,
    "aten.index_put_.default": _setitem,
    "ember.tensor_property": _tensor_property,
    "operator.getitem": operator.getitem,
    "operator.add": operator.add, "operator.sub": operator.sub,
    "operator.mul": operator.mul, "operator.floordiv": operator.floordiv,
    "operator.mod": operator.mod, "operator.neg": operator.neg,
    "operator.truediv": operator.truediv,
}
_HELPER_NAMES = {id(f): name for name, f in _HELPERS.items()}

# Tensor methods / dunders whose ATen name is not their own
_RENAMED = {
    "__getitem__": ("index", "Tensor"), "__setitem__": ("index_put_", "default"),
    "size": ("sym_size", "int"), "float": ("_to_copy", "default"),
    "double": ("_to_copy", "default"), "half": ("_to_copy", "default"),
    "long": ("_to_copy", "default"), "int": ("_to_copy", "default"),
    "bool": ("_to_copy", "default"), "to": ("to", "dtype"),
    "flatten": ("flatten", "using_ints"), "__matmul__": ("matmul", "default"),
    "__neg__": ("neg", "default"), "__radd__": ("add", "Tensor"),
    "__rmul__": ("mul", "Tensor"), "__rsub__": ("rsub", "Scalar"),
    "__rtruediv__": ("div", "Tensor"), "__truediv__": ("div", "Tensor"),
    "split": ("split", "Tensor"), "chunk": ("chunk", "default"),
}

# in-place operators and a few binary ops whose overload depends on a scalar operand
_DIM_OVERLOADS = {"sum": "dim_IntList", "mean": "dim", "amax": "default", "std": "correction",
                  "var": "correction"}


class ExportOp:
    """A graph target: calls `fn`; prints as ``torch.ops.<aten_name>``."""

    def __init__(self, fn, aten_name, path):
        self.fn = fn
        self.aten_name = aten_name   # 'aten.linear.default'
        self.path = path             # where ember publishes fn: 'ember.nn.functional.linear'
        # nodes calling it are named after the operator ('linear', 'sum_1', as PyTorch)
        space, packet, overload = (aten_name.split(".") + ["", ""])[:3]
        self.__name__ = "sym_size_int" if packet == "sym_size" else packet or space
        self.__qualname__ = self.__name__
        # (graph text reads '<module>.<name>': torch.ops.aten.linear)
        self.__module__ = f"torch.ops.{space}" if space == "aten" else space

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __str__(self):
        return self.aten_name   # (as str() of PyTorch's OpOverload: 'aten.mul.Tensor')

    def __repr__(self):
        return f"torch.ops.{self.aten_name}"

    def __reduce__(self):
        return resolve, (self.path, self.aten_name)


_CACHE = {}


class OpReplay:
    """Runs ember op class `cls` (an ``_ops._base.Op``) as the trace saw it run: the
    first `n_operands` arguments are its operands (tensors, each cast to the dtype the
    op's function had cast it to (`dtypes`); `inputs` says which were graph inputs of the
    op), the rest its parameters."""

    def __init__(self, cls, n_operands, inputs, dtypes):
        self.cls = cls
        self.n_operands = n_operands
        self.inputs = tuple(bool(i) for i in inputs)
        self.dtypes = tuple(None if d is None else str(d) for d in dtypes)

    def __call__(self, *args):
        from .._ops import _base
        from .._tensor import Tensor
        operands, params = args[:self.n_operands], args[self.n_operands:]
        ins, arrays = [], []
        for i, a in enumerate(operands):
            is_input = i < len(self.inputs) and self.inputs[i]
            if isinstance(a, Tensor):
                data = a._data
                want = self.dtypes[i] if i < len(self.dtypes) else None
                if want is not None and str(data.dtype) != want:
                    data = data.astype(want)
                arrays.append(data)
                ins.append(a if is_input else None)
            else:
                arrays.append(a)
                ins.append(None)
        return _base.apply(self.cls, tuple(ins[:len(self.inputs)]), tuple(arrays), *params)

    def state(self):
        return {"n_operands": self.n_operands, "inputs": list(self.inputs),
                "dtypes": list(self.dtypes)}


def op_class_target(cls, aten_name, n_operands, inputs, dtypes):
    """The ExportOp running op class `cls` (saved as 'op:<module>.<class>')."""
    path = f"op:{cls.__module__}.{cls.__qualname__}"
    replay = OpReplay(cls, n_operands, inputs, dtypes)
    key = (path, aten_name, replay.n_operands, replay.inputs, replay.dtypes)
    op = _CACHE.get(key)
    if op is None:
        op = _CACHE[key] = ExportOp(replay, aten_name, path)
    return op


def _resolve_op_class(path, aten_name, replay):
    from .._ops import _base
    module, _, name = path[3:].rpartition(".")
    if not module.startswith("ember._ops.") or not name.isidentifier() or \
            not module.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"ember.export.load: refusing target {path!r}: not one of ember's "
                         f"op classes")
    try:
        cls = importlib.import_module(module).__dict__.get(name)
    except ImportError:
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, _base.Op)):
        raise ValueError(f"ember.export.load: refusing target {path!r}: not one of ember's "
                         f"op classes")
    if not isinstance(replay, dict):
        raise ValueError(f"ember.export.load: op class target {path!r} without its operands")
    n, inputs, dtypes = replay.get("n_operands"), replay.get("inputs"), replay.get("dtypes")
    if not isinstance(n, int) or not isinstance(inputs, list) or \
            not isinstance(dtypes, list) or \
            not all(d is None or (isinstance(d, str) and d.isalnum()) for d in dtypes):
        raise ValueError(f"ember.export.load: malformed operands of {path!r}")
    return op_class_target(cls, aten_name, n, inputs, dtypes)


def target_path(fn):
    """The saved name of `fn`: its public ember path or its helper name, or None."""
    name = _HELPER_NAMES.get(id(fn))
    if name is not None:
        return name
    from ..fx.node import _public_path, _callable_name, _same_function
    path = _public_path(fn)
    if path is None:
        from .._tensor import Tensor
        name = _callable_name(fn)
        if isinstance(name, str) and _same_function(getattr(Tensor, name, None), fn):
            return f"ember.Tensor.{name}"
        key = id(getattr(fn, "_ember_undispatched", fn))
        name = _tensor_methods().get(key)
        if name is None:   # (Tensor's methods may have been wrapped anew since)
            _METHODS.clear()
            _METHODS_KEEP.clear()
            name = _tensor_methods().get(key)
        if name is not None:
            path = f"ember.Tensor.{name}"
    return path


_METHODS = {}
_METHODS_KEEP = []   # (the functions of the table, alive: their ids stay theirs)


def _tensor_methods():
    """id(function) -> its name among Tensor's attributes (methods whose function carries
    another name, as ``__getitem__``)."""
    if not _METHODS:
        from .._tensor import Tensor
        for name in dir(Tensor):
            f = getattr(Tensor, name, None)
            if callable(f):
                inner = getattr(f, "_ember_undispatched", f)
                _METHODS.setdefault(id(inner), name)
                _METHODS_KEEP.append(inner)
    return _METHODS


def _aten_name(fn, path, args, kwargs):
    name = path.rpartition(".")[2]
    if name in _RENAMED:
        packet, overload = _RENAMED[name]
    elif name.startswith("__") and name.endswith("__"):
        packet = name.strip("_")
        if name.startswith("__i"):   # __iadd__ -> add_
            packet = packet[1:] + "_"
        overload = _DEFAULT_OVERLOAD.get(packet.rstrip("_"), "default")
    else:
        packet = name
        overload = _DEFAULT_OVERLOAD.get(packet.rstrip("_"), "default")
        if packet in _DIM_OVERLOADS and (len(args) > 1 or "dim" in kwargs):
            overload = _DIM_OVERLOADS[packet]
    return f"aten.{packet}.{overload}"


def _library_overload(fn, args, kwargs):
    """The overload a call of an ember.library operator runs (a packet picks the one whose
    schema takes the arguments, as its __call__ does), else None for other functions."""
    from ..library import _operators
    if isinstance(fn, _operators.OpOverload):
        return fn
    if not isinstance(fn, _operators.OpOverloadPacket):
        return None
    names = fn.overloads()
    for name in names:
        op = getattr(fn, name)
        if len(names) == 1:
            return op
        try:
            op._entry.schema.bind(args, kwargs)
        except RuntimeError:
            continue
        return op
    return None


def op_for(fn, args=(), kwargs=None, inplace=False):
    """The ExportOp of a call of ember function `fn` with these arguments (`inplace`: a
    functional call with inplace=True, named as PyTorch's in-place overload)."""
    custom = _library_overload(fn, args, kwargs or {})
    if custom is not None:
        # an operator of ember.library: recorded under its own namespace, as the overload
        # it runs ('mylib.scale.default'), as PyTorch's export records custom ops
        path = f"{custom.__module__}.{custom.__name__}"
        aten = f"{custom.namespace}.{custom.__name__}"
        op = _CACHE.get((path, aten))
        if op is None or op.fn is not custom:   # (an operator defined anew)
            op = _CACHE[(path, aten)] = ExportOp(custom, aten, path)
        return op
    path = target_path(fn)
    if path is None:
        path = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
    if path in _HELPERS:
        aten = path
    else:
        aten = _aten_name(fn, path, args, kwargs or {})
        if inplace:
            space, packet, overload = aten.split(".")
            aten = f"{space}.{packet}_.{overload}"
    key = (path, aten)
    op = _CACHE.get(key)
    if op is None:
        op = _CACHE[key] = ExportOp(fn, aten, path)
    return op


# --------------------------------------------------------------------------------------
# resolving a saved target

_SPACES = ("ember", "ember.nn.functional", "ember.linalg", "ember.fft", "ember.special",
           "ember.Tensor")
# modules whose functions compute tensors (nothing that touches files, processes or
# global settings)
_OP_MODULES = ("ember._ops", "ember._tensor", "ember.nn.functional", "ember.functional",
               "ember.linalg", "ember.fft", "ember.special", "ember._functional_aliases",
               "ember._numpy_aliases", "ember._method_out", "ember._quantized",
               "ember._sampling", "ember._sparse_tensor", "ember._complex")
_REFUSED = {"save", "load", "tolist", "numpy", "backward", "register_hook",
            "register_post_accumulate_grad_hook", "share_memory_", "apply_", "map_",
            "map2_", "set_", "storage", "untyped_storage", "from_file", "pin_memory",
            "set_default_dtype", "set_default_device", "manual_seed", "seed",
            "set_rng_state", "use_deterministic_algorithms", "set_num_threads",
            "set_printoptions", "__reduce__", "__reduce_ex__", "__setstate__",
            "__class__", "__init__", "__new__", "__del__", "__getattribute__",
            "__setattr__", "__delattr__", "__init_subclass__", "data_ptr", "tofile",
            "__getattr__"}


def _module_of(f):
    inner = getattr(f, "_ember_undispatched", f)
    return getattr(inner, "__module__", None) or getattr(f, "__module__", None) or ""


def _is_op_module(module):
    return module == "ember" or any(module.startswith(m) for m in _OP_MODULES)


def resolve(path, aten_name, replay=None):
    """The ExportOp a saved program names, refusing anything outside ember's ops
    (`replay`: an op class target's OpReplay.state())."""
    if not isinstance(path, str) or not isinstance(aten_name, str):
        raise ValueError(f"ember.export.load: malformed target {path!r}")
    if path in _HELPERS:
        fn = _HELPERS[path]
        return op_for(fn)
    if path.startswith("op:"):
        return _resolve_op_class(path, aten_name, replay)
    space, _, name = path.rpartition(".")
    if space not in _SPACES or not name or name in _REFUSED or \
            name.startswith("set_") or \
            (name.startswith("_") and not (name.startswith("__") and name.endswith("__"))):
        raise ValueError(f"ember.export.load: refusing target {path!r}: not one of ember's "
                         f"public tensor operations")
    if space == "ember.Tensor":
        from .._tensor import Tensor
        fn = Tensor.__dict__.get(name)
        if fn is None:
            fn = next((c.__dict__[name] for c in Tensor.__mro__ if name in c.__dict__), None)
    else:
        fn = importlib.import_module(space).__dict__.get(name)
    if fn is None or not callable(fn) or isinstance(fn, type) or \
            not _is_op_module(_module_of(fn)) and space != "ember.Tensor":
        raise ValueError(f"ember.export.load: refusing target {path!r}: not one of ember's "
                         f"public tensor operations")
    if not isinstance(aten_name, str) or not aten_name.replace(".", "").replace("_", "") \
            .isalnum():
        raise ValueError(f"ember.export.load: bad operator name {aten_name!r}")
    key = (path, aten_name)
    op = _CACHE.get(key)
    if op is None:
        op = _CACHE[key] = ExportOp(fn, aten_name, path)
    return op
