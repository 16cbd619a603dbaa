"""Reading and writing TorchScript archives (``torch.jit.save`` / ``torch.jit.load`` files).

An archive is a zip whose one top folder holds:

- ``data.pkl``: the module tree, pickled objects of classes named ``__torch__.<qualname>``
  whose state is a dict of attributes; tensors are persistent ids into ``data/``;
- ``constants.pkl``: the tuple of tensor constants the code names ``CONSTANTS.c<i>``
  (storages in ``constants/``);
- ``code/__torch__/**.py``: the TorchScript source of each class's methods (_code.py);
- ``extra/<name>``: the caller's ``_extra_files``; ``.data/version`` (10, as torch 2.x
  writes), ``byteorder``.

Loading never runs code from the file: the pickles go through ember's weights-only
unpickler (_safe_unpickler._TorchUnpickler), extended only to build ``__torch__`` objects as
inert stubs and to accept ``torch.jit._pickle.restore_type_tag``; the code is parsed with
``ast.parse`` and run by ember's interpreter (_interp.py).
"""
import inspect
import io
import os
import pickle
import zipfile

from .._map_location import _apply_map_location
from .._safe_unpickler import _RefusedGlobal, _TorchUnpickler, check_pickle_bounds
from .._storage_layout import _le
from .._zipformat_read import _read_record
from .._zipformat_write import _TorchGlobal, _TorchPickler
from .._zipwrite import write_stored_zip
from ..serialization import _is_path, _name_of
from .._tensor import Tensor
from ..nn import Module as _Module
from ._code import CodeUnit, check_qualname
from ._interp import Interpreter
from ._script_module import (RecursiveScriptModule, ScriptObject, TaggedDict, TaggedList,
                             as_parameter, retag)


class _Stub:
    """A pickled ``__torch__`` object before it becomes a module: its class's qualified
    name and the state pickle's BUILD gave it."""
    qualname = None

    def __setstate__(self, state):
        self.state = state


_JIT_LIST_BUILDERS = ("build_intlist", "build_doublelist", "build_boollist",
                      "build_tensorlist")


class _ArchiveUnpickler(_TorchUnpickler):
    """The weights-only unpickler, plus the archive's own ``__torch__`` classes (as
    stubs: nothing of them is imported or called) and TorchScript's type tags."""

    def __init__(self, fh, read_storage, map_location):
        super().__init__(fh, read_storage, map_location)
        self.stub_classes = {}

    def find_class(self, module, name):
        if module == "__torch__" or module.startswith("__torch__."):
            qual = check_qualname(f"{module}.{name}")
            if qual not in self.stub_classes:
                self.stub_classes[qual] = type("ScriptStub", (_Stub,), {"qualname": qual})
            return self.stub_classes[qual]
        if module == "torch.jit._pickle":
            if name == "restore_type_tag":
                return _restore_type_tag
            if name in _JIT_LIST_BUILDERS:
                return lambda values: TaggedList(_checked_list(values), name)
        return super().find_class(module, name)


def _checked_list(values):
    if not isinstance(values, list):
        raise pickle.UnpicklingError(f"TorchScript list builder given a "
                                     f"{type(values).__name__}")
    return values


def _restore_type_tag(value, tag):
    """torch.jit._pickle.restore_type_tag: the list or dict, carrying its type tag."""
    if not isinstance(tag, str):
        raise pickle.UnpicklingError("restore_type_tag: the tag must be a string")
    if isinstance(value, list):
        return TaggedList(value, tag)
    if isinstance(value, dict):
        return TaggedDict(value, tag)
    return value


