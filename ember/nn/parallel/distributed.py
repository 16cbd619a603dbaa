"""DistributedDataParallel: data-parallel training, one model replica per process.

Each rank runs the same model on its share of every batch. At construction the
parameters and buffers of rank 0 are broadcast, so every replica starts equal. During
backward, each parameter's gradient, once accumulated, is marked ready (a
post-accumulate-grad hook); a bucket of parameters whose gradients are all ready is
copied into one flat buffer and its all-reduce starts at once (non-blocking), while
backward goes on computing the gradients of earlier layers. When the last bucket has
started, the reducer waits for all of them and writes

    p.grad = (1 / world_size) * sum over ranks of p.grad

back into every parameter, so after ``loss.backward()`` each rank holds the gradient of
the whole batch (for a loss that is a mean over the batch) and the optimizer steps alike
on every rank.

Buckets follow the reverse order of ``module.parameters()`` (roughly the order in which
backward produces gradients); the first holds about 1 MB (or ``bucket_cap_mb`` when smaller),
the others ``bucket_cap_mb``.
"""
import contextlib

import numpy as np

from ..._backend import array_namespace
from ..._tensor import Tensor
from ...autograd import grad_mode
from ...distributed import process_group as _pg
from ...distributed.process_group import ReduceOp
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024


class _Bucket:
    """Parameters whose gradients are all-reduced together in one flat buffer."""

    def __init__(self, params):
        self.params = params
        self.sizes = [p.numel() for p in params]
        self.offsets = list(np.cumsum([0] + self.sizes[:-1]))
        self.pending = len(params)
        self.flat = None
        self.work = None


class _Reducer:
    """Launches one all-reduce per bucket as soon as the bucket's gradients are ready."""

    def __init__(self, params, backend, bucket_cap_bytes, find_unused_parameters):
        self.params = params
        self.backend = backend
        self.find_unused = find_unused_parameters
        self.buckets = self._make_buckets(params, bucket_cap_bytes)
        self.bucket_of = {}
        for bucket in self.buckets:
            for p in bucket.params:
                self.bucket_of[id(p)] = bucket
        self.armed = False          # this iteration's backward must reduce
        self.started = False        # a gradient of this iteration has arrived
        self.launched = 0
        self.locally_used = None
        self.handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]

    @staticmethod
    def _make_buckets(params, cap_bytes):
        buckets, current, size, limit = [], {}, {}, {}
        for p in reversed(params):
            key = p.dtype
            nbytes = p.numel() * p.element_size()
            current.setdefault(key, []).append(p)
            size[key] = size.get(key, 0) + nbytes
            if size[key] >= limit.get(key, min(_FIRST_BUCKET_BYTES, cap_bytes)):
                buckets.append(_Bucket(current.pop(key)))
                size[key] = 0
                limit[key] = cap_bytes
        buckets.extend(_Bucket(group) for group in current.values())
        return buckets

    def prepare_for_backward(self, outputs):
        """Arm the reducer for the backward of this forward's outputs."""
        if self.started:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a "
                "new one. This error indicates that your module has parameters that were not "
                "used in producing loss. You can enable unused parameter detection by passing "
                "the keyword argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` "
                "function outputs participate in calculating loss.")
        for bucket in self.buckets:
            bucket.pending = len(bucket.params)
            bucket.work = None
        self.launched = 0
        self.armed = True
        self.locally_used = None
        if self.find_unused:
            used = _parameters_reached(outputs)
            self.locally_used = np.array([id(p) in used for p in self.params], dtype=np.int32)
            for p in self.params:
                if id(p) not in used:
                    self._mark_ready(p)

    def disarm(self):
        self.armed = False

    def _grad_ready(self, param):
        if self.armed:
            self.started = True
            self._mark_ready(param)

    def _mark_ready(self, param):
        """Launch every bucket that is ready, in bucket order.

        MPI needs every rank to start its collectives in the same order, and the order in
        which gradients arrive can differ between ranks (the engine orders leaves by
        memory address), so a bucket that is ready early waits for the ones before it.
        """
        self.bucket_of[id(param)].pending -= 1
        while self.launched < len(self.buckets) and self.buckets[self.launched].pending == 0:
            self._launch(self.buckets[self.launched])
            self.launched += 1
            if self.launched == len(self.buckets):
                self._finalize()

    def _launch(self, bucket):
        first = bucket.params[0]._data
        flat = array_namespace(first).zeros(sum(bucket.sizes), dtype=first.dtype)
        for p, offset, n in zip(bucket.params, bucket.offsets, bucket.sizes):
            if p._grad is not None:
                flat[offset:offset + n] = p._grad._data.reshape(-1)
        bucket.flat = flat
        bucket.work = self.backend.allreduce(flat, ReduceOp.SUM, async_op=True)

    def _finalize(self):
        """Wait for every bucket and write the averaged gradients back."""
        used = None
        if self.locally_used is not None:
            used = self.locally_used.copy()
            self.backend.allreduce(used, ReduceOp.SUM)
        index = {id(p): i for i, p in enumerate(self.params)}
        size = self.backend.size
        for bucket in self.buckets:
            bucket.work.wait()
            for p, offset, n in zip(bucket.params, bucket.offsets, bucket.sizes):
                if used is not None and used[index[id(p)]] == 0:
                    continue   # no rank used it: its gradient stays as it is (as torch)
                mean = bucket.flat[offset:offset + n].reshape(p._data.shape) / size
                if p._grad is None:
                    p._grad = Tensor._make(mean.astype(p._data.dtype))
                else:
                    p._grad._data[...] = mean
            bucket.flat = None
            bucket.work = None
        self.armed = False
        self.started = False

    def remove(self):
        for h in self.handles:
            h.remove()


