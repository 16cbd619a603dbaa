"""A writer of uncompressed (STORED) zip archives for checkpoints, faster than zipfile's.

``zipfile`` copies each record into a bytes object and computes its CRC-32 on the
writing thread, one record after the other. Checkpoint records are large array buffers:
here they are written straight from the array's memory (no copy), and their CRC-32s are
computed on two worker threads, started before the first write (zlib releases the GIL
on large buffers), so checksums and file writes overlap. Record data start at a multiple
of ``align`` bytes (the local header's extra field is padded, as PyTorch's writer does),
so a loader can map them in place. Zip64 records are written where sizes or offsets
need them; ``zipfile`` reads the result.
"""
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64 = struct.Struct("<4sLQL")
_MAX32, _MAX16 = 0xFFFFFFFF, 0xFFFF               # "see the zip64 record" markers
_LIMIT = _MAX32                                   # sizes/offsets from here on need zip64
_COUNT_LIMIT = _MAX16                             # so do record counts from here on
_DOS_DATE = (1980 - 1980) << 9 | 1 << 5 | 1      # 1980-01-01, fixed: files are reproducible
_PAD_ID = 0x4246                                  # "FB": PyTorch's padding extra field
_PARALLEL_MIN = 1 << 20                           # checksums of smaller records run inline


def _crc(view):
    return zlib.crc32(view) & 0xFFFFFFFF


def write_stored_zip(fh, records, align=64, crc32=True):
    """Write ``records``, a list of (name, bytes-like), as a zip archive to ``fh``.

    The buffers must stay unchanged until this returns. ``fh`` needs only ``write``;
    offsets are counted here, so it may be any binary file object. With ``crc32=False``
    no checksum is computed and zeros stand in its place (torch's
    ``set_crc32_options(False)``: faster, but unzip tools report the records corrupted).
    """
    views = [(name.encode("utf-8"), memoryview(data).cast("B")) for name, data in records]
    big = [v for _, v in views if v.nbytes >= _PARALLEL_MIN] if crc32 else []
    pool = ThreadPoolExecutor(2) if len(big) > 1 else None
    try:
        crcs = {id(v): pool.submit(_crc, v) for v in big} if pool else {}
        offset, central = 0, []
        for name, view in views:
            job = crcs.get(id(view))
            crc = job.result() if job is not None else _crc(view) if crc32 else 0
            size = view.nbytes
            zip64 = size >= _LIMIT or offset >= _LIMIT
            extra = struct.pack("<2H2Q", 1, 16, size, size) if size >= _LIMIT else b""
            start = offset + _LOCAL.size + len(name) + len(extra)
            pad = -start % align
            if pad:
                pad = pad + align if pad < 4 else pad        # room for the field's header
                extra += struct.pack("<2H", _PAD_ID, pad - 4) + b"Z" * (pad - 4)
            version = 45 if zip64 else 20
            stored = _MAX32 if size >= _LIMIT else size
            fh.write(_LOCAL.pack(b"PK\003\004", version, 0, 0x800, 0, 0, _DOS_DATE, crc,
                                 stored, stored, len(name), len(extra)))
            fh.write(name)
            fh.write(extra)
            fh.write(view)
            central.append((name, crc, size, offset, version))
            offset += _LOCAL.size + len(name) + len(extra) + size
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    cd_start = offset
    for name, crc, size, header_at, version in central:
        fields = [size, size] if size >= _LIMIT else []     # uncompressed, compressed
        if header_at >= _LIMIT:
            fields.append(header_at)
        extra = struct.pack(f"<2H{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
        stored = _MAX32 if size >= _LIMIT else size
        record = _CENTRAL.pack(b"PK\001\002", version, 3, version, 0, 0x800, 0, 0, _DOS_DATE,
                               crc, stored, stored, len(name), len(extra), 0, 0, 0, 0o600 << 16,
                               _MAX32 if header_at >= _LIMIT else header_at)
        fh.write(record)
        fh.write(name)
        fh.write(extra)
        offset += len(record) + len(name) + len(extra)
    cd_size, count = offset - cd_start, len(central)
    zip64 = cd_start >= _LIMIT or cd_size >= _LIMIT or count >= _COUNT_LIMIT
    if zip64:
        fh.write(_END64.pack(b"PK\006\006", 44, 45, 45, 0, 0, count, count, cd_size, cd_start))
        fh.write(_LOCATOR64.pack(b"PK\006\007", 0, offset, 1))
    n = _MAX16 if zip64 else count
    fh.write(_END.pack(b"PK\005\006", 0, 0, n, n, _MAX32 if zip64 else cd_size,
                       _MAX32 if zip64 else cd_start, 0))
