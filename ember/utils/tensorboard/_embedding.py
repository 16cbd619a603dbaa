"""Files of TensorBoard's embedding projector: per embedding a directory
``<step:05d>/<tag>`` with ``tensors.tsv`` (one point a line), ``metadata.tsv`` (labels),
``sprite.png`` (the label images in a square grid), and, in the log directory,
``projector_config.pbtxt`` listing every embedding in protobuf text format."""
import math
import os

import numpy as np

from ._image import encode_png, make_grid


def quote_path_part(name):
    """``name`` made safe as one directory name: % / and \\ as %xx."""
    return name.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


def write_tsv(metadata, save_path, metadata_header=None):
    """One label a line; with ``metadata_header``, a header line and tab-separated columns."""
    if not metadata_header:
        lines = [str(x) for x in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError(
                "len of header must be equal to the number of columns in metadata")
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header] + list(metadata)]
    with open(os.path.join(save_path, "metadata.tsv"), "wb") as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))


def write_sprite(label_img, save_path):
    """The (N, C, H, W) label images, values in [0, 1], tiled ceil(sqrt(N)) to a row
    into a square canvas as wide as the grid (rows left over stay black)."""
    nrow = math.ceil(label_img.shape[0] ** 0.5)
    grid_chw = make_grid(label_img, ncols=nrow)
    side = grid_chw.shape[2]
    square = np.zeros((side, side, 3))
    square[:grid_chw.shape[1]] = grid_chw.transpose(1, 2, 0)
    pixels = np.uint8((square * 255).clip(0, 255))
    with open(os.path.join(save_path, "sprite.png"), "wb") as f:
        f.write(encode_png(pixels))


def write_matrix(mat, save_path):
    """The points, one a line, coordinates as Python prints them, tab-separated."""
    with open(os.path.join(save_path, "tensors.tsv"), "wb") as f:
        for row in mat:
            f.write(("\t".join(str(v.item()) for v in row) + "\n").encode("utf-8"))


def _text_quote(value):
    """A string literal of protobuf's text format (C escapes; bytes >= 0x80 in octal)."""
    escapes = {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord('"'): '\\"',
               ord("'"): "\\'", ord("\\"): "\\\\"}
    out = []
    for byte in value.encode("utf-8"):
        if byte in escapes:
            out.append(escapes[byte])
        elif byte < 0x20 or byte >= 0x7F:
            out.append("\\%03o" % byte)
        else:
            out.append(chr(byte))
    return '"' + "".join(out) + '"'


def embedding_info_text(tensor_name, tensor_path, metadata_path=None, sprite_path=None,
                        sprite_dim=None):
    """One ``embeddings { ... }`` entry of a ProjectorConfig, fields in the order of
    their numbers (tensor_name 1, metadata_path 2, sprite 5, tensor_path 8)."""
    lines = ["embeddings {", f"  tensor_name: {_text_quote(tensor_name)}"]
    if metadata_path is not None:
        lines.append(f"  metadata_path: {_text_quote(metadata_path)}")
    if sprite_path is not None:
        lines += ["  sprite {", f"    image_path: {_text_quote(sprite_path)}"]
        lines += [f"    single_image_dim: {d}" for d in sprite_dim]
        lines.append("  }")
    lines += [f"  tensor_path: {_text_quote(tensor_path)}", "}"]
    return "\n".join(lines) + "\n"