def _parameters_reached(outputs):
    """ids of the leaf tensors that backward from `outputs` reaches (iterative walk)."""
    stack = [t.grad_fn for t in _tensors_in(outputs) if t.grad_fn is not None]
    stack += [t for t in _tensors_in(outputs) if t.grad_fn is None and t.requires_grad]
    seen, leaves = set(), set()
    while stack:
        node = stack.pop()
        if isinstance(node, Tensor):
            leaves.add(id(node))
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.add(id(variable))
        for fn, _ in node.next_functions:
            if fn is not None and id(fn) not in seen:
                stack.append(fn)
    return leaves


def _tensors_in(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors_in(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors_in(item)


class DistributedDataParallel(Module):
    """Data parallelism across processes: averages gradients over the ranks in backward.

    Args:
        module: the model; every rank must build the same architecture.
        device_ids: accepted for compatibility (one device per process).
        broadcast_buffers: send rank 0's buffers (e.g. BatchNorm running stats) to every
            rank at the start of each forward.
        process_group: the group to average over (default: the world).
        bucket_cap_mb: size of a gradient bucket in MiB.
        find_unused_parameters: walk the autograd graph after each forward and treat the
            parameters it does not reach as ready (needed when some parameters get no
            gradient in an iteration).

    ``no_sync()`` skips the averaging (gradients accumulate locally); the first backward
    after leaving it averages the accumulated gradients. State-dict keys carry the
    ``module.`` prefix, as torch's.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel expects an nn.Module, got "
                            f"{type(module).__name__}")
        if not any(p.requires_grad for p in module.parameters()):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        self.module = module
        self.process_group = _pg._resolve(process_group)
        self.device_ids = device_ids
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        cap_mb = 25 if bucket_cap_mb is None else bucket_cap_mb
        self.bucket_bytes_cap = int(cap_mb * 1024 * 1024)
        backend = self.process_group.backend
        if init_sync:
            self._broadcast([t for t in module.parameters()] + list(module.buffers()))
        params = [p for p in module.parameters() if p.requires_grad]
        self.reducer = _Reducer(params, backend, self.bucket_bytes_cap, find_unused_parameters)

    def _broadcast(self, tensors):
        """Overwrite tensors with rank 0's values."""
        backend = self.process_group.backend
        for t in tensors:
            data = t._data
            if data.flags.c_contiguous:
                backend.broadcast(data, 0)
            else:
                buf = array_namespace(data).ascontiguousarray(data)
                backend.broadcast(buf, 0)
                data[...] = buf

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self.require_forward_param_sync:
            buffers = list(self.module.buffers())
            if buffers:
                self._broadcast(buffers)
        outputs = self.module(*inputs, **kwargs)
        if grad_mode.is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.prepare_for_backward(outputs)
        else:
            self.reducer.disarm()
        return outputs

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: backward only accumulates local gradients (no communication)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous
