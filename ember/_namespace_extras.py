"""Top-level names PyTorch exports from its C extension or other modules: the legacy
``torch.Storage``, ``torch.Future``/``fork``/``wait`` (TorchScript's asynchronous calls),
the __torch_function__ switches, operator schemas (``torch.parse_schema``,
``FunctionSchema``, ``Argument``) and ``sym_fresh_size``."""
from ._torch_function import DisableTorchFunction, DisableTorchFunctionSubclass
from .futures import Future
from ._library_schema import FunctionSchema, Argument
from .storage import FloatStorage as Storage   # torch.Storage is torch.FloatStorage

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