def _archive_prefix(z, name):
    pkl = [n for n in z.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pkl:
        raise RuntimeError(f"{name} is not a TorchScript archive: no data.pkl record "
                           f"(PytorchStreamReader failed locating file data.pkl)")
    return pkl[0][:-len("data.pkl")]


def _unpickle(z, prefix, record, storage_dir, map_location):
    names = set(z.namelist())
    if prefix + record not in names:
        return None
    byteorder = "<"
    if prefix + "byteorder" in names and z.read(prefix + "byteorder").strip() == b"big":
        byteorder = ">"

    def read_storage(key, dt, numel):
        return _read_record(z, f"{prefix}{storage_dir}/{key}", dt, numel, None, byteorder)
    data = io.BytesIO(z.read(prefix + record))
    check_pickle_bounds(data)
    up = _ArchiveUnpickler(data, read_storage, map_location)
    try:
        obj = up.load()
    except _RefusedGlobal as e:
        raise pickle.UnpicklingError(f"ember.jit.load: {record} of the archive names a "
                                     f"global outside the allow-list: {e}") from None
    return obj


class _Builder:
    """Turns the unpickled stubs into RecursiveScriptModules / ScriptObjects."""

    def __init__(self, unit, interp, map_location):
        self.unit, self.interp = unit, interp
        self.map_location = map_location
        self.done = {}      # id(stub or tensor) -> built object
        self.keep = []      # the stubs and tensors whose ids key `done`

    def tensor(self, t, role=None):
        key = id(t)
        if key not in self.done:
            moved = _apply_map_location(t, self.map_location)
            self.done[key] = as_parameter(moved) if role == "parameter" else moved
            self.keep.append(t)
        return self.done[key]

    def collect_parameters(self, obj, seen=None):
        """First pass: every module's parameters become Parameter objects, so that other
        attributes naming the same tensors (an LSTM's _flat_weights) get them too."""
        seen = set() if seen is None else seen
        if isinstance(obj, _Stub):
            if id(obj) in seen:
                return
            seen.add(id(obj))
            cls = self.unit.script_class(obj.qualname)
            state = getattr(obj, "state", None)
            if isinstance(state, dict):
                for name, value in state.items():
                    if name in cls.parameters and isinstance(value, Tensor):
                        self.tensor(value, "parameter")
                    else:
                        self.collect_parameters(value, seen)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                self.collect_parameters(v, seen)
        elif isinstance(obj, dict):
            for v in obj.values():
                self.collect_parameters(v, seen)

    def build(self, obj):
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if isinstance(obj, _Stub):
            return self.stub(obj)
        if isinstance(obj, list):
            return retag(obj, [self.build(v) for v in obj])
        if isinstance(obj, tuple) and type(obj) is tuple:
            return tuple(self.build(v) for v in obj)
        if isinstance(obj, dict):
            return retag(obj, {k: self.build(v) for k, v in obj.items()})
        return obj

    def stub(self, stub):
        if id(stub) in self.done:
            return self.done[id(stub)]
        cls = self.unit.script_class(stub.qualname)
        state = getattr(stub, "state", {})
        custom = "__setstate__" in cls.methods
        if not custom and not isinstance(state, dict):
            raise NotImplementedError(f"TorchScript object {stub.qualname} pickled with a "
                                      f"state of type {type(state).__name__}")
        if cls.kind == "module":
            out = RecursiveScriptModule(cls, self.interp)
        elif cls.kind == "class":
            out = ScriptObject(cls, self.interp, {})
        else:
            raise NotImplementedError(f"pickled TorchScript {cls.kind} {stub.qualname}")
        self.done[id(stub)] = out
        self.keep.append(stub)
        if custom:
            if cls.kind == "module":
                out._init_state({}, self.tensor)
            self.interp.call(cls.methods["__setstate__"], (out, self.build(state)), {})
            return out
        if cls.kind == "module":
            built = {}
            for name, value in state.items():
                built[name] = value if name in cls.parameters or name in cls.buffers \
                    else self.build(value)
            out._init_state(built, self.tensor)
            object.__setattr__(out, "_state_order", list(state))
        else:
            out._state.update({k: self.build(v) for k, v in state.items()})
        return out


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    """Read a TorchScript archive written by ``torch.jit.save`` (or ``ember.jit.save``).

    Returns a ``RecursiveScriptModule``: its parameters, buffers and submodules mirror the
    archive and calling it runs the archive's ``forward`` in ember's interpreter of
    TorchScript code, with ember's operators. `map_location` moves the tensors as
    ``ember.load``'s does; `_extra_files` ({name: anything}) gets each named extra file's
    bytes. Nothing in the file is executed as Python: only known globals are unpickled
    and the code is interpreted node by node.
    """
    if _is_path(f):
        if not os.path.exists(os.fspath(f)):
            raise ValueError(f"The provided filename {os.fspath(f)} does not exist")
        if os.path.isdir(os.fspath(f)):
            raise ValueError(f"The provided filename {os.fspath(f)} is a directory")
    if isinstance(map_location, str):
        from .. import device as _device
        map_location = _device(map_location)
    try:
        archive = zipfile.ZipFile(f)
    except zipfile.BadZipFile:
        raise RuntimeError(f"{_name_of(f)} is not a TorchScript archive: "
                           f"PytorchStreamReader failed reading zip archive: failed finding "
                           f"central directory") from None
    with archive as z:
        name = _name_of(f)
        prefix = _archive_prefix(z, name)
        code_dir = prefix + "code/"
        files = {n[len(code_dir):]: z.read(n).decode("utf-8") for n in z.namelist()
                 if n.startswith(code_dir) and n.endswith(".py")}
        unit = CodeUnit(files)
        constants = _unpickle(z, prefix, "constants.pkl", "constants", map_location)
        if constants is None:
            constants = ()
        if not isinstance(constants, tuple):
            raise RuntimeError(f"{name}: constants.pkl holds a {type(constants).__name__}, "
                               f"not a tuple")
        constants = tuple(_apply_map_location(c, map_location)
                          if isinstance(c, Tensor) else c for c in constants)
        interp = Interpreter(unit, constants, lambda cls, state: ScriptObject(cls, interp,
                                                                              state))
        root = _unpickle(z, prefix, "data.pkl", "data", map_location)
        if not isinstance(root, _Stub):
            raise RuntimeError(f"{name}: data.pkl holds a {type(root).__name__}, not a "
                               f"TorchScript module")
        builder = _Builder(unit, interp, map_location)
        builder.collect_parameters(root)
        module = builder.build(root)
        if not isinstance(module, RecursiveScriptModule):
            raise RuntimeError(f"{name}: the archive's root object is not a module")
        if _extra_files is not None:
            for key in list(_extra_files):
                member = f"{prefix}extra/{key}"   # a missing file reads as b"", as torch's
                _extra_files[key] = z.read(member) if member in z.namelist() else b""
    return module


# ============================================================================ saving

class _ArchivePickler(_TorchPickler):
    """Pickles a loaded module tree as torch.jit.save does: each module an object of its
    ``__torch__`` class built from its attribute dict, tensors by persistent id (plain
    tensors: TorchScript's unpickler knows no Parameter), lists with their type tags."""

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, (RecursiveScriptModule, ScriptObject)):
            x = self.memo.get(id(obj))
            if x is not None:
                self.write(self.get(x[0]))
                return
            module, _, name = obj._script_class.qualname.rpartition(".")
            self.save_global(_TorchGlobal(module, name))
            self.write(pickle.EMPTY_TUPLE + pickle.NEWOBJ)
            self.memoize(obj)
            methods = obj._script_class.methods
            if "__getstate__" in methods:   # the class pickles itself (its __setstate__ loads)
                state = obj._interp.call(methods["__getstate__"], (obj,), {})
            else:
                state = _script_state(obj)
            self.save(state)
            self.write(pickle.BUILD)
            return
        if isinstance(obj, (TaggedList, TaggedDict)):
            x = self.memo.get(id(obj))
            if x is not None:
                self.write(self.get(x[0]))
                return
            plain = list(obj) if isinstance(obj, list) else dict(obj)
            if obj.tag in _JIT_LIST_BUILDERS:
                self.save_reduce(_TorchGlobal("torch.jit._pickle", obj.tag), (plain,),
                                 obj=obj)
            else:
                self.save_reduce(_TorchGlobal("torch.jit._pickle", "restore_type_tag"),
                                 (plain, obj.tag), obj=obj)
            return
        if isinstance(obj, Tensor) and type(obj) is not Tensor:
            x = self.memo.get(id(obj))
            if x is not None:
                self.write(self.get(x[0]))
                return
            self.save_reduce(*self._rebuild_args(obj), obj=obj)
            return
        super().save(obj, save_persistent_id)


