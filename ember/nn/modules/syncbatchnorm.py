"""nn.SyncBatchNorm: batch normalization whose batch statistics span every rank of a
process group (DistributedDataParallel training with small per-rank batches).

In training, with a process group of more than one rank, each rank sums x and x*x per
channel over its part of the batch; one all-reduce adds those sums (and the element
counts) over the ranks; mean and biased variance come from the totals. The all-reduce is
an autograd Function whose backward all-reduces the gradient, so the gradient of every
rank's loss reaches the statistics of every other rank, as in PyTorch's SyncBatchNorm.
Otherwise (eval, one rank, no process group) it is BatchNorm.

Differs from PyTorch: PyTorch runs SyncBatchNorm on GPUs only; ember also runs it on the
CPU with the 'mpi' backend. The variance is E[x^2] - E[x]^2 in the input's dtype (PyTorch
combines per-rank Welford statistics), which agrees to float32 rounding for normalized
activations.
"""
from ..._ops.creation import full
from ..._ops.joining import cat
from ...autograd import grad_mode
from ...autograd.function import Function
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _dist():
    from ... import distributed   # on first use: `import ember` stays light
    return distributed


class _AllReduceSum(Function):
    """out = the sum over the group's ranks of x; grad_x = the sum over ranks of grad."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        out = x.clone()
        _dist().all_reduce(out, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        _dist().all_reduce(grad, group=ctx.group)
        return grad, None


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, ...) whose training statistics cover the whole process group."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _world_size(self):
        dist = _dist()
        if not dist.is_initialized():
            return 1
        return dist.get_world_size(self.process_group)

    def forward(self, input):
        if not self.training or self._world_size() == 1:
            return super().forward(input)
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            with grad_mode.no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        c = input.size(1)
        dims = [0] + list(range(2, input.dim()))
        count = full((1,), input.numel() // max(c, 1), dtype=input.dtype, device=input.device)
        local = cat([input.sum(dims), (input * input).sum(dims), count])
        total = _AllReduceSum.apply(local, self.process_group)
        n = total[2 * c]
        mean = total[:c] / n
        var = (total[c:2 * c] / n - mean * mean).clamp(min=0)
        shape = (1, c) + (1,) * (input.dim() - 2)
        out = (input - mean.reshape(shape)) * (var + self.eps).rsqrt().reshape(shape)
        if self.weight is not None:
            out = out * self.weight.reshape(shape)
        if self.bias is not None:
            out = out + self.bias.reshape(shape)
        if self.track_running_stats and self.running_mean is not None:
            with grad_mode.no_grad():
                n_total = float(n.item())
                unbiased = var.detach() * (n_total / max(n_total - 1, 1))
                self.running_mean.mul_(1 - factor).add_(mean.detach() * factor)
                self.running_var.mul_(1 - factor).add_(unbiased * factor)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm*d layer replaced by a SyncBatchNorm holding the same
        parameters and buffers (the replaced module itself when it is a BatchNorm)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                with grad_mode.no_grad():
                    out.weight = module.weight
                    out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return out
