"""Summaries: the ``tensorboard.Summary`` messages (as encoded bytes) that SummaryWriter's
``add_*`` methods write, field for field what torch.utils.tensorboard writes for the same
call, so that TensorBoard's plugins read them alike."""
import io
import json
import warnings
import wave

import numpy as np

from . import _proto as pb
from ._image import convert_to_hwc, encode_png, tile_video

__all__ = ["make_np", "scalar", "histogram", "histogram_raw", "make_histogram", "image",
           "audio", "text", "hparams", "pr_curve", "pr_curve_raw", "compute_curve",
           "custom_scalars", "tensor_proto"]


def make_np(x):
    """A NumPy array of ``x``: ndarrays as they are, Python/NumPy scalars as a 1-element
    array, tensors detached and copied to the host (bfloat16 as float16, as torch does,
    since NumPy has no bfloat16 of its own)."""
    from ember._tensor import Tensor
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if isinstance(x, Tensor):
        array = x.detach().cpu().numpy()
        if array.dtype.name == "bfloat16":
            array = array.astype(np.float16)
        return array
    raise NotImplementedError(
        f"Got {type(x)}, but numpy array or ember tensor are expected.")


# ----------------------------------------------------------------------------- scalars

def scalar(name, value, new_style=False, double_precision=False):
    """One number under tag ``name``: old style as Value.simple_value (a float32); new
    style as a one-element TensorProto (float32, or float64 with ``double_precision``)
    owned by the "scalars" plugin."""
    array = make_np(value).squeeze()
    if array.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). "
                             f"Was given size: {array.size} and {array.ndim} dimensions.")
    number = float(array)
    if not new_style:
        return pb.summary([pb.summary_value(name, simple_value=number)])
    if double_precision:
        tensor = pb.tensor_proto(pb.DT_DOUBLE, double_val=[number])
    else:
        tensor = pb.tensor_proto(pb.DT_FLOAT, float_val=[number])
    return pb.summary([pb.summary_value(name, tensor=tensor,
                                        metadata=pb.summary_metadata("scalars"))])


# ----------------------------------------------------------------------------- histograms

_tensorflow_bins = None


def tensorflow_bins():
    """TensorFlow's default histogram edges: ±1e-12 * 1.1**k up to 1e20, and 0.

    Built by repeated multiplication (not powers), as torch builds them, so that the
    edges agree to the last bit; cached, since there are ~1,500 of them."""
    global _tensorflow_bins
    if _tensorflow_bins is None:
        positive = []
        v = 1e-12
        while v < 1e20:
            positive.append(v)
            v *= 1.1
        _tensorflow_bins = [-b for b in reversed(positive)] + [0] + positive
    return _tensorflow_bins


