"""ONNX's messages (onnx/onnx.proto) written with the wire-format encoder.

Only the fields the exporter writes: ModelProto, OperatorSetIdProto, GraphProto,
NodeProto, AttributeProto, TensorProto (raw little-endian data), ValueInfoProto with a
tensor TypeProto and its TensorShapeProto. Field numbers are onnx.proto's.
"""
import numpy as np

from ._protobuf import Message

__all__ = ["onnx_dtype", "raw_bytes", "tensor_proto", "attribute_proto", "node_proto", "value_info",
           "graph_proto", "model_proto", "ir_version_for"]

# TensorProto.DataType by NumPy dtype name (bfloat16 comes from ml_dtypes)
_DTYPES = {"float32": 1, "uint8": 2, "int8": 3, "uint16": 4, "int16": 5, "int32": 6,
           "int64": 7, "bool": 9, "float16": 10, "float64": 11, "uint32": 12, "uint64": 13,
           "complex64": 14, "complex128": 15, "bfloat16": 16}

# AttributeProto.AttributeType
_FLOAT, _INT, _STRING, _TENSOR, _GRAPH, _FLOATS, _INTS, _STRINGS = 1, 2, 3, 4, 5, 6, 7, 8

# the IR version each opset needs (onnx.helper.VERSION_TABLE): opset 13-14 came with
# IR 7, 15-18 with IR 8, 19-20 with IR 9, 21-22 with IR 10, 23 with IR 11
_IR_BY_OPSET = ((14, 7), (18, 8), (20, 9), (22, 10), (23, 11))


def ir_version_for(opset):
    for last, ir in _IR_BY_OPSET:
        if opset <= last:
            return ir
    raise ValueError(f"no IR version known for opset {opset}")


def onnx_dtype(np_dtype):
    """The TensorProto.DataType of a NumPy dtype."""
    name = np.dtype(np_dtype).name
    if name not in _DTYPES:
        raise TypeError(f"ONNX has no element type for the dtype {name}")
    return _DTYPES[name]


def raw_bytes(array):
    """An array's values as ONNX stores them: C order, little-endian."""
    data = np.ascontiguousarray(array)
    if data.dtype.byteorder == ">":
        data = data.astype(data.dtype.newbyteorder("<"))
    return data.tobytes()


def tensor_proto(name, array, external=None):
    """A TensorProto holding `array` (dims, data_type, name, raw_data little-endian), or,
    given `external` = (location, offset, length), pointing at its bytes in a file beside
    the model (external_data entries and data_location EXTERNAL, as onnx writes them)."""
    array = np.asarray(array)
    msg = Message()
    if array.ndim:
        msg.repeated_ints(1, array.shape)
    msg.int(2, onnx_dtype(array.dtype))
    msg.bytes(8, name)
    if external is None:
        msg.bytes(9, raw_bytes(array))
        return msg
    location, offset, length = external
    for key, value in (("location", location), ("offset", str(offset)),
                       ("length", str(length))):
        msg.bytes(13, Message().bytes(1, key).bytes(2, value))
    msg.int(14, 1)          # DataLocation.EXTERNAL
    return msg


def attribute_proto(name, value):
    """An AttributeProto; its type follows the Python value: int, float, str, bytes,
    a numpy array (a tensor), a subgraph (an object with ``proto()``: a GraphProto), or a
    list/tuple of ints, floats or strings."""
    msg = Message().bytes(1, name)
    if isinstance(value, bool) or isinstance(value, (int, np.integer)):
        return msg.int(3, int(value)).int(20, _INT)
    if isinstance(value, (float, np.floating)):
        return msg.float(2, float(value)).int(20, _FLOAT)
    if isinstance(value, (str, bytes)):
        return msg.bytes(4, value).int(20, _STRING)
    if isinstance(value, np.ndarray):
        return msg.bytes(5, tensor_proto("", value)).int(20, _TENSOR)
    if hasattr(value, "proto"):     # a subgraph (_graph.Body)
        return msg.bytes(6, value.proto()).int(20, _GRAPH)
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, np.integer)) for v in value):
            return msg.repeated_ints(8, value).int(20, _INTS)
        if all(isinstance(v, (int, float, np.number)) for v in value):
            return msg.repeated_floats(7, [float(v) for v in value]).int(20, _FLOATS)
        if all(isinstance(v, (str, bytes)) for v in value):
            for v in value:
                msg.bytes(9, v)
            return msg.int(20, _STRINGS)
    raise TypeError(f"cannot write the ONNX attribute {name}={value!r}")


def node_proto(op_type, inputs, outputs, name, attrs, domain=""):
    msg = Message()
    for i in inputs:
        msg.bytes(1, i)     # "" marks an omitted optional input
    for o in outputs:
        msg.bytes(2, o)
    msg.bytes(3, name).bytes(4, op_type)
    for key in sorted(attrs):
        if attrs[key] is not None:
            msg.bytes(5, attribute_proto(key, attrs[key]))
    if domain:
        msg.bytes(7, domain)
    return msg


def value_info(name, np_dtype, shape):
    """A ValueInfoProto: a tensor of `np_dtype`; `shape` holds ints (fixed sizes), strings
    (named dynamic sizes) or None (unknown sizes); shape None: rank unknown."""
    tensor_type = Message().int(1, onnx_dtype(np_dtype))
    if shape is not None:
        shape_msg = Message()
        for d in shape:
            dim = Message()
            if isinstance(d, str):
                dim.bytes(2, d)
            elif d is not None:
                dim.int(1, int(d))
            shape_msg.bytes(1, dim)
        tensor_type.bytes(2, shape_msg)
    return Message().bytes(1, name).bytes(2, Message().bytes(1, tensor_type))


def graph_proto(name, nodes, initializers, inputs, outputs):
    msg = Message()
    for n in nodes:
        msg.bytes(1, n)
    msg.bytes(2, name)
    for t in initializers:
        msg.bytes(5, t)
    for v in inputs:
        msg.bytes(11, v)
    for v in outputs:
        msg.bytes(12, v)
    return msg


def model_proto(graph, opset, producer_name, producer_version, functions=(),
                opsets=None, ir_version=None):
    """A ModelProto. `functions`: serialized FunctionProtos (model-local functions);
    `opsets`: {domain: version} imported beside the default domain's `opset`;
    `ir_version`: None for the one `opset` came with."""
    msg = Message().int(1, ir_version_for(opset) if ir_version is None else ir_version)
    msg.bytes(2, producer_name).bytes(3, producer_version)
    msg.bytes(7, graph)
    msg.bytes(8, Message().bytes(1, "").int(2, opset))
    for domain, version in sorted((opsets or {}).items()):
        if domain:
            msg.bytes(8, Message().bytes(1, domain).int(2, version))
    for f in functions:
        msg.bytes(25, f)
    return msg
