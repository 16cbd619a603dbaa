"""Images for TensorBoard: layouts converted to height x width x channels, batches tiled
into a grid, and a small PNG encoder (zlib from the standard library), so that writing
images needs neither Pillow nor any other image library."""
import struct
import zlib

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type by channel count: grey, grey + alpha, RGB, RGBA
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def _chunk(kind, payload):
    """A PNG chunk: length, type, payload and the CRC-32 (zlib's) of type + payload."""
    crc = zlib.crc32(payload, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_png(hwc):
    """PNG bytes of a uint8 array of shape (height, width, channels), channels 1-4.

    8 bits per sample, no interlacing; every scanline uses filter type 0 (none), which is
    always valid and keeps the encoder to a few lines: zlib still compresses runs."""
    if hwc.dtype != np.uint8 or hwc.ndim != 3 or hwc.shape[2] not in _COLOR_TYPE:
        raise ValueError(f"encode_png expects a uint8 (H, W, 1..4) array, got "
                         f"{hwc.dtype} {tuple(hwc.shape)}")
    height, width, channels = hwc.shape
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    rows = np.ascontiguousarray(hwc).reshape(height, width * channels)
    # each scanline is preceded by its filter-type byte
    scanlines = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)
    data = zlib.compress(scanlines.tobytes(), 6)
    return (_PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def make_grid(nchw, ncols=8):
    """Tile a batch (N, C, H, W), C = 1 or 3, into one (3, rows*H, cols*W) image, row by
    row, ``min(N, ncols)`` images a row; grey images are repeated into three channels and
    unused cells stay 0."""
    if nchw.shape[1] == 1:
        nchw = np.concatenate([nchw, nchw, nchw], 1)
    if nchw.ndim != 4 or nchw.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    n, _, h, w = nchw.shape
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    canvas = np.zeros((3, h * nrows, w * ncols), dtype=nchw.dtype)
    for i in range(n):
        row, col = divmod(i, ncols)
        canvas[:, row * h:(row + 1) * h, col * w:(col + 1) * w] = nchw[i]
    return canvas


def convert_to_hwc(array, dataformats):
    """Rearrange ``array`` laid out as ``dataformats`` (e.g. "CHW", "NHWC", "HW") into
    (H, W, C): a batch is tiled by `make_grid`, one channel and 2-D images become three
    identical channels."""
    if len(set(dataformats)) != len(dataformats):
        raise AssertionError(f"You can not use the same dimension shorthand twice. "
                             f"input_format: {dataformats}")
    if array.ndim != len(dataformats):
        raise AssertionError(f"size of input tensor and input format are different. "
                             f"tensor shape: {array.shape}, input_format: {dataformats}")
    fmt = dataformats.upper()
    if len(fmt) == 4:
        nchw = array.transpose([fmt.find(c) for c in "NCHW"])
        return make_grid(nchw).transpose(1, 2, 0)
    if len(fmt) == 3:
        hwc = array.transpose([fmt.find(c) for c in "HWC"])
        if hwc.shape[2] == 1:
            hwc = np.concatenate([hwc, hwc, hwc], 2)
        return hwc
    if len(fmt) == 2:
        hw = array.transpose([fmt.find(c) for c in "HW"])
        return np.stack([hw, hw, hw], 2)
    raise AssertionError(f"dataformats must have 2, 3 or 4 letters, got {dataformats!r}")


def tile_video(video):
    """Frames (T, rows*H, cols*W, C) of a batch of videos (N, T, C, H, W): the N clips
    side by side in a grid whose size is N rounded up to a power of two (blank clips
    fill it), 2**(floor(log2 N) // 2) rows. uint8 videos become floats in [0, 1] first,
    in float32, as PyTorch's writer computes them (its rounding included)."""
    n, t, c, h, w = video.shape
    if video.dtype == np.uint8:
        video = np.float32(video) / 255.0
    if n & (n - 1):   # not a power of two: pad with blank clips (float64 zeros, as torch)
        extra = (1 << n.bit_length()) - n
        video = np.concatenate((video, np.zeros((extra, t, c, h, w))), axis=0)
    rows = 1 << ((n.bit_length() - 1) // 2)
    cols = video.shape[0] // rows
    grid = video.reshape(rows, cols, t, c, h, w).transpose(2, 0, 4, 1, 5, 3)
    return grid.reshape(t, rows * h, cols * w, c)
