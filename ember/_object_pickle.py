"""Whole-object checkpoints: ``torch.save(model, f)`` and ``torch.load(f, weights_only=False)``.

PyTorch pickles whatever it is given: a whole module, an optimizer, a dict holding the
user's own objects. ember writes such objects (those its own format cannot hold) in
PyTorch's zip layout: ``data.pkl`` is Python's pickle of the object, each tensor in it is
written as torch's rebuild call over a storage record (serialization._TorchPickler), and
every other object (ember's modules, the user's classes) by reference to its class, as
pickle does. As in PyTorch, the class definitions must be importable when loading.

Loading such a file needs ``weights_only=False`` (PyTorch's rule since 2.6): the
weights-only reader refuses any class it does not know. Even then ember does not run
arbitrary code from a file: the reader rebuilds objects the way pickle does for plain
classes (``cls.__new__(cls)`` and their saved state), but a pickle may *call* only the
functions and classes a checkpoint of tensors, containers and objects needs
(_callable_allowed); ``os.system``, ``eval``, ``subprocess.Popen`` ... are refused with an
UnpicklingError naming them.
"""
import _codecs
import copyreg
import enum
import importlib
import pickle
import sys

import numpy as np

from . import serialization as _ser

# calls a pickle may make: reconstructors and constructors of plain data; NumPy arrays and
# scalars (torch.save(ndarray), as pytorch/examples' time_sequence_prediction writes its
# data) rebuild through the functions their own __reduce__ names, and their raw bytes come
# through _codecs.encode (protocol-2 pickles of bytes)
_CALLABLE_FUNCTIONS = {copyreg._reconstructor, copyreg.__newobj__, copyreg.__newobj_ex__,
                       _codecs.encode, np.zeros(0).__reduce__()[0],
                       np.float64(0).__reduce__()[0]}
_SAFE_BUILTIN_TYPES = {set, frozenset, slice, complex, bytearray, list, dict, tuple, range,
                       object, int, float, str, bytes, bool}
_CLASS_MODULES = ("ember", "collections", "datetime", "fractions", "decimal", "numpy",
                  "ml_dtypes")


def _top(module_name):
    return (module_name or "").split(".")[0]


def _callable_allowed(fn):
    """Whether a pickle may call `fn` (REDUCE): the rebuild functions of tensors, plain
    data constructors, ember's own classes and functions that rebuild objects by name,
    enums, and classes deriving from ember's Module, Tensor, Optimizer or Dataset
    (the user's models, which pickle may construct when their __reduce__ asks)."""
    if fn in _CALLABLE_FUNCTIONS or fn in _ser._TorchUnpickler._ALLOWED.values():
        return True
    if isinstance(fn, _ser._StorageType):
        return True
    if isinstance(fn, type):
        if fn in _SAFE_BUILTIN_TYPES or issubclass(fn, enum.Enum):
            return True
        if _top(fn.__module__) in _CLASS_MODULES:
            return True
        from .nn.modules.module import Module
        from .optim.optimizer import Optimizer
        from .utils.data import Dataset
        from ._tensor import Tensor
        return issubclass(fn, (Module, Tensor, Optimizer, Dataset))
    # ember's functions that rebuild its objects by name (dtypes, devices, layouts ...)
    module = getattr(fn, "__module__", "") or ""
    return module.startswith("ember.") and getattr(fn, "__name__", "").startswith(
        ("_dtype_by_name", "_rebuild", "_restore", "_unpickle", "_from_"))


class _ObjectUnpickler(pickle._Unpickler):
    """Python's pickle reader (the pure-Python one, whose REDUCE can be checked) with the
    torch names of the weights-only reader and ember's classes for torch's."""

    _ALLOWED = _ser._TorchUnpickler._ALLOWED

    def __init__(self, fh, read_storage, map_location, encoding="ASCII"):
        super().__init__(fh, encoding=encoding)
        self.read_storage = read_storage
        self.map_location = map_location
        self.storages = {}

    def persistent_load(self, pid):
        return _ser._TorchUnpickler.persistent_load(self, pid)

    def find_class(self, module, name):
        try:
            return _ser._TorchUnpickler.find_class(self, module, name)
        except _ser._RefusedGlobal:
            pass
        if module == "__builtin__":
            module = "builtins"
        if _top(module) == "torch":   # a file pickled by PyTorch: ember's class of that name
            module = "ember" + module[len("torch"):]
        if module not in sys.modules:
            importlib.import_module(module)
        obj = sys.modules[module]
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj

    def load_reduce(self):
        args = self.stack[-1]
        fn = self.stack[-2]
        if not _callable_allowed(fn):
            where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
            raise pickle.UnpicklingError(
                f"refusing to call {where} from a checkpoint: even with weights_only=False, "
                f"ember rebuilds objects from their saved state but runs no other code from a "
                f"file")
        del self.stack[-2:]
        self.append(fn(*args))

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.REDUCE[0]] = load_reduce


class _ObjectPickler(_ser._TorchPickler):
    """torch's pickling of tensors (storage records), plain pickling of everything else,
    dtypes, devices and sizes included (they pickle by name)."""

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, (_ser._dtype.dtype, _ser._device_cls, _ser.Size)):
            pickle._Pickler.save(self, obj, save_persistent_id)
            return
        super().save(obj, save_persistent_id)


def save(obj, fh):
    """Write `obj` (any picklable object) to binary file `fh` in PyTorch's zip layout."""
    _ser._save_torch(obj, fh, pickler=_ObjectPickler)


def load(data, read_storage, map_location):
    """The object pickled in `data` (a file of data.pkl's bytes), its storages read by
    `read_storage`; tensors inside objects are moved as `map_location` says."""
    obj = _ObjectUnpickler(data, read_storage, map_location).load()
    if map_location is None:
        return obj
    return _moved(obj, lambda t: _ser._apply_map_location(t, map_location))


def _moved(obj, move):
    """`obj` with `move` applied to its tensors: in containers, and in modules (in place,
    as Module.to does)."""
    from .nn.modules.module import Module
    if isinstance(obj, Module):
        return obj._apply(move)
    if isinstance(obj, dict):
        for k, v in obj.items():
            obj[k] = _moved(v, move)
        return obj
    if isinstance(obj, list):
        return [_moved(v, move) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_moved(v, move) for v in obj)
    return move(obj) if isinstance(obj, _ser.Tensor) else obj


def is_plain(obj):
    """Whether ember's own format holds `obj` (tensors, numbers, strings and containers of
    them); anything else is written as a pickled object."""
    try:
        _ser._Encoder().enc(obj)
    except TypeError:
        return False
    return True

