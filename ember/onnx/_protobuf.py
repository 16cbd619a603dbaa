"""Protocol Buffers wire format, the encoding side only, for the ONNX writer.

A message is a sequence of fields; each field is a key (``field_number << 3 | wire_type``,
a varint) followed by its payload: a varint (wire type 0: ints, enums, bools), a
length-prefixed byte string (wire type 2: strings, bytes, nested messages) or four
little-endian bytes (wire type 5: float). Negative int64 values are written as their
64-bit two's complement (ten varint bytes), as protobuf does. Repeated numbers are written
one key per element (proto2's unpacked form, onnx.proto's), so the bytes equal those of
the onnx package's own serializer for the same message.
"""
import struct

__all__ = ["Message", "varint"]

_VARINT, _LEN, _FIXED32 = 0, 2, 5


def varint(value):
    """The base-128 varint encoding of an int (two's complement for negatives)."""
    value = int(value)
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(field, wire_type):
    return varint(field << 3 | wire_type)


class Message:
    """A message being encoded: add fields, then ``bytes(msg)``."""

    def __init__(self):
        self._parts = []

    def int(self, field, value):
        """An int64/int32/enum/bool field."""
        self._parts.append(_key(field, _VARINT) + varint(value))
        return self

    def float(self, field, value):
        self._parts.append(_key(field, _FIXED32) + struct.pack("<f", value))
        return self

    def bytes(self, field, value):
        """A bytes, string (UTF-8) or nested-message field."""
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif isinstance(value, Message):
            value = value.__bytes__()
        self._parts.append(_key(field, _LEN) + varint(len(value)) + value)
        return self

    def repeated_ints(self, field, values):
        """A repeated int64 field, one key per element (proto2's unpacked form, which
        onnx.proto's fields use)."""
        for v in values:
            self.int(field, v)
        return self

    def repeated_floats(self, field, values):
        for v in values:
            self.float(field, v)
        return self

    def __bytes__(self):
        return b"".join(self._parts)
