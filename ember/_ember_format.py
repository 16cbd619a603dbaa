"""ember's own checkpoint format: ``save(obj, f)`` of tensors, numbers, strings and
containers of them (the default; other objects are pickled, ember/_object_pickle.py).

A zip archive (ember/_zipwrite.py) with

    ember_archive/meta.json       {"format": "ember", "version": 1, "byteorder": "little"}
    ember_archive/data.json       the object tree as plain JSON
    ember_archive/storages.json   {key: {"dtype", "numel"}} of each buffer
    ember_archive/data/<key>      one raw little-endian buffer per storage

Reading it parses JSON only: nothing in the file is ever called. Tensors record dtype,
shape, strides and offset into their storage (and their device when not the CPU), so
views that shared memory when saved share it again after loading; sparse and quantized
tensors, storages, dtypes, devices, Size, bytes, non-finite floats, tuples,
OrderedDicts (with a state_dict's ``_metadata``) and quantized modules' packed parameters
(torch.ScriptObject's class name and state, ember/_script_object.py) have records of
their own.
"""
import base64
import json
import math
import pickle
from collections import OrderedDict

import numpy as np

from . import _dtype, _quantized_serialization
from ._device import device as _device_cls
from ._tensor import Tensor, Size
from ._script_object import ScriptObject
from ._map_location import _place
from ._storage_layout import _as_strided, _offset_elems, _le, saved_buffer
from ._zipformat_read import _read_record, read_bytes
from ._serialization_options import get_crc32_options
from ._zipwrite import write_stored_zip

_EMBER_DIR = "ember_archive"
_FORMAT_VERSION = 1


class _Encoder:
    def __init__(self):
        self.storages = {}   # id(root) -> (key, root array)
        self.device_roots = []

    def storage_key(self, arr):
        """(storage key, offset in elements, the array as a view of the stored buffer) of a
        host array (saved_buffer: a row-major copy when it lies in no dense block)."""
        root, arr = saved_buffer(arr)
        k = id(root)
        if k not in self.storages:
            self.storages[k] = (str(len(self.storages)), root)   # (kept: ids stay unique)
        return self.storages[k][0], _offset_elems(arr, root), arr

    def device_storage_key(self, arr):
        """(storage key, offset in elements) of a GPU array: its root array is copied to
        the host once, so views of one device tensor share one storage in the file."""
        root = arr
        while root.base is not None:
            root = root.base
        if root.dtype != arr.dtype or not root.flags.c_contiguous:
            root = arr = arr.copy(order="C")   # (the copy is the saved view: offset 0)
        k = id(root)
        if k not in self.storages:
            self.storages[k] = (str(len(self.storages)), root.get().reshape(-1))
            self.device_roots.append(root)   # keeps id(root) unique while encoding
        return self.storages[k][0], (arr.data.ptr - root.data.ptr) // arr.itemsize, arr

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
            key, offset, arr = self.storage_key(arr)
        else:
            key, offset, arr = self.device_storage_key(arr)
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
            if obj.is_meta:   # no data: a record of its own, no storage
                return {"__meta_tensor__": obj.dtype.name, "shape": list(obj.shape),
                        "strides": list(obj.stride()), "requires_grad": obj._requires_grad,
                        "parameter": isinstance(obj, Parameter)}
            arr = obj._data
            if type(arr) is np.ndarray:
                key, offset, arr = self.storage_key(arr)
            else:
                key, offset, arr = self.device_storage_key(arr)
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
        if isinstance(obj, ScriptObject):   # packed quantized parameters (_script_object.py)
            return {"__script_object__": obj.qualified_name(),
                    "state": self.enc(obj.__getstate__()[0])}
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
    write_stored_zip(fh, records, crc32=get_crc32_options())


class _Decoder:
    def __init__(self, storages, map_location):
        self.storages = storages
        self.map_location = map_location
        self.on_device = {}   # (id(storage), device or 'map_location') -> it placed there

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
        if "__script_object__" in x:
            obj = ScriptObject.__new__(ScriptObject)
            try:   # (a known class name, else refused)
                obj.__setstate__((self.dec(x["state"]), x["__script_object__"]))
            except pickle.UnpicklingError as e:
                raise ValueError(str(e)) from None
            return obj
        if "__quantized__" in x:
            return _quantized_serialization.decode(self, x)
        if "__meta_tensor__" in x:
            return self.meta_tensor(x)
        raise ValueError(f"unknown record {sorted(x)[:3]}")

    def meta_tensor(self, x):
        """A meta tensor (shape, strides and dtype, no data) from its record; it stays on
        the meta device whatever the map_location, as torch.load keeps one."""
        from ._ops.creation import empty_strided
        dt = getattr(_dtype, str(x["__meta_tensor__"]), None)
        shape, strides = x["shape"], x["strides"]
        if not isinstance(dt, _dtype.dtype) or len(shape) != len(strides) or \
                not all(isinstance(n, int) and n >= 0 for n in shape) or \
                not all(isinstance(s, int) for s in strides):
            raise ValueError(f"invalid meta tensor record (dtype {x['__meta_tensor__']!r}, "
                             f"shape {shape}, strides {strides})")
        t = empty_strided(tuple(shape), tuple(strides), dtype=dt, device="meta")
        if x.get("parameter"):
            from .nn.parameter import Parameter
            return Parameter(t, requires_grad=x["requires_grad"])
        if x["requires_grad"]:
            t.requires_grad_(True)
        return t

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
        placed = _place(self.on_device, self.map_location, data, x.get("device", "cpu"))
        untyped = UntypedStorage._wrap(placed[offset:offset + numel].view(np.uint8),
                                       resizable=False)
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
        byte_strides = tuple(s * storage.itemsize for s in strides)
        # one copy of the storage per device, so views stay views there
        placed = _place(self.on_device, self.map_location, storage, x.get("device", "cpu"))
        base = placed[offset:] if storage.size else placed
        if isinstance(base, np.ndarray):   # a memmap too
            t = Tensor._make(_as_strided(base, shape, byte_strides))
        else:
            from ._backend import strided_view
            t = Tensor._make(strided_view(base, shape, byte_strides))
        if x.get("parameter"):
            from .nn.parameter import Parameter
            return Parameter(t, requires_grad=x["requires_grad"])
        if x["requires_grad"]:
            t.requires_grad_(True)
        return t


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


def _load_ember(z, name, map_location, mmap_path):
    meta = json.loads(read_bytes(z, f"{_EMBER_DIR}/meta.json"))
    if meta.get("version", 0) > _FORMAT_VERSION:
        raise RuntimeError(f"{name} was written by a newer ember (format {meta['version']})")
    tree = json.loads(read_bytes(z, f"{_EMBER_DIR}/data.json"))
    infos = json.loads(read_bytes(z, f"{_EMBER_DIR}/storages.json"))
    cache = {}

    def storage(key):
        if key not in cache:
            info = infos[key]
            dt = getattr(_dtype, info["dtype"]).np
            cache[key] = _read_record(z, f"{_EMBER_DIR}/data/{key}", dt, info["numel"],
                                      mmap_path, "<")
        return cache[key]
    return _Decoder(storage, map_location).dec(tree)
