"""F.interpolate: nearest, nearest-exact, (bi/tri)linear, bicubic and area resampling.

Every mode except area is separable: along each spatial dim the output is a weighted sum
of a few input taps, out[..., i, ...] = sum_k w_k[i] * x[..., idx_k[i], ...]. The taps
follow PyTorch's kernels (source index = scale * (i + 0.5) - 0.5, or scale * i with
align_corners; cubic convolution with A = -0.75 and clamped borders). One node (Upsample)
runs all dims, named as PyTorch's kernel; its backward is the scatter-add (index_add) of
the taps, written in ember ops.
"""
import numpy as np

from ..autograd.graph import rename as rename_node
from ..autograd import grad_mode
from .. import _dtype
from .._backend import array_namespace, like
from .._tensor import Tensor
from .relayout import keep_channels_last
from ._base import Op, apply
from ._util import dtype_name

__all__ = []

_MODE_NDIM = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_CUBIC_A = -0.75


def _nearest_taps(n_in, n_out, scale, exact):
    """One tap: floor(i * s) (nearest) or floor((i + 0.5) * s) (nearest-exact), float32."""
    s = np.float32(1.0 / scale if scale else n_in / n_out)
    i = np.arange(n_out, dtype=np.float32)
    if not exact and n_out == n_in:
        return [(np.arange(n_out), None)]
    src = np.floor(((i + np.float32(0.5)) if exact else i) * s).astype(np.int64)
    return [(np.minimum(src, n_in - 1), None)]


def _source_index(n_in, n_out, scale, align_corners, cubic, ct):
    """Real-valued source coordinate of each output index (PyTorch's
    area_pixel_compute_source_index), computed in the op-math type ct."""
    i = np.arange(n_out, dtype=ct)
    if align_corners:
        s = ct((n_in - 1) / (n_out - 1)) if n_out > 1 else ct(0)
        return s * i
    s = ct(1.0 / scale) if scale else ct(n_in / n_out)
    src = s * (i + ct(0.5)) - ct(0.5)
    return src if cubic else np.maximum(src, ct(0))


def _linear_taps(n_in, n_out, scale, align_corners, ct):
    src = _source_index(n_in, n_out, scale, align_corners, False, ct)
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = np.clip(src - i0, 0, 1).astype(ct)
    return [(i0, ct(1) - lam), (i1, lam)]


