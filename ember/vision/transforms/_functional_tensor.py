"""Image kernels on NumPy arrays shaped ``(..., C, H, W)``.

These are the tensor halves of ``transforms.functional``: the public functions unwrap an
ember Tensor into its array, call a kernel here and wrap the result. Each kernel follows
torchvision's tensor implementation (which itself calls ``torch.nn.functional``), so the
pixels agree with torchvision on the same input:

- integer images are computed in float32 and rounded back (``_cast_out``), as
  torchvision's ``_cast_squeeze_out`` does;
- resampling reproduces ``F.interpolate(..., align_corners=False)``, with and without
  ``antialias`` (the antialiased filters are PIL's, as in PyTorch);
- geometric transforms build torchvision's sampling grid and sample it like
  ``F.grid_sample(..., padding_mode="zeros", align_corners=False)``.
"""
import math

import numpy as np

__all__ = []

_INT_MAX = {np.dtype(np.uint8): 255, np.dtype(np.int8): 127, np.dtype(np.int16): 32767,
            np.dtype(np.uint16): 65535, np.dtype(np.int32): 2**31 - 1,
            np.dtype(np.int64): 2**63 - 1, np.dtype(np.bool_): 1}


def max_value(dtype):
    """The value of a fully saturated pixel: 1.0 for floats, the dtype's max for integers."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f" or dtype.name == "bfloat16":
        return 1.0
    return _INT_MAX[dtype]


def is_float(arr):
    return arr.dtype.kind == "f" or arr.dtype.name == "bfloat16"


def _cast_in(arr):
    """A float copy of `arr` to compute on: float dtypes stay (bfloat16/float16 go to
    float32), integers go to float32."""
    if arr.dtype in (np.float32, np.float64):
        return arr
    return arr.astype(np.float32)


def _cast_out(result, dtype):
    """Back to the input's dtype; integer images are rounded (half to even) first."""
    dtype = np.dtype(dtype)
    if result.dtype == dtype:
        return result
    if dtype.kind in "iub":
        result = np.rint(result)
    return result.astype(dtype)


# ---------------------------------------------------------------- resampling


