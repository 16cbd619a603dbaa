"""Hand-written protobuf encoding of the TensorBoard messages ember writes.

Only encoding is needed, and only proto3's wire format: a field is a key
``(field_number << 3) | wire_type`` as a varint followed by its value: a varint (wire
type 0: ints, bools, enums), 8 little-endian bytes (1: double), a length-prefixed byte
string (2: strings, bytes, sub-messages, packed repeated numbers) or 4 bytes (5: float).
As proto3 does, a scalar field holding its default (0, "", False) is left out, except
inside a ``oneof`` (there, being set is information); repeated numbers are packed.

Each message builder below returns the message's bytes and takes the fields by name;
the field numbers are those of TensorBoard's .proto files (tensorboard/compat/proto
event.proto, summary.proto, tensor.proto, tensor_shape.proto; the hparams, text,
pr_curve and custom_scalar plugins; google/protobuf/struct.proto).
"""
import math
import struct

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5

# tensorflow.DataType (types.proto)
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_UINT8, DT_INT16, DT_INT8, DT_STRING = 1, 2, 3, 4, 5, 6, 7
DT_COMPLEX64, DT_INT64, DT_BOOL, DT_BFLOAT16, DT_COMPLEX128, DT_HALF = 8, 9, 10, 14, 18, 19


# ----------------------------------------------------------------------------- wire format

def varint(value):
    """Base-128 varint; negative ints as their 64-bit two's complement (10 bytes)."""
    value = int(value)
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(number, wire_type):
    return varint((number << 3) | wire_type)


def field_varint(number, value, keep_default=False):
    """An int64/int32/enum/bool field."""
    if not value and not keep_default:
        return b""
    return _key(number, _VARINT) + varint(value)


def field_double(number, value, keep_default=False):
    if value == 0 and not keep_default and not _is_negative_zero(value):
        return b""
    return _key(number, _I64) + struct.pack("<d", float(value))


def field_float(number, value, keep_default=False):
    if value == 0 and not keep_default and not _is_negative_zero(value):
        return b""
    return _key(number, _I32) + struct.pack("<f", float(value))


