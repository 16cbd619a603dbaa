"""The pieces of a batch norm spread over processes (``torch.batch_norm_stats`` ...), which
``nn.SyncBatchNorm``-style code calls between its collectives. For input x of shape
(N, C, *) the statistics are per channel c, over every other dim (n = N * prod(*) values):

    batch_norm_stats:        mean_c, invstd_c = 1 / sqrt(var_c + eps)   (var biased)
    batch_norm_gather_stats[_with_counts]: the per-process (mean, invstd, count) merged:
        mean = sum_i count_i mean_i / n,  var = sum_i count_i (var_i + (mean_i - mean)^2) / n
        with var_i = 1 / invstd_i^2 - eps; running stats updated with the unbiased var
    batch_norm_elemt:        y = (x - mean) * invstd * weight + bias
    batch_norm_backward_reduce: sum_dy = sum dy, sum_dy_xmu = sum dy (x - mean),
        grad_weight = sum_dy_xmu * invstd, grad_bias = sum_dy
    batch_norm_backward_elemt: dx = (dy - sum_dy / n - (x - mean) invstd^2 sum_dy_xmu / n)
        * invstd * weight, n the total count over processes
    batch_norm_update_stats: (mean, biased var), running stats updated (unbiased var)

Half-precision inputs keep their statistics in float32, as PyTorch's CUDA kernels do.
PyTorch builds all but batch_norm_update_stats for CUDA only (its CPU build raises
NotImplementedError); ember computes them on every device, composed of its own
differentiable ops.
"""
from .. import _dtype
from .._tensor import Tensor

__all__ = ["batch_norm_stats", "batch_norm_elemt", "batch_norm_gather_stats",
           "batch_norm_gather_stats_with_counts", "batch_norm_backward_reduce",
           "batch_norm_backward_elemt", "batch_norm_update_stats"]


def _check_input(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input.dim() < 2:
        raise RuntimeError(f"{name}: expected input to have at least 2 dims (N, C, ...), got "
                           f"shape {list(input.shape)}")


def _acc(t):
    """The tensor in the dtype its statistics are kept in (float32 for half inputs)."""
    if t.dtype in (_dtype.float16, _dtype.bfloat16):
        return t.float()
    return t


def _reduce_dims(input):
    return [0] + list(range(2, input.dim()))


def _per_channel(v, input):
    """A (C,) vector shaped to broadcast against (N, C, *)."""
    return v.reshape([1, -1] + [1] * (input.dim() - 2))


def batch_norm_stats(input, eps):
    """(mean, invstd) of each channel of `input` (biased variance)."""
    _check_input("batch_norm_stats", input)
    x = _acc(input)
    var, mean = _var_mean(x)
    return mean, (var + eps).rsqrt()


def _var_mean(x):
    from .reduction import var_mean
    return var_mean(x, dim=_reduce_dims(x), correction=0)


def batch_norm_elemt(input, weight, bias, mean, invstd, eps):
    """(input - mean) * invstd * weight + bias, per channel, in input's dtype."""
    _check_input("batch_norm_elemt", input)
    scale = invstd if weight is None else invstd * weight
    shift = -mean * scale if bias is None else bias - mean * scale
    out = _acc(input) * _per_channel(scale, input) + _per_channel(shift, input)
    return out.to(input.dtype)


def batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var,
                                        momentum, eps, counts):
    """The global (mean, invstd) from the per-process rows of `mean`/`invstd` (shape
    (world, C)) with `counts` values each; updates the running statistics."""
    _check_input("batch_norm_gather_stats_with_counts", input)
    counts = counts.to(mean.dtype).reshape(-1, 1)
    total = counts.sum()
    global_mean = (mean * counts).sum(0) / total
    var_each = invstd.pow(-2) - eps
    var = (counts * (var_each + (mean - global_mean).square())).sum(0) / total
    if running_mean is not None or running_var is not None:
        from ..autograd.grad_mode import no_grad
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(global_mean.to(running_mean.dtype),
                                                     alpha=momentum)
            if running_var is not None:
                unbiased = var * total / (total - 1)
                running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype),
                                                    alpha=momentum)
    return global_mean, (var + eps).rsqrt()


def batch_norm_gather_stats(input, mean, invstd, running_mean, running_var, momentum, eps,
                            count):
    """batch_norm_gather_stats_with_counts with `count` values in every process."""
    from .creation import full
    counts = full((mean.shape[0],), count, dtype=mean.dtype, device=mean.device)
    return batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var,
                                               momentum, eps, counts)


def batch_norm_backward_reduce(grad_out, input, mean, invstd, weight, input_g, weight_g,
                               bias_g):
    """(sum_dy, sum_dy_xmu, grad_weight, grad_bias) per channel; the sums are None unless
    input_g, grad_weight None unless weight_g (and a weight), grad_bias None unless bias_g."""
    _check_input("batch_norm_backward_reduce", input)
    dims = _reduce_dims(input)
    dy = _acc(grad_out)
    sum_dy = dy.sum(dims)
    sum_dy_xmu = (dy * (_acc(input) - _per_channel(mean, input))).sum(dims)
    grad_weight = (sum_dy_xmu * invstd).to(weight.dtype) if weight_g and weight is not None \
        else None
    grad_bias = sum_dy.to(weight.dtype if weight is not None else sum_dy.dtype) if bias_g \
        else None
    if not input_g:
        sum_dy = sum_dy_xmu = None
    return sum_dy, sum_dy_xmu, grad_weight, grad_bias


def batch_norm_backward_elemt(grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu,
                              count):
    """The input gradient of a batch norm over all processes (`count`: each process's
    number of values per channel)."""
    _check_input("batch_norm_backward_elemt", input)
    n = count.sum().to(mean.dtype)
    x_mu = _acc(input) - _per_channel(mean, input)
    scale = invstd if weight is None else invstd * weight
    grad = (_acc(grad_out) - _per_channel(sum_dy / n, input)
            - x_mu * _per_channel(invstd.square() * sum_dy_xmu / n, input))
    return (grad * _per_channel(scale, input)).to(input.dtype)


def batch_norm_update_stats(input, running_mean, running_var, momentum):
    """(mean, biased var) of each channel; running_mean/running_var (when given) move
    towards the mean and the unbiased variance by `momentum`."""
    _check_input("batch_norm_update_stats", input)
    x = _acc(input)
    var, mean = _var_mean(x)
    n = x.numel() // x.shape[1]
    from ..autograd.grad_mode import no_grad
    with no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype), alpha=momentum)
        if running_var is not None:
            unbiased = var * n / max(n - 1, 1)
            running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype), alpha=momentum)
    return mean, var
