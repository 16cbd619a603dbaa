"""save / load: ember's own safe format, PyTorch's zip format (read and write), PyTorch's
legacy pre-1.6 format (read; ember/_legacy_format.py) and safetensors -- none of them
ever executes code from a file.

ember format: a zip archive with ``ember_archive/data.json`` (the object tree as plain
JSON) and one raw little-endian buffer per storage under ``ember_archive/data/``.
Tensors record dtype, shape, strides and offset into their storage, so views that
shared memory when saved share it again after loading.

PyTorch files are read with a restricted unpickler that admits only tensor/storage
rebuilds, Parameters, OrderedDict and plain containers; any other global is refused
with an UnpicklingError naming it, and never called. Writes are atomic: the file is
written beside the target and renamed into place.
"""
import base64
import importlib
import io
import json
import math
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import ml_dtypes
import numpy as np

from . import _dtype
from ._device import device as _device_cls
from ._tensor import Tensor, Size
from . import _quantized, _quantized_serialization
from ._atomicfile import atomic_write
from ._zipwrite import write_stored_zip
from ._storage_layout import _root_array, _as_strided, _offset_elems, _le
from ._map_location import (_target_device, _apply_map_location, _init_placement,
                            _placed_rebuild, _restore_to, _map_tree)
from ._torch_rebuild import (_TORCH_STORAGES, _STORAGE_NAME, _TORCH_ONLY_DTYPES, _StorageType,
                             _rebuild_tensor, _rebuild_tensor_v3, _rebuild_parameter,
                             _rebuild_from_type_v2, _get_layout, _rebuild_size,
                             _rebuild_sparse_tensor)
from ._safe_unpickler import (_RefusedGlobal, add_safe_globals,
                              get_safe_globals, clear_safe_globals, safe_globals,
                              _user_safe_global, _TorchUnpickler, _Placeholder, ForgedPickle,
                              _Bounded, check_pickle_bounds)
from ._zipformat_read import _read_record, _load_torch_zip, _storage_objects
from ._zipformat_write import _TorchGlobal, _TorchPickler, _Reduced, _StorageRef, _save_torch
from ._ember_format import (_EMBER_DIR, _FORMAT_VERSION, _Encoder, _save_ember, _Decoder,
                            _hashable, _load_ember)
from ._safetensors import _ST_DTYPES, _ST_NAMES, _save_safetensors, _load_safetensors

__all__ = ["save", "load"]


# ============================================================================ helpers

def _is_path(f):
    return isinstance(f, (str, os.PathLike))


def _name_of(f):
    return os.fspath(f) if _is_path(f) else getattr(f, "name", repr(f))


def _atomic_write(f, write_fn):
    """Write through write_fn(fileobj): atomically and durably when f is a path."""
    if _is_path(f):
        atomic_write(f, write_fn)
    else:
        write_fn(f)


# ============================================================================ safetensors

def safetensors_metadata(f):
    """The ``__metadata__`` dict of a safetensors file."""
    raw = _read_all(f)
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]).get("__metadata__", {})


# ============================================================================ public API

def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False, *, format=None, metadata=None):
    """Save `obj` to a path or binary file.

    format: None (ember's format; '.safetensors' paths use safetensors), 'ember', 'torch'
    (a file real ``torch.load(weights_only=True)`` reads) or 'safetensors'.
    """
    if format is None:
        format = "safetensors" if _is_path(f) and os.fspath(f).endswith(".safetensors") \
            else "ember"
    if format not in ("ember", "torch", "safetensors"):
        raise ValueError(f"unknown format {format!r}: expected 'ember', 'torch' or 'safetensors'")
    if format == "ember":
        from . import _object_pickle
        if _object_pickle.is_plain(obj):
            _atomic_write(f, lambda fh: _save_ember(obj, fh))
        else:   # a module, an optimizer, the user's objects: pickled, as torch.save does
            _atomic_write(f, lambda fh: _object_pickle.save(obj, fh))
    elif format == "torch":
        archive = "archive"
        _atomic_write(f, lambda fh: _save_torch(obj, fh, archive))
    else:
        _atomic_write(f, lambda fh: _save_safetensors(obj, fh, metadata))


def _read_all(f):
    if _is_path(f):
        with open(f, "rb") as fh:
            return fh.read()
    return f.read()


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=False,
         **pickle_load_args):
    """Load an object saved by ember.save, torch.save (zip or legacy format) or safetensors."""
    name = _name_of(f)
    if _is_path(f) and not os.path.exists(f):
        raise FileNotFoundError(f"[Errno 2] No such file or directory: '{name}'")
    mmap_path = os.fspath(f) if (mmap and _is_path(f)) else None
    if mmap and not _is_path(f):
        raise ValueError("f must be a file path in order to use the mmap argument")
    if _is_path(f):
        with open(f, "rb") as fh:
            return _load_file(fh, name, map_location, mmap_path, weights_only)
    return _load_file(io.BytesIO(f.read()), name, map_location, mmap_path, weights_only)


def _load_file(fh, name, map_location, mmap_path, weights_only=True):
    """load() from a seekable binary file: a zip archive is read record by record, other
    formats whole."""
    head = fh.read(9)
    fh.seek(0)
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        try:
            z = zipfile.ZipFile(fh)
            names = z.namelist()
            if f"{_EMBER_DIR}/data.json" in names:
                return _load_ember(z, name, map_location, mmap_path)
            return _load_torch_zip(z, name, map_location, mmap_path, weights_only)
        except pickle.UnpicklingError:
            raise
        except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError, EOFError,
                struct.error) as e:
            raise RuntimeError(f"ember.load: {name} is not a valid checkpoint (corrupted or "
                               f"truncated): {e}") from None
    if head[8:9] == b"{":   # safetensors: an 8-byte header length, then JSON
        raw = fh.read()
        try:
            return _load_safetensors(raw, name, map_location)
        except (json.JSONDecodeError, ValueError, KeyError) as e:
            raise RuntimeError(f"ember.load: {name} is not a valid safetensors file: {e}") \
                from None
    from . import _legacy_format
    if head[:1] == b"\x80":   # a pickle (protocol >= 2): PyTorch's legacy format
        return _legacy_format.load_legacy(fh, name, map_location, mmap_path)
    if _legacy_format.is_tar(fh):
        _legacy_format.refuse_tar(name)
    raise RuntimeError(f"ember.load: {name} is not a checkpoint ember recognises (truncated or "
                       f"corrupted? first bytes {head[:8]!r})")
