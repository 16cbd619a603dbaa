"""Writing an exported model: one .onnx file, or the .onnx file and its weights in a
``<name>.onnx.data`` file beside it (ONNX external data), as PyTorch 2.13 writes them.

PyTorch's exporter (dynamo=True) saves with ``external_data=True`` by default: every
initializer of more than 256 bytes goes into the .data file, smallest first, each one
past 1 MiB starting at a multiple of 64 KiB (the layout onnx_ir writes for PyTorch 2.13,
checked against torch.onnx.export with onnxscript 0.7.2), and the model's TensorProto
holds its location, offset and length; smaller ones stay in the model. A model whose
initializers pass 1.5 GiB is always written so (a protobuf message cannot pass 2 GiB).
Files are written atomically: a temporary file beside the target, then os.replace.
"""
import os
import secrets

import numpy as np

from ._model_proto import model_proto, raw_bytes

__all__ = ["encode", "save", "write_model", "LARGE_MODEL_BYTES", "EXTERNAL_MIN_BYTES"]

LARGE_MODEL_BYTES = 1536 * 1024 * 1024    # torch.onnx's _LARGE_MODEL_THRESHOLD
EXTERNAL_MIN_BYTES = 257                   # more than 256 bytes go out
ALIGN_PAST_BYTES = 1024 * 1024             # larger tensors start at a multiple of
ALIGN_TO = 64 * 1024                       # ALIGN_TO in the .data file


def initializer_bytes(g):
    return sum(np.asarray(a).nbytes for a in g.used_initializers().values())


def encode(g, *, include_initializers=True, keep_initializers_as_inputs=False,
           external=None):
    """The model's ModelProto bytes. `external`: {initializer: (location, offset, length)}."""
    from .. import __version__
    graph = g.to_proto("main_graph", g.initializers_as_inputs or keep_initializers_as_inputs,
                       include_initializers, external)
    opsets = {}
    for domain, _ in g.functions:
        opsets[domain] = 1
    return bytes(model_proto(graph, g.opset, "ember", __version__, list(g.functions.values()),
                             opsets, g.ir_version))


def save(g, destination, *, include_initializers=True, keep_initializers_as_inputs=False,
         external_data=False):
    """Write the model to `destination` (a path or a binary file object); with
    external_data (or a model past LARGE_MODEL_BYTES) its large initializers go into
    ``<destination>.data`` beside it."""
    large = include_initializers and initializer_bytes(g) > LARGE_MODEL_BYTES
    if not (external_data or large) or not include_initializers:
        write_model(encode(g, include_initializers=include_initializers,
                           keep_initializers_as_inputs=keep_initializers_as_inputs),
                    destination)
        return
    if hasattr(destination, "write"):
        raise TypeError("external data is written to a file beside the model: "
                        "the destination must be a file path, not a file object")
    path = os.fspath(destination)
    location = os.path.basename(path) + ".data"
    data_path = os.path.join(os.path.dirname(os.path.abspath(path)), location)
    external = {}
    offset = 0
    tmp = _temporary(data_path)
    try:
        large = [(name, np.asarray(a)) for name, a in g.used_initializers().items()
                 if np.asarray(a).nbytes >= EXTERNAL_MIN_BYTES]
        large.sort(key=lambda item: item[1].nbytes)        # smallest first (stable)
        with open(tmp, "wb") as handle:
            for name, array in large:
                if array.nbytes > ALIGN_PAST_BYTES and offset % ALIGN_TO:
                    pad = ALIGN_TO - offset % ALIGN_TO
                    handle.write(b"\0" * pad)
                    offset += pad
                data = raw_bytes(array)
                handle.write(data)
                external[name] = (location, offset, len(data))
                offset += len(data)
        if external:
            os.replace(tmp, data_path)
        else:
            os.unlink(tmp)      # nothing large enough: one file, as onnx writes it
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    write_model(encode(g, keep_initializers_as_inputs=keep_initializers_as_inputs,
                       external=external), path)


def _temporary(path):
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}."
                                   f"{secrets.token_hex(4)}.tmp")


def write_model(data, f):
    """Write the encoded model to a path (atomically: a temporary file then os.replace)
    or to a binary file object."""
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    tmp = _temporary(path)
    try:
        # 0o666 less the umask, as open(path, "wb") would make it
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