def _script_state(obj):
    """The attribute dict a module or object is pickled with, in the archive's order."""
    if isinstance(obj, ScriptObject):
        return dict(obj._state)
    d = obj.__dict__
    order = list(d.get("_state_order") or ["training"])
    for store in (d["_parameters"], d["_buffers"], d["_modules"], obj._script_values):
        order += [name for name in store if name not in order]   # set since loading
    state = {}
    for name in order:
        if name == "training":
            value = obj.training
        elif name in d["_parameters"]:
            value = d["_parameters"][name]
        elif name in d["_buffers"]:
            value = d["_buffers"][name]
        elif name in d["_modules"]:
            value = d["_modules"][name]
        else:
            value = obj._script_values[name]
        state[name] = value
    return state


def _pickle_records(obj, prefix, record, storage_dir, pickler_cls):
    storages = {}
    buf = io.BytesIO()
    pickler_cls(buf, storages).dump(obj)
    records = [(f"{prefix}/{record}", buf.getvalue())]
    records += [(f"{prefix}/{storage_dir}/{ref.key}", _le(ref.root))
                for ref in storages.values()]
    return records


def save(m, f, _extra_files=None):
    """Write `m` as a TorchScript archive that ``ember.jit.load`` and real
    ``torch.jit.load`` read.

    A function (what ``torch.jit.script`` of a function gives in PyTorch) is written as
    a module whose forward calls it, as PyTorch writes one.
    A module read by ``ember.jit.load`` is written with its code as it was read and its
    current parameters, buffers and attributes. A plain ember module gets code written
    from its ``ember.fx`` trace (_codegen.py: leaf modules such as Linear, Conv2d,
    BatchNorm2d, ReLU from templates, the root's forward node by node); a module whose
    trace holds a layer, function or method outside those tables raises
    NotImplementedError naming it."""
    if not isinstance(m, RecursiveScriptModule):
        from ._codegen import function_module, script_module
        from ._trace import actual_module
        m = actual_module(m)   # (ember.jit.trace's module: the module it traced)
        if inspect.isfunction(m):
            m = function_module(m)   # a scripted function: saved as PyTorch saves one
        if not isinstance(m, _Module):
            raise NotImplementedError(
                f"ember.jit.save: only modules and functions can be saved, not a "
                f"{type(m).__name__}")
        try:
            m = script_module(m)
        except NotImplementedError as e:
            raise NotImplementedError(
                f"{e}. ember has no TorchScript compiler: it writes code only for modules "
                f"traced by ember.fx into known layers and ops; save the weights with "
                f"ember.save(model.state_dict(), path) instead") from None
    prefix = "archive"
    if _is_path(f):
        stem = os.path.splitext(os.path.basename(os.fspath(f)))[0]
        prefix = stem if stem and stem.isidentifier() else "archive"
    records = _pickle_records(m, prefix, "data.pkl", "data", _ArchivePickler)
    for path, text in m._interp.unit.files.items():
        records.append((f"{prefix}/code/{path}", text.encode("utf-8")))
    records += _pickle_records(m._interp.constants, prefix, "constants.pkl", "constants",
                               _ArchivePickler)
    for key, value in (_extra_files or {}).items():
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        records.append((f"{prefix}/extra/{key}", data))
    # the operator version torch 2.x writes: below it, torch.jit.load runs its upgraders
    # (an older torch.div of integer tensors truncated; gelu took no `approximate`)
    records += [(f"{prefix}/.data/version", b"10\n"), (f"{prefix}/byteorder", b"little")]
    if _is_path(f):
        with open(os.fspath(f), "wb") as fh:
            write_stored_zip(fh, records)
    else:
        write_stored_zip(f, records)
