"""DataParallel: one process drives a copy of the model on each GPU.

Each forward call

1. scatters every tensor argument along ``dim`` into one chunk per device
   (``Tensor.chunk`` sizes: a batch of 5 on 2 GPUs gives chunks of 3 and 2; a batch
   smaller than the number of GPUs uses fewer GPUs), other arguments are given to every
   replica as they are;
2. replicates the module onto each device used: parameters are copied with ``Tensor.to``,
   which autograd records, so the gradient of every copy flows back into the one
   original parameter, summed over the devices, as PyTorch's Broadcast does
   (device_ids[0] uses the original parameters and buffers themselves);
3. runs replica i on chunk i;
4. gathers the outputs on ``output_device``, concatenated along ``dim``.

With no CUDA device (or one) the module runs as it is: ``DataParallel(m)(x)`` is ``m(x)``
and the state_dict keys carry the prefix ``module.``, as in PyTorch.

The replicas run one after another in the calling thread, not in one thread each as
PyTorch's parallel_apply: ember's grad mode is process-wide, so a replica entering
``no_grad`` would switch gradient recording off for the replicas running alongside. CuPy
queues kernels asynchronously, so the devices still compute at the same time.
"""
import warnings
from itertools import chain

from ... import _device
from ..._tensor import Tensor
from ...autograd import grad_mode
from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel", "scatter", "scatter_kwargs", "gather",
           "replicate", "parallel_apply"]


# ---------------------------------------------------------------- devices

def _cuda_device_type():
    """'cuda' when CUDA devices are usable, else None (PyTorch's available device type)."""
    from ... import cuda
    return "cuda" if cuda.is_available() and cuda.device_count() > 0 else None


def _all_device_indices():
    from ... import cuda
    return list(range(cuda.device_count()))


def _device_index(dev):
    """The index of a device given as an int, a string or a device object (PyTorch's
    _get_device_index with optional=True: a CPU device is -1)."""
    if isinstance(dev, bool):
        raise ValueError(f"Expected a torch.device with a specified index or an integer, but "
                         f"got:{dev}")
    if isinstance(dev, int):
        return dev
    dev = _device.device(dev)
    if dev.type == "cpu":
        return -1
    if dev.index is None:
        from ... import cuda
        return cuda.current_device()
    return dev.index


def _as_device(target):
    """A device object from an index (an int is a CUDA device, -1 the CPU), a string or a
    device."""
    if isinstance(target, int) and not isinstance(target, bool):
        return _device.device("cpu") if target < 0 else _device.device("cuda", target)
    return _device.device(target)


def _check_module_on(module, src_device):
    for t in chain(module.parameters(), module.buffers()):
        if t.device != src_device:
            raise RuntimeError(f"module must have its parameters and buffers on device "
                               f"{src_device} (device_ids[0]) but found one of them on device: "
                               f"{t.device}")


# ---------------------------------------------------------------- scatter and gather

def scatter(inputs, target_gpus, dim=0):
    """Split the tensors in `inputs` (through tuples, lists and dicts) into chunks along
    `dim`, chunk i on target_gpus[i]; any other object is repeated for every device.
    Returns one entry per chunk."""
    devices = [_as_device(d) for d in target_gpus]

    def scatter_map(obj):
        if isinstance(obj, Tensor):
            chunks = obj.chunk(len(devices), dim)
            return [c.to(d) for c, d in zip(chunks, devices)]
        if isinstance(obj, tuple) and len(obj) > 0:
            if hasattr(type(obj), "_fields"):   # a namedtuple: rebuild each share as one
                return [type(obj)(*args) for args in zip(*map(scatter_map, obj))]
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(i) for i in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(i) for i in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in devices]

    return scatter_map(inputs)


def scatter_kwargs(inputs, kwargs, target_gpus, dim=0):
    """Scatter positional and keyword arguments alike; the shorter list is padded with
    empty tuples / dicts so both have one entry per replica."""
    scattered_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered_inputs) < len(scattered_kwargs):
        scattered_inputs += [() for _ in range(len(scattered_kwargs) - len(scattered_inputs))]
    elif len(scattered_kwargs) < len(scattered_inputs):
        scattered_kwargs += [{} for _ in range(len(scattered_inputs) - len(scattered_kwargs))]
    return tuple(scattered_inputs), tuple(scattered_kwargs)


def gather(outputs, target_device, dim=0):
    """Concatenate the replicas' outputs along `dim` on `target_device` (-1: the CPU),
    through tuples, lists, namedtuples and dicts; None stays None. 0-dim outputs (a loss
    per replica) become a vector, with PyTorch's warning."""
    device = _as_device(target_device)

    def gather_map(outs):
        out = outs[0]
        if isinstance(out, Tensor):
            from ..._ops.joining import cat
            if all(o.dim() == 0 for o in outs) and dim == 0:
                warnings.warn("Was asked to gather along dimension 0, but all input tensors "
                              "were scalars; will instead unsqueeze and return a vector.")
                outs = [o.reshape(1) for o in outs]
            return cat([o.to(device) for o in outs], dim)
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outs])) for k in out)
        if hasattr(type(out), "_fields"):
            return type(out)._make(map(gather_map, zip(*outs)))
        return type(out)(map(gather_map, zip(*outs)))

    return gather_map(outputs)


# ---------------------------------------------------------------- replicate and apply

