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

__all__ = ["save", "load"]

_EMBER_DIR = "ember_archive"
_FORMAT_VERSION = 1


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


# ============================================================================ ember format

class _Encoder:
    def __init__(self):
        self.storages = {}   # id(root) -> (key, root array)
        self.device_roots = []

    def storage_key(self, arr):
        root = _root_array(arr)
        ok = (root.dtype == arr.dtype and root.flags.c_contiguous)
        if not ok:
            root = np.ascontiguousarray(arr)
        k = id(root)
        if k not in self.storages:
            self.storages[k] = (str(len(self.storages)), root)
        return self.storages[k][0], root

    def device_storage_key(self, arr):
        """(storage key, offset in elements) of a GPU array: its root array is copied to
        the host once, so views of one device tensor share one storage in the file."""
        root = arr
        while root.base is not None:
            root = root.base
        if root.dtype != arr.dtype or not root.flags.c_contiguous:
            root = arr.copy()
        k = id(root)
        if k not in self.storages:
            self.storages[k] = (str(len(self.storages)), root.get().reshape(-1))
            self.device_roots.append(root)   # keeps id(root) unique while encoding
        return self.storages[k][0], (arr.data.ptr - root.data.ptr) // arr.itemsize

    def sparse(self, t):
        """A sparse tensor's record: its layout, size and component tensors (COO: indices,
        values, coalesced; compressed: compressed and plain indices, values)."""
        if t.layout.name == "sparse_coo":
            parts = [t._ix, t._vals]
        else:
            parts = [t._cidx, t._pidx, t._vals]
        return {"__sparse__": t.layout.name, "size": list(t.shape),
                "components": [self.enc(Tensor._make(p._data)) for p in parts],
                "coalesced": t.layout.name == "sparse_coo" and t.is_coalesced(),
                "requires_grad": t._requires_grad}

    def storage(self, s):
        """A storage's record: its elements (a typed storage's, or an untyped one's bytes)
        as a run of a stored buffer, shared with the tensors saved that view them."""
        typed = s.untyped() is not s
        arr = s._elements() if typed else s._bytes
        if type(arr) is np.ndarray:
            key, root = self.storage_key(arr)
            offset = _offset_elems(arr, root) if root is not arr else 0
        else:
            key, offset = self.device_storage_key(arr)
        rec = {"__storage__": key, "dtype": s.dtype.name if typed else None, "offset": offset,
               "numel": int(arr.shape[0])}
        if type(arr) is not np.ndarray:
            rec["device"] = str(s.device)
        return rec

    def enc(self, obj):
        if isinstance(obj, Tensor) and obj.layout.name != "strided":
            return self.sparse(obj)
        if isinstance(obj, Tensor) and obj.is_quantized:
            return _quantized_serialization.encode(self, obj)
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and not isinstance(obj, bool):
            return obj
        if isinstance(obj, float):
            if math.isfinite(obj):
                return {"__float__": repr(obj)}
            return {"__float__": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter
            if type(obj) is not Tensor and type(obj) is not Parameter:
                # (not in this format: save() pickles objects holding one, keeping its class)
                raise TypeError(f"ember's format stores no Tensor subclass "
                                f"({type(obj).__name__})")
            if obj.is_meta:
                raise NotImplementedError("ember.save does not write meta tensors yet")
            arr = obj._data
            if type(arr) is np.ndarray:
                key, root = self.storage_key(arr)
                offset = _offset_elems(arr, root) if root is not arr else 0
            else:
                key, offset = self.device_storage_key(arr)
            item = arr.itemsize
            rec = {"__tensor__": key, "dtype": obj.dtype.name, "shape": list(arr.shape),
                   "strides": [s // item for s in arr.strides], "offset": offset,
                   "requires_grad": obj._requires_grad, "parameter": isinstance(obj, Parameter)}
            if type(arr) is not np.ndarray:
                rec["device"] = str(obj.device)
            return rec
        if isinstance(obj, Size):
            return {"__size__": list(obj)}
        if getattr(obj, "_is_ember_storage", False):
            return self.storage(obj)
        if isinstance(obj, _dtype.dtype):
            return {"__dtype__": obj.name}
        if isinstance(obj, _device_cls):
            return {"__device__": str(obj)}
        if isinstance(obj, bytes):
            return {"__bytes__": base64.b64encode(obj).decode()}
        if isinstance(obj, tuple):
            return {"__tuple__": [self.enc(x) for x in obj]}
        if isinstance(obj, list):
            return [self.enc(x) for x in obj]
        if isinstance(obj, dict):
            kind = "OrderedDict" if isinstance(obj, OrderedDict) else "dict"
            rec = {"__dict__": kind, "items": [[self.enc(k), self.enc(v)] for k, v in
                                                obj.items()]}
            metadata = getattr(obj, "_metadata", None)   # a state_dict's module versions
            if kind == "OrderedDict" and metadata is not None:
                rec["metadata"] = self.enc(metadata)
            return rec
        if isinstance(obj, (np.integer, np.floating, np.bool_)):
            return self.enc(obj.item())
        raise TypeError(f"ember.save cannot store objects of type {type(obj).__name__} (it stores "
                        f"tensors, numbers, strings, bytes, None, dtypes, devices, Size and "
                        f"dict/list/tuple of them)")


def _save_ember(obj, fh):
    enc = _Encoder()
    tree = enc.enc(obj)
    meta = {"format": "ember", "version": _FORMAT_VERSION, "byteorder": "little"}
    records = [(f"{_EMBER_DIR}/meta.json", json.dumps(meta).encode()),
               (f"{_EMBER_DIR}/data.json", json.dumps(tree, allow_nan=False).encode())]
    records += [(f"{_EMBER_DIR}/data/{key}", _le(root)) for key, root in enc.storages.values()]
    records.append((f"{_EMBER_DIR}/storages.json", json.dumps(
        {key: {"dtype": _dtype._FROM_NP[root.dtype].name, "numel": int(root.size)}
         for key, root in enc.storages.values()}).encode()))
    write_stored_zip(fh, records)


class _Decoder:
    def __init__(self, storages, map_location):
        self.storages = storages
        self.map_location = map_location
        self.on_device = {}   # (storage key, device) -> the storage copied there

    def dec(self, x):
        if isinstance(x, list):
            return [self.dec(v) for v in x]
        if not isinstance(x, dict):
            return x
        if "__float__" in x:
            return float(x["__float__"])
        if "__tensor__" in x:
            return self.tensor(x)
        if "__storage__" in x:
            return self.storage_object(x)
        if "__tuple__" in x:
            return tuple(self.dec(v) for v in x["__tuple__"])
        if "__dict__" in x:
            cls = OrderedDict if x["__dict__"] == "OrderedDict" else dict
            out = cls((_hashable(self.dec(k)), self.dec(v)) for k, v in x["items"])
            if cls is OrderedDict and "metadata" in x:
                out._metadata = self.dec(x["metadata"])
            return out
        if "__size__" in x:
            return Size(x["__size__"])
        if "__dtype__" in x:
            return getattr(_dtype, x["__dtype__"])
        if "__device__" in x:
            return _device_cls(x["__device__"])
        if "__bytes__" in x:
            return base64.b64decode(x["__bytes__"])
        if "__sparse__" in x:
            return self.sparse(x)
        if "__quantized__" in x:
            return _quantized_serialization.decode(self, x)
        raise ValueError(f"unknown record {sorted(x)[:3]}")

    def sparse(self, x):
        """A sparse tensor from its record, checked as its constructor checks."""
        import ember
        from . import sparse
        layout = x["__sparse__"]
        parts = [self.dec(p) for p in x["components"]]
        if layout == "sparse_coo" and len(parts) == 2:
            t = sparse.sparse_coo_tensor(*parts, x["size"], is_coalesced=bool(x["coalesced"]))
        elif layout in ("sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc") and len(parts) == 3:
            t = sparse.sparse_compressed_tensor(*parts, x["size"], layout=getattr(ember, layout))
        else:
            raise ValueError(f"invalid sparse tensor record of layout {layout!r}")
        return t.requires_grad_() if x.get("requires_grad") else t

    def storage_object(self, x):
        from .storage import TypedStorage, UntypedStorage
        data = self.storages(x["__storage__"])
        offset, numel = x["offset"], x["numel"]
        if offset < 0 or offset + numel > data.size:
            raise ValueError(f"storage record (offset {offset}, {numel} elements) does not fit "
                             f"its buffer of {data.size} elements")
        untyped = UntypedStorage._wrap(data[offset:offset + numel].view(np.uint8),
                                       resizable=False)
        target = _target_device(self.map_location, x.get("device", "cpu"))
        if target is not None and target.type != "cpu":
            untyped = untyped.to(device=target)
        if x["dtype"] is None:
            return untyped
        return TypedStorage._new_wrapped_storage(untyped, getattr(_dtype, x["dtype"]))

    def tensor(self, x):
        storage = self.storages(x["__tensor__"])
        dt = getattr(_dtype, x["dtype"])
        if storage.dtype != dt.np:
            raise ValueError(f"storage {x['__tensor__']} has dtype {storage.dtype}, tensor says "
                             f"{dt.name}")
        shape, strides, offset = tuple(x["shape"]), tuple(x["strides"]), x["offset"]
        extent = offset + sum((n - 1) * s for n, s in zip(shape, strides) if n > 0) + 1
        if any(n == 0 for n in shape):
            extent = offset
        if offset < 0 or extent > storage.size or any(s < 0 for s in strides):
            raise ValueError(f"tensor view (shape {list(shape)}, strides {list(strides)}, offset "
                             f"{offset}) does not fit its storage of {storage.size} elements")
        item = storage.itemsize
        location = x.get("device", "cpu")
        target = _target_device(self.map_location, location)
        if target is not None and target.type != "cpu":
            # one copy of the storage per device, so views stay views there
            from ._backend import strided_view
            cache_key = (x["__tensor__"], str(target))
            if cache_key not in self.on_device:
                self.on_device[cache_key] = _restore_to(storage, target, location)
            dev_storage = self.on_device[cache_key]
            t = Tensor._make(strided_view(dev_storage[offset:] if storage.size else dev_storage,
                                          shape, tuple(s * item for s in strides)))
        else:
            arr = _as_strided(storage[offset:] if storage.size else storage, shape,
                              tuple(s * item for s in strides))
            t = Tensor._make(arr)
            if target is None:
                t = _apply_map_location(t, self.map_location, location)
        if x.get("parameter"):
            from .nn.parameter import Parameter
            return Parameter(t, requires_grad=x["requires_grad"])
        if x["requires_grad"]:
            t.requires_grad_(True)
        return t


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


def _load_ember(z, name, map_location, mmap_path):
    meta = json.loads(z.read(f"{_EMBER_DIR}/meta.json"))
    if meta.get("version", 0) > _FORMAT_VERSION:
        raise RuntimeError(f"{name} was written by a newer ember (format {meta['version']})")
    tree = json.loads(z.read(f"{_EMBER_DIR}/data.json"))
    infos = json.loads(z.read(f"{_EMBER_DIR}/storages.json"))
    cache = {}

    def storage(key):
        if key not in cache:
            info = infos[key]
            dt = getattr(_dtype, info["dtype"]).np
            cache[key] = _read_record(z, f"{_EMBER_DIR}/data/{key}", dt, info["numel"],
                                      mmap_path, "<")
        return cache[key]
    return _Decoder(storage, map_location).dec(tree)


# ============================================================================ safetensors

_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16,
              "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
              "BOOL": np.bool_, "C64": np.complex64, "F8_E4M3": ml_dtypes.float8_e4m3fn,
              "F8_E5M2": ml_dtypes.float8_e5m2, "U16": np.uint16, "U32": np.uint32,
              "U64": np.uint64}
_ST_NAMES = {np.dtype(v): k for k, v in _ST_DTYPES.items()}


def _save_safetensors(obj, fh, metadata=None):
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, Tensor)
                                            for k, v in obj.items()):
        raise TypeError("safetensors files hold a dict of str -> Tensor")
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for k, t in obj.items():
        data = _le(t._cpu_array())
        header[k] = {"dtype": _ST_NAMES[t._data.dtype], "shape": list(t.shape),
                     "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    fh.write(struct.pack("<Q", len(hb)))
    fh.write(hb)
    for c in chunks:
        fh.write(c)


def _load_safetensors(raw, name, map_location):
    if len(raw) < 8:
        raise RuntimeError(f"{name}: file too short for a safetensors header")
    n = struct.unpack("<Q", raw[:8])[0]
    if n > len(raw) - 8:
        raise RuntimeError(f"{name}: safetensors header length {n} exceeds the file size")
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = OrderedDict()
    for k, info in header.items():
        if k == "__metadata__":
            continue
        dt = _ST_DTYPES.get(info["dtype"])
        if dt is None:
            raise RuntimeError(f"{name}: unsupported safetensors dtype {info['dtype']}")
        b, e = info["data_offsets"]
        if base + e > len(raw) or b > e:
            raise RuntimeError(f"{name}: tensor {k!r} lies outside the file (truncated?)")
        arr = np.frombuffer(memoryview(raw)[base + b:base + e], dtype=np.dtype(dt).newbyteorder("<")
                            if np.dtype(dt).kind not in "bV" else dt).astype(dt)
        _dtype.note_narrow(arr.dtype)   # float8: the dispatcher's policy for them
        out[k] = _apply_map_location(Tensor._make(arr.reshape(info["shape"])), map_location)
    return out


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