def make_histogram(values, bins, max_bins=None):
    """HistogramProto bytes of ``values`` (a float64 array) counted by ``np.histogram``.

    With ``max_bins``, groups of ``len(counts) // max_bins`` consecutive buckets are
    merged. Then the buckets before the first and after the last non-empty one are
    dropped, keeping one empty bucket on the left: TensorBoard stores only right edges,
    so that bucket carries the left edge of the data's range."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    n = len(counts)
    if max_bins is not None and n > max_bins:
        group = n // max_bins
        if n % group:
            counts = np.concatenate([counts, np.zeros(group - n % group, counts.dtype)])
        counts = counts.reshape(-1, group).sum(axis=-1)
        limits = np.concatenate([limits[:-1:group], limits[-1:]])
    nonzero = np.flatnonzero(counts)
    if nonzero.size == 0:
        # every value lies outside the bins
        raise ValueError("The histogram is empty, please file a bug report.")
    first, last = int(nonzero[0]), int(nonzero[-1])
    if first > 0:
        counts = counts[first - 1:last + 1]
    else:
        counts = np.concatenate([[0], counts[:last + 1]])
    limits = limits[first:last + 2]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return pb.histogram_proto(min=values.min(), max=values.max(), num=len(values),
                              sum=values.sum(), sum_squares=values.dot(values),
                              bucket_limit=limits.tolist(), bucket=counts.tolist())


def histogram(name, values, bins, max_bins=None):
    """A histogram of ``values`` (any shape) under tag ``name``."""
    values = make_np(values).astype(float)
    return pb.summary([pb.summary_value(name, histo=make_histogram(values, bins, max_bins))])


def histogram_raw(name, min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    """A histogram given by its statistics and buckets."""
    histo = pb.histogram_proto(min, max, num, sum, sum_squares,
                               [float(b) for b in bucket_limits],
                               [float(c) for c in bucket_counts])
    return pb.summary([pb.summary_value(name, histo=histo)])


# ----------------------------------------------------------------------------- images

def image(tag, values, dataformats="NCHW"):
    """An image (or a batch tiled into a grid) as PNG. uint8 values are taken as 0-255,
    any other dtype as 0-1 and scaled by 255; then clipped to 0-255 and truncated."""
    array = convert_to_hwc(make_np(values), dataformats)
    scale = 1 if array.dtype == np.uint8 else 255
    pixels = (array.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    height, width, channels = pixels.shape
    encoded = pb.image_proto(height, width, channels, encode_png(pixels))
    return pb.summary([pb.summary_value(tag, image=encoded)])


def image_boxes(tag, img, boxes, rescale=1, dataformats="CHW", labels=None):
    """An image with boxes drawn on it, as PyTorch's writer draws them with Pillow: each
    box (xmin, ymin, xmax, ymax) a red outline 2 pixels wide, its label (if any) in
    black on a red band inside the box's bottom-left corner, in Pillow's default font;
    the image then resized by `rescale` (Lanczos). Pillow is needed for this one (the
    font); the Image's height and width are those before rescaling, as PyTorch's."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as e:
        raise ImportError("add_image_with_boxes draws with Pillow: pip install pillow") from e
    array = convert_to_hwc(make_np(img), dataformats)
    scale = 1 if array.dtype == np.uint8 else 255
    pixels = (array.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    height, width, channels = pixels.shape
    picture = Image.fromarray(pixels)
    boxes = make_np(boxes)
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default()
    for i in range(boxes.shape[0]):
        x0, y0, x1, y1 = boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3]
        draw.line([(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)], width=2, fill="Red")
        label = None if labels is None else labels[i]
        if label:
            left, top, right, bottom = font.getbbox(label)
            text_w, text_h = right - left, bottom - top
            margin = np.ceil(0.05 * text_h)
            draw.rectangle([(x0, y1 - text_h - 2 * margin), (x0 + text_w, y1)], fill="Red")
            draw.text((x0 + margin, y1 - text_h - margin), label, fill="black", font=font)
    picture = picture.resize((int(width * rescale), int(height * rescale)),
                             Image.Resampling.LANCZOS)
    encoded = pb.image_proto(height, width, channels, encode_png(np.asarray(picture)
                                                                 .reshape(picture.height,
                                                                          picture.width, -1)))
    return pb.summary([pb.summary_value(tag, image=encoded)])


