"""safetensors files: ``save(d, "x.safetensors")`` and loading them with ``load``.

The format (huggingface/safetensors): an 8-byte little-endian header length, a JSON
header {name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}} padded with
spaces to a multiple of 8 bytes, then the tensors' raw little-endian bytes. It holds a
flat dict of named tensors and nothing else; reading it parses JSON only.
"""
import json
import os
import struct
from collections import OrderedDict

import ml_dtypes
import numpy as np

from . import _dtype
from ._tensor import Tensor
from ._map_location import _apply_map_location
from ._storage_layout import _le


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
    """The ``__metadata__`` dict of a safetensors file (a path or a binary file)."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            raw = fh.read()
    else:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]).get("__metadata__", {})
