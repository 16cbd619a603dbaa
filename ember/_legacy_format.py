"""Reading PyTorch's legacy checkpoint format: what every torch < 1.6 wrote, and what
``torch.save(obj, f, _use_new_zipfile_serialization=False)`` still writes.

The file is a run of pickles followed by raw storage bytes::

    pickle   the magic number 0x1950a86a20f9469cfc6c
    pickle   the protocol version, 1001
    pickle   sys_info: {"protocol_version": 1001, "little_endian": True,
                        "type_sizes": {"short": 2, "int": 4, "long": 4}}
    pickle   the object; every storage in it is a persistent id
             ("storage", torch.<X>Storage, key, location, numel, view_metadata)
             where view_metadata, written only by old torch, is None or
             (view key, offset, numel): a slice of the root storage `key`
    pickle   the list of storage keys, in the order their bytes follow
    per key  an int64 element count, then count * itemsize bytes (little-endian)

Every pickle goes through the zip reader's restricted unpickler (ember/_safe_unpickler.py:
its allow-list and tensor rebuilds): no global outside the allow-list is ever called; with
``weights_only=False`` the object pickle goes through the object reader instead
(ember/_object_pickle.py), which rebuilds whole modules and the user's objects but calls
nothing else. Each
is first walked opcode by opcode (nothing executed) so that forged memo indices and
lengths are refused before the unpickler allocates for them.
Storages are allocated while the object pickle is read, tensors become views into
them, and the bytes are read into them afterwards, so tensors that shared a storage
in torch share memory in ember too.

Each storage record names the device it was saved from ("cpu", "cuda:0"), and torch.load
puts it back there after map_location, as for the zip format (ember/_map_location.py).
A storage's bytes come after the object pickle, and a copy to a GPU needs them, so when
any storage goes anywhere but the host (or a callable map_location decides) the object
pickle is read a second time over the filled storages, placing each tensor as the zip
reader does; only the pickle is read twice, never the data.
"""
import pickle
import struct

import numpy as np

from ._map_location import _storage_objects, _target_device
from ._object_pickle import _ObjectUnpickler
from ._safe_unpickler import (_TorchUnpickler, _RefusedGlobal,
                              check_pickle_bounds as _check_pickle_bounds)

__all__ = ["load_legacy", "is_tar", "refuse_tar"]

_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_PROTOCOL_VERSION = 1001
# The C type sizes torch records. No field ember reads depends on them; they are checked
# only to catch files that are not what they claim. torch measures them with struct's
# standard sizes (long: 4); a native 64-bit long, 8, is accepted as well.
_TYPE_SIZES = {"short": (2,), "int": (4,), "long": (4, 8)}

# What a corrupted or truncated file makes pickle, struct and the rebuild functions raise.
# _RefusedGlobal (a disallowed global) is re-raised as it is; NotImplementedError (a dtype
# ember lacks) is not in this list.
_CORRUPTION = (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
               OverflowError, struct.error, pickle.UnpicklingError)


class _Corrupt(Exception):
    """The file breaks the legacy layout; load_legacy turns it into a RuntimeError."""


def load_legacy(fh, name, map_location, mmap_path=None, weights_only=True):
    """The object stored in the legacy-format file `fh` (seekable, binary).

    The object pickle is read by the weights-only reader, or with ``weights_only=False`` by
    the object reader (whole modules, the user's objects: ember/_object_pickle.py). Raises
    RuntimeError naming the file when it is truncated, corrupted, big-endian or from an
    unknown protocol; pickle.UnpicklingError when it names a global the reader refuses, as
    the zip reader does.
    """
    if mmap_path is not None:
        raise RuntimeError(f"mmap can only be used with files saved with `torch.save({name}, "
                           f"_use_new_zipfile_serialization=True), please torch.save your "
                           f"checkpoint with this option in order to use mmap.")
    file_size = fh.seek(0, 2)
    fh.seek(0)
    try:
        return _read(fh, name, file_size, map_location, weights_only)
    except _RefusedGlobal as e:   # pickle's own exception type, as the zip reader's
        raise pickle.UnpicklingError(str(e)) from None
    except _Unresolved as e:
        raise e.args[0] from None
    except (_Corrupt,) + _CORRUPTION as e:
        raise RuntimeError(f"ember.load: {name} is not a valid checkpoint in PyTorch's legacy "
                           f"format (corrupted or truncated): {e}") from None


def _read(fh, name, file_size, map_location, weights_only):
    if _plain_pickle(fh) != _MAGIC_NUMBER:
        raise _Corrupt("invalid magic number")
    version = _plain_pickle(fh)
    if version != _PROTOCOL_VERSION:
        raise _Corrupt(f"invalid protocol version {version!r} (expected {_PROTOCOL_VERSION})")
    _check_sys_info(_plain_pickle(fh), name)

    _check_pickle_bounds(fh)
    start = fh.tell()
    reader = _LegacyUnpickler if weights_only is not False else _LegacyObjectUnpickler
    up = reader(fh, file_size, map_location)
    obj = up.load()
    keys = _plain_pickle(fh)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _Corrupt("the storage key list is not a list of strings")
    if len(set(keys)) != len(keys) or set(keys) != set(up.storages):
        raise _Corrupt(f"the storage key list {keys[:4]}... does not match the "
                       f"{len(up.storages)} storages the object refers to")
    for key in keys:
        _fill(fh, key, up.storages[key])
    if not _all_on_host(up.locations, map_location):
        fh.seek(start)
        up = reader(fh, file_size, map_location, filled=up)
        obj = up.load()
    return _storage_objects(obj, up)


def _all_on_host(locations, map_location):
    """Whether every storage, saved on the devices `locations` names, loads to the host
    (so the tensors built over the host storages are already where they belong)."""
    for location in set(locations.values()):
        target = _target_device(map_location, location)
        if target is None or target.type != "cpu":
            return False
    return True


