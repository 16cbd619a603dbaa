"""TFRecord framing of TensorBoard event files, with CRC-32C computed in Python.

An event file is a sequence of records, each laid out little-endian as

    uint64  length
    uint32  masked_crc32c(length bytes)
    byte    data[length]
    uint32  masked_crc32c(data)

CRC-32C is the Castagnoli CRC (reflected polynomial 0x82F63B78), not zlib's CRC-32, so
``zlib.crc32`` cannot serve. The CRC is computed "slicing-by-8": eight 256-entry tables,
built once on first use, let one Python step consume eight bytes instead of one.
"""
import struct

_POLY = 0x82F63B78          # CRC-32C polynomial, bit-reversed
_MASK_DELTA = 0xA282EAD8    # TensorFlow's mask constant

_tables = None              # the eight slicing tables, built on first use


def _build_tables():
    """``t[0][b]`` is the CRC of the single byte b; ``t[k][b]`` is the CRC contribution of
    byte b followed by k zero bytes, so eight bytes combine with eight table look-ups."""
    first = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(c >> 8) ^ first[c & 0xFF] for c in prev])
    return tuple(tuple(t) for t in tables)


def crc32c(data):
    """CRC-32C of ``data`` (bytes-like): initial value and final xor 0xFFFFFFFF."""
    global _tables
    if _tables is None:
        _tables = _build_tables()
    t0, t1, t2, t3, t4, t5, t6, t7 = _tables
    data = memoryview(data).cast("B")
    crc = 0xFFFFFFFF
    n8 = len(data) // 8 * 8
    if n8:
        # the bulk as little-endian 64-bit words: the low 32 bits fold into the CRC
        words = struct.unpack(f"<{n8 // 8}Q", data[:n8])
        for w in words:
            lo = (w & 0xFFFFFFFF) ^ crc
            hi = w >> 32
            crc = (t7[lo & 0xFF] ^ t6[(lo >> 8) & 0xFF] ^ t5[(lo >> 16) & 0xFF]
                   ^ t4[lo >> 24] ^ t3[hi & 0xFF] ^ t2[(hi >> 8) & 0xFF]
                   ^ t1[(hi >> 16) & 0xFF] ^ t0[hi >> 24])
    for byte in data[n8:]:
        crc = (crc >> 8) ^ t0[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    """TensorFlow's masked CRC: rotate right by 15 bits and add a constant, so that a CRC
    stored inside the checksummed data does not make the checksum degenerate."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data):
    """One TFRecord: the serialized ``data`` with its length and both checksums."""
    header = struct.pack("<Q", len(data))
    return b"".join((header, struct.pack("<I", masked_crc32c(header)), data,
                     struct.pack("<I", masked_crc32c(data))))