def _cubic_taps(n_in, n_out, scale, align_corners, ct):
    """Keys cubic convolution, A = -0.75: weights of x[i-1], x[i], x[i+1], x[i+2]."""
    src = _source_index(n_in, n_out, scale, align_corners, True, ct)
    base = np.floor(src)
    t = (src - base).astype(ct)
    base = base.astype(np.int64)
    A = ct(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    return [(np.clip(base + k - 1, 0, n_in - 1), w.astype(ct)) for k, w in enumerate(weights)]


def _scale(n_in, n_out, scale, align_corners):
    """The source step per output index (PyTorch's area_pixel_compute_scale)."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale else n_in / n_out


def _linear_filter(x):
    """Triangle kernel: 1 - |x| on |x| < 1."""
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _cubic_filter(a):
    """Keys cubic kernel with parameter a (-0.5 with antialias, as Pillow; -0.75 otherwise)."""
    def f(x):
        x = abs(x)
        if x < 1.0:
            return ((a + 2) * x - (a + 3)) * x * x + 1
        if x < 2.0:
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        return 0.0
    return f


def _aa_weights(n_in, n_out, scale, align_corners, cubic, ct):
    r"""Antialiased taps (Pillow's resampling, as torch's _upsample_*_aa): output i reads
    inputs [xmin, xmin + xsize) around center = s (i + 0.5), the kernel stretched by the
    downscale factor s when s > 1 (support = s * interp_size / 2), weights normalized to
    sum 1. Returns (xmin, weights (n_out, max_taps) with zeros past xsize)."""
    interp = 4 if cubic else 2
    s = ct(_scale(n_in, n_out, scale, align_corners))
    support = ct(interp * 0.5) * s if s >= 1.0 else ct(interp * 0.5)
    invscale = ct(1.0) / s if s >= 1.0 else ct(1.0)
    max_taps = int(np.ceil(support)) * 2 + 1
    filt = _cubic_filter(ct(-0.5)) if cubic else _linear_filter
    xmin = np.zeros(n_out, dtype=np.int64)
    w = np.zeros((n_out, max_taps), dtype=ct)
    for i in range(n_out):
        center = s * ct(i + 0.5)
        lo = max(int(center - support + ct(0.5)), 0)
        size = min(max(min(int(center + support + ct(0.5)), n_in) - lo, 0), max_taps)
        row = np.array([filt((ct(j + lo) - center + ct(0.5)) * invscale) for j in range(size)],
                       dtype=ct)
        total = row.sum(dtype=ct)
        w[i, :size] = row / total if total != 0 else row
        xmin[i] = lo
    return xmin, w


def _aa_taps(n_in, n_out, scale, align_corners, cubic, ct):
    xmin, w = _aa_weights(n_in, n_out, scale, align_corners, cubic, ct)
    return [(np.minimum(xmin + j, n_in - 1), w[:, j]) for j in range(w.shape[1])]


def _uint8_weights(n_in, n_out, scale, align_corners, cubic):
    """Taps of torch's uint8 bilinear/bicubic kernel without antialias (computed in
    double): the 2 or 4 taps of the float kernel, with the weights of taps past a border
    added onto the border tap. Returns (xmin, weights (n_out, taps))."""
    taps = 4 if cubic else 2
    s = _scale(n_in, n_out, scale, align_corners)
    filt = _cubic_filter(-0.75) if cubic else _linear_filter
    support = taps // 2
    xmin = np.zeros(n_out, dtype=np.int64)
    w = np.zeros((n_out, taps))
    for i in range(n_out):
        src = s * i if align_corners else s * (i + 0.5) - 0.5
        if not cubic and not align_corners:
            src = max(src, 0.0)
        index = min(int(np.floor(src)), n_in - 1)
        lam = min(max(src - index, 0.0), 1.0)
        lo = index - support + 1
        xmin[i] = max(lo, 0)
        size = min(max(min(index + support + 1, n_in) - xmin[i], 0), taps)
        k = 0
        for j in range(taps):
            if lo + j <= 0:
                k = 0
            elif lo + j >= n_in - 1:
                k = size - 1
            w[i, k] += filt(j + 1 - support - lam)
            k += 1
    return xmin, w


def _uint8_pass(x, dim, xmin, w):
    """One separable uint8 pass as torch computes it: weights as int16 fixed point with the
    largest precision that keeps them below 2**15, sum of products in integers, rounded
    (+ half) and clamped to [0, 255]."""
    wt_max = w.max()
    prec = 0
    while prec < 22 and int(0.5 + wt_max * (1 << (prec + 1))) < (1 << 15):
        prec += 1
    v = w * (1 << prec)
    # the weights come from the host: move them to x's device
    iw = like(np.where(v < 0, np.trunc(v - 0.5), np.trunc(v + 0.5)).astype(np.int64), x)
    xmin = like(xmin, x)
    xi = np.moveaxis(x, dim, -1).astype(np.int64)
    n_in = xi.shape[-1]
    acc = array_namespace(x).full(xi.shape[:-1] + (len(xmin),), 1 << (prec - 1), dtype=np.int64)
    for j in range(w.shape[1]):
        idx = np.minimum(xmin + j, n_in - 1)
        acc += xi[..., idx] * iw[:, j]
    out = np.clip(acc >> prec, 0, 255).astype(np.uint8)
    return np.moveaxis(out, -1, dim)


def _resample_uint8(input, out_size, scales, align_corners, cubic, antialias):
    """uint8 bilinear/bicubic: width pass then height pass, each rounding to uint8 (the
    dims whose size is unchanged are skipped)."""
    x = input._data
    if tuple(out_size) == tuple(x.shape[2:]):
        return Tensor._make(x.copy())
    for d in (1, 0):
        n_in, n_out = x.shape[2 + d], out_size[d]
        if n_in == n_out:
            continue
        scale = scales[d] if scales is not None else None
        if antialias:
            xmin, w = _aa_weights(n_in, n_out, scale, align_corners, cubic, np.float64)
        else:
            xmin, w = _uint8_weights(n_in, n_out, scale, align_corners, cubic)
        x = _uint8_pass(x, 2 + d, xmin, w)
    return Tensor._make(array_namespace(x).ascontiguousarray(x))


def _output_size(input, size, scale_factor, dim):
    """(output sizes, per-dim scale factors or None) as torch.nn.functional.interpolate."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    spatial = list(input.shape[2:])
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(f"Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{spatial} and output size of {size}. Please provide input "
                                 f"tensor in (N, C, d1, d2, ...,dK) format and output size in "
                                 f"(o1, o2, ...,oK) format.")
            if not all(isinstance(s, (int, np.integer)) for s in size):
                raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, "
                                f"int] or Tuple[int, int, int], but got size with types "
                                f"{[type(s) for s in size]}")
            return [int(s) for s in size], None
        return [int(size)] * dim, None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of {spatial} "
                             f"and scale_factor of shape {scale_factor}. Please provide input "
                             f"tensor in (N, C, d1, d2, ...,dK) format and scale_factor in "
                             f"(s1, s2, ...,sK) format.")
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * dim
    return [int(n * s) for n, s in zip(spatial, scales)], scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    r"""Resample the spatial dims (all dims after the first two) of input.

    size or scale_factor (one of them) gives the output size, floor(in * scale_factor).
    Unless recompute_scale_factor, a given scale_factor also sets the sampling step
    (1/scale_factor instead of in/out). align_corners maps the corner pixel centers of
    input and output onto each other (linear and cubic modes only).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    out_size, scales = _output_size(input, size, scale_factor, dim)
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" or recompute_scale_factor:
        scales = None
    if antialias:
        if not (mode in ("bilinear", "bicubic") and input.dim() == 4):
            raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                             "modes and requires a 4-D tensor as input")
    known = ("nearest", "nearest-exact", "area") + tuple(_MODE_NDIM)
    if mode not in known or input.dim() not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.dim()}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    if mode in _MODE_NDIM and input.dim() != _MODE_NDIM[mode]:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                  f"{_MODE_NDIM[mode]}D input")
    for n_in, n_out in zip(input.shape[2:], out_size):
        if n_in <= 0 or n_out <= 0:
            names = "DHW"[3 - dim:]
            ins = ", ".join(f"{c}: {n}" for c, n in zip(names, input.shape[2:]))
            outs = ", ".join(f"{c}: {n}" for c, n in zip(names, out_size))
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got "
                               f"input ({ins}) and output ({outs})")
    if mode == "area":
        from .pooling import adaptive_pool
        out = adaptive_pool(dim, input, tuple(out_size), "avg")
        return _rename(out, "SqueezeBackward1" if dim == 1 else f"AdaptiveAvgPool{dim}DBackward0")
    if not input.dtype.is_floating_point:
        _check_integer_input(input.dtype, mode)
        if input.dtype is _dtype.uint8 and mode in ("bilinear", "bicubic"):
            return keep_channels_last(_resample_uint8, input, out_size, scales, align_corners,
                                      mode == "bicubic", antialias)
    low = input.dtype in (_dtype.float16, _dtype.bfloat16)
    if antialias and low:
        raise NotImplementedError(f"\"compute_index_ranges_weights\" not implemented for "
                                  f"'{_legacy_name(input.dtype)}'")
    # PyTorch's kernels keep a channels-last input's layout; the input's gradient follows
    # the output gradient's, except in its bicubic and 3-d nearest kernels (row-major)
    row_major_grad = mode == "bicubic" or (dim == 3 and mode in ("nearest", "nearest-exact"))
    out = keep_channels_last(_interpolate, input, out_size, scales, mode, align_corners,
                             antialias, grad="contiguous" if row_major_grad else "follow")
    return _rename(out, _node_name(mode, dim, antialias))


def _interpolate(input, out_size, scales, mode, align_corners, antialias):
    """interpolate's resampling of a floating-point input by one node (Upsample), with the
    taps of each spatial dim it changes."""
    dim = input.dim() - 2
    ct = np.float64 if input.dtype is _dtype.float64 else np.float32
    passes = []
    for d in range(dim):
        n_in, n_out = input.shape[2 + d], out_size[d]
        scale = scales[d] if scales is not None else None
        if antialias:
            if n_in == n_out:  # torch's separable aa kernel skips unchanged dims
                continue
            taps = _aa_taps(n_in, n_out, scale, align_corners, mode == "bicubic", ct)
        elif mode in ("nearest", "nearest-exact"):
            taps = _nearest_taps(n_in, n_out, scale, mode == "nearest-exact")
        elif mode == "bicubic":
            taps = _cubic_taps(n_in, n_out, scale, align_corners, ct)
        else:
            taps = _linear_taps(n_in, n_out, scale, align_corners, ct)
        passes.append((2 + d, n_in, taps))
    return apply(_upsample_class(_node_name(mode, dim, antialias)), (input,), (input._data,),
                 passes)


def _resample_array(x, dim, taps):
    """sum_k w_k * x.take(idx_k, dim) on arrays, w_k broadcast along dim (the taps are
    host arrays: moved to x's device)."""
    xp = array_namespace(x)
    out = None
    shape = [1] * x.ndim
    shape[dim] = -1
    for idx, w in taps:
        term = xp.take(x, like(idx, x), axis=dim)
        if w is not None:
            term *= like(w.reshape(shape), x)
        if out is None:
            out = term
        else:
            out += term
    return out


class Upsample(Op):
    """The resampling kernels of F.interpolate but area (PyTorch's UpsampleLinear1DBackward0,
    UpsampleBilinear2DAaBackward0, UpsampleNearest3DBackward0 ...: a subclass per name,
    _upsample_class, so that the profiler names each kernel). `passes` holds (dim, input
    size, taps) for each spatial dim resampled, in order: out = sum_k w_k x.take(idx_k,
    dim). Backward runs the passes in reverse, each the
    adjoint, sum_k index_add(dim, idx_k, w_k g), as ember ops (the op is linear: double
    backward is the forward again). float16/bfloat16 compute in float32, rounded once."""
    _name = "UpsampleBilinear2DBackward0"

    @staticmethod
    def forward(ctx, x, passes):
        ctx.passes = passes
        ctx.shape = x.shape
        dt = x.dtype
        if x.itemsize == 2:
            x = x.astype(np.float32)
        if not passes:  # antialias with every size unchanged: a copy, as torch
            return x.astype(dt, copy=True)
        for dim, _, taps in passes:
            x = _resample_array(x, dim, taps)
        return x.astype(dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        from .creation import zeros
        dt = grad.dtype
        if type(grad._data) is np.ndarray and not grad_mode.backward_on_tensors() and \
                all(_sorted_taps(taps) for _, _, taps in ctx.passes):
            return Tensor._make(_adjoint_arrays(grad._data, ctx.passes))
        g = grad.float() if dt.itemsize == 2 else grad
        shape = list(g.shape)
        for dim, n_in, taps in reversed(ctx.passes):
            vshape = [1] * g.dim()
            vshape[dim] = -1
            shape[dim] = n_in
            acc = zeros(shape, dtype=g.dtype, device=g.device)
            for idx, w in taps:
                term = g if w is None else g * Tensor._make(like(w.reshape(vshape), g._data))
                acc = acc.index_add(dim, Tensor._make(like(idx, g._data)), term)
            g = acc
        if not ctx.passes:
            g = g.clone()
        return g.to(dt)


def _sorted_taps(taps):
    """Whether every tap's source indices are non-decreasing (they are, for every mode's
    taps: _adjoint_arrays relies on it)."""
    return all(idx.size < 2 or bool((idx[1:] >= idx[:-1]).all()) for idx, _ in taps)


def _progression(a):
    """a (sorted int array) as a slice when its steps are one positive constant, else a."""
    if a.size == 1:
        return slice(int(a[0]), int(a[0]) + 1)
    step = int(a[1] - a[0])
    if step > 0 and (a.size == 2 or bool((np.diff(a) == step).all())):
        return slice(int(a[0]), int(a[-1]) + 1, step)
    return a


def _adjoint_arrays(g, passes):
    """Upsample's backward on NumPy arrays (no graph of it recorded): the passes' adjoints
    in reverse order, each sum_k index_add(dim, idx_k, w_k g) without a scatter. A tap's
    indices are non-decreasing, so they come in runs of one value: the r-th member of
    every run longer than r is gathered at once (a strided slice where the positions step
    evenly, as in an integer upscale; np.take else) and added into the distinct indices
    it belongs to (distinct: a plain add, no add.at). Float16/bfloat16 gradients are
    computed in float32 and rounded once, as the forward."""
    dt = g.dtype
    if g.itemsize == 2:
        g = g.astype(np.float32)
    orig = g
    for dim, n_in, taps in reversed(passes):
        if len(taps) == 1 and taps[0][1] is None and taps[0][0].size == n_in and \
                bool((taps[0][0] == np.arange(n_in)).all()):
            continue   # nearest along a dim of unchanged size: the identity
        shape = list(g.shape)
        shape[dim] = n_in
        acc = np.zeros(shape, dtype=g.dtype)
        lead = (slice(None),) * dim
        vshape = [1] * g.ndim
        vshape[dim] = -1
        for idx, w in taps:
            term = g if w is None else g * w.reshape(vshape).astype(g.dtype, copy=False)
            first = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
            dest, runs = idx[first], np.diff(np.r_[first, idx.size])
            for r in range(int(runs.max())):
                keep = runs > r
                src, dst = (first[keep] + r, dest[keep]) if r else (first, dest)
                s = _progression(src)
                piece = term[lead + (s,)] if type(s) is slice else np.take(term, s, axis=dim)
                acc[lead + (_progression(dst),)] += piece
        g = acc
    if g is orig:
        g = g.copy()
    return g.astype(dt, copy=False)


_UPSAMPLE_CLASSES = {}


def _upsample_class(name):
    """Upsample's subclass named `name` (made once)."""
    cls = _UPSAMPLE_CLASSES.get(name)
    if cls is None:
        cls = _UPSAMPLE_CLASSES[name] = type(name, (Upsample,), {
            "_name": name, "__module__": __name__, "__qualname__": name})
    return cls


_NODE_MODE = {"nearest": "Nearest", "nearest-exact": "NearestExact", "linear": "Linear",
              "bilinear": "Bilinear", "bicubic": "Bicubic", "trilinear": "Trilinear"}


def _node_name(mode, dim, antialias):
    """torch's node for the upsample kernel, e.g. UpsampleBilinear2DBackward0."""
    return f"Upsample{_NODE_MODE[mode]}{dim}D{'Aa' if antialias else ''}Backward0"


# every kernel's node class made at import, so that the Op subclasses the profiler's and
# __torch_dispatch__'s name tables (and their tests) enumerate do not depend on which ran
for _mode, _dims in (("nearest", (1, 2, 3)), ("nearest-exact", (1, 2, 3)), ("linear", (1,)),
                     ("bilinear", (2,)), ("bicubic", (2,)), ("trilinear", (3,))):
    for _dim in _dims:
        for _aa in ((False, True) if _mode in ("bilinear", "bicubic") else (False,)):
            _upsample_class(_node_name(_mode, _dim, _aa))
del _mode, _dims, _dim, _aa


def _rename(out, name):
    """Give the top node of a composite op torch's name for its fused kernel."""
    if out.grad_fn is not None:
        rename_node(out.grad_fn, name)
    return out


def _check_integer_input(dt, mode):
    """Integer input: PyTorch's CPU kernels take uint8 for nearest, bilinear and bicubic
    (the last two rounding to uint8); other integer types raise."""
    nearest = mode in ("nearest", "nearest-exact")
    if dt is _dtype.uint8 and nearest:
        return
    if dt is _dtype.uint8 and mode in ("bilinear", "bicubic"):
        return
    kind = "nearest" if nearest else "cubic" if mode == "bicubic" else "linear"
    raise NotImplementedError(f"\"compute_indices_weights_{kind}\" not implemented for "
                              f"'{_legacy_name(dt)}'")


def _legacy_name(dt):
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(dtype_name(dt), dtype_name(dt))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (warns as PyTorch does)."""
    import warnings
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)