def _plain_pickle(fh):
    """One header or key-list pickle: the same allow-list, and no storage may appear."""
    _check_pickle_bounds(fh)
    return _TorchUnpickler(fh, _no_storage, None, encoding="utf-8").load()


def _no_storage(key, dtype, numel):
    raise _Corrupt(f"storage {key!r} outside the object pickle")


def _check_sys_info(info, name):
    if not isinstance(info, dict):
        raise _Corrupt(f"sys_info is a {type(info).__name__}, not a dict")
    if info.get("little_endian") is False:
        raise RuntimeError(f"ember.load: {name} was written on a big-endian machine; ember reads "
                           f"only little-endian legacy checkpoints (re-save it on a "
                           f"little-endian machine)")
    sizes = info.get("type_sizes")
    odd = (info.get("little_endian") is not True
           or info.get("protocol_version", _PROTOCOL_VERSION) != _PROTOCOL_VERSION
           or not isinstance(sizes, dict)
           or any(sizes.get(k) not in ok for k, ok in _TYPE_SIZES.items()))
    if odd:
        raise RuntimeError(f"ember.load: {name} has a sys_info record ember does not know "
                           f"({info!r}); expected little_endian=True, protocol_version "
                           f"{_PROTOCOL_VERSION} and type sizes short 2, int 4, long 4 or 8")


class _LegacyStorages:
    """The object pickle's storages (a mixin of the two readers below). Each storage is
    allocated (empty) when first named, and `storages` remembers it under its key for
    _fill; a view_metadata entry gives a slice of the root storage (old torch wrote those
    for storage views). The storages are filled after the pickle, so a first reading builds
    every tensor on the host.

    Given `filled` (the first reading, its storages filled), the pickle is read again over
    those storages, and each tensor is placed on its record's location after map_location
    (a view of a storage is copied to a device apart from its root storage)."""

    def __init__(self, fh, file_size, map_location, filled=None):
        super().__init__(fh, self._allocate, map_location, encoding="utf-8")
        self.room = file_size   # bytes the storages may still take up
        self.views = {}
        self.place_on_rebuild = filled is not None
        if filled is not None:
            self.storages, self.views = filled.storages, filled.views
            self.locations = filled.locations

    def _allocate(self, key, dtype, numel):
        if numel < 0:
            raise _Corrupt(f"storage {key} has a negative size {numel}")
        nbytes = numel * np.dtype(dtype).itemsize
        if nbytes > self.room:   # checked before allocating: a forged size costs nothing
            raise _Corrupt(f"storage {key} of {numel} elements is larger than the file")
        self.room -= nbytes
        return np.empty(numel, dtype=dtype)

    def persistent_load(self, pid):
        if isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "module" and \
                isinstance(pid[1], type):
            # a module class, saved with its source (torch compares it and may warn of a
            # change; ember does not): the find_class that resolved it admitted it
            return pid[1]
        if not isinstance(pid, tuple) or len(pid) != 6:
            raise _Corrupt(f"unsupported persistent id {pid!r}")
        root = super().persistent_load(pid[:5])   # checks the storage type, allocates once
        if root.dtype != np.dtype(pid[1].dtype):
            raise _Corrupt(f"storage {pid[2]} is named with two element types, {root.dtype} "
                           f"and {np.dtype(pid[1].dtype)}")
        view = pid[5]
        if view is None:
            return root
        view_key, offset, numel = view
        if view_key not in self.views:
            if offset < 0 or numel < 0 or offset + numel > root.size:
                raise _Corrupt(f"storage view {view_key} ({numel} elements at {offset}) lies "
                               f"outside its root storage of {root.size}")
            view = self.views[view_key] = root[offset:offset + numel]
            self.locations[id(view)] = self.locations[id(root)]
        return self.views[view_key]


class _LegacyUnpickler(_LegacyStorages, _TorchUnpickler):
    """The object pickle read by the weights-only reader (``load(weights_only=True)``)."""


class _LegacyObjectUnpickler(_LegacyStorages, _ObjectUnpickler):
    """The object pickle read by the object reader (``load(weights_only=False)``: whole
    modules and the user's objects, rebuilt without running code from the file). A class
    that cannot be found raises its own ImportError or AttributeError, as in torch."""

    def find_class(self, module, name):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError) as e:
            raise _Unresolved(e) from None


class _Unresolved(Exception):
    """A global the file names that cannot be imported; load_legacy raises the original."""


def _fill(fh, key, storage):
    """Read one storage's bytes, which follow an int64 element count, into `storage`."""
    head = fh.read(8)
    if len(head) != 8:
        raise _Corrupt(f"the file ends before storage {key}")
    (count,) = struct.unpack("<q", head)
    if count != storage.size:
        raise _Corrupt(f"storage {key} records {count} elements, the object expects "
                       f"{storage.size}")
    # ember runs on little-endian hosts, so the file's bytes are the array's bytes
    buf = storage.view(np.uint8)
    if fh.readinto(buf) != buf.size:
        raise _Corrupt(f"storage {key} is truncated")


# ---------------------------------------------------------------------------- tar format

def is_tar(fh):
    """Whether `fh` is a tar archive (ustar magic at byte 257): the legacy format of the
    earliest PyTorch releases, with members sys_info, pickle, storages and tensors."""
    fh.seek(257)
    magic = fh.read(5)
    fh.seek(0)
    return magic == b"ustar"


def refuse_tar(name):
    raise NotImplementedError(
        f"{name} is a tar archive: PyTorch's oldest checkpoint format (its own torch.load "
        f"refuses it with weights_only=True). ember does not read it; load it with that old "
        f"torch and re-save it with torch.save")
