"""The restricted unpickler of ``load(weights_only=True)``: it never runs code from a file.

A checkpoint's pickle may name only what a file of weights needs: torch's tensor, storage,
Parameter, sparse and quantized rebuilds (ember/_torch_rebuild.py), dtypes, ``torch.Size``,
``torch.device``, OrderedDict and a few plain builtins, plus what the user marked safe with
``add_safe_globals`` / ``safe_globals``. Any other global is refused with PyTorch's
message (an UnpicklingError naming it) before anything is called.

Before unpickling, ``check_pickle_bounds`` walks the pickle's opcodes (nothing executed)
and refuses memo indices and frame lengths no pickler writes, so a forged small file cannot
make the C unpickler allocate gigabytes.
"""
import importlib
import pickle
from collections import OrderedDict

import numpy as np

from . import _dtype, _quantized, _quantized_serialization
from ._map_location import _init_placement, _placed_rebuild
from ._torch_rebuild import (_TORCH_STORAGES, _TORCH_ONLY_DTYPES, _StorageType,
                             _rebuild_tensor, _rebuild_tensor_v3, _rebuild_parameter,
                             _rebuild_meta_tensor_no_storage,
                             _rebuild_from_type_v2, _get_layout, _rebuild_size, _rebuild_device,
                             _rebuild_sparse_tensor)


