"""Whole-object checkpoints: ``torch.save(model, f)`` and ``torch.load(f, weights_only=False)``.

PyTorch pickles whatever it is given: a whole module, an optimizer, a dict holding the
user's own objects. ember writes such objects (those its own format cannot hold) in
PyTorch's zip layout: ``data.pkl`` is Python's pickle of the object, each tensor in it is
written as torch's rebuild call over a storage record (_zipformat_write._TorchPickler), and
every other object (ember's modules, the user's classes) by reference to its class, as
pickle does. As in PyTorch, the class definitions must be importable when loading.

Loading such a file needs ``weights_only=False`` (PyTorch's rule since 2.6): the
weights-only reader refuses any class it does not know. Even then ember does not run
arbitrary code from a file: the reader rebuilds objects the way pickle does for plain
classes (``object.__new__(cls)`` and their saved state), but every opcode that calls
something is checked:
  REDUCE, INST, OBJ   only the functions and classes a checkpoint of tensors, containers
                      and objects needs (_callable_allowed);
  NEWOBJ(_EX), copyreg's __newobj__/__newobj_ex__/_reconstructor
                      only classes whose ``__new__`` runs no code of theirs (object's, a
                      builtin container's, a namedtuple's) or allowed classes; the base a
                      _reconstructor initialises must be object or a builtin container;
  BUILD               a custom ``__setstate__`` only of ember's classes, of the allowed
                      libraries' and of the user's own code (not of any installed module).
``os.system``, ``eval``, ``subprocess.Popen`` ... are refused with an UnpicklingError naming
them.
"""
import _compat_pickle
import os
import sysconfig
import _codecs
import copyreg
import enum
import importlib
import pickle
import sys

import numpy as np

from ._device import device as _device_cls
from ._dtype import dtype as _dtype_cls
from ._ember_format import _Encoder
from ._safe_unpickler import _RefusedGlobal, _TorchUnpickler
from ._tensor import Size
from ._torch_rebuild import _StorageType
from ._zipformat_write import _TorchPickler, _save_torch

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
    if fn in _CALLABLE_FUNCTIONS or fn in _TorchUnpickler._ALLOWED.values():
        return True
    if isinstance(fn, _StorageType):
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


_CONSTRUCTORS = (copyreg._reconstructor, copyreg.__newobj__, copyreg.__newobj_ex__)
_SAFE_NEW = {t.__new__ for t in _SAFE_BUILTIN_TYPES}
# where installed code lives: a class defined elsewhere is the user's own
_LIBRARY_DIRS = tuple({os.path.realpath(p) + os.sep for p in
                       (sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib",
                                                           "platlib")) if p})


def _new_allowed(cls):
    """Whether ``cls.__new__(cls, ...)`` may run: it runs no code of cls's own."""
    if not isinstance(cls, type):
        return False
    if cls.__new__ is object.__new__ or cls.__new__ in _SAFE_NEW:
        return True
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):   # a namedtuple
        return True
    return _callable_allowed(cls)


def _user_module(name):
    """Whether module `name` is the user's own code (the script, or a file outside the
    installed libraries)."""
    if name in ("__main__", "__mp_main__"):
        return True
    path = getattr(sys.modules.get(name), "__file__", None)
    return bool(path) and not os.path.realpath(path).startswith(_LIBRARY_DIRS)


def _setstate_allowed(cls):
    """Whether BUILD may call the ``__setstate__`` instances of `cls` have."""
    for owner in cls.__mro__:
        if "__setstate__" in owner.__dict__:
            break
    else:
        return True
    module = owner.__module__ or ""
    return (module == "builtins" or _top(module) in _CLASS_MODULES or _user_module(module)
            or _callable_allowed(owner))


def _refuse(fn, what="call"):
    where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
    raise _RefusedGlobal(
        f"refusing to {what} {where} from a checkpoint: even with weights_only=False, ember "
        f"rebuilds objects from their saved state but runs no other code from a file")


def _check_call(fn, args):
    """Refuse a call a checkpoint may not make (see the module docstring)."""
    if fn in _CONSTRUCTORS:
        cls = args[0] if args else None
        if not _new_allowed(cls):
            _refuse(cls, "construct")
        if fn is copyreg._reconstructor:
            base = args[1] if len(args) > 1 else None
            if not (base is object or (base in _SAFE_BUILTIN_TYPES and isinstance(cls, type)
                                       and issubclass(cls, base))):
                _refuse(base, "initialise")
        return
    if not _callable_allowed(fn):
        _refuse(fn)


class _ObjectUnpickler(pickle._Unpickler):
    """Python's pickle reader (the pure-Python one, whose REDUCE can be checked) with the
    torch names of the weights-only reader and ember's classes for torch's."""

    _ALLOWED = _TorchUnpickler._ALLOWED
    place_on_rebuild = True

    def __init__(self, fh, read_storage, map_location, encoding="ASCII"):
        super().__init__(fh, encoding=encoding)
        _TorchUnpickler._init_reader(self, read_storage, map_location)

    def persistent_load(self, pid):
        return _TorchUnpickler.persistent_load(self, pid)

    def find_class(self, module, name):
        try:
            return _TorchUnpickler.find_class(self, module, name)
        except _RefusedGlobal:
            pass
        if self.proto < 3 and (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]   # Python 2's names
        elif self.proto < 3:
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) == ("torch", "ScriptObject"):   # packed quantized parameters
            from ._script_object import ScriptObject
            return ScriptObject
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
        _check_call(fn, args)
        del self.stack[-2:]
        self.append(fn(*args))

    def _instantiate(self, klass, args):   # INST and OBJ (protocols 0 and 1)
        _check_call(klass, args)
        return super()._instantiate(klass, args)

    def load_newobj(self):
        cls = self.stack[-2]
        if not _new_allowed(cls):
            _refuse(cls, "construct")
        super().load_newobj()

    def load_newobj_ex(self):
        cls = self.stack[-3]
        if not _new_allowed(cls):
            _refuse(cls, "construct")
        super().load_newobj_ex()

    def load_build(self):
        inst = self.stack[-2]
        if getattr(inst, "__setstate__", None) is not None and \
                not _setstate_allowed(type(inst)):
            _refuse(type(inst).__setstate__, "call")
        super().load_build()

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build


class _ObjectPickler(_TorchPickler):
    """torch's pickling of tensors (storage records), plain pickling of everything else,
    dtypes, devices and sizes included (they pickle by name)."""

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, (_dtype_cls, _device_cls, Size)):
            pickle._Pickler.save(self, obj, save_persistent_id)
            return
        super().save(obj, save_persistent_id)


def save(obj, fh):
    """Write `obj` (any picklable object) to binary file `fh` in PyTorch's zip layout."""
    _save_torch(obj, fh, pickler=_ObjectPickler)


def load(data, read_storage, map_location):
    """The object pickled in `data` (a file of data.pkl's bytes), its storages read by
    `read_storage`; tensors inside objects are moved as `map_location` says."""
    return _ObjectUnpickler(data, read_storage, map_location).load()   # tensors placed


def is_plain(obj):
    """Whether ember's own format holds `obj` (tensors, numbers, strings and containers of
    them); anything else is written as a pickled object."""
    try:
        _Encoder().enc(obj)
    except TypeError:
        return False
    return True

