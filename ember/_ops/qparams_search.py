"""``torch.choose_qparams_optimized``: the (xmax, xmin) range to quantize a float32 vector
with, found by a greedy search that shrinks the range one bin at a time (fbgemm's
approach for embedding tables).

With b bits the codes are q = clamp(rint((x - xmin) / s), 0, 2^b - 1), s the range over
2^b - 1 rounded to half precision (xmin too), and the loss is ||x - (q s + xmin)||_2,
summed in order in float32. Starting from the full range [min, max] split in `n_bins`
steps, each round moves whichever end lowers the loss more by one step, while the range
stays wider than (1 - ratio) of the bins; a range whose loss is below both of its
neighbours' and the best so far becomes the answer. Every step is float32 arithmetic in
PyTorch's order, so the result is PyTorch's to the bit.
"""
import numpy as np

from .._tensor import Tensor

__all__ = ["choose_qparams_optimized"]

_f32 = np.float32


def _quant_loss(x, xmin, xmax, bit_width):
    xmin = _f32(np.float16(xmin))
    data_range = _f32(xmax - xmin)
    qmax = _f32((1 << bit_width) - 1)
    scale = _f32(1.0) if data_range == 0 else _f32(np.float16(data_range / qmax))
    inverse_scale = _f32(1.0) if scale == 0 else _f32(_f32(1.0) / scale)
    q = np.clip(np.rint((x - xmin) * inverse_scale), _f32(0.0), qmax)
    err = x - (q * scale + xmin)
    norm = np.cumsum(err * err, dtype=np.float32)[-1] if err.size else _f32(0.0)
    return _f32(np.sqrt(norm))


def choose_qparams_optimized(input, numel, n_bins, ratio, bit_width):
    """(xmax, xmin), each a float32 tensor of shape (1,), for the first `numel` values of
    float32 `input` quantized to `bit_width` bits (see the module's docstring)."""
    from .creation import tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"choose_qparams_optimized(): argument 'input' (position 1) must be "
                        f"Tensor, not {type(input).__name__}")
    if numel < 0 or numel > input.numel():
        raise RuntimeError("numel is out of the bound of input tensor")
    if input.numel() == 0:
        raise ValueError("input tensor is empty and has no data")
    if input.dtype.__str__().split(".")[-1] != "float32":
        raise RuntimeError(f"expected scalar type Float but found "
                           f"{str(input.dtype).split('.')[-1].capitalize()}")
    x = np.ascontiguousarray(input.detach().cpu().numpy().reshape(-1)[:numel])
    xmin, xmax = _f32(x.min()), _f32(x.max())
    stepsize = _f32((xmax - xmin) / _f32(n_bins))
    min_bins = int(n_bins * (1.0 - float(_f32(ratio))))
    best_loss = cur_loss = _quant_loss(x, xmin, xmax, bit_width)
    cur_min, cur_max = xmin, xmax
    thr = _f32(_f32(min_bins) * stepsize)
    while _f32(cur_min + thr) < cur_max:
        loss_left = _quant_loss(x, _f32(cur_min + stepsize), cur_max, bit_width)
        loss_right = _quant_loss(x, cur_min, _f32(cur_max - stepsize), bit_width)
        if cur_loss < loss_left and cur_loss < loss_right and cur_loss < best_loss:
            best_loss, xmin, xmax = cur_loss, cur_min, cur_max   # a local optimum
        if loss_left < loss_right:
            cur_min, cur_loss = _f32(cur_min + stepsize), loss_left
        else:
            cur_max, cur_loss = _f32(cur_max - stepsize), loss_right
    return tensor([float(xmax)]), tensor([float(xmin)])
