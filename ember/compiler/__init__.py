"""torch.compiler: ember does not compile, so every program runs as PyTorch runs outside
``torch.compile``: the queries answer False, the decorators hand back functions that run
eagerly, and the cache and stance controls do nothing. ``compile`` is ``ember.compile``
(returns the model unchanged, with a one-time warning)."""
import functools

from .._threads import compile  # noqa: F401

__all__ = ["compile", "is_compiling", "is_dynamo_compiling", "is_exporting", "disable",
           "allow_in_graph", "assume_constant_result", "substitute_in_graph",
           "nested_compile_region", "reset", "cudagraph_mark_step_begin", "set_stance",
           "list_backends", "wrap_numpy"]


def is_compiling():
    """True inside code that torch.compile or torch.export traces; never, in ember."""
    return False


def is_dynamo_compiling():
    return False


def is_exporting():
    return False


def disable(fn=None, recursive=True, *, reason=None):
    """Exclude `fn` from compilation: a wrapper that calls it (usable as ``@disable`` and
    ``@disable(reason=...)``)."""
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)

    @functools.wraps(fn)
    def run_eagerly(*args, **kwargs):
        return fn(*args, **kwargs)
    return run_eagerly


def allow_in_graph(fn):
    """Mark `fn` for the graph as is; outside compilation it is `fn` itself."""
    return fn


def assume_constant_result(fn):
    return fn


def substitute_in_graph(original_fn, *, can_constant_fold_through=False,
                        skip_signature_check=False):
    """A decorator registering a traceable stand-in for `original_fn`; eager code keeps
    calling `original_fn`, so the decorated function comes back unchanged."""
    def register(fn):
        return fn
    return register


def nested_compile_region(fn=None, *, options=None, max_reuse_entries=8, reuse_hash_fn=None):
    """Mark a region compiled once and reused; eagerly, the function itself."""
    if fn is None:
        return lambda f: f
    return fn


def reset():
    """Clear compilation caches (there are none)."""
    return None


def cudagraph_mark_step_begin():
    """Mark the start of an iteration for CUDA-graph trees (none are recorded)."""
    return None


class set_stance:
    """Change how torch.compile'd functions behave (force_eager, eager_on_recompile ...):
    usable as a call, a context manager and a decorator; ember always runs eagerly."""

    def __init__(self, stance="default", *, skip_guard_eval_unsafe=False, force_backend=None):
        self.stance = stance

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return run


def list_backends(exclude_tags=("debug", "experimental")):
    """The compiler backends available: none, in ember."""
    return []


def wrap_numpy(fn):
    """Let a function written for NumPy arrays take and return tensors: tensor arguments
    become arrays, array results become tensors."""
    from .._tensor import Tensor
    from .._ops.creation import from_numpy
    import numpy as np

    def convert(x, to_numpy):
        if isinstance(x, (tuple, list)):
            return type(x)(convert(v, to_numpy) for v in x)
        if isinstance(x, dict):
            return {k: convert(v, to_numpy) for k, v in x.items()}
        if to_numpy and isinstance(x, Tensor):
            return x.numpy(force=True)
        if not to_numpy and isinstance(x, np.ndarray):
            return from_numpy(x)
        return x

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        return convert(fn(*convert(args, True), **convert(kwargs, True)), False)
    return wrapped