def replicate(network, devices, detach=False):
    """One copy of `network` per device. Replicas share the original's structure and
    attributes; their parameters are copies made with ``Tensor.to`` (recorded by autograd
    unless `detach`, so gradients reach the original parameters), their buffers copies too
    (those that do not require grad always detached). The replica on the parameters' own
    device holds the original tensors."""
    devices = [_as_device(d) for d in devices]
    modules = list(network.modules())
    replicas = [[m._replicate_for_data_parallel() for m in modules] for _ in devices]
    index = {id(m): i for i, m in enumerate(modules)}
    for replica_set, device in zip(replicas, devices):
        for m, replica in zip(modules, replica_set):
            for name, child in m._modules.items():
                replica._modules[name] = None if child is None else replica_set[index[id(child)]]
            for name, p in m._parameters.items():
                replica._parameters[name] = None if p is None else _copy_to(p, device, detach)
            for name, b in m._buffers.items():
                replica._buffers[name] = None if b is None else \
                    _copy_to(b, device, detach or not b.requires_grad)
    return [replica_set[0] for replica_set in replicas]


def _copy_to(t, device, detach):
    if detach:
        with grad_mode.no_grad():
            copy = t.to(device)
        return copy if copy is not t else t
    return t.to(device)


def parallel_apply(modules, inputs, kwargs_tup=None, devices=None):
    """Run modules[i](*inputs[i], **kwargs_tup[i]) for every i (on devices[i], made the
    current CUDA device) and return the outputs in order. An exception in a replica is
    re-raised with a note naming the replica and its device."""
    if len(modules) != len(inputs):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the number "
                             f"of inputs {len(inputs)}")
    if kwargs_tup is None:
        kwargs_tup = ({},) * len(modules)
    if len(modules) != len(kwargs_tup):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the number "
                             f"of kwargs {len(kwargs_tup)}")
    if devices is None:
        devices = [None] * len(modules)
    outputs = []
    for i, (module, args, kwargs, device) in enumerate(zip(modules, inputs, kwargs_tup,
                                                            devices)):
        if not isinstance(args, (list, tuple)):
            args = (args,)
        try:
            with _current_device(device):
                outputs.append(module(*args, **kwargs))
        except Exception as e:
            e.add_note(f"Caught in replica {i} on device {device}.")
            raise
    return outputs


def _current_device(device):
    from ... import cuda
    index = -1 if device is None else _device_index(device)
    return cuda.device(index if index >= 0 else None)


# ---------------------------------------------------------------- the module

class DataParallel(Module):
    """Runs `module` on a share of each batch on every GPU in `device_ids` (default: all),
    gathering the outputs on `output_device` (default device_ids[0]) along `dim`.

    The module must live on device_ids[0]; with one device it is moved there. On a
    machine without CUDA devices the wrapper runs the module itself on its arguments.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        device_type = _cuda_device_type()
        if device_type is None:
            self.module = module
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = _all_device_indices()
        if output_device is None:
            output_device = device_ids[0]
        self.dim = dim
        self.module = module
        self.device_ids = [_device_index(d) for d in device_ids]
        self.output_device = _device_index(output_device)
        self.src_device_obj = _device.device(device_type, self.device_ids[0])
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        _check_module_on(self.module, self.src_device_obj)
        inputs, module_kwargs = self.scatter(inputs, kwargs, self.device_ids)
        if not inputs and not module_kwargs:
            inputs, module_kwargs = ((),), ({},)
        if len(self.device_ids) == 1:
            return self.module(*inputs[0], **module_kwargs[0])
        replicas = self.replicate(self.module, self.device_ids[:len(inputs)])
        outputs = self.parallel_apply(replicas, inputs, module_kwargs)
        return self.gather(outputs, self.output_device)

    def replicate(self, module, device_ids):
        return replicate(module, device_ids, not grad_mode.is_grad_enabled())

    def scatter(self, inputs, kwargs, device_ids):
        return scatter_kwargs(inputs, kwargs, device_ids, dim=self.dim)

    def parallel_apply(self, replicas, inputs, kwargs):
        return parallel_apply(replicas, inputs, kwargs, self.device_ids[:len(replicas)])

    def gather(self, outputs, output_device):
        return gather(outputs, output_device, dim=self.dim)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """The functional DataParallel: evaluate ``module(*inputs, **module_kwargs)`` spread
    over `device_ids`. Needs a CUDA device, as PyTorch's."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    device_type = _cuda_device_type()
    if device_type is None:
        raise RuntimeError("device type could not be determined")
    if device_ids is None:
        device_ids = _all_device_indices()
    if output_device is None:
        output_device = device_ids[0]
    device_ids = [_device_index(d) for d in device_ids]
    output_device = _device_index(output_device)
    src_device = _device.device(device_type, device_ids[0])
    _check_module_on(module, src_device)
    inputs, module_kwargs = scatter_kwargs(inputs, module_kwargs, device_ids, dim)
    if not inputs and not module_kwargs:
        inputs, module_kwargs = ((),), ({},)
    if len(device_ids) == 1:
        return module(*inputs[0], **module_kwargs[0])
    used = device_ids[:len(inputs)]
    replicas = replicate(module, used)
    outputs = parallel_apply(replicas, inputs, module_kwargs, used)
    return gather(outputs, output_device, dim)
