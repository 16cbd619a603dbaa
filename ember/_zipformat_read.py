"""Reading PyTorch's zip checkpoint format (what ``torch.save`` writes since 1.6).

The archive holds ``<prefix>/data.pkl`` (the object, pickled; each storage is a persistent
id ``("storage", torch.<X>Storage, key, location, numel)``), ``<prefix>/data/<key>`` (each
storage's raw bytes, uncompressed and 64-byte aligned), ``<prefix>/byteorder`` ("little"
or "big"; little when absent) and a few version records. The pickle goes through the
restricted unpickler (ember/_safe_unpickler.py), or with ``weights_only=False`` through
the object reader (ember/_object_pickle.py); each storage is read when the pickle first
names it, and each tensor placed as map_location says (ember/_map_location.py).
"""
import io
import pickle
import struct
import zipfile

import numpy as np

from ._map_location import _storage_objects
from ._safe_unpickler import _RefusedGlobal, _TorchUnpickler, check_pickle_bounds
from ._serialization_options import fallback_byteorder, mmap_mode


def _read_record(z, member, dt, numel, mmap_path, byteorder):
    """One storage as a writable array: a private copy, or a copy-on-write memory map.

    A stored (uncompressed) record is read straight from the archive's file into the
    final array, one copy in all; like torch.load, its CRC is not verified (a truncated
    record is still detected). Compressed records go through zipfile.
    """
    info = z.getinfo(member)
    itemsize = np.dtype(dt).itemsize
    if info.file_size != numel * itemsize:
        raise ValueError(f"record {member} holds {info.file_size} bytes, expected "
                         f"{numel * itemsize}")
    file_dt = np.dtype(dt).newbyteorder(byteorder) if np.dtype(dt).kind not in "bV" else \
        np.dtype(dt)
    if info.compress_type != zipfile.ZIP_STORED:
        arr = np.frombuffer(z.read(member), dtype=file_dt, count=numel).copy()
        return arr if file_dt == np.dtype(dt) else arr.astype(dt)
    start = _data_offset(z, info)
    if mmap_path is not None and numel:
        arr = np.memmap(mmap_path, dtype=file_dt, mode=mmap_mode(), offset=start,
                        shape=(numel,))
        return arr if file_dt == np.dtype(dt) else arr.astype(dt)
    arr = np.empty(numel, dtype=file_dt)
    z.fp.seek(start)
    if z.fp.readinto(arr.view(np.uint8)) != info.file_size:
        raise ValueError(f"record {member} is truncated")
    return arr if file_dt == np.dtype(dt) else arr.astype(dt)


def _data_offset(z, info):
    """Where the data of stored record `info` starts in the archive's file."""
    fh = z.fp
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise ValueError(f"record {info.filename}: bad local file header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def read_bytes(z, member):
    """The bytes of record `member`. A stored record's CRC-32 is not verified, as torch.load
    does not verify it: ``torch.serialization.set_crc32_options(False)`` writes zeros."""
    info = z.getinfo(member)
    if info.compress_type != zipfile.ZIP_STORED:
        return z.read(member)
    z.fp.seek(_data_offset(z, info))
    data = z.fp.read(info.file_size)
    if len(data) != info.file_size:
        raise ValueError(f"record {member} is truncated")
    return data


def _load_torch_zip(z, name, map_location, mmap_path, weights_only=True):
    names = z.namelist()
    pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pkl:
        raise RuntimeError(f"{name}: no data.pkl record in the archive")
    prefix = pkl[0][:-len("data.pkl")]
    byteorder = fallback_byteorder()
    if prefix + "byteorder" in names:
        byteorder = ">" if read_bytes(z, prefix + "byteorder").strip() == b"big" else "<"

    def read_storage(key, dt, numel):
        return _read_record(z, f"{prefix}data/{key}", dt, numel, mmap_path, byteorder)
    data = io.BytesIO(read_bytes(z, pkl[0]))
    check_pickle_bounds(data)
    try:
        if weights_only is False:   # whole objects (torch.save(model)): see _object_pickle
            from . import _object_pickle
            return _object_pickle.load(data, read_storage, map_location)
        up = _TorchUnpickler(data, read_storage, map_location)
        return _storage_objects(up.load(), up)   # each tensor placed as it is rebuilt
    except _RefusedGlobal as e:   # the user sees pickle's own exception type, as torch's
        raise pickle.UnpicklingError(str(e)) from None