def _cubic(x, a):
    """Keys' cubic convolution kernel with parameter `a`."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def _triangle(x):
    return np.clip(1.0 - np.abs(x), 0.0, None)


def resize_weights(in_size, out_size, mode, antialias):
    """The ``(out_size, in_size)`` matrix W with ``out = W @ in`` along one axis.

    Follows ATen's upsampling kernels for ``align_corners=False``: the output pixel i
    sits at source coordinate ``(i + 0.5) * scale - 0.5`` with ``scale = in / out``.

    - nearest: source ``floor(i * scale)``; nearest-exact: ``floor((i + 0.5) * scale)``.
    - bilinear / bicubic (``a = -0.75``) without antialias: the 2 / 4 neighbours, indices
      clamped to the border.
    - antialias (bilinear / bicubic with ``a = -0.5``), PIL's algorithm: when shrinking,
      the filter is stretched by ``scale`` so every source pixel contributes; the weights
      of each row are normalised to sum to 1.
    """
    scale = in_size / out_size
    dst = np.arange(out_size, dtype=np.float64)
    weights = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.arange(out_size)
    if mode in ("nearest", "nearest-exact"):
        offset = 0.0 if mode == "nearest" else 0.5
        src = np.minimum(np.floor((dst + offset) * scale).astype(np.int64), in_size - 1)
        weights[rows, src] = 1.0
        return weights
    if antialias and mode in ("bilinear", "bicubic"):
        half = 1.0 if mode == "bilinear" else 2.0
        stretch = max(scale, 1.0)
        support = half * stretch
        for i in range(out_size):
            center = scale * (i + 0.5)
            lo = max(int(center - support + 0.5), 0)
            hi = min(int(center + support + 0.5), in_size)
            x = (np.arange(lo, hi) - center + 0.5) / stretch
            w = _triangle(x) if mode == "bilinear" else _cubic(x, -0.5)
            total = w.sum()
            weights[i, lo:hi] = w / total if total != 0 else w
        return weights
    src = (dst + 0.5) * scale - 0.5
    if mode == "bilinear":
        src = np.maximum(src, 0.0)
        i0 = np.floor(src).astype(np.int64)
        frac = src - i0
        i1 = np.minimum(i0 + 1, in_size - 1)
        np.add.at(weights, (rows, i0), 1.0 - frac)
        np.add.at(weights, (rows, i1), frac)
        return weights
    if mode == "bicubic":
        i0 = np.floor(src).astype(np.int64)
        frac = src - i0
        for k in (-1, 0, 1, 2):
            idx = np.clip(i0 + k, 0, in_size - 1)
            np.add.at(weights, (rows, idx), _cubic(frac - k, -0.75))
        return weights
    raise ValueError(f"Interpolation mode '{mode}' is unsupported for tensor images "
                     f"(use nearest, nearest-exact, bilinear or bicubic)")


def _apply_along(weights, arr, axis):
    out = np.tensordot(weights.astype(arr.dtype), arr, axes=([1], [axis]))
    return np.moveaxis(out, 0, axis)


def resize(arr, size, mode, antialias):
    """Resize the last two axes to ``size = (h, w)``."""
    dtype = arr.dtype
    x = _cast_in(arr)
    h, w = size
    antialias = bool(antialias) and mode in ("bilinear", "bicubic")
    x = _apply_along(resize_weights(x.shape[-2], h, mode, antialias), x, x.ndim - 2)
    x = _apply_along(resize_weights(x.shape[-1], w, mode, antialias), x, x.ndim - 1)
    if mode == "bicubic" and np.dtype(dtype) == np.uint8:
        x = np.clip(x, 0, 255)
    return _cast_out(x, dtype)


# ---------------------------------------------------------------- padding and cropping


def pad(arr, padding, fill, mode):
    """Pad the last two axes by ``padding = [left, top, right, bottom]``; negative values
    crop. `mode` is constant | edge | reflect | symmetric."""
    left, top, right, bottom = padding
    h, w = arr.shape[-2:]
    arr = arr[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    widths = [(0, 0)] * (arr.ndim - 2) + [(max(top, 0), max(bottom, 0)),
                                          (max(left, 0), max(right, 0))]
    if mode == "constant":
        return np.pad(arr, widths, mode="constant", constant_values=fill)
    return np.pad(arr, widths, mode=mode)


def crop(arr, top, left, height, width):
    """Crop a box; the part of the box outside the image is zero, as in torchvision."""
    h, w = arr.shape[-2:]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        inside = arr[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
        padding = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                   max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(inside, padding, 0, "constant")
    return arr[..., top:bottom, left:right]


# ---------------------------------------------------------------- colour


def rgb_to_grayscale(arr, num_output_channels=1):
    """ITU-R 601-2 luma: ``L = 0.2989 R + 0.587 G + 0.114 B`` (cast back, truncating, as
    torchvision does)."""
    r, g, b = (arr[..., c, :, :].astype(np.float32) if not is_float(arr) else arr[..., c, :, :]
               for c in range(3))
    luma = (0.2989 * r + 0.587 * g + 0.114 * b).astype(arr.dtype)[..., None, :, :]
    if num_output_channels == 3:
        return np.broadcast_to(luma, arr.shape).copy()
    return luma


def blend(img1, img2, ratio):
    """``ratio * img1 + (1 - ratio) * img2`` clamped to the image range, cast back
    (integers truncate, as ``Tensor.to`` does)."""
    bound = max_value(img1.dtype)
    out = ratio * _cast_in(img1) + (1.0 - ratio) * img2
    return np.clip(out, 0, bound).astype(img1.dtype)


def adjust_contrast(arr, factor):
    """Blend with the mean of the grayscale image."""
    compute = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float32
    gray = rgb_to_grayscale(arr) if arr.shape[-3] == 3 else arr
    mean = gray.astype(compute).mean(axis=(-3, -2, -1), keepdims=True)
    return blend(arr, mean, factor)


def rgb_to_hsv(rgb):
    """float RGB in [0, 1], channels on axis -3 -> HSV in [0, 1] (torchvision's formulas)."""
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    maxc = rgb.max(axis=-3)
    minc = rgb.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_divisor = np.where(eqc, ones, cr)
    rc = (maxc - r) / cr_divisor
    gc = (maxc - g) / cr_divisor
    bc = (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3)


def hsv_to_rgb(hsv):
    h, s, v = hsv[..., 0, :, :], hsv[..., 1, :, :], hsv[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros(hsv.shape, dtype=hsv.dtype)
    for k, (rr, gg, bb) in enumerate(table):
        mask = i == k
        out[..., 0, :, :][mask] = rr[mask]
        out[..., 1, :, :][mask] = gg[mask]
        out[..., 2, :, :][mask] = bb[mask]
    return out


def adjust_hue(arr, hue_factor):
    """Rotate the hue by `hue_factor` turns (in [-0.5, 0.5]) in HSV space."""
    if arr.shape[-3] == 1:
        return arr
    dtype = arr.dtype
    x = _cast_in(arr)
    if not is_float(arr):
        x = x / max_value(dtype)
    hsv = rgb_to_hsv(x)
    hsv[..., 0, :, :] = np.mod(hsv[..., 0, :, :] + hue_factor, 1.0)
    rgb = hsv_to_rgb(hsv)
    if not is_float(arr):
        return (rgb * max_value(dtype)).astype(dtype)
    return rgb.astype(dtype)


def adjust_gamma(arr, gamma, gain=1.0):
    """``out = gain * in ** gamma`` on the [0, 1] scale, clamped."""
    dtype = arr.dtype
    x = _cast_in(arr)
    if not is_float(arr):
        x = x / max_value(dtype)
    out = np.clip(gain * x ** gamma, 0.0, 1.0)
    if not is_float(arr):
        return _cast_int_from_unit(out, dtype)
    return out.astype(dtype)


def _cast_int_from_unit(x, dtype):
    """[0, 1] floats to an integer dtype as convert_image_dtype does."""
    eps = 1e-3
    return (x * (max_value(dtype) + 1.0 - eps)).astype(dtype)


# ---------------------------------------------------------------- filtering


def gaussian_kernel1d(kernel_size, sigma):
    half = (kernel_size - 1) * 0.5
    x = np.linspace(-half, half, kernel_size)
    pdf = np.exp(-0.5 * (x / sigma) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(arr, kernel_size, sigma):
    """Separable Gaussian blur with reflect padding (``kernel_size = [kx, ky]``,
    ``sigma = [sx, sy]``)."""
    dtype = arr.dtype
    x = _cast_in(arr)
    kx, ky = kernel_size
    x = pad(x, [kx // 2, ky // 2, kx // 2, ky // 2], 0, "reflect")
    kernel_x = gaussian_kernel1d(kx, sigma[0]).astype(x.dtype)
    kernel_y = gaussian_kernel1d(ky, sigma[1]).astype(x.dtype)
    h, w = x.shape[-2] - ky + 1, x.shape[-1] - kx + 1
    rows = sum(kernel_y[k] * x[..., k:k + h, :] for k in range(ky))
    out = sum(kernel_x[k] * rows[..., :, k:k + w] for k in range(kx))
    return _cast_out(out, dtype)


# ---------------------------------------------------------------- geometry


def inverse_affine_matrix(center, angle, translate, scale, shear):
    """The 2x3 matrix mapping output pixel coordinates to input coordinates for the affine
    map ``T * C * R * S * Sh * C^-1`` (rotation R by `angle` degrees, shear angles in
    degrees); torchvision's ``_get_inverse_affine_matrix``."""
    rot = math.radians(angle)
    sx = math.radians(shear[0])
    sy = math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    matrix = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
    matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
    matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
    matrix[2] += cx
    matrix[5] += cy
    return matrix


def affine_output_size(matrix, w, h):
    """Width and height of the box holding the whole transformed image (rotate's
    ``expand=True``), with torchvision's 1e-4 truncation against round-off."""
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    theta = np.array(matrix, dtype=np.float32).reshape(2, 3)
    new_pts = pts @ theta.T
    shift = np.array([w * 0.5, h * 0.5], dtype=np.float32)
    min_vals = new_pts.min(axis=0) + shift
    max_vals = new_pts.max(axis=0) + shift
    tol = 1e-4
    cmax = np.ceil(np.trunc(max_vals / tol) * tol)
    cmin = np.floor(np.trunc(min_vals / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def affine_grid(matrix, w, h, ow, oh, dtype):
    """Source pixel coordinates ``(x, y)`` for each of the ``oh x ow`` output pixels.

    The output pixel centre ``(j + 0.5 - ow/2, i + 0.5 - oh/2)`` (origin at the image
    centre) goes through `matrix`, is normalised by the input half-size as torchvision's
    ``_gen_affine_grid`` does, then mapped back to pixel indices the way ``grid_sample``
    (``align_corners=False``) reads them: ``((g + 1) * size - 1) / 2``. The same float
    operations in the same order keep ties (x.5 coordinates with nearest sampling)
    resolved as in PyTorch.
    """
    theta = np.array(matrix, dtype=dtype).reshape(2, 3)
    rescaled = theta.T / np.array([0.5 * w, 0.5 * h], dtype=dtype)
    xs = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow, dtype=dtype)
    ys = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh, dtype=dtype)
    gx, gy = np.meshgrid(xs, ys)
    norm_x = gx * rescaled[0, 0] + gy * rescaled[1, 0] + rescaled[2, 0]
    norm_y = gx * rescaled[0, 1] + gy * rescaled[1, 1] + rescaled[2, 1]
    return ((norm_x + 1) * w - 1) / 2, ((norm_y + 1) * h - 1) / 2


def perspective_grid(coeffs, w, h, dtype):
    """Source pixel coordinates for the projective map with PIL's 8 coefficients."""
    a, b, c, d, e, f, g, hh = coeffs
    xs = np.arange(w, dtype=np.float64) + 0.5
    ys = np.arange(h, dtype=np.float64) + 0.5
    gx, gy = np.meshgrid(xs, ys)
    denom = g * gx + hh * gy + 1.0
    src_x = (a * gx + b * gy + c) / denom
    src_y = (d * gx + e * gy + f) / denom
    return (src_x - 0.5).astype(dtype), (src_y - 0.5).astype(dtype)


def _sample(x, src_x, src_y, mode):
    """Sample x (N, C, H, W) at pixel coordinates, zero outside (grid_sample, zeros
    padding): nearest rounds half to even, bilinear mixes the 4 neighbours."""
    h, w = x.shape[-2:]

    def gather(iy, ix):
        valid = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        vals = x[..., np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]
        return vals * valid

    if mode == "nearest":
        return gather(np.rint(src_y).astype(np.int64), np.rint(src_x).astype(np.int64))
    if mode != "bilinear":
        raise ValueError(f"Interpolation mode '{mode}' is unsupported for tensor geometric "
                         f"transforms (use nearest or bilinear)")
    x0 = np.floor(src_x).astype(np.int64)
    y0 = np.floor(src_y).astype(np.int64)
    fx = (src_x - x0).astype(x.dtype)
    fy = (src_y - y0).astype(x.dtype)
    return (gather(y0, x0) * ((1 - fx) * (1 - fy)) + gather(y0, x0 + 1) * (fx * (1 - fy))
            + gather(y0 + 1, x0) * ((1 - fx) * fy) + gather(y0 + 1, x0 + 1) * (fx * fy))


def grid_transform(arr, src_x, src_y, mode, fill):
    """Resample `arr` at the given source coordinates; outside pixels get `fill` (a list
    with one value per channel or a single value) or zero when `fill` is None."""
    dtype = arr.dtype
    x = arr.astype(src_x.dtype) if arr.dtype != src_x.dtype else arr
    out = _sample(x, src_x, src_y, mode)
    if fill is not None:
        mask = _sample(np.ones(x.shape[:-3] + (1,) + x.shape[-2:], dtype=x.dtype),
                       src_x, src_y, mode)
        fill_vals = np.asarray(fill if isinstance(fill, (list, tuple)) else [fill],
                               dtype=x.dtype).reshape(-1, 1, 1)
        if mode == "nearest":
            out = np.where(mask < 0.5, fill_vals, out)
        else:
            out = out * mask + (1.0 - mask) * fill_vals
    return _cast_out(out.astype(x.dtype), dtype)
