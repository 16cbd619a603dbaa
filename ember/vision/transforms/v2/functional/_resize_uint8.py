"""torch's resize of uint8 images (bilinear and bicubic, with or without antialiasing), as
its fixed-point CPU kernel computes it, bit for bit: per output pixel a window of input
pixels with int16 weights, two separable passes (horizontal, then vertical), each summed
in int32 and rounded to uint8. torchvision v2 resizes uint8 images this way (v1 goes
through float)."""
import numpy as np

from ....transforms.functional import InterpolationMode


def _filter(interpolation, antialias):
    """The interpolation kernel: the triangle (bilinear) or Keys' cubic, a = -0.5 with
    antialiasing and -0.75 without (as torch's uint8 kernel)."""
    if interpolation is InterpolationMode.BILINEAR:
        return 2, lambda x: np.clip(1.0 - np.abs(x), 0.0, None)
    a = -0.5 if antialias else -0.75

    def cubic(x):
        x = np.abs(x)
        near = ((a + 2) * x - (a + 3)) * x * x + 1
        far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        return np.where(x < 1, near, np.where(x < 2, far, 0.0))
    return 4, cubic


def _fixed_point_weights(in_size, out_size, interpolation, antialias):
    """Per output pixel: the input indices and int16 weights of its window, and the
    precision (bits) of the fixed-point weights.

    Output pixel i is centred at scale * (i + 0.5) in the input (scale = in / out); its
    window spans support = interp_size / 2 input pixels each side (times scale when
    antialiasing a downscale); the weights filter((j + 0.5 - centre) / stretch) are
    normalised to sum 1, then scaled by 2^precision (the largest precision keeping the
    biggest weight below 2^15) and rounded half away from zero."""
    interp_size, filt = _filter(interpolation, antialias)
    scale = in_size / out_size
    if interpolation is InterpolationMode.BICUBIC and not antialias:
        # plain bicubic: the 4 taps around src = scale * (i + 0.5) - 0.5, indices clamped
        # to the image (the border repeats), weights not renormalised
        src = scale * (np.arange(out_size) + 0.5) - 0.5
        first = np.floor(src).astype(np.int64) - 1
        j = first[:, None] + np.arange(4)[None, :]
        w = filt(j - src[:, None])
        return _to_fixed_point(np.clip(j, 0, in_size - 1), w)
    stretch = scale if antialias and scale >= 1.0 else 1.0
    support = interp_size * 0.5 * stretch
    centers = scale * (np.arange(out_size) + 0.5)
    xmin = np.maximum((centers - support + 0.5).astype(np.int64), 0)
    xmax = np.minimum((centers + support + 0.5).astype(np.int64), in_size)
    width = int((xmax - xmin).max())
    j = xmin[:, None] + np.arange(width)[None, :]
    w = filt((j - centers[:, None] + 0.5) / stretch)
    w = np.where(j < xmax[:, None], w, 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, 1.0), w)
    return _to_fixed_point(np.minimum(j, in_size - 1), w)


def _to_fixed_point(indices, w):
    """(indices, int16 weights, precision) from float weights."""
    max_w = w.max()
    precision = 0
    while precision < 22 and int(0.5 + max_w * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    scaled = w * (1 << precision)
    # C's (int) truncation of v +- 0.5: half away from zero
    ints = np.where(scaled < 0, np.trunc(scaled - 0.5), np.trunc(scaled + 0.5)).astype(np.int64)
    return indices, ints, precision


def _resample_rows(arr, out_size, interpolation, antialias):
    """One separable pass along axis -2 in fixed point: the sum of input rows times their
    int16 weights, plus half, shifted down by the precision, clipped to [0, 255]. The sums
    stay below 2^31 (255 times weights summing to at most ~1.2 * 2^22), so int32 holds
    them."""
    in_size = arr.shape[-2]
    indices, weights, precision = _fixed_point_weights(in_size, out_size, interpolation,
                                                       antialias)
    acc = np.full(arr.shape[:-2] + (out_size, arr.shape[-1]), 1 << (precision - 1),
                  dtype=np.int32)
    for k in range(weights.shape[1]):
        acc += arr[..., indices[:, k], :].astype(np.int32) * \
            weights[:, k].astype(np.int32)[:, None]
    return np.clip(acc >> precision, 0, 255).astype(np.uint8)


def resize_uint8(arr, size, interpolation, antialias):
    """torch's uint8 resize: a horizontal pass, then a vertical one, each in fixed point
    and rounded to uint8 (a pass is skipped when its size does not change)."""
    out_h, out_w = size
    if arr.shape[-1] != out_w:
        columns = np.ascontiguousarray(arr.swapaxes(-1, -2))
        arr = _resample_rows(columns, out_w, interpolation, antialias).swapaxes(-1, -2)
    if arr.shape[-2] != out_h:
        arr = _resample_rows(arr, out_h, interpolation, antialias)
    return np.ascontiguousarray(arr)