def video(tag, values, fps=4):
    """A batch of videos (N, T, C, H, W), tiled into one clip (`tile_video`), as an
    animated GIF (Pillow's encoder; PyTorch's writer asks moviepy 1.x for one) at `fps`
    frames a second, looping. Float values are in [0, 1], uint8 in [0, 255]."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("add_video encodes GIFs with Pillow: pip install pillow") from e
    frames = tile_video(make_np(values))
    scale = 1 if frames.dtype == np.uint8 else 255
    frames = (frames.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    t, height, width, channels = frames.shape
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels)
    if mode is None:
        raise ValueError(f"add_video: frames need 1, 3 or 4 channels, got {channels}")
    pictures = [Image.fromarray(f[..., 0] if channels == 1 else f, mode) for f in frames]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=1000.0 / fps, loop=0)
    encoded = pb.image_proto(height, width, channels, buffer.getvalue())
    return pb.summary([pb.summary_value(tag, image=encoded)])


# ----------------------------------------------------------------------------- audio

def audio(tag, values, sample_rate=44100):
    """A mono clip as 16-bit WAV; samples in [-1, 1] (clipped, with a warning, if not)."""
    array = make_np(values).squeeze()
    if abs(array).max() > 1:
        warnings.warn("audio amplitude out of range, auto clipped.")
        array = array.clip(-1, 1)
    if array.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    samples = (array * np.iinfo(np.int16).max).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples.tobytes())
    encoded = pb.audio_proto(sample_rate, 1, samples.shape[-1], buffer.getvalue(),
                             "audio/wav")
    return pb.summary([pb.summary_value(tag, audio=encoded)])


# ----------------------------------------------------------------------------- text

def text(tag, text_string):
    """Text (markdown) as a one-element string tensor of the "text" plugin, under
    ``tag + "/text_summary"``."""
    metadata = pb.summary_metadata("text", pb.text_plugin_data(version=0))
    tensor = pb.tensor_proto(pb.DT_STRING, shape=[1],
                             string_val=[text_string.encode("utf_8")])
    return pb.summary([pb.summary_value(tag + "/text_summary", metadata=metadata,
                                        tensor=tensor)])


# ----------------------------------------------------------------------------- tensors

def _flat_list(array):
    return array.reshape(-1).tolist()


def _half_bits(array):
    """torch stores float16/bfloat16 values as the int32 view of their float32 bits."""
    as_float32 = array.reshape(-1).astype(np.float32)
    return as_float32.view(np.int32).tolist()


def _complex_parts(array):
    """Real and imaginary parts interleaved."""
    return np.stack([array.real, array.imag], -1).reshape(-1).tolist()


# NumPy dtype name -> (DataType, TensorProto field, values as a list); as torch's table
_TENSOR_FIELDS = {
    "float16": (pb.DT_HALF, "half_val", _half_bits),
    "bfloat16": (pb.DT_BFLOAT16, "half_val", _half_bits),
    "float32": (pb.DT_FLOAT, "float_val", _flat_list),
    "float64": (pb.DT_DOUBLE, "double_val", _flat_list),
    "int8": (pb.DT_INT8, "int_val", _flat_list),
    "uint8": (pb.DT_UINT8, "uint32_val", _flat_list),
    "int16": (pb.DT_INT16, "int_val", _flat_list),
    "int32": (pb.DT_INT32, "int_val", _flat_list),
    "int64": (pb.DT_INT64, "int64_val", _flat_list),
    "bool": (pb.DT_BOOL, "bool_val", _flat_list),
    "complex64": (pb.DT_COMPLEX64, "scomplex_val", _complex_parts),
    "complex128": (pb.DT_COMPLEX128, "dcomplex_val", _complex_parts),
}


def tensor_proto(tag, tensor):
    """The whole tensor, element by element, as a TensorProto of the "tensor" plugin."""
    from ember._tensor import Tensor
    if isinstance(tensor, Tensor):
        array = tensor.detach().cpu().numpy()
    else:
        array = np.asarray(tensor)
    if array.nbytes >= 1 << 31:
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    if array.dtype.name not in _TENSOR_FIELDS:
        dtype_name = getattr(tensor, "dtype", array.dtype)
        raise ValueError(f"{tag} has unsupported tensor dtype {dtype_name}")
    dtype, field, convert = _TENSOR_FIELDS[array.dtype.name]
    encoded = pb.tensor_proto(dtype, shape=list(array.shape), **{field: convert(array)})
    return pb.summary([pb.summary_value(tag, metadata=pb.summary_metadata("tensor"),
                                        tensor=encoded)])


# ----------------------------------------------------------------------------- mesh

# MeshPluginData.ContentType
_MESH_PARTS = (("VERTEX", 1), ("FACE", 2), ("COLOR", 3))


def mesh(tag, vertices, colors, faces, config_dict):
    """The mesh plugin's summary: one float TensorProto per part given (vertices, faces,
    colors; each (B, N, 3)), tagged ``<tag>_VERTEX`` / ``_FACE`` / ``_COLOR``, whose
    MeshPluginData names the parts present (a bitmask) and carries ``config_dict`` as
    sorted JSON (the Three.js camera, material and lights settings)."""
    json_config = "{}" if config_dict is None else json.dumps(config_dict, sort_keys=True)
    parts = [(make_np(t), name, kind) for t, (name, kind) in
             zip((vertices, faces, colors), _MESH_PARTS) if t is not None]
    components = 0
    for _, _, kind in parts:
        components |= 1 << kind
    values = []
    for array, name, kind in parts:
        if array.ndim != 3:
            raise ValueError(f"Tensor shape should be of shape BxNx3, but got "
                             f"ember.Size({list(array.shape)}).")
        content = pb.mesh_plugin_data(tag, kind, components, list(array.shape), json_config)
        encoded = pb.tensor_proto(pb.DT_FLOAT, shape=list(array.shape),
                                  float_val=array.reshape(-1).tolist())
        values.append(pb.summary_value(f"{tag}_{name}", tensor=encoded,
                                       metadata=pb.summary_metadata("mesh", content)))
    return pb.summary(values)


# ----------------------------------------------------------------------------- hparams

_HPARAMS_TAGS = ("_hparams_/experiment", "_hparams_/session_start_info",
                 "_hparams_/session_end_info")


def _hparams_summary(tag, **payload):
    content = pb.hparams_plugin_data(version=0, **payload)
    return pb.summary([pb.summary_value(tag, metadata=pb.summary_metadata("hparams", content))])


def hparams(hparam_dict, metric_dict, hparam_domain_discrete=None):
    """The three summaries of the hparams plugin: the Experiment (hyperparameter and
    metric names, types and discrete domains), the SessionStartInfo (this run's values)
    and the SessionEndInfo (status success)."""
    from ember._tensor import Tensor
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, "
                        "nothing logged.")
    for k, v in domains.items():
        if (k not in hparam_dict or not isinstance(v, list)
                or not all(isinstance(d, type(hparam_dict[k])) for d in v)):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of "
                            f"same type as hparam_dict[{k}].")

    infos, values = [], {}
    for k, v in hparam_dict.items():
        if v is None:
            continue
        # bool is an int to isinstance: torch records True/False as the numbers 1.0/0.0
        if isinstance(v, (int, float)):
            kind, value = pb.HPARAMS_FLOAT64, pb.struct_value(number_value=v)
            domain = [pb.struct_value(number_value=d) for d in domains.get(k, ())]
        elif isinstance(v, str):
            kind, value = pb.HPARAMS_STRING, pb.struct_value(string_value=v)
            domain = [pb.struct_value(string_value=d) for d in domains.get(k, ())]
        elif isinstance(v, Tensor):
            number = float(make_np(v).reshape(-1)[0])
            kind, value, domain = pb.HPARAMS_FLOAT64, pb.struct_value(number_value=number), []
        else:
            raise ValueError("value should be one of int, float, str, bool, or ember.Tensor")
        values[k] = value
        # a tensor's domain is never recorded (torch's rule)
        discrete = pb.list_value(domain) if k in domains and not isinstance(v, Tensor) else None
        infos.append(pb.hparam_info(k, kind, discrete))

    metrics = [pb.metric_info(k) for k in metric_dict]
    exp = _hparams_summary(_HPARAMS_TAGS[0], experiment=pb.experiment(infos, metrics))
    ssi = _hparams_summary(_HPARAMS_TAGS[1], session_start_info=pb.session_start_info(values))
    sei = _hparams_summary(_HPARAMS_TAGS[2], session_end_info=pb.session_end_info(
        pb.HPARAMS_STATUS_SUCCESS))
    return exp, ssi, sei


# ----------------------------------------------------------------------------- PR curves

def compute_curve(labels, predictions, num_thresholds, weights=None):
    """The (6, num_thresholds) table TensorBoard's PR-curve plugin reads: true/false
    positive/negative counts, precision and recall at thresholds i / (num_thresholds - 1).

    Each prediction falls in bucket ``floor(p * (num_thresholds - 1))``; the counts at
    threshold i are reverse cumulative sums of the (weighted) bucket counts."""
    minimum_count = 1e-7     # keeps 0/0 at 0
    if weights is None:
        weights = 1.0
    buckets = np.int32(np.floor(predictions * (num_thresholds - 1)))
    float_labels = labels.astype(np.float64)
    span = (0, num_thresholds - 1)
    tp_buckets, _ = np.histogram(buckets, bins=num_thresholds, range=span,
                                 weights=float_labels * weights)
    fp_buckets, _ = np.histogram(buckets, bins=num_thresholds, range=span,
                                 weights=(1.0 - float_labels) * weights)
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(minimum_count, tp + fp)
    recall = tp / np.maximum(minimum_count, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def _pr_curve_summary(tag, data, num_thresholds):
    content = pb.pr_curve_plugin_data(version=0, num_thresholds=num_thresholds)
    tensor = pb.tensor_proto(pb.DT_FLOAT, shape=list(data.shape),
                             float_val=data.reshape(-1).tolist())
    return pb.summary([pb.summary_value(tag, metadata=pb.summary_metadata("pr_curves", content),
                                        tensor=tensor)])


def pr_curve(tag, labels, predictions, num_thresholds=127, weights=None):
    """A precision-recall curve; at most 127 thresholds, as torch (more would not fit
    TensorBoard's plugin)."""
    num_thresholds = min(num_thresholds, 127)
    data = compute_curve(labels, predictions, num_thresholds, weights)
    return _pr_curve_summary(tag, data, num_thresholds)


def pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, num_thresholds=127):
    num_thresholds = min(num_thresholds, 127)
    data = np.stack([make_np(a) for a in (tp, fp, tn, fn, precision, recall)])
    return _pr_curve_summary(tag, data, num_thresholds)


# ----------------------------------------------------------------------------- custom scalars

def custom_scalars(layout):
    """The custom-scalars plugin's layout: ``{category: {chart: [kind, tags]}}``."""
    categories = []
    for title, charts in layout.items():
        entries = []
        for chart_title, (kind, tags) in ((t, (m[0], m[1])) for t, m in charts.items()):
            if kind == "Margin" and len(tags) != 3:
                raise AssertionError("len(tags) != 3")
            entries.append((chart_title, kind, list(tags)))
        categories.append((title, entries))
    tensor = pb.tensor_proto(pb.DT_STRING, shape=[],
                             string_val=[pb.custom_scalar_layout(categories)])
    return pb.summary([pb.summary_value("custom_scalars__config__", tensor=tensor,
                                        metadata=pb.summary_metadata("custom_scalars"))])