def field_bytes(number, value, keep_default=False):
    """A string (encoded as UTF-8), bytes or an already-encoded sub-message."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not value and not keep_default:
        return b""
    return _key(number, _LEN) + varint(len(value)) + bytes(value)


def field_message(number, encoded):
    """A sub-message that is set (``None`` = not set): written even when empty."""
    if encoded is None:
        return b""
    return field_bytes(number, encoded, keep_default=True)


def repeated_bytes(number, values):
    return b"".join(field_bytes(number, v, keep_default=True) for v in values)


def packed_doubles(number, values):
    values = list(values)
    if not values:
        return b""
    return field_bytes(number, struct.pack(f"<{len(values)}d", *values))


def packed_floats(number, values):
    values = list(values)
    if not values:
        return b""
    return field_bytes(number, struct.pack(f"<{len(values)}f", *values))


def packed_varints(number, values):
    values = list(values)
    if not values:
        return b""
    return field_bytes(number, b"".join(varint(v) for v in values))


def _is_negative_zero(value):
    # -0.0 differs from the default 0.0 in its bits, so proto3 writes it
    return value == 0 and math.copysign(1.0, value) < 0


# ----------------------------------------------------------------------------- event.proto

def event(wall_time=0.0, step=0, file_version=None, summary=None, session_log=None,
          source_writer=None, graph_def=None, tagged_run_metadata=None):
    """tensorboard.Event. ``file_version``, ``graph_def``, ``summary``, ``session_log``
    and ``tagged_run_metadata`` are one of the ``what`` oneof; ``source_writer`` fills
    SourceMetadata.writer."""
    parts = [field_double(1, wall_time), field_varint(2, step)]
    if file_version is not None:
        parts.append(field_bytes(3, file_version, keep_default=True))
    if graph_def is not None:
        parts.append(field_bytes(4, graph_def, keep_default=True))
    parts.append(field_message(5, summary))
    parts.append(field_message(7, session_log))
    parts.append(field_message(8, tagged_run_metadata))
    if source_writer is not None:
        parts.append(field_message(10, field_bytes(1, source_writer)))
    return b"".join(parts)


SESSION_START = 1


def session_log(status):
    """tensorboard.SessionLog with only its status (START = 1)."""
    return field_varint(1, status)


# ----------------------------------------------------------------------------- summary.proto

def summary(values):
    """tensorboard.Summary: repeated Value (each already encoded)."""
    return repeated_bytes(1, values)


def summary_value(tag, metadata=None, simple_value=None, image=None, histo=None,
                  audio=None, tensor=None):
    """tensorboard.Summary.Value; simple_value/image/histo/audio/tensor form a oneof."""
    parts = [field_bytes(1, tag)]
    if simple_value is not None:
        parts.append(field_float(2, simple_value, keep_default=True))
    parts += [field_message(4, image), field_message(5, histo), field_message(6, audio),
              field_message(8, tensor), field_message(9, metadata)]
    return b"".join(parts)


def summary_metadata(plugin_name, content=b""):
    """tensorboard.SummaryMetadata holding PluginData(plugin_name, content)."""
    plugin_data = field_bytes(1, plugin_name) + field_bytes(2, content)
    return field_message(1, plugin_data)


def histogram_proto(min, max, num, sum, sum_squares, bucket_limit, bucket):
    """tensorboard.HistogramProto: all doubles; ``bucket_limit[i]`` is the right edge of
    bucket i and ``bucket[i]`` its count."""
    return b"".join((field_double(1, min), field_double(2, max), field_double(3, num),
                     field_double(4, sum), field_double(5, sum_squares),
                     packed_doubles(6, bucket_limit), packed_doubles(7, bucket)))


def image_proto(height, width, colorspace, encoded_image_string):
    """tensorboard.Summary.Image."""
    return b"".join((field_varint(1, height), field_varint(2, width),
                     field_varint(3, colorspace), field_bytes(4, encoded_image_string)))


def audio_proto(sample_rate, num_channels, length_frames, encoded_audio_string,
                content_type):
    """tensorboard.Summary.Audio."""
    return b"".join((field_float(1, sample_rate), field_varint(2, num_channels),
                     field_varint(3, length_frames), field_bytes(4, encoded_audio_string),
                     field_bytes(5, content_type)))


# ----------------------------------------------------------------------------- tensor.proto

def tensor_shape(dims):
    """tensorboard.TensorShapeProto: repeated Dim(size)."""
    return b"".join(field_message(2, field_varint(1, d)) for d in dims)


def tensor_proto(dtype, shape=None, float_val=(), double_val=(), int_val=(),
                 string_val=(), scomplex_val=(), int64_val=(), bool_val=(),
                 dcomplex_val=(), half_val=(), uint32_val=()):
    """tensorboard.TensorProto; ``shape`` is a list of dims, or None for no shape field."""
    return b"".join((
        field_varint(1, dtype),
        field_message(2, None if shape is None else tensor_shape(shape)),
        packed_floats(5, float_val), packed_doubles(6, double_val),
        packed_varints(7, int_val), repeated_bytes(8, string_val),
        packed_floats(9, scomplex_val), packed_varints(10, int64_val),
        packed_varints(11, bool_val), packed_doubles(12, dcomplex_val),
        packed_varints(13, half_val), packed_varints(16, uint32_val)))


# ------------------------------------------------- graph.proto, node_def.proto, attr_value.proto

def attr_value(s=None, shapes=None):
    """tensorboard.AttrValue holding a string ``s`` or a ListValue of TensorShapeProtos
    (``shapes``: a list of dim lists)."""
    if shapes is not None:
        return field_message(1, b"".join(field_message(7, tensor_shape(d)) for d in shapes))
    return field_bytes(2, s, keep_default=True)


def node_def(name, op, inputs=(), device="", attrs=()):
    """tensorboard.NodeDef; ``attrs`` is a list of (key, encoded AttrValue), the map's
    entries in the order given."""
    entries = [field_message(5, field_bytes(1, k) + field_message(2, v)) for k, v in attrs]
    return b"".join([field_bytes(1, name), field_bytes(2, op), repeated_bytes(3, inputs),
                     field_bytes(4, device)] + entries)


def graph_def(nodes, producer):
    """tensorboard.GraphDef: the encoded NodeDefs and VersionDef(producer)."""
    return repeated_bytes(1, nodes) + field_message(4, field_varint(1, producer))


def run_metadata(devices):
    """tensorboard.RunMetadata whose StepStats list `devices` (names, no node stats)."""
    return field_message(1, repeated_bytes(1, [field_bytes(1, d) for d in devices]))


def tagged_run_metadata(tag, encoded_run_metadata):
    return field_bytes(1, tag) + field_bytes(2, encoded_run_metadata)


# ----------------------------------------------------------------------------- struct.proto

def struct_value(number_value=None, string_value=None, bool_value=None):
    """google.protobuf.Value with one of its kinds set."""
    if number_value is not None:
        return field_double(2, number_value, keep_default=True)
    if string_value is not None:
        return field_bytes(3, string_value, keep_default=True)
    return field_varint(4, bool_value, keep_default=True)


def list_value(values):
    """google.protobuf.ListValue: repeated Value (each already encoded)."""
    return repeated_bytes(1, values)


# ----------------------------------------------------------------------------- plugins

HPARAMS_FLOAT64, HPARAMS_STRING, HPARAMS_BOOL = 3, 1, 2   # hparams DataType
HPARAMS_STATUS_SUCCESS = 1


def hparam_info(name, type, domain_discrete=None):
    """tensorboard.hparams.HParamInfo; ``domain_discrete`` an encoded ListValue."""
    return field_bytes(1, name) + field_varint(4, type) + field_message(5, domain_discrete)


def metric_info(tag):
    """tensorboard.hparams.MetricInfo naming MetricName(tag)."""
    return field_message(1, field_bytes(2, tag))


def experiment(hparam_infos, metric_infos):
    """tensorboard.hparams.Experiment."""
    return repeated_bytes(4, hparam_infos) + repeated_bytes(5, metric_infos)


def session_start_info(hparams):
    """tensorboard.hparams.SessionStartInfo; ``hparams`` maps names to encoded Values
    (a map field is a repeated entry message with key = 1, value = 2)."""
    return b"".join(field_message(1, field_bytes(1, k) + field_message(2, v))
                    for k, v in hparams.items())


def session_end_info(status):
    return field_varint(1, status)


def hparams_plugin_data(version=0, experiment=None, session_start_info=None,
                        session_end_info=None):
    """tensorboard.hparams.HParamsPluginData: version and one of the three payloads."""
    return b"".join((field_varint(1, version), field_message(2, experiment),
                     field_message(3, session_start_info), field_message(4, session_end_info)))


def text_plugin_data(version=0):
    return field_varint(1, version)


def pr_curve_plugin_data(version=0, num_thresholds=0):
    return field_varint(1, version) + field_varint(2, num_thresholds)


def mesh_plugin_data(name, content_type, components, shape, json_config, version=0):
    """tensorboard.MeshPluginData (the mesh plugin's plugin_data.proto)."""
    return b"".join((field_varint(1, version), field_bytes(2, name),
                     field_varint(3, content_type), field_bytes(5, json_config),
                     packed_varints(6, shape), field_varint(7, components)))


def custom_scalar_layout(categories):
    """tensorboard.Layout from ``[(title, [(chart_title, kind, tags)])]``; kind is
    "Margin" (tags = value, lower, upper) or anything else for a multiline chart."""
    encoded = []
    for title, charts in categories:
        chart_bytes = []
        for chart_title, kind, tags in charts:
            if kind == "Margin":
                series = field_bytes(1, tags[0]) + field_bytes(2, tags[1]) + field_bytes(3, tags[2])
                content = field_message(3, field_message(1, series))
            else:
                content = field_message(2, repeated_bytes(1, tags))
            chart_bytes.append(field_bytes(1, chart_title) + content)
        encoded.append(field_bytes(1, title) + repeated_bytes(2, chart_bytes))
    return repeated_bytes(2, encoded)