class _RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside the allow-list, or asked the object reader for a call
    it refuses (_object_pickle.py); raised before anything is called, and shown to the user
    as a plain pickle.UnpicklingError."""


# torch.serialization.add_safe_globals & co.: classes and functions the user trusts, which
# the weights-only reader then admits by their pickled name. Each entry is the object, or
# (object, "module.qualname") to admit it under another name, as in PyTorch.
_USER_SAFE_GLOBALS = set()


def add_safe_globals(safe_globals):
    """Mark `safe_globals` (a list of classes/functions, or (object, name) pairs) as safe
    for ``load(weights_only=True)``: a pickle may name them, construct them (NEWOBJ/REDUCE)
    and set their state (``__setstate__`` or ``__dict__``), e.g. a whole saved module."""
    global _USER_SAFE_GLOBALS
    _USER_SAFE_GLOBALS = _USER_SAFE_GLOBALS.union(set(safe_globals))


def get_safe_globals():
    """The objects marked safe by add_safe_globals / safe_globals."""
    return list(_USER_SAFE_GLOBALS)


def clear_safe_globals():
    """Forget every object add_safe_globals marked."""
    global _USER_SAFE_GLOBALS
    _USER_SAFE_GLOBALS = set()


class safe_globals:
    """Context manager marking `safe_globals` safe inside the block only."""

    def __init__(self, safe_globals):
        self.safe_globals = safe_globals

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        global _USER_SAFE_GLOBALS
        _USER_SAFE_GLOBALS = _USER_SAFE_GLOBALS - set(self.safe_globals)
        return False


def _user_safe_global(module, name):
    """The user-marked object pickled as `module.name`, or None. A name under torch or ember
    is looked up in ember (a file PyTorch wrote names torch.nn.modules.batchnorm, ember
    keeps BatchNorm1d elsewhere and re-exports it there); other names are only compared."""
    full = f"{module}.{name}"
    for entry in _USER_SAFE_GLOBALS:
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise ValueError(f"Expected tuple of length 2 (global, str of callable full "
                                 f"path), but got tuple of length: {len(entry)}")
            if entry[1] == full:
                return entry[0]
        elif f"{entry.__module__}.{entry.__qualname__}" == full:
            return entry
    top, _, rest = module.partition(".")
    if top not in ("torch", "ember"):
        return None
    try:   # ember's own modules only: importing them runs no code from the file
        obj = importlib.import_module("ember" + ("." + rest if rest else ""))
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    plain = [e for e in _USER_SAFE_GLOBALS if not isinstance(e, tuple)]
    return obj if any(obj is e for e in plain) else None


class _TorchUnpickler(pickle.Unpickler):
    """Admits only what a weights file needs; everything else is refused unseen."""

    _ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_meta_tensor_no_storage"): _rebuild_meta_tensor_no_storage,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
        ("torch._utils", "_rebuild_sparse_tensor"): _rebuild_sparse_tensor,
        ("torch._utils", "_rebuild_qtensor"): _quantized_serialization.rebuild_qtensor,
        ("torch", "Size"): _rebuild_size,
        ("torch", "device"): _rebuild_device,
        ("torch.serialization", "_get_layout"): _get_layout,
        ("collections", "OrderedDict"): OrderedDict,
        ("torch.nn.parameter", "Parameter"): None,   # only as new_type in from_type_v2
        ("torch", "Tensor"): None,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "slice"): slice,
        ("builtins", "complex"): complex,
    }

    # the rebuild functions whose first argument is a storage: their tensors are placed on
    # the device the storage's record names (after map_location), as torch restores them
    _PLACED = frozenset({("torch._utils", "_rebuild_tensor_v2"),
                         ("torch._utils", "_rebuild_tensor_v3"),
                         ("torch._utils", "_rebuild_tensor")})

    place_on_rebuild = True   # False in the legacy reader's first reading (storages still empty)

    def __init__(self, fh, read_storage, map_location, encoding="ASCII"):
        super().__init__(fh, encoding=encoding)
        self._init_reader(read_storage, map_location)

    def _init_reader(self, read_storage, map_location):
        """What every checkpoint reader keeps (the object reader of _object_pickle too):
        read_storage(key, dtype, numel) reads a storage's array, `storages` holds each one
        read, and where each goes is decided as map_location says (_map_location.py)."""
        self.read_storage = read_storage
        self.map_location = map_location
        self.storages = {}
        _init_placement(self)

    def find_class(self, module, name):
        if module == "__builtin__":   # protocol-2 pickles name builtins as Python 2 did
            module = "builtins"
        if (module, name) in _TorchUnpickler._PLACED and self.place_on_rebuild:
            return _placed_rebuild(self, _TorchUnpickler._ALLOWED[(module, name)])
        if module == "torch" and name in _TORCH_STORAGES:
            return _StorageType(name)
        if (module, name) == ("torch.storage", "UntypedStorage"):
            return _StorageType(name, np.uint8)
        if module == "torch" and name in _quantized_serialization.STORAGES:
            return _StorageType(name, _quantized_serialization.STORAGES[name])
        if module == "torch" and name in _quantized.QSCHEMES:
            return _quantized.QSCHEMES[name]
        if module == "torch" and name in _dtype._BY_NAME and \
                name not in _TORCH_ONLY_DTYPES:
            return _dtype._BY_NAME[name]
        if module == "torch" and name in _TORCH_ONLY_DTYPES:
            raise NotImplementedError(f"the checkpoint holds torch.{name} tensors; ember cannot "
                                      f"hold {name} tensors (NumPy has no type for them)")
        key = (module, name)
        if key in self._ALLOWED:
            fn = self._ALLOWED[key]
            return fn if fn is not None else _Placeholder(module, name)
        trusted = _user_safe_global(module, name)
        if trusted is not None:
            return trusted
        full = f"{module}.{name}"
        raise _RefusedGlobal(
            "Weights only load failed. This file can still be loaded, to do so you have two "
            "options, \x1b[1mdo those steps only if you trust the source of the "
            "checkpoint\x1b[0m. \n\t(1) In PyTorch 2.6, we changed the default value of the "
            "`weights_only` argument in `torch.load` from `False` to `True`. Re-running "
            "`torch.load` with `weights_only` set to `False` will likely succeed, but it can "
            "result in arbitrary code execution. Do it only if you got the file from a trusted "
            "source.\n\t(2) Alternatively, to load with `weights_only=True` please check the "
            "recommended steps in the following error message.\n\tWeightsUnpickler error: "
            f"Unsupported global: GLOBAL {full} was not an allowed global by default. Please "
            f"use `torch.serialization.add_safe_globals([{full}])` or the "
            f"`torch.serialization.safe_globals([{full}])` context manager to allowlist this "
            "global if you trust this class/function.\n\nCheck the documentation of "
            "torch.load to learn more about types accepted by default with weights_only "
            "https://pytorch.org/docs/stable/generated/torch.load.html.")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, stype, key, location, numel = pid[:5]
        if not isinstance(stype, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {stype!r}")
        if key not in self.storages:
            arr = self.read_storage(str(key), stype.dtype, int(numel))
            self.storages[key] = arr
            self.locations[id(arr)] = str(location)
        return self.storages[key]


class _Placeholder:
    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError(f"{self.module}.{self.name} cannot be constructed here")


class ForgedPickle(ValueError):
    """A pickle whose memo indices or frame lengths no pickler writes (see check_pickle_bounds)."""


class _Bounded:
    """A read-only window on `fh` that never reads past the end of the file, so a forged
    length makes a short read instead of a huge allocation."""

    def __init__(self, fh, end):
        self.fh, self.end = fh, end
        self.pos = fh.tell()

    def read(self, n=-1):
        if n < 0 or n > self.end - self.pos:
            n = self.end - self.pos
        data = self.fh.read(n)
        self.pos += len(data)
        return data

    def readline(self):
        line = self.fh.readline(self.end - self.pos)
        self.pos += len(line)
        return line

    def tell(self):
        return self.pos


def check_pickle_bounds(fh):
    """Walk the opcodes of the pickle at fh's position (none is executed) and return to
    it. CPython's C unpickler sizes its memo table by the largest index a PUT names and
    reads a FRAME or a byte string of whatever length the file claims, so a forged
    1-kB file could make it allocate tens of gigabytes; a real pickler numbers its memo
    entries 0, 1, 2 ... and its lengths fit in the file."""
    import pickletools   # only loads need it: not imported with ember
    start = fh.tell()
    end = fh.seek(0, 2)
    fh.seek(start)
    for count, (op, arg, pos) in enumerate(pickletools.genops(_Bounded(fh, end))):
        if op.name in ("PUT", "BINPUT", "LONG_BINPUT") and not 0 <= int(arg) <= count:
            raise ForgedPickle(f"pickle memo index {arg} at byte {pos}, after only {count} "
                           f"opcodes")
        if op.name == "FRAME" and arg > end - pos - 9:   # FRAME: 1 opcode + 8 length bytes
            raise ForgedPickle(f"pickle frame of {arg} bytes at byte {pos} runs past the end "
                           f"of the file")
    fh.seek(start)
