"""Top-level names PyTorch exports from its C extension or other modules: the legacy
``torch.Storage``, ``torch.Future``/``fork``/``wait`` (TorchScript's asynchronous calls),
the __torch_function__ switches, operator schemas (``torch.parse_schema``,
``FunctionSchema``, ``Argument``) and ``sym_fresh_size``; and Tensor's leftover
attributes: ``const_data_ptr``, ``name`` (None: ember has no named tensors), the removed
``volatile`` (False, with PyTorch's warning) and ``reinforce`` (raises), ``ipu()``
(raises: no IPU support), ``index`` (functorch.dim's first-class dims: NotImplementedError).
"""
from ._torch_function import DisableTorchFunction, DisableTorchFunctionSubclass
from .futures import Future
from ._library_schema import FunctionSchema, Argument
from .storage import FloatStorage as Storage   # torch.Storage is torch.FloatStorage
from ._tensor import Tensor

__all__ = ["Storage", "Future", "fork", "wait", "DisableTorchFunction",
           "DisableTorchFunctionSubclass", "parse_schema", "FunctionSchema", "Argument",
           "sym_fresh_size"]


def fork(func, *args, **kwargs):
    """``torch.fork``: ``func(*args, **kwargs)`` as a Future (ember.jit.fork)."""
    from .jit import fork as jit_fork
    return jit_fork(func, *args, **kwargs)


def wait(future):
    """``torch.wait``: the value of a Future from `fork`."""
    return future.wait()


def parse_schema(schema):
    """The FunctionSchema of an operator schema string ("ns::name.overload(args) ->
    returns"), with PyTorch's RuntimeError for a malformed one."""
    from ._library_schema import parse_schema as parse
    return parse(schema)


def sym_fresh_size(expr):
    """A plain integer of `expr` (PyTorch makes a fresh symbolic size under tracing)."""
    from ._ops.creation import tensor
    return tensor(expr).item()


def _const_data_ptr(self):
    """The address of the first element (``data_ptr``), for read-only use."""
    return self.data_ptr()


def _volatile(self):
    import warnings
    warnings.warn("volatile was removed (Variable.volatile is always False)", UserWarning,
                  stacklevel=2)
    return False


def _reinforce(self, reward):
    raise RuntimeError("reinforce() was removed.\nUse torch.distributions instead.\nSee "
                       "https://pytorch.org/docs/main/distributions.html")


def _ipu(self, device=None, non_blocking=False, memory_format=None):
    raise RuntimeError("PyTorch is not linked with support for ipu devices")


def _index(self, positions, dims):
    raise NotImplementedError("Tensor.index binds positional dims to functorch.dim's "
                              "first-class dimensions, which ember does not have")


def _attach():
    leftovers = {"const_data_ptr": _const_data_ptr, "name": property(lambda self: None),
                 "volatile": property(_volatile), "reinforce": _reinforce, "ipu": _ipu,
                 "index": _index}
    for attr, value in leftovers.items():
        if attr not in Tensor.__dict__:
            setattr(Tensor, attr, value)


_attach()
