"""save / load (``torch.save`` / ``torch.load``): the front door to every checkpoint format
ember reads and writes. None of them ever executes code from a file; writes to a path are
atomic (ember/_atomicfile.py). Each format lives in a file of its own:

  ember/_ember_format.py      ember's own format (the default for tensors and containers):
                              a zip of JSON and raw buffers
  ember/_zipformat_write.py   PyTorch's zip format, written (``format="torch"``)
  ember/_zipformat_read.py    PyTorch's zip format, read (what torch.save writes since 1.6)
  ember/_legacy_format.py     PyTorch's legacy format, read (torch < 1.6, and
                              ``_use_new_zipfile_serialization=False``)
  ember/_safetensors.py       safetensors files
  ember/_object_pickle.py     whole objects (modules, optimizers): ``save(model, f)``,
                              ``load(f, weights_only=False)``

and the pieces they share: ember/_safe_unpickler.py (the restricted unpickler of
``weights_only=True``, its allow-list and the safe-globals API re-exported here),
ember/_serialization_options.py (torch.serialization's settings and utilities, re-exported),
ember/_torch_rebuild.py (torch's storage classes and tensor rebuilds), ember/_map_location.py
(where loaded tensors go) and ember/_storage_layout.py (views and their storages).
"""
import io
import json
import os
import pickle
import struct
import zipfile

from ._atomicfile import atomic_write
from ._ember_format import _EMBER_DIR, _save_ember, _load_ember
from ._safe_unpickler import (add_safe_globals, get_safe_globals, clear_safe_globals,
                              safe_globals)
from ._safetensors import _save_safetensors, _load_safetensors, safetensors_metadata
from ._serialization_options import (
    SourceChangeWarning, LoadEndianness, get_default_load_endianness,
    set_default_load_endianness, get_crc32_options, set_crc32_options,
    get_default_mmap_options, set_default_mmap_options, skip_data, register_package, mkdtemp,
    check_module_version_greater_or_equal, location_tag, validate_cuda_device,
    default_restore_location, normalize_storage_type, storage_to_tensor_type,
    get_unsafe_globals_in_checkpoint)
from ._zipformat_read import _load_torch_zip
from ._zipformat_write import _save_torch

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals", "safetensors_metadata", "SourceChangeWarning", "LoadEndianness",
           "get_default_load_endianness", "set_default_load_endianness", "get_crc32_options",
           "set_crc32_options", "get_default_mmap_options", "set_default_mmap_options",
           "skip_data", "register_package", "mkdtemp", "check_module_version_greater_or_equal",
           "location_tag", "validate_cuda_device", "default_restore_location",
           "normalize_storage_type", "storage_to_tensor_type",
           "get_unsafe_globals_in_checkpoint"]


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
    if _is_path(f) and isinstance(os.fspath(f), str):
        parent = os.fspath(f).rpartition("/")[0]   # as written, as PyTorch's writer names it
        if parent and not os.path.isdir(parent):
            raise RuntimeError(f"Parent directory {parent} does not exist.")
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
        return _legacy_format.load_legacy(fh, name, map_location, mmap_path, weights_only)
    if _legacy_format.is_tar(fh):
        _legacy_format.refuse_tar(name)
    raise RuntimeError(f"ember.load: {name} is not a checkpoint ember recognises (truncated or "
                       f"corrupted? first bytes {head[:8]!r})")
