"""The registry behind torch.fx.wrap, importable without ember.fx.

``wrap("name")`` at a module's top level marks that module-level function as a leaf of
symbolic tracing: ember.fx's Tracer records its calls as call_function nodes instead of
tracing into it. ember's own modules (vision.models' Swin Transformer, as torchvision's)
register here without importing ember.fx, whose import switches on the
``__torch_function__`` dispatchers for the whole process.
"""
import inspect

__all__ = ["wrap"]

# (globals dict, name) of every function registered with wrap()
WRAPPED = []


def wrap(fn_or_name):
    """Called at module top level: calls of that module-level function (by name, or the
    function itself) are recorded as call_function nodes instead of being traced into."""
    if not callable(fn_or_name) and not isinstance(fn_or_name, str):
        raise RuntimeError("Unsupported type for global function! Must be either a callable or "
                           "string name")
    name = fn_or_name.__name__ if callable(fn_or_name) else fn_or_name
    frame = inspect.currentframe().f_back
    if frame.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    WRAPPED.append((frame.f_globals, name))
    return fn_or_name
